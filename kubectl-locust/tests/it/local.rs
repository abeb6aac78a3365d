//! `kubectl locust run --local` with the real `locust`: a distributed test on 127.0.0.1 that
//! succeeds, one whose requests fail, Ctrl-C, and a missing Locust. Every child is bounded by a
//! timeout, and each test checks that no Locust process it started is left running.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-locust");

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// The demo shop API (examples/local/target.py) on a free loopback port; killed on drop.
struct Target {
    child: Child,
    port: u16,
}

impl Target {
    fn start() -> Self {
        Self::start_script(&workspace().join("examples/local/target.py"))
    }

    /// A target whose `/slow` answers after 300 ms (tests/fixtures/local/slow_target.py).
    fn start_slow() -> Self {
        Self::start_script(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/local/slow_target.py"))
    }

    fn start_script(script: &Path) -> Self {
        let mut child = Command::new("python3")
            .arg(script)
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs the demo target");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line.trim().parse().expect("the target prints its port");
        Self { child, port }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A locustfile with a name no other process uses, so leftover processes can be found by it.
fn locustfile(dir: &Path, body: &str) -> PathBuf {
    let unique = format!(
        "lt_{}_{}.py",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let path = dir.join(unique);
    std::fs::write(&path, body).unwrap();
    path
}

const SHOPPER: &str = "\
from locust import HttpUser, task, constant

class Shopper(HttpUser):
    wait_time = constant(0.1)

    @task
    def items(self):
        self.client.get('/items')
";

/// Processes whose command line mentions `marker` (our locustfile's unique name).
fn processes_mentioning(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = entry.path().join("cmdline");
        if let Ok(bytes) = std::fs::read(&cmdline) {
            let text = String::from_utf8_lossy(&bytes).replace('\0', " ");
            // The plugin itself names the locustfile too; only its Locust children count.
            let program = text.split(' ').next().unwrap_or_default();
            if text.contains(marker) && !program.ends_with("kubectl-locust") {
                found.push(format!("{}: {text}", entry.file_name().to_string_lossy()));
            }
        }
    }
    found
}

fn assert_nothing_left(marker: &str) {
    // Reaped children vanish at once; give the kernel a moment for any straggler.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = processes_mentioning(marker);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "processes left behind: {left:#?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn run_bounded(mut command: Command, limit: Duration) -> Output {
    let child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let id = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(child.wait_with_output());
    });
    match receiver.recv_timeout(limit) {
        Ok(output) => output.unwrap(),
        Err(_) => {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("kubectl-locust did not finish within {limit:?}");
        }
    }
}

fn local_run(locustfile: &Path, host: &str, run_time: &str, extra: &[&str]) -> Command {
    let mut command = Command::new(PLUGIN);
    command
        .args(["run", "demo", "--local", "--locustfile"])
        .arg(locustfile)
        .args(["--workers", "2", "--users", "4", "--spawn-rate", "4", "--autoquit", "1"])
        .args(["--run-time", run_time])
        .args(["--host", host, "--color", "never", "--timeout", "90s"])
        .args(extra)
        .env_remove("KUBECONFIG");
    // The report folder (./demo-report/) goes beside the locustfile, in the test's own directory.
    if let Some(dir) = locustfile.parent() {
        command.current_dir(dir);
    }
    command
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn two_workers_run_a_distributed_test_that_succeeds_with_a_summary() {
    let target = Target::start();
    let dir = tempfile::tempdir().unwrap();
    let file = locustfile(dir.path(), SHOPPER);
    let marker = file.file_name().unwrap().to_string_lossy().to_string();
    let output = run_bounded(
        local_run(&file, &format!("http://127.0.0.1:{}", target.port), "4s", &[]),
        Duration::from_secs(120),
    );
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(all.contains("Succeeded"), "{all}");
    assert!(all.contains("2/2"), "both workers connected: {all}");
    // The summary reports real traffic: some requests and no failures.
    let stdout = String::from_utf8_lossy(&output.stdout);
    let number_after = |label: &str| -> i64 {
        stdout
            .lines()
            .find_map(|line| line.trim().strip_prefix(label))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {label} line in the summary: {all}"))
    };
    assert!(number_after("requests") > 0, "{all}");
    assert_eq!(number_after("failures"), 0, "{all}");
    assert!(!all.contains("Failed"), "{all}");
    assert_nothing_left(&marker);
}

#[test]
fn failing_requests_fail_the_run_like_locusts_exit_code_on_error() {
    // Nothing listens on this port: every request fails, so Locust exits 1 and the run is Failed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let file = locustfile(dir.path(), SHOPPER);
    let marker = file.file_name().unwrap().to_string_lossy().to_string();
    let output = run_bounded(
        local_run(&file, &format!("http://127.0.0.1:{port}"), "4s", &[]),
        Duration::from_secs(120),
    );
    let all = text(&output);
    assert_eq!(output.status.code(), Some(3), "{all}");
    assert!(all.contains("Failed"), "{all}");
    assert!(
        all.contains("TestFailed") || all.contains("exited with code 1"),
        "{all}"
    );
    assert_nothing_left(&marker);
}

#[test]
fn ctrl_c_stops_every_process() {
    let target = Target::start();
    let dir = tempfile::tempdir().unwrap();
    let file = locustfile(dir.path(), SHOPPER);
    let marker = file.file_name().unwrap().to_string_lossy().to_string();
    // Long enough that only the interrupt can end it.
    let mut command = local_run(&file, &format!("http://127.0.0.1:{}", target.port), "5m", &[]);
    let mut child = command.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // Wait until the master and both workers run.
    let deadline = Instant::now() + Duration::from_secs(60);
    while processes_mentioning(&marker).len() < 3 {
        assert!(Instant::now() < deadline, "locust processes did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kubectl-locust did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(exit.code(), Some(130), "{stderr}");
    assert_nothing_left(&marker);
}

#[test]
fn a_missing_locust_says_how_to_install_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = locustfile(dir.path(), SHOPPER);
    let output = run_bounded(
        local_run(&file, "http://127.0.0.1:9", "4s", &["--locust", "/nonexistent/locust"]),
        Duration::from_secs(30),
    );
    let all = text(&output);
    assert_eq!(output.status.code(), Some(1), "{all}");
    assert!(all.contains("Locust is not installed"), "{all}");
    assert!(all.contains("pip install"), "{all}");
}

#[test]
fn a_manifest_runs_with_its_configmap_from_a_local_dir_and_names_what_only_a_cluster_has() {
    let target = Target::start();
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    // The plain variable reaches the processes; the request path comes from it.
    let file = locustfile(
        &scripts,
        "import os\nfrom locust import HttpUser, task, constant\n\nclass U(HttpUser):\n    wait_time = constant(0.1)\n\n    @task\n    def go(self):\n        self.client.get(os.environ['TARGET_PATH'])\n",
    );
    let marker = file.file_name().unwrap().to_string_lossy().to_string();
    let manifest = dir.path().join("test.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: locust.io/v2\nkind: LocustTest\nmetadata:\n  name: from-manifest\nspec:\n  image: locustio/locust:2.20.0\n  master:\n    command: \"--locustfile /lotest/src/{marker} --host http://127.0.0.1:{} --users 2 --spawn-rate 2 --run-time 3s\"\n    autoquit: {{enabled: true, timeout: 1}}\n  worker:\n    command: \"--locustfile /lotest/src/{marker}\"\n    replicas: 1\n  testFiles:\n    configMapRef: load-scripts\n  env:\n    variables:\n      - {{name: TARGET_PATH, value: /items}}\n    secretRefs:\n      - {{name: api-keys}}\n",
            target.port
        ),
    )
    .unwrap();
    let mut command = Command::new(PLUGIN);
    command
        .args(["run", "-f"])
        .arg(&manifest)
        .args(["--local", "--color", "never", "--timeout", "90s", "--configmap"])
        .arg(format!("load-scripts={}", scripts.display()))
        .current_dir(dir.path());
    let output = run_bounded(command, Duration::from_secs(120));
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(all.contains("Test from-manifest Succeeded"), "{all}");
    assert!(
        all.contains("not available locally: environment from Secret api-keys"),
        "{all}"
    );
    // Requests to $TARGET_PATH succeeded, so the variable was set.
    assert!(all.contains("failures   0 (0.00%)"), "{all}");
    assert_nothing_left(&marker);
}

/// A manifest for test `name` running `locustfile` (in `scripts`, served as ConfigMap
/// load-scripts) against `host` for 4 s, staying 5 s after (time to read Locust's report), with
/// `thresholds` (YAML, indented for spec.thresholds).
fn manifest_with_thresholds(dir: &Path, name: &str, locustfile: &Path, host: &str, thresholds: &str) -> PathBuf {
    let file = locustfile.file_name().unwrap().to_string_lossy();
    let manifest = dir.join(format!("{name}.yaml"));
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: locust.io/v2\nkind: LocustTest\nmetadata:\n  name: {name}\nspec:\n  image: locustio/locust:2.20.0\n  master:\n    command: \"--locustfile /lotest/src/{file} --host {host} --users 4 --spawn-rate 4 --run-time 4s\"\n    autoquit: {{enabled: true, timeout: 5}}\n  worker:\n    command: \"--locustfile /lotest/src/{file}\"\n    replicas: 2\n  testFiles:\n    configMapRef: load-scripts\n  thresholds:\n{thresholds}"
        ),
    )
    .unwrap();
    manifest
}

fn run_manifest(dir: &Path, manifest: &Path, scripts: &Path) -> Output {
    let mut command = Command::new(PLUGIN);
    command
        .args(["run", "-f"])
        .arg(manifest)
        .args(["--local", "--color", "never", "--timeout", "90s", "--configmap"])
        .arg(format!("load-scripts={}", scripts.display()))
        .current_dir(dir)
        .env_remove("KUBECONFIG");
    run_bounded(command, Duration::from_secs(120))
}

/// The summary line starting (after its indent) with `prefix`, and the milliseconds it measured.
fn measured_ms(all: &str, prefix: &str) -> (String, f64) {
    let line = all
        .lines()
        .find(|line| line.trim_start().starts_with(prefix))
        .unwrap_or_else(|| panic!("no line {prefix:?}: {all}"));
    let measured = line
        .trim_start()
        .strip_prefix(prefix)
        .and_then(|rest| rest.split(" ms").next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no measured value in {line:?}"));
    (line.to_string(), measured)
}

const ITEMS_AND_SLOW: &str = "\
from locust import HttpUser, task, constant

class Shopper(HttpUser):
    wait_time = constant(0.1)

    @task(3)
    def items(self):
        self.client.get('/items')

    @task(1)
    def slow(self):
        self.client.get('/slow')
";

#[test]
fn a_local_run_saves_locusts_report_and_passes_the_thresholds_it_meets() {
    let target = Target::start_slow();
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    let file = locustfile(&scripts, ITEMS_AND_SLOW);
    let marker = file.file_name().unwrap().to_string_lossy().to_string();
    let host = format!("http://127.0.0.1:{}", target.port);
    let manifest = manifest_with_thresholds(
        dir.path(),
        "healthy",
        &file,
        &host,
        // Generous: a loaded test machine may take several times the 300 ms.
        "    maxFailRatio: 0.01\n    endpoints:\n    - {name: /slow, method: GET, maxP95ResponseTimeMs: 10000}\n    - {name: /items, maxMedianResponseTimeMs: 5000}\n",
    );
    let output = run_manifest(dir.path(), &manifest, &scripts);
    let all = text(&output);
    assert_eq!(output.status.code(), Some(0), "{all}");
    assert!(all.contains("Test healthy Succeeded"), "{all}");
    assert!(all.contains("thresholds all 3 met"), "{all}");
    let (line, measured) = measured_ms(&all, "met      p95 response time of GET /slow: ");
    assert!(
        measured >= 250.0,
        "the slow endpoint measured at 300 ms or more: {line}"
    );
    assert!(
        all.contains("report     ./healthy-report/ (stats.json, report.html, requests.csv, failures.csv)"),
        "{all}"
    );

    // The files Locust itself served when it stopped.
    let report = dir.path().join("healthy-report");
    let html = std::fs::read_to_string(report.join("report.html")).unwrap();
    assert!(
        html.contains("<html") && html.contains("Locust"),
        "not Locust's HTML report: {}",
        &html[..html.len().min(300)]
    );
    let requests = std::fs::read_to_string(report.join("requests.csv")).unwrap();
    assert!(
        requests.starts_with("Type,Name,Request Count,Failure Count"),
        "{requests}"
    );
    assert!(
        requests.contains("GET,/slow,") && requests.contains(",Aggregated,"),
        "{requests}"
    );
    let failures = std::fs::read_to_string(report.join("failures.csv")).unwrap();
    assert!(failures.starts_with("Method,Name,Error,Occurrences"), "{failures}");
    let stats = shared::stats::parse_report(&std::fs::read(report.join("stats.json")).unwrap()).unwrap();
    assert_eq!(stats.state, "stopped", "the final statistics");
    assert!(
        stats
            .stats
            .iter()
            .any(|row| row.name == "/slow" && row.num_requests > 0),
        "{stats:?}"
    );
    assert_nothing_left(&marker);
}

#[test]
fn a_slow_endpoint_over_its_p95_limit_fails_the_local_run_with_exit_3() {
    let target = Target::start_slow();
    let dir = tempfile::tempdir().unwrap();
    let scripts = dir.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    let file = locustfile(&scripts, ITEMS_AND_SLOW);
    let marker = file.file_name().unwrap().to_string_lossy().to_string();
    let host = format!("http://127.0.0.1:{}", target.port);
    let manifest = manifest_with_thresholds(
        dir.path(),
        "slow",
        &file,
        &host,
        "    maxFailRatio: 0.01\n    endpoints:\n    - {name: /slow, method: GET, maxP95ResponseTimeMs: 200}\n",
    );
    let output = run_manifest(dir.path(), &manifest, &scripts);
    let all = text(&output);
    assert_eq!(output.status.code(), Some(3), "{all}");
    assert!(all.contains("Test slow Failed"), "{all}");
    assert!(all.contains("thresholds breached: 1 of 2 limits"), "{all}");
    let (breach, measured) = measured_ms(&all, "BREACHED p95 response time of GET /slow: ");
    assert!(measured >= 250.0, "{breach}");
    assert!(breach.ends_with("allowed at most 200 ms"), "{breach}");
    assert!(all.contains("met      fail ratio of all requests: 0.00 %"), "{all}");
    // Locust itself passed the run: it is the thresholds that failed it.
    assert!(
        !all.contains("TestFailed") && !all.contains("exited with code"),
        "{all}"
    );
    assert!(dir.path().join("slow-report/report.html").is_file(), "{all}");
    assert_nothing_left(&marker);
}
