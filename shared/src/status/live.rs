//! Live statistics in the status: when a new reading is worth writing, and when to say the
//! master cannot be read.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

use super::{DeriveSettings, Observation};
use crate::api::status::{LocustTestStatus, Phase, TestStats};
use crate::stats::STATE_STOPPED;

/// Starts the part of a WorkersConnected message that says the master could not be read; a message
/// carrying it has been reported already.
pub const STATS_UNAVAILABLE_MARKER: &str = "live stats unavailable: ";

pub(crate) fn elapsed(since: Timestamp, now: Timestamp) -> Duration {
    Duration::try_from(now.duration_since(since)).unwrap_or(Duration::ZERO)
}

/// Whether `latest` should replace the `recorded` stats block at `now`: always when there is
/// none; never when the values are the same; at once when the phase (`phase_changed`), Locust's
/// state or the worker count changed with them; else once the recorded block is `interval` old,
/// so a busy test does not write its status on every reading.
pub fn stats_write_due(
    recorded: Option<&TestStats>,
    latest: &TestStats,
    phase_changed: bool,
    interval: Duration,
    now: Timestamp,
) -> bool {
    match recorded {
        None => true,
        Some(recorded) => {
            !recorded.same_values(latest)
                && (phase_changed
                    || recorded.state != latest.state
                    || recorded.workers != latest.workers
                    || recorded
                        .last_update_time
                        .as_ref()
                        .is_none_or(|written| elapsed(written.0, now) >= interval))
        }
    }
}

/// Whether to report that the master cannot be read, and if not yet, how long until it should
/// be. Reported only while Running: a Pending master has not started, and a master that stopped
/// its test and then went away has finished (its Job says so a moment later). A master that has
/// never answered gets the grace period from the test's start first (image pulls).
pub(crate) fn stats_unreachable(
    status: &LocustTestStatus,
    observed: &Observation<'_>,
    phase: Phase,
    previous_phase: Phase,
    settings: &DeriveSettings,
    now: Timestamp,
) -> (Option<String>, Option<Duration>) {
    let Some(why) = observed.stats_unreachable.as_ref() else {
        return (None, None);
    };
    if phase != Phase::Running {
        return (None, None);
    }
    match &status.stats {
        Some(recorded) if matches!(recorded.state.as_str(), STATE_STOPPED | "stopping") => (None, None),
        Some(_) => (Some(why.clone()), None),
        None => {
            // Not yet Running before this pass: the test starts now.
            let running_for = match (previous_phase, status.start_time.as_ref()) {
                (Phase::Running, Some(started)) => elapsed(started.0, now),
                _ => Duration::ZERO,
            };
            match settings.grace_period.checked_sub(running_for) {
                Some(left) if !left.is_zero() => (None, Some(left)),
                _ => (Some(why.clone()), None),
            }
        }
    }
}
