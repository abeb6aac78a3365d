//! The operator binary as `main` wires it: started the way the Go operator's manifests start it
//! (its flags accepted, what cannot be honoured refused before any cluster is contacted), and
//! against the in-memory API server over loopback HTTP, checked the way a kubelet checks it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every helper's re-export is used here.
#[allow(unused_imports)]
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::eventually;
use crate::support::process::OperatorProcess;
use fake_api::FakeApi;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Service;
use serde_json::json;

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

/// The chart's settings for more than one replica, with a 2 s lease renewed every second.
const LEADER_ELECTION: &[&str] = &[
    "--leader-elect",
    "--leader-election-lease-duration=2s",
    "--leader-election-renew-period=1s",
];

fn lease_holder(fake: &FakeApi) -> Option<String> {
    fake.get::<Lease>("locust-system", operator::leader::DEFAULT_LEASE_NAME)
        .and_then(|lease| lease.spec)
        .and_then(|spec| spec.holder_identity)
}

/// Which of `operators` leads, by the `locust_operator_leader` gauge each one reports.
async fn leaders(operators: &[&OperatorProcess]) -> Vec<usize> {
    let mut leading = Vec::new();
    for (index, operator) in operators.iter().enumerate() {
        let metrics = operator.get("/metrics").await.map(|(_, body)| body).unwrap_or_default();
        if metrics.lines().any(|line| line == "locust_operator_leader 1") {
            leading.push(index);
        }
    }
    leading
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_leader_election_the_winner_turns_ready_once_its_watches_synced() {
    let fake = fake_api();
    fake.insert(locust_test("team-a", "checkout"));
    let server = fake.serve_http().await.unwrap();
    let mut operator = OperatorProcess::start(&server, LEADER_ELECTION, &[("POD_NAME", "operator-0")]).await;
    // Ready as a standby first (it serves the webhook), not ready while its watches sync once it
    // leads, then ready again.
    operator.wait_logged("became leader", READY_WITHIN).await;
    operator.wait_ready(READY_WITHIN).await;
    assert_eq!(operator.logged("acquired the lease").len(), 1, "{}", operator.output());
    assert_eq!(operator.logged("watches synced, ready").len(), 1);
    let holder = lease_holder(&fake).expect("the lease is held");
    assert!(holder.starts_with("operator-0_"), "{holder}");
    // Ready says the watches synced; the first reconcile may still be on its way.
    eventually("the leader reconciles: two Jobs", || {
        fake.names::<Job>("team-a").len() == 2
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_keep_one_leader_hand_over_when_it_is_killed_and_release_on_sigterm() {
    let fake = fake_api();
    let server = fake.serve_http().await.unwrap();
    let mut first = OperatorProcess::start(&server, LEADER_ELECTION, &[("POD_NAME", "operator-a")]).await;
    first.wait_logged("became leader", READY_WITHIN).await;
    first.wait_ready(READY_WITHIN).await;
    let mut second = OperatorProcess::start(&server, LEADER_ELECTION, &[("POD_NAME", "operator-b")]).await;
    // A standby is ready too: it serves the conversion webhook while it waits for the lease.
    second.wait_ready(READY_WITHIN).await;
    let holder = lease_holder(&fake).unwrap();
    assert!(holder.starts_with("operator-a_"), "{holder}");

    // Twelve renewals: the lease never changes hands, neither process restarts or says it lost.
    let transitions = |fake: &FakeApi| {
        fake.get::<Lease>("locust-system", operator::leader::DEFAULT_LEASE_NAME)
            .and_then(|lease| lease.spec)
            .and_then(|spec| spec.lease_transitions)
    };
    let transitions_at_start = transitions(&fake);
    let steady = Instant::now();
    while steady.elapsed() < Duration::from_secs(12) {
        assert_eq!(lease_holder(&fake).as_deref(), Some(holder.as_str()));
        assert_eq!(leaders(&[&first, &second]).await, [0], "exactly the first leads");
        assert!(first.is_running() && second.is_running());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(transitions(&fake), transitions_at_start);
    for operator in [&first, &second] {
        assert!(
            operator.output().lines().all(|line| !line.contains("lost leadership")),
            "{}",
            operator.output()
        );
    }

    // SIGKILL: no release; the standby takes over once the lease expires (2 s, plus up to a
    // second of the lease library's pause before taking it), and turns ready as the leader.
    let killed = Instant::now();
    first.kill().await;
    loop {
        if lease_holder(&fake).is_some_and(|holder| holder.starts_with("operator-b_")) {
            break;
        }
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "no takeover within 5 s:\n{}",
            second.output()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    second.wait_logged("became leader", READY_WITHIN).await;
    second.wait_ready(READY_WITHIN).await;
    assert_eq!(leaders(&[&second]).await, [0]);
    assert_eq!(second.logged("watches synced, ready").len(), 1);

    // SIGTERM: the leader stops reconciling, releases the lease and exits 0.
    second.terminate().await;
    let status = second.wait_exit(Duration::from_secs(10)).await;
    assert!(status.success(), "{status}:\n{}", second.output());
    assert_eq!(lease_holder(&fake), None, "released");
    assert_eq!(second.logged("released the lease").len(), 1);
}

#[test]
fn a_renew_period_as_long_as_the_lease_is_a_configuration_error() {
    let output = operator(&[
        "--leader-elect",
        "--leader-election-lease-duration=5s",
        "--leader-election-renew-period=5s",
    ]);
    let said = stderr(&output);
    assert_eq!(output.status.code(), Some(2), "{said}");
    assert!(said.contains("--leader-election-renew-period"), "{said}");
    assert!(said.contains("shorter than the lease duration"), "{said}");
}

/// The operator's container in the chart rendered with `set`: its arguments, and its environment
/// with the downward API resolved as the kubelet would for pod `pod` in `locust-system`.
fn chart_container(set: &[&str], pod: &str) -> (Vec<String>, Vec<(String, String)>, serde_json::Value) {
    let mut render = integration_tests::helm::Render::new("locust-operator", "locust-system");
    for assignment in set {
        render = render.set(assignment);
    }
    let objects = render.objects().unwrap_or_else(|error| panic!("{error}"));
    let deployment = objects
        .into_iter()
        .find(|object| object["kind"] == "Deployment")
        .expect("the chart renders a Deployment");
    let container = deployment["spec"]["template"]["spec"]["containers"][0].clone();
    let args = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|arg| arg.as_str().unwrap().to_string())
        .collect();
    let env = container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|var| {
            let name = var["name"].as_str().unwrap().to_string();
            let value = match var["valueFrom"]["fieldRef"]["fieldPath"].as_str() {
                Some("metadata.name") => pod.to_string(),
                Some("metadata.namespace") => "locust-system".to_string(),
                Some(other) => panic!("unexpected fieldRef {other}"),
                None => var["value"].as_str().unwrap_or_else(|| panic!("{var}")).to_string(),
            };
            (name, value)
        })
        .collect();
    (args, env, container)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn started_with_the_charts_arguments_the_operator_answers_the_charts_probes_and_routes_conversions() {
    let (args, env, container) = chart_container(&["replicaCount=2"], "locust-operator-7d9f-x2x4z");
    assert!(args.contains(&"--leader-elect=true".to_string()), "{args:?}");
    assert!(args.contains(&"--enable-webhooks=true".to_string()), "{args:?}");
    // Loopback ports instead of the pod's: the probe port is the harness's, the webhook's free.
    // The harness reads JSON logs, whatever the chart's log format.
    let args: Vec<String> = args
        .into_iter()
        .filter(|arg| !arg.starts_with("--health-probe-bind-address=") && !arg.starts_with("--log-format="))
        .map(|arg| {
            if arg.starts_with("--webhook-bind-address=") {
                "--webhook-bind-address=127.0.0.1:0".to_string()
            } else {
                arg
            }
        })
        .collect();
    let fake = fake_api();
    let crd_file = integration_tests::helm::chart_dir().join("files/locusttests.locust.io.yaml");
    let crd: serde_json::Value = serde_yaml::from_str(&std::fs::read_to_string(crd_file).unwrap()).unwrap();
    fake.insert(crd);
    let server = fake.serve_http().await.unwrap();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let env: Vec<(&str, &str)> = env
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    let mut operator = OperatorProcess::start(&server, &args, &env).await;

    operator.wait_logged("became leader", READY_WITHIN).await;
    operator.wait_ready(READY_WITHIN).await;
    for probe in ["readinessProbe", "livenessProbe"] {
        let path = container[probe]["httpGet"]["path"].as_str().unwrap();
        assert_eq!(
            operator.get(path).await.map(|(status, _)| status),
            Some(200),
            "{probe} {path}"
        );
    }
    let lease_name = args
        .iter()
        .find_map(|arg| arg.strip_prefix("--leader-election-id="))
        .expect("the chart names the Lease");
    let holder = fake
        .get::<Lease>("locust-system", lease_name)
        .and_then(|lease| lease.spec?.holder_identity)
        .expect("the chart's replicas elect through the Lease");
    assert!(holder.starts_with("locust-operator-7d9f-x2x4z_"), "{holder}");
    // The self-made certificate's CA is in the CRD, which routes conversions to the chart's Service.
    let crd = fake
        .get_value(&fake_api::ObjectKey {
            group: "apiextensions.k8s.io".into(),
            plural: "customresourcedefinitions".into(),
            namespace: None,
            name: "locusttests.locust.io".into(),
        })
        .unwrap();
    let client_config = &crd["spec"]["conversion"]["webhook"]["clientConfig"];
    assert_eq!(client_config["service"]["name"], "locust-operator-webhook");
    assert_eq!(client_config["service"]["namespace"], "locust-system");
    assert!(
        client_config["caBundle"]
            .as_str()
            .is_some_and(|bundle| !bundle.is_empty())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_names_the_operator_and_a_master_not_serving_is_logged_once_by_name_not_as_errors() {
    let fake = fake_api().with_live_watches();
    fake.insert(locust_test("team-a", "checkout"));
    let server = fake.serve_http().await.unwrap();
    let mut operator =
        OperatorProcess::start(&server, &["--stats-interval=500ms", "--stats-access=api-proxy"], &[]).await;
    operator.wait_ready(READY_WITHIN).await;
    let started = Instant::now();
    while fake.names::<Job>("team-a").len() < 2 {
        assert!(started.elapsed() < READY_WITHIN, "no Jobs: {}", operator.output());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The master runs, but its web port is not serving: the API server's proxy answers 503.
    fake.set_status::<Job>("team-a", "checkout-master", json!({ "active": 1 }));
    operator.wait_logged("cannot read live statistics", READY_WITHIN).await;
    let reading_since = Instant::now();
    let proxied_before = fake.requests_matching("GET", "/proxy/").len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    // One request per read every 500 ms: a 503 is not retried (it was, up to 8 times a read).
    let proxied = fake.requests_matching("GET", "/proxy/").len() - proxied_before;
    let rounds = reading_since.elapsed().as_millis() / 500;
    assert!(
        (2..=rounds + 1).contains(&(proxied as u128)),
        "{proxied} reads in {rounds} rounds"
    );

    let unreadable = operator.logged("cannot read live statistics");
    assert_eq!(
        unreadable.len(),
        1,
        "once per change, not per read: {}",
        operator.output()
    );
    assert_eq!(unreadable[0]["fields"]["test"], "team-a/checkout");
    assert_eq!(
        operator.lines_at("ERROR"),
        Vec::<String>::new(),
        "503s are no errors of the operator"
    );

    let agents: std::collections::BTreeSet<Option<String>> =
        fake.requests().into_iter().map(|request| request.user_agent).collect();
    assert_eq!(
        agents,
        [Some(format!("locust-operator/{}", env!("CARGO_PKG_VERSION")))].into(),
        "every request, the stats proxy's included"
    );
}
