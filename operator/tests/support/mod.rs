//! Test support shared by the operator's integration tests: an in-memory Kubernetes API that the
//! real `kube::Client` talks to, so reconcile code runs unchanged with no cluster; the operator's
//! context against it; and a running test wired to a live-statistics cache.

// The tests and each benchmark that includes this module use a different subset of the helpers.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub use fake_api;
pub mod process;
pub mod stats;

use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use fake_api::{FakeApi, ObjectKey, RecordedEvent};
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use operator::cache::{CacheFiller, TestObject};
use operator::context::Context;
use operator::error::Error;
use operator::metrics::Metrics;
use operator::settings::Settings;
use shared::config::OperatorConfig;
use shared::observed::{ObservedJob, ObservedPod, ObservedService};

/// The operator's context against a fake API server, on its clock, and what fills the context's
/// cache from what the fake holds: as the watches would, but at once and without requests, so a
/// test decides exactly when the operator sees a change.
pub struct Operator {
    /// What reconciles get.
    pub ctx: Arc<Context>,
    fake: FakeApi,
    filler: Mutex<CacheFiller>,
}

impl Operator {
    /// A context with `settings` and `metrics` against `fake`.
    pub fn new(fake: &FakeApi, settings: Settings, metrics: Arc<Metrics>) -> Self {
        let (filler, cache) = CacheFiller::new();
        let ctx =
            Context::new(fake.client(), OperatorConfig::default(), settings, metrics, cache).with_clock(fake.clock());
        Self {
            ctx: Arc::new(ctx),
            fake: fake.clone(),
            filler: Mutex::new(filler),
        }
    }

    /// The same, reading live statistics from `stats`.
    pub fn with_stats(fake: &FakeApi, metrics: Arc<Metrics>, stats: Arc<operator::scrape::StatsCache>) -> Self {
        let (filler, cache) = CacheFiller::new();
        let ctx = Context::new(
            fake.client(),
            OperatorConfig::default(),
            Settings::default(),
            metrics,
            cache,
        )
        .with_clock(fake.clock())
        .with_stats(stats);
        Self {
            ctx: Arc::new(ctx),
            fake: fake.clone(),
            filler: Mutex::new(filler),
        }
    }

    /// A context with the default settings and metrics that count nothing per phase.
    pub fn default_for(fake: &FakeApi) -> Self {
        let (filler, cache) = CacheFiller::new();
        Self {
            ctx: Arc::new(Context::for_test(fake.client(), cache, fake.clock())),
            fake: fake.clone(),
            filler: Mutex::new(filler),
        }
    }

    /// Makes the cache hold what the fake holds now.
    pub fn observe(&self) {
        self.observe_hiding_job("");
    }

    /// Makes the cache hold what the fake holds now but the Job `hidden`: a watch that has not
    /// delivered it yet.
    pub fn observe_hiding_job(&self, hidden: &str) {
        let jobs = self.fake.all::<ObservedJob>();
        self.filler.lock().unwrap().fill(
            self.fake.all::<TestObject>(),
            jobs.into_iter()
                .filter(|job| job.metadata.name.as_deref() != Some(hidden))
                .collect(),
            self.fake.all::<ObservedService>(),
            self.fake.all::<ObservedPod>(),
        );
    }

    /// Test `name` in `namespace` as the cache holds it.
    pub fn cached(&self, namespace: &str, name: &str) -> Arc<TestObject> {
        self.ctx
            .cache
            .tests
            .get(&ObjectRef::new(name).within(namespace))
            .unwrap_or_else(|| panic!("LocustTest {namespace}/{name} is not in the cache"))
    }

    /// Test `name` in `namespace` as the watch delivers it, after [`Operator::observe`].
    pub fn delivered(&self, namespace: &str, name: &str) -> Arc<TestObject> {
        self.observe();
        self.cached(namespace, name)
    }

    /// One reconcile of test `name` in `namespace` as it is now.
    pub async fn reconcile(&self, namespace: &str, name: &str) -> Result<Action, Error> {
        operator::reconcile::reconcile(self.delivered(namespace, name), self.ctx.clone()).await
    }

    /// One reconcile of test `name` in `namespace` with the cache as it is (no new observation).
    pub async fn reconcile_cached(&self, namespace: &str, name: &str) -> Result<Action, Error> {
        operator::reconcile::reconcile(self.cached(namespace, name), self.ctx.clone()).await
    }
}

/// Polls `done` every 20 ms for up to 10 s; panics saying `what` when it never holds.
pub async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(tokio::time::Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
