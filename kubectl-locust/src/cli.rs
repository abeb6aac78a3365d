//! Command-line interface: kubectl's global flags and one subcommand per task.
//!
//! kubectl runs a plugin named `kubectl-locust` for `kubectl locust ...`, so help and usage are
//! written as `kubectl locust`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Examples:
  # Run a locustfile with 4 workers and follow it to the end (exit code 0 = Succeeded)
  kubectl locust run checkout --locustfile test.py --workers 4 --users 200 --spawn-rate 20 --run-time 5m --host https://shop.example --wait

  # The same on this machine, no cluster needed (needs `pip install locust`)
  kubectl locust run checkout --locustfile test.py --workers 2 --users 20 --run-time 30s --host http://127.0.0.1:8000 --local

  # Submit a LocustTest manifest, after checking it with the CRD's own rules
  kubectl locust run -f locusttest.yaml

  # List tests, show one in detail, follow its master's logs, open the live view
  kubectl locust status
  kubectl locust status checkout
  kubectl locust logs checkout -f
  kubectl locust tui checkout

  # Save Locust's report of a finished test (the pods may be long gone), or compare two runs
  kubectl locust report checkout --open
  kubectl locust report checkout-v2 --compare checkout

Exit codes: 0 ok / Succeeded, 1 error, 2 usage, 3 test Failed (by Locust, or its results breached
spec.thresholds), 4 timeout, 130 interrupted.";

/// Run and watch distributed Locust load tests (LocustTest resources) on Kubernetes.
#[derive(Parser, Debug, Clone)]
#[command(
    name = "kubectl locust",
    bin_name = "kubectl locust",
    version,
    about,
    long_about = "Run and watch distributed Locust load tests on Kubernetes.\n\n\
                  Works on LocustTest resources (locust.io/v2) that the locust operator turns into a \
                  master and workers. Talks to the cluster of the current kubeconfig context.",
    after_help = AFTER_HELP,
    propagate_version = true,
    disable_help_subcommand = true
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// kubectl's connection and presentation flags, accepted before or after the subcommand.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Namespace to use (default: the kubeconfig context's namespace, else "default").
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Look in every namespace (status, tui).
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// Kubeconfig context to use (default: the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// Colour output: auto (only on a terminal, and not with NO_COLOR set), always or never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

/// `-o` formats for commands whose output is data.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    /// Human-readable columns.
    #[default]
    Table,
    /// Table with more columns.
    Wide,
    /// JSON, as the API server returns the objects.
    Json,
    /// YAML, as the API server returns the objects.
    Yaml,
    /// resource/name, one per line.
    Name,
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Start a test from a locustfile or a LocustTest manifest (in the cluster, or locally with --local).
    #[command(after_help = RUN_AFTER_HELP)]
    Run(Box<RunArgs>),
    /// List tests, or show one in detail: phase, conditions, workers, stats, events.
    #[command(after_help = STATUS_AFTER_HELP)]
    Status(StatusArgs),
    /// Print the logs of a test's master (default) or workers.
    #[command(after_help = LOGS_AFTER_HELP)]
    Logs(LogsArgs),
    /// Open the live terminal UI for a test (a picker when no name is given).
    #[command(after_help = TUI_AFTER_HELP)]
    Tui(TuiArgs),
    /// Open Locust's web UI of a running test on a local port (forwarded through the API server).
    #[command(after_help = crate::commands::ui::AFTER_HELP)]
    Ui(crate::commands::ui::UiArgs),
    /// Save Locust's final report of a finished test (HTML, CSV or JSON), or compare two tests.
    #[command(after_help = REPORT_AFTER_HELP)]
    Report(ReportArgs),
    /// End a running test early and keep its results (final statistics, report, thresholds verdict).
    #[command(after_help = STOP_AFTER_HELP)]
    Stop(StopArgs),
    /// Print a shell completion script.
    #[command(after_help = COMPLETION_AFTER_HELP)]
    Completion(CompletionArgs),
    /// Print the plugin version.
    Version,
    /// Completion candidates for kubectl's plugin completion (called by `kubectl_complete-locust`).
    #[command(name = "__complete", hide = true)]
    Complete(CompleteArgs),
}

const RUN_AFTER_HELP: &str = "\
From a locustfile, `run` creates a ConfigMap <NAME>-files holding the locustfile (and <NAME>-lib
holding the --lib files) and a LocustTest using them; deleting the LocustTest deletes them too.

Examples:
  kubectl locust run checkout --locustfile test.py --workers 4 --users 200 --spawn-rate 20 --run-time 5m --host https://shop.example
  kubectl locust run checkout --locustfile test.py --lib ./lib --env API_KEY_HEADER=x-key --wait --timeout 15m
  kubectl locust run -f locusttest.yaml --dry-run -o yaml
  kubectl locust run demo --locustfile test.py --run-time 30s --host http://127.0.0.1:8000 --local --workers 2

With --wait (or --local), the exit code is 0 when the test Succeeded, 3 when it Failed,
4 when --timeout passed first. Locust itself fails a test whose requests failed
(its --exit-code-on-error, default 1); pass --master-arg=--exit-code-on-error=0 to allow failures.
A test whose results breach its spec.thresholds (-f manifest) Failed too (TestCompleted reason
ThresholdsBreached, or ThresholdsUnverified when its final statistics could not be read): exit 3,
and the summary lists each limit with what was measured. --local saves Locust's report
(report.html, requests.csv, failures.csv, stats.json) in ./<NAME>-report/.
--wait reads the test every 2s; the environment variable KUBECTL_LOCUST_POLL_INTERVAL (e.g. 500ms)
changes that.";

const STATUS_AFTER_HELP: &str = "\
Examples:
  kubectl locust status                  # the tests in the current namespace
  kubectl locust status -A               # in every namespace
  kubectl locust status checkout -n load # one test in detail
  kubectl locust status checkout -o yaml # the LocustTest as the API server has it
  kubectl locust status -w               # print again on every change";

const LOGS_AFTER_HELP: &str = "\
Examples:
  kubectl locust logs checkout                       # the master's log
  kubectl locust logs checkout -f                    # and keep following it
  kubectl locust logs checkout --workers --tail 20   # the last 20 lines of each worker
  kubectl locust logs checkout --all --since 5m      # master and workers, last 5 minutes";

const TUI_AFTER_HELP: &str = "\
Examples:
  kubectl locust tui            # pick a test from the current namespace
  kubectl locust tui -A         # from every namespace
  kubectl locust tui checkout   # open one test";

const REPORT_AFTER_HELP: &str = "\
The operator saves Locust's report when Locust stops (before the master quits), in a ConfigMap
<NAME>-report owned by the test; this reads it back, so it works after the pods are gone.

Examples:
  kubectl locust report checkout                     # ./checkout-report.html, Locust's HTML report
  kubectl locust report checkout --open              # and open it in a browser
  kubectl locust report checkout -o csv              # ./checkout-requests.csv and ./checkout-failures.csv
  kubectl locust report checkout -o json --output-file - | jq .thresholds
  kubectl locust report checkout-v2 --compare checkout   # per-endpoint changes from checkout to checkout-v2

-o json is one document: the final /stats/requests of Locust and the verdict on spec.thresholds.
Exit codes: 0 saved (or compared), 1 no report (the message says why), 2 usage.";

const COMPLETION_AFTER_HELP: &str = "\
Examples (the script completes `kubectl-locust`, the binary called directly):
  source <(kubectl-locust completion bash)     # bash: add the line to ~/.bashrc
  kubectl-locust completion zsh > \"${fpath[1]}/_kubectl-locust\"
  kubectl-locust completion fish > ~/.config/fish/completions/kubectl-locust.fish

For `kubectl locust <TAB>`, kubectl (1.26 or newer) completes through an executable named
`kubectl_complete-locust` on your PATH, with kubectl's own completion enabled
(`source <(kubectl completion bash)`). The release archive contains it; krew unpacks it but links
only kubectl-locust, so copy it next to that link once:
  cp \"${KREW_ROOT:-$HOME/.krew}\"/store/locust/*/kubectl_complete-locust \"${KREW_ROOT:-$HOME/.krew}/bin/\"
It only runs `kubectl-locust __complete`, so it keeps working after upgrades.";

#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Test name (required with --locustfile; with -f, overrides metadata.name).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// A LocustTest manifest (YAML or JSON, v2 or v1); "-" reads standard input.
    #[arg(short = 'f', long = "filename", value_name = "FILE", conflicts_with = "locustfile")]
    pub filename: Option<PathBuf>,
    /// A locustfile to run; it is put in a ConfigMap and mounted at /lotest/src.
    #[arg(long, value_name = "FILE", required_unless_present = "filename")]
    pub locustfile: Option<PathBuf>,
    /// A directory of helper modules for the locustfile (mounted at /opt/locust/lib, on PYTHONPATH).
    // clap skips `requires` when an argument conflicting with the required one (-f) is present,
    // so --lib and --autoquit also conflict with -f instead of being ignored with a manifest.
    #[arg(long, value_name = "DIR", requires = "locustfile", conflicts_with = "filename")]
    pub lib: Option<PathBuf>,
    /// Number of worker pods (processes with --local).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=500))]
    pub workers: i32,
    /// Peak number of simulated users (Locust --users).
    #[arg(short = 'u', long, value_name = "U")]
    pub users: Option<u32>,
    /// Users started per second (Locust --spawn-rate).
    #[arg(short = 'r', long, value_name = "R")]
    pub spawn_rate: Option<f64>,
    /// Stop after this long, e.g. 30s, 5m, 1h30m (Locust --run-time).
    #[arg(short = 't', long, value_name = "T")]
    pub run_time: Option<String>,
    /// Seconds the master stays after the run time ends before it exits (spec.master.autoquit.timeout;
    /// default 60).
    #[arg(long, value_name = "SECONDS", requires = "locustfile", conflicts_with = "filename", value_parser = clap::value_parser!(i32).range(0..))]
    pub autoquit: Option<i32>,
    /// Base URL of the system under test (Locust --host).
    #[arg(long, value_name = "URL")]
    pub host: Option<String>,
    /// Locust container image.
    #[arg(long, value_name = "IMAGE", default_value = DEFAULT_IMAGE)]
    pub image: String,
    /// Environment variable for master and workers, KEY=VALUE (repeatable).
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE", value_parser = parse_env_pair)]
    pub env: Vec<(String, String)>,
    /// Extra argument for the Locust master (repeatable; use --master-arg=--flag for flags).
    #[arg(long = "master-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub master_args: Vec<String>,
    /// Extra argument for the Locust workers (repeatable; use --worker-arg=--flag for flags).
    #[arg(long = "worker-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub worker_args: Vec<String>,
    /// Print every object that would be created, and create nothing (needs no cluster).
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of --dry-run (yaml, json, name) and of what was created (name).
    #[arg(short = 'o', long, value_enum, value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
    /// Follow the test to its end with live progress; exit 0 if it Succeeded, 3 if it Failed.
    #[arg(short = 'w', long)]
    pub wait: bool,
    /// With --wait/--tui/--local: give up after this long (exit 4), e.g. 10m. Default: no limit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Follow the test in the live terminal UI.
    #[arg(long, conflicts_with = "dry_run")]
    pub tui: bool,
    /// Run master and workers as local `locust` processes on 127.0.0.1 instead of in a cluster.
    #[arg(long, conflicts_with = "dry_run")]
    pub local: bool,
    /// With --local: where the files of ConfigMap NAME are on this machine, NAME=PATH (a directory or
    /// one file; repeatable), for a manifest's testFiles ConfigMaps.
    #[arg(long = "configmap", value_name = "NAME=PATH", value_parser = parse_configmap_source, requires = "local")]
    pub configmaps: Vec<(String, PathBuf)>,
    /// With --local: the locust executable to run.
    #[arg(long, value_name = "PATH", default_value = "locust", requires = "local")]
    pub locust: PathBuf,
}

/// The image `run --locustfile` uses when none is given (the one the API reference's examples use).
pub const DEFAULT_IMAGE: &str = "locustio/locust:2.20.0";

#[derive(Args, Debug, Clone, Default)]
pub struct StatusArgs {
    /// A test to show in detail; without it, a table of tests.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = OutputFormat::Table, value_name = "FORMAT")]
    pub output: OutputFormat,
    /// Keep watching and print again on every change (Ctrl-C to stop).
    #[arg(short = 'w', long)]
    pub watch: bool,
}

const STOP_AFTER_HELP: &str = "\
`stop` records who asked (annotation locust.io/stop-requested), asks the master to stop through
the API server's service proxy (POST /stop: needs `create` on services/proxy), and waits for the
operator to end the test: Succeeded, TestCompleted reason TestStopped, with its final statistics,
thresholds verdict and report. Locust's master stays up after such a stop, so `stop` then deletes
the test's master and worker Jobs (the test, its status and report stay; --keep-pods keeps them).
A test that is not running is left as it is (exit 1).

Examples:
  kubectl locust stop checkout
  kubectl locust stop checkout --wait    # the summary and exit code of `run --wait`";

#[derive(Args, Debug, Clone, Default)]
pub struct StopArgs {
    /// The running test to stop.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Follow the test to its end like `run --wait`: its summary, and exit 3 when it Failed (e.g.
    /// its results breached spec.thresholds).
    #[arg(long)]
    pub wait: bool,
    /// Give up waiting for the end after this long (default 1m without --wait, none with it).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
    /// Leave the idle master and worker pods running after the stop.
    #[arg(long)]
    pub keep_pods: bool,
}

#[derive(Args, Debug, Clone, Default)]
pub struct LogsArgs {
    /// The test whose pods' logs to print.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// The workers' logs instead of the master's (each line prefixed with its pod).
    #[arg(long, conflicts_with = "all")]
    pub workers: bool,
    /// Master and workers (each line prefixed with its pod).
    #[arg(long)]
    pub all: bool,
    /// Keep streaming new lines.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// Lines from the end of each log to show (-1: all).
    #[arg(long, value_name = "N", default_value_t = -1, allow_negative_numbers = true)]
    pub tail: i64,
    /// Only lines newer than this, e.g. 5m, 1h.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub since: Option<Duration>,
    /// Prefix lines with the pod name (default: on for more than one pod).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub prefix: Option<bool>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct TuiArgs {
    /// The test to show; without it, pick one from a list.
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
}

/// The file `report` saves.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReportFormat {
    /// Locust's HTML report, with its charts.
    #[default]
    Html,
    /// The per-endpoint statistics and the failures, as Locust's CSV downloads.
    Csv,
    /// The final statistics and the thresholds verdict, as one JSON document.
    Json,
}

#[derive(Args, Debug, Clone, Default)]
pub struct ReportArgs {
    /// The finished test whose report to save.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// What to save.
    #[arg(short = 'o', long, value_enum, default_value_t = ReportFormat::Html, value_name = "FORMAT")]
    pub output: ReportFormat,
    /// Where to write it ("-": standard output). Default: ./<NAME>-report.html, ./<NAME>-report.json,
    /// or ./<NAME>-requests.csv and ./<NAME>-failures.csv.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Open the saved HTML report in a browser (xdg-open, open or start).
    #[arg(long)]
    pub open: bool,
    /// Instead of saving, print per-endpoint changes from test OTHER to NAME (RPS, median, p95,
    /// failures).
    #[arg(long, value_name = "OTHER", conflicts_with_all = ["output_file", "open"])]
    pub compare: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Args, Debug, Clone, Default)]
pub struct CompleteArgs {
    /// The words typed after `kubectl locust`, the last one being completed (may be empty).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

fn parse_env_pair(raw: &str) -> Result<(String, String), String> {
    match raw.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_string(), value.to_string())),
        _ => Err(format!(
            "expected KEY=VALUE, got {raw:?} (e.g. --env TARGET_ENV=staging)"
        )),
    }
}

fn parse_configmap_source(raw: &str) -> Result<(String, PathBuf), String> {
    match raw.split_once('=') {
        Some((name, path)) if !name.is_empty() && !path.is_empty() => Ok((name.to_string(), PathBuf::from(path))),
        _ => Err(format!(
            "expected NAME=PATH, got {raw:?} (e.g. --configmap demo-scripts=./scripts)"
        )),
    }
}

/// Durations as kubectl and Locust write them: `90s`, `5m`, `1h30m` (a bare number is seconds).
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let raw = raw.trim();
    if let Ok(seconds) = raw.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(raw).map_err(|error| format!("{error} in {raw:?}: write e.g. 90s, 5m or 1h30m"))
}
