//! What the builders promise users of the Go operator: names, labels, ports, argv, env, volumes,
//! scheduling, resources and Job settings.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use crate::support::{args, container, env_var, from_yaml, operator_config, pod, pod_metadata, quantities};
use k8s_openapi::api::batch::v1::Job;
use shared::api::v2::LocustTest;
use shared::build::{self, Children};
use shared::config::OperatorConfig;
use shared::naming::Role;
use shared::observed::{ObservedJob, ObservedService};

fn test_from(yaml: &str) -> LocustTest {
    from_yaml(yaml)
}

const MINIMAL: &str = r#"
apiVersion: locust.io/v2
kind: LocustTest
metadata: {name: demo, namespace: load, uid: 0b6f1d9e-4a57-4a35-9d55-8f2a4c1e7b10}
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/t.py --host https://x --users 100 --spawn-rate 3 --run-time 3m"
  worker:
    command: "--locustfile /lotest/src/t.py"
    replicas: 3
"#;

fn children(yaml: &str, config: &OperatorConfig) -> Children {
    build::children(&test_from(yaml), config).expect("test builds")
}

/// The children an operator with the default configuration builds.
fn default_children(yaml: &str) -> Children {
    children(yaml, &OperatorConfig::default())
}

fn env_names(job: &Job) -> Vec<&str> {
    container(job).env.iter().flatten().map(|e| e.name.as_str()).collect()
}

fn with_spec(extra: &str) -> String {
    format!("{MINIMAL}{extra}")
}

#[test]
fn master_and_worker_argv_follow_upstream_order() {
    let built = default_children(MINIMAL);
    assert_eq!(
        args(&built.master_job),
        [
            "--locustfile",
            "/lotest/src/t.py",
            "--host",
            "https://x",
            "--users",
            "100",
            "--spawn-rate",
            "3",
            "--run-time",
            "3m",
            "--master",
            "--master-port=5557",
            "--expect-workers=3",
            "--autostart",
            "--autoquit",
            "60",
            "--enable-rebalancing",
            "--only-summary",
        ]
    );
    assert_eq!(
        args(&built.worker_job),
        [
            "--locustfile",
            "/lotest/src/t.py",
            "--worker",
            "--master-port=5557",
            "--master-host=demo-master"
        ]
    );
}

#[test]
fn a_quoted_argument_in_the_command_seed_stays_one_argument() {
    let yaml = MINIMAL.replace("--run-time 3m", r#"--run-time 3m --tags 'checkout flow'"#);
    let built = default_children(&yaml);
    assert!(
        args(&built.master_job)
            .windows(2)
            .any(|w| w == ["--tags", "checkout flow"])
    );
}

#[test]
fn an_unclosed_quote_is_an_error_naming_the_field() {
    let yaml = MINIMAL.replace(
        "--locustfile /lotest/src/t.py\"\n    replicas",
        "--locustfile '/lotest/src/t.py\"\n    replicas",
    );
    let error = build::children(&test_from(&yaml), &OperatorConfig::default()).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with("spec.worker.command:"), "{message}");
    assert!(message.contains("close every quote"), "{message}");
}

#[test]
fn autostart_and_autoquit_switches_change_the_master_flags() {
    let yaml = MINIMAL.replace(
        "    command: \"--locustfile /lotest/src/t.py --host",
        "    autostart: false\n    autoquit: {enabled: true, timeout: 5}\n    extraArgs: [--csv, /tmp/out]\n    command: \"--locustfile /lotest/src/t.py --host",
    );
    let master = args(&default_children(&yaml).master_job).join(" ");
    assert!(!master.contains("--autostart"), "{master}");
    assert!(
        !master.contains("--autoquit"),
        "Locust refuses --autoquit without --autostart: {master}"
    );
    assert!(
        master.ends_with("--expect-workers=3 --enable-rebalancing --only-summary --csv /tmp/out"),
        "{master}"
    );

    let yaml = yaml.replace("autostart: false", "autostart: true");
    let master = args(&default_children(&yaml).master_job).join(" ");
    assert!(
        master.ends_with("--autostart --autoquit 5 --enable-rebalancing --only-summary --csv /tmp/out"),
        "{master}"
    );

    let yaml = MINIMAL.replace(
        "    command: \"--locustfile /lotest/src/t.py --host",
        "    autoquit: {enabled: false}\n    command: \"--locustfile /lotest/src/t.py --host",
    );
    let master = args(&default_children(&yaml).master_job).join(" ");
    assert!(!master.contains("--autoquit"), "{master}");
    assert!(master.contains("--autostart"), "{master}");
}

#[test]
fn worker_processes_multiply_the_connections_the_master_waits_for() {
    let yaml = MINIMAL.replace(
        "    replicas: 3",
        "    replicas: 3\n    extraArgs: [--processes, \"4\"]",
    );
    assert!(args(&default_children(&yaml).master_job).contains(&"--expect-workers=12"));
    let yaml = MINIMAL.replace("    replicas: 3", "    replicas: 3\n    extraArgs: [--processes=-1]");
    assert!(args(&default_children(&yaml).master_job).contains(&"--expect-workers=3"));
}

#[test]
fn names_replace_dots_and_labels_keep_the_raw_name() {
    let yaml = MINIMAL.replace("name: demo,", "name: demo.v2,");
    let built = default_children(&yaml);
    assert_eq!(built.service.metadata.name.as_deref(), Some("demo-v2-master"));
    assert_eq!(built.master_job.metadata.name.as_deref(), Some("demo-v2-master"));
    assert_eq!(built.worker_job.metadata.name.as_deref(), Some("demo-v2-worker"));
    assert_eq!(container(&built.worker_job).name, "demo-v2-worker");
    assert!(args(&built.worker_job).contains(&"--master-host=demo-v2-master"));
    let labels = pod_metadata(&built.worker_job).labels.as_ref().unwrap();
    assert_eq!(labels["performance-test-name"], "demo.v2");
    assert_eq!(labels["app"], "demo.v2");
    assert_eq!(labels["performance-test-pod-name"], "demo-v2-worker");
    assert_eq!(labels["managed-by"], "locust-k8s-operator");
    for meta in [
        &built.service.metadata,
        &built.master_job.metadata,
        &built.worker_job.metadata,
    ] {
        assert_eq!(meta.namespace.as_deref(), Some("load"));
        assert_eq!(meta.labels.as_ref().unwrap()["performance-test-name"], "demo.v2");
    }
}

#[test]
fn user_labels_and_annotations_reach_pods_but_cannot_replace_selector_labels() {
    let yaml = MINIMAL.replace(
        "    command: \"--locustfile /lotest/src/t.py\"\n",
        "    command: \"--locustfile /lotest/src/t.py\"\n    labels: {team: perf, performance-test-name: other, performance-test-pod-name: x}\n    annotations: {prometheus.io/scrape: \"true\"}\n",
    );
    let built = default_children(&yaml);
    let meta = pod_metadata(&built.worker_job);
    let labels = meta.labels.as_ref().unwrap();
    assert_eq!(labels["team"], "perf");
    assert_eq!(labels["performance-test-name"], "demo");
    assert_eq!(labels["performance-test-pod-name"], "demo-worker");
    assert_eq!(meta.annotations.as_ref().unwrap()["prometheus.io/scrape"], "true");
    assert!(
        pod_metadata(&built.master_job).annotations.is_none(),
        "no operator annotations: there is no exporter to scrape"
    );
}

#[test]
fn service_exposes_worker_ports_and_the_web_ui_and_selects_the_master_pod() {
    let service = default_children(MINIMAL).service;
    let spec = service.spec.unwrap();
    let ports: Vec<(String, i32)> = spec
        .ports
        .unwrap()
        .into_iter()
        .map(|p| (p.name.unwrap(), p.port))
        .collect();
    assert_eq!(
        ports,
        [
            ("port5557".into(), 5557),
            ("port5558".into(), 5558),
            ("port8089".into(), 8089)
        ]
    );
    assert_eq!(
        spec.selector.unwrap(),
        BTreeMap::from([("performance-test-pod-name".into(), "demo-master".into())])
    );
    assert!(spec.type_.is_none(), "ClusterIP by default");
}

#[test]
fn container_ports_match_upstream() {
    let built = default_children(MINIMAL);
    let ports = |job: &Job| {
        container(job)
            .ports
            .iter()
            .flatten()
            .map(|p| p.container_port)
            .collect::<Vec<_>>()
    };
    assert_eq!(ports(&built.master_job), [5557, 5558, 8089]);
    assert_eq!(ports(&built.worker_job), [8080]);
}

#[test]
fn jobs_run_once_and_are_owned_by_the_test() {
    let built = default_children(MINIMAL);
    for (job, parallelism) in [(&built.master_job, 1), (&built.worker_job, 3)] {
        let spec = job.spec.as_ref().unwrap();
        assert_eq!(spec.parallelism, Some(parallelism));
        assert_eq!(spec.backoff_limit, Some(0));
        assert_eq!(spec.completions, None);
        assert_eq!(spec.ttl_seconds_after_finished, None);
        assert_eq!(pod(job).restart_policy.as_deref(), Some("Never"));
        let owner = &job.metadata.owner_references.as_ref().unwrap()[0];
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str(), owner.controller),
            ("LocustTest", "demo", Some(true))
        );
        assert_eq!(owner.api_version, "locust.io/v2");
        assert_eq!(owner.uid, "0b6f1d9e-4a57-4a35-9d55-8f2a4c1e7b10");
        assert_eq!(owner.block_owner_deletion, Some(true));
    }
    assert_eq!(
        built.service.metadata.owner_references.as_ref().unwrap()[0].controller,
        Some(true)
    );
}

#[test]
fn ttl_comes_from_the_operator_and_zero_is_kept() {
    let built = children(MINIMAL, &operator_config(&[("JOB_TTL_SECONDS_AFTER_FINISHED", "0")]));
    assert_eq!(built.master_job.spec.unwrap().ttl_seconds_after_finished, Some(0));
    let built = children(MINIMAL, &operator_config(&[("JOB_TTL_SECONDS_AFTER_FINISHED", "3600")]));
    assert_eq!(built.worker_job.spec.unwrap().ttl_seconds_after_finished, Some(3600));
}

#[test]
fn pull_policy_and_pull_secrets_reach_both_pods() {
    let yaml = with_spec("  imagePullPolicy: Always\n  imagePullSecrets: [{name: gcr-secret}]\n");
    let built = default_children(&yaml);
    for job in [&built.master_job, &built.worker_job] {
        assert_eq!(container(job).image.as_deref(), Some("locustio/locust:2.20.0"));
        assert_eq!(container(job).image_pull_policy.as_deref(), Some("Always"));
        assert_eq!(pod(job).image_pull_secrets.as_ref().unwrap()[0].name, "gcr-secret");
    }
    let built = default_children(MINIMAL);
    assert_eq!(
        container(&built.master_job).image_pull_policy.as_deref(),
        Some("IfNotPresent")
    );
}

#[test]
fn security_defaults_are_hardened_and_the_test_can_replace_them() {
    let built = default_children(MINIMAL);
    let pod_security = pod(&built.master_job).security_context.clone().unwrap();
    assert_eq!(pod_security.seccomp_profile.unwrap().type_, "RuntimeDefault");
    assert_eq!(pod_security.run_as_user, None, "no fixed UID (OpenShift assigns one)");
    let container_security = container(&built.worker_job).security_context.clone().unwrap();
    assert_eq!(container_security.allow_privilege_escalation, Some(false));
    assert_eq!(container_security.capabilities.unwrap().drop.unwrap(), ["ALL"]);

    let yaml = with_spec(
        "  security:\n    podSecurityContext: {runAsUser: 1000, runAsNonRoot: true}\n    containerSecurityContext: {readOnlyRootFilesystem: true}\n",
    );
    let built = default_children(&yaml);
    let pod_security = pod(&built.master_job).security_context.clone().unwrap();
    assert_eq!(pod_security.run_as_user, Some(1000));
    assert_eq!(
        pod_security.seccomp_profile, None,
        "the test's context replaces the default entirely"
    );
    let container_security = container(&built.master_job).security_context.clone().unwrap();
    assert_eq!(container_security.read_only_root_filesystem, Some(true));
    assert_eq!(container_security.capabilities, None);
}

#[test]
fn test_files_and_lib_are_mounted_and_lib_is_importable() {
    let yaml = with_spec("  testFiles: {configMapRef: scripts, libConfigMapRef: libs}\n");
    let built = default_children(&yaml);
    for (job, role) in [(&built.master_job, Role::Master), (&built.worker_job, Role::Worker)] {
        let volumes = pod(job).volumes.clone().unwrap();
        let expected_src_volume = format!("demo-{role}");
        assert_eq!(volumes[0].name, expected_src_volume);
        assert_eq!(volumes[0].config_map.as_ref().unwrap().name, "scripts");
        assert_eq!(volumes[1].name, "locust-lib");
        assert_eq!(volumes[1].config_map.as_ref().unwrap().name, "libs");
        let mounts = container(job).volume_mounts.clone().unwrap();
        assert_eq!(
            (mounts[0].name.as_str(), mounts[0].mount_path.as_str()),
            (expected_src_volume.as_str(), "/lotest/src")
        );
        assert_eq!(
            (mounts[1].name.as_str(), mounts[1].mount_path.as_str()),
            ("locust-lib", "/opt/locust/lib")
        );
        assert_eq!(
            env_var(job, "PYTHONPATH").unwrap().value.as_deref(),
            Some("/opt/locust/lib")
        );
    }

    let yaml = with_spec("  testFiles: {configMapRef: scripts, srcMountPath: /tests, libMountPath: /libs}\n");
    let built = default_children(&yaml);
    let mounts = container(&built.master_job).volume_mounts.clone().unwrap();
    assert_eq!(mounts.len(), 1, "no lib ConfigMap, no lib mount");
    assert_eq!(mounts[0].mount_path, "/tests");
    assert!(env_var(&built.master_job, "PYTHONPATH").is_none());
}

#[test]
fn env_order_is_kafka_then_otel_then_pythonpath_then_the_tests_variables() {
    let yaml = with_spec(concat!(
        "  testFiles: {libConfigMapRef: libs}\n",
        "  env:\n",
        "    variables:\n",
        "      - {name: LOG_LEVEL, value: INFO}\n",
        "      - name: API_TOKEN\n        valueFrom: {secretKeyRef: {name: api-secret, key: token}}\n",
        "  observability:\n",
        "    openTelemetry:\n",
        "      enabled: true\n      endpoint: otel:4317\n      insecure: true\n",
        "      extraEnvVars: {OTEL_SERVICE_NAME: load, OTEL_RESOURCE_ATTRIBUTES: team=perf}\n",
    ));
    let kafka = operator_config(&[
        ("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092"),
        ("KAFKA_CREDENTIALS_SECRET", "kafka-user"),
    ]);
    let built = children(&yaml, &kafka);
    assert_eq!(
        env_names(&built.worker_job),
        [
            "KAFKA_BOOTSTRAP_SERVERS",
            "KAFKA_SECURITY_ENABLED",
            "KAFKA_SECURITY_PROTOCOL_CONFIG",
            "KAFKA_SASL_MECHANISM",
            "KAFKA_USERNAME",
            "KAFKA_PASSWORD",
            "OTEL_TRACES_EXPORTER",
            "OTEL_METRICS_EXPORTER",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_INSECURE",
            "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_SERVICE_NAME",
            "PYTHONPATH",
            "LOG_LEVEL",
            "API_TOKEN",
        ]
    );
    let token = env_var(&built.worker_job, "API_TOKEN")
        .unwrap()
        .value_from
        .clone()
        .unwrap()
        .secret_key_ref
        .unwrap();
    assert_eq!((token.name.as_str(), token.key.as_str()), ("api-secret", "token"));
    assert_eq!(
        env_var(&built.master_job, "OTEL_EXPORTER_OTLP_ENDPOINT")
            .unwrap()
            .value
            .as_deref(),
        Some("otel:4317")
    );
    assert_eq!(
        env_var(&built.master_job, "OTEL_EXPORTER_OTLP_PROTOCOL")
            .unwrap()
            .value
            .as_deref(),
        Some("grpc")
    );
    for job in [&built.master_job, &built.worker_job] {
        let seed_len = if std::ptr::eq(job, &built.master_job) { 10 } else { 2 };
        assert_eq!(args(job)[seed_len], "--otel", "--otel comes right after the seed");
    }
}

#[test]
fn kafka_is_absent_unless_configured_and_the_password_is_never_literal() {
    let built = default_children(MINIMAL);
    assert!(
        env_names(&built.master_job)
            .iter()
            .all(|name| !name.starts_with("KAFKA_"))
    );

    let built = children(
        MINIMAL,
        &operator_config(&[
            ("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092"),
            ("KAFKA_CREDENTIALS_SECRET", "kafka-user"),
        ]),
    );
    let password = env_var(&built.master_job, "KAFKA_PASSWORD").unwrap();
    assert_eq!(password.value, None);
    let selector = password.value_from.clone().unwrap().secret_key_ref.unwrap();
    assert_eq!(
        (selector.name.as_str(), selector.key.as_str()),
        ("kafka-user", "password")
    );
    assert_eq!(
        env_var(&built.master_job, "KAFKA_BOOTSTRAP_SERVERS")
            .unwrap()
            .value
            .as_deref(),
        Some("kafka:9092")
    );
}

#[test]
fn a_test_variable_replaces_an_operator_variable_of_the_same_name() {
    let yaml =
        with_spec("  testFiles: {libConfigMapRef: libs}\n  env:\n    variables: [{name: PYTHONPATH, value: /mine}]\n");
    let built = default_children(&yaml);
    let values: Vec<_> = container(&built.master_job)
        .env
        .iter()
        .flatten()
        .filter(|e| e.name == "PYTHONPATH")
        .collect();
    assert_eq!(values.len(), 1);
    assert_eq!(values[0].value.as_deref(), Some("/mine"));
}

#[test]
fn env_from_lists_config_maps_then_secrets_with_prefixes() {
    let yaml = with_spec(
        "  env:\n    secretRefs: [{name: api-credentials, prefix: API_}]\n    configMapRefs: [{name: app-config}]\n",
    );
    let built = default_children(&yaml);
    let env_from = container(&built.worker_job).env_from.clone().unwrap();
    assert_eq!(env_from[0].config_map_ref.as_ref().unwrap().name, "app-config");
    assert_eq!(env_from[0].prefix, None);
    assert_eq!(env_from[1].secret_ref.as_ref().unwrap().name, "api-credentials");
    assert_eq!(env_from[1].prefix.as_deref(), Some("API_"));
}

#[test]
fn secret_mounts_become_read_only_secret_volumes_without_duplicates() {
    let yaml = with_spec(
        "  env:\n    secretMounts:\n      - {name: tls.certs, mountPath: /etc/certs}\n      - {name: tls.certs, mountPath: /etc/certs-copy, readOnly: false}\n",
    );
    let built = default_children(&yaml);
    let volumes = pod(&built.master_job).volumes.clone().unwrap();
    assert_eq!(volumes.len(), 1);
    assert_eq!(volumes[0].name, "secret-tls-certs");
    assert_eq!(
        volumes[0].secret.as_ref().unwrap().secret_name.as_deref(),
        Some("tls.certs")
    );
    let mounts = container(&built.master_job).volume_mounts.clone().unwrap();
    assert_eq!(
        mounts
            .iter()
            .map(|m| (m.mount_path.as_str(), m.read_only))
            .collect::<Vec<_>>(),
        [("/etc/certs", Some(true)), ("/etc/certs-copy", Some(false))]
    );
}

#[test]
fn volumes_reach_only_the_pods_their_mounts_target() {
    let yaml = with_spec(concat!(
        "  volumes:\n",
        "    - {name: data, emptyDir: {}}\n    - {name: reports, emptyDir: {}}\n    - {name: unused, emptyDir: {}}\n",
        "  volumeMounts:\n",
        "    - {name: data, mountPath: /data}\n",
        "    - {name: reports, mountPath: /reports, target: master, subPath: run1, readOnly: true}\n",
    ));
    let built = default_children(&yaml);
    let names = |job: &Job| {
        pod(job)
            .volumes
            .iter()
            .flatten()
            .map(|v| v.name.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&built.master_job), ["data", "reports"]);
    assert_eq!(names(&built.worker_job), ["data"]);
    let reports = container(&built.master_job)
        .volume_mounts
        .clone()
        .unwrap()
        .into_iter()
        .find(|m| m.name == "reports")
        .unwrap();
    assert_eq!(
        (reports.sub_path.as_deref(), reports.read_only),
        (Some("run1"), Some(true))
    );
    assert_eq!(container(&built.worker_job).volume_mounts.clone().unwrap().len(), 1);
}

#[test]
fn affinity_and_tolerations_are_applied_only_when_the_operator_allows_it() {
    let yaml = with_spec(concat!(
        "  scheduling:\n",
        "    nodeSelector: {node-type: performance}\n",
        "    tolerations: [{key: dedicated, operator: Equal, value: performance, effect: NoSchedule}]\n",
        "    affinity:\n      nodeAffinity:\n        requiredDuringSchedulingIgnoredDuringExecution:\n",
        "          nodeSelectorTerms: [{matchExpressions: [{key: pool, operator: In, values: [load]}]}]\n",
    ));
    let built = default_children(&yaml);
    assert!(pod(&built.master_job).affinity.is_none());
    assert!(pod(&built.master_job).tolerations.is_none());
    assert_eq!(
        pod(&built.master_job).node_selector.as_ref().unwrap()["node-type"],
        "performance",
        "nodeSelector is not gated"
    );

    let allowed = operator_config(&[
        ("ENABLE_AFFINITY_CR_INJECTION", "true"),
        ("ENABLE_TAINT_TOLERATIONS_CR_INJECTION", "true"),
    ]);
    let built = children(&yaml, &allowed);
    for job in [&built.master_job, &built.worker_job] {
        assert!(pod(job).affinity.as_ref().unwrap().node_affinity.is_some());
        assert_eq!(
            pod(job).tolerations.as_ref().unwrap()[0].key.as_deref(),
            Some("dedicated")
        );
    }
}

#[test]
fn runtime_class_from_the_test_wins_and_empty_opts_out_of_the_default() {
    let gvisor = operator_config(&[("DEFAULT_RUNTIME_CLASS_NAME", "gvisor")]);
    let class =
        |yaml: &str, config: &OperatorConfig| pod(&children(yaml, config).worker_job).runtime_class_name.clone();
    assert_eq!(class(MINIMAL, &gvisor).as_deref(), Some("gvisor"));
    assert_eq!(class(MINIMAL, &OperatorConfig::default()), None);
    assert_eq!(
        class(&with_spec("  scheduling: {runtimeClassName: kata}\n"), &gvisor).as_deref(),
        Some("kata")
    );
    assert_eq!(
        class(&with_spec("  scheduling: {runtimeClassName: \"\"}\n"), &gvisor),
        None
    );
}

#[test]
fn resources_come_from_the_test_then_the_role_default_then_the_global_default() {
    let built = default_children(MINIMAL);
    let resources = container(&built.master_job).resources.clone().unwrap();
    assert_eq!(
        quantities(resources.requests.as_ref()),
        BTreeMap::from([("cpu", "250m"), ("memory", "128Mi"), ("ephemeral-storage", "30M")])
    );
    assert_eq!(
        quantities(resources.limits.as_ref()),
        BTreeMap::from([("cpu", "1000m"), ("memory", "1024Mi"), ("ephemeral-storage", "50M")])
    );

    let operator = operator_config(&[
        ("POD_CPU_LIMIT", ""),
        ("WORKER_POD_MEM_LIMIT", "2Gi"),
        ("MASTER_POD_CPU_REQUEST", "100m"),
    ]);
    let built = children(MINIMAL, &operator);
    let worker = container(&built.worker_job).resources.clone().unwrap();
    assert!(
        !quantities(worker.limits.as_ref()).contains_key("cpu"),
        "an empty global CPU limit disables it"
    );
    assert_eq!(quantities(worker.limits.as_ref())["memory"], "2Gi");
    assert_eq!(quantities(worker.requests.as_ref())["cpu"], "250m");
    let master = container(&built.master_job).resources.clone().unwrap();
    assert_eq!(quantities(master.requests.as_ref())["cpu"], "100m");
    assert_eq!(quantities(master.limits.as_ref())["memory"], "1024Mi");

    let yaml = MINIMAL.replace(
        "    command: \"--locustfile /lotest/src/t.py\"\n",
        "    command: \"--locustfile /lotest/src/t.py\"\n    resources: {requests: {cpu: 500m}, limits: {memory: 1Gi}}\n",
    );
    let built = children(&yaml, &operator);
    let worker = container(&built.worker_job).resources.clone().unwrap();
    assert_eq!(quantities(worker.requests.as_ref()), BTreeMap::from([("cpu", "500m")]));
    assert_eq!(
        quantities(worker.limits.as_ref()),
        BTreeMap::from([("memory", "1Gi")]),
        "the test's resources replace the defaults entirely"
    );
}

#[test]
fn building_is_deterministic() {
    let yaml = with_spec(
        "  observability:\n    openTelemetry: {enabled: true, endpoint: e:4317, extraEnvVars: {B: b, A: a, C: c}}\n",
    );
    let first = serde_json::to_string(&default_children(&yaml).worker_job).unwrap();
    let second = serde_json::to_string(&default_children(&yaml).worker_job).unwrap();
    assert_eq!(first, second);
}

#[test]
fn children_record_the_spec_they_were_built_from() {
    let built = default_children(MINIMAL);
    let fingerprint = build::built_from(&built.master_job.metadata).unwrap().to_string();
    assert_eq!(
        build::built_from(&built.worker_job.metadata),
        Some(fingerprint.as_str())
    );
    assert_eq!(build::built_from(&built.service.metadata), Some(fingerprint.as_str()));
    assert_eq!(fingerprint, build::spec_fingerprint(&test_from(MINIMAL).spec));
    let edited = test_from(&MINIMAL.replace("replicas: 3", "replicas: 4"));
    assert_ne!(
        build::spec_fingerprint(&edited.spec),
        fingerprint,
        "an edit changes the fingerprint"
    );
    let metadata_only = test_from(&MINIMAL.replace("namespace: load", "namespace: load, labels: {a: b}"));
    assert_eq!(
        build::spec_fingerprint(&metadata_only.spec),
        fingerprint,
        "metadata is not the spec"
    );
}

#[test]
fn a_dry_run_test_without_uid_builds_without_owner_reference() {
    let yaml = MINIMAL.replace(", uid: 0b6f1d9e-4a57-4a35-9d55-8f2a4c1e7b10", "");
    let built = default_children(&yaml);
    assert!(built.master_job.metadata.owner_references.is_none());
}

#[test]
fn children_as_the_operator_keeps_them_hold_their_fingerprint_owner_and_job_status() {
    let mut built = default_children(&with_spec(""));
    built.master_job.metadata.managed_fields = Some(vec![Default::default()]);
    built.master_job.status = Some(k8s_openapi::api::batch::v1::JobStatus {
        active: Some(1),
        ..Default::default()
    });
    let mut job: ObservedJob = serde_json::from_value(as_watched(&built.master_job)).unwrap();
    let mut service: ObservedService = serde_json::from_value(as_watched(&built.service)).unwrap();
    job.trim();
    service.trim();
    let fingerprint = build::built_from(&built.master_job.metadata);
    assert!(fingerprint.is_some());
    assert_eq!(build::built_from(&job.metadata), fingerprint);
    assert_eq!(
        build::built_from(&service.metadata),
        build::built_from(&built.service.metadata)
    );
    // The controller maps a child's events to its test through the owner reference.
    assert_eq!(
        job.metadata.owner_references,
        built.master_job.metadata.owner_references
    );
    assert_eq!(job.status, built.master_job.status);
    assert_eq!(job.metadata.managed_fields, None);
}

/// `object` as the API server would send it.
fn as_watched<T: serde::Serialize>(object: &T) -> serde_json::Value {
    serde_json::to_value(object).unwrap()
}
