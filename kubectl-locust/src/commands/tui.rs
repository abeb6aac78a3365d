//! `kubectl locust tui NAME`, and the live view behind `run --tui` and `run --local --tui`.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::cli::{GlobalArgs, TuiArgs};
use crate::client::Cluster;
use crate::commands::run::wait::{POLL_INTERVAL_ENV, poll_interval};
use crate::error::PluginError;
use crate::tui::{app, feed, state::Update};

pub async fn execute(global: &GlobalArgs, args: TuiArgs) -> Result<u8, PluginError> {
    let Some(name) = args.name else {
        return Err(PluginError::Usage(
            "give the test to show: kubectl locust tui NAME (kubectl get lotest lists them)".into(),
        ));
    };
    let cluster = Cluster::connect(global).await?;
    // A typo gets the not-found error with close names before the screen switches.
    cluster.get_test(&name).await?;
    follow(&cluster, &name, None).await
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
