//! `kubectl locust ui NAME`: the master's Locust web UI (port 8089) on a local port, forwarded
//! through the API server (`pods/portforward`), until Ctrl-C. It waits for a test still starting,
//! follows the master pod when it is replaced, and says plainly why there is no UI.

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use clap::Args;
use futures::FutureExt;
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::ListParams;
use shared::api::v2::Phase;
use shared::naming::Role;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

use crate::cli::GlobalArgs;
use crate::client::Cluster;
use crate::commands::logs::{selector, waiting_reason};
use crate::commands::report::open_in_browser;
use crate::commands::run::wait::{POLL_INTERVAL_ENV, poll_interval};
use crate::error::PluginError;
use crate::exit;
use crate::output::ProgressPrinter;
use crate::portforward::{self, ForwardError, LocalPort};

/// Locust's web port in the master pod (`--web-port` of the command the operator builds).
pub const WEB_PORT: u16 = 8089;
/// The RBAC resource a forward needs `create` on.
const PORTFORWARD_RESOURCE: &str = "pods/portforward";

pub const AFTER_HELP: &str = "\
The UI is forwarded through the API server (pods/portforward of the master pod; no kubectl
binary needed), one forward per browser connection, until Ctrl-C. A test still starting is
waited for, with progress; a replaced master pod is followed; a finished test has no UI any more
(`status` and `report` have its results). Needs \"create\" on pods/portforward in the namespace.

Examples:
  kubectl locust ui checkout                 # http://127.0.0.1:8089, or a free port when 8089 is taken
  kubectl locust ui checkout --open          # and open it in a browser
  kubectl locust ui checkout --port 9000     # exactly this port (an error when it is taken)

Exit codes: 0 stopped with Ctrl-C or the test finished, 1 no UI (the message says why),
130 Ctrl-C while still waiting for the master.";

#[derive(Args, Debug, Clone)]
pub struct UiArgs {
    /// The test whose web UI to open.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Local port (default 8089, or a free one when 8089 is taken; 0 for any free port).
    #[arg(long, value_name = "PORT")]
    pub port: Option<u16>,
    /// Local address to listen on (anything but loopback lets other machines use the UI).
    #[arg(long, value_name = "ADDRESS", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub address: IpAddr,
    /// Open the URL in a browser (xdg-open, open or start).
    #[arg(long)]
    pub open: bool,
}

pub async fn execute(global: &GlobalArgs, args: UiArgs) -> Result<u8, PluginError> {
    let mut interrupted = ctrl_c();
    let cluster = Cluster::connect(global).await?;
    let interval = poll_interval(std::env::var(POLL_INTERVAL_ENV).ok().as_deref())?;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let name = args.name.as_str();
    let mut retry = false;
    let pod = loop {
        let Some(pod) = wait_for_master(&cluster, &pods, name, interval, retry, &mut interrupted).await? else {
            eprintln!("stopped waiting for the web UI of test {name}");
            return Ok(exit::INTERRUPTED);
        };
        match portforward::check(&pods, &pod, WEB_PORT).await {
            Ok(()) => break pod,
            // The pod went away or stopped between the list and the forward: wait again.
            Err(kube::Error::Api(status)) if status.code == 404 || status.code == 400 => retry = true,
            Err(error) => return Err(cluster.translate(error, "create", PORTFORWARD_RESOURCE, false)),
        }
    };

    let port = args.port.map_or(LocalPort::Preferred(WEB_PORT), LocalPort::Exact);
    let (listener, note) = portforward::listen(args.address, port).await?;
    if let Some(note) = note {
        eprintln!("{note}");
    }
    let local = listener
        .local_addr()
        .map_err(|error| PluginError::Other(format!("cannot read the local address: {error}")))?;
    let url = format!("http://{local}");
    println!("Web UI of test {name}: {url}");
    eprintln!("forwarding to pod {pod} port {WEB_PORT} through the API server; Ctrl-C to stop");
    if !args.address.is_loopback() {
        eprintln!(
            "note: listening on {}, not loopback: other machines can use the UI",
            args.address
        );
    }
    if args.open {
        // On a task: the browser's first requests are served while the opener still runs.
        let url = url.clone();
        tokio::spawn(async move { open_in_browser(Path::new(&url)).await });
    }

    let forwards = Forwards {
        pods: pods.clone(),
        current: watch::Sender::new(pod),
        cluster: cluster.clone(),
        name: name.to_string(),
    };
    let (events, mut ended) = mpsc::channel(1);
    let watcher = tokio::spawn(forwards.clone().watch_test(interval, events));
    let outcome = loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    tokio::spawn(forwards.clone().serve(stream));
                }
                // Out of file descriptors and the like: the next accept may work.
                Err(error) => {
                    eprintln!("warning: cannot accept a connection on {local}: {error}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
            Some(end) = ended.recv() => break end,
            () = &mut interrupted => {
                eprintln!("stopped forwarding {url}");
                break Ok(exit::OK);
            }
        }
    };
    watcher.abort();
    outcome
}

/// Ctrl-C, listened for from now on: tokio's handler is installed on the first poll, and a
/// Ctrl-C before that would kill the process instead of ending it cleanly.
fn ctrl_c() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    let mut signal = Box::pin(tokio::signal::ctrl_c());
    match (&mut signal).now_or_never() {
        None => Box::pin(signal.map(|_| ())),
        Some(Ok(())) => Box::pin(std::future::ready(())),
        // No handler could be installed: nothing will ever arrive.
        Some(Err(_)) => Box::pin(std::future::pending()),
    }
}

/// The name of the running master pod of `test`, waiting while the test starts (with progress on
/// standard error; after one `interval` first with `pause`); `None` on Ctrl-C. A finished test is
/// an error: its UI is gone.
async fn wait_for_master(
    cluster: &Cluster,
    pods: &Api<Pod>,
    test: &str,
    interval: Duration,
    mut pause: bool,
    interrupted: &mut Pin<Box<dyn Future<Output = ()> + Send>>,
) -> Result<Option<String>, PluginError> {
    let mut printer = ProgressPrinter::for_stderr();
    let started = tokio::time::Instant::now();
    loop {
        if pause {
            tokio::select! {
                () = tokio::time::sleep(interval) => {}
                () = &mut *interrupted => {
                    printer.finish();
                    return Ok(None);
                }
            }
        }
        pause = true;
        let phase = cluster.get_test(test).await?.status.and_then(|status| status.phase);
        if let Some(phase) = phase.filter(|phase| phase.is_terminal()) {
            printer.finish();
            return Err(PluginError::Other(finished_message(test, &cluster.namespace, phase)));
        }
        let masters = master_pods(cluster, pods, test).await?;
        if let Some(pod) = running(&masters) {
            printer.finish();
            return Ok(Some(pod));
        }
        let waiting = waiting_line(test, phase, masters.first());
        let elapsed = humantime::format_duration(Duration::from_secs(started.elapsed().as_secs()));
        printer.show(&waiting, &format!("{waiting} ({elapsed}; Ctrl-C to stop)"));
    }
}

/// The master pods of `test` (the labels the operator puts on them).
pub async fn master_pods(cluster: &Cluster, pods: &Api<Pod>, test: &str) -> Result<Vec<Pod>, PluginError> {
    pods.list(&ListParams::default().labels(&selector(test, Role::Master)))
        .await
        .map(|list| list.items)
        .map_err(|error| cluster.translate(error, "list", "pods", false))
}

/// The newest running master pod that is not being deleted (a replaced master may overlap its
/// successor for a moment).
pub fn running(pods: &[Pod]) -> Option<String> {
    pods.iter()
        .filter(|pod| pod.metadata.deletion_timestamp.is_none())
        .filter(|pod| pod.status.as_ref().and_then(|status| status.phase.as_deref()) == Some("Running"))
        .max_by(|a, b| {
            (&a.metadata.creation_timestamp, &a.metadata.name).cmp(&(&b.metadata.creation_timestamp, &b.metadata.name))
        })
        .and_then(|pod| pod.metadata.name.clone())
}

/// What the UI waits for, as one progress line.
pub fn waiting_line(test: &str, phase: Option<Phase>, master: Option<&Pod>) -> String {
    let phase = phase.map_or("phase unknown: the operator has not reported on it", Phase::as_str);
    let master = match master {
        None => "no master pod yet".to_string(),
        Some(pod) => format!(
            "master pod {} {}",
            pod.metadata.name.as_deref().unwrap_or_default(),
            waiting_reason(pod).unwrap_or_else(|| "not running".to_string())
        ),
    };
    format!("waiting for the web UI of {test}: test {phase}, {master}")
}

/// Why a finished test has no UI, and where its results are.
pub fn finished_message(test: &str, namespace: &str, phase: Phase) -> String {
    format!(
        "test {test} {phase}: its master has quit, and the web UI with it\n  next: `kubectl locust status {test} -n \
         {namespace}` shows the final statistics; `kubectl locust report {test} -n {namespace}` saves Locust's report"
    )
}

/// Everything a forward of one local connection needs, and the master pod forwarded to now.
#[derive(Clone)]
struct Forwards {
    pods: Api<Pod>,
    current: watch::Sender<String>,
    cluster: Cluster,
    name: String,
}

impl Forwards {
    /// Forwards one local connection to the current master pod; when that pod is gone, to its
    /// successor. Failures are warnings: the next connection may work.
    async fn serve(self, mut stream: TcpStream) {
        let pod = self.current.borrow().clone();
        let outcome = match portforward::forward(&self.pods, &pod, WEB_PORT, &mut stream).await {
            Err(ForwardError::Refused(kube::Error::Api(status))) if status.code == 404 || status.code == 400 => {
                match self.find_master().await {
                    Some(successor) if successor != pod => {
                        portforward::forward(&self.pods, &successor, WEB_PORT, &mut stream).await
                    }
                    _ => {
                        eprintln!(
                            "warning: a connection was closed: test {} has no running master pod now (it may be being \
                             replaced); reload the page in a moment",
                            self.name
                        );
                        return;
                    }
                }
            }
            other => other,
        };
        match outcome {
            Ok(()) => {}
            Err(ForwardError::Refused(error)) => eprintln!(
                "warning: a connection was not forwarded: {}",
                self.cluster.translate(error, "create", PORTFORWARD_RESOURCE, false)
            ),
            Err(ForwardError::Port(message)) => {
                eprintln!("warning: the master pod did not take a connection on port {WEB_PORT}: {message}");
            }
        }
    }

    /// The running master pod now, switched to (with a note) when it is a new one.
    async fn find_master(&self) -> Option<String> {
        let masters = master_pods(&self.cluster, &self.pods, &self.name).await.ok()?;
        let pod = running(&masters)?;
        self.current.send_if_modified(|current| {
            if *current == pod {
                return false;
            }
            eprintln!("the master pod was replaced: forwarding to pod {pod} now");
            current.clone_from(&pod);
            true
        });
        Some(pod)
    }

    /// Reads the test every `interval`: follows a replaced master pod, and sends how the command
    /// ends when the test finishes (exit 0, with where its results are) or is deleted.
    async fn watch_test(self, interval: Duration, ended: mpsc::Sender<Result<u8, PluginError>>) {
        loop {
            tokio::time::sleep(interval).await;
            let end = match self.cluster.tests().get(&self.name).await {
                Ok(test) => match test.status.and_then(|status| status.phase) {
                    Some(phase) if phase.is_terminal() => {
                        eprintln!("{}", finished_message(&self.name, &self.cluster.namespace, phase));
                        Ok(exit::OK)
                    }
                    _ => {
                        self.find_master().await;
                        continue;
                    }
                },
                Err(kube::Error::Api(status)) if status.code == 404 => Err(PluginError::Other(format!(
                    "LocustTest \"{}\" was deleted from namespace \"{}\", and its web UI with it",
                    self.name, self.cluster.namespace
                ))),
                // A blip of the API server: the forwards go on, the next read may work.
                Err(_) => continue,
            };
            let _ = ended.send(end).await;
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use serde_json::json;

    fn pod(name: &str, created: &str, phase: &str, deleting: bool) -> Pod {
        let mut pod = json!({"metadata": {"name": name, "creationTimestamp": created}, "status": {"phase": phase}});
        if deleting {
            pod["metadata"]["deletionTimestamp"] = json!("2026-11-22T10:05:00Z");
        }
        serde_json::from_value(pod).unwrap()
    }

    #[test]
    fn the_newest_running_master_that_is_not_being_deleted_is_forwarded_to() {
        let old = pod("m-old", "2026-11-22T10:00:00Z", "Running", true);
        let new = pod("m-new", "2026-11-22T10:04:00Z", "Running", false);
        let starting = pod("m-next", "2026-11-22T10:05:00Z", "Pending", false);
        assert_eq!(
            running(&[old.clone(), new.clone(), starting.clone()]).as_deref(),
            Some("m-new")
        );
        assert_eq!(running(&[old, starting]), None);
        assert_eq!(running(&[]), None);
    }

    #[test]
    fn waiting_says_what_the_test_and_its_master_are_doing() {
        assert_eq!(
            waiting_line("demo", Some(Phase::Pending), None),
            "waiting for the web UI of demo: test Pending, no master pod yet"
        );
        let creating: Pod = serde_json::from_value(json!({"metadata": {"name": "demo-master-x"}, "status": {
            "phase": "Pending", "containerStatuses": [{"name": "locust", "image": "i", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"waiting": {"reason": "ContainerCreating"}}}]}}))
        .unwrap();
        assert_eq!(
            waiting_line("demo", Some(Phase::Pending), Some(&creating)),
            "waiting for the web UI of demo: test Pending, master pod demo-master-x ContainerCreating"
        );
        assert!(waiting_line("demo", None, None).contains("the operator has not reported"));
    }

    #[test]
    fn a_finished_test_points_to_status_and_report() {
        let message = finished_message("demo", "load", Phase::Succeeded);
        assert!(message.starts_with("test demo Succeeded: its master has quit, and the web UI with it"));
        assert!(message.contains("`kubectl locust status demo -n load`"), "{message}");
        assert!(message.contains("`kubectl locust report demo -n load`"), "{message}");
    }
}
