//! Every scenario of the suite: its name, what it needs from the cluster, which requirement of the
//! end-to-end issue it shows, and when it is skipped. Pure data, so `--list` and the unit tests
//! need no cluster.

use std::time::Duration;

use crate::cli::{OperatorMode, Options};
use crate::docs;

/// What a scenario needs from the cluster, from least to most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Needs {
    /// Only the API server (CRD, validation, defaulting, dry runs).
    ApiServer,
    /// The API server, the operator and the controllers (Job, garbage collector, scheduler). Pods
    /// may be simulated: nothing depends on a container really running.
    ControlPlane,
    /// A real kubelet and container runtime (image pulls, volume mounts), but not Locust itself.
    Kubelet,
    /// Locust containers that really run and reach each other.
    Locust,
}

impl Needs {
    /// As `--list` and the summary print it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ApiServer => "api-server",
            Self::ControlPlane => "control-plane",
            Self::Kubelet => "kubelet",
            Self::Locust => "real-locust",
        }
    }

    /// Skipped with `--skip-real-locust` (a control plane with simulated nodes).
    pub fn needs_real_pods(self) -> bool {
        matches!(self, Self::Kubelet | Self::Locust)
    }
}

/// The requirements of the end-to-end issue; every one is shown by at least one scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Requirement {
    /// The generated CRD is accepted by a real API server (established, names accepted).
    CrdAccepted,
    /// The API server applies the CRD's defaults.
    Defaulting,
    /// Every YAML example of the spec is accepted and produces the objects its text promises.
    DocExamples,
    /// A passing test reaches Succeeded with startTime and completionTime.
    PassingTestSucceeds,
    /// A failing master reaches Failed with TestFailed.
    FailingMasterFails,
    /// An image that cannot be pulled gives PodsHealthy=False ImagePullError after the grace period.
    ImagePullError,
    /// A missing test-file ConfigMap gives ConfigurationError naming it.
    MissingConfigMap,
    /// Deleting the worker Job while running recreates it.
    WorkerJobRecreated,
    /// Editing a running test sets SpecDrifted.
    SpecDrifted,
    /// v1 readable as v2 and the reverse; a v2-only field survives a v1 round trip.
    Conversion,
    /// Invalid objects are rejected by the API server with the CRD's messages.
    InvalidRejected,
    /// The `kubectl wait` and shell recipes of the API reference work verbatim.
    Recipes,
    /// `kubectl locust run --wait` exits 0 and non-zero accordingly.
    PluginRunWait,
    /// `kubectl locust status -o json` returns what the cluster holds.
    PluginStatusJson,
    /// `kubectl locust logs` returns what the cluster holds.
    PluginLogs,
    /// Deleting a LocustTest removes its children (garbage collection).
    DeleteRemovesChildren,
    /// The operator's RBAC (chart) allows what it does and no more.
    Rbac,
    /// Beyond the issue: a child the API server refuses fails the test with the server's words.
    ChildRefused,
    /// Beyond the issue: thresholds are judged at the end (met: Succeeded, breached: Failed with
    /// ThresholdsBreached) and Locust's report is kept in `<test>-report`.
    ThresholdsAndReport,
}

impl Requirement {
    /// Every requirement, for the completeness test.
    pub const ALL: [Requirement; 19] = [
        Self::CrdAccepted,
        Self::Defaulting,
        Self::DocExamples,
        Self::PassingTestSucceeds,
        Self::FailingMasterFails,
        Self::ImagePullError,
        Self::MissingConfigMap,
        Self::WorkerJobRecreated,
        Self::SpecDrifted,
        Self::Conversion,
        Self::InvalidRejected,
        Self::Recipes,
        Self::PluginRunWait,
        Self::PluginStatusJson,
        Self::PluginLogs,
        Self::DeleteRemovesChildren,
        Self::Rbac,
        Self::ChildRefused,
        Self::ThresholdsAndReport,
    ];
}

/// The code a scenario runs (see `scenarios::run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    CrdEstablished,
    CrdDefaults,
    InvalidObjects,
    /// Index into [`docs::EXAMPLES`].
    DocExample(usize),
    PassingTest,
    Thresholds,
    FailingMaster,
    ImagePullError,
    MissingConfigMap,
    WorkerJobRecreated,
    SpecDrifted,
    DeleteRemovesChildren,
    ChildRefused,
    Conversion,
    Rbac,
    StatusRecipes,
    KubectlWaitRecipe,
    ShellRecipeSucceeded,
    ShellRecipeFailed,
    PluginRunSucceeded,
    PluginRunFailed,
    PluginRunUnschedulable,
    PluginRunTimeout,
    PluginStatusJson,
}

/// One scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Unique kebab-case name (also part of its namespace).
    pub name: String,
    /// What it needs from the cluster.
    pub needs: Needs,
    /// Why it needs the operator in the cluster (`--operator helm`), if it does.
    pub in_cluster_operator: Option<&'static str>,
    /// Calls the `kubectl-locust` binary.
    pub uses_plugin: bool,
    /// The requirements it shows.
    pub covers: &'static [Requirement],
    /// One line on what it checks.
    pub about: String,
    /// Its code.
    pub kind: Kind,
    /// Longest it may take in all (before `--timeout-scale`).
    pub limit: Duration,
}

const WEBHOOK: &str = "needs the v1 <-> v2 conversion webhook, which the API server can only call when the \
                       operator runs in the cluster (--operator helm)";
const CHART_RBAC: &str = "checks the chart's RBAC for the operator's ServiceAccount (--operator helm)";

fn scenario(
    name: &str,
    needs: Needs,
    covers: &'static [Requirement],
    kind: Kind,
    limit_secs: u64,
    about: &str,
) -> Scenario {
    Scenario {
        name: name.to_string(),
        needs,
        in_cluster_operator: None,
        uses_plugin: false,
        covers,
        about: about.to_string(),
        kind,
        limit: Duration::from_secs(limit_secs),
    }
}

impl Scenario {
    fn in_cluster(mut self, why: &'static str) -> Self {
        self.in_cluster_operator = Some(why);
        self
    }

    fn plugin(mut self) -> Self {
        self.uses_plugin = true;
        self
    }

    /// Why this scenario does not run with these options, if it does not.
    pub fn skip_reason(&self, options: &Options) -> Option<String> {
        if let Some(why) = self.in_cluster_operator
            && options.operator == OperatorMode::Local
        {
            return Some(why.to_string());
        }
        if options.skip_real_locust && self.needs.needs_real_pods() {
            return Some(match self.needs {
                Needs::Kubelet => "needs a real kubelet (image pulls, volume mounts); --skip-real-locust".to_string(),
                _ => "needs Locust containers that really run; --skip-real-locust".to_string(),
            });
        }
        None
    }

    /// Selected by `--only` (any of the texts, or all scenarios without it).
    pub fn selected(&self, options: &Options) -> bool {
        options.only.is_empty() || options.only.iter().any(|text| self.name.contains(text.as_str()))
    }
}

/// Every scenario, in the order they run: cheap API-server checks first, real Locust runs last.
pub fn all() -> Vec<Scenario> {
    use Requirement as R;
    let mut list = vec![
        scenario(
            "crd-established",
            Needs::ApiServer,
            &[R::CrdAccepted],
            Kind::CrdEstablished,
            60,
            "the generated CRD is established: names, short name, v2 storage, v1 served and deprecated, printer columns",
        ),
        scenario(
            "crd-defaults",
            Needs::ApiServer,
            &[R::Defaulting],
            Kind::CrdDefaults,
            60,
            "a server-side dry run fills in the documented defaults (imagePullPolicy, autostart, autoquit, mount paths, target, readOnly, protocol)",
        ),
        scenario(
            "invalid-objects",
            Needs::ApiServer,
            &[R::InvalidRejected],
            Kind::InvalidObjects,
            120,
            "each invalid object is refused by the API server with the CRD's own message (CEL rules and schema bounds)",
        ),
    ];
    for (index, example) in docs::EXAMPLES.iter().enumerate() {
        let mut item = scenario(
            &example.scenario_name(),
            Needs::ControlPlane,
            &[R::DocExamples],
            Kind::DocExample(index),
            180,
            &example.about(),
        );
        if example.shape.is_v1() {
            item = item.in_cluster(WEBHOOK);
        }
        list.push(item);
    }
    list.extend([
        scenario(
            "spec-drifted",
            Needs::ControlPlane,
            &[R::SpecDrifted],
            Kind::SpecDrifted,
            240,
            "editing a running test sets SpecDrifted=True/SpecChangeIgnored and changes no child",
        ),
        scenario(
            "worker-job-recreated",
            Needs::ControlPlane,
            &[R::WorkerJobRecreated],
            Kind::WorkerJobRecreated,
            240,
            "deleting the worker Job of a running test recreates it (new uid, owned by the test, ResourceDeleted event)",
        ),
        scenario(
            "delete-removes-children",
            Needs::ControlPlane,
            &[R::DeleteRemovesChildren],
            Kind::DeleteRemovesChildren,
            240,
            "deleting a LocustTest removes its Service, Jobs and pods (owner references, garbage collector)",
        ),
        scenario(
            "child-refused",
            Needs::ControlPlane,
            &[R::ChildRefused],
            Kind::ChildRefused,
            120,
            "a test the CRD accepts but whose master Job the API server refuses (CPU request above its limit) \
             is Failed with Ready=False/ResourcesFailed quoting the server",
        ),
        scenario(
            "conversion-v1-v2",
            Needs::ControlPlane,
            &[R::Conversion],
            Kind::Conversion,
            240,
            "v1 created and read as v2 (and built into Jobs), v2 read as v1, v2-only fields survive a v1 read-modify-write",
        )
        .in_cluster(WEBHOOK),
        scenario(
            "operator-rbac",
            Needs::ApiServer,
            &[R::Rbac],
            Kind::Rbac,
            60,
            "the operator's ServiceAccount may do what the operator does and no more (SubjectAccessReviews)",
        )
        .in_cluster(CHART_RBAC),
        scenario(
            "recipe-checking-status",
            Needs::ControlPlane,
            &[R::Recipes],
            Kind::StatusRecipes,
            240,
            "the API reference's \"Checking Status\" and \"Kubectl Commands\" blocks, verbatim, on a running test",
        ),
        scenario(
            "recipe-shell-script-failed",
            Needs::ControlPlane,
            &[R::Recipes],
            Kind::ShellRecipeFailed,
            300,
            "the API reference's generic shell script, verbatim, exits 1 with \"Test failed!\" for a test that fails (unschedulable pods)",
        ),
        scenario(
            "plugin-status-json",
            Needs::ControlPlane,
            &[R::PluginStatusJson],
            Kind::PluginStatusJson,
            240,
            "`kubectl locust status NAME -o json` prints the LocustTest the API server holds; the list form holds it too",
        )
        .plugin(),
        scenario(
            "plugin-run-wait-timeout",
            Needs::ControlPlane,
            &[R::PluginRunWait, R::DeleteRemovesChildren],
            Kind::PluginRunTimeout,
            240,
            "`kubectl locust run --wait --timeout 5s` exits 4 while the test runs on; deleting the test removes the plugin's ConfigMap",
        )
        .plugin(),
        scenario(
            "plugin-run-wait-failed-unschedulable",
            Needs::ControlPlane,
            &[R::PluginRunWait],
            Kind::PluginRunUnschedulable,
            300,
            "`kubectl locust run -f --wait` exits 3 for a test that fails (SchedulingError after the grace period)",
        )
        .plugin(),
        scenario(
            "image-pull-error",
            Needs::Kubelet,
            &[R::ImagePullError],
            Kind::ImagePullError,
            300,
            "an image that cannot be pulled gives PodsHealthy=False/ImagePullError after the grace period, and Failed",
        ),
        scenario(
            "missing-configmap",
            Needs::Kubelet,
            &[R::MissingConfigMap],
            Kind::MissingConfigMap,
            300,
            "a missing test-files ConfigMap gives PodsHealthy=False/ConfigurationError naming the ConfigMap",
        ),
        scenario(
            "passing-test",
            Needs::Locust,
            &[R::PassingTestSucceeds],
            Kind::PassingTest,
            480,
            "a passing test reaches Succeeded with TestCompleted=True/TestSucceeded, startTime and completionTime",
        ),
        scenario(
            "thresholds-and-report",
            Needs::Locust,
            &[R::ThresholdsAndReport],
            Kind::Thresholds,
            480,
            "limits the run meets: Succeeded with ThresholdsMet; limits it breaches: Failed with ThresholdsBreached; Locust's report in <test>-report",
        ),
        scenario(
            "failing-master",
            Needs::Locust,
            &[R::FailingMasterFails],
            Kind::FailingMaster,
            480,
            "a master whose requests fail exits 1: Failed with TestCompleted=True/TestFailed and completionTime",
        ),
        scenario(
            "recipe-kubectl-wait",
            Needs::Locust,
            &[R::Recipes],
            Kind::KubectlWaitRecipe,
            480,
            "the API reference's GitHub Actions steps, verbatim: apply, `kubectl wait ...=Succeeded`, cleanup",
        ),
        scenario(
            "recipe-shell-script-succeeded",
            Needs::Locust,
            &[R::Recipes],
            Kind::ShellRecipeSucceeded,
            480,
            "the API reference's generic shell script, verbatim, exits 0 with \"Test passed!\" for a passing test",
        ),
        scenario(
            "plugin-run-wait-succeeded",
            Needs::Locust,
            &[R::PluginRunWait, R::PluginLogs],
            Kind::PluginRunSucceeded,
            480,
            "`kubectl locust run --locustfile ... --wait` exits 0; `logs` and `logs --workers` print the pods' logs",
        )
        .plugin(),
        scenario(
            "plugin-run-wait-failed",
            Needs::Locust,
            &[R::PluginRunWait],
            Kind::PluginRunFailed,
            480,
            "`kubectl locust run --locustfile ... --wait` exits 3 when Locust's requests fail",
        )
        .plugin(),
    ]);
    list
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::BTreeSet;

    use clap::Parser;

    use super::*;

    #[test]
    fn every_requirement_of_the_issue_has_a_scenario() {
        let covered: BTreeSet<Requirement> = all().iter().flat_map(|s| s.covers.iter().copied()).collect();
        let missing: Vec<Requirement> = Requirement::ALL.into_iter().filter(|r| !covered.contains(r)).collect();
        assert!(missing.is_empty(), "requirements without a scenario: {missing:?}");
    }

    #[test]
    fn every_requirement_except_conversion_and_rbac_runs_with_a_local_operator() {
        // The local mode must show everything it can: only the webhook and the chart's RBAC need
        // the operator in the cluster.
        let options = Options::try_parse_from(["e2e"]).unwrap();
        let covered: BTreeSet<Requirement> = all()
            .iter()
            .filter(|s| s.skip_reason(&options).is_none())
            .flat_map(|s| s.covers.iter().copied())
            .collect();
        for requirement in Requirement::ALL {
            let expected = !matches!(requirement, Requirement::Conversion | Requirement::Rbac);
            assert_eq!(covered.contains(&requirement), expected, "{requirement:?}");
        }
    }

    #[test]
    fn names_are_unique_and_fit_in_a_namespace_name() {
        let scenarios = all();
        let names: BTreeSet<&str> = scenarios.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), scenarios.len(), "duplicate scenario names");
        for name in names {
            assert!(
                name.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
        }
    }

    #[test]
    fn with_simulated_nodes_only_scenarios_that_need_real_pods_are_skipped() {
        let options =
            Options::try_parse_from(["e2e", "--operator", "helm", "--image", "x:1", "--skip-real-locust"]).unwrap();
        for scenario in all() {
            let skipped = scenario.skip_reason(&options).is_some();
            assert_eq!(skipped, scenario.needs.needs_real_pods(), "{}", scenario.name);
        }
        // What a simulated-node cluster still shows: everything but real pod behaviour.
        let covered: BTreeSet<Requirement> = all()
            .iter()
            .filter(|s| s.skip_reason(&options).is_none())
            .flat_map(|s| s.covers.iter().copied())
            .collect();
        for requirement in [
            Requirement::DocExamples,
            Requirement::SpecDrifted,
            Requirement::WorkerJobRecreated,
            Requirement::Conversion,
            Requirement::InvalidRejected,
            Requirement::Recipes,
            Requirement::PluginRunWait,
            Requirement::PluginStatusJson,
            Requirement::DeleteRemovesChildren,
            Requirement::ChildRefused,
        ] {
            assert!(covered.contains(&requirement), "{requirement:?} needs no real pods");
        }
    }

    #[test]
    fn real_pod_scenarios_are_marked() {
        let needs = |name: &str| all().into_iter().find(|s| s.name == name).unwrap().needs;
        for name in [
            "passing-test",
            "failing-master",
            "recipe-kubectl-wait",
            "recipe-shell-script-succeeded",
            "plugin-run-wait-succeeded",
            "plugin-run-wait-failed",
        ] {
            assert_eq!(needs(name), Needs::Locust, "{name}");
        }
        assert_eq!(needs("image-pull-error"), Needs::Kubelet);
        assert_eq!(needs("missing-configmap"), Needs::Kubelet);
    }

    #[test]
    fn only_selects_by_substring() {
        let options = Options::try_parse_from(["e2e", "--only", "plugin-run", "--only", "crd-"]).unwrap();
        let selected: Vec<String> = all()
            .into_iter()
            .filter(|s| s.selected(&options))
            .map(|s| s.name)
            .collect();
        assert!(selected.contains(&"crd-defaults".to_string()));
        assert!(selected.contains(&"plugin-run-wait-timeout".to_string()));
        assert!(!selected.contains(&"plugin-status-json".to_string()));
    }
}
