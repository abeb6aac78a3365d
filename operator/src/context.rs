//! What every reconcile shares: the API client, the operator configuration, the event recorder,
//! the latest live statistics and per-test retry state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use shared::config::OperatorConfig;

use crate::metrics::Metrics;
use crate::scrape::StatsCache;

/// Operator behaviour set by flags (not by the Helm-documented environment).
#[derive(Debug, Clone)]
pub struct Settings {
    /// How long after pod creation failures count (default 2 minutes).
    pub pod_health_grace_period: Duration,
    /// Field manager name for the operator's writes.
    pub field_manager: String,
    /// How often masters' statistics are read; `status.stats` is rewritten at most this often
    /// unless Locust's state or the worker count changes.
    pub stats_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            pod_health_grace_period: shared::health::DEFAULT_GRACE_PERIOD,
            field_manager: FIELD_MANAGER.into(),
            stats_interval: crate::scrape::DEFAULT_INTERVAL,
        }
    }
}

/// The operator's name in managedFields and events.
pub const FIELD_MANAGER: &str = "locust-operator";

/// The current time; injectable so tests run on a fixed clock.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// Shared by all reconciles.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Settings documented as Helm values / environment variables.
    pub config: OperatorConfig,
    /// Settings from flags.
    pub settings: Settings,
    /// Records events on LocustTests.
    pub recorder: Recorder,
    /// Operator metrics.
    pub metrics: Arc<Metrics>,
    /// The current time.
    pub clock: Clock,
    /// The latest reading of each running master (filled by the scraper; empty without one).
    pub stats: Arc<StatsCache>,
    /// Consecutive failures per test (`namespace/name`), for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    /// A context with the real clock.
    pub fn new(client: Client, config: OperatorConfig, settings: Settings, metrics: Arc<Metrics>) -> Self {
        Self::with_clock(client, config, settings, metrics, Arc::new(Timestamp::now))
    }

    /// A context with the given clock.
    pub fn with_clock(
        client: Client,
        config: OperatorConfig,
        settings: Settings,
        metrics: Arc<Metrics>,
        clock: Clock,
    ) -> Self {
        let reporter = Reporter {
            controller: settings.field_manager.clone(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            config,
            settings,
            metrics,
            clock,
            stats: Arc::new(StatsCache::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// The same context reading live statistics from `cache` (the one the scraper fills).
    #[must_use]
    pub fn with_stats(mut self, cache: Arc<StatsCache>) -> Self {
        self.stats = cache;
        self
    }

    /// Records a failure of `key` and returns how long to wait before retrying: 1 s doubling
    /// per consecutive failure, at most 5 minutes.
    pub fn backoff(&self, key: &str) -> Duration {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let count = failures.entry(key.to_string()).or_insert(0);
        *count = count.saturating_add(1);
        Duration::from_secs(1u64 << (*count - 1).min(8)).min(Duration::from_secs(300))
    }

    /// Forgets the failures of `key` after a successful reconcile.
    pub fn succeeded(&self, key: &str) {
        let mut failures = self.failures.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        failures.remove(key);
    }
}
