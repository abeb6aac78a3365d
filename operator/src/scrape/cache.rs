//! The latest reading of every running master, shared by the scheduler (writes), reconciles and
//! `/metrics` (read).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use shared::api::status::TestStats;
use shared::report::ReportFiles;
use shared::stats::{self, RequestsReport, Sample};

use crate::cache::TestObject;

/// A test, by namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TestKey {
    /// The test's namespace.
    pub namespace: String,
    /// The test's name.
    pub name: String,
}

impl TestKey {
    /// The key of `namespace`/`name`.
    pub fn new(namespace: &str, name: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    pub(crate) fn of(object: &TestObject) -> Self {
        Self::new(&object.namespace().unwrap_or_default(), &object.name_any())
    }
}

/// The outcome of the latest read of one master.
#[derive(Debug, Clone, PartialEq)]
pub enum Reading {
    /// The master answered with a report.
    Answered {
        /// The report as Locust sent it.
        report: Arc<RequestsReport>,
        /// Its status summary, stamped with the round's time.
        summary: TestStats,
        /// Worker pods connected to the master (`None` when it does not say).
        workers: Option<i32>,
    },
    /// The master could not be read; why, in words.
    Unreachable(String),
}

impl Reading {
    /// The reading of a report received in the round that started at `at`.
    pub fn answered(report: RequestsReport, at: Timestamp) -> Self {
        Self::Answered {
            summary: stats::summarize(&report, at),
            workers: stats::connected_worker_pods(&report),
            report: Arc::new(report),
        }
    }

    pub(crate) fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable(_))
    }
}

/// The latest reading of one test, and which incarnation of the test it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The test's uid when it was read: a test deleted and recreated under the same name must not
    /// inherit its predecessor's numbers.
    pub uid: Option<String>,
    /// When the round that read it started.
    pub at: Timestamp,
    /// What the master said, or why it said nothing.
    pub reading: Reading,
    /// The last report the master answered with (this reading's, or an earlier one's when this
    /// one is not an answer); [`StatsCache::record`] keeps it.
    pub last_report: Option<Arc<RequestsReport>>,
}

impl Entry {
    /// The reading of test incarnation `uid` in the round that started at `at`.
    pub fn new(uid: Option<String>, at: Timestamp, reading: Reading) -> Self {
        Self {
            uid,
            at,
            reading,
            last_report: None,
        }
    }
}

/// What a reconcile takes from the cache for one test: the parts of `shared::status::Observation`
/// that come from the master's own statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LiveStats {
    /// Workers connected to the master, as it counts them.
    pub connected_workers: Option<i32>,
    /// The summary for `status.stats`.
    pub stats: Option<TestStats>,
    /// Why the master could not be read.
    pub unreachable: Option<String>,
    /// The last report the master answered with, also after it stopped answering (it has quit):
    /// what the thresholds are checked on when the run ends.
    pub last_report: Option<Arc<RequestsReport>>,
    /// Locust's final report, read once the master said it had stopped.
    pub final_report: Option<Arc<FinalReport>>,
}

/// Locust's own report of a run, read from the master once it has stopped (before it quits).
#[derive(Debug, Clone, PartialEq)]
pub struct FinalReport {
    /// The test incarnation it belongs to.
    pub uid: Option<String>,
    /// When it was read.
    pub read_at: Timestamp,
    /// The files read, and those that could not be.
    pub files: ReportFiles,
}

/// The latest reading of every running test, shared by the scraper (writes), reconciles and
/// `/metrics` (read). Tests that stop running are evicted, so their series disappear.
#[derive(Debug, Default)]
pub struct StatsCache {
    entries: RwLock<BTreeMap<TestKey, Entry>>,
    final_reports: RwLock<BTreeMap<TestKey, Arc<FinalReport>>>,
}

impl StatsCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<TestKey, Entry>> {
        self.entries.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<TestKey, Entry>> {
        self.entries.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Stores the latest reading of `key` and returns the one it replaces. A reading that is not
    /// an answer keeps the last answer of the same test (see [`Entry::last_report`]).
    pub fn record(&self, key: TestKey, mut entry: Entry) -> Option<Entry> {
        let mut entries = self.write();
        let previous = entries.get(&key);
        entry.last_report = match &entry.reading {
            Reading::Answered { report, .. } => Some(Arc::clone(report)),
            Reading::Unreachable(_) => previous
                .filter(|previous| previous.uid == entry.uid)
                .and_then(|previous| previous.last_report.clone()),
        };
        entries.insert(key, entry)
    }

    /// The latest reading of `key`.
    pub fn get(&self, key: &TestKey) -> Option<Entry> {
        self.read().get(key).cloned()
    }

    /// Forgets `key`; true if it was there.
    pub fn remove(&self, key: &TestKey) -> bool {
        self.finals_mut().remove(key);
        self.write().remove(key).is_some()
    }

    /// Keeps only the tests `keep` accepts.
    pub fn retain(&self, mut keep: impl FnMut(&TestKey) -> bool) {
        self.write().retain(|key, _| keep(key));
        self.finals_mut().retain(|key, _| keep(key));
    }

    fn finals_mut(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<TestKey, Arc<FinalReport>>> {
        self.final_reports
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Keeps `report` as the final report of `key`.
    pub fn record_final_report(&self, key: TestKey, report: FinalReport) {
        self.finals_mut().insert(key, Arc::new(report));
    }

    /// Whether the final report of test incarnation `uid` of `key` has been read.
    pub fn has_final_report(&self, key: &TestKey, uid: Option<&str>) -> bool {
        self.final_report(key, uid).is_some()
    }

    fn final_report(&self, key: &TestKey, uid: Option<&str>) -> Option<Arc<FinalReport>> {
        let finals = self
            .final_reports
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        finals.get(key).filter(|report| report.uid.as_deref() == uid).cloned()
    }

    /// The tests with a reading, in namespace/name order.
    pub fn keys(&self) -> Vec<TestKey> {
        self.read().keys().cloned().collect()
    }

    /// What the latest reading says about test `name` in `namespace` with `uid`; nothing when it
    /// has not been read or the reading belongs to an earlier test of the same name.
    pub fn live(&self, namespace: &str, name: &str, uid: Option<&str>) -> LiveStats {
        let entries = self.read();
        let Some(entry) = entries.get(&TestKey::new(namespace, name)) else {
            return LiveStats::default();
        };
        if let (Some(read_uid), Some(uid)) = (entry.uid.as_deref(), uid)
            && read_uid != uid
        {
            return LiveStats::default();
        }
        let final_report = self.final_report(&TestKey::new(namespace, name), entry.uid.as_deref());
        match &entry.reading {
            Reading::Answered { summary, workers, .. } => LiveStats {
                connected_workers: *workers,
                stats: Some(summary.clone()),
                unreachable: None,
                last_report: entry.last_report.clone(),
                final_report,
            },
            Reading::Unreachable(why) => LiveStats {
                unreachable: Some(why.clone()),
                last_report: entry.last_report.clone(),
                final_report,
                ..LiveStats::default()
            },
        }
    }

    /// Every test's metric samples (`locust_exporter` names, `namespace` and `test` labels);
    /// a master that could not be read has only `locust_up 0`.
    pub fn samples(&self) -> Vec<Sample> {
        self.read()
            .iter()
            .flat_map(|(key, entry)| match &entry.reading {
                Reading::Answered { report, .. } => stats::exposition(&key.namespace, &key.name, report),
                Reading::Unreachable(_) => stats::exposition_down(&key.namespace, &key.name),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn a_reading_counts_worker_pods_not_the_processes_they_fork() {
        // 2 pods with `--processes 3`: Locust lists and counts 6 workers.
        let workers = ["demo-worker-abcde", "demo-worker-fghij"]
            .iter()
            .flat_map(|pod| {
                (0..3).map(move |process| shared::stats::WorkerReport {
                    id: format!("{pod}_{process:032x}"),
                    state: "running".into(),
                    user_count: 5,
                })
            })
            .collect();
        let report = RequestsReport {
            state: "running".into(),
            workers: Some(workers),
            worker_count: Some(6),
            ..RequestsReport::default()
        };
        let Reading::Answered { workers, summary, .. } = Reading::answered(report, at("2025-01-01T00:00:00Z")) else {
            panic!("a report is an answer");
        };
        assert_eq!(
            workers,
            Some(2),
            "status.connectedWorkers counts pods, as expectedWorkers does"
        );
        assert_eq!(summary.workers, Some(6), "status.stats.workers is Locust's own count");
    }
}
