//! The operator binary started the way the Go operator's manifests start it: its flags are
//! accepted, and what cannot be honoured is refused before any cluster is contacted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
