//! What the operator keeps of the objects it watches: only what its decisions read, so its caches
//! stay small with thousands of tests (a Job's pod template alone is several kilobytes, and
//! `managedFields` often doubles an object). Each function leaves exactly what the functions
//! named on it read; their tests check that the decisions come out the same on trimmed objects.

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, Pod, PodSpec, PodStatus, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::api::v2::LocustTest;
use crate::build::ANNOTATION_SPEC_FINGERPRINT;

/// Drops managedFields (written by every client that touched the object) and, when
/// `keep_annotation` says so, the annotations nobody reads.
fn trim_meta(meta: &mut ObjectMeta, keep_annotation: impl Fn(&str) -> bool) {
    meta.managed_fields = None;
    if let Some(annotations) = meta.annotations.as_mut() {
        annotations.retain(|key, _| keep_annotation(key));
        if annotations.is_empty() {
            meta.annotations = None;
        }
    }
}

/// A LocustTest as reconciles read it: everything but managedFields and the copy of the whole
/// object `kubectl apply` keeps in an annotation.
pub fn test(test: &mut LocustTest) {
    trim_meta(&mut test.metadata, |key| {
        key != "kubectl.kubernetes.io/last-applied-configuration"
    });
}

/// A Job as `shared::status` reads it: its status, and the spec fingerprint annotation that
/// tells spec drift (`build::built_from`). The spec (the whole pod template) goes.
pub fn job(job: &mut Job) {
    trim_meta(&mut job.metadata, |key| key == ANNOTATION_SPEC_FINGERPRINT);
    job.spec = Some(JobSpec::default());
}

/// A Service as reconciles read it: that it exists, and its spec fingerprint annotation.
pub fn service(service: &mut Service) {
    trim_meta(&mut service.metadata, |key| key == ANNOTATION_SPEC_FINGERPRINT);
    service.spec = None;
}

/// A pod as `shared::health` reads it: name, labels, creation and deletion times, the names and
/// restart policies of its init containers (sidecars), its conditions and container statuses.
pub fn pod(pod: &mut Pod) {
    trim_meta(&mut pod.metadata, |_| false);
    pod.metadata.owner_references = None;
    let init_containers = pod
        .spec
        .as_ref()
        .and_then(|spec| spec.init_containers.as_ref())
        .map(|all| {
            all.iter()
                .map(|container| Container {
                    name: container.name.clone(),
                    restart_policy: container.restart_policy.clone(),
                    ..Container::default()
                })
                .collect()
        });
    pod.spec = Some(PodSpec {
        init_containers,
        ..PodSpec::default()
    });
    if let Some(status) = pod.status.take() {
        pod.status = Some(PodStatus {
            conditions: status.conditions,
            container_statuses: status.container_statuses,
            init_container_statuses: status.init_container_statuses,
            phase: status.phase,
            ..PodStatus::default()
        });
    }
}
