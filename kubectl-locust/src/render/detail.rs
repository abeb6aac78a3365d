//! The detailed view of one test (`kubectl locust status NAME`): what it is doing, why, and what to
//! do next when something is wrong. Everything here is derived from the object, its events and
//! the time given, so the same inputs print the same text.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use k8s_openapi::jiff::Timestamp;
use shared::api::status::conditions::{self, completed, health, workers};
use shared::api::v2::{LocustTest, Phase};
use shared::constants::LABEL_POD_NAME;
use shared::naming;

use crate::output::Palette;
use crate::render::events::EventRow;
use crate::render::progress::short_duration;
use crate::render::table::{age, aligned, cause_rank, is_problem};
use crate::render::thresholds;

/// Width of the labels of the header and statistics blocks.
const LABEL_WIDTH: usize = 14;
/// Gap between the columns of the conditions and events tables.
const GAP: usize = 2;
/// How long workers may take to connect before it is worth a look: the operator's pod grace period.
const WORKERS_SLOW_AFTER_SECONDS: i64 = shared::health::DEFAULT_GRACE_PERIOD.as_secs() as i64;

/// The recent events of the test, or why they could not be read.
pub type Events<'a> = Result<&'a [EventRow], &'a str>;

fn condition<'a>(test: &'a LocustTest, type_: &str) -> Option<&'a Condition> {
    shared::status::condition(test.status.as_ref()?, type_)
}

/// Which pods a health message names, as `logs` flags: ``, ` --workers` or ` --all`.
/// The operator's message lists the affected pods: `Reason: 2 pod(s) affected [a, b]: ...`.
fn logs_flag(test_name: &str, message: &str) -> &'static str {
    let master = message.contains(&format!("{}-", naming::master_name(test_name)));
    let worker = message.contains(&format!("{}-", naming::worker_name(test_name)));
    match (master, worker) {
        (true, true) => " --all",
        (false, true) => " --workers",
        _ => "",
    }
}

/// The ConfigMap or Secret a kubelet message says is missing: `configmap "scripts" not found`.
fn missing_object(message: &str) -> Option<(&'static str, String)> {
    let lower = message.to_ascii_lowercase();
    [("configmap \"", "ConfigMap"), ("secret \"", "Secret")]
        .into_iter()
        .find_map(|(needle, kind)| {
            let start = lower.find(needle)? + needle.len();
            let name = message[start..].split('"').next()?;
            (!name.is_empty()).then(|| (kind, name.to_string()))
        })
}

/// What to do about the test's problems, derived from its conditions' reasons; empty when all is
/// well. Causes come before effects, and each step names the command to run.
pub fn next_steps(test: &LocustTest, now: Timestamp) -> Vec<String> {
    let name = test.metadata.name.as_deref().unwrap_or("NAME");
    let ns = test.metadata.namespace.as_deref().unwrap_or("default");
    let Some(status) = &test.status else {
        let created = test
            .metadata
            .creation_timestamp
            .as_ref()
            .map(|t| format!(" in the {} since it was created", age(Some(t.0), now)))
            .unwrap_or_default();
        return vec![format!(
            "The operator has not written any status{created}: is it running? \
             `kubectl get pods -n locust-system` (and read its logs there)."
        )];
    };
    let mut steps = Vec::new();
    let delete_and_rerun = format!("delete it (`kubectl delete locusttest {name} -n {ns}`) and run it again");
    let pods_failure = condition(test, conditions::PODS_HEALTHY).filter(|c| c.status == "False");
    if let Some(pods) = pods_failure {
        let logs = format!("kubectl locust logs {name}{} -n {ns}", logs_flag(name, &pods.message));
        let describe = format!("kubectl describe pods -l {} -n {ns}", naming::test_pods_selector(name));
        steps.push(match pods.reason.as_str() {
            health::IMAGE_PULL_ERROR => format!(
                "The image cannot be pulled: check that spec.image ({}) is spelled right and exists in its \
                 registry, and that spec.imagePullSecrets names a Secret that can pull from it \
                 (`kubectl get secret -n {ns}`).",
                test.spec.image
            ),
            health::CONFIGURATION_ERROR => match missing_object(&pods.message) {
                Some((kind, object)) => format!(
                    "Create the {kind} \"{object}\" in namespace {ns} (`kubectl create {} {object} ... -n {ns}`).",
                    kind.to_ascii_lowercase()
                ),
                None => format!(
                    "Create the ConfigMap or Secret the PodsHealthy message names, in namespace {ns} \
                     (`kubectl get configmap,secret -n {ns}` lists what exists)."
                ),
            },
            health::SCHEDULING_ERROR => format!(
                "The pods cannot be scheduled: ask for less (spec.master.resources, spec.worker.resources, \
                 spec.worker.replicas) or make spec.scheduling (nodeSelector, tolerations, affinity) match \
                 your nodes; `{describe}` shows the scheduler's reason."
            ),
            health::CRASH_LOOP_BACK_OFF if pods.message.contains(shared::health::OUT_OF_MEMORY) => format!(
                "A container ran out of memory: raise its memory limit (spec.master.resources or \
                 spec.worker.resources); `{logs}` shows what it was doing."
            ),
            health::CRASH_LOOP_BACK_OFF => format!("A container keeps exiting: `{logs}` shows why."),
            health::INITIALIZATION_ERROR => format!(
                "An init container failed: `{describe}` names it; `{logs}` and \
                 `kubectl logs POD -c CONTAINER -n {ns}` show why."
            ),
            _ => format!("The pods are unhealthy: `{describe}` shows why."),
        });
    }
    if let Some(failed) = condition(test, conditions::TEST_COMPLETED).filter(|c| c.reason == completed::TEST_FAILED)
        && pods_failure.is_none()
    {
        let flag = if failed.message.contains("worker") {
            " --all"
        } else {
            ""
        };
        steps.push(format!(
            "The test failed: `kubectl locust logs {name}{flag} -n {ns}` shows why the master ended \
             (add --workers for the workers)."
        ));
    }
    if crate::render::progress::failed_by_thresholds(test) {
        steps.push(format!(
            "Locust passed the run but its results did not meet spec.thresholds (see Thresholds): \
             `kubectl locust report {name} -n {ns}` saves Locust's report of the run, request by request."
        ));
    }
    let ended = status.phase.is_some_and(Phase::is_terminal);
    if let Some(connected) = condition(test, conditions::WORKERS_CONNECTED)
        && !ended
    {
        let waited = now.duration_since(connected.last_transition_time.0).as_secs();
        let workers_logs = format!("kubectl locust logs {name} --workers -n {ns}");
        let worker_pods = format!(
            "kubectl get pods -l {LABEL_POD_NAME}={} -n {ns}",
            naming::worker_name(name)
        );
        match connected.reason.as_str() {
            workers::WORKERS_MISSING => steps.push(format!(
                "Not every worker is connected ({}): `{workers_logs}` and `{worker_pods}` show why.",
                connected.message
            )),
            workers::WAITING_FOR_WORKERS if waited >= WORKERS_SLOW_AFTER_SECONDS => steps.push(format!(
                "No worker has connected for {}: `{worker_pods}` shows whether they run, \
                 `{workers_logs}` what they say.",
                short_duration(waited)
            )),
            _ => {}
        }
        if connected
            .message
            .contains(shared::status::live::STATS_UNAVAILABLE_MARKER)
        {
            steps.push(format!(
                "The operator cannot read the master's statistics (see the WorkersConnected message): \
                 `kubectl locust logs {name} -n {ns}` shows whether the master runs; a NetworkPolicy may \
                 block the operator from its port {}.",
                shared::constants::WEB_UI_PORT
            ));
        }
    }
    if condition(test, conditions::SPEC_DRIFTED).is_some_and(|c| c.status == "True") {
        steps.push(format!(
            "The spec was edited after the test was created; the edit is ignored (a test runs with the spec \
             it started with). To run the new spec, {delete_and_rerun}."
        ));
    } else if status.phase == Some(Phase::Failed) {
        steps.push(format!(
            "A Failed test stays Failed: once the cause is fixed, {delete_and_rerun}."
        ));
    }
    steps
}

/// The whole view; `events` are the test's recent events, oldest first.
pub fn detail(test: &LocustTest, events: Events<'_>, palette: Palette, now: Timestamp) -> String {
    let status = test.status.clone().unwrap_or_default();
    let mut out = Vec::new();
    let field = |label: &str, value: String| format!("{:<LABEL_WIDTH$}{value}", format!("{label}:"));
    let dash = || "-".to_string();

    out.push(field(
        "Name",
        palette.bold(test.metadata.name.as_deref().unwrap_or("-")),
    ));
    out.push(field("Namespace", test.metadata.namespace.clone().unwrap_or_else(dash)));
    out.push(field("Phase", palette.phase(status.phase)));
    out.push(field("Image", test.spec.image.clone()));
    out.push(field(
        "Workers",
        format!(
            "{}/{} connected",
            status.connected_workers.map_or_else(dash, |c| c.to_string()),
            status.expected_workers.unwrap_or(test.spec.worker.replicas)
        ),
    ));
    if let Some(start) = &status.start_time {
        out.push(field(
            "Started",
            format!("{} ({} ago)", start.0, age(Some(start.0), now)),
        ));
        match &status.completion_time {
            Some(end) => out.push(field(
                "Completed",
                format!(
                    "{} (ran {})",
                    end.0,
                    short_duration(end.0.duration_since(start.0).as_secs())
                ),
            )),
            None if !status.phase.is_some_and(Phase::is_terminal) => {
                out.push(field(
                    "Running for",
                    short_duration(now.duration_since(start.0).as_secs()),
                ));
            }
            None => {}
        }
    } else if let Some(end) = &status.completion_time {
        out.push(field("Completed", format!("{} ({} ago)", end.0, age(Some(end.0), now))));
    }
    out.push(field(
        "Age",
        age(test.metadata.creation_timestamp.as_ref().map(|t| t.0), now),
    ));
    if let Some(report) = &status.report {
        let name = test.metadata.name.as_deref().unwrap_or("NAME");
        let ns = test.metadata.namespace.as_deref().unwrap_or("default");
        let saved = report
            .saved_time
            .as_ref()
            .map(|t| format!(", saved {} ago", age(Some(t.0), now)))
            .unwrap_or_default();
        let mut text = match &report.config_map {
            Some(config_map) => format!("`kubectl locust report {name} -n {ns}` (ConfigMap {config_map}{saved})"),
            None => "not saved".to_string(),
        };
        if let Some(message) = &report.message {
            text.push_str(&format!("; {message}"));
        }
        out.push(field("Report", text));
    }
    if let (Some(observed), Some(generation)) = (status.observed_generation, test.metadata.generation)
        && observed < generation
    {
        out.push(field(
            "Generation",
            palette.yellow(&format!("{generation} (the operator has seen {observed})")),
        ));
    }

    out.push(String::new());
    out.push(palette.bold("Conditions"));
    let conditions = status.conditions.clone().unwrap_or_default();
    if conditions.is_empty() {
        out.push("  none yet".to_string());
    } else {
        let mut rows = vec![
            ["TYPE", "STATUS", "REASON", "AGE", "MESSAGE"]
                .map(str::to_string)
                .to_vec(),
        ];
        rows.extend(conditions.iter().map(|c| {
            // A failure's message is often repeated by its effects (TestCompleted, Ready); print
            // it once, on the condition that is its cause.
            let cause = conditions
                .iter()
                .filter(|other| other.message == c.message && !c.message.is_empty())
                .min_by_key(|other| cause_rank(other))
                .filter(|other| other.type_ != c.type_);
            vec![
                c.type_.clone(),
                c.status.clone(),
                c.reason.clone(),
                age(Some(c.last_transition_time.0), now),
                cause.map_or_else(|| c.message.clone(), |other| format!("(same as {})", other.type_)),
            ]
        }));
        let lines = aligned(&rows, GAP, |_, _, cell| cell.to_string());
        for (index, line) in lines.into_iter().enumerate() {
            let line = format!("  {line}");
            out.push(match index.checked_sub(1).map(|i| &conditions[i]) {
                Some(c) if is_problem(c) && is_failure(c) => palette.red(&line),
                Some(c) if is_problem(c) => palette.yellow(&line),
                _ => line,
            });
        }
    }

    out.push(String::new());
    let ended = status.phase.is_some_and(Phase::is_terminal);
    match &status.stats {
        Some(stats) => {
            let when = stats
                .last_update_time
                .as_ref()
                .map(|t| format!(", updated {} ago", age(Some(t.0), now)))
                .unwrap_or_default();
            let kind = if ended { "final" } else { "live" };
            out.push(palette.bold(&format!("Statistics ({kind}{when})")));
            let ms = |v: Option<f64>| v.map_or_else(dash, |v| format!("{v:.0} ms"));
            let stat = |label: &str, value: String| format!("  {}", field(label, value));
            out.push(stat("Locust state", stats.state.clone()));
            out.push(stat("Users", stats.users.to_string()));
            out.push(stat("Requests", stats.total_requests.to_string()));
            let failures = format!("{} ({:.2}%)", stats.total_failures, stats.fail_percent);
            out.push(stat(
                "Failures",
                if stats.total_failures > 0 {
                    palette.red(&failures)
                } else {
                    failures
                },
            ));
            out.push(stat("RPS", format!("{:.1}", stats.current_rps)));
            out.push(stat("Median", ms(stats.median_response_time)));
            out.push(stat("P95", ms(stats.p95_response_time)));
        }
        None => {
            out.push(palette.bold("Statistics"));
            out.push(if ended {
                "  none recorded (the test ended before its master reported any)".to_string()
            } else {
                "  no statistics yet".to_string()
            });
        }
    }

    if let Some(view) = thresholds::view(test) {
        out.push(String::new());
        let heading = format!("Thresholds ({})", view.heading);
        out.push(if view.bad {
            palette.red(&palette.bold(&heading))
        } else {
            palette.bold(&heading)
        });
        if let Some(note) = &view.note {
            out.push(format!("  {note}"));
        }
        if !view.rows.is_empty() {
            let measured = if view.ended { "MEASURED" } else { "NOW" };
            let mut rows = vec![
                ["SUBJECT", "LIMIT", "ALLOWED", measured, "RESULT"]
                    .map(str::to_string)
                    .to_vec(),
            ];
            rows.extend(view.rows.iter().map(|row| row.cells().to_vec()));
            let lines = aligned(&rows, GAP, |_, _, cell| cell.to_string());
            for (index, line) in lines.into_iter().enumerate() {
                let line = format!("  {line}");
                let bad = index.checked_sub(1).is_some_and(|i| view.rows[i].standing.is_bad());
                out.push(if bad { palette.red(&line) } else { line });
            }
        }
    }

    out.push(String::new());
    out.push(palette.bold("Recent events"));
    match events {
        Err(why) => out.push(format!("  cannot read events: {why}")),
        Ok([]) => out.push("  none".to_string()),
        Ok(events) => {
            let mut rows = vec![
                ["AGE", "TYPE", "REASON", "OBJECT", "MESSAGE"]
                    .map(str::to_string)
                    .to_vec(),
            ];
            rows.extend(events.iter().map(|event| {
                let count = if event.count > 1 {
                    format!(" (x{})", event.count)
                } else {
                    String::new()
                };
                vec![
                    age(event.time, now),
                    event.type_.clone(),
                    event.reason.clone(),
                    event.object.clone(),
                    format!("{}{count}", event.message),
                ]
            }));
            let lines = aligned(&rows, GAP, |_, _, cell| cell.to_string());
            for (index, line) in lines.into_iter().enumerate() {
                let line = format!("  {line}");
                let warning = index.checked_sub(1).is_some_and(|i| events[i].is_warning());
                out.push(if warning { palette.yellow(&line) } else { line });
            }
        }
    }

    let steps = next_steps(test, now);
    if !steps.is_empty() {
        out.push(String::new());
        out.push(palette.bold("Next steps"));
        out.extend(steps.into_iter().map(|step| format!("  - {step}")));
    }
    out.join("\n")
}

/// A problem that ended or will end the test (red), rather than one to keep an eye on (yellow).
fn is_failure(condition: &Condition) -> bool {
    !matches!(
        condition.type_.as_str(),
        conditions::SPEC_DRIFTED | conditions::WORKERS_CONNECTED
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn test_with(status: serde_json::Value) -> LocustTest {
        serde_json::from_value(json!({
            "apiVersion": "locust.io/v2", "kind": "LocustTest",
            "metadata": {"name": "demo", "namespace": "load", "creationTimestamp": "2026-11-22T10:00:00Z"},
            "spec": {"image": "locustio/locust:2.20.0", "master": {"command": "-f t.py"},
                     "worker": {"command": "-f t.py", "replicas": 2}},
            "status": status,
        }))
        .unwrap()
    }

    fn condition(type_: &str, status: &str, reason: &str, message: &str) -> serde_json::Value {
        json!({"type": type_, "status": status, "reason": reason, "message": message,
               "lastTransitionTime": "2026-11-22T10:00:00Z"})
    }

    fn steps(status: serde_json::Value, now: &str) -> String {
        next_steps(&test_with(status), at(now)).join("\n")
    }

    #[test]
    fn a_healthy_running_test_needs_nothing() {
        let status = json!({"phase": "Running", "conditions": [
            condition("Ready", "True", "ResourcesCreated", ""),
            condition("WorkersConnected", "True", "AllWorkersConnected", "2/2 workers connected"),
            condition("PodsHealthy", "True", "PodsHealthy", ""),
        ]});
        assert_eq!(steps(status, "2026-11-22T11:00:00Z"), "");
    }

    #[test]
    fn crash_loops_point_at_the_logs_of_the_pods_named() {
        let crash = |pods: &str| {
            steps(
                json!({"phase": "Failed", "conditions": [condition("PodsHealthy", "False", "CrashLoopBackOff",
                    &format!("CrashLoopBackOff: 1 pod(s) affected [{pods}]: container locust is crash-looping"))]}),
                "2026-11-22T10:05:00Z",
            )
        };
        assert!(crash("demo-worker-abcde").contains("`kubectl locust logs demo --workers -n load`"));
        assert!(crash("demo-master-abcde").contains("`kubectl locust logs demo -n load`"));
        assert!(crash("demo-master-abcde, demo-worker-x").contains("`kubectl locust logs demo --all -n load`"));
        assert!(crash("demo-master-abcde").contains("A Failed test stays Failed"));
    }

    #[test]
    fn a_container_killed_for_memory_asks_for_a_higher_memory_limit() {
        let text = steps(
            json!({"phase": "Failed", "conditions": [condition("PodsHealthy", "False", "CrashLoopBackOff",
                "CrashLoopBackOff: 1 pod(s) affected [demo-worker-abcde]: container locust exited with code 137: \
                 OOMKilled (it ran out of memory: raise its memory limit)")]}),
            "2026-11-22T10:05:00Z",
        );
        assert!(
            text.contains("raise its memory limit (spec.master.resources or"),
            "{text}"
        );
        assert!(text.contains("`kubectl locust logs demo --workers -n load`"), "{text}");
    }

    #[test]
    fn a_missing_config_map_is_named_in_the_command_to_create_it() {
        let text = steps(
            json!({"phase": "Failed", "conditions": [condition("PodsHealthy", "False", "ConfigurationError",
                "ConfigurationError: 1 pod(s) affected [demo-master-x]: ConfigMap \"scripts\" not found; create it")]}),
            "2026-11-22T10:05:00Z",
        );
        assert!(
            text.contains("Create the ConfigMap \"scripts\" in namespace load (`kubectl create configmap scripts"),
            "{text}"
        );
    }

    #[test]
    fn waiting_for_workers_is_worth_a_step_only_after_a_while() {
        let waiting = json!({"phase": "Pending", "conditions": [
            condition("WorkersConnected", "False", "WaitingForWorkers", "0/2 workers connected")]});
        assert_eq!(steps(waiting.clone(), "2026-11-22T10:00:30Z"), "");
        let text = steps(waiting, "2026-11-22T10:05:00Z");
        assert!(text.contains("No worker has connected for 5m00s"), "{text}");
        assert!(text.contains("kubectl locust logs demo --workers -n load"), "{text}");
    }

    #[test]
    fn a_master_failure_points_at_its_logs_and_a_new_run() {
        let text = steps(
            json!({"phase": "Failed", "conditions": [
                condition("TestCompleted", "True", "TestFailed", "master Job failed: BackoffLimitExceeded")]}),
            "2026-11-22T10:05:00Z",
        );
        assert!(text.contains("`kubectl locust logs demo -n load`"), "{text}");
        assert!(text.contains("kubectl delete locusttest demo -n load"), "{text}");
    }

    #[test]
    fn no_status_asks_whether_the_operator_runs() {
        let text = steps(json!(null), "2026-11-22T10:01:00Z");
        assert!(text.contains("in the 60s since it was created"), "{text}");
        assert!(text.contains("kubectl get pods -n locust-system"), "{text}");
    }

    #[test]
    fn events_that_cannot_be_read_say_so() {
        let view = detail(
            &test_with(json!(null)),
            Err("permission denied"),
            Palette::plain(),
            at("2026-11-22T10:01:00Z"),
        );
        assert!(view.contains("cannot read events: permission denied"), "{view}");
    }
}
