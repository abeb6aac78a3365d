//! Watch wiring: one watch per kind, each feeding both a cache (`crate::cache`) and the
//! controller's triggers. LocustTests are watched typed but guarded, so one undecodable object
//! reaches the unreadable-test path instead of breaking the watch; Jobs, Services and pods only
//! when labelled `managed-by=locust-k8s-operator`, which keeps the caches to the operator's own.
//! The stats scraper adds requests of its own (see [`with_stats_triggers`]).

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use futures::channel::mpsc::UnboundedSender;
use futures::{Stream, StreamExt};
use kube::api::Api;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, reflector};
use kube::runtime::{Controller, WatchStreamExt, controller, watcher};
use kube::{Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use shared::constants::{LABEL_MANAGED_BY, MANAGED_BY};
use shared::observed::{ObservedJob, ObservedPod, ObservedService};
use tokio::sync::watch;

use crate::cache::{Cache, PodIndexWriter, TestObject, Trim};
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
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match scope {
        Scope::Cluster => Api::all(client.clone()),
        Scope::Namespace(namespace) => Api::namespaced(client.clone(), namespace),
    }
}

/// The test a pod belongs to, from its `performance-test-name` label.
fn test_of_pod(pod: ObservedPod) -> Option<ObjectRef<TestObject>> {
    let namespace = pod.namespace()?;
    Some(ObjectRef::new(pod.test()?).within(&namespace))
}

/// Turns true once every watch has listed what it watches into its cache, and stays true (a later
/// re-list does not make a synced replica unready).
pub type Synced = watch::Receiver<bool>;

/// Counts the watches still to list; tells its receiver when none is left.
struct SyncGate {
    remaining: AtomicUsize,
    synced: watch::Sender<bool>,
}

impl SyncGate {
    /// A gate telling `synced` once `watches` watches have listed.
    fn new(watches: usize, synced: watch::Sender<bool>) -> Arc<Self> {
        Arc::new(Self {
            remaining: AtomicUsize::new(watches),
            synced,
        })
    }

    /// Marks one watch listed the first time its `InitDone` passes.
    fn on_init_done<K>(self: &Arc<Self>) -> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) + use<K> {
        let gate = Arc::clone(self);
        let mut done = false;
        move |event| {
            if !done && matches!(event, Ok(watcher::Event::InitDone)) {
                done = true;
                if gate.remaining.fetch_sub(1, Ordering::SeqCst) == 1 {
                    gate.synced.send_replace(true);
                }
            }
        }
    }
}

/// A watch of `api` that keeps `writer`'s store (objects trimmed first) and tells `gate` when it
/// has listed.
fn cached_watch<K>(
    api: Api<K>,
    config: watcher::Config,
    writer: Writer<K>,
    gate: &Arc<SyncGate>,
) -> impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Trim + Send + Sync + 'static,
{
    let stream = watcher(api, config).default_backoff().modify(Trim::trim);
    reflector(writer, stream).inspect(gate.on_init_done())
}

/// Reconciles run at once unless configured otherwise: enough to create a thousand tests' children
/// in seconds, few enough that a burst of them does not hold a thousand builds in memory at once.
pub const DEFAULT_CONCURRENCY: u16 = 16;

/// The controller, built but not started, and the caches its watches fill, reconciling at most
/// `concurrency` tests at once (0: no limit). [`Synced`] says when
/// every watch has listed (they only run while the controller does). The tests are listed only
/// after the Jobs, Services and pods, so no test is reconciled against a half-filled cache, which
/// would see children missing that exist.
pub fn build(client: &Client, scope: &Scope, concurrency: u16) -> (Controller<TestObject>, Cache, Synced) {
    let managed = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGED_BY}"));
    let (children_listed_tx, mut children_listed) = watch::channel(false);
    let children_gate = SyncGate::new(3, children_listed_tx);
    let (synced_tx, synced) = watch::channel(false);
    let tests_gate = SyncGate::new(1, synced_tx);
    let (tests, jobs, services) = (Writer::default(), Writer::default(), Writer::default());
    let mut pods = PodIndexWriter::new();
    let cache = Cache {
        tests: tests.as_reader(),
        jobs: jobs.as_reader(),
        services: services.as_reader(),
        pods: pods.index(),
    };
    let job_events =
        cached_watch(api::<ObservedJob>(client, scope), managed.clone(), jobs, &children_gate).touched_objects();
    let service_events = cached_watch(
        api::<ObservedService>(client, scope),
        managed.clone(),
        services,
        &children_gate,
    )
    .touched_objects();
    // Pods go to an index of their facts rather than a store of objects (see `PodIndex`).
    let mut pods_listed = children_gate.on_init_done();
    let pod_events = watcher(api::<ObservedPod>(client, scope), managed)
        .default_backoff()
        .inspect(move |event| {
            if let Ok(event) = event {
                pods.apply(event);
            }
            pods_listed(event);
        })
        .touched_objects();
    let test_watch = cached_watch(
        api::<TestObject>(client, scope),
        watcher::Config::default().any_semantic(),
        tests,
        &tests_gate,
    );
    let test_events = futures::stream::once(async move {
        // An Err means the children's watches are gone with the controller: nothing to wait for.
        let _ = children_listed.wait_for(|listed| *listed).await;
        test_watch
    })
    .flatten()
    .applied_objects();
    let controller = Controller::for_stream(test_events, cache.tests.clone())
        .with_config(controller::Config::default().concurrency(concurrency))
        .owns_stream(job_events)
        .owns_stream(service_events)
        .watches_stream(pod_events, test_of_pod);
    (controller, cache, synced)
}

/// The controller also reconciling every test sent to the returned sender: how the stats
/// scraper asks for a status update when a master's numbers changed (no watch event says so).
pub fn with_stats_triggers(
    controller: Controller<TestObject>,
) -> (Controller<TestObject>, UnboundedSender<ObjectRef<TestObject>>) {
    let (triggers, requests) = futures::channel::mpsc::unbounded();
    (controller.reconcile_on(requests), triggers)
}

/// Runs the controller until `shutdown` resolves; in-flight reconciles finish first.
pub async fn run(
    controller: Controller<TestObject>,
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
