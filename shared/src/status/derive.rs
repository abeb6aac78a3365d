//! The status pass: from the previous status and what the operator observed, the next status,
//! the events and when to look again. It orchestrates; each decision is a function of its own.

use std::time::Duration;

use k8s_openapi::api::batch::v1::JobStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

use super::conditions::{self, condition, remove_condition, set, upsert_condition};
use super::live::{STATS_UNAVAILABLE_MARKER, stats_unreachable, stats_write_due};
use super::{Child, EventNote, StopRequest, events, phase, thresholds};
use crate::api::status::conditions::{
    PODS_HEALTHY, READY, SPEC_DRIFTED, TEST_COMPLETED, THRESHOLDS_MET, WORKERS_CONNECTED, completed, health, ready,
    workers,
};
use crate::api::status::{LocustTestStatus, Phase, TestStats};
use crate::api::v2::Thresholds;
use crate::health::Health;
use crate::stats::RequestsReport;

/// How status derivation treats live statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeriveSettings {
    /// The stats block is rewritten at most this often (unless the phase, Locust's state or the
    /// worker count changes), so a busy test does not write its status on every scrape.
    pub stats_interval: Duration,
    /// The pod health grace period: failures count only this long after the oldest pod was
    /// created, and a master that has never answered may stay silent this long after the test
    /// started (the Job counts its pod as active while the image is still pulling).
    pub grace_period: Duration,
}

/// How often the operator reads each running master, unless configured otherwise.
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(5);

impl Default for DeriveSettings {
    fn default() -> Self {
        Self {
            stats_interval: DEFAULT_STATS_INTERVAL,
            grace_period: crate::health::DEFAULT_GRACE_PERIOD,
        }
    }
}

/// What the operator saw of a test's children this pass.
#[derive(Debug, Clone)]
pub struct Observation<'a> {
    /// The test's name.
    pub test_name: &'a str,
    /// `metadata.generation` of the test.
    pub generation: Option<i64>,
    /// `spec.worker.replicas`.
    pub expected_workers: i32,
    /// Children that exist now (after this pass's creations).
    pub present: &'a [Child],
    /// Children this pass created (they were missing).
    pub created: &'a [Child],
    /// Status of the master Job, when it exists.
    pub master_job: Option<&'a JobStatus>,
    /// Status of the worker Job, when it exists.
    pub worker_job: Option<&'a JobStatus>,
    /// Pod health.
    pub health: Health,
    /// The spec differs from the one the children were built from (see `spec_drifted`).
    pub spec_drifted: bool,
    /// Workers the master reports as connected; `None` when unknown (then the worker Job's active
    /// pods stand in, as upstream does).
    pub connected_workers: Option<i32>,
    /// Why the spec could not be turned into children, if it could not.
    pub build_error: Option<String>,
    /// Summary of the master's latest statistics; `None` when there is none (then the recorded
    /// block stays, so results survive pod cleanup).
    pub stats: Option<TestStats>,
    /// Why the master's web API could not be read; `None` when it could or nobody tried.
    pub stats_unreachable: Option<String>,
    /// A child the API server could not create this pass but may next time (see
    /// `creation_retry_message`); `None` when every creation went through.
    pub creation_retry: Option<String>,
    /// `spec.thresholds`, when the test sets limits: checked when the run ends.
    pub thresholds: Option<&'a Thresholds>,
    /// The master's last statistics as Locust sent them (its final ones once it stopped), which
    /// the thresholds are checked on; `None` when none were read.
    pub last_stats: Option<&'a RequestsReport>,
    /// Who asked to end the run early, and when (`kubectl locust stop`).
    pub stop_requested: Option<&'a StopRequest>,
}

/// The outcome of one status pass.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusStep {
    /// The status to write (only if it differs from the previous one).
    pub status: LocustTestStatus,
    /// Events to record.
    pub events: Vec<EventNote>,
    /// When to look again even if nothing changes (end of the pod grace period).
    pub requeue_after: Option<Duration>,
}

/// The status a test starts with: Pending, nothing created, nothing connected.
pub fn initial_status(generation: Option<i64>, expected_workers: i32, now: Timestamp) -> LocustTestStatus {
    let mut status = LocustTestStatus {
        phase: Some(Phase::Pending),
        observed_generation: generation,
        expected_workers: Some(expected_workers),
        connected_workers: Some(0),
        ..LocustTestStatus::default()
    };
    let initial = [
        (
            READY,
            false,
            ready::RESOURCES_CREATING,
            "Creating resources".to_string(),
        ),
        (
            WORKERS_CONNECTED,
            false,
            workers::WAITING_FOR_WORKERS,
            format!("0/{expected_workers} workers connected"),
        ),
        (
            TEST_COMPLETED,
            false,
            completed::TEST_IN_PROGRESS,
            "Test has not started".to_string(),
        ),
        (
            PODS_HEALTHY,
            true,
            health::PODS_STARTING,
            "Waiting for pods to start".to_string(),
        ),
    ];
    for (type_, truth, reason, message) in initial {
        upsert_condition(&mut status, type_, truth, reason, message, generation, now);
    }
    status
}

/// Derives the next status from the previous one and this pass's observation.
pub fn derive(
    previous: &LocustTestStatus,
    observed: &Observation<'_>,
    settings: &DeriveSettings,
    now: Timestamp,
) -> StatusStep {
    if previous.phase.is_some_and(Phase::is_terminal) {
        return StatusStep {
            status: previous.clone(),
            events: Vec::new(),
            requeue_after: None,
        };
    }
    let generation = observed.generation;
    let mut status = match previous.phase {
        None => initial_status(generation, observed.expected_workers, now),
        Some(_) => previous.clone(),
    };
    let previous_phase = status.phase.unwrap_or(Phase::Pending);
    let mut events = events::created_events(observed.test_name, observed.created);
    // Children missing while the test ran were deleted from outside; they have just been recreated.
    let recreating = previous_phase == Phase::Running && !observed.created.is_empty();
    if recreating {
        events.extend(events::recreated_events(observed.test_name, observed.created));
    }
    let all_present = Child::ALL.iter().all(|child| observed.present.contains(child));
    let phase::PhaseVerdict {
        phase: locust_phase,
        failure,
        job_phase,
    } = phase::decide(observed, previous_phase, recreating, all_present);
    // The run has just ended: its thresholds are checked once, on the master's last statistics.
    let concluded = observed
        .thresholds
        .filter(|_| locust_phase.is_terminal())
        .map(|limits| thresholds::conclude(limits, observed.last_stats, locust_phase));
    let phase = concluded.as_ref().map_or(locust_phase, |concluded| concluded.phase);

    // Ready speaks of the resources: a run failed by its thresholds had all it needed.
    let ready = conditions::ready(
        locust_phase,
        failure.as_deref(),
        observed.creation_retry.as_deref(),
        recreating,
        all_present,
    );
    // A retried creation is announced once: the condition already says it when it failed alike.
    let retry_is_news = phase != Phase::Failed
        && observed.creation_retry.is_some()
        && condition(&status, READY).is_none_or(|said| said.message != ready.message);
    if retry_is_news {
        events.push(events::failed_create(&ready.message));
    }
    set(&mut status, READY, ready, generation, now);

    let (unreachable, wait_for_master) = stats_unreachable(&status, observed, phase, previous_phase, settings, now);
    // Worker counts stop at their last value when the test ends: the pods are gone by then.
    if !phase.is_terminal() {
        // An ignored edit of the replicas leaves the worker Job as it was: keep counting against it.
        let expected = match status.expected_workers {
            Some(recorded) if observed.spec_drifted => recorded,
            _ => observed.expected_workers,
        };
        let counting_pods = observed.connected_workers.is_none();
        let connected = observed
            .connected_workers
            .unwrap_or_else(|| observed.worker_job.and_then(|job| job.active).unwrap_or(0));
        status.expected_workers = Some(expected);
        status.connected_workers = Some(connected);
        if let Some(why) = unreachable.as_deref() {
            let reported = previous_phase == Phase::Running
                && condition(&status, WORKERS_CONNECTED)
                    .is_some_and(|said| said.message.contains(STATS_UNAVAILABLE_MARKER));
            if !reported {
                let fallback = if counting_pods {
                    "; worker counts come from worker pods until it answers"
                } else {
                    ""
                };
                events.push(events::stats_unavailable(observed.test_name, why, fallback));
            }
        }
        let workers = conditions::workers_connected(expected, connected, phase, unreachable.as_deref(), counting_pods);
        set(&mut status, WORKERS_CONNECTED, workers, generation, now);
    }

    let was_healthy = condition(&status, PODS_HEALTHY).is_none_or(|said| said.status == "True");
    if was_healthy && !observed.health.is_healthy() {
        events.push(events::pod_failure(&observed.health));
    }
    set(
        &mut status,
        PODS_HEALTHY,
        conditions::pods_healthy(&observed.health),
        generation,
        now,
    );

    let thresholds_failed_the_run = concluded.as_ref().and_then(|concluded| concluded.completed.clone());
    // A run ended early on request says so, unless it failed (then why it failed matters more).
    let stopped = observed.stop_requested.filter(|_| phase == Phase::Succeeded);
    let completed = match (&thresholds_failed_the_run, stopped) {
        (Some(failed), _) => failed.clone(),
        (None, Some(request)) => conditions::test_stopped(request),
        (None, None) => conditions::test_completed(phase, failure.as_deref()),
    };
    set(&mut status, TEST_COMPLETED, completed.clone(), generation, now);
    if phase != previous_phase {
        match stopped {
            Some(_) => events.push(events::test_stopped(&completed.message)),
            None => {
                let failure = thresholds_failed_the_run.map(|completed| completed.message).or(failure);
                events.extend(events::phase_entered(
                    phase,
                    status.start_time.is_none(),
                    failure.as_deref(),
                ));
            }
        }
    }
    if let Some(concluded) = concluded {
        status.thresholds = Some(
            concluded
                .checked
                .checks()
                .iter()
                .map(|check| check.to_result())
                .collect(),
        );
        set(&mut status, THRESHOLDS_MET, concluded.condition, generation, now);
        events.push(concluded.event);
    }
    if status.start_time.is_none() {
        if phase == Phase::Running {
            status.start_time = Some(Time(now));
        } else if job_phase.is_some_and(Phase::is_terminal) {
            // Finished between two passes: it still ran, and its Job knows since when.
            status.start_time = Some(
                observed
                    .master_job
                    .and_then(|job| job.start_time.clone())
                    .unwrap_or(Time(now)),
            );
        }
    }
    if phase.is_terminal() && status.completion_time.is_none() {
        status.completion_time = Some(Time(now));
    }

    // An edit is reported while the test lives and goes away if the edit is reverted.
    if observed.spec_drifted && !phase.is_terminal() {
        set(&mut status, SPEC_DRIFTED, conditions::spec_drifted(), generation, now);
    } else {
        remove_condition(&mut status, SPEC_DRIFTED);
    }

    // The last values stay (results survive pod cleanup).
    if let Some(latest) = &observed.stats
        && stats_write_due(
            status.stats.as_ref(),
            latest,
            phase != previous_phase,
            settings.stats_interval,
            now,
        )
    {
        status.stats = Some(latest.clone());
    }

    status.phase = Some(phase);
    status.observed_generation = generation;
    let requeue_after = if phase.is_terminal() {
        None
    } else {
        [observed.health.grace_remaining, wait_for_master]
            .into_iter()
            .flatten()
            .min()
    };
    StatusStep {
        status,
        events,
        requeue_after,
    }
}
