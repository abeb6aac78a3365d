//! The phase: what the master Job says, what is missing, what failed.

use k8s_openapi::api::batch::v1::JobStatus;

use super::{Child, Observation};
use crate::api::status::{LocustTestStatus, Phase};
use crate::stats::{RequestsReport, STATE_STOPPED};

/// Children to create now: the missing ones, unless the test has finished. A finished test is
/// never resurrected (Job TTL cleanup deletes its Jobs on purpose).
pub fn children_to_create(previous: &LocustTestStatus, present: &[Child]) -> Vec<Child> {
    if previous.phase.is_some_and(Phase::is_terminal) {
        return Vec::new();
    }
    Child::ALL
        .into_iter()
        .filter(|child| !present.contains(child))
        .collect()
}

/// The master Job's verdict: Succeeded/Failed from its conditions, Running while it has an
/// active pod. Newer API servers add SuccessCriteriaMet/FailureTarget before Complete/Failed.
pub(crate) fn master_job_phase(job: &JobStatus) -> (Option<Phase>, Option<String>) {
    for condition in job.conditions.iter().flatten().filter(|c| c.status == "True") {
        match condition.type_.as_str() {
            "Complete" | "SuccessCriteriaMet" => return (Some(Phase::Succeeded), None),
            "Failed" | "FailureTarget" => {
                // The reason (BackoffLimitExceeded, DeadlineExceeded) is what alerts match on;
                // the message says it in words.
                let why = match (condition.reason.as_deref(), condition.message.as_deref()) {
                    (Some(reason), Some(message)) => format!("{reason}: {message}"),
                    (Some(only), None) | (None, Some(only)) => only.to_string(),
                    (None, None) => "no reason given".to_string(),
                };
                return (Some(Phase::Failed), Some(format!("master Job failed: {why}")));
            }
            _ => {}
        }
    }
    if job.active.unwrap_or(0) > 0 {
        (Some(Phase::Running), None)
    } else {
        (None, None)
    }
}

/// True once the master has ended (its workers then exit, which is not a failure).
pub fn master_finished(master_job: Option<&JobStatus>) -> bool {
    master_job.is_some_and(|job| matches!(master_job_phase(job).0, Some(Phase::Succeeded | Phase::Failed)))
}

/// The phase of this pass and why it failed, if it did.
pub(crate) struct PhaseVerdict {
    /// The phase.
    pub phase: Phase,
    /// What failed: the build, the master Job or the pods.
    pub failure: Option<String>,
    /// What the master Job alone says.
    pub job_phase: Option<Phase>,
}

/// Whether the master's last statistics say Locust has stopped the run.
fn stopped_by_locust(observed: &Observation<'_>) -> bool {
    observed.last_stats.is_some_and(RequestsReport::has_stopped)
        || observed
            .stats
            .as_ref()
            .is_some_and(|stats| stats.state == STATE_STOPPED)
}

/// The phase: a spec that cannot be built fails; children recreated while running go back to
/// Pending; else the master Job decides, Running stays Running while every child exists, and
/// unhealthy pods fail a test that has not ended.
pub(crate) fn decide(
    observed: &Observation<'_>,
    previous_phase: Phase,
    recreating: bool,
    all_present: bool,
) -> PhaseVerdict {
    let (job_phase, job_failure) = observed.master_job.map(master_job_phase).unwrap_or((None, None));
    let mut failure = observed.build_error.clone().or(job_failure);
    let mut phase = match job_phase {
        _ if observed.build_error.is_some() => Phase::Failed,
        _ if recreating => Phase::Pending,
        Some(phase) => phase,
        None if previous_phase == Phase::Running && all_present => Phase::Running,
        None => Phase::Pending,
    };
    if !phase.is_terminal() && !observed.health.is_healthy() {
        phase = Phase::Failed;
        failure = Some(observed.health.message.clone());
    }
    // Stopped on request: Locust's web API stops the users but cancels its own run-time timer, so
    // the master never quits by itself (autoquit only follows --run-time). Once it says `stopped`
    // the run is over and its results are final.
    if phase == Phase::Running && observed.stop_requested.is_some() && stopped_by_locust(observed) {
        phase = Phase::Succeeded;
    }
    PhaseVerdict {
        phase,
        failure,
        job_phase,
    }
}
