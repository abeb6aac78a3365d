//! v1 <-> v2 conversion: the mapping on the documented examples, exact round trips (examples and
//! property tests), edits made through a v1 view, and whole ConversionReview answers from fixtures.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use k8s_openapi::api::core::v1::{NodeAffinity, NodeSelectorRequirement, Toleration};
use serde_json::{Value, json};
use shared::api::conversion::{
    API_VERSION_V1, API_VERSION_V2, ConversionError, convert_object, lift_spec, project_spec, review, v1_to_v2,
    v2_to_v1,
};
use shared::api::{ImagePullPolicy, v1, v2};
use shared::constants::{ANNOTATION_V1_SPEC, ANNOTATION_V2_SPEC};

fn v1_object(yaml: &str) -> v1::LocustTest {
    crate::support::from_yaml(yaml)
}

fn v2_object(yaml: &str) -> v2::LocustTest {
    crate::support::from_yaml(yaml)
}

fn fixture(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/conversion")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn annotation<'a>(meta: &'a k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta, key: &str) -> Option<&'a str> {
    meta.annotations.as_ref()?.get(key).map(String::as_str)
}

fn node_affinity(spec: &v2::LocustTestSpec) -> &NodeAffinity {
    spec.scheduling
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .expect("the spec has node affinity")
}

fn required_expressions(spec: &v2::LocustTestSpec) -> Vec<Vec<NodeSelectorRequirement>> {
    spec.scheduling
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|n| n.required_during_scheduling_ignored_during_execution.as_ref())
        .map(|r| {
            r.node_selector_terms
                .iter()
                .map(|t| t.match_expressions.clone().unwrap_or_default())
                .collect()
        })
        .unwrap_or_default()
}

fn requirement(key: &str, operator: &str, values: &[&str]) -> NodeSelectorRequirement {
    NodeSelectorRequirement {
        key: key.into(),
        operator: operator.into(),
        values: (!values.is_empty()).then(|| values.iter().map(|v| v.to_string()).collect()),
    }
}

/// The v1 example of the API reference.
const DOC_V1_EXAMPLE: &str = include_str!("../fixtures/docs/api-reference--v1-example.yaml");

/// The v1 affinity and toleration examples of the advanced-topics guide, in one object, with the
/// affinity labels deliberately out of key order.
const DOC_V1_SCHEDULING_EXAMPLE: &str = r#"
apiVersion: locust.io/v1
kind: LocustTest
metadata:
  name: affinity-example
  namespace: perf
spec:
  image: locustio/locust:2.20.0
  masterCommandSeed: "--locustfile /lotest/src/test.py --host https://example.com"
  workerCommandSeed: "--locustfile /lotest/src/test.py"
  workerReplicas: 5
  affinity:
    nodeAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
        nodeAffinityLabel3: high-memory
        nodeAffinityLabel1: locust-cloud-tests
        nodeAffinityLabel2: performance-nodes
  tolerations:
    - key: taint-A
      operator: Equal
      value: ssd
      effect: NoSchedule
    - key: taint-B
      operator: Exists
      effect: NoExecute
"#;

/// A v2 test using every field the Go operator's v2 -> v1 conversion loses.
const V2_WITH_LOSSY_FIELDS: &str = r#"
apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: full-test
  namespace: load
  labels: {team: perf}
  annotations: {example.com/owner: perf-team}
spec:
  image: locustio/locust:2.20.0
  imagePullPolicy: Always
  imagePullSecrets: [{name: gcr-secret}]
  master:
    command: "--locustfile /lotest/src/test.py --host https://example.com"
    resources: {requests: {cpu: 500m, memory: 512Mi}, limits: {memory: 1Gi}}
    labels: {role: master}
    autostart: false
    autoquit: {enabled: true, timeout: 120}
    extraArgs: ["--csv", "/results/run"]
  worker:
    command: "--locustfile /lotest/src/test.py"
    replicas: 3
    resources: {requests: {cpu: "1"}}
    annotations: {sidecar.istio.io/inject: "false"}
    extraArgs: ["--processes", "2"]
  testFiles:
    configMapRef: test-scripts
    srcMountPath: /mnt/tests
  scheduling:
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions:
                - {key: pool, operator: In, values: [load, spare]}
                - {key: spot, operator: DoesNotExist}
        preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 10
            preference: {matchExpressions: [{key: zone, operator: In, values: [a]}]}
    tolerations:
      - {key: dedicated, operator: Equal, value: load, effect: NoExecute, tolerationSeconds: 30}
      - {operator: Exists}
    nodeSelector: {disk: ssd}
    runtimeClassName: gvisor
  env:
    configMapRefs: [{name: app-config, prefix: APP_}]
    secretRefs: [{name: api-keys}]
    variables: [{name: TARGET, value: "https://example.com"}]
    secretMounts: [{name: tls, mountPath: /etc/tls}]
  volumes:
    - {name: results, emptyDir: {}}
    - {name: data, configMap: {name: test-data}}
  volumeMounts:
    - {name: results, mountPath: /results, target: master}
    - {name: data, mountPath: /data}
  security:
    podSecurityContext: {runAsNonRoot: true, runAsUser: 1000}
    containerSecurityContext: {readOnlyRootFilesystem: true}
  observability:
    openTelemetry:
      enabled: true
      endpoint: "otel-collector:4317"
      protocol: http/protobuf
      extraEnvVars: {OTEL_SERVICE_NAME: load}
status:
  phase: Running
  expectedWorkers: 3
  connectedWorkers: 3
"#;

// ------------------------------------------------------------------------------------------------
// The mapping on the documented examples

#[test]
fn api_reference_v1_example_maps_like_the_go_operator() {
    let original = v1_object(DOC_V1_EXAMPLE);
    let converted = v1_to_v2(&original);
    let spec = &converted.spec;

    assert_eq!(spec.image, "locustio/locust:2.20.0");
    assert_eq!(spec.image_pull_policy, ImagePullPolicy::IfNotPresent);
    assert_eq!(
        spec.master.command,
        "--locustfile /lotest/src/test.py --host https://example.com"
    );
    assert!(spec.master.autostart);
    assert_eq!(
        spec.master.autoquit,
        Some(v2::AutoquitConfig {
            enabled: true,
            timeout: 60
        })
    );
    assert_eq!(spec.worker.command, "--locustfile /lotest/src/test.py");
    assert_eq!(spec.worker.replicas, 3);
    let files = spec.test_files.as_ref().expect("configMap becomes testFiles");
    assert_eq!(files.config_map_ref.as_deref(), Some("test-scripts"));
    assert_eq!(files.lib_config_map_ref, None);
    assert_eq!(files.src_mount_path, "/lotest/src");
    assert_eq!(files.lib_mount_path, "/opt/locust/lib");
    assert_eq!(spec.scheduling, None);
    assert_eq!(converted.metadata.name.as_deref(), Some("basic-test"));
    // Nothing needs recording: the object carries no annotations at all.
    assert_eq!(converted.metadata.annotations, None);

    assert_eq!(v2_to_v1(&converted), original);
}

#[test]
fn v1_affinity_becomes_one_term_of_in_expressions_in_key_order() {
    let converted = v1_to_v2(&v1_object(DOC_V1_SCHEDULING_EXAMPLE));
    assert_eq!(
        required_expressions(&converted.spec),
        vec![vec![
            requirement("nodeAffinityLabel1", "In", &["locust-cloud-tests"]),
            requirement("nodeAffinityLabel2", "In", &["performance-nodes"]),
            requirement("nodeAffinityLabel3", "In", &["high-memory"]),
        ]]
    );
    assert_eq!(
        node_affinity(&converted.spec).preferred_during_scheduling_ignored_during_execution,
        None
    );
}

#[test]
fn v1_tolerations_become_kubernetes_tolerations() {
    let converted = v1_to_v2(&v1_object(DOC_V1_SCHEDULING_EXAMPLE));
    let tolerations = converted.spec.scheduling.unwrap().tolerations.unwrap();
    assert_eq!(
        tolerations,
        vec![
            Toleration {
                key: Some("taint-A".into()),
                operator: Some("Equal".into()),
                value: Some("ssd".into()),
                effect: Some("NoSchedule".into()),
                toleration_seconds: None,
            },
            Toleration {
                key: Some("taint-B".into()),
                operator: Some("Exists".into()),
                value: None,
                effect: Some("NoExecute".into()),
                toleration_seconds: None,
            },
        ]
    );
}

#[test]
fn v1_pull_settings_and_pod_metadata_move_to_their_v2_places() {
    let original = v1_object(
        r#"
apiVersion: locust.io/v1
kind: LocustTest
metadata: {name: pull-policy-test}
spec:
  image: ghcr.io/mycompany/locust:latest
  imagePullPolicy: Always
  imagePullSecrets: [gcr-secret]
  masterCommandSeed: m
  workerCommandSeed: w
  workerReplicas: 2
  libConfigMap: helpers
  labels: {master: {a: "1"}, worker: {b: "2"}}
  annotations: {worker: {c: "3"}}
"#,
    );
    let spec = v1_to_v2(&original).spec;
    assert_eq!(spec.image_pull_policy, ImagePullPolicy::Always);
    assert_eq!(spec.image_pull_secrets.unwrap()[0].name, "gcr-secret");
    assert_eq!(
        spec.master.labels,
        Some(BTreeMap::from([("a".to_string(), "1".to_string())]))
    );
    assert_eq!(
        spec.worker.labels,
        Some(BTreeMap::from([("b".to_string(), "2".to_string())]))
    );
    assert_eq!(spec.master.annotations, None);
    assert_eq!(
        spec.worker.annotations,
        Some(BTreeMap::from([("c".to_string(), "3".to_string())]))
    );
    let files = spec.test_files.unwrap();
    assert_eq!(
        (files.config_map_ref, files.lib_config_map_ref.as_deref()),
        (None, Some("helpers"))
    );
}

#[test]
fn v1_view_of_affinity_keeps_in_expressions_with_a_value_from_all_terms() {
    let object = v2_object(
        r#"
apiVersion: locust.io/v2
kind: LocustTest
metadata: {name: mixed}
spec:
  image: i
  master: {command: m}
  worker: {command: w, replicas: 1}
  scheduling:
    affinity:
      nodeAffinity:
        requiredDuringSchedulingIgnoredDuringExecution:
          nodeSelectorTerms:
            - matchExpressions:
                - {key: zone, operator: In, values: [a, b]}
                - {key: spot, operator: NotIn, values: ["true"]}
                - {key: empty, operator: In, values: []}
            - matchExpressions:
                - {key: gpu, operator: Exists}
                - {key: pool, operator: In, values: [load]}
"#,
    );
    let view = v2_to_v1(&object);
    let affinity = view.spec.affinity.clone().unwrap();
    assert_eq!(
        affinity
            .node_affinity
            .unwrap()
            .required_during_scheduling_ignored_during_execution,
        BTreeMap::from([
            ("pool".to_string(), "load".to_string()),
            ("zone".to_string(), "a".to_string())
        ])
    );
    // What v1 cannot show is recorded, and comes back.
    assert!(annotation(&view.metadata, ANNOTATION_V2_SPEC).is_some());
    assert_eq!(v1_to_v2(&view), object);
}

// ------------------------------------------------------------------------------------------------
// Exact round trips on examples

#[test]
fn fields_the_go_operator_loses_survive_v2_to_v1_to_v2() {
    let original = v2_object(V2_WITH_LOSSY_FIELDS);
    let view = v2_to_v1(&original);

    // The v1 view shows what v1 can express...
    assert_eq!(view.spec.worker_replicas, 3);
    assert_eq!(view.spec.image_pull_policy, Some(ImagePullPolicy::Always));
    assert_eq!(view.spec.config_map.as_deref(), Some("test-scripts"));
    let affinity = view.spec.affinity.as_ref().unwrap().node_affinity.as_ref().unwrap();
    assert_eq!(
        affinity.required_during_scheduling_ignored_during_execution,
        BTreeMap::from([("pool".to_string(), "load".to_string())])
    );
    let shown_tolerations = view.spec.tolerations.as_ref().unwrap();
    assert_eq!(
        shown_tolerations.len(),
        1,
        "a toleration for every effect has no v1 form"
    );
    assert_eq!(shown_tolerations[0].key, "dedicated");
    assert_eq!(view.status, original.status);
    assert_eq!(annotation(&view.metadata, "example.com/owner"), Some("perf-team"));

    // ...the plain mapping (all the Go operator has) would lose the rest...
    let plain = lift_spec(&view.spec);
    assert_eq!(plain.master.resources, None);
    assert_eq!(plain.env, None);
    assert_ne!(plain, original.spec);

    // ...so the v2 spec is recorded, and converting back restores the object exactly.
    let recorded: v2::LocustTestSpec =
        serde_json::from_str(annotation(&view.metadata, ANNOTATION_V2_SPEC).unwrap()).unwrap();
    assert_eq!(recorded, original.spec);
    assert_eq!(v1_to_v2(&view), original);
}

#[test]
fn v1_details_v2_cannot_tell_apart_survive_v1_to_v2_to_v1() {
    let original = v1_object(
        r#"
apiVersion: locust.io/v1
kind: LocustTest
metadata: {name: explicit, namespace: default, annotations: {example.com/keep: "yes"}}
spec:
  image: i
  imagePullPolicy: IfNotPresent
  masterCommandSeed: m
  workerCommandSeed: w
  workerReplicas: 2
  labels: {}
  annotations: {master: {}}
  affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {}}}
  tolerations: []
"#,
    );
    let stored = v1_to_v2(&original);
    assert_eq!(stored.spec.image_pull_policy, ImagePullPolicy::IfNotPresent);
    assert_eq!(stored.spec.master.annotations, Some(BTreeMap::new()));
    assert_eq!(
        required_expressions(&stored.spec),
        Vec::<Vec<NodeSelectorRequirement>>::new()
    );
    let recorded: v1::LocustTestSpec =
        serde_json::from_str(annotation(&stored.metadata, ANNOTATION_V1_SPEC).unwrap()).unwrap();
    assert_eq!(recorded, original.spec);
    assert_eq!(annotation(&stored.metadata, "example.com/keep"), Some("yes"));

    assert_eq!(v2_to_v1(&stored), original);
}

#[test]
fn a_recorded_v1_spec_is_ignored_once_a_v2_client_changed_what_it_shows() {
    let original = v1_object(
        r#"
apiVersion: locust.io/v1
kind: LocustTest
metadata: {name: stale}
spec: {image: old, imagePullPolicy: IfNotPresent, masterCommandSeed: m, workerCommandSeed: w, workerReplicas: 1}
"#,
    );
    let mut stored = v1_to_v2(&original);
    assert!(annotation(&stored.metadata, ANNOTATION_V1_SPEC).is_some());
    stored.spec.image = "new".into();

    let view = v2_to_v1(&stored);
    assert_eq!(view.spec.image, "new");
    assert_eq!(view.spec.image_pull_policy, None);
    assert_eq!(view.metadata.annotations, None);
}

#[test]
fn a_malformed_recorded_spec_falls_back_to_the_plain_mapping() {
    for garbage in ["{not json", r#"{"image": 5}"#, "[]", ""] {
        let mut object = v1_object(DOC_V1_EXAMPLE);
        object.metadata.annotations = Some(BTreeMap::from([
            (ANNOTATION_V2_SPEC.to_string(), garbage.to_string()),
            ("example.com/keep".to_string(), "yes".to_string()),
        ]));
        let converted = v1_to_v2(&object);
        assert_eq!(converted.spec, lift_spec(&object.spec), "annotation {garbage:?}");
        assert_eq!(
            converted.metadata.annotations,
            Some(BTreeMap::from([("example.com/keep".to_string(), "yes".to_string())]))
        );

        let mut stored = v2_object(V2_WITH_LOSSY_FIELDS);
        stored.metadata.annotations = Some(BTreeMap::from([(ANNOTATION_V1_SPEC.to_string(), garbage.to_string())]));
        let view = v2_to_v1(&stored);
        assert_eq!(view.spec, project_spec(&stored.spec), "annotation {garbage:?}");
        assert_eq!(annotation(&view.metadata, ANNOTATION_V1_SPEC), None);
    }
}

// ------------------------------------------------------------------------------------------------
// Edits through a v1 view

#[test]
fn editing_the_v1_view_applies_the_edit_and_keeps_v2_only_fields() {
    let original = v2_object(V2_WITH_LOSSY_FIELDS);
    let mut view = v2_to_v1(&original);
    view.spec.worker_replicas = 10;
    view.spec.master_command_seed = "--locustfile /lotest/src/other.py".into();

    let stored = v1_to_v2(&view);
    assert_eq!(stored.spec.worker.replicas, 10);
    assert_eq!(stored.spec.master.command, "--locustfile /lotest/src/other.py");
    let mut expected = original.spec.clone();
    expected.worker.replicas = 10;
    expected.master.command = "--locustfile /lotest/src/other.py".into();
    assert_eq!(stored.spec, expected, "only the edited fields change");
    assert_eq!(annotation(&stored.metadata, ANNOTATION_V2_SPEC), None);
    assert_eq!(annotation(&stored.metadata, ANNOTATION_V1_SPEC), None);
    assert_eq!(stored.metadata.annotations, original.metadata.annotations);
    assert_eq!(v2_to_v1(&stored).spec, view.spec);
}

#[test]
fn editing_v1_scheduling_keeps_what_v1_never_showed() {
    let original = v2_object(V2_WITH_LOSSY_FIELDS);
    let mut view = v2_to_v1(&original);
    view.spec
        .affinity
        .as_mut()
        .unwrap()
        .node_affinity
        .as_mut()
        .unwrap()
        .required_during_scheduling_ignored_during_execution
        .insert("disk-type".into(), "nvme".into());
    view.spec.tolerations.as_mut().unwrap().push(v1::LocustTestToleration {
        key: "new".into(),
        operator: v1::TolerationOperator::Exists,
        value: None,
        effect: v1::TaintEffect::NoSchedule,
    });

    let stored = v1_to_v2(&view);
    assert_eq!(
        required_expressions(&stored.spec),
        vec![vec![
            requirement("disk-type", "In", &["nvme"]),
            requirement("pool", "In", &["load", "spare"]),
            requirement("spot", "DoesNotExist", &[]),
        ]],
        "the unchanged label keeps all its values; the NotIn/Exists kind stays"
    );
    let scheduling = stored.spec.scheduling.as_ref().unwrap();
    let original_scheduling = original.spec.scheduling.as_ref().unwrap();
    assert_eq!(
        node_affinity(&stored.spec).preferred_during_scheduling_ignored_during_execution,
        node_affinity(&original.spec).preferred_during_scheduling_ignored_during_execution
    );
    let tolerations = scheduling.tolerations.as_ref().unwrap();
    let keys: Vec<_> = tolerations.iter().map(|t| t.key.as_deref()).collect();
    assert_eq!(keys, vec![Some("dedicated"), Some("new"), None]);
    assert_eq!(
        tolerations[0].toleration_seconds,
        Some(30),
        "the unchanged toleration keeps its seconds"
    );
    assert_eq!(scheduling.node_selector, original_scheduling.node_selector);
    assert_eq!(scheduling.runtime_class_name.as_deref(), Some("gvisor"));
    assert_eq!(v2_to_v1(&stored).spec, view.spec);
}

#[test]
fn removing_the_config_map_through_v1_keeps_custom_mount_paths() {
    let original = v2_object(V2_WITH_LOSSY_FIELDS);
    let mut view = v2_to_v1(&original);
    view.spec.config_map = None;
    let files = v1_to_v2(&view).spec.test_files.unwrap();
    assert_eq!(files.config_map_ref, None);
    assert_eq!(files.src_mount_path, "/mnt/tests");
}

// ------------------------------------------------------------------------------------------------
// JSON objects and determinism

#[test]
fn convert_object_sets_the_target_api_version_and_returns_same_version_objects_unchanged() {
    let v1_json = serde_json::to_value(v1_object(DOC_V1_EXAMPLE)).unwrap();
    let v2_json = convert_object(v1_json.clone(), API_VERSION_V2).unwrap();
    assert_eq!(v2_json["apiVersion"], "locust.io/v2");
    assert_eq!(v2_json["kind"], "LocustTest");
    assert_eq!(v2_json["spec"]["worker"]["replicas"], 3);
    assert_eq!(convert_object(v2_json.clone(), API_VERSION_V1).unwrap(), v1_json);

    let untouched =
        json!({"apiVersion": "locust.io/v2", "kind": "LocustTest", "metadata": {"name": "x"}, "spec": {"anything": 1}});
    assert_eq!(convert_object(untouched.clone(), API_VERSION_V2).unwrap(), untouched);
}

#[test]
fn convert_object_names_the_object_and_the_problem() {
    let missing_replicas = json!({
        "apiVersion": "locust.io/v2", "kind": "LocustTest",
        "metadata": {"name": "foo", "namespace": "default"},
        "spec": {"image": "i", "master": {"command": "m"}, "worker": {"command": "w"}}
    });
    let error = convert_object(missing_replicas, API_VERSION_V1).unwrap_err();
    assert_eq!(
        error.to_string(),
        "object default/foo: spec.worker: missing field `replicas`"
    );

    let wrong_kind = json!({"apiVersion": "locust.io/v1", "kind": "Pod", "metadata": {"name": "p"}});
    assert_eq!(
        convert_object(wrong_kind, API_VERSION_V2).unwrap_err().to_string(),
        "object p: kind \"Pod\" is not LocustTest"
    );

    let bad_status = json!({
        "apiVersion": "locust.io/v1", "kind": "LocustTest", "metadata": {"name": "s", "namespace": "n"},
        "spec": {"image": "i", "masterCommandSeed": "m", "workerCommandSeed": "w"},
        "status": {"phase": "Exploded"}
    });
    let error = convert_object(bad_status, API_VERSION_V2).unwrap_err().to_string();
    assert!(
        error.starts_with("object n/s: status.phase: unknown variant `Exploded`"),
        "{error}"
    );

    let v2_json = json!({"apiVersion": "locust.io/v2", "kind": "LocustTest", "metadata": {"name": "x"}, "spec": {}});
    assert_eq!(
        convert_object(v2_json, "locust.io/v3").unwrap_err(),
        ConversionError::UnsupportedDesiredVersion("locust.io/v3".into())
    );
}

#[test]
fn converting_the_same_object_twice_gives_identical_bytes() {
    let full = serde_json::to_value(v2_object(V2_WITH_LOSSY_FIELDS)).unwrap();
    let first = serde_json::to_vec(&convert_object(full.clone(), API_VERSION_V1).unwrap()).unwrap();
    let second = serde_json::to_vec(&convert_object(full, API_VERSION_V1).unwrap()).unwrap();
    assert_eq!(first, second);

    let body = fixture("review-mixed-to-v2.json");
    assert_eq!(
        serde_json::to_vec(&review(&body)).unwrap(),
        serde_json::to_vec(&review(&body)).unwrap()
    );
}

// ------------------------------------------------------------------------------------------------
// ConversionReview fixtures

/// The response of a review, as JSON the API server reads.
fn answer(body: &[u8]) -> Value {
    let answer = serde_json::to_value(review(body)).unwrap();
    assert_eq!(answer["kind"], "ConversionReview");
    assert_eq!(answer["apiVersion"], "apiextensions.k8s.io/v1");
    assert!(answer.get("request").is_none(), "the answer carries no request");
    answer["response"].clone()
}

/// The review in fixture `name` as sent, and the objects of its answer, which must be a success
/// for `uid` with every object at `api_version`.
fn successful_review(name: &str, uid: &str, api_version: &str) -> (Value, Vec<Value>) {
    let body = fixture(name);
    let request: Value = serde_json::from_slice(&body).unwrap();
    let response = answer(&body);
    assert_eq!(response["uid"], uid);
    assert_eq!(response["result"]["status"], "Success");
    let objects = response["convertedObjects"].as_array().unwrap().clone();
    assert!(objects.iter().all(|o| o["apiVersion"] == api_version));
    (request, objects)
}

#[test]
fn review_converts_mixed_versions_to_v2_in_order() {
    let (request, objects) = successful_review(
        "review-mixed-to-v2.json",
        "3f1c2a9e-7d41-4b8e-9a55-0c6d2e8b1f01",
        API_VERSION_V2,
    );
    assert_eq!(objects.len(), 3);

    let basic = &objects[0];
    assert_eq!(basic["metadata"]["name"], "basic-test");
    assert_eq!(basic["metadata"]["uid"], "0a7c1d52-5c8e-4f3b-b1de-6f0e9a2b7c11");
    assert_eq!(basic["spec"]["worker"]["replicas"], 3);
    assert_eq!(
        basic["spec"]["master"]["autoquit"],
        json!({"enabled": true, "timeout": 60})
    );
    assert_eq!(basic["spec"]["testFiles"]["configMapRef"], "test-scripts");
    let annotations = basic["metadata"]["annotations"].as_object().unwrap();
    assert_eq!(
        annotations.keys().collect::<Vec<_>>(),
        vec!["kubectl.kubernetes.io/last-applied-configuration"],
        "user annotations are kept and nothing is recorded for a plain v1 object"
    );

    assert_eq!(
        objects[1], request["request"]["objects"][1],
        "a v2 object is passed through unchanged"
    );

    let scheduled = &objects[2];
    let expressions = &scheduled["spec"]["scheduling"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        ["nodeSelectorTerms"][0]["matchExpressions"];
    let keys: Vec<_> = expressions
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        vec!["nodeAffinityLabel1", "nodeAffinityLabel2", "nodeAffinityLabel3"]
    );
    assert_eq!(scheduled["spec"]["imagePullSecrets"], json!([{"name": "gcr-secret"}]));
    assert_eq!(scheduled["spec"]["worker"]["labels"]["role"], "worker");
    assert_eq!(scheduled["spec"]["scheduling"]["tolerations"][1]["operator"], "Exists");
    assert_eq!(scheduled["status"]["phase"], "Running");
}

#[test]
fn review_converts_to_v1_recording_what_v1_cannot_hold_and_back_exactly() {
    let (request, objects) = successful_review(
        "review-to-v1.json",
        "9b0e6f3a-1c2d-4e5f-8a7b-6c5d4e3f2a10",
        API_VERSION_V1,
    );

    let full = &objects[0];
    assert_eq!(full["spec"]["workerReplicas"], 3);
    assert_eq!(full["spec"]["imagePullSecrets"], json!(["gcr-secret"]));
    assert_eq!(
        full["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"],
        json!({"pool": "load"})
    );
    assert_eq!(full["status"]["phase"], "Succeeded");
    assert_eq!(full["metadata"]["annotations"]["example.com/owner"], "perf-team");
    let recorded = full["metadata"]["annotations"][ANNOTATION_V2_SPEC].as_str().unwrap();
    let recorded: v2::LocustTestSpec = serde_json::from_str(recorded).unwrap();
    let original: v2::LocustTest = serde_json::from_value(request["request"]["objects"][0].clone()).unwrap();
    assert_eq!(recorded, original.spec);

    let plain = &objects[1];
    assert!(
        plain["metadata"].get("annotations").is_none(),
        "a plain v2 object needs no record: {plain}"
    );
    assert_eq!(plain["spec"]["configMap"], "test-scripts");

    // The API server sends the v1 objects back when a client writes them: they become the originals.
    let back = json!({
        "kind": "ConversionReview", "apiVersion": "apiextensions.k8s.io/v1",
        "request": {"uid": "second", "desiredAPIVersion": "locust.io/v2", "objects": objects},
    });
    let back = answer(&serde_json::to_vec(&back).unwrap());
    assert_eq!(back["uid"], "second");
    for (index, converted) in back["convertedObjects"].as_array().unwrap().iter().enumerate() {
        let converted: v2::LocustTest = serde_json::from_value(converted.clone()).unwrap();
        let original: v2::LocustTest = serde_json::from_value(request["request"]["objects"][index].clone()).unwrap();
        assert_eq!(converted, original, "object {index}");
    }
}

#[test]
fn review_with_an_undecodable_object_fails_naming_it() {
    let response = answer(&fixture("review-undecodable-object.json"));
    assert_eq!(response["uid"], "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a");
    assert_eq!(response["result"]["status"], "Failure");
    assert_eq!(
        response["result"]["message"],
        "object default/foo: spec.worker: missing field `replicas`"
    );
    assert_eq!(response["convertedObjects"], json!([]));
}

#[test]
fn review_names_every_object_it_cannot_convert() {
    let response = answer(&fixture("review-foreign-objects.json"));
    assert_eq!(response["uid"], "1a2b3c4d-5e6f-4a8b-9c0d-e1f2a3b4c5d6");
    assert_eq!(response["result"]["status"], "Failure");
    let message = response["result"]["message"].as_str().unwrap();
    for expected in [
        "object default/web: kind \"Pod\" is not LocustTest",
        "object default/future: apiVersion \"locust.io/v9\" is not locust.io/v1 or locust.io/v2",
        "object <unnamed>: expected a JSON object, got a string",
        "object qa/bad-policy: spec.imagePullPolicy: unknown variant `Sometimes`",
    ] {
        assert!(message.contains(expected), "{expected:?} missing from {message:?}");
    }
}

#[test]
fn garbage_bodies_get_a_failure_response_without_uid() {
    let bodies: Vec<(&str, Vec<u8>)> = vec![
        ("truncated HTTP request", fixture("review-garbage.txt")),
        ("empty body", Vec::new()),
        ("invalid UTF-8", vec![0xff, 0xfe, b'{', 0x80]),
        ("JSON of another kind", br#"{"hello": "world"}"#.to_vec()),
        ("objects is not a list", br#"{"kind":"ConversionReview","apiVersion":"apiextensions.k8s.io/v1","request":{"uid":"u","desiredAPIVersion":"locust.io/v2","objects":7}}"#.to_vec()),
    ];
    for (what, body) in bodies {
        let response = answer(&body);
        assert_eq!(response["uid"], "", "{what}");
        assert_eq!(response["result"]["status"], "Failure", "{what}");
        let message = response["result"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("the request body is not a ConversionReview: "),
            "{what}: {message}"
        );
        assert_eq!(response["convertedObjects"], json!([]), "{what}");
    }
}

#[test]
fn a_review_without_request_or_with_an_unknown_target_fails() {
    let response = answer(br#"{"kind":"ConversionReview","apiVersion":"apiextensions.k8s.io/v1"}"#);
    assert_eq!(response["result"]["status"], "Failure");
    assert_eq!(response["result"]["message"], "the ConversionReview has no request");

    let response = answer(
        br#"{"kind":"ConversionReview","apiVersion":"apiextensions.k8s.io/v1","request":{"uid":"u-3","desiredAPIVersion":"locust.io/v3","objects":[]}}"#,
    );
    assert_eq!(response["uid"], "u-3");
    assert_eq!(response["result"]["status"], "Failure");
    assert!(
        response["result"]["message"]
            .as_str()
            .unwrap()
            .contains("\"locust.io/v3\" is not served")
    );
}

// ------------------------------------------------------------------------------------------------
// Property tests

mod strategies {
    use std::collections::BTreeMap;

    use k8s_openapi::api::core::v1::{
        Affinity, ConfigMapVolumeSource, EmptyDirVolumeSource, EnvVar, LocalObjectReference, NodeAffinity,
        NodeSelector, NodeSelectorRequirement, NodeSelectorTerm, PodSecurityContext, PreferredSchedulingTerm,
        ResourceRequirements, SecurityContext, Toleration, Volume,
    };
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, ObjectMeta, Time};
    use k8s_openapi::jiff::Timestamp;
    use proptest::collection::{btree_map, vec};
    use proptest::option::of;
    use proptest::prelude::*;
    use shared::api::conversion::lift_spec;
    use shared::api::status::{LocustTestStatus, Phase, TestStats};
    use shared::api::{ImagePullPolicy, v1, v2};

    pub fn word() -> BoxedStrategy<String> {
        "[a-z][a-z0-9-]{0,6}".boxed()
    }

    /// Printable ASCII, quotes and backslashes included, to exercise the JSON in annotations.
    fn text() -> BoxedStrategy<String> {
        "[ -~]{0,12}".boxed()
    }

    fn string_map() -> BoxedStrategy<BTreeMap<String, String>> {
        btree_map("[a-z]{1,3}(\\.io/[a-z]{1,3})?", text(), 0..3).boxed()
    }

    fn path() -> BoxedStrategy<String> {
        "/[a-z]{1,8}(/[a-z]{1,4})?".boxed()
    }

    fn time() -> BoxedStrategy<Time> {
        (0i64..4_000_000_000)
            .prop_map(|seconds| Time(Timestamp::from_second(seconds).unwrap()))
            .boxed()
    }

    fn quantity() -> BoxedStrategy<Quantity> {
        prop_oneof![
            Just("100m".to_string()),
            Just("2Gi".to_string()),
            "[1-9][0-9]{0,3}(m|Mi|Gi)?"
        ]
        .prop_map(Quantity)
        .boxed()
    }

    fn resources() -> BoxedStrategy<ResourceRequirements> {
        let amounts = || {
            of(btree_map(
                prop_oneof![Just("cpu".to_string()), Just("memory".to_string())],
                quantity(),
                0..3,
            ))
        };
        (amounts(), amounts())
            .prop_map(|(limits, requests)| ResourceRequirements {
                limits,
                requests,
                claims: None,
            })
            .boxed()
    }

    fn pull_policy() -> BoxedStrategy<ImagePullPolicy> {
        prop_oneof![
            Just(ImagePullPolicy::Always),
            Just(ImagePullPolicy::IfNotPresent),
            Just(ImagePullPolicy::Never)
        ]
        .boxed()
    }

    // --- v1 ---

    fn pod_maps() -> BoxedStrategy<v1::PodMetadataMaps> {
        (of(string_map()), of(string_map()))
            .prop_map(|(master, worker)| v1::PodMetadataMaps { master, worker })
            .boxed()
    }

    fn v1_toleration() -> BoxedStrategy<v1::LocustTestToleration> {
        let operator = prop_oneof![
            Just(v1::TolerationOperator::Exists),
            Just(v1::TolerationOperator::Equal)
        ];
        let effect = prop_oneof![
            Just(v1::TaintEffect::NoSchedule),
            Just(v1::TaintEffect::PreferNoSchedule),
            Just(v1::TaintEffect::NoExecute)
        ];
        (text(), operator, of(word()), effect)
            .prop_map(|(key, operator, value, effect)| v1::LocustTestToleration {
                key,
                operator,
                value,
                effect,
            })
            .boxed()
    }

    fn v1_affinity() -> BoxedStrategy<v1::LocustTestAffinity> {
        of(btree_map(word(), text(), 0..4))
            .prop_map(|labels| v1::LocustTestAffinity {
                node_affinity: labels.map(|labels| v1::LocustTestNodeAffinity {
                    required_during_scheduling_ignored_during_execution: labels,
                }),
            })
            .boxed()
    }

    pub fn v1_spec() -> BoxedStrategy<v1::LocustTestSpec> {
        (
            (
                text(),
                text(),
                1..=500i32,
                word(),
                of(pull_policy()),
                of(vec(word(), 0..3)),
            ),
            (
                of(word()),
                of(word()),
                of(pod_maps()),
                of(pod_maps()),
                of(v1_affinity()),
                of(vec(v1_toleration(), 0..3)),
            ),
        )
            .prop_map(
                |(
                    (
                        master_command_seed,
                        worker_command_seed,
                        worker_replicas,
                        image,
                        image_pull_policy,
                        image_pull_secrets,
                    ),
                    (config_map, lib_config_map, labels, annotations, affinity, tolerations),
                )| v1::LocustTestSpec {
                    master_command_seed,
                    worker_command_seed,
                    worker_replicas,
                    image,
                    image_pull_policy,
                    image_pull_secrets,
                    config_map,
                    lib_config_map,
                    labels,
                    annotations,
                    affinity,
                    tolerations,
                },
            )
            .boxed()
    }

    // --- metadata and status, shared by both versions ---

    pub fn metadata() -> BoxedStrategy<ObjectMeta> {
        // User annotations never use the reserved keys. The map is absent or non-empty, as the API
        // server sends it (Go's ObjectMeta drops empty maps).
        let user_annotations = of(btree_map("[a-z]{1,4}\\.example\\.com/[a-z]{1,4}", text(), 1..3));
        (
            word(),
            of(word()),
            of(string_map()),
            user_annotations,
            of(1i64..100),
            of("[0-9a-f]{8}"),
            of(time()),
        )
            .prop_map(
                |(name, namespace, labels, annotations, generation, uid, creation_timestamp)| ObjectMeta {
                    name: Some(name),
                    namespace,
                    labels,
                    annotations,
                    generation,
                    uid,
                    creation_timestamp,
                    ..ObjectMeta::default()
                },
            )
            .boxed()
    }

    /// Hundredths, so every value survives a JSON round trip exactly.
    fn decimal() -> BoxedStrategy<f64> {
        (0u32..1_000_000).prop_map(|n| f64::from(n) / 100.0).boxed()
    }

    fn test_stats() -> BoxedStrategy<TestStats> {
        let state = prop_oneof![Just("spawning"), Just("running"), Just("stopped")];
        (
            (state, 0i64..10_000, 0i64..1_000_000, 0i64..1_000),
            (decimal(), decimal(), of(decimal()), of(decimal())),
            (of(0i32..500), of(time())),
        )
            .prop_map(
                |(
                    (state, users, total_requests, total_failures),
                    (current_rps, fail_percent, median_response_time, p95_response_time),
                    (workers, last_update_time),
                )| TestStats {
                    state: state.into(),
                    users,
                    total_requests,
                    total_failures,
                    fail_ratio: fail_percent / 100.0,
                    fail_percent,
                    current_rps,
                    median_response_time,
                    p95_response_time,
                    workers,
                    last_update_time,
                },
            )
            .boxed()
    }

    fn condition() -> BoxedStrategy<Condition> {
        (
            word(),
            prop_oneof![Just("True"), Just("False"), Just("Unknown")],
            word(),
            text(),
            time(),
            of(1i64..100),
        )
            .prop_map(
                |(type_, status, reason, message, last_transition_time, observed_generation)| Condition {
                    type_,
                    status: status.to_string(),
                    reason,
                    message,
                    last_transition_time,
                    observed_generation,
                },
            )
            .boxed()
    }

    pub fn status() -> BoxedStrategy<LocustTestStatus> {
        let phase = prop_oneof![
            Just(Phase::Pending),
            Just(Phase::Running),
            Just(Phase::Succeeded),
            Just(Phase::Failed)
        ];
        (
            of(phase),
            of(1i64..100),
            of(0i32..500),
            of(0i32..500),
            of(time()),
            of(time()),
            of(vec(condition(), 0..3)),
            of(test_stats()),
        )
            .prop_map(
                |(
                    phase,
                    observed_generation,
                    expected_workers,
                    connected_workers,
                    start_time,
                    completion_time,
                    conditions,
                    stats,
                )| {
                    LocustTestStatus {
                        phase,
                        observed_generation,
                        expected_workers,
                        connected_workers,
                        start_time,
                        completion_time,
                        conditions,
                        stats,
                        ..LocustTestStatus::default()
                    }
                },
            )
            .boxed()
    }

    pub fn v1_object() -> BoxedStrategy<v1::LocustTest> {
        (metadata(), v1_spec(), of(status()))
            .prop_map(|(metadata, spec, status)| v1::LocustTest { metadata, spec, status })
            .boxed()
    }

    // --- v2 ---

    fn node_requirement() -> BoxedStrategy<NodeSelectorRequirement> {
        let operator = prop_oneof![
            3 => Just("In"),
            1 => Just("NotIn"),
            1 => Just("Exists"),
            1 => Just("DoesNotExist"),
            1 => Just("Gt"),
        ];
        (word(), operator, of(vec(word(), 0..3)))
            .prop_map(|(key, operator, values)| NodeSelectorRequirement {
                key,
                operator: operator.to_string(),
                values,
            })
            .boxed()
    }

    fn node_term() -> BoxedStrategy<NodeSelectorTerm> {
        (of(vec(node_requirement(), 0..4)), of(vec(node_requirement(), 0..2)))
            .prop_map(|(match_expressions, match_fields)| NodeSelectorTerm {
                match_expressions,
                match_fields,
            })
            .boxed()
    }

    fn arbitrary_affinity() -> BoxedStrategy<Affinity> {
        let required = of(vec(node_term(), 0..3).prop_map(|node_selector_terms| NodeSelector { node_selector_terms }));
        let preferred = of(vec(
            (1i32..=100, node_term()).prop_map(|(weight, preference)| PreferredSchedulingTerm { weight, preference }),
            0..2,
        ));
        of((required, preferred).prop_map(|(required, preferred)| NodeAffinity {
            required_during_scheduling_ignored_during_execution: required,
            preferred_during_scheduling_ignored_during_execution: preferred,
        }))
        .prop_map(|node_affinity| Affinity {
            node_affinity,
            ..Affinity::default()
        })
        .boxed()
    }

    fn v2_toleration() -> BoxedStrategy<Toleration> {
        let operator = of(prop_oneof![Just("Exists"), Just("Equal"), Just("Lt")]);
        let effect = of(prop_oneof![
            Just("NoSchedule"),
            Just("PreferNoSchedule"),
            Just("NoExecute"),
            Just("Other")
        ]);
        (of(text()), operator, of(word()), effect, of(0i64..3600))
            .prop_map(|(key, operator, value, effect, toleration_seconds)| Toleration {
                key,
                operator: operator.map(str::to_string),
                value,
                effect: effect.map(str::to_string),
                toleration_seconds,
            })
            .boxed()
    }

    fn scheduling() -> BoxedStrategy<v2::SchedulingConfig> {
        (
            of(arbitrary_affinity()),
            of(vec(v2_toleration(), 0..4)),
            of(string_map()),
            of("[a-z]{0,6}"),
        )
            .prop_map(
                |(affinity, tolerations, node_selector, runtime_class_name)| v2::SchedulingConfig {
                    affinity,
                    tolerations,
                    node_selector,
                    runtime_class_name,
                },
            )
            .boxed()
    }

    fn master() -> BoxedStrategy<v2::MasterSpec> {
        (
            text(),
            of(resources()),
            of(string_map()),
            of(string_map()),
            any::<bool>(),
            // Always set: an absent autoquit reads back as the default, so `None` never reaches
            // the conversion from JSON.
            (any::<bool>(), 0i32..3600).prop_map(|(enabled, timeout)| Some(v2::AutoquitConfig { enabled, timeout })),
            of(vec(text(), 0..3)),
        )
            .prop_map(
                |(command, resources, labels, annotations, autostart, autoquit, extra_args)| v2::MasterSpec {
                    command,
                    resources,
                    labels,
                    annotations,
                    autostart,
                    autoquit,
                    extra_args,
                },
            )
            .boxed()
    }

    fn worker() -> BoxedStrategy<v2::WorkerSpec> {
        (
            text(),
            1..=500i32,
            of(resources()),
            of(string_map()),
            of(string_map()),
            of(vec(text(), 0..3)),
        )
            .prop_map(
                |(command, replicas, resources, labels, annotations, extra_args)| v2::WorkerSpec {
                    command,
                    replicas,
                    resources,
                    labels,
                    annotations,
                    extra_args,
                },
            )
            .boxed()
    }

    fn test_files() -> BoxedStrategy<v2::TestFilesConfig> {
        let mount = |default: &str| prop_oneof![Just(default.to_string()), path()];
        (of(word()), of(word()), mount("/lotest/src"), mount("/opt/locust/lib"))
            .prop_map(
                |(config_map_ref, lib_config_map_ref, src_mount_path, lib_mount_path)| v2::TestFilesConfig {
                    config_map_ref,
                    lib_config_map_ref,
                    src_mount_path,
                    lib_mount_path,
                },
            )
            .boxed()
    }

    fn env() -> BoxedStrategy<v2::EnvConfig> {
        let config_map_refs = of(vec(
            (word(), of(word())).prop_map(|(name, prefix)| v2::ConfigMapEnvSource { name, prefix }),
            0..2,
        ));
        let secret_refs = of(vec(
            (word(), of(word())).prop_map(|(name, prefix)| v2::SecretEnvSource { name, prefix }),
            0..2,
        ));
        let variables = of(vec(
            ("[A-Z_]{1,6}", of(text())).prop_map(|(name, value)| EnvVar {
                name,
                value,
                value_from: None,
            }),
            0..3,
        ));
        let secret_mounts = of(vec(
            (word(), path(), any::<bool>()).prop_map(|(name, mount_path, read_only)| v2::SecretMount {
                name,
                mount_path,
                read_only,
            }),
            0..2,
        ));
        (config_map_refs, secret_refs, variables, secret_mounts)
            .prop_map(
                |(config_map_refs, secret_refs, variables, secret_mounts)| v2::EnvConfig {
                    config_map_refs,
                    secret_refs,
                    variables,
                    secret_mounts,
                },
            )
            .boxed()
    }

    fn volume() -> BoxedStrategy<Volume> {
        let empty_dir = (
            of(prop_oneof![Just("Memory".to_string()), Just(String::new())]),
            of(quantity()),
        )
            .prop_map(|(medium, size_limit)| (Some(EmptyDirVolumeSource { medium, size_limit }), None));
        let config_map = (word(), of(any::<bool>())).prop_map(|(name, optional)| {
            (
                None,
                Some(ConfigMapVolumeSource {
                    name,
                    optional,
                    ..ConfigMapVolumeSource::default()
                }),
            )
        });
        (word(), prop_oneof![empty_dir, config_map])
            .prop_map(|(name, (empty_dir, config_map))| Volume {
                name,
                empty_dir,
                config_map,
                ..Volume::default()
            })
            .boxed()
    }

    fn volume_mount() -> BoxedStrategy<v2::TargetedVolumeMount> {
        let target = prop_oneof![
            Just(v2::MountTarget::Master),
            Just(v2::MountTarget::Worker),
            Just(v2::MountTarget::Both)
        ];
        (
            word(),
            path(),
            of(word()),
            of(any::<bool>()),
            of(Just("HostToContainer".to_string())),
            target,
        )
            .prop_map(
                |(name, mount_path, sub_path, read_only, mount_propagation, target)| v2::TargetedVolumeMount {
                    name,
                    mount_path,
                    sub_path,
                    sub_path_expr: None,
                    read_only,
                    recursive_read_only: None,
                    mount_propagation,
                    target,
                },
            )
            .boxed()
    }

    fn security() -> BoxedStrategy<v2::SecurityConfig> {
        let pod = (of(0i64..70000), of(any::<bool>())).prop_map(|(run_as_user, run_as_non_root)| PodSecurityContext {
            run_as_user,
            run_as_non_root,
            ..PodSecurityContext::default()
        });
        let container = (of(any::<bool>()), of(any::<bool>())).prop_map(
            |(allow_privilege_escalation, read_only_root_filesystem)| SecurityContext {
                allow_privilege_escalation,
                read_only_root_filesystem,
                ..SecurityContext::default()
            },
        );
        (of(pod), of(container))
            .prop_map(
                |(pod_security_context, container_security_context)| v2::SecurityConfig {
                    pod_security_context,
                    container_security_context,
                },
            )
            .boxed()
    }

    fn observability() -> BoxedStrategy<v2::ObservabilityConfig> {
        let protocol = prop_oneof![Just(v2::OtelProtocol::Grpc), Just(v2::OtelProtocol::HttpProtobuf)];
        of(
            (any::<bool>(), of(word()), protocol, any::<bool>(), of(string_map())).prop_map(
                |(enabled, endpoint, protocol, insecure, extra_env_vars)| v2::OpenTelemetryConfig {
                    enabled,
                    endpoint,
                    protocol,
                    insecure,
                    extra_env_vars,
                },
            ),
        )
        .prop_map(|open_telemetry| v2::ObservabilityConfig { open_telemetry })
        .boxed()
    }

    /// Limits with fractions (they must survive the v1 annotation exactly).
    fn limits() -> BoxedStrategy<v2::Limits> {
        (
            of(0.0..=1.0f64),
            of(0.0..=60_000.0f64),
            of(0.0..=60_000.0f64),
            of(0.0..=10_000.0f64),
        )
            .prop_map(
                |(max_fail_ratio, max_p95_response_time_ms, max_median_response_time_ms, min_rps)| v2::Limits {
                    max_fail_ratio,
                    max_p95_response_time_ms,
                    max_median_response_time_ms,
                    min_rps,
                },
            )
            .boxed()
    }

    fn thresholds() -> BoxedStrategy<v2::Thresholds> {
        let endpoint = (
            word(),
            of(prop_oneof![Just("GET".to_string()), Just("POST".to_string())]),
            limits(),
        )
            .prop_map(|(name, method, limits)| v2::EndpointThresholds {
                name: format!("/{name}"),
                method,
                limits,
            });
        (limits(), of(vec(endpoint, 0..3)))
            .prop_map(|(limits, endpoints)| v2::Thresholds { limits, endpoints })
            .boxed()
    }

    fn arbitrary_v2_spec() -> BoxedStrategy<v2::LocustTestSpec> {
        (
            (
                word(),
                pull_policy(),
                of(vec(word().prop_map(|name| LocalObjectReference { name }), 0..3)),
                master(),
                worker(),
            ),
            (
                of(test_files()),
                of(scheduling()),
                of(env()),
                of(vec(volume(), 0..3)),
                of(vec(volume_mount(), 0..3)),
                of(security()),
                of(observability()),
                of(thresholds()),
            ),
        )
            .prop_map(
                |(
                    (image, image_pull_policy, image_pull_secrets, master, worker),
                    (test_files, scheduling, env, volumes, volume_mounts, security, observability, thresholds),
                )| v2::LocustTestSpec {
                    image,
                    image_pull_policy,
                    image_pull_secrets,
                    master,
                    worker,
                    test_files,
                    scheduling,
                    env,
                    volumes,
                    volume_mounts,
                    security,
                    observability,
                    thresholds,
                },
            )
            .boxed()
    }

    /// Arbitrary v2 specs, and specs v1 can hold entirely (which need no record).
    pub fn v2_spec() -> BoxedStrategy<v2::LocustTestSpec> {
        prop_oneof![3 => arbitrary_v2_spec(), 1 => v1_spec().prop_map(|spec| lift_spec(&spec))].boxed()
    }

    pub fn v2_object() -> BoxedStrategy<v2::LocustTest> {
        (metadata(), v2_spec(), of(status()))
            .prop_map(|(metadata, spec, status)| v2::LocustTest { metadata, spec, status })
            .boxed()
    }
}

mod properties {
    use proptest::prelude::*;
    use shared::api::conversion::{convert_object, lift_spec, project_spec, v1_to_v2, v2_to_v1};
    use shared::api::{v1, v2};
    use shared::constants::{ANNOTATION_V1_SPEC, ANNOTATION_V2_SPEC};

    use super::strategies;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn v2_to_v1_to_v2_returns_the_original(original in strategies::v2_object()) {
            // The generator stays within what Kubernetes can store as JSON.
            let json = serde_json::to_value(&original).unwrap();
            prop_assert_eq!(&serde_json::from_value::<v2::LocustTest>(json.clone()).unwrap(), &original);

            let view = v2_to_v1(&original);
            prop_assert_eq!(&view.spec, &project_spec(&original.spec));
            prop_assert_eq!(&view.status, &original.status);
            prop_assert_eq!(&v1_to_v2(&view), &original);

            // The same through JSON, as the webhook sees it.
            let view_json = convert_object(json.clone(), "locust.io/v1").unwrap();
            prop_assert_eq!(&view_json["apiVersion"], "locust.io/v1");
            prop_assert_eq!(convert_object(view_json, "locust.io/v2").unwrap(), json);
        }

        #[test]
        fn v1_to_v2_to_v1_returns_the_original(original in strategies::v1_object()) {
            let json = serde_json::to_value(&original).unwrap();
            prop_assert_eq!(&serde_json::from_value::<v1::LocustTest>(json.clone()).unwrap(), &original);

            let stored = v1_to_v2(&original);
            prop_assert_eq!(&stored.status, &original.status);
            prop_assert!(stored.metadata.annotations.as_ref().is_none_or(|a| !a.contains_key(ANNOTATION_V2_SPEC)));
            prop_assert_eq!(&v2_to_v1(&stored), &original);

            let stored_json = convert_object(json.clone(), "locust.io/v2").unwrap();
            prop_assert_eq!(&stored_json["apiVersion"], "locust.io/v2");
            prop_assert_eq!(convert_object(stored_json, "locust.io/v1").unwrap(), json);
        }

        #[test]
        fn an_edit_through_v1_is_applied_and_keeps_v2_only_fields(
            original in strategies::v2_object(),
            edit in strategies::v1_spec(),
        ) {
            let mut view = v2_to_v1(&original);
            view.spec = edit.clone();
            let stored = v1_to_v2(&view);

            // Reading it back through v1 shows exactly what the v1 client wrote, and the v2 spec
            // itself shows it too (not only thanks to a record).
            prop_assert_eq!(&v2_to_v1(&stored).spec, &edit);
            prop_assert_eq!(project_spec(&stored.spec), project_spec(&lift_spec(&edit)));
            prop_assert!(stored.metadata.annotations.as_ref().is_none_or(|a| !a.contains_key(ANNOTATION_V2_SPEC)));

            let (before, after) = (&original.spec, &stored.spec);
            prop_assert_eq!(&after.env, &before.env);
            prop_assert_eq!(&after.volumes, &before.volumes);
            prop_assert_eq!(&after.volume_mounts, &before.volume_mounts);
            prop_assert_eq!(&after.security, &before.security);
            prop_assert_eq!(&after.observability, &before.observability);
            prop_assert_eq!(&after.master.resources, &before.master.resources);
            prop_assert_eq!(&after.master.extra_args, &before.master.extra_args);
            prop_assert_eq!(after.master.autostart, before.master.autostart);
            prop_assert_eq!(&after.master.autoquit, &before.master.autoquit);
            prop_assert_eq!(&after.worker.resources, &before.worker.resources);
            prop_assert_eq!(&after.worker.extra_args, &before.worker.extra_args);
            let node_selector = |s: &v2::LocustTestSpec| s.scheduling.as_ref().and_then(|s| s.node_selector.clone());
            let runtime_class = |s: &v2::LocustTestSpec| s.scheduling.as_ref().and_then(|s| s.runtime_class_name.clone());
            prop_assert_eq!(node_selector(after), node_selector(before));
            prop_assert_eq!(runtime_class(after), runtime_class(before));
            let mounts = |s: &v2::LocustTestSpec| {
                let files = s.test_files.clone().unwrap_or_default();
                (files.src_mount_path, files.lib_mount_path)
            };
            prop_assert_eq!(mounts(after), mounts(before));
        }

        #[test]
        fn an_unchanged_v1_view_with_a_respelled_field_still_restores_the_original(
            original in strategies::v2_object(),
        ) {
            // A v1 client writing `imagePullPolicy: IfNotPresent` where v1 showed nothing has not
            // changed anything v2 holds.
            let mut view = v2_to_v1(&original);
            if view.spec.image_pull_policy.is_none() {
                view.spec.image_pull_policy = Some(shared::api::ImagePullPolicy::IfNotPresent);
            }
            let stored = v1_to_v2(&view);
            prop_assert_eq!(&stored.spec, &original.spec);
            prop_assert_eq!(&v2_to_v1(&stored), &view);
            let recorded = stored.metadata.annotations.as_ref().and_then(|a| a.get(ANNOTATION_V1_SPEC)).is_some();
            prop_assert_eq!(recorded, view.spec != project_spec(&original.spec));
        }

        #[test]
        fn the_v1_view_is_stable(spec in strategies::v2_spec(), v1_spec in strategies::v1_spec()) {
            let view = project_spec(&spec);
            prop_assert_eq!(project_spec(&lift_spec(&view)), view);
            let lifted = lift_spec(&v1_spec);
            prop_assert_eq!(lift_spec(&project_spec(&lifted)), lifted);
        }
    }
}
