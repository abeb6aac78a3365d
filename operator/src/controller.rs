//! Watch wiring: LocustTests (as raw objects, so one undecodable object cannot break the watch),
//! the Jobs and Services they own, and their pods (by the `performance-test-name` label). Only
//! objects labelled `managed-by=locust-k8s-operator` are watched, which keeps the cache small.
//! The stats scraper adds requests of its own (see [`with_stats_triggers`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedSender;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, Store, reflector};
use kube::runtime::{Controller, WatchStreamExt, controller, watcher};
use kube::{Client, ResourceExt};
use shared::api::v2::LocustTest;
use shared::constants::{LABEL_MANAGED_BY, LABEL_TEST_NAME, MANAGED_BY};
use tokio::sync::watch;

use crate::context::Context;
use crate::reconcile::{error_policy, reconcile};

/// Where the operator looks for tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every namespace (ClusterRole).
    Cluster,
    /// One namespace (Role).
    Namespace(String),
}

fn api<K>(client: &Client, scope: &Scope) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match scope {
        Scope::Cluster => Api::all(client.clone()),
        Scope::Namespace(namespace) => Api::namespaced(client.clone(), namespace),
    }
}

/// The LocustTest v2 resource, for the untyped watch.
pub fn locusttest_resource() -> ApiResource {
    ApiResource::erase::<LocustTest>(&())
}

/// The test a pod belongs to, from its labels.
fn test_of_pod(pod: Pod) -> Option<ObjectRef<DynamicObject>> {
    let namespace = pod.namespace()?;
    let test = pod.labels().get(LABEL_TEST_NAME)?.clone();
    Some(ObjectRef::new_with(&test, locusttest_resource()).within(&namespace))
}

/// Tests per phase in the cache, for the metrics endpoint. A test without a phase yet counts as
/// `Pending`; deleted tests drop out with the cache.
pub fn phase_counts(store: &Store<DynamicObject>) -> BTreeMap<String, i64> {
    let mut counts: BTreeMap<String, i64> = ["Pending", "Running", "Succeeded", "Failed"]
        .into_iter()
        .map(|phase| (phase.to_string(), 0))
        .collect();
    for test in store.state() {
        let phase = test
            .data
            .pointer("/status/phase")
            .and_then(|p| p.as_str())
            .unwrap_or("Pending");
        *counts.entry(phase.to_string()).or_insert(0) += 1;
    }
    counts
}

/// Turns true once the LocustTest watch has listed every test into the controller's store, and
/// stays true (a later re-list does not make a synced replica unready).
pub type Synced = watch::Receiver<bool>;

/// The controller, built but not started; its store is available before it runs, and [`Synced`]
/// says when its watch of LocustTests has synced (it can only do so while the controller runs).
///
/// The signal comes from the watch stream itself (its `InitDone` event). Awaiting
/// `Store::wait_until_ready` here as well would not do: kube-runtime's store readiness wakes only
/// the last task that polled it, which is the controller's own runner, so a second waiter is
/// never woken and `/readyz` stayed 503 for ever on a real cluster.
pub fn build(client: &Client, scope: &Scope) -> (Controller<DynamicObject>, Synced) {
    let managed = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY}"));
    let tests: Api<DynamicObject> = match scope {
        Scope::Cluster => Api::all_with(client.clone(), &locusttest_resource()),
        Scope::Namespace(namespace) => Api::namespaced_with(client.clone(), namespace, &locusttest_resource()),
    };
    let (synced_tx, synced) = watch::channel(false);
    let writer = Writer::new(locusttest_resource());
    let store = writer.as_reader();
    let test_events = reflector(writer, watcher(tests, watcher::Config::default().any_semantic()))
        .inspect(move |event| {
            if matches!(event, Ok(watcher::Event::InitDone)) {
                synced_tx.send_if_modified(|synced| !std::mem::replace(synced, true));
            }
        })
        .applied_objects();
    let controller = Controller::for_stream_with(test_events, store, locusttest_resource())
        .owns(api::<Job>(client, scope), managed.clone())
        .owns(api::<Service>(client, scope), managed.clone())
        .watches(api::<Pod>(client, scope), managed, test_of_pod);
    (controller, synced)
}

/// The controller also reconciling every test sent to the returned sender: how the stats
/// scraper asks for a status update when a master's numbers changed (no watch event says so).
pub fn with_stats_triggers(
    controller: Controller<DynamicObject>,
) -> (Controller<DynamicObject>, UnboundedSender<ObjectRef<DynamicObject>>) {
    let (triggers, requests) = futures::channel::mpsc::unbounded();
    (controller.reconcile_on(requests), triggers)
}

/// Runs the controller until `shutdown` resolves; in-flight reconciles finish first.
pub async fn run(
    controller: Controller<DynamicObject>,
    ctx: Arc<Context>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                // A test deleted while a reconcile of it was queued: nothing to do, and common
                // after every deletion (its children's deletions queue it again).
                Err(controller::Error::ObjectNotFound(object)) => {
                    tracing::debug!(test = %object, "not reconciled: the test is gone");
                }
                // Watch and queue errors: kube-runtime backs off and retries by itself.
                Err(error) => tracing::warn!(error = %error, "controller event"),
                Ok(_) => {}
            }
        })
        .await;
}
