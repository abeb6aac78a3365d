//! The integration tests of `locust-shared`, one module per area, in one test binary (one link of
//! kube and k8s-openapi instead of one per file). Helpers they share are in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

mod build;
mod conversion;
mod crd;
mod crd_conversion;
mod doc_examples;
mod health;
mod real_locust;
mod snapshots;
mod stats;
mod status;
mod thresholds;
mod validation;
