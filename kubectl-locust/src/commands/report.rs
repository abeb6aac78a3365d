//! `kubectl locust report NAME`: Locust's final report of a finished test, read back from the
//! ConfigMap the operator saved it in (`shared::report`), written to a file or standard output;
//! `--compare OTHER` sets two runs' final statistics side by side.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use serde_json::{Value, json};
use shared::api::status::conditions;
use shared::api::v2::{LocustTest, Phase};
use shared::report::{self, FAILURES_CSV_FILE, HTML_FILE, REQUESTS_CSV_FILE, STATS_JSON_FILE};
use shared::stats::RequestsReport;

use crate::cli::{GlobalArgs, ReportArgs, ReportFormat};
use crate::client::Cluster;
use crate::error::PluginError;
use crate::exit;
use crate::render::compare;

/// How long a browser opener may take to hand the file over.
const OPENER_TIMEOUT: Duration = Duration::from_secs(10);

pub async fn execute(global: &GlobalArgs, args: ReportArgs) -> Result<u8, PluginError> {
    check_combinations(&args)?;
    let cluster = Cluster::connect(global).await?;
    if let Some(base) = &args.compare {
        let new = final_stats(&cluster, &args.name).await?;
        let old = final_stats(&cluster, base).await?;
        println!("{}", compare::compare(base, &old, &args.name, &new));
        return Ok(exit::OK);
    }
    let test = cluster.get_test(&args.name).await?;
    let files = saved_files(&cluster, &test).await?;
    let name = args.name.as_str();
    let stdout = args.output_file.as_deref() == Some(Path::new("-"));
    let chosen = |default: String| args.output_file.clone().unwrap_or_else(|| PathBuf::from(default));
    match args.output {
        ReportFormat::Html => {
            let html = file(&files, &test, HTML_FILE)?;
            if stdout {
                return write_stdout(html);
            }
            let path = chosen(format!("{name}-report.html"));
            save(&path, html, "Locust's HTML report")?;
            if args.open {
                open_in_browser(&path).await;
            }
        }
        ReportFormat::Csv => {
            let requests = file(&files, &test, REQUESTS_CSV_FILE)?;
            if stdout {
                eprintln!(
                    "note: standard output holds {REQUESTS_CSV_FILE} only; without --output-file, \
                     {FAILURES_CSV_FILE} is saved too (./{name}-failures.csv)"
                );
                return write_stdout(requests);
            }
            let path = chosen(format!("{name}-requests.csv"));
            save(&path, requests, "statistics per endpoint")?;
            let failures_path = failures_beside(&path);
            save(&failures_path, file(&files, &test, FAILURES_CSV_FILE)?, "failures")?;
        }
        ReportFormat::Json => {
            let stats = file(&files, &test, STATS_JSON_FILE)?;
            let document = json_document(&test, stats)?;
            let text = serde_json::to_string_pretty(&document)
                .map_err(|error| PluginError::Other(format!("cannot write JSON: {error}")))?
                + "\n";
            if stdout {
                return write_stdout(text.as_bytes());
            }
            save(
                &chosen(format!("{name}-report.json")),
                text.as_bytes(),
                "final statistics and thresholds verdict",
            )?;
        }
    }
    Ok(exit::OK)
}

/// Flags that mean nothing together, said before anything is read.
fn check_combinations(args: &ReportArgs) -> Result<(), PluginError> {
    if args.compare.is_some() && args.output != ReportFormat::Html {
        return Err(PluginError::Usage(
            "--compare prints a table of both runs' final statistics; -o saves one run's report: drop one of them"
                .into(),
        ));
    }
    if args.open && args.output != ReportFormat::Html {
        return Err(PluginError::Usage(
            "--open opens the HTML report in a browser; drop -o or --open".into(),
        ));
    }
    if args.open && args.output_file.as_deref() == Some(Path::new("-")) {
        return Err(PluginError::Usage(
            "--open needs the report in a file, not on standard output: drop --output-file - or --open".into(),
        ));
    }
    Ok(())
}

/// The files of `test`'s saved report, or why there are none and what to do.
async fn saved_files(cluster: &Cluster, test: &LocustTest) -> Result<BTreeMap<String, Vec<u8>>, PluginError> {
    let name = test.metadata.name.as_deref().unwrap_or_default();
    let namespace = cluster.namespace.as_str();
    let status = test.status.clone().unwrap_or_default();
    let statistics = format!("its final statistics are in `kubectl locust status {name} -n {namespace}`");
    if let Some(recorded) = &status.report
        && recorded.config_map.is_none()
    {
        let why = recorded.message.as_deref().unwrap_or("no reason was given");
        return Err(PluginError::Other(format!(
            "the operator could not save the report of {name}: {why}\n  next: {statistics}"
        )));
    }
    let config_map = status
        .report
        .as_ref()
        .and_then(|recorded| recorded.config_map.clone())
        .unwrap_or_else(|| report::config_map_name(name));
    let api: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), namespace);
    let found = api
        .get_opt(&config_map)
        .await
        .map_err(|error| cluster.translate(error, "get", "configmaps", false))?;
    let Some(found) = found else {
        return Err(PluginError::Other(no_report(test, &config_map, namespace)));
    };
    report::unpack(&found).map_err(|why| {
        PluginError::Other(format!(
            "ConfigMap {config_map} does not hold a readable report: {why}\n  next: {statistics}"
        ))
    })
}

/// Why test `test` has no report in ConfigMap `config_map`, and what to do.
fn no_report(test: &LocustTest, config_map: &str, namespace: &str) -> String {
    let name = test.metadata.name.as_deref().unwrap_or_default();
    let status = test.status.clone().unwrap_or_default();
    let statistics = format!("its final statistics are in `kubectl locust status {name} -n {namespace}`");
    if status.report.is_some() {
        return format!(
            "the report of {name} was saved in ConfigMap {config_map}, which no longer exists (it was deleted)\n  \
             next: {statistics}; run the test again for a new report"
        );
    }
    match status.phase {
        Some(phase @ Phase::Succeeded) | Some(phase @ Phase::Failed) => format!(
            "{name} ended ({}) without a saved report: the operator saves one when Locust stops, so a test \
             whose master ended before that, or that ran under an operator from before reports existed, has none\n  \
             next: {statistics}; run it again for a report",
            phase.as_str()
        ),
        phase => format!(
            "{name} has not finished ({}): the report is saved when Locust stops\n  \
             next: `kubectl locust status {name} -n {namespace} -w` shows when it ends; then run this again",
            phase.map_or("no status yet", Phase::as_str)
        ),
    }
}

/// One file of the report, or what was left out and why.
fn file<'a>(files: &'a BTreeMap<String, Vec<u8>>, test: &LocustTest, wanted: &str) -> Result<&'a [u8], PluginError> {
    if let Some(content) = files.get(wanted) {
        return Ok(content);
    }
    let name = test.metadata.name.as_deref().unwrap_or_default();
    let why = test
        .status
        .as_ref()
        .and_then(|status| status.report.as_ref())
        .and_then(|recorded| recorded.message.clone())
        .map(|message| format!(" ({message})"))
        .unwrap_or_default();
    let kept: Vec<&str> = files.keys().map(String::as_str).collect();
    Err(PluginError::Other(format!(
        "the report of {name} has no {wanted}{why}; it holds {}\n  next: {}",
        if kept.is_empty() {
            "nothing".to_string()
        } else {
            kept.join(", ")
        },
        other_formats(wanted)
    )))
}

fn other_formats(missing: &str) -> &'static str {
    match missing {
        HTML_FILE => "`-o csv` or `-o json` save what was kept",
        STATS_JSON_FILE => "`-o html` or `-o csv` save what was kept",
        _ => "`-o html` or `-o json` save what was kept",
    }
}

/// `out/x.csv` -> `out/x-failures.csv`; the default `<NAME>-requests.csv` -> `<NAME>-failures.csv`.
fn failures_beside(requests: &Path) -> PathBuf {
    let stem = requests
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let stem = stem.strip_suffix("-requests").unwrap_or(&stem);
    requests.with_file_name(format!("{stem}-failures.csv"))
}

fn save(path: &Path, content: &[u8], what: &str) -> Result<(), PluginError> {
    std::fs::write(path, content).map_err(|error| PluginError::File {
        path: path.to_path_buf(),
        detail: format!("cannot write the report there: {error}"),
    })?;
    println!(
        "saved {} ({what}, {})",
        path.display(),
        report::human_bytes(content.len())
    );
    Ok(())
}

fn write_stdout(content: &[u8]) -> Result<u8, PluginError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(content).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(exit::OK),
        // A reader that stopped early (`| head`) is not an error.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(exit::OK),
        Err(error) => Err(PluginError::Other(format!("cannot write the output: {error}"))),
    }
}

/// `-o json`: Locust's final statistics as it sent them and the verdict on spec.thresholds.
pub fn json_document(test: &LocustTest, stats: &[u8]) -> Result<Value, PluginError> {
    let stats: Value = serde_json::from_slice(stats)
        .map_err(|error| PluginError::Other(format!("the saved {STATS_JSON_FILE} is not JSON: {error}")))?;
    let status = test.status.clone().unwrap_or_default();
    let checked = shared::status::condition(&status, conditions::THRESHOLDS_MET);
    let thresholds = match (&test.spec.thresholds, &status.thresholds, checked) {
        (None, None, None) => Value::Null,
        (_, results, checked) => {
            let verdict = match checked.map(|c| c.reason.as_str()) {
                Some(conditions::thresholds::THRESHOLDS_MET) => "met",
                Some(conditions::thresholds::THRESHOLDS_BREACHED) => "breached",
                Some(conditions::thresholds::STATISTICS_UNAVAILABLE) => "unverified",
                _ => "not checked",
            };
            json!({
                "verdict": verdict,
                "message": checked.map(|c| c.message.clone()),
                "checks": results.clone().unwrap_or_default(),
            })
        }
    };
    Ok(json!({
        "name": test.metadata.name,
        "namespace": test.metadata.namespace,
        "phase": status.phase.map(Phase::as_str),
        "startTime": status.start_time,
        "completionTime": status.completion_time,
        "savedTime": status.report.as_ref().and_then(|r| r.saved_time.clone()),
        "thresholds": thresholds,
        "stats": stats,
    }))
}

/// Test `name`'s final statistics from its saved report.
async fn final_stats(cluster: &Cluster, name: &str) -> Result<RequestsReport, PluginError> {
    let test = cluster.get_test(name).await?;
    let files = saved_files(cluster, &test).await?;
    let stats = file(&files, &test, STATS_JSON_FILE)?;
    shared::stats::parse_report(stats)
        .map_err(|error| PluginError::Other(format!("the saved {STATS_JSON_FILE} of {name} is unreadable: {error}")))
}

/// Hands `path` (or a URL) to the desktop's opener; says plainly when there is none.
pub async fn open_in_browser(path: &Path) {
    let openers: &[(&str, &[&str])] = if cfg!(target_os = "macos") {
        &[("open", &[])]
    } else if cfg!(windows) {
        &[("cmd", &["/C", "start", ""])]
    } else {
        &[("xdg-open", &[])]
    };
    let mut tried = Vec::new();
    for (program, args) in openers {
        let run = tokio::process::Command::new(program)
            .args(*args)
            .arg(path)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .status();
        match tokio::time::timeout(OPENER_TIMEOUT, run).await {
            Ok(Ok(status)) if status.success() => return,
            Ok(Ok(status)) => tried.push(format!("{program} {status}")),
            Ok(Err(error)) if error.kind() == std::io::ErrorKind::NotFound => {
                tried.push(format!("{program} is not installed"));
            }
            Ok(Err(error)) => tried.push(format!("{program}: {error}")),
            Err(_) => tried.push(format!("{program} gave no answer within {}s", OPENER_TIMEOUT.as_secs())),
        }
    }
    eprintln!(
        "warning: cannot open a browser ({}); open {} yourself",
        tried.join("; "),
        path.display()
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_saved_beside_the_requests() {
        assert_eq!(
            failures_beside(Path::new("demo-requests.csv")),
            Path::new("demo-failures.csv")
        );
        assert_eq!(
            failures_beside(Path::new("out/stats.csv")),
            Path::new("out/stats-failures.csv")
        );
    }
}
