//! Shell completion through the real binary: the `completion bash|zsh|fish` scripts (bash's run in
//! bash), and `kubectl_complete-locust` called the way kubectl calls it — found on PATH, given the
//! words after `kubectl locust` — listing the LocustTests of an in-memory API server served on
//! 127.0.0.1, and staying quiet and quick when the cluster cannot answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fake_api::FakeApi;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;
use tokio::process::Command;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-locust");
/// Longest any child process may take before the test fails instead of hanging.
const CHILD_LIMIT: Duration = Duration::from_secs(30);

struct Finished {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

async fn finish(mut command: Command) -> Finished {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let started = Instant::now();
    let child = command.spawn().expect("the child starts");
    let output = tokio::time::timeout(CHILD_LIMIT, child.wait_with_output())
        .await
        .expect("the child ends in time")
        .expect("the child's output is readable");
    Finished {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        took: started.elapsed(),
    }
}

fn helper_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("kubectl_complete-locust")
}

/// PATH as kubectl sees it with the plugin installed: the helper's directory and the binary's,
/// plus the system's for `sh`.
fn plugin_path() -> String {
    let binary_dir = Path::new(PLUGIN).parent().unwrap();
    let helper_dir = helper_script().parent().unwrap().to_path_buf();
    format!("{}:{}:/usr/bin:/bin", helper_dir.display(), binary_dir.display())
}

/// `kubectl_complete-locust WORDS...`, found on PATH, with a HOME and KUBECONFIG of its own so
/// the machine's cluster setup cannot leak in.
async fn complete(home: &Path, words: &[&str]) -> Finished {
    let mut command = Command::new("kubectl_complete-locust");
    command
        .args(words)
        .env_clear()
        .env("PATH", plugin_path())
        .env("HOME", home)
        .env("KUBECONFIG", home.join("no-such-kubeconfig"));
    finish(command).await
}

/// The candidates (without descriptions) and the directive line.
fn parse(finished: &Finished) -> (Vec<String>, String) {
    let mut lines: Vec<&str> = finished.stdout.lines().collect();
    let directive = lines.pop().unwrap_or_default().to_string();
    let candidates = lines
        .iter()
        .map(|line| line.split('\t').next().unwrap_or_default().to_string())
        .collect();
    (candidates, directive)
}

fn locust_test(namespace: &str, name: &str) -> serde_json::Value {
    json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": name, "namespace": namespace },
        "spec": {
            "image": "locustio/locust:2.31.0",
            "master": { "command": "--locustfile /lotest/src/demo.py" },
            "worker": { "command": "--locustfile /lotest/src/demo.py", "replicas": 2 },
        },
    })
}

#[test]
fn the_helper_script_is_executable_and_runs_the_plugin() {
    use std::os::unix::fs::PermissionsExt;
    let script = helper_script();
    let mode = std::fs::metadata(&script).unwrap().permissions().mode();
    assert_eq!(
        mode & 0o111,
        0o111,
        "{} must be executable by everyone",
        script.display()
    );
    let text = std::fs::read_to_string(&script).unwrap();
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");
    assert!(text.contains("exec kubectl-locust __complete -- \"$@\""), "{text}");
}

#[tokio::test]
async fn kubectl_style_calls_complete_commands_flags_and_values() {
    let home = tempfile::tempdir().unwrap();

    let done = complete(home.path(), &[""]).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert_eq!(
        parse(&done),
        (
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
            .map(String::from)
            .to_vec(),
            ":4".to_string()
        )
    );
    assert!(
        done.stdout.contains("status\tList tests, or show one in detail"),
        "descriptions after a tab: {}",
        done.stdout
    );

    let done = complete(home.path(), &["logs", "--fo"]).await;
    assert_eq!(parse(&done), (vec!["--follow".to_string()], ":4".to_string()));

    let done = complete(home.path(), &["status", "-o", ""]).await;
    assert_eq!(parse(&done).0, ["table", "wide", "json", "yaml", "name"]);

    let done = complete(home.path(), &["run", "demo", "--locustfile", ""]).await;
    assert_eq!(
        parse(&done),
        (vec![], ":0".to_string()),
        "a path: the shell completes files"
    );

    // Words that would be flags of `__complete` itself reach the completion logic untouched.
    for words in [
        &["--help", ""][..],
        &["--color", ""],
        &["-n", "load", "--kubeconfig", "/nowhere", "lo"],
        &["run", "x", "--", "-"],
    ] {
        let done = complete(home.path(), words).await;
        assert_eq!(done.code, Some(0), "{words:?}: {}", done.stderr);
        assert!(done.stderr.is_empty(), "{words:?}: {}", done.stderr);
        assert!(
            done.stdout.ends_with(":4\n") || done.stdout.ends_with(":0\n"),
            "{words:?}: {}",
            done.stdout
        );
    }
    let done = complete(home.path(), &["--color", ""]).await;
    assert_eq!(parse(&done).0, ["auto", "always", "never"]);
    let done = complete(home.path(), &["-n", "load", "--kubeconfig", "/nowhere", "lo"]).await;
    assert_eq!(parse(&done).0, ["logs"]);
}

#[tokio::test]
async fn test_names_come_from_the_namespace_of_the_kubeconfig_or_of_n() {
    let fake = FakeApi::new(Timestamp::from_second(1_700_000_000).unwrap());
    for (namespace, name) in [
        ("load", "checkout"),
        ("load", "checkout-v2"),
        ("load", "login"),
        ("other", "search"),
    ] {
        fake.insert(locust_test(namespace, name));
    }
    let server = fake.serve_http().await.unwrap();
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig("load")).unwrap();
    let kubeconfig = kubeconfig.to_str().unwrap();

    let done = complete(home.path(), &["--kubeconfig", kubeconfig, "status", ""]).await;
    assert_eq!(done.code, Some(0), "{}", done.stderr);
    assert!(done.stderr.is_empty(), "{}", done.stderr);
    assert_eq!(
        parse(&done),
        (
            ["checkout", "checkout-v2", "login"].map(String::from).to_vec(),
            ":4".to_string()
        )
    );

    let done = complete(home.path(), &["logs", "--kubeconfig", kubeconfig, "--workers", "che"]).await;
    assert_eq!(parse(&done).0, ["checkout", "checkout-v2"]);

    let done = complete(home.path(), &["tui", "-n", "other", "--kubeconfig", kubeconfig, ""]).await;
    assert_eq!(parse(&done).0, ["search"], "-n wins over the context's namespace");

    // $KUBECONFIG is honoured as kubectl does.
    let mut command = Command::new("kubectl_complete-locust");
    command
        .args(["status", "l"])
        .env_clear()
        .env("PATH", plugin_path())
        .env("HOME", home.path())
        .env("KUBECONFIG", kubeconfig);
    assert_eq!(parse(&finish(command).await).0, ["login"]);

    // Where names are not wanted, the cluster is not asked.
    fake.clear_requests();
    complete(home.path(), &["--kubeconfig", kubeconfig, "status", "-"]).await;
    complete(home.path(), &["--kubeconfig", kubeconfig, "run", ""]).await;
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());

    // RBAC says no: no names, no error on the terminal.
    fake.forbid("GET", "locusttests");
    let done = complete(home.path(), &["--kubeconfig", kubeconfig, "status", ""]).await;
    assert_eq!(
        (done.code, done.stdout.as_str(), done.stderr.as_str()),
        (Some(0), ":4\n", "")
    );
}

#[tokio::test]
async fn an_unreachable_or_silent_cluster_gives_no_names_within_the_time_limit() {
    let home = tempfile::tempdir().unwrap();

    // Nothing listens: refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_port = closed.local_addr().unwrap().port();
    drop(closed);
    // Accepts connections (the kernel's backlog) but never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();

    for port in [closed_port, silent_port] {
        let kubeconfig = home.path().join(format!("kubeconfig-{port}"));
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:{port}\n\
                 users:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n\
                 current-context: c\n"
            ),
        )
        .unwrap();
        let done = complete(home.path(), &["--kubeconfig", kubeconfig.to_str().unwrap(), "logs", ""]).await;
        assert_eq!(
            (done.code, done.stdout.as_str(), done.stderr.as_str()),
            (Some(0), ":4\n", ""),
            "port {port}"
        );
        assert!(done.took < Duration::from_secs(5), "port {port}: took {:?}", done.took);
    }
    drop(silent);

    // No kubeconfig at all.
    let done = complete(home.path(), &["status", ""]).await;
    assert_eq!(
        (done.code, done.stdout.as_str(), done.stderr.as_str()),
        (Some(0), ":4\n", "")
    );
}

#[tokio::test]
async fn completion_scripts_name_the_commands_and_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let mut command = Command::new(PLUGIN);
        command.args(["completion", shell]);
        let done = finish(command).await;
        assert_eq!(done.code, Some(0), "{shell}: {}", done.stderr);
        assert!(done.stderr.is_empty(), "{shell}: {}", done.stderr);
        let script = &done.stdout;
        for expected in ["kubectl-locust", "status", "logs", "tui"] {
            assert!(script.contains(expected), "{shell} script lacks {expected}");
        }
        for flag in ["locustfile", "namespace", "kubeconfig", "follow"] {
            // fish declares `-l NAME`; bash and zsh spell `--NAME`.
            let spelled = if shell == "fish" {
                format!("-l {flag}")
            } else {
                format!("--{flag}")
            };
            assert!(script.contains(&spelled), "{shell} script lacks {spelled}");
        }
        assert!(
            !script.contains("__complete"),
            "{shell}: the hidden command stays hidden"
        );
    }
}

/// Runs `source <(kubectl-locust completion bash)` in bash and completes `line` (words split on
/// spaces; a trailing space starts an empty word) as bash would on TAB.
async fn bash_completes(line: &str) -> Vec<String> {
    let mut words: Vec<&str> = line.split(' ').collect();
    if words.last() == Some(&"") {
        words.pop();
        words.push("''");
    }
    let program = format!(
        "set -e\nsource <(\"$PLUGIN\" completion bash)\nCOMP_WORDS=({words})\nCOMP_CWORD=$((${{#COMP_WORDS[@]}} - 1))\n\
         COMP_LINE=\"${{COMP_WORDS[*]}}\"\nCOMP_POINT=${{#COMP_LINE}}\n\
         _kubectl__locust kubectl-locust \"${{COMP_WORDS[COMP_CWORD]}}\" \"${{COMP_WORDS[COMP_CWORD-1]}}\"\n\
         printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        words = words.join(" ")
    );
    let mut command = Command::new("bash");
    command.arg("-c").arg(program).env("PLUGIN", PLUGIN);
    let done = finish(command).await;
    assert_eq!(done.code, Some(0), "{line}: {}", done.stderr);
    done.stdout
        .lines()
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

#[tokio::test]
async fn the_bash_script_is_valid_and_completes_subcommands_and_their_flags() {
    let mut command = Command::new("bash");
    command
        .arg("-c")
        .arg("\"$PLUGIN\" completion bash > \"$SCRIPT\" && bash -n \"$SCRIPT\"");
    let scratch = tempfile::tempdir().unwrap();
    command
        .env("PLUGIN", PLUGIN)
        .env("SCRIPT", scratch.path().join("kubectl-locust.bash"));
    let done = finish(command).await;
    assert_eq!(done.code, Some(0), "bash -n: {}", done.stderr);

    assert_eq!(bash_completes("kubectl-locust st").await, ["status", "stop"]);
    assert_eq!(
        bash_completes("kubectl-locust status -o ").await,
        ["table", "wide", "json", "yaml", "name"]
    );
    assert_eq!(bash_completes("kubectl-locust logs --fo").await, ["--follow"]);
    assert_eq!(
        bash_completes("kubectl-locust completion ")
            .await
            .last()
            .map(String::as_str),
        Some("fish")
    );
    let run_flags = bash_completes("kubectl-locust run x --lo").await;
    assert_eq!(run_flags, ["--locustfile", "--local", "--locust"]);
}
