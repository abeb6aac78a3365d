//! The suite's control-plane scenarios run in process: the scenario code as a real cluster runs
//! it, against the in-memory API server (with watches that send every change), with the
//! operator's real controller running against it and a stand-in for the Job controller (a Job
//! gets `status.active`; a short-running master ends as Locust would, failed when it targets a
//! closed port). This shows the suite's own code (object creation through the dynamic API, waits,
//! the containment check of the children, edits, deletes, events) before it ever meets a
//! cluster; what only a real API server does (validation, defaults, conversion, garbage
//! collection) stays with `cargo run -p e2e`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser as _;
use e2e::catalogue::{self, Scenario};
use e2e::cli::Options;
use e2e::cluster::Cluster;
use e2e::docs::{EXAMPLES, Shape};
use e2e::scenarios::{Ctx, Suite, run_scenario};
use e2e::setup::Binaries;
use fake_api::FakeApi;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Service};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::jiff::Timestamp;
use operator::context::Context;
use operator::controller::{self, Scope};
use serde_json::json;
use shared::api::v2::LocustTest;
use shared::config::OperatorConfig;

const NS: &str = "lt-e2e-in-process";

/// The fake API server with the operator's controller watching [`NS`], and the stand-ins for the
/// Job controller and the garbage collector acting every 50 ms.
struct Harness {
    fake: FakeApi,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Harness {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

fn harness() -> Harness {
    let fake = FakeApi::new(Timestamp::now()).with_live_watches();
    let (controller, cache, _synced) = controller::build(
        &fake.client(),
        &Scope::Namespace(NS.into()),
        controller::DEFAULT_CONCURRENCY,
    );
    let context = Arc::new(Context::for_test(fake.client(), cache, fake.clock()));
    let operator = tokio::spawn(controller::run(controller, context, std::future::pending()));
    let driven = fake.clone();
    let pump = tokio::spawn(async move {
        loop {
            // The Job controller's part: a Job has active pods; a master with a short run
            // time ends as Locust would, failed when its target is a closed port.
            for name in driven.names::<Job>(NS) {
                let Some(job) = driven.get::<Job>(NS, &name) else {
                    continue;
                };
                if job.status.is_none() {
                    driven.update::<Job>(NS, &name, |job| job["status"] = json!({"active": 1}));
                    continue;
                }
                let args = job
                    .spec
                    .and_then(|spec| spec.template.spec)
                    .and_then(|pod| pod.containers.into_iter().next())
                    .and_then(|container| container.args)
                    .unwrap_or_default()
                    .join(" ");
                let finished = job.status.as_ref().is_some_and(|status| status.conditions.is_some());
                if name.ends_with("-master") && args.contains("--run-time 10s") && !finished {
                    let (kind, counts) = if args.contains("http://127.0.0.1:1") {
                        ("Failed", json!({"failed": 1}))
                    } else {
                        ("Complete", json!({"succeeded": 1}))
                    };
                    driven.update::<Job>(NS, &name, |job| {
                        job["status"] = json!({"conditions": [{"type": kind, "status": "True"}]});
                        job["status"]
                            .as_object_mut()
                            .unwrap()
                            .extend(counts.as_object().unwrap().clone());
                    });
                }
            }
            collect_garbage(&driven);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    Harness {
        fake,
        tasks: vec![operator, pump],
    }
}

/// The garbage collector's part: what a LocustTest owned goes once the test is gone.
fn collect_garbage(fake: &FakeApi) {
    let live: Vec<String> = fake
        .names::<LocustTest>(NS)
        .iter()
        .filter_map(|name| fake.get_dynamic::<LocustTest>(NS, name)?.metadata.uid)
        .collect();
    let orphaned = |owners: Option<Vec<OwnerReference>>| {
        owners.is_some_and(|owners| owners.iter().any(|o| o.kind == "LocustTest" && !live.contains(&o.uid)))
    };
    for name in fake.names::<ConfigMap>(NS) {
        if fake
            .get_dynamic::<ConfigMap>(NS, &name)
            .is_some_and(|o| orphaned(o.metadata.owner_references))
        {
            fake.delete::<ConfigMap>(NS, &name);
        }
    }
    for name in fake.names::<Job>(NS) {
        if fake
            .get_dynamic::<Job>(NS, &name)
            .is_some_and(|o| orphaned(o.metadata.owner_references))
        {
            fake.delete::<Job>(NS, &name);
        }
    }
    for name in fake.names::<Service>(NS) {
        if fake
            .get_dynamic::<Service>(NS, &name)
            .is_some_and(|o| orphaned(o.metadata.owner_references))
        {
            fake.delete::<Service>(NS, &name);
        }
    }
}

/// The plugin binary of this workspace, built if a plain `cargo test -p e2e` has not built it.
fn plugin_binary() -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let binary = target.join("debug").join("kubectl-locust");
    if !binary.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let status = std::process::Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--quiet", "-p", "kubectl-locust"])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p kubectl-locust failed");
    }
    binary
}

fn suite(fake: &FakeApi) -> Suite {
    Suite {
        options: Options::try_parse_from(["e2e"]).unwrap(),
        cluster: Cluster {
            client: fake.client(),
            kubeconfig: None,
            context: None,
            server: "in-process".to_string(),
            version: "1.33".to_string(),
            run: "in-process".to_string(),
        },
        // Not used by the scenarios run here (they call neither the plugin nor a local operator).
        binaries: Binaries {
            operator: PathBuf::from("/nonexistent"),
            plugin: PathBuf::from("/nonexistent"),
        },
        operator_account: None,
        config: OperatorConfig::default(),
    }
}

fn scenario(name: &str) -> Scenario {
    catalogue::all()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"))
}

async fn run(name: &str) -> anyhow::Result<()> {
    let harness = harness();
    run_within(&suite(&harness.fake), name, Duration::from_secs(30)).await
}

/// Runs a scenario that calls the plugin: the fake also serves HTTP, with a kubeconfig for it.
async fn run_with_plugin(name: &str) -> anyhow::Result<()> {
    let harness = harness();
    let server = harness.fake.serve_http().await?;
    let dir = tempfile::tempdir()?;
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig(NS))?;
    let mut suite = suite(&harness.fake);
    suite.cluster.kubeconfig = Some(kubeconfig);
    suite.binaries.plugin = plugin_binary();
    run_within(&suite, name, Duration::from_secs(30)).await
}

/// Runs scenario `name` in [`NS`] with `within` as its time limit.
async fn run_within(suite: &Suite, name: &str, within: Duration) -> anyhow::Result<()> {
    let scenario = scenario(name);
    let dir = tempfile::tempdir().unwrap();
    let ctx = Ctx {
        suite,
        scenario: &scenario,
        namespace: NS.to_string(),
        dir: dir.path().to_path_buf(),
        deadline: Instant::now() + within,
    };
    suite.cluster.create_namespace(NS).await?;
    tokio::time::timeout(within + Duration::from_secs(10), run_scenario(&ctx)).await?
}

#[tokio::test]
async fn every_accepted_v2_doc_example_gets_the_children_its_text_promises() {
    let mut ran = 0;
    for example in EXAMPLES {
        // v1 needs the conversion webhook, and the refusals need the API server's schema.
        if example.shape.is_v1() || matches!(example.shape, Shape::RefusedAsWritten { .. }) {
            continue;
        }
        let name = example.scenario_name();
        run(&name).await.unwrap_or_else(|error| panic!("{name}: {error:#}"));
        ran += 1;
    }
    assert!(ran >= 15, "only {ran} examples ran");
}

#[tokio::test]
async fn editing_a_running_test_is_seen_as_spec_drifted() {
    run("spec-drifted").await.unwrap();
}

#[tokio::test]
async fn a_deleted_worker_job_is_seen_recreated() {
    run("worker-job-recreated").await.unwrap();
}

#[tokio::test]
async fn a_test_whose_master_completes_is_seen_succeeded_with_its_times() {
    run("passing-test").await.unwrap();
}

#[tokio::test]
async fn a_test_whose_master_fails_is_seen_failed_with_test_failed() {
    run("failing-master").await.unwrap();
}

#[tokio::test]
async fn a_master_job_the_api_server_refuses_is_seen_failed_with_the_servers_words() {
    let harness = harness();
    // The fake stores any Job; a real API server refuses this one (its CPU request is above its
    // limit) with these words.
    harness.fake.fail_next_with(
        "POST",
        "/jobs",
        422,
        "Job.batch \"refused-master\" is invalid: spec.template.spec.containers[0].resources.requests: \
         Invalid value: \"2\": must be less than or equal to cpu limit of 1",
    );
    run_within(&suite(&harness.fake), "child-refused", Duration::from_secs(30))
        .await
        .unwrap();
}

#[tokio::test]
async fn deleting_a_test_is_seen_to_remove_its_children() {
    run("delete-removes-children").await.unwrap();
}

#[tokio::test]
async fn plugin_status_json_is_compared_with_what_the_api_holds() {
    run_with_plugin("plugin-status-json").await.unwrap();
}

#[tokio::test]
async fn plugin_run_wait_timeout_exits_4_and_its_configmap_goes_with_the_test() {
    run_with_plugin("plugin-run-wait-timeout").await.unwrap();
}

#[tokio::test]
async fn a_scenario_fails_with_what_it_last_saw_when_the_operator_never_acts() {
    // No pump: nothing creates the children, so the wait must give up at the deadline and say so.
    let fake = FakeApi::new(Timestamp::now());
    let suite = suite(&fake);
    let started = Instant::now();
    let error = run_within(&suite, "spec-drifted", Duration::from_secs(3))
        .await
        .expect_err("nothing acted, so the scenario fails");
    let text = format!("{error:#}");
    assert!(text.contains("timed out after"), "{text}");
    assert!(
        text.contains("Service drift-master and Jobs drift-master, drift-worker"),
        "{text}"
    );
    assert!(
        text.contains("last seen: Service missing, master Job missing, worker Job missing"),
        "{text}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn an_interrupted_run_deletes_its_own_namespaces_and_no_one_elses() {
    let fake = FakeApi::new(Timestamp::now());
    let mine = suite(&fake).cluster;
    let mut theirs = mine.clone();
    theirs.run = "another-run".to_string();
    mine.create_namespace("lt-e2e-mine-1").await.unwrap();
    mine.create_namespace("lt-e2e-mine-2").await.unwrap();
    theirs.create_namespace("lt-e2e-theirs").await.unwrap();
    assert_eq!(mine.delete_run_namespaces().await.unwrap(), 2);
    let namespaces: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(fake.client());
    let left: Vec<String> = namespaces
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .filter_map(|namespace| namespace.metadata.name)
        .collect();
    assert_eq!(left, ["lt-e2e-theirs"]);
}
