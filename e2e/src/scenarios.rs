//! The code of each scenario. Every scenario runs in its own namespace, within its time limit;
//! waits poll the cluster and give up with what they last saw.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail, ensure};
use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use shared::api::status::conditions as c;
use shared::config::OperatorConfig;
use tokio::process::Command;

use crate::catalogue::{Kind, Scenario};
use crate::checks::{self, Target, TestPlan};
use crate::cli::Options;
use crate::cluster::{Cluster, Poll, Ran, eventually, locust_tests, run};
use crate::docs;
use crate::setup::{Binaries, CRD_NAME};

/// What every scenario shares.
pub struct Suite {
    pub options: Options,
    pub cluster: Cluster,
    pub binaries: Binaries,
    /// The operator's ServiceAccount as RBAC names it (chart mode).
    pub operator_account: Option<String>,
    /// The configuration the operator builds children with (for the expected objects).
    pub config: OperatorConfig,
}

/// One scenario's run: its namespace, a work directory, and its deadline.
pub struct Ctx<'a> {
    pub suite: &'a Suite,
    pub scenario: &'a Scenario,
    pub namespace: String,
    pub dir: PathBuf,
    pub deadline: Instant,
}

/// The recipes of the API reference, as committed (checked against the spec by unit tests).
pub const RECIPE_CHECKING_STATUS: &str = include_str!("../recipes/api-reference--checking-status.sh");
pub const RECIPE_KUBECTL_COMMANDS: &str = include_str!("../recipes/api-reference--kubectl-commands.sh");
pub const RECIPE_SHELL_SCRIPT: &str = include_str!("../recipes/api-reference--ci-cd-shell-script.sh");
pub const RECIPE_GITHUB_ACTIONS: &str = include_str!("../recipes/api-reference--ci-cd-github-actions.yaml");

/// The name the API reference's recipes use.
const RECIPE_TEST: &str = "my-test";

impl Ctx<'_> {
    fn cluster(&self) -> &Cluster {
        &self.suite.cluster
    }

    fn options(&self) -> &Options {
        &self.suite.options
    }

    /// Time left before the scenario's deadline.
    fn left(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    fn plan(&self, name: &str) -> TestPlan {
        let options = self.options();
        TestPlan::new(name, &options.locust_image, options.autoquit, options.tolerate_taints)
    }

    /// A plan that stays Running (a long run time), for scenarios that act on a running test.
    fn long_running(&self, name: &str) -> TestPlan {
        let mut plan = self.plan(name);
        plan.run_time = "30m".to_string();
        plan
    }

    async fn create_scripts(&self) -> Result<()> {
        self.cluster()
            .create_ok(&self.namespace, &checks::scripts_config_map())
            .await
            .map(|_| ())
    }

    /// The scripts ConfigMap and the test of `plan`; the test as created.
    async fn create_test(&self, plan: &TestPlan) -> Result<Value> {
        if plan.config_map == checks::SCRIPTS_CONFIGMAP {
            self.create_scripts().await?;
        }
        self.cluster().create_ok(&self.namespace, &plan.manifest()).await
    }

    /// Waits for `phase`; another final phase ends the wait at once.
    async fn wait_phase(&self, name: &str, phase: &'static str) -> Result<Value> {
        self.cluster()
            .wait_for_test(
                &self.namespace,
                name,
                &format!("LocustTest {name} to be {phase}"),
                self.left(),
                |test| {
                    let now = checks::phase(test);
                    if now == phase {
                        Ok(true)
                    } else if matches!(now, "Succeeded" | "Failed") {
                        bail!("LocustTest {name} is {now}, not {phase}")
                    } else {
                        Ok(false)
                    }
                },
            )
            .await
    }

    /// Waits until a condition has this status and reason.
    async fn wait_condition(&self, name: &str, kind: &str, status: &str, reason: &str) -> Result<Value> {
        let what = format!("LocustTest {name} to have {kind}={status}/{reason}");
        self.cluster()
            .wait_for_test(&self.namespace, name, &what, self.left(), |test| {
                Ok(checks::condition(test, kind).is_some_and(|found| found.status == status && found.reason == reason))
            })
            .await
    }

    /// `kubectl-locust` for this cluster and namespace.
    fn plugin(&self) -> Command {
        let mut command = Command::new(&self.suite.binaries.plugin);
        command.args(self.cluster().kube_args());
        command.args(["-n", &self.namespace]).env("NO_COLOR", "1");
        command
    }

    /// `bash -c <line>` with a kubeconfig whose namespace is this scenario's, in the work dir.
    async fn shell(&self, script: &str, limit: Duration) -> Result<Ran> {
        let kubeconfig = self.dir.join("kubeconfig");
        if !kubeconfig.is_file() {
            self.cluster()
                .write_namespaced_kubeconfig(&self.namespace, &kubeconfig)
                .await?;
        }
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(script)
            .current_dir(&self.dir)
            .env("KUBECONFIG", &kubeconfig);
        run(&mut command, limit).await
    }

    fn write(&self, name: &str, text: &str) -> Result<PathBuf> {
        let path = self.dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }
}

/// Runs the scenario's code.
pub async fn run_scenario(ctx: &Ctx<'_>) -> Result<()> {
    match ctx.scenario.kind {
        Kind::CrdEstablished => crd_established(ctx).await,
        Kind::CrdDefaults => crd_defaults(ctx).await,
        Kind::InvalidObjects => invalid_objects(ctx).await,
        Kind::DocExample(index) => doc_example(ctx, &docs::EXAMPLES[index]).await,
        Kind::PassingTest => finished_test(ctx, Target::OwnMaster).await,
        Kind::Thresholds => thresholds_and_report(ctx).await,
        Kind::FailingMaster => finished_test(ctx, Target::ClosedPort).await,
        Kind::ImagePullError => image_pull_error(ctx).await,
        Kind::MissingConfigMap => missing_config_map(ctx).await,
        Kind::WorkerJobRecreated => worker_job_recreated(ctx).await,
        Kind::SpecDrifted => spec_drifted(ctx).await,
        Kind::DeleteRemovesChildren => delete_removes_children(ctx).await,
        Kind::ChildRefused => child_refused(ctx).await,
        Kind::Conversion => conversion(ctx).await,
        Kind::Rbac => rbac(ctx).await,
        Kind::StatusRecipes => status_recipes(ctx).await,
        Kind::KubectlWaitRecipe => kubectl_wait_recipe(ctx).await,
        Kind::ShellRecipeSucceeded => shell_recipe(ctx, true).await,
        Kind::ShellRecipeFailed => shell_recipe(ctx, false).await,
        Kind::PluginRunSucceeded => plugin_run_locustfile(ctx, Target::OwnMaster).await,
        Kind::PluginRunFailed => plugin_run_locustfile(ctx, Target::ClosedPort).await,
        Kind::PluginRunUnschedulable => plugin_run_unschedulable(ctx).await,
        Kind::PluginRunTimeout => plugin_run_timeout(ctx).await,
        Kind::PluginStatusJson => plugin_status_json(ctx).await,
    }
}

/// Printer columns of the committed CRD's v2 that `kubectl get` shows by default (priority 0).
fn default_columns() -> Result<Vec<String>> {
    let text = std::fs::read_to_string(crate::setup::crd_file())?;
    let crd: CustomResourceDefinition = serde_yaml::from_str(&text)?;
    let v2 = crd
        .spec
        .versions
        .iter()
        .find(|v| v.name == "v2")
        .context("no v2 in the CRD")?;
    Ok(v2
        .additional_printer_columns
        .iter()
        .flatten()
        .filter(|column| column.priority.unwrap_or(0) == 0)
        .map(|column| column.name.to_uppercase())
        .collect())
}

async fn crd_established(ctx: &Ctx<'_>) -> Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(ctx.cluster().client.clone());
    let crd = api.get(CRD_NAME).await?;
    let conditions = crd
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    for kind in ["Established", "NamesAccepted"] {
        ensure!(
            conditions.iter().any(|c| c.type_ == kind && c.status == "True"),
            "the CRD is not {kind}: {conditions:?}"
        );
    }
    ensure!(
        crd.spec.names.short_names.iter().flatten().any(|name| name == "lotest"),
        "short name lotest missing"
    );
    let version = |name: &str| crd.spec.versions.iter().find(|v| v.name == name);
    let v2 = version("v2").context("v2 is not served")?;
    ensure!(v2.served && v2.storage, "v2 must be served and stored");
    let v1 = version("v1").context("v1 is not in the CRD")?;
    ensure!(v1.deprecated == Some(true), "v1 must be deprecated");

    // The short name and the printer columns, as a user sees them.
    let test = checks::valid_test("columns");
    ctx.cluster().create_ok(&ctx.namespace, &test).await?;
    let shown = run(
        ctx.cluster()
            .kubectl(Some(&ctx.namespace))
            .args(["get", "lotest", "columns"]),
        Duration::from_secs(30),
    )
    .await?
    .success("kubectl get lotest")?;
    let header = shown.lines().next().unwrap_or_default().to_string();
    for column in std::iter::once("NAME".to_string()).chain(default_columns()?) {
        ensure!(
            header.contains(&column),
            "`kubectl get lotest` shows no {column} column:\n{shown}"
        );
    }
    Ok(())
}

async fn crd_defaults(ctx: &Ctx<'_>) -> Result<()> {
    let mut test = checks::valid_test("defaults");
    test["spec"]["testFiles"] = json!({"configMapRef": "scripts"});
    test["spec"]["volumes"] = json!([{"name": "data", "emptyDir": {}}]);
    test["spec"]["volumeMounts"] = json!([{"name": "data", "mountPath": "/data"}]);
    test["spec"]["env"] = json!({"secretMounts": [{"name": "creds", "mountPath": "/secrets"}]});
    test["spec"]["observability"] = json!({"openTelemetry": {"endpoint": "otel-collector:4317"}});
    let answer = ctx
        .cluster()
        .create(&ctx.namespace, &test, true)
        .await?
        .context("the server-side dry run refused a valid test")?;
    let expected = [
        ("/spec/imagePullPolicy", json!("IfNotPresent")),
        ("/spec/master/autostart", json!(true)),
        ("/spec/master/autoquit/enabled", json!(true)),
        ("/spec/master/autoquit/timeout", json!(60)),
        ("/spec/testFiles/srcMountPath", json!("/lotest/src")),
        ("/spec/testFiles/libMountPath", json!("/opt/locust/lib")),
        ("/spec/env/secretMounts/0/readOnly", json!(true)),
        ("/spec/volumeMounts/0/target", json!("both")),
        ("/spec/observability/openTelemetry/enabled", json!(false)),
        ("/spec/observability/openTelemetry/insecure", json!(false)),
        ("/spec/observability/openTelemetry/protocol", json!("grpc")),
    ];
    let wrong: Vec<String> = expected
        .iter()
        .filter(|(pointer, value)| answer.pointer(pointer) != Some(value))
        .map(|(pointer, value)| format!("{pointer}: {:?}, expected {value}", answer.pointer(pointer)))
        .collect();
    ensure!(
        wrong.is_empty(),
        "defaults not applied by the API server:\n{}",
        wrong.join("\n")
    );
    Ok(())
}

async fn invalid_objects(ctx: &Ctx<'_>) -> Result<()> {
    let mut problems = Vec::new();
    for case in checks::invalid_cases() {
        match ctx.cluster().refusal(&ctx.namespace, &case.object).await {
            Ok(message) => {
                let missing: Vec<&&str> = case.expect.iter().filter(|text| !message.contains(**text)).collect();
                if !missing.is_empty() {
                    problems.push(format!("{}: the refusal lacks {missing:?}: {message}", case.about));
                }
            }
            Err(error) => problems.push(format!("{}: {error:#}", case.about)),
        }
    }
    ensure!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

/// Compares the test's real children with what the builder makes from the test as stored.
async fn children_match(ctx: &Ctx<'_>, name: &str) -> Result<()> {
    let children = ctx
        .cluster()
        .wait_for_children(&ctx.namespace, name, ctx.left())
        .await?;
    let test = ctx
        .cluster()
        .test(&ctx.namespace, name, "v2")
        .await?
        .context("the test is gone")?;
    let expected = checks::expected_children(&test, &ctx.suite.config)?;
    let mut problems = Vec::new();
    for (what, want, have) in [
        ("Service", &expected.service, serde_json::to_value(&children.service)?),
        (
            "master Job",
            &expected.master_job,
            serde_json::to_value(&children.master_job)?,
        ),
        (
            "worker Job",
            &expected.worker_job,
            serde_json::to_value(&children.worker_job)?,
        ),
    ] {
        problems.extend(
            checks::child_mismatches(want, &have)
                .into_iter()
                .map(|p| format!("{what}: {p}")),
        );
    }
    ensure!(
        problems.is_empty(),
        "the children differ from what the test promises:\n{}",
        problems.join("\n")
    );
    Ok(())
}

async fn doc_example(ctx: &Ctx<'_>, example: &docs::Example) -> Result<()> {
    let documents = example.documents()?;
    if let Some((as_written, field)) = &documents.refused {
        let message = ctx
            .cluster()
            .refusal(&ctx.namespace, as_written)
            .await
            .context("the example as written")?;
        ensure!(message.contains(field), "the refusal does not name {field}: {message}");
    }
    let created = ctx.cluster().create_ok(&ctx.namespace, &documents.object).await?;
    let name = created
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .context("no name")?;
    children_match(ctx, name).await
}

async fn finished_test(ctx: &Ctx<'_>, target: Target) -> Result<()> {
    let mut plan = ctx.plan("finishing");
    plan.target = target;
    ctx.create_test(&plan).await?;
    let (phase, reason) = match target {
        Target::OwnMaster => ("Succeeded", c::completed::TEST_SUCCEEDED),
        Target::ClosedPort => ("Failed", c::completed::TEST_FAILED),
    };
    let test = ctx.wait_phase(&plan.name, phase).await?;
    let completed = checks::condition(&test, c::TEST_COMPLETED).context("no TestCompleted condition")?;
    ensure!(
        completed.status == "True" && completed.reason == reason,
        "TestCompleted is {completed:?}, expected True/{reason}"
    );
    let time = |pointer: &str| test.pointer(pointer).and_then(Value::as_str).map(str::to_string);
    let start = time("/status/startTime");
    let end = time("/status/completionTime").context("no completionTime")?;
    if target == Target::OwnMaster {
        let start = start.context("no startTime")?;
        ensure!(start <= end, "startTime {start} is after completionTime {end}");
    }
    Ok(())
}

/// Two runs against the same target: one whose limits hold, one whose minRps no run reaches.
async fn thresholds_and_report(ctx: &Ctx<'_>) -> Result<()> {
    let mut met = ctx.plan("limits-met");
    met.thresholds =
        Some(json!({ "maxFailRatio": 0.5, "endpoints": [{ "name": "/", "maxP95ResponseTimeMs": 60000 }] }));
    let mut breached = ctx.plan("limits-breached");
    breached.thresholds = Some(json!({ "minRps": 1000000 }));
    for plan in [&mut met, &mut breached] {
        // The report is read while Locust says `stopped`: give the operator a few reads.
        plan.autoquit = plan.autoquit.max(20);
        ctx.create_test(plan).await?;
    }
    let test = ctx.wait_phase(&met.name, "Succeeded").await?;
    let said = checks::condition(&test, c::THRESHOLDS_MET).context("no ThresholdsMet condition")?;
    ensure!(
        said.status == "True" && said.reason == c::thresholds::THRESHOLDS_MET,
        "ThresholdsMet is {said:?}"
    );
    let results = test
        .pointer("/status/thresholds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    ensure!(
        results.len() == 2 && results.iter().all(|result| result["met"] == true),
        "status.thresholds: {results:?}"
    );
    let report = test.pointer("/status/report/configMap").and_then(Value::as_str);
    ensure!(
        report == Some("limits-met-report"),
        "status.report: {:?}",
        test.pointer("/status/report")
    );
    let config_maps: Api<ConfigMap> = Api::namespaced(ctx.cluster().client.clone(), &ctx.namespace);
    let kept = config_maps
        .get("limits-met-report")
        .await
        .context("the report ConfigMap")?;
    let files: Vec<&String> = kept.binary_data.iter().flatten().map(|(key, _)| key).collect();
    ensure!(
        ["report.html.gz", "requests.csv.gz", "stats.json.gz"]
            .iter()
            .all(|file| files.iter().any(|key| key == file)),
        "the report holds {files:?}"
    );

    let test = ctx.wait_phase(&breached.name, "Failed").await?;
    let completed = checks::condition(&test, c::TEST_COMPLETED).context("no TestCompleted condition")?;
    ensure!(
        completed.reason == c::completed::THRESHOLDS_BREACHED && completed.message.contains("RPS of all requests"),
        "TestCompleted is {completed:?}"
    );
    Ok(())
}

async fn image_pull_error(ctx: &Ctx<'_>) -> Result<()> {
    let mut plan = ctx.plan("bad-image");
    plan.image = "registry.invalid/locust-e2e/no-such-image:0.0.0".to_string();
    ctx.create_test(&plan).await?;
    let born = Instant::now();
    let grace = ctx.options().grace_period;
    let test = ctx
        .wait_condition(&plan.name, c::PODS_HEALTHY, "False", c::health::IMAGE_PULL_ERROR)
        .await?;
    // Not before the grace period (a second of slack for clocks and polling).
    ensure!(
        born.elapsed() + Duration::from_secs(1) >= grace,
        "ImagePullError after {:?}, inside the grace period of {grace:?}",
        born.elapsed()
    );
    let message = checks::condition(&test, c::PODS_HEALTHY).unwrap_or_default().message;
    ensure!(
        message.contains(&plan.image),
        "the message does not name the image: {message}"
    );
    ctx.wait_phase(&plan.name, "Failed").await.map(|_| ())
}

async fn missing_config_map(ctx: &Ctx<'_>) -> Result<()> {
    let mut plan = ctx.plan("no-scripts");
    plan.config_map = "e2e-missing-scripts".to_string();
    ctx.create_test(&plan).await?;
    let test = ctx
        .wait_condition(&plan.name, c::PODS_HEALTHY, "False", c::health::CONFIGURATION_ERROR)
        .await?;
    let message = checks::condition(&test, c::PODS_HEALTHY).unwrap_or_default().message;
    ensure!(
        message.contains("e2e-missing-scripts"),
        "the message does not name the ConfigMap: {message}"
    );
    Ok(())
}

/// A long-running test with its children, once it is Running.
async fn running_test(ctx: &Ctx<'_>, name: &str) -> Result<(Value, crate::cluster::Children)> {
    ctx.create_test(&ctx.long_running(name)).await?;
    let children = ctx
        .cluster()
        .wait_for_children(&ctx.namespace, name, ctx.left())
        .await?;
    let test = ctx.wait_phase(name, "Running").await?;
    Ok((test, children))
}

fn uid_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_default()
}

async fn worker_job_recreated(ctx: &Ctx<'_>) -> Result<()> {
    let name = "recreate";
    let (test, children) = running_test(ctx, name).await?;
    let test_uid = test
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let old = uid_of(&children.worker_job.metadata);
    let jobs: Api<Job> = Api::namespaced(ctx.cluster().client.clone(), &ctx.namespace);
    let worker = shared::naming::worker_name(name);
    jobs.delete(&worker, &DeleteParams::background()).await?;
    let job = eventually("the worker Job to be recreated", ctx.left(), || async {
        match jobs.get_opt(&worker).await {
            Ok(Some(job)) if uid_of(&job.metadata) != old && job.metadata.deletion_timestamp.is_none() => {
                Poll::Done(job)
            }
            Ok(Some(_)) => Poll::Pending("the old Job is still there".to_string()),
            Ok(None) => Poll::Pending("no worker Job".to_string()),
            Err(error) => Poll::Pending(error.to_string()),
        }
    })
    .await?;
    let owner = job
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    ensure!(
        owner.is_some_and(|o| o.uid == test_uid && o.kind == "LocustTest"),
        "the new worker Job is not owned by the test: {owner:?}"
    );
    // events.k8s.io lists every event of the namespace, whichever API recorded it.
    let events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(ctx.cluster().client.clone(), &ctx.namespace);
    eventually("a ResourceDeleted event", ctx.left(), || async {
        match events.list(&Default::default()).await {
            Ok(list)
                if list
                    .items
                    .iter()
                    .any(|e| e.reason.as_deref() == Some("ResourceDeleted")) =>
            {
                Poll::Done(())
            }
            Ok(list) => Poll::Pending(format!("{} events, none ResourceDeleted", list.items.len())),
            Err(error) => Poll::Pending(error.to_string()),
        }
    })
    .await
}

async fn spec_drifted(ctx: &Ctx<'_>) -> Result<()> {
    let name = "drift";
    let (_, children) = running_test(ctx, name).await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.cluster().client.clone(), &ctx.namespace, &locust_tests("v2"));
    let replicas = children
        .worker_job
        .spec
        .as_ref()
        .and_then(|s| s.parallelism)
        .unwrap_or_default();
    let patch = json!({"spec": {"worker": {"replicas": replicas + 1}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .context("editing the test")?;
    ctx.wait_condition(name, c::SPEC_DRIFTED, "True", c::drift::SPEC_CHANGE_IGNORED)
        .await?;
    let jobs: Api<Job> = Api::namespaced(ctx.cluster().client.clone(), &ctx.namespace);
    let worker = jobs.get(&shared::naming::worker_name(name)).await?;
    ensure!(
        uid_of(&worker.metadata) == uid_of(&children.worker_job.metadata),
        "the worker Job was replaced"
    );
    let now = worker.spec.as_ref().and_then(|s| s.parallelism).unwrap_or_default();
    ensure!(
        now == replicas,
        "the worker Job changed from {replicas} to {now} workers"
    );
    Ok(())
}

/// Master resources the CRD accepts and the API server refuses in a Job.
pub const REFUSED_MASTER_RESOURCES: &str = r#"{"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}"#;

async fn child_refused(ctx: &Ctx<'_>) -> Result<()> {
    let name = "refused";
    let mut manifest = ctx.plan(name).manifest();
    manifest["spec"]["master"]["resources"] = serde_json::from_str(REFUSED_MASTER_RESOURCES)?;
    ctx.create_scripts().await?;
    ctx.cluster().create_ok(&ctx.namespace, &manifest).await?;
    let test = ctx.wait_phase(name, "Failed").await?;
    let ready = checks::condition(&test, c::READY).context("no Ready condition")?;
    ensure!(
        ready.status == "False" && ready.reason == c::ready::RESOURCES_FAILED,
        "Ready is {}/{}, not False/ResourcesFailed: {}",
        ready.status,
        ready.reason,
        ready.message
    );
    let master = shared::naming::master_name(name);
    for words in [format!("refused to create Job {master}"), "resources".to_string()] {
        ensure!(
            ready.message.contains(&words),
            "Ready's message lacks {words:?}: {}",
            ready.message
        );
    }
    Ok(())
}

async fn delete_removes_children(ctx: &Ctx<'_>) -> Result<()> {
    let name = "deleted";
    running_test(ctx, name).await?;
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.cluster().client.clone(), &ctx.namespace, &locust_tests("v2"));
    api.delete(name, &DeleteParams::default()).await?;
    eventually("the Service, Jobs and pods to be removed", ctx.left(), || async {
        match ctx.cluster().remaining_children(&ctx.namespace, name).await {
            Ok(left) if left.is_empty() => Poll::Done(()),
            Ok(left) => Poll::Pending(left.join(", ")),
            Err(error) => Poll::Pending(format!("{error:#}")),
        }
    })
    .await
}

async fn conversion(ctx: &Ctx<'_>) -> Result<()> {
    let cluster = ctx.cluster();
    // v1 in, v2 out (and built into children).
    let v1: Value = serde_yaml::from_str(docs::V1_BASE)?;
    cluster.create_ok(&ctx.namespace, &v1).await?;
    let name = v1["metadata"]["name"].as_str().unwrap_or_default();
    let as_v2 = cluster
        .test(&ctx.namespace, name, "v2")
        .await?
        .context("the v1 test is not readable")?;
    for (pointer, want) in [
        ("/spec/image", &v1["spec"]["image"]),
        ("/spec/master/command", &v1["spec"]["masterCommandSeed"]),
        ("/spec/worker/command", &v1["spec"]["workerCommandSeed"]),
        ("/spec/worker/replicas", &v1["spec"]["workerReplicas"]),
        ("/spec/testFiles/configMapRef", &v1["spec"]["configMap"]),
    ] {
        ensure!(
            as_v2.pointer(pointer) == Some(want),
            "v1 read as v2: {pointer} is {:?}, expected {want}",
            as_v2.pointer(pointer)
        );
    }
    children_match(ctx, name).await?;

    // v2 in, v1 out, and a v1 read-modify-write keeps what v1 cannot say.
    let mut v2 = checks::valid_test("round-trip");
    v2["spec"]["env"] = json!({"variables": [{"name": "ONLY_IN_V2", "value": "kept"}]});
    cluster.create_ok(&ctx.namespace, &v2).await?;
    let as_v1 = cluster
        .test(&ctx.namespace, "round-trip", "v1")
        .await?
        .context("the v2 test is not readable as v1")?;
    ensure!(
        as_v1.pointer("/spec/masterCommandSeed") == v2.pointer("/spec/master/command"),
        "v2 read as v1: masterCommandSeed is {:?}",
        as_v1.pointer("/spec/masterCommandSeed")
    );
    let mut edited = as_v1.clone();
    edited["spec"]["workerReplicas"] = json!(4);
    let v1_api: Api<DynamicObject> = Api::namespaced_with(cluster.client.clone(), &ctx.namespace, &locust_tests("v1"));
    v1_api
        .replace("round-trip", &PostParams::default(), &serde_json::from_value(edited)?)
        .await
        .context("writing the test back through v1")?;
    let back = cluster
        .test(&ctx.namespace, "round-trip", "v2")
        .await?
        .context("gone")?;
    ensure!(
        back.pointer("/spec/worker/replicas") == Some(&json!(4)),
        "the v1 edit was lost: {}",
        back["spec"]
    );
    ensure!(
        back.pointer("/spec/env/variables/0/value") == Some(&json!("kept")),
        "the v2-only field did not survive the v1 round trip: {}",
        back["spec"]
    );
    Ok(())
}

async fn rbac(ctx: &Ctx<'_>) -> Result<()> {
    let user = ctx
        .suite
        .operator_account
        .clone()
        .context("needs the operator from the chart")?;
    let account_namespace = user.split(':').nth(2).unwrap_or_default().to_string();
    let api: Api<SubjectAccessReview> = Api::all(ctx.cluster().client.clone());
    let mut problems = Vec::new();
    for (verb, group, resource, subresource, allowed) in checks::OPERATOR_ACCESS {
        let review: SubjectAccessReview = serde_json::from_value(json!({
            "spec": {
                "user": user,
                "groups": ["system:serviceaccounts", format!("system:serviceaccounts:{account_namespace}"), "system:authenticated"],
                "resourceAttributes": {
                    "namespace": ctx.namespace, "verb": verb, "group": group,
                    "resource": resource, "subresource": subresource,
                },
            }
        }))?;
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .context("SubjectAccessReview")?;
        let is = answer.status.map(|s| s.allowed).unwrap_or(false);
        if is != *allowed {
            let path = if subresource.is_empty() {
                resource.to_string()
            } else {
                format!("{resource}/{subresource}")
            };
            problems.push(format!("{verb} {group}/{path}: allowed={is}, expected {allowed}"));
        }
    }
    ensure!(problems.is_empty(), "the operator's RBAC:\n{}", problems.join("\n"));
    Ok(())
}

/// The commands of a recipe block: its non-comment lines, `<name>` filled with the test's name.
pub fn recipe_commands(block: &str) -> Vec<String> {
    block
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| line.replace("<name>", RECIPE_TEST))
        .collect()
}

/// Runs one documented command: a watch (`-w`) must print the test before it is stopped; `jq`
/// is needed only when the line uses it.
async fn recipe_line(ctx: &Ctx<'_>, line: &str) -> Result<String> {
    if line.contains("| jq")
        && run(Command::new("jq").arg("--version"), Duration::from_secs(10))
            .await
            .is_err()
    {
        return Ok(format!("(not run: jq is not installed) {line}"));
    }
    if line.split_whitespace().any(|word| word == "-w") {
        // A watch never ends: run it for a few seconds and look at what it printed.
        let script = format!("timeout 5 {line}; test $? -eq 124");
        let ran = ctx.shell(&script, Duration::from_secs(30)).await?;
        ensure!(
            ran.code == Some(0) && ran.stdout.contains(RECIPE_TEST),
            "`{line}` did not watch the test:\n{}",
            ran.output()
        );
        return Ok(ran.stdout);
    }
    let ran = ctx.shell(line, Duration::from_secs(60)).await?;
    ensure!(ran.code == Some(0), "`{line}`:\n{}", ran.output());
    Ok(ran.stdout)
}

async fn status_recipes(ctx: &Ctx<'_>) -> Result<()> {
    running_test(ctx, RECIPE_TEST).await?;
    ctx.wait_condition(RECIPE_TEST, c::READY, "True", c::ready::RESOURCES_CREATED)
        .await?;
    let mut seen = Vec::new();
    for line in recipe_commands(RECIPE_CHECKING_STATUS)
        .iter()
        .chain(&recipe_commands(RECIPE_KUBECTL_COMMANDS))
    {
        let out = recipe_line(ctx, line).await?;
        seen.push((line.clone(), out));
    }
    let output_of = |needle: &str| {
        seen.iter()
            .find(|(line, _)| line.contains(needle))
            .map(|(_, out)| out.as_str())
    };
    let ready = output_of("type==\"Ready\"").unwrap_or_default();
    ensure!(
        ready.trim() == "True",
        "the Ready recipe printed {ready:?}, expected True"
    );
    let progress = output_of("connectedWorkers").unwrap_or_default();
    let expected_workers = ctx.plan(RECIPE_TEST).workers;
    ensure!(
        progress.trim().ends_with(&format!("/{expected_workers}")),
        "the worker progress recipe printed {progress:?}, expected N/{expected_workers}"
    );
    ensure!(
        output_of("kubectl get lotest").is_some_and(|out| out.contains(RECIPE_TEST)),
        "`kubectl get lotest` does not list the test"
    );
    ensure!(
        ctx.cluster().test(&ctx.namespace, RECIPE_TEST, "v2").await?.is_none(),
        "`kubectl delete locusttest` left the test"
    );
    Ok(())
}

/// The `run` blocks of the GitHub Actions recipe: (step name, `if`, script).
pub fn workflow_steps(workflow: &str) -> Result<Vec<(String, Option<String>, String)>> {
    let parsed: Value = serde_yaml::from_str(workflow).context("the workflow is not YAML")?;
    let steps = parsed
        .pointer("/jobs/load-test/steps")
        .and_then(Value::as_array)
        .context("the workflow has no jobs.load-test.steps")?;
    Ok(steps
        .iter()
        .filter_map(|step| {
            let script = step.get("run")?.as_str()?.to_string();
            let name = step.get("name").and_then(Value::as_str).unwrap_or("step").to_string();
            let condition = step.get("if").and_then(Value::as_str).map(str::to_string);
            Some((name, condition, script))
        })
        .collect())
}

fn manifest_yaml(plan: &TestPlan) -> Result<String> {
    Ok(serde_yaml::to_string(&plan.manifest())?)
}

async fn kubectl_wait_recipe(ctx: &Ctx<'_>) -> Result<()> {
    ctx.create_scripts().await?;
    ctx.write("locusttest.yaml", &manifest_yaml(&ctx.plan(RECIPE_TEST))?)?;
    let mut failed: Option<String> = None;
    for (name, condition, script) in workflow_steps(RECIPE_GITHUB_ACTIONS)? {
        let runs = match condition.as_deref() {
            None => failed.is_none(),
            Some("failure()") => failed.is_some(),
            Some("always()") => true,
            Some(other) => bail!("the workflow uses `if: {other}`, which the suite does not know"),
        };
        if !runs {
            continue;
        }
        let ran = ctx.shell(&format!("set -e\n{script}"), ctx.left()).await?;
        if ran.code != Some(0) && failed.is_none() {
            failed = Some(format!("step \"{name}\":\n{}", ran.output()));
        }
    }
    if let Some(why) = failed {
        bail!("{why}");
    }
    ensure!(
        ctx.cluster().test(&ctx.namespace, RECIPE_TEST, "v2").await?.is_none(),
        "the Cleanup step left the test"
    );
    Ok(())
}

async fn shell_recipe(ctx: &Ctx<'_>, passing: bool) -> Result<()> {
    ctx.create_scripts().await?;
    let mut plan = ctx.plan(RECIPE_TEST);
    plan.unschedulable = !passing;
    ctx.write("locusttest.yaml", &manifest_yaml(&plan)?)?;
    let script = ctx.write("wait-for-test.sh", RECIPE_SHELL_SCRIPT)?;
    let ran = ctx.shell(&format!("bash {}", script.display()), ctx.left()).await?;
    let (code, says) = if passing {
        (0, "Test passed!")
    } else {
        (1, "Test failed!")
    };
    ensure!(
        ran.code == Some(code) && ran.stdout.contains(says),
        "the shell recipe should exit {code} saying {says:?}:\n{}",
        ran.output()
    );
    Ok(())
}

fn locustfile(ctx: &Ctx<'_>) -> Result<PathBuf> {
    ctx.write("locustfile.py", checks::LOCUSTFILE)
}

/// `kubectl locust run NAME --locustfile ... --wait` with the suite's image and autoquit.
fn plugin_run(ctx: &Ctx<'_>, plan: &TestPlan, file: &Path, timeout: Duration) -> Command {
    let mut command = ctx.plugin();
    command
        .args(["run", &plan.name, "--locustfile"])
        .arg(file)
        .args(["--host", &plan.host(), "--workers", &plan.workers.to_string()])
        .args(["--users", "4", "--spawn-rate", "4", "--run-time", &plan.run_time])
        .args(["--autoquit", &plan.autoquit.to_string(), "--image", &plan.image])
        .args(["--wait", "--timeout", &checks::seconds_flag(timeout)]);
    command
}

async fn plugin_run_locustfile(ctx: &Ctx<'_>, target: Target) -> Result<()> {
    let file = locustfile(ctx)?;
    let mut plan = ctx.plan("plugin-run");
    plan.target = target;
    let limit = ctx.left().saturating_sub(Duration::from_secs(20));
    let ran = run(&mut plugin_run(ctx, &plan, &file, limit), ctx.left()).await?;
    let expected = if target == Target::OwnMaster { 0 } else { 3 };
    ensure!(
        ran.code == Some(expected),
        "`kubectl locust run --wait` should exit {expected}:\n{}",
        ran.output()
    );
    if target == Target::OwnMaster {
        for args in [vec!["logs", "plugin-run"], vec!["logs", "plugin-run", "--workers"]] {
            let out = run(ctx.plugin().args(&args), Duration::from_secs(60))
                .await?
                .success("kubectl locust logs")?;
            ensure!(
                out.contains("Locust"),
                "`kubectl locust {}` printed no Locust output:\n{out}",
                args.join(" ")
            );
        }
        let pods = ctx.cluster().test_pods(&ctx.namespace, "plugin-run").await?;
        ensure!(
            pods.len() as i32 > plan.workers,
            "expected a master and {} workers, found {} pods",
            plan.workers,
            pods.len()
        );
    }
    Ok(())
}

async fn plugin_run_unschedulable(ctx: &Ctx<'_>) -> Result<()> {
    let mut plan = ctx.plan("plugin-unschedulable");
    plan.unschedulable = true;
    ctx.create_scripts().await?;
    let manifest = ctx.write("test.yaml", &manifest_yaml(&plan)?)?;
    let limit = ctx.left().saturating_sub(Duration::from_secs(20));
    let mut command = ctx.plugin();
    command
        .args(["run", "-f"])
        .arg(&manifest)
        .args(["--wait", "--timeout", &checks::seconds_flag(limit)]);
    let ran = run(&mut command, ctx.left()).await?;
    ensure!(
        ran.code == Some(3),
        "`kubectl locust run -f --wait` should exit 3 for a Failed test:\n{}",
        ran.output()
    );
    ensure!(
        ran.stdout.contains(c::health::SCHEDULING_ERROR) || ran.stderr.contains(c::health::SCHEDULING_ERROR),
        "the plugin does not name SchedulingError:\n{}",
        ran.output()
    );
    Ok(())
}

async fn plugin_run_timeout(ctx: &Ctx<'_>) -> Result<()> {
    let file = locustfile(ctx)?;
    let mut plan = ctx.plan("plugin-timeout");
    plan.run_time = "30m".to_string();
    let ran = run(
        &mut plugin_run(ctx, &plan, &file, Duration::from_secs(5)),
        Duration::from_secs(60),
    )
    .await?;
    ensure!(
        ran.code == Some(4),
        "`kubectl locust run --wait --timeout 5s` should exit 4:\n{}",
        ran.output()
    );
    let files = format!("{}-files", plan.name);
    let maps: Api<ConfigMap> = Api::namespaced(ctx.cluster().client.clone(), &ctx.namespace);
    ensure!(
        maps.get_opt(&files).await?.is_some(),
        "the plugin did not create ConfigMap {files}"
    );
    ensure!(
        ctx.cluster().test(&ctx.namespace, &plan.name, "v2").await?.is_some(),
        "the test must go on after the plugin stops waiting"
    );
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.cluster().client.clone(), &ctx.namespace, &locust_tests("v2"));
    api.delete(&plan.name, &DeleteParams::default()).await?;
    eventually(
        &format!("ConfigMap {files} to go with its test"),
        ctx.left(),
        || async {
            match maps.get_opt(&files).await {
                Ok(None) => Poll::Done(()),
                Ok(Some(_)) => Poll::Pending("still there".to_string()),
                Err(error) => Poll::Pending(error.to_string()),
            }
        },
    )
    .await
}

async fn plugin_status_json(ctx: &Ctx<'_>) -> Result<()> {
    let name = "status-json";
    running_test(ctx, name).await?;
    let out = run(
        ctx.plugin().args(["status", name, "-o", "json"]),
        Duration::from_secs(60),
    )
    .await?
    .success("kubectl locust status -o json")?;
    let shown: Value = serde_json::from_str(&out).with_context(|| format!("not JSON:\n{out}"))?;
    let held = ctx.cluster().test(&ctx.namespace, name, "v2").await?.context("gone")?;
    for pointer in ["/metadata/uid", "/spec", "/status/phase", "/status/expectedWorkers"] {
        ensure!(
            shown.pointer(pointer) == held.pointer(pointer),
            "`status -o json` {pointer}: {:?}, the cluster holds {:?}",
            shown.pointer(pointer),
            held.pointer(pointer)
        );
    }
    let listed = run(ctx.plugin().args(["status", "-o", "json"]), Duration::from_secs(60))
        .await?
        .success("kubectl locust status -o json (list)")?;
    let list: Value = serde_json::from_str(&listed).with_context(|| format!("not JSON:\n{listed}"))?;
    let names: Vec<&str> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.pointer("/metadata/name").and_then(Value::as_str))
        .collect();
    ensure!(
        names == [name],
        "the list shows {names:?}, the namespace holds [{name}]"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn recipes_become_commands_with_the_name_filled_in() {
        let commands = recipe_commands(RECIPE_KUBECTL_COMMANDS);
        assert_eq!(commands[0], "kubectl get locusttests");
        assert!(commands.contains(&"kubectl get lotest  # short name".to_string()));
        assert!(commands.contains(&"kubectl delete locusttest my-test".to_string()));
        assert!(commands.iter().all(|c| !c.contains('<')), "{commands:?}");
        assert_eq!(recipe_commands(RECIPE_CHECKING_STATUS).len(), 5);
    }

    #[test]
    fn the_workflow_runs_apply_wait_and_cleanup() {
        let steps = workflow_steps(RECIPE_GITHUB_ACTIONS).unwrap();
        let names: Vec<&str> = steps.iter().map(|(name, _, _)| name.as_str()).collect();
        assert_eq!(
            names,
            ["Apply test", "Wait for test completion", "Check result", "Cleanup"]
        );
        assert!(steps[1].2.contains("--for=jsonpath='{.status.phase}'=Succeeded"));
        assert_eq!(steps[2].1.as_deref(), Some("failure()"));
        assert_eq!(steps[3].1.as_deref(), Some("always()"));
    }

    /// The committed recipes are the API reference's blocks, verbatim (when the spec is beside the repo).
    #[test]
    fn recipes_match_the_api_reference() {
        let spec = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/spec/api-reference.md");
        let Ok(markdown) = std::fs::read_to_string(&spec) else {
            eprintln!(
                "{} is not beside this checkout: the committed recipes are used as they are",
                spec.display()
            );
            return;
        };
        let blocks = docs::fenced_blocks(&markdown);
        for recipe in [
            RECIPE_CHECKING_STATUS,
            RECIPE_KUBECTL_COMMANDS,
            RECIPE_SHELL_SCRIPT,
            RECIPE_GITHUB_ACTIONS,
        ] {
            let found = blocks.iter().any(|(_, _, text)| text.trim() == recipe.trim());
            assert!(found, "not a block of the API reference:\n{recipe}");
        }
    }
}
