//! The real reconcile code driven through a real `kube::Client` against an in-memory API server:
//! what a user sees (children, status, events) and which API calls the operator makes, for every
//! stage of a test's life. No cluster, no sleeps: the pod grace period runs on a fake clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::Duration;

use crate::support::{FakeApi, ObjectKey, Operator, RecordedEvent, eventually, fake_api};
use http::Method;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::controller::Action;
use operator::cache::TestObject;
use operator::context::Context;
use operator::error::Error;
use operator::reconcile::error_policy;
use serde_json::{Value, json};
use shared::api::status::conditions::{self, completed, drift, health, ready, workers};
use shared::api::status::{LocustTestStatus, Phase};
use shared::api::v2::LocustTest;
use shared::build::ANNOTATION_SPEC_FINGERPRINT;
use shared::naming::{self, Role};

const NS: &str = "load";
const NAME: &str = "demo";
const MASTER: &str = "demo-master";
const WORKER: &str = "demo-worker";
const WORKERS: i32 = 3;
/// The operator's default: failures count only 2 minutes after the oldest pod was created.
const GRACE: Duration = Duration::from_secs(120);

/// A start time with a fraction of a second: the API server keeps whole seconds only, which must
/// not make the operator see a changed status on every pass.
fn start_time() -> Timestamp {
    "2025-03-01T10:00:00.250Z".parse().unwrap()
}

fn test_object(spec: Value) -> Value {
    json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": NAME, "namespace": NS },
        "spec": spec,
    })
}

fn valid_spec() -> Value {
    json!({
        "image": "locustio/locust:2.31.0",
        "master": { "command": "--locustfile /lotest/src/demo.py --host https://example.com" },
        "worker": { "command": "--locustfile /lotest/src/demo.py", "replicas": WORKERS },
        "testFiles": { "configMapRef": "demo-scripts" },
    })
}

/// One fake API server, one operator context, one LocustTest.
struct Harness {
    fake: FakeApi,
    operator: Operator,
}

impl Harness {
    fn with_spec(spec: Value) -> Self {
        let fake = FakeApi::new(start_time());
        fake.insert(test_object(spec));
        let operator = Operator::default_for(&fake);
        Self { fake, operator }
    }

    fn new() -> Self {
        Self::with_spec(valid_spec())
    }

    fn ctx(&self) -> Arc<Context> {
        self.operator.ctx.clone()
    }

    /// The test as the watch would deliver it now.
    fn delivered(&self) -> Arc<TestObject> {
        self.operator.delivered(NS, NAME)
    }

    async fn reconcile(&self) -> Result<Action, Error> {
        self.operator.reconcile(NS, NAME).await
    }

    async fn reconcile_ok(&self) -> Action {
        match self.reconcile().await {
            Ok(action) => action,
            Err(error) => panic!("reconcile failed: {error}"),
        }
    }

    fn status(&self) -> LocustTestStatus {
        let stored = self
            .fake
            .get_dynamic::<LocustTest>(NS, NAME)
            .expect("the LocustTest exists");
        stored
            .data
            .get("status")
            .map(|s| serde_json::from_value(s.clone()).expect("status decodes"))
            .unwrap_or_default()
    }

    fn phase(&self) -> Option<Phase> {
        self.status().phase
    }

    fn condition(&self, type_: &str) -> Condition {
        self.status()
            .conditions
            .unwrap_or_default()
            .into_iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} condition in {:#?}", self.status()))
    }

    fn has_condition(&self, type_: &str) -> bool {
        self.status()
            .conditions
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == type_)
    }

    fn events(&self) -> Vec<RecordedEvent> {
        self.fake.events(NS)
    }

    fn event_reasons(&self) -> Vec<String> {
        self.events().into_iter().map(|e| e.reason).collect()
    }

    fn event(&self, reason: &str) -> RecordedEvent {
        self.events()
            .into_iter()
            .find(|e| e.reason == reason)
            .unwrap_or_else(|| panic!("no {reason} event in {:#?}", self.events()))
    }

    fn set_master_job(&self, status: Value) {
        self.fake.set_status::<Job>(NS, MASTER, status);
    }

    fn set_worker_job(&self, status: Value) {
        self.fake.set_status::<Job>(NS, WORKER, status);
    }

    fn add_pod(&self, name: &str, role: Role, status: Value) {
        self.fake
            .add_pod(NS, name, &naming::pod_labels(NAME, role, None), status);
    }

    /// Runs one reconcile and asserts it changed nothing: no write of any kind (status, children,
    /// events) and the same stored status and events as before.
    async fn assert_quiet_rerun(&self) -> Action {
        let status_before = self.status();
        let events_before = self.events();
        self.fake.clear_requests();
        let action = self.reconcile_ok().await;
        let writes: Vec<String> = self.fake.writes().iter().map(|r| r.summary()).collect();
        assert!(writes.is_empty(), "an identical reconcile wrote: {writes:?}");
        assert_eq!(self.status(), status_before);
        assert_eq!(
            self.events(),
            events_before,
            "an identical reconcile must not repeat events"
        );
        action
    }

    /// Brings the test to Running: children created, master pod active.
    async fn running(&self) {
        self.reconcile_ok().await;
        self.set_master_job(json!({ "active": 1 }));
        self.reconcile_ok().await;
        assert_eq!(self.phase(), Some(Phase::Running));
    }
}

/// The requeue delay of `action`; `None` for "wait for a change".
fn requeue_after(action: &Action) -> Option<Duration> {
    (0..=3600)
        .map(Duration::from_secs)
        .find(|delay| *action == Action::requeue(*delay))
}

fn complete() -> Value {
    json!({ "succeeded": 1, "conditions": [{ "type": "Complete", "status": "True" }] })
}

// ---- creation ----

#[tokio::test]
async fn first_reconcile_creates_the_service_and_both_jobs_owned_by_the_test() {
    let h = Harness::new();
    let action = h.reconcile_ok().await;

    let test_uid = h.fake.get::<LocustTest>(NS, NAME).unwrap().metadata.uid.unwrap();
    let service = h.fake.get::<Service>(NS, MASTER).expect("master Service created");
    let master = h.fake.get::<Job>(NS, MASTER).expect("master Job created");
    let worker = h.fake.get::<Job>(NS, WORKER).expect("worker Job created");
    for meta in [&service.metadata, &master.metadata, &worker.metadata] {
        let owners = meta.owner_references.clone().unwrap_or_default();
        assert_eq!(owners.len(), 1, "{:?} has one owner", meta.name);
        assert_eq!(owners[0].kind, "LocustTest");
        assert_eq!(owners[0].api_version, "locust.io/v2");
        assert_eq!(owners[0].name, NAME);
        assert_eq!(owners[0].uid, test_uid);
        assert_eq!(owners[0].controller, Some(true));
        assert!(
            meta.annotations
                .as_ref()
                .is_some_and(|a| a.contains_key(ANNOTATION_SPEC_FINGERPRINT))
        );
    }
    assert_eq!(worker.spec.as_ref().and_then(|s| s.parallelism), Some(WORKERS));
    assert_eq!(master.spec.as_ref().and_then(|s| s.parallelism), Some(1));
    assert_eq!(h.fake.names::<Job>(NS), [MASTER, WORKER]);

    let creates: Vec<String> = h
        .fake
        .requests()
        .iter()
        .filter(|r| r.method == Method::POST && !r.path.contains("events"))
        .map(|r| {
            format!(
                "{} {}",
                r.path,
                r.body.as_ref().unwrap()["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        creates,
        [
            "/api/v1/namespaces/load/services demo-master",
            "/apis/batch/v1/namespaces/load/jobs demo-master",
            "/apis/batch/v1/namespaces/load/jobs demo-worker",
        ]
    );
    assert!(
        h.fake
            .requests_matching("POST", "/jobs")
            .iter()
            .all(|r| r.query_param("fieldManager") == Some("locust-operator")),
        "creations carry the operator's field manager"
    );

    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Pending));
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.expected_workers, Some(WORKERS));
    assert_eq!(status.connected_workers, Some(0));
    assert_eq!(status.start_time, None);
    let ready_condition = h.condition(conditions::READY);
    assert_eq!(
        (ready_condition.status.as_str(), ready_condition.reason.as_str()),
        ("True", ready::RESOURCES_CREATED)
    );
    let workers_condition = h.condition(conditions::WORKERS_CONNECTED);
    assert_eq!(
        (workers_condition.status.as_str(), workers_condition.reason.as_str()),
        ("False", workers::WAITING_FOR_WORKERS)
    );
    assert_eq!(workers_condition.message, "0/3 workers connected");
    assert_eq!(
        h.condition(conditions::TEST_COMPLETED).reason,
        completed::TEST_IN_PROGRESS
    );
    assert_eq!(h.condition(conditions::PODS_HEALTHY).reason, health::PODS_STARTING);
    assert!(!h.has_condition(conditions::SPEC_DRIFTED));
    assert_eq!(h.fake.status_patches().len(), 1, "one status write per pass");

    assert!(
        h.event_reasons().iter().all(|r| r == "Created"),
        "only Created events: {:?}",
        h.events()
    );
    assert_eq!(requeue_after(&action), None, "no pods yet: nothing to time");
}

#[tokio::test]
async fn each_created_child_gets_its_own_created_event() {
    let h = Harness::new();
    h.reconcile_ok().await;
    let notes: Vec<String> = h
        .events()
        .into_iter()
        .filter(|e| e.reason == "Created")
        .map(|e| e.note)
        .collect();
    for child in ["Service demo-master", "Job demo-master", "Job demo-worker"] {
        assert!(
            notes.iter().any(|note| note.contains(child)),
            "no Created event naming {child}: {notes:?}"
        );
    }
}

#[tokio::test]
async fn an_identical_second_reconcile_makes_no_writes_and_repeats_no_events() {
    let h = Harness::new();
    h.reconcile_ok().await;
    let action = h.assert_quiet_rerun().await;
    assert_eq!(requeue_after(&action), None);
    assert_eq!(h.fake.names::<Job>(NS).len(), 2);
    // Reads only: the three children, the pods.
    let reads: Vec<String> = h.fake.requests().iter().map(|r| r.summary()).collect();
    assert!(reads.iter().all(|r| r.starts_with("GET ")), "{reads:?}");

    h.set_master_job(json!({ "active": 1 }));
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Running));
    h.assert_quiet_rerun().await;
}

#[tokio::test]
async fn a_child_that_appears_between_read_and_create_is_not_duplicated() {
    let h = Harness::new();
    h.reconcile_ok().await;
    let worker_uid = h.fake.get::<Job>(NS, WORKER).unwrap().metadata.uid;
    let events_before = h.events();
    // Another replica (or this one restarted) whose cache has not seen the worker Job yet.
    let other = Operator::default_for(&h.fake);
    other.observe_hiding_job(WORKER);
    h.fake.clear_requests();

    other.reconcile_cached(NS, NAME).await.expect("reconcile");

    assert_eq!(
        h.fake.requests_matching("POST", "/jobs").len(),
        1,
        "the create was attempted and refused"
    );
    assert_eq!(h.fake.names::<Job>(NS), [MASTER, WORKER]);
    assert_eq!(
        h.fake.get::<Job>(NS, WORKER).unwrap().metadata.uid,
        worker_uid,
        "the existing Job is kept"
    );
    assert_eq!(h.events(), events_before, "an AlreadyExists is not a creation");
    assert_eq!(h.phase(), Some(Phase::Pending));
    assert_eq!(h.condition(conditions::READY).status, "True");
}

#[tokio::test]
async fn a_child_this_operator_created_is_not_created_again_while_the_watch_catches_up() {
    let h = Harness::new();
    h.reconcile_ok().await;
    // The test's status event arrives before the worker Job's: the cache lacks the Job.
    h.operator.observe_hiding_job(WORKER);
    h.fake.clear_requests();
    h.operator.reconcile_cached(NS, NAME).await.expect("reconcile");
    assert_eq!(
        h.fake.requests_matching("POST", "/jobs").len(),
        0,
        "no create of what it made"
    );
    assert!(h.fake.writes().is_empty(), "{:?}", h.fake.writes());
}

#[tokio::test]
async fn a_restart_mid_creation_completes_without_duplicates() {
    let h = Harness::new();
    // The first operator created the Service, then failed before the Jobs (and before any status).
    h.fake.fail_next("POST", "/jobs", 500);
    h.fake.fail_next("PATCH", "/status", 500);
    assert!(h.reconcile().await.is_err());
    assert!(h.fake.get::<Service>(NS, MASTER).is_some());
    assert!(h.fake.names::<Job>(NS).is_empty());
    assert_eq!(h.phase(), None, "nothing was written yet");

    // A new operator process: fresh context, same cluster.
    let restarted = Harness {
        fake: h.fake.clone(),
        operator: Operator::default_for(&h.fake),
    };
    h.fake.clear_requests();
    restarted.reconcile_ok().await;

    let creates: Vec<String> = h
        .fake
        .requests_matching("POST", "/namespaces/load/")
        .iter()
        .filter(|r| !r.path.contains("events"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(
        creates,
        [
            "/apis/batch/v1/namespaces/load/jobs",
            "/apis/batch/v1/namespaces/load/jobs"
        ]
    );
    assert_eq!(h.fake.names::<Service>(NS), [MASTER]);
    assert_eq!(h.fake.names::<Job>(NS), [MASTER, WORKER]);
    assert_eq!(restarted.phase(), Some(Phase::Pending));
    assert_eq!(restarted.condition(conditions::READY).reason, ready::RESOURCES_CREATED);
    restarted.assert_quiet_rerun().await;
}

// ---- phases ----

#[tokio::test]
async fn a_test_stopped_on_request_succeeds_with_test_stopped_naming_who_and_when() {
    let h = Harness::new();
    h.reconcile_ok().await;
    h.set_master_job(json!({ "active": 1 }));
    h.reconcile_ok().await;
    // What `kubectl locust stop` records before it asks the master to stop.
    h.fake.update::<LocustTest>(NS, NAME, |test| {
        test["metadata"]["annotations"] =
            json!({ "locust.io/stop-requested": "2025-03-01T10:02:00Z kubernetes-admin" });
    });
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Running), "stopping is not stopped");

    h.set_master_job(complete());
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Succeeded));
    let completed = h.condition(conditions::TEST_COMPLETED);
    let message =
        "Stopped on request by kubernetes-admin at 2025-03-01T10:02:00Z; Locust ended the run and kept its results";
    assert_eq!(
        (completed.reason.as_str(), completed.message.as_str()),
        (completed::TEST_STOPPED, message)
    );
    let event = h.event("TestStopped");
    assert_eq!((event.type_.as_str(), event.note.as_str()), ("Normal", message));
}

#[tokio::test]
async fn the_test_runs_when_the_master_job_is_active_and_succeeds_when_it_completes() {
    let h = Harness::new();
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Pending));

    h.fake.advance(Duration::from_secs(5));
    let started_at = h.fake.now();
    h.set_master_job(json!({ "active": 1 }));
    h.reconcile_ok().await;
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Running));
    assert_eq!(status.start_time.map(|t| t.0.as_second()), Some(started_at.as_second()));
    assert_eq!(status.completion_time, None);
    let test_completed = h.condition(conditions::TEST_COMPLETED);
    assert_eq!(
        (test_completed.status.as_str(), test_completed.message.as_str()),
        ("False", "Test is running")
    );
    assert_eq!(h.event("TestStarted").type_, "Normal");
    h.assert_quiet_rerun().await;

    h.fake.advance(Duration::from_secs(300));
    let finished_at = h.fake.now();
    h.set_master_job(complete());
    let action = h.reconcile_ok().await;
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Succeeded));
    assert_eq!(
        status.start_time.map(|t| t.0.as_second()),
        Some(started_at.as_second()),
        "start time is kept"
    );
    assert_eq!(
        status.completion_time.map(|t| t.0.as_second()),
        Some(finished_at.as_second())
    );
    let test_completed = h.condition(conditions::TEST_COMPLETED);
    assert_eq!(
        (test_completed.status.as_str(), test_completed.reason.as_str()),
        ("True", completed::TEST_SUCCEEDED)
    );
    assert_eq!(h.event("TestCompleted").type_, "Normal");
    assert_eq!(action, Action::await_change());
    assert_eq!(h.event_reasons().iter().filter(|r| *r == "TestStarted").count(), 1);

    // Finished: the next pass reads nothing and writes nothing.
    h.fake.clear_requests();
    assert_eq!(h.reconcile_ok().await, Action::await_change());
    assert!(h.fake.requests().is_empty(), "{:?}", h.fake.requests());
}

#[tokio::test]
async fn a_failed_master_job_fails_the_test_with_the_jobs_message() {
    let h = Harness::new();
    h.running().await;
    h.set_master_job(json!({
        "failed": 1,
        "conditions": [{ "type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                         "message": "Job has reached the specified backoff limit" }],
    }));
    h.reconcile_ok().await;

    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Failed));
    assert!(status.completion_time.is_some());
    let test_completed = h.condition(conditions::TEST_COMPLETED);
    assert_eq!(
        (test_completed.status.as_str(), test_completed.reason.as_str()),
        ("True", completed::TEST_FAILED)
    );
    assert!(
        test_completed
            .message
            .contains("Job has reached the specified backoff limit"),
        "{}",
        test_completed.message
    );
    let ready_condition = h.condition(conditions::READY);
    assert_eq!(
        (ready_condition.status.as_str(), ready_condition.reason.as_str()),
        ("False", ready::RESOURCES_FAILED)
    );
    let failed = h.event("TestFailed");
    assert_eq!(failed.type_, "Warning");
    assert!(
        failed.note.contains("Job has reached the specified backoff limit"),
        "{}",
        failed.note
    );
    h.assert_quiet_rerun().await;
}

#[tokio::test]
async fn active_worker_pods_drive_connected_workers() {
    let h = Harness::new();
    h.running().await;
    h.set_worker_job(json!({ "active": 1 }));
    h.reconcile_ok().await;
    let status = h.status();
    assert_eq!(status.connected_workers, Some(1));
    let condition = h.condition(conditions::WORKERS_CONNECTED);
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        ("False", workers::WORKERS_MISSING)
    );
    assert_eq!(condition.message, "1/3 workers connected");

    h.set_worker_job(json!({ "active": WORKERS }));
    h.reconcile_ok().await;
    assert_eq!(h.status().connected_workers, Some(WORKERS));
    let condition = h.condition(conditions::WORKERS_CONNECTED);
    assert_eq!(
        (condition.status.as_str(), condition.reason.as_str()),
        ("True", workers::ALL_WORKERS_CONNECTED)
    );
    assert_eq!(condition.message, "3/3 workers connected");
    h.assert_quiet_rerun().await;
}

// ---- pod health ----

struct HealthCase {
    what: &'static str,
    role: Role,
    pod_status: Value,
    /// A core/v1 Event the kubelet recorded about the pod.
    kubelet_event: Option<(&'static str, &'static str)>,
    reason: &'static str,
    message_names: &'static str,
}

fn waiting(reason: &str, message: &str) -> Value {
    json!({ "phase": "Pending", "containerStatuses": [{
        "name": "demo-worker", "image": "locustio/locust:2.31.0", "imageID": "", "ready": false, "restartCount": 0,
        "state": { "waiting": { "reason": reason, "message": message } },
    }]})
}

fn health_cases() -> Vec<HealthCase> {
    vec![
        HealthCase {
            what: "image pull back-off",
            role: Role::Worker,
            pod_status: waiting("ImagePullBackOff", "Back-off pulling image \"locustio/locust:nope\""),
            kubelet_event: None,
            reason: health::IMAGE_PULL_ERROR,
            message_names: "locustio/locust:nope",
        },
        HealthCase {
            what: "missing ConfigMap in env",
            role: Role::Master,
            pod_status: waiting("CreateContainerConfigError", "configmap \"demo-settings\" not found"),
            kubelet_event: None,
            reason: health::CONFIGURATION_ERROR,
            message_names: "ConfigMap \"demo-settings\" not found",
        },
        HealthCase {
            what: "unschedulable",
            role: Role::Worker,
            pod_status: json!({ "phase": "Pending", "conditions": [{
                "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient cpu.",
            }]}),
            kubelet_event: None,
            reason: health::SCHEDULING_ERROR,
            message_names: "Insufficient cpu",
        },
        HealthCase {
            what: "crash loop",
            role: Role::Master,
            pod_status: json!({ "phase": "Running", "containerStatuses": [{
                "name": "demo-master", "image": "locustio/locust:2.31.0", "imageID": "", "ready": false, "restartCount": 4,
                "state": { "waiting": { "reason": "CrashLoopBackOff", "message": "back-off 1m20s restarting failed container" } },
            }]}),
            kubelet_event: None,
            reason: health::CRASH_LOOP_BACK_OFF,
            message_names: "demo-master",
        },
        HealthCase {
            what: "out of memory",
            role: Role::Worker,
            pod_status: json!({ "phase": "Failed", "containerStatuses": [{
                "name": "demo-worker", "image": "locustio/locust:2.31.0", "imageID": "", "ready": false, "restartCount": 0,
                "state": { "terminated": { "reason": "OOMKilled", "exitCode": 137 } },
            }]}),
            kubelet_event: None,
            reason: health::CRASH_LOOP_BACK_OFF,
            message_names: "exited with code 137: OOMKilled",
        },
        HealthCase {
            what: "init container failure",
            role: Role::Worker,
            pod_status: json!({ "phase": "Failed", "initContainerStatuses": [{
                "name": "wait-for-master", "image": "busybox", "imageID": "", "ready": false, "restartCount": 0,
                "state": { "terminated": { "reason": "Error", "exitCode": 1 } },
            }]}),
            kubelet_event: None,
            reason: health::INITIALIZATION_ERROR,
            message_names: "wait-for-master",
        },
        HealthCase {
            what: "volume mount of a missing ConfigMap",
            role: Role::Master,
            pod_status: waiting("ContainerCreating", ""),
            kubelet_event: Some((
                "FailedMount",
                "MountVolume.SetUp failed for volume \"demo-master\" : configmap \"demo-scripts\" not found",
            )),
            reason: health::CONFIGURATION_ERROR,
            message_names: "ConfigMap \"demo-scripts\" not found",
        },
    ]
}

fn kubelet_event(fake: &FakeApi, pod: &str, reason: &str, message: &str) {
    fake.insert(json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": { "name": format!("{pod}.17a2b3c4d5e6f708"), "namespace": NS },
        "involvedObject": { "kind": "Pod", "name": pod, "namespace": NS, "apiVersion": "v1" },
        "reason": reason,
        "message": message,
        "type": "Warning",
        "source": { "component": "kubelet" },
    }));
}

#[tokio::test]
async fn each_pod_failure_fails_the_test_after_the_grace_period_and_not_inside_it() {
    for case in health_cases() {
        let what = case.what;
        let h = Harness::new();
        h.reconcile_ok().await;
        let pod = format!("{}-x7k2p", naming::child_name(NAME, case.role));
        h.add_pod(&pod, case.role, case.pod_status.clone());
        if let Some((reason, message)) = case.kubelet_event {
            kubelet_event(&h.fake, &pod, reason, message);
        }

        // Inside the grace period: nothing is reported, and the operator comes back when it ends.
        h.fake.advance(Duration::from_secs(60));
        let action = h.reconcile_ok().await;
        assert_eq!(h.phase(), Some(Phase::Pending), "{what}: inside the grace period");
        let pods_healthy = h.condition(conditions::PODS_HEALTHY);
        assert_eq!(
            (pods_healthy.status.as_str(), pods_healthy.reason.as_str()),
            ("True", health::PODS_STARTING),
            "{what}"
        );
        let delay = requeue_after(&action).unwrap_or_else(|| panic!("{what}: expected a requeue, got {action:?}"));
        assert!(
            delay > Duration::from_secs(55) && delay <= Duration::from_secs(60),
            "{what}: requeue after {delay:?}"
        );
        assert!(
            !h.event_reasons().iter().any(|r| r == "PodFailure" || r == "TestFailed"),
            "{what}: {:?}",
            h.events()
        );
        assert!(
            h.fake
                .requests_matching("GET", "/api/v1/namespaces/load/events")
                .is_empty(),
            "{what}: kubelet events are read only after the grace period"
        );

        // After it: the test fails with the reason and a message naming the pod and the cause.
        h.fake.advance(Duration::from_secs(61));
        let action = h.reconcile_ok().await;
        let status = h.status();
        assert_eq!(status.phase, Some(Phase::Failed), "{what}");
        assert!(status.completion_time.is_some(), "{what}");
        let pods_healthy = h.condition(conditions::PODS_HEALTHY);
        assert_eq!(
            (pods_healthy.status.as_str(), pods_healthy.reason.as_str()),
            ("False", case.reason),
            "{what}"
        );
        assert!(pods_healthy.message.contains(&pod), "{what}: {}", pods_healthy.message);
        assert!(
            pods_healthy.message.contains(case.message_names),
            "{what}: {}",
            pods_healthy.message
        );
        let test_completed = h.condition(conditions::TEST_COMPLETED);
        assert_eq!(
            (test_completed.status.as_str(), test_completed.reason.as_str()),
            ("True", completed::TEST_FAILED),
            "{what}"
        );
        let pod_failure = h.event("PodFailure");
        assert_eq!(pod_failure.type_, "Warning", "{what}");
        assert!(
            pod_failure.note.contains(case.message_names),
            "{what}: {}",
            pod_failure.note
        );
        assert!(h.event("TestFailed").note.contains(case.message_names), "{what}");
        assert_eq!(action, Action::await_change(), "{what}: a failed test is final");
        h.assert_quiet_rerun().await;
    }
}

#[tokio::test]
async fn healthy_pods_past_the_grace_period_stop_the_requeue_and_report_healthy() {
    let h = Harness::new();
    h.running().await;
    h.add_pod(
        "demo-master-abcde",
        Role::Master,
        json!({ "phase": "Running", "containerStatuses": [{
            "name": "demo-master", "image": "locustio/locust:2.31.0", "imageID": "", "ready": true, "restartCount": 0,
            "state": { "running": {} },
        }]}),
    );
    h.fake.advance(GRACE + Duration::from_secs(1));
    let action = h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Running));
    let pods_healthy = h.condition(conditions::PODS_HEALTHY);
    assert_eq!(
        (pods_healthy.status.as_str(), pods_healthy.reason.as_str()),
        ("True", health::PODS_HEALTHY)
    );
    assert_eq!(action, Action::await_change());
}

#[tokio::test]
async fn workers_exiting_after_the_master_completed_do_not_fail_the_test() {
    let h = Harness::new();
    h.running().await;
    h.add_pod(
        "demo-worker-abcde",
        Role::Worker,
        json!({ "phase": "Failed", "containerStatuses": [{
            "name": "demo-worker", "image": "locustio/locust:2.31.0", "imageID": "", "ready": false, "restartCount": 0,
            "state": { "terminated": { "reason": "Error", "exitCode": 1 } },
        }]}),
    );
    h.fake.advance(GRACE + Duration::from_secs(1));
    h.set_master_job(complete());
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Succeeded));
    assert!(
        !h.event_reasons().iter().any(|r| r == "PodFailure" || r == "TestFailed"),
        "{:?}",
        h.events()
    );
}

#[tokio::test]
async fn a_worker_exiting_while_the_master_runs_fails_the_test() {
    let h = Harness::new();
    h.running().await;
    h.add_pod(
        "demo-worker-abcde",
        Role::Worker,
        json!({ "phase": "Failed", "containerStatuses": [{
            "name": "demo-worker", "image": "locustio/locust:2.31.0", "imageID": "", "ready": false, "restartCount": 0,
            "state": { "terminated": { "reason": "Error", "exitCode": 1 } },
        }]}),
    );
    h.fake.advance(GRACE + Duration::from_secs(1));
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Failed));
    assert_eq!(
        h.condition(conditions::PODS_HEALTHY).reason,
        health::CRASH_LOOP_BACK_OFF
    );
    assert!(h.event("PodFailure").note.contains("demo-worker-abcde"));
}

#[tokio::test]
async fn a_worker_that_just_exited_is_judged_after_a_short_wait_while_the_master_runs() {
    let h = Harness::new();
    h.running().await;
    // Past the grace period, the worker has just exited.
    let exit_time = GRACE + Duration::from_secs(1);
    let finished_at = (h.fake.now() + exit_time).to_string();
    h.add_pod(
        "demo-worker-abcde",
        Role::Worker,
        json!({ "phase": "Failed", "containerStatuses": [{
            "name": "demo-worker", "image": "locustio/locust:2.31.0", "imageID": "", "ready": false, "restartCount": 0,
            "state": { "terminated": { "reason": "Error", "exitCode": 1, "finishedAt": finished_at } },
        }]}),
    );
    h.fake.advance(exit_time);
    // The master may be quitting too (the end of a test): look again when the wait is over.
    let action = h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Running));
    assert_eq!(requeue_after(&action), Some(shared::health::WORKER_EXIT_SETTLE));

    h.fake.advance(shared::health::WORKER_EXIT_SETTLE);
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Failed));
    assert_eq!(
        h.condition(conditions::PODS_HEALTHY).reason,
        health::CRASH_LOOP_BACK_OFF
    );
}

// ---- deletion and recreation ----

#[tokio::test]
async fn a_worker_job_deleted_while_running_is_recreated() {
    let h = Harness::new();
    h.running().await;
    let old_uid = h.fake.get::<Job>(NS, WORKER).unwrap().metadata.uid;
    assert!(h.fake.delete::<Job>(NS, WORKER));
    h.fake.clear_requests();

    h.reconcile_ok().await;

    let creates: Vec<String> = h
        .fake
        .requests_matching("POST", "/jobs")
        .iter()
        .map(|r| {
            r.body.as_ref().unwrap()["metadata"]["name"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(creates, [WORKER], "only the deleted Job is recreated");
    assert_ne!(h.fake.get::<Job>(NS, WORKER).unwrap().metadata.uid, old_uid);
    assert_eq!(h.phase(), Some(Phase::Pending));
    let ready_condition = h.condition(conditions::READY);
    assert_eq!(
        (ready_condition.status.as_str(), ready_condition.reason.as_str()),
        ("False", ready::RESOURCES_CREATING)
    );
    let deleted = h.event("ResourceDeleted");
    assert_eq!(deleted.type_, "Warning");
    assert!(deleted.note.contains(WORKER), "{}", deleted.note);

    // The master is still active: the test is Running again, without a second TestStarted.
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Running));
    assert_eq!(h.condition(conditions::READY).status, "True");
    assert_eq!(h.event_reasons().iter().filter(|r| *r == "TestStarted").count(), 1);
    h.assert_quiet_rerun().await;
}

#[tokio::test]
async fn a_finished_test_whose_jobs_were_deleted_is_not_recreated() {
    for (what, master_status) in [
        ("succeeded", complete()),
        (
            "failed",
            json!({ "failed": 1, "conditions": [{ "type": "Failed", "status": "True", "message": "boom" }] }),
        ),
    ] {
        let h = Harness::new();
        h.running().await;
        h.set_master_job(master_status);
        h.reconcile_ok().await;
        assert!(h.phase().is_some_and(Phase::is_terminal), "{what}");
        let status_before = h.status();
        let events_before = h.events();
        // Job TTL cleanup.
        assert!(h.fake.delete::<Job>(NS, MASTER));
        assert!(h.fake.delete::<Job>(NS, WORKER));
        h.fake.clear_requests();

        let action = h.reconcile_ok().await;

        assert_eq!(action, Action::await_change(), "{what}");
        assert!(h.fake.requests().is_empty(), "{what}: {:?}", h.fake.requests());
        assert!(h.fake.names::<Job>(NS).is_empty(), "{what}");
        assert_eq!(h.status(), status_before, "{what}");
        assert_eq!(h.events(), events_before, "{what}");
    }
}

// ---- spec drift ----

#[tokio::test]
async fn a_spec_edit_is_reported_as_drift_and_cleared_when_reverted() {
    let h = Harness::new();
    h.running().await;
    let worker_before = h.fake.get::<Job>(NS, WORKER).unwrap();

    h.fake
        .user_patch::<LocustTest>(NS, NAME, &json!({ "spec": { "image": "locustio/locust:2.32.0" } }));
    h.fake.clear_requests();
    h.reconcile_ok().await;
    let drift_condition = h.condition(conditions::SPEC_DRIFTED);
    assert_eq!(
        (drift_condition.status.as_str(), drift_condition.reason.as_str()),
        ("True", drift::SPEC_CHANGE_IGNORED)
    );
    assert_eq!(drift_condition.observed_generation, Some(2));
    assert_eq!(h.status().observed_generation, Some(2));
    assert_eq!(
        h.phase(),
        Some(Phase::Running),
        "an ignored edit does not disturb the test"
    );
    let child_writes: Vec<String> = h
        .fake
        .writes()
        .iter()
        .filter(|r| !r.path.contains("locusttests") && !r.path.contains("events"))
        .map(|r| r.summary())
        .collect();
    assert!(child_writes.is_empty(), "children are never changed: {child_writes:?}");
    assert_eq!(h.fake.get::<Job>(NS, WORKER).unwrap(), worker_before);
    h.assert_quiet_rerun().await;

    h.fake
        .user_patch::<LocustTest>(NS, NAME, &json!({ "spec": { "image": "locustio/locust:2.31.0" } }));
    h.reconcile_ok().await;
    assert!(
        !h.has_condition(conditions::SPEC_DRIFTED),
        "{:#?}",
        h.status().conditions
    );
    assert_eq!(h.status().observed_generation, Some(3));
    assert_eq!(h.phase(), Some(Phase::Running));
    h.assert_quiet_rerun().await;
}

// ---- API errors ----

#[tokio::test]
async fn api_errors_fail_the_reconcile_and_are_retried_with_growing_backoff() {
    let h = Harness::new();
    let mut delays = Vec::new();
    for _ in 0..4 {
        h.fake.fail_next("POST", "/jobs", 500);
        let error = h.reconcile().await.expect_err("an API error fails the reconcile");
        assert!(
            error.to_string().contains("create Job demo-master"),
            "the error names the step and the object: {error}"
        );
        assert_eq!((error.step(), error.kind()), ("create_child", "api"));
        delays.push(requeue_after(&error_policy(h.delivered(), &error, h.ctx())).expect("requeue"));
    }
    assert_eq!(delays, [1, 2, 4, 8].map(Duration::from_secs));
    // The status says what is retried, in the server's words, with one warning for all four.
    assert_eq!(h.fake.status_patches().len(), 1, "the same failure is written once");
    assert_eq!(h.phase(), Some(Phase::Pending));
    let ready_condition = h.condition(conditions::READY);
    assert_eq!(
        (ready_condition.status.as_str(), ready_condition.reason.as_str()),
        ("False", ready::RESOURCES_CREATING)
    );
    assert!(
        ready_condition.message.contains("Job demo-master") && ready_condition.message.contains("injected failure"),
        "{}",
        ready_condition.message
    );
    let warnings: Vec<_> = h.events().into_iter().filter(|e| e.reason == "FailedCreate").collect();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].type_, "Warning");

    h.reconcile_ok().await;
    assert_eq!(h.fake.names::<Job>(NS), [MASTER, WORKER]);
    assert_eq!(
        h.fake.names::<Service>(NS),
        [MASTER],
        "the Service from the first failed pass is not duplicated"
    );
    assert_eq!(
        h.condition(conditions::READY).reason,
        ready::RESOURCES_CREATED,
        "the failure is cleared"
    );

    // Success resets the backoff.
    h.fake.fail_next("PATCH", "/locusttests/demo/status", 503);
    h.set_master_job(json!({ "active": 1 }));
    let error = h.reconcile().await.expect_err("status write failed");
    assert_eq!(
        requeue_after(&error_policy(h.delivered(), &error, h.ctx())),
        Some(Duration::from_secs(1))
    );
    h.reconcile_ok().await;
    assert_eq!(h.phase(), Some(Phase::Running));
}

#[tokio::test]
async fn backoff_is_counted_per_test() {
    let h = Harness::new();
    h.fake.insert(json!({
        "apiVersion": "locust.io/v2", "kind": "LocustTest",
        "metadata": { "name": "other", "namespace": NS }, "spec": valid_spec(),
    }));
    let other = h.operator.delivered(NS, "other");
    h.fake.fail_next("POST", "/jobs", 500);
    let error = h.reconcile().await.expect_err("injected");
    assert_eq!(
        requeue_after(&error_policy(h.delivered(), &error, h.ctx())),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        requeue_after(&error_policy(h.delivered(), &error, h.ctx())),
        Some(Duration::from_secs(2))
    );
    assert_eq!(
        requeue_after(&error_policy(other, &error, h.ctx())),
        Some(Duration::from_secs(1))
    );
}

// ---- children the API server refuses ----

/// What a real API server says when a Job's requests exceed its limits (a spec the CRD accepts).
const JOB_INVALID: &str = "Job.batch \"demo-master\" is invalid: spec.template.spec.containers[0].resources.requests: \
     Invalid value: \"2\": must be less than or equal to cpu limit of 1";

#[tokio::test]
async fn a_child_the_api_server_refuses_fails_the_test_with_the_servers_words_once() {
    let h = Harness::new();
    h.fake.fail_next_with("POST", "/jobs", 422, JOB_INVALID);
    let result = h.reconcile().await;
    assert!(
        result.is_ok(),
        "a refusal is reported, not retried: {:?}",
        result.err().map(|e| e.to_string())
    );

    assert_eq!(h.phase(), Some(Phase::Failed));
    let ready_condition = h.condition(conditions::READY);
    assert_eq!(
        (ready_condition.status.as_str(), ready_condition.reason.as_str()),
        ("False", ready::RESOURCES_FAILED)
    );
    for words in [
        "the API server refused to create Job demo-master",
        "spec.template.spec.containers[0].resources.requests",
        "delete it and create it again",
    ] {
        assert!(
            ready_condition.message.contains(words),
            "{words:?} in {}",
            ready_condition.message
        );
    }
    // The Service made before the refusal is announced; the worker Job is not attempted.
    assert_eq!(h.fake.names::<Service>(NS), ["demo-master"]);
    assert!(h.fake.names::<Job>(NS).is_empty());
    let events = h.events();
    assert!(
        events
            .iter()
            .any(|e| e.reason == "Created" && e.note.contains("Service demo-master")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.type_ == "Warning" && e.note.contains("refused to create Job demo-master")),
        "a Warning event says why: {events:?}"
    );

    h.fake.clear_requests();
    assert_eq!(h.reconcile_ok().await, Action::await_change());
    assert!(h.fake.writes().is_empty(), "reported once: {:?}", h.fake.writes());
}

#[tokio::test]
async fn an_admission_webhook_denial_is_a_refusal_but_a_missing_permission_is_retried() {
    let denied = Harness::new();
    denied.fake.fail_next_with(
        "POST",
        "/services",
        400,
        "admission webhook \"validate.policy.example\" denied the request: Services need a team label",
    );
    denied.reconcile_ok().await;
    assert_eq!(denied.phase(), Some(Phase::Failed));
    assert!(
        denied
            .condition(conditions::READY)
            .message
            .contains("Services need a team label")
    );

    let forbidden = Harness::new();
    forbidden.fake.fail_next("POST", "/jobs", 403);
    assert!(
        forbidden.reconcile().await.is_err(),
        "403 is the operator's problem: retried with backoff"
    );
    assert_ne!(forbidden.phase(), Some(Phase::Failed));
    forbidden.reconcile_ok().await;
    assert_eq!(forbidden.fake.names::<Job>(NS).len(), 2, "created once allowed");
}

// ---- unreadable objects ----

fn spec_without_master() -> Value {
    let mut spec = valid_spec();
    spec.as_object_mut().unwrap().remove("master");
    spec
}

#[tokio::test]
async fn an_unreadable_test_is_marked_failed_once_and_gets_no_children() {
    let h = Harness::with_spec(spec_without_master());
    // Whether this pass returns Ok is checked separately; the status must be written either way.
    let _ = h.reconcile().await;

    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Failed));
    let ready_condition = h.condition(conditions::READY);
    assert_eq!(
        (ready_condition.status.as_str(), ready_condition.reason.as_str()),
        ("False", ready::RESOURCES_FAILED)
    );
    assert!(
        ready_condition.message.contains("master"),
        "the message names the problem: {}",
        ready_condition.message
    );
    assert!(h.fake.names::<Job>(NS).is_empty());
    assert!(h.fake.names::<Service>(NS).is_empty());

    h.fake.clear_requests();
    assert_eq!(h.reconcile_ok().await, Action::await_change());
    assert!(h.fake.writes().is_empty(), "reported once: {:?}", h.fake.writes());
}

#[tokio::test]
async fn reporting_an_unreadable_test_is_a_successful_reconcile() {
    let h = Harness::with_spec(spec_without_master());
    let result = h.reconcile().await;
    assert!(result.is_ok(), "{:?}", result.err().map(|e| e.to_string()));
}

// ---- the controller ----

#[tokio::test]
async fn an_unreadable_test_does_not_stop_the_controller_from_reconciling_the_others() {
    let fake = FakeApi::new(start_time());
    // Listed first (names sort), so a typed watch would fail before reaching the valid test.
    fake.insert(json!({
        "apiVersion": "locust.io/v2", "kind": "LocustTest",
        "metadata": { "name": "broken", "namespace": NS }, "spec": spec_without_master(),
    }));
    fake.insert(test_object(valid_spec()));
    let (controller, cache, mut synced) = operator::controller::build(
        &fake.client(),
        &operator::controller::Scope::Namespace(NS.into()),
        operator::controller::DEFAULT_CONCURRENCY,
    );
    let ctx = Arc::new(Context::for_test(fake.client(), cache, fake.clock()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(operator::controller::run(controller, ctx, async move {
        let _ = stopped.await;
    }));

    let phase_of = |name: &str| {
        fake.get_value(&ObjectKey::of::<LocustTest>(NS, name)).and_then(|test| {
            test.pointer("/status/phase")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while (phase_of("broken").is_none() || fake.names::<Job>(NS).len() < 2) && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        *synced.borrow_and_update(),
        "the watch reported its first list as synced"
    );
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .expect("the controller stops on shutdown")
        .expect("the controller task does not panic");

    assert_eq!(phase_of("broken").as_deref(), Some("Failed"));
    assert_eq!(phase_of(NAME).as_deref(), Some("Pending"));
    assert_eq!(fake.names::<Job>(NS), [MASTER, WORKER]);
    assert!(fake.names::<Job>(NS).iter().all(|name| !name.starts_with("broken")));
    // The owned resources are watched by the operator's label only.
    let job_lists: Vec<_> = fake
        .requests_matching("GET", "/apis/batch/v1/namespaces/load/jobs")
        .into_iter()
        .filter(|r| r.path.ends_with("/jobs"))
        .collect();
    assert!(!job_lists.is_empty());
    assert!(
        job_lists
            .iter()
            .all(|r| r.query_param("labelSelector") == Some("managed-by=locust-k8s-operator"))
    );
}

/// Waits until no request has reached the fake for `quiet`: the controller has settled.
async fn settled(fake: &FakeApi, quiet: Duration) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let before = fake.requests().len();
        tokio::time::sleep(quiet).await;
        if fake.requests().len() == before {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "the controller never settled");
    }
}

/// How long without a request counts as settled in the lifecycle test: long enough that a
/// reconcile still queued on a loaded machine (tests run side by side) is not mistaken for quiet.
const QUIET: Duration = Duration::from_secs(1);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_test_through_its_life_costs_three_creates_three_status_writes_and_no_reads_per_reconcile() {
    let fake = FakeApi::new(Timestamp::now()).with_live_watches();
    fake.insert(test_object(valid_spec()));
    let (controller, cache, mut synced) = operator::controller::build(
        &fake.client(),
        &operator::controller::Scope::Namespace(NS.into()),
        operator::controller::DEFAULT_CONCURRENCY,
    );
    let ctx = Arc::new(Context::for_test(
        fake.client(),
        cache,
        operator::settings::system_clock(),
    ));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(operator::controller::run(controller, ctx, async move {
        let _ = stopped.await;
    }));
    let phase = || fake.get::<LocustTest>(NS, NAME).and_then(|test| test.status?.phase);

    eventually("children created and Pending", || {
        fake.names::<Job>(NS).len() == 2 && phase() == Some(Phase::Pending)
    })
    .await;
    assert!(*synced.borrow_and_update(), "every watch has listed");
    settled(&fake, QUIET).await;

    // The Job controller's part: the master's pod runs, then the test ends.
    fake.set_status::<Job>(NS, MASTER, json!({ "active": 1 }));
    fake.set_status::<Job>(NS, WORKER, json!({ "active": WORKERS }));
    eventually("Running", || phase() == Some(Phase::Running)).await;
    settled(&fake, QUIET).await;

    // A change that alters nothing the operator decides on: reconciled from the caches, no request.
    let mut lifecycle = fake.requests();
    fake.clear_requests();
    fake.update::<Service>(NS, MASTER, |service| {
        service["metadata"]["labels"]["touched"] = json!("yes")
    });
    settled(&fake, QUIET).await;
    let steady: Vec<String> = fake.requests().iter().map(|r| r.summary()).collect();
    assert!(steady.is_empty(), "a steady-state reconcile made requests: {steady:?}");

    fake.set_status::<Job>(NS, MASTER, complete());
    eventually("Succeeded", || phase() == Some(Phase::Succeeded)).await;
    settled(&fake, QUIET).await;
    let _ = stop.send(());
    tokio::time::timeout(Duration::from_secs(10), running)
        .await
        .unwrap()
        .unwrap();
    lifecycle.extend(fake.requests());

    let (events, calls): (Vec<_>, Vec<_>) = lifecycle.iter().partition(|r| r.path.contains("/events"));
    let summaries = |wanted: &dyn Fn(&&&fake_api::RecordedRequest) -> bool| -> Vec<String> {
        calls.iter().filter(wanted).map(|r| r.summary()).collect()
    };
    assert_eq!(
        summaries(&|r| r.method == Method::POST),
        [
            "POST /api/v1/namespaces/load/services",
            "POST /apis/batch/v1/namespaces/load/jobs",
            "POST /apis/batch/v1/namespaces/load/jobs"
        ]
    );
    let status_writes = summaries(&|r| r.path.ends_with("/status"));
    assert!(
        (2..=3).contains(&status_writes.len()),
        "Pending, Running, Succeeded at most: {status_writes:?}"
    );
    // Reads: each watch's first list and its watch, nothing per reconcile.
    let reads = summaries(&|r| r.method == Method::GET);
    let lists = calls
        .iter()
        .filter(|r| r.method == Method::GET && r.query_param("watch").is_none())
        .count();
    assert_eq!(lists, 4, "one list per watched kind: {reads:?}");
    assert!(reads.len() <= 8, "lists and watches only: {reads:?}");
    let reasons: Vec<String> = fake.events(NS).into_iter().map(|e| e.reason).collect();
    assert_eq!(
        reasons,
        ["Created", "Created", "Created", "TestStarted", "TestCompleted"]
    );
    assert!(events.len() <= 5, "one write per event: {events:?}");
}
