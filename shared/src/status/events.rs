//! The events a status pass records, with upstream's reasons so existing alerts keep matching.

use super::Child;
use crate::api::status::Phase;
use crate::health::Health;
use crate::naming;

/// Event severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Something expected happened.
    Normal,
    /// Something needs attention.
    Warning,
}

impl EventType {
    /// As the Events API spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "Normal",
            Self::Warning => "Warning",
        }
    }
}

/// An event to record on the LocustTest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNote {
    /// Normal or Warning.
    pub type_: EventType,
    /// Upstream's reason, e.g. `TestStarted`.
    pub reason: &'static str,
    /// What happened.
    pub message: String,
    /// The child the event is about, if any. Recorders that merge repeated events tell apart
    /// events about different children by it.
    pub related: Option<Child>,
}

/// Event reasons (upstream's, so existing alerts keep matching).
pub mod reasons {
    pub const CREATED: &str = "Created";
    pub const TEST_STARTED: &str = "TestStarted";
    pub const TEST_COMPLETED: &str = "TestCompleted";
    pub const TEST_FAILED: &str = "TestFailed";
    pub const POD_FAILURE: &str = "PodFailure";
    pub const RESOURCE_DELETED: &str = "ResourceDeleted";
    /// The master's web API could not be read while the test runs (ours, not upstream's).
    pub const STATS_UNAVAILABLE: &str = "StatsUnavailable";
    /// The API server could not create a child for a reason that may pass (a 5xx, throttling,
    /// a timeout); it is retried. Kubernetes' own controllers use the same reason.
    pub const FAILED_CREATE: &str = "FailedCreate";
    /// The run was ended early on request (`kubectl locust stop`; ours).
    pub const TEST_STOPPED: &str = "TestStopped";
    /// The run's results met `spec.thresholds` (ours).
    pub const THRESHOLDS_MET: &str = "ThresholdsMet";
    /// The run's results breached `spec.thresholds`, or could not be checked (ours).
    pub const THRESHOLDS_BREACHED: &str = "ThresholdsBreached";
}

/// One `Created` event per child created this pass.
pub fn created_events(test_name: &str, created: &[Child]) -> Vec<EventNote> {
    created
        .iter()
        .map(|child| EventNote {
            type_: EventType::Normal,
            reason: reasons::CREATED,
            message: format!("Created {} {}", child.kind(), child.name(test_name)),
            related: Some(*child),
        })
        .collect()
}

/// One `ResourceDeleted` warning per child that was missing while the test ran and was recreated.
pub(crate) fn recreated_events(test_name: &str, created: &[Child]) -> Vec<EventNote> {
    created
        .iter()
        .map(|child| EventNote {
            type_: EventType::Warning,
            reason: reasons::RESOURCE_DELETED,
            message: format!(
                "{} {} was deleted externally, recreated it",
                child.label(),
                child.name(test_name)
            ),
            related: Some(*child),
        })
        .collect()
}

/// The warning that a child cannot be created yet, in the server's words.
pub(crate) fn failed_create(message: &str) -> EventNote {
    EventNote {
        type_: EventType::Warning,
        reason: reasons::FAILED_CREATE,
        message: message.to_string(),
        related: None,
    }
}

/// The warning that the master's statistics cannot be read (`fallback` says what counts instead).
pub(crate) fn stats_unavailable(test_name: &str, why: &str, fallback: &str) -> EventNote {
    EventNote {
        type_: EventType::Warning,
        reason: reasons::STATS_UNAVAILABLE,
        message: format!(
            "Cannot read live statistics from {}: {why}{fallback}",
            naming::master_name(test_name)
        ),
        related: Some(Child::Service),
    }
}

/// The warning that pods failed.
pub(crate) fn pod_failure(health: &Health) -> EventNote {
    EventNote {
        type_: EventType::Warning,
        reason: reasons::POD_FAILURE,
        message: health.message.clone(),
        related: None,
    }
}

/// The event of entering `phase`, if it has one (Running only the first time it starts).
/// The run ended early on request: `message` says by whom and when.
pub(crate) fn test_stopped(message: &str) -> EventNote {
    EventNote {
        type_: EventType::Normal,
        reason: reasons::TEST_STOPPED,
        message: message.to_string(),
        related: None,
    }
}

pub(crate) fn phase_entered(phase: Phase, first_start: bool, failure: Option<&str>) -> Option<EventNote> {
    match phase {
        Phase::Running if first_start => Some(EventNote {
            type_: EventType::Normal,
            reason: reasons::TEST_STARTED,
            message: "Load test execution started".into(),
            related: None,
        }),
        Phase::Succeeded => Some(EventNote {
            type_: EventType::Normal,
            reason: reasons::TEST_COMPLETED,
            message: "Load test completed successfully".into(),
            related: None,
        }),
        Phase::Failed => Some(EventNote {
            type_: EventType::Warning,
            reason: reasons::TEST_FAILED,
            message: format!("Load test execution failed: {}", failure.unwrap_or("unknown reason")),
            related: None,
        }),
        _ => None,
    }
}
