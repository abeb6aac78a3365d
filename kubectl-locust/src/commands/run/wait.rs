//! `run --wait`: follow a test until it Succeeded or Failed, with one line of live progress, then
//! a summary; the exit code says how it ended.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use shared::api::v2::LocustTest;
use tokio::time::Instant;

use crate::cli::parse_duration;
use crate::client::Cluster;
use crate::error::PluginError;
use crate::exit;
use crate::output::{Palette, ProgressPrinter};
use crate::render::progress;

/// Overrides the poll interval, e.g. `200ms` (tests use it to run fast).
pub const POLL_INTERVAL_ENV: &str = "KUBECTL_LOCUST_POLL_INTERVAL";
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);
/// After this long without any status, the operator is probably not running.
pub const NO_OPERATOR_AFTER: Duration = Duration::from_secs(30);
/// Failed reads in a row tolerated before giving up (an API server restarting, a network blip).
const READ_RETRIES: u32 = 5;

/// The poll interval from the environment's value, if set.
pub fn poll_interval(raw: Option<&str>) -> Result<Duration, PluginError> {
    let Some(raw) = raw.filter(|r| !r.trim().is_empty()) else {
        return Ok(DEFAULT_POLL_INTERVAL);
    };
    match parse_duration(raw) {
        Ok(interval) if !interval.is_zero() => Ok(interval),
        Ok(_) => Err(PluginError::Usage(format!(
            "{POLL_INTERVAL_ENV} must be more than zero, e.g. 500ms"
        ))),
        Err(error) => Err(PluginError::Usage(format!("{POLL_INTERVAL_ENV}: {error}"))),
    }
}

/// Whether to say now that no operator seems to act on the test: only once, only if no status
/// ever appeared.
pub fn no_operator_hint_due(waited: Duration, status_seen: bool, hinted: bool) -> bool {
    !status_seen && !hinted && waited >= NO_OPERATOR_AFTER
}

/// Follows test `name` in `cluster.namespace`; the result is the exit code.
pub async fn follow(
    cluster: &Cluster,
    name: &str,
    timeout: Option<Duration>,
    palette: Palette,
) -> Result<u8, PluginError> {
    let interval = poll_interval(std::env::var(POLL_INTERVAL_ENV).ok().as_deref())?;
    let namespace = cluster.namespace.as_str();
    let mut printer = ProgressPrinter::for_stderr();
    let deadline = async {
        match timeout {
            Some(limit) => tokio::time::sleep(limit).await,
            None => std::future::pending().await,
        }
    };
    let interrupted = async {
        // Without a signal handler there is nothing to wait for: the test or the deadline ends it.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let ending = tokio::select! {
        ended = poll_until_ended(cluster, name, interval, palette, &mut printer) => Ending::Ended(ended.map(Box::new)),
        () = deadline => Ending::TimedOut,
        () = interrupted => Ending::Interrupted,
    };
    printer.finish();
    match ending {
        Ending::Ended(Ok(test)) => {
            let report = progress::report_line(&test, namespace);
            let next = if progress::failed_by_thresholds(&test) && report.is_some() {
                // Locust ran fine: which requests were slow or failed is in its report.
                format!("`kubectl locust report {name} -n {namespace} --open` shows which requests were slow or failed")
            } else {
                progress::next_steps(name, namespace)
            };
            println!(
                "{}",
                progress::summary_with_report(&test, palette, report.as_deref(), &next)
            );
            let phase = test.status.as_ref().and_then(|s| s.phase);
            Ok(progress::exit_code(phase).unwrap_or(exit::ERROR))
        }
        Ending::Ended(Err(error)) => Err(error),
        Ending::TimedOut => {
            let limit = timeout.unwrap_or_default();
            eprintln!("{}", progress::timed_out_message(name, namespace, limit));
            Ok(exit::TIMEOUT)
        }
        Ending::Interrupted => {
            eprintln!("{}", progress::interrupted_message(name, namespace));
            Ok(exit::INTERRUPTED)
        }
    }
}

enum Ending {
    Ended(Result<Box<LocustTest>, PluginError>),
    TimedOut,
    Interrupted,
}

/// Reads the test every `interval` and shows its progress until it ends; the test as it ended.
async fn poll_until_ended(
    cluster: &Cluster,
    name: &str,
    interval: Duration,
    palette: Palette,
    printer: &mut ProgressPrinter,
) -> Result<LocustTest, PluginError> {
    let started = Instant::now();
    let mut status_seen = false;
    let mut hinted = false;
    let mut failed_reads = 0;
    loop {
        match cluster.tests().get_opt(name).await {
            Ok(Some(test)) => {
                failed_reads = 0;
                let phase = test.status.as_ref().and_then(|s| s.phase);
                status_seen |= phase.is_some();
                printer.show(
                    &progress::progress_content(&test, palette),
                    &progress::progress_line(&test, palette, Timestamp::now()),
                );
                if progress::exit_code(phase).is_some() {
                    return Ok(test);
                }
                if no_operator_hint_due(started.elapsed(), status_seen, hinted) {
                    printer.finish();
                    eprintln!("{}", progress::no_operator_hint(name, started.elapsed()));
                    hinted = true;
                }
            }
            Ok(None) => {
                printer.finish();
                return Err(PluginError::Other(format!(
                    "LocustTest \"{name}\" was deleted from namespace \"{}\" while waiting for it to end",
                    cluster.namespace
                )));
            }
            Err(error) => {
                let error = cluster.translate(error, "get", "locusttests.locust.io", false);
                let passing = matches!(error, PluginError::Unreachable { .. } | PluginError::Api { .. });
                failed_reads += 1;
                if !passing || failed_reads > READ_RETRIES {
                    printer.finish();
                    return Err(error);
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn the_poll_interval_is_two_seconds_unless_the_environment_says_otherwise() {
        assert_eq!(poll_interval(None).unwrap(), Duration::from_secs(2));
        assert_eq!(poll_interval(Some("")).unwrap(), Duration::from_secs(2));
        assert_eq!(poll_interval(Some("200ms")).unwrap(), Duration::from_millis(200));
        assert_eq!(poll_interval(Some("3")).unwrap(), Duration::from_secs(3));
        let zero = poll_interval(Some("0s")).unwrap_err().to_string();
        assert!(zero.contains(POLL_INTERVAL_ENV), "{zero}");
        let garbage = poll_interval(Some("soon")).unwrap_err().to_string();
        assert!(
            garbage.contains(POLL_INTERVAL_ENV) && garbage.contains("soon"),
            "{garbage}"
        );
    }

    #[test]
    fn the_no_operator_hint_comes_once_and_only_for_a_test_never_seen_with_a_status() {
        assert!(!no_operator_hint_due(Duration::from_secs(29), false, false));
        assert!(no_operator_hint_due(Duration::from_secs(30), false, false));
        assert!(!no_operator_hint_due(Duration::from_secs(31), false, true));
        assert!(!no_operator_hint_due(Duration::from_secs(600), true, false));
    }
}
