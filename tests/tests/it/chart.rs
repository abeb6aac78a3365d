//! The Helm chart as the real `helm` renders it, for the defaults and every `ci/*-values.yaml`:
//! each object parses as its Kubernetes type, the CRD is the generated one, the operator runs
//! hardened with least-privilege RBAC, and — so chart and binary cannot drift apart — the
//! environment and arguments the chart gives the operator are read back by the operator's own
//! configuration code (`OperatorConfig::from_lookup`, `operator::cli::Args`) into exactly the
//! values that were set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use clap::{CommandFactory, FromArgMatches};
use integration_tests::helm::{self, Render};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, Service, ServiceAccount};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, Role, RoleBinding};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use operator::cli::{Args, StatsAccess};
use operator::controller::Scope;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use shared::config::{KafkaConfig, KafkaCredentialsSecret, OperatorConfig, Setting};
use shared::crd::{CONVERSION_WEBHOOK_PATH, locusttest_crd};
use shared::naming::Role as LocustRole;

const RELEASE: &str = "lo";
const NAMESPACE: &str = "locust-system";
/// What the downward API gives POD_NAME in these tests.
const POD_NAME: &str = "lo-locust-operator-7d9c5-x2x4q";
/// Variables the operator reads outside `OperatorConfig` and `Args` (lease identity, event reporter).
const OTHER_OPERATOR_VARIABLES: &[&str] = &["POD_NAME"];

// ---------------------------------------------------------------------------------------------
// Rendering and reading back

/// One rendering, with the operator's view of it.
struct Rendered {
    objects: Vec<Value>,
}

/// Renders once per distinct set of values; the tests share the results.
fn render(render: Render) -> Arc<Rendered> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Rendered>>>> = OnceLock::new();
    let key = format!("{render:?}");
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(found) = cache.lock().unwrap().get(&key) {
        return found.clone();
    }
    let objects = render.objects().unwrap_or_else(|error| panic!("{error}"));
    let rendered = Arc::new(Rendered { objects });
    cache.lock().unwrap().insert(key, rendered.clone());
    rendered
}

/// The chart's own defaults.
fn defaults() -> Render {
    Render::new(RELEASE, NAMESPACE)
}

/// `ci/<name>-values.yaml`.
fn scenario(name: &str) -> Render {
    let file = helm::chart_dir().join("ci").join(format!("{name}-values.yaml"));
    assert!(file.is_file(), "no scenario {}", file.display());
    defaults().values(file)
}

/// The defaults and every ci scenario, each with a name for messages.
fn all_scenarios() -> Vec<(String, Render)> {
    let mut all = vec![("chart defaults".to_string(), defaults())];
    for file in helm::ci_values_files().unwrap() {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        all.push((name, defaults().values(file)));
    }
    assert!(
        all.len() >= 8,
        "expected the ci scenarios next to the chart, found {all:?}"
    );
    all
}

impl Rendered {
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.objects.iter().filter(|object| object["kind"] == kind).collect()
    }

    fn typed<K: DeserializeOwned>(&self, kind: &str) -> Vec<K> {
        self.of_kind(kind)
            .into_iter()
            .map(|object| serde_json::from_value(object.clone()).unwrap())
            .collect()
    }

    fn only<K: DeserializeOwned>(&self, kind: &str) -> K {
        let mut found = self.typed::<K>(kind);
        assert_eq!(found.len(), 1, "expected exactly one {kind}");
        found.remove(0)
    }

    fn named<K: DeserializeOwned>(&self, kind: &str, name: &str) -> K {
        let object = self
            .of_kind(kind)
            .into_iter()
            .find(|object| object["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("no {kind} named {name}"));
        serde_json::from_value(object.clone()).unwrap()
    }

    fn deployment(&self) -> Deployment {
        self.only("Deployment")
    }

    fn container(&self) -> Container {
        let pod = self.deployment().spec.unwrap().template.spec.unwrap();
        assert_eq!(pod.containers.len(), 1, "the operator pod has one container");
        pod.containers.into_iter().next().unwrap()
    }

    fn crd(&self) -> Option<CustomResourceDefinition> {
        self.typed("CustomResourceDefinition").into_iter().next()
    }

    /// The container's environment as the operator process sees it. `valueFrom` is resolved the
    /// way the kubelet would for the downward API; a Secret or ConfigMap reference becomes a
    /// marker, since its value is not known here (and must not be needed).
    fn environment(&self) -> BTreeMap<String, String> {
        let mut environment = BTreeMap::new();
        for variable in self.container().env.unwrap_or_default() {
            let value = match (variable.value, variable.value_from) {
                (Some(value), None) => value,
                (None, None) => String::new(),
                (None, Some(source)) => {
                    if let Some(field) = source.field_ref {
                        match field.field_path.as_str() {
                            "metadata.namespace" => NAMESPACE.to_string(),
                            "metadata.name" => POD_NAME.to_string(),
                            other => panic!("{}: unexpected fieldRef {other}", variable.name),
                        }
                    } else if let Some(secret) = source.secret_key_ref {
                        format!("<from Secret {}, key {}>", secret.name, secret.key)
                    } else if let Some(config_map) = source.config_map_key_ref {
                        format!("<from ConfigMap {}, key {}>", config_map.name, config_map.key)
                    } else {
                        panic!("{}: unexpected valueFrom", variable.name)
                    }
                }
                (Some(_), Some(_)) => panic!("{}: both value and valueFrom", variable.name),
            };
            let previous = environment.insert(variable.name.clone(), value);
            assert!(previous.is_none(), "{} is set twice", variable.name);
        }
        environment
    }

    /// What `OperatorConfig::from_env` would read in the operator container.
    fn config(&self) -> OperatorConfig {
        self.try_config().unwrap_or_else(|error| panic!("{error}"))
    }

    fn try_config(&self) -> Result<OperatorConfig, String> {
        let environment = self.environment();
        OperatorConfig::from_lookup(|name| environment.get(name).cloned())
            .map_err(|error| format!("the operator would refuse the chart's environment:\n{error}"))
    }

    /// What `Args::parse()` would read in the operator container: the container's arguments,
    /// with clap's environment fallbacks taken from the container's environment only (never
    /// from the environment of this test process).
    fn args(&self) -> Args {
        self.try_args().unwrap_or_else(|error| panic!("{error}"))
    }

    fn try_args(&self) -> Result<Args, String> {
        let mut argv = vec!["operator".to_string()];
        argv.extend(self.container().args.unwrap_or_default());
        let environment = self.environment();
        let command = Args::command();
        for arg in command.get_arguments() {
            let (Some(long), Some(variable)) = (arg.get_long(), arg.get_env()) else {
                continue;
            };
            let Some(value) = environment.get(variable.to_str().unwrap()) else {
                continue;
            };
            // A flag on the command line beats its environment variable, as in clap.
            let flag = format!("--{long}");
            let given = argv.iter().any(|a| *a == flag || a.starts_with(&format!("{flag}=")));
            if !given && !value.is_empty() {
                argv.push(format!("{flag}={value}"));
            }
        }
        let command = command.mut_args(|arg| arg.env(None::<&'static str>));
        command
            .try_get_matches_from(&argv)
            .and_then(|matches| Args::from_arg_matches(&matches))
            .map_err(|error| format!("the operator would refuse its arguments {argv:?}:\n{error}"))
    }

    /// Every permission granted to the operator's service account, as
    /// `(namespace or "<cluster>", group, resource, verb, resourceName or "")`.
    fn grants(&self) -> BTreeSet<(String, String, String, String, String)> {
        let account = self
            .deployment()
            .spec
            .unwrap()
            .template
            .spec
            .unwrap()
            .service_account_name
            .unwrap();
        let is_operator = |subjects: &Option<Vec<k8s_openapi::api::rbac::v1::Subject>>| {
            subjects
                .iter()
                .flatten()
                .any(|s| s.kind == "ServiceAccount" && s.name == account && s.namespace.as_deref() == Some(NAMESPACE))
        };
        let mut grants = BTreeSet::new();
        let mut add = |scope: &str, rules: &[PolicyRule]| {
            for rule in rules {
                let names = rule.resource_names.clone().unwrap_or_else(|| vec![String::new()]);
                for group in rule.api_groups.iter().flatten() {
                    for resource in rule.resources.iter().flatten() {
                        for verb in &rule.verbs {
                            for name in &names {
                                grants.insert((
                                    scope.to_string(),
                                    group.clone(),
                                    resource.clone(),
                                    verb.clone(),
                                    name.clone(),
                                ));
                            }
                        }
                    }
                }
            }
        };
        for binding in self.typed::<ClusterRoleBinding>("ClusterRoleBinding") {
            if is_operator(&binding.subjects) {
                assert_eq!(binding.role_ref.kind, "ClusterRole");
                let role: ClusterRole = self.named("ClusterRole", &binding.role_ref.name);
                add("<cluster>", &role.rules.unwrap_or_default());
            }
        }
        for binding in self.typed::<RoleBinding>("RoleBinding") {
            if is_operator(&binding.subjects) {
                assert_eq!(
                    binding.role_ref.kind, "Role",
                    "a RoleBinding to a ClusterRole is not used"
                );
                let namespace = binding.metadata.namespace.clone().unwrap();
                let role = self
                    .typed::<Role>("Role")
                    .into_iter()
                    .find(|role| {
                        role.metadata.name.as_deref() == Some(binding.role_ref.name.as_str())
                            && role.metadata.namespace.as_deref() == Some(namespace.as_str())
                    })
                    .unwrap_or_else(|| panic!("RoleBinding to a missing Role {}", binding.role_ref.name));
                add(&namespace, &role.rules.unwrap_or_default());
            }
        }
        grants
    }

    fn pod_labels(&self) -> BTreeMap<String, String> {
        self.deployment()
            .spec
            .unwrap()
            .template
            .metadata
            .unwrap()
            .labels
            .unwrap()
    }
}

fn quantity(value: &str) -> Setting {
    Setting::Value(Quantity(value.to_string()))
}

/// The grants of the operator's calls on LocustTests and their children, in `scope`.
fn test_resource_grants(scope: &str) -> BTreeSet<(String, String, String, String, String)> {
    let calls: &[(&str, &str, &[&str])] = &[
        ("locust.io", "locusttests", &["get", "list", "watch"]),
        ("locust.io", "locusttests/status", &["get", "patch"]),
        ("locust.io", "locusttests/finalizers", &["update"]),
        ("batch", "jobs", &["get", "list", "watch", "create"]),
        ("", "services", &["get", "list", "watch", "create"]),
        ("", "configmaps", &["create"]),
        ("", "pods", &["get", "list", "watch"]),
        ("", "events", &["list"]),
        ("events.k8s.io", "events", &["create", "patch"]),
    ];
    let mut grants = BTreeSet::new();
    for (group, resource, verbs) in calls {
        for verb in *verbs {
            grants.insert((
                scope.to_string(),
                group.to_string(),
                resource.to_string(),
                verb.to_string(),
                String::new(),
            ));
        }
    }
    grants
}

/// get and patch of the one CRD, to add the operator's own CA to its caBundle.
fn crd_grants() -> BTreeSet<(String, String, String, String, String)> {
    ["get", "patch"]
        .into_iter()
        .map(|verb| {
            (
                "<cluster>".to_string(),
                "apiextensions.k8s.io".to_string(),
                "customresourcedefinitions".to_string(),
                verb.to_string(),
                shared::constants::CRD_NAME.to_string(),
            )
        })
        .collect()
}

fn lease_grants(lease: &str) -> BTreeSet<(String, String, String, String, String)> {
    let grant = |verb: &str, name: &str| {
        (
            NAMESPACE.to_string(),
            "coordination.k8s.io".to_string(),
            "leases".to_string(),
            verb.to_string(),
            name.to_string(),
        )
    };
    [grant("create", ""), grant("get", lease), grant("update", lease)]
        .into_iter()
        .collect()
}

/// Where two JSON values first differ, numbers compared by value (YAML `100` vs `100.0`).
fn first_difference(path: &str, expected: &Value, actual: &Value) -> Option<String> {
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            a.keys()
                .chain(b.keys())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .find_map(|key| {
                    let child = format!("{path}.{key}");
                    match (a.get(key), b.get(key)) {
                        (Some(x), Some(y)) => first_difference(&child, x, y),
                        (x, y) => Some(format!("{child}: {x:?} != {y:?}")),
                    }
                })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(index, (x, y))| first_difference(&format!("{path}[{index}]"), x, y)),
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}: {a} != {b}")),
    }
}

/// Parses `object` as `K` and back: any field `K` does not know, or of the wrong shape, shows.
fn round_trips_as<K: DeserializeOwned + Serialize>(object: &Value) -> Result<(), String> {
    let typed: K = serde_json::from_value(object.clone()).map_err(|error| error.to_string())?;
    let back = serde_json::to_value(&typed).map_err(|error| error.to_string())?;
    match first_difference("", object, &back) {
        None => Ok(()),
        Some(difference) => Err(format!("not kept by the typed object: {difference}")),
    }
}

// ---------------------------------------------------------------------------------------------
// Every object is a valid Kubernetes object

#[test]
fn every_rendered_object_parses_as_its_kubernetes_type() {
    use k8s_openapi::api::rbac::v1 as rbac;
    for (name, values) in all_scenarios() {
        let rendered = render(values);
        assert!(!rendered.objects.is_empty(), "{name}: nothing rendered");
        for object in &rendered.objects {
            let kind = object["kind"].as_str().unwrap_or_default();
            let result = match kind {
                "Deployment" => round_trips_as::<Deployment>(object),
                "Service" => round_trips_as::<Service>(object),
                "ServiceAccount" => round_trips_as::<ServiceAccount>(object),
                "ClusterRole" => round_trips_as::<rbac::ClusterRole>(object),
                "ClusterRoleBinding" => round_trips_as::<rbac::ClusterRoleBinding>(object),
                "Role" => round_trips_as::<rbac::Role>(object),
                "RoleBinding" => round_trips_as::<rbac::RoleBinding>(object),
                "PodDisruptionBudget" => round_trips_as::<PodDisruptionBudget>(object),
                "CustomResourceDefinition" => round_trips_as::<CustomResourceDefinition>(object),
                // Types of other projects (cert-manager, Prometheus Operator): checked in their tests below.
                "ServiceMonitor" | "Certificate" | "Issuer" => {
                    if object["spec"].is_object() && object["metadata"]["name"].is_string() {
                        Ok(())
                    } else {
                        Err("needs metadata.name and a spec".to_string())
                    }
                }
                other => Err(format!("unexpected kind {other:?}: add it to this test")),
            };
            if let Err(error) = result {
                panic!("{name}: {kind} {}: {error}", object["metadata"]["name"]);
            }
            let namespaced = !matches!(kind, "ClusterRole" | "ClusterRoleBinding" | "CustomResourceDefinition");
            assert_eq!(
                object["metadata"]["namespace"].is_string(),
                namespaced,
                "{name}: {kind} {} namespace",
                object["metadata"]["name"]
            );
        }
    }
}

#[test]
fn every_scenario_gives_the_operator_a_configuration_and_arguments_it_accepts() {
    for (name, values) in all_scenarios() {
        let rendered = render(values);
        if let Err(error) = rendered.try_config().and(rendered.try_args()) {
            panic!("{name}: {error}");
        }
    }
}

#[test]
fn every_variable_the_chart_sets_is_one_the_operator_reads() {
    let args_variables: BTreeSet<String> = Args::command()
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|variable| variable.to_string_lossy().into_owned())
        .collect();
    for (name, values) in all_scenarios() {
        for variable in render(values).environment().keys() {
            assert!(
                OperatorConfig::ENV_VARS.contains(&variable.as_str())
                    || args_variables.contains(variable)
                    || OTHER_OPERATOR_VARIABLES.contains(&variable.as_str()),
                "{name}: the chart sets {variable}, which the operator does not read"
            );
        }
    }
}

#[test]
fn the_chart_is_released_with_the_operator_of_the_same_version() {
    let chart: Value =
        serde_yaml::from_str(&std::fs::read_to_string(helm::chart_dir().join("Chart.yaml")).unwrap()).unwrap();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(chart["name"], "locust-operator");
    assert_eq!(chart["version"], version);
    assert_eq!(chart["appVersion"], version);
    assert_eq!(chart["kubeVersion"], ">=1.29.0-0");
    let image = render(defaults()).container().image.unwrap();
    assert!(image.ends_with(&format!(":{version}")), "{image}");
}

// ---------------------------------------------------------------------------------------------
// The CRD

/// The rendered CRD with the chart's additions checked and removed.
fn rendered_crd_without_chart_additions(rendered: &Rendered) -> CustomResourceDefinition {
    let mut crd = rendered.crd().expect("the CRD is rendered");
    let labels = crd.metadata.labels.take().unwrap_or_default();
    assert_eq!(labels["app.kubernetes.io/managed-by"], "Helm");
    crd.metadata.annotations = crd
        .metadata
        .annotations
        .take()
        .map(|mut annotations| {
            annotations.remove("helm.sh/resource-policy");
            annotations.remove("cert-manager.io/inject-ca-from");
            annotations
        })
        .filter(|annotations| !annotations.is_empty());
    crd.spec.conversion = locusttest_crd().spec.conversion;
    // Without the webhook the chart stops serving v1 (checked in
    // without_the_webhook_v1_is_not_served_so_v1_objects_cannot_lose_fields).
    if rendered
        .of_kind("Service")
        .iter()
        .all(|s| !s["metadata"]["name"].as_str().unwrap_or_default().ends_with("-webhook"))
    {
        for version in &mut crd.spec.versions {
            version.served = true;
        }
    }
    crd
}

#[test]
fn the_rendered_crd_is_the_generated_one() {
    for (name, values) in all_scenarios() {
        let rendered = render(values);
        if rendered.crd().is_none() {
            continue;
        }
        let crd = rendered_crd_without_chart_additions(&rendered);
        let expected = locusttest_crd();
        if crd != expected {
            let difference = first_difference(
                "",
                &serde_json::to_value(&expected).unwrap(),
                &serde_json::to_value(&crd).unwrap(),
            );
            panic!("{name}: the rendered CRD differs from shared::crd::locusttest_crd(): {difference:?}");
        }
    }
}

#[test]
fn the_crd_survives_uninstall_and_can_be_left_out() {
    let crd = render(defaults()).crd().unwrap();
    assert_eq!(crd.metadata.annotations.unwrap()["helm.sh/resource-policy"], "keep");
    assert!(
        render(scenario("minimal")).crd().is_none(),
        "crds.install=false renders no CRD"
    );
}

#[test]
fn the_crd_routes_conversion_to_the_webhook_service() {
    let rendered = render(defaults());
    let conversion = rendered.crd().unwrap().spec.conversion.unwrap();
    assert_eq!(conversion.strategy, "Webhook");
    let webhook = conversion.webhook.unwrap();
    assert_eq!(webhook.conversion_review_versions, ["v1"]);
    let service = webhook.client_config.unwrap().service.unwrap();
    let args = rendered.args();
    assert_eq!(service.name, args.webhook_service_name);
    assert_eq!(Some(service.namespace), args.webhook_service_namespace);
    assert_eq!(service.port, Some(args.webhook_service_port));
    assert_eq!(service.path.as_deref(), Some(CONVERSION_WEBHOOK_PATH));
}

// ---------------------------------------------------------------------------------------------
// The operator's Deployment

#[test]
fn the_operator_runs_hardened_in_every_scenario() {
    for (name, values) in all_scenarios() {
        let rendered = render(values);
        let pod = rendered.deployment().spec.unwrap().template.spec.unwrap();
        let pod_security = pod.security_context.unwrap();
        assert_eq!(pod_security.run_as_non_root, Some(true), "{name}");
        assert_eq!(pod_security.seccomp_profile.unwrap().type_, "RuntimeDefault", "{name}");
        assert_ne!(pod_security.run_as_user, Some(0), "{name}");
        let security = rendered.container().security_context.unwrap();
        assert_eq!(security.run_as_non_root, Some(true), "{name}");
        assert_eq!(security.allow_privilege_escalation, Some(false), "{name}");
        assert_eq!(security.read_only_root_filesystem, Some(true), "{name}");
        assert_eq!(security.privileged, None, "{name}");
        let capabilities = security.capabilities.unwrap();
        assert_eq!(capabilities.drop, Some(vec!["ALL".to_string()]), "{name}");
        assert_eq!(capabilities.add, None, "{name}");
        assert_eq!(security.seccomp_profile.unwrap().type_, "RuntimeDefault", "{name}");
        assert!(rendered.container().resources.unwrap().limits.is_some(), "{name}");
    }
}

#[test]
fn probes_ask_the_operators_health_endpoint() {
    let rendered = render(defaults());
    let container = rendered.container();
    let port = rendered.args().health_probe_bind_address.port();
    let http = container
        .ports
        .unwrap()
        .into_iter()
        .find(|p| p.name.as_deref() == Some("http"))
        .unwrap();
    assert_eq!(http.container_port, i32::from(port));
    for (probe, path) in [
        (container.liveness_probe.unwrap(), "/healthz"),
        (container.readiness_probe.unwrap(), "/readyz"),
    ] {
        let get = probe.http_get.unwrap();
        assert_eq!(get.path.as_deref(), Some(path));
        assert_eq!(get.port, IntOrString::String("http".into()));
    }
}

#[test]
fn one_replica_needs_no_leader_election_and_never_overlaps_another() {
    let rendered = render(defaults());
    let spec = rendered.deployment().spec.unwrap();
    assert_eq!(spec.replicas, Some(1));
    assert!(!rendered.args().leader_elect);
    assert_eq!(spec.strategy.unwrap().type_.as_deref(), Some("Recreate"));
    assert!(rendered.of_kind("PodDisruptionBudget").is_empty());
    assert!(
        !rendered.grants().iter().any(|grant| grant.2 == "leases"),
        "no Lease access without leader election"
    );
}

#[test]
fn two_replicas_elect_a_leader_and_get_a_disruption_budget() {
    let rendered = render(scenario("ha"));
    let spec = rendered.deployment().spec.unwrap();
    assert_eq!(spec.replicas, Some(2));
    assert_ne!(spec.strategy.and_then(|s| s.type_).as_deref(), Some("Recreate"));
    let args = rendered.args();
    assert!(args.leader_elect);
    assert_eq!(args.leader_election_namespace.as_deref(), Some(NAMESPACE));
    let grants = rendered.grants();
    let leases: BTreeSet<_> = grants.iter().filter(|grant| grant.2 == "leases").cloned().collect();
    assert_eq!(leases, lease_grants(&args.leader_election_id));
    let budget: PodDisruptionBudget = rendered.only("PodDisruptionBudget");
    let budget = budget.spec.unwrap();
    assert_eq!(budget.max_unavailable, Some(IntOrString::Int(1)));
    let selector = budget.selector.unwrap().match_labels.unwrap();
    let labels = rendered.pod_labels();
    assert!(selector.iter().all(|(key, value)| labels.get(key) == Some(value)));
}

#[test]
fn leader_election_cannot_be_turned_off_for_several_replicas() {
    let error = defaults()
        .set("replicaCount=3")
        .set("leaderElection.enabled=false")
        .objects()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("leaderElection.enabled=false with replicaCount=3"),
        "{error}"
    );
    let forced = render(defaults().set("leaderElection.enabled=true"));
    assert!(forced.args().leader_elect);
}

#[test]
fn self_managed_certificates_allow_as_many_replicas_as_the_ca_bundle_holds() {
    // Each replica adds its CA to the CRD; one bundle slot is left for a rolling update's new pod.
    let most = shared::crd::MAX_BUNDLED_CAS - 1;
    render(defaults().set(&format!("replicaCount={most}"))).args();
    let error = defaults()
        .set(&format!("replicaCount={}", most + 1))
        .objects()
        .unwrap_err()
        .to_string();
    assert!(error.contains("webhook.certManager.enabled=true"), "{error}");
    let with_cert_manager = defaults()
        .set(&format!("replicaCount={}", most + 1))
        .set("webhook.certManager.enabled=true");
    assert!(render(with_cert_manager).args().leader_elect);
}

// ---------------------------------------------------------------------------------------------
// RBAC

#[test]
fn rbac_has_no_wildcards_and_no_secrets_in_any_scenario() {
    for (name, values) in all_scenarios() {
        let rendered = render(values);
        let mut rules: Vec<PolicyRule> = Vec::new();
        for role in rendered.typed::<ClusterRole>("ClusterRole") {
            rules.extend(role.rules.unwrap_or_default());
        }
        for role in rendered.typed::<Role>("Role") {
            rules.extend(role.rules.unwrap_or_default());
        }
        assert!(!rules.is_empty(), "{name}");
        for rule in rules {
            let words = rule
                .api_groups
                .iter()
                .flatten()
                .chain(rule.resources.iter().flatten())
                .chain(&rule.verbs);
            for word in words {
                assert!(!word.contains('*'), "{name}: wildcard in {rule:?}");
                assert_ne!(word, "secrets", "{name}: {rule:?}");
            }
            // ConfigMaps: only created (each test's report), never read: they may hold secrets.
            if rule.resources.iter().flatten().any(|resource| resource == "configmaps") {
                assert_eq!(rule.verbs, ["create"], "{name}: {rule:?}");
            }
            assert_eq!(rule.non_resource_urls, None, "{name}");
        }
    }
}

#[test]
fn cluster_mode_grants_exactly_what_the_operator_calls() {
    let mut expected = test_resource_grants("<cluster>");
    expected.extend(crd_grants());
    assert_eq!(render(defaults()).grants(), expected);
}

#[test]
fn reading_statistics_through_the_api_proxy_adds_services_proxy_only() {
    let rendered = render(scenario("stats-api-proxy"));
    let mut expected = test_resource_grants("<cluster>");
    expected.extend(crd_grants());
    expected.insert((
        "<cluster>".to_string(),
        String::new(),
        "services/proxy".to_string(),
        "get".to_string(),
        String::new(),
    ));
    assert_eq!(rendered.grants(), expected);
}

#[test]
fn with_cert_manager_the_operator_cannot_touch_the_crd() {
    let expected = test_resource_grants("<cluster>");
    assert_eq!(render(scenario("webhook-cert-manager")).grants(), expected);
}

#[test]
fn namespaced_mode_watches_one_namespace_with_a_role_there() {
    let rendered = render(scenario("namespaced"));
    assert_eq!(rendered.args().scope(), Scope::Namespace("load-tests".into()));
    let mut expected = test_resource_grants("load-tests");
    // The CRD is cluster-scoped: the one ClusterRole left is for the self-managed webhook CA.
    expected.extend(crd_grants());
    assert_eq!(rendered.grants(), expected);
}

#[test]
fn the_go_charts_cluster_role_switch_watches_the_release_namespace() {
    let rendered = render(scenario("minimal"));
    assert_eq!(rendered.args().scope(), Scope::Namespace(NAMESPACE.into()));
    assert_eq!(rendered.grants(), test_resource_grants(NAMESPACE));
    assert!(rendered.of_kind("ClusterRole").is_empty());
    assert!(rendered.of_kind("ClusterRoleBinding").is_empty());
}

#[test]
fn cluster_mode_watches_every_namespace() {
    assert_eq!(render(defaults()).args().scope(), Scope::Cluster);
}

#[test]
fn users_with_the_clusters_edit_and_view_roles_get_locusttests() {
    let rendered = render(defaults());
    let aggregated: Vec<ClusterRole> = rendered
        .typed::<ClusterRole>("ClusterRole")
        .into_iter()
        .filter(|role| {
            role.metadata.labels.as_ref().is_some_and(|labels| {
                labels
                    .keys()
                    .any(|key| key.starts_with("rbac.authorization.k8s.io/aggregate-to-"))
            })
        })
        .collect();
    assert_eq!(aggregated.len(), 3);
    let view = aggregated
        .iter()
        .find(|role| {
            role.metadata
                .labels
                .as_ref()
                .unwrap()
                .contains_key("rbac.authorization.k8s.io/aggregate-to-view")
        })
        .unwrap();
    for rule in view.rules.as_ref().unwrap() {
        assert!(
            rule.verbs
                .iter()
                .all(|verb| ["get", "list", "watch"].contains(&verb.as_str()))
        );
    }
    assert!(
        rendered.grants().iter().all(|grant| grant.3 != "delete"),
        "the aggregated roles are not bound to the operator"
    );
}

/// The (resource, verb) pairs of core-group rules in the chart's role aggregated into `role`.
fn aggregated_core_grants(rendered: &Rendered, role: &str) -> BTreeSet<(String, String)> {
    let label = format!("rbac.authorization.k8s.io/aggregate-to-{role}");
    let aggregated: Vec<ClusterRole> = rendered
        .typed::<ClusterRole>("ClusterRole")
        .into_iter()
        .filter(|cluster_role| {
            cluster_role
                .metadata
                .labels
                .as_ref()
                .is_some_and(|labels| labels.contains_key(&label))
        })
        .collect();
    assert_eq!(aggregated.len(), 1, "one role aggregated into {role}");
    let mut grants = BTreeSet::new();
    for rule in aggregated[0].rules.iter().flatten() {
        // LocustTests are granted to every role; what else the plugin needs is in other groups.
        if rule.api_groups.iter().flatten().any(|group| group == "locust.io") {
            continue;
        }
        for resource in rule.resources.iter().flatten() {
            for verb in &rule.verbs {
                grants.insert((resource.clone(), verb.clone()));
            }
        }
    }
    grants
}

#[test]
fn edit_and_admin_name_what_the_plugins_user_needs_and_the_operator_gains_nothing() {
    let rendered = render(defaults());
    // ui: port-forward; stop: POST /stop through the proxy, then delete the idle Jobs.
    let plugin_needs: BTreeSet<(String, String)> = [
        ("pods/portforward", "create"),
        ("services/proxy", "get"),
        ("services/proxy", "create"),
        ("jobs", "delete"),
    ]
    .map(|(resource, verb)| (resource.to_string(), verb.to_string()))
    .into();
    for role in ["admin", "edit"] {
        assert_eq!(aggregated_core_grants(&rendered, role), plugin_needs, "{role}");
    }
    assert!(
        aggregated_core_grants(&rendered, "view").is_empty(),
        "view stays read-only: no port-forward"
    );
    let operator = rendered.grants();
    for (resource, verb) in &plugin_needs {
        assert!(
            !operator.iter().any(|grant| &grant.2 == resource && &grant.3 == verb),
            "the operator itself gains no {verb} on {resource}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Conversion webhook, metrics

#[test]
fn the_self_managed_webhook_is_reachable_through_its_service() {
    let rendered = render(defaults());
    let args = rendered.args();
    assert!(args.enable_webhooks);
    assert_eq!(
        args.webhook_cert_path, None,
        "no certificate mounted: the operator makes its own"
    );
    let service: Service = rendered.named("Service", &args.webhook_service_name);
    assert_eq!(service.metadata.namespace.as_deref(), Some(NAMESPACE));
    let spec = service.spec.unwrap();
    let port = &spec.ports.unwrap()[0];
    assert_eq!(port.port, args.webhook_service_port);
    assert_eq!(port.target_port, Some(IntOrString::String("webhook".into())));
    let container_port = rendered
        .container()
        .ports
        .unwrap()
        .into_iter()
        .find(|p| p.name.as_deref() == Some("webhook"))
        .unwrap();
    assert_eq!(
        container_port.container_port,
        i32::from(args.webhook_bind_address.port())
    );
    let labels = rendered.pod_labels();
    assert!(
        spec.selector
            .unwrap()
            .iter()
            .all(|(key, value)| labels.get(key) == Some(value))
    );
}

#[test]
fn cert_manager_issues_the_webhook_certificate_and_its_ca() {
    let rendered = render(scenario("webhook-cert-manager"));
    let args = rendered.args();
    assert!(args.enable_webhooks);
    let certificate = rendered.of_kind("Certificate")[0].clone();
    let dns_names = certificate["spec"]["dnsNames"].as_array().unwrap();
    let service_host = format!("{}.{}.svc", args.webhook_service_name, NAMESPACE);
    assert!(dns_names.iter().any(|name| *name == service_host), "{dns_names:?}");
    let issuer = &certificate["spec"]["issuerRef"]["name"];
    assert!(
        rendered
            .of_kind("Issuer")
            .iter()
            .any(|i| i["metadata"]["name"] == *issuer),
        "the self-signed Issuer is rendered"
    );
    let pod = rendered.deployment().spec.unwrap().template.spec.unwrap();
    let volume = pod
        .volumes
        .unwrap()
        .into_iter()
        .find_map(|volume| volume.secret.map(|secret| (volume.name, secret)))
        .unwrap();
    assert_eq!(
        Some(&volume.1.secret_name.unwrap().into()),
        certificate["spec"].get("secretName")
    );
    let mount = rendered
        .container()
        .volume_mounts
        .unwrap()
        .into_iter()
        .find(|mount| mount.name == volume.0)
        .unwrap();
    assert_eq!(args.webhook_cert_path, Some(mount.mount_path.into()));
    let annotations = rendered.crd().unwrap().metadata.annotations.unwrap();
    assert_eq!(
        annotations["cert-manager.io/inject-ca-from"],
        format!("{NAMESPACE}/{}", certificate["metadata"]["name"].as_str().unwrap())
    );
}

#[test]
fn without_the_webhook_there_is_no_webhook_service() {
    let rendered = render(scenario("minimal"));
    assert!(!rendered.args().enable_webhooks);
    assert!(rendered.of_kind("Service").is_empty());
    assert!(rendered.of_kind("Certificate").is_empty());
}

#[test]
fn without_the_webhook_v1_is_not_served_so_v1_objects_cannot_lose_fields() {
    let served = |rendered: &Rendered| -> Vec<(String, bool)> {
        let crd = rendered.crd().expect("the CRD is rendered");
        crd.spec.versions.iter().map(|v| (v.name.clone(), v.served)).collect()
    };
    let without = render(defaults().set("webhook.enabled=false"));
    assert_eq!(served(&without), [("v2".to_string(), true), ("v1".to_string(), false)]);
    let with = render(defaults());
    assert_eq!(served(&with), [("v2".to_string(), true), ("v1".to_string(), true)]);
}

#[test]
fn the_metrics_service_and_service_monitor_scrape_the_operators_endpoint() {
    let rendered = render(scenario("webhook-cert-manager"));
    let port = rendered.args().health_probe_bind_address.port();
    let service = rendered
        .typed::<Service>("Service")
        .into_iter()
        .find(|s| s.metadata.name.as_deref().is_some_and(|n| n.ends_with("-metrics")))
        .unwrap();
    let service_labels = service.metadata.labels.clone().unwrap();
    let service_port = service.spec.unwrap().ports.unwrap().remove(0);
    assert_eq!(service_port.port, i32::from(port));
    assert_eq!(service_port.target_port, Some(IntOrString::String("http".into())));
    let monitor = rendered.of_kind("ServiceMonitor")[0];
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    let endpoint = &monitor["spec"]["endpoints"][0];
    assert_eq!(endpoint["port"], service_port.name.unwrap().as_str());
    assert_eq!(endpoint["path"], "/metrics");
    let selector = monitor["spec"]["selector"]["matchLabels"].as_object().unwrap();
    assert!(
        selector
            .iter()
            .all(|(key, value)| service_labels.get(key).map(String::as_str) == value.as_str())
    );
    assert!(
        render(defaults()).of_kind("ServiceMonitor").is_empty(),
        "off by default"
    );
}

fn metrics_service_port(rendered: &Rendered) -> Option<i32> {
    rendered
        .typed::<Service>("Service")
        .into_iter()
        .find(|s| s.metadata.name.as_deref().is_some_and(|n| n.ends_with("-metrics")))
        .map(|service| service.spec.unwrap().ports.unwrap()[0].port)
}

#[test]
fn the_go_charts_metrics_switch_decides_the_metrics_service() {
    // The Go chart's values file: metrics.enabled with its port 8080, served by the operator there.
    let go = render(scenario("go-chart"));
    assert_eq!(go.args().health_probe_bind_address.port(), 8080);
    assert_eq!(metrics_service_port(&go), Some(8080));
    let off = render(defaults().set("metrics.enabled=false"));
    assert_eq!(
        metrics_service_port(&off),
        None,
        "metrics.enabled=false, the Go chart's default"
    );
    assert_eq!(
        metrics_service_port(&render(defaults())),
        Some(8081),
        "unset: metrics.service.enabled decides"
    );
}

#[test]
fn go_chart_values_this_chart_cannot_honour_are_refused_with_what_to_do() {
    let cases = [
        (
            "metrics.secure=true",
            ["metrics.secure=true is not supported", "plain HTTP", "NetworkPolicy"],
        ),
        (
            "otelCollector.enabled=true",
            [
                "otelCollector.enabled=true is not supported",
                "opentelemetry-collector chart",
                "spec.observability.openTelemetry.endpoint",
            ],
        ),
    ];
    for (assignment, words) in cases {
        let error = scenario("go-chart").set(assignment).objects().unwrap_err().to_string();
        for word in words {
            assert!(
                error.contains(word),
                "--set {assignment}: {word:?} missing from {error}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Each documented value reaches the operator's configuration

#[test]
fn chart_defaults_are_the_documented_defaults() {
    let config = render(defaults()).config();
    let expected = OperatorConfig {
        // The Go operator's chart turns both injections on.
        affinity_injection: true,
        tolerations_injection: true,
        ..OperatorConfig::default()
    };
    assert_eq!(config, expected);
    assert_eq!(render(scenario("default")).config(), expected);
}

/// One documented Helm value: the scenario that sets it and the configuration field it must reach.
macro_rules! reaches_the_operator {
    ($test:ident, $render:expr, |$config:ident| $actual:expr, $expected:expr) => {
        #[test]
        fn $test() {
            let $config = render($render).config();
            assert_eq!($actual, $expected);
        }
    };
}

reaches_the_operator!(
    resources_requests_cpu,
    scenario("kafka-resources"),
    |c| c.pod_resources.cpu_request,
    quantity("500m")
);
reaches_the_operator!(
    resources_requests_memory,
    scenario("kafka-resources"),
    |c| c.pod_resources.memory_request,
    quantity("256Mi")
);
reaches_the_operator!(
    resources_requests_ephemeral_storage,
    scenario("kafka-resources"),
    |c| c.pod_resources.ephemeral_storage_request,
    quantity("100M")
);
reaches_the_operator!(
    resources_limits_cpu_empty,
    scenario("kafka-resources"),
    |c| c.pod_resources.cpu_limit,
    Setting::Empty
);
reaches_the_operator!(
    resources_limits_memory,
    scenario("kafka-resources"),
    |c| c.pod_resources.memory_limit,
    quantity("2Gi")
);
reaches_the_operator!(
    resources_limits_ephemeral_storage,
    scenario("kafka-resources"),
    |c| c.pod_resources.ephemeral_storage_limit,
    quantity("1G")
);

reaches_the_operator!(
    master_resources_requests_cpu,
    scenario("kafka-resources"),
    |c| c.master_resources.cpu_request,
    quantity("100m")
);
reaches_the_operator!(
    master_resources_requests_memory,
    scenario("kafka-resources"),
    |c| c.master_resources.memory_request,
    quantity("64Mi")
);
reaches_the_operator!(
    master_resources_requests_ephemeral_storage,
    scenario("kafka-resources"),
    |c| c.master_resources.ephemeral_storage_request,
    quantity("10M")
);
reaches_the_operator!(
    master_resources_limits_cpu,
    scenario("kafka-resources"),
    |c| c.master_resources.cpu_limit,
    quantity("300m")
);
reaches_the_operator!(
    master_resources_limits_memory,
    scenario("kafka-resources"),
    |c| c.master_resources.memory_limit,
    quantity("512Mi")
);
reaches_the_operator!(
    master_resources_limits_ephemeral_storage,
    scenario("kafka-resources"),
    |c| c.master_resources.ephemeral_storage_limit,
    quantity("20M")
);

// `cpu: 1` is a YAML number: it must reach the operator as "1", not "1.0" or "1e+00".
reaches_the_operator!(
    worker_resources_requests_cpu_as_a_number,
    scenario("kafka-resources"),
    |c| c.worker_resources.cpu_request,
    quantity("1")
);
reaches_the_operator!(
    worker_resources_requests_memory,
    scenario("kafka-resources"),
    |c| c.worker_resources.memory_request,
    quantity("1Gi")
);
reaches_the_operator!(
    worker_resources_requests_ephemeral_storage,
    scenario("kafka-resources"),
    |c| c.worker_resources.ephemeral_storage_request,
    quantity("200M")
);
reaches_the_operator!(
    worker_resources_limits_cpu,
    scenario("kafka-resources"),
    |c| c.worker_resources.cpu_limit,
    quantity("2")
);
reaches_the_operator!(
    worker_resources_limits_memory_empty,
    scenario("kafka-resources"),
    |c| c.worker_resources.memory_limit,
    Setting::Empty
);
reaches_the_operator!(
    worker_resources_limits_ephemeral_storage,
    scenario("kafka-resources"),
    |c| c.worker_resources.ephemeral_storage_limit,
    quantity("2G")
);

reaches_the_operator!(
    affinity_injection_off,
    scenario("kafka-resources"),
    |c| c.affinity_injection,
    false
);
reaches_the_operator!(
    tolerations_injection_off,
    scenario("kafka-resources"),
    |c| c.tolerations_injection,
    false
);
reaches_the_operator!(
    runtime_class_name,
    scenario("kafka-resources"),
    |c| c.default_runtime_class_name.as_deref(),
    Some("gvisor")
);
reaches_the_operator!(
    no_runtime_class_name_by_default,
    defaults(),
    |c| c.default_runtime_class_name,
    None
);

reaches_the_operator!(
    ttl_seconds_after_finished,
    scenario("kafka-resources"),
    |c| c.ttl_seconds_after_finished,
    Some(3600)
);
reaches_the_operator!(
    ttl_zero_deletes_jobs_at_once,
    scenario("ttl-zero"),
    |c| c.ttl_seconds_after_finished,
    Some(0)
);
reaches_the_operator!(
    ttl_zero_from_the_command_line,
    defaults().set("locustPods.ttlSecondsAfterFinished=0"),
    |c| c.ttl_seconds_after_finished,
    Some(0)
);
reaches_the_operator!(
    ttl_empty_keeps_finished_jobs,
    defaults(),
    |c| c.ttl_seconds_after_finished,
    None
);
reaches_the_operator!(
    ttl_from_the_old_config_path,
    scenario("legacy-config"),
    |c| c.ttl_seconds_after_finished,
    Some(120)
);
reaches_the_operator!(
    ttl_zero_from_the_old_config_path,
    defaults().set("config.loadGenerationJobs.ttlSecondsAfterFinished=0"),
    |c| c.ttl_seconds_after_finished,
    Some(0)
);
reaches_the_operator!(
    ttl_new_path_beats_the_old_one,
    defaults()
        .set("locustPods.ttlSecondsAfterFinished=60")
        .set("config.loadGenerationJobs.ttlSecondsAfterFinished=120"),
    |c| c.ttl_seconds_after_finished,
    Some(60)
);

reaches_the_operator!(
    legacy_cpu_request,
    scenario("legacy-config"),
    |c| c.pod_resources.cpu_request,
    quantity("300m")
);
reaches_the_operator!(
    legacy_memory_request,
    scenario("legacy-config"),
    |c| c.pod_resources.memory_request,
    quantity("192Mi")
);
reaches_the_operator!(
    legacy_ephemeral_request,
    scenario("legacy-config"),
    |c| c.pod_resources.ephemeral_storage_request,
    quantity("40M")
);
reaches_the_operator!(
    legacy_cpu_limit,
    scenario("legacy-config"),
    |c| c.pod_resources.cpu_limit,
    quantity("1500m")
);
reaches_the_operator!(
    legacy_memory_limit,
    scenario("legacy-config"),
    |c| c.pod_resources.memory_limit,
    quantity("1536Mi")
);
reaches_the_operator!(
    legacy_ephemeral_limit,
    scenario("legacy-config"),
    |c| c.pod_resources.ephemeral_storage_limit,
    quantity("60M")
);
reaches_the_operator!(
    legacy_affinity_injection,
    scenario("legacy-config"),
    |c| c.affinity_injection,
    false
);
reaches_the_operator!(
    legacy_tolerations_injection,
    scenario("legacy-config"),
    |c| c.tolerations_injection,
    false
);

reaches_the_operator!(no_kafka_by_default, defaults(), |c| c.kafka, None);

reaches_the_operator!(
    kafka_settings_with_credentials_from_a_secret,
    scenario("kafka-resources"),
    |c| c.kafka,
    Some(KafkaConfig {
        bootstrap_servers: "b-1.msk.example.com:9096,b-2.msk.example.com:9096".into(),
        security_enabled: true,
        security_protocol: "SASL_SSL".into(),
        sasl_mechanism: "SCRAM-SHA-256".into(),
        sasl_jaas_config: Some("org.apache.kafka.common.security.scram.ScramLoginModule required;".into()),
        username: None,
        credentials_secret: Some(KafkaCredentialsSecret {
            name: "msk-load-test-user".into(),
            username_key: "user".into(),
            password_key: "secret".into(),
        }),
    })
);

reaches_the_operator!(
    kafka_without_security,
    defaults()
        .set("kafka.enabled=true")
        .set("kafka.bootstrapServers=kafka:9092"),
    |c| c
        .kafka
        .map(|k| (k.bootstrap_servers, k.security_enabled, k.credentials_secret)),
    Some(("kafka:9092".to_string(), false, None))
);

reaches_the_operator!(
    kafka_from_the_old_config_paths,
    scenario("legacy-config"),
    |c| c.kafka,
    Some(KafkaConfig {
        bootstrap_servers: "kafka.example.com:9092".into(),
        security_enabled: true,
        security_protocol: "SASL_PLAINTEXT".into(),
        sasl_mechanism: "SCRAM-SHA-512".into(),
        sasl_jaas_config: Some("org.apache.kafka.common.security.scram.ScramLoginModule required;".into()),
        username: None,
        credentials_secret: Some(KafkaCredentialsSecret {
            name: "locust-kafka-user".into(),
            username_key: "user-name".into(),
            password_key: "user-password".into(),
        }),
    })
);

#[test]
fn an_empty_cpu_limit_disables_the_limit_of_every_locust_pod() {
    let config = render(defaults().set("locustPods.resources.limits.cpu=")).config();
    for role in [LocustRole::Master, LocustRole::Worker] {
        let limits = config.resources_for(role).limits.unwrap();
        assert!(!limits.contains_key("cpu"), "{role:?}: {limits:?}");
        assert_eq!(limits["memory"], Quantity("1024Mi".into()));
    }
}

#[test]
fn role_resources_apply_to_their_role_only() {
    let config = render(scenario("kafka-resources")).config();
    let master = config.resources_for(LocustRole::Master);
    let worker = config.resources_for(LocustRole::Worker);
    assert_eq!(master.limits.as_ref().unwrap()["memory"], Quantity("512Mi".into()));
    assert!(!worker.limits.as_ref().unwrap().contains_key("memory"));
    assert_eq!(worker.requests.as_ref().unwrap()["cpu"], Quantity("1".into()));
    assert_eq!(master.requests.as_ref().unwrap()["cpu"], Quantity("100m".into()));
}

#[test]
fn a_null_value_means_the_operators_built_in_default() {
    let config = render(defaults().set("locustPods.resources.limits.memory=null")).config();
    assert_eq!(config.pod_resources.memory_limit, quantity("1024Mi"));
}

#[test]
fn no_kafka_password_or_secret_value_reaches_the_operator() {
    for (name, values) in all_scenarios() {
        let rendered = render(values);
        for variable in rendered.container().env.unwrap_or_default() {
            assert_ne!(variable.name, "KAFKA_PASSWORD", "{name}");
            let from_secret = variable
                .value_from
                .as_ref()
                .and_then(|from| from.secret_key_ref.as_ref());
            assert!(from_secret.is_none(), "{name}: {} comes from a Secret", variable.name);
        }
    }
}

#[test]
fn a_literal_kafka_password_is_refused_even_through_extra_env() {
    let rendered = render(
        defaults()
            .set("kafka.enabled=true")
            .set("extraEnv[0].name=KAFKA_PASSWORD")
            .set("extraEnv[0].value=hunter2"),
    );
    let error = rendered.try_config().unwrap_err();
    assert!(error.contains("KAFKA_PASSWORD"), "{error}");
    assert!(!error.contains("hunter2"), "{error}");
}

#[test]
fn operator_flags_follow_their_values() {
    let rendered = render(
        defaults()
            .set("podHealthGracePeriod=90s")
            .set("logLevel=debug")
            .set("logFormat=text")
            .set("metrics.port=9090")
            .set("webhook.port=10443"),
    );
    let args = rendered.args();
    assert_eq!(args.pod_health_grace_period, Duration::from_secs(90));
    assert_eq!(args.log_level, "debug");
    assert_eq!(args.log_format, operator::cli::LogFormat::Text);
    assert_eq!(args.health_probe_bind_address.port(), 9090);
    assert_eq!(args.webhook_bind_address.port(), 10443);
    let ports: Vec<i32> = rendered
        .container()
        .ports
        .unwrap()
        .iter()
        .map(|port| port.container_port)
        .collect();
    assert_eq!(ports, [9090, 10443]);
}

#[test]
fn statistics_are_read_in_cluster_through_service_dns_by_default() {
    let args = render(defaults()).args();
    assert_eq!(args.stats_access, StatsAccess::ServiceDns);
    assert!(args.stats_through_service_dns(true));
    assert_eq!(args.stats_interval, Duration::from_secs(5));
    assert_eq!(args.stats_timeout, Duration::from_secs(2));
}

#[test]
fn statistics_settings_reach_the_operator() {
    let args = render(scenario("stats-api-proxy")).args();
    assert_eq!(args.stats_access, StatsAccess::ApiProxy);
    assert!(!args.stats_through_service_dns(true));
    assert_eq!(args.stats_interval, Duration::from_secs(15));
    assert_eq!(args.stats_timeout, Duration::from_millis(500));
    assert_eq!(args.stats_concurrency, 4);
}

// ---------------------------------------------------------------------------------------------
// values.schema.json

#[test]
fn wrong_types_and_unknown_keys_are_refused_with_their_path() {
    let cases = [
        ("locustPods.typo=1", "/locustPods"),
        (
            "locustPods.resources.limits.cpu=lots",
            "/locustPods/resources/limits/cpu",
        ),
        ("locustPods.resources.requests.gpu=1", "/locustPods/resources/requests"),
        (
            "locustPods.masterResources.limits.memory=12GB",
            "/locustPods/masterResources/limits/memory",
        ),
        (
            "locustPods.ttlSecondsAfterFinished=-5",
            "/locustPods/ttlSecondsAfterFinished",
        ),
        ("locustPods.affinityInjection=maybe", "/locustPods/affinityInjection"),
        ("locustPods.runtimeClassName=GVisor", "/locustPods/runtimeClassName"),
        ("kafka.security.protocol=TLS", "/kafka/security/protocol"),
        (
            "kafka.credentials.secretName=Kafka_User",
            "/kafka/credentials/secretName",
        ),
        ("replicaCount=two", "/replicaCount"),
        ("logFormat=xml", "/logFormat"),
        ("stats.access=auto", "/stats/access"),
        ("stats.concurrency=0", "/stats/concurrency"),
        ("webhook.port=443", "/webhook/port"),
        (
            "config.loadGenerationPods.resource.cpuLimit=fast",
            "/config/loadGenerationPods/resource/cpuLimit",
        ),
    ];
    for (assignment, path) in cases {
        let error = defaults().set(assignment).objects().unwrap_err().to_string();
        assert!(error.contains(&format!("'{path}'")), "--set {assignment}: {error}");
    }
}

#[test]
fn the_schema_accepts_what_the_docs_show() {
    // values.yaml examples of the docs: a TTL as a number, "" to keep jobs, quantities as numbers.
    for assignment in [
        "locustPods.ttlSecondsAfterFinished=3600",
        "locustPods.ttlSecondsAfterFinished=",
        "locustPods.resources.limits.cpu=",
        "locustPods.resources.requests.cpu=0.5",
        "locustPods.metricsExporter.image=containersol/locust_exporter:v0.5.0",
    ] {
        render(defaults().set(assignment)).config();
    }
}

// ---------------------------------------------------------------------------------------------
// NOTES.txt

#[test]
fn the_notes_tell_how_to_run_and_watch_a_test() {
    let notes = defaults().notes().unwrap();
    assert!(notes.contains("kubectl locust run"), "{notes}");
    assert!(
        notes.contains("kubectl get locusttests -n <namespace> --watch"),
        "{notes}"
    );
    assert!(
        notes.contains(&format!("rollout status deployment/{RELEASE}-locust-operator")),
        "{notes}"
    );
    let namespaced = scenario("namespaced").notes().unwrap();
    assert!(
        namespaced.contains("kubectl get locusttests -n load-tests --watch"),
        "{namespaced}"
    );
    let legacy = scenario("legacy-config").notes().unwrap();
    assert!(legacy.contains("`config.*` is deprecated"), "{legacy}");
}

/// The JSON patch of the `kubectl patch crd locusttests.locust.io --type=json -p '[...]'` line in
/// `text`, if there is one.
fn crd_repair_patch(text: &str) -> Option<Value> {
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("kubectl patch crd locusttests.locust.io --type=json -p '"))?;
    let patch = line.split_once("-p '")?.1.strip_suffix('\'')?;
    Some(serde_json::from_str(patch).unwrap_or_else(|error| panic!("{error}: {patch}")))
}

/// Applies the `test` and `replace` operations of an RFC 6902 JSON patch, as the API server
/// would; a failed test or a missing path is an error, as it is there.
fn apply_json_patch(target: &mut Value, patch: &Value) -> Result<(), String> {
    for operation in patch.as_array().ok_or("a JSON patch is an array")? {
        let path = operation["path"].as_str().ok_or("an operation without a path")?;
        let value = &operation["value"];
        let slot = target
            .pointer_mut(path)
            .ok_or_else(|| format!("{path} does not exist"))?;
        match operation["op"].as_str() {
            Some("test") if slot == value => {}
            Some("test") => return Err(format!("test failed: {path} is {slot}, not {value}")),
            Some("replace") => *slot = value.clone(),
            other => return Err(format!("unexpected operation {other:?}")),
        }
    }
    Ok(())
}

#[test]
fn the_notes_and_the_readme_repair_the_crd_that_uninstall_keeps() {
    let notes = defaults().notes().unwrap();
    let patch = crd_repair_patch(&notes).unwrap_or_else(|| panic!("no `kubectl patch crd` in the notes:\n{notes}"));
    assert!(notes.contains("`helm uninstall` keeps the CRD"), "{notes}");
    let readme = std::fs::read_to_string(helm::workspace_root().join("README.md")).unwrap();
    assert_eq!(
        crd_repair_patch(&readme).as_ref(),
        Some(&patch),
        "the README gives the notes' command"
    );

    // On the CRD the chart installs: v1 no longer served, no conversion, v2 as it was.
    let rendered = render(defaults());
    let installed = rendered.of_kind("CustomResourceDefinition")[0].clone();
    let mut repaired = installed.clone();
    apply_json_patch(&mut repaired, &patch).unwrap();
    let crd: CustomResourceDefinition = serde_json::from_value(repaired.clone()).unwrap();
    let served: Vec<(String, bool, bool)> = crd
        .spec
        .versions
        .iter()
        .map(|version| (version.name.clone(), version.served, version.storage))
        .collect();
    assert_eq!(
        served,
        [("v2".to_string(), true, true), ("v1".to_string(), false, false)]
    );
    assert_eq!(
        repaired["spec"]["conversion"],
        serde_json::json!({ "strategy": "None" })
    );
    assert_eq!(
        repaired["spec"]["versions"][0], installed["spec"]["versions"][0],
        "v2 unchanged"
    );

    // Were v1 not where the patch expects it, the `test` would stop the patch.
    let mut reordered = installed;
    reordered["spec"]["versions"].as_array_mut().unwrap().reverse();
    let refused = apply_json_patch(&mut reordered, &patch).unwrap_err();
    assert!(refused.starts_with("test failed: /spec/versions/1/name"), "{refused}");

    // Without the webhook, v1 is not served and there is no conversion to repair.
    let without = defaults().set("webhook.enabled=false").notes().unwrap();
    assert!(crd_repair_patch(&without).is_none(), "{without}");
}
