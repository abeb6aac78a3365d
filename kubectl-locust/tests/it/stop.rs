//! `kubectl locust stop`: a real Locust master on 127.0.0.1, reached through the in-memory API
//! server's service proxy as in a cluster, is asked to stop; the test records who asked, and the
//! idle pods go once the test ended. A test that is not running is left as it is.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::http as target;
use crate::locust;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use locust::{LOCUST_MISSING, LocustProcesses, free_local_endpoints, locust_on_path};
use serde_json::{Value, json};
use shared::api::v2::LocustTest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Cluster, NS, finish};

const ANNOTATION: &str = "locust.io/stop-requested";

fn test_with_phase(name: &str, phase: Option<&str>) -> Value {
    let mut test = json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": name, "namespace": NS },
        "spec": {
            "image": "locustio/locust:2.47.0",
            "master": { "command": "--locustfile /lotest/src/test.py" },
            "worker": { "command": "--locustfile /lotest/src/test.py", "replicas": 1 },
        },
    });
    if let Some(phase) = phase {
        test["status"] = json!({ "phase": phase, "expectedWorkers": 1, "connectedWorkers": 1 });
    }
    test
}

fn job(name: &str) -> Value {
    json!({ "apiVersion": "batch/v1", "kind": "Job", "metadata": { "name": name, "namespace": NS } })
}

fn annotation(cluster: &Cluster, name: &str) -> Option<String> {
    let test: LocustTest = cluster.fake.get(NS, name).unwrap();
    test.metadata
        .annotations
        .and_then(|annotations| annotations.get(ANNOTATION).cloned())
}

/// GETs Locust's `/stats/requests` from `web`: its JSON, or `None` while it does not answer.
async fn locust_stats(web: SocketAddr) -> Option<Value> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(web).await.ok()?;
        stream
            .write_all(b"GET /stats/requests HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .await
            .ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8(answer).ok()?;
        serde_json::from_str(text.split_once("\r\n\r\n")?.1).ok()
    };
    tokio::time::timeout(Duration::from_secs(5), exchange)
        .await
        .ok()
        .flatten()
}

async fn locust_state_becomes(web: SocketAddr, state: &str, limit: Duration) -> Value {
    let started = Instant::now();
    loop {
        if let Some(stats) = locust_stats(web).await
            && stats["state"] == state
        {
            return stats;
        }
        assert!(
            started.elapsed() < limit,
            "Locust did not reach {state:?} within {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const LOCUSTFILE: &str = r#"
from locust import HttpUser, constant, task


class Visitor(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
"#;

#[tokio::test]
async fn stop_asks_a_real_master_to_stop_records_who_asked_and_removes_the_idle_pods() {
    let locust = locust_on_path().unwrap_or_else(|| panic!("{LOCUST_MISSING}"));
    let site = target::TargetServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let locustfile = dir.path().join("test.py");
    std::fs::write(&locustfile, LOCUSTFILE).unwrap();
    let locustfile = locustfile.to_str().unwrap().to_string();
    let ports = free_local_endpoints();
    let mut processes = LocustProcesses::new(locust, dir.path());
    let master = [
        "-f",
        &locustfile,
        "--master",
        "--master-bind-host",
        "127.0.0.1",
        "--master-bind-port",
        &ports.master_port.to_string(),
        "--web-host",
        "127.0.0.1",
        "--web-port",
        &ports.web_port.to_string(),
        "--expect-workers",
        "1",
        "--autostart",
        "--autoquit",
        "60",
        "--users",
        "2",
        "--spawn-rate",
        "2",
        "--run-time",
        "120s",
        "--host",
        &site.base_url(),
    ];
    processes.spawn("master", &master.map(str::to_string));
    let worker = [
        "-f",
        &locustfile,
        "--worker",
        "--master-host",
        "127.0.0.1",
        "--master-port",
        &ports.master_port.to_string(),
    ];
    processes.spawn("worker", &worker.map(str::to_string));
    let web = SocketAddr::from((Ipv4Addr::LOCALHOST, ports.web_port));
    locust_state_becomes(web, "running", Duration::from_secs(45)).await;

    let cluster = Cluster::start().await;
    cluster.fake.insert(test_with_phase("demo", Some("Running")));
    cluster.fake.insert(job("demo-master"));
    cluster.fake.insert(job("demo-worker"));
    cluster.fake.set_proxy_upstream(NS, "demo-master", web);

    let child = cluster
        .command(&["stop", "demo"])
        .env("USER", "ci-bot")
        .spawn()
        .unwrap();
    // The operator's part, as it does it: once Locust says `stopped` on a test whose stop was
    // requested, the test ends as stopped with its final numbers.
    let stopped = locust_state_becomes(web, "stopped", Duration::from_secs(30)).await;
    let recorded = annotation(&cluster, "demo").expect("who asked is recorded before the master is asked");
    assert!(recorded.ends_with(" ci-bot"), "{recorded}");
    let message = format!(
        "Stopped on request by ci-bot at {}; Locust ended the run and kept its results",
        recorded.split(' ').next().unwrap()
    );
    cluster.fake.update::<LocustTest>(NS, "demo", |test| {
        test["status"] = json!({
            "phase": "Succeeded",
            "conditions": [{ "type": "TestCompleted", "status": "True", "reason": "TestStopped",
                             "message": message, "lastTransitionTime": "2026-11-22T10:00:05Z" }],
            "stats": { "state": "stopped", "users": 0, "totalRequests": stopped["stats"].as_array().unwrap().last().unwrap()["num_requests"] },
        });
    });
    let finished = finish(child).await;

    assert_eq!(finished.code, Some(0), "{}", finished.both());
    finished.assert_stdout_has("Asked the master of demo to stop (by ci-bot).");
    finished.assert_stdout_has(format!("demo ended: Succeeded (TestStopped: {message})"));
    finished.assert_stdout_has("Removed the idle master and workers (Jobs demo-master, demo-worker)");
    assert_eq!(stopped["user_count"], 0);
    assert!(
        cluster.fake.names::<Job>(NS).is_empty(),
        "the idle master and workers go"
    );
    assert!(cluster.fake.get::<LocustTest>(NS, "demo").is_some(), "the test stays");
    // Stopped, not quit: the master's web UI still answers (the pods were the cluster's to remove).
    assert!(locust_stats(web).await.is_some());
}

#[tokio::test]
async fn stopping_a_test_that_is_not_running_says_why_and_changes_nothing() {
    let cluster = Cluster::start().await;
    cluster.fake.insert(test_with_phase("waiting", Some("Pending")));
    cluster.fake.insert(test_with_phase("fresh", None));
    cluster.fake.insert(test_with_phase("done", Some("Succeeded")));

    let pending = cluster.run(&["stop", "waiting"]).await;
    assert_eq!(pending.code, Some(1), "{}", pending.both());
    pending.assert_stderr_has(
        "waiting is not running yet (Pending): nothing to stop. To cancel it, delete it: `kubectl delete locusttest waiting -n load`",
    );
    let fresh = cluster.run(&["stop", "fresh"]).await;
    fresh.assert_stderr_has("fresh is not running yet (no status yet)");
    let done = cluster.run(&["stop", "done"]).await;
    assert_eq!(done.code, Some(1));
    done.assert_stderr_has(
        "done has already ended (Succeeded): nothing to stop. Its results: `kubectl locust status done -n load`, `kubectl locust report done -n load`",
    );
    for name in ["waiting", "fresh", "done"] {
        assert_eq!(annotation(&cluster, name), None, "{name} is unchanged");
    }
    let missing = cluster.run(&["stop", "nope"]).await;
    assert_eq!(missing.code, Some(1), "{}", missing.both());
    missing.assert_stderr_has("\"nope\"");
}

#[tokio::test]
async fn a_master_that_cannot_be_asked_leaves_the_test_unchanged_and_names_what_is_missing() {
    let cluster = Cluster::start().await;
    cluster.fake.insert(test_with_phase("demo", Some("Running")));

    // No endpoint behind the master's Service: the proxy answers 503.
    let unreachable = cluster.run(&["stop", "demo"]).await;
    assert_eq!(unreachable.code, Some(1), "{}", unreachable.both());
    unreachable
        .assert_stderr_has("the master of demo could not be asked to stop through the API server's service proxy");
    assert_eq!(annotation(&cluster, "demo"), None, "the record is taken back");

    cluster.fake.forbid("POST", "services/proxy");
    let forbidden = cluster.run(&["stop", "demo"]).await;
    assert_eq!(forbidden.code, Some(1), "{}", forbidden.both());
    forbidden.assert_stderr_has("you may not create services/proxy in namespace \"load\"");
    assert_eq!(annotation(&cluster, "demo"), None);
}

#[tokio::test]
async fn stop_wait_follows_the_test_to_its_end_like_run_wait_and_exits_3_when_it_failed() {
    for (verdict, code) in [("TestStopped", 0), ("ThresholdsBreached", 3)] {
        let cluster = Cluster::start().await;
        cluster.fake.insert(test_with_phase("demo", Some("Running")));
        cluster.fake.insert(job("demo-master"));
        cluster.fake.insert(job("demo-worker"));
        // The master's answer to POST /stop, as Locust gives it.
        cluster.fake.set_proxy_answer(
            "/api/v1/namespaces/load/services/demo-master:8089/proxy/stop",
            200,
            r#"{"success": true, "message": "Test stopped"}"#,
            Duration::ZERO,
        );
        let child = cluster
            .command(&["stop", "demo", "--wait"])
            .env("USER", "ci-bot")
            .spawn()
            .unwrap();
        let started = Instant::now();
        while annotation(&cluster, "demo").is_none() {
            assert!(started.elapsed() < Duration::from_secs(20), "no stop was recorded");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let phase = if code == 0 { "Succeeded" } else { "Failed" };
        cluster.fake.update::<LocustTest>(NS, "demo", |test| {
            test["status"] = json!({
                "phase": phase,
                "startTime": "2026-11-22T10:00:00Z", "completionTime": "2026-11-22T10:01:00Z",
                "conditions": [{ "type": "TestCompleted", "status": "True", "reason": verdict,
                                 "message": "as the operator says", "lastTransitionTime": "2026-11-22T10:01:00Z" }],
            });
        });
        let finished = finish(child).await;
        assert_eq!(finished.code, Some(code), "{verdict}: {}", finished.both());
        finished.assert_stdout_has(format!("Test demo {phase}"));
        // Only a run that ended as stopped leaves idle pods behind to remove.
        let jobs_left = cluster.fake.names::<Job>(NS).len();
        assert_eq!(jobs_left, if code == 0 { 0 } else { 2 }, "{verdict}");
    }
}
