//! Helpers the integration tests share: reading test documents, operator configs given as
//! environment variables, and the parts of a built Job the tests look at; and, for tests that run
//! the real `locust` on 127.0.0.1, a target HTTP server, a client for the master's JSON stats, and
//! a guard that owns the Locust processes.

// Test support: a broken fixture should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod http;
pub mod locust;

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Container, EnvVar, PodSpec};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::de::DeserializeOwned;
use shared::api::v2;
use shared::build::Children;
use shared::config::OperatorConfig;
use shared::validation::{FieldError, parse_and_validate};

// ---------------------------------------------------------------------------------------------
// Test documents

/// A valid v2 test named `name`, with `spec_extra` (indented by two spaces) appended to its spec.
pub fn test_yaml(name: &str, spec_extra: &str) -> String {
    format!(
        "apiVersion: locust.io/v2
kind: LocustTest
metadata:
  name: {name}
spec:
  image: locustio/locust:2.20.0
  master:
    command: \"--locustfile /lotest/src/test.py --host https://example.com\"
  worker:
    command: \"--locustfile /lotest/src/test.py\"
    replicas: 3
{spec_extra}"
    )
}

/// `yaml` deserialized as plain serde reads it, without the crate's validation.
pub fn from_yaml<T: DeserializeOwned>(yaml: &str) -> T {
    serde_yaml::from_str(yaml).unwrap_or_else(|error| panic!("does not deserialize: {error}\n--- in ---\n{yaml}"))
}

/// Parses and validates a v2 document the way `kubectl apply` plus the API server would.
pub fn validated(yaml: &str) -> v2::LocustTest {
    parse_and_validate(yaml)
        .unwrap_or_else(|errors| panic!("not a valid LocustTest:\n{}\n--- in ---\n{yaml}", joined(&errors)))
}

/// Every error on its own line, as a user reads them.
pub fn joined(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// The operator configured with exactly these environment variables.
pub fn operator_config(variables: &[(&str, &str)]) -> OperatorConfig {
    let variables: BTreeMap<&str, &str> = variables.iter().copied().collect();
    OperatorConfig::from_lookup(|name| variables.get(name).map(|value| value.to_string()))
        .expect("a valid operator config")
}

// ---------------------------------------------------------------------------------------------
// Built Jobs

/// Both Jobs with their role, master first.
pub fn jobs(children: &Children) -> [(&'static str, &Job); 2] {
    [("master", &children.master_job), ("worker", &children.worker_job)]
}

pub fn pod(job: &Job) -> &PodSpec {
    job.spec
        .as_ref()
        .and_then(|spec| spec.template.spec.as_ref())
        .expect("the Job has a pod template")
}

pub fn pod_metadata(job: &Job) -> &ObjectMeta {
    job.spec
        .as_ref()
        .and_then(|spec| spec.template.metadata.as_ref())
        .expect("the pod template has metadata")
}

/// The single Locust container: the operator adds no sidecar (no metrics exporter).
pub fn container(job: &Job) -> &Container {
    let pod = pod(job);
    assert_eq!(pod.containers.len(), 1, "exactly one Locust container, no sidecar");
    assert!(pod.init_containers.is_none(), "no (native) sidecar init containers");
    &pod.containers[0]
}

pub fn args(job: &Job) -> Vec<&str> {
    let args = container(job).args.as_deref().expect("the container has args");
    args.iter().map(String::as_str).collect()
}

pub fn env_var<'a>(job: &'a Job, name: &str) -> Option<&'a EnvVar> {
    container(job).env.iter().flatten().find(|var| var.name == name)
}

/// Requests or limits as plain strings, for comparing with the YAML a test was written in.
pub fn quantities(map: Option<&BTreeMap<String, Quantity>>) -> BTreeMap<&str, &str> {
    map.into_iter()
        .flatten()
        .map(|(key, quantity)| (key.as_str(), quantity.0.as_str()))
        .collect()
}
