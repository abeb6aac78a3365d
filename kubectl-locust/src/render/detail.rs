//! The detailed view of one test (`kubectl locust status NAME`): what it is doing, why, and what to
//! do next when something is wrong.

use k8s_openapi::jiff::Timestamp;
use shared::api::status::conditions::{self, completed, drift, health, workers};
use shared::api::v2::{LocustTest, Phase};

use crate::output::Palette;
use crate::render::events::EventRow;
use crate::render::progress::short_duration;
use crate::render::table::age;

/// What to do about the test's problems, derived from its conditions' reasons.
pub fn next_steps(test: &LocustTest) -> Vec<String> {
    let name = test.metadata.name.as_deref().unwrap_or("NAME");
    let ns = test.metadata.namespace.as_deref().unwrap_or("default");
    let Some(status) = &test.status else {
        return vec![format!(
            "no status yet: is the operator running? `kubectl get pods -n locust-system` (and its logs)"
        )];
    };
    let mut steps = Vec::new();
    for c in status.conditions.iter().flatten() {
        let step = match c.reason.as_str() {
            health::IMAGE_PULL_ERROR => format!(
                "check spec.image ({}) exists and that spec.imagePullSecrets can pull it",
                test.spec.image
            ),
            health::CONFIGURATION_ERROR => format!(
                "create the ConfigMap or Secret named above in namespace {ns} (`kubectl get configmap,secret -n {ns}`)"
            ),
            health::SCHEDULING_ERROR => {
                "the pods cannot be scheduled: lower the resources, or fix nodeSelector/tolerations/affinity"
                    .to_string()
            }
            health::CRASH_LOOP_BACK_OFF | health::OOM_KILLED | health::INITIALIZATION_ERROR => {
                let role = if c.message.contains("worker") { " --workers" } else { "" };
                format!("read the logs: `kubectl locust logs {name}{role} -n {ns}`")
            }
            completed::TEST_FAILED => format!("read the master's logs: `kubectl locust logs {name} -n {ns}`"),
            workers::WORKERS_MISSING => {
                format!("workers are missing: `kubectl locust logs {name} --workers -n {ns}`")
            }
            drift::SPEC_CHANGE_IGNORED => format!(
                "spec edits do not change a running test: delete it (`kubectl delete lotest {name} -n {ns}`) and run it again"
            ),
            _ => continue,
        };
        if !steps.contains(&step) {
            steps.push(step);
        }
    }
    steps
}

fn is_problem(c: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition) -> bool {
    match c.type_.as_str() {
        conditions::SPEC_DRIFTED => c.status == "True",
        conditions::TEST_COMPLETED => c.reason == completed::TEST_FAILED,
        _ => {
            c.status == "False"
                && !matches!(
                    c.reason.as_str(),
                    "WaitingForWorkers" | "PodsStarting" | "TestInProgress"
                )
        }
    }
}

/// The whole view.
pub fn detail(test: &LocustTest, events: &[EventRow], palette: Palette, now: Timestamp) -> String {
    let status = test.status.clone().unwrap_or_default();
    let mut out = Vec::new();
    let field = |label: &str, value: String| format!("{:<12}{value}", format!("{label}:"));
    out.push(field(
        "Name",
        palette.bold(test.metadata.name.as_deref().unwrap_or("-")),
    ));
    out.push(field("Namespace", test.metadata.namespace.clone().unwrap_or_default()));
    out.push(field("Phase", palette.phase(status.phase)));
    out.push(field("Image", test.spec.image.clone()));
    out.push(field(
        "Workers",
        format!(
            "{}/{} connected",
            status.connected_workers.unwrap_or(0),
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
            None => out.push(field("Running", short_duration(now.duration_since(start.0).as_secs()))),
        }
    }
    out.push(field(
        "Age",
        age(test.metadata.creation_timestamp.as_ref().map(|t| t.0), now),
    ));
    if let (Some(observed), Some(generation)) = (status.observed_generation, test.metadata.generation)
        && observed < generation
    {
        out.push(field("Generation", format!("{generation} (operator saw {observed})")));
    }

    out.push(String::new());
    out.push(palette.bold("Conditions"));
    let conditions = status.conditions.clone().unwrap_or_default();
    if conditions.is_empty() {
        out.push("  none yet".to_string());
    } else {
        out.push(format!(
            "  {:<17}{:<8}{:<22}{:<6}MESSAGE",
            "TYPE", "STATUS", "REASON", "AGE"
        ));
        for c in &conditions {
            let line = format!(
                "  {:<17}{:<8}{:<22}{:<6}{}",
                c.type_,
                c.status,
                c.reason,
                age(Some(c.last_transition_time.0), now),
                c.message
            );
            out.push(if is_problem(c) { palette.red(&line) } else { line });
        }
    }

    out.push(String::new());
    out.push(palette.bold("Statistics"));
    match &status.stats {
        Some(stats) => {
            let when = stats
                .last_update_time
                .as_ref()
                .map_or("-".to_string(), |t| age(Some(t.0), now) + " ago");
            let label = if status.phase.is_some_and(Phase::is_terminal) {
                "final"
            } else {
                "live"
            };
            out.push(format!("  {label}, read {when}; locust state {}", stats.state));
            out.push(format!(
                "  users {}   requests {}   rps {:.1}",
                stats.users, stats.total_requests, stats.current_rps
            ));
            let failures = format!("  failures {} ({:.2}%)", stats.total_failures, stats.fail_percent);
            out.push(if stats.total_failures > 0 {
                palette.red(&failures)
            } else {
                failures
            });
            let ms = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0} ms"));
            out.push(format!(
                "  median {}   p95 {}",
                ms(stats.median_response_time),
                ms(stats.p95_response_time)
            ));
        }
        None => out.push("  no statistics yet".to_string()),
    }

    out.push(String::new());
    out.push(palette.bold("Recent events"));
    if events.is_empty() {
        out.push("  none".to_string());
    }
    for event in events {
        let when = age(event.time, now);
        let count = if event.count > 1 {
            format!(" (x{})", event.count)
        } else {
            String::new()
        };
        let line = format!(
            "  {when:<6}{:<8}{:<22}{}: {}{count}",
            event.type_, event.reason, event.object, event.message
        );
        out.push(if event.is_warning() {
            palette.yellow(&line)
        } else {
            line
        });
    }

    let steps = next_steps(test);
    if !steps.is_empty() {
        out.push(String::new());
        out.push(palette.bold("Next steps"));
        out.extend(steps.into_iter().map(|step| format!("  - {step}")));
    }
    out.join("\n")
}
