//! What every reconcile shares: the API client, the operator configuration, who records events,
//! the watched objects, the latest live statistics and per-test retry state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kube::Client;
use kube::runtime::events::{Recorder, Reporter};
use shared::api::status::LocustTestStatus;
use shared::config::OperatorConfig;
use shared::status::Child;

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
    /// Records Warning events, which can repeat: kube's recorder counts a repeat into the first
    /// event's series (for six minutes).
    pub warnings: Recorder,
    /// Who records events on LocustTests (see [`Context::once_recorder`]).
    reporter: Reporter,
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
    /// Children created (or found existing) per test uid, until the watch brings them (see
    /// [`Context::present_children`]), with when.
    created: Mutex<HashMap<String, Vec<(Child, Instant)>>>,
}

/// How long a child this operator created counts as present without the watch showing it: far
/// longer than a watch takes, short enough that one deleted before the watch saw it is recreated.
const CREATED_MEMORY: Duration = Duration::from_secs(60);

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
            warnings: Recorder::new(client.clone(), reporter.clone()),
            reporter,
            client,
            config,
            settings,
            metrics,
            clock: system_clock(),
            cache,
            stats: Arc::new(StatsCache::new()),
            failures: Mutex::new(HashMap::new()),
            written: Mutex::new(HashMap::new()),
            created: Mutex::new(HashMap::new()),
        }
    }

    /// A context for tests and benchmarks: default settings and configuration, metrics that count
    /// no test per phase, the watched objects in `cache`, and `clock`.
    pub fn for_test(client: Client, cache: Cache, clock: Clock) -> Self {
        let metrics = Arc::new(Metrics::new(Box::new(Vec::new)));
        Self::new(client, OperatorConfig::default(), Settings::default(), metrics, cache).with_clock(clock)
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

    /// A recorder for one reconcile's Normal events. kube's `Recorder` keeps every event it
    /// published for six minutes, to count repeats into a series; Normal events (Created,
    /// TestStarted, TestCompleted) happen once in a test's life, so a long-lived recorder only held
    /// them: 13 MB with a thousand tests starting. One per batch keeps nothing.
    pub fn once_recorder(&self) -> Recorder {
        Recorder::new(self.client.clone(), self.reporter.clone())
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

    /// The children of the test with `uid`: those in the cache (`cached`) and those this operator
    /// created that the watch has not brought yet. Without the second, a reconcile woken before the
    /// watch caught up would try to create them again (an AlreadyExists, one wasted request each).
    pub fn present_children(&self, uid: &str, cached: &[Child]) -> Vec<Child> {
        let mut created = lock(&self.created);
        let mut present = cached.to_vec();
        if let Some(pending) = created.get_mut(uid) {
            pending.retain(|(child, at)| !cached.contains(child) && at.elapsed() < CREATED_MEMORY);
            present.extend(pending.iter().map(|(child, _)| *child));
            if pending.is_empty() {
                created.remove(uid);
            }
        }
        present
    }

    /// Remembers that `child` of the test with `uid` exists now (created, or found existing).
    pub fn created_child(&self, uid: &str, child: Child) {
        lock(&self.created)
            .entry(uid.to_string())
            .or_default()
            .push((child, Instant::now()));
    }

    /// Remembers the status just written for the test with `uid`.
    pub fn wrote_status(&self, uid: &str, status: &LocustTestStatus) {
        lock(&self.written).insert(uid.to_string(), status.clone());
    }
}
