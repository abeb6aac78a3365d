//! Master and worker argv, in upstream's order: the user's command seed, `--otel`, the operator's
//! flags, then `extraArgs` (Locust's argparse lets a later flag win). The seed is split like a
//! shell would (quoted arguments stay one argument), unlike upstream's whitespace split.

use crate::api::v2::LocustTestSpec;
use crate::constants::MASTER_PORT;
use crate::naming;

/// A command seed that cannot be split into arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: cannot split {seed:?} into arguments ({reason}); close every quote or escape it with \\")]
pub struct CommandError {
    /// The spec field holding the seed, e.g. `spec.master.command`.
    pub field: &'static str,
    /// The seed as given.
    pub seed: String,
    /// What the shell-word splitter reported.
    pub reason: String,
}

/// Flags the operator sets itself; repeating them in a seed or `extraArgs` overrides or conflicts.
pub const OPERATOR_FLAGS: &[&str] = &[
    "--master",
    "--worker",
    "--master-port",
    "--master-host",
    "--expect-workers",
    "--autostart",
    "--autoquit",
    "--otel",
    "--enable-rebalancing",
    "--only-summary",
];

/// Splits a command seed like a POSIX shell would, without expanding anything.
pub fn split_seed(field: &'static str, seed: &str) -> Result<Vec<String>, CommandError> {
    shell_words::split(seed).map_err(|error| CommandError {
        field,
        seed: seed.to_string(),
        reason: error.to_string(),
    })
}

/// Arguments of the master container.
pub fn master_args(spec: &LocustTestSpec) -> Result<Vec<String>, CommandError> {
    let mut args = split_seed("spec.master.command", &spec.master.command)?;
    if spec.otel().is_some() {
        args.push("--otel".into());
    }
    args.push("--master".into());
    args.push(format!("--master-port={MASTER_PORT}"));
    args.push(format!("--expect-workers={}", expected_worker_connections(spec)));
    if spec.master.autostart {
        args.push("--autostart".into());
    }
    // An absent autoquit block means enabled with the default timeout (upstream). Locust refuses
    // `--autoquit` without `--autostart` (exit 1), so a test started by hand gets neither.
    let autoquit = spec.master.autoquit.clone().unwrap_or_default();
    if spec.master.autostart && autoquit.enabled {
        args.push("--autoquit".into());
        args.push(autoquit.timeout.to_string());
    }
    args.push("--enable-rebalancing".into());
    args.push("--only-summary".into());
    args.extend(spec.master.extra_args.iter().flatten().cloned());
    Ok(args)
}

/// How many worker connections the master should wait for: each process a worker forks with
/// `--processes N` connects as its own worker, so N pods x N processes (Locust counts them so).
/// `--processes -1` (one per CPU) cannot be known in advance; then the pod count is used.
pub fn expected_worker_connections(spec: &LocustTestSpec) -> i32 {
    let seed = shell_words::split(&spec.worker.command).unwrap_or_default();
    let args = seed.iter().chain(spec.worker.extra_args.iter().flatten());
    let mut processes = 1;
    let mut previous_was_flag = false;
    for arg in args {
        let value = match arg.strip_prefix("--processes=") {
            Some(value) => Some(value),
            None if previous_was_flag => Some(arg.as_str()),
            None => None,
        };
        previous_was_flag = arg == "--processes";
        if let Some(count) = value.and_then(|v| v.parse::<i32>().ok()) {
            processes = if count > 0 { count } else { 1 };
        }
    }
    spec.worker.replicas.saturating_mul(processes)
}

/// Arguments of each worker container; workers reach the master through its Service.
pub fn worker_args(test_name: &str, spec: &LocustTestSpec) -> Result<Vec<String>, CommandError> {
    let mut args = split_seed("spec.worker.command", &spec.worker.command)?;
    if spec.otel().is_some() {
        args.push("--otel".into());
    }
    args.push("--worker".into());
    args.push(format!("--master-port={MASTER_PORT}"));
    args.push(format!("--master-host={}", naming::master_name(test_name)));
    args.extend(spec.worker.extra_args.iter().flatten().cloned());
    Ok(args)
}

/// Operator-managed flags that a user's seed or extraArgs repeats (for a warning, not an error).
pub fn overridden_operator_flags(args: &[String]) -> Vec<&'static str> {
    OPERATOR_FLAGS
        .iter()
        .copied()
        .filter(|flag| {
            args.iter()
                .filter(|arg| *arg == flag || arg.starts_with(&format!("{flag}=")))
                .count()
                > 1
        })
        .collect()
}

/// Where a master and its workers listen when run as local processes instead of pods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalEndpoints {
    /// Port the master binds for worker connections.
    pub master_port: u16,
    /// Port of the master's web UI and JSON stats.
    pub web_port: u16,
}

/// Rewrites in-cluster argv to run on 127.0.0.1: the master binds the given ports on loopback
/// (it ignores `--master-port`, so `--master-bind-port` is what moves it), and workers dial it.
pub fn localize(args: &[String], role: naming::Role, endpoints: LocalEndpoints) -> Vec<String> {
    let mut local: Vec<String> = args
        .iter()
        .filter(|arg| !arg.starts_with("--master-port=") && !arg.starts_with("--master-host="))
        .cloned()
        .collect();
    match role {
        naming::Role::Master => local.extend([
            "--master-bind-host=127.0.0.1".to_string(),
            format!("--master-bind-port={}", endpoints.master_port),
            "--web-host=127.0.0.1".to_string(),
            format!("--web-port={}", endpoints.web_port),
        ]),
        naming::Role::Worker => local.extend([
            "--master-host=127.0.0.1".to_string(),
            format!("--master-port={}", endpoints.master_port),
        ]),
    }
    local
}
