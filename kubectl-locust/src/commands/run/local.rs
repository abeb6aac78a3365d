//! `kubectl locust run --local`: read the inputs, plan, run, report — the same progress, summary
//! and exit codes as `run --wait`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::input::read_manifest;
use crate::cli::{GlobalArgs, RunArgs};
use crate::error::PluginError;
use crate::exit;
use crate::local::plan::{self, ConfigMapFiles};
use crate::local::process::{self, free_endpoints};
use crate::local::{self, Ending, LocalRun};
use crate::output::{Palette, ProgressPrinter};
use crate::render::progress;
use crate::submission::{self, Submission};

/// How often the local master's stats are read and progress is shown.
const POLL: Duration = Duration::from_secs(1);

/// The test and ConfigMaps `run` would submit, from `--locustfile` or `-f`.
fn read_submission(args: &RunArgs, namespace: &str) -> Result<Submission, PluginError> {
    match &args.filename {
        Some(path) => {
            let (text, source) = read_manifest(path)?;
            submission::from_manifest(&text, &source, args.name.as_deref(), namespace)
        }
        None => submission::from_locustfile(args, namespace),
    }
}

pub async fn execute(global: &GlobalArgs, args: &RunArgs) -> Result<u8, PluginError> {
    crate::tui::app::require_terminal(args.tui)?;
    let palette = Palette::new(global.color);
    let namespace = global.namespace.clone().unwrap_or_else(|| "default".to_string());
    let submission = read_submission(args, &namespace)?;
    let mut config_maps: BTreeMap<String, ConfigMapFiles> = plan::files_of(&submission.config_maps);
    for (name, path) in &args.configmaps {
        config_maps.insert(name.clone(), submission::read_flat_dir(path)?);
    }
    let version = process::check_locust(&args.locust).await?;
    let endpoints = free_endpoints()?;
    let work_dir = tempfile::Builder::new()
        .prefix("kubectl-locust-")
        .tempdir()
        .map_err(|error| PluginError::Other(format!("cannot create a work directory: {error}")))?;
    let plan = plan::plan(&submission.test, &config_maps, endpoints, work_dir.path())?;
    for line in &plan.unavailable {
        eprintln!("{} not available locally: {line}", palette.yellow("warning:"));
    }
    let name = submission.test.metadata.name.clone().unwrap_or_default();
    eprintln!(
        "Running {name} locally with Locust {}.{}.{}: master + {} worker(s) on 127.0.0.1, web UI http://127.0.0.1:{}",
        version.0,
        version.1,
        version.2,
        plan.workers.len(),
        endpoints.web_port
    );

    if args.tui {
        return run_in_tui(submission.test, &plan, args, work_dir, endpoints.web_port).await;
    }
    let mut printer = ProgressPrinter::for_stderr();
    let interrupt = async {
        // Without a signal handler, waiting forever is right: the deadline or the test ends it.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let result = local::run(
        submission.test,
        &plan,
        &args.locust,
        work_dir.path(),
        endpoints.web_port,
        args.timeout,
        POLL,
        interrupt,
        |test| {
            let content = progress::progress_content(test, palette);
            printer.show(&content, &progress::progress_line(test, palette, Timestamp::now()));
        },
    )
    .await;
    printer.finish();
    let run = result?;
    report(run, palette, args, work_dir)
}

/// The local run feeding the live view; leaving the view stops the run.
async fn run_in_tui(
    test: shared::api::v2::LocustTest,
    plan: &plan::LocalPlan,
    args: &RunArgs,
    work_dir: tempfile::TempDir,
    web_port: u16,
) -> Result<u8, PluginError> {
    let title = test.metadata.name.clone().unwrap_or_default();
    let (sender, updates) = tokio::sync::mpsc::channel(8);
    let (left_view, view_closed) = tokio::sync::oneshot::channel::<()>();
    let view = async {
        let code = crate::commands::tui::follow_feed(&title, updates, args.timeout).await;
        let _ = left_view.send(());
        code
    };
    let interrupt = async {
        let _ = view_closed.await;
    };
    let run = local::run(
        test,
        plan,
        &args.locust,
        work_dir.path(),
        web_port,
        None,
        POLL,
        interrupt,
        |test| {
            // A full channel only delays the view by one reading; never block the supervisor.
            let _ = sender.try_send(crate::tui::state::Update::Test(Box::new(test.clone())));
        },
    );
    let (code, run) = tokio::join!(view, run);
    let code = code?;
    let run = run?;
    if run.ending == Ending::Finished {
        let report = save_report(&run)?;
        println!(
            "{}",
            progress::summary_with_report(
                &run.test,
                Palette::new(crate::cli::ColorChoice::Auto),
                Some(&report),
                "the logs in the work directory"
            )
        );
        return Ok(progress::exit_code(run.test.status.as_ref().and_then(|s| s.phase)).unwrap_or(code));
    }
    Ok(code)
}

/// Writes Locust's report of the run into `./<name>-report/`; the summary's line saying where,
/// or why there is none.
fn save_report(run: &LocalRun) -> Result<String, PluginError> {
    let Some(saved) = &run.report else {
        return Ok(
            "  report     none: the master quit before it reported that it had stopped (a longer --autoquit, \
             e.g. 10, leaves time to read it)"
                .to_string(),
        );
    };
    let name = run.test.metadata.name.as_deref().unwrap_or("local");
    let dir = PathBuf::from(format!("{name}-report"));
    std::fs::create_dir_all(&dir).map_err(|error| PluginError::File {
        path: dir.clone(),
        detail: format!("cannot create the report directory: {error}"),
    })?;
    for (file, content) in &saved.files {
        let path = dir.join(file);
        std::fs::write(&path, content).map_err(|error| PluginError::File {
            path: path.clone(),
            detail: format!("cannot write the report: {error}"),
        })?;
    }
    let written: Vec<&str> = saved.files.iter().map(|(file, _)| file.as_str()).collect();
    let mut line = format!("  report     ./{}/ ({})", dir.display(), written.join(", "));
    if !saved.missing.is_empty() {
        line.push_str(&format!("; not read: {}", saved.missing.join("; ")));
    }
    Ok(line)
}

fn report(run: LocalRun, palette: Palette, args: &RunArgs, work_dir: tempfile::TempDir) -> Result<u8, PluginError> {
    let logs_hint = "the process output above, and the logs in the work directory";
    match run.ending {
        Ending::Interrupted => {
            eprintln!("interrupted: every local Locust process was stopped");
            return Ok(exit::INTERRUPTED);
        }
        Ending::TimedOut => {
            let limit = args
                .timeout
                .map(|t| humantime::format_duration(t).to_string())
                .unwrap_or_default();
            eprintln!("timed out after {limit}: every local Locust process was stopped");
            return Ok(exit::TIMEOUT);
        }
        Ending::Finished => {}
    }
    let report = save_report(&run)?;
    let hint = if progress::failed_by_thresholds(&run.test) && run.report.is_some() {
        // Locust ran fine: which requests were slow or failed is in its report.
        "report.html in the report folder shows which requests were slow or failed"
    } else {
        logs_hint
    };
    println!(
        "{}",
        progress::summary_with_report(&run.test, palette, Some(&report), hint)
    );
    if let Some(failed) = &run.failed_process {
        // Keep the logs of a failed run for a closer look.
        let kept = work_dir.keep();
        eprintln!("last lines of {}:", failed.name);
        for line in &failed.last_lines {
            eprintln!("  | {line}");
        }
        let log = kept.join(failed.log.strip_prefix(&kept).unwrap_or(Path::new(&failed.log)));
        eprintln!("whole log: {}", log.display());
    }
    let phase = run.test.status.as_ref().and_then(|s| s.phase);
    Ok(progress::exit_code(phase).unwrap_or(exit::ERROR))
}
