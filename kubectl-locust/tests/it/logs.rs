//! `kubectl locust logs` through the real binary, against the in-memory API server served on
//! 127.0.0.1 with a kubeconfig pointing at it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use shared::naming::{Role, pod_labels};

use crate::support::{Cluster, NS};

impl Cluster {
    fn add_test(&self, name: &str, status: Value) {
        self.fake.insert(json!({
            "apiVersion": "locust.io/v2", "kind": "LocustTest",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"image": "locustio/locust:2.20.0", "master": {"command": "--locustfile /lotest/src/t.py"},
                     "worker": {"command": "--locustfile /lotest/src/t.py", "replicas": 2}},
            "status": status,
        }));
    }

    /// A running pod of `test`'s `role` with `log` as its log.
    fn add_running_pod(&self, test: &str, role: Role, pod: &str, log: &str) {
        self.fake.add_pod(
            NS,
            pod,
            &pod_labels(test, role, None),
            json!({"phase": "Running", "containerStatuses": [{
                "name": "locust", "image": "locustio/locust:2.20.0", "imageID": "", "ready": true,
                "restartCount": 0, "state": {"running": {"startedAt": "2026-11-22T10:00:05Z"}}}]}),
        );
        self.fake.set_pod_log(NS, pod, log);
    }

    /// `checkout`, running, with a master and two workers, each with its own log.
    fn running_test(&self) {
        self.add_test("checkout", json!({"phase": "Running"}));
        self.add_running_pod(
            "checkout",
            Role::Master,
            "checkout-master-abcde",
            "Starting Locust 2.20.0\nAll users spawned\n",
        );
        self.add_running_pod(
            "checkout",
            Role::Worker,
            "checkout-worker-bbbbb",
            "worker b 1\nworker b 2\n",
        );
        self.add_running_pod(
            "checkout",
            Role::Worker,
            "checkout-worker-aaaaa",
            "worker a 1\nworker a 2\n",
        );
        // Another test's pods never show up.
        self.add_test("checkout-v2", json!({"phase": "Running"}));
        self.add_running_pod("checkout-v2", Role::Master, "checkout-v2-master-zzzzz", "other test\n");
    }
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

#[tokio::test]
async fn the_masters_log_by_default_without_prefixes() {
    let cluster = Cluster::start().await;
    cluster.running_test();
    let master = cluster.run(&["logs", "checkout"]).await;
    assert_eq!(master.code, Some(0), "{}", master.stderr);
    assert_eq!(master.stdout, "Starting Locust 2.20.0\nAll users spawned\n");
    assert_eq!(master.stderr, "");

    let prefixed = cluster.run(&["logs", "checkout", "--prefix"]).await;
    assert_eq!(
        prefixed.stdout,
        "[checkout-master-abcde] Starting Locust 2.20.0\n[checkout-master-abcde] All users spawned\n"
    );
}

#[tokio::test]
async fn workers_and_all_are_prefixed_with_their_pods_and_tail_cuts_each_log() {
    let cluster = Cluster::start().await;
    cluster.running_test();

    let workers = cluster.run(&["logs", "checkout", "--workers"]).await;
    assert_eq!(workers.code, Some(0), "{}", workers.stderr);
    assert_eq!(
        sorted_lines(&workers.stdout),
        [
            "[checkout-worker-aaaaa] worker a 1",
            "[checkout-worker-aaaaa] worker a 2",
            "[checkout-worker-bbbbb] worker b 1",
            "[checkout-worker-bbbbb] worker b 2",
        ]
    );
    // Each pod's lines stay in their order.
    let b_lines: Vec<&str> = workers.stdout.lines().filter(|l| l.contains("bbbbb")).collect();
    assert_eq!(
        b_lines,
        [
            "[checkout-worker-bbbbb] worker b 1",
            "[checkout-worker-bbbbb] worker b 2"
        ]
    );

    let tail = cluster.run(&["logs", "checkout", "--all", "--tail", "1"]).await;
    assert_eq!(
        sorted_lines(&tail.stdout),
        [
            "[checkout-master-abcde] All users spawned",
            "[checkout-worker-aaaaa] worker a 2",
            "[checkout-worker-bbbbb] worker b 2",
        ]
    );

    let bare = cluster.run(&["logs", "checkout", "--workers", "--prefix=false"]).await;
    assert_eq!(
        sorted_lines(&bare.stdout),
        ["worker a 1", "worker a 2", "worker b 1", "worker b 2"]
    );
}

#[tokio::test]
async fn a_finished_test_whose_pods_are_gone_points_at_its_final_statistics() {
    let cluster = Cluster::start().await;
    cluster.add_test("done", json!({"phase": "Succeeded"}));
    let gone = cluster.run(&["logs", "done"]).await;
    assert_eq!(gone.code, Some(1));
    assert_eq!(gone.stdout, "");
    assert!(
        gone.stderr
            .contains("the master pod of test done is gone: the test Succeeded")
            && gone.stderr.contains("ttlSecondsAfterFinished")
            && gone
                .stderr
                .contains("`kubectl locust status done -n load` shows the final statistics"),
        "{}",
        gone.stderr
    );
}

#[tokio::test]
async fn a_pending_test_has_no_pods_yet() {
    let cluster = Cluster::start().await;
    cluster.add_test("starting", json!({"phase": "Pending"}));
    let pending = cluster.run(&["logs", "starting", "--workers"]).await;
    assert_eq!(pending.code, Some(1));
    assert!(
        pending
            .stderr
            .contains("test starting has no worker pods yet (phase Pending)")
            && pending.stderr.contains("retry in a moment"),
        "{}",
        pending.stderr
    );
}

#[tokio::test]
async fn a_pod_still_creating_is_explained_not_shown_as_an_api_error() {
    let cluster = Cluster::start().await;
    cluster.add_test("checkout", json!({"phase": "Pending"}));
    cluster.fake.add_pod(
        NS,
        "checkout-master-abcde",
        &pod_labels("checkout", Role::Master, None),
        json!({"phase": "Pending", "containerStatuses": [{
            "name": "locust", "image": "locustio/locust:2.20.0", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}),
    );
    // The API server answers 400 for the log of a container that has not started.
    cluster.fake.fail_next("GET", "/pods/checkout-master-abcde/log", 400);
    let creating = cluster.run(&["logs", "checkout"]).await;
    assert_eq!(creating.code, Some(1));
    assert!(
        creating
            .stderr
            .contains("pod checkout-master-abcde has not started yet (ContainerCreating), so it has no log"),
        "{}",
        creating.stderr
    );
    assert!(!creating.stderr.contains("injected"), "{}", creating.stderr);
}

#[tokio::test]
async fn a_mistyped_test_name_gets_close_names() {
    let cluster = Cluster::start().await;
    cluster.running_test();
    let typo = cluster.run(&["logs", "chekout"]).await;
    assert_eq!(typo.code, Some(1));
    assert!(typo.stderr.contains("did you mean: checkout"), "{}", typo.stderr);
}
