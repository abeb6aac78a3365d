//! The generated CRD: committed file up to date, a structural schema the API server accepts, CEL
//! rules within the cost budget, and the versions, names, columns and defaults users rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, CustomResourceDefinitionVersion,
};
use regex::Regex;
use serde_json::{Value, json};
use shared::crd::{CRD_PATH, QUANTITY_PATTERN, locusttest_crd, locusttest_crd_yaml};

fn crd() -> CustomResourceDefinition {
    locusttest_crd()
}

fn version<'a>(crd: &'a CustomResourceDefinition, name: &str) -> &'a CustomResourceDefinitionVersion {
    crd.spec
        .versions
        .iter()
        .find(|v| v.name == name)
        .unwrap_or_else(|| panic!("CRD has no version {name}"))
}

fn schema_of(crd: &CustomResourceDefinition, name: &str) -> Value {
    let schema = version(crd, name)
        .schema
        .as_ref()
        .and_then(|s| s.open_api_v3_schema.as_ref())
        .unwrap_or_else(|| panic!("{name} has no openAPIV3Schema"));
    serde_json::to_value(schema).unwrap()
}

/// Every schema node with its path (`spec.volumes[].name`, `spec.master.labels{}`), root first.
fn nodes(schema: &Value) -> Vec<(String, &Value)> {
    fn walk<'a>(node: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
        out.push((path.clone(), node));
        let join = |child: &str| {
            if path.is_empty() {
                child.to_string()
            } else {
                format!("{path}.{child}")
            }
        };
        if let Some(properties) = node.get("properties").and_then(Value::as_object) {
            for (name, child) in properties {
                walk(child, join(name), out);
            }
        }
        if let Some(items) = node.get("items") {
            walk(items, format!("{path}[]"), out);
        }
        if let Some(additional) = node.get("additionalProperties").filter(|a| a.is_object()) {
            walk(additional, format!("{path}{{}}"), out);
        }
    }
    let mut out = Vec::new();
    walk(schema, String::new(), &mut out);
    out
}

fn at<'a>(schema: &'a Value, path: &str) -> &'a Value {
    nodes(schema)
        .into_iter()
        .find(|(p, _)| p == path)
        .map(|(_, node)| node)
        .unwrap_or_else(|| panic!("schema has no node {path}"))
}

// ---------------------------------------------------------------------------------------------
// (a) the committed file

#[test]
fn committed_crd_matches_the_types() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..").join(CRD_PATH);
    let committed = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    assert!(
        committed == locusttest_crd_yaml(),
        "CRD is stale: run `cargo run -p locust-shared --bin crdgen` ({} differs from the types)",
        path.display()
    );
}

#[test]
fn crd_yaml_reads_back_as_the_same_crd() {
    let parsed: CustomResourceDefinition = serde_yaml::from_str(&locusttest_crd_yaml()).unwrap();
    assert_eq!(parsed, crd());
}

// ---------------------------------------------------------------------------------------------
// (b) structural schema

#[test]
fn schemas_are_structural() {
    let crd = crd();
    let mut problems = Vec::new();
    let mut int_or_string = 0;
    for name in ["v1", "v2"] {
        let schema = schema_of(&crd, name);
        for (path, node) in nodes(&schema) {
            let at = format!("{name}: {}", if path.is_empty() { "<root>" } else { &path });
            let is_int_or_string = node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
            int_or_string += usize::from(is_int_or_string);
            if node.get("type").and_then(Value::as_str).is_none() && !is_int_or_string {
                problems.push(format!("{at}: no type"));
            }
            if node.get("x-kubernetes-preserve-unknown-fields").is_some() {
                problems.push(format!("{at}: x-kubernetes-preserve-unknown-fields"));
            }
            for keyword in ["oneOf", "allOf", "not", "$ref", "definitions", "$defs"] {
                if node.get(keyword).is_some() {
                    problems.push(format!("{at}: uses {keyword}"));
                }
            }
            if let Some(any_of) = node.get("anyOf") {
                // The only anyOf allowed: int-or-string's own [integer, string].
                let expected = json!([{"type": "integer"}, {"type": "string"}]);
                if !is_int_or_string || any_of != &expected {
                    problems.push(format!("{at}: anyOf {any_of}"));
                }
            }
            if node.get("properties").is_some() && node.get("additionalProperties").is_some() {
                problems.push(format!("{at}: properties together with additionalProperties"));
            }
            match node.get("type").and_then(Value::as_str) {
                Some("array") if node.get("items").is_none() => problems.push(format!("{at}: array without items")),
                // An object with neither properties nor additionalProperties is pruned to {}.
                // managedFields' fieldsV1 (inside Volume's PVC template metadata) is Kubernetes'
                // own opaque field, never written in a template.
                Some("object")
                    if !path.is_empty()
                        && !path.ends_with("managedFields[].fieldsV1")
                        && node.get("properties").is_none()
                        && node.get("additionalProperties").is_none() =>
                {
                    problems.push(format!("{at}: object without properties or additionalProperties"))
                }
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "not structural:\n{}", problems.join("\n"));
    assert!(int_or_string > 0, "Quantity fields render as int-or-string");
}

/// Every int-or-string node of a schema by path, with whether it is declared a quantity: the
/// API server's quantity pattern next to `anyOf: [integer, string]`, as controller-gen writes it.
fn int_or_string_nodes(schema: &Value) -> BTreeMap<String, bool> {
    nodes(schema)
        .into_iter()
        .filter(|(_, node)| node.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true)))
        .map(|(path, node)| {
            let pattern = node.get("pattern").and_then(Value::as_str);
            let any_of = node.get("anyOf");
            let quantity = pattern == Some(QUANTITY_PATTERN);
            assert_eq!(
                quantity,
                any_of == Some(&json!([{"type": "integer"}, {"type": "string"}])),
                "{path}: pattern {pattern:?} with anyOf {any_of:?}"
            );
            (path, quantity)
        })
        .collect()
}

#[test]
fn every_quantity_and_nothing_else_carries_the_api_servers_quantity_pattern() {
    let crd = crd();
    // Every Quantity the embedded core types hold; the CRD has no other int-or-string field.
    let quantities = [
        "spec.master.resources.limits{}",
        "spec.master.resources.requests{}",
        "spec.worker.resources.limits{}",
        "spec.worker.resources.requests{}",
        "spec.env.variables[].valueFrom.resourceFieldRef.divisor",
        "spec.volumes[].emptyDir.sizeLimit",
        "spec.volumes[].downwardAPI.items[].resourceFieldRef.divisor",
        "spec.volumes[].projected.sources[].downwardAPI.items[].resourceFieldRef.divisor",
        "spec.volumes[].ephemeral.volumeClaimTemplate.spec.resources.limits{}",
        "spec.volumes[].ephemeral.volumeClaimTemplate.spec.resources.requests{}",
    ];
    let expected: BTreeMap<String, bool> = quantities.iter().map(|path| (path.to_string(), true)).collect();
    assert_eq!(int_or_string_nodes(&schema_of(&crd, "v2")), expected);
    assert_eq!(int_or_string_nodes(&schema_of(&crd, "v1")), BTreeMap::new());
    // Nothing but an int-or-string quantity carries the quantity pattern.
    for name in ["v1", "v2"] {
        for (path, node) in nodes(&schema_of(&crd, name)) {
            if node.get("pattern") == Some(&json!(QUANTITY_PATTERN)) {
                assert!(quantities.contains(&path.as_str()), "{name} {path}");
            }
        }
    }
}

/// A resource holding quantities next to int-or-string fields that are not quantities.
mod sample {
    use std::collections::BTreeMap;

    use k8s_openapi::api::apps::v1::RollingUpdateDeployment;
    use k8s_openapi::api::core::v1::{Probe, ResourceRequirements};
    use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
    use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
    use kube::CustomResource;
    use schemars::JsonSchema;
    use serde::{Deserialize, Serialize};

    #[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
    #[kube(group = "example.com", version = "v1", kind = "Sample", namespaced)]
    #[serde(rename_all = "camelCase")]
    pub struct SampleSpec {
        pub size: Quantity,
        /// Documented: this description replaces Quantity's own.
        pub limit: Option<Quantity>,
        pub sizes: BTreeMap<String, Quantity>,
        pub steps: Vec<Quantity>,
        pub resources: Option<ResourceRequirements>,
        /// Documented, like `limit`.
        pub port: IntOrString,
        pub probe: Option<Probe>,
        pub rollout: Option<RollingUpdateDeployment>,
    }
}

#[test]
fn quantities_are_told_from_other_int_or_string_fields_by_type() {
    let crd = shared::crd::crd_with_quantity_patterns::<sample::Sample>();
    let expected: BTreeMap<String, bool> = [
        ("spec.size", true),
        ("spec.limit", true),
        ("spec.sizes{}", true),
        ("spec.steps[]", true),
        ("spec.resources.limits{}", true),
        ("spec.resources.requests{}", true),
        ("spec.port", false),
        ("spec.probe.httpGet.port", false),
        ("spec.probe.tcpSocket.port", false),
        ("spec.rollout.maxSurge", false),
        ("spec.rollout.maxUnavailable", false),
    ]
    .into_iter()
    .map(|(path, quantity)| (path.to_string(), quantity))
    .collect();
    assert_eq!(int_or_string_nodes(&schema_of(&crd, "v1")), expected);
}

/// Every `default` in a schema, by path.
fn defaults(schema: &Value) -> BTreeMap<String, Value> {
    nodes(schema)
        .into_iter()
        .filter_map(|(path, node)| node.get("default").map(|d| (path, d.clone())))
        .collect()
}

#[test]
fn defaults_are_exactly_the_documented_ones() {
    let crd = crd();
    let v2 = defaults(&schema_of(&crd, "v2"));
    let expected: BTreeMap<String, Value> = [
        ("spec.imagePullPolicy", json!("IfNotPresent")),
        ("spec.master.autostart", json!(true)),
        ("spec.master.autoquit", json!({"enabled": true, "timeout": 60})),
        ("spec.master.autoquit.enabled", json!(true)),
        ("spec.master.autoquit.timeout", json!(60)),
        ("spec.testFiles.srcMountPath", json!("/lotest/src")),
        ("spec.testFiles.libMountPath", json!("/opt/locust/lib")),
        ("spec.env.secretMounts[].readOnly", json!(true)),
        ("spec.volumeMounts[].target", json!("both")),
        ("spec.observability.openTelemetry.enabled", json!(false)),
        ("spec.observability.openTelemetry.insecure", json!(false)),
        ("spec.observability.openTelemetry.protocol", json!("grpc")),
    ]
    .into_iter()
    .map(|(path, value)| (path.to_string(), value))
    .collect();
    assert_eq!(v2, expected);
    // v1 keeps only its replica default; nothing inside embedded Kubernetes types is defaulted.
    let v1 = defaults(&schema_of(&crd, "v1"));
    assert_eq!(v1, BTreeMap::from([("spec.workerReplicas".to_string(), json!(1))]));
}

#[test]
fn every_schema_pattern_compiles_for_client_side_validation() {
    let crd = crd();
    let mut patterns = 0;
    for name in ["v1", "v2"] {
        let schema = schema_of(&crd, name);
        for (path, node) in nodes(&schema) {
            if let Some(pattern) = node.get("pattern").and_then(Value::as_str) {
                patterns += 1;
                assert!(
                    Regex::new(pattern).is_ok(),
                    "{name} {path}: pattern {pattern} does not compile"
                );
            }
        }
    }
    assert!(patterns > 0, "runtimeClassName carries a pattern");
}

// ---------------------------------------------------------------------------------------------
// (c) CEL cost-budget hygiene

struct CelRule {
    /// Path of the schema node carrying the rule.
    node_path: String,
    rule: String,
    message_expression: Option<String>,
}

fn cel_rules(schema: &Value) -> Vec<CelRule> {
    let mut rules = Vec::new();
    for (path, node) in nodes(schema) {
        for rule in node
            .get("x-kubernetes-validations")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            rules.push(CelRule {
                node_path: path.clone(),
                rule: rule["rule"].as_str().unwrap().to_string(),
                message_expression: rule
                    .get("messageExpression")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            });
        }
    }
    rules
}

/// The schema node that `self.a.b` names, relative to the node at `base`.
fn resolve<'a>(schema: &'a Value, base: &str, fields: &str) -> Option<(String, &'a Value)> {
    let mut path = base.to_string();
    let mut node = at(schema, base);
    for field in fields.split('.').filter(|f| !f.is_empty()) {
        node = node.get("properties")?.get(field)?;
        path = if path.is_empty() {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
    }
    Some((path, node))
}

#[test]
fn cel_rules_stay_within_the_api_server_cost_budget() {
    let crd = crd();
    let schema = schema_of(&crd, "v2");
    let rules = cel_rules(&schema);
    assert!(rules.len() >= 7, "expected the LocustTest rules, found {}", rules.len());
    let walk =
        Regex::new(r"(self(?:\.[A-Za-z_]\w*)*)\.(?:all|exists|exists_one|map|filter)\(\s*([A-Za-z_]\w*)\s*,").unwrap();
    let two_variable = Regex::new(
        r"\.(?:all|exists|existsOne|exists_one|map|filter|transform\w*)\(\s*[A-Za-z_]\w*\s*,\s*[A-Za-z_]\w*\s*,",
    )
    .unwrap();
    let mut walked = BTreeSet::new();
    let mut read_strings = BTreeSet::new();
    let mut problems = Vec::new();
    for rule in &rules {
        let text = &rule.rule;
        let at = if rule.node_path.is_empty() {
            "<root>"
        } else {
            &rule.node_path
        };
        if text.contains("cel.bind") {
            problems.push(format!(
                "{at}: cel.bind does not exist in the API server's CRD environment: {text}"
            ));
        }
        if two_variable.is_match(text) {
            problems.push(format!(
                "{at}: two-variable comprehension (kube-cel cannot evaluate it): {text}"
            ));
        }
        if rule.node_path.is_empty() && text.len() >= 400 {
            problems.push(format!(
                "{at}: root rule of {} characters; root rules see the unbounded metadata",
                text.len()
            ));
        }
        if let Some(expression) = &rule.message_expression {
            for costly in [".map(", ".filter(", ".join("] {
                if expression.contains(costly) {
                    problems.push(format!("{at}: messageExpression uses {costly}: {expression}"));
                }
            }
        }
        for walk in walk.captures_iter(text) {
            let fields = walk[1].trim_start_matches("self");
            let variable = &walk[2];
            if fields.starts_with(".metadata") {
                continue;
            }
            let Some((path, array)) = resolve(&schema, &rule.node_path, fields) else {
                problems.push(format!("{at}: cannot resolve self{fields} in the schema"));
                continue;
            };
            walked.insert(path.clone());
            match array.get("maxItems").and_then(Value::as_u64) {
                Some(max) if max <= 256 => {}
                other => problems.push(format!("{path}: walked by a rule, maxItems {other:?} (must be <= 256)")),
            }
            // Strings the comprehension reads from each item need a maxLength.
            let item = &array["items"];
            let field_of_item = Regex::new(&format!(r"\b{variable}\.([A-Za-z_]\w*)")).unwrap();
            for access in field_of_item.captures_iter(text) {
                let field = &access[1];
                let Some(property) = item.get("properties").and_then(|p| p.get(field)) else {
                    continue;
                };
                if property.get("type") != Some(&json!("string")) {
                    continue;
                }
                read_strings.insert(format!("{path}[].{field}"));
                if property.get("maxLength").is_none() {
                    problems.push(format!("{path}[].{field}: compared by a rule without maxLength"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "CEL cost problems:\n{}", problems.join("\n"));
    let expected: BTreeSet<String> = ["spec.env.secretMounts", "spec.volumeMounts", "spec.volumes"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(walked, expected, "arrays walked by rules");
    let expected: BTreeSet<String> = [
        "spec.env.secretMounts[].mountPath",
        "spec.volumeMounts[].mountPath",
        "spec.volumeMounts[].name",
        "spec.volumes[].name",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(read_strings, expected, "item strings read by rules");
}

#[test]
fn arrays_and_strings_the_rules_read_are_bounded() {
    let schema = schema_of(&crd(), "v2");
    for array in ["spec.volumes", "spec.volumeMounts", "spec.env.secretMounts"] {
        assert_eq!(at(&schema, array)["maxItems"], json!(64), "{array}");
    }
    let bounded = [
        ("spec.volumeMounts[].mountPath", 4096),
        ("spec.env.secretMounts[].mountPath", 4096),
        ("spec.testFiles.srcMountPath", 4096),
        ("spec.testFiles.libMountPath", 4096),
        ("spec.volumeMounts[].name", 63),
        ("spec.volumes[].name", 63),
    ];
    for (path, limit) in bounded {
        let max = at(&schema, path)["maxLength"]
            .as_u64()
            .unwrap_or_else(|| panic!("{path} has no maxLength"));
        assert!(max <= limit, "{path}: maxLength {max} > {limit}");
    }
}

// ---------------------------------------------------------------------------------------------
// (d) versions, names, columns, status

#[test]
fn v2_is_stored_and_v1_is_served_deprecated() {
    let crd = crd();
    assert_eq!(crd.metadata.name.as_deref(), Some("locusttests.locust.io"));
    assert_eq!(crd.spec.group, "locust.io");
    assert_eq!(crd.spec.scope, "Namespaced");
    assert_eq!(crd.spec.names.kind, "LocustTest");
    assert_eq!(crd.spec.names.plural, "locusttests");
    assert_eq!(crd.spec.names.short_names, Some(vec!["lotest".to_string()]));
    let names: BTreeSet<&str> = crd.spec.versions.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, BTreeSet::from(["v1", "v2"]));

    let v2 = version(&crd, "v2");
    assert!(v2.served && v2.storage);
    assert_ne!(v2.deprecated, Some(true));
    let v1 = version(&crd, "v1");
    assert!(v1.served && !v1.storage);
    assert_eq!(v1.deprecated, Some(true));
    assert_eq!(
        v1.deprecation_warning.as_deref(),
        Some("locust.io/v1 LocustTest is deprecated, migrate to locust.io/v2")
    );
    assert_eq!(
        v1.deprecation_warning.as_deref(),
        Some(shared::constants::V1_DEPRECATION_WARNING)
    );
    for version in [v1, v2] {
        let status = version.subresources.as_ref().and_then(|s| s.status.as_ref());
        assert!(status.is_some(), "{} has the status subresource", version.name);
    }
}

#[test]
fn v2_printer_columns() {
    let crd = crd();
    let columns: Vec<(String, String, String, i32)> = version(&crd, "v2")
        .additional_printer_columns
        .iter()
        .flatten()
        .map(|c| {
            (
                c.name.clone(),
                c.type_.clone(),
                c.json_path.clone(),
                c.priority.unwrap_or(0),
            )
        })
        .collect();
    let expected = [
        ("Phase", "string", ".status.phase", 0),
        ("Workers", "integer", ".spec.worker.replicas", 0),
        ("Connected", "integer", ".status.connectedWorkers", 0),
        ("Image", "string", ".spec.image", 1),
        ("RPS", "number", ".status.stats.currentRps", 1),
        ("Fail%", "number", ".status.stats.failPercent", 1),
        ("Age", "date", ".metadata.creationTimestamp", 0),
    ]
    .map(|(n, t, p, priority)| (n.to_string(), t.to_string(), p.to_string(), priority));
    assert_eq!(columns, expected);
}

#[test]
fn conditions_are_a_list_map_keyed_by_type() {
    let crd = crd();
    for name in ["v1", "v2"] {
        let schema = schema_of(&crd, name);
        let conditions = at(&schema, "status.conditions");
        assert_eq!(conditions["x-kubernetes-list-type"], json!("map"), "{name}");
        assert_eq!(conditions["x-kubernetes-list-map-keys"], json!(["type"]), "{name}");
        let required = at(&schema, "status.conditions[]")["required"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            required.contains(&json!("type")),
            "{name}: a list-map key must be required"
        );
    }
}

#[test]
fn enums_are_declared_in_the_schema() {
    let schema = schema_of(&crd(), "v2");
    let enum_at = |path: &str| at(&schema, path)["enum"].clone();
    assert_eq!(
        enum_at("spec.imagePullPolicy"),
        json!(["Always", "IfNotPresent", "Never"])
    );
    assert_eq!(
        enum_at("spec.volumeMounts[].target"),
        json!(["master", "worker", "both"])
    );
    assert_eq!(
        enum_at("spec.observability.openTelemetry.protocol"),
        json!(["grpc", "http/protobuf"])
    );
}
