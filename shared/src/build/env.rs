//! Container environment: Kafka (only when the operator is configured for it), OpenTelemetry,
//! PYTHONPATH for the lib ConfigMap, then the test's own variables, in that order.

use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, EnvFromSource, EnvVar, EnvVarSource, SecretEnvSource, SecretKeySelector,
};

use crate::api::v2::LocustTestSpec;
use crate::config::{KafkaConfig, OperatorConfig};

fn literal(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: Some(value.into()),
        value_from: None,
    }
}

fn from_secret(name: &str, secret: &str, key: &str) -> EnvVar {
    EnvVar {
        name: name.into(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.into(),
                key: key.into(),
                optional: None,
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// Kafka settings for the test's clients. The password only ever travels as a `secretKeyRef`:
/// the operator never reads it, and it never appears in a pod spec.
fn kafka_env(kafka: &KafkaConfig) -> Vec<EnvVar> {
    let mut env = vec![
        literal("KAFKA_BOOTSTRAP_SERVERS", &kafka.bootstrap_servers),
        literal("KAFKA_SECURITY_ENABLED", kafka.security_enabled.to_string()),
        literal("KAFKA_SECURITY_PROTOCOL_CONFIG", &kafka.security_protocol),
        literal("KAFKA_SASL_MECHANISM", &kafka.sasl_mechanism),
    ];
    if let Some(jaas) = &kafka.sasl_jaas_config {
        env.push(literal("KAFKA_SASL_JAAS_CONFIG", jaas));
    }
    match &kafka.credentials_secret {
        Some(secret) => {
            env.push(from_secret("KAFKA_USERNAME", &secret.name, &secret.username_key));
            env.push(from_secret("KAFKA_PASSWORD", &secret.name, &secret.password_key));
        }
        None => env.extend(kafka.username.iter().map(|user| literal("KAFKA_USERNAME", user))),
    }
    env
}

fn otel_env(spec: &LocustTestSpec) -> Vec<EnvVar> {
    let Some(otel) = spec.otel() else {
        return Vec::new();
    };
    let mut env = vec![
        literal("OTEL_TRACES_EXPORTER", "otlp"),
        literal("OTEL_METRICS_EXPORTER", "otlp"),
    ];
    if let Some(endpoint) = otel.endpoint.as_deref().filter(|e| !e.is_empty()) {
        env.push(literal("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
    }
    env.push(literal("OTEL_EXPORTER_OTLP_PROTOCOL", otel.protocol.as_str()));
    if otel.insecure {
        env.push(literal("OTEL_EXPORTER_OTLP_INSECURE", "true"));
    }
    // BTreeMap: sorted by name, so the same test always builds the same pod.
    env.extend(
        otel.extra_env_vars
            .iter()
            .flatten()
            .map(|(name, value)| literal(name, value)),
    );
    env
}

/// The lib ConfigMap is mounted as plain files; putting its path on PYTHONPATH is what makes
/// `import mylib` work in a locustfile (upstream leaves that to the user).
fn python_path_env(spec: &LocustTestSpec) -> Option<EnvVar> {
    let files = spec.test_files.as_ref()?;
    files.lib_config_map_ref.as_ref()?;
    Some(literal("PYTHONPATH", &files.lib_mount_path))
}

/// The Locust container's `env`. A variable the test defines replaces the operator's variable of
/// the same name instead of appearing twice.
pub fn container_env(spec: &LocustTestSpec, config: &OperatorConfig) -> Vec<EnvVar> {
    let user: Vec<EnvVar> = spec.env.as_ref().and_then(|e| e.variables.clone()).unwrap_or_default();
    let mut env: Vec<EnvVar> = config.kafka.iter().flat_map(kafka_env).collect();
    env.extend(otel_env(spec));
    env.extend(python_path_env(spec));
    env.retain(|operator_var| !user.iter().any(|u| u.name == operator_var.name));
    env.extend(user);
    env
}

/// `envFrom`: the test's ConfigMaps, then its Secrets, each with its prefix.
pub fn env_from(spec: &LocustTestSpec) -> Vec<EnvFromSource> {
    let Some(env) = spec.env.as_ref() else {
        return Vec::new();
    };
    let config_maps = env.config_map_refs.iter().flatten().map(|source| EnvFromSource {
        prefix: source.prefix.clone().filter(|p| !p.is_empty()),
        config_map_ref: Some(ConfigMapEnvSource {
            name: source.name.clone(),
            optional: None,
        }),
        secret_ref: None,
    });
    let secrets = env.secret_refs.iter().flatten().map(|source| EnvFromSource {
        prefix: source.prefix.clone().filter(|p| !p.is_empty()),
        config_map_ref: None,
        secret_ref: Some(SecretEnvSource {
            name: source.name.clone(),
            optional: None,
        }),
    });
    config_maps.chain(secrets).collect()
}
