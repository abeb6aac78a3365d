//! Test support shared by the operator's integration tests: an in-memory Kubernetes API that the
//! real `kube::Client` talks to, so reconcile code runs unchanged with no cluster, and a running
//! test wired to a live-statistics cache.

// Each test binary that includes this module uses a different subset of the helpers.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub use integration_tests::fake_api;
pub mod process;
pub mod stats;

pub use fake_api::{FakeApi, ObjectKey, RecordedEvent};
