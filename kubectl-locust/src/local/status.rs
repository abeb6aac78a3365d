//! The status a local run reports, in the same shape the operator writes (phase, workers,
//! conditions, stats), so `run --local` prints, summarizes and exits exactly like `run --wait`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use shared::api::status::conditions;
use shared::api::v2::Thresholds;
use shared::api::v2::{LocustTestStatus, Phase};
use shared::stats::{self, RequestsReport};
use shared::status::upsert_condition;
use shared::thresholds::{self, Check, Verdict};

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
    let (completed, completed_reason, completed_message) = match (&phase, &failed) {
        (Phase::Failed, Some(why)) => (true, conditions::completed::TEST_FAILED, why.clone()),
        (Phase::Succeeded, _) => (
            true,
            conditions::completed::TEST_SUCCEEDED,
            "the master exited with code 0".to_string(),
        ),
        _ => (
            false,
            conditions::completed::TEST_IN_PROGRESS,
            "the test is running".to_string(),
        ),
    };
    let workers_reason = if all_connected {
        conditions::workers::ALL_WORKERS_CONNECTED
    } else {
        conditions::workers::WAITING_FOR_WORKERS
    };
    // A run that ends before the master ever answered still has a start time.
    let start_time = observation
        .answered_at
        .map(Time)
        .or_else(|| previous.start_time.clone())
        .or_else(|| phase.is_terminal().then_some(Time(started)));
    let mut status = LocustTestStatus {
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
        // Upserted below: a condition whose truth did not change keeps its transition time.
        conditions: previous.conditions.clone(),
        stats: observation
            .report
            .as_ref()
            .map(|report| stats::summarize(report, now))
            .or_else(|| previous.stats.clone()),
        thresholds: previous.thresholds.clone(),
        report: previous.report.clone(),
    };
    let mut upsert = |type_: &str, truth: bool, reason: &str, message: String| {
        upsert_condition(&mut status, type_, truth, reason, message, None, now);
    };
    upsert(
        conditions::READY,
        true,
        conditions::ready::RESOURCES_CREATED,
        "master and worker processes started on 127.0.0.1".to_string(),
    );
    upsert(
        conditions::WORKERS_CONNECTED,
        all_connected,
        workers_reason,
        workers_message,
    );
    upsert(
        conditions::TEST_COMPLETED,
        completed,
        completed_reason,
        completed_message,
    );
    // A manifest may carry a status of its own: only what a local run reports stays, in its order.
    let reported = [
        conditions::READY,
        conditions::WORKERS_CONNECTED,
        conditions::TEST_COMPLETED,
    ];
    if let Some(list) = status.conditions.as_mut() {
        list.retain(|c| reported.contains(&c.type_.as_str()));
        list.sort_by_key(|c| reported.iter().position(|type_| *type_ == c.type_));
    }
    status
}

/// The verdict on `limits` at the end of a run, recorded as the operator records it: each check in
/// `status.thresholds`, the ThresholdsMet condition, and a run Locust passed turned Failed (reason
/// ThresholdsBreached, or ThresholdsUnverified without statistics: never a silent pass).
pub fn conclude_thresholds(
    status: &mut LocustTestStatus,
    limits: &Thresholds,
    last_stats: Option<&RequestsReport>,
    now: Timestamp,
) {
    let verdict = thresholds::evaluate(limits, last_stats);
    let message = verdict.message();
    status.thresholds = Some(verdict.checks().iter().map(Check::to_result).collect());
    let (condition_reason, failed_reason) = match &verdict {
        Verdict::Met(_) => (conditions::thresholds::THRESHOLDS_MET, None),
        Verdict::Breached(_) => (
            conditions::thresholds::THRESHOLDS_BREACHED,
            Some(conditions::completed::THRESHOLDS_BREACHED),
        ),
        Verdict::Unverified(_) => (
            conditions::thresholds::STATISTICS_UNAVAILABLE,
            Some(conditions::completed::THRESHOLDS_UNVERIFIED),
        ),
    };
    upsert_condition(
        status,
        conditions::THRESHOLDS_MET,
        verdict.passed(),
        condition_reason,
        message.clone(),
        None,
        now,
    );
    if status.phase == Some(Phase::Succeeded)
        && let Some(reason) = failed_reason
    {
        status.phase = Some(Phase::Failed);
        upsert_condition(status, conditions::TEST_COMPLETED, true, reason, message, None, now);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

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

    #[test]
    fn thresholds_turn_a_passed_run_failed_when_breached_or_unchecked_and_leave_a_failed_one_alone() {
        let limits: Thresholds = serde_json::from_value(serde_json::json!({"minRps": 100})).unwrap();
        let ended = |phase| LocustTestStatus {
            phase: Some(phase),
            ..LocustTestStatus::default()
        };
        let mut met = ended(Phase::Succeeded);
        conclude_thresholds(&mut met, &limits, Some(&report(2, 20)), at(9));
        // `report` has no per-row total_rps: the run's 12.5 RPS at the top level is below 100.
        assert_eq!(met.phase, Some(Phase::Failed));
        assert_eq!(condition(&met, conditions::TEST_COMPLETED).reason, "ThresholdsBreached");
        assert_eq!(condition(&met, conditions::THRESHOLDS_MET).status, "False");
        assert_eq!(met.thresholds.as_ref().map(Vec::len), Some(1));

        let mut unchecked = ended(Phase::Succeeded);
        conclude_thresholds(&mut unchecked, &limits, None, at(9));
        assert_eq!(unchecked.phase, Some(Phase::Failed), "never a silent pass");
        assert_eq!(
            condition(&unchecked, conditions::TEST_COMPLETED).reason,
            "ThresholdsUnverified"
        );

        let mut failed = ended(Phase::Failed);
        upsert_condition(
            &mut failed,
            conditions::TEST_COMPLETED,
            true,
            "TestFailed",
            "x".into(),
            None,
            at(8),
        );
        conclude_thresholds(&mut failed, &limits, None, at(9));
        assert_eq!(
            condition(&failed, conditions::TEST_COMPLETED).reason,
            "TestFailed",
            "Locust's own failure stays the reason"
        );

        let low: Thresholds = serde_json::from_value(serde_json::json!({"minRps": 10})).unwrap();
        let mut passed = ended(Phase::Succeeded);
        conclude_thresholds(&mut passed, &low, Some(&report(2, 20)), at(9));
        assert_eq!(passed.phase, Some(Phase::Succeeded));
        assert_eq!(condition(&passed, conditions::THRESHOLDS_MET).reason, "ThresholdsMet");
    }

    #[test]
    fn a_status_carried_by_the_manifest_leaves_only_the_conditions_a_local_run_reports() {
        let carried: LocustTestStatus = serde_json::from_value(serde_json::json!({
            "conditions": [
                {"type": "PodsHealthy", "status": "False", "reason": "ImagePullError", "message": "",
                 "lastTransitionTime": "2027-01-15T08:00:00Z"},
                {"type": "TestCompleted", "status": "False", "reason": "TestInProgress", "message": "",
                 "lastTransitionTime": "2027-01-15T08:00:00Z"},
            ]
        }))
        .unwrap();
        let observation = LocalObservation {
            master: Some(ProcessState::Running),
            ..LocalObservation::default()
        };
        let status = synthesize(&carried, &observation, 1, at(0), at(1));
        let types: Vec<&str> = status.conditions.iter().flatten().map(|c| c.type_.as_str()).collect();
        assert_eq!(
            types,
            [
                conditions::READY,
                conditions::WORKERS_CONNECTED,
                conditions::TEST_COMPLETED
            ]
        );
        assert_eq!(
            condition(&status, conditions::TEST_COMPLETED).last_transition_time,
            Time("2027-01-15T08:00:00Z".parse().unwrap()),
            "an unchanged condition keeps its time"
        );
    }
}
