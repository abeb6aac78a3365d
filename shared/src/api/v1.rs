//! `locust.io/v1` LocustTest: served for existing manifests, deprecated, converted to v2 by the
//! operator's conversion webhook. Shapes mirror the Go operator's v1 exactly.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ImagePullPolicy;
pub use super::status::LocustTestStatus;

/// A LocustTest in the deprecated v1 shape.
// Two printer columns share `type_ = "string"`, which clippy mistakes for a repeated attribute.
#[allow(clippy::duplicated_attributes)]
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "locust.io",
    version = "v1",
    kind = "LocustTest",
    plural = "locusttests",
    singular = "locusttest",
    shortname = "lotest",
    namespaced,
    status = "LocustTestStatus",
    derive = "PartialEq",
    deprecated = "locust.io/v1 LocustTest is deprecated, migrate to locust.io/v2",
    printcolumn(
        name = "master_cmd",
        type_ = "string",
        json_path = ".spec.masterCommandSeed",
        description = "Master pod command seed"
    ),
    printcolumn(
        name = "worker_replica_count",
        type_ = "integer",
        json_path = ".spec.workerReplicas",
        description = "Number of requested worker pods"
    ),
    printcolumn(
        name = "Image",
        type_ = "string",
        json_path = ".spec.image",
        description = "Locust image"
    ),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
pub struct LocustTestSpec {
    /// Command seed for the master pod.
    pub master_command_seed: String,
    /// Command seed for the worker pods.
    pub worker_command_seed: String,
    /// Number of worker replicas (1-500).
    #[serde(default = "default_worker_replicas")]
    #[schemars(range(min = 1, max = 500))]
    pub worker_replicas: i32,
    /// Container image.
    pub image: String,
    /// Image pull policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<ImagePullPolicy>,
    /// Names of pull secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_secrets: Option<Vec<String>>,
    /// ConfigMap with the test files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
    /// ConfigMap with library files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lib_config_map: Option<String>,
    /// Labels for master and worker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<PodMetadataMaps>,
    /// Annotations for master and worker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<PodMetadataMaps>,
    /// Required node affinity as label key -> value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub affinity: Option<LocustTestAffinity>,
    /// Taint tolerations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerations: Option<Vec<LocustTestToleration>>,
}

fn default_worker_replicas() -> i32 {
    1
}

/// Per-role label or annotation maps.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PodMetadataMaps {
    /// For the master pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub master: Option<BTreeMap<String, String>>,
    /// For worker pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker: Option<BTreeMap<String, String>>,
}

/// v1's simplified affinity.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocustTestAffinity {
    /// Node affinity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_affinity: Option<LocustTestNodeAffinity>,
}

/// v1's node affinity: every label must be present on the node.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocustTestNodeAffinity {
    /// Node label key -> required value.
    pub required_during_scheduling_ignored_during_execution: BTreeMap<String, String>,
}

/// v1's toleration.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct LocustTestToleration {
    /// Taint key.
    pub key: String,
    /// `Exists` or `Equal`.
    pub operator: TolerationOperator,
    /// Taint value (with `Equal`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// Taint effect.
    pub effect: TaintEffect,
}

/// Toleration operator.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TolerationOperator {
    Exists,
    Equal,
}

/// Taint effect.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum TaintEffect {
    NoSchedule,
    PreferNoSchedule,
    NoExecute,
}

impl TolerationOperator {
    /// The operator as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exists => "Exists",
            Self::Equal => "Equal",
        }
    }
}

impl TaintEffect {
    /// The effect as Kubernetes spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoSchedule => "NoSchedule",
            Self::PreferNoSchedule => "PreferNoSchedule",
            Self::NoExecute => "NoExecute",
        }
    }
}
