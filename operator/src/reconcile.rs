//! One reconcile of one LocustTest: observe its children and pods, create what is missing (once,
//! from the spec), take the master's latest live statistics from the scraper's cache, derive the
//! status with `shared::status`, patch it only when it changed, and record the events the
//! derivation asks for.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Event as CoreEvent, ObjectReference, Pod, Service};
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType as KubeEventType};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::status::conditions::{self, ready};
use shared::api::status::{LocustTestStatus, Phase};
use shared::api::v2::LocustTest;
use shared::build;
use shared::health::{self, MountFailure};
use shared::naming;
use shared::status::{self, Child, EventNote, EventType, Observation};

use crate::context::Context;
use crate::controller::locusttest_resource;
use crate::error::{Context as _, Error};

/// Reconciles one LocustTest as the watch delivered it. An object whose spec cannot be read
/// (for example a v1 object stored without the conversion webhook) gets a status that says so;
/// it never stops the operator or the watch.
pub async fn reconcile(object: Arc<DynamicObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile_timer();
    let key = object_key(&object);
    let result = match decode(&object) {
        Ok(test) => reconcile_test(&test, &ctx).await,
        Err(problem) => report_unreadable(&object, &problem, &ctx).await,
    };
    match &result {
        Ok(_) => ctx.succeeded(&key),
        Err(error) => {
            ctx.metrics.reconcile_error(error.kind());
            tracing::warn!(test = %key, error = %error, "reconcile failed, will retry");
        }
    }
    result
}

/// Retries a failed reconcile with exponential backoff per test.
pub fn error_policy(object: Arc<DynamicObject>, _error: &Error, ctx: Arc<Context>) -> Action {
    Action::requeue(ctx.backoff(&object_key(&object)))
}

fn object_key(object: &DynamicObject) -> String {
    format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any())
}

fn decode(object: &DynamicObject) -> Result<LocustTest, String> {
    let value = serde_json::to_value(object).map_err(|error| error.to_string())?;
    serde_json::from_value(value).map_err(|error| error.to_string())
}

fn namespace_of<K: Resource>(object: &K) -> Result<String, Error> {
    object
        .meta()
        .namespace
        .clone()
        .ok_or_else(|| Error::MissingNamespace(object.meta().name.clone().unwrap_or_default()))
}

async fn get_child<K>(api: &Api<K>, name: &str) -> Result<Option<K>, Error>
where
    K: Clone + DeserializeOwned + std::fmt::Debug,
{
    api.get_opt(name).await.during(|| format!("get {name}"))
}

/// What creating one child came to.
enum Creation {
    /// Created now.
    Created,
    /// It exists already (created concurrently, or by an earlier pass that failed later):
    /// creation is idempotent and never duplicates.
    Existed,
    /// The API server refused the object itself (see [`status::is_refusal_of_the_object`]); its
    /// message says why.
    Refused(String),
}

async fn create_child<K>(api: &Api<K>, object: &K, field_manager: &str) -> Result<Creation, Error>
where
    K: Resource + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let params = PostParams {
        field_manager: Some(field_manager.into()),
        ..PostParams::default()
    };
    match api.create(&params, object).await {
        Ok(_) => Ok(Creation::Created),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(Creation::Existed),
        Err(kube::Error::Api(status)) if status::is_refusal_of_the_object(status.code) => {
            Ok(Creation::Refused(status.message))
        }
        Err(source) => Err(Error::Kube {
            action: format!("create {}", object.name_any()),
            source,
        }),
    }
}

async fn reconcile_test(test: &LocustTest, ctx: &Context) -> Result<Action, Error> {
    let previous = test.status.clone().unwrap_or_default();
    if previous.phase.is_some_and(Phase::is_terminal) {
        // Finished tests are records: nothing to observe, nothing to recreate.
        return Ok(Action::await_change());
    }
    let namespace = namespace_of(test)?;
    let name = test.name_any();
    let client = ctx.client.clone();
    let services: Api<Service> = Api::namespaced(client.clone(), &namespace);
    let jobs: Api<Job> = Api::namespaced(client.clone(), &namespace);
    let pods: Api<Pod> = Api::namespaced(client.clone(), &namespace);

    let service = get_child(&services, &naming::master_name(&name)).await?;
    let master_job = get_child(&jobs, &naming::master_name(&name)).await?;
    let worker_job = get_child(&jobs, &naming::worker_name(&name)).await?;
    let fingerprint = build::spec_fingerprint(&test.spec);
    let spec_drifted = [
        master_job.as_ref().map(|j| &j.metadata),
        worker_job.as_ref().map(|j| &j.metadata),
        service.as_ref().map(|s| &s.metadata),
    ]
    .into_iter()
    .flatten()
    .filter_map(build::built_from)
    .any(|built_from| built_from != fingerprint);

    let mut present: Vec<Child> = Vec::new();
    if service.is_some() {
        present.push(Child::Service);
    }
    if master_job.is_some() {
        present.push(Child::MasterJob);
    }
    if worker_job.is_some() {
        present.push(Child::WorkerJob);
    }

    let mut created = Vec::new();
    let build_error = match build::children(test, &ctx.config) {
        Ok(children) => {
            let mut refused = None;
            for child in status::children_to_create(&previous, &present) {
                let manager = &ctx.settings.field_manager;
                let made = match child {
                    Child::Service => create_child(&services, &children.service, manager).await,
                    Child::MasterJob => create_child(&jobs, &children.master_job, manager).await,
                    Child::WorkerJob => create_child(&jobs, &children.worker_job, manager).await,
                };
                match made {
                    Ok(Creation::Created) => {
                        tracing::info!(test = %format!("{namespace}/{name}"), child = %child.name(&name), kind = child.kind(), "created");
                        created.push(child);
                        present.push(child);
                    }
                    Ok(Creation::Existed) => present.push(child),
                    Ok(Creation::Refused(message)) => {
                        tracing::warn!(test = %format!("{namespace}/{name}"), child = %child.name(&name), kind = child.kind(), %message, "the API server refused the child; the test fails");
                        refused = Some(status::refused_child_message(&name, child, &message));
                        break;
                    }
                    Err(error) => {
                        // The next pass will not see these as created: announce them now.
                        publish_events(ctx, test, &status::created_events(&name, &created)).await;
                        return Err(error);
                    }
                }
            }
            refused
        }
        Err(error) => Some(error.to_string()),
    };

    let now = (ctx.clock)();
    let grace = ctx.settings.pod_health_grace_period;
    let test_pods = pods
        .list(&ListParams::default().labels(&naming::test_pods_selector(&name)))
        .await
        .during(|| format!("list pods of {name}"))?
        .items;
    let master_status = master_job.as_ref().and_then(|job| job.status.as_ref());
    let mount_failures = mount_failures(
        &client,
        &namespace,
        &health::pods_stuck_creating(&test_pods, now, grace),
    )
    .await?;
    let pod_health = health::classify(
        &test_pods,
        &mount_failures,
        now,
        grace,
        status::master_finished(master_status),
    );

    // The scraper's latest reading of the master (no network here): real worker count and stats.
    let live = ctx.stats.live(&namespace, &name, test.metadata.uid.as_deref());
    let observation = Observation {
        test_name: &name,
        generation: test.metadata.generation,
        expected_workers: test.spec.worker.replicas,
        present: &present,
        created: &created,
        master_job: master_status,
        worker_job: worker_job.as_ref().and_then(|job| job.status.as_ref()),
        health: pod_health,
        spec_drifted,
        connected_workers: live.connected_workers,
        build_error,
        stats: live.stats,
        stats_unreachable: live.unreachable,
    };
    let settings = status::DeriveSettings {
        stats_interval: ctx.settings.stats_interval,
        master_start_allowance: ctx.settings.pod_health_grace_period,
    };
    let step = status::derive(&previous, &observation, &settings, now);
    if step.status != previous {
        patch_status(ctx, &namespace, &name, &step.status).await?;
    }
    publish_events(ctx, test, &step.events).await;
    Ok(step.requeue_after.map_or_else(Action::await_change, Action::requeue))
}

/// The kubelet's `FailedMount` warnings for pods stuck creating: the only place a missing
/// ConfigMap or Secret volume is named. Read only for pods already past the grace period.
async fn mount_failures(client: &kube::Client, namespace: &str, stuck: &[String]) -> Result<Vec<MountFailure>, Error> {
    let events: Api<CoreEvent> = Api::namespaced(client.clone(), namespace);
    let mut failures = Vec::new();
    for pod in stuck {
        let selector = format!("involvedObject.kind=Pod,involvedObject.name={pod},reason=FailedMount");
        let listed = events
            .list(&ListParams::default().fields(&selector))
            .await
            .during(|| format!("list events of pod {pod}"))?;
        if let Some(latest) = listed.items.into_iter().rev().find_map(|event| event.message) {
            failures.push(MountFailure {
                pod: pod.clone(),
                message: latest,
            });
        }
    }
    Ok(failures)
}

async fn patch_status(ctx: &Context, namespace: &str, name: &str, status: &LocustTestStatus) -> Result<(), Error> {
    // Untyped: the response must decode even when the spec does not (an unreadable test).
    let tests: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &locusttest_resource());
    let body = serde_json::json!({ "status": status });
    let params = PatchParams {
        field_manager: Some(ctx.settings.field_manager.clone()),
        ..PatchParams::default()
    };
    tests
        .patch_status(name, &params, &Patch::Merge(&body))
        .await
        .during(|| format!("patch status of {name}"))?;
    Ok(())
}

/// Events are best effort: a failed event write is logged, never fails the reconcile.
async fn publish_events<K: Resource<DynamicType = ()>>(ctx: &Context, object: &K, notes: &[EventNote]) {
    let reference = object.object_ref(&());
    for note in notes {
        let event = Event {
            type_: match note.type_ {
                EventType::Normal => KubeEventType::Normal,
                EventType::Warning => KubeEventType::Warning,
            },
            reason: note.reason.into(),
            note: Some(note.message.clone()),
            action: "Reconcile".into(),
            secondary: note.related.map(|child| child_reference(child, object)),
        };
        if let Err(error) = ctx.recorder.publish(&event, &reference).await {
            tracing::warn!(reason = note.reason, error = %error, "could not record event");
        }
    }
}

fn child_reference<K: Resource>(child: Child, test: &K) -> ObjectReference {
    ObjectReference {
        api_version: Some(if child == Child::Service { "v1" } else { "batch/v1" }.into()),
        kind: Some(child.kind().into()),
        name: Some(child.name(&test.meta().name.clone().unwrap_or_default())),
        namespace: test.meta().namespace.clone(),
        ..ObjectReference::default()
    }
}

/// A test whose spec cannot be read gets `Failed` with the reason, once (no write if unchanged).
async fn report_unreadable(object: &DynamicObject, problem: &str, ctx: &Context) -> Result<Action, Error> {
    let namespace = namespace_of(object)?;
    let name = object.name_any();
    let previous: LocustTestStatus = object
        .data
        .get("status")
        .and_then(|status| serde_json::from_value(status.clone()).ok())
        .unwrap_or_default();
    let message = format!(
        "the spec cannot be read ({problem}); fix it against the locust.io/v2 schema or delete and recreate the test"
    );
    let already_reported = previous.phase == Some(Phase::Failed)
        && previous
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == conditions::READY && c.message == message);
    if already_reported {
        return Ok(Action::await_change());
    }
    tracing::warn!(test = %format!("{namespace}/{name}"), %problem, "LocustTest spec cannot be read");
    let now = (ctx.clock)();
    let mut status = status::initial_status(object.metadata.generation, 0, now);
    status.phase = Some(Phase::Failed);
    if let Some(ready_condition) = status
        .conditions
        .iter_mut()
        .flatten()
        .find(|c| c.type_ == conditions::READY)
    {
        ready_condition.reason = ready::RESOURCES_FAILED.into();
        ready_condition.message = message;
    }
    patch_status(ctx, &namespace, &name, &status).await?;
    Ok(Action::await_change())
}
