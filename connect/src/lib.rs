//! How the operator, the plugin and the e2e suite reach what they talk to: a cluster through a
//! kubeconfig ([`kubeconfig`]), and a Locust master's `/stats/requests` over HTTP ([`stats`]).
//! One implementation each, so the three binaries cannot drift apart.

pub mod kubeconfig;
pub mod stats;
