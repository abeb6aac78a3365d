//! Helpers for tests that run the real `locust` on 127.0.0.1: a target HTTP server, a client for
//! the master's JSON stats, and a guard that owns the Locust processes.

pub mod http;
pub mod locust;
