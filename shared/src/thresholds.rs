//! Thresholds: the limits a test's results must meet (`spec.thresholds`), checked on the master's
//! last statistics when the test ends. Pure: the verdict is a function of the limits and one
//! `/stats/requests` report.

use crate::api::status::ThresholdResult;
use crate::api::v2::{EndpointThresholds, Limits, Thresholds};
use crate::stats::{EndpointStats, RequestsReport};

/// What a limit is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Failed requests / requests, at most.
    FailRatio,
    /// 95th-percentile response time in ms, at most.
    P95ResponseTime,
    /// Median response time in ms, at most.
    MedianResponseTime,
    /// Requests per second over the run, at least.
    Rps,
}

impl Metric {
    /// Every metric, in the order the spec lists its limits.
    pub const ALL: [Metric; 4] = [
        Self::FailRatio,
        Self::P95ResponseTime,
        Self::MedianResponseTime,
        Self::Rps,
    ];

    /// The metric a limit's field names (`maxP95ResponseTimeMs`, as `status.thresholds[].limit`).
    pub fn of_field(field: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|metric| metric.field() == field)
    }

    /// The field of `spec.thresholds` that sets it.
    pub fn field(self) -> &'static str {
        match self {
            Self::FailRatio => "maxFailRatio",
            Self::P95ResponseTime => "maxP95ResponseTimeMs",
            Self::MedianResponseTime => "maxMedianResponseTimeMs",
            Self::Rps => "minRps",
        }
    }

    /// In words, for messages.
    pub fn label(self) -> &'static str {
        match self {
            Self::FailRatio => "fail ratio",
            Self::P95ResponseTime => "p95 response time",
            Self::MedianResponseTime => "median response time",
            Self::Rps => "RPS",
        }
    }

    /// `at most 500 ms`, `at least 50.0`.
    pub fn bound(self, allowed: f64) -> String {
        let word = if self == Self::Rps { "at least" } else { "at most" };
        format!("{word} {}", self.value(allowed))
    }

    /// Whether `measured` is within `allowed`.
    pub fn within(self, measured: f64, allowed: f64) -> bool {
        match self {
            Self::Rps => measured >= allowed,
            _ => measured <= allowed,
        }
    }

    /// `1.00 %`, `500 ms`, `50.0`.
    pub fn value(self, value: f64) -> String {
        match self {
            Self::FailRatio => format!("{:.2} %", value * 100.0),
            Self::P95ResponseTime | Self::MedianResponseTime => format!("{value:.0} ms"),
            Self::Rps => format!("{value:.1}"),
        }
    }
}

/// One limit checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// `all requests`, or the endpoint (`GET /checkout`).
    pub subject: String,
    /// What is limited.
    pub metric: Metric,
    /// The limit.
    pub allowed: f64,
    /// What was measured; `None` when the endpoint had no requests.
    pub measured: Option<f64>,
}

impl Check {
    /// Whether the limit is met (an endpoint without requests does not meet it).
    pub fn passed(&self) -> bool {
        self.measured
            .is_some_and(|measured| self.metric.within(measured, self.allowed))
    }

    /// `p95 response time of GET /checkout: 812 ms, allowed at most 500 ms`.
    pub fn describe(&self) -> String {
        let measured = match self.measured {
            Some(value) => self.metric.value(value),
            None => "no requests".to_string(),
        };
        format!(
            "{} of {}: {measured}, allowed {}",
            self.metric.label(),
            self.subject,
            self.metric.bound(self.allowed)
        )
    }
}

impl Check {
    /// The check as `status.thresholds` records it.
    pub fn to_result(&self) -> ThresholdResult {
        ThresholdResult {
            subject: self.subject.clone(),
            limit: self.metric.field().to_string(),
            allowed: self.allowed,
            measured: self.measured.map(round3),
            met: self.passed(),
        }
    }
}

/// Three decimals are plenty for milliseconds, ratios and rates, and keep status stable.
fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// The subject of the limits over all requests.
pub const ALL_REQUESTS: &str = "all requests";

/// The verdict on a test's thresholds.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Every limit is met.
    Met(Vec<Check>),
    /// Some limits are not; all checks, in spec order.
    Breached(Vec<Check>),
    /// The statistics could not be read, so nothing could be checked (never a silent pass).
    Unverified(String),
}

impl Verdict {
    /// The checks made.
    pub fn checks(&self) -> &[Check] {
        match self {
            Self::Met(checks) | Self::Breached(checks) => checks,
            Self::Unverified(_) => &[],
        }
    }

    /// Whether the test passes its thresholds.
    pub fn passed(&self) -> bool {
        matches!(self, Self::Met(_))
    }

    /// What to say: each breach, or that all were met, or why nothing could be checked.
    pub fn message(&self) -> String {
        match self {
            Self::Met(checks) => format!("all {} thresholds met", checks.len()),
            Self::Breached(checks) => {
                let breaches: Vec<String> = checks.iter().filter(|c| !c.passed()).map(Check::describe).collect();
                format!("thresholds breached: {}", breaches.join("; "))
            }
            Self::Unverified(why) => format!("the thresholds could not be checked: {why}"),
        }
    }
}

/// The limits one subject (all requests, or one endpoint) sets, as (metric, allowed).
fn limits(limits: &Limits) -> Vec<(Metric, f64)> {
    let set = [
        limits.max_fail_ratio,
        limits.max_p95_response_time_ms,
        limits.max_median_response_time_ms,
        limits.min_rps,
    ];
    Metric::ALL
        .into_iter()
        .zip(set)
        .filter_map(|(metric, allowed)| allowed.map(|allowed| (metric, allowed)))
        .collect()
}

/// How checks name an endpoint: `GET /checkout`, or `/checkout` for every method.
pub fn subject(endpoint: &EndpointThresholds) -> String {
    match &endpoint.method {
        Some(method) => format!("{method} {}", endpoint.name),
        None => endpoint.name.clone(),
    }
}

/// Each limit `thresholds` sets, in spec order, as (subject, metric, allowed).
pub fn planned(thresholds: &Thresholds) -> Vec<(String, Metric, f64)> {
    let mut planned: Vec<_> = limits(&thresholds.limits)
        .into_iter()
        .map(|(metric, allowed)| (ALL_REQUESTS.to_string(), metric, allowed))
        .collect();
    for endpoint in thresholds.endpoints.iter().flatten() {
        let subject = subject(endpoint);
        planned.extend(
            limits(&endpoint.limits)
                .into_iter()
                .map(|(metric, allowed)| (subject.clone(), metric, allowed)),
        );
    }
    planned
}

/// What a stats row measured for `metric`; `None` without requests.
fn measure(row: &EndpointStats, metric: Metric) -> Option<f64> {
    if row.num_requests <= 0 {
        return None;
    }
    match metric {
        Metric::FailRatio => Some(row.num_failures as f64 / row.num_requests as f64),
        Metric::P95ResponseTime => row.response_time_percentile_95,
        Metric::MedianResponseTime => Some(row.median_response_time),
        Metric::Rps => row.total_rps,
    }
}

fn endpoint_rows<'a>(report: &'a RequestsReport, wanted: &EndpointThresholds) -> Vec<&'a EndpointStats> {
    report
        .stats
        .iter()
        .filter(|row| !row.is_aggregated() && row.name == wanted.name)
        .filter(|row| {
            wanted
                .method
                .as_deref()
                .is_none_or(|method| row.method.eq_ignore_ascii_case(method))
        })
        .collect()
}

/// Checks `thresholds` against `report`, the master's last statistics (`None`: none were read).
pub fn evaluate(thresholds: &Thresholds, report: Option<&RequestsReport>) -> Verdict {
    let Some(report) = report else {
        return Verdict::Unverified("no statistics were read from the master before it ended".into());
    };
    let mut checks = Vec::new();
    let aggregated = report.stats.iter().find(|row| row.is_aggregated());
    for (metric, allowed) in limits(&thresholds.limits) {
        checks.push(Check {
            subject: ALL_REQUESTS.into(),
            metric,
            allowed,
            // Older Locust versions have the run's RPS at the top level only.
            measured: aggregated.and_then(|row| measure(row, metric)).or_else(|| {
                (metric == Metric::Rps && aggregated.is_some_and(|row| row.num_requests > 0))
                    .then_some(report.total_rps)
            }),
        });
    }
    for endpoint in thresholds.endpoints.iter().flatten() {
        let subject = subject(endpoint);
        let rows = endpoint_rows(report, endpoint);
        for (metric, allowed) in limits(&endpoint.limits) {
            // Without a method, every method's row of that name must meet the limit.
            let measured = if rows.is_empty() {
                None
            } else {
                let values: Option<Vec<f64>> = rows.iter().map(|row| measure(row, metric)).collect();
                values.map(|values| worst(metric, &values))
            };
            checks.push(Check {
                subject: subject.clone(),
                metric,
                allowed,
                measured,
            });
        }
    }
    if checks.iter().all(Check::passed) {
        Verdict::Met(checks)
    } else {
        Verdict::Breached(checks)
    }
}

fn worst(metric: Metric, values: &[f64]) -> f64 {
    let fold = |pick: fn(f64, f64) -> f64, start| values.iter().copied().fold(start, pick);
    match metric {
        Metric::Rps => fold(f64::min, f64::INFINITY),
        _ => fold(f64::max, f64::NEG_INFINITY),
    }
}
