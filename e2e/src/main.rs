//! `cargo run -p e2e -- [OPTIONS]`: the end-to-end suite against the cluster KUBECONFIG names.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use clap::Parser as _;
use e2e::catalogue::{self, Scenario};
use e2e::checks;
use e2e::cli::{OperatorMode, Options, exit};
use e2e::cluster::{self, Cluster, run};
use e2e::report::{self, Outcome};
use e2e::scenarios::{Ctx, Suite, run_scenario};
use e2e::setup;
use shared::config::OperatorConfig;

/// How long the cluster has to answer before the suite says there is none.
const REACH_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let options = Options::parse();
    if options.list {
        print!("{}", list(&options));
        return ExitCode::SUCCESS;
    }
    let problems = options.problems();
    if !problems.is_empty() {
        for problem in problems {
            eprintln!("error: {problem}");
        }
        return ExitCode::from(exit::USAGE);
    }
    let scenarios: Vec<Scenario> = catalogue::all().into_iter().filter(|s| s.selected(&options)).collect();
    if scenarios.is_empty() {
        eprintln!(
            "error: --only {:?} matches no scenario; `--list` shows them",
            options.only
        );
        return ExitCode::from(exit::USAGE);
    }
    if scenarios.iter().all(|s| s.skip_reason(&options).is_some()) {
        // Nothing selected can run with these options: say so without touching a cluster.
        let outcomes: Vec<(String, Outcome)> = scenarios
            .iter()
            .map(|s| {
                (
                    s.name.clone(),
                    Outcome::Skipped(s.skip_reason(&options).unwrap_or_default()),
                )
            })
            .collect();
        print!("{}", report::summary(&outcomes));
        return ExitCode::from(report::exit_code(&outcomes));
    }
    let cluster = match cluster::connect(options.kubeconfig.as_deref(), options.context.as_deref(), REACH_TIMEOUT).await
    {
        Ok(cluster) => cluster,
        Err(why) => {
            eprintln!("SKIPPED — no reachable cluster: {why}");
            eprintln!(
                "Nothing was tested. Point KUBECONFIG (or --context) at a cluster, e.g. `kind create cluster`, and run again."
            );
            return ExitCode::from(exit::SKIPPED);
        }
    };
    println!("cluster: {} (Kubernetes {})", cluster.server, cluster.version);
    let code = tokio::select! {
        code = suite(options.clone(), cluster.clone(), scenarios) => code,
        _ = tokio::signal::ctrl_c() => {
            // Dropping the suite stopped a local operator (kill on drop); the namespaces go here.
            eprintln!("interrupted: deleting this run's namespaces");
            let cleanup = tokio::time::timeout(Duration::from_secs(20), cluster.delete_run_namespaces()).await;
            match cleanup {
                Ok(Ok(count)) => eprintln!("deleted {count} namespace(s)"),
                _ => eprintln!(
                    "could not delete them all: `kubectl delete ns -l {}={}` removes them",
                    cluster::RUN_LABEL,
                    cluster.run
                ),
            }
            if options.operator == OperatorMode::Helm && !options.keep_operator {
                eprintln!("the chart release {} stays installed: `helm uninstall {} -n {}`", setup::HELM_RELEASE, setup::HELM_RELEASE, options.operator_namespace);
            }
            exit::INTERRUPTED
        }
    };
    ExitCode::from(code)
}

/// `--list`: every scenario, what it needs, and whether these options run it.
fn list(options: &Options) -> String {
    let scenarios = catalogue::all();
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut text = String::new();
    for scenario in scenarios {
        let runs = match scenario.skip_reason(options) {
            None if scenario.selected(options) => "runs".to_string(),
            None => "not selected (--only)".to_string(),
            Some(why) => format!("skipped: {why}"),
        };
        text.push_str(&format!(
            "{:width$}  {:13}  {}\n{:width$}  {:13}  [{runs}]\n",
            scenario.name,
            scenario.needs.as_str(),
            scenario.about,
            "",
            ""
        ));
    }
    text
}

async fn suite(options: Options, cluster: Cluster, scenarios: Vec<Scenario>) -> u8 {
    let mut outcomes: Vec<(String, Outcome)> = Vec::new();
    match setup_and_run(&options, cluster, &scenarios, &mut outcomes).await {
        Ok(()) => {}
        Err(error) => {
            eprintln!("error: the suite could not set up: {error:#}");
            outcomes.push((
                "setup".to_string(),
                Outcome::Failed {
                    after: Duration::ZERO,
                    why: format!("{error:#}"),
                },
            ));
        }
    }
    print!("\n{}", report::summary(&outcomes));
    report::exit_code(&outcomes)
}

fn artifacts_dir(options: &Options) -> Result<PathBuf> {
    let dir = match &options.artifacts {
        Some(dir) => dir.clone(),
        None => {
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs();
            setup::workspace_root().join("target/e2e").join(stamp.to_string())
        }
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

async fn setup_and_run(
    options: &Options,
    cluster: Cluster,
    scenarios: &[Scenario],
    outcomes: &mut Vec<(String, Outcome)>,
) -> Result<()> {
    run(
        tokio::process::Command::new("kubectl").args(["version", "--client"]),
        Duration::from_secs(20),
    )
    .await
    .context("kubectl is needed (the recipes and checks run it)")?
    .success("kubectl version --client")?;
    let artifacts = artifacts_dir(options)?;
    println!("artifacts: {}", artifacts.display());
    let binaries = setup::binaries(options).await?;
    let mut operator = setup::start_operator(options, &cluster, &binaries, &artifacts).await?;
    let config = match options.operator {
        // A local operator reads the same environment as this process.
        OperatorMode::Local => OperatorConfig::from_env().context("the operator's environment variables")?,
        OperatorMode::Helm => setup::chart_operator_config(&cluster, &options.operator_namespace).await?,
    };
    let suite = Suite {
        options: options.clone(),
        cluster: cluster.clone(),
        binaries,
        operator_account: operator.service_account(),
        config,
    };
    for scenario in scenarios {
        if let Some(why) = scenario.skip_reason(options) {
            println!("SKIP  {}: {why}", scenario.name);
            outcomes.push((scenario.name.clone(), Outcome::Skipped(why)));
            continue;
        }
        let outcome = match operator.check_alive() {
            Ok(()) => one(&suite, scenario, &artifacts).await,
            Err(error) => Outcome::Failed {
                after: Duration::ZERO,
                why: format!("{error:#}"),
            },
        };
        outcomes.push((scenario.name.clone(), outcome));
    }
    operator.stop(&cluster, options.keep_operator).await
}

/// Runs one scenario in its own namespace, within its limit; keeps what the cluster held when it failed.
async fn one(suite: &Suite, scenario: &Scenario, artifacts: &std::path::Path) -> Outcome {
    let options = &suite.options;
    let namespace = checks::namespace_name(&scenario.name, &cluster::random_suffix());
    let limit = options.scaled(scenario.limit);
    println!(
        "RUN   {} (namespace {namespace}, up to {}s)",
        scenario.name,
        limit.as_secs()
    );
    let start = Instant::now();
    let work = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(error) => {
            return Outcome::Failed {
                after: Duration::ZERO,
                why: format!("no work directory: {error}"),
            };
        }
    };
    let result = match suite.cluster.create_namespace(&namespace).await {
        Err(error) => Err(error),
        Ok(()) => {
            let ctx = Ctx {
                suite,
                scenario,
                namespace: namespace.clone(),
                dir: work.path().to_path_buf(),
                deadline: start + limit,
            };
            match tokio::time::timeout(limit + Duration::from_secs(5), run_scenario(&ctx)).await {
                Ok(result) => result,
                Err(_) => Err(anyhow::anyhow!("did not finish within {}s", limit.as_secs())),
            }
        }
    };
    let after = start.elapsed();
    let outcome = match result {
        Ok(()) => {
            println!("PASS  {} ({:.1}s)", scenario.name, after.as_secs_f64());
            Outcome::Passed(after)
        }
        Err(error) => {
            let why = format!("{error:#}");
            println!(
                "FAIL  {} ({:.1}s)\n{}",
                scenario.name,
                after.as_secs_f64(),
                indent(&why)
            );
            save_state(
                &suite.cluster,
                &namespace,
                &artifacts.join(format!("{}.txt", scenario.name)),
            )
            .await;
            Outcome::Failed { after, why }
        }
    };
    if options.keep_namespaces {
        println!("      kept namespace {namespace}");
    } else if let Err(error) = suite.cluster.delete_namespace(&namespace).await {
        eprintln!("      could not delete namespace {namespace}: {error:#}");
    }
    outcome
}

fn indent(text: &str) -> String {
    text.lines().map(|line| format!("      {line}\n")).collect()
}

/// What a failed scenario's namespace held (tests, children, pods, events), for a look afterwards.
async fn save_state(cluster: &Cluster, namespace: &str, path: &std::path::Path) {
    let mut text = String::new();
    for args in [
        vec!["get", "locusttests,jobs,services,pods,configmaps", "-o", "wide"],
        vec!["get", "locusttests", "-o", "yaml"],
        vec!["get", "events", "--sort-by", ".lastTimestamp"],
    ] {
        text.push_str(&format!("$ kubectl -n {namespace} {}\n", args.join(" ")));
        match run(cluster.kubectl(Some(namespace)).args(&args), Duration::from_secs(30)).await {
            Ok(ran) => text.push_str(&format!("{}{}\n", ran.stdout, ran.stderr)),
            Err(error) => text.push_str(&format!("{error:#}\n")),
        }
    }
    if std::fs::write(path, text).is_ok() {
        println!("      cluster state: {}", path.display());
    }
}
