//! Reads a test and its events from the cluster on its own task and sends them to the view.

use std::time::Duration;

use tokio::sync::mpsc;

use super::state::Update;
use crate::client::Cluster;
use crate::error::PluginError;

/// Events shown in the view.
const EVENTS: usize = 10;

/// Polls test `name` every `interval` until the receiver is gone.
pub fn spawn(cluster: Cluster, name: String, interval: Duration) -> mpsc::Receiver<Update> {
    let (sender, receiver) = mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let update = match cluster.get_test(&name).await {
                Ok(test) => Update::Test(Box::new(test)),
                Err(PluginError::NotFound { .. }) => Update::Gone,
                Err(error) => Update::Error(error.to_string()),
            };
            if sender.send(update).await.is_err() {
                return;
            }
            if let Ok(events) = cluster.recent_events(&name, EVENTS).await
                && sender.send(Update::Events(events)).await.is_err()
            {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    });
    receiver
}

/// Lists the tests (in the working namespace, or all with `all_namespaces`) every `interval`.
pub fn spawn_list(cluster: Cluster, all_namespaces: bool, interval: Duration) -> mpsc::Receiver<Update> {
    let (sender, receiver) = mpsc::channel(8);
    tokio::spawn(async move {
        loop {
            let update = match cluster.list_tests(all_namespaces).await {
                Ok(tests) => Update::Tests(tests),
                Err(error) => Update::Error(error.to_string()),
            };
            if sender.send(update).await.is_err() {
                return;
            }
            tokio::time::sleep(interval).await;
        }
    });
    receiver
}
