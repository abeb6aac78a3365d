//! `kubectl locust tui NAME`, and the live view behind `run --tui` and `run --local --tui`.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::cli::{GlobalArgs, TuiArgs};
use crate::client::Cluster;
use crate::commands::run::wait::{POLL_INTERVAL_ENV, poll_interval};
use crate::error::PluginError;
use k8s_openapi::jiff::Timestamp;

use crate::tui::state::{Effect, State, Update};
use crate::tui::{app, feed};

pub async fn execute(global: &GlobalArgs, args: TuiArgs) -> Result<u8, PluginError> {
    app::require_terminal(true)?;
    let cluster = Cluster::connect(global).await?;
    let Some(name) = args.name else {
        return pick(cluster, global.all_namespaces).await;
    };
    // A typo gets the not-found error with close names before the screen switches.
    cluster.get_test(&name).await?;
    follow(&cluster, &name, None).await
}

/// The list of tests first; Enter opens one, Esc goes back.
async fn pick(cluster: Cluster, all_namespaces: bool) -> Result<u8, PluginError> {
    // Fails early (no cluster, no CRD, forbidden) before the screen switches.
    cluster.list_tests(all_namespaces).await?;
    let interval = poll_interval(std::env::var(POLL_INTERVAL_ENV).ok().as_deref())?;
    let list = feed::spawn_list(cluster.clone(), all_namespaces, interval);
    let switch = |effect: &Effect| match effect {
        Effect::Open(namespace, name) => {
            let in_namespace = Cluster {
                namespace: namespace.clone(),
                ..cluster.clone()
            };
            Some(feed::spawn(in_namespace, name.clone(), interval))
        }
        Effect::List => Some(feed::spawn_list(cluster.clone(), all_namespaces, interval)),
        Effect::None => None,
    };
    app::show_state(State::picking(Timestamp::now()), list, None, switch).await
}

/// Shows a cluster test live (`run --tui`).
pub async fn follow(cluster: &Cluster, name: &str, timeout: Option<Duration>) -> Result<u8, PluginError> {
    let interval = poll_interval(std::env::var(POLL_INTERVAL_ENV).ok().as_deref())?;
    let updates = feed::spawn(cluster.clone(), name.to_string(), interval);
    app::show(name, updates, timeout).await
}

/// Shows whatever `updates` carries (the local mode of `run` feeds its synthesized test).
pub async fn follow_feed(
    title: &str,
    updates: mpsc::Receiver<Update>,
    timeout: Option<Duration>,
) -> Result<u8, PluginError> {
    app::show(title, updates, timeout).await
}
