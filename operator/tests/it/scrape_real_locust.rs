//! The scraper against a REAL Locust: one master and two workers started from `locust` on PATH on
//! 127.0.0.1, with the argv the operator builds for the test (moved to loopback). The scraper reads
//! the master's web API directly, reconciles fill the test's status in the in-memory API server,
//! and the operator's own `/metrics` endpoint is read over HTTP.
//! Needs Locust 2.x on PATH; without it these tests fail and say `pip install locust`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every helper's re-export is used here.
#[allow(unused_imports)]
#[path = "../../../shared/tests/support/locust.rs"]
mod locust;
#[allow(dead_code)]
#[path = "../../../shared/tests/support/http.rs"]
mod target;

use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::support::stats::{NS, StatsHarness, metric_value};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use locust::{LOCUST_MISSING, LocustProcesses, free_local_endpoints, locust_on_path};
use operator::http::{self, Health};
use operator::scrape::{Access, Entry, Reading, ScrapeSettings, Scraper, TestKey};
use serde_json::{Value, json};
use shared::api::status::Phase;
use shared::api::status::conditions;
use shared::api::v2::LocustTest;
use shared::command::{LocalEndpoints, localize, master_args, worker_args};
use shared::naming::{self, Role};
use target::TargetServer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const WORKERS: i32 = 2;
/// The operator's default `--stats-interval`; the fake clock moves by it between rounds.
const INTERVAL: Duration = Duration::from_secs(5);
/// How long the workers may take to connect and the load to start.
const START_LIMIT: Duration = Duration::from_secs(45);
/// How long a short run may take to stop, and its master to quit after it.
const STOP_LIMIT: Duration = Duration::from_secs(45);
/// Real time between reads while waiting for something to happen.
const POLL: Duration = Duration::from_millis(300);
const STATS_UNAVAILABLE: &str = "StatsUnavailable";

/// Three Python processes per test on a small machine: one run at a time.
static ONE_RUN_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One user that GETs `/` with a short wait, so requests pile up quickly.
const LOCUSTFILE: &str = r#"
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
"#;

/// A master and two workers on loopback, started from the LocustTest the harness holds, and a
/// scraper reading that master directly.
struct RealRun {
    harness: StatsHarness,
    scraper: Scraper,
    processes: Option<LocustProcesses>,
    endpoints: LocalEndpoints,
    _target: TargetServer,
    _dir: tempfile::TempDir,
}

impl RealRun {
    /// Starts a test `name` whose master command ends with `master_flags` and whose `master:`
    /// section has `master_settings`, after bringing it to Running in the fake API server.
    async fn start(name: &str, master_flags: &str, master_settings: Value) -> Self {
        Self::start_with_worker_flags(name, master_flags, master_settings, "").await
    }

    /// Like [`Self::start`], with `worker_flags` at the end of the workers' command.
    async fn start_with_worker_flags(
        name: &str,
        master_flags: &str,
        master_settings: Value,
        worker_flags: &str,
    ) -> Self {
        Self::start_full(name, LOCUSTFILE, master_flags, master_settings, worker_flags, None).await
    }

    /// Like [`Self::start`], running `locustfile_text`, with `spec.thresholds` set to `thresholds`.
    async fn start_full(
        name: &str,
        locustfile_text: &str,
        master_flags: &str,
        master_settings: Value,
        worker_flags: &str,
        thresholds: Option<Value>,
    ) -> Self {
        let locust_path = locust_on_path().unwrap_or_else(|| panic!("{LOCUST_MISSING}"));
        let target = TargetServer::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let locustfile = dir.path().join("test.py");
        std::fs::write(&locustfile, locustfile_text).unwrap();
        let locustfile = locustfile.to_str().unwrap();

        let mut master = json!({
            "command": format!("--locustfile {locustfile} --host {} {master_flags}", target.base_url()),
        });
        for (key, value) in master_settings.as_object().unwrap() {
            master[key] = value.clone();
        }
        let mut spec = json!({
            "image": "locustio/locust:2.47.0",
            "master": master,
            "worker": { "command": format!("--locustfile {locustfile} {worker_flags}"), "replicas": WORKERS },
        });
        if let Some(thresholds) = thresholds {
            spec["thresholds"] = thresholds;
        }
        let harness = StatsHarness::with_spec(name, spec).start(WORKERS).await;

        // The argv the operator builds for this very test, moved to 127.0.0.1.
        let test: LocustTest = harness.fake.get(NS, name).unwrap();
        let endpoints = free_local_endpoints();
        let master_argv = localize(&master_args(&test.spec).unwrap(), Role::Master, endpoints);
        let worker_argv = localize(&worker_args(name, &test.spec).unwrap(), Role::Worker, endpoints);
        let mut processes = LocustProcesses::new(locust_path, dir.path());
        processes.spawn("master", &master_argv);
        // Each worker as its own pod: the operator counts worker pods by Locust's worker ids.
        for index in 0..WORKERS {
            let pod = format!("{}-{index}x7kq", naming::worker_name(name));
            processes.spawn_as_pod(&format!("worker-{index}"), &pod, &worker_argv);
        }

        let scraper = harness.scraper(
            Access::Direct(format!("http://127.0.0.1:{}", endpoints.web_port)),
            ScrapeSettings {
                interval: INTERVAL,
                timeout: Duration::from_secs(2),
                concurrency: 4,
            },
        );
        Self {
            harness,
            scraper,
            processes: Some(processes),
            endpoints,
            _target: target,
            _dir: dir,
        }
    }

    fn key(&self) -> TestKey {
        TestKey::new(NS, &self.harness.name)
    }

    /// One scraper round over the test as stored now; how many reconciles it asked for.
    async fn round(&self) -> usize {
        self.scraper.scrape(&[self.harness.delivered()]).await.len()
    }

    fn latest(&self) -> Entry {
        self.scraper.cache().get(&self.key()).expect("a reading")
    }

    fn report(&mut self) -> String {
        self.processes
            .as_mut()
            .map_or_else(|| "(processes stopped)".into(), LocustProcesses::report)
    }

    /// Reads every [`POLL`] until `wanted` accepts the reading, at most `limit`.
    async fn read_until(&mut self, what: &str, limit: Duration, wanted: impl Fn(&Reading) -> bool) -> Entry {
        let started = Instant::now();
        loop {
            self.round().await;
            let latest = self.latest();
            if wanted(&latest.reading) {
                return latest;
            }
            if started.elapsed() > limit {
                panic!(
                    "{what}: not seen within {limit:?}; last reading {latest:#?}\n{}",
                    self.report()
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }
}

fn answered(reading: &Reading) -> Option<(&shared::api::status::TestStats, Option<i32>)> {
    match reading {
        Reading::Answered { summary, workers, .. } => Some((summary, *workers)),
        Reading::Unreachable(_) => None,
    }
}

/// GET `path` from the operator's HTTP endpoint on 127.0.0.1:`port`: the head and the body.
async fn http_get(port: u16, path: &str) -> (String, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8(response).unwrap()
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

/// Serves the operator's real `/healthz`, `/readyz` and `/metrics` on a free loopback port.
async fn serve_operator_endpoints(harness: &StatsHarness) -> (u16, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let router = http::router(Arc::new(Health::default()), harness.metrics.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(http::serve_on(listener, router, async move {
        let _ = stopped.await;
    }));
    (port, stop)
}

#[tokio::test]
async fn the_scraper_reads_a_real_master_with_two_workers_and_reports_once_when_it_goes() {
    let _one = ONE_RUN_AT_A_TIME.lock().await;
    let name = "real-running";
    let mut run = RealRun::start(
        name,
        "--users 4 --spawn-rate 4 --run-time 120s",
        json!({ "autostart": true, "autoquit": { "enabled": false } }),
    )
    .await;

    // Both workers connect, the load starts, requests arrive.
    let first = run
        .read_until("two workers and running load", START_LIMIT, |reading| {
            answered(reading).is_some_and(|(summary, workers)| {
                workers == Some(WORKERS) && summary.state == "running" && summary.total_requests > 0
            })
        })
        .await;
    let (first_summary, _) = answered(&first.reading).unwrap();
    let first_total = first_summary.total_requests;
    run.harness.reconcile().await;
    let status = run.harness.status();
    assert_eq!(status.connected_workers, Some(WORKERS), "{status:#?}");
    assert_eq!(
        status.stats.as_ref().map(|stats| stats.total_requests),
        Some(first_total)
    );

    // Workers report to the master every few seconds: wait until the numbers have grown. Still
    // within the interval on the operator's clock, so none of these rounds asks for a write.
    run.read_until("more requests and a current RPS", START_LIMIT, |reading| {
        answered(reading).is_some_and(|(summary, _)| summary.total_requests > first_total && summary.current_rps > 0.0)
    })
    .await;
    assert_eq!(
        run.harness.status().stats.as_ref().map(|stats| stats.total_requests),
        Some(first_total)
    );
    // An interval later on the operator's clock, the grown numbers are worth a status update.
    run.harness.advance(INTERVAL);
    assert_eq!(
        run.round().await,
        1,
        "grown numbers an interval later ask for a status update"
    );
    let second = run.latest();
    let (summary, workers) = answered(&second.reading).unwrap_or_else(|| panic!("{second:#?}\n{}", run.report()));
    assert!(summary.total_requests > first_total, "{first_total} -> {summary:#?}");
    assert_eq!(workers, Some(WORKERS));
    assert_eq!(summary.state, "running");
    assert_eq!(summary.users, 4);
    assert!(summary.current_rps > 0.0, "{summary:#?}");
    assert!(summary.median_response_time.is_some_and(|ms| ms >= 0.0), "{summary:#?}");
    run.harness.reconcile().await;
    let status = run.harness.status();
    assert_eq!(status.phase, Some(Phase::Running));
    assert_eq!(status.stats.as_ref(), Some(summary));
    assert_eq!(
        run.harness.condition(conditions::WORKERS_CONNECTED).message,
        format!("{WORKERS}/{WORKERS} workers connected")
    );

    // The operator's /metrics endpoint shows the exporter's series for this test.
    let Reading::Answered { report, .. } = &second.reading else {
        unreachable!()
    };
    let index_requests = report
        .stats
        .iter()
        .find(|row| row.name == "/" && row.method == "GET")
        .expect("a GET / row")
        .num_requests;
    let (port, stop_http) = serve_operator_endpoints(&run.harness).await;
    let (head, text) = http_get(port, "/metrics").await;
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    assert!(
        head.to_ascii_lowercase().contains("application/openmetrics-text"),
        "{head}"
    );
    let labels = format!(r#"namespace="{NS}",test="{name}""#);
    assert_eq!(
        metric_value(&text, &format!("locust_up{{{labels}}}")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric_value(&text, &format!("locust_users{{{labels}}}")),
        Some(4.0),
        "{text}"
    );
    assert_eq!(
        metric_value(&text, &format!("locust_workers_count{{{labels}}}")),
        Some(f64::from(WORKERS)),
        "{text}"
    );
    assert_eq!(
        metric_value(&text, &format!("locust_running{{{labels}}}")),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        metric_value(
            &text,
            &format!(r#"locust_requests_num_requests{{method="GET",name="/",{labels}}}"#)
        ),
        Some(index_requests as f64),
        "{text}"
    );
    assert!(text.contains("locust_operator_reconciliations_total"), "{text}");

    // Locust goes away (the master pod is killed): recorded once, reported once, never a failure.
    drop(run.processes.take());
    let mut asked = Vec::new();
    for _ in 0..3 {
        run.harness.advance(INTERVAL);
        asked.push(run.round().await);
        run.harness.reconcile().await;
    }
    assert_eq!(asked, [1, 0, 0], "only the change asks for a reconcile");
    let Reading::Unreachable(why) = run.latest().reading else {
        panic!("the stopped master still reads as {:#?}", run.latest());
    };
    assert!(
        why.starts_with(&format!(
            "http://127.0.0.1:{}: cannot connect: ",
            run.endpoints.web_port
        )),
        "{why}"
    );
    let warnings = run.harness.events_with_reason(STATS_UNAVAILABLE);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0].count, 1, "{warnings:#?}");
    let status = run.harness.status();
    assert_eq!(
        status.phase,
        Some(Phase::Running),
        "an unreachable master fails nothing by itself"
    );
    let message = run.harness.condition(conditions::WORKERS_CONNECTED).message;
    assert!(
        message.contains(&format!("(live stats unavailable: {why}; counting worker pods)")),
        "{message}"
    );
    assert_eq!(status.stats.as_ref(), Some(summary), "the last values stay");
    let (_, text) = http_get(port, "/metrics").await;
    assert_eq!(
        metric_value(&text, &format!("locust_up{{{labels}}}")),
        Some(0.0),
        "{text}"
    );
    assert!(!text.contains(&format!("locust_users{{{labels}}}")), "{text}");
    let _ = stop_http.send(());
}

#[tokio::test]
async fn a_run_that_stops_by_itself_keeps_its_results_after_the_master_quits() {
    let _one = ONE_RUN_AT_A_TIME.lock().await;
    let name = "real-stopping";
    let mut run = RealRun::start(
        name,
        "--users 4 --spawn-rate 4 --run-time 4s",
        json!({ "autostart": true, "autoquit": { "enabled": true, "timeout": 4 } }),
    )
    .await;

    run.read_until("running load", START_LIMIT, |reading| {
        answered(reading).is_some_and(|(summary, _)| summary.state == "running")
    })
    .await;
    run.harness.reconcile().await;

    // The run time ends: Locust says `stopped`, which is written at once with the final numbers.
    let stopped = run
        .read_until("the stopped state", STOP_LIMIT, |reading| {
            answered(reading).is_some_and(|(summary, _)| summary.state == "stopped")
        })
        .await;
    let (final_stats, workers) = answered(&stopped.reading).unwrap();
    assert!(final_stats.total_requests > 0, "{final_stats:#?}");
    assert_eq!(final_stats.users, 0);
    assert_eq!(workers, Some(WORKERS));
    let Reading::Answered { report, .. } = &stopped.reading else {
        unreachable!()
    };
    let aggregated = report.stats.iter().find(|row| row.name == "Aggregated").unwrap();
    assert_eq!(final_stats.total_requests, aggregated.num_requests);
    assert_eq!(final_stats.total_failures, aggregated.num_failures);
    run.harness.reconcile().await;
    assert_eq!(run.harness.status().stats.as_ref(), Some(final_stats));

    // Autoquit: the master exits by itself. A finished master going away is not a problem.
    let master_exit = run.processes.as_mut().unwrap().wait_for_exit("master", STOP_LIMIT);
    assert!(
        master_exit.is_some_and(|status| status.success()),
        "master did not quit cleanly: {master_exit:?}\n{}",
        run.report()
    );
    run.harness.advance(INTERVAL);
    run.round().await;
    assert!(
        matches!(run.latest().reading, Reading::Unreachable(_)),
        "{:#?}",
        run.latest()
    );
    run.harness.reconcile().await;
    assert!(run.harness.events_with_reason(STATS_UNAVAILABLE).is_empty());

    // The Job completes and the pods go: phase Succeeded, the results stay, the series go.
    run.harness.fake.set_status::<Job>(
        NS,
        &naming::master_name(name),
        json!({ "succeeded": 1, "conditions": [{ "type": "Complete", "status": "True" }] }),
    );
    run.harness.reconcile().await;
    run.round().await;
    run.harness.reconcile().await;
    let status = run.harness.status();
    assert_eq!(status.phase, Some(Phase::Succeeded));
    assert_eq!(status.stats.as_ref(), Some(final_stats));
    assert!(run.scraper.cache().keys().is_empty());
    assert!(!run.harness.exposition().contains(&format!(r#"test="{name}""#)));
}

#[tokio::test]
async fn worker_pods_that_fork_processes_are_counted_as_pods() {
    let _one = ONE_RUN_AT_A_TIME.lock().await;
    let name = "real-processes";
    let mut run = RealRun::start_with_worker_flags(
        name,
        "--users 4 --spawn-rate 4 --run-time 120s",
        json!({ "autostart": true, "autoquit": { "enabled": false } }),
        "--processes 2",
    )
    .await;

    // The master waits for every process (--expect-workers counts them) before it runs the load.
    let seen = run
        .read_until(
            "both pods' processes connected and the load running",
            START_LIMIT,
            |reading| {
                answered(reading).is_some_and(|(summary, _)| summary.state == "running" && summary.workers == Some(4))
            },
        )
        .await;
    let (_, pods) = answered(&seen.reading).unwrap();
    assert_eq!(pods, Some(WORKERS), "Locust counts 4 workers; they are 2 pods");

    run.harness.reconcile().await;
    let status = run.harness.status();
    assert_eq!(
        (status.connected_workers, status.expected_workers),
        (Some(WORKERS), Some(WORKERS)),
        "{status:#?}"
    );
    assert_eq!(status.stats.as_ref().and_then(|stats| stats.workers), Some(4));
    let connected = status
        .conditions
        .iter()
        .flatten()
        .find(|condition| condition.type_ == conditions::WORKERS_CONNECTED)
        .unwrap();
    assert_eq!(
        (
            connected.status.as_str(),
            connected.reason.as_str(),
            connected.message.as_str()
        ),
        (
            "True",
            conditions::workers::ALL_WORKERS_CONNECTED,
            "2/2 workers connected"
        )
    );
}

/// Users that GET `/` and the target's slow endpoint, which answers after 300 ms.
const LOCUSTFILE_WITH_A_SLOW_ENDPOINT: &str = r#"
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")

    @task
    def slow(self):
        self.client.get("/slow")
"#;

/// Runs a short test to its end: Locust stops, the scraper reads the final report, the master
/// quits, its Job completes; returns the run with the test's final status reconciled.
async fn run_to_the_end(name: &str, locustfile: &str, thresholds: Value) -> RealRun {
    let mut run = RealRun::start_full(
        name,
        locustfile,
        "--users 4 --spawn-rate 4 --run-time 4s",
        json!({ "autostart": true, "autoquit": { "enabled": true, "timeout": 5 } }),
        "",
        Some(thresholds),
    )
    .await;
    run.read_until("running load", START_LIMIT, |reading| {
        answered(reading).is_some_and(|(summary, _)| summary.state == "running")
    })
    .await;
    run.harness.reconcile().await;
    // The round that sees `stopped` reads the report too, within the autoquit window.
    run.read_until("the stopped state", STOP_LIMIT, |reading| {
        answered(reading).is_some_and(|(summary, _)| summary.state == "stopped")
    })
    .await;
    run.harness.reconcile().await;
    let master_exit = run.processes.as_mut().unwrap().wait_for_exit("master", STOP_LIMIT);
    assert!(
        master_exit.is_some_and(|status| status.success()),
        "master did not quit cleanly: {master_exit:?}\n{}",
        run.report()
    );
    // The master is gone (its last answer stays in the cache) and its Job completes.
    run.harness.advance(INTERVAL);
    run.round().await;
    run.harness.fake.set_status::<Job>(
        NS,
        &naming::master_name(name),
        json!({ "succeeded": 1, "conditions": [{ "type": "Complete", "status": "True" }] }),
    );
    run.harness.reconcile().await;
    run
}

#[tokio::test]
async fn a_slow_endpoint_breaches_its_p95_limit_fails_the_test_and_the_report_outlives_the_master() {
    let _one = ONE_RUN_AT_A_TIME.lock().await;
    let name = "real-breach";
    let run = run_to_the_end(
        name,
        LOCUSTFILE_WITH_A_SLOW_ENDPOINT,
        json!({
            "maxFailRatio": 0.01,
            "maxMedianResponseTimeMs": 5000,
            "endpoints": [{ "name": "/slow", "method": "GET", "maxP95ResponseTimeMs": 100 }],
        }),
    )
    .await;

    let status = run.harness.status();
    assert_eq!(status.phase, Some(Phase::Failed), "{status:#?}");
    let completed = run.harness.condition(conditions::TEST_COMPLETED);
    assert_eq!(completed.reason, conditions::completed::THRESHOLDS_BREACHED);
    assert!(
        completed
            .message
            .starts_with("thresholds breached: p95 response time of GET /slow: ")
            && completed.message.ends_with(" ms, allowed at most 100 ms"),
        "{}",
        completed.message
    );
    let met = run.harness.condition(conditions::THRESHOLDS_MET);
    assert_eq!(
        (met.status.as_str(), met.reason.as_str()),
        ("False", "ThresholdsBreached")
    );
    // Ready speaks of the resources, which were all there.
    assert_eq!(run.harness.condition(conditions::READY).status, "True");
    let results = status.thresholds.unwrap();
    let limits: Vec<(&str, &str, bool)> = results
        .iter()
        .map(|result| (result.subject.as_str(), result.limit.as_str(), result.met))
        .collect();
    assert_eq!(
        limits,
        [
            ("all requests", "maxFailRatio", true),
            ("all requests", "maxMedianResponseTimeMs", true),
            ("GET /slow", "maxP95ResponseTimeMs", false),
        ]
    );
    let slow_p95 = results[2].measured.unwrap();
    assert!(slow_p95 >= 300.0, "the slow endpoint answers after 300 ms: {slow_p95}");
    assert!(!run.harness.events_with_reason("ThresholdsBreached").is_empty());

    // Locust's own report, read before the master quit, is kept in a ConfigMap the test owns.
    let report = status.report.expect("status.report");
    let config_map_name = report.config_map.clone().expect("a saved report");
    assert_eq!(config_map_name, format!("{name}-report"));
    assert_eq!(report.message, None);
    let config_map: ConfigMap = run.harness.fake.get(NS, &config_map_name).unwrap();
    let owner = &config_map.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!((owner.kind.as_str(), owner.name.as_str()), ("LocustTest", name));
    let files = shared::report::unpack(&config_map).unwrap();
    assert_eq!(
        files.keys().map(String::as_str).collect::<Vec<_>>(),
        ["failures.csv", "report.html", "requests.csv", "stats.json"]
    );
    let html = String::from_utf8_lossy(&files["report.html"]);
    assert!(
        html.contains("<html") && html.contains("/slow"),
        "{}",
        &html[..html.len().min(300)]
    );
    let csv = String::from_utf8_lossy(&files["requests.csv"]);
    assert!(csv.lines().next().unwrap().contains("Request Count"), "{csv}");
    assert!(csv.contains("\"/slow\"") || csv.contains(",/slow,"), "{csv}");
    let final_json = shared::stats::parse_report(&files["stats.json"]).unwrap();
    assert_eq!(final_json.state, "stopped");
    // Stored compressed: well within what a ConfigMap holds.
    let stored: usize = config_map
        .binary_data
        .iter()
        .flatten()
        .map(|(_, bytes)| bytes.0.len())
        .sum();
    assert!(stored < shared::report::MAX_STORED_BYTES, "{stored}");
}

#[tokio::test]
async fn a_healthy_run_meets_its_thresholds_and_succeeds() {
    let _one = ONE_RUN_AT_A_TIME.lock().await;
    let name = "real-healthy";
    let run = run_to_the_end(
        name,
        LOCUSTFILE,
        json!({
            "maxFailRatio": 0,
            "maxP95ResponseTimeMs": 250,
            "minRps": 1,
            "endpoints": [{ "name": "/", "maxMedianResponseTimeMs": 250 }],
        }),
    )
    .await;
    let status = run.harness.status();
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    let met = run.harness.condition(conditions::THRESHOLDS_MET);
    assert_eq!((met.status.as_str(), met.reason.as_str()), ("True", "ThresholdsMet"));
    assert_eq!(met.message, "all 4 thresholds met");
    assert_eq!(
        run.harness.condition(conditions::TEST_COMPLETED).reason,
        conditions::completed::TEST_SUCCEEDED
    );
    let results = status.thresholds.unwrap();
    assert!(
        results.iter().all(|result| result.met && result.measured.is_some()),
        "{results:#?}"
    );
    assert!(status.report.and_then(|report| report.config_map).is_some());
}

/// POST `path` with an empty body to the Locust master's web port on 127.0.0.1: the head and the
/// body of the answer.
async fn http_post(port: u16, path: &str) -> (String, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        let request = format!("POST {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.unwrap();
        String::from_utf8(response).unwrap()
    };
    let response = tokio::time::timeout(Duration::from_secs(10), exchange).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_string(), body.to_string())
}

#[tokio::test]
async fn a_run_stopped_on_request_ends_as_test_stopped_with_its_final_results_and_report() {
    let _one = ONE_RUN_AT_A_TIME.lock().await;
    let name = "real-stopped";
    // A long run with autoquit: without the request it would go on for two minutes.
    let mut run = RealRun::start_full(
        name,
        LOCUSTFILE,
        "--users 4 --spawn-rate 4 --run-time 120s",
        json!({ "autostart": true, "autoquit": { "enabled": true, "timeout": 60 } }),
        "",
        Some(json!({ "maxFailRatio": 0 })),
    )
    .await;
    run.read_until("running load", START_LIMIT, |reading| {
        answered(reading).is_some_and(|(summary, _)| summary.state == "running" && summary.total_requests > 0)
    })
    .await;
    run.harness.reconcile().await;

    // What `kubectl locust stop` does: record who asked, then POST /stop to the master.
    run.harness.fake.update::<LocustTest>(NS, name, |test| {
        test["metadata"]["annotations"] = json!({ "locust.io/stop-requested": "2025-03-01T10:00:02Z ci-bot" });
    });
    let (head, body) = http_post(run.endpoints.web_port, "/stop").await;
    assert!(head.contains(" 200 "), "{head}\n{body}");
    run.harness.reconcile().await;

    run.read_until("the stopped state", STOP_LIMIT, |reading| {
        answered(reading).is_some_and(|(summary, _)| summary.state == "stopped")
    })
    .await;
    run.harness.reconcile().await;
    let status = run.harness.status();
    assert_eq!(status.phase, Some(Phase::Succeeded), "{status:#?}");
    let completed = run.harness.condition(conditions::TEST_COMPLETED);
    assert_eq!(completed.reason, conditions::completed::TEST_STOPPED);
    assert_eq!(
        completed.message,
        "Stopped on request by ci-bot at 2025-03-01T10:00:02Z; Locust ended the run and kept its results"
    );
    assert_eq!(run.harness.events_with_reason("TestStopped").len(), 1);
    let stats = status.stats.expect("final statistics");
    assert_eq!((stats.state.as_str(), stats.users), ("stopped", 0));
    assert!(stats.total_requests > 0);
    assert_eq!(run.harness.condition(conditions::THRESHOLDS_MET).status, "True");
    assert_eq!(
        status.report.and_then(|report| report.config_map).as_deref(),
        Some("real-stopped-report")
    );
    // The master is still up (it never quits after a stop through its web API): the test ended
    // anyway, and the plugin removes the idle pods.
    assert!(
        run.processes
            .as_mut()
            .unwrap()
            .wait_for_exit("master", Duration::from_secs(1))
            .is_none()
    );
}
