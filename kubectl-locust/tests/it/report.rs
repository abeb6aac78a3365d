//! `kubectl locust report`: the real binary against the in-memory API server, reading reports the
//! way the operator stores them (`shared::report::store`, from files a real Locust run wrote:
//! `tests/fixtures/report/`), into files, standard output and a browser; every case without a
//! report, each with its own message; and `--compare`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use crate::support::{Cluster, Finished, NS};
use k8s_openapi::api::core::v1::ConfigMap;
use serde_json::{Value, json};
use shared::api::v2::LocustTest;
use shared::report::{self, FAILURES_CSV_FILE, HTML_FILE, REQUESTS_CSV_FILE, STATS_JSON_FILE};

/// Stands in for Locust's HTML report (about 1 MiB of scripts in a real one).
const HTML: &str = "<!DOCTYPE html><html><head><title>Locust</title></head><body>report of checkout</body></html>\n";

fn fixture(run: &str, file: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/report/{run}/{file}"))).unwrap()
}

/// The report files of fixture run `run`, as the operator reads them from the master.
fn files_of(run: &str) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(HTML_FILE.to_string(), HTML.as_bytes().to_vec())];
    for file in [REQUESTS_CSV_FILE, FAILURES_CSV_FILE, STATS_JSON_FILE] {
        files.push((file.to_string(), fixture(run, file)));
    }
    files
}

/// The breached verdict the operator writes for the `checkout` fixture's numbers.
fn breached_status() -> Value {
    json!({
        "phase": "Failed", "startTime": "2026-11-22T09:00:00Z", "completionTime": "2026-11-22T09:00:13Z",
        "conditions": [
            {"type": "TestCompleted", "status": "True", "reason": "ThresholdsBreached",
             "message": "thresholds breached: p95 response time of GET /slow: 300 ms, allowed at most 200 ms",
             "lastTransitionTime": "2026-11-22T09:00:13Z"},
            {"type": "ThresholdsMet", "status": "False", "reason": "ThresholdsBreached",
             "message": "thresholds breached: p95 response time of GET /slow: 300 ms, allowed at most 200 ms",
             "lastTransitionTime": "2026-11-22T09:00:13Z"}],
        "thresholds": [
            {"subject": "all requests", "limit": "maxFailRatio", "allowed": 0.01, "measured": 0.0, "met": true},
            {"subject": "GET /slow", "limit": "maxP95ResponseTimeMs", "allowed": 200.0, "measured": 300.0, "met": false}],
    })
}

impl Cluster {
    /// Test `name` in [`NS`], ended with `status`; with thresholds in its spec.
    fn add_limited_test(&self, name: &str, status: Value) -> LocustTest {
        self.fake.insert(json!({
            "apiVersion": "locust.io/v2", "kind": "LocustTest",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"image": "locustio/locust:2.20.0", "master": {"command": "--locustfile /lotest/src/shop.py"},
                     "worker": {"command": "--locustfile /lotest/src/shop.py", "replicas": 2},
                     "thresholds": {"maxFailRatio": 0.01,
                                    "endpoints": [{"name": "/slow", "method": "GET", "maxP95ResponseTimeMs": 200}]}},
        }));
        self.fake.set_status::<LocustTest>(NS, name, status);
        self.fake.get::<LocustTest>(NS, name).unwrap()
    }

    /// Test `name` with its report stored as the operator stores it: the ConfigMap and
    /// status.report.
    fn add_reported_test(&self, name: &str, status: Value, files: &[(String, Vec<u8>)]) {
        let test = self.add_limited_test(name, status.clone());
        let stored = report::store(&test, files, "2026-11-22T09:00:12Z".parse().unwrap());
        if let Some(config_map) = stored.config_map {
            self.fake.insert(serde_json::to_value(config_map).unwrap());
        }
        let mut status = status;
        status["report"] = serde_json::to_value(stored.status).unwrap();
        self.fake.set_status::<LocustTest>(NS, name, status);
    }

    /// `report ARGS` run in `dir`.
    async fn report_in(&self, dir: &Path, args: &[&str]) -> Finished {
        let mut command = self.command(&[&["report"], args].concat());
        command.current_dir(dir);
        crate::support::finish(command.spawn().unwrap()).await
    }
}

async fn with_checkout() -> (Cluster, tempfile::TempDir) {
    let cluster = Cluster::start().await;
    cluster.add_reported_test("checkout", breached_status(), &files_of("checkout"));
    (cluster, tempfile::tempdir().unwrap())
}

fn read(dir: &Path, file: &str) -> Vec<u8> {
    std::fs::read(dir.join(file)).unwrap_or_else(|error| panic!("{file}: {error}"))
}

#[tokio::test]
async fn the_html_report_is_saved_as_name_report_html_and_the_path_is_printed() {
    let (cluster, dir) = with_checkout().await;
    let done = cluster.report_in(dir.path(), &["checkout"]).await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    assert_eq!(read(dir.path(), "checkout-report.html"), HTML.as_bytes());
    assert_eq!(done.stdout, "saved checkout-report.html (Locust's HTML report, 94 B)\n");

    let done = cluster
        .report_in(dir.path(), &["checkout", "--output-file", "out/x.html"])
        .await;
    assert_eq!(done.code, Some(1), "a folder that does not exist: {}", done.both());
    done.assert_stderr_has("out/x.html: cannot write the report there");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let done = cluster
        .report_in(dir.path(), &["checkout", "--output-file", "out/x.html"])
        .await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    assert_eq!(read(dir.path(), "out/x.html"), HTML.as_bytes());

    let done = cluster.report_in(dir.path(), &["checkout", "--output-file", "-"]).await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    assert_eq!(done.stdout, HTML, "only the report on standard output");
}

#[tokio::test]
async fn csv_saves_the_requests_and_the_failures_side_by_side() {
    let (cluster, dir) = with_checkout().await;
    let done = cluster.report_in(dir.path(), &["checkout", "-o", "csv"]).await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    assert_eq!(
        read(dir.path(), "checkout-requests.csv"),
        fixture("checkout", REQUESTS_CSV_FILE)
    );
    assert_eq!(
        read(dir.path(), "checkout-failures.csv"),
        fixture("checkout", FAILURES_CSV_FILE)
    );
    assert_eq!(
        done.stdout,
        "saved checkout-requests.csv (statistics per endpoint, 635 B)\nsaved checkout-failures.csv (failures, 52 B)\n"
    );

    let done = cluster
        .report_in(dir.path(), &["checkout", "-o", "csv", "--output-file", "-"])
        .await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    assert_eq!(done.stdout.as_bytes(), fixture("checkout", REQUESTS_CSV_FILE));
    done.assert_stderr_has("standard output holds requests.csv only");
    done.assert_stderr_has("./checkout-failures.csv");
}

#[tokio::test]
async fn json_holds_locusts_final_statistics_and_the_thresholds_verdict() {
    let (cluster, dir) = with_checkout().await;
    let done = cluster
        .report_in(dir.path(), &["checkout", "-o", "json", "--output-file", "-"])
        .await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    let document: Value = serde_json::from_str(&done.stdout).unwrap();
    let stats: Value = serde_json::from_slice(&fixture("checkout", STATS_JSON_FILE)).unwrap();
    assert_eq!(document["stats"], stats, "Locust's JSON as it sent it");
    assert_eq!(document["name"], "checkout");
    assert_eq!(document["phase"], "Failed");
    assert_eq!(document["savedTime"], "2026-11-22T09:00:12Z");
    assert_eq!(document["thresholds"]["verdict"], "breached");
    assert_eq!(
        document["thresholds"]["message"],
        "thresholds breached: p95 response time of GET /slow: 300 ms, allowed at most 200 ms"
    );
    assert_eq!(document["thresholds"]["checks"][1]["subject"], "GET /slow");
    assert_eq!(document["thresholds"]["checks"][1]["met"], false);

    let done = cluster.report_in(dir.path(), &["checkout", "-o", "json"]).await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    let saved: Value = serde_json::from_slice(&read(dir.path(), "checkout-report.json")).unwrap();
    assert_eq!(saved, document);
    assert!(
        done.stdout.starts_with("saved checkout-report.json ("),
        "{}",
        done.both()
    );
}

/// `report NAME` refused: exit 1, nothing on standard output, and every one of `needles` said.
fn assert_no_report(done: &Finished, needles: &[&str]) {
    assert_eq!(done.code, Some(1), "{}", done.both());
    assert!(done.stdout.is_empty(), "{}", done.both());
    for needle in needles {
        done.assert_stderr_has(needle);
    }
}

#[tokio::test]
async fn without_a_report_each_case_says_why_and_what_to_do() {
    let cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();

    cluster.add_limited_test("running", json!({"phase": "Running"}));
    let done = cluster.report_in(dir.path(), &["running"]).await;
    assert_no_report(
        &done,
        &[
            "running has not finished (Running): the report is saved when Locust stops",
            "kubectl locust status running -n load -w",
        ],
    );

    cluster.add_limited_test(
        "too-big",
        json!({"phase": "Succeeded", "report": {"savedTime": "2026-11-22T09:00:12Z",
            "message": "report not saved: 1.2 MiB compressed, more than the 977 KiB a ConfigMap holds"}}),
    );
    let done = cluster.report_in(dir.path(), &["too-big"]).await;
    assert_no_report(
        &done,
        &[
            "the operator could not save the report of too-big: report not saved: 1.2 MiB compressed",
            "kubectl locust status too-big -n load",
        ],
    );

    cluster.add_reported_test("deleted", breached_status(), &files_of("checkout"));
    assert!(cluster.fake.delete::<ConfigMap>(NS, "deleted-report"));
    let done = cluster.report_in(dir.path(), &["deleted"]).await;
    assert_no_report(
        &done,
        &["the report of deleted was saved in ConfigMap deleted-report, which no longer exists"],
    );

    cluster.add_limited_test("older", json!({"phase": "Succeeded"}));
    let done = cluster.report_in(dir.path(), &["older"]).await;
    assert_no_report(
        &done,
        &[
            "older ended (Succeeded) without a saved report",
            "an operator from before reports existed",
        ],
    );

    // Stored as the operator stores a report too big for a ConfigMap with its HTML.
    let without_html: Vec<(String, Vec<u8>)> = files_of("checkout")
        .into_iter()
        .filter(|(file, _)| file != HTML_FILE)
        .collect();
    cluster.add_reported_test("no-html", breached_status(), &without_html);
    cluster.fake.update::<LocustTest>(NS, "no-html", |test| {
        test["status"]["report"]["message"] =
            json!("report.html left out: 1.1 MiB compressed would not fit in a ConfigMap with the rest");
    });
    let done = cluster.report_in(dir.path(), &["no-html"]).await;
    assert_no_report(
        &done,
        &[
            "the report of no-html has no report.html (report.html left out: 1.1 MiB compressed",
            "it holds failures.csv, requests.csv, stats.json",
            "`-o csv` or `-o json` save what was kept",
        ],
    );
    let done = cluster.report_in(dir.path(), &["no-html", "-o", "csv"]).await;
    assert_eq!(done.code, Some(0), "what was kept is still saved: {}", done.both());

    let done = cluster.report_in(dir.path(), &["chekout"]).await;
    assert_no_report(&done, &["LocustTest \"chekout\" not found in namespace \"load\""]);

    cluster.fake.forbid("GET", "configmaps");
    let done = cluster.report_in(dir.path(), &["older"]).await;
    assert_no_report(
        &done,
        &[
            "permission denied: you may not get configmaps in namespace \"load\"",
            "kubectl auth can-i get configmaps -n load",
        ],
    );
    let left: Vec<PathBuf> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| !path.ends_with("no-html-requests.csv") && !path.ends_with("no-html-failures.csv"))
        .collect();
    assert!(left.is_empty(), "no file written without a report: {left:?}");
}

#[tokio::test]
async fn compare_sets_two_finished_runs_side_by_side_endpoint_by_endpoint() {
    let (cluster, dir) = with_checkout().await;
    cluster.add_reported_test("checkout-base", breached_status(), &files_of("checkout-base"));
    let done = cluster
        .report_in(dir.path(), &["checkout", "--compare", "checkout-base"])
        .await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    insta::assert_snapshot!("compare", done.stdout);
    let row = |name: &str| {
        done.stdout
            .lines()
            .find(|line| line.starts_with(name))
            .unwrap_or_else(|| panic!("no {name} row: {}", done.stdout))
            .to_string()
    };
    assert!(row("GET /slow").ends_with("only in checkout"), "{}", done.stdout);
    assert!(row("GET / ").ends_with("only in checkout-base"), "{}", done.stdout);
    assert!(row("GET /items").contains(" -> "), "{}", done.stdout);
    assert!(
        row("Aggregated").starts_with("Aggregated  96 -> 121 (+26%)"),
        "{}",
        done.stdout
    );

    let done = cluster
        .report_in(dir.path(), &["checkout", "--compare", "nothing"])
        .await;
    assert_no_report(&done, &["LocustTest \"nothing\" not found"]);
    cluster.add_limited_test("running", json!({"phase": "Running"}));
    let done = cluster
        .report_in(dir.path(), &["checkout", "--compare", "running"])
        .await;
    assert_no_report(&done, &["running has not finished (Running)"]);
}

#[tokio::test]
async fn open_hands_the_saved_file_to_the_desktop_opener_or_says_there_is_none() {
    let (cluster, dir) = with_checkout().await;
    let bin = tempfile::tempdir().unwrap();
    let opened = bin.path().join("opened");
    let opener = bin.path().join("xdg-open");
    std::fs::write(&opener, format!("#!/bin/sh\necho \"$1\" > '{}'\n", opened.display())).unwrap();
    std::fs::set_permissions(&opener, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();

    let mut command = cluster.command(&["report", "checkout", "--open"]);
    command.current_dir(dir.path()).env("PATH", bin.path());
    let done = crate::support::finish(command.spawn().unwrap()).await;
    assert_eq!(done.code, Some(0), "{}", done.both());
    assert_eq!(std::fs::read_to_string(&opened).unwrap(), "checkout-report.html\n");
    assert!(done.stderr.is_empty(), "{}", done.both());

    let empty = tempfile::tempdir().unwrap();
    let mut command = cluster.command(&["report", "checkout", "--open"]);
    command.current_dir(dir.path()).env("PATH", empty.path());
    let done = crate::support::finish(command.spawn().unwrap()).await;
    assert_eq!(done.code, Some(0), "the report is saved all the same: {}", done.both());
    done.assert_stderr_has(
        "warning: cannot open a browser (xdg-open is not installed); open checkout-report.html yourself",
    );
    assert_eq!(read(dir.path(), "checkout-report.html"), HTML.as_bytes());
}

#[tokio::test]
async fn flags_that_mean_nothing_together_are_refused_before_anything_is_read() {
    let cluster = Cluster::start().await;
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["checkout", "--open", "-o", "csv"][..], "--open opens the HTML report"),
        (
            &["checkout", "--open", "--output-file", "-"][..],
            "--open needs the report in a file",
        ),
        (
            &["checkout", "--compare", "base", "-o", "json"][..],
            "--compare prints a table",
        ),
        (&["checkout", "--compare", "base", "--open"][..], "cannot be used with"),
    ] {
        let done = cluster.report_in(dir.path(), args).await;
        assert_eq!(done.code, Some(2), "{args:?}: {}", done.both());
        done.assert_stderr_has(needle);
    }
    assert!(cluster.fake.requests().is_empty());
}
