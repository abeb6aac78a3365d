//! The harness the plugin's binary tests share: the real `kubectl-locust`, isolated from this
//! machine's own cluster setup, and the in-memory API server on 127.0.0.1 with a kubeconfig.

// Test support: a broken fixture should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use fake_api::{FakeApi, HttpServer};
use k8s_openapi::jiff::Timestamp;
use tokio::process::{Child, Command};

pub const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-locust");
/// The namespace of the kubeconfig's context.
pub const NS: &str = "load";
/// Longest any plugin run may take before the test fails instead of hanging.
pub const CHILD_LIMIT: Duration = Duration::from_secs(60);

/// What a finished plugin run left.
pub struct Finished {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Finished {
    pub fn both(&self) -> String {
        format!("--- stdout\n{}--- stderr\n{}", self.stdout, self.stderr)
    }

    /// Fails, showing both streams, unless standard error contains `needle`.
    #[track_caller]
    pub fn assert_stderr_has(&self, needle: impl AsRef<str>) {
        assert!(self.stderr.contains(needle.as_ref()), "{}", self.both());
    }

    /// Fails, showing both streams, unless standard output contains `needle`.
    #[track_caller]
    pub fn assert_stdout_has(&self, needle: impl AsRef<str>) {
        assert!(self.stdout.contains(needle.as_ref()), "{}", self.both());
    }
}

/// The plugin with a HOME of its own and no kubeconfig but what the arguments give: nothing of
/// the machine's own cluster setup can leak in. Colour off, fast polling, output captured.
pub fn plugin(home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(PLUGIN);
    command
        .args(args)
        .env("HOME", home)
        .env("KUBECONFIG", home.join("no-such-kubeconfig"))
        .env("NO_COLOR", "1")
        .env("KUBECTL_LOCUST_POLL_INTERVAL", "100ms")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// Waits for `child` within [`CHILD_LIMIT`].
pub async fn finish(child: Child) -> Finished {
    let output = tokio::time::timeout(CHILD_LIMIT, child.wait_with_output())
        .await
        .expect("the plugin ends within the limit")
        .expect("the plugin's output is readable");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// The in-memory API server on 127.0.0.1 and a kubeconfig (namespace [`NS`]) pointing at it.
pub struct Cluster {
    pub fake: FakeApi,
    _server: HttpServer,
    pub home: tempfile::TempDir,
    pub kubeconfig: PathBuf,
    workdir: Option<PathBuf>,
}

impl Cluster {
    /// Started with the fake's clock at 2026-11-22T10:00:00Z.
    pub async fn start() -> Self {
        Self::start_at("2026-11-22T10:00:00Z".parse().unwrap()).await
    }

    pub async fn start_at(now: Timestamp) -> Self {
        let fake = FakeApi::new(now);
        let server = fake.serve_http().await.unwrap();
        let home = tempfile::tempdir().unwrap();
        let kubeconfig = home.path().join("kubeconfig");
        std::fs::write(&kubeconfig, server.kubeconfig(NS)).unwrap();
        Self {
            fake,
            _server: server,
            home,
            kubeconfig,
            workdir: None,
        }
    }

    /// Runs the plugin in `dir` (relative paths in arguments are read from there).
    pub fn in_dir(mut self, dir: PathBuf) -> Self {
        self.workdir = Some(dir);
        self
    }

    /// The plugin, isolated ([`plugin`]), with `--kubeconfig` for this server.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = plugin(self.home.path(), args);
        command.arg("--kubeconfig").arg(&self.kubeconfig);
        if let Some(dir) = &self.workdir {
            command.current_dir(dir);
        }
        command
    }

    pub async fn run(&self, args: &[&str]) -> Finished {
        finish(self.command(args).spawn().unwrap()).await
    }
}
