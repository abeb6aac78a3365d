//! One error type for a reconcile: which step failed, on which object, and why.

use std::fmt;

/// The steps of a reconcile that call the API server (everything else reads the caches).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Creating the Service or a Job.
    CreateChild,
    /// Reading the kubelet's FailedMount events of a pod stuck creating.
    ListEvents,
    /// Writing the test's status.
    PatchStatus,
}

impl Step {
    /// The metric label (`step="create_child"`).
    pub fn label(self) -> &'static str {
        match self {
            Self::CreateChild => "create_child",
            Self::ListEvents => "list_events",
            Self::PatchStatus => "patch_status",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CreateChild => "create",
            Self::ListEvents => "list events of",
            Self::PatchStatus => "patch the status of",
        })
    }
}

/// Why a reconcile failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed; the reconcile is retried with backoff.
    #[error("{step} {object}: {source}")]
    Kube {
        /// The step that called the API.
        step: Step,
        /// The object it was about, e.g. `Job demo-master`.
        object: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The object has no namespace (LocustTest is namespaced; this means a malformed event).
    #[error("LocustTest {0} has no namespace")]
    MissingNamespace(String),
}

impl Error {
    /// The failing step, for the metric label; `none` when no API call failed.
    pub fn step(&self) -> &'static str {
        match self {
            Self::Kube { step, .. } => step.label(),
            Self::MissingNamespace(_) => "none",
        }
    }

    /// A short label for metrics: which kind of failure.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Kube {
                source: kube::Error::Api(status),
                ..
            } if status.code == 409 => "conflict",
            Self::Kube {
                source: kube::Error::Api(status),
                ..
            } if status.code == 403 => "forbidden",
            Self::Kube {
                source: kube::Error::Api(_),
                ..
            } => "api",
            Self::Kube { .. } => "transport",
            Self::MissingNamespace(_) => "invalid_object",
        }
    }
}

/// Names the step and object of a failed API call.
pub trait InStep<T> {
    /// The error as a failure of `step` on `object`.
    fn in_step(self, step: Step, object: impl FnOnce() -> String) -> Result<T, Error>;
}

impl<T> InStep<T> for Result<T, kube::Error> {
    fn in_step(self, step: Step, object: impl FnOnce() -> String) -> Result<T, Error> {
        self.map_err(|source| Error::Kube {
            step,
            object: object(),
            source,
        })
    }
}
