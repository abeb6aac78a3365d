//! The documentation's YAML examples build what the text around them promises.
//!
//! Each fenced YAML block of `shared/spec/api-reference.md` and `shared/spec/advanced-topics.md`
//! is copied here verbatim (blocks inside `=== "tab"` sections lose only the Markdown tab
//! indentation), so the tests stay self-contained. Whether a document parses and validates is
//! `tests/validation.rs`'s job; here each example is built and its pods are checked against what
//! the docs say they get. Generic builder rules (argv order, resource precedence, ...) live in
//! `tests/build.rs`.
//!
//! The docs assume an operator installed with the Helm chart, whose defaults turn affinity and
//! toleration injection on: [`chart_defaults`] sets `ENABLE_AFFINITY_CR_INJECTION=true` and
//! `ENABLE_TAINT_TOLERATIONS_CR_INJECTION=true` and leaves everything else at its default.
//!
//! # Every YAML block, in document order
//!
//! api-reference.md
//! 1. "CI/CD Integration" GitHub Actions workflow: no test here; it drives kubectl against a
//!    cluster and belongs to the end-to-end tests.
//! 2. "Complete v2 Example" (`comprehensive-test`): [`api_reference_complete_v2_example`].
//! 3. "v1 Example" (`basic-test`): [`api_reference_v1_example`].
//!
//! advanced-topics.md
//! 4. "Affinity Options", v2 template (`my-test`, `<label-key>` placeholders):
//!    [`affinity_options_v2_template`], with the placeholders filled in.
//! 5. "Affinity Options", v1 template: no test. It is not YAML (`...` elisions, a key without
//!    its colon, `affinity:` outside `spec`) and only restates block 4 in the v1 shape.
//! 6. "Node Affinity", v2 example (`affinity-example`): [`node_affinity_v2_example`].
//! 7. "Node Affinity", v1 fragment: [`node_affinity_v1_fragment_builds_the_same_affinity_as_v2`],
//!    after dropping its `...` elision lines.
//! 8. "Toleration Options", v2 template (`my-test`, `<string value>` placeholders):
//!    [`toleration_options_v2_template`], with the placeholders filled in.
//! 9. "Toleration Options", v2 example (`toleration-example`): [`toleration_v2_example`].
//! 10. "Toleration Options", v1 fragment: [`toleration_v1_fragment_builds_the_same_tolerations_as_v2`],
//!     after dropping its `...` elision lines.
//! 11. "Per-CR Resource Configuration" (`resource-example`): [`per_cr_resource_example`].
//! 12. "Disabling CPU Limits", Helm values (`locustPods.resources.limits.cpu: ""`): no test here;
//!     Helm values belong to the chart's tests. Its operator-side meaning (`POD_CPU_LIMIT=""`
//!     drops the CPU limit) is tested in `tests/build.rs`.
//! 13. "Disabling CPU Limits", per-CR (`no-cpu-limit-test`): [`no_cpu_limit_example`].
//! 14. "Usage of a private image registry", v2 (`private-registry-test`):
//!     [`private_registry_example_is_refused_and_its_corrected_form_builds`]; its
//!     `imagePullSecrets: [gcr-secret]` is the v1 shape, the API reference decides.
//! 15. "Usage of a private image registry", v1 fragment:
//!     [`private_registry_v1_fragment_puts_the_pull_secret_on_both_pods`], after dropping `...`.
//! 16. "Image pull policy", v2 (`pull-policy-test`): [`pull_policy_example`].
//! 17. "Image pull policy", v1 fragment: [`pull_policy_v1_fragment_sets_always_on_both_containers`],
//!     after dropping `...`.
//! 18. "Automatic Cleanup", Helm values (`locustPods.ttlSecondsAfterFinished: 3600`): no test here;
//!     Helm values belong to the chart's tests. `JOB_TTL_SECONDS_AFTER_FINISHED` reaching both
//!     Jobs is tested in `tests/build.rs`.
//! 19. "Enabling OpenTelemetry" (`otel-enabled-test`):
//!     [`open_telemetry_example_is_refused_and_its_corrected_form_builds`]; its `extraEnvVars`
//!     list is not the map the API reference specifies.
//! 20. "ConfigMap Environment Variables" fragment: [`config_map_env_fragment`].
//! 21. "Secret Environment Variables" fragment: [`secret_env_fragment`].
//! 22. "Individual Variables" fragment: [`individual_variables_fragment`].
//! 23. "Secret File Mounts" fragment: [`secret_file_mount_fragment`].
//! 24. "Basic Volume Mount" fragment: [`basic_volume_mount_fragment`], and the "Target Filtering"
//!     table after it: [`target_filtering_table`].
//! 25. "Supported Volume Types", PersistentVolumeClaim: [`pvc_volume_type`].
//! 26. "Supported Volume Types", ConfigMap: [`config_map_volume_type`].
//! 27. "Supported Volume Types", Secret: [`secret_volume_type`].
//! 28. "Supported Volume Types", EmptyDir: [`empty_dir_volume_type`].
//! 29. "Independent Resource Configuration" (`optimized-test`): [`separate_resource_specs_example`].
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    Container, EnvFromSource, EnvVar, NodeSelectorRequirement, PodSpec, ResourceRequirements, Toleration, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use shared::api::conversion::v1_to_v2;
use shared::api::{v1, v2};
use shared::build::{self, Children};
use shared::config::OperatorConfig;
use shared::validation::{FieldError, parse_and_validate, parse_locust_test, validate};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The operator as the Helm chart installs it: affinity and toleration injection on.
fn chart_defaults() -> OperatorConfig {
    let chart_values = BTreeMap::from([
        ("ENABLE_AFFINITY_CR_INJECTION", "true"),
        ("ENABLE_TAINT_TOLERATIONS_CR_INJECTION", "true"),
    ]);
    OperatorConfig::from_lookup(|name| chart_values.get(name).map(|value| value.to_string()))
        .expect("the chart's injection flags are a valid operator config")
}

fn joined(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Parses and validates a v2 document the way `kubectl apply` plus the API server would.
fn valid_test(yaml: &str) -> v2::LocustTest {
    parse_and_validate(yaml)
        .unwrap_or_else(|errors| panic!("not a valid LocustTest:\n{}\n--- in ---\n{yaml}", joined(&errors)))
}

fn build(test: &v2::LocustTest) -> Children {
    build::children(test, &chart_defaults()).expect("a valid test builds")
}

/// A v2 document, validated and built with the chart's defaults.
fn built(yaml: &str) -> Children {
    build(&valid_test(yaml))
}

fn jobs(children: &Children) -> [(&'static str, &Job); 2] {
    [("master", &children.master_job), ("worker", &children.worker_job)]
}

fn pod(job: &Job) -> &PodSpec {
    job.spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .expect("the Job has a pod template")
}

fn pod_labels(job: &Job) -> &BTreeMap<String, String> {
    job.spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref())
        .and_then(|meta| meta.labels.as_ref())
        .expect("the pod template has labels")
}

/// The single Locust container: the docs promise no sidecar (no metrics exporter).
fn container(job: &Job) -> &Container {
    let pod = pod(job);
    assert_eq!(pod.containers.len(), 1, "one Locust container per pod");
    assert!(pod.init_containers.is_none(), "no (native) sidecar");
    &pod.containers[0]
}

fn args(job: &Job) -> Vec<&str> {
    container(job).args.iter().flatten().map(String::as_str).collect()
}

/// Expected argv written as one line: every argument is one space-separated word.
fn words(line: &str) -> Vec<&str> {
    line.split(' ').collect()
}

fn env_var<'a>(job: &'a Job, name: &str) -> Option<&'a EnvVar> {
    container(job).env.iter().flatten().find(|var| var.name == name)
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
fn quantities(resources: &ResourceRequirements) -> (BTreeMap<&str, &str>, BTreeMap<&str, &str>) {
    (
        plain_quantities(resources.requests.as_ref()),
        plain_quantities(resources.limits.as_ref()),
    )
}

fn plain_quantities(map: Option<&BTreeMap<String, Quantity>>) -> BTreeMap<&str, &str> {
    map.into_iter()
        .flatten()
        .map(|(key, quantity)| (key.as_str(), quantity.0.as_str()))
        .collect()
}

fn resources(job: &Job) -> (BTreeMap<&str, &str>, BTreeMap<&str, &str>) {
    quantities(container(job).resources.as_ref().expect("the container has resources"))
}

/// The minimal valid test the fragments are merged into, shaped like the docs' own examples.
const FRAGMENT_BASE: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: fragment-test
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 3
"#;

fn yaml_value(yaml: &str) -> serde_yaml::Value {
    serde_yaml::from_str(yaml).unwrap_or_else(|error| panic!("not YAML: {error}\n--- in ---\n{yaml}"))
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

/// A `spec:` fragment merged into [`FRAGMENT_BASE`], validated and built.
fn built_with_fragment(fragment: &str) -> Children {
    built(&overlay_spec(FRAGMENT_BASE, fragment))
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
    let v1_test: v1::LocustTest =
        serde_yaml::from_str(yaml).unwrap_or_else(|error| panic!("not a v1 LocustTest: {error}\n--- in ---\n{yaml}"));
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

/// api-reference.md, "Complete v2 Example".
const API_REFERENCE_COMPLETE_V2: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: comprehensive-test
spec:
  image: locustio/locust:2.20.0
  imagePullPolicy: IfNotPresent
  
  master:
    command: "--locustfile /lotest/src/test.py --host https://api.example.com --users 1000 --spawn-rate 50 --run-time 10m"
    resources:
      requests:
        memory: "256Mi"
        cpu: "100m"
      limits:
        memory: "512Mi"
        cpu: "500m"
    labels:
      role: master
    autostart: true
    autoquit:
      enabled: true
      timeout: 120
  
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 10
    resources:
      requests:
        memory: "512Mi"
        cpu: "500m"
      limits:
        memory: "1Gi"
        cpu: "1000m"
    labels:
      role: worker
  
  testFiles:
    configMapRef: my-test-scripts
    libConfigMapRef: my-lib-files
  
  scheduling:
    nodeSelector:
      node-type: performance
    tolerations:
      - key: "dedicated"
        operator: "Equal"
        value: "performance"
        effect: "NoSchedule"
  
  env:
    secretRefs:
      - name: api-credentials
        prefix: "API_"
    configMapRefs:
      - name: app-config
    variables:
      - name: LOG_LEVEL
        value: "INFO"
  
  volumes:
    - name: test-data
      persistentVolumeClaim:
        claimName: test-data-pvc
  
  volumeMounts:
    - name: test-data
      mountPath: /data
      target: both
  
  observability:
    openTelemetry:
      enabled: true
      endpoint: "otel-collector.monitoring:4317"
      protocol: "grpc"
      extraEnvVars:
        OTEL_SERVICE_NAME: "load-test"
        OTEL_RESOURCE_ATTRIBUTES: "environment=staging,team=platform"
"#;

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
    assert_eq!(worker.spec.as_ref().unwrap().parallelism, Some(10), "replicas: 10");
    assert_eq!(master.spec.as_ref().unwrap().parallelism, Some(1));

    // Per-role resources exactly as given.
    assert_eq!(
        resources(master),
        (
            BTreeMap::from([("memory", "256Mi"), ("cpu", "100m")]),
            BTreeMap::from([("memory", "512Mi"), ("cpu", "500m")])
        )
    );
    assert_eq!(
        resources(worker),
        (
            BTreeMap::from([("memory", "512Mi"), ("cpu", "500m")]),
            BTreeMap::from([("memory", "1Gi"), ("cpu", "1000m")])
        )
    );

    // "The metrics port is excluded from the Service": worker ports and the web UI only.
    let ports: Vec<i32> = children
        .service
        .spec
        .as_ref()
        .unwrap()
        .ports
        .iter()
        .flatten()
        .map(|port| port.port)
        .collect();
    assert_eq!(ports, [5557, 5558, 8089]);

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

        // OpenTelemetry: the injected variables and both extra ones.
        for (name, value) in [
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "otel-collector.monitoring:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "load-test"),
            ("OTEL_RESOURCE_ATTRIBUTES", "environment=staging,team=platform"),
        ] {
            assert_eq!(env_value(job, name), Some(value), "{name} in the {role} pod");
        }
        assert!(
            env_var(job, "OTEL_EXPORTER_OTLP_INSECURE").is_none(),
            "insecure is not set"
        );
    }
}

/// api-reference.md, "v1 Example".
const API_REFERENCE_V1: &str = r#"apiVersion: locust.io/v1
kind: LocustTest
metadata:
  name: basic-test
spec:
  image: locustio/locust:2.20.0
  masterCommandSeed: "--locustfile /lotest/src/test.py --host https://example.com"
  workerCommandSeed: "--locustfile /lotest/src/test.py"
  workerReplicas: 3
  configMap: test-scripts
"#;

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

/// advanced-topics.md, "Affinity Options", v2 tab (a template).
const AFFINITY_OPTIONS_V2_TEMPLATE: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: my-test
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 3
  scheduling:
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions:
                - key: <label-key>
                  operator: In
                  values:
                    - <label-value>
"#;

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

/// advanced-topics.md, "Node Affinity", v2 tab.
const NODE_AFFINITY_V2: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: affinity-example
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 5
  scheduling:
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions:
                - key: nodeAffinityLabel1
                  operator: In
                  values:
                    - locust-cloud-tests
                - key: nodeAffinityLabel2
                  operator: In
                  values:
                    - performance-nodes
                - key: nodeAffinityLabel3
                  operator: In
                  values:
                    - high-memory
"#;

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

/// advanced-topics.md, "Node Affinity", v1 tab.
const NODE_AFFINITY_V1_FRAGMENT: &str = r#"apiVersion: locust.io/v1
...
spec:
    ...
    affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeAffinityLabel1: locust-cloud-tests
            nodeAffinityLabel2: performance-nodes
            nodeAffinityLabel3: high-memory
            ...
    ...
"#;

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

/// advanced-topics.md, "Toleration Options", v2 tab (a template).
const TOLERATION_OPTIONS_V2_TEMPLATE: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: my-test
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 3
  scheduling:
    tolerations:
      - key: <string value>
        operator: <"Exists", "Equal">
        value: <string value> #(1)!
        effect: <"NoSchedule", "PreferNoSchedule", "NoExecute">
"#;

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

/// advanced-topics.md, "Toleration Options", v2 example tab.
const TOLERATION_V2: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: toleration-example
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 3
  scheduling:
    tolerations:
      - key: taint-A
        operator: Equal
        value: ssd
        effect: NoSchedule
      - key: taint-B
        operator: Exists
        effect: NoExecute
"#;

/// Both tolerations of the example; `taint-B` has no value ("optional when operator is Exists").
fn documented_tolerations() -> Vec<Toleration> {
    vec![
        toleration("taint-A", "Equal", Some("ssd"), "NoSchedule"),
        toleration("taint-B", "Exists", None, "NoExecute"),
    ]
}

#[test]
fn toleration_v2_example() {
    let children = built(TOLERATION_V2);
    for (role, job) in jobs(&children) {
        assert_eq!(pod(job).tolerations, Some(documented_tolerations()), "{role} pod");
    }
}

/// advanced-topics.md, "Toleration Options", v1 tab.
const TOLERATION_V1_FRAGMENT: &str = r#"apiVersion: locust.io/v1
...
spec:
  ...
  tolerations:
    - key: taint-A
      operator: Equal
      value: ssd
      effect: NoSchedule
    - key: taint-B
      operator: Exists
      effect: NoExecute
"#;

#[test]
fn toleration_v1_fragment_builds_the_same_tolerations_as_v2() {
    let children = built_from_v1_fragment(TOLERATION_V1_FRAGMENT);
    for (role, job) in jobs(&children) {
        assert_eq!(pod(job).tolerations, Some(documented_tolerations()), "{role} pod");
    }
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: resources

/// advanced-topics.md, "Per-CR Resource Configuration (v2 API)".
const PER_CR_RESOURCES: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: resource-example
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
    resources:
      requests:
        memory: "256Mi"
        cpu: "100m"
      limits:
        memory: "512Mi"
        cpu: "500m"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 10
    resources:
      requests:
        memory: "512Mi"
        cpu: "500m"
      limits:
        memory: "1Gi"
        cpu: "1000m"
"#;

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

/// advanced-topics.md, "Disabling CPU Limits", per-CR tab.
const NO_CPU_LIMIT: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: no-cpu-limit-test
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
    resources:
      requests:
        memory: "256Mi"
        cpu: "100m"
      limits:
        memory: "512Mi"
        # No CPU limit specified
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 10
    resources:
      requests:
        memory: "512Mi"
        cpu: "500m"
      limits:
        memory: "1Gi"
        # No CPU limit specified
"#;

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

/// advanced-topics.md, "Independent Resource Configuration".
const SEPARATE_RESOURCES: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: optimized-test
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
    resources:
      requests:
        memory: "256Mi"
        cpu: "100m"
      limits:
        memory: "512Mi"
        cpu: "500m"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 10
    resources:
      requests:
        memory: "512Mi"
        cpu: "500m"
      limits:
        memory: "1Gi"
        cpu: "1000m"
"#;

#[test]
fn separate_resource_specs_example() {
    assert_documented_per_role_resources(&built(SEPARATE_RESOURCES));
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: images

/// advanced-topics.md, "Usage of a private image registry", v2 tab.
const PRIVATE_REGISTRY_V2: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: private-registry-test
spec:
  image: ghcr.io/mycompany/locust:latest # (1)!
  imagePullSecrets: # (2)!
    - gcr-secret
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 3
"#;

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

/// advanced-topics.md, "Usage of a private image registry", v1 tab.
const PRIVATE_REGISTRY_V1_FRAGMENT: &str = r#"apiVersion: locust.io/v1
...
spec:
  image: ghcr.io/mycompany/locust:latest
  imagePullSecrets:
    - gcr-secret
  ...
"#;

#[test]
fn private_registry_v1_fragment_puts_the_pull_secret_on_both_pods() {
    assert_pull_secret_on_both_pods(&built_from_v1_fragment(PRIVATE_REGISTRY_V1_FRAGMENT));
}

/// advanced-topics.md, "Image pull policy", v2 tab.
const PULL_POLICY_V2: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: pull-policy-test
spec:
  image: ghcr.io/mycompany/locust:latest # (1)!
  imagePullPolicy: Always # (2)!
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 3
"#;

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

/// advanced-topics.md, "Image pull policy", v1 tab.
const PULL_POLICY_V1_FRAGMENT: &str = r#"apiVersion: locust.io/v1
...
spec:
  image: ghcr.io/mycompany/locust:latest
  imagePullPolicy: Always
  ...
"#;

#[test]
fn pull_policy_v1_fragment_sets_always_on_both_containers() {
    assert_always_pulled(&built_from_v1_fragment(PULL_POLICY_V1_FRAGMENT));
}

// ---------------------------------------------------------------------------------------------
// advanced-topics.md: OpenTelemetry

/// advanced-topics.md, "Enabling OpenTelemetry".
const OPEN_TELEMETRY: &str = r#"apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: otel-enabled-test
spec:
  image: locustio/locust:2.20.0
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 5
  observability:
    openTelemetry:
      enabled: true
      endpoint: "otel-collector.monitoring:4317"
      protocol: "grpc"  # or "http"
      insecure: false
      extraEnvVars:
        - name: OTEL_SERVICE_NAME
          value: "my-load-test"
        - name: OTEL_RESOURCE_ATTRIBUTES
          value: "environment=staging,team=platform"
"#;

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
    let ports: Vec<i32> = children
        .service
        .spec
        .as_ref()
        .unwrap()
        .ports
        .iter()
        .flatten()
        .map(|port| port.port)
        .collect();
    assert_eq!(ports, [5557, 5558, 8089]);
    // "The --otel flag is added to Locust commands", right after the seed.
    assert_eq!(args(&children.master_job)[4], "--otel");
    assert_eq!(args(&children.worker_job)[2], "--otel");
    for (role, job) in jobs(&children) {
        for (name, value) in [
            ("OTEL_TRACES_EXPORTER", "otlp"),
            ("OTEL_METRICS_EXPORTER", "otlp"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "otel-collector.monitoring:4317"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ("OTEL_SERVICE_NAME", "my-load-test"),
            ("OTEL_RESOURCE_ATTRIBUTES", "environment=staging,team=platform"),
        ] {
            assert_eq!(env_value(job, name), Some(value), "{name} in the {role} pod");
        }
        // "OTEL_EXPORTER_OTLP_INSECURE: only set if insecure: true".
        assert!(env_var(job, "OTEL_EXPORTER_OTLP_INSECURE").is_none(), "{role} pod");
    }

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

/// advanced-topics.md, "ConfigMap Environment Variables".
const CONFIG_MAP_ENV_FRAGMENT: &str = r#"spec:
  env:
    configMapRefs:
      - name: app-config
        prefix: "APP_"  # Results in APP_KEY1, APP_KEY2, etc.
"#;

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

/// advanced-topics.md, "Secret Environment Variables".
const SECRET_ENV_FRAGMENT: &str = r#"spec:
  env:
    secretRefs:
      - name: api-credentials
        prefix: ""  # No prefix, use key names directly
"#;

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

/// advanced-topics.md, "Individual Variables".
const INDIVIDUAL_VARIABLES_FRAGMENT: &str = r#"spec:
  env:
    variables:
      - name: TARGET_HOST
        value: "https://api.example.com"
      - name: API_TOKEN
        valueFrom:
          secretKeyRef:
            name: api-secret
            key: token
      - name: CONFIG_VALUE
        valueFrom:
          configMapKeyRef:
            name: app-config
            key: some-key
"#;

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

/// advanced-topics.md, "Secret File Mounts".
const SECRET_FILE_MOUNT_FRAGMENT: &str = r#"spec:
  env:
    secretMounts:
      - name: tls-certs
        mountPath: /etc/locust/certs
        readOnly: true
"#;

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

/// advanced-topics.md, "Basic Volume Mount".
const BASIC_VOLUME_MOUNT_FRAGMENT: &str = r#"spec:
  volumes:
    - name: test-data
      persistentVolumeClaim:
        claimName: test-data-pvc
  volumeMounts:
    - name: test-data
      mountPath: /data
      target: both  # master, worker, or both
"#;

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

/// advanced-topics.md, "Supported Volume Types", PersistentVolumeClaim tab.
const PVC_VOLUME_FRAGMENT: &str = r#"volumes:
  - name: test-data
    persistentVolumeClaim:
      claimName: my-pvc
"#;

/// advanced-topics.md, "Supported Volume Types", ConfigMap tab.
const CONFIG_MAP_VOLUME_FRAGMENT: &str = r#"volumes:
  - name: config-files
    configMap:
      name: my-configmap
"#;

/// advanced-topics.md, "Supported Volume Types", Secret tab.
const SECRET_VOLUME_FRAGMENT: &str = r#"volumes:
  - name: certs
    secret:
      secretName: tls-secret
"#;

/// advanced-topics.md, "Supported Volume Types", EmptyDir tab.
const EMPTY_DIR_VOLUME_FRAGMENT: &str = r#"volumes:
  - name: cache
    emptyDir: {}
"#;

/// The volume `name` reaches both pods unchanged and is mounted where the wrapper put it.
fn volume_in_both_pods(volumes_fragment: &str, name: &str) -> Vec<Volume> {
    let children = built_with_volume_list(volumes_fragment);
    let expected: Vec<Volume> = serde_yaml::from_value(yaml_value(volumes_fragment)["volumes"].clone())
        .expect("the block is a list of Kubernetes volumes");
    let expected = expected.into_iter().next().expect("the block declares a volume");
    jobs(&children)
        .into_iter()
        .map(|(role, job)| {
            assert_eq!(
                mount(job, name).map(|m| m.mount_path.clone()),
                Some(format!("/mnt/{name}")),
                "{role} pod"
            );
            let volume = volume(job, name)
                .unwrap_or_else(|| panic!("volume {name} in the {role} pod"))
                .clone();
            assert_eq!(volume, expected, "the {role} pod gets the volume verbatim");
            volume
        })
        .collect()
}

#[test]
fn pvc_volume_type() {
    for volume in volume_in_both_pods(PVC_VOLUME_FRAGMENT, "test-data") {
        assert_eq!(
            volume.persistent_volume_claim.map(|claim| claim.claim_name).as_deref(),
            Some("my-pvc")
        );
    }
}

#[test]
fn config_map_volume_type() {
    for volume in volume_in_both_pods(CONFIG_MAP_VOLUME_FRAGMENT, "config-files") {
        assert_eq!(
            volume.config_map.map(|config_map| config_map.name).as_deref(),
            Some("my-configmap")
        );
    }
}

#[test]
fn secret_volume_type() {
    for volume in volume_in_both_pods(SECRET_VOLUME_FRAGMENT, "certs") {
        assert_eq!(
            volume.secret.and_then(|secret| secret.secret_name).as_deref(),
            Some("tls-secret")
        );
    }
}

#[test]
fn empty_dir_volume_type() {
    for volume in volume_in_both_pods(EMPTY_DIR_VOLUME_FRAGMENT, "cache") {
        assert!(volume.empty_dir.is_some(), "emptyDir volume");
    }
}
