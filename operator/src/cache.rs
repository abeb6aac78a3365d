//! What the operator's watches hold: every LocustTest, and the Jobs, Services and pods labelled
//! `managed-by=locust-k8s-operator`, kept as `shared::observed` has them: what decisions read.
//! Reconciles read children and pods from here, so a reconcile that changes nothing makes no API
//! request at all.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};

use k8s_openapi::api::core::v1::Pod;
use kube::Resource;
use kube::core::DeserializeGuard;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use shared::api::status::Phase;
use shared::api::v2::LocustTest;
use shared::observed::{ObservedJob, ObservedPod, ObservedService, PodFacts};

/// A LocustTest as watched: the test, or why it could not be read (its metadata is still there).
pub type TestObject = DeserializeGuard<LocustTest>;

/// Read access to the watched objects.
#[derive(Clone)]
pub struct Cache {
    /// Every LocustTest in scope.
    pub tests: Store<TestObject>,
    /// Jobs the operator made.
    pub jobs: Store<ObservedJob>,
    /// Services the operator made.
    pub services: Store<ObservedService>,
    /// Pods of the operator's Jobs.
    pub pods: PodIndex,
}

impl Cache {
    /// The Job `name` in `namespace`.
    pub fn job(&self, namespace: &str, name: &str) -> Option<Arc<ObservedJob>> {
        self.jobs.get(&ObjectRef::new(name).within(namespace))
    }

    /// The Service `name` in `namespace`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<Arc<ObservedService>> {
        self.services.get(&ObjectRef::new(name).within(namespace))
    }

    /// The pods of test `test` in `namespace` (by their `performance-test-name` label), as
    /// `shared::health` reads them.
    pub fn pods_of(&self, namespace: &str, test: &str) -> Vec<Pod> {
        self.pods.pods_of(namespace, test)
    }
}

/// The phase a watched test shows; an unreadable one counts as Failed (its status says so once
/// the operator has reported it), one without a phase yet as Pending.
pub fn phase_of(test: &TestObject) -> Phase {
    match &test.0 {
        Ok(test) => test
            .status
            .as_ref()
            .and_then(|status| status.phase)
            .unwrap_or(Phase::Pending),
        Err(_) => Phase::Failed,
    }
}

/// Tests per phase in the cache, for the metrics endpoint; deleted tests drop out with the cache.
pub fn phase_counts(cache: &Cache) -> BTreeMap<String, i64> {
    let mut counts: BTreeMap<String, i64> = [Phase::Pending, Phase::Running, Phase::Succeeded, Phase::Failed]
        .into_iter()
        .map(|phase| (phase.as_str().to_string(), 0))
        .collect();
    for test in cache.tests.state() {
        *counts.entry(phase_of(&test).as_str().to_string()).or_insert(0) += 1;
    }
    counts
}

/// Pods by namespace and test, as `shared::observed::PodFacts`: a pod's facts without an
/// `ObjectMeta` or label map each, and found without scanning every pod.
#[derive(Clone, Default)]
pub struct PodIndex {
    pods: Arc<RwLock<PodsByTest>>,
}

type PodsByTest = HashMap<(String, String), BTreeMap<String, PodFacts>>;

impl PodIndex {
    /// The pods of test `test` in `namespace`, as `shared::health` reads them.
    pub fn pods_of(&self, namespace: &str, test: &str) -> Vec<Pod> {
        let pods = self.pods.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        pods.get(&(namespace.to_string(), test.to_string()))
            .into_iter()
            .flat_map(BTreeMap::values)
            .map(|facts| facts.to_pod(namespace, test))
            .collect()
    }

    /// How many pods it holds.
    pub fn len(&self) -> usize {
        let pods = self.pods.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        pods.values().map(BTreeMap::len).sum()
    }

    /// Whether it holds no pod.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Keeps a [`PodIndex`] up to date from a pod watch's events, as a reflector keeps a store.
pub struct PodIndexWriter {
    index: PodIndex,
    /// The pods of a (re)list in progress; they replace the index at its end.
    relisting: Option<PodsByTest>,
}

impl PodIndexWriter {
    /// A writer of a new, empty index.
    pub fn new() -> Self {
        Self {
            index: PodIndex::default(),
            relisting: None,
        }
    }

    /// The index it writes.
    pub fn index(&self) -> PodIndex {
        self.index.clone()
    }

    /// Applies one watch event.
    pub fn apply(&mut self, event: &watcher::Event<ObservedPod>) {
        fn key(pod: &ObservedPod) -> Option<(String, String)> {
            Some((pod.metadata.namespace.clone()?, pod.test()?.to_string()))
        }
        fn insert(pods: &mut PodsByTest, pod: &ObservedPod) {
            if let Some(key) = key(pod) {
                let facts = pod.facts();
                pods.entry(key).or_default().insert(facts.name.clone(), facts);
            }
        }
        match event {
            watcher::Event::Init => self.relisting = Some(PodsByTest::new()),
            watcher::Event::InitApply(pod) => {
                if let Some(relisting) = self.relisting.as_mut() {
                    insert(relisting, pod);
                }
            }
            watcher::Event::InitDone => {
                if let Some(relisted) = self.relisting.take() {
                    *self.index.pods.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = relisted;
                }
            }
            watcher::Event::Apply(pod) => {
                insert(
                    &mut self.index.pods.write().unwrap_or_else(|poisoned| poisoned.into_inner()),
                    pod,
                );
            }
            watcher::Event::Delete(pod) => {
                let mut pods = self.index.pods.write().unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Some(key) = key(pod) {
                    let now_empty = pods.get_mut(&key).is_some_and(|of_test| {
                        of_test.remove(pod.metadata.name.as_deref().unwrap_or_default());
                        of_test.is_empty()
                    });
                    if now_empty {
                        pods.remove(&key);
                    }
                }
            }
        }
    }
}

impl Default for PodIndexWriter {
    fn default() -> Self {
        Self::new()
    }
}

/// Trims one watched object in place, before it is stored (the `modify` of its watch stream).
pub trait Trim {
    /// Drops what no decision reads.
    fn trim(&mut self);
}

impl Trim for TestObject {
    fn trim(&mut self) {
        match &mut self.0 {
            Ok(test) => shared::observed::trim_test(test),
            Err(invalid) => invalid.metadata.managed_fields = None,
        }
    }
}

impl Trim for ObservedJob {
    fn trim(&mut self) {
        ObservedJob::trim(self);
    }
}

impl Trim for ObservedService {
    fn trim(&mut self) {
        ObservedService::trim(self);
    }
}

/// Fills a [`Cache`] from lists of objects, replacing what it held, as a watch's re-list would:
/// for tests and benchmarks that drive reconciles without running watches.
pub struct CacheFiller {
    tests: Writer<TestObject>,
    jobs: Writer<ObservedJob>,
    services: Writer<ObservedService>,
    pods: PodIndexWriter,
}

impl CacheFiller {
    /// An empty cache and what fills it.
    pub fn new() -> (Self, Cache) {
        let filler = Self {
            tests: Writer::default(),
            jobs: Writer::default(),
            services: Writer::default(),
            pods: PodIndexWriter::new(),
        };
        let cache = Cache {
            tests: filler.tests.as_reader(),
            jobs: filler.jobs.as_reader(),
            services: filler.services.as_reader(),
            pods: filler.pods.index(),
        };
        (filler, cache)
    }

    /// Makes the cache hold exactly these objects, trimmed as the watches trim them.
    pub fn fill(
        &mut self,
        tests: Vec<TestObject>,
        jobs: Vec<ObservedJob>,
        services: Vec<ObservedService>,
        pods: Vec<ObservedPod>,
    ) {
        relist(&mut self.tests, tests);
        relist(&mut self.jobs, jobs);
        relist(&mut self.services, services);
        self.pods.apply(&watcher::Event::Init);
        for pod in pods {
            self.pods.apply(&watcher::Event::InitApply(pod));
        }
        self.pods.apply(&watcher::Event::InitDone);
    }
}

fn relist<K>(writer: &mut Writer<K>, objects: Vec<K>)
where
    K: Resource + Clone + Trim + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    writer.apply_watcher_event(&watcher::Event::Init);
    for mut object in objects {
        object.trim();
        writer.apply_watcher_event(&watcher::Event::InitApply(object));
    }
    writer.apply_watcher_event(&watcher::Event::InitDone);
}
