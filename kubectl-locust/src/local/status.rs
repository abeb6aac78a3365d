//! The status a local run reports, in the same shape the operator writes (phase, workers,
//! conditions, stats), so `run --local` prints, summarizes and exits exactly like `run --wait`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use shared::api::status::conditions;
use shared::api::v2::{LocustTestStatus, Phase};
use shared::stats::{self, RequestsReport};

/// How a local process is doing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessState {
    Running,
    /// Exited with this code (`None`: killed by a signal).
    Exited(Option<i32>),
}

/// What the supervisor saw at one instant.
#[derive(Clone, Debug, Default)]
pub struct LocalObservation {
    /// `None` until the master was started.
    pub master: Option<ProcessState>,
    /// Worker name and state, in start order.
    pub workers: Vec<(String, ProcessState)>,
    /// The master's latest `/stats/requests`; the last one stays after it stopped answering.
    pub report: Option<RequestsReport>,
    /// When the master's web API first answered (the test is Running from then on).
    pub answered_at: Option<Timestamp>,
}

fn exit_text(code: Option<i32>) -> String {
    match code {
        Some(code) => format!("exited with code {code}"),
        None => "was killed by a signal".to_string(),
    }
}

/// Why the run failed, if it did: the master's non-zero exit, or a worker's before the master ended.
pub fn failure(observation: &LocalObservation) -> Option<String> {
    match &observation.master {
        Some(ProcessState::Exited(Some(0))) => None,
        Some(ProcessState::Exited(code)) => Some(format!("the master {}", exit_text(*code))),
        _ => observation.workers.iter().find_map(|(name, state)| match state {
            ProcessState::Exited(code) if *code != Some(0) => {
                Some(format!("{name} {} before the test ended", exit_text(*code)))
            }
            _ => None,
        }),
    }
}

/// The status for `observation`. `previous` keeps condition transition times stable; `expected`
/// is the number of worker connections the master waits for.
pub fn synthesize(
    previous: &LocustTestStatus,
    observation: &LocalObservation,
    expected: i32,
    started: Timestamp,
    now: Timestamp,
) -> LocustTestStatus {
    let failed = failure(observation);
    let phase = if failed.is_some() {
        Phase::Failed
    } else if observation.master == Some(ProcessState::Exited(Some(0))) {
        Phase::Succeeded
    } else if observation.answered_at.is_some() {
        Phase::Running
    } else {
        Phase::Pending
    };
    let connected = observation.report.as_ref().and_then(stats::connected_workers);
    let all_connected = connected.is_some_and(|c| c >= expected);
    let workers_message = format!("{}/{expected} workers connected", connected.unwrap_or(0));
    let (completed_status, completed_reason, completed_message) = match (&phase, &failed) {
        (Phase::Failed, Some(why)) => ("True", conditions::completed::TEST_FAILED, why.clone()),
        (Phase::Succeeded, _) => (
            "True",
            conditions::completed::TEST_SUCCEEDED,
            "the master exited with code 0".to_string(),
        ),
        _ => (
            "False",
            conditions::completed::TEST_IN_PROGRESS,
            "the test is running".to_string(),
        ),
    };
    let condition = |type_: &str, status: &str, reason: &str, message: String| {
        let unchanged = previous
            .conditions
            .iter()
            .flatten()
            .find(|c| c.type_ == type_ && c.status == status);
        Condition {
            type_: type_.to_string(),
            status: status.to_string(),
            reason: reason.to_string(),
            message,
            last_transition_time: unchanged.map_or(Time(now), |c| c.last_transition_time.clone()),
            observed_generation: None,
        }
    };
    let conditions = vec![
        condition(
            conditions::READY,
            "True",
            conditions::ready::RESOURCES_CREATED,
            "master and worker processes started on 127.0.0.1".to_string(),
        ),
        if all_connected {
            condition(
                conditions::WORKERS_CONNECTED,
                "True",
                conditions::workers::ALL_WORKERS_CONNECTED,
                workers_message,
            )
        } else {
            condition(
                conditions::WORKERS_CONNECTED,
                "False",
                conditions::workers::WAITING_FOR_WORKERS,
                workers_message,
            )
        },
        condition(
            conditions::TEST_COMPLETED,
            completed_status,
            completed_reason,
            completed_message,
        ),
    ];
    // A run that ends before the master ever answered still has a start time.
    let start_time = observation
        .answered_at
        .map(Time)
        .or_else(|| previous.start_time.clone())
        .or_else(|| phase.is_terminal().then_some(Time(started)));
    LocustTestStatus {
        phase: Some(phase),
        observed_generation: Some(1),
        expected_workers: Some(expected),
        connected_workers: Some(connected.unwrap_or(0)),
        start_time,
        completion_time: if phase.is_terminal() {
            previous.completion_time.clone().or(Some(Time(now)))
        } else {
            None
        },
        conditions: Some(conditions),
        stats: observation
            .report
            .as_ref()
            .map(|report| stats::summarize(report, now))
            .or_else(|| previous.stats.clone()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn report(workers: i32, requests: i64) -> RequestsReport {
        stats::parse_report(
            serde_json::json!({
                "state": "running", "user_count": 4, "worker_count": workers, "total_rps": 12.5,
                "fail_ratio": 0.0, "stats": [{"name": "Aggregated", "num_requests": requests, "num_failures": 0, "current_rps": 12.5}],
                "errors": [], "current_response_time_percentiles": {}
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    fn condition<'a>(status: &'a LocustTestStatus, type_: &str) -> &'a Condition {
        status.conditions.iter().flatten().find(|c| c.type_ == type_).unwrap()
    }

    #[test]
    fn pending_until_the_master_answers_then_running_with_worker_counts() {
        let mut observation = LocalObservation {
            master: Some(ProcessState::Running),
            ..LocalObservation::default()
        };
        let status = synthesize(&LocustTestStatus::default(), &observation, 2, at(0), at(1));
        assert_eq!(status.phase, Some(Phase::Pending));
        assert_eq!(
            condition(&status, conditions::WORKERS_CONNECTED).message,
            "0/2 workers connected"
        );

        observation.answered_at = Some(at(2));
        observation.report = Some(report(1, 10));
        let running = synthesize(&status, &observation, 2, at(0), at(3));
        assert_eq!(running.phase, Some(Phase::Running));
        assert_eq!(running.connected_workers, Some(1));
        assert_eq!(running.start_time, Some(Time(at(2))));
        assert_eq!(running.stats.as_ref().map(|s| s.current_rps), Some(12.5));
        // A condition that did not flip keeps its transition time.
        assert_eq!(
            condition(&running, conditions::WORKERS_CONNECTED).last_transition_time,
            Time(at(1))
        );

        observation.report = Some(report(2, 20));
        let all = synthesize(&running, &observation, 2, at(0), at(4));
        let workers = condition(&all, conditions::WORKERS_CONNECTED);
        assert_eq!(
            (workers.status.as_str(), workers.reason.as_str()),
            ("True", "AllWorkersConnected")
        );
        assert_eq!(workers.last_transition_time, Time(at(4)));
    }

    #[test]
    fn the_masters_exit_code_decides_and_a_dead_worker_fails_the_run() {
        let mut observation = LocalObservation {
            master: Some(ProcessState::Exited(Some(0))),
            answered_at: Some(at(1)),
            report: Some(report(2, 20)),
            ..LocalObservation::default()
        };
        let succeeded = synthesize(&LocustTestStatus::default(), &observation, 2, at(0), at(9));
        assert_eq!(succeeded.phase, Some(Phase::Succeeded));
        assert_eq!(succeeded.completion_time, Some(Time(at(9))));
        assert_eq!(succeeded.stats.as_ref().map(|s| s.total_requests), Some(20));

        observation.master = Some(ProcessState::Exited(Some(1)));
        let failed = synthesize(&LocustTestStatus::default(), &observation, 2, at(0), at(9));
        assert_eq!(failed.phase, Some(Phase::Failed));
        let completed = condition(&failed, conditions::TEST_COMPLETED);
        assert_eq!(completed.reason, "TestFailed");
        assert_eq!(completed.message, "the master exited with code 1");

        let observation = LocalObservation {
            master: Some(ProcessState::Running),
            workers: vec![
                ("worker-1".into(), ProcessState::Running),
                ("worker-2".into(), ProcessState::Exited(Some(2))),
            ],
            ..LocalObservation::default()
        };
        let failed = synthesize(&LocustTestStatus::default(), &observation, 2, at(0), at(5));
        assert_eq!(failed.phase, Some(Phase::Failed));
        assert_eq!(
            condition(&failed, conditions::TEST_COMPLETED).message,
            "worker-2 exited with code 2 before the test ended"
        );
        assert_eq!(
            failed.start_time,
            Some(Time(at(0))),
            "a failed run still has a start time"
        );
    }
}
