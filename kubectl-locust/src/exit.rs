//! The process exit codes, stable for scripts and CI pipelines.

/// The command did what was asked; with `--wait`, the test Succeeded.
pub const OK: u8 = 0;
/// The command could not do what was asked (no cluster, not found, forbidden, invalid input).
pub const ERROR: u8 = 1;
/// The command line is wrong (clap's own code).
pub const USAGE: u8 = 2;
/// The test ended Failed.
pub const TEST_FAILED: u8 = 3;
/// `--timeout` passed before the test ended.
pub const TIMEOUT: u8 = 4;
/// Interrupted (Ctrl-C), as shells report SIGINT.
pub const INTERRUPTED: u8 = 130;
