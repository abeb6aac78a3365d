//! The real `operator` binary, started the way `main` wires it, against the in-memory API server
//! served over loopback HTTP: what a kubelet (probes), a user (exit codes, logs) and the API
//! server (leases, requests) would see of it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fake_api::HttpServer;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

/// How long the operator may take to say where its probes listen.
const STARTUP_LIMIT: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(50);
const IO_TIMEOUT: Duration = Duration::from_secs(2);

/// A running operator process; killed when dropped.
pub struct OperatorProcess {
    child: Child,
    /// Every line it wrote to stdout or stderr, in arrival order per stream.
    lines: Arc<Mutex<Vec<String>>>,
    /// Where `/healthz`, `/readyz` and `/metrics` answer.
    pub health: SocketAddr,
    _dir: tempfile::TempDir,
}

fn collect_lines(stream: impl AsyncRead + Unpin + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            into.lock().unwrap().push(line);
        }
    });
}

impl OperatorProcess {
    /// Starts the operator with a kubeconfig pointing at `server`, JSON logs, the probes on a
    /// free loopback port, and `args`; its environment holds only `env` (and HOME). Returns once
    /// it logged where the probes listen (panics with its output if it exits or says nothing).
    pub async fn start(server: &HttpServer, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_binary(Path::new(env!("CARGO_BIN_EXE_operator")), server, args, env).await
    }

    /// As [`OperatorProcess::start`], running the operator binary at `binary`.
    pub async fn start_binary(binary: &Path, server: &HttpServer, args: &[&str], env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig: PathBuf = dir.path().join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig("locust-system")).unwrap();
        let mut command = Command::new(binary);
        command
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(["--log-format", "json", "--health-probe-bind-address", "127.0.0.1:0"])
            .args(args)
            .env_clear()
            .env("HOME", dir.path())
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        collect_lines(child.stdout.take().unwrap(), lines.clone());
        collect_lines(child.stderr.take().unwrap(), lines.clone());
        let mut process = Self {
            child,
            lines,
            health: SocketAddr::from(([127, 0, 0, 1], 0)),
            _dir: dir,
        };
        let started = Instant::now();
        loop {
            if let Some(addr) = process
                .log_field("serving /healthz, /readyz and /metrics", "addr")
                .and_then(|addr| addr.as_str().and_then(|addr| addr.parse().ok()))
            {
                process.health = addr;
                return process;
            }
            if let Ok(Some(status)) = process.child.try_wait() {
                panic!(
                    "the operator exited ({status}) before serving its probes:\n{}",
                    process.output()
                );
            }
            assert!(
                started.elapsed() < STARTUP_LIMIT,
                "the operator did not serve its probes within {STARTUP_LIMIT:?}:\n{}",
                process.output()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The JSON log lines whose message is `message`.
    pub fn logged(&self, message: &str) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|entry| entry["fields"]["message"] == message)
            .collect()
    }

    /// Waits (bounded) until a log line says `message`.
    pub async fn wait_logged(&mut self, message: &str, within: Duration) {
        let started = Instant::now();
        while self.logged(message).is_empty() {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the operator exited ({status}) before logging {message:?}:\n{}",
                    self.output()
                );
            }
            assert!(
                started.elapsed() < within,
                "the operator did not log {message:?} within {within:?}:\n{}",
                self.output()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// A field of the first log line whose message is `message`.
    pub fn log_field(&self, message: &str, field: &str) -> Option<Value> {
        self.logged(message)
            .into_iter()
            .next()
            .map(|entry| entry["fields"][field].clone())
    }

    /// Log lines at `level` (`"WARN"`, `"ERROR"`), as they were printed.
    pub fn lines_at(&self, level: &str) -> Vec<String> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter(|line| serde_json::from_str::<Value>(line).is_ok_and(|entry| entry["level"] == level))
            .cloned()
            .collect()
    }

    /// One GET on the probe port: the status code and body, or None when nothing answers.
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        http_get(self.health, path).await
    }

    /// Polls `/readyz` until it answers 200; how long that took. Panics (with the operator's
    /// output) if it exits or `within` passes first.
    pub async fn wait_ready(&mut self, within: Duration) -> Duration {
        let started = Instant::now();
        let mut last = None;
        loop {
            if let Some((status, body)) = self.get("/readyz").await {
                if status == 200 {
                    return started.elapsed();
                }
                last = Some(format!("{status} {body}"));
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the operator exited ({status}) before it was ready:\n{}", self.output());
            }
            assert!(
                started.elapsed() < within,
                "/readyz did not answer 200 within {within:?} (last answer: {last:?}):\n{}",
                self.output()
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("still running")
    }

    /// Whether the process still runs.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends SIGTERM, as the kubelet does to stop a pod.
    pub async fn terminate(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let status = Command::new("kill").args(["-TERM", &pid]).status().await.unwrap();
        assert!(status.success(), "kill -TERM {pid} failed");
    }

    /// Kills it with SIGKILL (a node failure, an OOM kill): nothing runs on its way out.
    pub async fn kill(&mut self) {
        self.child.start_kill().unwrap();
        self.child.wait().await.unwrap();
    }

    /// Waits (bounded) for it to exit by itself.
    pub async fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(status) => status.unwrap(),
            Err(_) => panic!("the operator did not exit within {within:?}:\n{}", self.output()),
        }
    }
}

/// A minimal HTTP/1.0 GET on a loopback address: status and body, or None when nothing answers.
pub async fn http_get(addr: SocketAddr, path: &str) -> Option<(u16, String)> {
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
        let request = format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await.ok()?;
        let text = String::from_utf8_lossy(&answer).into_owned();
        let (head, body) = text.split_once("\r\n\r\n")?;
        let status = head.split_whitespace().nth(1)?.parse().ok()?;
        Some((status, body.to_string()))
    };
    tokio::time::timeout(IO_TIMEOUT, exchange).await.ok().flatten()
}
