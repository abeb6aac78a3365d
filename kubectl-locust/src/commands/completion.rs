//! `kubectl locust completion` and the hidden `__complete` used by `kubectl_complete-locust`.
//!
//! `completion bash|zsh|fish` prints clap_complete's script for the binary called directly
//! (`kubectl-locust <TAB>`). For `kubectl locust <TAB>`, kubectl (1.26+) runs the executable
//! `kubectl_complete-locust` from PATH with the words typed after `kubectl locust`, the last one
//! being the word to complete; that script runs `kubectl-locust __complete -- WORDS...`, which
//! answers in cobra's protocol: one candidate per line (`candidate<TAB>description`), then
//! `:<directive>`.
//!
//! What to offer is decided by [`candidates`], a pure function reading the clap definition of
//! [`Cli`]; only LocustTest names come from the cluster, fetched beforehand by [`complete`].

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::ValueHint;
use clap::{Arg, ArgAction, CommandFactory};
use kube::api::ListParams;

use crate::cli::{Cli, CompleteArgs, CompletionArgs, GlobalArgs, Shell};
use crate::client::Cluster;
use crate::error::PluginError;
use crate::exit;

/// The name the `completion` scripts complete: the binary as found on PATH.
pub const BIN_NAME: &str = "kubectl-locust";

/// How long `__complete` may spend listing tests: a shell waiting on TAB should not hang on an
/// unreachable cluster.
pub const NAMES_TIMEOUT: Duration = Duration::from_secs(2);

/// cobra's `ShellCompDirective` values (a bit set), as kubectl passes them on to the shell.
pub mod directive {
    /// Let the shell complete file names when there is no candidate (a path is expected).
    pub const DEFAULT: u32 = 0;
    /// Complete nothing beyond the candidates given.
    pub const NO_FILE_COMP: u32 = 4;
}

/// Subcommands whose NAME is an existing LocustTest (`run`'s NAME is a new one).
const COMMANDS_NAMING_A_TEST: &[&str] = &["status", "logs", "tui", "ui", "report", "stop"];

/// `completion bash|zsh|fish`: the script on standard output.
pub fn execute(args: &CompletionArgs) -> Result<u8, PluginError> {
    let mut out = std::io::stdout().lock();
    write_script(args.shell, &mut out);
    out.flush()
        .map_err(|error| PluginError::Other(format!("cannot write the completion script: {error}")))?;
    Ok(exit::OK)
}

/// The completion script for `shell`, completing the binary `kubectl-locust`.
pub fn write_script(shell: Shell, out: &mut dyn Write) {
    let generator = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(generator, &mut script_command(), BIN_NAME, &mut script);
    if shell == Shell::Bash {
        script = fix_bash_case_labels(&script);
    }
    // A closed pipe (`... | head`) is not worth an error.
    let _ = out.write_all(&script);
}

/// clap_complete 4.6 names a subcommand's `case` arm after the binary with its `-` replaced by
/// `__subcmd__` (`kubectl__subcmd__locust__subcmd__run`), but tracks the command line as
/// `kubectl__locust__subcmd__run`, so no subcommand's flags would complete. Renames the arms.
fn fix_bash_case_labels(script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let tracked = format!("{}__subcmd__", BIN_NAME.replace('-', "__"));
    let mislabelled = format!("{}__subcmd__", BIN_NAME.replace('-', "__subcmd__"));
    text.replace(&mislabelled, &tracked).into_bytes()
}

/// [`Cli`] as the binary `kubectl-locust`, without the hidden `__complete`: clap_complete would
/// offer hidden subcommands, and the name `kubectl locust` (with a space) would name its shell
/// functions inconsistently.
fn script_command() -> clap::Command {
    let root = Cli::command();
    let mut command = clap::Command::new(BIN_NAME)
        .bin_name(BIN_NAME)
        .version(env!("CARGO_PKG_VERSION"))
        .propagate_version(true)
        .disable_help_subcommand(true)
        .args(root.get_arguments().cloned())
        .subcommands(root.get_subcommands().filter(|sub| !sub.is_hide_set()).cloned());
    if let Some(about) = root.get_about() {
        command = command.about(about.clone());
    }
    command
}

/// `__complete WORDS... PARTIAL`: prints the candidates and the directive. Never fails and never
/// writes to standard error: kubectl passes the plugin's standard error to the terminal, in the
/// middle of the line being typed.
pub async fn complete(global: &GlobalArgs, args: &CompleteArgs) -> Result<u8, PluginError> {
    let (partial, words) = match args.words.split_last() {
        Some((partial, words)) => (partial.as_str(), words),
        None => ("", &[][..]),
    };
    let names = if needs_test_names(words, partial) {
        test_names(&connection_args(words, global)).await
    } else {
        Vec::new()
    };
    let (lines, directive) = candidates(words, partial, &names);
    let mut out = std::io::stdout().lock();
    let mut text = String::new();
    for line in &lines {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&format!(":{directive}\n"));
    // The shell may have given up waiting (closed pipe): nothing useful to report.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    Ok(exit::OK)
}

/// LocustTest names in the namespace of `global`, sorted; empty on any failure or after
/// [`NAMES_TIMEOUT`].
async fn test_names(global: &GlobalArgs) -> Vec<String> {
    let listing = async {
        let cluster = Cluster::connect(global).await.ok()?;
        let list = cluster.tests().list(&ListParams::default()).await.ok()?;
        Some(
            list.items
                .into_iter()
                .filter_map(|test| test.metadata.name)
                .collect::<Vec<_>>(),
        )
    };
    let mut names = tokio::time::timeout(NAMES_TIMEOUT, listing)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    names.sort();
    names.dedup();
    names
}

/// The candidates for `partial`, the word being completed after `words` (the words typed after
/// `kubectl locust`), given the LocustTest `names` in the namespace: lines `candidate` or
/// `candidate<TAB>description`, and cobra's directive.
pub fn candidates(words: &[String], partial: &str, names: &[String]) -> (Vec<String>, u32) {
    let mut root = Cli::command();
    // Puts the global flags and --help/--version into every subcommand, as parsing sees them.
    root.build();
    let reading = read_words(&root, words);
    match slot(&reading, partial) {
        Slot::Subcommand => (
            root.get_subcommands()
                .filter(|sub| !sub.is_hide_set() && sub.get_name().starts_with(partial))
                .map(|sub| with_description(sub.get_name(), sub.get_about().map(ToString::to_string)))
                .collect(),
            directive::NO_FILE_COMP,
        ),
        Slot::Flag => (flags(reading.command, partial, &reading.used), directive::NO_FILE_COMP),
        Slot::Value { arg, prefix } => values(arg, prefix),
        Slot::TestName => (
            names.iter().filter(|name| name.starts_with(partial)).cloned().collect(),
            directive::NO_FILE_COMP,
        ),
        Slot::Nothing => (Vec::new(), directive::NO_FILE_COMP),
    }
}

/// Whether completing `partial` after `words` offers LocustTest names (so they are worth fetching).
pub fn needs_test_names(words: &[String], partial: &str) -> bool {
    let mut root = Cli::command();
    root.build();
    let reading = read_words(&root, words);
    matches!(slot(&reading, partial), Slot::TestName)
}

/// The connection flags among `words` (`-n`, `--context`, `--kubeconfig`, in any of their
/// spellings), falling back to those clap already parsed into `parsed`.
pub fn connection_args(words: &[String], parsed: &GlobalArgs) -> GlobalArgs {
    let mut root = Cli::command();
    root.build();
    let reading = read_words(&root, words);
    let value = |id: &str| reading.values.get(id).cloned();
    GlobalArgs {
        namespace: value("namespace").or_else(|| parsed.namespace.clone()),
        context: value("context").or_else(|| parsed.context.clone()),
        kubeconfig: value("kubeconfig")
            .map(|path| expand_home(&path))
            .or_else(|| parsed.kubeconfig.clone()),
        ..parsed.clone()
    }
}

/// A path typed on the command line is not yet expanded by the shell while completing.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// What the words before the one being completed say.
struct Reading<'a> {
    /// The subcommand once named, else the root.
    command: &'a clap::Command,
    /// Whether `command` is a subcommand.
    in_subcommand: bool,
    /// A word that is neither a flag nor a known subcommand came where a subcommand was expected.
    lost: bool,
    /// Positional words seen in the subcommand.
    positionals: usize,
    /// A flag whose value is the next word.
    pending: Option<&'a Arg>,
    /// After `--`: every word is positional.
    only_positionals: bool,
    /// Flags given so far (not offered again unless repeatable).
    used: Vec<String>,
    /// The last value given to each flag, by argument id.
    values: BTreeMap<String, String>,
}

fn read_words<'a>(root: &'a clap::Command, words: &[String]) -> Reading<'a> {
    let mut reading = Reading {
        command: root,
        in_subcommand: false,
        lost: false,
        positionals: 0,
        pending: None,
        only_positionals: false,
        used: Vec::new(),
        values: BTreeMap::new(),
    };
    for word in words {
        if let Some(arg) = reading.pending.take() {
            reading.values.insert(arg.get_id().to_string(), word.clone());
            continue;
        }
        if reading.only_positionals {
            reading.positional(word);
        } else if word == "--" {
            reading.only_positionals = true;
        } else if let Some(long) = word.strip_prefix("--") {
            reading.long_flag(long);
        } else if let Some(shorts) = word.strip_prefix('-').filter(|rest| !rest.is_empty()) {
            reading.short_flags(shorts);
        } else {
            reading.positional(word);
        }
    }
    reading
}

impl<'a> Reading<'a> {
    fn positional(&mut self, word: &str) {
        if self.in_subcommand || self.lost {
            self.positionals += 1;
        } else {
            match self.command.find_subcommand(word) {
                Some(sub) => {
                    self.command = sub;
                    self.in_subcommand = true;
                }
                None => self.lost = true,
            }
        }
    }

    fn long_flag(&mut self, flag: &str) {
        let (name, inline) = match flag.split_once('=') {
            Some((name, value)) => (name, Some(value)),
            None => (flag, None),
        };
        let command = self.command;
        if let Some(arg) = command.get_arguments().find(|arg| arg.get_long() == Some(name)) {
            self.take(arg, inline);
        }
    }

    /// `-w`, `-nload`, `-wo yaml`: flags clustered, the last one possibly taking a value.
    fn short_flags(&mut self, shorts: &str) {
        let command = self.command;
        for (index, short) in shorts.char_indices() {
            let Some(arg) = command.get_arguments().find(|arg| arg.get_short() == Some(short)) else {
                return;
            };
            if requires_value(arg) {
                let rest = &shorts[index + short.len_utf8()..];
                let rest = rest.strip_prefix('=').unwrap_or(rest);
                self.take(arg, (!rest.is_empty()).then_some(rest));
                return;
            }
            self.take(arg, None);
        }
    }

    fn take(&mut self, arg: &'a Arg, inline: Option<&str>) {
        self.used.push(arg.get_id().to_string());
        match inline {
            Some(value) => {
                self.values.insert(arg.get_id().to_string(), value.to_string());
            }
            None if requires_value(arg) => self.pending = Some(arg),
            None => {}
        }
    }
}

/// A flag whose value must follow it (not `--prefix`, whose value is optional and only given as
/// `--prefix=false`).
fn requires_value(arg: &Arg) -> bool {
    arg.get_action().takes_values() && arg.get_num_args().is_none_or(|range| range.min_values() > 0)
}

/// What kind of word is being completed.
enum Slot<'a, 'p> {
    Subcommand,
    Flag,
    /// The value of `arg`; `prefix` is its part typed so far.
    Value {
        arg: &'a Arg,
        prefix: &'p str,
    },
    TestName,
    Nothing,
}

fn slot<'a, 'p>(reading: &Reading<'a>, partial: &'p str) -> Slot<'a, 'p> {
    if let Some(arg) = reading.pending {
        // `report NAME --compare OTHER`: OTHER is a test too.
        if arg.get_id() == "compare" {
            return Slot::TestName;
        }
        return Slot::Value { arg, prefix: partial };
    }
    if !reading.only_positionals && partial.starts_with('-') {
        if let Some((name, prefix)) = partial.strip_prefix("--").and_then(|flag| flag.split_once('=')) {
            // cobra answers `--output=y` with bare values; the shell scripts keep the `--output=`.
            return match reading
                .command
                .get_arguments()
                .find(|arg| arg.get_long() == Some(name) && arg.get_action().takes_values())
            {
                Some(arg) => Slot::Value { arg, prefix },
                None => Slot::Nothing,
            };
        }
        return Slot::Flag;
    }
    if reading.lost {
        return Slot::Nothing;
    }
    if !reading.in_subcommand {
        return Slot::Subcommand;
    }
    let mut positionals: Vec<&Arg> = reading
        .command
        .get_positionals()
        .filter(|arg| !arg.is_hide_set())
        .collect();
    positionals.sort_by_key(|arg| arg.get_index());
    let Some(arg) = positionals.get(reading.positionals).copied() else {
        return Slot::Nothing;
    };
    if arg.get_id() == "name" && COMMANDS_NAMING_A_TEST.contains(&reading.command.get_name()) {
        Slot::TestName
    } else {
        Slot::Value { arg, prefix: partial }
    }
}

/// The flags of `command` starting with `partial`: long ones always, short ones for a single dash.
fn flags(command: &clap::Command, partial: &str, used: &[String]) -> Vec<String> {
    let offer_shorts = !partial.starts_with("--");
    let mut lines = Vec::new();
    for arg in command.get_arguments() {
        if arg.is_positional() || arg.is_hide_set() {
            continue;
        }
        let repeatable = matches!(arg.get_action(), ArgAction::Append | ArgAction::Count);
        if !repeatable && used.iter().any(|id| id == arg.get_id().as_str()) {
            continue;
        }
        let description = arg.get_help().map(ToString::to_string);
        if let Some(long) = arg.get_long() {
            let flag = format!("--{long}");
            if flag.starts_with(partial) {
                lines.push(with_description(&flag, description.clone()));
            }
        }
        if let Some(short) = arg.get_short().filter(|_| offer_shorts) {
            let flag = format!("-{short}");
            if flag.starts_with(partial) {
                lines.push(with_description(&flag, description));
            }
        }
    }
    lines
}

/// The values `arg` accepts that start with `prefix`; for a path, the shell's own file completion.
fn values(arg: &Arg, prefix: &str) -> (Vec<String>, u32) {
    let possible: Vec<String> = arg
        .get_possible_values()
        .iter()
        .filter(|value| !value.is_hide_set() && value.get_name().starts_with(prefix))
        .map(|value| with_description(value.get_name(), value.get_help().map(ToString::to_string)))
        .collect();
    if !possible.is_empty() || !arg.get_possible_values().is_empty() {
        return (possible, directive::NO_FILE_COMP);
    }
    match arg.get_value_hint() {
        ValueHint::AnyPath | ValueHint::FilePath | ValueHint::DirPath | ValueHint::ExecutablePath => {
            (Vec::new(), directive::DEFAULT)
        }
        _ => (Vec::new(), directive::NO_FILE_COMP),
    }
}

/// `candidate<TAB>description`, the description on one line (the protocol is line based).
fn with_description(candidate: &str, description: Option<String>) -> String {
    match description {
        Some(description) if !description.trim().is_empty() => {
            let one_line = description.split_whitespace().collect::<Vec<_>>().join(" ");
            format!("{candidate}\t{one_line}")
        }
        _ => candidate.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_string).collect()
    }

    /// The candidates without descriptions.
    fn offered(line: &str, partial: &str, names: &[&str]) -> (Vec<String>, u32) {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let (lines, directive) = candidates(&words(line), partial, &names);
        let bare = lines
            .iter()
            .map(|line| line.split('\t').next().unwrap_or_default().to_string())
            .collect();
        (bare, directive)
    }

    #[test]
    fn first_word_offers_the_visible_subcommands_with_their_descriptions() {
        let (lines, directive) = candidates(&[], "", &[]);
        let names: Vec<&str> = lines
            .iter()
            .map(|line| line.split('\t').next().unwrap_or_default())
            .collect();
        assert_eq!(
            names,
            [
                "run",
                "status",
                "logs",
                "tui",
                "ui",
                "report",
                "stop",
                "completion",
                "version"
            ]
        );
        assert_eq!(directive, directive::NO_FILE_COMP);
        assert!(
            lines.contains(&"logs\tPrint the logs of a test's master (default) or workers".to_string()),
            "{lines:?}"
        );
        assert_eq!(offered("", "st", &[]).0, ["status", "stop"]);
        assert_eq!(offered("-n load", "t", &[]).0, ["tui"], "global flags may come first");
    }

    #[test]
    fn flags_come_from_the_subcommand_including_the_global_ones() {
        let (flags, directive) = offered("logs", "--", &[]);
        assert_eq!(directive, directive::NO_FILE_COMP);
        for expected in [
            "--workers",
            "--all",
            "--follow",
            "--tail",
            "--since",
            "--prefix",
            "--namespace",
            "--context",
        ] {
            assert!(
                flags.contains(&expected.to_string()),
                "{expected} missing from {flags:?}"
            );
        }
        assert!(
            !flags.contains(&"-f".to_string()),
            "`--` asks for long flags only: {flags:?}"
        );
        assert!(
            !flags.contains(&"--locustfile".to_string()),
            "run's flags are not logs' flags"
        );

        let (flags, _) = offered("logs", "-", &[]);
        assert!(
            flags.contains(&"-f".to_string()) && flags.contains(&"-n".to_string()),
            "{flags:?}"
        );

        assert_eq!(
            offered("run demo", "--loc", &[]).0,
            ["--locustfile", "--local", "--locust"]
        );
        assert_eq!(
            offered("", "--all", &[]).0,
            ["--all-namespaces"],
            "root flags before a subcommand"
        );
    }

    #[test]
    fn flags_already_given_are_not_offered_again_unless_repeatable() {
        let (flags, _) = offered("run demo --host http://x -e A=1", "--", &[]);
        assert!(!flags.contains(&"--host".to_string()), "{flags:?}");
        assert!(flags.contains(&"--env".to_string()), "--env is repeatable: {flags:?}");
        let (flags, _) = offered("logs demo -f", "-", &[]);
        assert!(
            !flags.contains(&"-f".to_string()) && !flags.contains(&"--follow".to_string()),
            "{flags:?}"
        );
    }

    #[test]
    fn enum_flags_offer_their_values() {
        assert_eq!(
            offered("status", "", &[]).0,
            Vec::<String>::new(),
            "no tests listed: nothing to offer"
        );
        assert_eq!(offered("status -o", "", &[]), (words("table wide json yaml name"), 4));
        assert_eq!(offered("status --output", "y", &[]), (words("yaml"), 4));
        assert_eq!(
            offered("status", "--output=j", &[]),
            (words("json"), 4),
            "bare values, as cobra"
        );
        assert_eq!(offered("run x --dry-run -o", "n", &[]), (words("name"), 4));
        assert_eq!(offered("--color", "", &[]), (words("auto always never"), 4));
        assert_eq!(offered("status --color", "a", &[]), (words("auto always"), 4));
        assert_eq!(offered("completion", "", &[]), (words("bash zsh fish"), 4));
        assert_eq!(
            offered("status -o", "xml", &[]),
            (vec![], 4),
            "no match: no file names either"
        );
        let (lines, _) = candidates(&words("status -o"), "wi", &[]);
        assert_eq!(lines, ["wide\tTable with more columns"]);
    }

    #[test]
    fn path_flags_leave_completion_to_the_shell() {
        for line in [
            "run -f",
            "run demo --locustfile",
            "run demo --locustfile t.py --lib",
            "--kubeconfig",
            "status --kubeconfig",
            "run demo --local --configmap",
        ] {
            let (lines, directive) = offered(line, "", &[]);
            let expected = if line.ends_with("--configmap") { 4 } else { 0 };
            assert_eq!((lines.len(), directive), (0, expected), "after `{line}`");
        }
        // `logs -f` is --follow, not a file.
        assert_eq!(offered("logs -f", "", &["demo"]).0, ["demo"]);
    }

    #[test]
    fn flags_with_free_values_offer_nothing_and_no_files() {
        for line in [
            "run demo --host",
            "status -n",
            "run demo --workers",
            "logs demo --since",
            "--context",
        ] {
            assert_eq!(offered(line, "", &["demo"]), (vec![], 4), "after `{line}`");
        }
    }

    #[test]
    fn the_name_of_status_logs_and_tui_offers_tests_by_prefix() {
        let names = ["checkout", "checkout-v2", "login"];
        for command in ["status", "logs", "tui", "ui", "report", "stop"] {
            assert_eq!(offered(command, "", &names), (words("checkout checkout-v2 login"), 4));
            assert_eq!(offered(command, "che", &names), (words("checkout checkout-v2"), 4));
        }
        assert_eq!(
            offered("logs -n load --workers", "l", &names).0,
            ["login"],
            "flags before NAME"
        );
        assert_eq!(
            offered("-n load logs", "l", &names).0,
            ["login"],
            "global flags before the command"
        );
        assert_eq!(
            offered("logs --tail 10", "l", &names).0,
            ["login"],
            "a flag's value is not NAME"
        );
        assert_eq!(offered("logs checkout", "", &names), (vec![], 4), "only one NAME");
        assert_eq!(offered("run", "", &names), (vec![], 4), "run names a new test");
        assert_eq!(offered("version", "", &names), (vec![], 4));
        assert_eq!(offered("stauts", "", &names), (vec![], 4), "unknown command: nothing");
    }

    #[test]
    fn test_names_are_fetched_only_for_a_name() {
        assert!(needs_test_names(&words("status"), ""));
        assert!(needs_test_names(&words("-n load tui"), "c"));
        assert!(!needs_test_names(&words("status"), "-"));
        assert!(!needs_test_names(&words("status -o"), ""));
        assert!(!needs_test_names(&words("run"), ""));
        assert!(!needs_test_names(&[], ""));
        assert!(
            needs_test_names(&words("report new --compare"), ""),
            "--compare names a test"
        );
    }

    #[test]
    fn connection_flags_are_read_from_the_words_in_every_spelling() {
        let parsed = GlobalArgs::default();
        let read = |line: &str| connection_args(&words(line), &parsed);
        assert_eq!(read("status -n load").namespace.as_deref(), Some("load"));
        assert_eq!(read("status --namespace load").namespace.as_deref(), Some("load"));
        assert_eq!(read("status --namespace=load").namespace.as_deref(), Some("load"));
        assert_eq!(read("-nload status").namespace.as_deref(), Some("load"));
        assert_eq!(
            read("logs -fn load").namespace.as_deref(),
            Some("load"),
            "clustered shorts"
        );
        let args = read("--context kind-dev tui --kubeconfig /tmp/kc");
        assert_eq!(args.context.as_deref(), Some("kind-dev"));
        assert_eq!(args.kubeconfig, Some(PathBuf::from("/tmp/kc")));
        assert_eq!(read("status").namespace, None);

        let from_clap = GlobalArgs {
            namespace: Some("parsed".into()),
            ..GlobalArgs::default()
        };
        assert_eq!(
            connection_args(&words("status"), &from_clap).namespace.as_deref(),
            Some("parsed")
        );
        assert_eq!(
            connection_args(&words("status -n typed"), &from_clap)
                .namespace
                .as_deref(),
            Some("typed")
        );
    }

    #[test]
    fn words_after_double_dash_are_positional() {
        assert_eq!(offered("logs --", "-x", &["-x-test"]).0, ["-x-test"]);
    }

    #[test]
    fn descriptions_stay_on_one_line() {
        let (lines, _) = candidates(&words("run demo"), "--", &[]);
        assert!(!lines.is_empty());
        for line in &lines {
            assert!(!line.contains('\n') && line.matches('\t').count() <= 1, "{line:?}");
        }
        assert!(
            lines
                .iter()
                .any(|line| line.starts_with("--autoquit\tSeconds the master stays")),
            "{lines:?}"
        );
    }

    #[test]
    fn scripts_name_the_binary_and_its_subcommands() {
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let mut script = Vec::new();
            write_script(shell, &mut script);
            let script = String::from_utf8(script).unwrap_or_default();
            assert!(script.contains(BIN_NAME), "{shell:?}");
            assert!(script.contains("status") && script.contains("locustfile"), "{shell:?}");
            assert!(
                !script.contains("__complete"),
                "the hidden command stays hidden: {shell:?}"
            );
        }
    }
}
