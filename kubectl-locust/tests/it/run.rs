//! `kubectl locust run` in cluster mode, through the real binary: `--dry-run` with no cluster at
//! all, submission against an in-memory API server served on 127.0.0.1 (what is created, in which
//! order, and what is left after a failure), and `--wait` with its exit codes. Every child
//! process is bounded by a timeout.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::support::{Cluster, Finished, NS, finish, plugin};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};
use shared::api::v2::LocustTest;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run")
}

/// The isolated plugin, run in the fixtures directory (arguments name fixture files).
fn plugin_in_fixtures(home: &Path, args: &[&str]) -> tokio::process::Command {
    let mut command = plugin(home, args);
    command.current_dir(fixtures());
    command
}

async fn run_offline(args: &[&str]) -> Finished {
    let home = tempfile::tempdir().unwrap();
    finish(plugin_in_fixtures(home.path(), args).spawn().unwrap()).await
}

// ---------------------------------------------------------------------------------------------
// --dry-run: no cluster, no kubeconfig

#[tokio::test]
async fn dry_run_prints_the_configmaps_and_the_test_as_yaml_without_any_cluster() {
    let run = run_offline(&[
        "run",
        "shop",
        "--locustfile",
        "demo.py",
        "--lib",
        "lib",
        "--workers",
        "3",
        "--users",
        "100",
        "--spawn-rate",
        "10",
        "--host",
        "https://shop.example",
        "--env",
        "TARGET_ENV=staging",
        "--worker-arg=--only-summary",
        "--dry-run",
    ])
    .await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    insta::assert_snapshot!("dry_run_yaml", run.stdout);

    // What it prints is a test the API server would take: it passes the CRD's own rules.
    let documents: Vec<&str> = run.stdout.split("---\n").collect();
    assert_eq!(documents.len(), 3, "{}", run.stdout);
    let test = shared::validation::parse_and_validate(documents[2]).expect("a valid LocustTest");
    assert_eq!(test.metadata.namespace.as_deref(), Some("default"));
}

#[tokio::test]
async fn dry_run_json_is_a_list_and_the_master_command_holds_exactly_the_flags_given() {
    let run = run_offline(&[
        "run",
        "shop",
        "--locustfile",
        "demo.py",
        "--run-time",
        "90s",
        "--users",
        "5",
        "--dry-run",
        "-o",
        "json",
        "-n",
        "perf",
    ])
    .await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    let list: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(list["kind"], "List");
    let items = list["items"].as_array().unwrap();
    let kinds: Vec<&str> = items.iter().map(|item| item["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["ConfigMap", "LocustTest"]);
    assert_eq!(items[0]["apiVersion"], "v1");
    assert!(items[0]["data"]["demo.py"].as_str().unwrap().contains("class Shopper"));
    let test: LocustTest = serde_json::from_value(items[1].clone()).unwrap();
    shared::validation::validate(&test).expect("valid");
    assert_eq!(test.metadata.namespace.as_deref(), Some("perf"));
    assert_eq!(
        test.spec.master.command,
        "--locustfile /lotest/src/demo.py --users 5 --run-time 90s"
    );
    assert_eq!(test.spec.worker.command, "--locustfile /lotest/src/demo.py");
}

#[tokio::test]
async fn dry_run_names_and_binary_lib_files() {
    let lib = tempfile::tempdir().unwrap();
    std::fs::write(lib.path().join("helpers.py"), "X = 1\n").unwrap();
    std::fs::write(lib.path().join("users.bin"), [0xff, 0xfe, 0x00, 0x01]).unwrap();
    let lib_dir = lib.path().to_str().unwrap();
    let names = run_offline(&[
        "run",
        "shop",
        "--locustfile",
        "demo.py",
        "--lib",
        lib_dir,
        "--dry-run",
        "-o",
        "name",
    ])
    .await;
    assert_eq!(names.code, Some(0), "{}", names.both());
    assert_eq!(
        names.stdout,
        "configmap/shop-files\nconfigmap/shop-lib\nlocusttest.locust.io/shop\n"
    );

    let json = run_offline(&[
        "run",
        "shop",
        "--locustfile",
        "demo.py",
        "--lib",
        lib_dir,
        "--dry-run",
        "-o",
        "json",
    ])
    .await;
    let list: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let lib_map = &list["items"][1];
    assert_eq!(lib_map["metadata"]["name"], "shop-lib");
    assert_eq!(lib_map["data"]["helpers.py"], "X = 1\n");
    assert_eq!(
        lib_map["binaryData"]["users.bin"], "//4AAQ==",
        "base64 of the raw bytes"
    );
}

#[tokio::test]
async fn dry_run_takes_the_namespace_of_the_kubeconfig_context_without_contacting_it() {
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("config");
    // Port 1 on loopback: nothing answers, so any request would fail the run.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster: {server: 'http://127.0.0.1:1'}\n\
         users:\n- name: u\n  user: {token: t}\ncontexts:\n- name: team\n  context: {cluster: c, user: u, namespace: team-a}\n\
         current-context: team\n",
    )
    .unwrap();
    let mut command = plugin_in_fixtures(
        home.path(),
        &["run", "shop", "--locustfile", "demo.py", "--dry-run", "-o", "json"],
    );
    command.env("KUBECONFIG", &kubeconfig);
    let run = finish(command.spawn().unwrap()).await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(list["items"][1]["metadata"]["namespace"], "team-a");
}

#[tokio::test]
async fn a_manifest_is_checked_and_printed_and_can_come_from_standard_input() {
    let run = run_offline(&["run", "-f", "valid.yaml", "--dry-run", "-o", "name"]).await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    assert_eq!(run.stdout, "locusttest.locust.io/checkout\n");

    let home = tempfile::tempdir().unwrap();
    let mut command = plugin_in_fixtures(home.path(), &["run", "renamed", "-f", "-", "--dry-run", "-o", "json"]);
    command.stdin(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let manifest = std::fs::read(fixtures().join("valid.yaml")).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    tokio::io::AsyncWriteExt::write_all(&mut stdin, &manifest)
        .await
        .unwrap();
    drop(stdin);
    let run = finish(child).await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    let list: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        list["items"][0]["metadata"]["name"], "renamed",
        "NAME overrides metadata.name"
    );
    assert_eq!(list["items"][0]["spec"]["worker"]["replicas"], 2);
}

/// `run -f FILE` refused: exit 1, nothing printed as if it were fine, and an error naming the
/// file and holding every one of `needles`.
fn assert_invalid_manifest(run: &Finished, file: &str, needles: &[&str]) {
    assert_eq!(run.code, Some(1), "{}", run.both());
    assert!(
        run.stdout.is_empty(),
        "nothing printed as if it were fine: {}",
        run.both()
    );
    run.assert_stderr_has(format!("{file} is not a valid LocustTest"));
    for needle in needles {
        run.assert_stderr_has(needle);
    }
}

#[tokio::test]
async fn an_invalid_manifest_names_the_field_and_shows_the_right_form() {
    let run = run_offline(&["run", "-f", "extra-env-list.yaml", "--dry-run"]).await;
    assert_invalid_manifest(
        &run,
        "extra-env-list.yaml",
        &["spec.observability.openTelemetry.extraEnvVars", "must be a map"],
    );
    let run = run_offline(&["run", "-f", "name-too-long.yaml", "--dry-run"]).await;
    assert_invalid_manifest(&run, "name-too-long.yaml", &["metadata.name", "56"]);
}

#[tokio::test]
async fn quantities_the_api_server_would_refuse_are_refused_before_anything_is_sent() {
    // Each field with its value, and what to write instead.
    let needles = [
        "spec.worker.resources.limits.cpu: \"lots\" is not a Kubernetes quantity",
        "spec.master.resources.requests.memory: \"2 GB\" is not a Kubernetes quantity",
        "such as 500m, 2, 1.5",
    ];
    let run = run_offline(&["run", "-f", "bad-quantities.yaml", "--dry-run"]).await;
    assert_invalid_manifest(&run, "bad-quantities.yaml", &needles);
    let cluster = Cluster::start().await.in_dir(fixtures());
    let run = cluster.run(&["run", "-f", "bad-quantities.yaml"]).await;
    assert_invalid_manifest(&run, "bad-quantities.yaml", &needles);
    let requests: Vec<String> = cluster.fake.requests().iter().map(|r| r.summary()).collect();
    assert!(requests.is_empty(), "{requests:?}");
}

#[tokio::test]
async fn flags_that_mean_nothing_together_are_refused_before_anything_happens() {
    let run = run_offline(&["run", "shop", "--locustfile", "demo.py", "--dry-run", "--wait"]).await;
    assert_eq!(run.code, Some(2), "{}", run.both());
    run.assert_stderr_has("--wait");
    run.assert_stderr_has("--dry-run");
    let run = run_offline(&["run", "shop", "--locustfile", "demo.py", "--dry-run", "-o", "wide"]).await;
    assert_eq!(run.code, Some(2), "{}", run.both());
    run.assert_stderr_has("-o yaml, -o json or -o name");
}

// ---------------------------------------------------------------------------------------------
// Against an API server

impl Cluster {
    fn write_summaries(&self) -> Vec<String> {
        self.fake.writes().iter().map(|request| request.summary()).collect()
    }

    /// Waits (bounded) until `run` has created test `name`.
    async fn created(&self, name: &str) -> LocustTest {
        for _ in 0..400 {
            if let Some(test) = self.fake.get::<LocustTest>(NS, name) {
                return test;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!(
            "test {name} was never created; requests: {:?}",
            self.fake.requests().len()
        );
    }

    /// Sets the test's status and waits (bounded) until the plugin has read it at least once.
    async fn set_status_and_see_it_read(&self, name: &str, status: Value) {
        let path = format!("/locusttests/{name}");
        let reads_before = self.fake.requests_matching("GET", &path).len();
        self.fake.set_status::<LocustTest>(NS, name, status);
        for _ in 0..400 {
            if self.fake.requests_matching("GET", &path).len() > reads_before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the plugin never read {name} again");
    }

    fn set_status(&self, name: &str, status: Value) {
        self.fake.set_status::<LocustTest>(NS, name, status);
    }
}

const SHOP: &[&str] = &[
    "run",
    "shop",
    "--locustfile",
    "demo.py",
    "--lib",
    "lib",
    "--workers",
    "2",
];

#[tokio::test]
async fn configmaps_come_first_then_the_test_which_then_owns_them() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let run = cluster.run(SHOP).await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    assert_eq!(
        run.stdout,
        "configmap/shop-files created\nconfigmap/shop-lib created\nlocusttest.locust.io/shop created\n"
    );
    run.assert_stderr_has("kubectl locust status shop -n load");
    run.assert_stderr_has("kubectl locust logs shop -n load");

    assert_eq!(
        cluster.write_summaries(),
        [
            "POST /api/v1/namespaces/load/configmaps",
            "POST /api/v1/namespaces/load/configmaps",
            "POST /apis/locust.io/v2/namespaces/load/locusttests",
            "PATCH /api/v1/namespaces/load/configmaps/shop-files",
            "PATCH /api/v1/namespaces/load/configmaps/shop-lib",
        ]
    );
    let test = cluster.fake.get::<LocustTest>(NS, "shop").unwrap();
    let uid = test.metadata.uid.clone().unwrap();
    for name in ["shop-files", "shop-lib"] {
        let config_map = cluster.fake.get::<ConfigMap>(NS, name).unwrap();
        let owners = config_map.metadata.owner_references.unwrap_or_default();
        assert_eq!(owners.len(), 1, "{name}");
        assert_eq!(
            (
                owners[0].api_version.as_str(),
                owners[0].kind.as_str(),
                owners[0].name.as_str()
            ),
            ("locust.io/v2", "LocustTest", "shop")
        );
        assert_eq!(owners[0].uid, uid, "{name} belongs to the test that was created");
    }
    let files = cluster.fake.get::<ConfigMap>(NS, "shop-files").unwrap();
    assert!(files.data.unwrap()["demo.py"].contains("class Shopper"));
    assert_eq!(
        test.spec.test_files.unwrap().lib_config_map_ref.as_deref(),
        Some("shop-lib")
    );
}

#[tokio::test]
async fn a_failed_test_creation_deletes_the_configmaps_it_made() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    cluster.fake.fail_next("POST", "/locusttests", 500);
    let run = cluster.run(SHOP).await;
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("create locusttests.locust.io");
    assert!(
        cluster.fake.names::<ConfigMap>(NS).is_empty(),
        "{:?}",
        cluster.write_summaries()
    );
    assert!(cluster.fake.names::<LocustTest>(NS).is_empty());
    let deletes: Vec<String> = cluster
        .write_summaries()
        .into_iter()
        .filter(|write| write.starts_with("DELETE"))
        .collect();
    assert_eq!(deletes.len(), 2, "{:?}", cluster.write_summaries());
}

#[tokio::test]
async fn forbidden_creation_names_the_verb_the_resource_and_the_namespace_and_leaves_nothing() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    cluster.fake.forbid("POST", "locusttests");
    let run = cluster.run(SHOP).await;
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("you may not create locusttests.locust.io in namespace \"load\"");
    run.assert_stderr_has("kubectl auth can-i create locusttests.locust.io -n load");
    assert!(
        cluster.fake.names::<ConfigMap>(NS).is_empty(),
        "{:?}",
        cluster.write_summaries()
    );
}

#[tokio::test]
async fn an_existing_test_is_reported_with_how_to_replace_it_and_nothing_is_written() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    cluster.fake.insert(json!({
        "apiVersion": "locust.io/v2", "kind": "LocustTest",
        "metadata": {"name": "shop", "namespace": NS},
        "spec": {"image": "locustio/locust:2.20.0", "master": {"command": "--locustfile /lotest/src/x.py"},
                 "worker": {"command": "--locustfile /lotest/src/x.py", "replicas": 1}},
    }));
    let run = cluster.run(SHOP).await;
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("LocustTest \"shop\" already exists in namespace \"load\"");
    run.assert_stderr_has("kubectl delete lotest shop -n load");
    assert!(cluster.fake.writes().is_empty(), "{:?}", cluster.write_summaries());
}

#[tokio::test]
async fn a_leftover_configmap_is_named_and_the_ones_already_made_are_removed() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    cluster.fake.insert(json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "shop-lib", "namespace": NS}, "data": {"old.py": ""},
    }));
    let run = cluster.run(SHOP).await;
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("ConfigMap \"shop-lib\" already exists in namespace \"load\"");
    run.assert_stderr_has("kubectl delete configmap shop-lib -n load");
    assert_eq!(
        cluster.fake.names::<ConfigMap>(NS),
        ["shop-lib"],
        "shop-files was removed again"
    );
    assert!(cluster.fake.names::<LocustTest>(NS).is_empty());
}

#[tokio::test]
async fn without_the_crd_the_error_says_how_to_install_the_operator() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    cluster.fake.remove_group("locust.io");
    let run = cluster.run(SHOP).await;
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("is not installed in this cluster");
    run.assert_stderr_has("helm install locust-operator");
    assert!(cluster.fake.writes().is_empty(), "{:?}", cluster.write_summaries());
}

#[tokio::test]
async fn a_configmap_over_1_mib_is_refused_with_the_largest_files_before_any_request() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("test.py"), "from locust import HttpUser\n").unwrap();
    std::fs::write(dir.path().join("products.csv"), "x".repeat(1_100_000)).unwrap();
    std::fs::write(dir.path().join("small.py"), "Y = 2\n").unwrap();
    let locustfile = dir.path().join("test.py");
    let run = cluster
        .run(&[
            "run",
            "big",
            "--locustfile",
            locustfile.to_str().unwrap(),
            "--lib",
            dir.path().to_str().unwrap(),
        ])
        .await;
    assert_eq!(run.code, Some(2), "{}", run.both());
    run.assert_stderr_has("1 MiB");
    run.assert_stderr_has("products.csv (1100000 bytes)");
    run.assert_stderr_has("custom image");
    assert!(cluster.fake.writes().is_empty(), "{:?}", cluster.write_summaries());
}

// ---------------------------------------------------------------------------------------------
// --wait

fn stats(users: i64, requests: i64, failures: i64, rps: f64) -> Value {
    let ratio = if requests == 0 {
        0.0
    } else {
        failures as f64 / requests as f64
    };
    json!({
        "state": "running", "users": users, "totalRequests": requests, "totalFailures": failures,
        "failRatio": ratio, "failPercent": (ratio * 10000.0).round() / 100.0, "currentRps": rps,
        "medianResponseTime": 41.0, "p95ResponseTime": 120.0,
    })
}

#[tokio::test]
async fn wait_follows_the_test_to_success_and_prints_a_summary() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let mut args = SHOP.to_vec();
    args.extend(["--users", "100", "--wait", "--timeout", "50s"]);
    let child = cluster.command(&args).spawn().unwrap();
    cluster.created("shop").await;
    cluster
        .set_status_and_see_it_read(
            "shop",
            json!({"phase": "Running", "expectedWorkers": 2, "connectedWorkers": 2,
               "startTime": "2026-11-22T10:00:00Z", "stats": stats(100, 5000, 5, 123.4)}),
        )
        .await;
    cluster.set_status(
        "shop",
        json!({"phase": "Succeeded", "expectedWorkers": 2, "connectedWorkers": 2,
               "startTime": "2026-11-22T10:00:00Z", "completionTime": "2026-11-22T10:02:05Z",
               "conditions": [{"type": "TestCompleted", "status": "True", "reason": "TestSucceeded",
                               "message": "the test ended", "lastTransitionTime": "2026-11-22T10:02:05Z"}],
               "stats": stats(0, 12000, 12, 98.5)}),
    );
    let run = finish(child).await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    // The progress line, printed once per change on a non-terminal.
    run.assert_stderr_has("shop  Running  workers 2/2  users 100  rps 123.4  failures 5 (0.10%)");
    assert_eq!(
        run.stderr.matches("shop  Running").count(),
        1,
        "an unchanged status is not printed again: {}",
        run.both()
    );
    let summary = run
        .stdout
        .split("locusttest.locust.io/shop created\n")
        .nth(1)
        .unwrap_or_default();
    insta::assert_snapshot!("wait_succeeded_summary", summary);
}

#[tokio::test]
async fn wait_on_a_failed_test_exits_3_with_the_reason_and_where_to_look() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let child = cluster.command(&["run", "-f", "valid.yaml", "--wait"]).spawn().unwrap();
    cluster.created("checkout").await;
    cluster.set_status(
        "checkout",
        json!({"phase": "Failed", "expectedWorkers": 2, "connectedWorkers": 2,
               "startTime": "2026-11-22T10:00:00Z", "completionTime": "2026-11-22T10:00:40Z",
               "conditions": [
                   {"type": "TestCompleted", "status": "True", "reason": "TestFailed",
                    "message": "the master exited with code 1", "lastTransitionTime": "2026-11-22T10:00:40Z"},
                   {"type": "PodsHealthy", "status": "False", "reason": "CrashLoopBackOff",
                    "message": "pod checkout-worker-abc: container locust is crash looping", "lastTransitionTime": "2026-11-22T10:00:30Z"},
                   {"type": "Ready", "status": "True", "reason": "ResourcesCreated",
                    "message": "all resources created", "lastTransitionTime": "2026-11-22T10:00:01Z"}],
               "stats": stats(0, 200, 200, 0.0)}),
    );
    let run = finish(child).await;
    assert_eq!(run.code, Some(3), "{}", run.both());
    run.assert_stdout_has("Test checkout Failed");
    run.assert_stdout_has("TestCompleted TestFailed: the master exited with code 1");
    run.assert_stdout_has("PodsHealthy CrashLoopBackOff");
    assert!(
        !run.stdout.contains("ResourcesCreated"),
        "an OK condition is not a reason: {}",
        run.both()
    );
    run.assert_stdout_has("kubectl locust logs checkout -n load");
}

#[tokio::test]
async fn wait_gives_up_at_the_timeout_with_exit_4_and_leaves_the_test_running() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let started = std::time::Instant::now();
    let run = cluster
        .run(&["run", "shop", "--locustfile", "demo.py", "--wait", "--timeout", "1s"])
        .await;
    assert_eq!(run.code, Some(4), "{}", run.both());
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    run.assert_stderr_has("timed out after 1s; the test keeps running in the cluster");
    run.assert_stderr_has("kubectl delete lotest shop -n load");
    assert!(
        cluster.fake.get::<LocustTest>(NS, "shop").is_some(),
        "the test is not deleted"
    );
}

#[tokio::test]
async fn a_test_deleted_while_waiting_is_an_error() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let child = cluster
        .command(&["run", "shop", "--locustfile", "demo.py", "--wait", "--timeout", "50s"])
        .spawn()
        .unwrap();
    cluster.created("shop").await;
    cluster.set_status("shop", json!({"phase": "Pending", "expectedWorkers": 1}));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(cluster.fake.delete::<LocustTest>(NS, "shop"));
    let run = finish(child).await;
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("LocustTest \"shop\" was deleted from namespace \"load\" while waiting");
}

#[tokio::test]
async fn ctrl_c_stops_waiting_with_130_and_the_test_keeps_running() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let child = cluster
        .command(&["run", "shop", "--locustfile", "demo.py", "--wait", "--timeout", "50s"])
        .spawn()
        .unwrap();
    cluster.created("shop").await;
    // Two reads after the pre-check mean the wait loop, and with it the Ctrl-C handler, runs.
    for _ in 0..400 {
        if cluster.fake.requests_matching("GET", "/locusttests/shop").len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let pid = child.id().unwrap().to_string();
    let kill = std::process::Command::new("kill")
        .args(["-s", "INT", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    let run = finish(child).await;
    assert_eq!(run.code, Some(130), "{}", run.both());
    run.assert_stderr_has("stopped waiting; the test keeps running");
    assert!(cluster.fake.get::<LocustTest>(NS, "shop").is_some());
}

/// The status the operator leaves on a run Locust passed but whose results breached its
/// thresholds (`shared::status::thresholds::conclude`), with its report saved.
fn breached(message: &str) -> Value {
    json!({"phase": "Failed", "expectedWorkers": 2, "connectedWorkers": 2,
           "startTime": "2026-11-22T10:00:00Z", "completionTime": "2026-11-22T10:02:05Z",
           "conditions": [
               {"type": "Ready", "status": "True", "reason": "ResourcesCreated",
                "message": "all resources created", "lastTransitionTime": "2026-11-22T10:00:01Z"},
               {"type": "TestCompleted", "status": "True", "reason": "ThresholdsBreached",
                "message": message, "lastTransitionTime": "2026-11-22T10:02:05Z"},
               {"type": "ThresholdsMet", "status": "False", "reason": "ThresholdsBreached",
                "message": message, "lastTransitionTime": "2026-11-22T10:02:05Z"}],
           "stats": stats(0, 12000, 12, 98.5),
           "thresholds": [
               {"subject": "all requests", "limit": "maxFailRatio", "allowed": 0.01, "measured": 0.001, "met": true},
               {"subject": "all requests", "limit": "maxP95ResponseTimeMs", "allowed": 250.0, "measured": 120.0, "met": true},
               {"subject": "POST /checkout", "limit": "maxP95ResponseTimeMs", "allowed": 500.0, "measured": 812.0, "met": false}],
           "report": {"configMap": "checkout-report", "files": ["failures.csv", "report.html", "requests.csv", "stats.json"],
                      "savedTime": "2026-11-22T10:02:03Z"}})
}

#[tokio::test]
async fn wait_on_a_thresholds_breach_exits_3_with_each_limit_against_what_was_measured() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let child = cluster
        .command(&["run", "-f", "thresholds.yaml", "--wait", "--timeout", "50s"])
        .spawn()
        .unwrap();
    cluster.created("checkout").await;
    let created = cluster.fake.get::<LocustTest>(NS, "checkout").unwrap();
    assert!(
        created.spec.thresholds.is_some(),
        "the manifest's thresholds are submitted"
    );
    cluster.set_status(
        "checkout",
        breached("thresholds breached: p95 response time of POST /checkout: 812 ms, allowed at most 500 ms"),
    );
    let run = finish(child).await;
    assert_eq!(run.code, Some(3), "{}", run.both());
    let summary = run
        .stdout
        .split("locusttest.locust.io/checkout created\n")
        .nth(1)
        .unwrap_or_default();
    insta::assert_snapshot!("wait_thresholds_breached_summary", summary);
    for expected in [
        "thresholds breached: 1 of 3 limits",
        "met      p95 response time of all requests: 120 ms, allowed at most 250 ms",
        "BREACHED p95 response time of POST /checkout: 812 ms, allowed at most 500 ms",
        "report     `kubectl locust report checkout -n load` (Locust's report, kept in ConfigMap checkout-report)",
    ] {
        run.assert_stdout_has(expected);
    }

    // Nothing to check them on: Failed too, never a silent pass.
    let cluster = Cluster::start().await.in_dir(fixtures());
    let child = cluster
        .command(&["run", "-f", "thresholds.yaml", "--wait"])
        .spawn()
        .unwrap();
    cluster.created("checkout").await;
    let why = "the thresholds could not be checked: no statistics were read from the master before it ended";
    let mut status = breached(why);
    status["conditions"][1]["reason"] = json!("ThresholdsUnverified");
    status["conditions"][2]["reason"] = json!("StatisticsUnavailable");
    status["thresholds"] = json!([]);
    status.as_object_mut().unwrap().remove("stats");
    cluster.set_status("checkout", status);
    let run = finish(child).await;
    assert_eq!(run.code, Some(3), "{}", run.both());
    run.assert_stdout_has("thresholds not checked");
    run.assert_stdout_has(why);
}

#[tokio::test]
async fn wait_on_thresholds_met_exits_0_and_says_so() {
    let cluster = Cluster::start().await.in_dir(fixtures());
    let child = cluster
        .command(&["run", "-f", "thresholds.yaml", "--wait"])
        .spawn()
        .unwrap();
    cluster.created("checkout").await;
    let mut status = breached("all 3 thresholds met");
    status["phase"] = json!("Succeeded");
    status["conditions"][1]["reason"] = json!("TestSucceeded");
    status["conditions"][2] = json!({"type": "ThresholdsMet", "status": "True", "reason": "ThresholdsMet",
        "message": "all 3 thresholds met", "lastTransitionTime": "2026-11-22T10:02:05Z"});
    status["thresholds"][2]["measured"] = json!(312.0);
    status["thresholds"][2]["met"] = json!(true);
    cluster.set_status("checkout", status);
    let run = finish(child).await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    run.assert_stdout_has("thresholds all 3 met");
    run.assert_stdout_has("met      p95 response time of POST /checkout: 312 ms, allowed at most 500 ms");
    run.assert_stdout_has(
        "report     `kubectl locust report checkout -n load` (Locust's report, kept in ConfigMap checkout-report)",
    );
    assert!(!run.stdout.contains("BREACHED"), "{}", run.both());
}
