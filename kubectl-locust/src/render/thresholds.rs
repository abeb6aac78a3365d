//! `spec.thresholds` against what was measured, for the summary of `run --wait`/`--local`, the
//! detailed status and the live view. While a test runs, its aggregate limits are set against the
//! live statistics (indicative only: the verdict is made on the final numbers); once it ended,
//! `status.thresholds` holds the verdict on each limit.

use shared::api::status::conditions;
use shared::api::v2::{LocustTest, Phase, Thresholds};
use shared::thresholds::{ALL_REQUESTS, Check, Metric};

use crate::output::Palette;

/// The metric a `status.thresholds[].limit` field names.
pub fn metric_of(limit: &str) -> Option<Metric> {
    Metric::of_field(limit)
}

/// `1.00 %`, `500 ms`, `50.0`.
pub fn value(metric: Metric, value: f64) -> String {
    metric.value(value)
}

/// `at most 500 ms`, `at least 50.0`.
pub fn bound(metric: Metric, allowed: f64) -> String {
    metric.bound(allowed)
}

/// Each limit the spec sets, in spec order, as (subject, metric, allowed).
pub fn planned(thresholds: &Thresholds) -> Vec<(String, Metric, f64)> {
    shared::thresholds::planned(thresholds)
}

/// How one limit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Checked at the end: met.
    Met,
    /// Checked at the end: not met.
    Breached,
    /// Running, and the live value is within the limit so far.
    Within,
    /// Running, and the live value is past the limit so far.
    Over,
    /// Running: the live value says little (RPS now is not the run's average).
    AtEnd,
    /// Running: nothing live to compare (an endpoint's limit).
    WhenEnded,
    /// Ended without a recorded verdict (an operator from before thresholds).
    Unchecked,
}

impl Standing {
    pub fn text(self) -> &'static str {
        match self {
            Self::Met => "met",
            Self::Breached => "BREACHED",
            Self::Within => "within so far",
            Self::Over => "over so far",
            Self::AtEnd => "checked at the end (run average)",
            Self::WhenEnded => "checked when the run ends",
            Self::Unchecked => "not checked",
        }
    }

    /// Whether it is bad news.
    pub fn is_bad(self) -> bool {
        matches!(self, Self::Breached | Self::Over)
    }
}

/// One line of the thresholds table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub subject: String,
    pub metric: Metric,
    pub allowed: f64,
    /// Measured at the end, or live while running; `None`: no value (yet).
    pub measured: Option<f64>,
    pub standing: Standing,
}

impl Row {
    /// The cells: subject, limit, allowed, measured (or now), standing.
    pub fn cells(&self) -> [String; 5] {
        let measured = match (self.measured, self.standing) {
            (Some(measured), _) => value(self.metric, measured),
            (None, Standing::Met | Standing::Breached) => "no requests".to_string(),
            (None, _) => "-".to_string(),
        };
        [
            self.subject.clone(),
            self.metric.label().to_string(),
            bound(self.metric, self.allowed),
            measured,
            self.standing.text().to_string(),
        ]
    }
}

/// What the thresholds of `test` look like now; `None` when it sets none and none were checked.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    /// `breached: 1 of 4 limits`, `all 3 met`, `checked when the run ends`, ...
    pub heading: String,
    /// Whether the heading is bad news.
    pub bad: bool,
    pub rows: Vec<Row>,
    /// Why nothing could be checked (ThresholdsMet's message), when so.
    pub note: Option<String>,
    /// Whether the rows are the final verdict (else live values).
    pub ended: bool,
}

/// The thresholds of `test` against its results: the verdict once it ended, live values before.
pub fn view(test: &LocustTest) -> Option<View> {
    let status = test.status.clone().unwrap_or_default();
    let ended = status.phase.is_some_and(Phase::is_terminal);
    let recorded = status.thresholds.as_ref();
    if ended && let Some(results) = recorded {
        let rows: Vec<Row> = results
            .iter()
            .filter_map(|result| {
                Some(Row {
                    subject: result.subject.clone(),
                    metric: metric_of(&result.limit)?,
                    allowed: result.allowed,
                    measured: result.measured,
                    standing: if result.met { Standing::Met } else { Standing::Breached },
                })
            })
            .collect();
        let breached = rows.iter().filter(|row| row.standing == Standing::Breached).count();
        let condition = shared::status::condition(&status, conditions::THRESHOLDS_MET);
        let unverified =
            rows.is_empty() || condition.is_some_and(|c| c.reason == conditions::thresholds::STATISTICS_UNAVAILABLE);
        if unverified {
            return Some(View {
                heading: "not checked".to_string(),
                bad: true,
                rows,
                note: Some(condition.map_or_else(
                    || "no statistics were read from the master before it ended".to_string(),
                    |c| c.message.clone(),
                )),
                ended,
            });
        }
        let heading = if breached == 0 {
            format!("all {} met", rows.len())
        } else {
            format!("breached: {breached} of {} limits", rows.len())
        };
        return Some(View {
            heading,
            bad: breached > 0,
            rows,
            note: None,
            ended,
        });
    }
    let limits = test.spec.thresholds.as_ref()?;
    let stats = status.stats.as_ref();
    let rows: Vec<Row> = planned(limits)
        .into_iter()
        .map(|(subject, metric, allowed)| {
            let live = stats
                .filter(|_| subject == ALL_REQUESTS && !ended)
                .and_then(|stats| match metric {
                    Metric::FailRatio => Some(stats.fail_ratio),
                    Metric::P95ResponseTime => stats.p95_response_time,
                    Metric::MedianResponseTime => stats.median_response_time,
                    Metric::Rps => Some(stats.current_rps),
                });
            let standing = match (live, metric) {
                (None, _) if ended => Standing::Unchecked,
                (None, _) => Standing::WhenEnded,
                (Some(_), Metric::Rps) => Standing::AtEnd,
                (Some(live), metric) if metric.within(live, allowed) => Standing::Within,
                (Some(_), _) => Standing::Over,
            };
            Row {
                subject,
                metric,
                allowed,
                measured: live,
                standing,
            }
        })
        .collect();
    let heading = if ended {
        // Ended without a verdict: an operator from before thresholds, or a local run's manifest.
        "not checked (no verdict was recorded)".to_string()
    } else {
        "checked when the run ends; live values so far".to_string()
    };
    Some(View {
        heading,
        bad: ended,
        rows,
        note: None,
        ended,
    })
}

/// The summary's lines about the thresholds (empty when the test sets none).
pub fn summary_lines(test: &LocustTest, palette: Palette) -> Vec<String> {
    let Some(view) = view(test) else {
        return Vec::new();
    };
    let heading = format!("thresholds {}", view.heading);
    let mut lines = vec![format!(
        "  {}",
        if view.bad {
            palette.red(&heading)
        } else {
            palette.green(&heading)
        }
    )];
    if let Some(note) = &view.note {
        lines.push(format!("    {note}"));
    }
    for row in &view.rows {
        let [subject, limit, allowed, measured, standing] = row.cells();
        let text = match row.standing {
            Standing::Met | Standing::Breached => format!("{standing:<9}{}", check_of_row(row).describe()),
            Standing::Unchecked => format!("{limit} of {subject}: allowed {allowed} ({standing})"),
            _ => format!("{limit} of {subject}: {measured} now, allowed {allowed} ({standing})"),
        };
        lines.push(format!(
            "    {}",
            if row.standing.is_bad() {
                palette.red(&text)
            } else {
                text
            }
        ));
    }
    lines
}

fn check_of_row(row: &Row) -> Check {
    Check {
        subject: row.subject.clone(),
        metric: row.metric,
        allowed: row.allowed,
        measured: row.measured,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn test(thresholds: serde_json::Value, status: serde_json::Value) -> LocustTest {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "locust.io/v2", "kind": "LocustTest", "metadata": {"name": "demo"},
            "spec": {"image": "i", "master": {"command": "c"}, "worker": {"command": "c", "replicas": 2},
                     "thresholds": thresholds},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn every_limit_field_names_its_metric() {
        for metric in Metric::ALL {
            assert_eq!(metric_of(metric.field()), Some(metric));
        }
        assert_eq!(metric_of("maxSomething"), None);
    }

    #[test]
    fn while_running_aggregate_limits_meet_live_values_and_endpoint_limits_wait_for_the_end() {
        let running = test(
            serde_json::json!({"maxFailRatio": 0.01, "maxP95ResponseTimeMs": 100, "minRps": 50,
                               "endpoints": [{"name": "/slow", "method": "GET", "maxP95ResponseTimeMs": 300}]}),
            serde_json::json!({"phase": "Running", "stats": {"state": "running", "users": 1, "totalRequests": 10,
                "totalFailures": 0, "failRatio": 0.0, "failPercent": 0.0, "currentRps": 80.0, "p95ResponseTime": 140.0}}),
        );
        let view = view(&running).unwrap();
        let standings: Vec<(String, Standing)> = view.rows.iter().map(|r| (r.subject.clone(), r.standing)).collect();
        assert_eq!(
            standings,
            [
                ("all requests".to_string(), Standing::Within),
                ("all requests".to_string(), Standing::Over),
                ("all requests".to_string(), Standing::AtEnd),
                ("GET /slow".to_string(), Standing::WhenEnded),
            ]
        );
        let lines = summary_lines(&running, Palette::plain()).join("\n");
        assert!(
            lines.contains("p95 response time of all requests: 140 ms now, allowed at most 100 ms (over so far)"),
            "{lines}"
        );
    }

    #[test]
    fn an_ended_test_without_a_recorded_verdict_says_its_limits_were_not_checked() {
        let ended = test(
            serde_json::json!({"maxP95ResponseTimeMs": 100}),
            serde_json::json!({"phase": "Succeeded", "stats": {"state": "stopped", "users": 0, "totalRequests": 10,
                "totalFailures": 0, "failRatio": 0.0, "failPercent": 0.0, "currentRps": 0.0, "p95ResponseTime": 140.0}}),
        );
        let text = summary_lines(&ended, Palette::plain()).join("\n");
        assert_eq!(
            text,
            "  thresholds not checked (no verdict was recorded)\n    p95 response time of all requests: allowed at most 100 ms (not checked)"
        );
    }

    #[test]
    fn once_ended_the_recorded_verdict_is_shown_check_by_check() {
        let ended = test(
            serde_json::json!({"maxP95ResponseTimeMs": 100}),
            serde_json::json!({"phase": "Failed", "thresholds": [
                {"subject": "all requests", "limit": "maxP95ResponseTimeMs", "allowed": 100.0, "measured": 312.0, "met": false},
                {"subject": "GET /a", "limit": "maxFailRatio", "allowed": 0.0, "met": false}]}),
        );
        let text = summary_lines(&ended, Palette::plain()).join("\n");
        assert_eq!(
            text,
            "  thresholds breached: 2 of 2 limits\n    BREACHED p95 response time of all requests: 312 ms, allowed at most 100 ms\n    BREACHED fail ratio of GET /a: no requests, allowed at most 0.00 %"
        );
    }
}
