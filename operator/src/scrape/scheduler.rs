//! The rounds: every interval, read each running test's master (at most `concurrency` at once),
//! record the readings, evict tests that stopped running, and ask for the reconciles whose status
//! should change.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc::UnboundedSender;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use shared::api::status::{LocustTestStatus, Phase};
use shared::stats::RequestsReport;
use shared::status::stats_write_due;

use super::ScrapeSettings;
use super::cache::{Entry, FinalReport, Reading, StatsCache, TestKey};
use crate::cache::TestObject;
use crate::cache::phase_of;
use crate::settings::Clock;
use connect::stats::{Access, Reader};

/// Whether the scraper reads this test: it runs (its master Job has an active pod) and is not
/// being deleted. Pending masters are still starting; finished ones are gone or about to be.
pub fn is_running(object: &TestObject) -> bool {
    object.meta().deletion_timestamp.is_none() && phase_of(object) == Phase::Running
}

/// Whether a reconcile would change the test's status after reading `latest` (`previous` is the
/// reading it replaced, `recorded` the status as last written): a change of reachability or worker
/// count at once, new numbers when `shared::status::stats_write_due` says the status would take
/// them. So a test whose numbers change every round is reconciled at most once per `interval`.
pub fn needs_reconcile(
    recorded: &LocustTestStatus,
    previous: Option<&Entry>,
    latest: &Entry,
    interval: Duration,
) -> bool {
    let was_unreachable = previous.is_some_and(|entry| entry.reading.is_unreachable());
    match &latest.reading {
        // Reported once, on the change; the status rules decide when it is worth saying.
        Reading::Unreachable(_) => !was_unreachable,
        Reading::Answered { summary, workers, .. } => {
            was_unreachable
                || (workers.is_some() && *workers != recorded.connected_workers)
                || stats_write_due(recorded.stats.as_ref(), summary, false, interval, latest.at)
        }
    }
}

/// Reads running masters into a [`StatsCache`].
pub struct Scraper {
    reader: Reader,
    settings: ScrapeSettings,
    cache: Arc<StatsCache>,
    clock: Clock,
}

impl std::fmt::Debug for Scraper {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Scraper")
            .field("reader", &self.reader)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Scraper {
    /// A scraper with the real clock.
    pub fn new(access: Access, settings: ScrapeSettings, cache: Arc<StatsCache>) -> Self {
        Self {
            reader: Reader::new(access, settings.timeout, settings.interval.saturating_mul(3)),
            settings,
            cache,
            clock: Arc::new(Timestamp::now),
        }
    }

    /// The same scraper on another clock (tests).
    #[must_use]
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The cache it fills.
    pub fn cache(&self) -> &Arc<StatsCache> {
        &self.cache
    }

    /// Reads the report of test `name` in `namespace` once (see [`Reader::fetch`]).
    pub async fn fetch(&self, namespace: &str, name: &str) -> Result<RequestsReport, String> {
        self.reader.fetch(namespace, name).await
    }

    /// Reads Locust's report files from test `key`'s master (see `shared::report`).
    async fn read_final_report(&self, key: &TestKey, uid: Option<String>, at: Timestamp) -> FinalReport {
        FinalReport {
            uid,
            read_at: at,
            files: self.reader.fetch_report_files(&key.namespace, &key.name).await,
        }
    }

    /// One round: reads every running test among `tests` (at most `concurrency` at once), records
    /// the readings, evicts tests that no longer run, and returns the tests whose status should
    /// change (see [`needs_reconcile`]).
    pub async fn scrape(&self, tests: &[Arc<TestObject>]) -> Vec<ObjectRef<TestObject>> {
        let at = (self.clock)();
        // Owned keys and objects: the reads run concurrently inside a spawned (Send) task.
        let running: Vec<(TestKey, Arc<TestObject>)> = tests
            .iter()
            .filter(|test| is_running(test))
            .map(|test| (TestKey::of(test), Arc::clone(test)))
            .collect();
        let keys: BTreeSet<TestKey> = running.iter().map(|(key, _)| key.clone()).collect();
        self.cache.retain(|key| keys.contains(key));

        type Read = (
            TestKey,
            Arc<TestObject>,
            Result<RequestsReport, String>,
            Option<FinalReport>,
        );
        let readings: Vec<Read> = futures::stream::iter(running)
            .map(|(key, test)| async move {
                let outcome = self.fetch(&key.namespace, &key.name).await;
                // Locust has stopped and will quit after its autoquit window: its report now.
                let final_report = match &outcome {
                    Ok(report) if report.has_stopped() && !self.cache.has_final_report(&key, test.uid().as_deref()) => {
                        Some(self.read_final_report(&key, test.uid(), at).await)
                    }
                    _ => None,
                };
                (key, test, outcome, final_report)
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;

        let mut wanted = Vec::new();
        for (key, test, outcome, final_report) in readings {
            // A report to save is a reason to reconcile, like a status that would change.
            let report_to_save = final_report.is_some();
            if let Some(final_report) = final_report {
                self.cache.record_final_report(key.clone(), final_report);
            }
            let reading = match outcome {
                Ok(report) => Reading::answered(report, at),
                Err(why) => Reading::Unreachable(why),
            };
            let entry = Entry::new(test.uid(), at, reading);
            let previous = self.cache.record(key.clone(), entry.clone());
            let recorded: LocustTestStatus = test
                .0
                .as_ref()
                .ok()
                .and_then(|test| test.status.clone())
                .unwrap_or_default();
            log_reachability_change(&key, previous.as_ref(), &entry);
            if report_to_save || needs_reconcile(&recorded, previous.as_ref(), &entry, self.settings.interval) {
                wanted.push(ObjectRef::new(&key.name).within(&key.namespace));
            }
        }
        wanted
    }

    /// Runs a round every `interval` over the tests `tests` lists, sending the tests whose status
    /// should change to `triggers`, until `shutdown` resolves or nobody receives the triggers.
    /// Does nothing when the interval is zero (reading turned off).
    pub async fn run(
        self,
        tests: impl Fn() -> Vec<Arc<TestObject>> + Send,
        triggers: UnboundedSender<ObjectRef<TestObject>>,
        shutdown: impl Future<Output = ()> + Send,
    ) {
        if self.settings.interval.is_zero() {
            tracing::info!("live statistics are off (--stats-interval 0)");
            return;
        }
        let mut ticker = tokio::time::interval(self.settings.interval);
        // A round slower than the interval delays the next one instead of starting a burst.
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                _ = ticker.tick() => {},
                () = &mut shutdown => return,
            }
            let listed = tests();
            let wanted = tokio::select! {
                wanted = self.scrape(&listed) => wanted,
                () = &mut shutdown => return,
            };
            for object in wanted {
                if triggers.unbounded_send(object).is_err() {
                    // The controller has stopped: nothing left to tell.
                    return;
                }
            }
        }
    }
}

/// Logs when a master becomes unreachable or answers again, not on every failed read.
fn log_reachability_change(key: &TestKey, previous: Option<&Entry>, latest: &Entry) {
    let was_unreachable = previous.is_some_and(|entry| entry.reading.is_unreachable());
    match &latest.reading {
        Reading::Unreachable(why) if !was_unreachable => {
            tracing::info!(test = %format!("{}/{}", key.namespace, key.name), reason = %why, "cannot read live statistics");
        }
        Reading::Answered { .. } if was_unreachable => {
            tracing::info!(test = %format!("{}/{}", key.namespace, key.name), "live statistics readable again");
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use shared::api::status::TestStats;

    use crate::scrape::LiveStats;

    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn summary(state: &str, requests: i64, workers: Option<i32>, time: &str) -> TestStats {
        TestStats {
            state: state.into(),
            users: 4,
            total_requests: requests,
            workers,
            last_update_time: Some(Time(at(time))),
            ..TestStats::default()
        }
    }

    fn answered(summary: TestStats, time: &str) -> Entry {
        Entry::new(
            None,
            at(time),
            Reading::Answered {
                report: Arc::new(RequestsReport::default()),
                workers: summary.workers,
                summary,
            },
        )
    }

    fn unreachable(time: &str) -> Entry {
        Entry::new(None, at(time), Reading::Unreachable("cannot connect".into()))
    }

    fn recorded(stats: Option<TestStats>, connected: Option<i32>) -> LocustTestStatus {
        LocustTestStatus {
            stats,
            connected_workers: connected,
            ..LocustTestStatus::default()
        }
    }

    const INTERVAL: Duration = Duration::from_secs(5);

    #[test]
    fn a_first_answer_is_written_at_once() {
        let latest = answered(
            summary("running", 10, Some(2), "2025-01-01T00:00:05Z"),
            "2025-01-01T00:00:05Z",
        );
        assert!(needs_reconcile(&recorded(None, Some(2)), None, &latest, INTERVAL));
    }

    #[test]
    fn growing_numbers_wait_for_the_interval() {
        let written = summary("running", 10, Some(2), "2025-01-01T00:00:00Z");
        let status = recorded(Some(written.clone()), Some(2));
        let early = answered(
            summary("running", 20, Some(2), "2025-01-01T00:00:03Z"),
            "2025-01-01T00:00:03Z",
        );
        let previous = answered(written, "2025-01-01T00:00:00Z");
        assert!(!needs_reconcile(&status, Some(&previous), &early, INTERVAL));
        let due = answered(
            summary("running", 30, Some(2), "2025-01-01T00:00:05Z"),
            "2025-01-01T00:00:05Z",
        );
        assert!(needs_reconcile(&status, Some(&early), &due, INTERVAL));
    }

    #[test]
    fn unchanged_numbers_are_not_rewritten() {
        let written = summary("stopped", 10, Some(2), "2025-01-01T00:00:00Z");
        let status = recorded(Some(written.clone()), Some(2));
        let later = answered(
            summary("stopped", 10, Some(2), "2025-01-01T00:01:00Z"),
            "2025-01-01T00:01:00Z",
        );
        assert!(!needs_reconcile(&status, None, &later, INTERVAL));
    }

    #[test]
    fn state_and_worker_changes_do_not_wait() {
        let written = summary("running", 10, Some(2), "2025-01-01T00:00:00Z");
        let status = recorded(Some(written), Some(2));
        let stopped = answered(
            summary("stopped", 11, Some(2), "2025-01-01T00:00:01Z"),
            "2025-01-01T00:00:01Z",
        );
        assert!(needs_reconcile(&status, None, &stopped, INTERVAL));
        let lost_one = answered(
            summary("running", 11, Some(1), "2025-01-01T00:00:01Z"),
            "2025-01-01T00:00:01Z",
        );
        assert!(needs_reconcile(&status, None, &lost_one, INTERVAL));
    }

    #[test]
    fn unreachability_is_signalled_once_and_recovery_at_once() {
        let written = summary("running", 10, Some(2), "2025-01-01T00:00:00Z");
        let status = recorded(Some(written.clone()), Some(2));
        let was_fine = answered(written.clone(), "2025-01-01T00:00:00Z");
        let first = unreachable("2025-01-01T00:00:05Z");
        let second = unreachable("2025-01-01T00:00:10Z");
        assert!(needs_reconcile(&status, Some(&was_fine), &first, INTERVAL));
        assert!(!needs_reconcile(&status, Some(&first), &second, INTERVAL));
        let back = answered(written, "2025-01-01T00:00:11Z");
        assert!(needs_reconcile(&status, Some(&second), &back, INTERVAL));
    }

    #[test]
    fn a_recreated_test_does_not_inherit_readings() {
        let cache = StatsCache::new();
        let mut entry = answered(
            summary("running", 10, Some(2), "2025-01-01T00:00:00Z"),
            "2025-01-01T00:00:00Z",
        );
        entry.uid = Some("old".into());
        cache.record(TestKey::new("load", "demo"), entry);
        assert_eq!(cache.live("load", "demo", Some("new")), LiveStats::default());
        let live = cache.live("load", "demo", Some("old"));
        assert_eq!(live.connected_workers, Some(2));
        assert_eq!(live.stats.map(|stats| stats.total_requests), Some(10));
        assert_eq!(cache.live("load", "other", None), LiveStats::default());
    }
}
