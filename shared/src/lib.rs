//! Everything a LocustTest means, with no API client: the CRD types (v1, v2), validation rules,
//! conversion, naming, and pure builders of every Kubernetes object the operator creates.

pub mod api;
pub mod build;
pub mod command;
pub mod config;
pub mod constants;
pub mod crd;
pub mod health;
pub mod naming;
pub mod observed;
pub mod report;
pub mod stats;
pub mod status;
pub mod thresholds;
pub mod validation;
