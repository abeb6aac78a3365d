//! The command line as a kubectl user meets it: every `--help` (snapshots, and what each must
//! show), how flag combinations parse, usage errors (exit 2), `version`, and when colour is on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Stdio;
use std::time::Duration;

use clap::Parser;
use clap::error::ErrorKind;
use kubectl_locust::Cli;
use kubectl_locust::cli::{ColorChoice, Command as Subcommand, OutputFormat, RunArgs};
use kubectl_locust::exit;
use kubectl_locust::output::Palette;
use tokio::process::Command;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-locust");
/// Longest any child process may take before the test fails instead of hanging.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn run_plugin(args: &[&str]) -> Finished {
    let mut command = Command::new(PLUGIN);
    command
        .args(args)
        .env_remove("KUBECONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(CHILD_LIMIT, command.output())
        .await
        .expect("the plugin ends in time")
        .expect("the plugin runs");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

fn parse(line: &str) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("kubectl-locust").chain(line.split_whitespace()))
}

fn run_args(line: &str) -> RunArgs {
    match parse(line).unwrap_or_else(|error| panic!("{line}: {error}")).command {
        Subcommand::Run(args) => *args,
        other => panic!("{line}: parsed as {other:?}"),
    }
}

fn error_kind(line: &str) -> ErrorKind {
    match parse(line) {
        Ok(cli) => panic!("`{line}` should not parse, got {cli:?}"),
        Err(error) => error.kind(),
    }
}

// ---------------------------------------------------------------------------------------------
// Help

/// `kubectl locust [COMMAND] --help`, as the snapshot it is checked against.
async fn help(command: Option<&str>) -> String {
    let args: Vec<&str> = command.into_iter().chain(["--help"]).collect();
    let done = run_plugin(&args).await;
    assert_eq!(done.code, Some(0), "{args:?}: {}", done.stderr);
    assert!(done.stderr.is_empty(), "{args:?}: {}", done.stderr);
    done.stdout
}

/// What every help page shows a kubectl user: the command as `kubectl locust`, and kubectl's
/// global flags under their own heading.
fn assert_reads_as_kubectl(page: &str, usage: &str) {
    assert!(
        page.contains(&format!("Usage: {usage}")),
        "usage line `{usage}` missing:\n{page}"
    );
    // Only `completion` names the binary, for the scripts that complete it called directly.
    if !usage.contains(" completion ") {
        assert!(
            !page.contains("kubectl-locust"),
            "the binary name leaks into the help:\n{page}"
        );
    }
    let global = page
        .split("Global options:")
        .nth(1)
        .unwrap_or_else(|| panic!("no Global options:\n{page}"));
    for flag in [
        "-n, --namespace <NAMESPACE>",
        "-A, --all-namespaces",
        "--context <NAME>",
        "--kubeconfig <PATH>",
        "--color <WHEN>",
    ] {
        assert!(global.contains(flag), "global flag {flag} missing:\n{page}");
    }
}

#[tokio::test]
async fn root_help_lists_the_commands_global_flags_and_examples() {
    let page = help(None).await;
    assert_reads_as_kubectl(&page, "kubectl locust [OPTIONS] <COMMAND>");
    for command in ["run", "status", "logs", "tui", "report", "completion", "version"] {
        assert!(
            page.contains(&format!("\n  {command} ")),
            "command {command} missing:\n{page}"
        );
    }
    assert!(!page.contains("__complete"), "the hidden command stays hidden");
    assert!(page.contains("Examples:\n") && page.contains("  kubectl locust run checkout --locustfile test.py"));
    assert!(page.contains("Exit codes: 0 ok / Succeeded, 1 error, 2 usage, 3 test Failed (by Locust, or its results breached\nspec.thresholds), 4 timeout"));
    insta::assert_snapshot!("help_root", page);
}

#[tokio::test]
async fn each_command_help_has_usage_global_flags_and_examples() {
    for (command, usage, example) in [
        (
            "run",
            "kubectl locust run [OPTIONS] [NAME]",
            "kubectl locust run -f locusttest.yaml --dry-run -o yaml",
        ),
        (
            "status",
            "kubectl locust status [OPTIONS] [NAME]",
            "kubectl locust status checkout -n load",
        ),
        (
            "logs",
            "kubectl locust logs [OPTIONS] <NAME>",
            "kubectl locust logs checkout -f",
        ),
        (
            "tui",
            "kubectl locust tui [OPTIONS] [NAME]",
            "kubectl locust tui checkout",
        ),
        (
            "ui",
            "kubectl locust ui [OPTIONS] <NAME>",
            "kubectl locust ui checkout --open",
        ),
        (
            "report",
            "kubectl locust report [OPTIONS] <NAME>",
            "kubectl locust report checkout-v2 --compare checkout",
        ),
        (
            "completion",
            "kubectl locust completion [OPTIONS] <SHELL>",
            "source <(kubectl-locust completion bash)",
        ),
    ] {
        let page = help(Some(command)).await;
        assert_reads_as_kubectl(&page, usage);
        assert!(page.contains("Examples"), "{command}: no examples:\n{page}");
        assert!(
            page.contains(example),
            "{command}: example `{example}` missing:\n{page}"
        );
        insta::assert_snapshot!(format!("help_{command}"), page);
    }
    let page = help(Some("version")).await;
    assert_reads_as_kubectl(&page, "kubectl locust version [OPTIONS]");
    insta::assert_snapshot!("help_version", page);
}

#[tokio::test]
async fn completion_help_says_how_kubectl_completes_the_plugin() {
    let page = help(Some("completion")).await;
    assert!(page.contains("kubectl_complete-locust"), "{page}");
    assert!(page.contains("[possible values: bash, zsh, fish]"), "{page}");
    assert!(page.contains("kubectl (1.26 or newer)"), "{page}");
}

// ---------------------------------------------------------------------------------------------
// Parsing

#[test]
fn a_manifest_and_a_locustfile_exclude_each_other() {
    assert_eq!(
        error_kind("run -f t.yaml --locustfile t.py"),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        error_kind("run demo"),
        ErrorKind::MissingRequiredArgument,
        "one of them is needed"
    );
    assert_eq!(run_args("run -f t.yaml").filename.unwrap().to_str(), Some("t.yaml"));
    assert_eq!(run_args("run --filename - demo").filename.unwrap().to_str(), Some("-"));
}

#[test]
fn lib_autoquit_and_configmap_need_their_companions() {
    // With -f the locustfile cannot be given, so --lib and --autoquit are refused, not ignored.
    assert_eq!(error_kind("run -f t.yaml --lib ./lib"), ErrorKind::ArgumentConflict);
    assert_eq!(error_kind("run demo --lib ./lib"), ErrorKind::MissingRequiredArgument);
    assert_eq!(
        run_args("run demo --locustfile t.py --lib ./lib").lib.unwrap().to_str(),
        Some("./lib")
    );
    assert_eq!(error_kind("run -f t.yaml --autoquit 30"), ErrorKind::ArgumentConflict);
    assert_eq!(run_args("run demo --locustfile t.py --autoquit 30").autoquit, Some(30));
    assert_eq!(
        error_kind("run -f t.yaml --configmap s=./s"),
        ErrorKind::MissingRequiredArgument
    );
    let args = run_args("run -f t.yaml --local --configmap demo-scripts=./scripts");
    assert_eq!(args.configmaps, [("demo-scripts".to_string(), "./scripts".into())]);
    assert_eq!(
        error_kind("run demo --locustfile t.py --tui --dry-run"),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(
        error_kind("run demo --locustfile t.py --local --dry-run"),
        ErrorKind::ArgumentConflict
    );
    assert_eq!(error_kind("logs demo --workers --all"), ErrorKind::ArgumentConflict);
}

#[test]
fn workers_are_bounded() {
    assert_eq!(run_args("run demo --locustfile t.py").workers, 1, "default");
    assert_eq!(run_args("run demo --locustfile t.py --workers 500").workers, 500);
    for out_of_range in ["0", "501", "-3"] {
        let line = format!("run demo --locustfile t.py --workers={out_of_range}");
        assert_eq!(error_kind(&line), ErrorKind::ValueValidation, "{line}");
    }
    assert_eq!(
        error_kind("run demo --locustfile t.py --workers many"),
        ErrorKind::ValueValidation
    );
}

#[test]
fn env_pairs_split_at_the_first_equals_sign() {
    let args = run_args("run demo --locustfile t.py -e A=1 --env URL=https://x/?a=b --env EMPTY=");
    assert_eq!(
        args.env,
        [("A", "1"), ("URL", "https://x/?a=b"), ("EMPTY", "")].map(|(k, v)| (k.to_string(), v.to_string()))
    );
    for bad in ["NOVALUE", "=value"] {
        let error = parse(&format!("run demo --locustfile t.py --env {bad}")).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::ValueValidation);
        assert!(error.to_string().contains("expected KEY=VALUE"), "{error}");
    }
}

#[test]
fn output_formats_are_the_five_kubectl_ones() {
    for (word, format) in [
        ("table", OutputFormat::Table),
        ("wide", OutputFormat::Wide),
        ("json", OutputFormat::Json),
        ("yaml", OutputFormat::Yaml),
        ("name", OutputFormat::Name),
    ] {
        let Subcommand::Status(status) = parse(&format!("status -o {word}")).unwrap().command else {
            panic!("status");
        };
        assert_eq!(status.output, format);
        assert_eq!(
            run_args(&format!("run -f t.yaml --dry-run -o {word}")).output,
            Some(format)
        );
    }
    let Subcommand::Status(status) = parse("status").unwrap().command else {
        panic!("status")
    };
    assert_eq!(status.output, OutputFormat::Table, "default");
    let error = parse("status -o xml").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidValue);
    assert!(
        error
            .to_string()
            .contains("[possible values: table, wide, json, yaml, name]"),
        "{error}"
    );
}

#[test]
fn durations_read_as_kubectl_writes_them() {
    for (text, seconds) in [("90s", 90), ("5m", 300), ("1h30m", 5400), ("45", 45), ("2h", 7200)] {
        let args = run_args(&format!("run demo --locustfile t.py --wait --timeout {text}"));
        assert_eq!(args.timeout, Some(Duration::from_secs(seconds)), "{text}");
        let Subcommand::Logs(logs) = parse(&format!("logs demo --since {text}")).unwrap().command else {
            panic!("logs")
        };
        assert_eq!(logs.since, Some(Duration::from_secs(seconds)), "{text}");
    }
    let error = parse("run demo --locustfile t.py --timeout soon").unwrap_err();
    assert_eq!(error.kind(), ErrorKind::ValueValidation);
    assert!(error.to_string().contains("write e.g. 90s, 5m or 1h30m"), "{error}");
    // --run-time goes to Locust as written.
    assert_eq!(
        run_args("run demo --locustfile t.py -t 1h30m").run_time.as_deref(),
        Some("1h30m")
    );
}

#[test]
fn global_flags_work_before_and_after_the_command() {
    for line in [
        "-n load --context kind-dev --kubeconfig /tmp/kc -A --color never status",
        "status -n load --context kind-dev --kubeconfig /tmp/kc -A --color never",
        "--namespace=load status --all-namespaces --context=kind-dev --kubeconfig=/tmp/kc --color=never",
    ] {
        let cli = parse(line).unwrap_or_else(|error| panic!("{line}: {error}"));
        assert_eq!(cli.global.namespace.as_deref(), Some("load"), "{line}");
        assert_eq!(cli.global.context.as_deref(), Some("kind-dev"), "{line}");
        assert_eq!(
            cli.global.kubeconfig.as_deref().and_then(|p| p.to_str()),
            Some("/tmp/kc"),
            "{line}"
        );
        assert!(cli.global.all_namespaces, "{line}");
        assert_eq!(cli.global.color, ColorChoice::Never, "{line}");
        assert!(matches!(cli.command, Subcommand::Status(_)), "{line}");
    }
    let cli = parse("logs demo -n load -f --tail -1").unwrap();
    assert_eq!(cli.global.namespace.as_deref(), Some("load"));
    let Subcommand::Logs(logs) = cli.command else {
        panic!("logs")
    };
    assert!(logs.follow);
    assert_eq!(logs.tail, -1, "negative numbers are values");
    assert_eq!(parse("status").unwrap().global.color, ColorChoice::Auto, "default");
    assert_eq!(error_kind("status --color sometimes"), ErrorKind::InvalidValue);
}

#[test]
fn prefix_takes_an_optional_boolean() {
    let prefix = |line: &str| match parse(line).unwrap().command {
        Subcommand::Logs(logs) => logs.prefix,
        _ => panic!("logs"),
    };
    assert_eq!(prefix("logs demo"), None);
    assert_eq!(prefix("logs demo --prefix"), Some(true));
    assert_eq!(prefix("logs demo --prefix=false"), Some(false));
}

#[tokio::test]
async fn usage_errors_exit_2_with_a_hint() {
    for (args, hint) in [
        (&["stauts"][..], "a similar subcommand exists: 'status'"),
        (&["run", "demo", "--workers", "0"], "0 is not in 1..=500"),
        (&["run", "-f", "t.yaml", "--locustfile", "t.py"], "cannot be used with"),
        (
            &["status", "--output", "xml"],
            "[possible values: table, wide, json, yaml, name]",
        ),
        (&["logs"], "<NAME>"),
        (
            &["status", "--namespace"],
            "a value is required for '--namespace <NAMESPACE>'",
        ),
        (
            &["run", "demo", "--locustfile", "t.py", "--env", "X"],
            "expected KEY=VALUE",
        ),
        (&[], "Usage: kubectl locust [OPTIONS] <COMMAND>"),
    ] {
        let done = run_plugin(args).await;
        assert_eq!(done.code, Some(i32::from(exit::USAGE)), "{args:?}: {}", done.stderr);
        assert!(done.stdout.is_empty(), "{args:?}: errors go to stderr: {}", done.stdout);
        assert!(
            done.stderr.contains(hint),
            "{args:?}: expected {hint:?} in:\n{}",
            done.stderr
        );
    }
}

#[tokio::test]
async fn version_prints_the_crate_version() {
    let version = env!("CARGO_PKG_VERSION");
    let done = run_plugin(&["version"]).await;
    assert_eq!((done.code, done.stderr.as_str()), (Some(0), ""));
    assert_eq!(
        done.stdout.trim_end().rsplit(' ').next(),
        Some(version),
        "{}",
        done.stdout
    );
    let done = run_plugin(&["--version"]).await;
    assert_eq!(done.code, Some(0));
    assert_eq!(done.stdout, format!("kubectl locust {version}\n"));
}

// ---------------------------------------------------------------------------------------------
// Colour

#[test]
fn color_choice_decides_with_the_terminal_only_for_auto() {
    for terminal in [true, false] {
        assert!(Palette::decide(ColorChoice::Always, terminal).enabled);
        assert!(!Palette::decide(ColorChoice::Never, terminal).enabled);
        assert_eq!(Palette::decide(ColorChoice::Auto, terminal).enabled, terminal);
    }
    let painted = Palette::decide(ColorChoice::Always, false).green("ok");
    assert!(
        painted.starts_with("\u{1b}[") && painted.contains("ok") && painted != "ok",
        "{painted:?}"
    );
    assert_eq!(Palette::decide(ColorChoice::Never, true).green("ok"), "ok");
}

/// Set in the child runs of [`color_auto_follows_whether_stdout_is_a_terminal`].
const PALETTE_PROBE: &str = "KUBECTL_LOCUST_TEST_PALETTE_PROBE";
/// Its name in the `it` test binary, where this file is the module `cli`.
const PROBE_TEST: &str = "cli::color_auto_follows_whether_stdout_is_a_terminal";

/// This test binary, running only the probe, with stdout a pipe or (through `script`) a terminal.
async fn probe(under_terminal: bool, no_color: Option<&str>) -> String {
    let exe = std::env::current_exe().unwrap();
    let test_line = format!("{} {PROBE_TEST} --exact --nocapture --test-threads=1", exe.display());
    let mut command = if under_terminal {
        // util-linux `script` runs the line with a pseudo-terminal as its stdout.
        let mut command = Command::new("script");
        command.args(["-q", "-e", "-c", &test_line, "/dev/null"]);
        command
    } else {
        let mut command = Command::new(&exe);
        command.args([PROBE_TEST, "--exact", "--nocapture", "--test-threads=1"]);
        command
    };
    command.env(PALETTE_PROBE, "1").env_remove("NO_COLOR");
    if let Some(value) = no_color {
        command.env("NO_COLOR", value);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let output = tokio::time::timeout(CHILD_LIMIT, command.output())
        .await
        .expect("the probe ends in time")
        .expect("the probe runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "probe failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
        .lines()
        .find_map(|line| line.split("palette-auto=").nth(1))
        .and_then(|rest| rest.split_whitespace().next())
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no probe answer in: {stdout}"))
}

#[tokio::test]
async fn color_auto_follows_whether_stdout_is_a_terminal() {
    if std::env::var_os(PALETTE_PROBE).is_some() {
        // The child run: report what `--color auto` decides here.
        println!("palette-auto={}", Palette::new(ColorChoice::Auto).enabled);
        return;
    }
    assert_eq!(probe(false, None).await, "false", "stdout piped: no colour");
    assert_eq!(probe(true, None).await, "true", "stdout a terminal: colour");
    assert_eq!(probe(true, Some("1")).await, "false", "NO_COLOR set: no colour");
    assert_eq!(probe(true, Some("")).await, "true", "an empty NO_COLOR does not count");
}
