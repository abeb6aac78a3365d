//! The list of tests (`kubectl locust status`), as `kubectl get` prints it: blank-padded columns,
//! no borders, `-` for what is not known yet.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use shared::api::status::conditions::{self, completed, health, ready, workers};
use shared::api::v2::{LocustTest, Phase};

use crate::output::Palette;
use crate::render::progress::ran_for;

/// Which columns to print.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    /// `-A`: the namespace first.
    pub namespace: bool,
    /// `-o wide`: users, requests, p95, duration, image and the problem.
    pub wide: bool,
}

/// Spaces between columns, as `kubectl get` leaves them.
const GAP: usize = 3;

/// How long ago, the way kubectl's AGE column says it: `45s`, `5m30s`, `150m`, `5h20m`, `3d`.
pub fn age(since: Option<Timestamp>, now: Timestamp) -> String {
    let Some(since) = since else {
        return "-".to_string();
    };
    human_duration(now.duration_since(since).as_secs())
}

/// kubectl's human duration: exact while short, coarser as it grows.
pub fn human_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    let minutes = seconds / 60;
    let hours = minutes / 60;
    let days = hours / 24;
    let with_rest = |big: i64, big_unit: &str, small: i64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    if seconds < 120 {
        format!("{seconds}s")
    } else if minutes < 10 {
        with_rest(minutes, "m", seconds % 60, "s")
    } else if minutes < 180 {
        format!("{minutes}m")
    } else if hours < 8 {
        with_rest(hours, "h", minutes % 60, "m")
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        with_rest(days, "d", hours % 24, "h")
    } else if days < 365 * 2 {
        format!("{days}d")
    } else if days < 365 * 8 {
        with_rest(days / 365, "y", days % 365, "d")
    } else {
        format!("{}y", days / 365)
    }
}

/// Whether a condition says something is wrong (rather than "not yet"): pod failures, a failed
/// test, missing workers, an ignored spec edit, resources in error.
pub fn is_problem(condition: &Condition) -> bool {
    match condition.type_.as_str() {
        conditions::SPEC_DRIFTED => condition.status == "True",
        conditions::TEST_COMPLETED => failed_reason(&condition.reason),
        conditions::PODS_HEALTHY => condition.status == "False",
        conditions::WORKERS_CONNECTED => condition.reason == workers::WORKERS_MISSING,
        conditions::READY => condition.reason == ready::RESOURCES_FAILED,
        // A type this version does not know: trust its status.
        _ => condition.status == "False",
    }
}

/// Whether a TestCompleted reason says the test failed: Locust failed it, or its thresholds did.
pub fn failed_reason(reason: &str) -> bool {
    [
        completed::TEST_FAILED,
        completed::THRESHOLDS_BREACHED,
        completed::THRESHOLDS_UNVERIFIED,
    ]
    .contains(&reason)
}

/// The problem worth naming first: the cause (a pod failure) before its effects (a failed test,
/// resources in error), so the wide view says `ImagePullError`, not `ResourcesFailed`.
pub fn first_problem(test: &LocustTest) -> Option<&Condition> {
    let problems: Vec<&Condition> = test
        .status
        .as_ref()?
        .conditions
        .iter()
        .flatten()
        .filter(|c| is_problem(c))
        .collect();
    problems.into_iter().min_by_key(|c| cause_rank(c))
}

/// Causes first: pod health explains a failed test, which explains resources in error.
pub fn cause_rank(condition: &Condition) -> u8 {
    match condition.type_.as_str() {
        conditions::PODS_HEALTHY => 0,
        // Limits breached are why a run Locust passed ended Failed.
        conditions::THRESHOLDS_MET => 1,
        conditions::TEST_COMPLETED => 2,
        conditions::WORKERS_CONNECTED => 3,
        conditions::SPEC_DRIFTED => 4,
        conditions::READY => 5,
        _ => 6,
    }
}

/// Whether the pods failed in a way that ended the test (image, configuration, scheduling, crash).
pub fn pods_failed(test: &LocustTest) -> bool {
    first_problem(test).is_some_and(|c| c.type_ == conditions::PODS_HEALTHY && c.reason != health::PODS_STARTING)
}

/// One row's cells, without colour.
pub fn row(test: &LocustTest, columns: Columns, now: Timestamp) -> Vec<String> {
    let status = test.status.clone().unwrap_or_default();
    let stats = status.stats.as_ref();
    let dash = || "-".to_string();
    let mut cells = Vec::new();
    if columns.namespace {
        cells.push(test.metadata.namespace.clone().unwrap_or_else(dash));
    }
    cells.extend([
        test.metadata.name.clone().unwrap_or_else(dash),
        status.phase.map_or_else(dash, |p| p.to_string()),
        status.expected_workers.map_or_else(dash, |e| e.to_string()),
        status.connected_workers.map_or_else(dash, |c| c.to_string()),
        stats.map_or_else(dash, |s| format!("{:.1}", s.current_rps)),
        stats.map_or_else(dash, |s| format!("{:.2}", s.fail_percent)),
        age(test.metadata.creation_timestamp.as_ref().map(|t| t.0), now),
    ]);
    if columns.wide {
        let duration = ran_for(&status, now);
        cells.extend([
            stats.map_or_else(dash, |s| s.users.to_string()),
            stats.map_or_else(dash, |s| s.total_requests.to_string()),
            stats
                .and_then(|s| s.p95_response_time)
                .map_or_else(dash, |p| format!("{p:.0}")),
            duration.unwrap_or_else(dash),
            test.spec.image.clone(),
            first_problem(test).map_or_else(dash, |c| c.reason.clone()),
        ]);
    }
    cells
}

/// The header cells for `columns`.
pub fn header(columns: Columns) -> Vec<String> {
    let mut header: Vec<&str> = Vec::new();
    if columns.namespace {
        header.push("NAMESPACE");
    }
    header.extend(["NAME", "PHASE", "WORKERS", "CONNECTED", "RPS", "FAIL%", "AGE"]);
    if columns.wide {
        header.extend(["USERS", "REQUESTS", "P95(MS)", "DURATION", "IMAGE", "PROBLEM"]);
    }
    header.into_iter().map(str::to_string).collect()
}

/// Lines of `rows` with every column as wide as its widest cell plus a gap, the last column not
/// padded. `paint(row, column, cell)` colours a cell after the padding is measured, so colour
/// codes do not shift the columns.
pub fn aligned(rows: &[Vec<String>], gap: usize, paint: impl Fn(usize, usize, &str) -> String) -> Vec<String> {
    let count = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..count)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|cell| cell.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    rows.iter()
        .enumerate()
        .map(|(r, cells)| {
            let mut line = String::new();
            for (c, cell) in cells.iter().enumerate() {
                line.push_str(&paint(r, c, cell));
                if c + 1 < cells.len() {
                    line.push_str(&" ".repeat(widths[c] - cell.chars().count() + gap));
                }
            }
            line.trim_end().to_string()
        })
        .collect()
}

/// The table, header first. The phase is coloured when colour is on.
pub fn table(tests: &[LocustTest], columns: Columns, palette: Palette, now: Timestamp) -> String {
    table_lines(tests, columns, palette, now).join("\n")
}

/// The table's lines, header first (a watch prints the header once, then rows).
pub fn table_lines(tests: &[LocustTest], columns: Columns, palette: Palette, now: Timestamp) -> Vec<String> {
    let mut rows = vec![header(columns)];
    rows.extend(tests.iter().map(|t| row(t, columns, now)));
    let phase_column = usize::from(columns.namespace) + 1;
    aligned(&rows, GAP, |r, c, cell| {
        if r > 0 && c == phase_column {
            palette.phase(parse_phase(cell))
        } else {
            cell.to_string()
        }
    })
}

fn parse_phase(text: &str) -> Option<Phase> {
    [Phase::Pending, Phase::Running, Phase::Succeeded, Phase::Failed]
        .into_iter()
        .find(|p| p.as_str() == text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    /// The text without its colour codes (`ESC [ ... m`).
    pub fn strip_ansi(text: &str) -> String {
        let mut out = String::new();
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                chars.by_ref().find(|&c| c == 'm');
            } else {
                out.push(c);
            }
        }
        out
    }

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn test(name: &str, status: serde_json::Value) -> LocustTest {
        serde_json::from_value(json!({
            "apiVersion": "locust.io/v2", "kind": "LocustTest",
            "metadata": {"name": name, "namespace": "load", "creationTimestamp": "2026-11-22T10:00:00Z"},
            "spec": {"image": "locustio/locust:2.20.0", "master": {"command": "-f t.py"},
                     "worker": {"command": "-f t.py", "replicas": 2}},
            "status": status,
        }))
        .unwrap()
    }

    fn condition(type_: &str, status: &str, reason: &str) -> serde_json::Value {
        json!({"type": type_, "status": status, "reason": reason, "message": "",
               "lastTransitionTime": "2026-11-22T10:00:00Z"})
    }

    #[test]
    fn ages_read_like_kubectl() {
        let now = at("2026-11-22T12:00:00Z");
        let ago = |seconds: i64| human_duration(seconds);
        assert_eq!(ago(45), "45s");
        assert_eq!(ago(119), "119s");
        assert_eq!(ago(330), "5m30s");
        assert_eq!(ago(600), "10m");
        assert_eq!(ago(3 * 3600 + 20 * 60), "3h20m");
        assert_eq!(ago(30 * 3600), "30h");
        assert_eq!(ago(3 * 86_400 + 4 * 3600), "3d4h");
        assert_eq!(ago(40 * 86_400), "40d");
        assert_eq!(ago(-5), "0s");
        assert_eq!(age(None, now), "-");
        assert_eq!(age(Some(at("2026-11-22T11:59:00Z")), now), "60s");
    }

    #[test]
    fn unknown_values_are_dashes_and_columns_line_up() {
        let now = at("2026-11-22T10:05:00Z");
        let lines = table_lines(
            &[
                test("a-rather-long-name", json!(null)),
                test(
                    "b",
                    json!({"phase": "Running", "expectedWorkers": 2, "connectedWorkers": 2,
                                 "stats": {"currentRps": 12.34, "failPercent": 0.5}}),
                ),
            ],
            Columns::default(),
            Palette::plain(),
            now,
        );
        assert_eq!(
            lines[0],
            "NAME                 PHASE     WORKERS   CONNECTED   RPS    FAIL%   AGE"
        );
        assert_eq!(
            lines[1],
            "a-rather-long-name   -         -         -           -      -       5m"
        );
        assert_eq!(
            lines[2],
            "b                    Running   2         2           12.3   0.50    5m"
        );
    }

    #[test]
    fn all_namespaces_puts_the_namespace_first_and_wide_adds_columns() {
        let both = Columns {
            namespace: true,
            wide: true,
        };
        let header = header(both);
        assert_eq!(header[0], "NAMESPACE");
        assert_eq!(header.last().unwrap(), "PROBLEM");
        let cells = row(&test("a", json!(null)), both, at("2026-11-22T10:00:00Z"));
        assert_eq!(cells.len(), header.len());
        assert_eq!(cells[0], "load");
        assert_eq!(cells[cells.len() - 2], "locustio/locust:2.20.0");
    }

    #[test]
    fn the_problem_named_is_the_cause_not_its_effects() {
        let failed = test(
            "a",
            json!({"phase": "Failed", "conditions": [
                condition("Ready", "False", "ResourcesFailed"),
                condition("WorkersConnected", "False", "WaitingForWorkers"),
                condition("TestCompleted", "True", "TestFailed"),
                condition("PodsHealthy", "False", "ImagePullError"),
            ]}),
        );
        assert_eq!(first_problem(&failed).unwrap().reason, "ImagePullError");
        let starting = test(
            "b",
            json!({"phase": "Pending", "conditions": [
                condition("Ready", "False", "ResourcesCreating"),
                condition("WorkersConnected", "False", "WaitingForWorkers"),
                condition("TestCompleted", "False", "TestInProgress"),
                condition("PodsHealthy", "True", "PodsStarting"),
            ]}),
        );
        assert!(first_problem(&starting).is_none());
        let drifted = test(
            "c",
            json!({"conditions": [condition("SpecDrifted", "True", "SpecChangeIgnored")]}),
        );
        assert_eq!(first_problem(&drifted).unwrap().reason, "SpecChangeIgnored");
    }

    #[test]
    fn colour_paints_the_phase_without_moving_the_columns() {
        let tests = [test("b", json!({"phase": "Failed"}))];
        let now = at("2026-11-22T10:00:00Z");
        let plain = table_lines(&tests, Columns::default(), Palette::plain(), now);
        let coloured = table_lines(&tests, Columns::default(), Palette { enabled: true }, now);
        assert_ne!(plain[1], coloured[1]);
        assert!(coloured[1].contains("\u{1b}["), "{:?}", coloured[1]);
        assert_eq!(strip_ansi(&coloured[1]), plain[1]);
    }
}
