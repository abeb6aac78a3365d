//! Before the scenarios: the binaries, the CRD and the operator (a local process or the chart);
//! after them, the operator goes again.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, ListParams, Patch, PatchParams};
use shared::config::OperatorConfig;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};

use crate::cli::{OperatorMode, Options, split_image};
use crate::cluster::{Cluster, Poll, eventually, run};

/// The workspace root (the suite reads the chart and the CRD from it).
pub fn workspace_root() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
}

/// The generated CRD, as committed.
pub fn crd_file() -> PathBuf {
    workspace_root().join("charts/locust-operator/files/locusttests.locust.io.yaml")
}

pub const CRD_NAME: &str = "locusttests.locust.io";
pub const HELM_RELEASE: &str = "locust-e2e";

/// The binaries under test.
pub struct Binaries {
    pub operator: PathBuf,
    pub plugin: PathBuf,
}

/// Builds the operator and the plugin with cargo (unless `--no-build`) next to this binary.
pub async fn binaries(options: &Options) -> Result<Binaries> {
    let here = std::env::current_exe().context("where is this binary?")?;
    let dir = here.parent().context("this binary has no directory")?.to_path_buf();
    if !options.no_build && (options.plugin.is_none() || options.operator_binary.is_none()) {
        eprintln!("building the operator and the plugin (cargo build -p operator -p kubectl-locust)");
        let mut cargo = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
        cargo
            .current_dir(workspace_root())
            .args(["build", "-p", "operator", "-p", "kubectl-locust"]);
        if dir.ends_with("release") {
            cargo.arg("--release");
        }
        let ran = run(&mut cargo, Duration::from_secs(1800)).await?;
        if ran.code != Some(0) {
            bail!("cargo build failed:\n{}", ran.stderr);
        }
    }
    let pick = |given: &Option<PathBuf>, name: &str| given.clone().unwrap_or_else(|| dir.join(name));
    let binaries = Binaries {
        operator: pick(&options.operator_binary, "operator"),
        plugin: pick(&options.plugin, "kubectl-locust"),
    };
    for path in [&binaries.plugin, &binaries.operator] {
        if !path.is_file() {
            bail!(
                "{} is not there (build it, or pass --plugin / --operator-binary)",
                path.display()
            );
        }
    }
    Ok(binaries)
}

/// Server-side applies the committed CRD (local mode; the chart installs its own).
pub async fn apply_crd(cluster: &Cluster) -> Result<()> {
    let text = std::fs::read_to_string(crd_file()).context("reading the committed CRD")?;
    let crd: CustomResourceDefinition = serde_yaml::from_str(&text).context("the committed CRD is not a CRD")?;
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    api.patch(CRD_NAME, &PatchParams::apply("locust-e2e").force(), &Patch::Apply(&crd))
        .await
        .context("applying the CRD (needs permission to manage CustomResourceDefinitions)")?;
    Ok(())
}

/// Waits until the CRD is Established (its API is served).
pub async fn wait_for_crd(cluster: &Cluster, limit: Duration) -> Result<CustomResourceDefinition> {
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client.clone());
    eventually("the CRD to be Established", limit, || async {
        match api.get_opt(CRD_NAME).await {
            Ok(Some(crd)) => {
                let established = crd
                    .status
                    .as_ref()
                    .and_then(|status| status.conditions.as_ref())
                    .is_some_and(|conditions| {
                        conditions
                            .iter()
                            .any(|c| c.type_ == "Established" && c.status == "True")
                    });
                if established {
                    Poll::Done(crd)
                } else {
                    Poll::Pending("not Established".to_string())
                }
            }
            Ok(None) => Poll::Pending("not there".to_string()),
            Err(error) => Poll::Pending(error.to_string()),
        }
    })
    .await
}

/// Waits until the API server can convert v1 (the operator adds its CA to the CRD after it
/// starts): a server-side dry run of the API reference's v1 example goes through the webhook.
async fn wait_for_conversion(cluster: &Cluster, limit: Duration) -> Result<()> {
    let v1: serde_json::Value = serde_yaml::from_str(crate::docs::V1_BASE)?;
    eventually("the conversion webhook to answer (a v1 dry run)", limit, || async {
        match cluster.create("default", &v1, true).await {
            Ok(Ok(_)) => Poll::Done(()),
            Ok(Err(error)) => Poll::Pending(error.to_string()),
            Err(error) => Poll::Fatal(error),
        }
    })
    .await
}

/// The running operator.
pub enum Operator {
    Local { child: Child, log: PathBuf },
    Helm { namespace: String },
}

/// A free port on 127.0.0.1.
fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The status line of `GET path` on 127.0.0.1:port, if it answers.
async fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1)?.parse().ok()
}

/// Starts the operator the way `--operator` says, with the suite's fast settings.
pub async fn start_operator(
    options: &Options,
    cluster: &Cluster,
    binaries: &Binaries,
    artifacts: &Path,
) -> Result<Operator> {
    match options.operator {
        OperatorMode::Local => start_local(options, cluster, binaries, artifacts).await,
        OperatorMode::Helm => install_chart(options, cluster).await,
    }
}

async fn start_local(options: &Options, cluster: &Cluster, binaries: &Binaries, artifacts: &Path) -> Result<Operator> {
    apply_crd(cluster).await?;
    wait_for_crd(cluster, options.scaled(Duration::from_secs(60))).await?;
    let port = free_port()?;
    let log = artifacts.join("operator.log");
    let out = File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut command = Command::new(&binaries.operator);
    command
        .arg("--pod-health-grace-period")
        .arg(humantime::format_duration(options.grace_period).to_string())
        .arg("--health-probe-bind-address")
        .arg(format!("127.0.0.1:{port}"))
        // Out of the cluster, masters are reached through the API server's service proxy.
        .args(["--stats-access", "api-proxy"])
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        .kill_on_drop(true);
    command.args(cluster.kube_args());
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", binaries.operator.display()))?;
    // A loop rather than `eventually`: the child must be polled for an early exit.
    let limit = options.scaled(Duration::from_secs(60));
    let started = std::time::Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            bail!("the operator exited ({status}); see {}", log.display());
        }
        if http_status(port, "/readyz").await == Some(200) {
            break;
        }
        if started.elapsed() >= limit {
            let _ = child.kill().await;
            bail!(
                "the local operator was not ready within {}s; see {}",
                limit.as_secs(),
                log.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    eprintln!("operator: local process (log: {})", log.display());
    Ok(Operator::Local { child, log })
}

async fn install_chart(options: &Options, cluster: &Cluster) -> Result<Operator> {
    let image = options.image.as_deref().context("--operator helm needs --image")?;
    let (repository, tag) = split_image(image).context("--image must be REPOSITORY:TAG")?;
    let mut helm = helm_for(cluster);
    helm.args(["upgrade", "--install", HELM_RELEASE])
        .arg(workspace_root().join("charts/locust-operator"))
        .args([
            "--namespace",
            &options.operator_namespace,
            "--create-namespace",
            "--wait",
        ])
        .arg("--timeout")
        .arg(format!("{}s", options.scaled(Duration::from_secs(300)).as_secs()))
        .arg("--set")
        .arg(format!("image.repository={repository}"))
        .arg("--set")
        .arg(format!("image.tag={tag}"))
        .arg("--set")
        .arg(format!("image.pullPolicy={}", options.image_pull_policy))
        .arg("--set")
        .arg(format!(
            "podHealthGracePeriod={}",
            humantime::format_duration(options.grace_period)
        ));
    for value in &options.helm_set {
        helm.arg("--set").arg(value);
    }
    let ran = run(&mut helm, options.scaled(Duration::from_secs(330)))
        .await
        .context("running helm (is it installed? https://helm.sh/docs/intro/install/)")?;
    ran.success("helm upgrade --install")?;
    wait_for_crd(cluster, options.scaled(Duration::from_secs(60))).await?;
    wait_for_conversion(cluster, options.scaled(Duration::from_secs(120))).await?;
    eprintln!(
        "operator: chart release {HELM_RELEASE} in namespace {}",
        options.operator_namespace
    );
    Ok(Operator::Helm {
        namespace: options.operator_namespace.clone(),
    })
}

/// The settings the chart gave its operator (the Deployment's plain env values), so the expected
/// children are built as that operator builds them.
pub async fn chart_operator_config(cluster: &Cluster, namespace: &str) -> Result<OperatorConfig> {
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), namespace);
    let selector = format!("app.kubernetes.io/instance={HELM_RELEASE}");
    let list = deployments.list(&ListParams::default().labels(&selector)).await?;
    let deployment = list
        .items
        .into_iter()
        .next()
        .context("the chart's operator Deployment is not there")?;
    let env: BTreeMap<String, String> = deployment
        .spec
        .and_then(|spec| spec.template.spec)
        .and_then(|pod| pod.containers.into_iter().next())
        .and_then(|container| container.env)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|var| Some((var.name, var.value?)))
        .collect();
    OperatorConfig::from_lookup(|key| env.get(key).cloned()).context("the chart's operator settings")
}

/// `helm` for this cluster (helm names the context flag differently).
fn helm_for(cluster: &Cluster) -> Command {
    let mut helm = Command::new("helm");
    if let Some(path) = &cluster.kubeconfig {
        helm.arg("--kubeconfig").arg(path);
    }
    if let Some(context) = &cluster.context {
        helm.arg("--kube-context").arg(context);
    }
    helm
}

impl Operator {
    /// The local operator is still running (a scenario that kills it shows up here).
    pub fn check_alive(&mut self) -> Result<()> {
        if let Self::Local { child, log } = self
            && let Ok(Some(status)) = child.try_wait()
        {
            bail!("the local operator exited ({status}); see {}", log.display());
        }
        Ok(())
    }

    /// The operator's ServiceAccount (chart mode), as RBAC names it.
    pub fn service_account(&self) -> Option<String> {
        match self {
            Self::Helm { namespace } => Some(format!(
                "system:serviceaccount:{namespace}:{HELM_RELEASE}-locust-operator"
            )),
            Self::Local { .. } => None,
        }
    }

    /// Stops the local process, or uninstalls the release unless `keep`.
    pub async fn stop(self, cluster: &Cluster, keep: bool) -> Result<()> {
        match self {
            Self::Local { mut child, .. } => {
                let _ = child.kill().await;
                Ok(())
            }
            Self::Helm { .. } if keep => Ok(()),
            Self::Helm { namespace } => {
                let mut helm = helm_for(cluster);
                helm.args(["uninstall", HELM_RELEASE, "--namespace", &namespace, "--wait"]);
                run(&mut helm, Duration::from_secs(180))
                    .await?
                    .success("helm uninstall")
                    .map(|_| ())
            }
        }
    }
}
