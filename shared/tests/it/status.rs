//! What `kubectl get locusttest`, `kubectl wait` and `kubectl describe` show while a test runs:
//! phase, worker counts, times, conditions and events, derived from what the operator observed.
//! The clock is fixed, so every time in a status is one the test chose.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use shared::api::status::conditions::{self, completed, drift, health as health_reason, ready, workers};
use shared::api::status::{LocustTestStatus, Phase};
use shared::api::v2::Thresholds;
use shared::health::Health;
use shared::stats::RequestsReport;
use shared::status::{self, Child, EventNote, EventType, Observation, StatusStep, StopRequest, reasons};

const TEST: &str = "demo";
/// 2026-01-01T00:00:00Z; every instant in these tests is an offset from it.
const EPOCH: i64 = 1_767_225_600;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(EPOCH + seconds).unwrap()
}

fn time(seconds: i64) -> Time {
    Time(at(seconds))
}

// ---------------------------------------------------------------------------------------------
// Builders

fn job_condition(type_: &str, reason: Option<&str>, message: Option<&str>) -> JobCondition {
    JobCondition {
        type_: type_.into(),
        status: "True".into(),
        reason: reason.map(Into::into),
        message: message.map(Into::into),
        ..JobCondition::default()
    }
}

fn job_active(active: i32) -> JobStatus {
    JobStatus {
        active: Some(active),
        ..JobStatus::default()
    }
}

fn job_with(conditions: Vec<JobCondition>) -> JobStatus {
    JobStatus {
        active: Some(0),
        conditions: Some(conditions),
        ..JobStatus::default()
    }
}

/// Master Job as the Job controller leaves it after the master exited 0 (1.31+: both conditions).
fn job_complete() -> JobStatus {
    job_with(vec![
        job_condition("SuccessCriteriaMet", Some("CompletionsReached"), None),
        job_condition("Complete", Some("CompletionsReached"), None),
    ])
}

fn job_failed(reason: &str, message: &str) -> JobStatus {
    job_with(vec![
        job_condition("FailureTarget", Some(reason), Some(message)),
        job_condition("Failed", Some(reason), Some(message)),
    ])
}

fn no_pods_yet() -> Health {
    Health {
        reason: health_reason::PODS_STARTING,
        message: "Waiting for pods to be created".into(),
        grace_remaining: None,
    }
}

fn pods_in_grace(remaining_seconds: u64) -> Health {
    Health {
        reason: health_reason::PODS_STARTING,
        message: "Pods are starting up".into(),
        grace_remaining: Some(Duration::from_secs(remaining_seconds)),
    }
}

fn pods_healthy() -> Health {
    Health {
        reason: health_reason::PODS_HEALTHY,
        message: "All pods are healthy".into(),
        grace_remaining: None,
    }
}

fn pods_failing(reason: &'static str) -> Health {
    Health {
        reason,
        message: format!("{reason}: 1 pod(s) affected [demo-worker-x7k2p]: something is wrong"),
        grace_remaining: None,
    }
}

/// An owned observation, so tests can tweak one field at a time.
#[derive(Clone)]
struct Seen {
    generation: Option<i64>,
    expected_workers: i32,
    present: Vec<Child>,
    created: Vec<Child>,
    master_job: Option<JobStatus>,
    worker_job: Option<JobStatus>,
    health: Health,
    spec_drifted: bool,
    connected_workers: Option<i32>,
    build_error: Option<String>,
    creation_retry: Option<String>,
    thresholds: Option<Thresholds>,
    last_stats: Option<RequestsReport>,
    stop_requested: Option<StopRequest>,
}

impl Seen {
    /// All three children exist, nothing runs yet, no pods.
    fn idle() -> Self {
        Self {
            generation: Some(1),
            expected_workers: 3,
            present: Child::ALL.to_vec(),
            created: Vec::new(),
            master_job: None,
            worker_job: None,
            health: no_pods_yet(),
            spec_drifted: false,
            connected_workers: None,
            build_error: None,
            creation_retry: None,
            thresholds: None,
            last_stats: None,
            stop_requested: None,
        }
    }

    /// The first pass: this reconcile created all three children.
    fn first_pass() -> Self {
        Self {
            created: Child::ALL.to_vec(),
            ..Self::idle()
        }
    }

    /// The master runs and `workers` worker pods are active; pods are past their grace period.
    fn running(workers: i32) -> Self {
        Self {
            master_job: Some(job_active(1)),
            worker_job: Some(job_active(workers)),
            health: pods_healthy(),
            ..Self::idle()
        }
    }

    fn master(mut self, job: JobStatus) -> Self {
        self.master_job = Some(job);
        self
    }

    fn workers_active(mut self, active: i32) -> Self {
        self.worker_job = Some(job_active(active));
        self
    }

    fn health(mut self, health: Health) -> Self {
        self.health = health;
        self
    }

    fn drifted(mut self, drifted: bool) -> Self {
        self.spec_drifted = drifted;
        self
    }

    fn generation(mut self, generation: i64) -> Self {
        self.generation = Some(generation);
        self
    }

    fn expected(mut self, expected: i32) -> Self {
        self.expected_workers = expected;
        self
    }

    fn stop_requested(mut self, by: &str, seconds: i64) -> Self {
        self.stop_requested = Some(StopRequest {
            at: at(seconds),
            by: by.into(),
        });
        self
    }

    fn locust_state(mut self, state: &str) -> Self {
        self.last_stats = Some(RequestsReport {
            state: state.into(),
            ..RequestsReport::default()
        });
        self
    }

    fn master_reports_connected(mut self, connected: i32) -> Self {
        self.connected_workers = Some(connected);
        self
    }

    fn recreated(mut self, created: &[Child]) -> Self {
        self.created = created.to_vec();
        self.present = Child::ALL.to_vec();
        self
    }

    fn build_error(mut self, error: &str) -> Self {
        self.build_error = Some(error.into());
        self
    }

    /// The Service exists; the master Job could not be created (the server answered `words`).
    fn master_job_not_created(mut self, words: &str) -> Self {
        self.present = vec![Child::Service];
        self.created = Vec::new();
        self.creation_retry = Some(status::creation_retry_message(TEST, Child::MasterJob, words));
        self
    }

    fn derive(&self, previous: &LocustTestStatus, now: Timestamp) -> StatusStep {
        let observation = Observation {
            test_name: TEST,
            generation: self.generation,
            expected_workers: self.expected_workers,
            present: &self.present,
            created: &self.created,
            master_job: self.master_job.as_ref(),
            worker_job: self.worker_job.as_ref(),
            health: self.health.clone(),
            spec_drifted: self.spec_drifted,
            connected_workers: self.connected_workers,
            build_error: self.build_error.clone(),
            stats: None,
            stats_unreachable: None,
            creation_retry: self.creation_retry.clone(),
            thresholds: self.thresholds.as_ref(),
            last_stats: self.last_stats.as_ref(),
            stop_requested: self.stop_requested.as_ref(),
        };
        status::derive(previous, &observation, &status::DeriveSettings::default(), now)
    }
}

fn condition<'a>(status: &'a LocustTestStatus, type_: &str) -> &'a Condition {
    status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("condition {type_} missing from {status:#?}"))
}

fn has_condition(status: &LocustTestStatus, type_: &str) -> bool {
    status.conditions.iter().flatten().any(|c| c.type_ == type_)
}

/// `(status, reason)` of a condition, the pair `kubectl wait --for=condition=...` and alerts read.
fn state_of(status: &LocustTestStatus, type_: &str) -> (String, String) {
    let found = condition(status, type_);
    (found.status.clone(), found.reason.clone())
}

fn pair(truth: &str, reason: &str) -> (String, String) {
    (truth.to_string(), reason.to_string())
}

fn event_reasons(events: &[EventNote]) -> Vec<&'static str> {
    events.iter().map(|e| e.reason).collect()
}

fn event<'a>(events: &'a [EventNote], reason: &str) -> &'a EventNote {
    events
        .iter()
        .find(|e| e.reason == reason)
        .unwrap_or_else(|| panic!("no {reason} event in {events:#?}"))
}

/// Created at t=0, children created, nothing running yet.
fn pending_status() -> LocustTestStatus {
    Seen::first_pass().derive(&LocustTestStatus::default(), at(0)).status
}

/// Created at t=0, master running since t=10, all three workers connected at t=10.
fn running_status() -> LocustTestStatus {
    let status = Seen::running(3).derive(&pending_status(), at(10)).status;
    assert_eq!(status.phase, Some(Phase::Running));
    status
}

fn succeeded_status() -> LocustTestStatus {
    let status = Seen::running(3)
        .master(job_complete())
        .derive(&running_status(), at(300))
        .status;
    assert_eq!(status.phase, Some(Phase::Succeeded));
    status
}

fn failed_status() -> LocustTestStatus {
    let status = Seen::running(3)
        .master(job_failed(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ))
        .derive(&running_status(), at(300))
        .status;
    assert_eq!(status.phase, Some(Phase::Failed));
    status
}

// ---------------------------------------------------------------------------------------------
// Creation and the initial status

#[test]
fn a_new_test_starts_pending_with_the_four_documented_conditions() {
    let status = status::initial_status(Some(1), 5, at(0));

    assert_eq!(status.phase, Some(Phase::Pending));
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.expected_workers, Some(5));
    assert_eq!(status.connected_workers, Some(0));
    assert_eq!(status.start_time, None);
    assert_eq!(status.completion_time, None);
    let expected = [
        (conditions::READY, "False", ready::RESOURCES_CREATING),
        (conditions::WORKERS_CONNECTED, "False", workers::WAITING_FOR_WORKERS),
        (conditions::TEST_COMPLETED, "False", completed::TEST_IN_PROGRESS),
        (conditions::PODS_HEALTHY, "True", health_reason::PODS_STARTING),
    ];
    let conditions = status.conditions.as_deref().unwrap();
    assert_eq!(conditions.len(), expected.len(), "{conditions:#?}");
    for (type_, truth, reason) in expected {
        let found = condition(&status, type_);
        assert_eq!(
            (found.status.as_str(), found.reason.as_str()),
            (truth, reason),
            "{type_}"
        );
        assert_eq!(found.last_transition_time, time(0), "{type_}");
        assert_eq!(found.observed_generation, Some(1), "{type_}");
    }
    assert_eq!(
        condition(&status, conditions::WORKERS_CONNECTED).message,
        "0/5 workers connected"
    );
    assert!(!has_condition(&status, conditions::SPEC_DRIFTED));
}

#[test]
fn the_first_pass_creates_all_children_with_one_created_event_each() {
    let fresh = LocustTestStatus::default();
    assert_eq!(status::children_to_create(&fresh, &[]), Child::ALL.to_vec());

    let step = Seen::first_pass().derive(&fresh, at(0));

    assert_eq!(step.status.phase, Some(Phase::Pending));
    let created: Vec<(EventType, &str, &str)> = step
        .events
        .iter()
        .map(|e| (e.type_, e.reason, e.message.as_str()))
        .collect();
    assert_eq!(
        created,
        [
            (EventType::Normal, reasons::CREATED, "Created Service demo-master"),
            (EventType::Normal, reasons::CREATED, "Created Job demo-master"),
            (EventType::Normal, reasons::CREATED, "Created Job demo-worker"),
        ]
    );
    assert_eq!(
        state_of(&step.status, conditions::READY),
        pair("True", ready::RESOURCES_CREATED)
    );
    assert_eq!(
        state_of(&step.status, conditions::WORKERS_CONNECTED),
        pair("False", workers::WAITING_FOR_WORKERS)
    );
    assert_eq!(
        condition(&step.status, conditions::WORKERS_CONNECTED).message,
        "0/3 workers connected"
    );
    assert_eq!(
        state_of(&step.status, conditions::TEST_COMPLETED),
        pair("False", completed::TEST_IN_PROGRESS)
    );
    assert_eq!(
        state_of(&step.status, conditions::PODS_HEALTHY),
        pair("True", health_reason::PODS_STARTING)
    );
    assert_eq!(step.status.start_time, None);
    assert_eq!(
        step.requeue_after, None,
        "no pods yet: pod events, not a timer, wake the operator"
    );
}

#[test]
fn ready_stays_false_until_every_child_exists() {
    let partial = Seen {
        present: vec![Child::Service],
        created: vec![Child::Service],
        ..Seen::idle()
    };
    let step = partial.derive(&LocustTestStatus::default(), at(0));
    assert_eq!(
        state_of(&step.status, conditions::READY),
        pair("False", ready::RESOURCES_CREATING)
    );
    assert_eq!(step.status.phase, Some(Phase::Pending));
    assert_eq!(event_reasons(&step.events), [reasons::CREATED]);
}

#[test]
fn status_serialises_with_the_field_names_of_the_api_reference() {
    let value = serde_json::to_value(succeeded_status()).unwrap();
    for key in [
        "phase",
        "observedGeneration",
        "expectedWorkers",
        "connectedWorkers",
        "startTime",
        "completionTime",
        "conditions",
    ] {
        assert!(value.get(key).is_some(), "status.{key} missing in {value:#}");
    }
    assert_eq!(value["phase"], "Succeeded");
    assert_eq!(value["startTime"], "2026-01-01T00:00:10Z");
    assert_eq!(value["completionTime"], "2026-01-01T00:05:00Z");
    let ready = value["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap();
    for key in [
        "status",
        "reason",
        "message",
        "lastTransitionTime",
        "observedGeneration",
    ] {
        assert!(ready.get(key).is_some(), "Ready.{key} missing in {ready:#}");
    }
}

// ---------------------------------------------------------------------------------------------
// Phase transitions

#[test]
fn pending_becomes_running_when_the_master_job_has_an_active_pod() {
    let step = Seen::running(1).derive(&pending_status(), at(10));

    assert_eq!(step.status.phase, Some(Phase::Running));
    assert_eq!(step.status.start_time, Some(time(10)));
    assert_eq!(step.status.completion_time, None);
    assert_eq!(event_reasons(&step.events), [reasons::TEST_STARTED]);
    let started = event(&step.events, reasons::TEST_STARTED);
    assert_eq!(started.type_, EventType::Normal);
    assert_eq!(started.message, "Load test execution started");
    assert_eq!(
        state_of(&step.status, conditions::TEST_COMPLETED),
        pair("False", completed::TEST_IN_PROGRESS)
    );
    assert_eq!(
        state_of(&step.status, conditions::READY),
        pair("True", ready::RESOURCES_CREATED)
    );
}

#[test]
fn pending_stays_pending_while_the_master_job_has_no_active_pod() {
    let step = Seen::idle().master(job_active(0)).derive(&pending_status(), at(10));
    assert_eq!(step.status.phase, Some(Phase::Pending));
    assert_eq!(step.status.start_time, None);
    assert!(step.events.is_empty(), "{:#?}", step.events);
}

#[test]
fn a_running_test_whose_master_pod_is_being_replaced_stays_running() {
    // Between a master pod ending and its replacement the Job has no active pod; that is no
    // reason to go back to Pending and forth again.
    let running = running_status();
    let step = Seen::running(3).master(job_active(0)).derive(&running, at(20));
    assert_eq!(step.status.phase, Some(Phase::Running));
    assert!(step.events.is_empty(), "{:#?}", step.events);
}

#[test]
fn the_master_job_completing_makes_the_test_succeed_and_freezes_the_worker_counts() {
    let cases = [
        (
            "Complete only (before 1.31)",
            job_with(vec![job_condition("Complete", None, None)]),
        ),
        (
            "SuccessCriteriaMet only (condition added first)",
            job_with(vec![job_condition("SuccessCriteriaMet", None, None)]),
        ),
        ("SuccessCriteriaMet and Complete", job_complete()),
    ];
    for (case, master) in cases {
        let running = running_status();
        // When the master exits its workers leave: the worker Job has no active pod any more.
        let step = Seen::running(0).master(master).derive(&running, at(300));

        assert_eq!(step.status.phase, Some(Phase::Succeeded), "{case}");
        assert_eq!(step.status.start_time, Some(time(10)), "{case}: startTime kept");
        assert_eq!(step.status.completion_time, Some(time(300)), "{case}");
        assert_eq!(
            state_of(&step.status, conditions::TEST_COMPLETED),
            pair("True", completed::TEST_SUCCEEDED),
            "{case}"
        );
        assert_eq!(
            condition(&step.status, conditions::TEST_COMPLETED).last_transition_time,
            time(300),
            "{case}"
        );
        assert_eq!(
            step.status.connected_workers,
            Some(3),
            "{case}: last value before the end"
        );
        assert_eq!(step.status.expected_workers, Some(3), "{case}");
        assert_eq!(
            condition(&step.status, conditions::WORKERS_CONNECTED).message,
            "3/3 workers connected",
            "{case}"
        );
        assert_eq!(event_reasons(&step.events), [reasons::TEST_COMPLETED], "{case}");
        let completed_event = event(&step.events, reasons::TEST_COMPLETED);
        assert_eq!(completed_event.type_, EventType::Normal, "{case}");
        assert_eq!(completed_event.message, "Load test completed successfully", "{case}");
        assert_eq!(step.requeue_after, None, "{case}");
    }
}

#[test]
fn a_run_stopped_on_request_succeeds_and_says_who_stopped_it_and_when() {
    let running = running_status();
    let step = Seen::running(0)
        .stop_requested("alice", 200)
        .master(job_complete())
        .derive(&running, at(230));
    assert_eq!(step.status.phase, Some(Phase::Succeeded));
    let message = "Stopped on request by alice at 2026-01-01T00:03:20Z; Locust ended the run and kept its results";
    assert_eq!(
        condition(&step.status, conditions::TEST_COMPLETED).reason,
        completed::TEST_STOPPED
    );
    assert_eq!(condition(&step.status, conditions::TEST_COMPLETED).message, message);
    assert_eq!(event_reasons(&step.events), [reasons::TEST_STOPPED]);
    assert_eq!(event(&step.events, reasons::TEST_STOPPED).message, message);

    // A run still going when the request came is not reported stopped before Locust says so.
    let step = Seen::running(3)
        .stop_requested("alice", 200)
        .locust_state("running")
        .derive(&running, at(210));
    assert_eq!(step.status.phase, Some(Phase::Running));
    assert_eq!(
        condition(&step.status, conditions::TEST_COMPLETED).reason,
        completed::TEST_IN_PROGRESS
    );
    // Locust's web API stops the users but its master never quits by itself afterwards: once it
    // says `stopped` the run is over, with the master Job still active.
    let step = Seen::running(3)
        .stop_requested("alice", 200)
        .locust_state("stopped")
        .derive(&running, at(215));
    assert_eq!(step.status.phase, Some(Phase::Succeeded));
    assert_eq!(step.status.completion_time, Some(time(215)));
    assert_eq!(
        condition(&step.status, conditions::TEST_COMPLETED).reason,
        completed::TEST_STOPPED
    );
    // Without a request, a stopped Locust is waited for: it quits after its autoquit window.
    let step = Seen::running(3).locust_state("stopped").derive(&running, at(215));
    assert_eq!(step.status.phase, Some(Phase::Running));
    // A stopped run that failed says why it failed.
    let step = Seen::running(0)
        .stop_requested("alice", 200)
        .master(job_failed(
            "BackoffLimitExceeded",
            "Job has reached the specified backoff limit",
        ))
        .derive(&running, at(230));
    assert_eq!(step.status.phase, Some(Phase::Failed));
    assert_eq!(
        condition(&step.status, conditions::TEST_COMPLETED).reason,
        completed::TEST_FAILED
    );
}

#[test]
fn a_stop_request_reads_back_from_its_annotation() {
    let request = StopRequest {
        at: at(5),
        by: "system:serviceaccount:ci:runner".into(),
    };
    assert_eq!(
        request.to_annotation(),
        "2026-01-01T00:00:05Z system:serviceaccount:ci:runner"
    );
    assert_eq!(StopRequest::from_annotation(&request.to_annotation()), Some(request));
    assert_eq!(StopRequest::from_annotation("yesterday alice"), None);
    assert_eq!(StopRequest::from_annotation(""), None);
}

#[test]
fn the_master_job_failing_makes_the_test_fail_with_the_jobs_explanation() {
    let cases = [
        (
            "Failed with a message",
            job_with(vec![job_condition(
                "Failed",
                Some("DeadlineExceeded"),
                Some("Job was active longer than specified deadline"),
            )]),
            "Job was active longer than specified deadline",
        ),
        (
            "Failed with a reason only",
            job_with(vec![job_condition("Failed", Some("BackoffLimitExceeded"), None)]),
            "BackoffLimitExceeded",
        ),
        (
            "FailureTarget before Failed (1.31+)",
            job_with(vec![job_condition(
                "FailureTarget",
                Some("BackoffLimitExceeded"),
                Some("Job has reached the specified backoff limit"),
            )]),
            "Job has reached the specified backoff limit",
        ),
    ];
    for (case, master, explanation) in cases {
        let step = Seen::running(3).master(master).derive(&running_status(), at(300));

        assert_eq!(step.status.phase, Some(Phase::Failed), "{case}");
        assert_eq!(step.status.completion_time, Some(time(300)), "{case}");
        assert_eq!(step.status.start_time, Some(time(10)), "{case}");
        let ready_condition = condition(&step.status, conditions::READY);
        assert_eq!(
            (ready_condition.status.as_str(), ready_condition.reason.as_str()),
            ("False", ready::RESOURCES_FAILED),
            "{case}"
        );
        assert!(
            ready_condition.message.contains(explanation),
            "{case}: {ready_condition:?}"
        );
        let completed_condition = condition(&step.status, conditions::TEST_COMPLETED);
        assert_eq!(
            (completed_condition.status.as_str(), completed_condition.reason.as_str()),
            ("True", completed::TEST_FAILED),
            "{case}"
        );
        assert!(completed_condition.message.contains(explanation), "{case}");
        assert_eq!(event_reasons(&step.events), [reasons::TEST_FAILED], "{case}");
        let failed = event(&step.events, reasons::TEST_FAILED);
        assert_eq!(failed.type_, EventType::Warning, "{case}");
        assert!(
            failed.message.starts_with("Load test execution failed"),
            "{case}: {failed:?}"
        );
        assert!(failed.message.contains(explanation), "{case}: {failed:?}");
    }
}

#[test]
fn a_failed_master_job_names_its_reason_even_when_it_has_a_message() {
    let master = job_failed("BackoffLimitExceeded", "Job has reached the specified backoff limit");
    let step = Seen::running(3).master(master).derive(&running_status(), at(300));
    let ready_condition = condition(&step.status, conditions::READY);
    assert!(
        ready_condition.message.contains("BackoffLimitExceeded"),
        "{ready_condition:?}"
    );
    assert!(
        ready_condition
            .message
            .contains("Job has reached the specified backoff limit")
    );
    let failed = event(&step.events, reasons::TEST_FAILED);
    assert!(failed.message.contains("BackoffLimitExceeded"), "{failed:?}");
}

#[test]
fn job_conditions_that_are_not_true_decide_nothing() {
    let mut master = job_active(1);
    master.conditions = Some(vec![JobCondition {
        status: "False".into(),
        ..job_condition("Failed", Some("BackoffLimitExceeded"), None)
    }]);
    let step = Seen::running(3).master(master).derive(&running_status(), at(20));
    assert_eq!(step.status.phase, Some(Phase::Running));
    assert!(step.events.is_empty(), "{:#?}", step.events);
}

#[test]
fn a_test_that_finished_before_it_was_seen_running_still_succeeds() {
    let step = Seen::running(0)
        .master(job_complete())
        .derive(&pending_status(), at(30));
    assert_eq!(step.status.phase, Some(Phase::Succeeded));
    assert_eq!(step.status.completion_time, Some(time(30)));
    assert_eq!(event_reasons(&step.events), [reasons::TEST_COMPLETED]);
}

#[test]
fn a_test_that_finished_before_it_was_seen_running_has_a_start_time() {
    let step = Seen::running(0)
        .master(job_complete())
        .derive(&pending_status(), at(30));
    let start = step.status.start_time.expect("startTime of a test that ran");
    let completion = step.status.completion_time.expect("completionTime");
    assert!(
        start.0 <= completion.0,
        "start {start:?} after completion {completion:?}"
    );
}

#[test]
fn a_spec_that_cannot_be_built_fails_the_test_with_the_error() {
    let error = "spec.master.command: unbalanced quotes";
    let cases = [
        ("on the first pass", LocustTestStatus::default()),
        ("while pending", pending_status()),
        ("while running", running_status()),
    ];
    for (case, previous) in cases {
        let seen = Seen {
            present: Vec::new(),
            ..Seen::idle()
        }
        .build_error(error);
        let step = seen.derive(&previous, at(40));

        assert_eq!(step.status.phase, Some(Phase::Failed), "{case}");
        assert_eq!(step.status.completion_time, Some(time(40)), "{case}");
        assert_eq!(
            state_of(&step.status, conditions::READY),
            pair("False", ready::RESOURCES_FAILED),
            "{case}"
        );
        assert!(
            condition(&step.status, conditions::READY).message.contains(error),
            "{case}"
        );
        assert_eq!(
            state_of(&step.status, conditions::TEST_COMPLETED),
            pair("True", completed::TEST_FAILED),
            "{case}"
        );
        assert!(
            condition(&step.status, conditions::TEST_COMPLETED)
                .message
                .contains(error),
            "{case}"
        );
        assert_eq!(event_reasons(&step.events), [reasons::TEST_FAILED], "{case}");
        assert!(
            event(&step.events, reasons::TEST_FAILED).message.contains(error),
            "{case}"
        );
        assert_eq!(step.requeue_after, None, "{case}");
    }
}

// ---------------------------------------------------------------------------------------------
// Finished tests are records

#[test]
fn a_finished_test_never_changes_and_nothing_is_recreated() {
    // Everything that would move a live test: children gone (Job TTL cleanup), pods failing,
    // a spec edit, a new generation, workers reconnecting, a timer.
    let provocations = [
        (
            "Job TTL deleted the Jobs",
            Seen {
                present: vec![Child::Service],
                ..Seen::idle()
            },
        ),
        (
            "everything deleted",
            Seen {
                present: Vec::new(),
                ..Seen::idle()
            },
        ),
        (
            "pods failing",
            Seen::running(3).health(pods_failing(health_reason::CRASH_LOOP_BACK_OFF)),
        ),
        ("spec edited", Seen::running(3).drifted(true).generation(2)),
        ("master running again", Seen::running(1).master_reports_connected(1)),
        ("in a grace period", Seen::running(3).health(pods_in_grace(60))),
        ("build error", Seen::idle().build_error("broken")),
    ];
    for (name, finished) in [("Succeeded", succeeded_status()), ("Failed", failed_status())] {
        assert!(
            status::children_to_create(&finished, &[]).is_empty(),
            "{name}: a finished test must not be resurrected"
        );
        assert!(
            status::children_to_create(&finished, &[Child::Service]).is_empty(),
            "{name}"
        );
        for (case, seen) in &provocations {
            let step = seen.derive(&finished, at(10_000));
            assert_eq!(step.status, finished, "{name}, {case}: status changed");
            assert!(step.events.is_empty(), "{name}, {case}: {:#?}", step.events);
            assert_eq!(step.requeue_after, None, "{name}, {case}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// External deletion while running

#[test]
fn children_to_create_lists_exactly_the_missing_ones_of_a_live_test() {
    use Child::{MasterJob, Service, WorkerJob};
    let cases: [(&[Child], &[Child]); 5] = [
        (&[], &[Service, MasterJob, WorkerJob]),
        (&[Service], &[MasterJob, WorkerJob]),
        (&[Service, MasterJob], &[WorkerJob]),
        (&[MasterJob, WorkerJob], &[Service]),
        (&[Service, MasterJob, WorkerJob], &[]),
    ];
    for previous in [LocustTestStatus::default(), pending_status(), running_status()] {
        for (present, missing) in cases {
            assert_eq!(
                status::children_to_create(&previous, present),
                missing.to_vec(),
                "phase {:?}, present {present:?}",
                previous.phase
            );
        }
    }
}

#[test]
fn a_child_deleted_while_running_is_recreated_and_the_test_goes_back_to_pending() {
    use Child::{MasterJob, Service, WorkerJob};
    let cases: [(&[Child], &[&str]); 4] = [
        (&[WorkerJob], &["Worker Job demo-worker"]),
        (&[MasterJob], &["Master Job demo-master"]),
        (&[Service], &["Master Service demo-master"]),
        (
            &[Service, MasterJob, WorkerJob],
            &[
                "Master Service demo-master",
                "Master Job demo-master",
                "Worker Job demo-worker",
            ],
        ),
    ];
    for (deleted, labels) in cases {
        let running = running_status();
        let step = Seen::running(3).recreated(deleted).derive(&running, at(60));

        assert_eq!(step.status.phase, Some(Phase::Pending), "{deleted:?}");
        assert_eq!(step.status.start_time, Some(time(10)), "{deleted:?}: startTime kept");
        assert_eq!(step.status.completion_time, None, "{deleted:?}");
        let ready_condition = condition(&step.status, conditions::READY);
        assert_eq!(
            (ready_condition.status.as_str(), ready_condition.reason.as_str()),
            ("False", ready::RESOURCES_CREATING),
            "{deleted:?}"
        );
        assert_eq!(ready_condition.message, "Recreating externally deleted resources");
        assert_eq!(
            ready_condition.last_transition_time,
            time(60),
            "{deleted:?}: Ready flipped"
        );

        let deletions: Vec<&EventNote> = step
            .events
            .iter()
            .filter(|e| e.reason == reasons::RESOURCE_DELETED)
            .collect();
        assert_eq!(deletions.len(), labels.len(), "{deleted:?}: {:#?}", step.events);
        for (note, label) in deletions.iter().zip(labels.iter()) {
            assert_eq!(note.type_, EventType::Warning);
            assert!(note.message.starts_with(label), "{note:?} should name {label}");
            assert!(note.message.contains("deleted externally"), "{note:?}");
        }
        let created: Vec<&str> = step
            .events
            .iter()
            .filter(|e| e.reason == reasons::CREATED)
            .map(|e| e.message.as_str())
            .collect();
        let expected_created: Vec<String> = deleted
            .iter()
            .map(|child| format!("Created {} {}", child.kind(), child.name(TEST)))
            .collect();
        assert_eq!(created, expected_created, "{deleted:?}");
        assert_eq!(step.events.len(), 2 * deleted.len(), "{deleted:?}: {:#?}", step.events);
    }
}

#[test]
fn a_recovered_test_runs_again_without_a_second_started_event() {
    let running = running_status();
    let recovering = Seen::running(3)
        .recreated(&[Child::WorkerJob])
        .derive(&running, at(60))
        .status;
    let step = Seen::running(3).derive(&recovering, at(70));

    assert_eq!(step.status.phase, Some(Phase::Running));
    assert_eq!(step.status.start_time, Some(time(10)), "the test started once, at t=10");
    assert!(
        !event_reasons(&step.events).contains(&reasons::TEST_STARTED),
        "{:#?}",
        step.events
    );
    assert_eq!(
        state_of(&step.status, conditions::READY),
        pair("True", ready::RESOURCES_CREATED)
    );
    assert_eq!(
        condition(&step.status, conditions::READY).last_transition_time,
        time(70)
    );
}

#[test]
fn a_child_created_late_while_pending_is_no_recovery() {
    // Only a test that was running lost something; a pending one is still being set up.
    let step = Seen::idle()
        .recreated(&[Child::WorkerJob])
        .derive(&pending_status(), at(5));
    assert_eq!(event_reasons(&step.events), [reasons::CREATED]);
    assert_eq!(step.status.phase, Some(Phase::Pending));
}

// ---------------------------------------------------------------------------------------------
// No reconcile loop: nothing changes when nothing changed

#[test]
fn deriving_again_from_the_same_observation_changes_nothing_and_records_nothing() {
    let steady_states = [
        ("pending, no pods", pending_status(), Seen::idle()),
        (
            "pending, in grace",
            pending_status(),
            Seen::idle().health(pods_in_grace(90)),
        ),
        ("running, all connected", running_status(), Seen::running(3)),
        ("running, workers missing", running_status(), Seen::running(1)),
        (
            "running, master counts",
            running_status(),
            Seen::running(3).master_reports_connected(2),
        ),
        (
            "running, spec drifted",
            running_status(),
            Seen::running(3).drifted(true).generation(2),
        ),
        (
            "running, in grace",
            running_status(),
            Seen::running(3).health(pods_in_grace(30)),
        ),
    ];
    for (case, previous, seen) in steady_states {
        let first = seen.derive(&previous, at(100));
        let second = seen.derive(&first.status, at(200));
        assert_eq!(second.status, first.status, "{case}: a second pass must write nothing");
        assert!(second.events.is_empty(), "{case}: {:#?}", second.events);
        let third = seen.derive(&second.status, at(5_000));
        assert_eq!(third.status, first.status, "{case}: time passing alone changes nothing");
        assert!(third.events.is_empty(), "{case}");
    }
}

#[test]
fn the_started_event_is_recorded_once_however_often_the_test_is_reconciled() {
    let mut previous = pending_status();
    let mut started = 0;
    for second in 10..30 {
        let step = Seen::running(3).derive(&previous, at(second));
        started += step.events.iter().filter(|e| e.reason == reasons::TEST_STARTED).count();
        previous = step.status;
    }
    assert_eq!(started, 1);
    assert_eq!(previous.start_time, Some(time(10)));
}

// ---------------------------------------------------------------------------------------------
// Conditions: lastTransitionTime moves on real transitions only

#[test]
fn last_transition_time_moves_only_when_a_condition_flips() {
    // (connected before, connected after, flips): 3 workers expected.
    let cases = [
        (1, 2, false),
        (2, 3, true),
        (3, 2, true),
        (0, 1, false),
        (3, 3, false),
        (3, 4, false),
        (0, 3, true),
    ];
    for (before, after, flips) in cases {
        let earlier = Seen::running(before).derive(&running_status(), at(100)).status;
        let transition_before = condition(&earlier, conditions::WORKERS_CONNECTED)
            .last_transition_time
            .clone();
        let step = Seen::running(after).derive(&earlier, at(200));
        let now = condition(&step.status, conditions::WORKERS_CONNECTED);
        assert_eq!(now.message, format!("{after}/3 workers connected"), "{before}->{after}");
        if flips {
            assert_eq!(now.last_transition_time, time(200), "{before}->{after} is a transition");
        } else {
            assert_eq!(
                now.last_transition_time, transition_before,
                "{before}->{after} only changes the message"
            );
        }
        for other in [conditions::READY, conditions::TEST_COMPLETED, conditions::PODS_HEALTHY] {
            assert_eq!(
                condition(&step.status, other).last_transition_time,
                condition(&earlier, other).last_transition_time,
                "{before}->{after}: {other} did not flip"
            );
        }
        assert!(step.events.is_empty(), "{before}->{after}: {:#?}", step.events);
    }
}

#[test]
fn a_reason_change_without_a_status_change_keeps_the_transition_time() {
    // PodsStarting -> PodsHealthy are both True; WaitingForWorkers -> WorkersMissing both False.
    let pending = Seen::idle()
        .health(pods_in_grace(100))
        .derive(&pending_status(), at(20))
        .status;
    let step = Seen::running(1).derive(&pending, at(200));
    let pods = condition(&step.status, conditions::PODS_HEALTHY);
    assert_eq!(
        (pods.status.as_str(), pods.reason.as_str()),
        ("True", health_reason::PODS_HEALTHY)
    );
    assert_eq!(pods.last_transition_time, time(0));
    let connected = condition(&step.status, conditions::WORKERS_CONNECTED);
    assert_eq!(
        (connected.status.as_str(), connected.reason.as_str()),
        ("False", workers::WORKERS_MISSING)
    );
    assert_eq!(connected.last_transition_time, time(0));
}

#[test]
fn workers_connected_reason_and_message_follow_the_counts() {
    // (phase context, active workers, expected, status, reason)
    let cases = [
        ("pending", 0, 3, "False", workers::WAITING_FOR_WORKERS),
        ("pending", 2, 3, "False", workers::WORKERS_MISSING),
        ("pending", 3, 3, "True", workers::ALL_WORKERS_CONNECTED),
        ("running", 0, 3, "False", workers::WORKERS_MISSING),
        ("running", 1, 3, "False", workers::WORKERS_MISSING),
        ("running", 3, 3, "True", workers::ALL_WORKERS_CONNECTED),
        ("running", 1, 1, "True", workers::ALL_WORKERS_CONNECTED),
        ("running", 10, 50, "False", workers::WORKERS_MISSING),
    ];
    for (context, active, expected, truth, reason) in cases {
        let (previous, seen) = match context {
            "pending" => (pending_status(), Seen::idle().workers_active(active)),
            _ => (running_status(), Seen::running(active)),
        };
        let step = seen.expected(expected).derive(&previous, at(50));
        let found = condition(&step.status, conditions::WORKERS_CONNECTED);
        let case = format!("{context} {active}/{expected}");
        assert_eq!(
            (found.status.as_str(), found.reason.as_str()),
            (truth, reason),
            "{case}"
        );
        assert_eq!(
            found.message,
            format!("{active}/{expected} workers connected"),
            "{case}"
        );
        assert_eq!(step.status.connected_workers, Some(active), "{case}");
        assert_eq!(step.status.expected_workers, Some(expected), "{case}");
    }
}

#[test]
fn the_masters_worker_count_beats_the_worker_jobs_active_pods() {
    // Pods can be active long before their Locust process has connected.
    let step = Seen::running(3)
        .master_reports_connected(1)
        .derive(&running_status(), at(50));
    assert_eq!(step.status.connected_workers, Some(1));
    let found = condition(&step.status, conditions::WORKERS_CONNECTED);
    assert_eq!(
        (found.status.as_str(), found.reason.as_str()),
        ("False", workers::WORKERS_MISSING)
    );
    assert_eq!(found.message, "1/3 workers connected");

    let without_worker_job = Seen {
        worker_job: None,
        ..Seen::running(0)
    }
    .master_reports_connected(3)
    .derive(&running_status(), at(50));
    assert_eq!(without_worker_job.status.connected_workers, Some(3));
    assert_eq!(
        state_of(&without_worker_job.status, conditions::WORKERS_CONNECTED),
        pair("True", workers::ALL_WORKERS_CONNECTED)
    );
}

#[test]
fn a_missing_worker_job_counts_as_no_connected_workers() {
    let seen = Seen {
        worker_job: None,
        ..Seen::running(0)
    };
    let step = seen.derive(&running_status(), at(50));
    assert_eq!(step.status.connected_workers, Some(0));
    assert_eq!(
        condition(&step.status, conditions::WORKERS_CONNECTED).message,
        "0/3 workers connected"
    );
}

// ---------------------------------------------------------------------------------------------
// Pod health

#[test]
fn inside_the_grace_period_pods_are_starting_and_the_operator_looks_again_when_it_ends() {
    for (case, previous, seen) in [
        ("pending", pending_status(), Seen::idle()),
        ("running", running_status(), Seen::running(3)),
    ] {
        let expected_phase = previous.phase;
        let step = seen.health(pods_in_grace(75)).derive(&previous, at(45));
        assert_eq!(step.status.phase, expected_phase, "{case}");
        assert_eq!(
            state_of(&step.status, conditions::PODS_HEALTHY),
            pair("True", health_reason::PODS_STARTING),
            "{case}"
        );
        assert_eq!(step.requeue_after, Some(Duration::from_secs(75)), "{case}");
        assert!(
            !event_reasons(&step.events).contains(&reasons::POD_FAILURE),
            "{case}: {:#?}",
            step.events
        );
    }
}

#[test]
fn every_health_failure_after_the_grace_period_fails_the_test() {
    let failures = [
        health_reason::IMAGE_PULL_ERROR,
        health_reason::CONFIGURATION_ERROR,
        health_reason::SCHEDULING_ERROR,
        health_reason::CRASH_LOOP_BACK_OFF,
        health_reason::INITIALIZATION_ERROR,
    ];
    for reason in failures {
        for (context, previous, seen) in [
            ("pending", pending_status(), Seen::idle()),
            ("running", running_status(), Seen::running(3)),
        ] {
            let case = format!("{reason} while {context}");
            let unhealthy = pods_failing(reason);
            let step = seen.health(unhealthy.clone()).derive(&previous, at(200));

            assert_eq!(step.status.phase, Some(Phase::Failed), "{case}");
            assert_eq!(step.status.completion_time, Some(time(200)), "{case}");
            let pods = condition(&step.status, conditions::PODS_HEALTHY);
            assert_eq!(
                (pods.status.as_str(), pods.reason.as_str()),
                ("False", reason),
                "{case}"
            );
            assert_eq!(pods.message, unhealthy.message, "{case}");
            assert_eq!(pods.last_transition_time, time(200), "{case}");
            let ready_condition = condition(&step.status, conditions::READY);
            assert_eq!(
                (ready_condition.status.as_str(), ready_condition.reason.as_str()),
                ("False", ready::RESOURCES_FAILED),
                "{case}"
            );
            assert!(ready_condition.message.contains(reason), "{case}: {ready_condition:?}");
            assert_eq!(
                state_of(&step.status, conditions::TEST_COMPLETED),
                pair("True", completed::TEST_FAILED),
                "{case}"
            );

            let mut recorded = event_reasons(&step.events);
            recorded.sort_unstable();
            assert_eq!(recorded, [reasons::POD_FAILURE, reasons::TEST_FAILED], "{case}");
            let pod_failure = event(&step.events, reasons::POD_FAILURE);
            assert_eq!(pod_failure.type_, EventType::Warning, "{case}");
            assert_eq!(pod_failure.message, unhealthy.message, "{case}");
            assert!(
                event(&step.events, reasons::TEST_FAILED)
                    .message
                    .contains(&unhealthy.message),
                "{case}"
            );
            assert_eq!(step.requeue_after, None, "{case}");
        }
    }
}

#[test]
fn a_pod_failure_is_recorded_once() {
    let mut previous = running_status();
    let mut pod_failures = 0;
    for second in [200, 210, 220, 600] {
        let step = Seen::running(3)
            .health(pods_failing(health_reason::IMAGE_PULL_ERROR))
            .derive(&previous, at(second));
        pod_failures += step.events.iter().filter(|e| e.reason == reasons::POD_FAILURE).count();
        previous = step.status;
    }
    assert_eq!(pod_failures, 1);
}

#[test]
fn the_masters_verdict_beats_pod_health() {
    // The master Job decided first: its outcome is the test's, whatever the pods show.
    let unhealthy = pods_failing(health_reason::CRASH_LOOP_BACK_OFF);
    let succeeded = Seen::running(0)
        .master(job_complete())
        .health(unhealthy.clone())
        .derive(&running_status(), at(300));
    assert_eq!(succeeded.status.phase, Some(Phase::Succeeded));
    assert_eq!(
        state_of(&succeeded.status, conditions::TEST_COMPLETED),
        pair("True", completed::TEST_SUCCEEDED)
    );

    let failed = Seen::running(0)
        .master(job_failed(
            "DeadlineExceeded",
            "Job was active longer than specified deadline",
        ))
        .health(unhealthy)
        .derive(&running_status(), at(300));
    assert_eq!(failed.status.phase, Some(Phase::Failed));
    assert!(
        condition(&failed.status, conditions::READY)
            .message
            .contains("Job was active longer than specified deadline")
    );
}

#[test]
fn health_found_by_the_classifier_fails_a_running_test() {
    use k8s_openapi::api::core::v1::{ContainerState, ContainerStateWaiting, ContainerStatus, Pod, PodStatus};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    let pod = Pod {
        metadata: ObjectMeta {
            name: Some("demo-worker-x7k2p".into()),
            labels: Some(shared::naming::selector_labels(TEST, shared::naming::Role::Worker)),
            creation_timestamp: Some(time(0)),
            ..ObjectMeta::default()
        },
        status: Some(PodStatus {
            container_statuses: Some(vec![ContainerStatus {
                name: "demo-worker".into(),
                state: Some(ContainerState {
                    waiting: Some(ContainerStateWaiting {
                        reason: Some("ImagePullBackOff".into()),
                        message: Some("Back-off pulling image \"locustio/locust:9.9.9\"".into()),
                    }),
                    ..ContainerState::default()
                }),
                ..ContainerStatus::default()
            }]),
            ..PodStatus::default()
        }),
        ..Pod::default()
    };
    let grace = shared::health::DEFAULT_GRACE_PERIOD;
    let early = shared::health::classify(std::slice::from_ref(&pod), &[], at(60), grace, false);
    let step = Seen::running(2).health(early).derive(&running_status(), at(60));
    assert_eq!(step.status.phase, Some(Phase::Running));
    assert_eq!(step.requeue_after, Some(Duration::from_secs(60)));

    let late = shared::health::classify(&[pod], &[], at(120), grace, false);
    let step = Seen::running(2).health(late).derive(&step.status, at(120));
    assert_eq!(step.status.phase, Some(Phase::Failed));
    assert_eq!(
        state_of(&step.status, conditions::PODS_HEALTHY),
        pair("False", health_reason::IMAGE_PULL_ERROR)
    );
    assert!(
        condition(&step.status, conditions::PODS_HEALTHY)
            .message
            .contains("demo-worker-x7k2p")
    );
}

// ---------------------------------------------------------------------------------------------
// Immutability: SpecDrifted and observedGeneration

#[test]
fn an_edited_spec_is_flagged_and_the_flag_clears_when_the_edit_is_reverted() {
    for (case, previous, seen) in [
        ("pending", pending_status(), Seen::idle()),
        ("running", running_status(), Seen::running(3)),
    ] {
        let drifted = seen.clone().drifted(true).generation(2).derive(&previous, at(100));
        let flag = condition(&drifted.status, conditions::SPEC_DRIFTED);
        assert_eq!(
            (flag.status.as_str(), flag.reason.as_str()),
            ("True", drift::SPEC_CHANGE_IGNORED),
            "{case}"
        );
        assert!(flag.message.contains("ignored"), "{case}: {flag:?}");
        assert!(flag.message.contains("Delete and recreate"), "{case}: {flag:?}");
        assert_eq!(flag.last_transition_time, time(100), "{case}");
        assert_eq!(flag.observed_generation, Some(2), "{case}");
        assert_eq!(
            drifted.status.phase, previous.phase,
            "{case}: the edit changes nothing else"
        );

        let still = seen
            .clone()
            .drifted(true)
            .generation(3)
            .derive(&drifted.status, at(150));
        assert_eq!(
            condition(&still.status, conditions::SPEC_DRIFTED).last_transition_time,
            time(100),
            "{case}: a second edit is no new transition"
        );

        let reverted = seen.clone().drifted(false).generation(4).derive(&still.status, at(200));
        assert!(
            !has_condition(&reverted.status, conditions::SPEC_DRIFTED),
            "{case}: reverted spec, flag must go: {:#?}",
            reverted.status.conditions
        );
        assert_eq!(reverted.status.observed_generation, Some(4), "{case}");
    }
}

#[test]
fn an_edited_spec_records_no_events() {
    let step = Seen::running(3)
        .drifted(true)
        .generation(2)
        .derive(&running_status(), at(100));
    assert!(step.events.is_empty(), "{:#?}", step.events);
}

#[test]
fn a_test_that_finishes_while_drifted_drops_the_flag() {
    let drifted = Seen::running(3)
        .drifted(true)
        .generation(2)
        .derive(&running_status(), at(100))
        .status;
    assert!(has_condition(&drifted, conditions::SPEC_DRIFTED));
    let finished = Seen::running(0)
        .master(job_complete())
        .drifted(true)
        .generation(2)
        .derive(&drifted, at(300));
    assert_eq!(finished.status.phase, Some(Phase::Succeeded));
    assert!(!has_condition(&finished.status, conditions::SPEC_DRIFTED));
}

#[test]
fn observed_generation_follows_the_generation_on_every_live_pass() {
    let step = Seen::running(3)
        .drifted(true)
        .generation(7)
        .derive(&running_status(), at(100));
    assert_eq!(step.status.observed_generation, Some(7));
    assert_eq!(step.status.conditions.as_deref().map(<[Condition]>::len), Some(5));
    for found in step.status.conditions.iter().flatten() {
        assert_eq!(found.observed_generation, Some(7), "{}", found.type_);
    }
    // Only the generation moved: no condition transitioned.
    for type_ in [
        conditions::READY,
        conditions::WORKERS_CONNECTED,
        conditions::TEST_COMPLETED,
        conditions::PODS_HEALTHY,
    ] {
        assert_eq!(
            condition(&step.status, type_).last_transition_time,
            condition(&running_status(), type_).last_transition_time,
            "{type_}"
        );
    }
}

#[test]
fn an_ignored_replicas_edit_does_not_change_the_expected_workers() {
    // The worker Job still runs 3 pods; the edit to 5 is ignored, so 3/3 is still complete.
    let step = Seen::running(3)
        .expected(5)
        .drifted(true)
        .generation(2)
        .derive(&running_status(), at(100));
    assert_eq!(step.status.expected_workers, Some(3));
    assert_eq!(
        state_of(&step.status, conditions::WORKERS_CONNECTED),
        pair("True", workers::ALL_WORKERS_CONNECTED)
    );
    assert_eq!(
        condition(&step.status, conditions::WORKERS_CONNECTED).message,
        "3/3 workers connected"
    );
}

#[test]
fn a_child_the_server_cannot_create_yet_is_shown_on_ready_with_one_event_until_it_is_created() {
    let words = "failed to allocate a serviceIP: range is full";
    let first = Seen::idle()
        .master_job_not_created(words)
        .derive(&LocustTestStatus::default(), at(0));
    assert_eq!(first.status.phase, Some(Phase::Pending), "retried, not failed");
    assert_eq!(
        state_of(&first.status, conditions::READY),
        pair("False", ready::RESOURCES_CREATING)
    );
    let message = &condition(&first.status, conditions::READY).message;
    assert!(
        message.contains("Job demo-master") && message.contains(words),
        "{message}"
    );
    let warning = event(&first.events, reasons::FAILED_CREATE);
    assert_eq!((warning.type_, &warning.message), (EventType::Warning, message));

    // The next failure alike: nothing new to say, nothing to write.
    let again = Seen::idle().master_job_not_created(words).derive(&first.status, at(5));
    assert_eq!(again.status, first.status);
    assert!(again.events.is_empty(), "{:?}", again.events);

    // Created at last: Ready says so and the failure is gone.
    let created = Seen {
        created: vec![Child::MasterJob, Child::WorkerJob],
        ..Seen::idle()
    }
    .derive(&again.status, at(10));
    assert_eq!(
        state_of(&created.status, conditions::READY),
        pair("True", ready::RESOURCES_CREATED)
    );
    assert!(!condition(&created.status, conditions::READY).message.contains(words));
    assert!(!event_reasons(&created.events).contains(&reasons::FAILED_CREATE));
}

#[test]
fn an_unreadable_test_is_failed_with_the_problem_and_what_to_do() {
    let status = status::unreadable_status(Some(3), "missing field `master`", at(0));
    assert_eq!(status.phase, Some(Phase::Failed));
    assert_eq!(
        state_of(&status, conditions::READY),
        pair("False", ready::RESOURCES_FAILED)
    );
    let message = &condition(&status, conditions::READY).message;
    assert!(
        message.contains("missing field `master`") && message.contains("locust.io/v2"),
        "{message}"
    );
    assert_eq!(condition(&status, conditions::READY).observed_generation, Some(3));
}
