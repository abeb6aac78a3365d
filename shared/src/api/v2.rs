//! `locust.io/v2` LocustTest: the storage version.
//!
//! Field names, defaults, enums and limits follow the API reference. The CEL rules below are the
//! whole validation story: they live in the CRD, so the API server always enforces them, and the
//! plugin evaluates the same rules client-side (see [`crate::validation`]).
//! Every list a rule walks has `maxItems` and every string it compares has `maxLength`, or the
//! API server rejects the CRD for exceeding its CEL cost budget.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, LocalObjectReference, PodSecurityContext, ResourceRequirements, SecurityContext, Toleration,
    Volume,
};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use super::status::{LocustTestStatus, Phase};
use super::{ImagePullPolicy, forms};

/// Reserved test-file paths as a CEL list, honouring custom mount paths. A path is reserved when its
/// ConfigMap is referenced, or when neither is (upstream's rule). `''` marks "not reserved".
/// Built inline because `cel.bind` does not exist in the API server's CRD CEL environment.
macro_rules! reserved_paths {
    () => {
        "(has(self.testFiles) ? [\
            (has(self.testFiles.configMapRef) || !has(self.testFiles.libConfigMapRef)) ? \
                (has(self.testFiles.srcMountPath) ? self.testFiles.srcMountPath : '/lotest/src') : '', \
            (has(self.testFiles.libConfigMapRef) || !has(self.testFiles.configMapRef)) ? \
                (has(self.testFiles.libMountPath) ? self.testFiles.libMountPath : '/opt/locust/lib') : ''\
         ] : ['/lotest/src', '/opt/locust/lib'])"
    };
}

/// True when mount `m` is equal to, under, or a parent of reserved path `r` (`/lotest/srcfoo` is fine).
macro_rules! no_path_conflict {
    () => {
        "r == '' || (m.mountPath != r \
          && !m.mountPath.startsWith(r.endsWith('/') ? r : r + '/') \
          && !r.startsWith(m.mountPath.endsWith('/') ? m.mountPath : m.mountPath + '/'))"
    };
}

/// A distributed Locust load test: one master, N workers, run once.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "locust.io",
    version = "v2",
    kind = "LocustTest",
    plural = "locusttests",
    singular = "locusttest",
    shortname = "lotest",
    namespaced,
    status = "LocustTestStatus",
    derive = "PartialEq",
    cel,
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase", description = "Current test phase"),
    printcolumn(name = "Workers", type_ = "integer", json_path = ".spec.worker.replicas", description = "Requested worker count"),
    printcolumn(name = "Connected", type_ = "integer", json_path = ".status.connectedWorkers", description = "Connected workers"),
    printcolumn(name = "Image", type_ = "string", json_path = ".spec.image", description = "Locust image", priority = 1),
    // Live results show with `-o wide`: the default columns stay the ones the API reference lists,
    // so scripts reading them by position keep working.
    printcolumn(name = "RPS", type_ = "number", json_path = ".status.stats.currentRps", description = "Requests per second (live)", priority = 1),
    printcolumn(name = "Fail%", type_ = "number", json_path = ".status.stats.failPercent", description = "Failed requests, percent", priority = 1),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("size(self.metadata.name) <= 56")
        .message("metadata.name is too long: generated Job names would exceed 63 characters (max CR name length is 56); choose a shorter name"),
    // The name is computed once through a one-element list: a per-volume `replace` on the
    // unbounded metadata.name costs 12x the API server's budget.
    validation = Rule::new("!has(self.spec.volumes) || [self.metadata.name.replace('.', '-')].all(n, [n + '-master', n + '-worker'].all(g, self.spec.volumes.all(v, v.name != g)))")
        .message(Message::Expression("'spec.volumes: volume name conflicts with operator-generated name ' + self.metadata.name.replace('.', '-') + '-master/-worker; rename the volume'".into()))
        .field_path(".spec.volumes"),
)]
#[x_kube(
    validation = Rule::new(concat!(
        "!has(self.env) || !has(self.env.secretMounts) || self.env.secretMounts.all(m, ",
        reserved_paths!(), ".all(r, ", no_path_conflict!(), "))"
    ))
    .message("spec.env.secretMounts: mountPath conflicts with a reserved test-files path (testFiles.srcMountPath, default /lotest/src, or testFiles.libMountPath, default /opt/locust/lib); mount the secret somewhere else")
    .reason(Reason::FieldValueForbidden)
    .field_path(".env.secretMounts"),
    validation = Rule::new(concat!(
        "!has(self.volumeMounts) || self.volumeMounts.all(m, ",
        reserved_paths!(), ".all(r, ", no_path_conflict!(), "))"
    ))
    .message("spec.volumeMounts: mountPath conflicts with a reserved test-files path (testFiles.srcMountPath, default /lotest/src, or testFiles.libMountPath, default /opt/locust/lib); mount the volume somewhere else")
    .field_path(".volumeMounts"),
    validation = Rule::new("!has(self.volumeMounts) || self.volumeMounts.all(m, has(self.volumes) && self.volumes.exists(v, v.name == m.name))")
        .message("spec.volumeMounts: every volumeMount must reference a volume defined in spec.volumes; add the volume or fix the mount's name")
        .field_path(".volumeMounts"),
)]
#[serde(rename_all = "camelCase")]
pub struct LocustTestSpec {
    /// Container image for master and worker pods, e.g. `locustio/locust:2.20.0`.
    pub image: String,
    /// Image pull policy for the Locust containers.
    #[serde(default)]
    pub image_pull_policy: ImagePullPolicy,
    /// Secrets for pulling from private registries, as `- name: secret-name`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "forms::pull_secret_refs"
    )]
    pub image_pull_secrets: Option<Vec<LocalObjectReference>>,
    /// Master pod configuration.
    pub master: MasterSpec,
    /// Worker pods configuration.
    pub worker: WorkerSpec,
    /// ConfigMaps holding the test files and library files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_files: Option<TestFilesConfig>,
    /// Affinity, tolerations, nodeSelector and runtime class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduling: Option<SchedulingConfig>,
    /// Environment variables and secret mounts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<EnvConfig>,
    /// Additional volumes; a volume is added to a pod only if a volumeMount targets that pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "bounded_volumes")]
    #[x_kube(validation = Rule::new("self.all(v, !v.name.startsWith('secret-') && v.name != 'locust-lib')")
        .message("spec.volumes: volume names starting with 'secret-' and the name 'locust-lib' are reserved for the operator's own volumes; rename the volume"))]
    pub volumes: Option<Vec<Volume>>,
    /// Volume mounts with target filtering (`master`, `worker` or `both`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub volume_mounts: Option<Vec<TargetedVolumeMount>>,
    /// Pod and container security contexts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub security: Option<SecurityConfig>,
    /// OpenTelemetry configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observability: Option<ObservabilityConfig>,
    /// Limits the results must meet, checked on the master's final statistics when the run ends;
    /// a breach fails the test (TestCompleted reason ThresholdsBreached).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Thresholds>,
}

/// The limits a run's results must meet: over all requests (Locust's `Aggregated` row) and per
/// endpoint. Each limit is optional; at least one must be set.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new(concat!(
    "has(self.maxFailRatio) || has(self.maxP95ResponseTimeMs) || has(self.maxMedianResponseTimeMs) ",
    "|| has(self.minRps) || (has(self.endpoints) && size(self.endpoints) > 0)"
))
    .message("spec.thresholds: set at least one limit (maxFailRatio, maxP95ResponseTimeMs, maxMedianResponseTimeMs, minRps) or an endpoints entry, or remove thresholds"))]
#[serde(rename_all = "camelCase")]
pub struct Thresholds {
    /// The limits over all requests.
    #[serde(flatten)]
    pub limits: Limits,
    /// Limits for single endpoints (Locust's request name, optionally with its method).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub endpoints: Option<Vec<EndpointThresholds>>,
}

/// The limits one endpoint must meet.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[x_kube(validation = Rule::new(
    "has(self.maxFailRatio) || has(self.maxP95ResponseTimeMs) || has(self.maxMedianResponseTimeMs) || has(self.minRps)"
)
    .message("spec.thresholds.endpoints: each entry needs at least one limit (maxFailRatio, maxP95ResponseTimeMs, maxMedianResponseTimeMs or minRps)"))]
#[serde(rename_all = "camelCase")]
pub struct EndpointThresholds {
    /// The request name as Locust reports it (usually the path, e.g. `/checkout`).
    #[schemars(length(min = 1, max = 512))]
    pub name: String,
    /// The request's method (e.g. `GET`); without it, every method's row of that name must meet
    /// the limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 32))]
    pub method: Option<String>,
    /// The limits of this endpoint.
    #[serde(flatten)]
    pub limits: Limits,
}

/// The four limits, over all requests (`spec.thresholds`) or for one endpoint; each optional.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Failed requests / requests, at most (0 to 1; 0.01 is 1 %).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 1.0))]
    pub max_fail_ratio: Option<f64>,
    /// 95th-percentile response time over the run, at most, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "maxP95ResponseTimeMs")]
    #[schemars(range(min = 0.0, max = 86_400_000.0))]
    pub max_p95_response_time_ms: Option<f64>,
    /// Median response time over the run, at most, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 86_400_000.0))]
    pub max_median_response_time_ms: Option<f64>,
    /// Requests per second over the run (requests / run time), at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0.0, max = 10_000_000.0))]
    pub min_rps: Option<f64>,
}

/// `volumes` with the bounds the CEL cost estimator needs: at most 64 items, names at most 63 chars.
fn bounded_volumes(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = generator.subschema_for::<Option<Vec<Volume>>>();
    if let Some(object) = schema.as_object_mut() {
        object.insert("maxItems".into(), 64.into());
        if let Some(name) = object
            .get_mut("items")
            .and_then(|items| items.get_mut("properties"))
            .and_then(|properties| properties.get_mut("name"))
            .and_then(|name| name.as_object_mut())
        {
            name.insert("maxLength".into(), 63.into());
        }
    }
    schema
}

/// Master pod configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MasterSpec {
    /// Locust command seed, e.g. `--locustfile /lotest/src/test.py --host https://example.com`.
    /// Split like a shell would: quoted arguments stay one argument.
    pub command: String,
    /// CPU and memory requests and limits; when set, replaces the operator defaults entirely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Additional labels for the master pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Additional annotations for the master pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Start the test automatically once the expected workers are connected.
    #[serde(default = "default_true")]
    pub autostart: bool,
    /// Quit the master this many seconds after the test ends (only with autostart: Locust
    /// accepts `--autoquit` only together with `--autostart`).
    #[serde(default = "default_autoquit", skip_serializing_if = "Option::is_none")]
    pub autoquit: Option<AutoquitConfig>,
    /// Additional command-line arguments, appended after the operator's flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_args: Option<Vec<String>>,
}

/// Worker pods configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkerSpec {
    /// Locust command seed, e.g. `--locustfile /lotest/src/test.py`.
    pub command: String,
    /// Number of worker pods (1-500).
    #[schemars(range(min = 1, max = 500))]
    pub replicas: i32,
    /// CPU and memory requests and limits; when set, replaces the operator defaults entirely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Additional labels for worker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    /// Additional annotations for worker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    /// Additional command-line arguments, appended after the operator's flags.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extra_args: Option<Vec<String>>,
}

/// When the master quits after the test ends.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutoquitConfig {
    /// Quit automatically after the test ends.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Seconds to wait after the test ends before quitting.
    #[serde(default = "default_autoquit_timeout")]
    #[schemars(range(min = 0))]
    pub timeout: i32,
}

impl Default for AutoquitConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            timeout: DEFAULT_AUTOQUIT_TIMEOUT,
        }
    }
}

/// Seconds the master waits after the test before quitting, unless the test says otherwise.
pub const DEFAULT_AUTOQUIT_TIMEOUT: i32 = 60;

/// ConfigMaps with test and library files, and where they are mounted.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestFilesConfig {
    /// ConfigMap containing the test files (locustfiles).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<String>,
    /// ConfigMap containing library files; its mount path is put on PYTHONPATH.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lib_config_map_ref: Option<String>,
    /// Mount path for test files.
    #[serde(default = "default_src_mount_path")]
    #[schemars(length(min = 1, max = 1024))]
    pub src_mount_path: String,
    /// Mount path for library files.
    #[serde(default = "default_lib_mount_path")]
    #[schemars(length(min = 1, max = 1024))]
    pub lib_mount_path: String,
}

/// Where the pods run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SchedulingConfig {
    /// Standard Kubernetes affinity (applied when the operator allows affinity injection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<Affinity>,
    /// Standard Kubernetes tolerations (applied when the operator allows toleration injection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<Toleration>>,
    /// Node selector labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_selector: Option<BTreeMap<String, String>>,
    /// RuntimeClass for the pods; `""` opts out of the operator's default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 253),
        regex(pattern = r"^$|^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub runtime_class_name: Option<String>,
}

/// Environment variables and secrets for the Locust containers.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EnvConfig {
    /// ConfigMaps whose keys become environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_refs: Option<Vec<ConfigMapEnvSource>>,
    /// Secrets whose keys become environment variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_refs: Option<Vec<SecretEnvSource>>,
    /// Individual environment variables (value or valueFrom).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<EnvVar>>,
    /// Secrets mounted as files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub secret_mounts: Option<Vec<SecretMount>>,
}

/// A ConfigMap injected as environment variables.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapEnvSource {
    /// ConfigMap name.
    pub name: String,
    /// Prefix added to every key, e.g. `APP_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// A Secret injected as environment variables.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretEnvSource {
    /// Secret name.
    pub name: String,
    /// Prefix added to every key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
}

/// A Secret mounted as files.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretMount {
    /// Secret name.
    pub name: String,
    /// Path to mount the secret at; must not overlap the test-file paths.
    #[schemars(length(min = 1, max = 1024))]
    pub mount_path: String,
    /// Mount read-only.
    #[serde(default = "default_true")]
    pub read_only: bool,
}

/// A volume mount that applies to the master, the workers, or both.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TargetedVolumeMount {
    /// Name of a volume in `spec.volumes`.
    #[schemars(length(min = 1, max = 63))]
    pub name: String,
    /// Path to mount the volume at; must not overlap the test-file paths.
    #[schemars(length(min = 1, max = 1024))]
    pub mount_path: String,
    /// Sub-path within the volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path: Option<String>,
    /// Expanded sub-path within the volume (`$(VAR)` references).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_path_expr: Option<String>,
    /// Mount read-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Recursive read-only mode: `Disabled`, `IfPossible` or `Enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recursive_read_only: Option<String>,
    /// Mount propagation: `None`, `HostToContainer` or `Bidirectional`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_propagation: Option<String>,
    /// Which pods get the mount.
    #[serde(default)]
    pub target: MountTarget,
}

/// Which pods a volume mount applies to.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MountTarget {
    /// The master pod only.
    Master,
    /// Worker pods only.
    Worker,
    /// Master and worker pods.
    #[default]
    Both,
}

/// Security contexts for the Locust pods.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityConfig {
    /// Pod security context; replaces the default (seccomp RuntimeDefault) entirely.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_security_context: Option<PodSecurityContext>,
    /// Security context of the Locust container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_security_context: Option<SecurityContext>,
}

/// Observability configuration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct ObservabilityConfig {
    /// OpenTelemetry configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_telemetry: Option<OpenTelemetryConfig>,
}

/// Native OpenTelemetry export from Locust (`--otel`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("!self.enabled || (has(self.endpoint) && size(self.endpoint) > 0)")
    .message("spec.observability.openTelemetry.endpoint is required when OpenTelemetry is enabled; set it (e.g. otel-collector.monitoring:4317) or set enabled: false"))]
#[serde(rename_all = "camelCase")]
pub struct OpenTelemetryConfig {
    /// Enable OpenTelemetry export.
    #[serde(default)]
    pub enabled: bool,
    /// OTLP collector endpoint, e.g. `otel-collector:4317`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// OTLP protocol.
    #[serde(default)]
    pub protocol: OtelProtocol,
    /// Use an insecure connection.
    #[serde(default)]
    pub insecure: bool,
    /// Additional OTEL_* environment variables, as a map `NAME: value`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "forms::string_map"
    )]
    pub extra_env_vars: Option<BTreeMap<String, String>>,
}

/// OTLP export protocol.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum OtelProtocol {
    /// gRPC.
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    /// HTTP with protobuf bodies.
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

impl OtelProtocol {
    /// The value of `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Grpc => "grpc",
            Self::HttpProtobuf => "http/protobuf",
        }
    }
}

fn default_true() -> bool {
    true
}

fn default_autoquit() -> Option<AutoquitConfig> {
    Some(AutoquitConfig::default())
}

fn default_autoquit_timeout() -> i32 {
    DEFAULT_AUTOQUIT_TIMEOUT
}

fn default_src_mount_path() -> String {
    crate::constants::DEFAULT_SRC_MOUNT_PATH.into()
}

fn default_lib_mount_path() -> String {
    crate::constants::DEFAULT_LIB_MOUNT_PATH.into()
}

impl Default for TestFilesConfig {
    fn default() -> Self {
        Self {
            config_map_ref: None,
            lib_config_map_ref: None,
            src_mount_path: default_src_mount_path(),
            lib_mount_path: default_lib_mount_path(),
        }
    }
}

impl LocustTestSpec {
    /// The OpenTelemetry settings when OpenTelemetry is enabled.
    pub fn otel(&self) -> Option<&OpenTelemetryConfig> {
        self.observability
            .as_ref()
            .and_then(|o| o.open_telemetry.as_ref())
            .filter(|otel| otel.enabled)
    }
}
