//! Live statistics from a Locust master's own web API (`GET /stats/requests`): the report as
//! Locust 2.x sends it, the compact summary written into status, the worker count, and the
//! per-test metric series under the names the widely used `locust_exporter` gives them, so
//! dashboards built for that exporter keep working without a sidecar. Pure: bytes in, values out.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Deserializer};

use crate::api::status::TestStats;

/// Path of the master's statistics endpoint on its web port.
pub const REQUESTS_PATH: &str = "/stats/requests";

/// Locust's `state` once a run has stopped: the numbers are final (the master quits after its
/// autoquit window, or, stopped through its web API, stays up idle).
pub const STATE_STOPPED: &str = "stopped";

/// Name of the row that sums all endpoints (`Total` before Locust 1.0).
const AGGREGATED_ROWS: [&str; 2] = ["Aggregated", "Total"];

/// Keys of `current_response_time_percentiles`.
const CURRENT_MEDIAN_KEY: &str = "response_time_percentile_0.5";
const CURRENT_P95_KEY: &str = "response_time_percentile_0.95";

/// Locust's answer to `GET /stats/requests`. Every field is optional and nulls read as zero or
/// absent: the shape differs between Locust versions and between a master and a standalone run.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct RequestsReport {
    /// ready, spawning, running, cleanup, stopping, stopped or missing.
    #[serde(default, deserialize_with = "null_as_default")]
    pub state: String,
    /// Users currently running, over all workers.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_count: i64,
    /// Requests per second since the test started, all endpoints.
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_rps: f64,
    /// Failures per second since the test started, all endpoints.
    #[serde(default, deserialize_with = "null_as_default")]
    pub total_fail_per_sec: f64,
    /// Requests per second over the last few seconds, all endpoints (newer Locust 2.x only;
    /// older ones have it on the `Aggregated` row alone).
    #[serde(default)]
    pub current_rps: Option<f64>,
    /// Failures per second over the last few seconds, all endpoints (newer Locust 2.x only).
    #[serde(default)]
    pub current_fail_per_sec: Option<f64>,
    /// Failed / all requests since the test started, 0 to 1.
    #[serde(default, deserialize_with = "null_as_default")]
    pub fail_ratio: f64,
    /// One row per endpoint, plus the `Aggregated` row.
    #[serde(default, deserialize_with = "null_as_default")]
    pub stats: Vec<EndpointStats>,
    /// Distinct errors with their counts.
    #[serde(default, deserialize_with = "null_as_default")]
    pub errors: Vec<ErrorStats>,
    /// Response-time percentiles over the last few seconds, keyed
    /// `response_time_percentile_0.5` and so on; null while nothing was requested.
    #[serde(default, deserialize_with = "null_as_default")]
    pub current_response_time_percentiles: std::collections::BTreeMap<String, Option<f64>>,
    /// The workers a master knows, in any state (a standalone Locust has none).
    #[serde(default)]
    pub workers: Option<Vec<WorkerReport>>,
    /// Workers connected to a master (missing ones excluded).
    #[serde(default)]
    pub worker_count: Option<i32>,
}

/// One row of `stats`: an endpoint (method and name) or the `Aggregated` row.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct EndpointStats {
    /// HTTP method or request type; empty on the `Aggregated` row.
    #[serde(default, deserialize_with = "null_as_default")]
    pub method: String,
    /// Request name (usually the path), or `Aggregated`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// Requests made.
    #[serde(default, deserialize_with = "null_as_default")]
    pub num_requests: i64,
    /// Requests failed.
    #[serde(default, deserialize_with = "null_as_default")]
    pub num_failures: i64,
    /// Mean response time, ms.
    #[serde(default, deserialize_with = "null_as_default")]
    pub avg_response_time: f64,
    /// Fastest response, ms (null before the first request: read as 0).
    #[serde(default, deserialize_with = "null_as_default")]
    pub min_response_time: f64,
    /// Slowest response, ms.
    #[serde(default, deserialize_with = "null_as_default")]
    pub max_response_time: f64,
    /// Median response time since the start, ms.
    #[serde(default, deserialize_with = "null_as_default")]
    pub median_response_time: f64,
    /// 95th percentile response time since the start, ms; absent in older Locust versions.
    #[serde(default, rename = "response_time_percentile_0.95")]
    pub response_time_percentile_95: Option<f64>,
    /// Requests per second right now.
    #[serde(default, deserialize_with = "null_as_default")]
    pub current_rps: f64,
    /// Requests per second over the whole run (requests / run time).
    #[serde(default)]
    pub total_rps: Option<f64>,
    /// Failures per second right now.
    #[serde(default, deserialize_with = "null_as_default")]
    pub current_fail_per_sec: f64,
    /// Mean response size, bytes.
    #[serde(default, deserialize_with = "null_as_default")]
    pub avg_content_length: f64,
}

impl RequestsReport {
    /// Whether Locust says the run has stopped ([`STATE_STOPPED`]).
    pub fn has_stopped(&self) -> bool {
        self.state == STATE_STOPPED
    }
}

impl EndpointStats {
    /// Whether this is the row over all endpoints.
    pub fn is_aggregated(&self) -> bool {
        AGGREGATED_ROWS.contains(&self.name.as_str())
    }
}

/// One row of `errors`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct ErrorStats {
    /// HTTP method or request type.
    #[serde(default, deserialize_with = "null_as_default")]
    pub method: String,
    /// Request name.
    #[serde(default, deserialize_with = "null_as_default")]
    pub name: String,
    /// The error as Locust words it.
    #[serde(default, deserialize_with = "null_as_default")]
    pub error: String,
    /// How often it happened.
    #[serde(default, deserialize_with = "null_as_default")]
    pub occurrences: i64,
}

/// One entry of a master's `workers`.
#[derive(Deserialize, Clone, Debug, Default, PartialEq)]
pub struct WorkerReport {
    /// Locust's worker id (`<host>_<hex>`).
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    /// ready, spawning (hatching before Locust 1.0), running, stopped or missing.
    #[serde(default, deserialize_with = "null_as_default")]
    pub state: String,
    /// Users this worker runs.
    #[serde(default, deserialize_with = "null_as_default")]
    pub user_count: i64,
}

/// Null reads as the type's default, like a missing field.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Why a body is not a statistics report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatsError {
    /// Not JSON, or JSON of another shape (an HTML error page or an API `Status` from a proxy).
    #[error("not a Locust statistics report: {0}")]
    NotAReport(String),
}

/// Fields every Locust version has put in the report; without them the JSON is something else.
const REQUIRED_FIELDS: [&str; 2] = ["state", "stats"];

/// Reads a `/stats/requests` body.
pub fn parse_report(body: &[u8]) -> Result<RequestsReport, StatsError> {
    let not_a_report = StatsError::NotAReport;
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|error| not_a_report(error.to_string()))?;
    let object = value
        .as_object()
        .ok_or_else(|| not_a_report("expected a JSON object".into()))?;
    if let Some(missing) = REQUIRED_FIELDS.iter().find(|field| !object.contains_key(**field)) {
        return Err(not_a_report(format!("no `{missing}` field")));
    }
    serde_json::from_value(value).map_err(|error| not_a_report(error.to_string()))
}

/// Workers connected to the master, as it counts them; `None` when the report is not a master's.
pub fn connected_workers(report: &RequestsReport) -> Option<i32> {
    report.worker_count.or_else(|| {
        let workers = report.workers.as_ref()?;
        let connected = workers.iter().filter(|w| w.state != "missing").count();
        Some(i32::try_from(connected).unwrap_or(i32::MAX))
    })
}

/// Worker pods connected to the master; `None` when the report is not a master's.
///
/// Locust counts every process a worker forks with `--processes` as a worker of its own, so its
/// count would read 12 for 3 pods of 4 processes. Each process's id is `<hostname>_<hex>` and a
/// pod's hostname is its name, so the distinct hosts of the connected workers are the pods. A
/// report without the list falls back to Locust's count.
pub fn connected_worker_pods(report: &RequestsReport) -> Option<i32> {
    let Some(workers) = report.workers.as_ref() else {
        return report.worker_count;
    };
    let hosts: std::collections::BTreeSet<&str> = workers
        .iter()
        .filter(|worker| CONNECTED_WORKER_STATES.contains(&worker.state.as_str()))
        .map(|worker| worker.id.rsplit_once('_').map_or(worker.id.as_str(), |(host, _)| host))
        .collect();
    Some(i32::try_from(hosts.len()).unwrap_or(i32::MAX))
}

/// The worker states Locust's own `worker_count` counts (`hatching` is spawning before 1.0).
const CONNECTED_WORKER_STATES: [&str; 4] = ["ready", "spawning", "hatching", "running"];

fn round_to(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Requests per second over the last few seconds: where the report has it, else the whole test's
/// average (a report without either is from a Locust this code has never seen).
fn current_rps(report: &RequestsReport, aggregated: Option<&EndpointStats>) -> f64 {
    report
        .current_rps
        .or(aggregated.map(|row| row.current_rps))
        .unwrap_or(report.total_rps)
}

/// The status summary of a report read at `now`. Totals and response times are those of the
/// whole test so far (the `Aggregated` row), so they are the results once the test has ended.
pub fn summarize(report: &RequestsReport, now: Timestamp) -> TestStats {
    let aggregated = report.stats.iter().find(|row| row.is_aggregated());
    let (total_requests, total_failures) = match aggregated {
        Some(row) => (row.num_requests, row.num_failures),
        None => report.stats.iter().fold((0, 0), |(requests, failures), row| {
            (requests + row.num_requests, failures + row.num_failures)
        }),
    };
    // Before the first request Locust reports times of 0: no value is better than a false one.
    let measured = aggregated.filter(|row| row.num_requests > 0);
    TestStats {
        state: report.state.clone(),
        users: report.user_count,
        total_requests,
        total_failures,
        fail_ratio: round_to(report.fail_ratio, 4),
        fail_percent: round_to(report.fail_ratio * 100.0, 2),
        current_rps: round_to(current_rps(report, aggregated), 1),
        median_response_time: measured.map(|row| round_to(row.median_response_time, 1)),
        p95_response_time: measured
            .and_then(|row| row.response_time_percentile_95)
            .map(|ms| round_to(ms, 1)),
        workers: connected_workers(report),
        last_update_time: Some(Time(now)),
    }
}

/// How a sample is typed in the exposition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleKind {
    /// A value that goes up and down.
    Gauge,
    /// A value that only goes up. The `locust_exporter` series are all gauges (its dashboards
    /// query them as such, and an OpenMetrics counter would need a `_total` suffix), so none of
    /// [`exposition`]'s samples uses this.
    Counter,
}

/// One metric sample of one test.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Metric name, e.g. `locust_users`.
    pub name: &'static str,
    /// The metric's help text.
    pub help: &'static str,
    /// Gauge or counter.
    pub kind: SampleKind,
    /// Label pairs: the metric's own, then `namespace` and `test`.
    pub labels: Vec<(&'static str, String)>,
    /// The value.
    pub value: f64,
}

/// Names and help texts of the exposed series (`locust_exporter`'s names).
pub mod metric {
    pub const UP: (&str, &str) = (
        "locust_up",
        "The current health status of the server (1 = UP, 0 = DOWN).",
    );
    pub const RUNNING: (&str, &str) = (
        "locust_running",
        "The current state of the execution (0 = STOPPED 1 = HATCHING 2 = RUNNING,).",
    );
    pub const USERS: (&str, &str) = ("locust_users", "The current number of users.");
    pub const WORKERS_COUNT: (&str, &str) = ("locust_workers_count", "The current number of workers.");
    pub const WORKERS_RUNNING: (&str, &str) =
        ("locust_workers_running_count", "The current number of running workers.");
    pub const WORKERS_HATCHING: (&str, &str) = (
        "locust_workers_hatching_count",
        "The current number of hatching workers.",
    );
    pub const WORKERS_MISSING: (&str, &str) =
        ("locust_workers_missing_count", "The current number of missing workers.");
    pub const WORKER_DETAIL: (&str, &str) = ("locust_worker_detail", "The current status of a worker with user count");
    pub const CURRENT_P95: (&str, &str) = (
        "locust_requests_current_response_time_percentile_95",
        "95th percentile response time over the last few seconds, ms.",
    );
    pub const CURRENT_P50: (&str, &str) = (
        "locust_requests_current_response_time_percentile_50",
        "Median response time over the last few seconds, ms.",
    );
    pub const FAIL_RATIO: (&str, &str) = ("locust_requests_fail_ratio", "Failed requests / all requests.");
    pub const NUM_REQUESTS: (&str, &str) = ("locust_requests_num_requests", "Requests made, by endpoint.");
    pub const NUM_FAILURES: (&str, &str) = ("locust_requests_num_failures", "Requests failed, by endpoint.");
    pub const AVG_RESPONSE_TIME: (&str, &str) = ("locust_requests_avg_response_time", "Mean response time, ms.");
    pub const MIN_RESPONSE_TIME: (&str, &str) = ("locust_requests_min_response_time", "Fastest response, ms.");
    pub const MAX_RESPONSE_TIME: (&str, &str) = ("locust_requests_max_response_time", "Slowest response, ms.");
    pub const MEDIAN_RESPONSE_TIME: (&str, &str) =
        ("locust_requests_median_response_time", "Median response time, ms.");
    pub const AVG_CONTENT_LENGTH: (&str, &str) = ("locust_requests_avg_content_length", "Mean response size, bytes.");
    pub const CURRENT_RPS: (&str, &str) = ("locust_requests_current_rps", "Requests per second right now.");
    pub const CURRENT_FAIL_PER_SEC: (&str, &str) =
        ("locust_requests_current_fail_per_sec", "Failures per second right now.");
    pub const ERRORS: (&str, &str) = ("locust_errors", "The current number of errors.");
}

/// Builds samples that all carry the test's labels after their own.
struct Series<'a> {
    namespace: &'a str,
    test: &'a str,
    samples: Vec<Sample>,
}

impl Series<'_> {
    fn push(&mut self, (name, help): (&'static str, &'static str), own: Vec<(&'static str, String)>, value: f64) {
        let mut labels = own;
        labels.push(("namespace", self.namespace.to_string()));
        labels.push(("test", self.test.to_string()));
        self.samples.push(Sample {
            name,
            help,
            kind: SampleKind::Gauge,
            labels,
            value,
        });
    }
}

fn count(n: usize) -> f64 {
    // Counts of workers and rows: far below 2^53, so exact.
    n as f64
}

/// Locust's state as `locust_running` encodes it: 2 running, 1 spawning, 0 anything else.
fn running_code(state: &str) -> f64 {
    match state {
        "running" => 2.0,
        "spawning" | "hatching" => 1.0,
        _ => 0.0,
    }
}

/// The series of one test's report, labelled `namespace` and `test`. Same names, labels and
/// meanings as `locust_exporter`, except that Locust 2.x's `spawning` counts where it counted
/// `hatching`, and the current percentiles come from where Locust 2.x reports them (and are left
/// out while Locust has none).
pub fn exposition(namespace: &str, test: &str, report: &RequestsReport) -> Vec<Sample> {
    let mut series = Series {
        namespace,
        test,
        samples: Vec::new(),
    };
    series.push(metric::UP, Vec::new(), 1.0);
    series.push(metric::RUNNING, Vec::new(), running_code(&report.state));
    series.push(metric::USERS, Vec::new(), report.user_count as f64);
    series.push(metric::FAIL_RATIO, Vec::new(), report.fail_ratio);
    for (key, target) in [
        (CURRENT_MEDIAN_KEY, metric::CURRENT_P50),
        (CURRENT_P95_KEY, metric::CURRENT_P95),
    ] {
        if let Some(Some(ms)) = report.current_response_time_percentiles.get(key) {
            series.push(target, Vec::new(), *ms);
        }
    }

    let workers = report.workers.as_deref().unwrap_or_default();
    let in_state = |states: &[&str]| count(workers.iter().filter(|w| states.contains(&w.state.as_str())).count());
    let listed = match (report.workers.as_ref(), report.worker_count) {
        (Some(list), _) => count(list.len()),
        (None, Some(connected)) => f64::from(connected),
        (None, None) => 0.0,
    };
    series.push(metric::WORKERS_COUNT, Vec::new(), listed);
    series.push(metric::WORKERS_RUNNING, Vec::new(), in_state(&["running"]));
    series.push(
        metric::WORKERS_HATCHING,
        Vec::new(),
        in_state(&["spawning", "hatching"]),
    );
    series.push(metric::WORKERS_MISSING, Vec::new(), in_state(&["missing"]));
    for worker in workers {
        series.push(
            metric::WORKER_DETAIL,
            vec![("id", worker.id.clone()), ("state", worker.state.clone())],
            worker.user_count as f64,
        );
    }

    // The exporter keeps the Aggregated row (dashboards select it by name) and drops only the
    // pre-1.0 `Total` row.
    for row in report.stats.iter().filter(|row| row.name != "Total") {
        let endpoint = || vec![("method", row.method.clone()), ("name", row.name.clone())];
        series.push(metric::NUM_REQUESTS, endpoint(), row.num_requests as f64);
        series.push(metric::NUM_FAILURES, endpoint(), row.num_failures as f64);
        series.push(metric::AVG_RESPONSE_TIME, endpoint(), row.avg_response_time);
        series.push(metric::CURRENT_FAIL_PER_SEC, endpoint(), row.current_fail_per_sec);
        series.push(metric::MIN_RESPONSE_TIME, endpoint(), row.min_response_time);
        series.push(metric::MAX_RESPONSE_TIME, endpoint(), row.max_response_time);
        series.push(metric::CURRENT_RPS, endpoint(), row.current_rps);
        series.push(metric::MEDIAN_RESPONSE_TIME, endpoint(), row.median_response_time);
        series.push(metric::AVG_CONTENT_LENGTH, endpoint(), row.avg_content_length);
    }
    for error in &report.errors {
        series.push(
            metric::ERRORS,
            vec![
                ("method", error.method.clone()),
                ("name", error.name.clone()),
                ("error", error.error.clone()),
            ],
            error.occurrences as f64,
        );
    }
    series.samples
}

/// The one series of a test whose master could not be read: `locust_up` 0, as the exporter
/// reports an unreachable Locust.
pub fn exposition_down(namespace: &str, test: &str) -> Vec<Sample> {
    let mut series = Series {
        namespace,
        test,
        samples: Vec::new(),
    };
    series.push(metric::UP, Vec::new(), 0.0);
    series.samples
}
