//! The suite's binary where no cluster is reachable: it must say so and exit 77 (never 0), and what
//! needs no cluster (`--list`, option checks) must still work.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const SKIPPED: i32 = 77;

/// A kubeconfig whose only cluster is a loopback port nothing listens on.
fn closed_port_kubeconfig(dir: &std::path::Path) -> std::path::PathBuf {
    let port = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
        // Dropped here: the port is closed again.
    };
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1
kind: Config
clusters:
- name: nowhere
  cluster:
    server: https://127.0.0.1:{port}
    insecure-skip-tls-verify: true
contexts:
- name: nowhere
  context: {{cluster: nowhere, user: nobody}}
current-context: nowhere
users:
- name: nobody
  user: {{token: not-a-secret}}
"
        ),
    )
    .unwrap();
    path
}

fn e2e(args: &[&str], kubeconfig: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_e2e"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        // Not in a pod: no in-cluster service account to fall back on.
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn an_unreachable_cluster_is_named_and_nothing_is_claimed() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = closed_port_kubeconfig(dir.path());
    let started = Instant::now();
    let output = e2e(&[], &kubeconfig);
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(
        output.status.code(),
        Some(SKIPPED),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("SKIPPED — no reachable cluster"), "{stderr}");
    assert!(stderr.contains("https://127.0.0.1:"), "the server is named: {stderr}");
    assert!(stderr.contains("Nothing was tested"), "{stderr}");
    assert!(!stdout.contains("PASS") && !stdout.contains("PASSED"), "{stdout}");
    // It gives up within its connect timeout rather than hanging.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn no_kubeconfig_at_all_is_a_skip_too() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_e2e"))
        .env("KUBECONFIG", dir.path().join("missing"))
        .env("HOME", dir.path())
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(SKIPPED), "{stderr}");
    assert!(stderr.contains("no cluster is configured"), "{stderr}");
}

#[test]
fn an_unknown_context_is_a_skip_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = closed_port_kubeconfig(dir.path());
    let output = e2e(&["--context", "no-such-context"], &kubeconfig);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(SKIPPED), "{stderr}");
    assert!(stderr.contains("no-such-context"), "{stderr}");
}

#[test]
fn list_needs_no_cluster_and_marks_what_needs_real_locust() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = closed_port_kubeconfig(dir.path());
    let output = e2e(&["--list", "--skip-real-locust"], &kubeconfig);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let line_of = |name: &str| {
        let mut lines = stdout.lines();
        let first = lines
            .find(|line| line.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} not listed:\n{stdout}"));
        format!("{first}\n{}", lines.next().unwrap_or_default())
    };
    assert!(line_of("passing-test").contains("real-locust"), "{stdout}");
    assert!(
        line_of("passing-test").contains("skipped: needs Locust containers"),
        "{stdout}"
    );
    assert!(line_of("invalid-objects").contains("[runs]"), "{stdout}");
    assert!(line_of("conversion-v1-v2").contains("--operator helm"), "{stdout}");
    assert!(
        line_of("doc-api-reference--complete-v2-example").contains("[runs]"),
        "{stdout}"
    );
}

#[test]
fn helm_mode_without_an_image_is_a_usage_error_before_any_cluster_call() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = closed_port_kubeconfig(dir.path());
    let output = e2e(&["--operator", "helm"], &kubeconfig);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--image"), "{stderr}");
    assert!(!stderr.contains("SKIPPED"), "{stderr}");
}

#[test]
fn selecting_only_what_these_options_skip_is_not_a_pass_and_needs_no_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = closed_port_kubeconfig(dir.path());
    let output = e2e(&["--only", "passing-test", "--skip-real-locust"], &kubeconfig);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(SKIPPED), "{stdout}");
    assert!(
        stdout.contains("SKIP  passing-test  needs Locust containers that really run"),
        "{stdout}"
    );
    assert!(
        stdout.contains("0 passed, 0 failed, 1 skipped: SKIPPED — nothing was tested"),
        "{stdout}"
    );
}

#[test]
fn only_matching_no_scenario_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = closed_port_kubeconfig(dir.path());
    let output = e2e(&["--only", "no-such-scenario"], &kubeconfig);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("matches no scenario"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_quickstart_without_a_cluster_says_what_to_do_instead_and_builds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = closed_port_kubeconfig(dir.path());
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/quickstart.sh");
    let output = Command::new("bash")
        .arg(script)
        .env("KUBECONFIG", &kubeconfig)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .output()
        .unwrap();
    let (stdout, stderr) = (text(&output.stdout), text(&output.stderr));
    assert_eq!(output.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stderr.contains("bash scripts/demo.sh"), "{stderr}");
    assert!(stderr.contains("kind create cluster"), "{stderr}");
    assert!(!stdout.contains("Building"), "{stdout}");
}
