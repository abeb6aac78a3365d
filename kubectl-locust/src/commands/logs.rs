//! `kubectl locust logs NAME`: the master's log by default, `--workers` or `--all` with pod-name
//! prefixes, `-f` to follow.

use futures::{AsyncBufReadExt, StreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, LogParams};
use shared::api::v2::Phase;
use shared::constants::LABEL_POD_NAME;
use shared::naming::{self, Role};

use crate::cli::{GlobalArgs, LogsArgs, exit};
use crate::client::Cluster;
use crate::error::PluginError;
use crate::output::Palette;

/// Which pods to read, as label selectors.
pub fn selectors(name: &str, args: &LogsArgs) -> Vec<String> {
    let role = |role| format!("{LABEL_POD_NAME}={}", naming::child_name(name, role));
    if args.all {
        vec![role(Role::Master), role(Role::Worker)]
    } else if args.workers {
        vec![role(Role::Worker)]
    } else {
        vec![role(Role::Master)]
    }
}

/// What to say when there are no pods to read.
pub fn no_pods_message(name: &str, namespace: &str, phase: Option<Phase>) -> String {
    match phase {
        Some(phase) if phase.is_terminal() => format!(
            "the pods of test {name} are gone (the test {phase}; its Jobs' ttlSecondsAfterFinished removed them, or they were deleted): \
             logs exist only while pods do. `kubectl locust status {name} -n {namespace}` shows the final statistics"
        ),
        _ => format!(
            "no pods yet for test {name} (phase {}): retry in a moment, or see why with `kubectl locust status {name} -n {namespace}`",
            phase.map_or("-", Phase::as_str)
        ),
    }
}

pub async fn execute(global: &GlobalArgs, args: LogsArgs) -> Result<u8, PluginError> {
    let cluster = Cluster::connect(global).await?;
    let palette = Palette::new(global.color);
    let test = cluster.get_test(&args.name).await?;
    let pods_api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let mut pods = Vec::new();
    for selector in selectors(&args.name, &args) {
        let list = pods_api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|error| cluster.translate(error, "list", "pods", false))?;
        pods.extend(list.items.into_iter().filter_map(|pod| pod.metadata.name));
    }
    if pods.is_empty() {
        let phase = test.status.as_ref().and_then(|s| s.phase);
        return Err(PluginError::Other(no_pods_message(
            &args.name,
            &cluster.namespace,
            phase,
        )));
    }
    let prefix = args.prefix.unwrap_or(pods.len() > 1);
    let params = LogParams {
        follow: args.follow,
        tail_lines: (args.tail >= 0).then_some(args.tail),
        since_seconds: args.since.map(|s| s.as_secs() as i64),
        ..LogParams::default()
    };
    let colours = [Palette::cyan, Palette::green, Palette::yellow];
    let streams = pods.iter().enumerate().map(|(index, pod)| {
        let api = pods_api.clone();
        let params = params.clone();
        let label = if prefix {
            format!("{} ", colours[index % colours.len()](&palette, &format!("[{pod}]")))
        } else {
            String::new()
        };
        let pod = pod.clone();
        let cluster = cluster.clone();
        async move {
            let stream = api.log_stream(&pod, &params).await.map_err(|error| match error {
                kube::Error::Api(status) if status.code == 400 => PluginError::Other(format!(
                    "pod {pod} has not started yet ({}); retry in a moment",
                    status.message
                )),
                other => cluster.translate(other, "get", "pods/log", false),
            })?;
            let mut lines = stream.lines();
            while let Some(line) = lines.next().await {
                let line = line.map_err(|error| PluginError::Other(format!("reading the log of {pod}: {error}")))?;
                println!("{label}{line}");
            }
            Ok::<(), PluginError>(())
        }
    });
    // All pods at once, so following several interleaves their lines as they come.
    let results = futures::future::join_all(streams).await;
    results.into_iter().collect::<Result<Vec<()>, _>>()?;
    Ok(exit::OK)
}
