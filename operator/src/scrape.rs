//! Live statistics without a sidecar: every few seconds the operator reads `GET /stats/requests`
//! from the web port of each running test's master, keeps the latest answer per test in a
//! [`StatsCache`], and asks the controller to reconcile a test when its status should change.
//!
//! Reconciles only read the cache (no network in a reconcile), and `/metrics` turns the cache into
//! per-test series at scrape time. Reads run with a timeout each and at most `concurrency` at once,
//! so a slow or dead master costs one slot for one timeout and never delays the others.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc::UnboundedSender;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use k8s_openapi::jiff::Timestamp;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use shared::api::status::{LocustTestStatus, Phase, TestStats};
use shared::constants::WEB_UI_PORT;
use shared::naming;
use shared::stats::{self, REQUESTS_PATH, RequestsReport, Sample};

use crate::cache::TestObject;
use crate::controller::phase_of;
use crate::settings::Clock;

/// How often each running master is read, unless configured otherwise.
pub const DEFAULT_INTERVAL: Duration = shared::status::DEFAULT_STATS_INTERVAL;
/// How long one read may take, unless configured otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
/// How many masters are read at once, unless configured otherwise.
pub const DEFAULT_CONCURRENCY: usize = 16;
/// Answers larger than this are not a statistics report (a busy test with hundreds of endpoints
/// stays far below it); reading stops there instead of buffering without bound.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// How much of an unexpected answer is quoted in the reason.
const QUOTED_CHARS: usize = 160;

/// How the operator reaches a master's web port.
#[derive(Clone)]
pub enum Access {
    /// `http://<name>-master.<namespace>.svc:8089` — the default inside the cluster.
    ServiceDns,
    /// Through the API server's service proxy
    /// (`/api/v1/namespaces/<namespace>/services/<name>-master:8089/proxy/...`): works from outside
    /// the cluster, and needs `get` on `services/proxy`.
    ApiProxy(kube::Client),
    /// Every test at this base URL, e.g. `http://127.0.0.1:8089` (local runs and tests).
    Direct(String),
}

impl std::fmt::Debug for Access {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ServiceDns => formatter.write_str("ServiceDns"),
            Self::ApiProxy(_) => formatter.write_str("ApiProxy"),
            Self::Direct(base) => formatter.debug_tuple("Direct").field(base).finish(),
        }
    }
}

impl Access {
    /// Where the statistics of test `name` in `namespace` are read: a URL, or for the API proxy
    /// the path on the API server.
    pub fn location(&self, namespace: &str, name: &str) -> String {
        let master = naming::master_name(name);
        match self {
            Self::ServiceDns => format!("http://{master}.{namespace}.svc:{WEB_UI_PORT}{REQUESTS_PATH}"),
            Self::ApiProxy(_) => {
                format!("/api/v1/namespaces/{namespace}/services/{master}:{WEB_UI_PORT}/proxy{REQUESTS_PATH}")
            }
            Self::Direct(base) => format!("{}{REQUESTS_PATH}", base.trim_end_matches('/')),
        }
    }

    /// The master as named in a reason, without the path.
    fn target(&self, namespace: &str, name: &str) -> String {
        let master = naming::master_name(name);
        match self {
            Self::ServiceDns => format!("{master}.{namespace}.svc:{WEB_UI_PORT}"),
            Self::ApiProxy(_) => format!("the API server's proxy to {master}:{WEB_UI_PORT}"),
            Self::Direct(base) => base.trim_end_matches('/').to_string(),
        }
    }
}

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
            interval: DEFAULT_INTERVAL,
            timeout: DEFAULT_TIMEOUT,
            concurrency: DEFAULT_CONCURRENCY,
        }
    }
}

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

    fn of(object: &TestObject) -> Self {
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

    fn is_unreachable(&self) -> bool {
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
}

/// The latest reading of every running test, shared by the scraper (writes), reconciles and
/// `/metrics` (read). Tests that stop running are evicted, so their series disappear.
#[derive(Debug, Default)]
pub struct StatsCache {
    entries: RwLock<BTreeMap<TestKey, Entry>>,
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

    /// Stores the latest reading of `key` and returns the one it replaces.
    pub fn record(&self, key: TestKey, entry: Entry) -> Option<Entry> {
        self.write().insert(key, entry)
    }

    /// The latest reading of `key`.
    pub fn get(&self, key: &TestKey) -> Option<Entry> {
        self.read().get(key).cloned()
    }

    /// Forgets `key`; true if it was there.
    pub fn remove(&self, key: &TestKey) -> bool {
        self.write().remove(key).is_some()
    }

    /// Keeps only the tests `keep` accepts.
    pub fn retain(&self, mut keep: impl FnMut(&TestKey) -> bool) {
        self.write().retain(|key, _| keep(key));
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
        match &entry.reading {
            Reading::Answered { summary, workers, .. } => LiveStats {
                connected_workers: *workers,
                stats: Some(summary.clone()),
                unreachable: None,
            },
            Reading::Unreachable(why) => LiveStats {
                unreachable: Some(why.clone()),
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

/// Whether the scraper reads this test: it runs (its master Job has an active pod) and is not
/// being deleted. Pending masters are still starting; finished ones are gone or about to be.
pub fn is_running(object: &TestObject) -> bool {
    object.meta().deletion_timestamp.is_none() && phase_of(object) == Phase::Running
}

fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

/// Whether a reconcile would change the test's status after reading `latest` (`previous` is the
/// reading it replaced, `recorded` the status as last written). Mirrors the status rules so a
/// test whose numbers change every round is reconciled at most once per `interval`: a change
/// of reachability, Locust state or worker count at once; other changes once the recorded block
/// is `interval` old.
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
            if was_unreachable || (workers.is_some() && *workers != recorded.connected_workers) {
                return true;
            }
            match &recorded.stats {
                None => true,
                Some(written) => {
                    !written.same_values(summary)
                        && (written.state != summary.state
                            || written.workers != summary.workers
                            || written
                                .last_update_time
                                .as_ref()
                                .is_none_or(|time| elapsed(time.0, latest.at) >= interval))
                }
            }
        }
    }
}

/// Reads running masters into a [`StatsCache`].
pub struct Scraper {
    access: Access,
    settings: ScrapeSettings,
    cache: Arc<StatsCache>,
    http: HttpClient<HttpConnector, Empty<Bytes>>,
    clock: Clock,
}

impl std::fmt::Debug for Scraper {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Scraper")
            .field("access", &self.access)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// The first line of `text`, at most [`QUOTED_CHARS`] characters.
fn quote(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    let mut quoted: String = line.chars().take(QUOTED_CHARS).collect();
    if quoted.len() < line.len() {
        quoted.push('…');
    }
    quoted
}

/// The innermost cause of an error: what actually went wrong (`Connection refused`, a DNS failure)
/// rather than the layers that passed it on.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Why a non-2xx answer is not a report: the API server's `Status` message when it sent one
/// (the proxy's `no endpoints available`, a missing RBAC grant), else the start of the body.
fn unexpected_answer(status: StatusCode, body: &[u8]) -> String {
    let detail = serde_json::from_slice::<Status>(body)
        .ok()
        .and_then(|status| status.message)
        .unwrap_or_else(|| quote(&String::from_utf8_lossy(body)));
    if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {detail}")
    }
}

impl Scraper {
    /// A scraper with the real clock.
    pub fn new(access: Access, settings: ScrapeSettings, cache: Arc<StatsCache>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(settings.timeout));
        connector.set_nodelay(true);
        let http = HttpClient::builder(TokioExecutor::new())
            // One kept-alive connection per master, dropped once the master is no longer read.
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(settings.interval.saturating_mul(3).max(Duration::from_secs(30)))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self {
            access,
            settings,
            cache,
            http,
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

    /// Reads the report of test `name` in `namespace` once, within the timeout. `Err` says why
    /// not, naming the master, in words fit for a condition message.
    pub async fn fetch(&self, namespace: &str, name: &str) -> Result<RequestsReport, String> {
        let location = self.access.location(namespace, name);
        let read = async {
            let body = match &self.access {
                Access::ApiProxy(client) => Self::get_via_api(client, &location).await?,
                Access::ServiceDns | Access::Direct(_) => self.get_direct(&location).await?,
            };
            stats::parse_report(&body).map_err(|error| error.to_string())
        };
        let outcome = match tokio::time::timeout(self.settings.timeout, read).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!(
                "no answer within {}",
                humantime::format_duration(self.settings.timeout)
            )),
        };
        outcome.map_err(|why| format!("{}: {why}", self.access.target(namespace, name)))
    }

    async fn get_direct(&self, location: &str) -> Result<Bytes, String> {
        let request = Request::get(location)
            .header(header::ACCEPT, "application/json")
            .body(Empty::new())
            .map_err(|error| format!("invalid address {location}: {error}"))?;
        let response = self.http.request(request).await.map_err(|error| {
            if error.is_connect() {
                format!("cannot connect: {}", root_cause(&error))
            } else {
                root_cause(&error)
            }
        })?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|error| format!("reading the answer: {}", root_cause(error.as_ref())))?
            .to_bytes();
        if status.is_success() {
            Ok(body)
        } else {
            Err(unexpected_answer(status, &body))
        }
    }

    async fn get_via_api(client: &kube::Client, path: &str) -> Result<Bytes, String> {
        let request = Request::get(path)
            .header(header::ACCEPT, "application/json")
            .body(kube::client::Body::empty())
            .map_err(|error| format!("invalid path {path}: {error}"))?;
        let response = client.send(request).await.map_err(|error| root_cause(&error))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|error| format!("reading the answer: {}", root_cause(error.as_ref())))?
            .to_bytes();
        if status.is_success() {
            Ok(body)
        } else {
            Err(unexpected_answer(status, &body))
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

        let readings: Vec<(TestKey, Arc<TestObject>, Result<RequestsReport, String>)> = futures::stream::iter(running)
            .map(|(key, test)| async move {
                let outcome = self.fetch(&key.namespace, &key.name).await;
                (key, test, outcome)
            })
            .buffer_unordered(self.settings.concurrency.max(1))
            .collect()
            .await;

        let mut wanted = Vec::new();
        for (key, test, outcome) in readings {
            let reading = match outcome {
                Ok(report) => Reading::answered(report, at),
                Err(why) => Reading::Unreachable(why),
            };
            let entry = Entry {
                uid: test.uid(),
                at,
                reading,
            };
            let previous = self.cache.record(key.clone(), entry.clone());
            let recorded: LocustTestStatus = test
                .0
                .as_ref()
                .ok()
                .and_then(|test| test.status.clone())
                .unwrap_or_default();
            log_reachability_change(&key, previous.as_ref(), &entry);
            if needs_reconcile(&recorded, previous.as_ref(), &entry, self.settings.interval) {
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
        Entry {
            uid: None,
            at: at(time),
            reading: Reading::Answered {
                report: Arc::new(RequestsReport::default()),
                workers: summary.workers,
                summary,
            },
        }
    }

    fn unreachable(time: &str) -> Entry {
        Entry {
            uid: None,
            at: at(time),
            reading: Reading::Unreachable("cannot connect".into()),
        }
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

    #[test]
    fn locations_follow_the_access_mode() {
        assert_eq!(
            Access::ServiceDns.location("load", "demo"),
            "http://demo-master.load.svc:8089/stats/requests"
        );
        assert_eq!(
            Access::Direct("http://127.0.0.1:9/".into()).location("load", "demo"),
            "http://127.0.0.1:9/stats/requests"
        );
    }

    #[test]
    fn unexpected_answers_are_quoted_briefly() {
        let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no endpoints available for service \"demo-master\"","code":503}"#;
        assert_eq!(
            unexpected_answer(StatusCode::SERVICE_UNAVAILABLE, status),
            "HTTP 503 Service Unavailable: no endpoints available for service \"demo-master\""
        );
        let page = format!("<html>{}</html>\nsecond line", "x".repeat(500));
        let said = unexpected_answer(StatusCode::UNAUTHORIZED, page.as_bytes());
        assert!(said.starts_with("HTTP 401 Unauthorized: <html>xxx"), "{said}");
        assert!(said.chars().count() < 200, "{said}");
        assert_eq!(unexpected_answer(StatusCode::NOT_FOUND, b""), "HTTP 404 Not Found");
    }
}
