//! `kubectl locust logs NAME`: the master's log by default, `--workers` or `--all` with pod-name
//! prefixes, `-f` to follow (several pods at once, interleaved by line).

use std::io::Write;

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use shared::api::v2::{LocustTest, Phase};
use shared::constants::{LABEL_POD_NAME, LABEL_TEST_NAME};
use shared::naming::{self, Role};

use crate::cli::{GlobalArgs, LogsArgs};
use crate::client::Cluster;
use crate::error::PluginError;
use crate::exit;
use crate::output::Palette;

/// The roles whose pods to read: the master by default.
pub fn roles(args: &LogsArgs) -> Vec<Role> {
    if args.all {
        vec![Role::Master, Role::Worker]
    } else if args.workers {
        vec![Role::Worker]
    } else {
        vec![Role::Master]
    }
}

/// The label selector of test `name`'s pods of `role` (the labels the operator puts on them).
pub fn selector(name: &str, role: Role) -> String {
    format!(
        "{LABEL_TEST_NAME}={name},{LABEL_POD_NAME}={}",
        naming::child_name(name, role)
    )
}

/// What to say when test `name` has no pods to read, from its phase.
pub fn no_pods_message(name: &str, namespace: &str, roles: &[Role], phase: Option<Phase>) -> String {
    let (which, are) = match roles {
        [Role::Master] => ("master pod", "is"),
        [Role::Worker] => ("worker pods", "are"),
        _ => ("pods", "are"),
    };
    let status = format!("kubectl locust status {name} -n {namespace}");
    match phase {
        Some(phase) if phase.is_terminal() => format!(
            "the {which} of test {name} {are} gone: the test {phase} and its pods were removed (its Jobs' \
             ttlSecondsAfterFinished, or someone deleted them), and logs live only as long as pods do\n  \
             next: `{status}` shows the final statistics"
        ),
        Some(Phase::Running) => format!(
            "test {name} is Running but has no {which} now (they may have been deleted and are being recreated)\n  \
             next: retry in a moment; `{status}` shows what the operator sees"
        ),
        _ => format!(
            "test {name} has no {which} yet (phase {})\n  next: retry in a moment; `{status}` shows what it waits for",
            phase.map_or("unknown: the operator has not reported on it", Phase::as_str)
        ),
    }
}

/// Why a pod's log cannot be read yet, if its containers have not started: `ContainerCreating`,
/// `PodInitializing`, `ErrImagePull`...
pub fn waiting_reason(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let containers = status.container_statuses.as_deref().unwrap_or_default();
    let started = containers.iter().any(|c| {
        c.state
            .as_ref()
            .is_some_and(|s| s.running.is_some() || s.terminated.is_some())
    });
    if started {
        return None;
    }
    containers
        .iter()
        .find_map(|c| c.state.as_ref()?.waiting.as_ref()?.reason.clone())
        .or_else(|| (status.phase.as_deref() == Some("Pending")).then(|| "Pending".to_string()))
}

/// The message for a pod whose container has not started, so it has no log yet.
pub fn not_started_message(pod: &str, reason: &str, test: &str, namespace: &str) -> String {
    format!(
        "pod {pod} has not started yet ({reason}), so it has no log\n  next: retry in a moment; \
         `kubectl locust status {test} -n {namespace}` shows why it waits"
    )
}

/// `[pod-name] ` in the pod's colour, or nothing.
fn line_prefix(pod: &str, index: usize, palette: Palette, prefix: bool) -> String {
    if !prefix {
        return String::new();
    }
    let colours = [
        Palette::cyan,
        Palette::green,
        Palette::yellow,
        Palette::red,
        Palette::bold,
    ];
    format!("{} ", colours[index % colours.len()](&palette, &format!("[{pod}]")))
}

pub async fn execute(global: &GlobalArgs, args: LogsArgs) -> Result<u8, PluginError> {
    let cluster = Cluster::connect(global).await?;
    let palette = Palette::new(global.color);
    let test = cluster.get_test(&args.name).await?;
    let pods_api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let roles = roles(&args);
    let mut pods: Vec<Pod> = Vec::new();
    for role in &roles {
        let mut list = pods_api
            .list(&ListParams::default().labels(&selector(&args.name, *role)))
            .await
            .map_err(|error| cluster.translate(error, "list", "pods", false))?
            .items;
        list.sort_by(|a, b| a.metadata.name.cmp(&b.metadata.name));
        pods.extend(list);
    }
    if pods.is_empty() {
        return Err(PluginError::Other(no_pods_message(
            &args.name,
            &cluster.namespace,
            &roles,
            test.status.as_ref().and_then(|s| s.phase),
        )));
    }
    let prefix = args.prefix.unwrap_or(pods.len() > 1);
    let params = LogParams {
        follow: args.follow,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        since_seconds: args.since.map(|s| i64::try_from(s.as_secs()).unwrap_or(i64::MAX)),
        ..LogParams::default()
    };
    let readers = pods.iter().enumerate().map(|(index, pod)| {
        let label = line_prefix(pod.metadata.name.as_deref().unwrap_or_default(), index, palette, prefix);
        stream_pod(&cluster, &pods_api, &test, pod, &params, label)
    });
    // All pods at once: followed logs interleave line by line as they come.
    let outcomes = futures::future::join_all(readers).await;
    let mut failed = false;
    for outcome in outcomes {
        match outcome {
            Ok(Streamed::Done) => {}
            // The reader went away (`| head`): not an error.
            Ok(Streamed::Closed) => return Ok(exit::OK),
            Err(error) => {
                eprintln!("error: {error}");
                failed = true;
            }
        }
    }
    Ok(if failed { exit::ERROR } else { exit::OK })
}

enum Streamed {
    /// The log ended (or was read to its end).
    Done,
    /// Standard output was closed.
    Closed,
}

async fn stream_pod(
    cluster: &Cluster,
    api: &Api<Pod>,
    test: &LocustTest,
    pod: &Pod,
    params: &LogParams,
    label: String,
) -> Result<Streamed, PluginError> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let test_name = test.metadata.name.as_deref().unwrap_or_default();
    let not_started = |reason: &str| not_started_message(&name, reason, test_name, &cluster.namespace);
    let stream = match api.log_stream(&name, params).await {
        Ok(stream) => stream,
        // The API server answers 400 "container ... is waiting to start" for a pod still creating.
        Err(kube::Error::Api(status)) if status.code == 400 => {
            let reason = waiting_reason(pod).unwrap_or_else(|| match status.message.rsplit_once(": ") {
                Some((_, reason)) if status.message.contains("waiting to start") => reason.to_string(),
                _ => status.message.clone(),
            });
            return Err(PluginError::Other(not_started(&reason)));
        }
        Err(error) => return Err(cluster.translate(error, "get", "pods/log", false)),
    };
    let mut lines = stream.lines();
    while let Some(line) = lines.next().await {
        let line = line.map_err(|error| PluginError::Other(format!("reading the log of pod {name}: {error}")))?;
        let mut stdout = std::io::stdout().lock();
        match writeln!(stdout, "{label}{line}").and_then(|()| stdout.flush()) {
            Ok(()) => {}
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => return Ok(Streamed::Closed),
            Err(error) => return Err(PluginError::Other(format!("cannot write the log: {error}"))),
        }
    }
    Ok(Streamed::Done)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn pod(status: serde_json::Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    #[test]
    fn master_by_default_workers_or_both_on_request() {
        let args = |workers, all| LogsArgs {
            workers,
            all,
            ..LogsArgs::default()
        };
        assert_eq!(roles(&args(false, false)), [Role::Master]);
        assert_eq!(roles(&args(true, false)), [Role::Worker]);
        assert_eq!(roles(&args(false, true)), [Role::Master, Role::Worker]);
        assert_eq!(
            selector("demo.v2", Role::Worker),
            "performance-test-name=demo.v2,performance-test-pod-name=demo-v2-worker"
        );
    }

    #[test]
    fn no_pods_is_explained_by_the_phase() {
        let gone = no_pods_message("demo", "load", &[Role::Master], Some(Phase::Succeeded));
        assert!(
            gone.starts_with("the master pod of test demo is gone: the test Succeeded"),
            "{gone}"
        );
        assert!(gone.contains("ttlSecondsAfterFinished") && gone.contains("kubectl locust status demo -n load"));
        let pending = no_pods_message("demo", "load", &[Role::Worker], Some(Phase::Pending));
        assert!(pending.contains("has no worker pods yet (phase Pending)"), "{pending}");
        let unknown = no_pods_message("demo", "load", &[Role::Master], None);
        assert!(unknown.contains("the operator has not reported"), "{unknown}");
    }

    #[test]
    fn a_pod_whose_container_waits_names_the_reason() {
        let creating = pod(json!({"phase": "Pending", "containerStatuses": [{
            "name": "locust", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}}}]}));
        assert_eq!(waiting_reason(&creating).as_deref(), Some("ContainerCreating"));
        let scheduled_only = pod(json!({"phase": "Pending"}));
        assert_eq!(waiting_reason(&scheduled_only).as_deref(), Some("Pending"));
        let running = pod(json!({"phase": "Running", "containerStatuses": [{
            "name": "locust", "image": "i", "imageID": "", "ready": true, "restartCount": 0,
            "state": {"running": {}}}]}));
        assert_eq!(waiting_reason(&running), None);
    }
}
