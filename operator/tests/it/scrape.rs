//! Live statistics with recorded Locust 2.47 answers: the scraper reads masters (through the API
//! server's service proxy of the in-memory API, or over HTTP from 127.0.0.1), reconciles turn
//! the readings into `status.connectedWorkers`, `status.stats` and one warning when a master cannot
//! be read, and `/metrics` carries the per-test series. Expected values come from the recorded
//! JSON itself, read independently of the code under test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every helper's re-export is used here.
#[allow(unused_imports)]
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::stats::{NS, StatsHarness, metric_value};
use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use operator::cache::TestObject;
use operator::scrape::{Access, Reading, ScrapeSettings, TestKey};
use serde_json::{Value, json};
use shared::api::status::Phase;
use shared::api::status::conditions::{self, workers};
use shared::naming;

const RUNNING_ON_ONE_HOST: &[u8] =
    include_bytes!("../../../shared/tests/fixtures/stats/locust-2.47.0-running-2-workers.json");
const NO_WORKERS: &[u8] = include_bytes!("../../../shared/tests/fixtures/stats/locust-2.47.0-no-workers.json");
const STOPPED: &[u8] = include_bytes!("../../../shared/tests/fixtures/stats/locust-2.47.0-stopped.json");

const INTERVAL: Duration = Duration::from_secs(5);
/// The operator's default: a master that never answered is reported 2 minutes after the start.
const GRACE: Duration = Duration::from_secs(120);
const STATS_UNAVAILABLE: &str = "StatsUnavailable";

fn settings() -> ScrapeSettings {
    ScrapeSettings {
        interval: INTERVAL,
        timeout: Duration::from_secs(2),
        concurrency: 4,
    }
}

fn proxy_path(name: &str) -> String {
    format!(
        "/api/v1/namespaces/{NS}/services/{}:8089/proxy/stats/requests",
        naming::master_name(name)
    )
}

/// The recorded report of 2 workers as a master in a cluster sends it. It was recorded with
/// both workers on one machine; in a cluster each worker is a pod whose hostname starts its id.
fn running() -> Vec<u8> {
    let mut report = json_of(RUNNING_ON_ONE_HOST);
    for (index, worker) in report["workers"].as_array_mut().unwrap().iter_mut().enumerate() {
        let id = worker["id"].as_str().unwrap();
        let (_, hex) = id.rsplit_once('_').unwrap();
        worker["id"] = json!(format!("demo-worker-{index}abcd_{hex}"));
    }
    serde_json::to_vec(&report).unwrap()
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap()
}

/// The `Aggregated` row of a recorded answer.
fn aggregated(report: &Value) -> &Value {
    report["stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["name"] == "Aggregated")
        .unwrap()
}

/// A recorded answer with `more` requests added to every row, as a later read would show.
fn with_more_requests(body: &[u8], more: i64) -> Vec<u8> {
    let mut report = json_of(body);
    for row in report["stats"].as_array_mut().unwrap() {
        row["num_requests"] = json!(row["num_requests"].as_i64().unwrap() + more);
    }
    serde_json::to_vec(&report).unwrap()
}

fn answer(h: &StatsHarness, body: &[u8]) {
    h.fake
        .set_proxy_answer(&proxy_path(&h.name), 200, body.to_vec(), Duration::ZERO);
}

/// A LocustTest as the watch would deliver it, in `phase`.
fn test_object(name: &str, phase: &str) -> Arc<TestObject> {
    let object = json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": name, "namespace": NS, "uid": format!("uid-{name}") },
        "spec": {
            "image": "locustio/locust:2.47.0",
            "master": { "command": "--locustfile /lotest/src/demo.py" },
            "worker": { "command": "--locustfile /lotest/src/demo.py", "replicas": 1 },
        },
        "status": { "phase": phase },
    });
    Arc::new(serde_json::from_value(object).unwrap())
}

// ---- status from the master's own numbers ----

#[tokio::test]
async fn a_running_masters_report_gives_the_real_worker_count_and_a_stats_block() {
    // Three worker pods run, but the master has only two connected (the third cannot reach it).
    let h = StatsHarness::running("demo", 3, 3).await;
    assert_eq!(
        h.status().connected_workers,
        Some(3),
        "without live stats, pods are counted"
    );
    answer(&h, &running());
    let scraper = h.scraper(h.api_proxy(), settings());

    let wanted = scraper.scrape(&[h.delivered()]).await;
    assert_eq!(
        wanted,
        [kube::runtime::reflector::ObjectRef::new("demo").within(NS)],
        "a first reading asks for a reconcile"
    );
    assert_eq!(h.fake.requests_matching("GET", "/proxy/").len(), 1);
    assert_eq!(h.fake.requests_matching("GET", "/proxy/")[0].path, proxy_path("demo"));
    h.reconcile().await;

    let report = json_of(&running());
    let total = aggregated(&report);
    let status = h.status();
    assert_eq!(
        status.connected_workers,
        report["worker_count"].as_i64().map(|n| n as i32)
    );
    assert_eq!(status.connected_workers, Some(2));
    let condition = h.condition(conditions::WORKERS_CONNECTED);
    assert_eq!(condition.message, "2/3 workers connected");
    assert_eq!(condition.reason, workers::WORKERS_MISSING);

    let stats = status.stats.expect("a stats block");
    assert_eq!(stats.state, report["state"]);
    assert_eq!(stats.users, report["user_count"].as_i64().unwrap());
    assert_eq!(stats.total_requests, total["num_requests"].as_i64().unwrap());
    assert_eq!(stats.total_failures, total["num_failures"].as_i64().unwrap());
    assert_eq!(stats.workers, Some(2));
    let fail_percent = report["fail_ratio"].as_f64().unwrap() * 100.0;
    assert!(
        (stats.fail_percent - fail_percent).abs() <= 0.005,
        "{} vs {fail_percent}",
        stats.fail_percent
    );
    let rps = report["current_rps"].as_f64().unwrap();
    assert!(
        (stats.current_rps - rps).abs() <= 0.05,
        "{} vs {rps}",
        stats.current_rps
    );
    assert_eq!(stats.median_response_time, total["median_response_time"].as_f64());
    assert_eq!(stats.p95_response_time, total["response_time_percentile_0.95"].as_f64());
    assert_eq!(stats.last_update_time.map(|time| time.0), Some(h.now()));
    assert_eq!(h.status().phase, Some(Phase::Running));

    // The same reading again changes nothing and asks for nothing.
    h.fake.clear_requests();
    h.reconcile().await;
    assert!(
        h.fake.status_patches().is_empty(),
        "an unchanged reading rewrote the status"
    );
    assert!(scraper.scrape(&[h.delivered()]).await.is_empty());
}

#[tokio::test]
async fn metrics_carry_the_exporters_series_per_test_until_it_stops_running() {
    let h = StatsHarness::running("demo", 2, 2).await;
    answer(&h, &running());
    let scraper = h.scraper(h.api_proxy(), settings());
    scraper.scrape(&[h.delivered()]).await;

    let report = json_of(&running());
    let text = h.exposition();
    let labels = r#"namespace="load",test="demo""#;
    assert_eq!(
        metric_value(&text, &format!("locust_up{{{labels}}}")),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric_value(&text, &format!("locust_users{{{labels}}}")),
        report["user_count"].as_f64()
    );
    assert_eq!(
        metric_value(&text, &format!("locust_workers_count{{{labels}}}")),
        Some(2.0)
    );
    assert_eq!(
        metric_value(&text, &format!("locust_workers_running_count{{{labels}}}")),
        Some(2.0)
    );
    assert_eq!(
        metric_value(&text, &format!("locust_requests_fail_ratio{{{labels}}}")),
        report["fail_ratio"].as_f64()
    );
    for row in report["stats"].as_array().unwrap() {
        let series = format!(
            r#"locust_requests_num_requests{{method="{}",name="{}",{labels}}}"#,
            row["method"].as_str().unwrap(),
            row["name"].as_str().unwrap()
        );
        assert_eq!(
            metric_value(&text, &series),
            row["num_requests"].as_f64(),
            "{series}\n{text}"
        );
    }
    let error = &report["errors"][0];
    let series = format!(
        r#"locust_errors{{method="{}",name="{}",error="{}",{labels}}}"#,
        error["method"].as_str().unwrap(),
        error["name"].as_str().unwrap(),
        error["error"].as_str().unwrap()
    );
    assert_eq!(
        metric_value(&text, &series),
        error["occurrences"].as_f64(),
        "{series}\n{text}"
    );
    assert!(text.contains("# TYPE locust_users gauge"));

    // The test ends: the next round evicts it, and its series are gone from /metrics.
    h.fake.set_status::<Job>(
        NS,
        &naming::master_name("demo"),
        json!({ "succeeded": 1, "conditions": [{ "type": "Complete", "status": "True" }] }),
    );
    h.reconcile().await;
    assert_eq!(h.status().phase, Some(Phase::Succeeded));
    assert!(scraper.scrape(&[h.delivered()]).await.is_empty());
    assert!(h.cache.keys().is_empty());
    let text = h.exposition();
    assert!(!text.contains(r#"test="demo""#), "{text}");
    // Its master was not read again.
    assert_eq!(h.fake.requests_matching("GET", "/proxy/").len(), 1);
}

#[tokio::test]
async fn stats_are_written_at_most_once_per_interval_and_survive_the_end_of_the_test() {
    let h = StatsHarness::running("demo", 2, 2).await;
    let scraper = h.scraper(h.api_proxy(), settings());
    answer(&h, &running());
    assert_eq!(scraper.scrape(&[h.delivered()]).await.len(), 1);
    h.reconcile().await;
    let first = h.status().stats.unwrap();
    let recorded_total = aggregated(&json_of(&running()))["num_requests"].as_i64().unwrap();
    assert_eq!(first.total_requests, recorded_total);

    // Two seconds later the numbers grew: not worth a write yet, and no reconcile is asked for.
    h.advance(Duration::from_secs(2));
    answer(&h, &with_more_requests(&running(), 50));
    assert!(scraper.scrape(&[h.delivered()]).await.is_empty());
    h.fake.clear_requests();
    h.reconcile().await;
    assert!(h.fake.status_patches().is_empty());
    assert_eq!(h.status().stats.unwrap().total_requests, recorded_total);

    // Once the block is an interval old, the next change is written.
    h.advance(Duration::from_secs(3));
    answer(&h, &with_more_requests(&running(), 100));
    assert_eq!(scraper.scrape(&[h.delivered()]).await.len(), 1);
    h.reconcile().await;
    assert_eq!(h.status().stats.unwrap().total_requests, recorded_total + 100);

    // Locust stops the run: written at once, whatever the interval.
    h.advance(Duration::from_secs(1));
    answer(&h, STOPPED);
    assert_eq!(scraper.scrape(&[h.delivered()]).await.len(), 1);
    h.reconcile().await;
    let stopped = json_of(STOPPED);
    let final_stats = h.status().stats.unwrap();
    assert_eq!(final_stats.state, "stopped");
    assert_eq!(
        final_stats.total_requests,
        aggregated(&stopped)["num_requests"].as_i64().unwrap()
    );
    assert_eq!(final_stats.users, 0);

    // The master quits (autoquit): a finished master going away is not reported.
    h.fake
        .set_proxy_answer(&proxy_path("demo"), 503, Vec::new(), Duration::ZERO);
    h.advance(Duration::from_secs(5));
    scraper.scrape(&[h.delivered()]).await;
    h.reconcile().await;
    assert!(h.events_with_reason(STATS_UNAVAILABLE).is_empty());
    assert!(
        !h.condition(conditions::WORKERS_CONNECTED)
            .message
            .contains("unavailable")
    );

    // The Job completes and its pods go: the results stay in status.
    h.fake.set_status::<Job>(
        NS,
        &naming::master_name("demo"),
        json!({ "succeeded": 1, "conditions": [{ "type": "Complete", "status": "True" }] }),
    );
    h.reconcile().await;
    scraper.scrape(&[h.delivered()]).await;
    h.reconcile().await;
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Succeeded));
    assert_eq!(status.stats, Some(final_stats));
}

// ---- an unreachable master ----

#[tokio::test]
async fn an_unreachable_master_is_reported_once_and_never_fails_the_test() {
    let h = StatsHarness::running("demo", 3, 3).await;
    let scraper = h.scraper(h.api_proxy(), settings());
    answer(&h, &running());
    scraper.scrape(&[h.delivered()]).await;
    h.reconcile().await;
    assert_eq!(h.status().connected_workers, Some(2));

    // A network policy now blocks the master: the proxy finds no way to it.
    h.fake.set_proxy_answer(
        &proxy_path("demo"),
        503,
        r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"error trying to reach service: dial tcp 10.0.0.7:8089: i/o timeout","reason":"ServiceUnavailable","code":503}"#,
        Duration::ZERO,
    );
    let mut asked = Vec::new();
    for _ in 0..3 {
        h.advance(INTERVAL);
        asked.push(scraper.scrape(&[h.delivered()]).await.len());
        h.reconcile().await;
    }
    assert_eq!(asked, [1, 0, 0], "only the change asks for a reconcile");
    let warnings = h.events_with_reason(STATS_UNAVAILABLE);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert_eq!(warnings[0].type_, "Warning");
    assert_eq!(warnings[0].count, 1);
    assert!(
        warnings[0]
            .note
            .contains("error trying to reach service: dial tcp 10.0.0.7:8089: i/o timeout"),
        "{}",
        warnings[0].note
    );
    let status = h.status();
    assert_eq!(status.phase, Some(Phase::Running));
    assert_eq!(status.connected_workers, Some(3), "falls back to counting worker pods");
    let message = h.condition(conditions::WORKERS_CONNECTED).message;
    assert!(
        message.starts_with("3/3 workers connected (live stats unavailable: "),
        "{message}"
    );
    assert!(message.contains("HTTP 503 Service Unavailable"), "{message}");
    assert!(message.ends_with("; counting worker pods)"), "{message}");
    assert_eq!(
        status.stats.map(|stats| stats.total_requests),
        aggregated(&json_of(&running()))["num_requests"].as_i64(),
        "the last values stay"
    );
    assert_eq!(
        metric_value(&h.exposition(), r#"locust_up{namespace="load",test="demo"}"#),
        Some(0.0)
    );

    // It answers again: the message is cleared without another event...
    answer(&h, &running());
    h.advance(INTERVAL);
    assert_eq!(scraper.scrape(&[h.delivered()]).await.len(), 1);
    h.reconcile().await;
    assert_eq!(
        h.condition(conditions::WORKERS_CONNECTED).message,
        "2/3 workers connected"
    );
    let warnings = h.events_with_reason(STATS_UNAVAILABLE);
    assert_eq!((warnings.len(), warnings[0].count), (1, 1));

    // ...and a new outage is reported again (kube's recorder counts it in the same event series).
    h.fake
        .set_proxy_answer(&proxy_path("demo"), 503, Vec::new(), Duration::ZERO);
    h.advance(INTERVAL);
    scraper.scrape(&[h.delivered()]).await;
    h.reconcile().await;
    let warnings = h.events_with_reason(STATS_UNAVAILABLE);
    assert_eq!((warnings.len(), warnings[0].count), (1, 2), "{warnings:#?}");
    assert_eq!(h.status().phase, Some(Phase::Running));
}

#[tokio::test]
async fn a_master_that_never_answered_is_given_the_pod_grace_period_to_start() {
    let h = StatsHarness::running("demo", 2, 2).await;
    let scraper = h.scraper(h.api_proxy(), settings());
    // No answer set: the Service has no endpoints yet (image still pulling).
    scraper.scrape(&[h.delivered()]).await;
    for _ in 0..3 {
        h.reconcile().await;
        h.advance(Duration::from_secs(10));
    }
    assert!(h.events_with_reason(STATS_UNAVAILABLE).is_empty());
    assert!(
        !h.condition(conditions::WORKERS_CONNECTED)
            .message
            .contains("unavailable")
    );

    h.advance(GRACE);
    scraper.scrape(&[h.delivered()]).await;
    h.reconcile().await;
    h.reconcile().await;
    let warnings = h.events_with_reason(STATS_UNAVAILABLE);
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0]
            .note
            .contains(r#"no endpoints available for service "demo-master""#),
        "{}",
        warnings[0].note
    );
    assert_eq!(h.status().phase, Some(Phase::Running));
}

// ---- bounded reads ----

#[tokio::test]
async fn a_hung_master_costs_one_timeout_and_reads_stay_within_the_concurrency() {
    let h = StatsHarness::new("unused", 1);
    let names = ["hung", "a", "b", "c", "d", "e"];
    for name in names {
        let delay = if name == "hung" {
            Duration::from_secs(60)
        } else {
            Duration::from_millis(300)
        };
        h.fake.set_proxy_answer(&proxy_path(name), 200, running(), delay);
    }
    let mut tests: Vec<Arc<TestObject>> = names.iter().map(|name| test_object(name, "Running")).collect();
    // Not running: never read.
    tests.push(test_object("pending", "Pending"));
    tests.push(test_object("finished", "Succeeded"));
    let scraper = h.scraper(
        h.api_proxy(),
        ScrapeSettings {
            interval: INTERVAL,
            timeout: Duration::from_secs(1),
            concurrency: 2,
        },
    );

    let started = Instant::now();
    let wanted = tokio::time::timeout(Duration::from_secs(20), scraper.scrape(&tests))
        .await
        .expect("a round ends even with a hung master");
    let took = started.elapsed();
    // Six reads two at a time: the hung one holds one slot for its timeout, the others share the rest.
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
    assert_eq!(h.fake.proxy_peak_concurrency(), 2);
    assert_eq!(wanted.len(), names.len());
    let read: Vec<String> = h
        .fake
        .requests_matching("GET", "/proxy/")
        .iter()
        .map(|request| request.path.clone())
        .collect();
    assert_eq!(read.len(), names.len(), "{read:?}");
    assert!(
        !read
            .iter()
            .any(|path| path.contains("pending-master") || path.contains("finished-master"))
    );

    for name in names {
        let entry = scraper.cache().get(&TestKey::new(NS, name)).unwrap();
        match (name, &entry.reading) {
            ("hung", Reading::Unreachable(why)) => {
                assert_eq!(why, "the API server's proxy to hung-master:8089: no answer within 1s")
            }
            ("hung", other) => panic!("hung master read as {other:?}"),
            (_, Reading::Answered { workers, .. }) => assert_eq!(*workers, Some(2)),
            (_, other) => panic!("{name} read as {other:?}"),
        }
        assert_eq!(entry.uid.as_deref(), Some(format!("uid-{name}").as_str()));
    }
}

#[tokio::test]
async fn the_run_loop_asks_the_controller_for_reconciles_and_stops_on_shutdown() {
    let h = StatsHarness::running("demo", 2, 2).await;
    answer(&h, &running());
    let scraper = h.scraper(
        h.api_proxy(),
        ScrapeSettings {
            interval: Duration::from_millis(100),
            ..settings()
        },
    );
    let (triggers, mut requests) = futures::channel::mpsc::unbounded();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let listed = h.delivered();
    let loop_task = tokio::spawn(scraper.run(move || vec![listed.clone()], triggers, async move {
        let _ = stopped.await;
    }));
    let first = tokio::time::timeout(Duration::from_secs(5), requests.next())
        .await
        .expect("a reconcile is asked for within the first rounds")
        .expect("the scraper still runs");
    assert_eq!(first.name, "demo");
    assert_eq!(first.namespace.as_deref(), Some(NS));
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), loop_task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
    // Nobody reconciled, so later rounds asked again; once the loop ends, so do its requests.
    let rest: Vec<_> = tokio::time::timeout(Duration::from_secs(5), requests.collect::<Vec<_>>())
        .await
        .expect("the sender is dropped with the loop");
    assert!(rest.iter().all(|request| request.name == "demo"));

    // Interval zero: reading is off, the loop returns at once.
    let off = h.scraper(
        h.api_proxy(),
        ScrapeSettings {
            interval: Duration::ZERO,
            ..settings()
        },
    );
    let (triggers, _requests) = futures::channel::mpsc::unbounded();
    tokio::time::timeout(
        Duration::from_secs(1),
        off.run(Vec::new, triggers, std::future::pending::<()>()),
    )
    .await
    .expect("returns at once when turned off");
}

// ---- over HTTP, from 127.0.0.1 ----

/// What the local stand-in master answers.
type Scripted = Arc<Mutex<(StatusCode, Vec<u8>)>>;

async fn stand_in_master(answer: Scripted) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().route(
        "/stats/requests",
        get(move || {
            let answer = answer.clone();
            async move {
                let (status, body) = answer.lock().unwrap().clone();
                (status, body)
            }
        }),
    );
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    (format!("http://{address}"), server)
}

/// A port on 127.0.0.1 where nothing listens.
fn closed_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test]
async fn direct_reads_over_http_understand_masters_and_say_what_went_wrong() {
    let h = StatsHarness::new("demo", 2);
    let scripted: Scripted = Arc::new(Mutex::new((StatusCode::OK, NO_WORKERS.to_vec())));
    let (base, server) = stand_in_master(scripted.clone()).await;
    let scraper = h.scraper(Access::Direct(base.clone()), settings());

    // A master nobody has connected to yet: zero workers, not unknown.
    let report = scraper.fetch(NS, "demo").await.unwrap();
    assert_eq!(shared::stats::connected_workers(&report), Some(0));
    assert_eq!(report.state, json_of(NO_WORKERS)["state"]);

    *scripted.lock().unwrap() = (StatusCode::OK, STOPPED.to_vec());
    let report = scraper.fetch(NS, "demo").await.unwrap();
    assert_eq!(report.state, "stopped");
    assert_eq!(shared::stats::connected_workers(&report), Some(2));

    *scripted.lock().unwrap() = (StatusCode::OK, b"<html>Locust</html>".to_vec());
    let why = scraper.fetch(NS, "demo").await.unwrap_err();
    assert!(
        why.starts_with(&format!("{base}: not a Locust statistics report")),
        "{why}"
    );

    *scripted.lock().unwrap() = (StatusCode::UNAUTHORIZED, b"login required".to_vec());
    let why = scraper.fetch(NS, "demo").await.unwrap_err();
    assert_eq!(why, format!("{base}: HTTP 401 Unauthorized: login required"));
    server.abort();

    let closed = format!("http://{}", closed_port());
    let why = h
        .scraper(Access::Direct(closed.clone()), settings())
        .fetch(NS, "demo")
        .await
        .unwrap_err();
    assert!(why.starts_with(&format!("{closed}: cannot connect: ")), "{why}");
    assert!(why.to_lowercase().contains("refused"), "{why}");

    // Accepts the connection, never answers.
    let silent = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let silent_base = format!("http://{}", silent.local_addr().unwrap());
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = silent.accept().await {
            held.push(connection);
        }
    });
    let quick = ScrapeSettings {
        timeout: Duration::from_millis(300),
        ..settings()
    };
    let started = Instant::now();
    let why = h
        .scraper(Access::Direct(silent_base.clone()), quick)
        .fetch(NS, "demo")
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(why, format!("{silent_base}: no answer within 300ms"));
    holder.abort();
}
