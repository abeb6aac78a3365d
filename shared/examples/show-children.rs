//! Reads a LocustTest, validates it with the CRD's own rules, and prints the Service and Jobs the
//! operator would create for it (operator settings from the environment, as the operator reads them).

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: show-children <locusttest.yaml>");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("error: cannot read {path}: {error}");
            return ExitCode::from(2);
        }
    };
    let mut test = match shared::validation::parse_and_validate(&text) {
        Ok(test) => test,
        Err(errors) => {
            eprintln!("error: {path} is not a valid LocustTest:");
            errors.iter().for_each(|error| eprintln!("  - {error}"));
            return ExitCode::FAILURE;
        }
    };
    test.metadata.namespace.get_or_insert_with(|| "default".into());
    let config = match shared::config::OperatorConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: operator configuration:\n{error}");
            return ExitCode::FAILURE;
        }
    };
    let children = match shared::build::children(&test, &config) {
        Ok(children) => children,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::FAILURE;
        }
    };
    for object in [
        serde_yaml::to_string(&with_type("v1", "Service", &children.service)),
        serde_yaml::to_string(&with_type("batch/v1", "Job", &children.master_job)),
        serde_yaml::to_string(&with_type("batch/v1", "Job", &children.worker_job)),
    ] {
        match object {
            Ok(yaml) => print!("---\n{yaml}"),
            Err(error) => {
                eprintln!("error: cannot print: {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// k8s-openapi leaves apiVersion and kind out of the struct; a manifest needs them.
fn with_type(api_version: &str, kind: &str, object: &impl serde::Serialize) -> serde_json::Value {
    let mut value = serde_json::to_value(object).unwrap_or_default();
    if let Some(map) = value.as_object_mut() {
        map.insert("apiVersion".into(), api_version.into());
        map.insert("kind".into(), kind.into());
    }
    value
}
