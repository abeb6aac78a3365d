//! The plugin's integration tests, one module per area, in one test binary (one link of kube,
//! k8s-openapi and rustls instead of one per file). The harness they share is in `tests/support/`.

#[path = "../support/mod.rs"]
mod support;
// The real-Locust helpers of the shared crate's tests (the target server, Locust processes).
// Not every helper is used here.
#[allow(dead_code, unused_imports)]
#[path = "../../../shared/tests/support/http.rs"]
mod http;
#[allow(dead_code, unused_imports)]
#[path = "../../../shared/tests/support/locust.rs"]
mod locust;

mod cli;
mod completion;
mod local;
mod logs;
mod report;
mod run;
mod status;
mod stop;
mod tui;
mod ui;
