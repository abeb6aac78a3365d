//! Command-line options of `cargo run -p e2e -- [OPTIONS]`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Exit codes, stable for CI.
pub mod exit {
    /// Every scenario that ran passed, and at least one ran.
    pub const PASSED: u8 = 0;
    /// A scenario failed, or the suite could not set up (operator, CRD, tools).
    pub const FAILED: u8 = 1;
    /// The command line is wrong (clap's own code).
    pub const USAGE: u8 = 2;
    /// Nothing was tested: no reachable cluster, or every selected scenario was skipped
    /// (automake's "skipped" code, so CI never reads it as success).
    pub const SKIPPED: u8 = 77;
    /// Interrupted (Ctrl-C); the run's namespaces are deleted on the way out.
    pub const INTERRUPTED: u8 = 130;
}

/// How the operator under test runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OperatorMode {
    /// The workspace's `operator` binary as a process on this machine (out of cluster), after a
    /// server-side apply of the generated CRD. The API server cannot call a webhook on this machine,
    /// so the v1 <-> v2 conversion scenarios are skipped.
    Local,
    /// The Helm chart `charts/locust-operator` (`helm upgrade --install`) with `--image`: the
    /// operator in the cluster, with its RBAC and the conversion webhook.
    Helm,
}

const AFTER_HELP: &str = "\
Runs against the cluster of the current kubeconfig context ($KUBECONFIG, else ~/.kube/config), or
--kubeconfig and --context. Each scenario gets its own namespace lt-e2e-<scenario>-<random>, deleted afterwards.

Examples:
  cargo run -p e2e -- --list
  cargo run -p e2e                                         # operator as a local process
  cargo run -p e2e -- --operator helm --image locust-operator:e2e --image-pull-policy Never
  cargo run -p e2e -- --skip-real-locust                   # a control plane with simulated nodes (kwok)
  cargo run -p e2e -- --only invalid --only crd

Exit codes: 0 every scenario that ran passed, 1 a scenario or the setup failed, 2 usage,
77 nothing was tested (no reachable cluster, or everything selected was skipped), 130 interrupted.";

/// End-to-end tests of the LocustTest CRD, the operator and `kubectl locust` on a real cluster.
#[derive(Debug, Clone, Parser)]
#[command(name = "e2e", version, about, long_about = None, after_help = AFTER_HELP)]
pub struct Options {
    /// How the operator runs: `local` (a process on this machine) or `helm` (the chart, in the cluster).
    #[arg(long, value_enum, default_value_t = OperatorMode::Local)]
    pub operator: OperatorMode,

    /// Operator image for `--operator helm`, REPOSITORY:TAG (e.g. one loaded with `kind load docker-image`).
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// Pull policy of the operator image for `--operator helm` (`Never` for an image loaded into kind).
    #[arg(long, value_name = "POLICY", default_value = "IfNotPresent")]
    pub image_pull_policy: String,

    /// More `--set KEY=VALUE` for the chart (repeatable).
    #[arg(long = "helm-set", value_name = "KEY=VALUE")]
    pub helm_set: Vec<String>,

    /// Namespace of the Helm release.
    #[arg(long, value_name = "NAMESPACE", default_value = "locust-e2e-system")]
    pub operator_namespace: String,

    /// Leave the Helm release installed after the run (the CRD always stays: it carries the keep policy).
    #[arg(long)]
    pub keep_operator: bool,

    /// Skip the scenarios that need Locust containers to really run, or a real kubelet (image pulls,
    /// volume mounts): for a control plane whose nodes are simulated (kwok).
    #[arg(long)]
    pub skip_real_locust: bool,

    /// Run only the scenarios whose name contains this text (repeatable: any of them).
    #[arg(long, value_name = "TEXT")]
    pub only: Vec<String>,

    /// Print the scenarios and what they need, then exit (needs no cluster).
    #[arg(long)]
    pub list: bool,

    /// Keep each scenario's namespace (for a look afterwards) instead of deleting it.
    #[arg(long)]
    pub keep_namespaces: bool,

    /// Multiply every wait of the suite by this factor (slow clusters, cold image caches).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.0, value_parser = parse_scale)]
    pub timeout_scale: f64,

    /// The operator's pod health grace period for this run (the product default is 2m).
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub grace_period: Duration,

    /// Seconds a test's master stays after its run time (spec.master.autoquit.timeout; the product default is 60).
    #[arg(long, value_name = "SECONDS", default_value_t = 2)]
    pub autoquit: i32,

    /// Locust image of the tests the suite creates.
    #[arg(long, value_name = "IMAGE", default_value = "locustio/locust:2.20.0")]
    pub locust_image: String,

    /// Add a toleration of every taint to the tests the suite creates (fake nodes are often tainted,
    /// e.g. kwok's `kwok.x-k8s.io/node=fake:NoSchedule`).
    #[arg(long)]
    pub tolerate_taints: bool,

    /// Kubeconfig file to use (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,

    /// Kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "NAME")]
    pub context: Option<String>,

    /// The `kubectl-locust` binary to test (default: built with cargo next to this binary).
    #[arg(long, value_name = "PATH")]
    pub plugin: Option<PathBuf>,

    /// The `operator` binary for `--operator local` (default: built with cargo next to this binary).
    #[arg(long, value_name = "PATH")]
    pub operator_binary: Option<PathBuf>,

    /// Do not run `cargo build` for the operator and plugin binaries; use what is there.
    #[arg(long)]
    pub no_build: bool,

    /// Where run artifacts go (the operator's log, failed scenarios' cluster state).
    #[arg(long, value_name = "DIR")]
    pub artifacts: Option<PathBuf>,
}

fn parse_scale(raw: &str) -> Result<f64, String> {
    match raw.parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err(format!("{raw:?} is not a positive number (e.g. 2 or 0.5)")),
    }
}

impl Options {
    /// `base` scaled by `--timeout-scale`.
    pub fn scaled(&self, base: Duration) -> Duration {
        base.mul_f64(self.timeout_scale)
    }

    /// Problems with the combination of options, as messages.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.operator == OperatorMode::Helm && self.image.is_none() {
            problems.push(
                "--operator helm needs --image REPOSITORY:TAG: build it with `docker build -t locust-operator:e2e .`, \
                 load it (`kind load docker-image locust-operator:e2e`) and pass --image locust-operator:e2e \
                 --image-pull-policy Never"
                    .to_string(),
            );
        }
        if let Some(image) = &self.image
            && split_image(image).is_none()
        {
            problems.push(format!("--image {image:?}: expected REPOSITORY:TAG"));
        }
        if self.autoquit < 0 {
            problems.push("--autoquit must be 0 or more seconds".to_string());
        }
        problems
    }
}

/// `registry/repo:tag` as (repository, tag); the tag is after the last `:` that follows the last `/`.
pub fn split_image(image: &str) -> Option<(&str, &str)> {
    let slash = image.rfind('/').map_or(0, |index| index + 1);
    let colon = image[slash..].rfind(':')? + slash;
    let (repository, tag) = (&image[..colon], &image[colon + 1..]);
    (!repository.is_empty() && !tag.is_empty()).then_some((repository, tag))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn images_split_at_the_tag_not_at_a_registry_port() {
        assert_eq!(split_image("locust-operator:e2e"), Some(("locust-operator", "e2e")));
        assert_eq!(
            split_image("localhost:5000/locust/operator:0.1.0"),
            Some(("localhost:5000/locust/operator", "0.1.0"))
        );
        assert_eq!(split_image("localhost:5000/operator"), None);
        assert_eq!(split_image("operator"), None);
    }

    #[test]
    fn helm_mode_needs_an_image() {
        let options = Options::try_parse_from(["e2e", "--operator", "helm"]).unwrap();
        assert!(options.problems()[0].contains("--image"), "{:?}", options.problems());
        let options = Options::try_parse_from(["e2e", "--operator", "helm", "--image", "x:1"]).unwrap();
        assert!(options.problems().is_empty());
    }

    #[test]
    fn fast_settings_are_options_with_short_defaults() {
        let options = Options::try_parse_from(["e2e"]).unwrap();
        assert_eq!(options.grace_period, Duration::from_secs(15));
        assert_eq!(options.autoquit, 2);
        assert_eq!(options.operator, OperatorMode::Local);
        let slow = Options::try_parse_from(["e2e", "--timeout-scale", "3"]).unwrap();
        assert_eq!(slow.scaled(Duration::from_secs(10)), Duration::from_secs(30));
        assert!(Options::try_parse_from(["e2e", "--timeout-scale", "0"]).is_err());
    }
}
