//! The e2e suite's own tests, in one test binary: its scenarios in process against the in-memory
//! API server, and its binary where no cluster is reachable.

mod in_process;
mod no_cluster;
