//! `kubectl locust`: run, watch and inspect LocustTests from a terminal.
//!
//! Decisions and rendering are pure functions (`render`, `tui::state`, `tui::view`); commands
//! are thin shells that read the cluster (or local processes) and print.

pub mod cli;
pub mod client;
pub mod commands;
pub mod error;
pub mod exit;
pub mod local;
pub mod output;
pub mod portforward;
pub mod render;
pub mod submission;
pub mod tui;

pub use cli::Cli;
pub use error::PluginError;
