//! The operator's own settings and the few leaf types every module shares: flags-derived
//! behaviour, the field manager name, the clock.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;

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
    /// How long after pod creation failures count (default 2 minutes).
    pub pod_health_grace_period: Duration,
    /// Field manager name for the operator's writes.
    pub field_manager: String,
    /// How often masters' statistics are read; `status.stats` is rewritten at most this often
    /// unless Locust's state or the worker count changes.
    pub stats_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            pod_health_grace_period: shared::health::DEFAULT_GRACE_PERIOD,
            field_manager: FIELD_MANAGER.into(),
            stats_interval: shared::status::DEFAULT_STATS_INTERVAL,
        }
    }
}
