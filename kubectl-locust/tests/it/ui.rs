//! `kubectl locust ui` through the real binary, against the in-memory API server on 127.0.0.1,
//! whose `pods/portforward` leads to a real Locust master on 127.0.0.1 (started from the argv the
//! operator builds): Locust's page and JSON through the local port, a replaced master pod, the
//! test finishing, Ctrl-C, a taken port, `--open`, and each case without a UI with its message.
//! Every wait is bounded; the Locust process is killed when its test ends, pass or fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::{http, locust};

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use shared::api::v2::LocustTest;
use shared::command::{localize, master_args};
use shared::naming::{Role, pod_labels};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::task::JoinHandle;

use crate::support::{CHILD_LIMIT, Cluster, Finished, NS};

const TEST: &str = "checkout";
const MASTER_POD: &str = "checkout-master-abcde";
/// How long anything the plugin should say may take to appear.
const SAY_LIMIT: Duration = Duration::from_secs(30);

/// A test in `phase` (no status for `None`) and its master pod in `pod_phase`.
fn add_test(cluster: &Cluster, phase: Option<&str>, pod_phase: &str) {
    let status = phase.map_or(Value::Null, |phase| json!({ "phase": phase }));
    cluster.fake.insert(json!({
        "apiVersion": "locust.io/v2", "kind": "LocustTest",
        "metadata": {"name": TEST, "namespace": NS},
        "spec": spec("/lotest/src/test.py"),
        "status": status,
    }));
    add_master_pod(cluster, MASTER_POD, pod_phase);
}

fn spec(locustfile: &str) -> Value {
    json!({
        "image": "locustio/locust:2.47.0",
        "master": {"command": format!("--locustfile {locustfile} --host http://127.0.0.1:9")},
        "worker": {"command": format!("--locustfile {locustfile}"), "replicas": 1},
    })
}

fn add_master_pod(cluster: &Cluster, name: &str, phase: &str) {
    let status = if phase == "Running" {
        json!({"phase": "Running"})
    } else {
        json!({"phase": phase, "containerStatuses": [{"name": "locust", "image": "locustio/locust:2.47.0",
            "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]})
    };
    cluster
        .fake
        .add_pod(NS, name, &pod_labels(TEST, Role::Master, None), status);
}

fn set_phase(cluster: &Cluster, phase: &str) {
    cluster
        .fake
        .set_status::<LocustTest>(NS, TEST, json!({ "phase": phase }));
}

/// A real Locust master on 127.0.0.1, with the argv the operator gives the master pod; its web
/// port is what the fake API server forwards the pod's 8089 to.
struct Master {
    web: SocketAddr,
    _processes: locust::LocustProcesses,
    _dir: tempfile::TempDir,
}

impl Master {
    async fn start() -> Self {
        let executable = locust::locust_on_path().unwrap_or_else(|| panic!("{}", locust::LOCUST_MISSING));
        let dir = tempfile::tempdir().unwrap();
        let locustfile = dir.path().join("test.py");
        std::fs::write(
            &locustfile,
            "from locust import HttpUser, task\n\nclass Visitor(HttpUser):\n    @task\n    def index(self):\n        self.client.get('/')\n",
        )
        .unwrap();
        let spec = serde_json::from_value(spec(locustfile.to_str().unwrap())).unwrap();
        let endpoints = locust::free_local_endpoints();
        let argv = localize(&master_args(&spec).unwrap(), Role::Master, endpoints);
        let mut processes = locust::LocustProcesses::new(executable, dir.path());
        processes.spawn("master", &argv);
        let web_port = endpoints.web_port;
        let started = Instant::now();
        while tokio::task::spawn_blocking(move || http::get_json(web_port, "/stats/requests"))
            .await
            .unwrap()
            .is_err()
        {
            assert!(
                started.elapsed() < SAY_LIMIT,
                "Locust's web UI did not answer:\n{}",
                processes.report()
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Self {
            web: SocketAddr::from((Ipv4Addr::LOCALHOST, web_port)),
            _processes: processes,
            _dir: dir,
        }
    }
}

/// The plugin running, its two streams read as they come.
struct Running {
    child: tokio::process::Child,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

fn collect(stream: impl AsyncRead + Unpin + Send + 'static, into: Arc<Mutex<String>>) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let mut text = into.lock().unwrap();
            text.push_str(&line);
            text.push('\n');
        }
    })
}

impl Running {
    fn start(cluster: &Cluster, args: &[&str]) -> Self {
        Self::start_with(cluster.command(args))
    }

    fn start_with(mut command: tokio::process::Command) -> Self {
        let mut child = command.spawn().unwrap();
        let (stdout, stderr) = (Arc::default(), Arc::default());
        let readers = vec![
            collect(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            collect(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Self {
            child,
            stdout,
            stderr,
            readers,
        }
    }

    fn both(&self) -> String {
        format!(
            "--- stdout\n{}--- stderr\n{}",
            self.stdout.lock().unwrap(),
            self.stderr.lock().unwrap()
        )
    }

    /// Waits until standard error (or output, `on_stdout`) holds `needle`.
    async fn wait_for(&self, needle: &str, on_stdout: bool) {
        let started = Instant::now();
        loop {
            let stream = if on_stdout { &self.stdout } else { &self.stderr };
            if stream.lock().unwrap().contains(needle) {
                return;
            }
            assert!(
                started.elapsed() < SAY_LIMIT,
                "{needle:?} not said within {SAY_LIMIT:?}\n{}",
                self.both()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The port of the URL the plugin printed.
    async fn port(&self) -> u16 {
        self.wait_for(&format!("Web UI of test {TEST}: http://127.0.0.1:"), true)
            .await;
        let stdout = self.stdout.lock().unwrap().clone();
        let (_, rest) = stdout.split_once("http://127.0.0.1:").unwrap();
        rest.lines().next().unwrap().trim().parse().unwrap()
    }

    fn interrupt(&self) {
        let pid = self.child.id().unwrap().to_string();
        let kill = std::process::Command::new("kill")
            .args(["-s", "INT", &pid])
            .status()
            .unwrap();
        assert!(kill.success());
    }

    async fn finish(mut self) -> Finished {
        let status = tokio::time::timeout(CHILD_LIMIT, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("the plugin ends within {CHILD_LIMIT:?}\n{}", self.both()))
            .unwrap();
        for reader in self.readers.drain(..) {
            reader.await.unwrap();
        }
        let finished = Finished {
            code: status.code(),
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        };
        // What the run said, for the README and for reading a failure.
        eprintln!("{}", finished.both());
        finished
    }
}

/// `GET path` over HTTP/1.0 from 127.0.0.1:`port`: the status line and the body.
async fn get(port: u16, path: &str) -> (String, String) {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect((Ipv4Addr::LOCALHOST, port))
            .await
            .unwrap();
        stream
            .write_all(format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut response = Vec::new();
        // A connection the plugin closes unanswered may be reset: what came before is the answer.
        let _ = stream.read_to_end(&mut response).await;
        String::from_utf8_lossy(&response).into_owned()
    };
    let response = tokio::time::timeout(Duration::from_secs(15), exchange)
        .await
        .unwrap_or_else(|_| panic!("GET {path} through 127.0.0.1:{port} answered within 15 s"));
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.lines().next().unwrap_or_default().to_string(), body.to_string())
}

/// Locust's page and its statistics, fetched through the plugin's local port.
async fn assert_locust_answers(port: u16) {
    let (status, page) = get(port, "/").await;
    assert!(status.contains(" 200 "), "GET /: {status}");
    assert!(page.contains("<title>Locust</title>"), "not Locust's page:\n{page}");
    let (status, stats) = get(port, "/stats/requests").await;
    assert!(status.contains(" 200 "), "GET /stats/requests: {status}");
    let stats: Value = serde_json::from_str(&stats).unwrap();
    assert!(stats["state"].is_string(), "{stats}");
    assert!(stats["stats"].is_array(), "{stats}");
}

#[tokio::test]
async fn locusts_page_and_json_come_through_the_local_port_and_a_replaced_master_is_followed() {
    let master = Master::start().await;
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Running"), "Running");
    cluster.fake.set_port_forward(NS, MASTER_POD, 8089, master.web);
    let ui = Running::start(&cluster, &["ui", TEST, "--port", "0"]);
    let port = ui.port().await;
    ui.wait_for(
        "forwarding to pod checkout-master-abcde port 8089 through the API server; Ctrl-C to stop",
        false,
    )
    .await;
    assert_locust_answers(port).await;
    let forwards = cluster
        .fake
        .requests_matching("GET", "/pods/checkout-master-abcde/portforward");
    assert!(
        forwards.len() >= 3,
        "a check, then one forward per connection: {forwards:?}"
    );
    assert!(
        forwards
            .iter()
            .all(|request| request.query_param("ports") == Some("8089"))
    );

    // The master's Job replaces its pod: the next connections go to the new one.
    assert!(cluster.fake.delete::<k8s_openapi::api::core::v1::Pod>(NS, MASTER_POD));
    add_master_pod(&cluster, "checkout-master-fghij", "Running");
    cluster
        .fake
        .set_port_forward(NS, "checkout-master-fghij", 8089, master.web);
    ui.wait_for(
        "the master pod was replaced: forwarding to pod checkout-master-fghij now",
        false,
    )
    .await;
    assert_locust_answers(port).await;
    assert!(
        !cluster
            .fake
            .requests_matching("GET", "/pods/checkout-master-fghij/portforward")
            .is_empty()
    );

    // The test ends: its UI is gone, and the command says where the results are.
    set_phase(&cluster, "Succeeded");
    let run = ui.finish().await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    run.assert_stderr_has("test checkout Succeeded: its master has quit, and the web UI with it");
    run.assert_stderr_has("`kubectl locust status checkout -n load` shows the final statistics");
    run.assert_stderr_has("`kubectl locust report checkout -n load` saves Locust's report");
}

#[tokio::test]
async fn a_master_that_does_not_listen_on_8089_gets_each_connection_closed_with_the_kubelets_words() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Running"), "Running");
    let ui = Running::start(&cluster, &["ui", TEST, "--port", "0"]);
    let port = ui.port().await;
    let (status, body) = get(port, "/").await;
    assert_eq!((status.as_str(), body.as_str()), ("", ""), "closed without an answer");
    ui.wait_for(
        "warning: the master pod did not take a connection on port 8089: error forwarding port 8089 to pod",
        false,
    )
    .await;
    ui.wait_for("connect: connection refused", false).await;
    ui.interrupt();
    let run = ui.finish().await;
    assert_eq!(run.code, Some(0), "{}", run.both());
}

#[tokio::test]
async fn ctrl_c_ends_it_and_a_taken_8089_gives_a_free_port_with_a_note() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Running"), "Running");
    // Taken by this test, or already by something else: taken either way.
    let _holder = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 8089));
    let ui = Running::start(&cluster, &["ui", TEST]);
    let port = ui.port().await;
    assert_ne!(port, 8089);
    ui.wait_for(
        "note: 127.0.0.1:8089 is in use (another port-forward?), so a free port is used instead",
        false,
    )
    .await;
    ui.interrupt();
    let run = ui.finish().await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    run.assert_stderr_has(format!("stopped forwarding http://127.0.0.1:{port}"));
}

#[tokio::test]
async fn a_test_deleted_while_forwarding_ends_it_with_an_error() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Running"), "Running");
    let ui = Running::start(&cluster, &["ui", TEST, "--port", "0"]);
    ui.port().await;
    assert!(cluster.fake.delete::<LocustTest>(NS, TEST));
    let run = ui.finish().await;
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("error: LocustTest \"checkout\" was deleted from namespace \"load\", and its web UI with it");
}

#[tokio::test]
async fn an_exact_port_that_is_taken_is_an_error() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Running"), "Running");
    let holder = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let taken = holder.local_addr().unwrap().port().to_string();
    let run = cluster.run(&["ui", TEST, "--port", &taken]).await;
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has(format!("cannot listen on 127.0.0.1:{taken}"));
    run.assert_stderr_has("next: pick another --port, or leave --port out for a free one");
    assert_eq!(run.stdout, "");
}

#[tokio::test]
async fn open_hands_the_url_to_the_browser() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Running"), "Running");
    // A stand-in for xdg-open that writes down what it was given.
    let bin = tempfile::tempdir().unwrap();
    let opened = bin.path().join("opened");
    let opener = bin.path().join("xdg-open");
    std::fs::write(&opener, format!("#!/bin/sh\necho \"$1\" > '{}'\n", opened.display())).unwrap();
    std::fs::set_permissions(&opener, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let mut command = cluster.command(&["ui", TEST, "--port", "0", "--open"]);
    command.env("PATH", path);
    let ui = Running::start_with(command);
    let port = ui.port().await;
    let started = Instant::now();
    while !opened.exists() {
        assert!(started.elapsed() < SAY_LIMIT, "xdg-open was not run\n{}", ui.both());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    ui.interrupt();
    let run = ui.finish().await;
    assert_eq!(run.code, Some(0), "{}", run.both());
    let url = std::fs::read_to_string(&opened).unwrap();
    assert_eq!(url.trim(), format!("http://127.0.0.1:{port}"));
}

#[tokio::test]
async fn a_pending_test_is_waited_for_with_progress_until_its_master_runs() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Pending"), "Pending");
    let ui = Running::start(&cluster, &["ui", TEST, "--port", "0"]);
    ui.wait_for(
        "waiting for the web UI of checkout: test Pending, master pod checkout-master-abcde ContainerCreating",
        false,
    )
    .await;
    assert_eq!(*ui.stdout.lock().unwrap(), "", "no URL before there is a UI");
    cluster
        .fake
        .set_status::<k8s_openapi::api::core::v1::Pod>(NS, MASTER_POD, json!({"phase": "Running"}));
    set_phase(&cluster, "Running");
    ui.port().await;
    ui.interrupt();
    let run = ui.finish().await;
    assert_eq!(run.code, Some(0), "{}", run.both());
}

#[tokio::test]
async fn ctrl_c_while_waiting_exits_130() {
    let cluster = Cluster::start().await;
    add_test(&cluster, None, "Pending");
    let ui = Running::start(&cluster, &["ui", TEST]);
    ui.wait_for(
        "waiting for the web UI of checkout: test phase unknown: the operator has not reported on it",
        false,
    )
    .await;
    ui.interrupt();
    let run = ui.finish().await;
    assert_eq!(run.code, Some(130), "{}", run.both());
    run.assert_stderr_has("stopped waiting for the web UI of test checkout");
    assert_eq!(run.stdout, "");
}

#[tokio::test]
async fn a_finished_test_has_no_ui_and_the_message_points_to_status_and_report() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Failed"), "Succeeded");
    let run = cluster.run(&["ui", TEST]).await;
    eprintln!("{}", run.both());
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("error: test checkout Failed: its master has quit, and the web UI with it");
    run.assert_stderr_has("next: `kubectl locust status checkout -n load` shows the final statistics; `kubectl locust report checkout -n load` saves Locust's report");
    assert!(cluster.fake.requests_matching("GET", "/portforward").is_empty());
}

#[tokio::test]
async fn no_such_test_names_the_close_ones() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Running"), "Running");
    let run = cluster.run(&["ui", "chekout"]).await;
    eprintln!("{}", run.both());
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("LocustTest \"chekout\" not found in namespace \"load\"");
    run.assert_stderr_has("did you mean: checkout?");
}

#[tokio::test]
async fn without_pods_portforward_the_error_names_the_verb_and_the_resource() {
    let cluster = Cluster::start().await;
    add_test(&cluster, Some("Running"), "Running");
    cluster.fake.forbid("GET", "pods/portforward");
    let run = cluster.run(&["ui", TEST]).await;
    eprintln!("{}", run.both());
    assert_eq!(run.code, Some(1), "{}", run.both());
    run.assert_stderr_has("permission denied: you may not create pods/portforward in namespace \"load\"");
    run.assert_stderr_has("`kubectl auth can-i create pods/portforward -n load` checks it");
    assert_eq!(run.stdout, "", "no URL without a UI");
}
