//! The operator at scale, as figures: the real `operator` binary, as `main` wires it, against the
//! in-memory API server over loopback HTTP with watches that send every change. 1,000 LocustTests
//! across 10 namespaces get their Service and Jobs; then each runs with 10 pods (1 master, 9
//! workers, as the Job controller and the kubelet would report them). Printed: time to all 3,000
//! children and to all tests Running, the operator's resident memory (VmRSS, and its peak,
//! VmHWM), the API requests by kind per test lifecycle, and the requests of a steady-state
//! reconcile of every test.
//!
//! Run with `cargo bench -p operator --bench scale` (`OPERATOR=target/release/operator` measures a
//! release build; `BENCH_OPERATOR_ENV=K=V,...` adds environment). Nothing here fails on a figure:
//! it prints a table to read. Without `--bench` it runs 20 tests, to prove the code runs.
//! Statistics reading is off (`--stats-interval 0s`): no master answers here.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/support/mod.rs"]
#[allow(unused_imports)]
mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;
use shared::api::v2::LocustTest;
use shared::naming::{self, Role};
use support::FakeApi;
use support::fake_api::RecordedRequest;
use support::process::OperatorProcess;

const NAMESPACES: usize = 10;
const PODS_PER_TEST: usize = 10;
const LIMIT: Duration = Duration::from_secs(300);

fn test_object(namespace: &str, name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "image": "locustio/locust:2.47.0",
            "master": { "command": "--locustfile /lotest/src/checkout.py --host https://shop.example.com --users 500 --spawn-rate 50 --run-time 10m" },
            "worker": { "command": "--locustfile /lotest/src/checkout.py", "replicas": PODS_PER_TEST - 1 },
            "testFiles": { "configMapRef": "checkout-scripts" },
        },
    })
}

fn running_pod_status(container: &str) -> serde_json::Value {
    json!({
        "phase": "Running",
        "conditions": [{ "type": "Ready", "status": "True" }, { "type": "PodScheduled", "status": "True" }],
        "containerStatuses": [{
            "name": container, "ready": true, "restartCount": 0, "image": "locustio/locust:2.47.0",
            "imageID": "", "state": { "running": { "startedAt": "2026-12-07T10:00:00Z" } },
        }],
        "podIP": "10.0.0.1", "hostIP": "10.1.0.1", "qosClass": "Burstable",
    })
}

/// Waits (bounded) until `done`, polling every 50 ms; how long it took.
async fn until(what: &str, done: impl Fn() -> bool) -> Duration {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < LIMIT, "never: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    started.elapsed()
}

/// Waits until no request reached the fake for a second.
async fn settled(fake: &FakeApi) {
    let started = Instant::now();
    loop {
        let before = fake.request_count();
        tokio::time::sleep(Duration::from_secs(1)).await;
        if fake.request_count() == before {
            return;
        }
        assert!(started.elapsed() < LIMIT, "the operator never settled");
    }
}

/// `VmRSS` and `VmHWM` of process `pid`, in MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Requests by kind: `POST services`, `PATCH locusttests/status`, `GET pods (watch)`...
fn by_kind(requests: &[RecordedRequest]) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for request in requests {
        let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
        let resource = match segments.iter().position(|s| *s == "namespaces") {
            Some(at) if segments.len() > at + 2 => segments[at + 2..].join("/"),
            _ => segments.last().copied().unwrap_or_default().to_string(),
        };
        // Names vary per test; keep the resource and the subresource.
        let resource = match resource.split('/').collect::<Vec<_>>().as_slice() {
            [plural, _, sub] => format!("{plural}/{sub}"),
            [plural, _] => format!("{plural}/<name>"),
            other => other.join("/"),
        };
        let watch = if request.query_param("watch").is_some() {
            " (watch)"
        } else {
            ""
        };
        *counts
            .entry(format!("{} {resource}{watch}", request.method))
            .or_insert(0) += 1;
    }
    counts
}

fn reconciles(metrics: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix("locust_operator_reconciliations_total "))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let tests = if std::env::args().any(|arg| arg == "--bench") {
        1_000
    } else {
        20
    };
    let fake = FakeApi::new(Timestamp::now()).with_live_watches();
    let names: Vec<(String, String)> = (0..tests)
        .map(|i| (format!("team-{}", i % NAMESPACES), format!("checkout-{i:04}")))
        .collect();
    for (namespace, name) in &names {
        fake.insert(test_object(namespace, name));
    }
    let server = fake.serve_http().await.unwrap();
    let started = Instant::now();
    let extra = std::env::var("BENCH_OPERATOR_ENV").unwrap_or_default();
    let env: Vec<(&str, &str)> = extra.split(',').filter_map(|kv| kv.split_once('=')).collect();
    // The binary `cargo bench` built (its profile skips LTO), or the one OPERATOR names (a
    // release build, as shipped).
    let binary =
        std::env::var_os("OPERATOR").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_operator")), PathBuf::from);
    let mut operator = OperatorProcess::start_binary(
        &binary,
        &server,
        &["--stats-interval=0s", "--log-level=warn,operator::http=info"],
        &env,
    )
    .await;
    operator.wait_ready(LIMIT).await;
    let ready = started.elapsed();
    let (rss_listed, _) = memory_mib(operator.pid());
    let count = |fake: &FakeApi| {
        let namespaces = (0..NAMESPACES).map(|i| format!("team-{i}"));
        namespaces
            .map(|ns| (fake.names::<Job>(&ns).len(), fake.names::<Service>(&ns).len()))
            .fold((0, 0), |(jobs, services), (j, s)| (jobs + j, services + s))
    };
    until("all children", || count(&fake) == (2 * tests, tests)).await;
    let children = started.elapsed();
    settled(&fake).await;
    let (rss_children, _) = memory_mib(operator.pid());

    // The Job controller's and the kubelet's part: every test runs with its pods.
    let marked = Instant::now();
    for (namespace, name) in &names {
        fake.set_status::<Job>(namespace, &naming::master_name(name), json!({ "active": 1 }));
        fake.set_status::<Job>(
            namespace,
            &naming::worker_name(name),
            json!({ "active": PODS_PER_TEST - 1 }),
        );
        for pod in 0..PODS_PER_TEST {
            let (role, pod_name) = if pod == 0 {
                (Role::Master, format!("{}-x{pod}", naming::master_name(name)))
            } else {
                (Role::Worker, format!("{}-x{pod}", naming::worker_name(name)))
            };
            fake.add_pod(
                namespace,
                &pod_name,
                &naming::pod_labels(name, role, None),
                running_pod_status("locust"),
            );
        }
    }
    until("every test Running", || {
        names.iter().all(|(namespace, name)| {
            fake.get::<LocustTest>(namespace, name)
                .and_then(|test| test.status?.phase)
                .is_some_and(|phase| phase.as_str() == "Running")
        })
    })
    .await;
    let running = marked.elapsed();
    settled(&fake).await;
    let (rss, peak) = memory_mib(operator.pid());
    let lifecycle = fake.requests();

    // Steady state: one reconcile of every test, woken by a change that alters nothing decided.
    let before = reconciles(&operator.get("/metrics").await.unwrap().1);
    fake.clear_requests();
    for (namespace, name) in &names {
        fake.update::<Service>(namespace, &naming::master_name(name), |service| {
            service["metadata"]["labels"]["touched"] = json!("yes");
        });
    }
    settled(&fake).await;
    let steady_reconciles = reconciles(&operator.get("/metrics").await.unwrap().1) - before;
    let steady_requests = fake.request_count();

    println!(
        "{} against the in-memory API server over loopback HTTP, {tests} tests x {PODS_PER_TEST} pods",
        binary.display()
    );
    println!("{:<44} {:>12}", "figure", "value");
    println!("{:<44} {:>12.2}", "start to /readyz 200 (s)", ready.as_secs_f64());
    println!(
        "{:<44} {:>12.2}",
        "start to all children created (s)",
        children.as_secs_f64()
    );
    println!(
        "{:<44} {:>12.2}",
        "first pod reported to all tests Running (s)",
        running.as_secs_f64()
    );
    println!("{:<44} {:>12.1}", "RSS, tests listed (MiB)", rss_listed);
    println!("{:<44} {:>12.1}", "RSS, children created (MiB)", rss_children);
    println!("{:<44} {:>12.1}", "RSS, every test running (MiB)", rss);
    println!("{:<44} {:>12.1}", "peak RSS (MiB)", peak);
    println!("{:<44} {:>12.0}", "steady-state reconciles", steady_reconciles);
    println!("{:<44} {:>12}", "requests of those reconciles", steady_requests);
    println!("requests from start to all Running, per test:");
    for (kind, n) in by_kind(&lifecycle) {
        println!("  {kind:<42} {:>12.2}", n as f64 / tests as f64);
    }
}
