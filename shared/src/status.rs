//! Status derivation: from the previous status and what the operator observed, the next status,
//! the events to record and when to look again. Pure and deterministic: the same inputs give the
//! same status, and times move only on transitions, so a reconcile that changes nothing writes
//! nothing (and cannot feed itself).

use std::time::Duration;

use k8s_openapi::api::batch::v1::JobStatus;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;

use crate::api::status::conditions::{self, completed, drift, ready, workers};
use crate::api::status::{LocustTestStatus, Phase, TestStats};
use crate::health::Health;
use crate::naming;

/// One of the three objects the operator creates for a test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Child {
    /// The `<name>-master` Service.
    Service,
    /// The `<name>-master` Job.
    MasterJob,
    /// The `<name>-worker` Job.
    WorkerJob,
}

impl Child {
    /// All children in creation order.
    pub const ALL: [Child; 3] = [Child::Service, Child::MasterJob, Child::WorkerJob];

    /// `Service` or `Job`.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Service => "Service",
            Self::MasterJob | Self::WorkerJob => "Job",
        }
    }

    /// How events name the child (upstream's wording).
    pub fn label(self) -> &'static str {
        match self {
            Self::Service => "Master Service",
            Self::MasterJob => "Master Job",
            Self::WorkerJob => "Worker Job",
        }
    }

    /// The child's object name for test `test_name`.
    pub fn name(self, test_name: &str) -> String {
        match self {
            Self::Service | Self::MasterJob => naming::master_name(test_name),
            Self::WorkerJob => naming::worker_name(test_name),
        }
    }
}

/// Event severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something needs attention.
    Warning,
}

impl EventType {
    /// As the Events API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

/// An event to record on the LocustTest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNote {
    /// Normal or Warning.
    pub type_: EventType,
    /// Upstream's reason, e.g. `TestStarted`.
    pub reason: &'static str,
    /// What happened.
    pub message: String,
    /// The child the event is about, if any. Recorders that merge repeated events tell apart
    /// events about different children by it.
    pub related: Option<Child>,
}

/// One `Created` event per child created this pass.
pub fn created_events(test_name: &str, created: &[Child]) -> Vec<EventNote> {
    created
        .iter()
        .map(|child| EventNote {
            type_: EventType::Normal,
            reason: reasons::CREATED,
            message: format!("Created {} {}", child.kind(), child.name(test_name)),
            related: Some(*child),
        })
        .collect()
}

/// Whether the API server refused to create a child because of what it holds (HTTP 422 Invalid,
/// 400 BadRequest, including an admission webhook's denial): creating it again from the same
/// spec cannot succeed, unlike a conflict, a permission or quota problem, or an unreachable server.
pub fn is_refusal_of_the_object(http_status: u16) -> bool {
    matches!(http_status, 400 | 422)
}

/// Why a test failed when the API server refused one of its children: the child, the server's
/// own words (which name the offending field) and what to do. Takes the place of a build error.
pub fn refused_child_message(test_name: &str, child: Child, server_message: &str) -> String {
    format!(
        "the API server refused to create {} {}: {server_message}. Correct the LocustTest's spec, \
         then delete it and create it again",
        child.kind(),
        child.name(test_name)
    )
}

/// Event reasons (upstream's, so existing alerts keep matching).
pub mod reasons {
    pub const CREATED: &str = "Created";
    pub const TEST_STARTED: &str = "TestStarted";
    pub const TEST_COMPLETED: &str = "TestCompleted";
    pub const TEST_FAILED: &str = "TestFailed";
    pub const POD_FAILURE: &str = "PodFailure";
    pub const RESOURCE_DELETED: &str = "ResourceDeleted";
    /// The master's web API could not be read while the test runs (ours, not upstream's).
    pub const STATS_UNAVAILABLE: &str = "StatsUnavailable";
    /// The API server could not create a child for a reason that may pass (a 5xx, throttling,
    /// a timeout); it is retried. Kubernetes' own controllers use the same reason.
    pub const FAILED_CREATE: &str = "FailedCreate";
}

/// Why a child could not be created this pass although it may be next time (the API server
/// answered 5xx or 429, or did not answer): the child and the server's words, for the Ready
/// condition and one event. The reconcile is retried with backoff.
pub fn creation_retry_message(test_name: &str, child: Child, server_message: &str) -> String {
    format!(
        "the API server could not create {} {} yet, retrying: {server_message}",
        child.kind(),
        child.name(test_name)
    )
}

/// The status of a test whose spec cannot be read (a v1 object stored without the conversion
/// webhook, say): Failed, with Ready naming the problem and what to do.
pub fn unreadable_status(generation: Option<i64>, problem: &str, now: Timestamp) -> LocustTestStatus {
    let mut status = initial_status(generation, 0, now);
    status.phase = Some(Phase::Failed);
    set_condition(
        &mut status,
        conditions::READY,
        false,
        ready::RESOURCES_FAILED,
        format!(
            "the spec cannot be read ({problem}); fix it against the locust.io/v2 schema or delete and \
             recreate the test"
        ),
        generation,
        now,
    );
    status
}

/// How status derivation treats live statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeriveSettings {
    /// The stats block is rewritten at most this often (unless the phase, Locust's state or the
    /// worker count changes), so a busy test does not write its status on every scrape.
    pub stats_interval: Duration,
    /// How long a master that has never answered may stay silent after the test started before
    /// that is reported: the Job counts its pod as active while the image is still pulling.
    pub master_start_allowance: Duration,
}

/// How often the operator reads each running master, unless configured otherwise.
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(5);

impl Default for DeriveSettings {
    fn default() -> Self {
        Self {
            stats_interval: DEFAULT_STATS_INTERVAL,
            master_start_allowance: crate::health::DEFAULT_GRACE_PERIOD,
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
    /// The spec differs from the one the children were built from.
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
    /// [`creation_retry_message`]); `None` when every creation went through.
    pub creation_retry: Option<String>,
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
fn master_job_phase(job: &JobStatus) -> (Option<Phase>, Option<String>) {
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

fn set_condition(
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

fn remove_condition(status: &mut LocustTestStatus, type_: &str) {
    if let Some(list) = status.conditions.as_mut() {
        list.retain(|c| c.type_ != type_);
    }
}

fn condition<'a>(status: &'a LocustTestStatus, type_: &str) -> Option<&'a Condition> {
    status.conditions.iter().flatten().find(|c| c.type_ == type_)
}

/// Starts the part of a WorkersConnected message that says the master could not be read; a message
/// carrying it has been reported already.
const STATS_UNAVAILABLE_MARKER: &str = "live stats unavailable: ";

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

/// Whether to report that the master cannot be read, and if not yet, how long until it should
/// be. Reported only while Running: a Pending master has not started, and a master that stopped
/// its test and then went away has finished (its Job says so a moment later). A master that has
/// never answered gets `master_start_allowance` from the test's start first (image pulls).
fn stats_unreachable(
    status: &LocustTestStatus,
    observed: &Observation<'_>,
    phase: Phase,
    previous_phase: Phase,
    settings: &DeriveSettings,
    now: Timestamp,
) -> (Option<String>, Option<Duration>) {
    let Some(why) = observed.stats_unreachable.as_ref() else {
        return (None, None);
    };
    if phase != Phase::Running {
        return (None, None);
    }
    match &status.stats {
        Some(recorded) if matches!(recorded.state.as_str(), "stopped" | "stopping") => (None, None),
        Some(_) => (Some(why.clone()), None),
        None => {
            // Not yet Running before this pass: the test starts now.
            let running_for = match (previous_phase, status.start_time.as_ref()) {
                (Phase::Running, Some(started)) => elapsed(started.0, now),
                _ => Duration::ZERO,
            };
            match settings.master_start_allowance.checked_sub(running_for) {
                Some(left) if !left.is_zero() => (None, Some(left)),
                _ => (Some(why.clone()), None),
            }
        }
    }
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
    let health = conditions::health::PODS_STARTING;
    set_condition(
        &mut status,
        conditions::READY,
        false,
        ready::RESOURCES_CREATING,
        "Creating resources".into(),
        generation,
        now,
    );
    set_condition(
        &mut status,
        conditions::WORKERS_CONNECTED,
        false,
        workers::WAITING_FOR_WORKERS,
        format!("0/{expected_workers} workers connected"),
        generation,
        now,
    );
    set_condition(
        &mut status,
        conditions::TEST_COMPLETED,
        false,
        completed::TEST_IN_PROGRESS,
        "Test has not started".into(),
        generation,
        now,
    );
    set_condition(
        &mut status,
        conditions::PODS_HEALTHY,
        true,
        health,
        "Waiting for pods to start".into(),
        generation,
        now,
    );
    status
}

/// Derives the next status from the previous one and this pass's observation.
pub fn derive(
    previous: &LocustTestStatus,
    observed: &Observation<'_>,
    settings: &DeriveSettings,
    now: Timestamp,
) -> StatusStep {
    let unchanged = StatusStep {
        status: previous.clone(),
        events: Vec::new(),
        requeue_after: None,
    };
    if previous.phase.is_some_and(Phase::is_terminal) {
        return unchanged;
    }
    let generation = observed.generation;
    let mut status = match previous.phase {
        None => initial_status(generation, observed.expected_workers, now),
        Some(_) => previous.clone(),
    };
    let previous_phase = status.phase.unwrap_or(Phase::Pending);
    let mut events = Vec::new();

    events.extend(created_events(observed.test_name, observed.created));
    // Children missing while the test ran were deleted from outside; they have just been recreated.
    let recreating = previous_phase == Phase::Running && !observed.created.is_empty();
    if recreating {
        for child in observed.created {
            events.push(EventNote {
                type_: EventType::Warning,
                reason: reasons::RESOURCE_DELETED,
                message: format!(
                    "{} {} was deleted externally, recreated it",
                    child.label(),
                    child.name(observed.test_name)
                ),
                related: Some(*child),
            });
        }
    }

    let all_present = Child::ALL.iter().all(|child| observed.present.contains(child));
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

    // Ready
    match phase {
        Phase::Failed => set_condition(
            &mut status,
            conditions::READY,
            false,
            ready::RESOURCES_FAILED,
            failure.clone().unwrap_or_else(|| "Test failed".into()),
            generation,
            now,
        ),
        _ if observed.creation_retry.is_some() => {
            let message = observed.creation_retry.clone().unwrap_or_default();
            // Once per episode: the condition already says it when an earlier pass failed alike.
            if condition(&status, conditions::READY).is_none_or(|ready| ready.message != message) {
                events.push(EventNote {
                    type_: EventType::Warning,
                    reason: reasons::FAILED_CREATE,
                    message: message.clone(),
                    related: None,
                });
            }
            set_condition(
                &mut status,
                conditions::READY,
                false,
                ready::RESOURCES_CREATING,
                message,
                generation,
                now,
            );
        }
        _ if recreating => set_condition(
            &mut status,
            conditions::READY,
            false,
            ready::RESOURCES_CREATING,
            "Recreating externally deleted resources".into(),
            generation,
            now,
        ),
        _ if all_present => set_condition(
            &mut status,
            conditions::READY,
            true,
            ready::RESOURCES_CREATED,
            "All resources created".into(),
            generation,
            now,
        ),
        _ => set_condition(
            &mut status,
            conditions::READY,
            false,
            ready::RESOURCES_CREATING,
            "Creating resources".into(),
            generation,
            now,
        ),
    }

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
        let (truth, reason) = if connected >= expected {
            (true, workers::ALL_WORKERS_CONNECTED)
        } else if connected == 0 && phase == Phase::Pending {
            (false, workers::WAITING_FOR_WORKERS)
        } else {
            (false, workers::WORKERS_MISSING)
        };
        let mut message = format!("{connected}/{expected} workers connected");
        if let Some(why) = unreachable.as_deref() {
            let (fallback, fallback_in_words) = if counting_pods {
                (
                    "; counting worker pods",
                    "; worker counts come from worker pods until it answers",
                )
            } else {
                ("", "")
            };
            message.push_str(&format!(" ({STATS_UNAVAILABLE_MARKER}{why}{fallback})"));
            let reported = previous_phase == Phase::Running
                && condition(&status, conditions::WORKERS_CONNECTED)
                    .is_some_and(|c| c.message.contains(STATS_UNAVAILABLE_MARKER));
            if !reported {
                events.push(EventNote {
                    type_: EventType::Warning,
                    reason: reasons::STATS_UNAVAILABLE,
                    message: format!(
                        "Cannot read live statistics from {}: {why}{fallback_in_words}",
                        naming::master_name(observed.test_name)
                    ),
                    related: Some(Child::Service),
                });
            }
        }
        set_condition(
            &mut status,
            conditions::WORKERS_CONNECTED,
            truth,
            reason,
            message,
            generation,
            now,
        );
    }

    // PodsHealthy
    let was_healthy = condition(&status, conditions::PODS_HEALTHY).is_none_or(|c| c.status == "True");
    let health = &observed.health;
    if was_healthy && !health.is_healthy() {
        events.push(EventNote {
            type_: EventType::Warning,
            reason: reasons::POD_FAILURE,
            message: health.message.clone(),
            related: None,
        });
    }
    set_condition(
        &mut status,
        conditions::PODS_HEALTHY,
        health.is_healthy(),
        health.reason,
        health.message.clone(),
        generation,
        now,
    );

    // TestCompleted, times and phase events
    match phase {
        Phase::Succeeded => set_condition(
            &mut status,
            conditions::TEST_COMPLETED,
            true,
            completed::TEST_SUCCEEDED,
            "Test completed successfully".into(),
            generation,
            now,
        ),
        Phase::Failed => set_condition(
            &mut status,
            conditions::TEST_COMPLETED,
            true,
            completed::TEST_FAILED,
            failure.clone().unwrap_or_else(|| "Test failed".into()),
            generation,
            now,
        ),
        Phase::Running => set_condition(
            &mut status,
            conditions::TEST_COMPLETED,
            false,
            completed::TEST_IN_PROGRESS,
            "Test is running".into(),
            generation,
            now,
        ),
        Phase::Pending => set_condition(
            &mut status,
            conditions::TEST_COMPLETED,
            false,
            completed::TEST_IN_PROGRESS,
            "Test has not started".into(),
            generation,
            now,
        ),
    }
    if phase != previous_phase {
        match phase {
            Phase::Running if status.start_time.is_none() => events.push(EventNote {
                type_: EventType::Normal,
                reason: reasons::TEST_STARTED,
                message: "Load test execution started".into(),
                related: None,
            }),
            Phase::Succeeded => events.push(EventNote {
                type_: EventType::Normal,
                reason: reasons::TEST_COMPLETED,
                message: "Load test completed successfully".into(),
                related: None,
            }),
            Phase::Failed => events.push(EventNote {
                type_: EventType::Warning,
                reason: reasons::TEST_FAILED,
                message: format!(
                    "Load test execution failed: {}",
                    failure.clone().unwrap_or_else(|| "unknown reason".into())
                ),
                related: None,
            }),
            _ => {}
        }
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

    // SpecDrifted: tests are immutable; the condition says an edit is ignored and goes away if
    // the edit is reverted. Not kept on finished tests.
    if observed.spec_drifted && !phase.is_terminal() {
        set_condition(
            &mut status,
            conditions::SPEC_DRIFTED,
            true,
            drift::SPEC_CHANGE_IGNORED,
            "Spec changes after creation are ignored. Delete and recreate the LocustTest to apply changes.".into(),
            generation,
            now,
        );
    } else {
        remove_condition(&mut status, conditions::SPEC_DRIFTED);
    }

    // Stats: the last values stay (results survive pod cleanup); new ones are written only when
    // they differ, at most every stats_interval unless the phase, Locust's state or the worker
    // count changes with them (those are worth a write at once).
    if let Some(latest) = &observed.stats {
        let due = match &status.stats {
            None => true,
            Some(recorded) => {
                !recorded.same_values(latest)
                    && (phase != previous_phase
                        || recorded.state != latest.state
                        || recorded.workers != latest.workers
                        || recorded
                            .last_update_time
                            .as_ref()
                            .is_none_or(|written| elapsed(written.0, now) >= settings.stats_interval))
            }
        };
        if due {
            status.stats = Some(latest.clone());
        }
    }

    status.phase = Some(phase);
    status.observed_generation = generation;
    let requeue_after = if phase.is_terminal() {
        None
    } else {
        [health.grace_remaining, wait_for_master].into_iter().flatten().min()
    };
    StatusStep {
        status,
        events,
        requeue_after,
    }
}
