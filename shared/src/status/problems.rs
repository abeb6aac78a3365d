//! What can be wrong with a test besides its pods: an edit after creation, a child the API server
//! refuses or cannot create yet, a spec that cannot be read.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::jiff::Timestamp;

use super::conditions::{condition, upsert_condition};
use super::{Child, initial_status};
use crate::api::status::conditions::{READY, ready};
use crate::api::status::{LocustTestStatus, Phase};
use crate::build;

/// Whether the spec differs from the one the children were built from: some child's recorded
/// fingerprint is not `fingerprint` (`build::spec_fingerprint` of the spec now).
pub fn spec_drifted<'a>(fingerprint: &str, children: impl IntoIterator<Item = &'a ObjectMeta>) -> bool {
    children
        .into_iter()
        .filter_map(build::built_from)
        .any(|built_from| built_from != fingerprint)
}

/// Why a test failed when the API server refused one of its children: the child, the server's
/// own words (which name the offending field) and what to do. Takes the place of a build error.
pub fn refused_child_message(test_name: &str, child: Child, server_message: &str) -> String {
    format!(
        "the API server refused to create {} {}: {server_message}. Correct the LocustTest's spec, \
         then delete it and create it again",
        child.kind(),
        child.name(test_name)
    )
}

/// Why a child could not be created this pass although it may be next time (the API server
/// answered 5xx or 429, or did not answer): the child and the server's words, for the Ready
/// condition and one event. The reconcile is retried with backoff.
pub fn creation_retry_message(test_name: &str, child: Child, server_message: &str) -> String {
    format!(
        "the API server could not create {} {} yet, retrying: {server_message}",
        child.kind(),
        child.name(test_name)
    )
}

/// The status of a test whose spec cannot be read (a v1 object stored without the conversion
/// webhook, say): Failed, with Ready naming the problem and what to do.
pub fn unreadable_status(generation: Option<i64>, problem: &str, now: Timestamp) -> LocustTestStatus {
    let mut status = initial_status(generation, 0, now);
    status.phase = Some(Phase::Failed);
    upsert_condition(
        &mut status,
        READY,
        false,
        ready::RESOURCES_FAILED,
        format!(
            "the spec cannot be read ({problem}); fix it against the locust.io/v2 schema or delete and \
             recreate the test"
        ),
        generation,
        now,
    );
    status
}

/// The status to write for a test whose spec cannot be read, unless `previous` says so already.
pub fn unreadable(
    previous: &LocustTestStatus,
    generation: Option<i64>,
    problem: &str,
    now: Timestamp,
) -> Option<LocustTestStatus> {
    let status = unreadable_status(generation, problem, now);
    let message = |status: &LocustTestStatus| condition(status, READY).map(|ready| ready.message.clone());
    let reported = previous.phase == status.phase && message(previous) == message(&status);
    (!reported).then_some(status)
}

/// A request to end a run early, as `kubectl locust stop` records it on the test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopRequest {
    /// When it was asked.
    pub at: Timestamp,
    /// Who asked (the kubeconfig user, or `unknown`).
    pub by: String,
}

impl StopRequest {
    /// The annotation's value: `<RFC 3339 time> <who>`.
    pub fn to_annotation(&self) -> String {
        format!("{} {}", self.at, self.by)
    }

    /// The request an annotation value records; `None` when it is not one.
    pub fn from_annotation(value: &str) -> Option<Self> {
        let (at, by) = value.trim().split_once(' ')?;
        Some(Self {
            at: at.parse().ok()?,
            by: by.trim().to_string(),
        })
    }

    /// `Stopped on request by alice at 2026-12-07T15:00:00Z`.
    pub fn describe(&self) -> String {
        format!("Stopped on request by {} at {}", self.by, self.at)
    }
}
