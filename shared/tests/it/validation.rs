//! Client-side validation: every CRD rule and bound on a valid and an invalid object, the parse
//! errors users see, and the documentation examples.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{joined, test_yaml, validated};
use shared::api::v2;
use shared::validation::{FieldError, parse_locust_test, validate};

fn parse(yaml: &str) -> v2::LocustTest {
    parse_locust_test(yaml).unwrap_or_else(|errors| panic!("does not parse: {}", joined(&errors)))
}

fn assert_valid(yaml: &str) {
    validated(yaml);
}

fn assert_test_valid(test: &v2::LocustTest) {
    if let Err(errors) = validate(test) {
        panic!("expected valid, got:\n{}", joined(&errors));
    }
}

/// The one error `errors` holds; it must be at `field` and its printed form must contain every
/// one of `needles`.
fn assert_single(errors: Vec<FieldError>, field: &str, needles: &[&str]) -> FieldError {
    assert_eq!(errors.len(), 1, "expected exactly one error, got:\n{}", joined(&errors));
    let error = errors.into_iter().next().unwrap();
    assert_eq!(error.field, field, "wrong field in: {error}");
    let shown = error.to_string();
    for needle in needles {
        assert!(shown.contains(needle), "{shown:?} does not mention {needle:?}");
    }
    error
}

fn rejected(yaml: &str, field: &str, needles: &[&str]) -> FieldError {
    let test = parse(yaml);
    assert_single(
        validate(&test).expect_err("expected a validation error"),
        field,
        needles,
    )
}

fn rejected_test(test: &v2::LocustTest, field: &str, needles: &[&str]) -> FieldError {
    assert_single(validate(test).expect_err("expected a validation error"), field, needles)
}

fn parse_rejected(yaml: &str, field: &str, needles: &[&str]) -> FieldError {
    assert_single(
        parse_locust_test(yaml).expect_err("expected a parse error"),
        field,
        needles,
    )
}

// ---------------------------------------------------------------------------------------------
// metadata.name

#[test]
fn name_of_56_characters_is_accepted_57_is_rejected_naming_the_field_and_limit() {
    assert_valid(&test_yaml(&"a".repeat(56), ""));
    let error = rejected(
        &test_yaml(&"a".repeat(57), ""),
        "metadata.name",
        &["metadata.name", "56"],
    );
    assert!(error.to_string().contains("shorter name"), "says what to do: {error}");
}

#[test]
fn generate_name_is_checked_as_the_name_the_server_will_generate() {
    let with_generate_name =
        |prefix: &str| test_yaml("unused", "").replace("name: unused", &format!("generateName: {prefix}"));
    // 51 + 5 random characters = 56.
    assert_valid(&with_generate_name(&format!("{}-", "a".repeat(50))));
    let error = rejected(
        &with_generate_name(&"a".repeat(52)),
        "metadata.generateName",
        &["56", "at most 51"],
    );
    assert!(!error.to_string().contains("Missing argument"), "{error}");
}

#[test]
fn generate_name_also_drives_the_reserved_volume_names() {
    // A volume named like the generated name's master volume is a conflict only for that name, so a
    // plain generateName with an ordinary volume passes.
    let yaml = test_yaml("unused", "  volumes:\n    - name: data\n      emptyDir: {}\n")
        .replace("name: unused", "generateName: load-");
    assert_valid(&yaml);
}

#[test]
fn a_test_without_name_or_generate_name_is_rejected() {
    let yaml = test_yaml("unused", "").replace("  name: unused\n", "  labels:\n    team: a\n");
    rejected(&yaml, "metadata.name", &["metadata.name", "generateName"]);
}

// ---------------------------------------------------------------------------------------------
// spec.volumes names

fn with_volume(name: &str, volume: &str) -> String {
    test_yaml(
        name,
        &format!("  volumes:\n    - name: {volume}\n      emptyDir: {{}}\n"),
    )
}

#[test]
fn volume_named_like_the_generated_master_or_worker_is_rejected_also_for_dotted_names() {
    rejected(
        &with_volume("my.test", "my-test-master"),
        "spec.volumes",
        &["my-test-master", "rename the volume"],
    );
    rejected(
        &with_volume("my.test", "my-test-worker"),
        "spec.volumes",
        &["my-test-master/-worker"],
    );
    rejected(
        &with_volume("my-test", "my-test-worker"),
        "spec.volumes",
        &["rename the volume"],
    );
    assert_valid(&with_volume("my.test", "my-test-data"));
    assert_valid(&with_volume("my.test", "other-test-master"));
}

#[test]
fn volume_names_reserved_for_operator_volumes_are_rejected() {
    for reserved in ["secret-foo", "locust-lib"] {
        rejected(
            &with_volume("my-test", reserved),
            "spec.volumes",
            &["'secret-'", "'locust-lib'", "rename the volume"],
        );
    }
    assert_valid(&with_volume("my-test", "secretive"));
    assert_valid(&with_volume("my-test", "locust-library"));
}

#[test]
fn more_than_64_volumes_are_rejected() {
    let volumes = |count: usize| {
        let items: String = (0..count)
            .map(|i| format!("    - name: v{i}\n      emptyDir: {{}}\n"))
            .collect();
        test_yaml("my-test", &format!("  volumes:\n{items}"))
    };
    assert_valid(&volumes(64));
    rejected(&volumes(65), "spec.volumes", &["at most 64 items, got 65", "remove 1"]);
}

// ---------------------------------------------------------------------------------------------
// Reserved paths: secretMounts and volumeMounts

fn with_secret_mount(test_files: &str, path: &str) -> String {
    test_yaml(
        "my-test",
        &format!("{test_files}  env:\n    secretMounts:\n      - name: creds\n        mountPath: {path}\n"),
    )
}

fn with_volume_mount(test_files: &str, path: &str) -> String {
    test_yaml(
        "my-test",
        &format!(
            "{test_files}  volumes:\n    - name: data\n      emptyDir: {{}}\n  volumeMounts:\n    - name: data\n      mountPath: {path}\n"
        ),
    )
}

const CUSTOM_SRC: &str = "  testFiles:\n    configMapRef: scripts\n    srcMountPath: /custom/src\n";
const ONLY_LIB: &str = "  testFiles:\n    libConfigMapRef: lib-files\n";

/// The same reserved-path rule, checked for both kinds of mount.
fn check_reserved_paths(mount: fn(&str, &str) -> String, field: &str, what_to_do: &str) {
    for path in [
        "/lotest/src",
        "/lotest/src/sub",
        "/opt/locust/",
        "/opt/locust/lib",
        "/opt/locust/lib/x",
        "/",
    ] {
        rejected(&mount("", path), field, &["reserved test-files path", what_to_do]);
    }
    for path in ["/lotest/srcfoo", "/etc/locust/certs", "/opt/locust-data"] {
        assert_valid(&mount("", path));
    }
    // Custom srcMountPath: that path is reserved instead of the default.
    rejected(&mount(CUSTOM_SRC, "/custom/src/x"), field, &["srcMountPath"]);
    rejected(&mount(CUSTOM_SRC, "/custom"), field, &["srcMountPath"]);
    assert_valid(&mount(CUSTOM_SRC, "/lotest/src"));
    // Only a lib ConfigMap: the src path is free, the lib path is not.
    assert_valid(&mount(ONLY_LIB, "/lotest/src"));
    rejected(&mount(ONLY_LIB, "/opt/locust/lib"), field, &["libMountPath"]);
}

#[test]
fn secret_mounts_may_not_use_reserved_test_file_paths() {
    check_reserved_paths(
        with_secret_mount,
        "spec.env.secretMounts",
        "mount the secret somewhere else",
    );
}

#[test]
fn volume_mounts_may_not_use_reserved_test_file_paths() {
    check_reserved_paths(
        with_volume_mount,
        "spec.volumeMounts",
        "mount the volume somewhere else",
    );
}

#[test]
fn every_volume_mount_must_name_a_defined_volume() {
    let mount = "  volumeMounts:\n    - name: missing\n      mountPath: /data\n";
    rejected(
        &test_yaml("my-test", mount),
        "spec.volumeMounts",
        &["spec.volumes", "add the volume"],
    );
    let with_other_volume = format!("  volumes:\n    - name: data\n      emptyDir: {{}}\n{mount}");
    rejected(
        &test_yaml("my-test", &with_other_volume),
        "spec.volumeMounts",
        &["reference a volume defined"],
    );
    assert_valid(&with_volume_mount("", "/data"));
}

// ---------------------------------------------------------------------------------------------
// OpenTelemetry

#[test]
fn open_telemetry_endpoint_is_required_when_enabled() {
    let otel = |body: &str| test_yaml("my-test", &format!("  observability:\n    openTelemetry:\n{body}"));
    for body in ["      enabled: true\n", "      enabled: true\n      endpoint: \"\"\n"] {
        let error = rejected(
            &otel(body),
            "spec.observability.openTelemetry",
            &["endpoint is required", "enabled: false"],
        );
        assert!(
            error
                .to_string()
                .starts_with("spec.observability.openTelemetry.endpoint"),
            "{error}"
        );
    }
    assert_valid(&otel("      enabled: false\n"));
    assert_valid(&otel(
        "      enabled: true\n      endpoint: otel-collector.monitoring:4317\n",
    ));
}

// ---------------------------------------------------------------------------------------------
// OpenAPI bounds, read from the CRD schema

#[test]
fn worker_replicas_must_be_between_1_and_500() {
    let mut test = parse(&test_yaml("my-test", ""));
    for replicas in [1, 500] {
        test.spec.worker.replicas = replicas;
        assert_test_valid(&test);
    }
    for replicas in [0, 501, -3] {
        test.spec.worker.replicas = replicas;
        let error = rejected_test(&test, "spec.worker.replicas", &[]);
        assert_eq!(
            error.to_string(),
            format!("spec.worker.replicas: must be between 1 and 500, got {replicas}")
        );
    }
}

#[test]
fn autoquit_timeout_may_not_be_negative() {
    let autoquit = |timeout: i32| {
        test_yaml("my-test", "").replace(
            "    command: \"--locustfile /lotest/src/test.py --host https://example.com\"\n",
            &format!("    command: \"--locustfile /lotest/src/test.py --host https://example.com\"\n    autoquit:\n      timeout: {timeout}\n"),
        )
    };
    assert_valid(&autoquit(0));
    rejected(
        &autoquit(-1),
        "spec.master.autoquit.timeout",
        &["greater than or equal to 0, got -1"],
    );
}

#[test]
fn runtime_class_name_must_be_a_dns_subdomain_or_empty() {
    let runtime_class =
        |name: &str| test_yaml("my-test", &format!("  scheduling:\n    runtimeClassName: \"{name}\"\n"));
    assert_valid(&runtime_class(""));
    assert_valid(&runtime_class("gvisor"));
    assert_valid(&runtime_class("kata.fc"));
    rejected(
        &runtime_class("Bad_Name"),
        "spec.scheduling.runtimeClassName",
        &["\"Bad_Name\"", "pattern"],
    );
    rejected(
        &runtime_class(&"a".repeat(254)),
        "spec.scheduling.runtimeClassName",
        &["at most 253 characters, got 254"],
    );
}

#[test]
fn mount_paths_and_names_are_bounded() {
    let long_path = format!("/{}", "p".repeat(1024));
    rejected(
        &with_volume_mount("", &long_path),
        "spec.volumeMounts[0].mountPath",
        &["at most 1024 characters, got 1025"],
    );
    let long_name = "n".repeat(64);
    let yaml = test_yaml(
        "my-test",
        &format!(
            "  volumes:\n    - name: {long_name}\n      emptyDir: {{}}\n  volumeMounts:\n    - name: {long_name}\n      mountPath: /data\n"
        ),
    );
    let errors = validate(&parse(&yaml)).expect_err("names over 63 characters");
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["spec.volumeMounts[0].name", "spec.volumes[0].name"],
        "{}",
        joined(&errors)
    );
    assert!(
        errors
            .iter()
            .all(|e| e.message.contains("at most 63 characters, got 64"))
    );
}

#[test]
fn empty_mount_path_is_rejected() {
    let errors = validate(&parse(&with_secret_mount("", "\"\""))).expect_err("empty mount path");
    let empty = errors.iter().find(|e| e.field == "spec.env.secretMounts[0].mountPath");
    assert!(
        empty.is_some_and(|e| e.message.contains("must not be empty")),
        "{}",
        joined(&errors)
    );
}

// ---------------------------------------------------------------------------------------------
// Parse errors: enums, types, wrong shapes, unknown fields, versions

#[test]
fn unsupported_enum_values_are_rejected_with_the_allowed_values() {
    parse_rejected(
        &test_yaml("my-test", "  imagePullPolicy: Sometimes\n"),
        "spec.imagePullPolicy",
        &["\"Sometimes\"", "\"Always\", \"IfNotPresent\", \"Never\""],
    );
    parse_rejected(
        &with_volume_mount("", "/data").replace("mountPath: /data\n", "mountPath: /data\n      target: all\n"),
        "spec.volumeMounts[0].target",
        &["\"all\"", "\"master\", \"worker\", \"both\""],
    );
    parse_rejected(
        &test_yaml(
            "my-test",
            "  observability:\n    openTelemetry:\n      enabled: true\n      endpoint: c:4317\n      protocol: http\n",
        ),
        "spec.observability.openTelemetry.protocol",
        &["\"http\"", "\"grpc\", \"http/protobuf\""],
    );
    for allowed in ["Always", "IfNotPresent", "Never"] {
        assert_valid(&test_yaml("my-test", &format!("  imagePullPolicy: {allowed}\n")));
    }
}

#[test]
fn wrong_types_name_the_field_path() {
    let yaml = test_yaml("my-test", "").replace("replicas: 3", "replicas: \"3\"");
    let error = parse_rejected(&yaml, "spec.worker.replicas", &["invalid type: string \"3\""]);
    assert!(error.to_string().starts_with("spec.worker.replicas: "), "{error}");
}

#[test]
fn fractional_quantities_must_be_quoted_as_the_api_server_demands() {
    // The API server's int-or-string schema refuses `cpu: 0.5`; pods would take it, the CRD not.
    let resources = "    resources:\n      limits:\n        cpu: {}\n";
    let with = |cpu: &str| {
        test_yaml("my-test", "").replace(
            "    replicas: 3\n",
            &format!("    replicas: 3\n{}", resources.replace("{}", cpu)),
        )
    };
    parse_rejected(
        &with("0.5"),
        "spec.worker.resources.limits.cpu",
        &["not the number 0.5", "quote it: \"0.5\""],
    );
    assert_valid(&with("\"0.5\""));
    assert_valid(&with("2"));
}

/// Quantities the API server takes in a core type's resources, and ones it refuses.
const QUANTITIES: &[(&str, bool)] = &[
    ("\"500m\"", true),
    ("\"1.5\"", true),
    ("\"2Gi\"", true),
    ("\"1e3\"", true),
    ("\"0\"", true),
    ("\"+1\"", true),
    ("\".5\"", true),
    ("\"128Mi\"", true),
    ("2", true),
    ("0", true),
    ("\"lots\"", false),
    ("\"2 GB\"", false),
    ("\"1Gb\"", false),
    ("\"--1\"", false),
    ("\"\"", false),
    ("\"1.5.5\"", false),
];

/// What the API server's OpenAPI check decides for `value` at `node`, an int-or-string quantity:
/// an integer passes, a string must match the node's pattern.
fn schema_accepts(node: &serde_json::Value, value: &serde_json::Value) -> bool {
    assert_eq!(node["x-kubernetes-int-or-string"], true, "not a quantity: {node}");
    match value {
        serde_json::Value::Number(number) => number.is_i64() || number.is_u64(),
        serde_json::Value::String(text) => {
            let pattern = node["pattern"].as_str().unwrap_or_else(|| panic!("no pattern: {node}"));
            regex::Regex::new(pattern).unwrap().is_match(text)
        }
        _ => false,
    }
}

#[test]
fn quantities_are_checked_by_the_crd_schema_and_client_side_alike() {
    let crd = serde_json::to_value(shared::crd::locusttest_crd()).unwrap();
    let v2 = crd["spec"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|version| version["name"] == "v2")
        .unwrap();
    let schema = &v2["schema"]["openAPIV3Schema"];
    // (field as the API server names it, its schema node, what goes under `spec` or `spec.worker`
    // with `{}` for the quantity)
    let places = [
        (
            "spec.worker.resources.limits.cpu",
            "/properties/spec/properties/worker/properties/resources/properties/limits/additionalProperties",
            "    resources:\n      limits:\n        cpu: {}\n",
        ),
        (
            "spec.worker.resources.requests.memory",
            "/properties/spec/properties/worker/properties/resources/properties/requests/additionalProperties",
            "    resources:\n      requests:\n        memory: {}\n",
        ),
        (
            "spec.volumes[0].emptyDir.sizeLimit",
            "/properties/spec/properties/volumes/items/properties/emptyDir/properties/sizeLimit",
            "  volumes:\n    - name: data\n      emptyDir:\n        sizeLimit: {}\n",
        ),
    ];
    for (field, pointer, spec_extra) in places {
        let node = schema
            .pointer(pointer)
            .unwrap_or_else(|| panic!("no schema node {pointer}"));
        for &(value, valid) in QUANTITIES {
            let parsed: serde_json::Value = serde_yaml::from_str(value).unwrap();
            assert_eq!(
                schema_accepts(node, &parsed),
                valid,
                "the CRD schema on {field}: {value}"
            );
            let yaml = test_yaml("my-test", &spec_extra.replace("{}", value));
            if valid {
                assert_valid(&yaml);
                continue;
            }
            let shown = parsed.as_str().unwrap();
            let error = rejected(&yaml, field, &[&format!("\"{shown}\" is not a Kubernetes quantity")]);
            assert!(
                error.to_string().contains("such as 500m, 2, 1.5"),
                "says what to write instead: {error}"
            );
        }
    }
}

#[test]
fn missing_required_fields_are_named() {
    let yaml = test_yaml("my-test", "").replace("    replicas: 3\n", "");
    parse_rejected(&yaml, "spec.worker.replicas", &["required"]);
    let yaml = test_yaml("my-test", "").replace("  image: locustio/locust:2.20.0\n", "");
    parse_rejected(&yaml, "spec.image", &["required"]);
}

#[test]
fn unknown_fields_are_rejected_with_a_suggestion() {
    parse_rejected(
        &test_yaml("my-test", "  imagePullPolcy: Always\n"),
        "spec.imagePullPolcy",
        &["did you mean \"imagePullPolicy\""],
    );
    parse_rejected(
        &test_yaml(
            "my-test",
            "  volumes:\n    - name: data\n      emptyDir: {}\n      bogusSource: {}\n",
        ),
        "spec.volumes[0].bogusSource",
        &["unknown field", "remove it"],
    );
    // Free-form maps (labels) accept any key.
    let labels = test_yaml("my-test", "").replace(
        "    replicas: 3\n",
        "    replicas: 3\n    labels:\n      anything-goes: x\n",
    );
    assert_valid(&labels);
}

#[test]
fn extra_env_vars_as_a_list_is_rejected_with_the_map_form() {
    let list = "  observability:\n    openTelemetry:\n      enabled: true\n      endpoint: c:4317\n      extraEnvVars:\n        - name: OTEL_SERVICE_NAME\n          value: my-load-test\n";
    parse_rejected(
        &test_yaml("my-test", list),
        "spec.observability.openTelemetry.extraEnvVars",
        &["must be a map", "extraEnvVars: { OTEL_SERVICE_NAME: \"my-load-test\" }"],
    );
}

#[test]
fn image_pull_secrets_as_plain_strings_are_rejected_with_the_object_form() {
    parse_rejected(
        &test_yaml("my-test", "  imagePullSecrets:\n    - gcr-secret\n"),
        "spec.imagePullSecrets",
        &["`- name: gcr-secret`"],
    );
    assert_valid(&test_yaml("my-test", "  imagePullSecrets:\n    - name: gcr-secret\n"));
}

#[test]
fn v1_documents_are_refused_with_directions_to_v2() {
    let v1 = API_REFERENCE_V1_EXAMPLE;
    parse_rejected(
        v1,
        "apiVersion",
        &["deprecated", "locust.io/v2", "masterCommandSeed -> spec.master.command"],
    );
    // A broken v1 document reports its own errors too.
    let errors = parse_locust_test(&v1.replace("workerReplicas: 3", "workerReplicas: many")).expect_err("broken v1");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["spec.workerReplicas", "apiVersion"], "{}", joined(&errors));
}

#[test]
fn wrong_kind_version_and_documents_are_rejected() {
    let yaml = test_yaml("my-test", "");
    parse_rejected(
        &yaml.replace("kind: LocustTest", "kind: Job"),
        "kind",
        &["must be LocustTest"],
    );
    parse_rejected(
        &yaml.replace("locust.io/v2", "locust.io/v3"),
        "apiVersion",
        &["locust.io/v2"],
    );
    parse_rejected("", "", &["empty"]);
    parse_rejected("- a\n- b\n", "", &["not a mapping"]);
    parse_rejected(&format!("{yaml}---\n{yaml}"), "", &["exactly one"]);
}

#[test]
fn yaml_anchors_and_merge_keys_are_resolved() {
    let yaml = "apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: anchors
spec:
  image: locustio/locust:2.20.0
  master: &role
    command: \"--locustfile /lotest/src/test.py\"
  worker:
    <<: *role
    replicas: 4
";
    let test = validated(yaml);
    assert_eq!(test.spec.worker.command, "--locustfile /lotest/src/test.py");
    assert_eq!(test.spec.worker.replicas, 4);
}

#[test]
fn json_input_is_accepted() {
    let json = r#"{"apiVersion":"locust.io/v2","kind":"LocustTest","metadata":{"name":"j"},
        "spec":{"image":"locustio/locust:2.20.0","master":{"command":"--locustfile /lotest/src/t.py"},
        "worker":{"command":"--locustfile /lotest/src/t.py","replicas":2}}}"#;
    let test = validated(json);
    assert_eq!(test.spec.worker.replicas, 2);
}

// ---------------------------------------------------------------------------------------------
// All problems at once

#[test]
fn several_errors_are_reported_together() {
    let yaml = test_yaml(
        &"a".repeat(57),
        "  scheduling:
    runtimeClassName: Bad_Name
  volumes:
    - name: secret-x
      emptyDir: {}
  volumeMounts:
    - name: undefined
      mountPath: /lotest/src
  observability:
    openTelemetry:
      enabled: true
",
    );
    let mut test = parse(&yaml);
    test.spec.worker.replicas = 0;
    let errors = validate(&test).expect_err("many problems");
    let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "metadata.name",
            "spec.observability.openTelemetry",
            "spec.scheduling.runtimeClassName",
            "spec.volumeMounts",
            "spec.volumeMounts",
            "spec.volumes",
            "spec.worker.replicas",
        ],
        "{}",
        joined(&errors)
    );
}

#[test]
fn display_names_the_field_once() {
    let plain = FieldError::new("spec.worker.replicas", "must be between 1 and 500, got 0");
    assert_eq!(
        plain.to_string(),
        "spec.worker.replicas: must be between 1 and 500, got 0"
    );
    let named = FieldError::new("spec.volumes", "spec.volumes: rename the volume");
    assert_eq!(named.to_string(), "spec.volumes: rename the volume");
    let document = FieldError::new("", "the document is empty");
    assert_eq!(document.to_string(), "the document is empty");
}

// ---------------------------------------------------------------------------------------------
// Documentation examples (from api-reference.md and advanced-topics.md, kept verbatim in
// tests/fixtures/docs/ and shared with tests/it/doc_examples.rs): every full v2 example parses and
// validates, except the two whose shape the API reference overrules.

const DOC_COMPREHENSIVE: &str = include_str!("../fixtures/docs/api-reference--complete-v2-example.yaml");
const DOC_AFFINITY: &str = include_str!("../fixtures/docs/advanced-topics--node-affinity-v2.yaml");
const DOC_TOLERATION: &str = include_str!("../fixtures/docs/advanced-topics--toleration-options-v2-example.yaml");
const DOC_RESOURCES: &str = include_str!("../fixtures/docs/advanced-topics--per-cr-resource-configuration.yaml");
const DOC_NO_CPU_LIMIT: &str = include_str!("../fixtures/docs/advanced-topics--disabling-cpu-limits-per-cr.yaml");
const DOC_PRIVATE_REGISTRY: &str = include_str!("../fixtures/docs/advanced-topics--private-image-registry-v2.yaml");
const DOC_PULL_POLICY: &str = include_str!("../fixtures/docs/advanced-topics--image-pull-policy-v2.yaml");
const DOC_OTEL: &str = include_str!("../fixtures/docs/advanced-topics--enabling-opentelemetry.yaml");
const DOC_SEPARATE_RESOURCES: &str =
    include_str!("../fixtures/docs/advanced-topics--independent-resource-configuration.yaml");
/// Refused as a whole by [`v1_documents_are_refused_with_directions_to_v2`].
const API_REFERENCE_V1_EXAMPLE: &str = include_str!("../fixtures/docs/api-reference--v1-example.yaml");

#[test]
fn documented_v2_examples_are_valid() {
    for example in [
        DOC_COMPREHENSIVE,
        DOC_AFFINITY,
        DOC_TOLERATION,
        DOC_RESOURCES,
        DOC_NO_CPU_LIMIT,
        DOC_PULL_POLICY,
        DOC_SEPARATE_RESOURCES,
    ] {
        assert_valid(example);
    }
    let comprehensive = parse(DOC_COMPREHENSIVE);
    assert_eq!(comprehensive.spec.worker.replicas, 10);
    assert_eq!(
        comprehensive
            .spec
            .otel()
            .and_then(|otel| otel.extra_env_vars.as_ref())
            .map(|vars| vars.len()),
        Some(2)
    );
}

/// The backticked right form from an error message.
fn right_form(error: &FieldError) -> String {
    let message = error.to_string();
    let start = message.find("write `").expect("message shows the right form") + "write `".len();
    let len = message[start..].find('`').expect("closing backtick");
    message[start..start + len].to_string()
}

#[test]
fn documented_pull_secrets_as_strings_fail_and_the_shown_form_is_accepted() {
    let error = parse_rejected(
        DOC_PRIVATE_REGISTRY,
        "spec.imagePullSecrets",
        &["locust.io/v2", "object"],
    );
    let form = right_form(&error);
    assert_eq!(form, "- name: gcr-secret");
    assert_valid(&DOC_PRIVATE_REGISTRY.replace("- gcr-secret", &form));
}

#[test]
fn documented_extra_env_vars_as_a_list_fail_and_the_shown_form_is_accepted() {
    let error = parse_rejected(
        DOC_OTEL,
        "spec.observability.openTelemetry.extraEnvVars",
        &["map of NAME: value"],
    );
    let form = right_form(&error);
    let list_start = DOC_OTEL.find("      extraEnvVars:").expect("example has extraEnvVars");
    let fixed = format!("{}      {form}\n", &DOC_OTEL[..list_start]);
    let test = validated(&fixed);
    let vars = test
        .spec
        .otel()
        .and_then(|otel| otel.extra_env_vars.clone())
        .expect("extra env vars");
    assert_eq!(vars.get("OTEL_SERVICE_NAME").map(String::as_str), Some("my-load-test"));
    assert_eq!(
        vars.get("OTEL_RESOURCE_ATTRIBUTES").map(String::as_str),
        Some("environment=staging,team=platform")
    );
}

// ---------------------------------------------------------------------------------------------
// spec.thresholds

fn with_thresholds(thresholds: &str) -> String {
    test_yaml("my-test", &format!("  thresholds:\n{thresholds}"))
}

#[test]
fn thresholds_over_all_requests_and_per_endpoint_are_accepted() {
    assert_valid(&with_thresholds(
        "    maxFailRatio: 0.01\n    maxP95ResponseTimeMs: 500\n    maxMedianResponseTimeMs: 120.5\n    minRps: 50\n    endpoints:\n      - name: /checkout\n        method: POST\n        maxP95ResponseTimeMs: 800\n      - name: /search\n        maxFailRatio: 0\n",
    ));
    assert_valid(&with_thresholds(
        "    endpoints:\n      - name: /cart\n        minRps: 1\n",
    ));
}

#[test]
fn thresholds_without_any_limit_are_rejected_saying_what_to_set() {
    rejected(
        &with_thresholds("    endpoints: []\n"),
        "spec.thresholds",
        &["set at least one limit", "maxP95ResponseTimeMs", "or remove thresholds"],
    );
    rejected(
        &with_thresholds("    endpoints:\n      - name: /checkout\n        method: GET\n"),
        "spec.thresholds.endpoints[0]",
        &["each entry needs at least one limit"],
    );
}

#[test]
fn threshold_bounds_are_checked() {
    rejected(
        &with_thresholds("    maxFailRatio: 1.5\n"),
        "spec.thresholds.maxFailRatio",
        &["1"],
    );
    rejected(&with_thresholds("    minRps: -1\n"), "spec.thresholds.minRps", &["0"]);
    rejected(
        &with_thresholds("    endpoints:\n      - name: \"\"\n        minRps: 1\n"),
        "spec.thresholds.endpoints[0].name",
        &[],
    );
    let many: String = (0..65)
        .map(|i| format!("      - name: /e{i}\n        minRps: 1\n"))
        .collect();
    rejected(
        &with_thresholds(&format!("    endpoints:\n{many}")),
        "spec.thresholds.endpoints",
        &["64"],
    );
}
