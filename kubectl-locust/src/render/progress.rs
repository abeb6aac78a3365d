//! One-line live progress and the end-of-test summary (`run --wait`, `run --local`).

use k8s_openapi::jiff::Timestamp;
use shared::api::status::conditions;
use shared::api::v2::{LocustTest, LocustTestStatus, Phase};

use crate::exit;
use crate::output::Palette;

/// The exit code once a test has ended: 0 for Succeeded, [`exit::TEST_FAILED`] for Failed;
/// `None` while it is still going.
pub fn exit_code(phase: Option<Phase>) -> Option<u8> {
    match phase {
        Some(Phase::Succeeded) => Some(exit::OK),
        Some(Phase::Failed) => Some(exit::TEST_FAILED),
        Some(Phase::Pending | Phase::Running) | None => None,
    }
}

/// `1m02s`, `45s`, `2h03m`.
pub fn short_duration(seconds: i64) -> String {
    let seconds = seconds.max(0);
    match seconds {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// How long the test has run: from its start to its completion, or to `now` while it runs (a
/// finished test's time is its duration, not the time since it started). `None` before it started.
pub fn ran_for(status: &LocustTestStatus, now: Timestamp) -> Option<String> {
    let start = status.start_time.as_ref()?;
    let end = status.completion_time.as_ref().map_or(now, |end| end.0);
    Some(short_duration(end.duration_since(start.0).as_secs()))
}

/// What the progress line says, without the elapsed time: printed again only when it changes.
pub fn progress_content(test: &LocustTest, palette: Palette) -> String {
    let name = test.metadata.name.as_deref().unwrap_or("?");
    let Some(status) = test.status.clone() else {
        // No status at all: nothing has reconciled the test yet.
        return format!(
            "{}  {}",
            palette.bold(name),
            palette.dim("created, waiting for the operator")
        );
    };
    let mut parts = vec![palette.bold(name), palette.phase(status.phase)];
    let workers = match (status.connected_workers, status.expected_workers) {
        (Some(connected), Some(expected)) => format!("workers {connected}/{expected}"),
        (None, Some(expected)) => format!("workers 0/{expected}"),
        _ => "workers -".to_string(),
    };
    parts.push(workers);
    if let Some(stats) = &status.stats {
        parts.push(format!("users {}", stats.users));
        parts.push(format!("rps {:.1}", stats.current_rps));
        let failures = format!("failures {} ({:.2}%)", stats.total_failures, stats.fail_percent);
        parts.push(if stats.total_failures > 0 {
            palette.red(&failures)
        } else {
            failures
        });
    }
    parts.join("  ")
}

/// The whole progress line at `now`: the content and the time since the test started.
pub fn progress_line(test: &LocustTest, palette: Palette, now: Timestamp) -> String {
    let content = progress_content(test, palette);
    match test.status.as_ref().and_then(|status| ran_for(status, now)) {
        Some(time) => format!("{content}  {time}"),
        None => content,
    }
}

/// The end-of-test summary: phase, duration, totals and, for a failure, what went wrong and
/// where to look next. `logs_hint` is the command that shows the logs.
pub fn summary(test: &LocustTest, palette: Palette, logs_hint: &str) -> String {
    summary_with_report(test, palette, None, logs_hint)
}

/// [`summary`] with a line saying where Locust's report of the run is (`report_line`).
pub fn summary_with_report(test: &LocustTest, palette: Palette, report_line: Option<&str>, logs_hint: &str) -> String {
    let name = test.metadata.name.as_deref().unwrap_or("?");
    let status = test.status.clone().unwrap_or_default();
    let mut lines = vec![format!("Test {} {}", palette.bold(name), palette.phase(status.phase))];
    if let (Some(start), Some(end)) = (&status.start_time, &status.completion_time) {
        lines.push(format!(
            "  duration   {}",
            short_duration(end.0.duration_since(start.0).as_secs())
        ));
    }
    match &status.stats {
        Some(stats) => {
            lines.push(format!("  requests   {}", stats.total_requests));
            let failures = format!("{} ({:.2}%)", stats.total_failures, stats.fail_percent);
            lines.push(format!(
                "  failures   {}",
                if stats.total_failures > 0 {
                    palette.red(&failures)
                } else {
                    failures
                }
            ));
            lines.push(format!("  rps        {:.1} (last reading)", stats.current_rps));
            if let Some(median) = stats.median_response_time {
                lines.push(format!("  median     {median:.0} ms"));
            }
            if let Some(p95) = stats.p95_response_time {
                lines.push(format!("  p95        {p95:.0} ms"));
            }
        }
        None => lines.push("  statistics none were read from the master".to_string()),
    }
    lines.extend(super::thresholds::summary_lines(test, palette));
    lines.extend(report_line.map(str::to_string));
    if status.phase == Some(Phase::Failed) {
        for condition in status.conditions.iter().flatten() {
            let bad = match condition.type_.as_str() {
                conditions::TEST_COMPLETED => condition.reason == conditions::completed::TEST_FAILED,
                // The thresholds' lines above say it, limit by limit.
                conditions::SPEC_DRIFTED | conditions::THRESHOLDS_MET => false,
                // Workers leave as a run ends; only workers gone while it ran are a cause.
                conditions::WORKERS_CONNECTED => condition.reason == conditions::workers::WORKERS_MISSING,
                _ => condition.status == "False",
            };
            if bad {
                lines.push(format!(
                    "  {} {}: {}",
                    palette.red(&condition.type_),
                    condition.reason,
                    condition.message
                ));
            }
        }
        lines.push(format!("  next: {logs_hint}"));
    }
    lines.join("\n")
}

/// Whether the test failed on its thresholds alone (Locust itself passed it).
pub fn failed_by_thresholds(test: &LocustTest) -> bool {
    test.status
        .as_ref()
        .and_then(|status| shared::status::condition(status, conditions::TEST_COMPLETED))
        .is_some_and(|completed| {
            [
                conditions::completed::THRESHOLDS_BREACHED,
                conditions::completed::THRESHOLDS_UNVERIFIED,
            ]
            .contains(&completed.reason.as_str())
        })
}

/// The line pointing at the saved report of a cluster test, when the operator saved one.
pub fn report_line(test: &LocustTest, namespace: &str) -> Option<String> {
    let name = test.metadata.name.as_deref()?;
    let saved = test.status.as_ref()?.report.as_ref()?.config_map.as_ref()?;
    Some(format!(
        "  report     `kubectl locust report {name} -n {namespace}` (Locust's report, kept in ConfigMap {saved})"
    ))
}

/// Where to look after a test ended or while it runs, as commands to copy.
pub fn next_steps(name: &str, namespace: &str) -> String {
    format!(
        "`kubectl locust logs {name} -n {namespace}` (the master's log), `kubectl locust status {name} -n {namespace}` (conditions and events)"
    )
}

/// Why `--timeout` ended the wait, and that the test goes on without us.
pub fn timed_out_message(name: &str, namespace: &str, after: std::time::Duration) -> String {
    format!(
        "timed out after {}; the test keeps running in the cluster; `kubectl delete lotest {name} -n {namespace}` stops it",
        humantime::format_duration(after)
    )
}

/// Ctrl-C stops the waiting, not the test.
pub fn interrupted_message(name: &str, namespace: &str) -> String {
    format!(
        "stopped waiting; the test keeps running; follow it with `kubectl locust status {name} -n {namespace} -w`, \
         stop it with `kubectl delete lotest {name} -n {namespace}`"
    )
}

/// Shown once when a test has had no status for a long time: nothing reconciles it.
pub fn no_operator_hint(name: &str, waited: std::time::Duration) -> String {
    format!(
        "hint: {name} has no status after {}: no locust operator seems to be acting on it; \
         check that it runs (`kubectl get pods -n locust-system`); still waiting",
        humantime::format_duration(std::time::Duration::from_secs(waited.as_secs()))
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn test(status: serde_json::Value) -> LocustTest {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "locust.io/v2", "kind": "LocustTest", "metadata": {"name": "demo"},
            "spec": {"image": "i", "master": {"command": "c"}, "worker": {"command": "c", "replicas": 2}},
            "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn only_terminal_phases_end_a_wait() {
        assert_eq!(exit_code(Some(Phase::Succeeded)), Some(0));
        assert_eq!(exit_code(Some(Phase::Failed)), Some(exit::TEST_FAILED));
        assert_eq!(exit_code(Some(Phase::Running)), None);
        assert_eq!(exit_code(Some(Phase::Pending)), None);
        assert_eq!(exit_code(None), None);
    }

    #[test]
    fn the_progress_line_shows_phase_workers_rate_and_failures() {
        let running = test(serde_json::json!({
            "phase": "Running", "connectedWorkers": 1, "expectedWorkers": 2,
            "startTime": "2026-01-01T00:00:00Z",
            "stats": {"state": "running", "users": 10, "totalRequests": 500, "totalFailures": 3,
                      "failRatio": 0.006, "failPercent": 0.6, "currentRps": 41.26}
        }));
        let now: Timestamp = "2026-01-01T00:01:02Z".parse().unwrap();
        assert_eq!(
            progress_line(&running, Palette::plain(), now),
            "demo  Running  workers 1/2  users 10  rps 41.3  failures 3 (0.60%)  1m02s"
        );
        let pending = test(serde_json::json!({}));
        assert_eq!(progress_content(&pending, Palette::plain()), "demo  -  workers -");
        let mut unreconciled = pending.clone();
        unreconciled.status = None;
        assert_eq!(
            progress_line(&unreconciled, Palette::plain(), now),
            "demo  created, waiting for the operator"
        );
        let finished = test(serde_json::json!({
            "phase": "Succeeded", "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:45Z"
        }));
        assert_eq!(
            progress_line(&finished, Palette::plain(), now),
            "demo  Succeeded  workers -  45s",
            "a finished test shows how long it ran"
        );
    }

    #[test]
    fn a_failed_summary_names_the_reason_and_the_next_step() {
        let failed = test(serde_json::json!({
            "phase": "Failed", "startTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:40Z",
            "conditions": [
                {"type": "TestCompleted", "status": "True", "reason": "TestFailed", "message": "the master exited with code 1",
                 "lastTransitionTime": "2026-01-01T00:00:40Z"},
                {"type": "Ready", "status": "True", "reason": "ResourcesCreated", "message": "ok",
                 "lastTransitionTime": "2026-01-01T00:00:00Z"}
            ],
            "stats": {"state": "stopped", "users": 0, "totalRequests": 20, "totalFailures": 20,
                      "failRatio": 1.0, "failPercent": 100.0, "currentRps": 0.0}
        }));
        let text = summary(&failed, Palette::plain(), "kubectl locust logs demo");
        assert!(text.starts_with("Test demo Failed"), "{text}");
        assert!(text.contains("duration   40s"), "{text}");
        assert!(text.contains("failures   20 (100.00%)"), "{text}");
        assert!(
            text.contains("TestCompleted TestFailed: the master exited with code 1"),
            "{text}"
        );
        assert!(!text.contains("ResourcesCreated"), "{text}");
        assert!(text.contains("next: kubectl locust logs demo"), "{text}");
    }

    #[test]
    fn waiting_messages_say_the_test_keeps_running_and_how_to_stop_it() {
        let timed_out = timed_out_message("demo", "load", std::time::Duration::from_secs(90));
        assert_eq!(
            timed_out,
            "timed out after 1m 30s; the test keeps running in the cluster; `kubectl delete lotest demo -n load` stops it"
        );
        let stopped = interrupted_message("demo", "load");
        assert!(
            stopped.starts_with("stopped waiting; the test keeps running"),
            "{stopped}"
        );
        assert!(stopped.contains("kubectl delete lotest demo -n load"), "{stopped}");
        let hint = no_operator_hint("demo", std::time::Duration::from_millis(30_400));
        assert!(hint.contains("no status after 30s"), "{hint}");
        assert!(hint.contains("kubectl get pods -n locust-system"), "{hint}");
        assert!(next_steps("demo", "load").contains("kubectl locust logs demo -n load"));
    }
}
