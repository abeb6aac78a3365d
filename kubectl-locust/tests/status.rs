//! `kubectl locust status` and `logs` through the real binary, against the in-memory API server
//! served on 127.0.0.1 with a kubeconfig pointing at it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use integration_tests::fake_api::{FakeApi, HttpServer};
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use shared::api::v2::LocustTest;
use tokio::process::Command;

const NS: &str = "load";

struct Cluster {
    fake: FakeApi,
    _server: HttpServer,
    _home: tempfile::TempDir,
    kubeconfig: PathBuf,
}

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Cluster {
    async fn start() -> Self {
        let fake = FakeApi::new("2026-11-22T10:00:00Z".parse::<Timestamp>().unwrap());
        let server = fake.serve_http().await.unwrap();
        let home = tempfile::tempdir().unwrap();
        let kubeconfig = home.path().join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig(NS)).unwrap();
        Self {
            fake,
            _server: server,
            _home: home,
            kubeconfig,
        }
    }

    async fn run(&self, args: &[&str]) -> Finished {
        let child = Command::new(env!("CARGO_BIN_EXE_kubectl-locust"))
            .args(args)
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .expect("the plugin ends within a minute")
            .unwrap();
        Finished {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    fn add_test(&self, name: &str, namespace: &str, status: Value) {
        self.fake.insert(json!({
            "apiVersion": "locust.io/v2", "kind": "LocustTest",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"image": "locustio/locust:2.20.0", "master": {"command": "--locustfile /lotest/src/t.py"},
                     "worker": {"command": "--locustfile /lotest/src/t.py", "replicas": 4}},
            "status": status,
        }));
    }
}

fn running() -> Value {
    json!({"phase": "Running", "expectedWorkers": 4, "connectedWorkers": 3, "startTime": "2026-11-22T10:00:10Z",
           "conditions": [{"type": "WorkersConnected", "status": "False", "reason": "WaitingForWorkers",
                           "message": "3/4 workers connected", "lastTransitionTime": "2026-11-22T10:00:10Z"}],
           "stats": {"state": "running", "users": 100, "totalRequests": 5000, "totalFailures": 50,
                     "failRatio": 0.01, "failPercent": 1.0, "currentRps": 123.4, "medianResponseTime": 40.0,
                     "p95ResponseTime": 120.0}})
}

fn image_pull_failed() -> Value {
    json!({"phase": "Failed", "expectedWorkers": 4, "connectedWorkers": 0,
           "conditions": [{"type": "PodsHealthy", "status": "False", "reason": "ImagePullError",
                           "message": "pod checkout-worker-x: Back-off pulling image", "lastTransitionTime": "2026-11-22T10:03:00Z"}]})
}

#[tokio::test]
async fn the_table_lists_phase_workers_rps_and_fail_percent_and_wide_adds_the_problem() {
    let cluster = Cluster::start().await;
    cluster.add_test("checkout", NS, running());
    cluster.add_test("login", NS, image_pull_failed());
    cluster.add_test("elsewhere", "other", json!({}));
    let done = cluster.run(&["status"]).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert!(
        lines[0].starts_with("NAME") && lines[0].contains("CONNECTED") && lines[0].contains("FAIL%"),
        "{}",
        done.stdout
    );
    let checkout: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(
        &checkout[..6],
        ["checkout", "Running", "4", "3", "123.4", "1.00"],
        "{}",
        done.stdout
    );
    assert!(!done.stdout.contains("elsewhere"), "{}", done.stdout);

    let wide = cluster.run(&["status", "-o", "wide"]).await;
    assert!(
        wide.stdout.contains("ImagePullError") && wide.stdout.contains("locustio/locust:2.20.0"),
        "{}",
        wide.stdout
    );

    let all = cluster.run(&["status", "-A"]).await;
    assert!(
        all.stdout.starts_with("NAMESPACE") && all.stdout.contains("elsewhere"),
        "{}",
        all.stdout
    );
}

#[tokio::test]
async fn the_detail_view_shows_conditions_stats_events_and_next_steps() {
    let cluster = Cluster::start().await;
    cluster.add_test("login", NS, image_pull_failed());
    cluster.fake.insert(json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": {"name": "login.1", "namespace": NS},
        "regarding": {"kind": "LocustTest", "name": "login"}, "reason": "PodsUnhealthy", "type": "Warning",
        "note": "image cannot be pulled", "eventTime": "2026-11-22T10:03:00.000000Z",
        "reportingController": "x", "reportingInstance": "y", "action": "Reconcile"
    }));
    let done = cluster.run(&["status", "login"]).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    for expected in [
        "Phase:      Failed",
        "Workers:    0/4 connected",
        "ImagePullError",
        "no statistics yet",
        "PodsUnhealthy",
        "image cannot be pulled",
        "Next steps",
        "check spec.image (locustio/locust:2.20.0)",
    ] {
        assert!(done.stdout.contains(expected), "{expected:?} missing:\n{}", done.stdout);
    }
}

#[tokio::test]
async fn json_yaml_and_name_outputs_are_what_the_cluster_holds() {
    let cluster = Cluster::start().await;
    cluster.add_test("checkout", NS, running());
    let json_out = cluster.run(&["status", "checkout", "-o", "json"]).await;
    let printed: LocustTest = serde_json::from_str(&json_out.stdout).unwrap();
    let stored: LocustTest = cluster.fake.get(NS, "checkout").unwrap();
    assert_eq!(printed, stored);
    let list: Value = serde_json::from_str(&cluster.run(&["status", "-o", "json"]).await.stdout).unwrap();
    assert_eq!(list["kind"], "List");
    assert_eq!(list["items"][0]["metadata"]["name"], "checkout");
    let yaml: Value = serde_yaml::from_str(&cluster.run(&["status", "checkout", "-o", "yaml"]).await.stdout).unwrap();
    assert_eq!(yaml["status"]["phase"], "Running");
    assert_eq!(
        cluster.run(&["status", "-o", "name"]).await.stdout.trim(),
        "locusttest.locust.io/checkout"
    );
}

#[tokio::test]
async fn errors_say_what_to_do() {
    let cluster = Cluster::start().await;
    cluster.add_test("checkout", NS, running());
    let typo = cluster.run(&["status", "chekout"]).await;
    assert_eq!(typo.code, Some(1));
    assert!(typo.stderr.contains("did you mean: checkout"), "{}", typo.stderr);

    let empty = cluster.run(&["status", "-n", "nothing-here"]).await;
    assert_eq!(empty.code, Some(0));
    assert!(
        empty.stderr.contains("No LocustTests found in namespace nothing-here"),
        "{}",
        empty.stderr
    );

    cluster.fake.forbid("GET", "locusttests");
    let denied = cluster.run(&["status"]).await;
    assert!(
        denied
            .stderr
            .contains("permission denied: you may not list locusttests.locust.io"),
        "{}",
        denied.stderr
    );

    let cluster = Cluster::start().await;
    cluster.fake.remove_group("locust.io");
    let missing = cluster.run(&["status", "checkout"]).await;
    assert!(
        missing.stderr.contains("not installed") && missing.stderr.contains("helm install"),
        "{}",
        missing.stderr
    );
}

fn pod_labels(test: &str, role: shared::naming::Role) -> BTreeMap<String, String> {
    shared::naming::pod_labels(test, role, None)
}

#[tokio::test]
async fn logs_of_the_master_by_default_workers_with_prefixes_and_tail() {
    let cluster = Cluster::start().await;
    cluster.add_test("checkout", NS, running());
    cluster.fake.add_pod(
        NS,
        "checkout-master-abcde",
        &pod_labels("checkout", shared::naming::Role::Master),
        json!({}),
    );
    cluster.fake.add_pod(
        NS,
        "checkout-worker-aaaaa",
        &pod_labels("checkout", shared::naming::Role::Worker),
        json!({}),
    );
    cluster.fake.add_pod(
        NS,
        "checkout-worker-bbbbb",
        &pod_labels("checkout", shared::naming::Role::Worker),
        json!({}),
    );
    cluster
        .fake
        .set_pod_log(NS, "checkout-master-abcde", "master line 1\nmaster line 2\n");
    cluster.fake.set_pod_log(NS, "checkout-worker-aaaaa", "worker a\n");
    cluster
        .fake
        .set_pod_log(NS, "checkout-worker-bbbbb", "worker b 1\nworker b 2\n");

    let master = cluster.run(&["logs", "checkout"]).await;
    assert_eq!(master.code, Some(0), "{}", master.stderr);
    assert_eq!(master.stdout, "master line 1\nmaster line 2\n");

    let workers = cluster.run(&["logs", "checkout", "--workers", "--tail", "1"]).await;
    let mut lines: Vec<&str> = workers.stdout.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        ["[checkout-worker-aaaaa] worker a", "[checkout-worker-bbbbb] worker b 2"]
    );

    let all = cluster.run(&["logs", "checkout", "--all"]).await;
    assert_eq!(all.stdout.lines().count(), 5, "{}", all.stdout);
}

#[tokio::test]
async fn logs_without_pods_explain_why() {
    let cluster = Cluster::start().await;
    cluster.add_test("done", NS, json!({"phase": "Succeeded"}));
    cluster.add_test("starting", NS, json!({"phase": "Pending"}));
    let gone = cluster.run(&["logs", "done"]).await;
    assert_eq!(gone.code, Some(1));
    assert!(
        gone.stderr.contains("pods of test done are gone") && gone.stderr.contains("final statistics"),
        "{}",
        gone.stderr
    );
    let pending = cluster.run(&["logs", "starting"]).await;
    assert!(
        pending.stderr.contains("no pods yet for test starting"),
        "{}",
        pending.stderr
    );
    let typo = cluster.run(&["logs", "don"]).await;
    assert!(typo.stderr.contains("did you mean: done"), "{}", typo.stderr);
}

#[tokio::test]
async fn an_unreachable_cluster_is_named_with_what_to_do() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\nusers:\n- name: u\n  user: {{}}\ncontexts:\n- name: c\n  context: {{cluster: c, user: u, namespace: load}}\ncurrent-context: c\n"
        ),
    )
    .unwrap();
    let output = tokio::time::timeout(
        Duration::from_secs(60),
        Command::new(env!("CARGO_BIN_EXE_kubectl-locust"))
            .args(["status", "--kubeconfig"])
            .arg(&kubeconfig)
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot reach the cluster at http://127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("--context") && stderr.contains("run --local"),
        "{stderr}"
    );
}

#[tokio::test]
async fn watch_prints_a_row_again_when_a_test_changes() {
    use tokio::io::AsyncBufReadExt;
    let cluster = Cluster::start().await;
    cluster.add_test("checkout", NS, json!({"phase": "Pending"}));
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubectl-locust"))
        .args(["status", "-w", "--kubeconfig"])
        .arg(&cluster.kubeconfig)
        .env("NO_COLOR", "1")
        .env("KUBECTL_LOCUST_POLL_INTERVAL", "100ms")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut next_line = async || {
        tokio::time::timeout(Duration::from_secs(10), lines.next_line())
            .await
            .expect("a line within 10 s")
            .unwrap()
            .expect("the watch keeps going")
    };
    assert!(next_line().await.starts_with("NAME"));
    assert!(next_line().await.contains("Pending"));
    cluster.fake.set_status::<LocustTest>(
        NS,
        "checkout",
        json!({"phase": "Running", "expectedWorkers": 4, "connectedWorkers": 4}),
    );
    let changed = next_line().await;
    assert!(
        changed.starts_with("checkout") && changed.contains("Running"),
        "{changed}"
    );
    child.kill().await.unwrap();
}
