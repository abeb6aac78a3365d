//! Pod health: after a grace period, classify what keeps a test's pods from running, with the
//! reasons the API reference names. Pure: pods, an optional list of mount failures the kubelet
//! reported, and the current time in; a verdict out.

use std::time::Duration;

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::jiff::{SignedDuration, Timestamp};

use crate::api::status::conditions::health;
use crate::constants::LABEL_POD_NAME;

/// How long after the oldest pod was created failures count. Image pulls, volume mounts and
/// scheduling routinely take a while; reporting them earlier raises false alarms.
pub const DEFAULT_GRACE_PERIOD: Duration = Duration::from_secs(120);

/// The health of a test's pods.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    /// The PodsHealthy reason: `PodsHealthy`, `PodsStarting` or a failure reason.
    pub reason: &'static str,
    /// Human-readable detail, naming pods and what to do.
    pub message: String,
    /// When to look again although nothing may change in between: the end of the grace period
    /// when inside it, or of a worker exit's [`WORKER_EXIT_SETTLE`].
    pub grace_remaining: Option<Duration>,
}

impl Health {
    /// False only for a failure found after the grace period.
    pub fn is_healthy(&self) -> bool {
        matches!(self.reason, health::PODS_HEALTHY | health::PODS_STARTING)
    }
}

/// A kubelet `FailedMount` warning for a pod (events are the only place a missing ConfigMap or
/// Secret volume shows; the pod itself just stays in ContainerCreating).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountFailure {
    /// Name of the pod the event is about.
    pub pod: String,
    /// The event message, e.g. `MountVolume.SetUp failed for volume "x" : configmap "scripts" not found`.
    pub message: String,
}

/// How long a worker's exit waits to be judged while the master still runs. At the end of a
/// test the master tells its workers to quit, and a worker (non-zero after failed requests) can
/// stop before the master pod's own end is seen; a worker that is still the only one to have
/// stopped after this long has failed on its own.
pub const WORKER_EXIT_SETTLE: Duration = Duration::from_secs(15);

/// What one pod's containers come to.
enum PodVerdict {
    Healthy,
    Failed(PodFailure),
    /// A worker exited while the master runs; judged once this much more time has passed.
    Settling(Duration),
}

/// The kubelet's reason for a container killed for exceeding its memory limit.
pub const OUT_OF_MEMORY: &str = "OOMKilled";

/// Failure reasons from most to least actionable: the first present one is reported.
const PRIORITY: [&str; 5] = [
    health::CONFIGURATION_ERROR,
    health::IMAGE_PULL_ERROR,
    health::SCHEDULING_ERROR,
    health::CRASH_LOOP_BACK_OFF,
    health::INITIALIZATION_ERROR,
];

struct PodFailure {
    pod: String,
    reason: &'static str,
    message: String,
}

fn seconds(duration: Duration) -> i64 {
    i64::try_from(duration.as_secs()).unwrap_or(i64::MAX)
}

/// When the grace period ends: measured from the oldest pod, so a late pod doesn't reset it.
fn grace_end(pods: &[Pod], grace: Duration) -> Option<Timestamp> {
    let oldest = pods
        .iter()
        .filter_map(|pod| pod.metadata.creation_timestamp.as_ref())
        .map(|t| t.0)
        .min()?;
    oldest.checked_add(SignedDuration::from_secs(seconds(grace))).ok()
}

fn is_worker(pod: &Pod) -> bool {
    pod.metadata
        .labels
        .as_ref()
        .and_then(|labels| labels.get(LABEL_POD_NAME))
        .is_some_and(|name| name.ends_with("-worker"))
}

fn pod_name(pod: &Pod) -> String {
    pod.metadata.name.clone().unwrap_or_default()
}

/// Pods that have been created but whose containers still wait to be created; the shell reads
/// their `FailedMount` events only for these, and only after the grace period.
pub fn pods_stuck_creating(pods: &[Pod], now: Timestamp, grace: Duration) -> Vec<String> {
    if grace_end(pods, grace).is_none_or(|end| now < end) {
        return Vec::new();
    }
    // With init containers (a mesh's native sidecar, say) the kubelet reports PodInitializing
    // instead of ContainerCreating while volumes fail to mount.
    pods.iter()
        .filter(|pod| !is_being_deleted(pod))
        .filter(|pod| {
            pod.status.as_ref().is_some_and(|s| {
                s.init_container_statuses
                    .iter()
                    .chain(s.container_statuses.iter())
                    .flatten()
                    .any(|c| matches!(waiting_reason(c), Some("ContainerCreating" | "PodInitializing")))
            })
        })
        .map(pod_name)
        .collect()
}

/// Pods being deleted (their Job was deleted, or the test is going away) exit however SIGTERM
/// makes them; that is the deletion, not the test's health.
fn is_being_deleted(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
}

fn waiting_reason(container: &ContainerStatus) -> Option<&str> {
    container.state.as_ref()?.waiting.as_ref()?.reason.as_deref()
}

/// Names the missing object from a kubelet message, e.g. `configmap "scripts" not found`.
fn missing_object(message: &str) -> Option<(&'static str, String)> {
    let lower = message.to_ascii_lowercase();
    for (needle, kind) in [("configmap \"", "ConfigMap"), ("secret \"", "Secret")] {
        if let Some(start) = lower.find(needle) {
            let rest = &message[start + needle.len()..];
            let name = rest.split('"').next().unwrap_or_default();
            if !name.is_empty() && lower[start..].contains("not found") {
                return Some((kind, name.to_string()));
            }
        }
    }
    None
}

fn configuration_message(raw: &str) -> String {
    match missing_object(raw) {
        Some((kind, name)) => {
            format!("{kind} \"{name}\" not found; create it in the test's namespace, then recreate the test ({raw})")
        }
        None => raw.to_string(),
    }
}

fn container_failure(container: &ContainerStatus, init: bool, sidecar: bool) -> Option<(&'static str, String)> {
    let state = container.state.as_ref()?;
    if let Some(waiting) = &state.waiting {
        let reason = waiting.reason.as_deref().unwrap_or_default();
        let detail = waiting.message.clone().unwrap_or_else(|| reason.to_string());
        if reason == "CreateContainerConfigError" {
            return Some((health::CONFIGURATION_ERROR, configuration_message(&detail)));
        }
        if reason.contains("ImagePull")
            || matches!(
                reason,
                "ErrImageNeverPull" | "ImageInspectError" | "InvalidImageName" | "RegistryUnavailable"
            )
        {
            return Some((
                health::IMAGE_PULL_ERROR,
                format!("container {}: {detail}", container.name),
            ));
        }
        if reason == "CrashLoopBackOff" {
            return Some((
                health::CRASH_LOOP_BACK_OFF,
                format!("container {} is crash-looping: {detail}", container.name),
            ));
        }
    }
    if let Some(terminated) = &state.terminated {
        let reason = terminated.reason.as_deref().unwrap_or_default();
        // Native sidecars are stopped with a signal when the pod ends; that is not a failure.
        if terminated.exit_code != 0 && !sidecar {
            let mut message = format!(
                "container {} exited with code {}: {reason}",
                container.name, terminated.exit_code
            );
            // Upstream's reasons are kept (alerts match them); the message tells what to change.
            if reason == OUT_OF_MEMORY {
                message.push_str(" (it ran out of memory: raise its memory limit)");
            }
            return Some((
                if init {
                    health::INITIALIZATION_ERROR
                } else {
                    health::CRASH_LOOP_BACK_OFF
                },
                message,
            ));
        }
    }
    None
}

fn pod_verdict(pod: &Pod, master_finished: bool, now: Timestamp) -> PodVerdict {
    let Some(status) = pod.status.as_ref() else {
        return PodVerdict::Healthy;
    };
    let failure = |(reason, message): (&'static str, String)| PodFailure {
        pod: pod_name(pod),
        reason,
        message,
    };
    if let Some(unscheduled) = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "PodScheduled" && c.status == "False")
    {
        let message = unscheduled
            .message
            .clone()
            .unwrap_or_else(|| "pod cannot be scheduled".into());
        return PodVerdict::Failed(failure((health::SCHEDULING_ERROR, message)));
    }
    let sidecars: Vec<&str> = pod
        .spec
        .iter()
        .flat_map(|spec| spec.init_containers.iter().flatten())
        .filter(|c| c.restart_policy.as_deref() == Some("Always"))
        .map(|c| c.name.as_str())
        .collect();
    for container in status.init_container_statuses.iter().flatten() {
        if let Some(found) = container_failure(container, true, sidecars.contains(&container.name.as_str())) {
            return PodVerdict::Failed(failure(found));
        }
    }
    for container in status.container_statuses.iter().flatten() {
        let found = container_failure(container, false, false);
        // Workers exit, sometimes non-zero, when the master quits at the end of a test: that is
        // the test ending, not a failure (upstream turned passing tests Failed here). Running
        // out of memory is not how a test ends.
        let exit = container
            .state
            .as_ref()
            .and_then(|s| s.terminated.as_ref())
            .filter(|t| t.reason.as_deref() != Some(OUT_OF_MEMORY));
        let worker_exit = exit.filter(|_| {
            is_worker(pod)
                && found
                    .as_ref()
                    .is_some_and(|(reason, _)| *reason == health::CRASH_LOOP_BACK_OFF)
        });
        if let Some(exit) = worker_exit {
            if master_finished {
                continue;
            }
            let settled_at = exit
                .finished_at
                .as_ref()
                .map(|at| at.0 + SignedDuration::try_from(WORKER_EXIT_SETTLE).unwrap_or_default());
            if let Some(settled_at) = settled_at.filter(|settled_at| now < *settled_at) {
                let left = u64::try_from(now.duration_until(settled_at).as_secs())
                    .unwrap_or(0)
                    .max(1);
                return PodVerdict::Settling(Duration::from_secs(left));
            }
        }
        if let Some(found) = found {
            return PodVerdict::Failed(failure(found));
        }
    }
    PodVerdict::Healthy
}

/// Classifies the pods of one test (selected by `performance-test-name`).
///
/// `master_finished` is true once the master pod or Job has ended; worker exits after that are
/// the test ending. `mount_failures` are the `FailedMount` events of [`pods_stuck_creating`].
pub fn classify(
    pods: &[Pod],
    mount_failures: &[MountFailure],
    now: Timestamp,
    grace: Duration,
    master_finished: bool,
) -> Health {
    let Some(end) = grace_end(pods, grace) else {
        return Health {
            reason: health::PODS_STARTING,
            message: "Waiting for pods to be created".into(),
            grace_remaining: None,
        };
    };
    if now < end {
        let remaining = Duration::from_secs(u64::try_from(now.duration_until(end).as_secs()).unwrap_or(0).max(1));
        return Health {
            reason: health::PODS_STARTING,
            message: "Pods are starting up".into(),
            grace_remaining: Some(remaining),
        };
    }
    // The master pod ending is as good as its Job saying so; the Job's condition can lag behind.
    let master_finished = master_finished
        || pods.iter().any(|pod| {
            !is_worker(pod)
                && pod
                    .status
                    .as_ref()
                    .and_then(|s| s.phase.as_deref())
                    .is_some_and(|p| p == "Succeeded" || p == "Failed")
        });
    let mut failures: Vec<PodFailure> = Vec::new();
    let mut settling: Option<Duration> = None;
    for pod in pods.iter().filter(|pod| !is_being_deleted(pod)) {
        match pod_verdict(pod, master_finished, now) {
            PodVerdict::Healthy => {}
            PodVerdict::Failed(failure) => failures.push(failure),
            PodVerdict::Settling(left) => settling = Some(settling.map_or(left, |other| other.min(left))),
        }
    }
    for mount in mount_failures {
        if !failures.iter().any(|f| f.pod == mount.pod) {
            failures.push(PodFailure {
                pod: mount.pod.clone(),
                reason: health::CONFIGURATION_ERROR,
                message: configuration_message(&mount.message),
            });
        }
    }
    for reason in PRIORITY {
        let affected: Vec<&PodFailure> = failures.iter().filter(|f| f.reason == reason).collect();
        if let Some(first) = affected.first() {
            let names: Vec<&str> = affected.iter().map(|f| f.pod.as_str()).collect();
            return Health {
                reason,
                message: format!(
                    "{reason}: {} pod(s) affected [{}]: {}",
                    affected.len(),
                    names.join(", "),
                    first.message
                ),
                grace_remaining: None,
            };
        }
    }
    Health {
        reason: health::PODS_HEALTHY,
        message: "All pods are healthy".into(),
        grace_remaining: settling,
    }
}
