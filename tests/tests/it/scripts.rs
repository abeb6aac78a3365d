//! The shell functions of `scripts/lib/common.sh` that the quickstart waits with, run by bash
//! under `set -euo pipefail` as the quickstart runs them:
//!
//! - `wait_for_crd_established`, with the real `kubectl` against the in-memory API server served
//!   over loopback HTTP, for a CRD whose conditions appear late, never, or that is created late
//!   (`kubectl wait --for=condition=Established` fails at once on a CRD without conditions);
//! - `wait_for_operator_ready`, against a loopback responder that answers `/readyz` with 503 and
//!   then 200 and a log file that names its address late, with curl and with bash's `/dev/tcp`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fake_api::{FakeApi, HttpServer};
use integration_tests::helm::workspace_root;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};

const CRD: &str = "locusttests.locust.io";
/// The longest any one bash run here may take: every wait under test is bounded well below it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// Tools and processes

/// kubectl: `$KUBECTL`, else `kubectl` on PATH, else the copy `scripts/test.sh` unpacks into
/// `target/tools/bin`. Fails the test when there is none: a skipped test would claim nothing.
fn kubectl_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KUBECTL").filter(|path| !path.is_empty()) {
        return PathBuf::from(path);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("kubectl"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let installed = workspace_root()
        .join("target")
        .join("tools")
        .join("bin")
        .join("kubectl");
    on_path
        .into_iter()
        .chain(std::iter::once(installed))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!(
                "kubectl not found: run `bash scripts/test.sh` once (it unpacks kubectl into target/tools/bin), \
                 put kubectl on PATH, or set KUBECTL=/path/to/kubectl"
            )
        })
}

/// The first `name` on PATH.
fn on_path(name: &str) -> PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
        })
        .unwrap_or_else(|| panic!("{name} not found on PATH"))
}

/// A scratch directory with a `bin/` that holds `kubectl` (whichever [`kubectl_binary`] found),
/// put first on PATH, and a HOME of its own, so kubectl's discovery cache starts empty.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("bin")).unwrap();
        std::fs::create_dir(dir.path().join("home")).unwrap();
        Self { dir }
    }

    fn with_kubectl() -> Self {
        let sandbox = Self::new();
        std::os::unix::fs::symlink(kubectl_binary(), sandbox.bin().join("kubectl")).unwrap();
        sandbox
    }

    fn bin(&self) -> PathBuf {
        self.dir.path().join("bin")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `bash -c 'set -euo pipefail; source scripts/lib/common.sh; SCRIPT'` in the workspace root,
    /// with PATH = this sandbox's bin, then the test's PATH (or nothing else, for `only_sandbox_path`).
    fn bash(&self, script: &str, only_sandbox_path: bool) -> Command {
        let path = if only_sandbox_path {
            self.bin().into_os_string()
        } else {
            let inherited = std::env::var_os("PATH").unwrap_or_default();
            std::env::join_paths(std::iter::once(self.bin()).chain(std::env::split_paths(&inherited))).unwrap()
        };
        let mut command = Command::new(on_path("bash"));
        command
            .arg("-c")
            .arg(format!("set -euo pipefail\nsource scripts/lib/common.sh\n{script}"))
            .current_dir(workspace_root())
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env_remove("KUBECONFIG")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
    }
}

/// How a bash run ended.
#[derive(Debug)]
struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// From start to exit.
    took: Duration,
}

/// Waits for `child`, started at `started`, within [`RUN_LIMIT`].
async fn finish(child: Child, started: Instant) -> Finished {
    let output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("bash did not end within {RUN_LIMIT:?}"))
        .unwrap();
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

/// Whether `child` is still running.
fn running(child: &mut Child) -> bool {
    matches!(child.try_wait(), Ok(None))
}

// ---------------------------------------------------------------------------------------------
// wait_for_crd_established

/// The generated CRD as `kubectl apply` sends it: no status at all.
fn locusttest_crd() -> Value {
    let file = workspace_root()
        .join("charts")
        .join("locust-operator")
        .join("files")
        .join("locusttests.locust.io.yaml");
    let mut crd: Value = serde_yaml::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    crd.as_object_mut().unwrap().remove("status");
    assert_eq!(crd["metadata"]["name"], CRD);
    crd
}

fn crds(fake: &FakeApi) -> Api<CustomResourceDefinition> {
    Api::all(fake.client())
}

/// What the API server writes once the CRD's API is served.
async fn establish(fake: &FakeApi) {
    let status = json!({ "status": { "conditions": [
        { "type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "lastTransitionTime": "2026-01-01T00:00:00Z", "message": "no conflicts found" },
        { "type": "Established", "status": "True", "reason": "InitialNamesAccepted", "lastTransitionTime": "2026-01-01T00:00:00Z", "message": "the initial names have been accepted" },
    ] } });
    crds(fake)
        .patch_status(CRD, &PatchParams::default(), &Patch::Merge(status))
        .await
        .unwrap();
}

/// The fake API server on loopback, with its kubeconfig written into `sandbox`.
async fn serve(fake: &FakeApi, sandbox: &Sandbox) -> (HttpServer, PathBuf) {
    let server = fake.serve_http().await.unwrap();
    let kubeconfig = sandbox.path("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig("default")).unwrap();
    (server, kubeconfig)
}

fn fake_api() -> FakeApi {
    FakeApi::new("2026-01-01T00:00:00Z".parse().unwrap())
}

/// How often kubectl read the CRD so far.
fn crd_reads(fake: &FakeApi) -> usize {
    fake.requests_matching(
        "GET",
        &format!("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{CRD}"),
    )
    .len()
}

/// Waits (bounded) until kubectl has read the CRD at least `reads` times.
async fn until_crd_read(fake: &FakeApi, reads: usize, child: &mut Child) {
    let started = Instant::now();
    while crd_reads(fake) < reads {
        assert!(
            running(child),
            "the wait ended before kubectl read the CRD {reads} times"
        );
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "kubectl read the CRD {} times in 20 s, not {reads}: {:?}",
            crd_reads(fake),
            fake.requests().iter().map(|r| r.summary()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crd_wait_waits_for_conditions_that_appear_late() {
    let fake = fake_api();
    fake.insert(locusttest_crd());
    let sandbox = Sandbox::with_kubectl();
    let (_server, kubeconfig) = serve(&fake, &sandbox).await;

    let started = Instant::now();
    let mut bash = sandbox.bash(&format!("wait_for_crd_established {CRD} 20"), false);
    let mut child = bash.env("KUBECONFIG", &kubeconfig).spawn().unwrap();
    // Two reads of a CRD without status, and two seconds, and it still waits.
    until_crd_read(&fake, 2, &mut child).await;
    tokio::time::sleep(Duration::from_secs(2).saturating_sub(started.elapsed())).await;
    assert!(running(&mut child), "the wait ended before the CRD had conditions");

    establish(&fake).await;
    let established_at = started.elapsed();
    let finished = finish(child, started).await;
    assert_eq!(finished.code, Some(0), "{finished:?}");
    assert!(finished.took >= established_at, "{finished:?}");
    assert!(
        finished.took < established_at + Duration::from_secs(8),
        "it should notice within about a second: {finished:?}"
    );
    assert_eq!(
        finished.stdout,
        format!("customresourcedefinition/{CRD} is Established\n"),
        "{finished:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crd_wait_gives_up_after_its_timeout_saying_what_it_saw() {
    let fake = fake_api();
    fake.insert(locusttest_crd());
    let sandbox = Sandbox::with_kubectl();
    let (_server, kubeconfig) = serve(&fake, &sandbox).await;

    let started = Instant::now();
    let mut bash = sandbox.bash(&format!("wait_for_crd_established {CRD} 3"), false);
    let finished = finish(bash.env("KUBECONFIG", &kubeconfig).spawn().unwrap(), started).await;
    assert_eq!(finished.code, Some(1), "{finished:?}");
    assert!(
        finished.stderr.contains(&format!(
            "error: customresourcedefinition/{CRD} is not Established after 3s (last seen: the CRD has no Established condition yet)"
        )),
        "{finished:?}"
    );
    assert!(finished.took >= Duration::from_secs(3), "{finished:?}");
    assert!(finished.took < Duration::from_secs(20), "{finished:?}");
    assert!(crd_reads(&fake) >= 2, "it polls: {}", crd_reads(&fake));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crd_wait_waits_for_a_crd_created_late_and_passes_kubectl_flags_on() {
    let fake = fake_api();
    let sandbox = Sandbox::with_kubectl();
    let (_server, kubeconfig) = serve(&fake, &sandbox).await;

    // The kubeconfig comes as a flag; KUBECONFIG names nothing.
    let started = Instant::now();
    let script = format!(
        "wait_for_crd_established {CRD} 20 --kubeconfig {}",
        kubeconfig.display()
    );
    let mut bash = sandbox.bash(&script, false);
    let mut child = bash
        .env("KUBECONFIG", sandbox.path("no-such-kubeconfig"))
        .spawn()
        .unwrap();
    until_crd_read(&fake, 2, &mut child).await;
    assert!(running(&mut child), "the wait ended while the CRD did not exist");

    // Created as `kubectl apply` creates it, without a status: still not Established.
    crds(&fake)
        .create(
            &PostParams::default(),
            &serde_json::from_value(locusttest_crd()).unwrap(),
        )
        .await
        .unwrap();
    let reads = crd_reads(&fake);
    until_crd_read(&fake, reads + 2, &mut child).await;
    assert!(running(&mut child), "the wait ended before the CRD had conditions");

    establish(&fake).await;
    let established_at = started.elapsed();
    let finished = finish(child, started).await;
    assert_eq!(finished.code, Some(0), "{finished:?}");
    assert!(finished.took >= established_at, "{finished:?}");
    assert!(finished.stdout.contains("is Established"), "{finished:?}");
}

/// A CRD that is not found, and one that never gets conditions, are told apart on timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_crd_wait_says_when_the_crd_does_not_exist() {
    let fake = fake_api();
    let sandbox = Sandbox::with_kubectl();
    let (_server, kubeconfig) = serve(&fake, &sandbox).await;
    let started = Instant::now();
    let mut bash = sandbox.bash(&format!("wait_for_crd_established {CRD} 2"), false);
    let finished = finish(bash.env("KUBECONFIG", &kubeconfig).spawn().unwrap(), started).await;
    assert_eq!(finished.code, Some(1), "{finished:?}");
    assert!(
        finished.stderr.contains("(last seen: the CRD does not exist)"),
        "{finished:?}"
    );
}

/// kubectl's own view of the discovery the fake serves: `crd` resolves to the cluster-scoped
/// CustomResourceDefinition resource, and the object reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_resolves_the_crd_short_name_through_the_fakes_discovery() {
    let fake = fake_api();
    fake.insert(locusttest_crd());
    let sandbox = Sandbox::with_kubectl();
    let (_server, kubeconfig) = serve(&fake, &sandbox).await;
    let started = Instant::now();
    let mut bash = sandbox.bash(
        &format!("kubectl --kubeconfig {} get crd -o name", kubeconfig.display()),
        false,
    );
    let finished = finish(bash.spawn().unwrap(), started).await;
    assert_eq!(finished.code, Some(0), "{finished:?}");
    assert_eq!(
        finished.stdout,
        format!("customresourcedefinition.apiextensions.k8s.io/{CRD}\n")
    );
    let paths: Vec<String> = fake.requests().iter().map(|r| r.summary()).collect();
    for expected in [
        "GET /api",
        "GET /apis",
        "GET /apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    ] {
        assert!(paths.iter().any(|path| path == expected), "{expected} in {paths:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// wait_for_operator_ready

/// A loopback HTTP responder: 503 for the first `unready` requests, 200 after; counts them.
struct Responder {
    address: std::net::SocketAddr,
    requests: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Responder {
    async fn start(unready: usize) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut request = Vec::new();
                    let mut buffer = [0_u8; 1024];
                    // The request head, within 2 s and 16 KiB.
                    let read = tokio::time::timeout(Duration::from_secs(2), async {
                        while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                            match stream.read(&mut buffer).await {
                                Ok(0) | Err(_) => return false,
                                Ok(n) => request.extend_from_slice(&buffer[..n]),
                            }
                        }
                        true
                    })
                    .await;
                    if read != Ok(true) {
                        return;
                    }
                    let head = String::from_utf8_lossy(&request);
                    let (status, body) = if !head.starts_with("GET /readyz ") {
                        ("404 Not Found", "not found\n")
                    } else if counter.fetch_add(1, Ordering::SeqCst) < unready {
                        ("503 Service Unavailable", "not ready: watches not synced\n")
                    } else {
                        ("200 OK", "ok\n")
                    };
                    let answer = format!(
                        "HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = stream.write_all(answer.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        });
        Self {
            address,
            requests,
            task,
        }
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The operator's text-format line, coloured as tracing-subscriber colours it in a file too.
fn serving_line(address: &std::net::SocketAddr) -> String {
    format!(
        "\u{1b}[2m2026-01-01T00:00:01.000000Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m serving /healthz, /readyz and /metrics \
         \u{1b}[3maddr\u{1b}[0m\u{1b}[2m=\u{1b}[0m{address}\n"
    )
}

const LOG_START: &str = "\u{1b}[2m2026-01-01T00:00:00.000000Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m starting \
                         \u{1b}[3mversion\u{1b}[0m\u{1b}[2m=\u{1b}[0m0.1.0\n";

fn append(log: &Path, text: &str) {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new().append(true).open(log).unwrap();
    file.write_all(text.as_bytes()).unwrap();
}

/// A sandbox whose bin holds the few tools the wait uses, and no curl: PATH is only that.
fn sandbox_without_curl() -> Sandbox {
    let sandbox = Sandbox::new();
    for tool in ["sed", "grep", "head", "tail", "sleep", "mktemp", "rm", "tr"] {
        std::os::unix::fs::symlink(on_path(tool), sandbox.bin().join(tool)).unwrap();
    }
    sandbox
}

/// `wait_for_operator_ready` on a stand-in operator process (a `sleep` child of the same bash,
/// as the quickstart's operator is) logging to `log`, the stand-in killed on the way out.
fn operator_wait(sandbox: &Sandbox, log: &Path, timeout: u32, only_sandbox_path: bool) -> Command {
    sandbox.bash(
        &format!(
            "sleep 50 &\noperator_pid=$!\ntrap 'kill \"$operator_pid\" 2>/dev/null || true' EXIT\n\
             wait_for_operator_ready \"$operator_pid\" '{}' {timeout}",
            log.display()
        ),
        only_sandbox_path,
    )
}

async fn the_operator_wait_polls_readyz_until_200(sandbox: Sandbox, only_sandbox_path: bool) {
    let responder = Responder::start(3).await;
    let log = sandbox.path("operator.log");
    std::fs::write(&log, LOG_START).unwrap();

    let started = Instant::now();
    let mut child = operator_wait(&sandbox, &log, 20, only_sandbox_path).spawn().unwrap();
    // No address logged yet: nothing to ask, and it keeps waiting.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        running(&mut child),
        "the wait ended before the operator logged its address"
    );
    assert_eq!(responder.requests(), 0);

    append(&log, &serving_line(&responder.address));
    let finished = finish(child, started).await;
    assert_eq!(finished.code, Some(0), "{finished:?}");
    assert_eq!(responder.requests(), 4, "three 503s, then the 200: {finished:?}");
    assert_eq!(
        finished.stdout,
        format!("operator ready: GET http://{}/readyz answered 200\n", responder.address)
    );
    assert!(finished.took < Duration::from_secs(15), "{finished:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_wait_polls_readyz_with_curl_until_200() {
    // Without curl on PATH this runs the /dev/tcp path, as the next test does.
    the_operator_wait_polls_readyz_until_200(Sandbox::new(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_wait_polls_readyz_without_curl_until_200() {
    the_operator_wait_polls_readyz_until_200(sandbox_without_curl(), true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_wait_fails_with_the_log_when_the_operator_exits() {
    let sandbox = Sandbox::new();
    let log = sandbox.path("operator.log");
    std::fs::write(
        &log,
        format!("{LOG_START}error: cannot reach the Kubernetes API server: connection refused\n"),
    )
    .unwrap();
    let started = Instant::now();
    let script = format!(
        "(sleep 1; exit 1) &\nwait_for_operator_ready \"$!\" '{}' 20",
        log.display()
    );
    let finished = finish(sandbox.bash(&script, false).spawn().unwrap(), started).await;
    assert_eq!(finished.code, Some(1), "{finished:?}");
    assert!(
        finished
            .stderr
            .contains("error: the operator stopped before it was ready; the end of"),
        "{finished:?}"
    );
    assert!(
        finished
            .stderr
            .contains("cannot reach the Kubernetes API server: connection refused"),
        "{finished:?}"
    );
    assert!(finished.took < Duration::from_secs(10), "{finished:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_wait_gives_up_after_its_timeout_with_the_last_answer_and_the_log() {
    let responder = Responder::start(usize::MAX).await;
    let sandbox = Sandbox::new();
    let log = sandbox.path("operator.log");
    std::fs::write(&log, format!("{LOG_START}{}", serving_line(&responder.address))).unwrap();
    let started = Instant::now();
    let finished = finish(operator_wait(&sandbox, &log, 3, false).spawn().unwrap(), started).await;
    assert_eq!(finished.code, Some(1), "{finished:?}");
    assert!(
        finished.stderr.contains(&format!(
            "error: the operator is not ready after 3s (GET http://{}/readyz answered 503); the end of",
            responder.address
        )),
        "{finished:?}"
    );
    assert!(finished.stderr.contains("serving /healthz"), "{finished:?}");
    assert!(responder.requests() >= 2, "it polls: {}", responder.requests());
    assert!(finished.took >= Duration::from_secs(3), "{finished:?}");
    assert!(finished.took < Duration::from_secs(15), "{finished:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_probe_address_is_read_from_text_and_json_log_lines() {
    let sandbox = Sandbox::new();
    let address: std::net::SocketAddr = "127.0.0.1:40123".parse().unwrap();
    let files = [
        ("coloured", format!("{LOG_START}{}", serving_line(&address))),
        (
            "plain",
            "2026-01-01T00:00:01Z  INFO serving /healthz, /readyz and /metrics addr=127.0.0.1:40123\n".to_string(),
        ),
        (
            "json",
            "{\"timestamp\":\"2026-01-01T00:00:01Z\",\"level\":\"INFO\",\"fields\":{\"message\":\"serving /healthz, \
             /readyz and /metrics\",\"addr\":\"127.0.0.1:40123\"}}\n"
                .to_string(),
        ),
        ("none", LOG_START.to_string()),
    ];
    let mut script = String::new();
    for (name, text) in &files {
        std::fs::write(sandbox.path(name), text).unwrap();
        script.push_str(&format!(
            "printf '%s=%s\\n' {name} \"$(operator_probe_address '{}')\"\n",
            sandbox.path(name).display()
        ));
    }
    script.push_str(&format!(
        "printf 'missing=%s\\n' \"$(operator_probe_address '{}')\"\n",
        sandbox.path("missing").display()
    ));
    let finished = finish(sandbox.bash(&script, false).spawn().unwrap(), Instant::now()).await;
    assert_eq!(finished.code, Some(0), "{finished:?}");
    assert_eq!(
        finished.stdout,
        "coloured=127.0.0.1:40123\nplain=127.0.0.1:40123\njson=127.0.0.1:40123\nnone=\nmissing=\n"
    );
}
