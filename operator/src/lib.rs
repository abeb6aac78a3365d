//! The LocustTest operator: watches LocustTests, creates their Service and Jobs once, observes
//! Jobs and pods, and patches status. Every decision is a pure function of the `shared` crate;
//! this crate only watches, applies, observes and patches.

pub mod cache;
pub mod certs;
pub mod cli;
pub mod context;
pub mod controller;
pub mod error;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod reconcile;
pub mod scrape;
pub mod settings;
pub mod webhook;
