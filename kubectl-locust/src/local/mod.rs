//! The processes the operator would run for a test, started and supervised on this machine.
//!
//! `plan` decides what to start (pure), `status` what to report (pure), `process` does the I/O;
//! `commands::run::local` is the command around them.

pub mod plan;
pub mod process;
pub mod status;

use std::path::Path;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use shared::api::v2::{LocustTest, LocustTestStatus};

use self::plan::LocalPlan;
use self::process::{Processes, StatsReader};
use self::status::{LocalObservation, ProcessState};
use crate::error::PluginError;
use shared::report::ReportFiles;

/// How a local run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ending {
    /// Succeeded or Failed: see the test's phase.
    Finished,
    TimedOut,
    Interrupted,
}

/// The result of a local run: the test with its final status, how it ended, and the last lines of
/// the process that failed it (with where its whole log is).
pub struct LocalRun {
    pub test: LocustTest,
    pub ending: Ending,
    pub failed_process: Option<FailedProcess>,
    /// Locust's report, read when the master said it had stopped; `None` when it never did.
    pub report: Option<ReportFiles>,
}

pub struct FailedProcess {
    pub name: String,
    pub last_lines: Vec<String>,
    pub log: std::path::PathBuf,
}

/// How long workers get to leave on their own after the master ended.
const WORKER_GRACE: Duration = Duration::from_secs(10);

/// Writes the plan's files, starts master and workers, and reports a status to `on_update` every
/// `poll` until the test ends, `timeout` passes or `interrupt` resolves. Every process is stopped
/// and reaped before this returns.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    mut test: LocustTest,
    plan: &LocalPlan,
    locust: &Path,
    work_dir: &Path,
    web_port: u16,
    timeout: Option<Duration>,
    poll: Duration,
    interrupt: impl std::future::Future<Output = ()>,
    mut on_update: impl FnMut(&LocustTest),
) -> Result<LocalRun, PluginError> {
    for (path, content) in &plan.files {
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(path, content));
        written.map_err(|error| PluginError::File {
            path: path.clone(),
            detail: error.to_string(),
        })?;
    }
    let mut processes = Processes::new(locust, work_dir);
    let mut report = None;
    let result = supervise(
        &mut test,
        plan,
        &mut processes,
        web_port,
        Limits { timeout, poll },
        interrupt,
        &mut on_update,
        &mut report,
    )
    .await;
    // Whatever happened, nothing outlives the run: workers get a moment to leave after a master
    // that ended by itself, everything else is killed at once.
    let grace = match &result {
        Ok(Ending::Finished) if matches!(processes.poll().first(), Some((_, ProcessState::Exited(_)))) => WORKER_GRACE,
        _ => Duration::ZERO,
    };
    processes.stop_all(grace).await;
    let ending = result?;
    let failed_process = failed_process(&test, &mut processes);
    Ok(LocalRun {
        test,
        ending,
        failed_process,
        report,
    })
}

/// How long a run may take, and how often it is looked at.
struct Limits {
    timeout: Option<Duration>,
    poll: Duration,
}

#[allow(clippy::too_many_arguments)]
async fn supervise(
    test: &mut LocustTest,
    plan: &LocalPlan,
    processes: &mut Processes,
    web_port: u16,
    Limits { timeout, poll }: Limits,
    interrupt: impl std::future::Future<Output = ()>,
    on_update: &mut impl FnMut(&LocustTest),
    saved: &mut Option<ReportFiles>,
) -> Result<Ending, PluginError> {
    let started = Timestamp::now();
    processes.spawn(&plan.master)?;
    for worker in &plan.workers {
        processes.spawn(worker)?;
    }
    let reader = StatsReader::new(web_port)?;
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut observation = LocalObservation::default();
    tokio::pin!(interrupt);
    loop {
        let states = processes.poll();
        let mut states = states.into_iter();
        observation.master = states.next().map(|(_, state)| state);
        observation.workers = states.collect();
        if observation.master == Some(ProcessState::Running)
            && let Some(report) = reader.read().await
        {
            // Locust has stopped and quits after its autoquit window: its report now, once.
            if report.has_stopped() && saved.is_none() {
                *saved = Some(reader.read_report().await);
            }
            observation.report = Some(report);
            observation.answered_at.get_or_insert_with(Timestamp::now);
        }
        let previous = test.status.clone().unwrap_or_default();
        let mut status: LocustTestStatus = status::synthesize(
            &previous,
            &observation,
            plan.expected_workers,
            started,
            Timestamp::now(),
        );
        let finished = status.phase.is_some_and(|phase| phase.is_terminal());
        if finished && let Some(limits) = &test.spec.thresholds {
            // Checked once, on the master's last statistics, as the operator does.
            status::conclude_thresholds(&mut status, limits, observation.report.as_ref(), Timestamp::now());
        }
        test.status = Some(status);
        on_update(test);
        if finished {
            return Ok(Ending::Finished);
        }
        let sleep = tokio::time::sleep(poll);
        let until_deadline = async {
            match deadline {
                Some(deadline) => tokio::time::sleep_until(deadline).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = sleep => {}
            () = &mut interrupt => return Ok(Ending::Interrupted),
            () = until_deadline => return Ok(Ending::TimedOut),
        }
    }
}

/// The process whose exit failed the test, with its last output.
fn failed_process(test: &LocustTest, processes: &mut Processes) -> Option<FailedProcess> {
    let states = processes.poll();
    let observation = LocalObservation {
        master: states.first().map(|(_, state)| state.clone()),
        workers: states.iter().skip(1).cloned().collect(),
        ..LocalObservation::default()
    };
    status::failure(&observation)?;
    if test.status.as_ref()?.phase != Some(shared::api::v2::Phase::Failed) {
        return None;
    }
    let name = match observation.master {
        Some(ProcessState::Exited(Some(0))) | Some(ProcessState::Running) | None => observation
            .workers
            .iter()
            .find(|(_, state)| matches!(state, ProcessState::Exited(code) if *code != Some(0)))
            .map(|(name, _)| name.clone())?,
        Some(ProcessState::Exited(_)) => "master".to_string(),
    };
    let (last_lines, log) = processes.last_lines(&name)?;
    Some(FailedProcess { name, last_lines, log })
}
