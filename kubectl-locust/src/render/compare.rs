//! `report NAME --compare OTHER`: two finished runs side by side, endpoint by endpoint, from the
//! final statistics each one's report kept. Pure.

use shared::stats::{EndpointStats, RequestsReport};

use super::table::aligned;

/// Gap between the columns.
const GAP: usize = 2;

/// The numbers compared for one row of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Figures {
    rps: f64,
    median: f64,
    p95: Option<f64>,
    requests: i64,
    failures: i64,
}

impl Figures {
    fn of(row: &EndpointStats, report: &RequestsReport) -> Self {
        Self {
            // Over the whole run; older Locust versions have it for the Aggregated row only.
            rps: row.total_rps.unwrap_or(if row.is_aggregated() {
                report.total_rps
            } else {
                row.current_rps
            }),
            median: row.median_response_time,
            p95: row.response_time_percentile_95,
            requests: row.num_requests,
            failures: row.num_failures,
        }
    }

    fn fail_percent(&self) -> f64 {
        if self.requests > 0 {
            self.failures as f64 * 100.0 / self.requests as f64
        } else {
            0.0
        }
    }
}

/// `+25%`, `-3%`, `=`, or the absolute change when the base is 0.
fn change(base: f64, new: f64) -> String {
    if (new - base).abs() < 1e-9 {
        "=".to_string()
    } else if base.abs() < 1e-9 {
        format!("{:+.1}", new - base)
    } else {
        format!("{:+.0}%", (new - base) * 100.0 / base)
    }
}

/// `12.3 -> 15.0 (+22%)`; one side missing shows as `-`.
fn cell(base: Option<f64>, new: Option<f64>, show: impl Fn(f64) -> String) -> String {
    match (base, new) {
        (Some(base), Some(new)) => format!("{} -> {} ({})", show(base), show(new), change(base, new)),
        (Some(base), None) => format!("{} -> -", show(base)),
        (None, Some(new)) => format!("- -> {}", show(new)),
        (None, None) => "-".to_string(),
    }
}

fn failures_cell(base: Option<Figures>, new: Option<Figures>) -> String {
    let show = |f: Figures| format!("{} ({:.2}%)", f.failures, f.fail_percent());
    match (base, new) {
        (Some(base), Some(new)) => {
            let delta = new.failures - base.failures;
            let delta = if delta == 0 {
                "=".to_string()
            } else {
                format!("{delta:+}")
            };
            format!("{} -> {} ({delta})", show(base), show(new))
        }
        (Some(base), None) => format!("{} -> -", show(base)),
        (None, Some(new)) => format!("- -> {}", show(new)),
        (None, None) => "-".to_string(),
    }
}

fn key(row: &EndpointStats) -> (String, String) {
    (row.method.to_ascii_uppercase(), row.name.clone())
}

/// The comparison of run `name` (`new`) with run `base_name` (`base`): one row per endpoint
/// (matched by method and name, in `new`'s order, then those only `base` has) and the Aggregated
/// row last; each cell `base -> new (change)`.
pub fn compare(base_name: &str, base: &RequestsReport, name: &str, new: &RequestsReport) -> String {
    let endpoints = |report: &RequestsReport| -> Vec<EndpointStats> {
        report
            .stats
            .iter()
            .filter(|row| !row.is_aggregated())
            .cloned()
            .collect()
    };
    let (base_rows, new_rows) = (endpoints(base), endpoints(new));
    let mut keys: Vec<(String, String)> = new_rows.iter().map(key).collect();
    keys.extend(
        base_rows
            .iter()
            .map(key)
            .filter(|k| !new_rows.iter().any(|row| key(row) == *k)),
    );

    let mut rows = vec![
        ["ENDPOINT", "REQUESTS", "RPS", "MEDIAN (ms)", "P95 (ms)", "FAILURES", ""]
            .map(str::to_string)
            .to_vec(),
    ];
    let mut push = |label: String, base: Option<Figures>, new: Option<Figures>| {
        let note = match (base.is_some(), new.is_some()) {
            (true, false) => format!("only in {base_name}"),
            (false, true) => format!("only in {name}"),
            _ => String::new(),
        };
        rows.push(vec![
            label,
            cell(base.map(|f| f.requests as f64), new.map(|f| f.requests as f64), |v| {
                format!("{v:.0}")
            }),
            cell(base.map(|f| f.rps), new.map(|f| f.rps), |v| format!("{v:.1}")),
            cell(base.map(|f| f.median), new.map(|f| f.median), |v| format!("{v:.0}")),
            cell(base.and_then(|f| f.p95), new.and_then(|f| f.p95), |v| format!("{v:.0}")),
            failures_cell(base, new),
            note,
        ]);
    };
    let find = |rows: &[EndpointStats], report: &RequestsReport, wanted: &(String, String)| {
        rows.iter()
            .find(|row| key(row) == *wanted)
            .map(|row| Figures::of(row, report))
    };
    for wanted in &keys {
        let label = format!("{} {}", wanted.0, wanted.1).trim().to_string();
        push(label, find(&base_rows, base, wanted), find(&new_rows, new, wanted));
    }
    let aggregated = |report: &RequestsReport| {
        report
            .stats
            .iter()
            .find(|row| row.is_aggregated())
            .map(|row| Figures::of(row, report))
    };
    push("Aggregated".to_string(), aggregated(base), aggregated(new));

    let mut lines = vec![format!(
        "{name} compared with {base_name} (each cell: {base_name} -> {name} (change))"
    )];
    lines.extend(
        aligned(&rows, GAP, |_, _, cell| cell.to_string())
            .into_iter()
            .map(|line| line.trim_end().to_string()),
    );
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn changes_are_relative_unless_the_base_is_zero() {
        assert_eq!(change(10.0, 12.5), "+25%");
        assert_eq!(change(10.0, 10.0), "=");
        assert_eq!(change(0.0, 2.0), "+2.0");
        assert_eq!(change(200.0, 100.0), "-50%");
    }
}
