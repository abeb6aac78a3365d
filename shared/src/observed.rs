//! The objects the operator watches, as it keeps them: only what its decisions read, so its caches
//! stay small with thousands of tests. A `k8s_openapi` Pod is over 2 KB before any of its strings
//! (every optional part of its spec and status is inline), a Job's pod template several more, and
//! `managedFields` often doubles an object; 10,000 pods of 1,000 running tests would take well
//! over 100 MB that way.
//!
//! [`ObservedPod`], [`ObservedJob`] and [`ObservedService`] deserialize straight from what the
//! API server sends, dropping the rest, and are `kube::Resource`s of the same API kinds, so a
//! watch can produce them. [`ObservedPod::to_pod`] gives back a `Pod` with everything
//! `crate::health` reads; the tests check that the verdicts come out the same.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::batch::v1::{Job, JobStatus};
use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    Pod, PodCondition, PodSpec, PodStatus, Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::Resource;
use serde::Deserialize;

use crate::api::v2::LocustTest;
use crate::build::ANNOTATION_SPEC_FINGERPRINT;
use crate::constants::{LABEL_POD_NAME, LABEL_TEST_NAME};
use crate::naming::{self, Role};

/// Keeps of `meta` its name, namespace, creation and deletion times, owner references (the
/// controller maps a child's events to its test through them), the labels `keep_label` accepts
/// and the annotations `keep_annotation` accepts; drops managedFields, uid and versions.
fn trim_meta(meta: &mut ObjectMeta, keep_label: impl Fn(&str) -> bool, keep_annotation: impl Fn(&str) -> bool) {
    let retain = |map: &mut Option<BTreeMap<String, String>>, keep: &dyn Fn(&str) -> bool| {
        if let Some(entries) = map.as_mut() {
            entries.retain(|key, _| keep(key));
            if entries.is_empty() {
                *map = None;
            }
        }
    };
    retain(&mut meta.labels, &keep_label);
    retain(&mut meta.annotations, &keep_annotation);
    meta.managed_fields = None;
    meta.finalizers = None;
    meta.uid = None;
    meta.resource_version = None;
    meta.generation = None;
    meta.generate_name = None;
}

/// A LocustTest as reconciles read it: everything but managedFields and the copy of the whole
/// object `kubectl apply` keeps in an annotation (reconciles need the rest, uid and generation
/// included).
pub fn trim_test(test: &mut LocustTest) {
    test.metadata.managed_fields = None;
    if let Some(annotations) = test.metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
        if annotations.is_empty() {
            test.metadata.annotations = None;
        }
    }
}

macro_rules! observed_resource {
    ($observed:ty, $kind:ty) => {
        impl Resource for $observed {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;

            fn kind(dynamic: &()) -> Cow<'_, str> {
                <$kind as Resource>::kind(dynamic)
            }

            fn group(dynamic: &()) -> Cow<'_, str> {
                <$kind as Resource>::group(dynamic)
            }

            fn version(dynamic: &()) -> Cow<'_, str> {
                <$kind as Resource>::version(dynamic)
            }

            fn plural(dynamic: &()) -> Cow<'_, str> {
                <$kind as Resource>::plural(dynamic)
            }

            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }

            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

/// A Job as `crate::status` reads it: its status, and the spec fingerprint annotation that tells
/// spec drift (`build::built_from`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ObservedJob {
    /// Name, namespace and the fingerprint annotation.
    pub metadata: ObjectMeta,
    /// As the Job controller reports it.
    #[serde(default)]
    pub status: Option<JobStatus>,
}
observed_resource!(ObservedJob, Job);

impl ObservedJob {
    /// Drops what no decision reads.
    pub fn trim(&mut self) {
        trim_meta(&mut self.metadata, |_| false, |key| key == ANNOTATION_SPEC_FINGERPRINT);
    }
}

/// A Service as reconciles read it: that it exists, and its spec fingerprint annotation.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ObservedService {
    /// Name, namespace and the fingerprint annotation.
    pub metadata: ObjectMeta,
}
observed_resource!(ObservedService, Service);

impl ObservedService {
    /// Drops what no decision reads.
    pub fn trim(&mut self) {
        trim_meta(&mut self.metadata, |_| false, |key| key == ANNOTATION_SPEC_FINGERPRINT);
    }
}

/// A pod as its watch delivers it: metadata, sidecars and the status health reads. Not kept as
/// such: [`ObservedPod::facts`] is, without an `ObjectMeta` (360 bytes before its strings) or a
/// label map (a few hundred more) per pod.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ObservedPod {
    /// Name, namespace, labels, creation and deletion times (and the rest of the metadata).
    pub metadata: ObjectMeta,
    /// The names of its native sidecars (init containers that restart `Always`).
    #[serde(default, rename = "spec", deserialize_with = "sidecars")]
    pub sidecars: Vec<String>,
    /// Phase, why it cannot be scheduled, container states.
    #[serde(default)]
    pub status: Option<ObservedPodStatus>,
}
observed_resource!(ObservedPod, Pod);

/// What is kept of a pod: what `crate::health` reads, keyed elsewhere by namespace and test.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodFacts {
    /// The pod's name.
    pub name: String,
    /// When it was created.
    pub created: Option<Time>,
    /// When its deletion began, if it did.
    pub deleting: Option<Time>,
    /// Master or worker (from its `performance-test-pod-name` label).
    pub role: Option<Role>,
    /// The names of its native sidecars.
    pub sidecars: Vec<String>,
    /// Phase, why it cannot be scheduled, container states.
    pub status: Option<ObservedPodStatus>,
}

/// The part of a pod's status health reads.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObservedPodStatus {
    /// Pending, Running, Succeeded, Failed.
    #[serde(default)]
    pub phase: Option<String>,
    /// Why the pod cannot be scheduled: the message of a `PodScheduled=False` condition, if any.
    #[serde(default, rename = "conditions", deserialize_with = "unscheduled")]
    pub unscheduled: Option<Option<String>>,
    /// The app containers.
    #[serde(default)]
    pub container_statuses: Vec<ObservedContainer>,
    /// The init containers (and native sidecars).
    #[serde(default)]
    pub init_container_statuses: Vec<ObservedContainer>,
}

/// A container's name and current state.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct ObservedContainer {
    /// Container name.
    pub name: String,
    /// What it is doing.
    #[serde(default, deserialize_with = "state")]
    pub state: ObservedState,
}

/// A container's state, with what health reads of it.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ObservedState {
    /// Waiting, and why.
    Waiting {
        /// e.g. `ImagePullBackOff`.
        reason: Option<String>,
        /// The kubelet's words.
        message: Option<String>,
    },
    /// Running (or not reported).
    #[default]
    Running,
    /// Ended.
    Terminated {
        /// The process's exit code.
        exit_code: i32,
        /// e.g. `Error`, `OOMKilled`.
        reason: Option<String>,
        /// When it ended.
        finished_at: Option<Time>,
    },
}

fn sidecars<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    let spec: Option<PodSpec> = Option::deserialize(deserializer)?;
    Ok(spec
        .and_then(|spec| spec.init_containers)
        .into_iter()
        .flatten()
        .filter(|container| container.restart_policy.as_deref() == Some("Always"))
        .map(|container| container.name)
        .collect())
}

fn unscheduled<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Option<Option<String>>, D::Error> {
    let conditions: Option<Vec<PodCondition>> = Option::deserialize(deserializer)?;
    Ok(conditions
        .into_iter()
        .flatten()
        .find(|condition| condition.type_ == "PodScheduled" && condition.status == "False")
        .map(|condition| condition.message))
}

fn state<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<ObservedState, D::Error> {
    let state: Option<ContainerState> = Option::deserialize(deserializer)?;
    let state = state.unwrap_or_default();
    Ok(match (state.waiting, state.terminated) {
        (Some(waiting), _) => ObservedState::Waiting {
            reason: waiting.reason,
            message: waiting.message,
        },
        (None, Some(terminated)) => ObservedState::Terminated {
            exit_code: terminated.exit_code,
            reason: terminated.reason,
            finished_at: terminated.finished_at,
        },
        (None, None) => ObservedState::Running,
    })
}

impl ObservedPod {
    /// The test it belongs to: its `performance-test-name` label.
    pub fn test(&self) -> Option<&str> {
        self.metadata.labels.as_ref()?.get(LABEL_TEST_NAME).map(String::as_str)
    }

    /// What is kept of it.
    pub fn facts(&self) -> PodFacts {
        let role = self
            .metadata
            .labels
            .as_ref()
            .and_then(|labels| labels.get(LABEL_POD_NAME))
            .map(|pod_name| {
                if pod_name.ends_with("-worker") {
                    Role::Worker
                } else {
                    Role::Master
                }
            });
        PodFacts {
            name: self.metadata.name.clone().unwrap_or_default(),
            created: self.metadata.creation_timestamp.clone(),
            deleting: self.metadata.deletion_timestamp.clone(),
            role,
            sidecars: self.sidecars.clone(),
            status: self.status.clone(),
        }
    }
}

impl PodFacts {
    /// The pod of test `test` in `namespace` as `crate::health` reads it.
    pub fn to_pod(&self, namespace: &str, test: &str) -> Pod {
        let mut labels = BTreeMap::from([(LABEL_TEST_NAME.to_string(), test.to_string())]);
        if let Some(role) = self.role {
            labels.insert(LABEL_POD_NAME.to_string(), naming::child_name(test, role));
        }
        let metadata = ObjectMeta {
            name: Some(self.name.clone()),
            namespace: Some(namespace.to_string()),
            labels: Some(labels),
            creation_timestamp: self.created.clone(),
            deletion_timestamp: self.deleting.clone(),
            ..ObjectMeta::default()
        };
        let containers = |observed: &[ObservedContainer]| {
            let statuses: Vec<ContainerStatus> = observed
                .iter()
                .map(|container| ContainerStatus {
                    name: container.name.clone(),
                    state: Some(container.state.to_state()),
                    ..ContainerStatus::default()
                })
                .collect();
            Some(statuses).filter(|statuses| !statuses.is_empty())
        };
        let init_containers: Vec<Container> = self
            .sidecars
            .iter()
            .map(|name| Container {
                name: name.clone(),
                restart_policy: Some("Always".into()),
                ..Container::default()
            })
            .collect();
        Pod {
            metadata,
            spec: Some(PodSpec {
                init_containers: Some(init_containers).filter(|containers| !containers.is_empty()),
                ..PodSpec::default()
            }),
            status: self.status.as_ref().map(|status| PodStatus {
                phase: status.phase.clone(),
                conditions: status.unscheduled.as_ref().map(|message| {
                    vec![PodCondition {
                        type_: "PodScheduled".into(),
                        status: "False".into(),
                        message: message.clone(),
                        ..PodCondition::default()
                    }]
                }),
                container_statuses: containers(&status.container_statuses),
                init_container_statuses: containers(&status.init_container_statuses),
                ..PodStatus::default()
            }),
        }
    }
}

impl ObservedState {
    fn to_state(&self) -> ContainerState {
        match self {
            Self::Waiting { reason, message } => ContainerState {
                waiting: Some(ContainerStateWaiting {
                    reason: reason.clone(),
                    message: message.clone(),
                }),
                ..ContainerState::default()
            },
            Self::Running => ContainerState {
                running: Some(ContainerStateRunning::default()),
                ..ContainerState::default()
            },
            Self::Terminated {
                exit_code,
                reason,
                finished_at,
            } => ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: *exit_code,
                    reason: reason.clone(),
                    finished_at: finished_at.clone(),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            },
        }
    }
}
