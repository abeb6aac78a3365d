//! Pod health as users see it in the PodsHealthy condition: nothing during the grace period, then
//! the most actionable failure, named with the pods it affects and what is missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use k8s_openapi::api::core::v1::{
    Container, ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting, ContainerStatus,
    Pod, PodCondition, PodSpec, PodStatus,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use shared::api::status::conditions::health as reason;
use shared::health::{self, DEFAULT_GRACE_PERIOD, Health, MountFailure};
use shared::naming::{self, Role};
use shared::observed::ObservedPod;

const TEST: &str = "demo";
/// 2026-01-01T00:00:00Z; pods and "now" are offsets from it.
const EPOCH: i64 = 1_767_225_600;
/// Just past the default grace period of pods created at t=0.
const AFTER_GRACE: i64 = 121;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(EPOCH + seconds).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Builders

fn running(container: &str) -> ContainerStatus {
    status_of(
        container,
        ContainerState {
            running: Some(ContainerStateRunning::default()),
            ..ContainerState::default()
        },
    )
}

fn waiting(container: &str, why: &str, message: Option<&str>) -> ContainerStatus {
    status_of(
        container,
        ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(why.into()),
                message: message.map(Into::into),
            }),
            ..ContainerState::default()
        },
    )
}

fn terminated(container: &str, exit_code: i32, why: &str) -> ContainerStatus {
    status_of(
        container,
        ContainerState {
            terminated: Some(ContainerStateTerminated {
                exit_code,
                reason: Some(why.into()),
                ..ContainerStateTerminated::default()
            }),
            ..ContainerState::default()
        },
    )
}

fn status_of(container: &str, state: ContainerState) -> ContainerStatus {
    ContainerStatus {
        name: container.into(),
        image: "locustio/locust:2.43.3".into(),
        state: Some(state),
        ..ContainerStatus::default()
    }
}

/// A pod of the test, labelled as the operator labels them.
struct PodBuilder {
    pod: Pod,
}

fn pod(name: &str, role: Role, created_at: i64) -> PodBuilder {
    PodBuilder {
        pod: Pod {
            metadata: ObjectMeta {
                name: Some(name.into()),
                labels: Some(naming::selector_labels(TEST, role)),
                creation_timestamp: Some(Time(at(created_at))),
                ..ObjectMeta::default()
            },
            spec: Some(PodSpec::default()),
            status: Some(PodStatus::default()),
        },
    }
}

fn master_pod(created_at: i64) -> PodBuilder {
    pod("demo-master-4xq9d", Role::Master, created_at)
}

fn worker_pod(suffix: &str, created_at: i64) -> PodBuilder {
    pod(&format!("demo-worker-{suffix}"), Role::Worker, created_at)
}

impl PodBuilder {
    fn spec(&mut self) -> &mut PodSpec {
        self.pod.spec.get_or_insert_with(PodSpec::default)
    }

    fn pod_status(&mut self) -> &mut PodStatus {
        self.pod.status.get_or_insert_with(PodStatus::default)
    }

    /// A main container in the given state.
    fn container(mut self, status: ContainerStatus) -> Self {
        self.spec().containers.push(Container {
            name: status.name.clone(),
            ..Container::default()
        });
        self.pod_status()
            .container_statuses
            .get_or_insert_with(Vec::new)
            .push(status);
        self
    }

    /// A classic init container (runs to completion before the main containers).
    fn init_container(self, status: ContainerStatus) -> Self {
        self.init(status, None)
    }

    /// A native sidecar: an init container with `restartPolicy: Always`, e.g. a service-mesh proxy.
    fn sidecar(self, status: ContainerStatus) -> Self {
        self.init(status, Some("Always"))
    }

    fn init(mut self, status: ContainerStatus, restart_policy: Option<&str>) -> Self {
        self.spec()
            .init_containers
            .get_or_insert_with(Vec::new)
            .push(Container {
                name: status.name.clone(),
                restart_policy: restart_policy.map(Into::into),
                ..Container::default()
            });
        self.pod_status()
            .init_container_statuses
            .get_or_insert_with(Vec::new)
            .push(status);
        self
    }

    /// The scheduler could not place the pod.
    fn unschedulable(mut self, message: &str) -> Self {
        self.pod_status().phase = Some("Pending".into());
        self.pod_status()
            .conditions
            .get_or_insert_with(Vec::new)
            .push(PodCondition {
                type_: "PodScheduled".into(),
                status: "False".into(),
                reason: Some("Unschedulable".into()),
                message: Some(message.into()),
                ..PodCondition::default()
            });
        self
    }

    /// The pod is being deleted (its Job was deleted).
    fn deleting(mut self, since: i64) -> Self {
        self.pod.metadata.deletion_timestamp = Some(Time(at(since)));
        self
    }

    fn build(self) -> Pod {
        self.pod
    }
}

fn healthy_master() -> Pod {
    master_pod(0).container(running("demo-master")).build()
}

fn healthy_worker(suffix: &str) -> Pod {
    worker_pod(suffix, 0).container(running("demo-worker")).build()
}

fn classify(pods: &[Pod], now: i64) -> Health {
    health::classify(pods, &[], at(now), DEFAULT_GRACE_PERIOD, false)
}

fn assert_starting(health: &Health, remaining_seconds: u64, case: &str) {
    assert_eq!(health.reason, reason::PODS_STARTING, "{case}: {health:?}");
    assert!(health.is_healthy(), "{case}");
    assert_eq!(
        health.grace_remaining,
        Some(Duration::from_secs(remaining_seconds)),
        "{case}"
    );
}

fn assert_failure(health: &Health, expected: &str, fragments: &[&str], case: &str) {
    assert_eq!(health.reason, expected, "{case}: {health:?}");
    assert!(!health.is_healthy(), "{case}: a failure is unhealthy");
    assert_eq!(health.grace_remaining, None, "{case}");
    for fragment in fragments {
        assert!(
            health.message.contains(fragment),
            "{case}: {fragment:?} missing from {:?}",
            health.message
        );
    }
}

/// One pod with one failure of each kind the classifier names, with what its message must say.
struct FailureCase {
    name: &'static str,
    pod: Pod,
    reason: &'static str,
    says: &'static [&'static str],
}

fn failure_cases() -> Vec<FailureCase> {
    vec![
        FailureCase {
            name: "image pull back-off",
            pod: worker_pod("a1", 0)
                .container(waiting(
                    "demo-worker",
                    "ImagePullBackOff",
                    Some("Back-off pulling image \"locustio/locust:9.9.9\""),
                ))
                .build(),
            reason: reason::IMAGE_PULL_ERROR,
            says: &["demo-worker-a1", "locustio/locust:9.9.9"],
        },
        FailureCase {
            name: "image pull error",
            pod: master_pod(0)
                .container(waiting(
                    "demo-master",
                    "ErrImagePull",
                    Some("rpc error: code = NotFound desc = failed to pull and unpack image"),
                ))
                .build(),
            reason: reason::IMAGE_PULL_ERROR,
            says: &["demo-master-4xq9d", "failed to pull"],
        },
        FailureCase {
            name: "invalid image name",
            pod: master_pod(0)
                .container(waiting("demo-master", "InvalidImageName", None))
                .build(),
            reason: reason::IMAGE_PULL_ERROR,
            says: &["demo-master-4xq9d", "InvalidImageName"],
        },
        FailureCase {
            name: "missing ConfigMap in env",
            pod: master_pod(0)
                .container(waiting(
                    "demo-master",
                    "CreateContainerConfigError",
                    Some("configmap \"app-config\" not found"),
                ))
                .build(),
            reason: reason::CONFIGURATION_ERROR,
            says: &["demo-master-4xq9d", "ConfigMap \"app-config\""],
        },
        FailureCase {
            name: "missing Secret in env",
            pod: worker_pod("b2", 0)
                .container(waiting(
                    "demo-worker",
                    "CreateContainerConfigError",
                    Some("secret \"api-credentials\" not found"),
                ))
                .build(),
            reason: reason::CONFIGURATION_ERROR,
            says: &["demo-worker-b2", "Secret \"api-credentials\""],
        },
        FailureCase {
            name: "unschedulable",
            pod: worker_pod("c3", 0)
                .unschedulable("0/3 nodes are available: 3 Insufficient cpu.")
                .build(),
            reason: reason::SCHEDULING_ERROR,
            says: &["demo-worker-c3", "3 Insufficient cpu"],
        },
        FailureCase {
            name: "crash loop back-off",
            pod: master_pod(0)
                .container(waiting(
                    "demo-master",
                    "CrashLoopBackOff",
                    Some("back-off 40s restarting failed container"),
                ))
                .build(),
            reason: reason::CRASH_LOOP_BACK_OFF,
            says: &["demo-master-4xq9d", "demo-master", "back-off 40s"],
        },
        FailureCase {
            name: "main container exited non-zero",
            pod: worker_pod("d4", 0)
                .container(terminated("demo-worker", 2, "Error"))
                .build(),
            reason: reason::CRASH_LOOP_BACK_OFF,
            says: &["demo-worker-d4", "exited with code 2"],
        },
        FailureCase {
            name: "out of memory",
            pod: worker_pod("e5", 0)
                .container(terminated("demo-worker", 137, "OOMKilled"))
                .build(),
            reason: reason::CRASH_LOOP_BACK_OFF,
            says: &[
                "demo-worker-e5",
                "exited with code 137: OOMKilled",
                "ran out of memory: raise its memory limit",
            ],
        },
        FailureCase {
            name: "init container failed",
            pod: master_pod(0)
                .init_container(terminated("fetch-scripts", 1, "Error"))
                .container(waiting("demo-master", "PodInitializing", None))
                .build(),
            reason: reason::INITIALIZATION_ERROR,
            says: &["demo-master-4xq9d", "fetch-scripts", "exited with code 1"],
        },
    ]
}

// ---------------------------------------------------------------------------------------------
// Grace period

#[test]
fn no_pods_means_starting_with_nothing_to_wait_for() {
    let health = classify(&[], 10_000);
    assert_eq!(health.reason, reason::PODS_STARTING);
    assert!(health.is_healthy());
    assert_eq!(
        health.grace_remaining, None,
        "pod events wake the operator, not a timer"
    );
}

#[test]
fn the_default_grace_period_is_two_minutes() {
    assert_eq!(DEFAULT_GRACE_PERIOD, Duration::from_secs(120));
}

#[test]
fn no_failure_counts_inside_the_grace_period_and_each_counts_after_it() {
    for case in failure_cases() {
        let pods = [case.pod.clone(), healthy_worker("zz")];
        for (now, remaining) in [(0, 120), (1, 119), (60, 60), (119, 1)] {
            assert_starting(&classify(&pods, now), remaining, &format!("{} at t={now}", case.name));
        }
        for now in [120, AFTER_GRACE, 3_600] {
            let health = classify(&pods, now);
            assert_failure(&health, case.reason, case.says, &format!("{} at t={now}", case.name));
            assert!(
                health
                    .message
                    .starts_with(&format!("{}: 1 pod(s) affected", case.reason)),
                "{}: {:?}",
                case.name,
                health.message
            );
        }
    }
}

#[test]
fn the_grace_period_is_configurable() {
    let pods = [worker_pod("a1", 0)
        .container(waiting("demo-worker", "ImagePullBackOff", None))
        .build()];
    let short = Duration::from_secs(30);
    assert_starting(
        &health::classify(&pods, &[], at(29), short, false),
        1,
        "30 s grace at t=29",
    );
    assert_failure(
        &health::classify(&pods, &[], at(30), short, false),
        reason::IMAGE_PULL_ERROR,
        &[],
        "30 s grace at t=30",
    );
    let long = Duration::from_secs(600);
    assert_starting(
        &health::classify(&pods, &[], at(AFTER_GRACE), long, false),
        479,
        "10 min grace",
    );
    let none = Duration::ZERO;
    assert_failure(
        &health::classify(&pods, &[], at(0), none, false),
        reason::IMAGE_PULL_ERROR,
        &[],
        "no grace",
    );
}

#[test]
fn the_grace_period_runs_from_the_oldest_pod() {
    // A worker created late (replacement, slow Job controller) does not restart the clock.
    let pods = [
        healthy_master(),
        worker_pod("late", 100)
            .container(waiting("demo-worker", "ErrImagePull", None))
            .build(),
    ];
    assert_starting(&classify(&pods, 50), 70, "oldest pod 50 s old");
    assert_failure(
        &classify(&pods, 125),
        reason::IMAGE_PULL_ERROR,
        &["demo-worker-late"],
        "oldest pod 125 s old",
    );
}

#[test]
fn healthy_pods_are_reported_healthy() {
    let pods = [
        healthy_master(),
        healthy_worker("a1"),
        worker_pod("a2", 0)
            .container(waiting("demo-worker", "ContainerCreating", None))
            .build(),
        // A master that ended well and a worker that left with it.
        master_pod(0)
            .container(terminated("demo-master", 0, "Completed"))
            .build(),
    ];
    let health = classify(&pods, AFTER_GRACE);
    assert_eq!(health.reason, reason::PODS_HEALTHY, "{health:?}");
    assert!(health.is_healthy());
    assert_eq!(health.grace_remaining, None);
}

// ---------------------------------------------------------------------------------------------
// Naming what is wrong

#[test]
fn every_affected_pod_is_named_and_counted() {
    let pods = [
        healthy_master(),
        worker_pod("a1", 0)
            .container(waiting(
                "demo-worker",
                "ImagePullBackOff",
                Some("Back-off pulling image"),
            ))
            .build(),
        worker_pod("a2", 0)
            .container(waiting("demo-worker", "ErrImagePull", Some("pull access denied")))
            .build(),
    ];
    let health = classify(&pods, AFTER_GRACE);
    assert_failure(
        &health,
        reason::IMAGE_PULL_ERROR,
        &["2 pod(s) affected", "[demo-worker-a1, demo-worker-a2]"],
        "two workers",
    );
    assert!(!health.message.contains("demo-master"), "{:?}", health.message);
}

#[test]
fn a_configuration_error_names_the_missing_config_map_or_secret() {
    let cases = [
        ("configmap \"app-config\" not found", "ConfigMap \"app-config\""),
        ("secret \"api-credentials\" not found", "Secret \"api-credentials\""),
        // Names keep their case; kubelet spellings vary in case.
        ("ConfigMap \"Load-Settings\" not found", "ConfigMap \"Load-Settings\""),
        ("Secret \"TLS.certs\" not found", "Secret \"TLS.certs\""),
    ];
    for (kubelet, named) in cases {
        let pods = [master_pod(0)
            .container(waiting("demo-master", "CreateContainerConfigError", Some(kubelet)))
            .build()];
        let health = classify(&pods, AFTER_GRACE);
        assert_failure(
            &health,
            reason::CONFIGURATION_ERROR,
            &[named, "not found", kubelet],
            kubelet,
        );
    }
}

#[test]
fn a_configuration_error_without_a_missing_object_keeps_the_kubelets_words() {
    let kubelet = "couldn't find key HOST in ConfigMap load/app-config";
    let pods = [master_pod(0)
        .container(waiting("demo-master", "CreateContainerConfigError", Some(kubelet)))
        .build()];
    assert_failure(
        &classify(&pods, AFTER_GRACE),
        reason::CONFIGURATION_ERROR,
        &[kubelet],
        "missing key",
    );
}

#[test]
fn a_volume_that_cannot_mount_is_a_configuration_error_naming_what_is_missing() {
    // The pod only shows ContainerCreating; the kubelet's FailedMount event names the object.
    let stuck = worker_pod("m1", 0)
        .container(waiting("demo-worker", "ContainerCreating", None))
        .build();
    let pods = [healthy_master(), stuck];
    assert_eq!(
        health::pods_stuck_creating(&pods, at(AFTER_GRACE), DEFAULT_GRACE_PERIOD),
        ["demo-worker-m1"]
    );
    let cases = [
        (
            "MountVolume.SetUp failed for volume \"demo-master\" : configmap \"scripts\" not found",
            "ConfigMap \"scripts\"",
        ),
        (
            "MountVolume.SetUp failed for volume \"secret-api-credentials\" : secret \"api-credentials\" not found",
            "Secret \"api-credentials\"",
        ),
    ];
    for (event, named) in cases {
        let mounts = [MountFailure {
            pod: "demo-worker-m1".into(),
            message: event.into(),
        }];
        let health = health::classify(&pods, &mounts, at(AFTER_GRACE), DEFAULT_GRACE_PERIOD, false);
        assert_failure(
            &health,
            reason::CONFIGURATION_ERROR,
            &[named, "demo-worker-m1", "1 pod(s) affected"],
            event,
        );
    }
}

#[test]
fn a_mount_failure_does_not_hide_a_failure_the_pod_itself_shows() {
    // The pod's own state is the fresher word; the event only fills in for a silent pod.
    let pods = [worker_pod("m1", 0)
        .container(waiting("demo-worker", "ImagePullBackOff", None))
        .build()];
    let mounts = [MountFailure {
        pod: "demo-worker-m1".into(),
        message: "MountVolume.SetUp failed for volume \"x\" : configmap \"old\" not found".into(),
    }];
    let health = health::classify(&pods, &mounts, at(AFTER_GRACE), DEFAULT_GRACE_PERIOD, false);
    assert_failure(
        &health,
        reason::IMAGE_PULL_ERROR,
        &["demo-worker-m1"],
        "own state first",
    );
}

#[test]
fn only_pods_still_creating_after_the_grace_period_are_worth_reading_events_for() {
    let pods = [
        healthy_master(),
        worker_pod("c1", 0)
            .container(waiting("demo-worker", "ContainerCreating", None))
            .build(),
        worker_pod("c2", 0)
            .container(waiting("demo-worker", "ImagePullBackOff", None))
            .build(),
        worker_pod("c3", 0)
            .container(terminated("demo-worker", 0, "Completed"))
            .build(),
        worker_pod("c4", 90)
            .container(waiting("demo-worker", "ContainerCreating", None))
            .build(),
        worker_pod("c5", 0).unschedulable("0/3 nodes are available").build(),
    ];
    assert!(health::pods_stuck_creating(&pods, at(119), DEFAULT_GRACE_PERIOD).is_empty());
    assert!(health::pods_stuck_creating(&[], at(10_000), DEFAULT_GRACE_PERIOD).is_empty());
    assert_eq!(
        health::pods_stuck_creating(&pods, at(AFTER_GRACE), DEFAULT_GRACE_PERIOD),
        ["demo-worker-c1", "demo-worker-c4"]
    );
}

#[test]
fn pods_with_init_containers_stuck_on_a_volume_are_worth_reading_events_for() {
    // The kubelet's default waiting reason is PodInitializing for every container of a pod that
    // has init containers, e.g. one a mesh injected a native sidecar into.
    let stuck = master_pod(0)
        .sidecar(waiting("istio-proxy", "PodInitializing", None))
        .container(waiting("demo-master", "PodInitializing", None))
        .build();
    assert_eq!(
        health::pods_stuck_creating(&[stuck], at(AFTER_GRACE), DEFAULT_GRACE_PERIOD),
        ["demo-master-4xq9d"]
    );
}

// ---------------------------------------------------------------------------------------------
// Priority when several failures coexist

#[test]
fn the_most_actionable_failure_is_reported_first() {
    let order = [
        reason::CONFIGURATION_ERROR,
        reason::IMAGE_PULL_ERROR,
        reason::SCHEDULING_ERROR,
        reason::CRASH_LOOP_BACK_OFF,
        reason::INITIALIZATION_ERROR,
    ];
    // One pod per reason; drop the winner each round: the next in order must win.
    let one_pod_per_reason: Vec<(&str, Pod)> = order
        .iter()
        .map(|wanted| {
            let case = failure_cases().into_iter().find(|c| c.reason == *wanted).unwrap();
            (*wanted, case.pod)
        })
        .collect();
    for (round, expected) in order.iter().enumerate() {
        // Distinct pod names so the message can be checked for the winner's pod only.
        let pods: Vec<Pod> = one_pod_per_reason[round..]
            .iter()
            .enumerate()
            .map(|(index, (_, pod))| {
                let mut pod = pod.clone();
                pod.metadata.name = Some(format!("pod-{}", round + index));
                pod
            })
            .collect();
        let health = classify(&pods, AFTER_GRACE);
        let winner = format!("[pod-{round}]");
        assert_failure(
            &health,
            expected,
            &["1 pod(s) affected", &winner],
            &format!("round {round}"),
        );
    }
}

#[test]
fn a_mount_failure_outranks_every_other_failure() {
    let pods = [
        worker_pod("a1", 0)
            .container(waiting("demo-worker", "ImagePullBackOff", None))
            .build(),
        worker_pod("m1", 0)
            .container(waiting("demo-worker", "ContainerCreating", None))
            .build(),
    ];
    let mounts = [MountFailure {
        pod: "demo-worker-m1".into(),
        message: "MountVolume.SetUp failed for volume \"demo-master\" : configmap \"scripts\" not found".into(),
    }];
    let health = health::classify(&pods, &mounts, at(AFTER_GRACE), DEFAULT_GRACE_PERIOD, false);
    assert_failure(
        &health,
        reason::CONFIGURATION_ERROR,
        &["[demo-worker-m1]", "ConfigMap \"scripts\""],
        "mount vs image",
    );
}

#[test]
fn a_pod_unschedulable_is_not_also_blamed_for_its_containers() {
    // An unschedulable pod never ran; what its containers show is noise.
    let pods = [worker_pod("s1", 0)
        .unschedulable("0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector.")
        .container(waiting("demo-worker", "CrashLoopBackOff", None))
        .build()];
    assert_failure(
        &classify(&pods, AFTER_GRACE),
        reason::SCHEDULING_ERROR,
        &["node affinity"],
        "scheduling",
    );
}

// ---------------------------------------------------------------------------------------------
// Init containers and native sidecars

#[test]
fn init_container_exits_fail_but_native_sidecar_exits_do_not() {
    let cases = [
        (
            "classic init container exits 1",
            master_pod(0)
                .init_container(terminated("fetch-scripts", 1, "Error"))
                .container(waiting("demo-master", "PodInitializing", None))
                .build(),
            Some(reason::INITIALIZATION_ERROR),
        ),
        (
            "classic init container done",
            master_pod(0)
                .init_container(terminated("fetch-scripts", 0, "Completed"))
                .container(running("demo-master"))
                .build(),
            None,
        ),
        (
            "native sidecar stopped with SIGTERM when the pod ended",
            master_pod(0)
                .sidecar(terminated("istio-proxy", 143, "Error"))
                .container(terminated("demo-master", 0, "Completed"))
                .build(),
            None,
        ),
        (
            "native sidecar killed with SIGKILL",
            worker_pod("s1", 0)
                .sidecar(terminated("linkerd-proxy", 137, "Error"))
                .container(running("demo-worker"))
                .build(),
            None,
        ),
        (
            "native sidecar crash-looping is still a crash loop",
            worker_pod("s2", 0)
                .sidecar(waiting("istio-proxy", "CrashLoopBackOff", Some("back-off 5m0s")))
                .container(waiting("demo-worker", "PodInitializing", None))
                .build(),
            Some(reason::CRASH_LOOP_BACK_OFF),
        ),
    ];
    for (case, pod, expected) in cases {
        let health = classify(&[pod], AFTER_GRACE);
        match expected {
            Some(expected) => assert_failure(&health, expected, &[], case),
            None => assert_eq!(health.reason, reason::PODS_HEALTHY, "{case}: {health:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The end of a test is not a failure

#[test]
fn workers_exiting_after_the_master_finished_do_not_fail_the_test() {
    let pods = [
        master_pod(0)
            .container(terminated("demo-master", 0, "Completed"))
            .build(),
        worker_pod("w1", 0)
            .container(terminated("demo-worker", 1, "Error"))
            .build(),
        worker_pod("w2", 0)
            .container(terminated("demo-worker", 0, "Completed"))
            .build(),
    ];
    let finished = health::classify(&pods, &[], at(600), DEFAULT_GRACE_PERIOD, true);
    assert_eq!(finished.reason, reason::PODS_HEALTHY, "{finished:?}");

    let still_running = health::classify(&pods, &[], at(600), DEFAULT_GRACE_PERIOD, false);
    assert_failure(
        &still_running,
        reason::CRASH_LOOP_BACK_OFF,
        &["[demo-worker-w1]", "exited with code 1"],
        "master still running",
    );
}

/// A worker container that exited with `exit_code` at `finished` seconds.
fn worker_exited_at(suffix: &str, exit_code: i32, finished: i64) -> Pod {
    let mut status = terminated("demo-worker", exit_code, "Error");
    if let Some(terminated) = status.state.as_mut().and_then(|state| state.terminated.as_mut()) {
        terminated.finished_at = Some(Time(at(finished)));
    }
    worker_pod(suffix, 0).container(status).build()
}

#[test]
fn a_worker_exit_waits_a_moment_for_the_master_to_end_too() {
    let running_master = healthy_master();
    let worker = worker_exited_at("w1", 1, 600);

    // Just after the exit, with the master still running: not judged yet, looked at again.
    let just_now = classify(&[running_master.clone(), worker.clone()], 605);
    assert_eq!(just_now.reason, reason::PODS_HEALTHY, "{just_now:?}");
    assert_eq!(just_now.grace_remaining, Some(Duration::from_secs(10)));

    // The master's end is seen within the window: the test ended, nothing failed.
    let mut ended_master = master_pod(0)
        .container(terminated("demo-master", 0, "Completed"))
        .build();
    ended_master.status.as_mut().unwrap().phase = Some("Succeeded".into());
    let ended = classify(&[ended_master, worker.clone()], 608);
    assert_eq!(
        (ended.reason, ended.grace_remaining),
        (reason::PODS_HEALTHY, None),
        "{ended:?}"
    );

    // Still the only one to have stopped after the window: the worker failed on its own.
    let alone = classify(&[running_master, worker], 600 + 15);
    assert_failure(
        &alone,
        reason::CRASH_LOOP_BACK_OFF,
        &["[demo-worker-w1]", "exited with code 1"],
        "after the window",
    );
}

#[test]
fn a_worker_killed_for_memory_is_judged_at_once() {
    let mut status = terminated("demo-worker", 137, health::OUT_OF_MEMORY);
    status.state.as_mut().unwrap().terminated.as_mut().unwrap().finished_at = Some(Time(at(600)));
    let worker = worker_pod("o1", 0).container(status).build();
    let health = classify(&[healthy_master(), worker], 601);
    assert_failure(&health, reason::CRASH_LOOP_BACK_OFF, &["OOMKilled"], "out of memory");
}

#[test]
fn a_master_pod_that_succeeded_excuses_worker_exits_before_its_job_says_so() {
    let mut master = master_pod(0)
        .container(terminated("demo-master", 0, "Completed"))
        .build();
    let worker = worker_pod("w1", 0)
        .container(terminated("demo-worker", 1, "Error"))
        .build();
    let job_lagging = health::classify(
        &[master.clone(), worker.clone()],
        &[],
        at(600),
        DEFAULT_GRACE_PERIOD,
        false,
    );
    assert_eq!(
        job_lagging.reason,
        reason::CRASH_LOOP_BACK_OFF,
        "without a finished master the exit counts"
    );
    master.status.as_mut().unwrap().phase = Some("Succeeded".into());
    let pod_finished = health::classify(&[master, worker], &[], at(600), DEFAULT_GRACE_PERIOD, false);
    assert_eq!(pod_finished.reason, reason::PODS_HEALTHY, "{pod_finished:?}");
}

#[test]
fn the_masters_end_excuses_only_worker_exits() {
    let cases = [
        (
            "a crashed master",
            master_pod(0).container(terminated("demo-master", 1, "Error")).build(),
            reason::CRASH_LOOP_BACK_OFF,
        ),
        (
            "a worker killed for memory",
            worker_pod("o1", 0)
                .container(terminated("demo-worker", 137, "OOMKilled"))
                .build(),
            reason::CRASH_LOOP_BACK_OFF,
        ),
        (
            "a worker that never pulled its image",
            worker_pod("i1", 0)
                .container(waiting("demo-worker", "ImagePullBackOff", None))
                .build(),
            reason::IMAGE_PULL_ERROR,
        ),
    ];
    for (case, pod, expected) in cases {
        let health = health::classify(&[pod], &[], at(600), DEFAULT_GRACE_PERIOD, true);
        assert_failure(&health, expected, &[], case);
    }
}

// ---------------------------------------------------------------------------------------------
// Known gaps (see the ignore reasons)

#[test]
fn every_kubelet_image_error_is_an_image_pull_error() {
    for kubelet in ["ErrImageNeverPull", "ImageInspectError", "RegistryUnavailable"] {
        let pods = [master_pod(0)
            .container(waiting(
                "demo-master",
                kubelet,
                Some("Container image \"locust:dev\" is not present with pull policy of Never"),
            ))
            .build()];
        assert_failure(
            &classify(&pods, AFTER_GRACE),
            reason::IMAGE_PULL_ERROR,
            &["demo-master-4xq9d"],
            kubelet,
        );
    }
}

#[test]
fn pods_being_deleted_are_not_a_health_failure() {
    // The worker Job was deleted while the test ran: its pods get SIGTERM and exit non-zero
    // while the operator recreates the Job. Those exits are the deletion, not the test failing.
    let pods = [
        master_pod(0).container(running("demo-master")).build(),
        worker_pod("old1", 0)
            .deleting(300)
            .container(terminated("demo-worker", 143, "Error"))
            .build(),
        worker_pod("new1", 300).container(running("demo-worker")).build(),
    ];
    let health = classify(&pods, 305);
    assert_eq!(health.reason, reason::PODS_HEALTHY, "{health:?}");
    let stuck = [worker_pod("old2", 0)
        .deleting(300)
        .container(waiting("demo-worker", "ContainerCreating", None))
        .build()];
    assert!(health::pods_stuck_creating(&stuck, at(305), DEFAULT_GRACE_PERIOD).is_empty());
}

#[test]
fn pods_as_the_operator_keeps_them_give_the_same_verdicts_as_whole_ones() {
    // Whole pods carry what a real pod has beyond what health reads, which is not kept.
    let whole = |mut pod: Pod| {
        pod.metadata.managed_fields = Some(vec![Default::default()]);
        pod.metadata.annotations = Some([("kubectl.kubernetes.io/restartedAt".to_string(), "x".to_string())].into());
        pod.spec.get_or_insert_with(Default::default).containers = vec![k8s_openapi::api::core::v1::Container {
            name: "locust".into(),
            image: Some("locustio/locust:2.31.0".into()),
            args: Some(vec!["--master".into(); 20]),
            ..Default::default()
        }];
        pod.status.get_or_insert_with(Default::default).pod_ip = Some("10.0.0.7".into());
        pod
    };
    let mut sets: Vec<Vec<Pod>> = failure_cases()
        .into_iter()
        .map(|case| vec![whole(case.pod), whole(healthy_worker("zz"))])
        .collect();
    sets.push(vec![whole(healthy_master()), whole(healthy_worker("a1"))]);
    sets.push(vec![whole(
        master_pod(0)
            .container(waiting("demo-master", "ContainerCreating", None))
            .build(),
    )]);
    for pods in sets {
        // As the watch delivers them, decoded from the API server's JSON, and as kept.
        let kept: Vec<Pod> = pods
            .iter()
            .map(|pod| {
                let observed: ObservedPod = serde_json::from_value(serde_json::to_value(pod).unwrap()).unwrap();
                let (namespace, test) = (
                    pod.metadata.namespace.as_deref().unwrap_or_default(),
                    observed.test().unwrap(),
                );
                observed.facts().to_pod(namespace, test)
            })
            .collect();
        for now in [0, 60, AFTER_GRACE] {
            assert_eq!(classify(&kept, now), classify(&pods, now), "at t={now}: {pods:#?}");
            assert_eq!(
                health::pods_stuck_creating(&kept, at(now), DEFAULT_GRACE_PERIOD),
                health::pods_stuck_creating(&pods, at(now), DEFAULT_GRACE_PERIOD)
            );
        }
    }
}
