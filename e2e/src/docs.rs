//! The YAML examples of the API reference and the advanced topics, as the cluster gets them.
//!
//! The examples are the committed copies in `shared/tests/fixtures/docs/` (a first comment line
//! names the source; `shared/tests/doc_examples.rs` checks in process that each one builds what its
//! text promises). Here each becomes one object to create in a real cluster, the way a reader
//! would use it:
//!
//! - a complete manifest is created as written;
//! - a template gets its `<placeholders>` filled in;
//! - a `spec:` fragment is merged into a small valid test, a bare `volumes:` list is wrapped in a
//!   test that mounts each volume at `/mnt/<name>`;
//! - a v1 manifest is created through `locust.io/v1` (conversion webhook), a v1 fragment after
//!   dropping its `...` elisions, merged into the API reference's v1 example;
//! - two examples do not match the API reference's own field types (`imagePullSecrets` as plain
//!   names, `extraEnvVars` as a list): the API server must refuse them as written, naming the field,
//!   and accept the form the API reference specifies.

use anyhow::{Context as _, Result, bail};
use serde_json::{Value, json};

/// How an example becomes an object in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A complete v2 manifest.
    Manifest,
    /// A v2 manifest with `<placeholders>`, filled with these values.
    Template(&'static [(&'static str, &'static str)]),
    /// A `spec:` fragment, merged into [`V2_BASE`].
    V2Fragment,
    /// A bare `volumes:` list, mounted at `/mnt/<name>` in both pods of [`V2_BASE`].
    VolumeList,
    /// A complete v1 manifest.
    V1Manifest,
    /// A v1 `spec:` fragment with `...` elisions, merged into the API reference's v1 example.
    V1Fragment,
    /// A v2 manifest the API server must refuse as written (naming `field`); `fix` is the form
    /// the API reference specifies.
    RefusedAsWritten { field: &'static str, fix: Fix },
}

impl Shape {
    /// Created through `locust.io/v1`, so it needs the conversion webhook.
    pub fn is_v1(self) -> bool {
        matches!(self, Self::V1Manifest | Self::V1Fragment)
    }
}

/// The correction of an example that does not match the API reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// `imagePullSecrets: [name]` (v1's shape) becomes `[{name: name}]`.
    PullSecretObjects,
    /// `extraEnvVars: [{name, value}]` becomes the `map[string]string` the API reference lists.
    ExtraEnvVarsMap,
}

/// One documented example.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// File name under `shared/tests/fixtures/docs/`.
    pub file: &'static str,
    /// Its text (first line: `# shared/spec/<doc>.md, "<heading>"...`).
    pub text: &'static str,
    /// How it becomes an object.
    pub shape: Shape,
}

macro_rules! example {
    ($file:literal, $shape:expr) => {
        Example {
            file: $file,
            text: include_str!(concat!("../../shared/tests/fixtures/docs/", $file)),
            shape: $shape,
        }
    };
}

/// Every example, in document order (a unit test checks the list against the directory).
pub const EXAMPLES: &[Example] = &[
    example!("api-reference--complete-v2-example.yaml", Shape::Manifest),
    example!("api-reference--v1-example.yaml", Shape::V1Manifest),
    example!(
        "advanced-topics--affinity-options-v2.yaml",
        Shape::Template(&[("<label-key>", "node-pool"), ("<label-value>", "load-generators")])
    ),
    example!("advanced-topics--node-affinity-v2.yaml", Shape::Manifest),
    example!("advanced-topics--node-affinity-v1.yaml", Shape::V1Fragment),
    example!(
        "advanced-topics--toleration-options-v2.yaml",
        Shape::Template(&[
            ("<string value>", "load-generator"),
            (r#"<"Exists", "Equal">"#, "Equal"),
            (r#"<"NoSchedule", "PreferNoSchedule", "NoExecute">"#, "PreferNoSchedule"),
        ])
    ),
    example!("advanced-topics--toleration-options-v2-example.yaml", Shape::Manifest),
    example!("advanced-topics--toleration-options-v1.yaml", Shape::V1Fragment),
    example!("advanced-topics--per-cr-resource-configuration.yaml", Shape::Manifest),
    example!("advanced-topics--disabling-cpu-limits-per-cr.yaml", Shape::Manifest),
    example!(
        "advanced-topics--private-image-registry-v2.yaml",
        Shape::RefusedAsWritten {
            field: "spec.imagePullSecrets[0]",
            fix: Fix::PullSecretObjects
        }
    ),
    example!("advanced-topics--private-image-registry-v1.yaml", Shape::V1Fragment),
    example!("advanced-topics--image-pull-policy-v2.yaml", Shape::Manifest),
    example!("advanced-topics--image-pull-policy-v1.yaml", Shape::V1Fragment),
    example!(
        "advanced-topics--enabling-opentelemetry.yaml",
        Shape::RefusedAsWritten {
            field: "spec.observability.openTelemetry.extraEnvVars",
            fix: Fix::ExtraEnvVarsMap
        }
    ),
    example!(
        "advanced-topics--configmap-environment-variables.yaml",
        Shape::V2Fragment
    ),
    example!("advanced-topics--secret-environment-variables.yaml", Shape::V2Fragment),
    example!("advanced-topics--individual-variables.yaml", Shape::V2Fragment),
    example!("advanced-topics--secret-file-mounts.yaml", Shape::V2Fragment),
    example!("advanced-topics--basic-volume-mount.yaml", Shape::V2Fragment),
    example!(
        "advanced-topics--supported-volume-types-persistentvolumeclaim.yaml",
        Shape::VolumeList
    ),
    example!(
        "advanced-topics--supported-volume-types-configmap.yaml",
        Shape::VolumeList
    ),
    example!("advanced-topics--supported-volume-types-secret.yaml", Shape::VolumeList),
    example!(
        "advanced-topics--supported-volume-types-emptydir.yaml",
        Shape::VolumeList
    ),
    example!(
        "advanced-topics--independent-resource-configuration.yaml",
        Shape::Manifest
    ),
];

/// The small valid test fragments are merged into (the same one `shared/tests` uses).
pub const V2_BASE: &str = "apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: fragment-test
spec:
  image: locustio/locust:2.20.0
  master:
    command: \"--locustfile /lotest/src/test.py --host https://example.com\"
  worker:
    command: \"--locustfile /lotest/src/test.py\"
    replicas: 3
";

/// The API reference's v1 example, which v1 fragments are merged into.
pub const V1_BASE: &str = include_str!("../../shared/tests/fixtures/docs/api-reference--v1-example.yaml");

/// What to create for an example, and what the API server must say about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Documents {
    /// The object to create (the corrected form for [`Shape::RefusedAsWritten`]).
    pub object: Value,
    /// For [`Shape::RefusedAsWritten`]: the example as written, and the field the refusal names.
    pub refused: Option<(Value, &'static str)>,
}

impl Example {
    /// `doc-<file name without .yaml>`.
    pub fn scenario_name(&self) -> String {
        format!("doc-{}", self.file.trim_end_matches(".yaml"))
    }

    /// The first comment line without `# shared/spec/` (document and heading).
    pub fn source(&self) -> &'static str {
        let first = self.text.lines().next().unwrap_or_default();
        first.trim_start_matches('#').trim().trim_start_matches("shared/spec/")
    }

    /// One line for `--list`.
    pub fn about(&self) -> String {
        let how = match self.shape {
            Shape::Manifest => "created as written",
            Shape::Template(_) => "placeholders filled in",
            Shape::V2Fragment => "merged into a minimal test",
            Shape::VolumeList => "volumes mounted in a minimal test",
            Shape::V1Manifest => "created through locust.io/v1",
            Shape::V1Fragment => "merged into the v1 example, created through locust.io/v1",
            Shape::RefusedAsWritten { .. } => "refused as written, accepted in the API reference's form",
        };
        format!(
            "{} ({how}): accepted, and the operator creates the Service and Jobs it promises",
            self.source()
        )
    }

    /// The objects for the cluster.
    pub fn documents(&self) -> Result<Documents> {
        let object = match self.shape {
            Shape::Manifest | Shape::V1Manifest => yaml(self.text)?,
            Shape::Template(values) => yaml(&filled(self.text, values)?)?,
            Shape::V2Fragment => overlay_spec(yaml(V2_BASE)?, &yaml(self.text)?)?,
            Shape::VolumeList => overlay_spec(yaml(V2_BASE)?, &volume_list_fragment(&yaml(self.text)?)?)?,
            Shape::V1Fragment => overlay_spec(yaml(V1_BASE)?, &yaml(&without_elisions(self.text))?)?,
            Shape::RefusedAsWritten { field, fix } => {
                let as_written = yaml(self.text)?;
                let corrected = fixed(&as_written, fix)?;
                return Ok(Documents {
                    object: corrected,
                    refused: Some((as_written, field)),
                });
            }
        };
        Ok(Documents { object, refused: None })
    }
}

fn yaml(text: &str) -> Result<Value> {
    serde_yaml::from_str(text).context("the example is not YAML")
}

/// Every placeholder must be there, and none may be left.
fn filled(template: &str, values: &[(&str, &str)]) -> Result<String> {
    let mut text = template.to_string();
    for (placeholder, value) in values {
        if !text.contains(placeholder) {
            bail!("the template has no {placeholder}");
        }
        text = text.replace(placeholder, value);
    }
    if let Some(line) = text.lines().find(|line| line.contains(": <")) {
        bail!("an unfilled placeholder is left: {line:?}");
    }
    Ok(text)
}

/// A v1 fragment without its `...` lines (YAML reads them as "end of document").
fn without_elisions(text: &str) -> String {
    text.lines()
        .filter(|line| line.trim() != "...")
        .map(|line| format!("{line}\n"))
        .collect()
}

/// `base` with every key of `fragment.spec` written over its spec.
fn overlay_spec(mut base: Value, fragment: &Value) -> Result<Value> {
    let Some(additions) = fragment.get("spec").and_then(Value::as_object) else {
        bail!("the fragment has no spec mapping");
    };
    let Some(spec) = base.get_mut("spec").and_then(Value::as_object_mut) else {
        bail!("the base test has no spec mapping");
    };
    for (key, value) in additions {
        spec.insert(key.clone(), value.clone());
    }
    Ok(base)
}

/// `{volumes: [...]}` as a spec fragment that also mounts each volume at `/mnt/<name>`.
fn volume_list_fragment(list: &Value) -> Result<Value> {
    let Some(volumes) = list.get("volumes").and_then(Value::as_array) else {
        bail!("the block is not a volumes list");
    };
    let mounts = volumes
        .iter()
        .map(|volume| match volume.get("name").and_then(Value::as_str) {
            Some(name) => Ok(json!({"name": name, "mountPath": format!("/mnt/{name}")})),
            None => bail!("a volume without a name"),
        })
        .collect::<Result<Vec<Value>>>()?;
    Ok(json!({"spec": {"volumes": volumes, "volumeMounts": mounts}}))
}

fn fixed(as_written: &Value, fix: Fix) -> Result<Value> {
    let mut object = as_written.clone();
    match fix {
        Fix::PullSecretObjects => {
            let Some(secrets) = object
                .pointer_mut("/spec/imagePullSecrets")
                .and_then(Value::as_array_mut)
            else {
                bail!("the example has no spec.imagePullSecrets list");
            };
            for secret in secrets.iter_mut() {
                if let Some(name) = secret.as_str() {
                    *secret = json!({ "name": name });
                }
            }
        }
        Fix::ExtraEnvVarsMap => {
            let pointer = "/spec/observability/openTelemetry/extraEnvVars";
            let Some(list) = object.pointer(pointer).and_then(Value::as_array) else {
                bail!("the example has no extraEnvVars list");
            };
            let mut map = serde_json::Map::new();
            for entry in list {
                match (entry.get("name").and_then(Value::as_str), entry.get("value")) {
                    (Some(name), Some(value)) => {
                        map.insert(name.to_string(), value.clone());
                    }
                    _ => bail!("an extraEnvVars entry without name and value: {entry}"),
                }
            }
            if let Some(slot) = object.pointer_mut(pointer) {
                *slot = Value::Object(map);
            }
        }
    }
    if object == *as_written {
        bail!("the correction changed nothing");
    }
    Ok(object)
}

/// The fenced blocks of a Markdown document: (language, nearest heading, text without the fence's
/// indentation). Used by the unit tests to check the committed copies against the spec.
pub fn fenced_blocks(markdown: &str) -> Vec<(String, String, String)> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut open: Option<(String, usize, String)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            Some((language, fence_indent, mut text)) => {
                if trimmed.trim_end() == "```" {
                    blocks.push((language, heading.clone(), text));
                } else {
                    let content = if line.len() >= fence_indent && line[..fence_indent].trim().is_empty() {
                        &line[fence_indent..]
                    } else {
                        line.trim_start()
                    };
                    text.push_str(content);
                    text.push('\n');
                    open = Some((language, fence_indent, text));
                }
            }
            None => {
                if let Some(rest) = trimmed.strip_prefix("```") {
                    let language = rest.split_whitespace().next().unwrap_or_default().to_string();
                    open = Some((language, indent, String::new()));
                } else if trimmed.starts_with('#') && indent == 0 {
                    heading = trimmed.trim_start_matches('#').trim().to_string();
                }
            }
        }
    }
    blocks
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use std::collections::BTreeSet;
    use std::path::PathBuf;

    use shared::api::v1;
    use shared::validation::{parse_and_validate, parse_locust_test};

    use super::*;

    fn fixtures_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/tests/fixtures/docs")
    }

    /// `../shared/spec` next to the workspace, when this checkout has it (a fresh clone may not).
    pub(crate) fn spec_dir() -> Option<PathBuf> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec");
        dir.join("api-reference.md").is_file().then_some(dir)
    }

    #[test]
    fn every_committed_doc_example_is_in_the_list() {
        let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures_dir())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".yaml"))
            .collect();
        let listed: BTreeSet<String> = EXAMPLES.iter().map(|e| e.file.to_string()).collect();
        assert_eq!(listed.len(), EXAMPLES.len(), "an example is listed twice");
        assert_eq!(
            listed, on_disk,
            "e2e/src/docs.rs EXAMPLES must list exactly the files of shared/tests/fixtures/docs"
        );
        for example in EXAMPLES {
            assert!(
                example.text.starts_with("# shared/spec/"),
                "{}: no source line",
                example.file
            );
        }
    }

    #[test]
    fn each_example_becomes_a_valid_object_and_refused_ones_are_refused_client_side_too() {
        for example in EXAMPLES {
            let documents = example
                .documents()
                .unwrap_or_else(|error| panic!("{}: {error:#}", example.file));
            let text = serde_json::to_string(&documents.object).unwrap();
            if example.shape.is_v1() {
                assert_eq!(documents.object["apiVersion"], "locust.io/v1", "{}", example.file);
                let _: v1::LocustTest = serde_json::from_value(documents.object.clone())
                    .unwrap_or_else(|error| panic!("{}: not a v1 LocustTest: {error}", example.file));
            } else {
                assert_eq!(documents.object["apiVersion"], "locust.io/v2", "{}", example.file);
                if let Err(errors) = parse_and_validate(&text) {
                    panic!("{}: the object to create is not valid: {errors:?}", example.file);
                }
            }
            if let Some((as_written, field)) = &documents.refused {
                let errors =
                    parse_locust_test(&serde_json::to_string(as_written).unwrap()).expect_err("refused as written");
                let field_without_index = field.split('[').next().unwrap();
                assert!(
                    errors.iter().any(|e| e.to_string().contains(field_without_index)),
                    "{}: {errors:?}",
                    example.file
                );
            }
        }
    }

    #[test]
    fn fragments_keep_their_fields() {
        let find = |file: &str| EXAMPLES.iter().find(|e| e.file == file).unwrap();
        let volumes = find("advanced-topics--supported-volume-types-emptydir.yaml")
            .documents()
            .unwrap();
        assert_eq!(volumes.object["spec"]["volumes"][0]["name"], "cache");
        assert_eq!(volumes.object["spec"]["volumeMounts"][0]["mountPath"], "/mnt/cache");
        let v1 = find("advanced-topics--toleration-options-v1.yaml").documents().unwrap();
        assert_eq!(v1.object["metadata"]["name"], "basic-test");
        assert_eq!(v1.object["spec"]["tolerations"][1]["key"], "taint-B");
        assert_eq!(v1.object["spec"]["workerReplicas"], 3);
        let otel = find("advanced-topics--enabling-opentelemetry.yaml")
            .documents()
            .unwrap();
        assert_eq!(
            otel.object["spec"]["observability"]["openTelemetry"]["extraEnvVars"]["OTEL_SERVICE_NAME"],
            "my-load-test"
        );
    }

    /// Lines without trailing blanks, so editors that trim lines do not count as drift.
    fn normalized(text: &str) -> String {
        text.lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            .trim()
            .to_string()
    }

    /// YAML blocks of the spec that are deliberately not examples to create: (doc, heading, why).
    pub(crate) const NOT_CREATED: &[(&str, &str, &str)] = &[
        (
            "api-reference.md",
            "CI/CD Integration",
            "the GitHub Actions workflow: e2e/recipes, run by recipe-kubectl-wait",
        ),
        (
            "advanced-topics.md",
            "Affinity Options",
            "the v1 template is not YAML (`...`, a key without its colon)",
        ),
        (
            "advanced-topics.md",
            "Disabling CPU Limits",
            "Helm values, the chart's tests",
        ),
        (
            "advanced-topics.md",
            "Automatic Cleanup",
            "Helm values, the chart's tests",
        ),
    ];

    #[test]
    fn the_committed_examples_match_the_spec_when_it_is_present() {
        let Some(dir) = spec_dir() else {
            eprintln!("../shared/spec is not in this checkout: the committed copies are used as they are");
            return;
        };
        let fixtures: Vec<(&str, String)> = EXAMPLES
            .iter()
            .map(|e| (e.file, normalized(e.text.split_once('\n').unwrap().1)))
            .collect();
        let mut matched = BTreeSet::new();
        for doc in ["api-reference.md", "advanced-topics.md"] {
            let markdown = std::fs::read_to_string(dir.join(doc)).unwrap();
            for (language, heading, text) in fenced_blocks(&markdown) {
                if language != "yaml" {
                    continue;
                }
                let text = normalized(&text);
                if let Some((file, _)) = fixtures.iter().find(|(_, fixture)| *fixture == text) {
                    matched.insert(*file);
                    continue;
                }
                let known = NOT_CREATED.iter().any(|(d, h, _)| *d == doc && heading.contains(h));
                assert!(
                    known,
                    "{doc}, \"{heading}\": a YAML block that is neither a committed example (shared/tests/fixtures/docs) \
                     nor listed as not created:\n{text}"
                );
            }
        }
        let unmatched: Vec<&str> = fixtures
            .iter()
            .map(|(file, _)| *file)
            .filter(|file| !matched.contains(file))
            .collect();
        assert!(
            unmatched.is_empty(),
            "committed examples that no longer match a block of the spec: {unmatched:?}"
        );
    }

    #[test]
    fn fenced_blocks_lose_the_tab_indentation() {
        let markdown = "# Title\n\n=== \"v2\"\n\n    ```yaml title=\"x\"\n    a:\n      b: 1\n    ```\n";
        assert_eq!(
            fenced_blocks(markdown),
            [("yaml".to_string(), "Title".to_string(), "a:\n  b: 1\n".to_string())]
        );
    }
}
