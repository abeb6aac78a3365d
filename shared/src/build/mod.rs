//! Pure builders of every object the operator creates for a LocustTest: the master Service, the
//! master Job and the worker Job. No I/O: the same test and configuration always build the same
//! objects, which is what lets the operator compare "what the children were built from" and the
//! plugin print them with `--dry-run`.

mod env;
mod pod;
mod volumes;

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::Resource;

use crate::api::v2::{LocustTest, LocustTestSpec};
use crate::command::CommandError;
use crate::config::OperatorConfig;
use crate::constants::{MASTER_PORT, MASTER_PORT_2, WEB_UI_PORT};
use crate::naming::{self, Role};

pub use env::container_env;
pub use pod::pod_template;
pub use volumes::{pod_volume_mounts, pod_volumes};

/// Annotation on every child recording the spec it was built from, so the operator can tell a
/// later spec edit (ignored: tests are immutable) from a reverted one.
pub const ANNOTATION_SPEC_FINGERPRINT: &str = "locust.io/spec-fingerprint";

/// A stable fingerprint of a spec: FNV-1a (64 bit) of its canonical JSON. Serialisation is
/// deterministic (struct field order, sorted maps), so equal specs give equal fingerprints across
/// operator restarts and versions of this crate that serialise the same.
pub fn spec_fingerprint(spec: &LocustTestSpec) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let canonical = serde_json::to_vec(spec).unwrap_or_default();
    let hash = canonical
        .iter()
        .fold(OFFSET, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(PRIME));
    format!("{hash:016x}")
}

/// The fingerprint a child was built from, if it carries one.
pub fn built_from(meta: &ObjectMeta) -> Option<&str> {
    meta.annotations
        .as_ref()?
        .get(ANNOTATION_SPEC_FINGERPRINT)
        .map(String::as_str)
}

/// Why a LocustTest cannot be turned into pods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A command seed does not split into arguments.
    #[error(transparent)]
    Command(#[from] CommandError),
    /// The test has no name (it must be created with one, or read back from the API server).
    #[error("metadata.name: the LocustTest has no name; set metadata.name")]
    MissingName,
}

/// The three children of a test, in creation order.
#[derive(Debug, Clone, PartialEq)]
pub struct Children {
    /// `<name>-master` Service that workers and the operator reach the master through.
    pub service: Service,
    /// `<name>-master` Job with one master pod.
    pub master_job: Job,
    /// `<name>-worker` Job with `replicas` worker pods.
    pub worker_job: Job,
}

/// Builds all three children.
pub fn children(test: &LocustTest, config: &OperatorConfig) -> Result<Children, BuildError> {
    Ok(Children {
        service: service(test)?,
        master_job: job(test, config, Role::Master)?,
        worker_job: job(test, config, Role::Worker)?,
    })
}

fn test_name(test: &LocustTest) -> Result<&str, BuildError> {
    test.metadata.name.as_deref().ok_or(BuildError::MissingName)
}

/// Metadata of a child: name, namespace, the operator's labels and the controller owner reference
/// (absent when the test has no uid yet, as in a dry run).
fn child_meta(test: &LocustTest, role: Role) -> Result<ObjectMeta, BuildError> {
    let name = test_name(test)?;
    Ok(ObjectMeta {
        name: Some(naming::child_name(name, role)),
        namespace: test.metadata.namespace.clone(),
        labels: Some(naming::selector_labels(name, role)),
        annotations: Some(BTreeMap::from([(
            ANNOTATION_SPEC_FINGERPRINT.to_string(),
            spec_fingerprint(&test.spec),
        )])),
        // blockOwnerDeletion as upstream: a foreground delete of the test waits for its children.
        owner_references: test.controller_owner_ref(&()).map(|owner| {
            vec![OwnerReference {
                block_owner_deletion: Some(true),
                ..owner
            }]
        }),
        ..ObjectMeta::default()
    })
}

/// The master Service: ports 5557/5558 for workers and 8089 for the web UI and JSON stats, which
/// the operator and plugin read (there is no metrics sidecar and so no sidecar port).
pub fn service(test: &LocustTest) -> Result<Service, BuildError> {
    let name = test_name(test)?;
    let port = |number: i32| ServicePort {
        name: Some(format!("port{number}")),
        port: number,
        protocol: Some("TCP".into()),
        ..ServicePort::default()
    };
    Ok(Service {
        metadata: child_meta(test, Role::Master)?,
        spec: Some(ServiceSpec {
            selector: Some(BTreeMap::from([(
                crate::constants::LABEL_POD_NAME.to_string(),
                naming::master_name(name),
            )])),
            ports: Some(vec![port(MASTER_PORT), port(MASTER_PORT_2), port(WEB_UI_PORT)]),
            ..ServiceSpec::default()
        }),
        status: None,
    })
}

/// The master Job (one pod) or the worker Job (`replicas` pods). Jobs never retry
/// (`backoffLimit: 0`): a load test that failed is a result, not something to run again.
pub fn job(test: &LocustTest, config: &OperatorConfig, role: Role) -> Result<Job, BuildError> {
    let parallelism = match role {
        Role::Master => 1,
        Role::Worker => test.spec.worker.replicas,
    };
    Ok(Job {
        metadata: child_meta(test, role)?,
        spec: Some(JobSpec {
            parallelism: Some(parallelism),
            backoff_limit: Some(0),
            ttl_seconds_after_finished: config.ttl_seconds_after_finished,
            template: pod_template(test, config, role)?,
            ..JobSpec::default()
        }),
        status: None,
    })
}
