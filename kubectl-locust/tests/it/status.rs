//! `kubectl locust status`: the renderers on fixtures (snapshots), then the real binary against the
//! in-memory API server served on 127.0.0.1, with a kubeconfig pointing at it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use crate::support::{Cluster, NS};
use fake_api::ObjectKey;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::jiff::Timestamp;
use kubectl_locust::output::Palette;
use kubectl_locust::render::detail;
use kubectl_locust::render::events::{EventRow, events_for};
use kubectl_locust::render::table::{self, Columns};
use serde::Deserialize;
use serde_json::{Value, json};
use shared::api::v2::LocustTest;
use tokio::io::AsyncBufReadExt;
use tokio::process::Command;

// ---- the renderers, on fixtures -------------------------------------------------------------

/// When the fixtures are looked at.
const NOW: &str = "2026-11-22T10:07:30Z";

const FIXTURES: [&str; 7] = [
    "pending-no-status",
    "running",
    "succeeded",
    "failed-image-pull",
    "configuration-error",
    "workers-missing",
    "spec-drifted",
];

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

/// A fixture's test and the rows of its events, as `status NAME` would get them.
fn fixture(name: &str) -> (LocustTest, Vec<EventRow>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/status/{name}.yaml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut documents = serde_yaml::Deserializer::from_str(&text).map(|d| Value::deserialize(d).unwrap());
    let test: LocustTest = serde_json::from_value(documents.next().unwrap()).unwrap();
    let events: Vec<Event> = documents.map(|d| serde_json::from_value(d).unwrap()).collect();
    let rows = events_for(test.metadata.name.as_deref().unwrap(), &events, 10);
    (test, rows)
}

fn detail_of(name: &str, palette: Palette) -> String {
    let (test, events) = fixture(name);
    detail::detail(&test, Ok(&events), palette, now())
}

/// Every fixture under its own name, for the tables.
fn all_fixtures() -> Vec<LocustTest> {
    FIXTURES
        .iter()
        .map(|name| {
            let (mut test, _) = fixture(name);
            test.metadata.name = Some((*name).to_string());
            test
        })
        .collect()
}

#[test]
fn detail_views_of_tests_in_every_situation() {
    for name in FIXTURES {
        let view = detail_of(name, Palette::plain());
        assert!(!view.contains('\u{1b}'), "colour off means no escape codes:\n{view}");
        insta::assert_snapshot!(format!("detail_{name}"), view);
    }
}

/// Tests with spec.thresholds: running (live values) and ended breached (the verdict). Not in
/// [`FIXTURES`], so the views of tests without thresholds stay as they were.
const THRESHOLD_FIXTURES: [&str; 2] = ["running-thresholds", "thresholds-breached"];

#[test]
fn detail_views_show_each_threshold_against_what_was_measured() {
    for name in THRESHOLD_FIXTURES {
        let view = detail_of(name, Palette::plain());
        insta::assert_snapshot!(format!("detail_{name}"), view);
    }
    let running = detail_of("running-thresholds", Palette::plain());
    for expected in [
        "Thresholds (checked when the run ends; live values so far)",
        "all requests    p95 response time  at most 120 ms  140 ms  over so far",
        "all requests    RPS                at least 100.0  124.6   checked at the end (run average)",
        "POST /checkout  fail ratio         at most 0.00 %  -       checked when the run ends",
    ] {
        assert!(running.contains(expected), "{expected:?} missing:\n{running}");
    }
    let breached = detail_of("thresholds-breached", Palette::plain());
    for expected in [
        "Thresholds (breached: 2 of 5 limits)",
        "POST /checkout  p95 response time  at most 500 ms  812 ms    BREACHED",
        "all requests    RPS                at least 100.0  122.7     met",
        "kubectl locust report checkout -n load",
    ] {
        assert!(breached.contains(expected), "{expected:?} missing:\n{breached}");
    }
    let coloured = detail_of("thresholds-breached", Palette { enabled: true });
    let line = coloured.lines().find(|l| l.contains("812 ms")).unwrap();
    assert!(line.starts_with("\u{1b}[38;5;9m"), "a breach is red: {line:?}");
}

#[test]
fn the_detail_view_says_what_to_do_only_when_something_is_wrong() {
    for (name, wrong) in [
        ("pending-no-status", true),
        ("running", false),
        ("succeeded", false),
        ("failed-image-pull", true),
        ("configuration-error", true),
        ("workers-missing", true),
        ("spec-drifted", true),
    ] {
        let view = detail_of(name, Palette::plain());
        assert_eq!(view.contains("Next steps"), wrong, "{name}:\n{view}");
    }
}

#[test]
fn with_colour_the_phase_and_problems_are_coloured() {
    let view = detail_of("failed-image-pull", Palette { enabled: true });
    let phase_line = view.lines().find(|l| l.starts_with("Phase:")).unwrap();
    assert!(phase_line.contains("\u{1b}["), "{phase_line:?}");
    // Escape codes made visible, so the snapshot shows where colour starts and stops.
    insta::assert_snapshot!("detail_failed-image-pull_coloured", view.replace('\u{1b}', "\\e"));
}

#[test]
fn tables_plain_wide_and_across_namespaces() {
    let tests = all_fixtures();
    let render = |namespace, wide| table::table(&tests, Columns { namespace, wide }, Palette::plain(), now());
    let plain = render(false, false);
    let wide = render(false, true);
    let everywhere = render(true, false);
    assert!(plain.starts_with("NAME ") && !plain.contains("IMAGE"), "{plain}");
    assert!(wide.contains("PROBLEM") && wide.contains("ImagePullError"), "{wide}");
    assert!(everywhere.starts_with("NAMESPACE "), "{everywhere}");
    insta::assert_snapshot!("table", plain);
    insta::assert_snapshot!("table_wide", wide);
    insta::assert_snapshot!("table_all_namespaces", everywhere);
}

// ---- the binary, against the in-memory API server -------------------------------------------

impl Cluster {
    /// Stores fixture `name` (its test and events) as test `as_name` in `namespace`.
    fn add_fixture(&self, name: &str, as_name: &str, namespace: &str) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/status/{name}.yaml"));
        let text = std::fs::read_to_string(path).unwrap();
        for document in serde_yaml::Deserializer::from_str(&text) {
            let mut object = Value::deserialize(document).unwrap();
            object["metadata"]["namespace"] = json!(namespace);
            object["metadata"].as_object_mut().unwrap().remove("resourceVersion");
            if object["kind"] == "LocustTest" {
                object["metadata"]["name"] = json!(as_name);
            } else {
                object["regarding"]["name"] = json!(
                    object["regarding"]["name"]
                        .as_str()
                        .unwrap()
                        .replace("checkout", as_name)
                );
                object["metadata"]["name"] =
                    json!(format!("{as_name}.{}", object["metadata"]["name"].as_str().unwrap()));
            }
            self.fake.insert(object);
        }
    }
}

#[tokio::test]
async fn the_table_lists_the_namespaces_tests_and_wide_and_all_namespaces_add_columns() {
    let cluster = Cluster::start_at(now()).await;
    cluster.add_fixture("running", "checkout", NS);
    cluster.add_fixture("failed-image-pull", "login", NS);
    cluster.add_fixture("pending-no-status", "elsewhere", "other");

    let done = cluster.run(&["status"]).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    // AGE is left out: the binary reads the real clock.
    let lines: Vec<Vec<&str>> = done
        .stdout
        .lines()
        .map(|l| l.split_whitespace().take(6).collect())
        .collect();
    assert_eq!(
        lines,
        [
            vec!["NAME", "PHASE", "WORKERS", "CONNECTED", "RPS", "FAIL%"],
            vec!["checkout", "Running", "4", "4", "124.6", "0.02"],
            vec!["login", "Failed", "4", "0", "-", "-"],
        ],
        "{}",
        done.stdout
    );

    let wide = cluster.run(&["status", "-o", "wide"]).await;
    let login = wide.stdout.lines().find(|l| l.starts_with("login")).unwrap();
    assert!(
        login.contains("locustio/locust:2.99.0") && login.ends_with("ImagePullError"),
        "{}",
        wide.stdout
    );

    let all = cluster.run(&["status", "-A"]).await;
    let first_column: Vec<&str> = all
        .stdout
        .lines()
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(first_column, ["NAMESPACE", "load", "load", "other"], "{}", all.stdout);

    // Every request names the plugin, as kubectl names itself in an API server's audit log.
    let agents: std::collections::BTreeSet<Option<String>> = cluster
        .fake
        .requests()
        .into_iter()
        .map(|request| request.user_agent)
        .collect();
    assert_eq!(
        agents,
        [Some(format!("kubectl-locust/{}", env!("CARGO_PKG_VERSION")))].into()
    );
}

#[tokio::test]
async fn the_detail_view_shows_the_test_its_events_and_next_steps() {
    let cluster = Cluster::start_at(now()).await;
    cluster.add_fixture("failed-image-pull", "login", NS);
    let done = cluster.run(&["status", "login"]).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    for expected in [
        "Name:         login",
        "Phase:        Failed",
        "Workers:      0/4 connected",
        "PodsHealthy       False   ImagePullError",
        "none recorded (the test ended before its master reported any)",
        "Warning  Failed",
        "Failed to pull image \"locustio/locust:2.99.0\": manifest unknown",
        "Next steps",
        "check that spec.image (locustio/locust:2.99.0)",
        "kubectl delete locusttest login -n load",
    ] {
        assert!(done.stdout.contains(expected), "{expected:?} missing:\n{}", done.stdout);
    }

    // Events are extra: without the right to read them the test is still shown.
    cluster.fake.forbid("GET", "events");
    let denied = cluster.run(&["status", "login"]).await;
    assert_eq!(denied.code, Some(0), "{}", denied.stderr);
    assert!(
        denied
            .stdout
            .contains("cannot read events: permission denied: you may not list events.events.k8s.io"),
        "{}",
        denied.stdout
    );
}

#[tokio::test]
async fn json_yaml_and_name_print_what_the_cluster_holds() {
    let cluster = Cluster::start_at(now()).await;
    cluster.add_fixture("running", "checkout", NS);
    cluster.add_fixture("succeeded", "login", NS);
    // Stored as a server without the CRD's defaults would hold it, plus a field from a newer
    // CRD: -o json|yaml must print exactly that, adding no default and dropping nothing.
    cluster.fake.update::<LocustTest>(NS, "checkout", |test| {
        test["spec"]["fromANewerCrd"] = json!({"kept": true});
    });
    let stored = cluster
        .fake
        .get_value(&ObjectKey::of::<LocustTest>(NS, "checkout"))
        .unwrap();
    assert!(stored["spec"].get("imagePullPolicy").is_none());

    let json_out = cluster.run(&["status", "checkout", "-o", "json"]).await;
    let printed: Value = serde_json::from_str(&json_out.stdout).unwrap();
    assert_eq!(printed["apiVersion"], "locust.io/v2");
    assert_eq!(printed["kind"], "LocustTest");
    assert_eq!(printed, stored);

    let yaml_out = cluster.run(&["status", "checkout", "-o", "yaml"]).await;
    let printed: Value = serde_yaml::from_str(&yaml_out.stdout).unwrap();
    assert_eq!(printed, stored);

    let list: Value = serde_json::from_str(&cluster.run(&["status", "-o", "json"]).await.stdout).unwrap();
    assert_eq!(list["apiVersion"], "v1");
    assert_eq!(list["kind"], "List");
    let names: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["checkout", "login"]);
    assert_eq!(list["items"][0], stored);

    let names = cluster.run(&["status", "-o", "name"]).await;
    assert_eq!(
        names.stdout,
        "locusttest.locust.io/checkout\nlocusttest.locust.io/login\n"
    );
}

#[tokio::test]
async fn errors_say_what_to_do() {
    let cluster = Cluster::start_at(now()).await;
    cluster.add_fixture("running", "checkout", NS);
    let typo = cluster.run(&["status", "chekout"]).await;
    assert_eq!(typo.code, Some(1));
    assert!(
        typo.stderr
            .contains("LocustTest \"chekout\" not found in namespace \"load\"")
            && typo.stderr.contains("did you mean: checkout?"),
        "{}",
        typo.stderr
    );

    let empty = cluster.run(&["status", "-n", "nothing-here"]).await;
    assert_eq!(empty.code, Some(0));
    assert_eq!(empty.stdout, "");
    assert_eq!(empty.stderr, "No LocustTests found in namespace nothing-here.\n");

    cluster.fake.forbid("GET", "locusttests");
    let list_denied = cluster.run(&["status"]).await;
    assert_eq!(list_denied.code, Some(1));
    assert!(
        list_denied
            .stderr
            .contains("permission denied: you may not list locusttests.locust.io in namespace \"load\""),
        "{}",
        list_denied.stderr
    );
    let get_denied = cluster.run(&["status", "checkout"]).await;
    assert!(
        get_denied
            .stderr
            .contains("permission denied: you may not get locusttests.locust.io"),
        "{}",
        get_denied.stderr
    );

    let cluster = Cluster::start_at(now()).await;
    cluster.fake.remove_group("locust.io");
    for args in [&["status", "checkout"][..], &["status"][..]] {
        let missing = cluster.run(args).await;
        assert_eq!(missing.code, Some(1));
        assert!(
            missing.stderr.contains("(locusttests.locust.io/v2) is not installed")
                && missing.stderr.contains("helm install"),
            "{args:?}: {}",
            missing.stderr
        );
    }
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
            .kill_on_drop(true)
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

/// Reads the lines a watching child prints, each within 10 s.
struct Lines(tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>);

impl Lines {
    async fn next(&mut self) -> String {
        tokio::time::timeout(Duration::from_secs(10), self.0.next_line())
            .await
            .expect("a line within 10 s")
            .unwrap()
            .expect("the watch keeps going")
    }

    /// Lines until one satisfies `done`, at most `limit`.
    async fn until(&mut self, limit: usize, done: impl Fn(&str) -> bool) -> Vec<String> {
        let mut seen = Vec::new();
        for _ in 0..limit {
            let line = self.next().await;
            let stop = done(&line);
            seen.push(line);
            if stop {
                return seen;
            }
        }
        panic!("no such line among {seen:#?}");
    }
}

#[tokio::test]
async fn watching_the_table_prints_the_header_once_then_a_row_per_change() {
    let cluster = Cluster::start_at(now()).await;
    cluster.add_fixture("pending-no-status", "checkout", NS);
    cluster.add_fixture("running", "login", NS);
    let mut child = cluster.command(&["status", "-w"]).spawn().unwrap();
    let mut lines = Lines(tokio::io::BufReader::new(child.stdout.take().unwrap()).lines());
    assert!(lines.next().await.starts_with("NAME"));
    assert!(lines.next().await.starts_with("checkout"));
    assert!(lines.next().await.starts_with("login"));
    cluster.fake.set_status::<LocustTest>(
        NS,
        "checkout",
        json!({"phase": "Running", "expectedWorkers": 4, "connectedWorkers": 4}),
    );
    let changed = lines.next().await;
    let cells: Vec<&str> = changed.split_whitespace().collect();
    assert_eq!(&cells[..4], ["checkout", "Running", "4", "4"], "{changed}");
    // Only the test that changed: the next line, if any, is a later change, never the header.
    cluster
        .fake
        .set_status::<LocustTest>(NS, "login", json!({"phase": "Succeeded"}));
    let next = lines.next().await;
    assert!(next.starts_with("login") && next.contains("Succeeded"), "{next}");
    child.kill().await.unwrap();
}

#[tokio::test]
async fn watching_one_test_prints_its_view_again_when_it_changes() {
    let cluster = Cluster::start_at(now()).await;
    cluster.add_fixture("pending-no-status", "checkout", NS);
    let mut child = cluster.command(&["status", "checkout", "--watch"]).spawn().unwrap();
    let mut lines = Lines(tokio::io::BufReader::new(child.stdout.take().unwrap()).lines());
    let first = lines.until(40, |l| l.starts_with("Phase:")).await;
    assert!(first.last().unwrap().ends_with('-'), "{first:#?}");
    cluster
        .fake
        .set_status::<LocustTest>(NS, "checkout", json!({"phase": "Running"}));
    let second = lines.until(40, |l| l.starts_with("Phase:")).await;
    assert!(second.last().unwrap().ends_with("Running"), "{second:#?}");
    assert!(
        second.iter().any(|l| l.starts_with("Name:")),
        "a whole view again: {second:#?}"
    );
    child.kill().await.unwrap();
}
