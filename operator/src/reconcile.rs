//! One reconcile of one LocustTest: read its children and pods from the watch caches, create what
//! is missing (once, from the spec), take the master's latest live statistics from the scraper's
//! cache, derive the status with `shared::status`, patch it only when it changed, and record the
//! events the derivation asks for. A reconcile that changes nothing makes no API request.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Event as CoreEvent, ObjectReference, Service};
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType as KubeEventType};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use shared::api::status::{LocustTestStatus, Phase, ReportStatus};
use shared::api::v2::LocustTest;
use shared::build;
use shared::constants::ANNOTATION_STOP_REQUESTED;
use shared::health::{self, MountFailure};
use shared::naming;
use shared::report;
use shared::status::{self, Child, EventNote, EventType, Observation, StopRequest};

use crate::cache::TestObject;
use crate::context::Context;
use crate::error::{Error, InStep as _, Step};
use crate::scrape::cache::FinalReport;

/// Reconciles one LocustTest as the watch delivered it. An object whose spec cannot be read
/// (for example a v1 object stored without the conversion webhook) gets a status that says so;
/// it never stops the operator or the watch.
pub async fn reconcile(object: Arc<TestObject>, ctx: Arc<Context>) -> Result<Action, Error> {
    let _timer = ctx.metrics.reconcile_timer();
    let key = object_key(&object);
    let result = match &object.0 {
        Ok(test) => reconcile_test(test, &ctx).await,
        Err(invalid) => report_unreadable(&invalid.metadata, &invalid.error, &ctx).await,
    };
    match &result {
        Ok(_) => ctx.succeeded(&key),
        Err(error) => {
            ctx.metrics.reconcile_error(error.step(), error.kind());
            tracing::warn!(test = %key, error = %error, "reconcile failed, will retry");
        }
    }
    result
}

/// Retries a failed reconcile with exponential backoff per test.
pub fn error_policy(object: Arc<TestObject>, _error: &Error, ctx: Arc<Context>) -> Action {
    Action::requeue(ctx.backoff(&object_key(&object)))
}

fn object_key(object: &TestObject) -> String {
    format!("{}/{}", object.namespace().unwrap_or_default(), object.name_any())
}

fn namespace_of<K: Resource>(object: &K) -> Result<String, Error> {
    object
        .meta()
        .namespace
        .clone()
        .ok_or_else(|| Error::MissingNamespace(object.meta().name.clone().unwrap_or_default()))
}

/// What creating one child came to.
enum Creation {
    /// Created now.
    Created,
    /// It exists already (created concurrently, or by an earlier pass that failed later, or not
    /// yet in the cache): creation is idempotent and never duplicates.
    Existed,
    /// The API server refused the object itself (see [`is_refusal_of_the_object`]); its message
    /// says why.
    Refused(String),
}

/// Whether the API server refused to create a child because of what it holds (HTTP 422 Invalid,
/// 400 BadRequest, including an admission webhook's denial): creating it again from the same
/// spec cannot succeed, unlike a conflict, a permission or quota problem, or an unreachable server.
fn is_refusal_of_the_object(http_status: u16) -> bool {
    matches!(http_status, 400 | 422)
}

async fn create_child<K>(api: &Api<K>, object: &K, field_manager: &str) -> Result<Creation, kube::Error>
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
        Err(kube::Error::Api(status)) if is_refusal_of_the_object(status.code) => Ok(Creation::Refused(status.message)),
        Err(error) => Err(error),
    }
}

/// The words of a failed create for the status: the API server's message, or the client's.
fn server_words(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// The children's creations this pass.
#[derive(Default)]
struct Creations {
    /// Created now.
    created: Vec<Child>,
    /// Why the spec cannot become children: it does not build, or the server refused a child.
    build_error: Option<String>,
    /// A creation that failed but may succeed when retried, with the error to retry on.
    retry: Option<(String, Error)>,
}

async fn create_missing(
    test: &LocustTest,
    previous: &LocustTestStatus,
    present: &mut Vec<Child>,
    ctx: &Context,
) -> Creations {
    let mut outcome = Creations::default();
    let name = test.name_any();
    let namespace = test.namespace().unwrap_or_default();
    let uid = test.uid().unwrap_or_default();
    let children = match build::children(test, &ctx.config) {
        Ok(children) => children,
        Err(error) => {
            outcome.build_error = Some(error.to_string());
            return outcome;
        }
    };
    let services: Api<Service> = Api::namespaced(ctx.client.clone(), &namespace);
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let manager = &ctx.settings.field_manager;
    for child in status::children_to_create(previous, present) {
        let made = match child {
            Child::Service => create_child(&services, &children.service, manager).await,
            Child::MasterJob => create_child(&jobs, &children.master_job, manager).await,
            Child::WorkerJob => create_child(&jobs, &children.worker_job, manager).await,
        };
        let test_key = format!("{namespace}/{name}");
        match made {
            Ok(Creation::Created) => {
                tracing::info!(test = %test_key, child = %child.name(&name), kind = child.kind(), "created");
                ctx.created_child(&uid, child);
                outcome.created.push(child);
                present.push(child);
            }
            Ok(Creation::Existed) => {
                ctx.created_child(&uid, child);
                present.push(child);
            }
            Ok(Creation::Refused(message)) => {
                tracing::warn!(test = %test_key, child = %child.name(&name), kind = child.kind(), %message, "the API server refused the child; the test fails");
                outcome.build_error = Some(status::refused_child_message(&name, child, &message));
                break;
            }
            Err(source) => {
                let words = server_words(&source);
                tracing::warn!(test = %test_key, child = %child.name(&name), kind = child.kind(), error = %words, "cannot create the child yet; retrying");
                let error = Error::Kube {
                    step: Step::CreateChild,
                    object: format!("{} {}", child.kind(), child.name(&name)),
                    source,
                };
                outcome.retry = Some((status::creation_retry_message(&name, child, &words), error));
                break;
            }
        }
    }
    outcome
}

async fn reconcile_test(test: &LocustTest, ctx: &Context) -> Result<Action, Error> {
    let watched = test.status.clone().unwrap_or_default();
    if watched.phase.is_some_and(Phase::is_terminal) {
        // Finished tests are records: nothing to observe, nothing to recreate.
        return Ok(Action::await_change());
    }
    let namespace = namespace_of(test)?;
    let name = test.name_any();
    let uid = test.uid().unwrap_or_default();
    let previous = ctx.previous_status(&uid, &watched);
    if previous.phase.is_some_and(Phase::is_terminal) {
        return Ok(Action::await_change());
    }

    let service = ctx.cache.service(&namespace, &naming::master_name(&name));
    let master_job = ctx.cache.job(&namespace, &naming::master_name(&name));
    let worker_job = ctx.cache.job(&namespace, &naming::worker_name(&name));
    let spec_drifted = status::spec_drifted(
        &build::spec_fingerprint(&test.spec),
        [
            master_job.as_ref().map(|job| &job.metadata),
            worker_job.as_ref().map(|job| &job.metadata),
            service.as_ref().map(|service| &service.metadata),
        ]
        .into_iter()
        .flatten(),
    );
    let cached: Vec<Child> = [
        (Child::Service, service.is_some()),
        (Child::MasterJob, master_job.is_some()),
        (Child::WorkerJob, worker_job.is_some()),
    ]
    .into_iter()
    .filter_map(|(child, exists)| exists.then_some(child))
    .collect();
    let mut present = ctx.present_children(&uid, &cached);

    let creations = create_missing(test, &previous, &mut present, ctx).await;

    let now = (ctx.clock)();
    let grace = ctx.settings.status.grace_period;
    let test_pods = ctx.cache.pods_of(&namespace, &name);
    let master_status = master_job.as_ref().and_then(|job| job.status.as_ref());
    let mount_failures = mount_failures(
        &ctx.client,
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
    let (creation_retry, retry_error) = match creations.retry {
        Some((message, error)) => (Some(message), Some(error)),
        None => (None, None),
    };
    let stop_requested = test
        .annotations()
        .get(ANNOTATION_STOP_REQUESTED)
        .and_then(|value| StopRequest::from_annotation(value));
    let observation = Observation {
        test_name: &name,
        generation: test.metadata.generation,
        expected_workers: test.spec.worker.replicas,
        present: &present,
        created: &creations.created,
        master_job: master_status,
        worker_job: worker_job.as_ref().and_then(|job| job.status.as_ref()),
        health: pod_health,
        spec_drifted,
        connected_workers: live.connected_workers,
        build_error: creations.build_error,
        stats: live.stats,
        stats_unreachable: live.unreachable,
        creation_retry,
        thresholds: test.spec.thresholds.as_ref(),
        last_stats: live.last_report.as_deref(),
        stop_requested: stop_requested.as_ref(),
    };
    let mut step = status::derive(&previous, &observation, &ctx.settings.status, now);
    if let Some(final_report) = live.final_report.filter(|_| previous.report.is_none()) {
        step.status.report = save_report(test, &final_report, ctx).await;
    }
    if step.status != previous {
        patch_status(ctx, &namespace, &name, &uid, &step.status).await?;
    }
    publish_events(ctx, test, &step.events).await;
    if let Some(error) = retry_error {
        // The status says so; the controller retries with backoff.
        return Err(error);
    }
    Ok(step.requeue_after.map_or_else(Action::await_change, Action::requeue))
}

/// Saves Locust's final report of `test` into its report ConfigMap, once; what `status.report`
/// says about it. A report that cannot be saved never fails the test: the status says why. `None`
/// when the API server could not be reached (the next pass tries again).
async fn save_report(test: &LocustTest, final_report: &FinalReport, ctx: &Context) -> Option<ReportStatus> {
    let test_key = format!("{}/{}", test.namespace().unwrap_or_default(), test.name_any());
    let mut stored = report::store(test, &final_report.files.files, final_report.read_at);
    if let Some(config_map) = &stored.config_map {
        let config_maps: Api<ConfigMap> = Api::namespaced(ctx.client.clone(), &test.namespace().unwrap_or_default());
        match create_child(&config_maps, config_map, &ctx.settings.field_manager).await {
            Ok(Creation::Created | Creation::Existed) => {
                tracing::info!(test = %test_key, config_map = %config_map.name_any(), "saved Locust's final report");
            }
            Ok(Creation::Refused(message)) => {
                tracing::warn!(test = %test_key, %message, "the API server refused the report ConfigMap");
                stored.status.config_map = None;
                stored.status.files = None;
                stored.status.message = Some(format!("report not saved: {message}"));
            }
            Err(error) => {
                tracing::warn!(test = %test_key, error = %server_words(&error), "cannot save the final report yet; retrying");
                return None;
            }
        }
    }
    report::note_unread(&mut stored.status, &final_report.files.missing);
    Some(stored.status)
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
            .in_step(Step::ListEvents, || format!("pod {pod}"))?;
        if let Some(latest) = listed.items.into_iter().rev().find_map(|event| event.message) {
            failures.push(MountFailure {
                pod: pod.clone(),
                message: latest,
            });
        }
    }
    Ok(failures)
}

async fn patch_status(
    ctx: &Context,
    namespace: &str,
    name: &str,
    uid: &str,
    status: &LocustTestStatus,
) -> Result<(), Error> {
    // Untyped: the response must decode even when the spec does not (an unreadable test).
    let resource = ApiResource::erase::<LocustTest>(&());
    let tests: Api<DynamicObject> = Api::namespaced_with(ctx.client.clone(), namespace, &resource);
    let body = serde_json::json!({ "status": status });
    let params = PatchParams {
        field_manager: Some(ctx.settings.field_manager.clone()),
        ..PatchParams::default()
    };
    tests
        .patch_status(name, &params, &Patch::Merge(&body))
        .await
        .in_step(Step::PatchStatus, || format!("LocustTest {namespace}/{name}"))?;
    ctx.wrote_status(uid, status);
    Ok(())
}

/// Events are best effort: a failed event write is logged, never fails the reconcile.
async fn publish_events<K: Resource<DynamicType = ()>>(ctx: &Context, object: &K, notes: &[EventNote]) {
    if notes.is_empty() {
        return;
    }
    let once = ctx.once_recorder();
    let reference = object.object_ref(&());
    for note in notes {
        let recorder = match note.type_ {
            EventType::Warning => &ctx.warnings,
            EventType::Normal => &once,
        };
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
        if let Err(error) = recorder.publish(&event, &reference).await {
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
async fn report_unreadable(
    metadata: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
    problem: &str,
    ctx: &Context,
) -> Result<Action, Error> {
    let name = metadata.name.clone().unwrap_or_default();
    let namespace = metadata
        .namespace
        .clone()
        .ok_or_else(|| Error::MissingNamespace(name.clone()))?;
    let uid = metadata.uid.clone().unwrap_or_default();
    // The watched copy's status cannot be read either: what this operator wrote is all it knows.
    let previous = ctx.previous_status(&uid, &LocustTestStatus::default());
    let Some(status) = status::unreadable(&previous, metadata.generation, problem, (ctx.clock)()) else {
        return Ok(Action::await_change());
    };
    tracing::warn!(test = %format!("{namespace}/{name}"), %problem, "LocustTest spec cannot be read");
    patch_status(ctx, &namespace, &name, &uid, &status).await?;
    Ok(Action::await_change())
}
