//! `stop`: end a running test early and keep what it measured. It records who asked (the
//! `locust.io/stop-requested` annotation), asks the master to stop through its web API (the API
//! server's service proxy, as statistics are read), waits for the operator to end the test
//! (Succeeded, TestCompleted reason TestStopped, its final statistics and report saved), then
//! removes the master and workers, which Locust leaves idle after a stop through its web API.

use std::time::Duration;

use k8s_openapi::api::authentication::v1::SelfSubjectReview;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::json;
use shared::api::status::Phase;
use shared::api::status::conditions::{TEST_COMPLETED, completed};
use shared::api::v2::LocustTest;
use shared::constants::{ANNOTATION_STOP_REQUESTED, WEB_UI_PORT};
use shared::naming;
use shared::status::{StopRequest, condition};
use tokio::time::Instant;

use crate::cli::{GlobalArgs, StopArgs};
use crate::client::Cluster;
use crate::commands::run::wait;
use crate::error::PluginError;
use crate::exit;
use crate::output::Palette;

/// Locust's web API path that stops the run (POST).
const STOP_PATH: &str = "/stop";

pub async fn execute(global: &GlobalArgs, args: StopArgs) -> Result<u8, PluginError> {
    let palette = Palette::new(global.color);
    let cluster = Cluster::connect(global).await?;
    stop(&cluster, &args, palette).await
}

/// Stops test `args.name` in `cluster.namespace`; the result is the exit code.
pub async fn stop(cluster: &Cluster, args: &StopArgs, palette: Palette) -> Result<u8, PluginError> {
    let name = args.name.as_str();
    let namespace = cluster.namespace.as_str();
    let test = cluster.get_test(name).await?;
    let phase = test.status.as_ref().and_then(|status| status.phase);
    if phase != Some(Phase::Running) {
        eprintln!("{}", not_running_message(name, namespace, phase));
        return Ok(exit::ERROR);
    }

    let request = request_stop(cluster, name).await?;
    println!(
        "Asked the master of {name} to stop (by {}). Locust stops its users; the operator saves its final statistics and report, then ends the test.",
        request.by
    );

    let code = if args.wait {
        wait::follow(cluster, name, args.timeout, palette).await?
    } else {
        match wait_until_ended(cluster, name, args.timeout.unwrap_or(DEFAULT_STOP_TIMEOUT)).await? {
            Some(ended) => {
                println!("{name} ended: {}", ended_words(&ended));
                exit::OK
            }
            None => {
                eprintln!(
                    "{name} has not ended yet; follow it with `kubectl locust status {name} -n {namespace}` (is the operator running?)"
                );
                return Ok(exit::TIMEOUT);
            }
        }
    };
    if !args.keep_pods {
        match remove_idle_pods(cluster, name).await {
            Some(Ok(removed)) => println!("{removed}"),
            Some(Err(warning)) => eprintln!("warning: {warning}"),
            None => {}
        }
    }
    Ok(code)
}

/// Records who asks and asks the master of running test `name` to stop; on failure nothing stays
/// changed. What `stop` and the live view's `s` do.
pub async fn request_stop(cluster: &Cluster, name: &str) -> Result<StopRequest, PluginError> {
    // Whole seconds: the time is read by people, in the condition and the event.
    let now = Timestamp::now();
    let request = StopRequest {
        at: Timestamp::from_second(now.as_second()).unwrap_or(now),
        by: whoami(cluster).await,
    };
    annotate(cluster, name, Some(request.to_annotation())).await?;
    if let Err(error) = ask_master_to_stop(cluster, name).await {
        // Nothing changes when the master was not asked: the record goes again.
        let _ = annotate(cluster, name, None).await;
        return Err(error);
    }
    Ok(request)
}

/// How long `stop` without `--wait` waits for the operator to end the test.
const DEFAULT_STOP_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a test that is not running is not stopped, and what to do instead.
pub fn not_running_message(name: &str, namespace: &str, phase: Option<Phase>) -> String {
    match phase {
        Some(Phase::Succeeded | Phase::Failed) => format!(
            "{name} has already ended ({}): nothing to stop. Its results: `kubectl locust status {name} -n {namespace}`, `kubectl locust report {name} -n {namespace}`",
            phase.map(Phase::as_str).unwrap_or_default()
        ),
        _ => format!(
            "{name} is not running yet ({}): nothing to stop. To cancel it, delete it: `kubectl delete locusttest {name} -n {namespace}`",
            phase.map_or("no status yet", Phase::as_str)
        ),
    }
}

/// `Succeeded (TestStopped: Stopped on request by ...)`.
fn ended_words(test: &LocustTest) -> String {
    let phase = test
        .status
        .as_ref()
        .and_then(|status| status.phase)
        .map_or("?", Phase::as_str);
    match test
        .status
        .as_ref()
        .and_then(|status| condition(status, TEST_COMPLETED))
    {
        Some(completed) => format!("{phase} ({}: {})", completed.reason, completed.message),
        None => phase.to_string(),
    }
}

/// The user the API server knows the caller as (`kubectl auth whoami`), else the local user.
async fn whoami(cluster: &Cluster) -> String {
    let reviews: Api<SelfSubjectReview> = Api::all(cluster.client.clone());
    let asked = reviews
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await;
    asked
        .ok()
        .and_then(|review| review.status)
        .and_then(|status| status.user_info)
        .and_then(|user| user.username)
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("USER").ok().filter(|name| !name.is_empty()))
        .unwrap_or_else(|| "unknown".to_string())
}

/// Sets (or with `None` removes) the stop-requested annotation of test `name`.
async fn annotate(cluster: &Cluster, name: &str, value: Option<String>) -> Result<(), PluginError> {
    let patch = json!({ "metadata": { "annotations": { ANNOTATION_STOP_REQUESTED: value } } });
    cluster
        .tests()
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .map(|_| ())
        .map_err(|error| cluster.translate(error, "patch", "locusttests.locust.io", false))
}

/// POSTs Locust's `/stop` to the master's web port through the API server's service proxy.
async fn ask_master_to_stop(cluster: &Cluster, name: &str) -> Result<(), PluginError> {
    let path = format!(
        "/api/v1/namespaces/{}/services/{}:{WEB_UI_PORT}/proxy{STOP_PATH}",
        cluster.namespace,
        naming::master_name(name)
    );
    let request = http::Request::post(path)
        .body(Vec::new())
        .map_err(|error| PluginError::Other(error.to_string()))?;
    match cluster.proxy_client.request_text(request).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 403 => {
            Err(cluster.translate(kube::Error::Api(status), "create", "services/proxy", false))
        }
        Err(error) => {
            let why = match error {
                kube::Error::Api(status) => format!("{} (HTTP {})", status.message, status.code),
                other => other.to_string(),
            };
            Err(PluginError::Other(format!(
                "the master of {name} could not be asked to stop through the API server's service proxy: {why}\n  next: `kubectl locust status {name}` shows whether its master is up; nothing was changed"
            )))
        }
    }
}

/// Reads the test every poll interval until it ended, at most `limit`; `None` when it did not.
pub async fn wait_until_ended(
    cluster: &Cluster,
    name: &str,
    limit: Duration,
) -> Result<Option<LocustTest>, PluginError> {
    let interval = wait::poll_interval(std::env::var(wait::POLL_INTERVAL_ENV).ok().as_deref())?;
    let deadline = Instant::now() + limit;
    loop {
        let test = cluster.get_test(name).await?;
        if test
            .status
            .as_ref()
            .and_then(|status| status.phase)
            .is_some_and(Phase::is_terminal)
        {
            return Ok(Some(test));
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        tokio::time::sleep(interval).await;
    }
}

/// Deletes the master and worker Jobs of a test the operator ended as stopped: Locust's master
/// never quits after a stop through its web API, so its pods would idle until deleted. The test,
/// its status and its report stay. What was done, a warning with the command to run when the
/// caller may not delete Jobs, or `None` when the test did not end as stopped.
pub async fn remove_idle_pods(cluster: &Cluster, name: &str) -> Option<Result<String, String>> {
    let test = cluster.get_test(name).await.ok()?;
    let stopped = test
        .status
        .as_ref()
        .and_then(|status| condition(status, TEST_COMPLETED))
        .is_some_and(|said| said.reason == completed::TEST_STOPPED);
    if !stopped {
        return None;
    }
    let jobs: Api<Job> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let names = [naming::master_name(name), naming::worker_name(name)];
    for job in &names {
        match jobs.delete(job, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 404 => {}
            Err(error) => {
                return Some(Err(format!(
                    "could not remove the idle master and workers ({error}); remove them with `kubectl delete job {} -n {}`",
                    names.join(" "),
                    cluster.namespace
                )));
            }
        }
    }
    Some(Ok(format!(
        "Removed the idle master and workers (Jobs {}); the test, its status and its report stay.",
        names.join(", ")
    )))
}
