//! What the operator's watches hold: every LocustTest, and the Jobs, Services and pods labelled
//! `managed-by=locust-k8s-operator`, each trimmed to what decisions read (`shared::trim`).
//! Reconciles read children and pods from here, so a reconcile that changes nothing makes no API
//! request at all.

use std::sync::Arc;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Service};
use kube::core::DeserializeGuard;
use kube::runtime::reflector::store::Writer;
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Resource, ResourceExt};
use shared::api::v2::LocustTest;
use shared::constants::LABEL_TEST_NAME;

/// A LocustTest as watched: the test, or why it could not be read (its metadata is still there).
pub type TestObject = DeserializeGuard<LocustTest>;

/// Read access to the watched objects.
#[derive(Clone)]
pub struct Cache {
    /// Every LocustTest in scope.
    pub tests: Store<TestObject>,
    /// Jobs the operator made.
    pub jobs: Store<Job>,
    /// Services the operator made.
    pub services: Store<Service>,
    /// Pods of the operator's Jobs.
    pub pods: Store<Pod>,
}

impl Cache {
    /// The Job `name` in `namespace`.
    pub fn job(&self, namespace: &str, name: &str) -> Option<Arc<Job>> {
        self.jobs.get(&ObjectRef::new(name).within(namespace))
    }

    /// The Service `name` in `namespace`.
    pub fn service(&self, namespace: &str, name: &str) -> Option<Arc<Service>> {
        self.services.get(&ObjectRef::new(name).within(namespace))
    }

    /// The pods of test `test` in `namespace` (by their `performance-test-name` label).
    pub fn pods_of(&self, namespace: &str, test: &str) -> Vec<Pod> {
        self.pods
            .state()
            .iter()
            .filter(|pod| {
                pod.metadata.namespace.as_deref() == Some(namespace)
                    && pod.labels().get(LABEL_TEST_NAME).map(String::as_str) == Some(test)
            })
            .map(|pod| Pod::clone(pod))
            .collect()
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
            Ok(test) => shared::trim::test(test),
            Err(invalid) => invalid.metadata.managed_fields = None,
        }
    }
}

impl Trim for Job {
    fn trim(&mut self) {
        shared::trim::job(self);
    }
}

impl Trim for Service {
    fn trim(&mut self) {
        shared::trim::service(self);
    }
}

impl Trim for Pod {
    fn trim(&mut self) {
        shared::trim::pod(self);
    }
}

/// Fills a [`Cache`] from lists of objects, replacing what it held, as a watch's re-list would:
/// for tests and benchmarks that drive reconciles without running watches.
pub struct CacheFiller {
    tests: Writer<TestObject>,
    jobs: Writer<Job>,
    services: Writer<Service>,
    pods: Writer<Pod>,
}

impl CacheFiller {
    /// An empty cache and what fills it.
    pub fn new() -> (Self, Cache) {
        let filler = Self {
            tests: Writer::default(),
            jobs: Writer::default(),
            services: Writer::default(),
            pods: Writer::default(),
        };
        let cache = Cache {
            tests: filler.tests.as_reader(),
            jobs: filler.jobs.as_reader(),
            services: filler.services.as_reader(),
            pods: filler.pods.as_reader(),
        };
        (filler, cache)
    }

    /// Makes the cache hold exactly these objects, trimmed as the watches trim them.
    pub fn fill(&mut self, tests: Vec<TestObject>, jobs: Vec<Job>, services: Vec<Service>, pods: Vec<Pod>) {
        relist(&mut self.tests, tests);
        relist(&mut self.jobs, jobs);
        relist(&mut self.services, services);
        relist(&mut self.pods, pods);
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
