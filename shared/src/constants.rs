//! Names, ports, paths and label keys that users, dashboards and kubectl recipes depend on.
//! They match the Go operator exactly so a team can swap operators and keep its tooling.

/// API group of the LocustTest resource.
pub const GROUP: &str = "locust.io";
/// Kind of the custom resource.
pub const KIND: &str = "LocustTest";
/// Plural resource name.
pub const PLURAL: &str = "locusttests";
/// Name of the CustomResourceDefinition.
pub const CRD_NAME: &str = "locusttests.locust.io";
/// Deprecation warning the API server returns for v1 requests.
pub const V1_DEPRECATION_WARNING: &str = "locust.io/v1 LocustTest is deprecated, migrate to locust.io/v2";

/// Longest test name that still leaves room for `-worker` in a 63-character Job name.
pub const MAX_TEST_NAME_LEN: usize = 56;
/// Most worker replicas a test may ask for.
pub const MAX_WORKER_REPLICAS: i32 = 500;

/// Port the master accepts worker connections on (ZeroMQ).
pub const MASTER_PORT: i32 = 5557;
/// Second master Service port, kept because upstream Services and network policies carry it
/// (Locust 2.x binds only [`MASTER_PORT`]).
pub const MASTER_PORT_2: i32 = 5558;
/// Master web UI and JSON stats API port.
pub const WEB_UI_PORT: i32 = 8089;
/// Worker container port (kept from upstream for policy engines that match on it).
pub const WORKER_PORT: i32 = 8080;

/// Default mount path of the test-files ConfigMap.
pub const DEFAULT_SRC_MOUNT_PATH: &str = "/lotest/src";
/// Default mount path of the library ConfigMap.
pub const DEFAULT_LIB_MOUNT_PATH: &str = "/opt/locust/lib";
/// Volume name of the library ConfigMap.
pub const LIB_VOLUME_NAME: &str = "locust-lib";
/// Prefix of the volumes made from `env.secretMounts`.
pub const SECRET_VOLUME_PREFIX: &str = "secret-";

/// Pod label carrying the raw test name (the operator lists pods by it).
pub const LABEL_TEST_NAME: &str = "performance-test-name";
/// Pod label carrying `<name>-master` / `<name>-worker` (the Service selects on it).
pub const LABEL_POD_NAME: &str = "performance-test-pod-name";
/// Pod label naming the managing operator.
pub const LABEL_MANAGED_BY: &str = "managed-by";
/// Pod label carrying the raw test name, kept for upstream dashboards.
pub const LABEL_APP: &str = "app";
/// Value of [`LABEL_MANAGED_BY`].
pub const MANAGED_BY: &str = "locust-k8s-operator";

/// Annotation on a v1 object holding the v2 spec fields v1 cannot express.
pub const ANNOTATION_V2_SPEC: &str = "locust.io/v2-spec";
/// Annotation on a v2 object holding v1 details that v2 cannot tell apart.
pub const ANNOTATION_V1_SPEC: &str = "locust.io/v1-spec";
/// Set by `kubectl locust stop` before it asks the master to stop: who asked and when, as
/// `<RFC 3339 time> <who>`, so the status can say the run was stopped on request.
pub const ANNOTATION_STOP_REQUESTED: &str = "locust.io/stop-requested";
