//! Outcomes of scenarios, the summary, and the exit code. A run where nothing ran is never a pass.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cli::exit;

/// What became of one scenario.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Passed(Duration),
    Failed { after: Duration, why: String },
    Skipped(String),
}

/// The exit code of a run: 1 if anything failed, 77 if nothing ran, else 0.
pub fn exit_code(outcomes: &[(String, Outcome)]) -> u8 {
    if outcomes.iter().any(|(_, o)| matches!(o, Outcome::Failed { .. })) {
        exit::FAILED
    } else if outcomes.iter().any(|(_, o)| matches!(o, Outcome::Passed(_))) {
        exit::PASSED
    } else {
        exit::SKIPPED
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.1}s", duration.as_secs_f64())
}

/// The summary printed at the end: one line per scenario, then the counts and the verdict.
pub fn summary(outcomes: &[(String, Outcome)]) -> String {
    let width = outcomes.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = String::new();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, outcome) in outcomes {
        let _ = match outcome {
            Outcome::Passed(after) => {
                passed += 1;
                writeln!(text, "PASS  {name:width$}  {}", seconds(*after))
            }
            Outcome::Failed { after, why } => {
                failed += 1;
                let first = why.lines().next().unwrap_or_default();
                writeln!(text, "FAIL  {name:width$}  {}  {first}", seconds(*after))
            }
            Outcome::Skipped(why) => {
                skipped += 1;
                writeln!(text, "SKIP  {name:width$}  {why}")
            }
        };
    }
    let verdict = match exit_code(outcomes) {
        exit::FAILED => "FAILED",
        exit::PASSED => "PASSED",
        _ => "SKIPPED — nothing was tested",
    };
    let _ = writeln!(text, "\n{passed} passed, {failed} failed, {skipped} skipped: {verdict}");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passed(name: &str) -> (String, Outcome) {
        (name.to_string(), Outcome::Passed(Duration::from_millis(1500)))
    }

    fn skipped(name: &str) -> (String, Outcome) {
        (name.to_string(), Outcome::Skipped("--skip-real-locust".to_string()))
    }

    #[test]
    fn nothing_run_is_not_a_pass() {
        assert_eq!(exit_code(&[]), exit::SKIPPED);
        assert_eq!(exit_code(&[skipped("a"), skipped("b")]), exit::SKIPPED);
        assert!(summary(&[skipped("a")]).contains("0 passed, 0 failed, 1 skipped: SKIPPED — nothing was tested"));
    }

    #[test]
    fn any_failure_fails_the_run_and_passes_with_skips_pass() {
        let failed = (
            "b".to_string(),
            Outcome::Failed {
                after: Duration::from_secs(3),
                why: "timed out\nlast seen: phase Pending".to_string(),
            },
        );
        assert_eq!(exit_code(&[passed("a"), failed.clone(), skipped("c")]), exit::FAILED);
        assert_eq!(exit_code(&[passed("a"), skipped("c")]), exit::PASSED);
        let text = summary(&[passed("a"), failed, skipped("c")]);
        assert!(text.contains("PASS  a  1.5s"), "{text}");
        assert!(text.contains("FAIL  b  3.0s  timed out\n"), "{text}");
        assert!(text.contains("SKIP  c  --skip-real-locust"), "{text}");
        assert!(text.ends_with("1 passed, 1 failed, 1 skipped: FAILED\n"), "{text}");
    }
}
