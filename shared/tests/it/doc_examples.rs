//! The documentation's YAML examples build what the text around them promises.
//!
//! Each fenced YAML block of `shared/spec/api-reference.md` and `shared/spec/advanced-topics.md`
//! is kept verbatim in `tests/fixtures/docs/<doc>--<heading>.yaml` (blocks inside `=== "tab"`
//! sections lose only the Markdown tab indentation; a first comment line names the source), shared
//! with `tests/it/validation.rs`. Whether a document parses and validates is `tests/it/validation.rs`'s
//! job; here each example is built and its pods are checked against what the docs say they get.
//! Generic builder rules (argv order, resource precedence, ...) live in `tests/it/build.rs`.
//!
//! The docs assume an operator installed with the Helm chart, whose defaults turn affinity and
//! toleration injection on: [`chart_defaults`] sets `ENABLE_AFFINITY_CR_INJECTION=true` and
//! `ENABLE_TAINT_TOLERATIONS_CR_INJECTION=true` and leaves everything else at its default.
//!
//! # Every YAML block, in document order, with its fixture under `tests/fixtures/docs/`
//!
//! api-reference.md
//! 1. "CI/CD Integration" GitHub Actions workflow: no fixture, no test here; it drives kubectl
//!    against a cluster and belongs to the end-to-end tests.
//! 2. "Complete v2 Example" (`comprehensive-test`), `api-reference--complete-v2-example.yaml`:
//!    [`api_reference_complete_v2_example`].
//! 3. "v1 Example" (`basic-test`), `api-reference--v1-example.yaml`: [`api_reference_v1_example`].
//!
//! advanced-topics.md
//! 4. "Affinity Options", v2 template (`my-test`, `<label-key>` placeholders),
//!    `advanced-topics--affinity-options-v2.yaml`: [`affinity_options_v2_template`], with the
//!    placeholders filled in.
//! 5. "Affinity Options", v1 template: no fixture, no test. It is not YAML (`...` elisions, a key
//!    without its colon, `affinity:` outside `spec`) and only restates block 4 in the v1 shape.
//! 6. "Node Affinity", v2 example (`affinity-example`), `advanced-topics--node-affinity-v2.yaml`:
//!    [`node_affinity_v2_example`].
//! 7. "Node Affinity", v1 fragment, `advanced-topics--node-affinity-v1.yaml`:
//!    [`node_affinity_v1_fragment_builds_the_same_affinity_as_v2`], after dropping its `...`
//!    elision lines.
//! 8. "Toleration Options", v2 template (`my-test`, `<string value>` placeholders),
//!    `advanced-topics--toleration-options-v2.yaml`: [`toleration_options_v2_template`], with the
//!    placeholders filled in.
//! 9. "Toleration Options", v2 example (`toleration-example`),
//!    `advanced-topics--toleration-options-v2-example.yaml`: [`toleration_v2_example`].
//! 10. "Toleration Options", v1 fragment, `advanced-topics--toleration-options-v1.yaml`:
//!     [`toleration_v1_fragment_builds_the_same_tolerations_as_v2`], after dropping its `...`
//!     elision lines.
//! 11. "Per-CR Resource Configuration" (`resource-example`),
//!     `advanced-topics--per-cr-resource-configuration.yaml`: [`per_cr_resource_example`].
//! 12. "Disabling CPU Limits", Helm values (`locustPods.resources.limits.cpu: ""`): no fixture, no
//!     test here; Helm values belong to the chart's tests. Its operator-side meaning
//!     (`POD_CPU_LIMIT=""` drops the CPU limit) is tested in `tests/it/build.rs`.
//! 13. "Disabling CPU Limits", per-CR (`no-cpu-limit-test`),
//!     `advanced-topics--disabling-cpu-limits-per-cr.yaml`: [`no_cpu_limit_example`].
//! 14. "Usage of a private image registry", v2 (`private-registry-test`),
//!     `advanced-topics--private-image-registry-v2.yaml`:
//!     [`private_registry_example_is_refused_and_its_corrected_form_builds`]; its
//!     `imagePullSecrets: [gcr-secret]` is the v1 shape, the API reference decides.
//! 15. "Usage of a private image registry", v1 fragment,
//!     `advanced-topics--private-image-registry-v1.yaml`:
//!     [`private_registry_v1_fragment_puts_the_pull_secret_on_both_pods`], after dropping `...`.
//! 16. "Image pull policy", v2 (`pull-policy-test`), `advanced-topics--image-pull-policy-v2.yaml`:
//!     [`pull_policy_example`].
//! 17. "Image pull policy", v1 fragment, `advanced-topics--image-pull-policy-v1.yaml`:
//!     [`pull_policy_v1_fragment_sets_always_on_both_containers`], after dropping `...`.
//! 18. "Automatic Cleanup", Helm values (`locustPods.ttlSecondsAfterFinished: 3600`): no fixture,
//!     no test here; Helm values belong to the chart's tests. `JOB_TTL_SECONDS_AFTER_FINISHED`
//!     reaching both Jobs is tested in `tests/it/build.rs`.
//! 19. "Enabling OpenTelemetry" (`otel-enabled-test`), `advanced-topics--enabling-opentelemetry.yaml`:
//!     [`open_telemetry_example_is_refused_and_its_corrected_form_builds`]; its `extraEnvVars`
//!     list is not the map the API reference specifies.
//! 20. "ConfigMap Environment Variables" fragment,
//!     `advanced-topics--configmap-environment-variables.yaml`: [`config_map_env_fragment`].
//! 21. "Secret Environment Variables" fragment, `advanced-topics--secret-environment-variables.yaml`:
//!     [`secret_env_fragment`].
//! 22. "Individual Variables" fragment, `advanced-topics--individual-variables.yaml`:
//!     [`individual_variables_fragment`].
//! 23. "Secret File Mounts" fragment, `advanced-topics--secret-file-mounts.yaml`:
//!     [`secret_file_mount_fragment`].
//! 24. "Basic Volume Mount" fragment, `advanced-topics--basic-volume-mount.yaml`:
//!     [`basic_volume_mount_fragment`], and the "Target Filtering" table after it:
//!     [`target_filtering_table`].
//! 25. "Supported Volume Types", PersistentVolumeClaim,
//!     `advanced-topics--supported-volume-types-persistentvolumeclaim.yaml`: [`pvc_volume_type`].
//! 26. "Supported Volume Types", ConfigMap, `advanced-topics--supported-volume-types-configmap.yaml`:
//!     [`config_map_volume_type`].
//! 27. "Supported Volume Types", Secret, `advanced-topics--supported-volume-types-secret.yaml`:
//!     [`secret_volume_type`].
//! 28. "Supported Volume Types", EmptyDir, `advanced-topics--supported-volume-types-emptydir.yaml`:
//!     [`empty_dir_volume_type`].
//! 29. "Independent Resource Configuration" (`optimized-test`),
//!     `advanced-topics--independent-resource-configuration.yaml`: [`separate_resource_specs_example`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use crate::support::{
    args, container, env_var, from_yaml, jobs, joined, operator_config, pod, pod_metadata, quantities, test_yaml,
    validated,
};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, EmptyDirVolumeSource, EnvFromSource, NodeSelectorRequirement,
    PersistentVolumeClaimVolumeSource, SecretVolumeSource, Toleration, Volume, VolumeMount,
};
use shared::api::conversion::v1_to_v2;
use shared::api::{v1, v2};
use shared::build::{self, Children};
use shared::config::OperatorConfig;
use shared::validation::{parse_locust_test, validate};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The operator as the Helm chart installs it: affinity and toleration injection on.
fn chart_defaults() -> OperatorConfig {
    operator_config(&[
        ("ENABLE_AFFINITY_CR_INJECTION", "true"),
        ("ENABLE_TAINT_TOLERATIONS_CR_INJECTION", "true"),
    ])
}

fn build(test: &v2::LocustTest) -> Children {
    build::children(test, &chart_defaults()).expect("a valid test builds")
}

/// A v2 document, validated and built with the chart's defaults.
fn built(yaml: &str) -> Children {
    build(&validated(yaml))
}

fn pod_labels(job: &Job) -> &BTreeMap<String, String> {
    pod_metadata(job).labels.as_ref().expect("the pod template has labels")
}

/// Expected argv written as one line: every argument is one space-separated word.
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

fn env_value<'a>(job: &'a Job, name: &str) -> Option<&'a str> {
    env_var(job, name).and_then(|var| var.value.as_deref())
}

fn env_from(job: &Job) -> &[EnvFromSource] {
    container(job).env_from.as_deref().unwrap_or_default()
}

fn volume<'a>(job: &'a Job, name: &str) -> Option<&'a Volume> {
    pod(job).volumes.iter().flatten().find(|volume| volume.name == name)
}

fn mount<'a>(job: &'a Job, name: &str) -> Option<&'a VolumeMount> {
    container(job)
        .volume_mounts
        .iter()
        .flatten()
        .find(|mount| mount.name == name)
}

/// Requests and limits as plain strings, for comparing with the YAML the docs show.
fn resources(job: &Job) -> (BTreeMap<&str, &str>, BTreeMap<&str, &str>) {
    let resources = container(job).resources.as_ref().expect("the container has resources");
    (
        quantities(resources.requests.as_ref()),
        quantities(resources.limits.as_ref()),
    )
}

fn service_ports(children: &Children) -> Vec<i32> {
    let spec = children.service.spec.as_ref().expect("the Service has a spec");
    spec.ports.iter().flatten().map(|port| port.port).collect()
}

/// What both OpenTelemetry examples give each pod: the injected variables, both extra ones, and
/// no `OTEL_EXPORTER_OTLP_INSECURE` ("only set if insecure: true").
fn assert_documented_otel_env(children: &Children, service_name: &str) {
    for (role, job) in jobs(children) {
        for (name, value) in [
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "otel-collector.monitoring:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", service_name),
            ("OTEL_RESOURCE_ATTRIBUTES", "environment=staging,team=platform"),
        ] {
            assert_eq!(env_value(job, name), Some(value), "{name} in the {role} pod");
        }
        assert!(
            env_var(job, "OTEL_EXPORTER_OTLP_INSECURE").is_none(),
            "insecure is not set in the {role} pod"
        );
    }
}

fn yaml_value(yaml: &str) -> serde_yaml::Value {
    from_yaml(yaml)
}

fn spec_mapping(document: &mut serde_yaml::Value) -> &mut serde_yaml::Mapping {
    document
        .get_mut("spec")
        .and_then(serde_yaml::Value::as_mapping_mut)
        .expect("the document has a spec mapping")
}

/// `base` with every key of `fragment`'s `spec` mapping written over its spec.
fn overlay_spec(base: &str, fragment: &str) -> String {
    let mut fragment = yaml_value(fragment);
    let mut document = yaml_value(base);
    let target = spec_mapping(&mut document);
    for (key, value) in spec_mapping(&mut fragment).iter() {
        target.insert(key.clone(), value.clone());
    }
    serde_yaml::to_string(&document).expect("a YAML value serializes")
}

/// A `spec:` fragment merged into a minimal valid test shaped like the docs' own examples,
/// validated and built.
fn built_with_fragment(fragment: &str) -> Children {
    built(&overlay_spec(&test_yaml("fragment-test", ""), fragment))
}

/// A bare `volumes:` list (the "Supported Volume Types" blocks) needs a mount to reach a pod:
/// wrap it in a spec with one `volumeMount` per volume, at `/mnt/<name>`, for both pods.
fn built_with_volume_list(volumes_fragment: &str) -> Children {
    let volumes = yaml_value(volumes_fragment);
    let names: Vec<String> = volumes
        .get("volumes")
        .and_then(serde_yaml::Value::as_sequence)
        .expect("the block is a volumes list")
        .iter()
        .map(|volume| {
            volume
                .get("name")
                .and_then(serde_yaml::Value::as_str)
                .expect("every volume has a name")
                .to_string()
        })
        .collect();
    let mounts: Vec<serde_yaml::Value> = names
        .iter()
        .map(|name| yaml_value(&format!("{{name: {name}, mountPath: /mnt/{name}}}")))
        .collect();
    let mut spec = serde_yaml::Mapping::new();
    spec.insert("volumes".into(), volumes["volumes"].clone());
    spec.insert("volumeMounts".into(), serde_yaml::Value::Sequence(mounts));
    let mut fragment = serde_yaml::Mapping::new();
    fragment.insert("spec".into(), serde_yaml::Value::Mapping(spec));
    let fragment = serde_yaml::to_string(&fragment).expect("a YAML value serializes");
    built_with_fragment(&fragment)
}

/// A template with its `<placeholders>` replaced; every placeholder must be there, and none may
/// be left, so a changed template fails here instead of testing something else.
fn filled(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_string();
    for (placeholder, value) in values {
        assert!(text.contains(placeholder), "the template has no {placeholder}");
        text = text.replace(placeholder, value);
    }
    let leftover: Vec<&str> = text.lines().filter(|line| line.contains(": <")).collect();
    assert!(leftover.is_empty(), "unfilled placeholders: {leftover:?}");
    text
}

/// A v1 fragment without its `...` elision lines (which YAML reads as "end of document").
fn without_elisions(fragment: &str) -> String {
    fragment
        .lines()
        .filter(|line| line.trim() != "...")
        .map(|line| format!("{line}\n"))
        .collect()
}

/// A v1 document converted the way the conversion webhook converts it, then built.
fn built_from_v1(yaml: &str) -> (v2::LocustTest, Children) {
    let v1_test: v1::LocustTest = from_yaml(yaml);
    let converted = v1_to_v2(&v1_test);
    if let Err(errors) = validate(&converted) {
        panic!("the converted v1 test is not a valid v2 test:\n{}", joined(&errors));
    }
    let children = build(&converted);
    (converted, children)
}

/// A v1 fragment, without its elisions, merged into the api-reference v1 example.
fn built_from_v1_fragment(fragment: &str) -> Children {
    built_from_v1(&overlay_spec(API_REFERENCE_V1, &without_elisions(fragment))).1
}

// ---------------------------------------------------------------------------------------------
// api-reference.md

const API_REFERENCE_COMPLETE_V2: &str = include_str!("../fixtures/docs/api-reference--complete-v2-example.yaml");

#[test]
fn api_reference_complete_v2_example() {
    let children = built(API_REFERENCE_COMPLETE_V2);
    let (master, worker) = (&children.master_job, &children.worker_job);

    // The seed, then --otel (OpenTelemetry is on), the operator's flags and `autoquit.timeout: 120`.
    assert_eq!(
        args(master),
        words(
            "--locustfile /lotest/src/test.py --host https://api.example.com --users 1000 --spawn-rate 50 --run-time 10m --otel --master --master-port=5557 --expect-workers=10 --autostart --autoquit 120 --enable-rebalancing --only-summary"
        )
    );
    assert_eq!(
        args(worker),
        words(
            "--locustfile /lotest/src/test.py --otel --worker --master-port=5557 --master-host=comprehensive-test-master"
        )
    );
    assert_eq!(master.spec.as_ref().unwrap().parallelism, Some(1));

    // Per-role resources exactly as given, and `replicas: 10`.
    assert_documented_per_role_resources(&children);

    // "The metrics port is excluded from the Service": worker ports and the web UI only.
    assert_eq!(service_ports(&children), [5557, 5558, 8089]);

    for (role, job) in jobs(&children) {
        let labels = pod_labels(job);
        assert_eq!(labels["role"], role, "labels.role of the {role}");
        assert_eq!(
            labels["performance-test-pod-name"],
            format!("comprehensive-test-{role}")
        );

        let container = container(job);
        assert_eq!(container.image.as_deref(), Some("locustio/locust:2.20.0"));
        assert_eq!(container.image_pull_policy.as_deref(), Some("IfNotPresent"));

        // testFiles at the default paths; the lib directory is importable.
        let scripts = volume(job, &format!("comprehensive-test-{role}")).expect("test files volume");
        assert_eq!(scripts.config_map.as_ref().unwrap().name, "my-test-scripts");
        assert_eq!(
            mount(job, &format!("comprehensive-test-{role}")).unwrap().mount_path,
            "/lotest/src"
        );
        assert_eq!(
            volume(job, "locust-lib").unwrap().config_map.as_ref().unwrap().name,
            "my-lib-files"
        );
        assert_eq!(mount(job, "locust-lib").unwrap().mount_path, "/opt/locust/lib");
        assert_eq!(env_value(job, "PYTHONPATH"), Some("/opt/locust/lib"));

        // Scheduling on both pods.
        let pod = pod(job);
        assert_eq!(
            pod.node_selector,
            Some(BTreeMap::from([("node-type".to_string(), "performance".to_string())]))
        );
        assert_eq!(
            pod.tolerations.as_deref(),
            Some(
                &[Toleration {
                    key: Some("dedicated".into()),
                    operator: Some("Equal".into()),
                    value: Some("performance".into()),
                    effect: Some("NoSchedule".into()),
                    toleration_seconds: None,
                }][..]
            )
        );

        // env: the ConfigMap, the Secret with its API_ prefix, LOG_LEVEL.
        let sources: Vec<(Option<&str>, Option<&str>, Option<&str>)> = env_from(job)
            .iter()
            .map(|source| {
                (
                    source.config_map_ref.as_ref().map(|c| c.name.as_str()),
                    source.secret_ref.as_ref().map(|s| s.name.as_str()),
                    source.prefix.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            sources,
            [
                (Some("app-config"), None, None),
                (None, Some("api-credentials"), Some("API_"))
            ]
        );
        assert_eq!(env_value(job, "LOG_LEVEL"), Some("INFO"));

        // The PVC at /data in both pods (target: both).
        assert_eq!(
            volume(job, "test-data")
                .unwrap()
                .persistent_volume_claim
                .as_ref()
                .unwrap()
                .claim_name,
            "test-data-pvc"
        );
        assert_eq!(mount(job, "test-data").unwrap().mount_path, "/data");
    }
    assert_documented_otel_env(&children, "load-test");
}

const API_REFERENCE_V1: &str = include_str!("../fixtures/docs/api-reference--v1-example.yaml");

#[test]
fn api_reference_v1_example() {
    let (converted, children) = built_from_v1(API_REFERENCE_V1);
    assert_eq!(converted.metadata.name.as_deref(), Some("basic-test"));
    let (master, worker) = (&children.master_job, &children.worker_job);
    // v1 tests always start and quit on their own, after 60 s (the Java operator's fixed flags).
    assert_eq!(
        args(master),
        words(
            "--locustfile /lotest/src/test.py --host https://example.com --master --master-port=5557 --expect-workers=3 --autostart --autoquit 60 --enable-rebalancing --only-summary"
        )
    );
    assert_eq!(
        args(worker),
        words("--locustfile /lotest/src/test.py --worker --master-port=5557 --master-host=basic-test-master")
    );
    assert_eq!(worker.spec.as_ref().unwrap().parallelism, Some(3));
    for (role, job) in jobs(&children) {
        assert_eq!(container(job).image.as_deref(), Some("locustio/locust:2.20.0"));
        let scripts = format!("basic-test-{role}");
        assert_eq!(
            volume(job, &scripts).unwrap().config_map.as_ref().unwrap().name,
            "test-scripts"
        );
        assert_eq!(mount(job, &scripts).unwrap().mount_path, "/lotest/src");
        assert!(volume(job, "locust-lib").is_none(), "no libConfigMap, no lib volume");
        assert!(env_var(job, "PYTHONPATH").is_none());
    }
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: affinity

const AFFINITY_OPTIONS_V2_TEMPLATE: &str = include_str!("../fixtures/docs/advanced-topics--affinity-options-v2.yaml");

/// The `In` requirements of the pod's single required node-selector term, as (key, values).
fn required_node_labels(job: &Job) -> Vec<(String, Vec<String>)> {
    let node_affinity = pod(job)
        .affinity
        .as_ref()
        .and_then(|affinity| affinity.node_affinity.as_ref())
        .expect("the pod has node affinity");
    assert!(
        node_affinity
            .preferred_during_scheduling_ignored_during_execution
            .is_none(),
        "only required affinity"
    );
    let terms = &node_affinity
        .required_during_scheduling_ignored_during_execution
        .as_ref()
        .expect("required node affinity")
        .node_selector_terms;
    assert_eq!(terms.len(), 1, "one node-selector term");
    terms[0]
        .match_expressions
        .iter()
        .flatten()
        .map(|requirement: &NodeSelectorRequirement| {
            assert_eq!(requirement.operator, "In", "requirement on {}", requirement.key);
            (requirement.key.clone(), requirement.values.clone().unwrap_or_default())
        })
        .collect()
}

#[test]
fn affinity_options_v2_template() {
    let yaml = filled(
        AFFINITY_OPTIONS_V2_TEMPLATE,
        &[("<label-key>", "node-pool"), ("<label-value>", "load-generators")],
    );
    let children = built(&yaml);
    for (role, job) in jobs(&children) {
        assert_eq!(
            required_node_labels(job),
            [("node-pool".to_string(), vec!["load-generators".to_string()])],
            "{role} pod"
        );
    }
}

const NODE_AFFINITY_V2: &str = include_str!("../fixtures/docs/advanced-topics--node-affinity-v2.yaml");

/// "Generated pods will declare 3 required labels (keys and values) to be present on nodes."
fn three_required_labels() -> Vec<(String, Vec<String>)> {
    [
        ("nodeAffinityLabel1", "locust-cloud-tests"),
        ("nodeAffinityLabel2", "performance-nodes"),
        ("nodeAffinityLabel3", "high-memory"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_string(), vec![value.to_string()]))
    .collect()
}

#[test]
fn node_affinity_v2_example() {
    let children = built(NODE_AFFINITY_V2);
    assert_eq!(children.worker_job.spec.as_ref().unwrap().parallelism, Some(5));
    for (role, job) in jobs(&children) {
        assert_eq!(required_node_labels(job), three_required_labels(), "{role} pod");
    }
}

const NODE_AFFINITY_V1_FRAGMENT: &str = include_str!("../fixtures/docs/advanced-topics--node-affinity-v1.yaml");

#[test]
fn node_affinity_v1_fragment_builds_the_same_affinity_as_v2() {
    let from_v1 = built_from_v1_fragment(NODE_AFFINITY_V1_FRAGMENT);
    let from_v2 = built(NODE_AFFINITY_V2);
    for ((role, v1_job), (_, v2_job)) in jobs(&from_v1).into_iter().zip(jobs(&from_v2)) {
        assert_eq!(required_node_labels(v1_job), three_required_labels(), "{role} pod");
        assert_eq!(
            pod(v1_job).affinity,
            pod(v2_job).affinity,
            "{role} pod: the v1 and v2 tabs mean the same"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: tolerations

const TOLERATION_OPTIONS_V2_TEMPLATE: &str =
    include_str!("../fixtures/docs/advanced-topics--toleration-options-v2.yaml");

fn toleration(key: &str, operator: &str, value: Option<&str>, effect: &str) -> Toleration {
    Toleration {
        key: Some(key.into()),
        operator: Some(operator.into()),
        value: value.map(Into::into),
        effect: Some(effect.into()),
        toleration_seconds: None,
    }
}

#[test]
fn toleration_options_v2_template() {
    let yaml = filled(
        TOLERATION_OPTIONS_V2_TEMPLATE,
        &[
            ("<string value>", "load-generator"),
            (r#"<"Exists", "Equal">"#, "Equal"),
            (r#"<"NoSchedule", "PreferNoSchedule", "NoExecute">"#, "PreferNoSchedule"),
        ],
    );
    let children = built(&yaml);
    for (role, job) in jobs(&children) {
        assert_eq!(
            pod(job).tolerations.as_deref(),
            Some(
                &[toleration(
                    "load-generator",
                    "Equal",
                    Some("load-generator"),
                    "PreferNoSchedule"
                )][..]
            ),
            "{role} pod"
        );
    }
}

const TOLERATION_V2: &str = include_str!("../fixtures/docs/advanced-topics--toleration-options-v2-example.yaml");

/// Both tolerations of the example on both pods; `taint-B` has no value ("optional when operator
/// is Exists").
fn assert_documented_tolerations(children: &Children) {
    let documented = [
        toleration("taint-A", "Equal", Some("ssd"), "NoSchedule"),
        toleration("taint-B", "Exists", None, "NoExecute"),
    ];
    for (role, job) in jobs(children) {
        assert_eq!(pod(job).tolerations.as_deref(), Some(&documented[..]), "{role} pod");
    }
}

#[test]
fn toleration_v2_example() {
    assert_documented_tolerations(&built(TOLERATION_V2));
}

const TOLERATION_V1_FRAGMENT: &str = include_str!("../fixtures/docs/advanced-topics--toleration-options-v1.yaml");

#[test]
fn toleration_v1_fragment_builds_the_same_tolerations_as_v2() {
    assert_documented_tolerations(&built_from_v1_fragment(TOLERATION_V1_FRAGMENT));
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: resources

const PER_CR_RESOURCES: &str = include_str!("../fixtures/docs/advanced-topics--per-cr-resource-configuration.yaml");

/// The master and worker resources both resource examples give, and nothing from the operator's
/// defaults (no ephemeral-storage): "Master pod: lower resources ... Worker pods: higher resources".
fn assert_documented_per_role_resources(children: &Children) {
    assert_eq!(
        resources(&children.master_job),
        (
            BTreeMap::from([("memory", "256Mi"), ("cpu", "100m")]),
            BTreeMap::from([("memory", "512Mi"), ("cpu", "500m")])
        )
    );
    assert_eq!(
        resources(&children.worker_job),
        (
            BTreeMap::from([("memory", "512Mi"), ("cpu", "500m")]),
            BTreeMap::from([("memory", "1Gi"), ("cpu", "1000m")])
        )
    );
    assert_eq!(children.worker_job.spec.as_ref().unwrap().parallelism, Some(10));
}

#[test]
fn per_cr_resource_example() {
    assert_documented_per_role_resources(&built(PER_CR_RESOURCES));
}

const NO_CPU_LIMIT: &str = include_str!("../fixtures/docs/advanced-topics--disabling-cpu-limits-per-cr.yaml");

#[test]
fn no_cpu_limit_example() {
    // The operator's default CPU limit (1000m) must not fill the gap the test leaves.
    let children = built(NO_CPU_LIMIT);
    assert_eq!(
        resources(&children.master_job),
        (
            BTreeMap::from([("memory", "256Mi"), ("cpu", "100m")]),
            BTreeMap::from([("memory", "512Mi")])
        )
    );
    assert_eq!(
        resources(&children.worker_job),
        (
            BTreeMap::from([("memory", "512Mi"), ("cpu", "500m")]),
            BTreeMap::from([("memory", "1Gi")])
        )
    );
}

const SEPARATE_RESOURCES: &str =
    include_str!("../fixtures/docs/advanced-topics--independent-resource-configuration.yaml");

#[test]
fn separate_resource_specs_example() {
    assert_documented_per_role_resources(&built(SEPARATE_RESOURCES));
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: images

const PRIVATE_REGISTRY_V2: &str = include_str!("../fixtures/docs/advanced-topics--private-image-registry-v2.yaml");

fn assert_pull_secret_on_both_pods(children: &Children) {
    for (role, job) in jobs(children) {
        let secrets: Vec<&str> = pod(job)
            .image_pull_secrets
            .iter()
            .flatten()
            .map(|secret| secret.name.as_str())
            .collect();
        assert_eq!(secrets, ["gcr-secret"], "{role} pod");
        assert_eq!(
            container(job).image.as_deref(),
            Some("ghcr.io/mycompany/locust:latest"),
            "{role} pod"
        );
    }
}

#[test]
fn private_registry_example_is_refused_and_its_corrected_form_builds() {
    // The example uses v1's list of names; the API reference says `- name: secret-name`.
    let errors = parse_locust_test(PRIVATE_REGISTRY_V2).expect_err("a plain secret name is the v1 shape");
    let message = joined(&errors);
    assert!(message.contains("spec.imagePullSecrets"), "{message}");
    assert!(
        message.contains("- name: gcr-secret"),
        "the message shows the right form: {message}"
    );

    let corrected = PRIVATE_REGISTRY_V2.replace("    - gcr-secret", "    - name: gcr-secret");
    assert_pull_secret_on_both_pods(&built(&corrected));
}

const PRIVATE_REGISTRY_V1_FRAGMENT: &str =
    include_str!("../fixtures/docs/advanced-topics--private-image-registry-v1.yaml");

#[test]
fn private_registry_v1_fragment_puts_the_pull_secret_on_both_pods() {
    assert_pull_secret_on_both_pods(&built_from_v1_fragment(PRIVATE_REGISTRY_V1_FRAGMENT));
}

const PULL_POLICY_V2: &str = include_str!("../fixtures/docs/advanced-topics--image-pull-policy-v2.yaml");

fn assert_always_pulled(children: &Children) {
    for (role, job) in jobs(children) {
        assert_eq!(
            container(job).image_pull_policy.as_deref(),
            Some("Always"),
            "{role} container"
        );
        assert_eq!(
            container(job).image.as_deref(),
            Some("ghcr.io/mycompany/locust:latest"),
            "{role} container"
        );
    }
}

#[test]
fn pull_policy_example() {
    assert_always_pulled(&built(PULL_POLICY_V2));
}

const PULL_POLICY_V1_FRAGMENT: &str = include_str!("../fixtures/docs/advanced-topics--image-pull-policy-v1.yaml");

#[test]
fn pull_policy_v1_fragment_sets_always_on_both_containers() {
    assert_always_pulled(&built_from_v1_fragment(PULL_POLICY_V1_FRAGMENT));
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: OpenTelemetry

const OPEN_TELEMETRY: &str = include_str!("../fixtures/docs/advanced-topics--enabling-opentelemetry.yaml");

#[test]
fn open_telemetry_example_is_refused_and_its_corrected_form_builds() {
    // The example writes extraEnvVars as a list; the API reference specifies map[string]string.
    let errors = parse_locust_test(OPEN_TELEMETRY).expect_err("extraEnvVars is a map, not a list");
    let message = joined(&errors);
    assert!(
        message.contains("spec.observability.openTelemetry.extraEnvVars"),
        "{message}"
    );
    assert!(
        message.contains(r#"OTEL_SERVICE_NAME: "my-load-test""#)
            && message.contains(r#"OTEL_RESOURCE_ATTRIBUTES: "environment=staging,team=platform""#),
        "the message shows both variables in map form: {message}"
    );

    let list_start = OPEN_TELEMETRY
        .find("        - name: OTEL_SERVICE_NAME")
        .expect("the example lists extraEnvVars");
    let corrected = format!(
        "{}        OTEL_SERVICE_NAME: \"my-load-test\"\n        OTEL_RESOURCE_ATTRIBUTES: \"environment=staging,team=platform\"\n",
        &OPEN_TELEMETRY[..list_start]
    );
    let children = built(&corrected);

    // "The metrics port is excluded from the Service" and "the sidecar is not deployed"
    // (`container` checks there is no sidecar).
    assert_eq!(service_ports(&children), [5557, 5558, 8089]);
    // "The --otel flag is added to Locust commands", right after the seed.
    assert_eq!(args(&children.master_job)[4], "--otel");
    assert_eq!(args(&children.worker_job)[2], "--otel");
    assert_documented_otel_env(&children, "my-load-test");

    // The example's comment says `# or "http"`; the API reference allows `grpc` or `http/protobuf`.
    let http = corrected.replace(r#"protocol: "grpc"  # or "http""#, r#"protocol: "http""#);
    assert_ne!(http, corrected);
    let message = joined(&parse_locust_test(&http).expect_err("http is not a protocol the API reference lists"));
    assert!(
        message.contains("http/protobuf"),
        "the message lists the allowed protocols: {message}"
    );
    let http_protobuf = corrected.replace(r#"protocol: "grpc"  # or "http""#, r#"protocol: "http/protobuf""#);
    let children = built(&http_protobuf);
    assert_eq!(
        env_value(&children.worker_job, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        Some("http/protobuf")
    );
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: environment and secret injection (fragments)

const CONFIG_MAP_ENV_FRAGMENT: &str =
    include_str!("../fixtures/docs/advanced-topics--configmap-environment-variables.yaml");

#[test]
fn config_map_env_fragment() {
    let children = built_with_fragment(CONFIG_MAP_ENV_FRAGMENT);
    for (role, job) in jobs(&children) {
        let sources = env_from(job);
        assert_eq!(sources.len(), 1, "{role} pod");
        assert_eq!(
            sources[0].config_map_ref.as_ref().map(|c| c.name.as_str()),
            Some("app-config")
        );
        assert_eq!(
            sources[0].prefix.as_deref(),
            Some("APP_"),
            "keys arrive as APP_<key> in the {role} pod"
        );
    }
}

const SECRET_ENV_FRAGMENT: &str = include_str!("../fixtures/docs/advanced-topics--secret-environment-variables.yaml");

#[test]
fn secret_env_fragment() {
    let children = built_with_fragment(SECRET_ENV_FRAGMENT);
    for (role, job) in jobs(&children) {
        let sources = env_from(job);
        assert_eq!(sources.len(), 1, "{role} pod");
        assert_eq!(
            sources[0].secret_ref.as_ref().map(|s| s.name.as_str()),
            Some("api-credentials")
        );
        assert_eq!(sources[0].prefix, None, "key names are used directly in the {role} pod");
    }
}

const INDIVIDUAL_VARIABLES_FRAGMENT: &str = include_str!("../fixtures/docs/advanced-topics--individual-variables.yaml");

#[test]
fn individual_variables_fragment() {
    let children = built_with_fragment(INDIVIDUAL_VARIABLES_FRAGMENT);
    for (role, job) in jobs(&children) {
        let names: Vec<&str> = container(job)
            .env
            .iter()
            .flatten()
            .map(|var| var.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["TARGET_HOST", "API_TOKEN", "CONFIG_VALUE"],
            "{role} pod, in the order given"
        );
        assert_eq!(env_value(job, "TARGET_HOST"), Some("https://api.example.com"));
        let token = env_var(job, "API_TOKEN")
            .and_then(|var| var.value_from.as_ref())
            .and_then(|from| from.secret_key_ref.as_ref());
        assert_eq!(
            token.map(|s| (s.name.as_str(), s.key.as_str())),
            Some(("api-secret", "token")),
            "{role} pod"
        );
        let config = env_var(job, "CONFIG_VALUE")
            .and_then(|var| var.value_from.as_ref())
            .and_then(|from| from.config_map_key_ref.as_ref());
        assert_eq!(
            config.map(|c| (c.name.as_str(), c.key.as_str())),
            Some(("app-config", "some-key")),
            "{role} pod"
        );
        assert!(
            env_var(job, "API_TOKEN").unwrap().value.is_none(),
            "the secret's value is never copied into the pod"
        );
    }
}

const SECRET_FILE_MOUNT_FRAGMENT: &str = include_str!("../fixtures/docs/advanced-topics--secret-file-mounts.yaml");

#[test]
fn secret_file_mount_fragment() {
    let children = built_with_fragment(SECRET_FILE_MOUNT_FRAGMENT);
    for (role, job) in jobs(&children) {
        // "secret-*: Secret volumes from env.secretMounts" (Reserved Volume Names).
        let secret = volume(job, "secret-tls-certs")
            .and_then(|v| v.secret.as_ref())
            .expect("secret volume");
        assert_eq!(secret.secret_name.as_deref(), Some("tls-certs"), "{role} pod");
        let mount = mount(job, "secret-tls-certs").expect("secret mount");
        assert_eq!(
            (mount.mount_path.as_str(), mount.read_only),
            ("/etc/locust/certs", Some(true)),
            "{role} pod"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: volume mounting (fragments)

const BASIC_VOLUME_MOUNT_FRAGMENT: &str = include_str!("../fixtures/docs/advanced-topics--basic-volume-mount.yaml");

#[test]
fn basic_volume_mount_fragment() {
    let children = built_with_fragment(BASIC_VOLUME_MOUNT_FRAGMENT);
    for (role, job) in jobs(&children) {
        let claim = volume(job, "test-data")
            .and_then(|v| v.persistent_volume_claim.as_ref())
            .expect("PVC volume");
        assert_eq!(claim.claim_name, "test-data-pvc", "{role} pod");
        assert_eq!(mount(job, "test-data").unwrap().mount_path, "/data", "{role} pod");
    }
}

#[test]
fn target_filtering_table() {
    // | Target | Master | Worker |, the last row being the default (no `target`).
    let target_line = "      target: both  # master, worker, or both\n";
    assert!(BASIC_VOLUME_MOUNT_FRAGMENT.contains(target_line));
    for (target_line_now, in_master, in_worker) in [
        ("      target: master\n", true, false),
        ("      target: worker\n", false, true),
        ("      target: both\n", true, true),
        ("", true, true),
    ] {
        let fragment = BASIC_VOLUME_MOUNT_FRAGMENT.replace(target_line, target_line_now);
        let children = built_with_fragment(&fragment);
        for (job, expected) in [(&children.master_job, in_master), (&children.worker_job, in_worker)] {
            let role = container(job).name.clone();
            assert_eq!(
                volume(job, "test-data").is_some(),
                expected,
                "volume in {role} with {target_line_now:?}"
            );
            assert_eq!(
                mount(job, "test-data").is_some(),
                expected,
                "mount in {role} with {target_line_now:?}"
            );
        }
    }
}

const PVC_VOLUME_FRAGMENT: &str =
    include_str!("../fixtures/docs/advanced-topics--supported-volume-types-persistentvolumeclaim.yaml");

const CONFIG_MAP_VOLUME_FRAGMENT: &str =
    include_str!("../fixtures/docs/advanced-topics--supported-volume-types-configmap.yaml");

const SECRET_VOLUME_FRAGMENT: &str =
    include_str!("../fixtures/docs/advanced-topics--supported-volume-types-secret.yaml");

const EMPTY_DIR_VOLUME_FRAGMENT: &str =
    include_str!("../fixtures/docs/advanced-topics--supported-volume-types-emptydir.yaml");

/// The block declares exactly `expected`, and both pods get it verbatim, mounted where the
/// wrapper put it.
fn assert_volume_in_both_pods(volumes_fragment: &str, expected: Volume) {
    let declared: Vec<Volume> = serde_yaml::from_value(yaml_value(volumes_fragment)["volumes"].clone())
        .expect("the block is a list of Kubernetes volumes");
    assert_eq!(
        declared,
        std::slice::from_ref(&expected),
        "the block declares one volume"
    );
    let name = &expected.name;
    let children = built_with_volume_list(volumes_fragment);
    for (role, job) in jobs(&children) {
        assert_eq!(
            mount(job, name).map(|m| m.mount_path.clone()),
            Some(format!("/mnt/{name}")),
            "{role} pod"
        );
        assert_eq!(
            volume(job, name),
            Some(&expected),
            "the {role} pod gets the volume verbatim"
        );
    }
}

#[test]
fn pvc_volume_type() {
    let claim = PersistentVolumeClaimVolumeSource {
        claim_name: "my-pvc".into(),
        read_only: None,
    };
    assert_volume_in_both_pods(
        PVC_VOLUME_FRAGMENT,
        Volume {
            name: "test-data".into(),
            persistent_volume_claim: Some(claim),
            ..Volume::default()
        },
    );
}

#[test]
fn config_map_volume_type() {
    let config_map = ConfigMapVolumeSource {
        name: "my-configmap".into(),
        ..ConfigMapVolumeSource::default()
    };
    assert_volume_in_both_pods(
        CONFIG_MAP_VOLUME_FRAGMENT,
        Volume {
            name: "config-files".into(),
            config_map: Some(config_map),
            ..Volume::default()
        },
    );
}

#[test]
fn secret_volume_type() {
    let secret = SecretVolumeSource {
        secret_name: Some("tls-secret".into()),
        ..SecretVolumeSource::default()
    };
    assert_volume_in_both_pods(
        SECRET_VOLUME_FRAGMENT,
        Volume {
            name: "certs".into(),
            secret: Some(secret),
            ..Volume::default()
        },
    );
}

#[test]
fn empty_dir_volume_type() {
    assert_volume_in_both_pods(
        EMPTY_DIR_VOLUME_FRAGMENT,
        Volume {
            name: "cache".into(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        },
    );
}
