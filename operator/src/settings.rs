//! The operator's own settings and the few leaf types every module shares: flags-derived
//! behaviour, the field manager name, the clock.

use std::sync::Arc;

use k8s_openapi::jiff::Timestamp;
use shared::status::DeriveSettings;

/// The operator's name in managedFields and events.
pub const FIELD_MANAGER: &str = "locust-operator";

/// The current time; injectable so tests run on a fixed clock.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

/// The real clock.
pub fn system_clock() -> Clock {
    Arc::new(Timestamp::now)
}

/// Operator behaviour set by flags (not by the Helm-documented environment).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Field manager name for the operator's writes.
    pub field_manager: String,
    /// How status is derived: the pod health grace period, and how often `status.stats` may be
    /// rewritten (the statistics reading interval).
    pub status: DeriveSettings,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            field_manager: FIELD_MANAGER.into(),
            status: DeriveSettings::default(),
        }
    }
}
