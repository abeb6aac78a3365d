//! What every reconcile shares: the API client, the operator configuration, the event recorder,
//! the watched objects, the latest live statistics and per-test retry state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use shared::api::status::LocustTestStatus;
use shared::config::OperatorConfig;

use crate::cache::Cache;
use crate::metrics::Metrics;
use crate::scrape::StatsCache;
use crate::settings::{Clock, Settings, system_clock};

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
    /// The watched tests, children and pods.
    pub cache: Cache,
    /// The latest reading of each running master (filled by the scraper; empty without one).
    pub stats: Arc<StatsCache>,
    /// Consecutive failures per test (`namespace/name`), for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    /// The status last written per test uid, until the watch brings it back (see
    /// [`Context::previous_status`]).
    written: Mutex<HashMap<String, LocustTestStatus>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Context {
    /// A context reading the watched objects from `cache`, with the real clock and an empty
    /// statistics cache.
    pub fn new(
        client: Client,
        config: OperatorConfig,
        settings: Settings,
        metrics: Arc<Metrics>,
        cache: Cache,
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
            clock: system_clock(),
            cache,
            stats: Arc::new(StatsCache::new()),
            failures: Mutex::new(HashMap::new()),
            written: Mutex::new(HashMap::new()),
        }
    }

    /// The same context on another clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
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
        let mut failures = lock(&self.failures);
        let count = failures.entry(key.to_string()).or_insert(0);
        *count = count.saturating_add(1);
        Duration::from_secs(1u64 << (*count - 1).min(8)).min(Duration::from_secs(300))
    }

    /// Forgets the failures of `key` after a successful reconcile.
    pub fn succeeded(&self, key: &str) {
        lock(&self.failures).remove(key);
    }

    /// The status to derive from for the test with `uid`, whose watched copy holds `watched`.
    ///
    /// The watch brings a status write back a moment after it was made; a reconcile that runs in
    /// between (woken by a child's event) would derive from the older status, write again and
    /// repeat its events. Only this operator writes the status, so the one it wrote last is the
    /// truth until the watched copy shows it, and is forgotten then.
    pub fn previous_status(&self, uid: &str, watched: &LocustTestStatus) -> LocustTestStatus {
        let mut written = lock(&self.written);
        match written.get(uid) {
            Some(last) if last != watched => last.clone(),
            Some(_) => {
                written.remove(uid);
                watched.clone()
            }
            None => watched.clone(),
        }
    }

    /// Remembers the status just written for the test with `uid`.
    pub fn wrote_status(&self, uid: &str, status: &LocustTestStatus) {
        lock(&self.written).insert(uid.to_string(), status.clone());
    }
}
