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
        pub const OOM_KILLED: &str = "OOMKilled";
    }
    /// Reasons of the SpecDrifted condition.
    pub mod drift {
        pub const SPEC_CHANGE_IGNORED: &str = "SpecChangeIgnored";
    }
}
