//! Start-up time of the real `kubectl-locust` binary, as a shell user feels it: time to the first
//! byte of output and to exit, over repeated runs (min / median / p95), for `--help`, a
//! `run --dry-run` (no cluster), `status` against an in-memory API server on 127.0.0.1, and the
//! `__complete` call behind `kubectl locust <TAB>`; plus the binary's size. Prints figures, judges
//! nothing.
//!
//! `cargo bench -p kubectl-locust --bench startup` (runs per command: STARTUP_BENCH_RUNS, default 30).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use fake_api::FakeApi;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-locust");
/// A run taking longer than this is killed and reported, so the benchmark always ends.
const RUN_LIMIT: Duration = Duration::from_secs(30);

/// A measured command: its label, its arguments, extra environment variables.
type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>);

/// One run: when the first byte (stdout or stderr) came, when the process ended, its exit code.
struct Sample {
    first_byte: Option<Duration>,
    exit: Duration,
    code: Option<i32>,
}

fn run_once(args: &[&str], env: &[(&str, &str)]) -> Sample {
    let mut command = Command::new(PLUGIN);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env_remove("KUBECONFIG");
    for (key, value) in env {
        command.env(key, value);
    }
    let started = Instant::now();
    let mut child = command.spawn().expect("the plugin starts");
    let (first_byte_tx, first_byte_rx) = mpsc::channel::<Instant>();
    let readers: Vec<_> = [
        Box::new(child.stdout.take().unwrap()) as Box<dyn Read + Send>,
        Box::new(child.stderr.take().unwrap()),
    ]
    .into_iter()
    .map(|mut stream| {
        let first_byte_tx = first_byte_tx.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            let mut seen = false;
            while let Ok(read) = stream.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                if !seen {
                    seen = true;
                    let _ = first_byte_tx.send(Instant::now());
                }
            }
        })
    })
    .collect();
    drop(first_byte_tx);

    let code = loop {
        if let Some(status) = child.try_wait().expect("the plugin can be waited for") {
            break status.code();
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_micros(200));
    };
    let exit = started.elapsed();
    for reader in readers {
        let _ = reader.join();
    }
    let first_byte = first_byte_rx.try_iter().min().map(|at| at - started);
    Sample { first_byte, exit, code }
}

/// min, median, p95 of `values` (sorted here).
fn spread(values: &mut [Duration]) -> (Duration, Duration, Duration) {
    values.sort();
    if values.is_empty() {
        return (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    }
    let at = |fraction: f64| values[((values.len() - 1) as f64 * fraction).round() as usize];
    (values[0], at(0.5), at(0.95))
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

fn bench(label: &str, runs: usize, args: &[&str], env: &[(&str, &str)]) {
    // One unmeasured run: the page cache and the dynamic loader, not the plugin, decide a cold run.
    run_once(args, env);
    let samples: Vec<Sample> = (0..runs).map(|_| run_once(args, env)).collect();
    let mut first_bytes: Vec<Duration> = samples.iter().filter_map(|s| s.first_byte).collect();
    let mut exits: Vec<Duration> = samples.iter().map(|s| s.exit).collect();
    let mut codes: Vec<String> = samples
        .iter()
        .map(|s| s.code.map_or("killed".to_string(), |c| c.to_string()))
        .collect();
    codes.sort();
    codes.dedup();
    let (fb_min, fb_median, fb_p95) = spread(&mut first_bytes);
    let (ex_min, ex_median, ex_p95) = spread(&mut exits);
    println!(
        "{label:<34} {runs:>4} {:>8} {:>8} {:>8}   {:>8} {:>8} {:>8}   {}",
        millis(fb_min),
        millis(fb_median),
        millis(fb_p95),
        millis(ex_min),
        millis(ex_median),
        millis(ex_p95),
        codes.join(",")
    );
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument is a filter on the labels.
    let filter: Option<String> = std::env::args().skip(1).find(|arg| !arg.starts_with('-'));
    let runs: usize = std::env::var("STARTUP_BENCH_RUNS")
        .ok()
        .and_then(|value| value.parse().ok())
        .filter(|runs| *runs > 0)
        .unwrap_or(30);

    let scratch = tempfile::tempdir().unwrap();
    let locustfile = scratch.path().join("test.py");
    std::fs::write(
        &locustfile,
        "from locust import HttpUser, task\n\nclass Shopper(HttpUser):\n    @task\n    def home(self):\n        self.client.get(\"/\")\n",
    )
    .unwrap();
    let no_kubeconfig = scratch.path().join("no-kubeconfig");

    // The in-memory API server runs on the runtime's workers while the benchmark waits on processes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let fake = FakeApi::new(Timestamp::from_second(1_700_000_000).unwrap());
    for name in ["checkout", "login", "search"] {
        fake.insert(json!({
            "apiVersion": "locust.io/v2",
            "kind": "LocustTest",
            "metadata": { "name": name, "namespace": "load" },
            "spec": {
                "image": "locustio/locust:2.31.0",
                "master": { "command": "--locustfile /lotest/src/test.py" },
                "worker": { "command": "--locustfile /lotest/src/test.py", "replicas": 2 },
            },
        }));
    }
    let server = runtime.block_on(fake.serve_http()).unwrap();
    let kubeconfig = scratch.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig("load")).unwrap();

    let size = std::fs::metadata(PLUGIN).map(|m| m.len()).unwrap_or(0);
    println!("kubectl-locust start-up ({})", Path::new(PLUGIN).display());
    println!(
        "binary size: {} bytes ({:.1} MiB)",
        size,
        size as f64 / (1024.0 * 1024.0)
    );
    println!();
    println!(
        "{:<34} {:>4} {:>8} {:>8} {:>8}   {:>8} {:>8} {:>8}   exit codes",
        "command", "runs", "1st min", "median", "p95", "end min", "median", "p95"
    );
    println!(
        "{:<34} {:>4}{:>27}   {:>26}",
        "", "", "(ms to first byte)", "(ms to exit)"
    );

    let locustfile = locustfile.to_str().unwrap();
    let no_kubeconfig = no_kubeconfig.to_str().unwrap();
    let kubeconfig = kubeconfig.to_str().unwrap();
    let cases: Vec<Case> = vec![
        ("--help", vec!["--help"], vec![]),
        (
            "run NAME --locustfile F --dry-run",
            vec!["run", "demo", "--locustfile", locustfile, "--dry-run"],
            vec![("KUBECONFIG", no_kubeconfig)],
        ),
        (
            "status (in-memory API server)",
            vec!["--kubeconfig", kubeconfig, "status"],
            vec![("NO_COLOR", "1")],
        ),
        (
            "__complete -- status '' (TAB)",
            vec!["__complete", "--", "--kubeconfig", kubeconfig, "status", ""],
            vec![],
        ),
    ];
    for (label, args, env) in &cases {
        if filter.as_deref().is_some_and(|filter| !label.contains(filter)) {
            continue;
        }
        bench(label, runs, args, env);
    }
    drop(server);
}
