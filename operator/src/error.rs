//! One error type for the operator, a variant per failing step, each saying what failed.

/// Why a reconcile (or start-up) step failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A Kubernetes API call failed; the reconcile is retried with backoff.
    #[error("{action}: {source}")]
    Kube {
        /// What the operator was doing, e.g. `create Job demo-master`.
        action: String,
        /// The API error.
        #[source]
        source: kube::Error,
    },
    /// The object has no namespace (LocustTest is namespaced; this means a malformed event).
    #[error("LocustTest {0} has no namespace")]
    MissingNamespace(String),
}

impl Error {
    /// A short label for metrics: which kind of step failed.
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

/// Attaches what the operator was doing to a kube error.
pub trait Context<T> {
    /// Names the failing action.
    fn during(self, action: impl FnOnce() -> String) -> Result<T, Error>;
}

impl<T> Context<T> for Result<T, kube::Error> {
    fn during(self, action: impl FnOnce() -> String) -> Result<T, Error> {
        self.map_err(|source| Error::Kube {
            action: action(),
            source,
        })
    }
}
