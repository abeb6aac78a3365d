//! The thresholds' verdict: each limit against the master's last `/stats/requests`, the verdict
//! the status takes when the run ends, and the report kept in a ConfigMap.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use k8s_openapi::api::batch::v1::{JobCondition, JobStatus};
use k8s_openapi::jiff::Timestamp;
use serde_json::json;
use shared::api::status::conditions::{self, completed, health as health_reason, thresholds as reason};
use shared::api::status::{LocustTestStatus, Phase};
use shared::api::v2::{LocustTest, Thresholds};
use shared::health::Health;
use shared::report;
use shared::stats::RequestsReport;
use shared::status::{self, Child, Observation, condition, reasons};
use shared::thresholds::{Verdict, evaluate};

/// A final report: `GET /` fast and `POST /checkout` slow and failing now and then, as Locust 2.x
/// writes it.
fn final_report() -> RequestsReport {
    serde_json::from_value(json!({
        "state": "stopped",
        "total_rps": 42.5,
        "fail_ratio": 0.02,
        "stats": [
            { "method": "GET", "name": "/", "num_requests": 900, "num_failures": 0,
              "median_response_time": 12, "response_time_percentile_0.95": 40, "total_rps": 37.5 },
            { "method": "POST", "name": "/checkout", "num_requests": 100, "num_failures": 20,
              "median_response_time": 310, "response_time_percentile_0.95": 812, "total_rps": 5.0 },
            { "method": "GET", "name": "/checkout", "num_requests": 50, "num_failures": 0,
              "median_response_time": 20, "response_time_percentile_0.95": 60, "total_rps": 2.5 },
            { "method": "", "name": "Aggregated", "num_requests": 1050, "num_failures": 20,
              "median_response_time": 13, "response_time_percentile_0.95": 500, "total_rps": 45.0 }
        ]
    }))
    .unwrap()
}

fn limits(value: serde_json::Value) -> Thresholds {
    serde_json::from_value(value).unwrap()
}

/// (limits, whether they are met, what the message says)
fn table() -> Vec<(serde_json::Value, bool, &'static str)> {
    vec![
        (json!({ "maxFailRatio": 0.05 }), true, "all 1 thresholds met"),
        (
            json!({ "maxFailRatio": 0.01 }),
            false,
            "thresholds breached: fail ratio of all requests: 1.90 %, allowed at most 1.00 %",
        ),
        (json!({ "maxP95ResponseTimeMs": 500 }), true, "all 1 thresholds met"),
        (
            json!({ "maxP95ResponseTimeMs": 499 }),
            false,
            "thresholds breached: p95 response time of all requests: 500 ms, allowed at most 499 ms",
        ),
        (
            json!({ "maxMedianResponseTimeMs": 13, "minRps": 45 }),
            true,
            "all 2 thresholds met",
        ),
        (
            json!({ "minRps": 50 }),
            false,
            "thresholds breached: RPS of all requests: 45.0, allowed at least 50.0",
        ),
        // An endpoint with its method: only that row.
        (
            json!({ "endpoints": [{ "name": "/checkout", "method": "POST", "maxP95ResponseTimeMs": 500 }] }),
            false,
            "thresholds breached: p95 response time of POST /checkout: 812 ms, allowed at most 500 ms",
        ),
        (
            json!({ "endpoints": [{ "name": "/checkout", "method": "get", "maxP95ResponseTimeMs": 100 }] }),
            true,
            "all 1 thresholds met",
        ),
        // Without a method every method's row must meet it: the worst one counts.
        (
            json!({ "endpoints": [{ "name": "/checkout", "maxFailRatio": 0.1 }] }),
            false,
            "thresholds breached: fail ratio of /checkout: 20.00 %, allowed at most 10.00 %",
        ),
        (
            json!({ "endpoints": [{ "name": "/", "minRps": 30, "maxMedianResponseTimeMs": 15 }] }),
            true,
            "all 2 thresholds met",
        ),
        // An endpoint that never ran does not meet anything: no silent pass.
        (
            json!({ "endpoints": [{ "name": "/typo", "maxFailRatio": 1 }] }),
            false,
            "thresholds breached: fail ratio of /typo: no requests, allowed at most 100.00 %",
        ),
        // Several breaches are all listed, in spec order.
        (
            json!({ "maxFailRatio": 0.01, "minRps": 100, "endpoints": [{ "name": "/", "maxP95ResponseTimeMs": 10 }] }),
            false,
            "thresholds breached: fail ratio of all requests: 1.90 %, allowed at most 1.00 %; RPS of all requests: 45.0, allowed at least 100.0; p95 response time of /: 40 ms, allowed at most 10 ms",
        ),
    ]
}

#[test]
fn each_limit_is_checked_on_the_final_numbers_and_every_breach_is_named() {
    let report = final_report();
    for (spec, met, message) in table() {
        let verdict = evaluate(&limits(spec.clone()), Some(&report));
        assert_eq!(verdict.passed(), met, "{spec}: {verdict:?}");
        assert_eq!(verdict.message(), message, "{spec}");
    }
}

#[test]
fn without_statistics_nothing_passes() {
    let verdict = evaluate(&limits(json!({ "maxFailRatio": 1 })), None);
    assert!(matches!(verdict, Verdict::Unverified(_)));
    assert!(!verdict.passed());
    assert_eq!(
        verdict.message(),
        "the thresholds could not be checked: no statistics were read from the master before it ended"
    );
}

#[test]
fn results_record_subject_limit_allowed_and_measured() {
    let verdict = evaluate(
        &limits(
            json!({ "maxFailRatio": 0.05, "endpoints": [{ "name": "/checkout", "method": "POST", "maxP95ResponseTimeMs": 500 }] }),
        ),
        Some(&final_report()),
    );
    let results: Vec<_> = verdict.checks().iter().map(|check| check.to_result()).collect();
    assert_eq!(
        serde_json::to_value(&results).unwrap(),
        json!([
            { "subject": "all requests", "limit": "maxFailRatio", "allowed": 0.05, "measured": 0.019, "met": true },
            { "subject": "POST /checkout", "limit": "maxP95ResponseTimeMs", "allowed": 500.0, "measured": 812.0, "met": false }
        ])
    );
}

// ---------------------------------------------------------------------------------------------
// In status, when the run ends

fn at(seconds: i64) -> Timestamp {
    Timestamp::from_second(1_767_225_600 + seconds).unwrap()
}

fn master_job(type_: &str) -> JobStatus {
    JobStatus {
        active: Some(0),
        conditions: Some(vec![JobCondition {
            type_: type_.into(),
            status: "True".into(),
            reason: Some(
                if type_ == "Failed" {
                    "BackoffLimitExceeded"
                } else {
                    "CompletionsReached"
                }
                .into(),
            ),
            message: (type_ == "Failed").then(|| "Job has reached the specified backoff limit".into()),
            ..JobCondition::default()
        }]),
        ..JobStatus::default()
    }
}

/// The status after the master Job ended with `job` (`Complete` or `Failed`), from a running
/// test, with `thresholds` checked on `stats`.
fn observe<'a>(
    master_job: Option<&'a JobStatus>,
    thresholds: Option<&'a Thresholds>,
    stats: Option<&'a RequestsReport>,
) -> Observation<'a> {
    Observation {
        test_name: "demo",
        generation: Some(1),
        expected_workers: 1,
        present: &Child::ALL,
        created: &[],
        master_job,
        worker_job: None,
        health: Health {
            reason: health_reason::PODS_HEALTHY,
            message: "All pods are healthy".into(),
            grace_remaining: None,
        },
        spec_drifted: false,
        connected_workers: Some(1),
        build_error: None,
        stats: None,
        stats_unreachable: None,
        creation_retry: None,
        thresholds,
        last_stats: stats,
        stop_requested: None,
    }
}

fn ended(
    job: &str,
    thresholds: Option<&Thresholds>,
    stats: Option<&RequestsReport>,
) -> (LocustTestStatus, Vec<&'static str>) {
    let settings = status::DeriveSettings::default();
    let running_job = JobStatus {
        active: Some(1),
        ..JobStatus::default()
    };
    let running = status::derive(
        &LocustTestStatus::default(),
        &observe(Some(&running_job), thresholds, stats),
        &settings,
        at(0),
    );
    assert_eq!(running.status.phase, Some(Phase::Running));
    assert!(
        condition(&running.status, conditions::THRESHOLDS_MET).is_none(),
        "judged only at the end"
    );
    let done = master_job(job);
    let step = status::derive(
        &running.status,
        &observe(Some(&done), thresholds, stats),
        &settings,
        at(60),
    );
    (step.status, step.events.iter().map(|event| event.reason).collect())
}

fn said(status: &LocustTestStatus, type_: &str) -> (String, String, String) {
    let found = condition(status, type_).unwrap_or_else(|| panic!("no {type_} in {status:#?}"));
    (found.status.clone(), found.reason.clone(), found.message.clone())
}

#[test]
fn a_passed_run_that_meets_its_thresholds_succeeds_and_says_so() {
    let limits = limits(json!({ "maxFailRatio": 0.05 }));
    let (status, events) = ended("Complete", Some(&limits), Some(&final_report()));
    assert_eq!(status.phase, Some(Phase::Succeeded));
    assert_eq!(
        said(&status, conditions::THRESHOLDS_MET),
        (
            "True".into(),
            reason::THRESHOLDS_MET.into(),
            "all 1 thresholds met".into()
        )
    );
    assert_eq!(said(&status, conditions::TEST_COMPLETED).1, completed::TEST_SUCCEEDED);
    assert_eq!(status.thresholds.as_ref().map(Vec::len), Some(1));
    assert!(events.contains(&reasons::THRESHOLDS_MET), "{events:?}");
}

#[test]
fn a_passed_run_that_breaches_them_fails_with_thresholds_breached_and_ready_stays_true() {
    let limits = limits(json!({ "maxP95ResponseTimeMs": 100 }));
    let (status, events) = ended("Complete", Some(&limits), Some(&final_report()));
    assert_eq!(status.phase, Some(Phase::Failed));
    let breach = "thresholds breached: p95 response time of all requests: 500 ms, allowed at most 100 ms";
    assert_eq!(
        said(&status, conditions::TEST_COMPLETED),
        ("True".into(), completed::THRESHOLDS_BREACHED.into(), breach.into())
    );
    assert_eq!(
        said(&status, conditions::THRESHOLDS_MET),
        ("False".into(), reason::THRESHOLDS_BREACHED.into(), breach.into())
    );
    assert_eq!(said(&status, conditions::READY).0, "True");
    assert!(status.completion_time.is_some());
    assert!(
        events.contains(&reasons::TEST_FAILED) && events.contains(&reasons::THRESHOLDS_BREACHED),
        "{events:?}"
    );
}

#[test]
fn a_verdict_on_numbers_read_before_locust_stopped_says_so() {
    let mut running = final_report();
    running.state = "running".into();
    let (status, _) = ended(
        "Complete",
        Some(&limits(json!({ "maxFailRatio": 0.05 }))),
        Some(&running),
    );
    assert_eq!(status.phase, Some(Phase::Succeeded));
    assert_eq!(
        said(&status, conditions::THRESHOLDS_MET).2,
        "all 1 thresholds met (on the last statistics read, while Locust was running)"
    );
}

#[test]
fn a_passed_run_whose_statistics_were_never_read_fails_as_unverified() {
    let limits = limits(json!({ "minRps": 1 }));
    let (status, _) = ended("Complete", Some(&limits), None);
    assert_eq!(status.phase, Some(Phase::Failed));
    assert_eq!(
        said(&status, conditions::TEST_COMPLETED).1,
        completed::THRESHOLDS_UNVERIFIED
    );
    assert_eq!(
        said(&status, conditions::THRESHOLDS_MET).1,
        reason::STATISTICS_UNAVAILABLE
    );
    assert_eq!(status.thresholds, Some(Vec::new()));
}

#[test]
fn a_failed_run_keeps_its_own_reason_and_still_gets_the_verdict() {
    let limits = limits(json!({ "maxFailRatio": 0.01 }));
    let (status, _) = ended("Failed", Some(&limits), Some(&final_report()));
    assert_eq!(status.phase, Some(Phase::Failed));
    assert_eq!(said(&status, conditions::TEST_COMPLETED).1, completed::TEST_FAILED);
    assert_eq!(said(&status, conditions::THRESHOLDS_MET).0, "False");
}

#[test]
fn a_test_without_thresholds_gets_no_verdict() {
    let (status, events) = ended("Complete", None, None);
    assert_eq!(status.phase, Some(Phase::Succeeded));
    assert!(condition(&status, conditions::THRESHOLDS_MET).is_none());
    assert_eq!(status.thresholds, None);
    assert!(!events.contains(&reasons::THRESHOLDS_MET));
}

// ---------------------------------------------------------------------------------------------
// The report ConfigMap

fn test_object() -> LocustTest {
    serde_json::from_value(json!({
        "apiVersion": "locust.io/v2", "kind": "LocustTest",
        "metadata": { "name": "demo", "namespace": "load", "uid": "1234" },
        "spec": { "image": "locustio/locust:2.47.0", "master": { "command": "-f t.py" },
                  "worker": { "command": "-f t.py", "replicas": 1 } }
    }))
    .unwrap()
}

/// Bytes that gzip does not shrink (a xorshift stream).
fn incompressible(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

#[test]
fn the_report_is_stored_compressed_owned_by_the_test_and_reads_back_the_same() {
    let html = "<html>".repeat(100_000).into_bytes();
    let files = vec![
        (report::HTML_FILE.to_string(), html.clone()),
        (
            report::REQUESTS_CSV_FILE.to_string(),
            b"Type,Name,Request Count\n".to_vec(),
        ),
    ];
    let stored = report::store(&test_object(), &files, at(5));
    let config_map = stored.config_map.unwrap();
    assert_eq!(config_map.metadata.name.as_deref(), Some("demo-report"));
    assert_eq!(config_map.metadata.namespace.as_deref(), Some("load"));
    let owner = &config_map.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.uid.as_str()), ("LocustTest", "1234"));
    let stored_bytes: usize = config_map
        .binary_data
        .iter()
        .flatten()
        .map(|(_, bytes)| bytes.0.len())
        .sum();
    assert!(stored_bytes < html.len() / 50, "gzip: {stored_bytes}");
    let unpacked = report::unpack(&config_map).unwrap();
    assert_eq!(unpacked[report::HTML_FILE], html);
    assert_eq!(stored.status.config_map.as_deref(), Some("demo-report"));
    assert_eq!(
        stored.status.files,
        Some(vec!["report.html".to_string(), "requests.csv".to_string()])
    );
    assert_eq!(stored.status.message, None);
}

#[test]
fn a_report_too_large_for_a_config_map_leaves_out_the_html_then_everything_and_says_so() {
    let csv = (report::REQUESTS_CSV_FILE.to_string(), b"Type,Name\n".to_vec());
    let big_html = (report::HTML_FILE.to_string(), incompressible(1_200_000));
    let stored = report::store(&test_object(), &[big_html, csv.clone()], at(5));
    assert_eq!(stored.status.files, Some(vec!["requests.csv".to_string()]));
    let message = stored.status.message.unwrap();
    assert!(
        message.starts_with("report.html left out: 1.1 MiB compressed"),
        "{message}"
    );
    assert!(stored.config_map.is_some());

    let big_csv = (report::REQUESTS_CSV_FILE.to_string(), incompressible(1_100_000));
    let stored = report::store(&test_object(), &[big_csv], at(5));
    assert_eq!(stored.config_map, None);
    assert_eq!(stored.status.config_map, None);
    let message = stored.status.message.unwrap();
    assert!(
        message.starts_with("report not saved: 1.0 MiB compressed, more than the 977 KiB a ConfigMap holds"),
        "{message}"
    );
}
