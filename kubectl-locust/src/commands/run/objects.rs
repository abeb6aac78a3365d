//! The objects `run` creates, printed as kubectl prints them: YAML documents, a JSON `List`, or
//! `resource/name` lines.

use serde_json::{Value, json};

use crate::cli::OutputFormat;
use crate::error::PluginError;
use crate::submission::Submission;

/// The objects in the order they are created: ConfigMaps first, then the test.
pub fn submission_objects(submission: &Submission) -> Result<Vec<Value>, PluginError> {
    let mut objects = Vec::new();
    for config_map in &submission.config_maps {
        objects.push(to_value(config_map)?);
    }
    objects.push(to_value(&submission.test)?);
    Ok(objects)
}

pub fn to_value(object: &impl serde::Serialize) -> Result<Value, PluginError> {
    serde_json::to_value(object).map_err(|error| PluginError::Other(format!("cannot serialize an object: {error}")))
}

/// `configmap/demo-files`, `locusttest.locust.io/demo`: what kubectl's `-o name` prints.
pub fn resource_name(object: &Value) -> String {
    let kind = object["kind"].as_str().unwrap_or_default().to_lowercase();
    let group = object["apiVersion"]
        .as_str()
        .and_then(|api_version| api_version.rsplit_once('/'))
        .map(|(group, _)| group)
        .unwrap_or_default();
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    if group.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}.{group}/{name}")
    }
}

/// The objects in `format` (YAML by default), ending with a newline.
pub fn render(objects: &[Value], format: Option<OutputFormat>) -> Result<String, PluginError> {
    match format.unwrap_or(OutputFormat::Yaml) {
        OutputFormat::Yaml => {
            let mut documents = Vec::new();
            for object in objects {
                documents.push(
                    serde_yaml::to_string(object)
                        .map_err(|error| PluginError::Other(format!("cannot write YAML: {error}")))?,
                );
            }
            Ok(documents.join("---\n"))
        }
        OutputFormat::Json => {
            let list = json!({ "apiVersion": "v1", "kind": "List", "items": objects });
            let text = serde_json::to_string_pretty(&list)
                .map_err(|error| PluginError::Other(format!("cannot write JSON: {error}")))?;
            Ok(text + "\n")
        }
        OutputFormat::Name => Ok(objects.iter().map(|object| resource_name(object) + "\n").collect()),
        other @ (OutputFormat::Table | OutputFormat::Wide) => Err(unsupported(other)),
    }
}

/// `-o table|wide` mean nothing for objects being created.
pub fn unsupported(format: OutputFormat) -> PluginError {
    let name = match format {
        OutputFormat::Wide => "wide",
        _ => "table",
    };
    PluginError::Usage(format!("run does not print -o {name}; use -o yaml, -o json or -o name"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn objects() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "demo-files"}, "data": {"t.py": "x"}}),
            json!({"apiVersion": "locust.io/v2", "kind": "LocustTest", "metadata": {"name": "demo"}}),
        ]
    }

    #[test]
    fn names_are_written_as_kubectl_writes_them() {
        assert_eq!(
            render(&objects(), Some(OutputFormat::Name)).unwrap(),
            "configmap/demo-files\nlocusttest.locust.io/demo\n"
        );
    }

    #[test]
    fn yaml_is_one_document_per_object_and_json_a_list() {
        let yaml = render(&objects(), None).unwrap();
        assert_eq!(yaml.matches("---\n").count(), 1, "{yaml}");
        // Keys sorted, as kubectl prints them.
        assert!(
            yaml.starts_with("apiVersion: v1\ndata:\n  t.py: x\nkind: ConfigMap\n"),
            "{yaml}"
        );
        let list: Value = serde_json::from_str(&render(&objects(), Some(OutputFormat::Json)).unwrap()).unwrap();
        assert_eq!(list["kind"], "List");
        assert_eq!(list["items"][1]["kind"], "LocustTest");
        let error = render(&objects(), Some(OutputFormat::Table)).unwrap_err().to_string();
        assert!(error.contains("-o yaml, -o json or -o name"), "{error}");
    }
}
