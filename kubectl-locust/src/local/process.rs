//! Local `locust` processes: start them, watch them, read the master's stats, stop them all.
//!
//! Each child runs in its own process group, so a Ctrl-C at the terminal reaches only the plugin,
//! which then stops every child itself (and reaps it) — no process is left behind on any path.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shared::command::LocalEndpoints;
use shared::report::ReportFiles;
use shared::stats::RequestsReport;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

use super::plan::ProcessSpec;
use super::status::ProcessState;
use crate::error::PluginError;

/// The oldest Locust whose flags and `/stats/requests` the plan relies on.
pub const MIN_LOCUST: (u32, u32) = (2, 20);

const INSTALL_HINT: &str = "install it with `pip install 'locust>=2.20'` (or `pipx install locust`), \
     or point --locust at the executable";

/// Lines of each process's output kept for error reports.
const TAIL_LINES: usize = 20;

/// `locust --version` says which release; too old or missing gets what to do.
pub async fn check_locust(locust: &Path) -> Result<(u32, u32, u32), PluginError> {
    let output = Command::new(locust)
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => PluginError::Other(format!(
                "`{}` was not found: Locust is not installed (or not on PATH); {INSTALL_HINT}",
                locust.display()
            )),
            _ => PluginError::Other(format!(
                "cannot run `{} --version`: {error}; {INSTALL_HINT}",
                locust.display()
            )),
        })?;
    let text = String::from_utf8_lossy(&output.stdout).to_string() + &String::from_utf8_lossy(&output.stderr);
    let version = parse_version(&text).ok_or_else(|| {
        PluginError::Other(format!(
            "`{} --version` did not print a Locust version ({}); {INSTALL_HINT}",
            locust.display(),
            text.trim()
        ))
    })?;
    if (version.0, version.1) < MIN_LOCUST {
        return Err(PluginError::Other(format!(
            "Locust {}.{}.{} is too old: run --local needs {}.{} or newer; upgrade with `pip install -U 'locust>=2.20'`",
            version.0, version.1, version.2, MIN_LOCUST.0, MIN_LOCUST.1
        )));
    }
    Ok(version)
}

/// The version in `locust 2.47.0 from /path (Python 3.11.7)`.
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let word = text
        .split_whitespace()
        .skip_while(|word| !word.eq_ignore_ascii_case("locust"))
        .nth(1)?;
    let mut parts = word.split(|c: char| !c.is_ascii_digit()).filter(|p| !p.is_empty());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    let patch = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor, patch))
}

/// Free loopback ports for the master's worker port and its web UI. The probing listeners are
/// held together so the ports differ; the one after the worker port is kept free too (older
/// Locust releases bound it).
pub fn free_endpoints() -> Result<LocalEndpoints, PluginError> {
    for _ in 0..100 {
        let Ok(master) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(master_port) = master.local_addr().map(|a| a.port()) else {
            continue;
        };
        let Some(next) = master_port.checked_add(1) else {
            continue;
        };
        let Ok(_next) = TcpListener::bind((Ipv4Addr::LOCALHOST, next)) else {
            continue;
        };
        let Ok(web) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(web_port) = web.local_addr().map(|a| a.port()) else {
            continue;
        };
        return Ok(LocalEndpoints { master_port, web_port });
    }
    Err(PluginError::Other(
        "no free ports on 127.0.0.1 for the Locust master".into(),
    ))
}

struct Running {
    name: String,
    child: Child,
    state: ProcessState,
    tail: Arc<Mutex<VecDeque<String>>>,
    log: PathBuf,
}

/// The master and workers of one local run.
pub struct Processes {
    locust: PathBuf,
    work_dir: PathBuf,
    running: Vec<Running>,
}

impl Processes {
    pub fn new(locust: &Path, work_dir: &Path) -> Self {
        Self {
            locust: locust.to_path_buf(),
            work_dir: work_dir.to_path_buf(),
            running: Vec::new(),
        }
    }

    /// Starts one process; its output goes to `<work_dir>/logs/<name>.log` and a short tail.
    pub fn spawn(&mut self, spec: &ProcessSpec) -> Result<(), PluginError> {
        let logs = self.work_dir.join("logs");
        std::fs::create_dir_all(&logs).map_err(|error| PluginError::File {
            path: logs.clone(),
            detail: error.to_string(),
        })?;
        let log = logs.join(format!("{}.log", spec.name));
        let mut command = Command::new(&self.locust);
        command
            .args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            // The work directory holds no locust.conf, so only the planned flags apply.
            .current_dir(&self.work_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|error| {
            PluginError::Other(format!(
                "cannot start `{} {}`: {error}",
                self.locust.display(),
                spec.name
            ))
        })?;
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stdout) = child.stdout.take() {
            tokio::spawn(collect(stdout, tail.clone(), log.clone()));
        }
        if let Some(stderr) = child.stderr.take() {
            tokio::spawn(collect(stderr, tail.clone(), log.clone()));
        }
        self.running.push(Running {
            name: spec.name.clone(),
            child,
            state: ProcessState::Running,
            tail,
            log,
        });
        Ok(())
    }

    /// Each process's state now (master first, as started).
    pub fn poll(&mut self) -> Vec<(String, ProcessState)> {
        for process in &mut self.running {
            if process.state == ProcessState::Running
                && let Ok(Some(status)) = process.child.try_wait()
            {
                process.state = ProcessState::Exited(status.code());
            }
        }
        self.running.iter().map(|p| (p.name.clone(), p.state.clone())).collect()
    }

    /// The last lines `name` printed, and where its whole log is.
    pub fn last_lines(&self, name: &str) -> Option<(Vec<String>, PathBuf)> {
        let process = self.running.iter().find(|p| p.name == name)?;
        let lines = process
            .tail
            .lock()
            .map(|tail| tail.iter().cloned().collect())
            .unwrap_or_default();
        Some((lines, process.log.clone()))
    }

    /// Waits up to `grace` for every process to exit on its own (workers quit when the master
    /// does), then kills and reaps the rest.
    pub async fn stop_all(&mut self, grace: Duration) {
        let deadline = tokio::time::Instant::now() + grace;
        for process in &mut self.running {
            if process.state != ProcessState::Running {
                continue;
            }
            let status = match tokio::time::timeout_at(deadline, process.child.wait()).await {
                Ok(Ok(status)) => Some(status),
                _ => {
                    let _ = process.child.start_kill();
                    process.child.wait().await.ok()
                }
            };
            process.state = ProcessState::Exited(status.and_then(|s| s.code()));
        }
    }

    /// Process ids still running (for tests and diagnostics).
    pub fn live_pids(&self) -> Vec<u32> {
        self.running
            .iter()
            .filter(|p| p.state == ProcessState::Running)
            .filter_map(|p| p.child.id())
            .collect()
    }
}

async fn collect(stream: impl AsyncRead + Unpin, tail: Arc<Mutex<VecDeque<String>>>, log: PathBuf) {
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .await
        .ok();
    let mut lines = BufReader::new(stream).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(file) = file.as_mut() {
            let _ = file.write_all(format!("{line}\n").as_bytes()).await;
        }
        if let Ok(mut tail) = tail.lock() {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

/// Reads the master's `/stats/requests`; `None` while it does not answer (starting, or gone).
pub struct StatsReader {
    reader: connect::stats::Reader,
}

impl StatsReader {
    /// A reader of the local master whose web UI listens on `web_port`.
    pub fn new(web_port: u16) -> Result<Self, PluginError> {
        let access = connect::stats::Access::Direct(format!("http://127.0.0.1:{web_port}"));
        Ok(Self {
            reader: connect::stats::Reader::new(access, STATS_TIMEOUT, STATS_TIMEOUT),
        })
    }

    /// The master's latest report.
    pub async fn read(&self) -> Option<RequestsReport> {
        // Any namespace and name: a direct reader reads the one address it was given.
        self.reader.fetch("local", "local").await.ok()
    }

    /// Locust's report files, read from the master as the operator reads them once Locust has
    /// stopped (`shared::report`): each file, or why it could not be read.
    pub async fn read_report(&self) -> ReportFiles {
        self.reader.fetch_report_files("local", "local").await
    }
}

/// How long one read of the local master may take.
const STATS_TIMEOUT: Duration = Duration::from_secs(2);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_locusts_banner() {
        assert_eq!(
            parse_version("locust 2.47.0 from /usr/lib/python3/site-packages/locust (Python 3.11.7)"),
            Some((2, 47, 0))
        );
        assert_eq!(parse_version("locust 2.20.1.dev12"), Some((2, 20, 1)));
        assert_eq!(parse_version("Python 3.11"), None);
        assert!((2, 19) < MIN_LOCUST && (2, 47) >= MIN_LOCUST);
    }
}
