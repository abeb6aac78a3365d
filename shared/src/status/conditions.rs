//! The conditions: one function per condition type deciding its truth, reason and message, and
//! the one way a condition is written into a status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use super::live::STATS_UNAVAILABLE_MARKER;
use crate::api::status::conditions::{completed, drift, ready, workers};
use crate::api::status::{LocustTestStatus, Phase};
use crate::health::Health;

/// What a condition says: its truth, reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `True` or `False`.
    pub truth: bool,
    /// Upstream's reason.
    pub reason: &'static str,
    /// In words.
    pub message: String,
}

impl Verdict {
    fn new(truth: bool, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            truth,
            reason,
            message: message.into(),
        }
    }
}

/// Sets condition `type_` on `status`: its truth, reason, message and observed generation. The
/// transition time moves only when the truth changes (else the status would change on every pass
/// and a controller writing it would wake itself up). A new condition goes last.
pub fn upsert_condition(
    status: &mut LocustTestStatus,
    type_: &str,
    truth: bool,
    reason: &str,
    message: String,
    generation: Option<i64>,
    now: Timestamp,
) {
    let truth = if truth { "True" } else { "False" };
    let list = status.conditions.get_or_insert_with(Vec::new);
    let previous = list.iter().position(|c| c.type_ == type_);
    let last_transition_time = match previous.map(|i| &list[i]) {
        Some(existing) if existing.status == truth => existing.last_transition_time.clone(),
        _ => Time(now),
    };
    let condition = Condition {
        type_: type_.into(),
        status: truth.into(),
        reason: reason.into(),
        message,
        observed_generation: generation,
        last_transition_time,
    };
    match previous {
        Some(index) => list[index] = condition,
        None => list.push(condition),
    }
}

/// [`upsert_condition`] with a [`Verdict`].
pub(crate) fn set(
    status: &mut LocustTestStatus,
    type_: &str,
    verdict: Verdict,
    generation: Option<i64>,
    now: Timestamp,
) {
    upsert_condition(
        status,
        type_,
        verdict.truth,
        verdict.reason,
        verdict.message,
        generation,
        now,
    );
}

pub(crate) fn remove_condition(status: &mut LocustTestStatus, type_: &str) {
    if let Some(list) = status.conditions.as_mut() {
        list.retain(|c| c.type_ != type_);
    }
}

/// Condition `type_` of `status`, if it has one.
pub fn condition<'a>(status: &'a LocustTestStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().flatten().find(|c| c.type_ == type_)
}

/// Ready: the children exist (or are being created, recreated, retried), or the test failed.
pub(crate) fn ready(
    phase: Phase,
    failure: Option<&str>,
    creation_retry: Option<&str>,
    recreating: bool,
    all_present: bool,
) -> Verdict {
    match (phase, creation_retry) {
        (Phase::Failed, _) => Verdict::new(false, ready::RESOURCES_FAILED, failure.unwrap_or("Test failed")),
        (_, Some(retrying)) => Verdict::new(false, ready::RESOURCES_CREATING, retrying),
        _ if recreating => Verdict::new(
            false,
            ready::RESOURCES_CREATING,
            "Recreating externally deleted resources",
        ),
        _ if all_present => Verdict::new(true, ready::RESOURCES_CREATED, "All resources created"),
        _ => Verdict::new(false, ready::RESOURCES_CREATING, "Creating resources"),
    }
}

/// WorkersConnected: `connected` of `expected`; while the master cannot be read (`unreachable`),
/// the message says so, and that worker pods are counted instead when they are.
pub(crate) fn workers_connected(
    expected: i32,
    connected: i32,
    phase: Phase,
    unreachable: Option<&str>,
    counting_pods: bool,
) -> Verdict {
    let (truth, reason) = if connected >= expected {
        (true, workers::ALL_WORKERS_CONNECTED)
    } else if connected == 0 && phase == Phase::Pending {
        (false, workers::WAITING_FOR_WORKERS)
    } else {
        (false, workers::WORKERS_MISSING)
    };
    let mut message = format!("{connected}/{expected} workers connected");
    if let Some(why) = unreachable {
        let fallback = if counting_pods { "; counting worker pods" } else { "" };
        message.push_str(&format!(" ({STATS_UNAVAILABLE_MARKER}{why}{fallback})"));
    }
    Verdict::new(truth, reason, message)
}

/// PodsHealthy: the pods' health as classified.
pub(crate) fn pods_healthy(health: &Health) -> Verdict {
    Verdict::new(health.is_healthy(), health.reason, health.message.clone())
}

/// TestCompleted: whether the test ended, and how.
pub(crate) fn test_completed(phase: Phase, failure: Option<&str>) -> Verdict {
    match phase {
        Phase::Succeeded => Verdict::new(true, completed::TEST_SUCCEEDED, "Test completed successfully"),
        Phase::Failed => Verdict::new(true, completed::TEST_FAILED, failure.unwrap_or("Test failed")),
        Phase::Running => Verdict::new(false, completed::TEST_IN_PROGRESS, "Test is running"),
        Phase::Pending => Verdict::new(false, completed::TEST_IN_PROGRESS, "Test has not started"),
    }
}

/// TestCompleted for a run that ended early on request and passed.
pub(crate) fn test_stopped(request: &super::StopRequest) -> Verdict {
    Verdict::new(
        true,
        completed::TEST_STOPPED,
        format!("{}; Locust ended the run and kept its results", request.describe()),
    )
}

/// SpecDrifted: tests are immutable; the condition says an edit is ignored.
pub(crate) fn spec_drifted() -> Verdict {
    Verdict::new(
        true,
        drift::SPEC_CHANGE_IGNORED,
        "Spec changes after creation are ignored. Delete and recreate the LocustTest to apply changes.",
    )
}
