//! Proof with the real tool: the argv the operator builds for a LocustTest, moved to 127.0.0.1,
//! makes `locust` (from PATH) run one master and two workers the way the spec says.
//! Needs Locust 2.x on PATH; without it these tests fail and say how to install it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::support::http::{TargetServer, get_json};
use crate::support::locust::{LOCUST_MISSING, LocustProcesses, free_local_endpoints, locust_on_path};
use shared::api::v2::LocustTest;
use shared::command::{LocalEndpoints, localize, master_args, worker_args};
use shared::naming::Role;

/// Worker pods in the test specs.
const WORKERS: u64 = 2;
/// The whole autostarted run (startup, 5 s of load, 1 s autoquit) must end within this.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// How long workers may take to exit once the master has quit.
const WORKER_QUIT_LIMIT: Duration = Duration::from_secs(15);
/// How long the workers may take to connect.
const CONNECT_LIMIT: Duration = Duration::from_secs(45);
/// How long a master without autostart is watched for starting by itself.
const IDLE_WATCH: Duration = Duration::from_secs(4);
const POLL_INTERVAL: Duration = Duration::from_millis(250);
/// Sent by the master's seed as one quoted argument; a whitespace split would break it in two.
const GREETING: &str = "hello world";

/// Three Python processes per test on a small machine: run the tests one after another.
static ONE_RUN_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A locustfile with one user that GETs `/` and sends the `--greeting` custom argument, which
/// the master forwards to its workers when the run starts.
const LOCUSTFILE: &str = r#"
from locust import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def add_greeting_argument(parser):
    parser.add_argument("--greeting", default="", help="Sent as X-Greeting with every request")


class Visitor(HttpUser):
    wait_time = constant(0.2)

    @task
    def index(self):
        self.client.get("/", headers={"X-Greeting": self.environment.parsed_options.greeting})
"#;

/// What the master's `/stats/requests` said at one moment.
#[derive(Debug)]
struct Observation {
    after: Duration,
    state: String,
    worker_count: u64,
}

fn observe(web_port: u16, started: Instant) -> Option<Observation> {
    let stats = get_json(web_port, "/stats/requests").ok()?;
    Some(Observation {
        after: started.elapsed(),
        state: stats["state"].as_str()?.to_string(),
        worker_count: stats["worker_count"].as_u64()?,
    })
}

fn is_load_running(state: &str) -> bool {
    matches!(state, "spawning" | "running")
}

fn write_locustfile(dir: &Path) -> String {
    let path = dir.join("test.py");
    std::fs::write(&path, LOCUSTFILE).unwrap();
    path.to_str().unwrap().to_string()
}

/// Master and worker argv exactly as the operator builds them, then moved to loopback.
fn local_argv(test: &LocustTest, endpoints: LocalEndpoints) -> (Vec<String>, Vec<String>) {
    let name = test.metadata.name.as_deref().unwrap();
    let master = master_args(&test.spec).unwrap();
    let worker = worker_args(name, &test.spec).unwrap();
    (
        localize(&master, Role::Master, endpoints),
        localize(&worker, Role::Worker, endpoints),
    )
}

/// One master and its workers on loopback, built from a LocustTest, with a fresh target server.
/// Fields drop in order: the processes are killed before their directory goes, and the next test
/// may start only once everything is gone.
struct LoopbackRun {
    processes: LocustProcesses,
    target: TargetServer,
    endpoints: LocalEndpoints,
    started: Instant,
    _dir: tempfile::TempDir,
    _one_at_a_time: MutexGuard<'static, ()>,
}

impl LoopbackRun {
    /// Starts the master and workers of the LocustTest `name`, whose master command runs the
    /// locustfile against the target with `master_flags`, and whose `master:` section ends with
    /// `master_settings` (YAML lines indented by four spaces).
    fn start(name: &str, master_flags: &str, master_settings: &str) -> Self {
        let one_at_a_time = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
        let locust = locust_on_path().unwrap_or_else(|| panic!("{LOCUST_MISSING}"));
        let target = TargetServer::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let locustfile = write_locustfile(dir.path());
        let test: LocustTest = crate::support::from_yaml(&format!(
            r#"
apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: {name}
spec:
  image: locustio/locust:2.47.0
  master:
    command: '--locustfile {locustfile} --host {host} {master_flags}'
{master_settings}  worker:
    command: '--locustfile {locustfile}'
    replicas: {WORKERS}
"#,
            host = target.base_url(),
        ));
        let endpoints = free_local_endpoints();
        let (master, worker) = local_argv(&test, endpoints);

        let started = Instant::now();
        let mut processes = LocustProcesses::new(locust, dir.path());
        processes.spawn("master", &master);
        // Each worker as its own pod, with its own hostname.
        for index in 0..WORKERS {
            let pod = format!("{}-{index}x7kq", shared::naming::worker_name(name));
            processes.spawn_as_pod(&format!("worker-{index}"), &pod, &worker);
        }
        Self {
            processes,
            target,
            endpoints,
            started,
            _dir: dir,
            _one_at_a_time: one_at_a_time,
        }
    }
}

#[test]
fn autostarted_test_runs_once_both_workers_connect_and_the_master_quits_cleanly() {
    let mut run = LoopbackRun::start(
        "loopback-demo",
        &format!(r#"--users 4 --spawn-rate 4 --run-time 5s --greeting "{GREETING}""#),
        "    autoquit:\n      enabled: true\n      timeout: 1\n",
    );

    // Nobody presses start: only watch the master until it quits by itself.
    let mut observations = Vec::new();
    let master_exit = loop {
        if let Some(status) = run.processes.exit_status("master") {
            break Some(status);
        }
        if run.started.elapsed() > RUN_LIMIT {
            break None;
        }
        observations.extend(observe(run.endpoints.web_port, run.started));
        std::thread::sleep(POLL_INTERVAL);
    };
    let elapsed = run.started.elapsed();
    let master_exit = master_exit.unwrap_or_else(|| {
        panic!(
            "master still running after {RUN_LIMIT:?}\nobserved: {observations:?}\n{}",
            run.processes.report()
        )
    });
    // Workers leave when the master tells them to quit; after a failed master they never would.
    let worker_wait = if master_exit.success() {
        WORKER_QUIT_LIMIT
    } else {
        Duration::ZERO
    };
    let workers_exit: Vec<_> = (0..WORKERS)
        .map(|index| run.processes.wait_for_exit(&format!("worker-{index}"), worker_wait))
        .collect();
    let report = run.processes.report();
    let requests = run.target.received();
    eprintln!(
        "master exited {master_exit} after {elapsed:.1?}; target got {} requests; workers {workers_exit:?}",
        requests.len()
    );

    assert!(master_exit.success(), "master exited with {master_exit}\n{report}");
    let both_connected = observations.iter().find(|seen| seen.worker_count == WORKERS);
    assert!(
        both_connected.is_some(),
        "master never reported {WORKERS} workers: {observations:?}\n{report}"
    );
    let first_running = observations.iter().find(|seen| is_load_running(&seen.state));
    assert!(
        first_running.is_some(),
        "the test never started by itself (no spawning/running state seen): {observations:?}\n{report}"
    );
    let early = observations
        .iter()
        .find(|seen| is_load_running(&seen.state) && seen.worker_count < WORKERS);
    assert!(
        early.is_none(),
        "load started before all {WORKERS} workers connected: {early:?}\n{report}"
    );
    assert!(
        !requests.is_empty(),
        "the workers sent no request to the target\n{report}"
    );
    let unexpected = requests
        .iter()
        .find(|request| !request.request_line.starts_with("GET / ") || request.header("x-greeting") != Some(GREETING));
    assert!(
        unexpected.is_none(),
        "a request was not the locustfile's GET / carrying the quoted seed argument as one value: \
         {unexpected:?}\n{report}"
    );
    assert!(
        workers_exit
            .iter()
            .all(|exit| exit.is_some_and(|status| status.success())),
        "workers did not exit cleanly after the master quit: {workers_exit:?}\n{report}"
    );
    eprintln!(
        "both workers seen after {:.1?}, load running after {:.1?}",
        both_connected.map(|seen| seen.after).unwrap_or_default(),
        first_running.map(|seen| seen.after).unwrap_or_default()
    );
}

#[test]
fn without_autostart_the_master_waits_for_a_user_even_with_all_workers_connected() {
    let mut run = LoopbackRun::start(
        "loopback-manual",
        "--users 4 --spawn-rate 4",
        "    autostart: false\n    autoquit:\n      enabled: false\n",
    );

    let connected = loop {
        if let Some(status) = run.processes.exit_status("master") {
            panic!(
                "master exited with {status} instead of waiting\n{}",
                run.processes.report()
            );
        }
        if let Some(seen) = observe(run.endpoints.web_port, run.started).filter(|seen| seen.worker_count == WORKERS) {
            break seen;
        }
        assert!(
            run.started.elapsed() < CONNECT_LIMIT,
            "{WORKERS} workers did not connect within {CONNECT_LIMIT:?}\n{}",
            run.processes.report()
        );
        std::thread::sleep(POLL_INTERVAL);
    };

    let mut observations = vec![connected];
    let watch_until = Instant::now() + IDLE_WATCH;
    while Instant::now() < watch_until {
        std::thread::sleep(POLL_INTERVAL);
        observations.extend(observe(run.endpoints.web_port, run.started));
    }
    let master_exit = run.processes.exit_status("master");
    let report = run.processes.report();
    eprintln!(
        "watched {} observations over {IDLE_WATCH:?} after workers connected",
        observations.len()
    );

    assert!(
        master_exit.is_none(),
        "master exited with {master_exit:?} instead of waiting\n{report}"
    );
    assert!(
        observations.len() > 1,
        "the master's web API stopped answering: {observations:?}\n{report}"
    );
    let not_ready = observations.iter().find(|seen| seen.state != "ready");
    assert!(
        not_ready.is_none(),
        "the test started without anyone starting it: {not_ready:?}\n{report}"
    );
    assert!(
        run.target.received().is_empty(),
        "the workers sent requests although nobody started the test\n{report}"
    );
}
