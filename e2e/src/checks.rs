//! Pure decisions of the suite: the tests it creates, what the API server must refuse, what the
//! operator's children must contain, and how to read a LocustTest's status. No cluster here, so
//! all of it is unit-tested in CI.

use std::time::Duration;

use anyhow::{Context as _, Result};
use serde_json::{Value, json};
use shared::api::v2;
use shared::build;
use shared::config::OperatorConfig;
use shared::crd::QUANTITY_PATTERN;

/// The locustfile of the suite's tests (and of the README's quickstart): one user that keeps
/// fetching `/` of the target.
pub const LOCUSTFILE: &str = include_str!("../../examples/quickstart/locustfile.py");

/// Name of the ConfigMap the suite's tests read their locustfile from.
pub const SCRIPTS_CONFIGMAP: &str = "e2e-scripts";

/// A label key no node carries, so a test with it as node selector stays unschedulable.
pub const NOWHERE_LABEL: &str = "locust.io/e2e-no-such-node";

/// What kind of Locust run a suite test is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Fetches the master's own web UI: every request succeeds, the master exits 0.
    OwnMaster,
    /// Fetches a closed port on the pod itself: every request fails, the master exits 1.
    ClosedPort,
}

/// A LocustTest the suite creates.
#[derive(Debug, Clone)]
pub struct TestPlan {
    pub name: String,
    pub image: String,
    pub target: Target,
    /// `--run-time`, e.g. `10s`; long (`10m`) for tests that must stay Running.
    pub run_time: String,
    pub workers: i32,
    pub autoquit: i32,
    /// Read the locustfile from [`SCRIPTS_CONFIGMAP`] (or from this ConfigMap, which may not exist).
    pub config_map: String,
    /// Select a node label no node has, so the pods are never scheduled.
    pub unschedulable: bool,
    /// Tolerate every taint (simulated nodes are often tainted).
    pub tolerate_taints: bool,
    /// `spec.thresholds`, if any.
    pub thresholds: Option<Value>,
}

impl TestPlan {
    pub fn new(name: &str, image: &str, autoquit: i32, tolerate_taints: bool) -> Self {
        Self {
            name: name.to_string(),
            image: image.to_string(),
            target: Target::OwnMaster,
            run_time: "10s".to_string(),
            workers: 2,
            autoquit,
            config_map: SCRIPTS_CONFIGMAP.to_string(),
            unschedulable: false,
            tolerate_taints,
            thresholds: None,
        }
    }

    /// The `--host` of the master's command.
    pub fn host(&self) -> String {
        match self.target {
            Target::OwnMaster => format!("http://{}:8089", shared::naming::master_name(&self.name)),
            Target::ClosedPort => "http://127.0.0.1:1".to_string(),
        }
    }

    /// The LocustTest as JSON (v2).
    pub fn manifest(&self) -> Value {
        let mut scheduling = serde_json::Map::new();
        if self.unschedulable {
            scheduling.insert("nodeSelector".into(), json!({ NOWHERE_LABEL: "true" }));
        }
        if self.tolerate_taints {
            scheduling.insert("tolerations".into(), json!([{"operator": "Exists"}]));
        }
        let mut spec = json!({
            "image": self.image,
            "master": {
                "command": format!(
                    "--locustfile /lotest/src/locustfile.py --host {} --users 4 --spawn-rate 4 --run-time {}",
                    self.host(),
                    self.run_time
                ),
                "autoquit": {"enabled": true, "timeout": self.autoquit},
            },
            "worker": {"command": "--locustfile /lotest/src/locustfile.py", "replicas": self.workers},
            "testFiles": {"configMapRef": self.config_map},
        });
        if !scheduling.is_empty() {
            spec["scheduling"] = Value::Object(scheduling);
        }
        if let Some(thresholds) = &self.thresholds {
            spec["thresholds"] = thresholds.clone();
        }
        json!({
            "apiVersion": "locust.io/v2",
            "kind": "LocustTest",
            "metadata": {"name": self.name},
            "spec": spec,
        })
    }
}

/// The ConfigMap holding [`LOCUSTFILE`].
pub fn scripts_config_map() -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": SCRIPTS_CONFIGMAP},
        "data": {"locustfile.py": LOCUSTFILE},
    })
}

/// One condition of a LocustTest's status.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Condition {
    pub status: String,
    pub reason: String,
    pub message: String,
}

/// `status.conditions[type]`.
pub fn condition(test: &Value, kind: &str) -> Option<Condition> {
    let text = |entry: &Value, key: &str| entry.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
    test.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|entry| entry.get("type").and_then(Value::as_str) == Some(kind))
        .map(|entry| Condition {
            status: text(entry, "status"),
            reason: text(entry, "reason"),
            message: text(entry, "message"),
        })
}

/// `status.phase`, or `-` before the operator wrote one.
pub fn phase(test: &Value) -> &str {
    test.pointer("/status/phase").and_then(Value::as_str).unwrap_or("-")
}

/// One line on a test's status, for progress and timeout messages.
pub fn describe_status(test: &Value) -> String {
    let mut line = format!("phase {}", phase(test));
    if let Some(conditions) = test.pointer("/status/conditions").and_then(Value::as_array) {
        for entry in conditions {
            let get = |key: &str| entry.get(key).and_then(Value::as_str).unwrap_or("?");
            line.push_str(&format!(", {}={}/{}", get("type"), get("status"), get("reason")));
        }
    }
    line
}

/// A Kubernetes quantity as a number (`500m` → 0.5, `1Gi` → 1073741824), for comparing what the
/// API server canonicalized (`1000m` comes back as `1`).
pub fn quantity(text: &str) -> Option<f64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let number: f64 = number.parse().ok()?;
    let factor = match suffix {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024.0_f64.powi(2),
        "Gi" => 1024.0_f64.powi(3),
        "Ti" => 1024.0_f64.powi(4),
        _ => return None,
    };
    Some(number * factor)
}

/// Whether the API server leaves `value` out of what it returns: Go's `omitempty` drops null, empty
/// lists and maps, and every zero value (`false`, `0`, `""`), so `readOnly: false` comes back missing.
fn server_omits(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(flag) => !flag,
        Value::Number(number) => number.as_f64() == Some(0.0),
        Value::String(text) => text.is_empty(),
        Value::Array(items) => items.is_empty(),
        Value::Object(map) => map.is_empty(),
    }
}

/// Where `expected` is not contained in `actual`: every field of `expected` must be in `actual`
/// with the same value (the API server may add defaults, so extra fields in `actual` are fine);
/// lists must match item by item; a field the server omits when it holds its zero value (empty
/// list or map, `false`, `0`, `""`) matches an absent field; quantities under `resources` compare
/// by value.
pub fn not_contained(expected: &Value, actual: &Value, path: &str) -> Vec<String> {
    match (expected, actual) {
        (Value::Object(want), Value::Object(have)) => want
            .iter()
            .flat_map(|(key, value)| {
                let here = format!("{path}.{key}");
                match have.get(key) {
                    Some(found) => not_contained(value, found, &here),
                    None if server_omits(value) => Vec::new(),
                    None => vec![format!("{here}: missing (expected {value})")],
                }
            })
            .collect(),
        (Value::Array(want), Value::Array(have)) if want.len() == have.len() => want
            .iter()
            .zip(have)
            .enumerate()
            .flat_map(|(index, (value, found))| not_contained(value, found, &format!("{path}[{index}]")))
            .collect(),
        (Value::Array(want), Value::Array(have)) => {
            vec![format!("{path}: {} items, expected {}", have.len(), want.len())]
        }
        (want, Value::Null) if server_omits(want) => Vec::new(),
        (Value::String(want), Value::String(have)) if path.contains(".resources.") => {
            match (quantity(want), quantity(have)) {
                (Some(a), Some(b)) if (a - b).abs() <= f64::EPSILON * a.abs().max(1.0) => Vec::new(),
                _ => vec![format!("{path}: {have:?}, expected {want:?}")],
            }
        }
        (want, have) if want == have => Vec::new(),
        (want, have) => vec![format!("{path}: {have}, expected {want}")],
    }
}

/// The Service and Jobs the operator must create for `test` (as the API server returned it, with
/// its uid and defaults), as JSON.
pub struct ExpectedChildren {
    pub service: Value,
    pub master_job: Value,
    pub worker_job: Value,
}

pub fn expected_children(test: &Value, config: &OperatorConfig) -> Result<ExpectedChildren> {
    let typed: v2::LocustTest = serde_json::from_value(test.clone())
        .context("the LocustTest the API server returned is not a v2 LocustTest")?;
    let children = build::children(&typed, config).context("building the expected children")?;
    Ok(ExpectedChildren {
        service: serde_json::to_value(children.service)?,
        master_job: serde_json::to_value(children.master_job)?,
        worker_job: serde_json::to_value(children.worker_job)?,
    })
}

/// What of a child differs from what the builder makes: its labels, owner and spec (the API server
/// adds a selector and defaults, which are allowed).
pub fn child_mismatches(expected: &Value, actual: &Value) -> Vec<String> {
    let mut problems = not_contained(
        &expected["metadata"]["labels"],
        &actual["metadata"]["labels"],
        "metadata.labels",
    );
    problems.extend(not_contained(
        &expected["metadata"]["ownerReferences"],
        &actual["metadata"]["ownerReferences"],
        "metadata.ownerReferences",
    ));
    let mut spec = expected["spec"].clone();
    if let Some(map) = spec.as_object_mut() {
        // Generated by the API server for Jobs; the Service selector is ours and stays compared.
        if actual.get("kind").and_then(Value::as_str) == Some("Job") {
            map.remove("selector");
        }
    }
    problems.extend(not_contained(&spec, &actual["spec"], "spec"));
    problems
}

/// An object the API server must refuse, and what its answer must contain.
#[derive(Debug, Clone)]
pub struct InvalidCase {
    pub about: &'static str,
    pub object: Value,
    /// Every one of these must appear in the API server's message (field path and the CRD's text).
    pub expect: &'static [&'static str],
}

fn valid_base(name: &str) -> Value {
    json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": {"name": name},
        "spec": {
            "image": "locustio/locust:2.20.0",
            "master": {"command": "--locustfile /lotest/src/test.py --host https://example.com"},
            "worker": {"command": "--locustfile /lotest/src/test.py", "replicas": 2},
        }
    })
}

/// A valid test to change into an invalid one.
pub fn valid_test(name: &str) -> Value {
    valid_base(name)
}

fn with(name: &str, change: impl FnOnce(&mut Value)) -> Value {
    let mut object = valid_base(name);
    change(&mut object);
    object
}

/// Each rule of the CRD (schema bounds, enums, CEL rules) broken once. The expected texts are the
/// field and the CRD's own message, as a 1.36 API server reported them.
pub fn invalid_cases() -> Vec<InvalidCase> {
    vec![
        InvalidCase {
            about: "a name of 57 characters (generated Job names would exceed 63)",
            object: with(&"n".repeat(57), |_| {}),
            expect: &["metadata.name is too long", "max CR name length is 56"],
        },
        InvalidCase {
            about: "0 worker replicas",
            object: with("zero-workers", |o| o["spec"]["worker"]["replicas"] = json!(0)),
            expect: &["spec.worker.replicas", "greater than or equal to 1"],
        },
        InvalidCase {
            about: "501 worker replicas",
            object: with("too-many-workers", |o| o["spec"]["worker"]["replicas"] = json!(501)),
            expect: &["spec.worker.replicas", "less than or equal to 500"],
        },
        InvalidCase {
            about: "an unknown imagePullPolicy",
            object: with("bad-pull-policy", |o| o["spec"]["imagePullPolicy"] = json!("Sometimes")),
            expect: &["spec.imagePullPolicy", "Unsupported value", "\"IfNotPresent\""],
        },
        InvalidCase {
            about: "a negative autoquit timeout",
            object: with("negative-autoquit", |o| {
                o["spec"]["master"]["autoquit"] = json!({"enabled": true, "timeout": -1});
            }),
            expect: &["spec.master.autoquit.timeout", "greater than or equal to 0"],
        },
        InvalidCase {
            about: "OpenTelemetry enabled without an endpoint",
            object: with("otel-no-endpoint", |o| {
                o["spec"]["observability"] = json!({"openTelemetry": {"enabled": true}});
            }),
            expect: &[
                "spec.observability.openTelemetry",
                "endpoint is required when OpenTelemetry is enabled",
            ],
        },
        InvalidCase {
            about: "a volume with the reserved prefix secret-",
            object: with("reserved-volume", |o| {
                o["spec"]["volumes"] = json!([{"name": "secret-data", "emptyDir": {}}]);
            }),
            expect: &["spec.volumes", "reserved for the operator's own volumes"],
        },
        InvalidCase {
            about: "a volume mount on the test-files path",
            object: with("mount-on-src", |o| {
                o["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
                o["spec"]["volumeMounts"] = json!([{"name": "data", "mountPath": "/lotest/src"}]);
            }),
            expect: &["spec.volumeMounts", "conflicts with a reserved test-files path"],
        },
        InvalidCase {
            about: "a volume mount of an undefined volume",
            object: with("mount-undefined", |o| {
                o["spec"]["volumeMounts"] = json!([{"name": "nowhere", "mountPath": "/data"}]);
            }),
            expect: &["spec.volumeMounts", "must reference a volume defined in spec.volumes"],
        },
        InvalidCase {
            about: "an unknown volume mount target",
            object: with("bad-target", |o| {
                o["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
                o["spec"]["volumeMounts"] = json!([{"name": "data", "mountPath": "/data", "target": "all"}]);
            }),
            expect: &["spec.volumeMounts[0].target", "Unsupported value", "\"both\""],
        },
        InvalidCase {
            about: "65 volumes",
            object: with("too-many-volumes", |o| {
                let volumes: Vec<Value> = (0..65)
                    .map(|i| json!({"name": format!("v{i}"), "emptyDir": {}}))
                    .collect();
                o["spec"]["volumes"] = Value::Array(volumes);
            }),
            expect: &["spec.volumes", "must have at most 64 items"],
        },
        InvalidCase {
            about: "a CPU limit as a bare number",
            object: with("cpu-number", |o| {
                o["spec"]["master"]["resources"] = json!({"limits": {"cpu": 0.5}});
            }),
            expect: &["spec.master.resources.limits.cpu", "integer,string"],
        },
        InvalidCase {
            about: "a CPU limit that is not a quantity",
            object: with("cpu-lots", |o| {
                o["spec"]["worker"]["resources"] = json!({"limits": {"cpu": "lots"}});
            }),
            expect: &[
                "spec.worker.resources.limits.cpu",
                "Invalid value: \"lots\"",
                "spec.worker.resources.limits.cpu in body should match",
                QUANTITY_PATTERN,
            ],
        },
        InvalidCase {
            about: "a memory request with a space and a decimal unit",
            object: with("memory-2-gb", |o| {
                o["spec"]["master"]["resources"] = json!({"requests": {"memory": "2 GB"}});
            }),
            expect: &[
                "spec.master.resources.requests.memory",
                "Invalid value: \"2 GB\"",
                "spec.master.resources.requests.memory in body should match",
                QUANTITY_PATTERN,
            ],
        },
        InvalidCase {
            about: "an emptyDir size limit in the wrong unit (a quantity inside an embedded core type)",
            object: with("size-limit-gb", |o| {
                o["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {"sizeLimit": "1Gb"}}]);
            }),
            expect: &[
                "spec.volumes[0].emptyDir.sizeLimit",
                "Invalid value: \"1Gb\"",
                "spec.volumes[0].emptyDir.sizeLimit in body should match",
                QUANTITY_PATTERN,
            ],
        },
        InvalidCase {
            about: "thresholds that set no limit",
            object: with("thresholds-empty", |o| {
                o["spec"]["thresholds"] = json!({"endpoints": []});
            }),
            expect: &["spec.thresholds", "set at least one limit"],
        },
        InvalidCase {
            about: "a fail ratio above 1",
            object: with("fail-ratio-1-5", |o| {
                o["spec"]["thresholds"] = json!({"maxFailRatio": 1.5});
            }),
            expect: &["spec.thresholds.maxFailRatio", "less than or equal to 1"],
        },
        InvalidCase {
            about: "imagePullSecrets as plain strings (the advanced topics' shape)",
            object: with("pull-secret-strings", |o| {
                o["spec"]["imagePullSecrets"] = json!(["registry"])
            }),
            expect: &["spec.imagePullSecrets[0]", "must be of type object"],
        },
        InvalidCase {
            about: "extraEnvVars as a list (the advanced topics' shape)",
            object: with("extra-env-list", |o| {
                o["spec"]["observability"] = json!({"openTelemetry": {
                    "enabled": true, "endpoint": "otel:4317",
                    "extraEnvVars": [{"name": "A", "value": "b"}]
                }});
            }),
            expect: &[
                "spec.observability.openTelemetry.extraEnvVars",
                "must be of type object",
            ],
        },
    ]
}

/// The namespace of one scenario: `lt-e2e-<scenario>-<suffix>`, cut to 63 characters.
pub fn namespace_name(scenario: &str, suffix: &str) -> String {
    let room = 63 - "lt-e2e-".len() - 1 - suffix.len();
    let cut: String = scenario.chars().take(room).collect();
    format!("lt-e2e-{}-{suffix}", cut.trim_end_matches('-'))
}

/// One access check of the operator's ServiceAccount: (verb, group, resource, subresource, allowed).
pub type AccessCheck = (&'static str, &'static str, &'static str, &'static str, bool);

/// What the chart's RBAC must allow (what the operator does) and refuse (everything it must not).
pub const OPERATOR_ACCESS: &[AccessCheck] = &[
    ("watch", "locust.io", "locusttests", "", true),
    ("patch", "locust.io", "locusttests", "status", true),
    ("create", "batch", "jobs", "", true),
    ("create", "", "services", "", true),
    ("list", "", "pods", "", true),
    ("create", "events.k8s.io", "events", "", true),
    ("get", "", "secrets", "", false),
    ("list", "", "secrets", "", false),
    ("get", "", "configmaps", "", false),
    ("delete", "batch", "jobs", "", false),
    ("delete", "locust.io", "locusttests", "", false),
    ("update", "locust.io", "locusttests", "", false),
    ("create", "", "pods", "", false),
    ("create", "", "pods", "exec", false),
    ("delete", "", "namespaces", "", false),
    ("create", "rbac.authorization.k8s.io", "clusterroles", "", false),
];

/// A duration as a kubectl/locust flag (`90s`).
pub fn seconds_flag(duration: Duration) -> String {
    format!("{}s", duration.as_secs().max(1))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use shared::validation::parse_and_validate;

    use super::*;

    #[test]
    fn suite_tests_are_valid_and_target_what_they_say() {
        let mut plan = TestPlan::new("passing", "locustio/locust:2.20.0", 2, true);
        let text = serde_json::to_string(&plan.manifest()).unwrap();
        parse_and_validate(&text).unwrap_or_else(|errors| panic!("{errors:?}"));
        let command = plan.manifest()["spec"]["master"]["command"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(command.contains("--host http://passing-master:8089"), "{command}");
        assert!(command.contains("--run-time 10s"), "{command}");
        assert_eq!(
            plan.manifest()["spec"]["scheduling"]["tolerations"][0]["operator"],
            "Exists"
        );

        plan.target = Target::ClosedPort;
        plan.unschedulable = true;
        plan.tolerate_taints = false;
        let manifest = plan.manifest();
        parse_and_validate(&serde_json::to_string(&manifest).unwrap()).unwrap_or_else(|errors| panic!("{errors:?}"));
        assert!(
            manifest["spec"]["master"]["command"]
                .as_str()
                .unwrap()
                .contains("http://127.0.0.1:1")
        );
        assert_eq!(manifest["spec"]["scheduling"]["nodeSelector"][NOWHERE_LABEL], "true");
        assert!(manifest["spec"]["scheduling"].get("tolerations").is_none());
    }

    #[test]
    fn every_invalid_case_is_refused_client_side_too_and_differs_from_the_valid_base() {
        parse_and_validate(&valid_test("ok").to_string()).unwrap_or_else(|errors| panic!("{errors:?}"));
        for case in invalid_cases() {
            let errors = parse_and_validate(&case.object.to_string())
                .err()
                .unwrap_or_else(|| panic!("{}: accepted by shared::validation", case.about));
            let field = case.expect[0].split('[').next().unwrap();
            let field = field.trim_start_matches("metadata.name is too long").trim();
            let text = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
            assert!(field.is_empty() || text.contains(field), "{}: {text}", case.about);
        }
    }

    #[test]
    fn invalid_case_expectations_are_in_the_committed_crd_when_they_are_the_crds_own_words() {
        let crd = include_str!("../../charts/locust-operator/files/locusttests.locust.io.yaml");
        for needle in [
            "metadata.name is too long",
            "endpoint is required when OpenTelemetry is enabled",
            "reserved for the operator's own volumes",
            "conflicts with a reserved test-files path",
            "must reference a volume defined in spec.volumes",
            QUANTITY_PATTERN,
        ] {
            let in_crd = crd.contains(needle) || crd.contains(&needle.replace('\'', "''"));
            assert!(in_crd, "{needle:?} is not a message of the CRD");
        }
    }

    #[test]
    fn quantities_compare_by_value() {
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("1Gi"), Some(1024.0 * 1024.0 * 1024.0));
        assert_eq!(quantity("1"), Some(1.0));
        assert_eq!(quantity("lots"), None);
        let expected = json!({"resources": {"limits": {"cpu": "1000m", "memory": "1024Mi"}}});
        let actual = json!({"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}});
        assert!(not_contained(&expected, &actual, "").is_empty());
        let wrong = json!({"resources": {"limits": {"cpu": "2", "memory": "1Gi"}}});
        assert_eq!(not_contained(&expected, &wrong, "").len(), 1);
    }

    #[test]
    fn containment_allows_added_defaults_and_dropped_empties_but_not_changes() {
        let expected = json!({"a": 1, "list": [{"x": 1}], "empty": [], "none": {}});
        let actual = json!({"a": 1, "list": [{"x": 1, "default": true}], "extra": "yes"});
        assert!(not_contained(&expected, &actual, "spec").is_empty());
        let changed = json!({"a": 2, "list": [{"x": 1}, {"x": 2}]});
        let problems = not_contained(&expected, &changed, "spec");
        assert_eq!(problems, ["spec.a: 2, expected 1", "spec.list: 2 items, expected 1"]);
    }

    /// What a real API server returns for a stored object: every zero-valued field left out.
    fn as_the_server_returns_it(value: &Value) -> Option<Value> {
        match value {
            Value::Object(map) => {
                let kept: serde_json::Map<String, Value> = map
                    .iter()
                    .filter_map(|(key, value)| as_the_server_returns_it(value).map(|value| (key.clone(), value)))
                    .collect();
                (!kept.is_empty()).then_some(Value::Object(kept))
            }
            Value::Array(items) => {
                let kept: Vec<Value> = items
                    .iter()
                    .map(|item| as_the_server_returns_it(item).unwrap_or_else(|| json!({})))
                    .collect();
                (!kept.is_empty()).then_some(Value::Array(kept))
            }
            // Spelled out rather than calling `server_omits`, the function under test.
            Value::Null | Value::Bool(false) => None,
            Value::String(text) if text.is_empty() => None,
            Value::Number(number) if number.as_f64() == Some(0.0) => None,
            other => Some(other.clone()),
        }
    }

    #[test]
    fn zero_values_the_server_omits_match_their_absence_and_nothing_else_does() {
        // (expected, returned by the server, problems)
        let cases: [(Value, Value, &[&str]); 8] = [
            (json!({"readOnly": false}), json!({}), &[]),
            (json!({"replicas": 0}), json!({}), &[]),
            (json!({"subPath": ""}), json!({}), &[]),
            (json!({"args": [], "env": {}}), json!({}), &[]),
            (
                json!({"readOnly": true}),
                json!({}),
                &["spec.readOnly: missing (expected true)"],
            ),
            (
                json!({"replicas": 2}),
                json!({}),
                &["spec.replicas: missing (expected 2)"],
            ),
            (
                json!({"readOnly": false}),
                json!({"readOnly": true}),
                &["spec.readOnly: true, expected false"],
            ),
            (
                json!({"name": "x"}),
                json!({"name": ""}),
                &["spec.name: \"\", expected \"x\""],
            ),
        ];
        for (expected, actual, problems) in cases {
            assert_eq!(
                not_contained(&expected, &actual, "spec"),
                problems,
                "{expected} in {actual}"
            );
        }
    }

    #[test]
    fn every_example_child_matches_itself_as_the_server_returns_it() {
        // The complete v2 example of the API reference mounts volumes with `readOnly: false`.
        let mut compared = 0;
        for example in crate::docs::EXAMPLES.iter().filter(|example| !example.shape.is_v1()) {
            let mut test = example.documents().unwrap().object;
            test["metadata"]["namespace"] = json!("ns");
            test["metadata"]["uid"] = json!("1234");
            let expected = expected_children(&test, &OperatorConfig::default()).unwrap();
            for child in [&expected.service, &expected.master_job, &expected.worker_job] {
                let returned = as_the_server_returns_it(child).unwrap();
                assert_eq!(
                    child_mismatches(child, &returned),
                    Vec::<String>::new(),
                    "{}",
                    example.file
                );
                compared += 1;
            }
        }
        assert!(compared >= 30, "only {compared} children compared");
    }

    #[test]
    fn built_children_are_contained_in_themselves_plus_server_defaults() {
        let mut test = valid_test("built");
        test["metadata"]["namespace"] = json!("ns");
        test["metadata"]["uid"] = json!("1234");
        let expected = expected_children(&test, &OperatorConfig::default()).unwrap();
        let mut actual = expected.worker_job.clone();
        actual["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": "x"}});
        actual["spec"]["template"]["spec"]["containers"][0]["terminationMessagePath"] = json!("/dev/termination-log");
        assert_eq!(child_mismatches(&expected.worker_job, &actual), Vec::<String>::new());
        actual["spec"]["parallelism"] = json!(7);
        assert_eq!(
            child_mismatches(&expected.worker_job, &actual),
            ["spec.parallelism: 7, expected 2"]
        );
        assert_eq!(expected.worker_job["metadata"]["ownerReferences"][0]["uid"], "1234");
    }

    #[test]
    fn status_is_read_from_conditions() {
        let test = json!({"status": {"phase": "Failed", "conditions": [
            {"type": "PodsHealthy", "status": "False", "reason": "ImagePullError", "message": "m"}
        ]}});
        assert_eq!(phase(&test), "Failed");
        assert_eq!(condition(&test, "PodsHealthy").unwrap().reason, "ImagePullError");
        assert!(condition(&test, "Ready").is_none());
        assert_eq!(describe_status(&test), "phase Failed, PodsHealthy=False/ImagePullError");
        assert_eq!(phase(&json!({})), "-");
    }

    #[test]
    fn namespaces_fit_63_characters_and_end_alphanumeric() {
        let long = namespace_name(
            "doc-advanced-topics--supported-volume-types-persistentvolumeclaim",
            "ab12x",
        );
        assert!(long.len() <= 63, "{long}");
        assert!(long.starts_with("lt-e2e-doc-advanced-topics"));
        assert!(long.ends_with("-ab12x"));
        assert!(!long.contains("--ab12x"));
        assert_eq!(namespace_name("crd-defaults", "k2j4q"), "lt-e2e-crd-defaults-k2j4q");
    }
}
