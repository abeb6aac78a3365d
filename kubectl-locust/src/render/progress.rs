//! One-line live progress and the end-of-test summary (`run --wait`, `run --local`).

use shared::api::v2::Phase;

use crate::cli::exit;

/// The exit code once a test has ended: 0 for Succeeded, [`exit::TEST_FAILED`] for Failed;
/// `None` while it is still going.
pub fn exit_code(phase: Option<Phase>) -> Option<u8> {
    match phase {
        Some(Phase::Succeeded) => Some(exit::OK),
        Some(Phase::Failed) => Some(exit::TEST_FAILED),
        Some(Phase::Pending | Phase::Running) | None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_terminal_phases_end_a_wait() {
        assert_eq!(exit_code(Some(Phase::Succeeded)), Some(0));
        assert_eq!(exit_code(Some(Phase::Failed)), Some(exit::TEST_FAILED));
        assert_eq!(exit_code(Some(Phase::Running)), None);
        assert_eq!(exit_code(Some(Phase::Pending)), None);
        assert_eq!(exit_code(None), None);
    }
}
