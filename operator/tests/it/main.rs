//! The operator's integration tests, one module per area, in one test binary (one link of kube,
//! k8s-openapi and rustls instead of one per file). Helpers they share, also used by the
//! benchmarks, are in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;

mod binary;
mod http;
mod leader;
mod reconcile;
mod scrape;
mod scrape_real_locust;
mod webhook_tls;
