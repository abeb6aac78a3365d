//! Status derivation: from the previous status and what the operator observed, the next status,
//! the events to record and when to look again. Pure and deterministic: the same inputs give the
//! same status, and times move only on transitions, so a reconcile that changes nothing writes
//! nothing (and cannot feed itself).
//!
//! [`derive`] orchestrates; the [`phase`], each condition ([`conditions`]), the [`events`], the
//! live statistics ([`live`]) and the [`problems`] a test can have are decided in their own parts.

mod child;
pub mod conditions;
mod derive;
pub mod events;
pub mod live;
pub mod phase;
pub mod problems;
mod thresholds;

pub use child::Child;
pub use conditions::{condition, upsert_condition};
pub use derive::{DEFAULT_STATS_INTERVAL, DeriveSettings, Observation, StatusStep, derive, initial_status};
pub use events::{EventNote, EventType, created_events, reasons};
pub use live::stats_write_due;
pub use phase::{children_to_create, master_finished};
pub use problems::{
    StopRequest, creation_retry_message, refused_child_message, spec_drifted, unreadable, unreadable_status,
};
