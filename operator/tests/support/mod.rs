//! Test support shared by the operator's integration tests: an in-memory Kubernetes API that the
//! real `kube::Client` talks to, so reconcile code runs unchanged with no cluster.

// Each test binary that includes this module uses a different subset of the helpers.
#![allow(dead_code)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fake_api;

pub use fake_api::{FakeApi, ObjectKey, RecordedEvent};
