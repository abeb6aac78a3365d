//! The thresholds at the end of a run: each limit checked into `status.thresholds`, the
//! ThresholdsMet condition, and what a breach does to a run Locust itself passed (Failed, with
//! TestCompleted reason ThresholdsBreached, or ThresholdsUnverified when there was nothing to
//! check: never a silent pass).

use super::conditions::Verdict;
use super::events::{EventNote, EventType, reasons};
use crate::api::status::Phase;
use crate::api::status::conditions::{completed, thresholds as reason};
use crate::api::v2::Thresholds;
use crate::stats::RequestsReport;
use crate::thresholds::{self, Verdict as Checked};

/// What the thresholds make of a run that has just ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Conclusion {
    /// The verdict on each limit.
    pub checked: Checked,
    /// The ThresholdsMet condition.
    pub condition: Verdict,
    /// The phase after the verdict: Failed when Locust succeeded but the thresholds did not.
    pub phase: Phase,
    /// TestCompleted when the verdict fails a run Locust passed.
    pub completed: Option<Verdict>,
    /// The event saying so.
    pub event: EventNote,
}

/// Checks `limits` on `last_stats`, the master's last statistics, for a run that ended in `phase`.
pub(crate) fn conclude(limits: &Thresholds, last_stats: Option<&RequestsReport>, phase: Phase) -> Conclusion {
    let checked = thresholds::evaluate(limits, last_stats);
    let mut message = checked.message();
    // The master quit before it was seen stopped (an autoquit window shorter than the reads'
    // interval): the numbers are the last ones read, which the message must not hide.
    if let Some(report) = last_stats.filter(|report| !report.has_stopped()) {
        message.push_str(&format!(
            " (on the last statistics read, while Locust was {})",
            if report.state.is_empty() {
                "running"
            } else {
                &report.state
            }
        ));
    }
    let (truth, condition_reason, failed_reason) = match &checked {
        Checked::Met(_) => (true, reason::THRESHOLDS_MET, None),
        Checked::Breached(_) => (false, reason::THRESHOLDS_BREACHED, Some(completed::THRESHOLDS_BREACHED)),
        Checked::Unverified(_) => (
            false,
            reason::STATISTICS_UNAVAILABLE,
            Some(completed::THRESHOLDS_UNVERIFIED),
        ),
    };
    let fails_a_passed_run = phase == Phase::Succeeded && failed_reason.is_some();
    let event = EventNote {
        type_: if truth { EventType::Normal } else { EventType::Warning },
        reason: if truth {
            reasons::THRESHOLDS_MET
        } else {
            reasons::THRESHOLDS_BREACHED
        },
        message: message.clone(),
        related: None,
    };
    Conclusion {
        condition: Verdict {
            truth,
            reason: condition_reason,
            message: message.clone(),
        },
        phase: if fails_a_passed_run { Phase::Failed } else { phase },
        completed: failed_reason.filter(|_| fails_a_passed_run).map(|reason| Verdict {
            truth: true,
            reason,
            message,
        }),
        event,
        checked,
    }
}
