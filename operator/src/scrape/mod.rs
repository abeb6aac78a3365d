//! Live statistics without a sidecar: every few seconds the operator reads `GET /stats/requests`
//! from the web port of each running test's master, keeps the latest answer per test in a
//! [`StatsCache`], and asks the controller to reconcile a test when its status should change.
//!
//! Reconciles only read the cache (no network in a reconcile), and `/metrics` turns the cache into
//! per-test series at scrape time. Reads run with a timeout each and at most `concurrency` at once,
//! so a slow or dead master costs one slot for one timeout and never delays the others.
//!
//! [`cache`] holds the readings, `connect::stats` reads one master, [`scheduler`] runs the rounds.

pub mod cache;
pub mod scheduler;

use std::time::Duration;

pub use cache::{Entry, LiveStats, Reading, StatsCache, TestKey};
pub use connect::stats::{Access, Reader};
pub use scheduler::{Scraper, is_running, needs_reconcile};

/// How often each running master is read, unless configured otherwise.
/// How long one read may take, unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// How many masters are read at once, unless configured otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// How often, how patiently and how many masters at once the scraper reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScrapeSettings {
    /// Time between rounds; zero turns reading off.
    pub interval: Duration,
    /// Longest one read may take, connection included.
    pub timeout: Duration,
    /// Reads in flight at once (at least one).
    pub concurrency: usize,
}

impl Default for ScrapeSettings {
    fn default() -> Self {
        Self {
            interval: shared::status::DEFAULT_STATS_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}
