//! The end-to-end suite: the CRD, the operator and `kubectl locust` against the real cluster
//! KUBECONFIG names. Pure parts (options, the scenario catalogue, the documented examples, the
//! checks on what the cluster returns, the report) are unit-tested in CI without a cluster; the
//! shells (`cluster`, `setup`, `scenarios`) only talk to the cluster.

pub mod catalogue;
pub mod checks;
pub mod cli;
pub mod cluster;
pub mod docs;
pub mod report;
pub mod scenarios;
pub mod setup;
