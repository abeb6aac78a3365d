//! `kubectl locust tui NAME`, and the live view behind `run --tui` and `run --local --tui`.

use std::time::Duration;

use tokio::sync::mpsc;

use crate::cli::{GlobalArgs, TuiArgs};
use crate::client::Cluster;
use crate::commands::run::wait::{POLL_INTERVAL_ENV, poll_interval};
use crate::error::PluginError;
use k8s_openapi::jiff::Timestamp;

use std::net::{IpAddr, Ipv4Addr};

use crate::commands::{stop, ui};
use crate::portforward::{self, LocalPort};
use crate::tui::state::{Effect, State, Update};
use crate::tui::{app, feed};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, LogParams};

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
    let mut act = on_cluster(cluster.clone());
    let switch = move |effect: &Effect, outcomes: &mpsc::Sender<Update>| match effect {
        Effect::Open(namespace, name) => Some(feed::spawn(in_namespace(&cluster, namespace), name.clone(), interval)),
        Effect::List => Some(feed::spawn_list(cluster.clone(), all_namespaces, interval)),
        other => act(other, outcomes),
    };
    app::show_state(State::picking(Timestamp::now()), list, None, switch).await
}

/// Shows a cluster test live (`run --tui`).
pub async fn follow(cluster: &Cluster, name: &str, timeout: Option<Duration>) -> Result<u8, PluginError> {
    let interval = poll_interval(std::env::var(POLL_INTERVAL_ENV).ok().as_deref())?;
    let updates = feed::spawn(cluster.clone(), name.to_string(), interval);
    app::show(name, updates, timeout, on_cluster(cluster.clone())).await
}

/// Shows whatever `updates` carries (the local mode of `run` feeds its synthesized test): the
/// keys acting on a cluster test say what does the same for a local run.
pub async fn follow_feed(
    title: &str,
    updates: mpsc::Receiver<Update>,
    timeout: Option<Duration>,
) -> Result<u8, PluginError> {
    let local = |effect: &Effect, outcomes: &mpsc::Sender<Update>| {
        let said = match effect {
            Effect::WebUi(..) => "a local run's web UI is on this machine, at the address `run --local` printed",
            Effect::Stop(..) => "q or Ctrl-C stops a local run (its report is saved when Locust stops)",
            Effect::Logs(..) => "a local run's logs are in the folder `run --local` printed",
            _ => return None,
        };
        let _ = outcomes.try_send(match effect {
            Effect::Logs(..) => Update::LogTail(vec![said.to_string()]),
            _ => Update::Notice(said.to_string()),
        });
        None
    };
    app::show(title, updates, timeout, local).await
}

fn in_namespace(cluster: &Cluster, namespace: &str) -> Cluster {
    Cluster {
        namespace: namespace.to_string(),
        ..cluster.clone()
    }
}

/// Lines of the master's log the live view shows.
const LOG_TAIL_LINES: i64 = 30;
/// How long the live view's stop waits for the operator to end the test before it stops saying.
const STOP_FOLLOW_LIMIT: Duration = Duration::from_secs(120);

/// What the live view's keys do on a cluster test, each on its own task that reports back:
/// `s` the same stop as `kubectl locust stop`, `l` the tail of the master's log, `w` the web UI.
fn on_cluster(cluster: Cluster) -> impl FnMut(&Effect, &mpsc::Sender<Update>) -> Option<mpsc::Receiver<Update>> {
    move |effect, outcomes| {
        let outcomes = outcomes.clone();
        match effect {
            Effect::Stop(namespace, name) => {
                tokio::spawn(stop_from_view(
                    in_namespace(&cluster, namespace),
                    name.clone(),
                    outcomes,
                ));
            }
            Effect::Logs(namespace, name) => {
                tokio::spawn(log_tail(in_namespace(&cluster, namespace), name.clone(), outcomes));
            }
            Effect::WebUi(namespace, name) => {
                tokio::spawn(web_ui(in_namespace(&cluster, namespace), name.clone(), outcomes));
            }
            Effect::None | Effect::Open(..) | Effect::List => {}
        }
        None
    }
}

async fn stop_from_view(cluster: Cluster, name: String, outcomes: mpsc::Sender<Update>) {
    let said = match stop::request_stop(&cluster, &name).await {
        Ok(request) => format!(
            "asked the master of {name} to stop (by {}); the test ends with its results once Locust stops",
            request.by
        ),
        Err(error) => first_line(&error),
    };
    if outcomes.send(Update::Notice(said)).await.is_err() {
        return;
    }
    if let Ok(Some(_)) = stop::wait_until_ended(&cluster, &name, STOP_FOLLOW_LIMIT).await
        && let Some(removed) = stop::remove_idle_pods(&cluster, &name).await
    {
        let _ = outcomes
            .send(Update::Notice(removed.unwrap_or_else(|warning| warning)))
            .await;
    }
}

async fn log_tail(cluster: Cluster, name: String, outcomes: mpsc::Sender<Update>) {
    let lines = master_log_tail(&cluster, &name)
        .await
        .unwrap_or_else(|error| vec![first_line(&error)]);
    let _ = outcomes.send(Update::LogTail(lines)).await;
}

/// The last [`LOG_TAIL_LINES`] lines of the newest master pod's log.
pub async fn master_log_tail(cluster: &Cluster, name: &str) -> Result<Vec<String>, PluginError> {
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let masters = ui::master_pods(cluster, &pods, name).await?;
    let Some(pod) = masters
        .iter()
        .max_by(|a, b| a.metadata.creation_timestamp.cmp(&b.metadata.creation_timestamp))
        .and_then(|pod| pod.metadata.name.clone())
    else {
        return Ok(vec![format!("{name} has no master pod (yet, or any more)")]);
    };
    let params = LogParams {
        tail_lines: Some(LOG_TAIL_LINES),
        ..LogParams::default()
    };
    let text = pods
        .logs(&pod, &params)
        .await
        .map_err(|error| cluster.translate(error, "get", "pods/log", false))?;
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(format!("{pod} has logged nothing yet"));
    }
    Ok(lines)
}

/// `w`: Locust's web UI of the test on a local port for as long as the view is open, forwarded
/// to the running master pod through the API server (as `kubectl locust ui` does); each new
/// connection goes to the master running then, so a replaced master is followed.
async fn web_ui(cluster: Cluster, name: String, outcomes: mpsc::Sender<Update>) {
    let notice = |text: String| {
        let outcomes = outcomes.clone();
        async move {
            let _ = outcomes.send(Update::Notice(text)).await;
        }
    };
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let pod = match running_master(&cluster, &pods, &name).await {
        Ok(Some(pod)) => pod,
        Ok(None) => return notice(format!("{name} has no running master pod: no web UI to forward")).await,
        Err(error) => return notice(first_line(&error)).await,
    };
    if let Err(error) = portforward::check(&pods, &pod, ui::WEB_PORT).await {
        let error = cluster.translate(error, "create", "pods/portforward", false);
        return notice(first_line(&error)).await;
    }
    let (listener, note) =
        match portforward::listen(IpAddr::from(Ipv4Addr::LOCALHOST), LocalPort::Preferred(ui::WEB_PORT)).await {
            Ok(listening) => listening,
            Err(error) => return notice(first_line(&error)).await,
        };
    let Ok(local) = listener.local_addr() else {
        return notice("cannot read the local address of the forward".to_string()).await;
    };
    let moved = if note.is_some() { " (8089 was taken)" } else { "" };
    notice(format!(
        "Locust's web UI: http://{local}{moved}, forwarded while this view is open"
    ))
    .await;
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((mut stream, _)) = accepted else { continue };
                let (cluster, pods, name) = (cluster.clone(), pods.clone(), name.clone());
                tokio::spawn(async move {
                    if let Ok(Some(pod)) = running_master(&cluster, &pods, &name).await {
                        let _ = portforward::forward(&pods, &pod, ui::WEB_PORT, &mut stream).await;
                    }
                });
            }
            () = outcomes.closed() => return,
        }
    }
}

/// The newest running master pod of test `name`.
async fn running_master(cluster: &Cluster, pods: &Api<Pod>, name: &str) -> Result<Option<String>, PluginError> {
    Ok(ui::running(&ui::master_pods(cluster, pods, name).await?))
}

/// An error's first line: the live view has one line for it.
fn first_line(error: &PluginError) -> String {
    error.to_string().lines().next().unwrap_or_default().to_string()
}
