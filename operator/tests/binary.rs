//! The operator binary as `main` wires it: started the way the Go operator's manifests start it
//! (its flags accepted, what cannot be honoured refused before any cluster is contacted), and
//! against the in-memory API server over loopback HTTP, checked the way a kubelet checks it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every helper's re-export is used here.
#[allow(unused_imports)]
mod support;

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use integration_tests::fake_api::FakeApi;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Service;
use serde_json::json;
use support::process::OperatorProcess;

const LIMIT: Duration = Duration::from_secs(30);

/// A kubeconfig whose server is a closed loopback port: nothing answers.
fn unreachable_kubeconfig(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: Config\ncurrent-context: nowhere\n\
         clusters: [{name: nowhere, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: nobody, user: {token: unused}}]\n\
         contexts: [{name: nowhere, context: {cluster: nowhere, user: nobody}}]\n",
    )
    .unwrap();
    path
}

/// Runs the operator with `args` (and a bounded wait), its environment free of the caller's.
fn operator(args: &[&str]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_operator"))
        .args(args)
        .env_clear()
        .env("KUBECONFIG", unreachable_kubeconfig(dir.path()))
        .env("HOME", dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > LIMIT {
            child.kill().unwrap();
            panic!("the operator did not exit within {LIMIT:?} with {args:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_go_operators_deployment_flags_get_as_far_as_the_cluster() {
    let output = operator(&[
        "--metrics-bind-address=127.0.0.1:0",
        "--metrics-secure=false",
        "--health-probe-bind-address=127.0.0.1:0",
        "--leader-elect",
        "--enable-webhooks=false",
        "--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs",
        "--zap-log-level=info",
        "--zap-encoder=json",
        "--zap-stacktrace-level=error",
    ]);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    assert!(said.contains("cannot reach the Kubernetes API server"), "{said}");
    // zap's encoder chose JSON log lines, and the flags that change nothing were named.
    let logs = String::from_utf8_lossy(&output.stdout);
    let warning = logs
        .lines()
        .find(|line| line.contains("Go operator flags accepted but unused"))
        .unwrap_or_else(|| panic!("no warning about unused flags in {logs}"));
    let warning: serde_json::Value = serde_json::from_str(warning).unwrap();
    assert_eq!(warning["fields"]["flags"], "--zap-stacktrace-level");
}

#[test]
fn https_metrics_are_refused_before_the_cluster_is_contacted() {
    let output = operator(&["--metrics-bind-address=:8443"]);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("--metrics-secure=false"), "{said}");
    assert!(!said.contains("Kubernetes API server"), "{said}");
}

#[test]
fn an_unknown_zap_level_is_a_configuration_error() {
    let output = operator(&["--zap-log-level=loud"]);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("--zap-log-level=loud"), "{said}");
}

/// How soon a started operator must answer `/readyz` with 200 (the chart's readinessProbe gives
/// it far longer; a healthy start against a quiet API server takes well under a second).
const READY_WITHIN: Duration = Duration::from_secs(5);

fn fake_api() -> FakeApi {
    FakeApi::new("2026-12-07T10:00:00Z".parse().unwrap())
}

fn locust_test(namespace: &str, name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "image": "locustio/locust:2.31.0",
            "master": { "command": "--locustfile /lotest/src/demo.py --host https://example.com" },
            "worker": { "command": "--locustfile /lotest/src/demo.py", "replicas": 2 },
            "testFiles": { "configMapRef": "demo-scripts" },
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_tests_the_operator_turns_ready_and_says_so() {
    let fake = fake_api();
    let server = fake.serve_http().await.unwrap();
    let mut operator = OperatorProcess::start(&server, &[], &[]).await;
    assert_eq!(operator.get("/healthz").await.map(|(status, _)| status), Some(200));

    operator.wait_ready(READY_WITHIN).await;
    assert_eq!(
        operator.logged("watches synced, ready").len(),
        1,
        "{}",
        operator.output()
    );
    let (_, metrics) = operator.get("/metrics").await.unwrap();
    assert!(metrics.contains("locust_operator_ready 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_tests_the_operator_turns_ready_and_reconciles_them() {
    let fake = fake_api();
    for (namespace, name) in [("team-a", "checkout"), ("team-b", "search")] {
        fake.insert(locust_test(namespace, name));
    }
    let server = fake.serve_http().await.unwrap();
    let mut operator = OperatorProcess::start(&server, &[], &[]).await;
    operator.wait_ready(READY_WITHIN).await;

    let started = Instant::now();
    for (namespace, name) in [("team-a", "checkout"), ("team-b", "search")] {
        loop {
            let jobs = fake.names::<Job>(namespace);
            if fake.names::<Service>(namespace) == [format!("{name}-master")] && jobs.len() == 2 {
                assert_eq!(jobs, [format!("{name}-master"), format!("{name}-worker")]);
                break;
            }
            assert!(
                started.elapsed() < READY_WITHIN,
                "{namespace}/{name} got no children: {}",
                operator.output()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    assert_eq!(operator.get("/readyz").await.map(|(status, _)| status), Some(200));
}
