//! Live statistics as users see them: what the operator reads from a real Locust master's
//! `/stats/requests` (bodies recorded from Locust 2.47.0, see fixtures/stats/README.md), the
//! `status.stats` block, the worker count, the `locust_exporter`-named metric series, and how
//! status derivation writes the block and reports a master it cannot read.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};
use shared::api::status::conditions::{self, health as health_reason, workers};
use shared::api::status::{LocustTestStatus, Phase, TestStats};
use shared::health::Health;
use shared::stats::{
    RequestsReport, Sample, SampleKind, connected_worker_pods, connected_workers, exposition, exposition_down,
    parse_report, summarize,
};
use shared::status::{self, Child, DeriveSettings, EventNote, EventType, Observation, StatusStep, reasons};

const TEST: &str = "demo";
const NAMESPACE: &str = "load";
/// 2026-01-01T00:00:00Z; every instant in these tests is an offset from it.
const EPOCH: i64 = 1_767_225_600;

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(EPOCH + seconds).unwrap()
}

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/stats")
        .join(format!("locust-2.47.0-{name}.json"));
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn fixture(name: &str) -> RequestsReport {
    parse_report(&fixture_bytes(name)).unwrap()
}

/// A recorded body edited as JSON, for states the recordings do not show.
fn edited(name: &str, edit: impl FnOnce(&mut Value)) -> RequestsReport {
    let mut body: Value = serde_json::from_slice(&fixture_bytes(name)).unwrap();
    edit(&mut body);
    parse_report(&serde_json::to_vec(&body).unwrap()).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Reading reports
// ---------------------------------------------------------------------------------------------

#[test]
fn a_running_master_with_two_workers_reads_as_running_with_two_workers() {
    let report = fixture("running-2-workers");
    assert_eq!(report.state, "running");
    assert_eq!(connected_workers(&report), Some(2));
    assert_eq!(report.user_count, 4);
    let rows: Vec<(&str, &str, i64, i64)> = report
        .stats
        .iter()
        .map(|row| {
            (
                row.method.as_str(),
                row.name.as_str(),
                row.num_requests,
                row.num_failures,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("GET", "/", 157, 0),
            ("GET", "/missing", 33, 33),
            ("", "Aggregated", 190, 33)
        ]
    );
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].occurrences, 33);
}

#[test]
fn a_master_nobody_connected_to_has_zero_workers() {
    let report = fixture("no-workers");
    assert_eq!(report.state, "ready");
    assert_eq!(connected_workers(&report), Some(0));
}

#[test]
fn a_stopped_master_still_counts_its_idle_workers() {
    let report = fixture("stopped");
    assert_eq!(report.state, "stopped");
    // Both workers went back to `ready` but are still connected.
    assert_eq!(connected_workers(&report), Some(2));
}

#[test]
fn workers_are_counted_from_the_list_when_the_count_is_absent_and_missing_ones_do_not_count() {
    let report = edited("running-2-workers", |body| {
        let body = body.as_object_mut().unwrap();
        body.remove("worker_count");
        body["workers"][1]["state"] = json!("missing");
    });
    assert_eq!(connected_workers(&report), Some(1));
}

/// The report of a master with 3 worker pods of 2 processes each (`--processes 2`): Locust lists
/// every process as a worker, named after its pod's hostname.
fn three_pods_of_two_processes() -> RequestsReport {
    edited("running-2-workers", |body| {
        let template = body["workers"][0].clone();
        let mut workers = Vec::new();
        for pod in ["demo-worker-7xk2p", "demo-worker-9qvzl", "demo-worker-b4mnd"] {
            for process in 0..2 {
                let mut worker = template.clone();
                worker["id"] = json!(format!("{pod}_{process:032x}"));
                workers.push(worker);
            }
        }
        body["workers"] = Value::Array(workers);
        body["worker_count"] = json!(6);
    })
}

#[test]
fn worker_pods_are_counted_once_however_many_processes_they_fork() {
    let report = three_pods_of_two_processes();
    assert_eq!(connected_workers(&report), Some(6), "Locust counts processes");
    assert_eq!(connected_worker_pods(&report), Some(3));
}

#[test]
fn a_pod_counts_while_any_of_its_processes_is_connected_and_not_when_all_are_missing_or_stopped() {
    let mut report = three_pods_of_two_processes();
    let workers = report.workers.as_mut().unwrap();
    workers[0].state = "missing".into();
    assert_eq!(connected_worker_pods(&report), Some(3));
    let workers = report.workers.as_mut().unwrap();
    workers[1].state = "stopped".into();
    workers[2].state = "spawning".into();
    workers[3].state = "ready".into();
    assert_eq!(connected_worker_pods(&report), Some(2));
}

#[test]
fn without_the_worker_list_pods_fall_back_to_locusts_count() {
    let report = edited("running-2-workers", |body| {
        body.as_object_mut().unwrap().remove("workers");
    });
    assert_eq!(connected_worker_pods(&report), Some(2));
}

#[test]
fn a_standalone_locust_has_no_worker_count() {
    let report = edited("running-2-workers", |body| {
        let body = body.as_object_mut().unwrap();
        body.remove("worker_count");
        body.remove("workers");
    });
    assert_eq!(connected_workers(&report), None);
    assert_eq!(connected_worker_pods(&report), None);
}

#[test]
fn nulls_missing_and_unknown_fields_do_not_stop_a_report_from_reading() {
    // The shape of an older Locust 2.x: no top-level current_rps, null percentiles and minimum,
    // plus a field nobody knows yet.
    let body = br#"{
        "state": "spawning",
        "user_count": 3,
        "total_rps": 12.5,
        "fail_ratio": null,
        "current_response_time_percentiles": {
            "response_time_percentile_0.5": null,
            "response_time_percentile_0.95": null
        },
        "stats": [
            {"method": "GET", "name": "/", "num_requests": 0, "num_failures": 0,
             "min_response_time": null, "median_response_time": null, "current_rps": 0.0},
            {"method": null, "name": "Aggregated", "num_requests": 0, "num_failures": 0,
             "min_response_time": null, "current_rps": 7.25}
        ],
        "errors": null,
        "a_future_field": {"nested": [1, 2, 3]}
    }"#;
    let report = parse_report(body).unwrap();
    assert_eq!(report.state, "spawning");
    assert_eq!(report.stats[0].min_response_time, 0.0);
    assert!(report.errors.is_empty());
    assert_eq!(connected_workers(&report), None);
    let summary = summarize(&report, at(0));
    // Without a top-level current value, the Aggregated row's is the current one.
    assert_eq!(summary.current_rps, 7.3);
    assert_eq!(summary.fail_percent, 0.0);
    assert_eq!(summary.median_response_time, None);
}

#[test]
fn a_body_that_is_not_a_report_is_an_error_that_says_so() {
    let api_status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","code":503}"#;
    let wrong_type = br#"{"state":"running","stats":"many"}"#;
    for body in [
        &b"<html><body>502 Bad Gateway</body></html>"[..],
        b"[]",
        b"",
        api_status,
        wrong_type,
    ] {
        let error = parse_report(body).unwrap_err().to_string();
        assert!(
            error.starts_with("not a Locust statistics report"),
            "{:?}: {error}",
            String::from_utf8_lossy(body)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The status.stats block
// ---------------------------------------------------------------------------------------------

#[test]
fn the_summary_of_a_running_test_has_its_totals_rates_and_response_times() {
    let summary = summarize(&fixture("running-2-workers"), at(42));
    assert_eq!(
        summary,
        TestStats {
            state: "running".into(),
            users: 4,
            total_requests: 190,
            total_failures: 33,
            fail_ratio: 0.1737,
            fail_percent: 17.37,
            current_rps: 30.7,
            median_response_time: Some(3.0),
            p95_response_time: Some(12.0),
            workers: Some(2),
            last_update_time: Some(Time(at(42))),
        }
    );
}

#[test]
fn the_summary_of_a_stopped_test_keeps_its_final_results() {
    let summary = summarize(&fixture("stopped"), at(90));
    assert_eq!(summary.state, "stopped");
    assert_eq!(summary.users, 0);
    assert_eq!((summary.total_requests, summary.total_failures), (452, 95));
    assert_eq!(summary.fail_percent, 21.02);
    assert_eq!(summary.median_response_time, Some(4.0));
    assert_eq!(summary.p95_response_time, Some(10.0));
    assert_eq!(summary.workers, Some(2));
}

#[test]
fn a_master_without_requests_reports_no_response_times_rather_than_zero() {
    let summary = summarize(&fixture("no-workers"), at(0));
    assert_eq!(summary.state, "ready");
    assert_eq!(
        (summary.users, summary.total_requests, summary.total_failures),
        (0, 0, 0)
    );
    assert_eq!(summary.current_rps, 0.0);
    assert_eq!(summary.median_response_time, None);
    assert_eq!(summary.p95_response_time, None);
    assert_eq!(summary.workers, Some(0));
}

#[test]
fn the_printer_columns_find_rps_and_fail_percent_where_they_look() {
    let status = LocustTestStatus {
        stats: Some(summarize(&fixture("running-2-workers"), at(0))),
        ..LocustTestStatus::default()
    };
    let json = serde_json::to_value(&status).unwrap();
    // `.status.stats.currentRps` and `.status.stats.failPercent`, as the CRD's columns say.
    assert_eq!(json["stats"]["currentRps"], json!(30.7));
    assert_eq!(json["stats"]["failPercent"], json!(17.37));
    assert_eq!(json["stats"]["p95ResponseTime"], json!(12.0));
    assert_eq!(json["stats"]["lastUpdateTime"], json!("2026-01-01T00:00:00Z"));
}

#[test]
fn a_stats_block_with_fields_missing_still_reads() {
    let status: LocustTestStatus = serde_json::from_value(json!({"stats": {"currentRps": 2.5}})).unwrap();
    let stats = status.stats.unwrap();
    assert_eq!(stats.current_rps, 2.5);
    assert_eq!(stats.total_requests, 0);
    assert_eq!(stats.state, "");
}

// ---------------------------------------------------------------------------------------------
// Metric series
// ---------------------------------------------------------------------------------------------

fn label<'a>(sample: &'a Sample, key: &str) -> Option<&'a str> {
    sample
        .labels
        .iter()
        .find(|(name, _)| *name == key)
        .map(|(_, value)| value.as_str())
}

/// The value of the one sample with `name` whose own labels (besides namespace and test) are
/// exactly `own`.
fn value(samples: &[Sample], name: &str, own: &[(&str, &str)]) -> f64 {
    let matching: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.name == name)
        .filter(|s| {
            let labels: Vec<(&str, &str)> = s
                .labels
                .iter()
                .filter(|(key, _)| !matches!(*key, "namespace" | "test"))
                .map(|(key, value)| (*key, value.as_str()))
                .collect();
            labels == own
        })
        .collect();
    assert_eq!(matching.len(), 1, "{name}{own:?} in {samples:#?}");
    matching[0].value
}

#[test]
fn every_series_carries_the_test_namespace_and_name_after_its_own_labels() {
    let samples = exposition(NAMESPACE, TEST, &fixture("running-2-workers"));
    assert!(!samples.is_empty());
    for sample in &samples {
        let n = sample.labels.len();
        assert!(n >= 2, "{sample:?}");
        assert_eq!(
            sample.labels[n - 2..],
            [("namespace", NAMESPACE.to_string()), ("test", TEST.to_string())],
            "{sample:?}"
        );
    }
}

#[test]
fn series_use_the_locust_exporter_names_as_gauges() {
    let samples = exposition(NAMESPACE, TEST, &fixture("running-2-workers"));
    let names: BTreeSet<&str> = samples.iter().map(|s| s.name).collect();
    let exporter = BTreeSet::from([
        "locust_up",
        "locust_running",
        "locust_users",
        "locust_workers_count",
        "locust_workers_running_count",
        "locust_workers_hatching_count",
        "locust_workers_missing_count",
        "locust_worker_detail",
        "locust_requests_current_response_time_percentile_50",
        "locust_requests_current_response_time_percentile_95",
        "locust_requests_fail_ratio",
        "locust_requests_num_requests",
        "locust_requests_num_failures",
        "locust_requests_avg_response_time",
        "locust_requests_min_response_time",
        "locust_requests_max_response_time",
        "locust_requests_median_response_time",
        "locust_requests_avg_content_length",
        "locust_requests_current_rps",
        "locust_requests_current_fail_per_sec",
        "locust_errors",
    ]);
    assert_eq!(names, exporter);
    // Gauges, as the exporter has them: an OpenMetrics counter would be renamed `..._total`.
    assert!(samples.iter().all(|s| s.kind == SampleKind::Gauge));
    assert!(samples.iter().all(|s| !s.help.is_empty()));
}

#[test]
fn no_series_appears_twice() {
    for name in ["running-2-workers", "no-workers", "stopped"] {
        let samples = exposition(NAMESPACE, TEST, &fixture(name));
        let mut seen = BTreeSet::new();
        for sample in &samples {
            assert!(
                seen.insert((sample.name, sample.labels.clone())),
                "{name}: {sample:?} twice"
            );
        }
    }
}

#[test]
fn a_running_test_exposes_its_users_workers_and_per_endpoint_numbers() {
    let samples = exposition(NAMESPACE, TEST, &fixture("running-2-workers"));
    assert_eq!(value(&samples, "locust_up", &[]), 1.0);
    assert_eq!(value(&samples, "locust_running", &[]), 2.0);
    assert_eq!(value(&samples, "locust_users", &[]), 4.0);
    assert_eq!(value(&samples, "locust_workers_count", &[]), 2.0);
    assert_eq!(value(&samples, "locust_workers_running_count", &[]), 2.0);
    assert_eq!(value(&samples, "locust_workers_hatching_count", &[]), 0.0);
    assert_eq!(value(&samples, "locust_workers_missing_count", &[]), 0.0);
    assert_eq!(value(&samples, "locust_requests_fail_ratio", &[]), 0.1736842105263158);
    assert_eq!(
        value(&samples, "locust_requests_current_response_time_percentile_50", &[]),
        3.0
    );
    assert_eq!(
        value(&samples, "locust_requests_current_response_time_percentile_95", &[]),
        12.0
    );
    let index = [("method", "GET"), ("name", "/")];
    assert_eq!(value(&samples, "locust_requests_num_requests", &index), 157.0);
    assert_eq!(value(&samples, "locust_requests_num_failures", &index), 0.0);
    assert_eq!(value(&samples, "locust_requests_max_response_time", &index), 33.0);
    assert_eq!(value(&samples, "locust_requests_min_response_time", &index), 2.0);
    assert_eq!(value(&samples, "locust_requests_median_response_time", &index), 3.0);
    assert_eq!(
        value(&samples, "locust_requests_current_rps", &index),
        27.666666666666668
    );
    assert_eq!(value(&samples, "locust_requests_avg_content_length", &index), 6.0);
    let missing = [("method", "GET"), ("name", "/missing")];
    assert_eq!(value(&samples, "locust_requests_num_failures", &missing), 33.0);
    assert_eq!(value(&samples, "locust_requests_current_fail_per_sec", &missing), 3.0);
    // Dashboards select the totals by the Aggregated row, as the exporter exposes it.
    let aggregated = [("method", ""), ("name", "Aggregated")];
    assert_eq!(value(&samples, "locust_requests_num_requests", &aggregated), 190.0);
    assert_eq!(
        value(
            &samples,
            "locust_errors",
            &[
                ("method", "GET"),
                ("name", "/missing"),
                (
                    "error",
                    "HTTPError('404 Client Error: File not found for url: /missing')"
                ),
            ]
        ),
        33.0
    );
    let details: Vec<(Option<&str>, Option<&str>, f64)> = samples
        .iter()
        .filter(|s| s.name == "locust_worker_detail")
        .map(|s| (label(s, "id"), label(s, "state"), s.value))
        .collect();
    assert_eq!(
        details,
        [
            (Some("vm_5dac11181a9e4b74a82324a0d4eeeca0"), Some("running"), 2.0),
            (Some("vm_eebdc160a71042c4966482bc2091af49"), Some("running"), 2.0),
        ]
    );
}

#[test]
fn a_stopped_test_exposes_running_zero_and_its_final_counts() {
    let samples = exposition(NAMESPACE, TEST, &fixture("stopped"));
    assert_eq!(value(&samples, "locust_running", &[]), 0.0);
    assert_eq!(value(&samples, "locust_users", &[]), 0.0);
    assert_eq!(value(&samples, "locust_workers_count", &[]), 2.0);
    assert_eq!(value(&samples, "locust_workers_running_count", &[]), 0.0);
    let aggregated = [("method", ""), ("name", "Aggregated")];
    assert_eq!(value(&samples, "locust_requests_num_requests", &aggregated), 452.0);
    assert_eq!(value(&samples, "locust_requests_num_failures", &aggregated), 95.0);
}

#[test]
fn a_master_without_workers_exposes_zero_workers_and_no_worker_details() {
    let samples = exposition(NAMESPACE, TEST, &fixture("no-workers"));
    assert_eq!(value(&samples, "locust_workers_count", &[]), 0.0);
    assert_eq!(value(&samples, "locust_running", &[]), 0.0);
    assert!(samples.iter().all(|s| s.name != "locust_worker_detail"));
    assert!(samples.iter().all(|s| s.name != "locust_errors"));
}

#[test]
fn spawning_counts_where_the_exporter_counted_hatching() {
    let report = edited("running-2-workers", |body| {
        body["state"] = json!("spawning");
        body["workers"][0]["state"] = json!("spawning");
        body["workers"][1]["state"] = json!("missing");
    });
    let samples = exposition(NAMESPACE, TEST, &report);
    assert_eq!(value(&samples, "locust_running", &[]), 1.0);
    assert_eq!(value(&samples, "locust_workers_hatching_count", &[]), 1.0);
    assert_eq!(value(&samples, "locust_workers_missing_count", &[]), 1.0);
    assert_eq!(value(&samples, "locust_workers_running_count", &[]), 0.0);
}

#[test]
fn current_percentiles_locust_does_not_have_are_left_out() {
    let report = edited("running-2-workers", |body| {
        body["current_response_time_percentiles"] = json!({"response_time_percentile_0.5": null});
    });
    let samples = exposition(NAMESPACE, TEST, &report);
    assert!(
        samples
            .iter()
            .all(|s| !s.name.contains("current_response_time_percentile"))
    );
}

#[test]
fn an_unreadable_master_is_down() {
    let samples = exposition_down(NAMESPACE, TEST);
    assert_eq!(samples.len(), 1);
    assert_eq!(samples[0].name, "locust_up");
    assert_eq!(samples[0].value, 0.0);
    assert_eq!(
        samples[0].labels,
        [("namespace", NAMESPACE.to_string()), ("test", TEST.to_string())]
    );
}

// ---------------------------------------------------------------------------------------------
// Status derivation with live statistics
// ---------------------------------------------------------------------------------------------

const INTERVAL: Duration = Duration::from_secs(5);
const ALLOWANCE: Duration = Duration::from_secs(120);
const SETTINGS: DeriveSettings = DeriveSettings {
    stats_interval: INTERVAL,
    grace_period: ALLOWANCE,
};

fn job_active(active: i32) -> JobStatus {
    JobStatus {
        active: Some(active),
        ..JobStatus::default()
    }
}

fn job_complete() -> JobStatus {
    JobStatus {
        active: Some(0),
        conditions: Some(vec![JobCondition {
            type_: "Complete".into(),
            status: "True".into(),
            ..JobCondition::default()
        }]),
        ..JobStatus::default()
    }
}

/// What the operator saw: a running master with two of two worker pods active, pods healthy.
#[derive(Clone)]
struct Seen {
    master_job: JobStatus,
    worker_pods: i32,
    connected_workers: Option<i32>,
    stats: Option<TestStats>,
    unreachable: Option<String>,
}

impl Seen {
    fn running() -> Self {
        Self {
            master_job: job_active(1),
            worker_pods: 2,
            connected_workers: None,
            stats: None,
            unreachable: None,
        }
    }

    /// The master answered with `report`.
    fn read(mut self, report: &RequestsReport, when: i64) -> Self {
        self.connected_workers = connected_workers(report);
        self.stats = Some(summarize(report, at(when)));
        self.unreachable = None;
        self
    }

    fn unreachable(mut self, why: &str) -> Self {
        self.connected_workers = None;
        self.stats = None;
        self.unreachable = Some(why.into());
        self
    }

    fn worker_pods(mut self, active: i32) -> Self {
        self.worker_pods = active;
        self
    }

    fn master(mut self, job: JobStatus) -> Self {
        self.master_job = job;
        self
    }

    fn derive(&self, previous: &LocustTestStatus, now: i64) -> StatusStep {
        let worker_job = job_active(self.worker_pods);
        let observation = Observation {
            test_name: TEST,
            generation: Some(1),
            expected_workers: 2,
            present: &Child::ALL,
            created: &[],
            master_job: Some(&self.master_job),
            worker_job: Some(&worker_job),
            health: Health {
                reason: health_reason::PODS_HEALTHY,
                message: "All pods are healthy".into(),
                grace_remaining: None,
            },
            spec_drifted: false,
            connected_workers: self.connected_workers,
            build_error: None,
            stats: self.stats.clone(),
            stats_unreachable: self.unreachable.clone(),
            creation_retry: None,
            thresholds: None,
            last_stats: None,
            stop_requested: None,
        };
        status::derive(previous, &observation, &SETTINGS, at(now))
    }
}

/// A test that became Running at 0 and has no stats yet.
fn running_since_zero() -> LocustTestStatus {
    let status = Seen::running().derive(&LocustTestStatus::default(), 0).status;
    assert_eq!(status.phase, Some(Phase::Running));
    status
}

/// A Running test whose master was read at `when` with the recorded running report.
fn read_at(when: i64) -> LocustTestStatus {
    Seen::running()
        .read(&fixture("running-2-workers"), when)
        .derive(&running_since_zero(), when)
        .status
}

/// The running report with the request counts grown by `extra`, nothing else changed.
fn grown(extra: i64) -> RequestsReport {
    let mut report = fixture("running-2-workers");
    for row in &mut report.stats {
        row.num_requests += extra;
    }
    report
}

fn workers_condition(status: &LocustTestStatus) -> (String, String, String) {
    let c = status
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == conditions::WORKERS_CONNECTED)
        .unwrap();
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

fn stats_events(step: &StatusStep) -> Vec<&EventNote> {
    step.events
        .iter()
        .filter(|e| e.reason == reasons::STATS_UNAVAILABLE)
        .collect()
}

#[test]
fn the_first_summary_is_written_with_the_master_s_worker_count() {
    // No worker pod counted yet, but the master says both are connected: the master wins.
    let step = Seen::running()
        .worker_pods(0)
        .read(&fixture("running-2-workers"), 10)
        .derive(&running_since_zero(), 10);
    let stats = step.status.stats.clone().unwrap();
    assert_eq!(stats.total_requests, 190);
    assert_eq!(stats.last_update_time, Some(Time(at(10))));
    assert_eq!(step.status.connected_workers, Some(2));
    assert_eq!(
        workers_condition(&step.status),
        (
            "True".into(),
            workers::ALL_WORKERS_CONNECTED.into(),
            "2/2 workers connected".into()
        )
    );
}

#[test]
fn growing_numbers_are_written_at_most_once_per_interval() {
    let first = read_at(10);
    // 3 s later the numbers changed, but the block is younger than the interval: no write at all.
    let soon = Seen::running().read(&grown(50), 13).derive(&first, 13);
    assert_eq!(soon.status, first);
    // Once the interval has passed, the new numbers are written.
    let later = Seen::running().read(&grown(80), 15).derive(&first, 15);
    let stats = later.status.stats.unwrap();
    assert_eq!(stats.total_requests, 270);
    assert_eq!(stats.last_update_time, Some(Time(at(15))));
}

#[test]
fn unchanged_numbers_are_never_rewritten() {
    let first = read_at(10);
    let step = Seen::running()
        .read(&fixture("running-2-workers"), 500)
        .derive(&first, 500);
    assert_eq!(step.status, first);
}

#[test]
fn a_new_locust_state_or_worker_count_is_written_at_once() {
    let first = read_at(10);
    let stopped = Seen::running().read(&fixture("stopped"), 11).derive(&first, 11);
    assert_eq!(stopped.status.stats.unwrap().state, "stopped");

    let one_left = edited("running-2-workers", |body| {
        body["worker_count"] = json!(1);
        body["workers"][1]["state"] = json!("missing");
    });
    let step = Seen::running().read(&one_left, 11).derive(&first, 11);
    assert_eq!(step.status.stats.as_ref().unwrap().workers, Some(1));
    assert_eq!(step.status.connected_workers, Some(1));
    assert_eq!(workers_condition(&step.status).1, workers::WORKERS_MISSING);
}

#[test]
fn the_final_numbers_are_written_when_the_test_ends_and_stay_after_its_pods_are_gone() {
    let first = read_at(10);
    // The master finished 2 s after the last write: the phase change takes the final numbers.
    let finished = Seen::running()
        .master(job_complete())
        .read(&fixture("stopped"), 12)
        .derive(&first, 12);
    assert_eq!(finished.status.phase, Some(Phase::Succeeded));
    let results = finished.status.stats.clone().unwrap();
    assert_eq!((results.total_requests, results.total_failures), (452, 95));

    // Pods cleaned up, nothing to read: the results stay, and nothing is written.
    let cleaned = Seen::running()
        .master(job_complete())
        .unreachable("connection refused")
        .derive(&finished.status, 400);
    assert_eq!(cleaned.status, finished.status);
    assert!(cleaned.events.is_empty());
}

#[test]
fn a_finished_test_ignores_later_numbers() {
    let finished = Seen::running()
        .master(job_complete())
        .read(&fixture("stopped"), 12)
        .derive(&read_at(10), 12)
        .status;
    let step = Seen::running().read(&grown(1000), 100).derive(&finished, 100);
    assert_eq!(step.status, finished);
}

#[test]
fn no_reading_keeps_the_recorded_block() {
    let first = read_at(10);
    let step = Seen::running().derive(&first, 60);
    assert_eq!(step.status.stats, first.stats);
}

#[test]
fn a_master_lost_while_running_is_reported_once_and_does_not_fail_the_test() {
    let first = read_at(10);
    let lost = Seen::running().worker_pods(1).unreachable("connection refused");
    let step = lost.derive(&first, 20);
    assert_eq!(step.status.phase, Some(Phase::Running));
    assert_eq!(
        workers_condition(&step.status),
        (
            "False".into(),
            workers::WORKERS_MISSING.into(),
            "1/2 workers connected (live stats unavailable: connection refused; counting worker pods)".into()
        )
    );
    assert_eq!(
        stats_events(&step),
        [&EventNote {
            type_: EventType::Warning,
            reason: reasons::STATS_UNAVAILABLE,
            message: "Cannot read live statistics from demo-master: connection refused; worker counts come from \
                      worker pods until it answers"
                .into(),
            related: Some(Child::Service),
        }]
    );
    // The last numbers stay.
    assert_eq!(step.status.stats, first.stats);

    // Later passes while it stays unreachable: no more events and nothing to write.
    let mut status = step.status;
    for now in [25, 30, 300, 3_000] {
        let again = lost.derive(&status, now);
        assert!(stats_events(&again).is_empty(), "at {now}");
        assert_eq!(again.status, status, "at {now}");
        status = again.status;
    }
}

#[test]
fn a_master_that_answers_again_is_reported_again_the_next_time_it_is_lost() {
    let lost = Seen::running().unreachable("timed out after 2s");
    let first_loss = lost.derive(&read_at(10), 20);
    assert_eq!(stats_events(&first_loss).len(), 1);

    let back = Seen::running().read(&grown(100), 30).derive(&first_loss.status, 30);
    assert_eq!(workers_condition(&back.status).2, "2/2 workers connected");
    assert!(back.events.is_empty());

    let second_loss = lost.derive(&back.status, 40);
    assert_eq!(stats_events(&second_loss).len(), 1);
}

#[test]
fn a_master_that_never_answered_gets_the_start_allowance_before_it_is_reported() {
    let silent = Seen::running().unreachable("connection refused");
    // Within the allowance (image pulls): nothing said, but a look again when it ends.
    let early = silent.derive(&running_since_zero(), 30);
    assert!(early.events.is_empty());
    assert_eq!(workers_condition(&early.status).2, "2/2 workers connected");
    assert_eq!(early.requeue_after, Some(ALLOWANCE - Duration::from_secs(30)));

    let late = silent.derive(&early.status, 120);
    assert_eq!(stats_events(&late).len(), 1);
    assert_eq!(
        workers_condition(&late.status).2,
        "2/2 workers connected (live stats unavailable: connection refused; counting worker pods)"
    );
    assert_eq!(late.requeue_after, None);
    assert!(stats_events(&silent.derive(&late.status, 500)).is_empty());
}

#[test]
fn a_master_that_just_started_running_is_given_the_allowance_too() {
    // Pending until now, and the first read fails: the test starts now, the allowance with it.
    let pending = Seen::running()
        .master(job_active(0))
        .derive(&LocustTestStatus::default(), 0)
        .status;
    assert_eq!(pending.phase, Some(Phase::Pending));
    let step = Seen::running().unreachable("connection refused").derive(&pending, 50);
    assert_eq!(step.status.phase, Some(Phase::Running));
    assert!(step.events.iter().all(|e| e.reason != reasons::STATS_UNAVAILABLE));
    assert_eq!(step.requeue_after, Some(ALLOWANCE));
}

#[test]
fn a_master_that_stopped_its_test_and_went_away_has_finished_not_failed_to_answer() {
    let stopped = Seen::running()
        .read(&fixture("stopped"), 11)
        .derive(&read_at(10), 11)
        .status;
    // Autoquit ended the master; its Job has not said so yet.
    let step = Seen::running().unreachable("connection refused").derive(&stopped, 40);
    assert!(step.events.is_empty());
    assert_eq!(workers_condition(&step.status).2, "2/2 workers connected");
}

#[test]
fn a_pending_test_does_not_report_its_master() {
    let pending = Seen::running()
        .master(job_active(0))
        .derive(&LocustTestStatus::default(), 0)
        .status;
    let step = Seen::running()
        .master(job_active(0))
        .unreachable("no endpoints")
        .derive(&pending, 500);
    assert_eq!(step.status.phase, Some(Phase::Pending));
    assert!(step.events.is_empty());
    assert!(!workers_condition(&step.status).2.contains("live stats"));
}
