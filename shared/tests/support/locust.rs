//! Runs the real `locust` as local processes and makes sure none outlives the test.

use std::fs::File;
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use shared::command::LocalEndpoints;

/// What a test says when the tool it needs is missing.
pub const LOCUST_MISSING: &str = "locust not found on PATH: install it with `pip install locust` (Locust 2.x)";

/// The `locust` executable on PATH, if any.
pub fn locust_on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("locust"))
        .find(|candidate| {
            candidate
                .metadata()
                .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        })
}

/// Free loopback ports for a master: the worker port, the one after it (older Locust releases bound
/// both; 2.47 binds only the first, but keeping it free costs nothing) and the web port. The
/// probing listeners are held together so the three ports differ.
pub fn free_local_endpoints() -> LocalEndpoints {
    for _ in 0..100 {
        let Ok(master) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(master_port) = master.local_addr().map(|address| address.port()) else {
            continue;
        };
        let Some(next_port) = master_port.checked_add(1) else {
            continue;
        };
        let Ok(_next) = TcpListener::bind((Ipv4Addr::LOCALHOST, next_port)) else {
            continue;
        };
        let Ok(web) = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)) else {
            continue;
        };
        let Ok(web_port) = web.local_addr().map(|address| address.port()) else {
            continue;
        };
        return LocalEndpoints { master_port, web_port };
    }
    panic!("no two consecutive free ports on 127.0.0.1 after 100 tries");
}

struct RunningProcess {
    name: String,
    args: Vec<String>,
    child: Child,
    log: PathBuf,
    exit: Option<ExitStatus>,
}

/// Locust processes of one test. Dropping it kills and reaps whatever still runs, so a failed
/// assertion or a panic leaves nothing behind.
pub struct LocustProcesses {
    locust: PathBuf,
    work_dir: PathBuf,
    processes: Vec<RunningProcess>,
}

impl LocustProcesses {
    /// Processes run in `work_dir` (so no `locust.conf` of the caller's cwd is picked up) and log there.
    pub fn new(locust: PathBuf, work_dir: &Path) -> Self {
        Self {
            locust,
            work_dir: work_dir.to_path_buf(),
            processes: Vec::new(),
        }
    }

    /// Starts `locust <args>` with stdout and stderr going to `<work_dir>/<name>.log`.
    pub fn spawn(&mut self, name: &str, args: &[String]) {
        self.spawn_with_env(name, args, &[]);
    }

    /// Like [`Self::spawn`], on a host named `hostname`, as a pod of that name is. Locust names
    /// each worker `<hostname>_<hex>` and the operator counts worker pods by those hostnames, but
    /// local processes all share one host: a `sitecustomize` module (Python imports it at start-up
    /// from PYTHONPATH) makes `socket.gethostname()` answer `hostname` in this process only.
    pub fn spawn_as_pod(&mut self, name: &str, hostname: &str, args: &[String]) {
        let shim = self.work_dir.join("pod-hostname");
        std::fs::create_dir_all(&shim).unwrap_or_else(|error| panic!("create {}: {error}", shim.display()));
        std::fs::write(
            shim.join("sitecustomize.py"),
            "import os, socket\n\
             _hostname = os.environ.get('POD_HOSTNAME')\n\
             if _hostname:\n    socket.gethostname = lambda: _hostname\n",
        )
        .unwrap_or_else(|error| panic!("write the hostname shim: {error}"));
        let shim = shim.display().to_string();
        self.spawn_with_env(name, args, &[("PYTHONPATH", shim.as_str()), ("POD_HOSTNAME", hostname)]);
    }

    fn spawn_with_env(&mut self, name: &str, args: &[String], env: &[(&str, &str)]) {
        let log = self.work_dir.join(format!("{name}.log"));
        let stdout = File::create(&log).unwrap_or_else(|error| panic!("create {}: {error}", log.display()));
        let stderr = stdout
            .try_clone()
            .unwrap_or_else(|error| panic!("clone log handle: {error}"));
        let mut command = Command::new(&self.locust);
        command
            .args(args)
            .current_dir(&self.work_dir)
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(stderr)
            .env("PYTHONUNBUFFERED", "1")
            .envs(env.iter().copied());
        // Locust reads LOCUST_* variables as flags; the test must see only the argv it built.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("LOCUST_") {
                command.env_remove(key);
            }
        }
        let child = command
            .spawn()
            .unwrap_or_else(|error| panic!("start {} {args:?}: {error}", self.locust.display()));
        self.processes.push(RunningProcess {
            name: name.to_string(),
            args: args.to_vec(),
            child,
            log,
            exit: None,
        });
    }

    /// Exit status of `name` if it has ended.
    pub fn exit_status(&mut self, name: &str) -> Option<ExitStatus> {
        let process = self
            .processes
            .iter_mut()
            .find(|process| process.name == name)
            .unwrap_or_else(|| panic!("no process called {name}"));
        if process.exit.is_none() {
            process.exit = process
                .child
                .try_wait()
                .unwrap_or_else(|error| panic!("wait for {name}: {error}"));
        }
        process.exit
    }

    /// Waits up to `limit` for `name` to end.
    pub fn wait_for_exit(&mut self, name: &str, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.exit_status(name) {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Every process's argv, exit status and last log lines, for failure messages.
    pub fn report(&mut self) -> String {
        let names: Vec<String> = self.processes.iter().map(|process| process.name.clone()).collect();
        for name in &names {
            self.exit_status(name);
        }
        self.processes
            .iter()
            .map(|process| {
                let status = process
                    .exit
                    .map_or_else(|| "still running".to_string(), |status| status.to_string());
                format!(
                    "--- {} ({status}): locust {}\n{}",
                    process.name,
                    process.args.join(" "),
                    log_tail(&process.log, 30)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for LocustProcesses {
    fn drop(&mut self) {
        for process in &mut self.processes {
            if process.exit.is_none() && matches!(process.child.try_wait(), Ok(None)) {
                let _ = process.child.kill();
            }
            // Reap it, so no zombie is left either.
            let _ = process.child.wait();
        }
    }
}

fn log_tail(path: &Path, lines: usize) -> String {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|error| format!("(cannot read {}: {error})", path.display()));
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
