//! The status both API versions report: phase, worker counts, times and conditions.
//! Condition types and reasons are the ones the API reference names, so `kubectl wait` recipes and
//! alerts written for the Go operator keep working.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Observed state of a LocustTest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocustTestStatus {
    /// Lifecycle phase: Pending, Running, Succeeded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    /// Most recent metadata.generation the operator acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Number of worker replicas the test asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_workers: Option<i32>,
    /// Number of workers connected to the master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connected_workers: Option<i32>,
    /// When the test became Running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Time>,
    /// When the test reached Succeeded or Failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_time: Option<Time>,
    /// Standard conditions, one per type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["type".into()]))]
    pub conditions: Option<Vec<Condition>>,
    /// Live statistics read from the master's web API; the last values stay after the test ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<TestStats>,
    /// Each limit of `spec.thresholds` checked on the final statistics, in spec order (set when
    /// the run ends; the ThresholdsMet condition sums them up).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Vec<ThresholdResult>>,
    /// Locust's final report, saved from the master before it quit (`kubectl locust report`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<ReportStatus>,
}

/// One limit of `spec.thresholds`, checked.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = without_defaults)]
pub struct ThresholdResult {
    /// `all requests`, or the endpoint (`GET /checkout`, or `/checkout` for every method).
    pub subject: String,
    /// The field that sets the limit: maxFailRatio, maxP95ResponseTimeMs, maxMedianResponseTimeMs
    /// or minRps.
    pub limit: String,
    /// The limit.
    pub allowed: f64,
    /// What the run measured; absent when the subject had no requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measured: Option<f64>,
    /// Whether the limit was met.
    #[serde(default)]
    pub met: bool,
}

/// Where Locust's final report of the run is kept, or why it is not.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReportStatus {
    /// The ConfigMap in the test's namespace that holds the report (gzip in binaryData); absent
    /// when it could not be saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
    /// The files it holds (e.g. `report.html`, `requests.csv`, `failures.csv`, `stats.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<String>>,
    /// When the operator read the report from the master.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saved_time: Option<Time>,
    /// What was left out, or why nothing was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A compact summary of the master's statistics, as its web API reported them.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(transform = without_defaults)]
pub struct TestStats {
    /// Locust's own state: ready, spawning, running, cleanup, stopping, stopped or missing.
    #[serde(default)]
    pub state: String,
    /// Simulated users currently running.
    #[serde(default)]
    pub users: i64,
    /// Requests made so far, all endpoints together.
    #[serde(default)]
    pub total_requests: i64,
    /// Failed requests so far, all endpoints together.
    #[serde(default)]
    pub total_failures: i64,
    /// Failed requests / all requests, 0 to 1.
    #[serde(default)]
    pub fail_ratio: f64,
    /// The fail ratio as a percentage rounded to 2 decimals (for the printer column).
    #[serde(default)]
    pub fail_percent: f64,
    /// Requests per second over the last few seconds (the last such value once the test has
    /// stopped), rounded to 1 decimal.
    #[serde(default)]
    pub current_rps: f64,
    /// Median response time over the whole test, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_response_time: Option<f64>,
    /// 95th percentile response time over the whole test, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "p95ResponseTime")]
    pub p95_response_time: Option<f64>,
    /// Worker processes the master reports as connected (Locust counts each process a worker
    /// forks with `--processes`); absent for a master that does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<i32>,
    /// When the master reported these values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_update_time: Option<Time>,
}

/// Missing fields read as zero (tolerance for hand-written statuses), but the schema declares no
/// defaults: the operator writes every field, and the CRD's defaults are only the documented ones.
fn without_defaults(schema: &mut schemars::Schema) {
    if let Some(properties) = schema.get_mut("properties").and_then(serde_json::Value::as_object_mut) {
        for property in properties.values_mut() {
            if let Some(property) = property.as_object_mut() {
                property.remove("default");
            }
        }
    }
}

impl TestStats {
    /// True when both say the same apart from when they were read.
    pub fn same_values(&self, other: &Self) -> bool {
        let without_time = |stats: &Self| Self {
            last_update_time: None,
            ..stats.clone()
        };
        without_time(self) == without_time(other)
    }
}

/// Lifecycle phase of a test.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, JsonSchema)]
pub enum Phase {
    /// Resources are being created or recreated.
    Pending,
    /// The master is running.
    Running,
    /// The master exited 0.
    Succeeded,
    /// The master failed, or pods stayed unhealthy past the grace period.
    Failed,
}

impl Phase {
    /// The phase as written in status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::Running => "Running",
            Self::Succeeded => "Succeeded",
            Self::Failed => "Failed",
        }
    }

    /// Succeeded and Failed are final: nothing is created or recreated afterwards.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed)
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Condition types and their reasons, as the API reference names them.
pub mod conditions {
    /// All resources (Service, Jobs) exist.
    pub const READY: &str = "Ready";
    /// Workers connected to the master.
    pub const WORKERS_CONNECTED: &str = "WorkersConnected";
    /// The test has finished.
    pub const TEST_COMPLETED: &str = "TestCompleted";
    /// Pods are healthy (checked after the grace period).
    pub const PODS_HEALTHY: &str = "PodsHealthy";
    /// The spec was edited after creation and the edit is ignored.
    pub const SPEC_DRIFTED: &str = "SpecDrifted";
    /// The run met `spec.thresholds` (only on tests that set thresholds).
    pub const THRESHOLDS_MET: &str = "ThresholdsMet";

    /// Reasons of the Ready condition.
    pub mod ready {
        pub const RESOURCES_CREATED: &str = "ResourcesCreated";
        pub const RESOURCES_CREATING: &str = "ResourcesCreating";
        pub const RESOURCES_FAILED: &str = "ResourcesFailed";
    }
    /// Reasons of the WorkersConnected condition.
    pub mod workers {
        pub const ALL_WORKERS_CONNECTED: &str = "AllWorkersConnected";
        pub const WAITING_FOR_WORKERS: &str = "WaitingForWorkers";
        pub const WORKERS_MISSING: &str = "WorkersMissing";
    }
    /// Reasons of the TestCompleted condition.
    pub mod completed {
        pub const TEST_SUCCEEDED: &str = "TestSucceeded";
        pub const TEST_FAILED: &str = "TestFailed";
        pub const TEST_IN_PROGRESS: &str = "TestInProgress";
        /// Ended early on request (`kubectl locust stop`); Locust kept its results.
        pub const TEST_STOPPED: &str = "TestStopped";
        /// Locust succeeded but the results breached `spec.thresholds`.
        pub const THRESHOLDS_BREACHED: &str = "ThresholdsBreached";
        /// Locust succeeded but its final statistics could not be read to check `spec.thresholds`.
        pub const THRESHOLDS_UNVERIFIED: &str = "ThresholdsUnverified";
    }
    /// Reasons of the ThresholdsMet condition.
    pub mod thresholds {
        /// Checked when the run ends.
        pub const NOT_YET_EVALUATED: &str = "NotYetEvaluated";
        pub const THRESHOLDS_MET: &str = "ThresholdsMet";
        pub const THRESHOLDS_BREACHED: &str = "ThresholdsBreached";
        /// No statistics to check them on: never a silent pass.
        pub const STATISTICS_UNAVAILABLE: &str = "StatisticsUnavailable";
    }
    /// Reasons of the PodsHealthy condition.
    pub mod health {
        pub const PODS_HEALTHY: &str = "PodsHealthy";
        pub const PODS_STARTING: &str = "PodsStarting";
        pub const IMAGE_PULL_ERROR: &str = "ImagePullError";
        pub const CONFIGURATION_ERROR: &str = "ConfigurationError";
        pub const SCHEDULING_ERROR: &str = "SchedulingError";
        pub const CRASH_LOOP_BACK_OFF: &str = "CrashLoopBackOff";
        pub const INITIALIZATION_ERROR: &str = "InitializationError";
    }
    /// Reasons of the SpecDrifted condition.
    pub mod drift {
        pub const SPEC_CHANGE_IGNORED: &str = "SpecChangeIgnored";
    }
}
