//! The pod template shared by the master and worker Jobs, and its one Locust container.

use k8s_openapi::api::core::v1::{
    Capabilities, Container, ContainerPort, PodSecurityContext, PodSpec, PodTemplateSpec, ResourceRequirements,
    SeccompProfile, SecurityContext,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::{BuildError, env, test_name, volumes};
use crate::api::v2::{LocustTest, LocustTestSpec};
use crate::command;
use crate::config::OperatorConfig;
use crate::constants::{MASTER_PORT, MASTER_PORT_2, WEB_UI_PORT, WORKER_PORT};
use crate::naming::{self, Role};

/// Pod template of `role`: labels the operator selects on (users cannot override them), the
/// user's annotations, scheduling, security and the Locust container.
pub fn pod_template(test: &LocustTest, config: &OperatorConfig, role: Role) -> Result<PodTemplateSpec, BuildError> {
    let name = test_name(test)?;
    let spec = &test.spec;
    let (user_labels, user_annotations) = match role {
        Role::Master => (spec.master.labels.as_ref(), spec.master.annotations.clone()),
        Role::Worker => (spec.worker.labels.as_ref(), spec.worker.annotations.clone()),
    };
    let scheduling = spec.scheduling.as_ref();
    Ok(PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(naming::pod_labels(name, role, user_labels)),
            annotations: user_annotations.filter(|annotations| !annotations.is_empty()),
            ..ObjectMeta::default()
        }),
        spec: Some(PodSpec {
            restart_policy: Some("Never".into()),
            image_pull_secrets: spec.image_pull_secrets.clone().filter(|secrets| !secrets.is_empty()),
            containers: vec![locust_container(name, spec, config, role)?],
            volumes: Some(volumes::pod_volumes(name, spec, role)).filter(|v| !v.is_empty()),
            affinity: scheduling
                .and_then(|s| s.affinity.clone())
                .filter(|_| config.affinity_injection),
            tolerations: scheduling
                .and_then(|s| s.tolerations.clone())
                .filter(|t| config.tolerations_injection && !t.is_empty()),
            node_selector: scheduling
                .and_then(|s| s.node_selector.clone())
                .filter(|selector| !selector.is_empty()),
            runtime_class_name: runtime_class_name(spec, config),
            security_context: Some(pod_security_context(spec)),
            ..PodSpec::default()
        }),
    })
}

/// The test's runtime class wins; `""` in the test opts out of the operator default.
fn runtime_class_name(spec: &LocustTestSpec, config: &OperatorConfig) -> Option<String> {
    match spec.scheduling.as_ref().and_then(|s| s.runtime_class_name.as_deref()) {
        Some("") => None,
        Some(class) => Some(class.to_string()),
        None => config.default_runtime_class_name.clone(),
    }
}

/// The test's pod security context replaces the default entirely. The default sets only the
/// seccomp profile: no fixed UID, so OpenShift's SCCs can assign one.
fn pod_security_context(spec: &LocustTestSpec) -> PodSecurityContext {
    spec.security
        .as_ref()
        .and_then(|s| s.pod_security_context.clone())
        .unwrap_or_else(|| PodSecurityContext {
            seccomp_profile: Some(SeccompProfile {
                type_: "RuntimeDefault".into(),
                ..SeccompProfile::default()
            }),
            ..PodSecurityContext::default()
        })
}

/// The Locust container's default hardening: nothing Locust needs is lost by dropping every
/// capability and privilege escalation. The test's own container security context replaces it.
fn container_security_context(spec: &LocustTestSpec) -> SecurityContext {
    spec.security
        .as_ref()
        .and_then(|s| s.container_security_context.clone())
        .unwrap_or_else(|| SecurityContext {
            allow_privilege_escalation: Some(false),
            capabilities: Some(Capabilities {
                drop: Some(vec!["ALL".into()]),
                ..Capabilities::default()
            }),
            ..SecurityContext::default()
        })
}

fn locust_container(
    name: &str,
    spec: &LocustTestSpec,
    config: &OperatorConfig,
    role: Role,
) -> Result<Container, BuildError> {
    let (args, ports, resources) = match role {
        Role::Master => (
            command::master_args(spec)?,
            vec![MASTER_PORT, MASTER_PORT_2, WEB_UI_PORT],
            spec.master.resources.as_ref(),
        ),
        Role::Worker => (
            command::worker_args(name, spec)?,
            vec![WORKER_PORT],
            spec.worker.resources.as_ref(),
        ),
    };
    let env_from = env::env_from(spec);
    Ok(Container {
        name: naming::child_name(name, role),
        image: Some(spec.image.clone()),
        image_pull_policy: Some(spec.image_pull_policy.as_str().into()),
        args: Some(args),
        ports: Some(
            ports
                .into_iter()
                .map(|port| ContainerPort {
                    container_port: port,
                    ..ContainerPort::default()
                })
                .collect(),
        ),
        resources: Some(container_resources(resources, config, role)),
        env: Some(env::container_env(spec, config)).filter(|env| !env.is_empty()),
        env_from: Some(env_from).filter(|env_from| !env_from.is_empty()),
        volume_mounts: Some(volumes::pod_volume_mounts(name, spec, role)).filter(|m| !m.is_empty()),
        security_context: Some(container_security_context(spec)),
        ..Container::default()
    })
}

/// Resources the test sets for its role replace the operator's defaults entirely (no merge), so
/// a test can drop a CPU limit by not naming it; otherwise the role default, then the global one.
fn container_resources(
    from_test: Option<&ResourceRequirements>,
    config: &OperatorConfig,
    role: Role,
) -> ResourceRequirements {
    let sets_anything = |r: &&ResourceRequirements| {
        r.requests.as_ref().is_some_and(|m| !m.is_empty()) || r.limits.as_ref().is_some_and(|m| !m.is_empty())
    };
    match from_test.filter(sets_anything) {
        Some(resources) => resources.clone(),
        None => config.resources_for(role),
    }
}
