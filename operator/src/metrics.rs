//! The operator's Prometheus metrics, served on `/metrics` in the OpenMetrics text format:
//!
//! * `locust_operator_reconciliations_total` — reconciles run;
//! * `locust_operator_reconcile_errors_total{step,error}` — failed reconciles by failing step
//!   (`create_child`, `list_events`, `patch_status`) and error kind;
//! * `locust_operator_reconcile_duration_seconds` — reconcile duration histogram (1 ms – 10 s);
//! * `locust_operator_tests{phase}` — LocustTests by phase, computed at scrape time;
//! * `locust_operator_leader` — 1 while this replica leads;
//! * `locust_operator_ready` — 1 while `/readyz` answers 200;
//!
//! and, per running test, the series of the widely used `locust_exporter` (`locust_up`,
//! `locust_users`, `locust_workers_count`, `locust_requests_num_requests{method,name}`, ...), each
//! labelled `namespace` and `test`, built from the scraper's latest readings at scrape time (see
//! [`Metrics::with_test_series`]); a test that stops running or is deleted drops out with them.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicI64;
use std::time::Instant;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::{ConstGauge, Gauge};
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry, Unit};
use shared::stats::{Sample, SampleKind};

/// The `Content-Type` of [`Metrics::encode`]'s output.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Phases always exposed by `locust_operator_tests`, zero when no test is in them.
pub const PHASES: [&str; 5] = ["Pending", "Running", "Succeeded", "Failed", "Unknown"];

/// Upper bounds of the reconcile duration buckets, in seconds.
const DURATION_BUCKETS: [f64; 13] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Counts tests by phase, called on every scrape: `(phase, count)` pairs.
pub type PhaseCounter = Box<dyn Fn() -> Vec<(String, i64)> + Send + Sync>;

/// Lists every test's samples, called on every scrape.
pub type SampleSource = Box<dyn Fn() -> Vec<Sample> + Send + Sync>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ErrorLabels {
    step: String,
    error: String,
}

/// The operator's metrics and the registry that exposes them.
pub struct Metrics {
    registry: Registry,
    reconciliations: Counter,
    reconcile_errors: Family<ErrorLabels, Counter>,
    reconcile_duration: Histogram,
    leader: Gauge<i64, AtomicI64>,
    ready: Gauge<i64, AtomicI64>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Registers every metric; `phase_counts` is asked for the test counts at each scrape.
    pub fn new(phase_counts: PhaseCounter) -> Self {
        let mut registry = Registry::default();
        let reconciliations = Counter::default();
        registry.register(
            "locust_operator_reconciliations",
            "LocustTest reconciles run",
            reconciliations.clone(),
        );
        let reconcile_errors = Family::<ErrorLabels, Counter>::default();
        registry.register(
            "locust_operator_reconcile_errors",
            "LocustTest reconciles that failed, by failing step and error kind",
            reconcile_errors.clone(),
        );
        let reconcile_duration = Histogram::new(DURATION_BUCKETS);
        registry.register_with_unit(
            "locust_operator_reconcile_duration",
            "How long LocustTest reconciles took",
            Unit::Seconds,
            reconcile_duration.clone(),
        );
        let leader = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "locust_operator_leader",
            "1 while this replica is the leader, else 0",
            leader.clone(),
        );
        let ready = Gauge::<i64, AtomicI64>::default();
        registry.register(
            "locust_operator_ready",
            "1 while this replica reports ready, else 0",
            ready.clone(),
        );
        registry.register_collector(Box::new(TestsByPhase { count: phase_counts }));
        Self {
            registry,
            reconciliations,
            reconcile_errors,
            reconcile_duration,
            leader,
            ready,
        }
    }

    /// Adds the per-test series that `source` lists at each scrape (the scraper's cache).
    #[must_use]
    pub fn with_test_series(mut self, source: SampleSource) -> Self {
        self.registry.register_collector(Box::new(TestSeries { source }));
        self
    }

    /// Starts timing a reconcile: dropping the timer counts the reconcile and records its duration.
    pub fn reconcile_timer(&self) -> ReconcileTimer {
        ReconcileTimer {
            started: Instant::now(),
            reconciliations: self.reconciliations.clone(),
            duration: self.reconcile_duration.clone(),
        }
    }

    /// Counts a failed reconcile under its failing step (`create_child`, ...) and a short error
    /// kind (`conflict`, `api`, ...).
    pub fn reconcile_error(&self, step: &str, kind: &str) {
        self.reconcile_errors
            .get_or_create(&ErrorLabels {
                step: step.to_string(),
                error: kind.to_string(),
            })
            .inc();
    }

    /// Records whether this replica leads.
    pub fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Records whether this replica reports ready.
    pub fn set_ready(&self, ready: bool) {
        self.ready.set(i64::from(ready));
    }

    /// The exposition, in the OpenMetrics text format ([`CONTENT_TYPE`]).
    pub fn encode(&self) -> String {
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            // Only a collector can fail, and writing to a String cannot: log rather than serve nothing.
            tracing::error!(%error, "cannot encode metrics");
        }
        text
    }
}

/// Times one reconcile; see [`Metrics::reconcile_timer`].
#[must_use = "the reconcile is recorded when the timer is dropped"]
pub struct ReconcileTimer {
    started: Instant,
    reconciliations: Counter,
    duration: Histogram,
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.reconciliations.inc();
        self.duration.observe(self.started.elapsed().as_secs_f64());
    }
}

/// `locust_operator_tests{phase}`, counted at scrape time so deleted tests disappear by themselves.
struct TestsByPhase {
    count: PhaseCounter,
}

impl std::fmt::Debug for TestsByPhase {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TestsByPhase").finish_non_exhaustive()
    }
}

impl Collector for TestsByPhase {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut by_phase: BTreeMap<String, i64> = BTreeMap::new();
        for (phase, count) in (self.count)() {
            *by_phase.entry(phase).or_insert(0) += count;
        }
        let mut metric = encoder.encode_descriptor(
            "locust_operator_tests",
            "LocustTests by status phase.",
            None,
            MetricType::Gauge,
        )?;
        // The documented phases first, in lifecycle order, then any other phase seen.
        let known: Vec<(String, i64)> = PHASES
            .iter()
            .map(|phase| (phase.to_string(), by_phase.remove(*phase).unwrap_or(0)))
            .collect();
        for (phase, count) in known.into_iter().chain(by_phase) {
            let labels = [("phase", phase.as_str())];
            ConstGauge::new(count).encode(metric.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

/// The per-test series, encoded at scrape time from whatever the source lists then.
struct TestSeries {
    source: SampleSource,
}

impl std::fmt::Debug for TestSeries {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("TestSeries").finish_non_exhaustive()
    }
}

/// One metric name with its samples, in the order they were listed.
struct SampleFamily {
    name: &'static str,
    help: &'static str,
    kind: SampleKind,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

/// Groups samples by metric name, keeping first-seen order: a family must be written once, with
/// all its samples together, while the source lists them test by test.
fn families(samples: Vec<Sample>) -> Vec<SampleFamily> {
    let mut index: std::collections::HashMap<&'static str, usize> = std::collections::HashMap::new();
    let mut families: Vec<SampleFamily> = Vec::new();
    for sample in samples {
        let position = *index.entry(sample.name).or_insert_with(|| {
            families.push(SampleFamily {
                name: sample.name,
                help: sample.help,
                kind: sample.kind,
                samples: Vec::new(),
            });
            families.len() - 1
        });
        if let Some(family) = families.get_mut(position) {
            family.samples.push((sample.labels, sample.value));
        }
    }
    families
}

impl Collector for TestSeries {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in families((self.source)()) {
            let metric_type = match family.kind {
                SampleKind::Gauge => MetricType::Gauge,
                SampleKind::Counter => MetricType::Counter,
            };
            let mut metric = encoder.encode_descriptor(family.name, family.help, None, metric_type)?;
            for (labels, value) in &family.samples {
                match family.kind {
                    SampleKind::Gauge => ConstGauge::new(*value).encode(metric.encode_family(labels)?)?,
                    SampleKind::Counter => ConstCounter::new(*value).encode(metric.encode_family(labels)?)?,
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::{Arc, Mutex};

    use super::*;

    fn counts(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
        pairs.iter().map(|(phase, count)| (phase.to_string(), *count)).collect()
    }

    fn no_tests() -> Metrics {
        Metrics::new(Box::new(Vec::new))
    }

    /// The value of the series written exactly as `series` (name and labels).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
    }

    #[test]
    fn fresh_metrics_expose_every_series_at_zero() {
        let text = no_tests().encode();
        assert_eq!(value(&text, "locust_operator_reconciliations_total"), Some(0.0));
        assert_eq!(
            value(&text, "locust_operator_reconcile_duration_seconds_count"),
            Some(0.0)
        );
        assert_eq!(value(&text, "locust_operator_leader"), Some(0.0));
        assert_eq!(value(&text, "locust_operator_ready"), Some(0.0));
        for phase in PHASES {
            assert_eq!(
                value(&text, &format!("locust_operator_tests{{phase=\"{phase}\"}}")),
                Some(0.0),
                "{phase}"
            );
        }
        // No error kind has occurred, so there is no error series yet.
        assert!(!text.contains("locust_operator_reconcile_errors_total{"));
        assert!(text.contains("# TYPE locust_operator_tests gauge"));
        assert!(text.contains("# UNIT locust_operator_reconcile_duration_seconds seconds"));
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn reconcile_timer_counts_and_records_duration_on_drop() {
        let metrics = no_tests();
        {
            let _first = metrics.reconcile_timer();
            let _second = metrics.reconcile_timer();
            std::thread::sleep(std::time::Duration::from_millis(3));
            assert_eq!(
                value(&metrics.encode(), "locust_operator_reconciliations_total"),
                Some(0.0)
            );
        }
        let text = metrics.encode();
        assert_eq!(value(&text, "locust_operator_reconciliations_total"), Some(2.0));
        assert_eq!(
            value(&text, "locust_operator_reconcile_duration_seconds_count"),
            Some(2.0)
        );
        let sum = value(&text, "locust_operator_reconcile_duration_seconds_sum").unwrap();
        assert!(sum >= 0.006, "sum {sum}");
        // Both took at least 3 ms, so none falls in the 1 ms or 2.5 ms buckets.
        assert_eq!(
            value(&text, "locust_operator_reconcile_duration_seconds_bucket{le=\"0.001\"}"),
            Some(0.0)
        );
        assert_eq!(
            value(
                &text,
                "locust_operator_reconcile_duration_seconds_bucket{le=\"0.0025\"}"
            ),
            Some(0.0)
        );
        assert_eq!(
            value(&text, "locust_operator_reconcile_duration_seconds_bucket{le=\"10.0\"}"),
            Some(2.0)
        );
        assert_eq!(
            value(&text, "locust_operator_reconcile_duration_seconds_bucket{le=\"+Inf\"}"),
            Some(2.0)
        );
    }

    #[test]
    fn errors_are_counted_by_step_and_kind() {
        let metrics = no_tests();
        metrics.reconcile_error("patch_status", "conflict");
        metrics.reconcile_error("patch_status", "conflict");
        metrics.reconcile_error("create_child", "api");
        let text = metrics.encode();
        assert_eq!(
            value(
                &text,
                "locust_operator_reconcile_errors_total{step=\"patch_status\",error=\"conflict\"}"
            ),
            Some(2.0)
        );
        assert_eq!(
            value(
                &text,
                "locust_operator_reconcile_errors_total{step=\"create_child\",error=\"api\"}"
            ),
            Some(1.0)
        );
    }

    #[test]
    fn leader_and_ready_gauges_follow_the_last_setting() {
        let metrics = no_tests();
        metrics.set_leader(true);
        metrics.set_ready(true);
        let text = metrics.encode();
        assert_eq!(value(&text, "locust_operator_leader"), Some(1.0));
        assert_eq!(value(&text, "locust_operator_ready"), Some(1.0));
        metrics.set_leader(false);
        assert_eq!(value(&metrics.encode(), "locust_operator_leader"), Some(0.0));
    }

    #[test]
    fn tests_by_phase_are_computed_at_each_scrape() {
        let current = Arc::new(Mutex::new(counts(&[("Running", 2), ("Failed", 1)])));
        let source = current.clone();
        let metrics = Metrics::new(Box::new(move || source.lock().unwrap().clone()));
        let text = metrics.encode();
        assert_eq!(value(&text, "locust_operator_tests{phase=\"Running\"}"), Some(2.0));
        assert_eq!(value(&text, "locust_operator_tests{phase=\"Failed\"}"), Some(1.0));
        assert_eq!(value(&text, "locust_operator_tests{phase=\"Pending\"}"), Some(0.0));

        // The running tests were deleted and one new one is pending: nothing stale remains.
        *current.lock().unwrap() = counts(&[("Pending", 1), ("Failed", 1)]);
        let text = metrics.encode();
        assert_eq!(value(&text, "locust_operator_tests{phase=\"Running\"}"), Some(0.0));
        assert_eq!(value(&text, "locust_operator_tests{phase=\"Pending\"}"), Some(1.0));
        assert_eq!(value(&text, "locust_operator_tests{phase=\"Failed\"}"), Some(1.0));
    }

    fn sample(name: &'static str, labels: &[(&'static str, &str)], value: f64) -> Sample {
        Sample {
            name,
            help: "help text",
            kind: SampleKind::Gauge,
            labels: labels.iter().map(|(key, value)| (*key, value.to_string())).collect(),
            value,
        }
    }

    #[test]
    fn test_series_are_grouped_per_metric_and_follow_the_source() {
        let current = Arc::new(Mutex::new(vec![
            sample("locust_users", &[("namespace", "a"), ("test", "one")], 4.0),
            sample("locust_workers_count", &[("namespace", "a"), ("test", "one")], 2.0),
            sample("locust_users", &[("namespace", "b"), ("test", "two")], 10.0),
        ]));
        let source = current.clone();
        let metrics = no_tests().with_test_series(Box::new(move || source.lock().unwrap().clone()));
        let text = metrics.encode();
        assert_eq!(value(&text, "locust_users{namespace=\"a\",test=\"one\"}"), Some(4.0));
        assert_eq!(value(&text, "locust_users{namespace=\"b\",test=\"two\"}"), Some(10.0));
        assert_eq!(
            value(&text, "locust_workers_count{namespace=\"a\",test=\"one\"}"),
            Some(2.0)
        );
        // One family per name, with both tests' samples under it.
        assert_eq!(text.matches("# TYPE locust_users gauge").count(), 1, "{text}");
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            text.contains("# HELP locust_users help text\n# TYPE locust_users gauge\n"),
            "{text}"
        );
        let users: Vec<usize> = lines
            .iter()
            .enumerate()
            .filter(|(_, line)| line.starts_with("locust_users{"))
            .map(|(index, _)| index)
            .collect();
        assert_eq!(users.len(), 2);
        assert_eq!(users[1], users[0] + 1, "samples of one family are contiguous:\n{text}");
        assert!(text.ends_with("# EOF\n"));

        // Test one is gone: its series go with it.
        *current.lock().unwrap() = vec![sample("locust_users", &[("namespace", "b"), ("test", "two")], 12.0)];
        let text = metrics.encode();
        assert!(!text.contains("test=\"one\""), "{text}");
        assert!(!text.contains("locust_workers_count"), "{text}");
        assert_eq!(value(&text, "locust_users{namespace=\"b\",test=\"two\"}"), Some(12.0));
    }

    #[test]
    fn test_series_label_values_are_escaped() {
        let error = "HTTPError('404 Client Error: \"Not Found\" for url: /missing')";
        let metrics = no_tests().with_test_series(Box::new(move || {
            vec![sample(
                "locust_errors",
                &[
                    ("method", "GET"),
                    ("name", "/missing"),
                    ("error", error),
                    ("namespace", "a"),
                    ("test", "t"),
                ],
                3.0,
            )]
        }));
        let text = metrics.encode();
        let expected = "locust_errors{method=\"GET\",name=\"/missing\",error=\"HTTPError('404 Client Error: \\\"Not Found\\\" for url: /missing')\",namespace=\"a\",test=\"t\"}";
        assert_eq!(value(&text, expected), Some(3.0), "{text}");
    }

    #[test]
    fn unexpected_phases_are_exposed_and_repeated_phases_summed() {
        let metrics = Metrics::new(Box::new(|| counts(&[("Paused", 1), ("Running", 1), ("Running", 2)])));
        let text = metrics.encode();
        assert_eq!(value(&text, "locust_operator_tests{phase=\"Paused\"}"), Some(1.0));
        assert_eq!(value(&text, "locust_operator_tests{phase=\"Running\"}"), Some(3.0));
        assert_eq!(text.matches("locust_operator_tests{phase=\"Running\"}").count(), 1);
    }
}
