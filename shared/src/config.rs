//! The operator's own configuration: every setting the Helm chart passes to the operator through
//! environment variables, under the names and with the defaults of the Go operator, so existing
//! values files keep working.
//!
//! Parsing is pure ([`OperatorConfig::from_lookup`]) so tests and the chart test need no process
//! environment. Two deliberate differences from upstream:
//! - a variable that is set but empty is not "unset": for a resource quantity it omits that field
//!   (`POD_CPU_LIMIT=""` means no CPU limit), for an optional name it means none. Settings that
//!   cannot be omitted (flags, Kafka protocol and mechanism, Secret keys) use their default.
//! - a bad value is a start-up error, never a warning: every problem is reported at once, each
//!   naming its variable, so one fix-and-restart cycle is enough.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::naming::Role;

/// One operator-wide resource request or limit.
///
/// Unset = inherit (from the unified default for role settings, or the built-in default), Empty = omit the field, Value = use it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Setting {
    /// The variable is not set.
    #[default]
    Unset,
    /// The variable is set to `""`: the field is left out of the pod.
    Empty,
    /// The variable holds a valid quantity.
    Value(Quantity),
}

/// Requests and limits for the Locust container, one [`Setting`] per field.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResourceDefaults {
    /// `*_CPU_REQUEST`
    pub cpu_request: Setting,
    /// `*_MEM_REQUEST`
    pub memory_request: Setting,
    /// `*_EPHEMERAL_REQUEST`
    pub ephemeral_storage_request: Setting,
    /// `*_CPU_LIMIT`
    pub cpu_limit: Setting,
    /// `*_MEM_LIMIT`
    pub memory_limit: Setting,
    /// `*_EPHEMERAL_LIMIT`
    pub ephemeral_storage_limit: Setting,
}

/// The six fields of [`ResourceDefaults`], so reading and merging them is one loop, not six copies.
#[derive(Clone, Copy)]
enum ResourceField {
    CpuRequest,
    MemoryRequest,
    EphemeralStorageRequest,
    CpuLimit,
    MemoryLimit,
    EphemeralStorageLimit,
}

impl ResourceField {
    const ALL: [Self; 6] = [
        Self::CpuRequest,
        Self::MemoryRequest,
        Self::EphemeralStorageRequest,
        Self::CpuLimit,
        Self::MemoryLimit,
        Self::EphemeralStorageLimit,
    ];

    /// Variable name after the `POD_` / `MASTER_POD_` / `WORKER_POD_` prefix.
    fn variable_suffix(self) -> &'static str {
        match self {
            Self::CpuRequest => "CPU_REQUEST",
            Self::MemoryRequest => "MEM_REQUEST",
            Self::EphemeralStorageRequest => "EPHEMERAL_REQUEST",
            Self::CpuLimit => "CPU_LIMIT",
            Self::MemoryLimit => "MEM_LIMIT",
            Self::EphemeralStorageLimit => "EPHEMERAL_LIMIT",
        }
    }

    /// Key in `resources.requests` / `resources.limits`.
    fn resource_name(self) -> &'static str {
        match self {
            Self::CpuRequest | Self::CpuLimit => "cpu",
            Self::MemoryRequest | Self::MemoryLimit => "memory",
            Self::EphemeralStorageRequest | Self::EphemeralStorageLimit => "ephemeral-storage",
        }
    }

    fn is_limit(self) -> bool {
        matches!(self, Self::CpuLimit | Self::MemoryLimit | Self::EphemeralStorageLimit)
    }

    /// Upstream's built-in defaults for the unified `POD_*` settings.
    fn builtin_default(self) -> &'static str {
        match self {
            Self::CpuRequest => "250m",
            Self::MemoryRequest => "128Mi",
            Self::EphemeralStorageRequest => "30M",
            Self::CpuLimit => "1000m",
            Self::MemoryLimit => "1024Mi",
            Self::EphemeralStorageLimit => "50M",
        }
    }
}

impl ResourceDefaults {
    /// Upstream's built-in defaults: 250m/128Mi/30M requests, 1000m/1024Mi/50M limits.
    fn builtin() -> Self {
        let mut defaults = Self::default();
        for field in ResourceField::ALL {
            *defaults.field_mut(field) = Setting::Value(Quantity(field.builtin_default().to_string()));
        }
        defaults
    }

    fn field(&self, field: ResourceField) -> &Setting {
        match field {
            ResourceField::CpuRequest => &self.cpu_request,
            ResourceField::MemoryRequest => &self.memory_request,
            ResourceField::EphemeralStorageRequest => &self.ephemeral_storage_request,
            ResourceField::CpuLimit => &self.cpu_limit,
            ResourceField::MemoryLimit => &self.memory_limit,
            ResourceField::EphemeralStorageLimit => &self.ephemeral_storage_limit,
        }
    }

    fn field_mut(&mut self, field: ResourceField) -> &mut Setting {
        match field {
            ResourceField::CpuRequest => &mut self.cpu_request,
            ResourceField::MemoryRequest => &mut self.memory_request,
            ResourceField::EphemeralStorageRequest => &mut self.ephemeral_storage_request,
            ResourceField::CpuLimit => &mut self.cpu_limit,
            ResourceField::MemoryLimit => &mut self.memory_limit,
            ResourceField::EphemeralStorageLimit => &mut self.ephemeral_storage_limit,
        }
    }
}

/// Kafka settings injected into every Locust container; present only when
/// `KAFKA_BOOTSTRAP_SERVERS` is set and non-empty.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaConfig {
    /// `KAFKA_BOOTSTRAP_SERVERS`
    pub bootstrap_servers: String,
    /// `KAFKA_SECURITY_ENABLED` (default false)
    pub security_enabled: bool,
    /// `KAFKA_SECURITY_PROTOCOL_CONFIG` (default `SASL_PLAINTEXT`)
    pub security_protocol: String,
    /// `KAFKA_SASL_MECHANISM` (default `SCRAM-SHA-512`)
    pub sasl_mechanism: String,
    /// `KAFKA_SASL_JAAS_CONFIG`; `None` when unset or empty.
    pub sasl_jaas_config: Option<String>,
    /// Literal `KAFKA_USERNAME`; only allowed when there is no credentials Secret.
    pub username: Option<String>,
    /// Where the pods read `KAFKA_USERNAME` and `KAFKA_PASSWORD` from.
    pub credentials_secret: Option<KafkaCredentialsSecret>,
}

/// A Secret in the test's namespace holding the Kafka credentials. The operator never reads it:
/// pods get the values through `secretKeyRef`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KafkaCredentialsSecret {
    /// `KAFKA_CREDENTIALS_SECRET`
    pub name: String,
    /// `KAFKA_CREDENTIALS_USERNAME_KEY` (default `username`)
    pub username_key: String,
    /// `KAFKA_CREDENTIALS_PASSWORD_KEY` (default `password`)
    pub password_key: String,
}

/// Everything the operator is configured with.
#[derive(Clone, Debug, PartialEq)]
pub struct OperatorConfig {
    /// `POD_*`; unset fields already hold the built-in defaults (250m/128Mi/30M requests,
    /// 1000m/1024Mi/50M limits).
    pub pod_resources: ResourceDefaults,
    /// `MASTER_POD_*`
    pub master_resources: ResourceDefaults,
    /// `WORKER_POD_*`
    pub worker_resources: ResourceDefaults,
    /// `JOB_TTL_SECONDS_AFTER_FINISHED`; `None` keeps finished Jobs.
    pub ttl_seconds_after_finished: Option<i32>,
    /// `KAFKA_*`; `None` when `KAFKA_BOOTSTRAP_SERVERS` is unset or empty.
    pub kafka: Option<KafkaConfig>,
    /// `ENABLE_AFFINITY_CR_INJECTION` (default false)
    pub affinity_injection: bool,
    /// `ENABLE_TAINT_TOLERATIONS_CR_INJECTION` (default false)
    pub tolerations_injection: bool,
    /// `DEFAULT_RUNTIME_CLASS_NAME`; `None` when unset or empty.
    pub default_runtime_class_name: Option<String>,
}

/// One bad setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The environment variable at fault.
    pub variable: String,
    /// What is wrong and what to do. Never contains a secret value.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.variable, self.message)
    }
}

/// Every problem found in the operator's configuration; displayed one per line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// In the order the variables are read.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, problem) in self.problems.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

const TTL_VAR: &str = "JOB_TTL_SECONDS_AFTER_FINISHED";
const KAFKA_BOOTSTRAP_SERVERS_VAR: &str = "KAFKA_BOOTSTRAP_SERVERS";
const KAFKA_SECURITY_ENABLED_VAR: &str = "KAFKA_SECURITY_ENABLED";
const KAFKA_SECURITY_PROTOCOL_VAR: &str = "KAFKA_SECURITY_PROTOCOL_CONFIG";
const KAFKA_SASL_MECHANISM_VAR: &str = "KAFKA_SASL_MECHANISM";
const KAFKA_SASL_JAAS_CONFIG_VAR: &str = "KAFKA_SASL_JAAS_CONFIG";
const KAFKA_USERNAME_VAR: &str = "KAFKA_USERNAME";
/// Read only to refuse it: a password must reach the pods from a Secret, not through the operator.
const KAFKA_PASSWORD_VAR: &str = "KAFKA_PASSWORD";
const KAFKA_CREDENTIALS_SECRET_VAR: &str = "KAFKA_CREDENTIALS_SECRET";
const KAFKA_CREDENTIALS_USERNAME_KEY_VAR: &str = "KAFKA_CREDENTIALS_USERNAME_KEY";
const KAFKA_CREDENTIALS_PASSWORD_KEY_VAR: &str = "KAFKA_CREDENTIALS_PASSWORD_KEY";
const AFFINITY_INJECTION_VAR: &str = "ENABLE_AFFINITY_CR_INJECTION";
const TOLERATIONS_INJECTION_VAR: &str = "ENABLE_TAINT_TOLERATIONS_CR_INJECTION";
const RUNTIME_CLASS_VAR: &str = "DEFAULT_RUNTIME_CLASS_NAME";

const UNIFIED_PREFIX: &str = "POD_";
const MASTER_PREFIX: &str = "MASTER_POD_";
const WORKER_PREFIX: &str = "WORKER_POD_";

const KAFKA_PROTOCOLS: &[&str] = &["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"];
/// The docs list `PLAINTEXT` as a mechanism; `PLAIN` is the name Kafka clients actually use.
const KAFKA_MECHANISMS: &[&str] = &["PLAIN", "PLAINTEXT", "SCRAM-SHA-256", "SCRAM-SHA-512"];

impl Default for OperatorConfig {
    /// What an operator with no configuration variables runs with.
    fn default() -> Self {
        Self {
            pod_resources: ResourceDefaults::builtin(),
            master_resources: ResourceDefaults::default(),
            worker_resources: ResourceDefaults::default(),
            ttl_seconds_after_finished: None,
            kafka: None,
            affinity_injection: false,
            tolerations_injection: false,
            default_runtime_class_name: None,
        }
    }
}

impl OperatorConfig {
    /// Environment variable names this config reads, for docs and for the Helm chart test that checks chart and binary agree.
    ///
    /// `KAFKA_PASSWORD` is not listed: it is read only to refuse a literal password.
    pub const ENV_VARS: &'static [&'static str] = &[
        "JOB_TTL_SECONDS_AFTER_FINISHED",
        "POD_CPU_REQUEST",
        "POD_MEM_REQUEST",
        "POD_EPHEMERAL_REQUEST",
        "POD_CPU_LIMIT",
        "POD_MEM_LIMIT",
        "POD_EPHEMERAL_LIMIT",
        "MASTER_POD_CPU_REQUEST",
        "MASTER_POD_MEM_REQUEST",
        "MASTER_POD_EPHEMERAL_REQUEST",
        "MASTER_POD_CPU_LIMIT",
        "MASTER_POD_MEM_LIMIT",
        "MASTER_POD_EPHEMERAL_LIMIT",
        "WORKER_POD_CPU_REQUEST",
        "WORKER_POD_MEM_REQUEST",
        "WORKER_POD_EPHEMERAL_REQUEST",
        "WORKER_POD_CPU_LIMIT",
        "WORKER_POD_MEM_LIMIT",
        "WORKER_POD_EPHEMERAL_LIMIT",
        "KAFKA_BOOTSTRAP_SERVERS",
        "KAFKA_SECURITY_ENABLED",
        "KAFKA_SECURITY_PROTOCOL_CONFIG",
        "KAFKA_SASL_MECHANISM",
        "KAFKA_SASL_JAAS_CONFIG",
        "KAFKA_USERNAME",
        "KAFKA_CREDENTIALS_SECRET",
        "KAFKA_CREDENTIALS_USERNAME_KEY",
        "KAFKA_CREDENTIALS_PASSWORD_KEY",
        "ENABLE_AFFINITY_CR_INJECTION",
        "ENABLE_TAINT_TOLERATIONS_CR_INJECTION",
        "DEFAULT_RUNTIME_CLASS_NAME",
    ];

    /// Reads the configuration through `lookup` (variable name to value, `None` when unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut reader = Reader {
            lookup,
            problems: Vec::new(),
        };
        let ttl_seconds_after_finished = reader.ttl(TTL_VAR);
        let mut pod_resources = reader.resources(UNIFIED_PREFIX);
        let builtin = ResourceDefaults::builtin();
        for field in ResourceField::ALL {
            if *pod_resources.field(field) == Setting::Unset {
                *pod_resources.field_mut(field) = builtin.field(field).clone();
            }
        }
        let master_resources = reader.resources(MASTER_PREFIX);
        let worker_resources = reader.resources(WORKER_PREFIX);
        let kafka = reader.kafka();
        let affinity_injection = reader.flag(AFFINITY_INJECTION_VAR, false);
        let tolerations_injection = reader.flag(TOLERATIONS_INJECTION_VAR, false);
        let default_runtime_class_name = reader.dns_subdomain(RUNTIME_CLASS_VAR, "RuntimeClass");
        if !reader.problems.is_empty() {
            return Err(ConfigError {
                problems: reader.problems,
            });
        }
        Ok(Self {
            pod_resources,
            master_resources,
            worker_resources,
            ttl_seconds_after_finished,
            kafka,
            affinity_injection,
            tolerations_injection,
            default_runtime_class_name,
        })
    }

    /// Reads the configuration from the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A value that is not UTF-8 cannot be checked; report it instead of treating it as unset.
        let not_unicode = RefCell::new(Vec::new());
        let result = Self::from_lookup(|name| match std::env::var(name) {
            Ok(value) => Some(value),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                not_unicode.borrow_mut().push(ConfigProblem {
                    variable: name.to_string(),
                    message: "is not valid UTF-8".to_string(),
                });
                None
            }
        });
        let mut problems = not_unicode.into_inner();
        if problems.is_empty() {
            return result;
        }
        if let Err(error) = result {
            problems.extend(error.problems);
        }
        Err(ConfigError { problems })
    }

    /// Effective default requests/limits for a role: role value if not Unset, else unified; Empty/Unset => field omitted.
    pub fn resources_for(&self, role: Role) -> ResourceRequirements {
        let role_resources = match role {
            Role::Master => &self.master_resources,
            Role::Worker => &self.worker_resources,
        };
        let mut requests = BTreeMap::new();
        let mut limits = BTreeMap::new();
        for field in ResourceField::ALL {
            let setting = match role_resources.field(field) {
                Setting::Unset => self.pod_resources.field(field),
                role_setting => role_setting,
            };
            if let Setting::Value(quantity) = setting {
                let section = if field.is_limit() { &mut limits } else { &mut requests };
                section.insert(field.resource_name().to_string(), quantity.clone());
            }
        }
        ResourceRequirements {
            claims: None,
            limits: Some(limits).filter(|map| !map.is_empty()),
            requests: Some(requests).filter(|map| !map.is_empty()),
        }
    }
}

/// Reads variables and collects every problem instead of stopping at the first.
struct Reader<F> {
    lookup: F,
    problems: Vec<ConfigProblem>,
}

impl<F: Fn(&str) -> Option<String>> Reader<F> {
    fn problem(&mut self, variable: &str, message: String) {
        self.problems.push(ConfigProblem {
            variable: variable.to_string(),
            message,
        });
    }

    /// The value when set and not empty.
    fn non_empty(&self, variable: &str) -> Option<String> {
        (self.lookup)(variable).filter(|value| !value.is_empty())
    }

    fn quantity(&mut self, variable: &str) -> Setting {
        match (self.lookup)(variable) {
            None => Setting::Unset,
            Some(value) if value.is_empty() => Setting::Empty,
            Some(value) => match check_quantity(&value) {
                Ok(()) => Setting::Value(Quantity(value)),
                Err(QuantityProblem::Malformed) => {
                    self.problem(
                        variable,
                        format!("{value:?} is not a Kubernetes quantity (examples: 500m, 1, 1.5, 128Mi, 1Gi)"),
                    );
                    Setting::Unset
                }
                Err(QuantityProblem::Negative) => {
                    self.problem(
                        variable,
                        format!("{value:?} is negative; a request or limit must be 0 or more"),
                    );
                    Setting::Unset
                }
            },
        }
    }

    fn resources(&mut self, prefix: &str) -> ResourceDefaults {
        let mut resources = ResourceDefaults::default();
        for field in ResourceField::ALL {
            *resources.field_mut(field) = self.quantity(&format!("{prefix}{}", field.variable_suffix()));
        }
        resources
    }

    fn ttl(&mut self, variable: &str) -> Option<i32> {
        let value = self.non_empty(variable)?;
        // Digits only: `parse` alone would also take `+5`, which no one means.
        let seconds = Some(&value)
            .filter(|v| v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse().ok());
        if seconds.is_none() {
            self.problem(
                variable,
                format!(
                    "{value:?} is not a whole number of seconds between 0 and {}; leave it empty to keep finished Jobs",
                    i32::MAX
                ),
            );
        }
        seconds
    }

    fn flag(&mut self, variable: &str, default: bool) -> bool {
        let Some(value) = self.non_empty(variable) else {
            return default;
        };
        match value.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            _ => {
                self.problem(variable, format!("{value:?} is not a boolean (use true or false)"));
                default
            }
        }
    }

    fn one_of(&mut self, variable: &str, allowed: &[&str], default: &str) -> String {
        let Some(value) = self.non_empty(variable) else {
            return default.to_string();
        };
        if allowed.contains(&value.as_str()) {
            value
        } else {
            self.problem(
                variable,
                format!("{value:?} is not supported (one of: {})", allowed.join(", ")),
            );
            default.to_string()
        }
    }

    /// An optional object name; `kind` names the object in the error message.
    fn dns_subdomain(&mut self, variable: &str, kind: &str) -> Option<String> {
        let value = self.non_empty(variable)?;
        if is_dns1123_subdomain(&value) {
            Some(value)
        } else {
            self.problem(
                variable,
                format!(
                    "{value:?} is not a valid {kind} name (at most 253 lowercase letters, digits, '-' and '.', \
                     each dot-separated part starting and ending with a letter or digit)"
                ),
            );
            None
        }
    }

    fn secret_key(&mut self, variable: &str, default: &str) -> String {
        let Some(value) = self.non_empty(variable) else {
            return default.to_string();
        };
        if is_secret_key(&value) {
            value
        } else {
            self.problem(
                variable,
                format!("{value:?} is not a valid Secret key (at most 253 letters, digits, '-', '_' and '.')"),
            );
            default.to_string()
        }
    }

    fn kafka(&mut self) -> Option<KafkaConfig> {
        // Refused even when Kafka is off: the operator must never hold the password, and the
        // message must never repeat it.
        if self.non_empty(KAFKA_PASSWORD_VAR).is_some() {
            self.problem(
                KAFKA_PASSWORD_VAR,
                format!(
                    "a literal password is not accepted, because it would be copied into every pod spec; \
                     put it in a Secret in the tests' namespace, set {KAFKA_CREDENTIALS_SECRET_VAR} to the \
                     Secret's name ({KAFKA_CREDENTIALS_PASSWORD_KEY_VAR} names its key, default \"password\") \
                     and unset {KAFKA_PASSWORD_VAR}"
                ),
            );
        }
        let bootstrap_servers = self.non_empty(KAFKA_BOOTSTRAP_SERVERS_VAR)?;
        let security_enabled = self.flag(KAFKA_SECURITY_ENABLED_VAR, false);
        let security_protocol = self.one_of(KAFKA_SECURITY_PROTOCOL_VAR, KAFKA_PROTOCOLS, "SASL_PLAINTEXT");
        let sasl_mechanism = self.one_of(KAFKA_SASL_MECHANISM_VAR, KAFKA_MECHANISMS, "SCRAM-SHA-512");
        let sasl_jaas_config = self.non_empty(KAFKA_SASL_JAAS_CONFIG_VAR);
        let credentials_secret =
            self.dns_subdomain(KAFKA_CREDENTIALS_SECRET_VAR, "Secret")
                .map(|name| KafkaCredentialsSecret {
                    name,
                    username_key: self.secret_key(KAFKA_CREDENTIALS_USERNAME_KEY_VAR, "username"),
                    password_key: self.secret_key(KAFKA_CREDENTIALS_PASSWORD_KEY_VAR, "password"),
                });
        let mut username = self.non_empty(KAFKA_USERNAME_VAR);
        if let (Some(_), Some(secret)) = (&username, &credentials_secret) {
            let message = format!(
                "conflicts with {KAFKA_CREDENTIALS_SECRET_VAR}: the pods read the username from key {:?} of Secret \
                 {:?}; unset {KAFKA_USERNAME_VAR}",
                secret.username_key, secret.name
            );
            self.problem(KAFKA_USERNAME_VAR, message);
            username = None;
        }
        Some(KafkaConfig {
            bootstrap_servers,
            security_enabled,
            security_protocol,
            sasl_mechanism,
            sasl_jaas_config,
            username,
            credentials_secret,
        })
    }
}

enum QuantityProblem {
    Malformed,
    Negative,
}

/// Kubernetes quantity syntax: `[+-]<digits>[.<digits>]<suffix>`, the suffix being a binary SI
/// one (`Ki`..`Ei`), a decimal SI one (`n u m k M G T P E`, or none) or an exponent (`e3`, `E-2`).
/// Negative quantities parse but are never a valid request or limit.
fn check_quantity(text: &str) -> Result<(), QuantityProblem> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let number_len = unsigned
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(unsigned.len());
    let (number, suffix) = unsigned.split_at(number_len);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let has_digits = !whole.is_empty() || !fraction.is_empty();
    let well_formed = has_digits && !fraction.contains('.') && is_quantity_suffix(suffix);
    if !well_formed {
        return Err(QuantityProblem::Malformed);
    }
    if negative && number.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        return Err(QuantityProblem::Negative);
    }
    Ok(())
}

fn is_quantity_suffix(suffix: &str) -> bool {
    const NAMED: &[&str] = &[
        "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E",
    ];
    if NAMED.contains(&suffix) {
        return true;
    }
    let Some(exponent) = suffix.strip_prefix(['e', 'E']) else {
        return false;
    };
    let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Kubernetes object names such as RuntimeClass and Secret names (RFC 1123 subdomain).
fn is_dns1123_subdomain(name: &str) -> bool {
    let is_alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            bytes.first().is_some_and(is_alphanumeric)
                && bytes.last().is_some_and(is_alphanumeric)
                && bytes.iter().all(|b| is_alphanumeric(b) || *b == b'-')
        })
}

/// Keys of a Secret's `data`.
fn is_secret_key(key: &str) -> bool {
    key.len() <= 253
        && key != "."
        && !key.starts_with("..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::BTreeSet;

    use super::*;

    fn parse(vars: &[(&str, &str)]) -> Result<OperatorConfig, ConfigError> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        OperatorConfig::from_lookup(|name| vars.get(name).cloned())
    }

    fn config(vars: &[(&str, &str)]) -> OperatorConfig {
        parse(vars).unwrap_or_else(|error| panic!("config {vars:?} should be valid, got:\n{error}"))
    }

    fn problems(vars: &[(&str, &str)]) -> Vec<ConfigProblem> {
        match parse(vars) {
            Ok(config) => panic!("config {vars:?} should be invalid, got {config:?}"),
            Err(error) => error.problems,
        }
    }

    fn problem_variables(vars: &[(&str, &str)]) -> Vec<String> {
        problems(vars).into_iter().map(|p| p.variable).collect()
    }

    fn quantities(map: Option<&BTreeMap<String, Quantity>>) -> BTreeMap<&str, &str> {
        map.into_iter()
            .flatten()
            .map(|(k, v)| (k.as_str(), v.0.as_str()))
            .collect()
    }

    fn requests(config: &OperatorConfig, role: Role) -> BTreeMap<String, String> {
        owned(quantities(config.resources_for(role).requests.as_ref()))
    }

    fn limits(config: &OperatorConfig, role: Role) -> BTreeMap<String, String> {
        owned(quantities(config.resources_for(role).limits.as_ref()))
    }

    fn owned(map: BTreeMap<&str, &str>) -> BTreeMap<String, String> {
        map.into_iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn map(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
        entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    const KAFKA: (&str, &str) = ("KAFKA_BOOTSTRAP_SERVERS", "kafka:9092");

    #[test]
    fn no_variables_gives_upstream_defaults() {
        let config = config(&[]);
        assert_eq!(config, OperatorConfig::default());
        for role in [Role::Master, Role::Worker] {
            assert_eq!(
                requests(&config, role),
                map(&[("cpu", "250m"), ("memory", "128Mi"), ("ephemeral-storage", "30M")])
            );
            assert_eq!(
                limits(&config, role),
                map(&[("cpu", "1000m"), ("memory", "1024Mi"), ("ephemeral-storage", "50M")])
            );
            assert_eq!(config.resources_for(role).claims, None);
        }
        assert_eq!(config.ttl_seconds_after_finished, None);
        assert_eq!(config.kafka, None);
        assert!(!config.affinity_injection);
        assert!(!config.tolerations_injection);
        assert_eq!(config.default_runtime_class_name, None);
    }

    #[derive(Clone, Copy, Debug)]
    enum Roles {
        Both,
        Only(Role),
    }

    #[test]
    fn every_resource_variable_overrides_its_field() {
        use Roles::{Both, Only};
        let (master, worker) = (Only(Role::Master), Only(Role::Worker));
        #[rustfmt::skip]
        let table = [
            ("POD_CPU_REQUEST", "321m", Both, false, "cpu"),
            ("POD_MEM_REQUEST", "321Mi", Both, false, "memory"),
            ("POD_EPHEMERAL_REQUEST", "321M", Both, false, "ephemeral-storage"),
            ("POD_CPU_LIMIT", "3", Both, true, "cpu"),
            ("POD_MEM_LIMIT", "3Gi", Both, true, "memory"),
            ("POD_EPHEMERAL_LIMIT", "3G", Both, true, "ephemeral-storage"),
            ("MASTER_POD_CPU_REQUEST", "321m", master, false, "cpu"),
            ("MASTER_POD_MEM_REQUEST", "321Mi", master, false, "memory"),
            ("MASTER_POD_EPHEMERAL_REQUEST", "321M", master, false, "ephemeral-storage"),
            ("MASTER_POD_CPU_LIMIT", "3", master, true, "cpu"),
            ("MASTER_POD_MEM_LIMIT", "3Gi", master, true, "memory"),
            ("MASTER_POD_EPHEMERAL_LIMIT", "3G", master, true, "ephemeral-storage"),
            ("WORKER_POD_CPU_REQUEST", "321m", worker, false, "cpu"),
            ("WORKER_POD_MEM_REQUEST", "321Mi", worker, false, "memory"),
            ("WORKER_POD_EPHEMERAL_REQUEST", "321M", worker, false, "ephemeral-storage"),
            ("WORKER_POD_CPU_LIMIT", "3", worker, true, "cpu"),
            ("WORKER_POD_MEM_LIMIT", "3Gi", worker, true, "memory"),
            ("WORKER_POD_EPHEMERAL_LIMIT", "3G", worker, true, "ephemeral-storage"),
        ];
        let defaults = OperatorConfig::default();
        for (variable, value, affected, is_limit, key) in table {
            let config = config(&[(variable, value)]);
            for role in [Role::Master, Role::Worker] {
                let section = if is_limit {
                    limits(&config, role)
                } else {
                    requests(&config, role)
                };
                let mut expected = if is_limit {
                    limits(&defaults, role)
                } else {
                    requests(&defaults, role)
                };
                if matches!(affected, Both) || matches!(affected, Only(r) if r == role) {
                    expected.insert(key.to_string(), value.to_string());
                }
                assert_eq!(section, expected, "{variable}={value} for the {role}");
                let other = if is_limit {
                    requests(&config, role)
                } else {
                    limits(&config, role)
                };
                let other_default = if is_limit {
                    requests(&defaults, role)
                } else {
                    limits(&defaults, role)
                };
                assert_eq!(
                    other, other_default,
                    "{variable}={value} must not touch the other section"
                );
            }
        }
    }

    #[test]
    fn every_other_variable_overrides_its_field() {
        type Check = fn(&OperatorConfig) -> bool;
        /// Variable, value, variables it needs besides itself, and how to see it applied.
        type Case = (&'static str, &'static str, Vec<(&'static str, &'static str)>, Check);
        let secret = ("KAFKA_CREDENTIALS_SECRET", "kafka-user");
        let kafka = |c: &OperatorConfig| c.kafka.clone().unwrap();
        let table: [Case; 13] = [
            ("JOB_TTL_SECONDS_AFTER_FINISHED", "3600", vec![], |c| {
                c.ttl_seconds_after_finished == Some(3600)
            }),
            ("ENABLE_AFFINITY_CR_INJECTION", "true", vec![], |c| c.affinity_injection),
            ("ENABLE_TAINT_TOLERATIONS_CR_INJECTION", "true", vec![], |c| {
                c.tolerations_injection
            }),
            ("DEFAULT_RUNTIME_CLASS_NAME", "gvisor", vec![], |c| {
                c.default_runtime_class_name.as_deref() == Some("gvisor")
            }),
            ("KAFKA_BOOTSTRAP_SERVERS", "broker-1:9093,broker-2:9093", vec![], |c| {
                c.kafka
                    .as_ref()
                    .is_some_and(|k| k.bootstrap_servers == "broker-1:9093,broker-2:9093")
            }),
            ("KAFKA_SECURITY_ENABLED", "true", vec![KAFKA], |c| {
                c.kafka.as_ref().is_some_and(|k| k.security_enabled)
            }),
            ("KAFKA_SECURITY_PROTOCOL_CONFIG", "SASL_SSL", vec![KAFKA], |c| {
                c.kafka.as_ref().is_some_and(|k| k.security_protocol == "SASL_SSL")
            }),
            ("KAFKA_SASL_MECHANISM", "SCRAM-SHA-256", vec![KAFKA], |c| {
                c.kafka.as_ref().is_some_and(|k| k.sasl_mechanism == "SCRAM-SHA-256")
            }),
            ("KAFKA_SASL_JAAS_CONFIG", "module required;", vec![KAFKA], |c| {
                c.kafka
                    .as_ref()
                    .is_some_and(|k| k.sasl_jaas_config.as_deref() == Some("module required;"))
            }),
            ("KAFKA_USERNAME", "loadtest", vec![KAFKA], |c| {
                c.kafka
                    .as_ref()
                    .is_some_and(|k| k.username.as_deref() == Some("loadtest"))
            }),
            ("KAFKA_CREDENTIALS_SECRET", "kafka-user", vec![KAFKA], |c| {
                c.kafka
                    .as_ref()
                    .and_then(|k| k.credentials_secret.as_ref())
                    .is_some_and(|s| s.name == "kafka-user")
            }),
            ("KAFKA_CREDENTIALS_USERNAME_KEY", "user", vec![KAFKA, secret], |c| {
                c.kafka
                    .as_ref()
                    .and_then(|k| k.credentials_secret.as_ref())
                    .is_some_and(|s| s.username_key == "user")
            }),
            ("KAFKA_CREDENTIALS_PASSWORD_KEY", "pass", vec![KAFKA, secret], |c| {
                c.kafka
                    .as_ref()
                    .and_then(|k| k.credentials_secret.as_ref())
                    .is_some_and(|s| s.password_key == "pass")
            }),
        ];
        for (variable, value, mut base, check) in table.clone() {
            assert!(
                !check(&config(&base)),
                "{variable}: the check must fail without the variable"
            );
            base.push((variable, value));
            let parsed = config(&base);
            assert!(check(&parsed), "{variable}={value} not applied: {parsed:?}");
        }
        // Defaults of the Kafka fields the table overrides.
        let defaults = kafka(&config(&[KAFKA]));
        assert!(!defaults.security_enabled);
        assert_eq!(defaults.security_protocol, "SASL_PLAINTEXT");
        assert_eq!(defaults.sasl_mechanism, "SCRAM-SHA-512");
        assert_eq!(
            (
                defaults.sasl_jaas_config,
                defaults.username,
                defaults.credentials_secret
            ),
            (None, None, None)
        );

        // Together with the resource table, every documented variable has a case.
        let resource_vars = OperatorConfig::ENV_VARS.iter().filter(|v| v.contains("POD_")).count();
        assert_eq!(resource_vars + table.len(), OperatorConfig::ENV_VARS.len());
        for (variable, ..) in &table {
            assert!(
                OperatorConfig::ENV_VARS.contains(variable),
                "{variable} missing from ENV_VARS"
            );
        }
    }

    #[test]
    fn env_vars_lists_exactly_the_variables_read() {
        let read = RefCell::new(BTreeSet::new());
        let configured = map(&[KAFKA, ("KAFKA_CREDENTIALS_SECRET", "kafka-user")]);
        OperatorConfig::from_lookup(|name| {
            read.borrow_mut().insert(name.to_string());
            configured.get(name).cloned()
        })
        .unwrap();
        let mut listed: BTreeSet<String> = OperatorConfig::ENV_VARS.iter().map(|v| v.to_string()).collect();
        assert_eq!(listed.len(), OperatorConfig::ENV_VARS.len(), "ENV_VARS has duplicates");
        listed.insert("KAFKA_PASSWORD".to_string());
        assert_eq!(read.into_inner(), listed);
    }

    #[test]
    fn empty_unified_limit_disables_only_that_field() {
        let config = config(&[("POD_CPU_LIMIT", "")]);
        for role in [Role::Master, Role::Worker] {
            assert_eq!(
                limits(&config, role),
                map(&[("memory", "1024Mi"), ("ephemeral-storage", "50M")])
            );
            assert_eq!(requests(&config, role)["cpu"], "250m");
        }
    }

    #[test]
    fn empty_role_setting_disables_the_field_for_that_role_only() {
        let config = config(&[("MASTER_POD_CPU_LIMIT", "")]);
        assert!(!limits(&config, Role::Master).contains_key("cpu"));
        assert_eq!(limits(&config, Role::Worker)["cpu"], "1000m");
    }

    #[test]
    fn all_empty_limits_leave_no_limits_map() {
        let config = config(&[
            ("POD_CPU_LIMIT", ""),
            ("POD_MEM_LIMIT", ""),
            ("POD_EPHEMERAL_LIMIT", ""),
        ]);
        assert_eq!(config.resources_for(Role::Worker).limits, None);
        assert!(config.resources_for(Role::Worker).requests.is_some());
    }

    #[test]
    fn role_setting_beats_unified_and_unified_fills_the_gaps() {
        let config = config(&[
            ("POD_MEM_LIMIT", "2Gi"),
            ("POD_CPU_REQUEST", "500m"),
            ("WORKER_POD_MEM_LIMIT", "4Gi"),
            ("WORKER_POD_EPHEMERAL_REQUEST", "1G"),
        ]);
        assert_eq!(
            requests(&config, Role::Worker),
            map(&[("cpu", "500m"), ("memory", "128Mi"), ("ephemeral-storage", "1G")])
        );
        assert_eq!(
            limits(&config, Role::Worker),
            map(&[("cpu", "1000m"), ("memory", "4Gi"), ("ephemeral-storage", "50M")])
        );
        assert_eq!(
            requests(&config, Role::Master),
            map(&[("cpu", "500m"), ("memory", "128Mi"), ("ephemeral-storage", "30M")])
        );
        assert_eq!(
            limits(&config, Role::Master),
            map(&[("cpu", "1000m"), ("memory", "2Gi"), ("ephemeral-storage", "50M")])
        );
    }

    #[test]
    fn role_setting_restores_a_field_the_unified_setting_disabled() {
        let config = config(&[("POD_CPU_LIMIT", ""), ("WORKER_POD_CPU_LIMIT", "2")]);
        assert_eq!(limits(&config, Role::Worker)["cpu"], "2");
        assert!(!limits(&config, Role::Master).contains_key("cpu"));
    }

    #[test]
    fn invalid_quantities_are_all_reported_each_naming_its_variable() {
        let error = parse(&[
            ("POD_CPU_LIMIT", "1 core"),
            ("MASTER_POD_MEM_REQUEST", "12GB"),
            ("WORKER_POD_EPHEMERAL_LIMIT", "lots"),
            ("POD_MEM_REQUEST", "128Mi"),
        ])
        .unwrap_err();
        let variables: Vec<&str> = error.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(
            variables,
            ["POD_CPU_LIMIT", "MASTER_POD_MEM_REQUEST", "WORKER_POD_EPHEMERAL_LIMIT"]
        );
        let lines: Vec<String> = error.to_string().lines().map(str::to_string).collect();
        assert_eq!(
            lines,
            [
                r#"POD_CPU_LIMIT: "1 core" is not a Kubernetes quantity (examples: 500m, 1, 1.5, 128Mi, 1Gi)"#,
                r#"MASTER_POD_MEM_REQUEST: "12GB" is not a Kubernetes quantity (examples: 500m, 1, 1.5, 128Mi, 1Gi)"#,
                r#"WORKER_POD_EPHEMERAL_LIMIT: "lots" is not a Kubernetes quantity (examples: 500m, 1, 1.5, 128Mi, 1Gi)"#,
            ]
        );
    }

    #[test]
    fn problems_of_different_kinds_are_reported_together() {
        let variables = problem_variables(&[
            ("JOB_TTL_SECONDS_AFTER_FINISHED", "soon"),
            ("POD_CPU_REQUEST", "fast"),
            ("ENABLE_AFFINITY_CR_INJECTION", "maybe"),
            ("DEFAULT_RUNTIME_CLASS_NAME", "Kata"),
        ]);
        assert_eq!(
            variables,
            [
                "JOB_TTL_SECONDS_AFTER_FINISHED",
                "POD_CPU_REQUEST",
                "ENABLE_AFFINITY_CR_INJECTION",
                "DEFAULT_RUNTIME_CLASS_NAME"
            ]
        );
    }

    #[test]
    fn kubernetes_quantity_syntax() {
        let valid = [
            "0", "1", "1.5", ".5", "1.", "+2", "500m", "250u", "10n", "4k", "5M", "6G", "7T", "8P", "9E", "128Mi",
            "1Gi", "1Ki", "2Ti", "3Pi", "1Ei", "1e3", "1E3", "1e-3", "2E+6", "0.25Gi", "-0",
        ];
        for value in valid {
            let parsed = config(&[("POD_MEM_LIMIT", value)]);
            assert_eq!(
                parsed.pod_resources.memory_limit,
                Setting::Value(Quantity(value.to_string()))
            );
        }
        let invalid = [
            "1 core", " 1", "1 ", ".", "+", "-", "Mi", "1mi", "1KB", "1Kib", "1.5.5", "1..", "e3", "1e", "1e1.5",
            "1e+", "--1", "+-1", "1,5", "0x10", "1_000",
        ];
        for value in invalid {
            assert_eq!(
                problem_variables(&[("POD_MEM_LIMIT", value)]),
                ["POD_MEM_LIMIT"],
                "{value:?} must be rejected"
            );
        }
    }

    #[test]
    fn negative_quantities_are_rejected() {
        let found = problems(&[("WORKER_POD_CPU_REQUEST", "-1")]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].variable, "WORKER_POD_CPU_REQUEST");
        assert!(found[0].message.contains("negative"), "{}", found[0]);
    }

    #[test]
    fn ttl_accepts_zero_and_rejects_anything_but_a_non_negative_integer() {
        assert_eq!(
            config(&[("JOB_TTL_SECONDS_AFTER_FINISHED", "0")]).ttl_seconds_after_finished,
            Some(0)
        );
        assert_eq!(
            config(&[("JOB_TTL_SECONDS_AFTER_FINISHED", "")]).ttl_seconds_after_finished,
            None
        );
        assert_eq!(
            config(&[("JOB_TTL_SECONDS_AFTER_FINISHED", "2147483647")]).ttl_seconds_after_finished,
            Some(i32::MAX)
        );
        for bad in ["-1", "abc", "1.5", "+5", " 60", "2147483648", "1h"] {
            let found = problems(&[("JOB_TTL_SECONDS_AFTER_FINISHED", bad)]);
            assert_eq!(found.len(), 1, "{bad:?}");
            assert_eq!(found[0].variable, "JOB_TTL_SECONDS_AFTER_FINISHED");
            assert!(found[0].message.contains(&format!("{bad:?}")), "{}", found[0]);
        }
    }

    #[test]
    fn flags_accept_common_spellings_and_reject_the_rest() {
        for (value, expected) in [
            ("true", true),
            ("TRUE", true),
            ("Yes", true),
            ("1", true),
            ("false", false),
            ("False", false),
            ("NO", false),
            ("0", false),
            ("", false),
        ] {
            let parsed = config(&[
                ("ENABLE_AFFINITY_CR_INJECTION", value),
                ("ENABLE_TAINT_TOLERATIONS_CR_INJECTION", value),
                KAFKA,
                ("KAFKA_SECURITY_ENABLED", value),
            ]);
            assert_eq!(parsed.affinity_injection, expected, "{value:?}");
            assert_eq!(parsed.tolerations_injection, expected, "{value:?}");
            assert_eq!(parsed.kafka.unwrap().security_enabled, expected, "{value:?}");
        }
        for variable in [
            "ENABLE_AFFINITY_CR_INJECTION",
            "ENABLE_TAINT_TOLERATIONS_CR_INJECTION",
            "KAFKA_SECURITY_ENABLED",
        ] {
            for bad in ["maybe", "on", "2", "t"] {
                let found = problems(&[KAFKA, (variable, bad)]);
                assert_eq!(found.len(), 1);
                assert_eq!(
                    found[0].to_string(),
                    format!("{variable}: {bad:?} is not a boolean (use true or false)")
                );
            }
        }
    }

    #[test]
    fn runtime_class_name_must_be_a_dns_subdomain() {
        for good in ["gvisor", "kata.v2", "a", "runc-1", &"a".repeat(253)] {
            let parsed = config(&[("DEFAULT_RUNTIME_CLASS_NAME", good)]);
            assert_eq!(parsed.default_runtime_class_name.as_deref(), Some(good));
        }
        assert_eq!(
            config(&[("DEFAULT_RUNTIME_CLASS_NAME", "")]).default_runtime_class_name,
            None
        );
        for bad in [
            "GVisor",
            "-kata",
            "kata-",
            "a..b",
            ".a",
            "a.",
            "under_score",
            "sp ace",
            &"a".repeat(254),
        ] {
            assert_eq!(
                problem_variables(&[("DEFAULT_RUNTIME_CLASS_NAME", bad)]),
                ["DEFAULT_RUNTIME_CLASS_NAME"],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn kafka_is_off_without_bootstrap_servers_whatever_else_is_set() {
        let others = [
            ("KAFKA_SECURITY_ENABLED", "not-a-bool"),
            ("KAFKA_SECURITY_PROTOCOL_CONFIG", "SASL_SSL"),
            ("KAFKA_SASL_MECHANISM", "GSSAPI"),
            ("KAFKA_SASL_JAAS_CONFIG", "module required;"),
            ("KAFKA_USERNAME", "loadtest"),
            ("KAFKA_CREDENTIALS_SECRET", "kafka-user"),
        ];
        assert_eq!(config(&others).kafka, None);
        let mut with_empty_servers = others.to_vec();
        with_empty_servers.push(("KAFKA_BOOTSTRAP_SERVERS", ""));
        assert_eq!(config(&with_empty_servers).kafka, None);
    }

    #[test]
    fn kafka_credentials_come_from_a_secret() {
        let parsed = config(&[
            KAFKA,
            ("KAFKA_CREDENTIALS_SECRET", "kafka-user"),
            ("KAFKA_SECURITY_ENABLED", "true"),
        ]);
        let kafka = parsed.kafka.unwrap();
        assert_eq!(
            kafka.credentials_secret,
            Some(KafkaCredentialsSecret {
                name: "kafka-user".into(),
                username_key: "username".into(),
                password_key: "password".into(),
            })
        );
        assert_eq!(kafka.username, None);
        assert!(kafka.security_enabled);
    }

    #[test]
    fn kafka_secret_name_and_keys_are_validated() {
        let variables = problem_variables(&[KAFKA, ("KAFKA_CREDENTIALS_SECRET", "Kafka_User")]);
        assert_eq!(variables, ["KAFKA_CREDENTIALS_SECRET"]);
        let variables = problem_variables(&[
            KAFKA,
            ("KAFKA_CREDENTIALS_SECRET", "kafka-user"),
            ("KAFKA_CREDENTIALS_USERNAME_KEY", "user/name"),
            ("KAFKA_CREDENTIALS_PASSWORD_KEY", ".."),
        ]);
        assert_eq!(
            variables,
            ["KAFKA_CREDENTIALS_USERNAME_KEY", "KAFKA_CREDENTIALS_PASSWORD_KEY"]
        );
        let keys = config(&[
            KAFKA,
            ("KAFKA_CREDENTIALS_SECRET", "kafka-user"),
            ("KAFKA_CREDENTIALS_USERNAME_KEY", "SASL_user.name-1"),
        ]);
        assert_eq!(
            keys.kafka.unwrap().credentials_secret.unwrap().username_key,
            "SASL_user.name-1"
        );
    }

    #[test]
    fn literal_kafka_username_is_allowed_without_a_secret_but_conflicts_with_one() {
        let parsed = config(&[KAFKA, ("KAFKA_USERNAME", "loadtest")]);
        assert_eq!(parsed.kafka.unwrap().username.as_deref(), Some("loadtest"));
        let found = problems(&[
            KAFKA,
            ("KAFKA_USERNAME", "loadtest"),
            ("KAFKA_CREDENTIALS_SECRET", "kafka-user"),
        ]);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].variable, "KAFKA_USERNAME");
        assert!(found[0].message.contains("KAFKA_CREDENTIALS_SECRET"), "{}", found[0]);
    }

    #[test]
    fn literal_kafka_password_is_refused_without_repeating_it() {
        let password = "s3cr3t-Pa55";
        for vars in [
            vec![KAFKA, ("KAFKA_PASSWORD", password)],
            vec![
                KAFKA,
                ("KAFKA_PASSWORD", password),
                ("KAFKA_CREDENTIALS_SECRET", "kafka-user"),
            ],
            vec![("KAFKA_PASSWORD", password)],
        ] {
            let error = parse(&vars).unwrap_err();
            assert_eq!(error.problems.len(), 1);
            assert_eq!(error.problems[0].variable, "KAFKA_PASSWORD");
            let shown = format!("{error} {error:?}");
            assert!(shown.contains("KAFKA_CREDENTIALS_SECRET"), "{shown}");
            assert!(!shown.contains(password), "the password leaked: {shown}");
        }
        assert!(config(&[KAFKA, ("KAFKA_PASSWORD", "")]).kafka.is_some());
    }

    #[test]
    fn kafka_protocol_and_mechanism_must_be_supported() {
        for protocol in ["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL", "SSL"] {
            let kafka = config(&[KAFKA, ("KAFKA_SECURITY_PROTOCOL_CONFIG", protocol)])
                .kafka
                .unwrap();
            assert_eq!(kafka.security_protocol, protocol);
        }
        for mechanism in ["PLAIN", "PLAINTEXT", "SCRAM-SHA-256", "SCRAM-SHA-512"] {
            let kafka = config(&[KAFKA, ("KAFKA_SASL_MECHANISM", mechanism)]).kafka.unwrap();
            assert_eq!(kafka.sasl_mechanism, mechanism);
        }
        let found = problems(&[
            KAFKA,
            ("KAFKA_SECURITY_PROTOCOL_CONFIG", "TLS"),
            ("KAFKA_SASL_MECHANISM", "GSSAPI"),
        ]);
        assert_eq!(
            found.iter().map(ToString::to_string).collect::<Vec<_>>(),
            [
                r#"KAFKA_SECURITY_PROTOCOL_CONFIG: "TLS" is not supported (one of: PLAINTEXT, SASL_PLAINTEXT, SASL_SSL, SSL)"#,
                r#"KAFKA_SASL_MECHANISM: "GSSAPI" is not supported (one of: PLAIN, PLAINTEXT, SCRAM-SHA-256, SCRAM-SHA-512)"#,
            ]
        );
    }

    #[test]
    fn empty_kafka_settings_use_their_defaults() {
        let kafka = config(&[
            KAFKA,
            ("KAFKA_SECURITY_PROTOCOL_CONFIG", ""),
            ("KAFKA_SASL_MECHANISM", ""),
            ("KAFKA_SASL_JAAS_CONFIG", ""),
            ("KAFKA_USERNAME", ""),
        ])
        .kafka
        .unwrap();
        assert_eq!(kafka.security_protocol, "SASL_PLAINTEXT");
        assert_eq!(kafka.sasl_mechanism, "SCRAM-SHA-512");
        assert_eq!(kafka.sasl_jaas_config, None);
        assert_eq!(kafka.username, None);
    }
}
