//! A running LocustTest in the fake API server with an operator context that reads live statistics
//! from a [`StatsCache`], for the scraper's tests (recorded answers and a real Locust).

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use operator::cache::TestObject;
use operator::context::Context;
use operator::metrics::Metrics;
use operator::scrape::{Access, ScrapeSettings, Scraper, StatsCache};
use serde_json::{Value, json};
use shared::api::status::{LocustTestStatus, Phase};
use shared::api::v2::LocustTest;
use shared::naming;

use super::{FakeApi, Operator, RecordedEvent};

/// Namespace of the harness's test.
pub const NS: &str = "load";

/// One fake API server with one LocustTest, the cache the scraper fills and a context reading it.
pub struct StatsHarness {
    /// The API server.
    pub fake: FakeApi,
    /// The test's name.
    pub name: String,
    /// Filled by scrapers made with [`StatsHarness::scraper`].
    pub cache: Arc<StatsCache>,
    /// What reconciles get; reads `cache`.
    pub ctx: Arc<Context>,
    /// The operator around `ctx`.
    pub operator: Operator,
    /// The operator's metrics, with the per-test series from `cache`.
    pub metrics: Arc<Metrics>,
}

impl StatsHarness {
    /// A test `name` expecting `workers` workers, created at a fixed time; nothing reconciled yet.
    pub fn new(name: &str, workers: i32) -> Self {
        Self::with_spec(
            name,
            json!({
                "image": "locustio/locust:2.47.0",
                "master": { "command": "--locustfile /lotest/src/demo.py --host https://example.com" },
                "worker": { "command": "--locustfile /lotest/src/demo.py", "replicas": workers },
            }),
        )
    }

    /// A test `name` with `spec`, created at a fixed time; nothing reconciled yet.
    pub fn with_spec(name: &str, spec: Value) -> Self {
        let fake = FakeApi::new("2025-03-01T10:00:00Z".parse().unwrap());
        fake.insert(json!({
            "apiVersion": "locust.io/v2",
            "kind": "LocustTest",
            "metadata": { "name": name, "namespace": NS },
            "spec": spec,
        }));
        let cache = Arc::new(StatsCache::new());
        let series = cache.clone();
        let metrics = Arc::new(Metrics::new(Box::new(Vec::new)).with_test_series(Box::new(move || series.samples())));
        let operator = Operator::with_stats(&fake, metrics.clone(), cache.clone());
        Self {
            fake,
            name: name.to_string(),
            cache,
            ctx: operator.ctx.clone(),
            operator,
            metrics,
        }
    }

    /// Brings the test to Running: children created, master pod active, `active_workers` worker
    /// pods active (what the operator counts without live statistics).
    pub async fn running(name: &str, workers: i32, active_workers: i32) -> Self {
        Self::new(name, workers).start(active_workers).await
    }

    /// Brings the test to Running as [`StatsHarness::running`] does.
    pub async fn start(self, active_workers: i32) -> Self {
        let harness = self;
        let name = harness.name.clone();
        let name = name.as_str();
        harness.reconcile().await;
        harness
            .fake
            .set_status::<Job>(NS, &naming::master_name(name), json!({ "active": 1 }));
        harness
            .fake
            .set_status::<Job>(NS, &naming::worker_name(name), json!({ "active": active_workers }));
        harness.reconcile().await;
        assert_eq!(harness.status().phase, Some(Phase::Running));
        harness
    }

    /// A scraper filling this harness's cache, on the fake's clock.
    pub fn scraper(&self, access: Access, settings: ScrapeSettings) -> Scraper {
        Scraper::new(access, settings, self.cache.clone()).with_clock(self.fake.clock())
    }

    /// The API-proxy access through the fake API server.
    pub fn api_proxy(&self) -> Access {
        Access::ApiProxy(self.fake.client())
    }

    /// The test as the watch would deliver it now.
    pub fn delivered(&self) -> Arc<TestObject> {
        self.operator.delivered(NS, &self.name)
    }

    /// One reconcile, which must succeed.
    pub async fn reconcile(&self) {
        if let Err(error) = self.operator.reconcile(NS, &self.name).await {
            panic!("reconcile failed: {error}");
        }
    }

    /// The stored status.
    pub fn status(&self) -> LocustTestStatus {
        self.fake
            .get::<LocustTest>(NS, &self.name)
            .expect("the LocustTest exists")
            .status
            .unwrap_or_default()
    }

    /// The stored condition of `type_`.
    pub fn condition(&self, type_: &str) -> Condition {
        self.status()
            .conditions
            .unwrap_or_default()
            .into_iter()
            .find(|condition| condition.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} condition in {:#?}", self.status()))
    }

    /// Events recorded so far with `reason`.
    pub fn events_with_reason(&self, reason: &str) -> Vec<RecordedEvent> {
        self.fake
            .events(NS)
            .into_iter()
            .filter(|event| event.reason == reason)
            .collect()
    }

    /// Moves the fake clock (the scraper's and the reconciles') forward.
    pub fn advance(&self, by: Duration) {
        self.fake.advance(by);
    }

    /// The fake's current time.
    pub fn now(&self) -> Timestamp {
        self.fake.now()
    }

    /// The operator's `/metrics` text.
    pub fn exposition(&self) -> String {
        self.metrics.encode()
    }
}

/// The value of the exposition line written exactly as `series` (name and labels).
pub fn metric_value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}
