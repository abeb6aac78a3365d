//! The thin shell to the cluster: reaching it, namespaces, objects as JSON, `kubectl` and other
//! commands with time limits, and bounded waiting.

use std::ffi::OsString;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Service};
use kube::Client;
use kube::api::{Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams};
use serde_json::Value;
use tokio::process::Command;

/// A cluster that answered.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    /// `--kubeconfig`, passed on to kubectl, the plugin, helm and a local operator.
    pub kubeconfig: Option<PathBuf>,
    /// `--context`, passed on likewise.
    pub context: Option<String>,
    /// The API server's URL, for messages.
    pub server: String,
    /// `major.minor` of the API server.
    pub version: String,
    /// This run's id, a label on every namespace it makes (so an interrupted run can remove its
    /// own and no one else's).
    pub run: String,
}

/// Names the suite in every request (an API server's audit log tells it apart).
const USER_AGENT: &str = concat!("locust-e2e/", env!("CARGO_PKG_VERSION"));

/// The label on the suite's namespaces that names the run.
pub const RUN_LABEL: &str = "locust.io/e2e-run";

/// Reaches the cluster of the kubeconfig (or the in-cluster service account), within `limit`.
/// `Err` says why not, in words for the skip message.
pub async fn connect(kubeconfig: Option<&Path>, context: Option<&str>, limit: Duration) -> Result<Cluster, String> {
    let mut config = connect::kubeconfig::kube_config(kubeconfig, context, USER_AGENT)
        .await
        .map_err(|error| error.to_string())?;
    config.connect_timeout = Some(limit);
    config.read_timeout = Some(limit);
    let server = config.cluster_url.to_string();
    let client = Client::try_from(config).map_err(|error| format!("{server}: {error}"))?;
    let version = tokio::time::timeout(limit, client.apiserver_version())
        .await
        .map_err(|_| format!("{server} did not answer within {}s", limit.as_secs()))?
        .map_err(|error| format!("{server} did not answer: {error}"))?;
    Ok(Cluster {
        client,
        kubeconfig: kubeconfig.map(Path::to_path_buf),
        context: context.map(str::to_string),
        server,
        version: format!("{}.{}", version.major, version.minor),
        run: random_suffix(),
    })
}

/// The result of a command that ran to its end.
#[derive(Debug, Clone)]
pub struct Ran {
    /// Exit code (`None`: killed by a signal).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Ran {
    /// Both streams, for failure messages.
    pub fn output(&self) -> String {
        format!(
            "exit {:?}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }

    /// `Ok(stdout)` when it exited 0.
    pub fn success(self, what: &str) -> Result<String> {
        if self.code == Some(0) {
            Ok(self.stdout)
        } else {
            bail!("{what} failed: {}", self.output())
        }
    }
}

/// Runs `command` to its end within `limit` (killed after it).
pub async fn run(command: &mut Command, limit: Duration) -> Result<Ran> {
    let shown = format!("{:?}", command.as_std());
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().with_context(|| format!("cannot start {shown}"))?;
    let output = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| anyhow!("{shown} did not finish within {}s", limit.as_secs()))??;
    Ok(Ran {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// What a probe of [`eventually`] saw.
pub enum Poll<T> {
    /// The wait is over.
    Done(T),
    /// Not yet; what was seen (shown if the wait times out).
    Pending(String),
    /// It can no longer happen (e.g. Failed when Succeeded was awaited).
    Fatal(anyhow::Error),
}

/// Polls `probe` every second until it is done, for at most `limit`.
pub async fn eventually<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Poll<T>>,
{
    let start = Instant::now();
    let mut last;
    loop {
        match tokio::time::timeout(Duration::from_secs(15), probe()).await {
            Ok(Poll::Done(value)) => return Ok(value),
            Ok(Poll::Fatal(error)) => return Err(error.context(format!("while waiting for {what}"))),
            Ok(Poll::Pending(seen)) => last = seen,
            Err(_) => last = "the probe took over 15s".to_string(),
        }
        if start.elapsed() >= limit {
            bail!(
                "timed out after {}s waiting for {what}; last seen: {last}",
                limit.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The LocustTest resource in a version (`v2` or `v1`).
pub fn locust_tests(version: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("locust.io", version, "LocustTest"),
        "locusttests",
    )
}

impl Cluster {
    /// `--kubeconfig PATH --context NAME`, as far as given (kubectl, the plugin and the operator
    /// take both).
    pub fn kube_args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        if let Some(path) = &self.kubeconfig {
            args.extend([OsString::from("--kubeconfig"), path.into()]);
        }
        if let Some(context) = &self.context {
            args.extend([OsString::from("--context"), context.into()]);
        }
        args
    }

    /// `kubectl` for this cluster (and `-n`).
    pub fn kubectl(&self, namespace: Option<&str>) -> Command {
        let mut command = Command::new("kubectl");
        command.args(self.kube_args());
        if let Some(namespace) = namespace {
            command.arg("-n").arg(namespace);
        }
        command
    }

    /// The API of `apiVersion`/`kind` of `object` in `namespace`.
    fn api_for(&self, namespace: &str, object: &Value) -> Result<Api<DynamicObject>> {
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let kind = object["kind"].as_str().unwrap_or_default();
        let resource = match (api_version, kind) {
            ("locust.io/v2", "LocustTest") => locust_tests("v2"),
            ("locust.io/v1", "LocustTest") => locust_tests("v1"),
            ("v1", "ConfigMap") => ApiResource::erase::<ConfigMap>(&()),
            _ => bail!("the suite does not create {api_version} {kind}"),
        };
        Ok(Api::namespaced_with(self.client.clone(), namespace, &resource))
    }

    /// Creates `object` in `namespace` (`dry_run`: the server's dry run); the server's answer, or
    /// its refusal (`kube::Error::Api`, with the server's message).
    pub async fn create(&self, namespace: &str, object: &Value, dry_run: bool) -> Result<Result<Value, kube::Error>> {
        let api = self.api_for(namespace, object)?;
        let typed: DynamicObject = serde_json::from_value(object.clone()).context("not a Kubernetes object")?;
        let params = PostParams {
            dry_run,
            ..PostParams::default()
        };
        Ok(match api.create(&params, &typed).await {
            Ok(created) => Ok(serde_json::to_value(created)?),
            Err(error) => Err(error),
        })
    }

    /// Creates `object`, with context on failure.
    pub async fn create_ok(&self, namespace: &str, object: &Value) -> Result<Value> {
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("?");
        let kind = object["kind"].as_str().unwrap_or("?");
        self.create(namespace, object, false)
            .await?
            .with_context(|| format!("creating {kind} {name}"))
    }

    /// The API server's message refusing `object` (a server-side dry run); an error if it accepts it.
    pub async fn refusal(&self, namespace: &str, object: &Value) -> Result<String> {
        match self.create(namespace, object, true).await? {
            Ok(_) => bail!("the API server accepted it"),
            Err(kube::Error::Api(status)) if status.code == 422 || status.code == 400 => Ok(status.message.clone()),
            Err(error) => Err(error).context("the API server answered with something other than a refusal"),
        }
    }

    /// A LocustTest as the given version shows it (`None`: not there).
    pub async fn test(&self, namespace: &str, name: &str, version: &str) -> Result<Option<Value>> {
        let api: Api<DynamicObject> = Api::namespaced_with(self.client.clone(), namespace, &locust_tests(version));
        let found = api
            .get_opt(name)
            .await
            .with_context(|| format!("reading LocustTest {name}"))?;
        found.map(serde_json::to_value).transpose().map_err(Into::into)
    }

    /// Waits until the LocustTest satisfies `done` (which returns `Err` when it never can).
    pub async fn wait_for_test(
        &self,
        namespace: &str,
        name: &str,
        what: &str,
        limit: Duration,
        done: impl Fn(&Value) -> Result<bool>,
    ) -> Result<Value> {
        eventually(what, limit, || async {
            match self.test(namespace, name, "v2").await {
                Ok(Some(test)) => match done(&test) {
                    Ok(true) => Poll::Done(test),
                    Ok(false) => Poll::Pending(crate::checks::describe_status(&test)),
                    Err(error) => Poll::Fatal(error.context(crate::checks::describe_status(&test))),
                },
                Ok(None) => Poll::Pending(format!("LocustTest {name} is not there")),
                Err(error) => Poll::Pending(format!("{error:#}")),
            }
        })
        .await
    }

    /// The test's master Service and Jobs, once all three exist.
    pub async fn wait_for_children(&self, namespace: &str, test: &str, limit: Duration) -> Result<Children> {
        let master = shared::naming::master_name(test);
        let worker = shared::naming::worker_name(test);
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        let services: Api<Service> = Api::namespaced(self.client.clone(), namespace);
        eventually(
            &format!("the operator to create Service {master} and Jobs {master}, {worker}"),
            limit,
            || async {
                let found = tokio::try_join!(services.get_opt(&master), jobs.get_opt(&master), jobs.get_opt(&worker));
                match found {
                    Ok((Some(service), Some(master_job), Some(worker_job))) => Poll::Done(Children {
                        service,
                        master_job,
                        worker_job,
                    }),
                    Ok((service, master_job, worker_job)) => Poll::Pending(format!(
                        "Service {}, master Job {}, worker Job {}",
                        present(&service),
                        present(&master_job),
                        present(&worker_job)
                    )),
                    Err(error) => Poll::Pending(error.to_string()),
                }
            },
        )
        .await
    }

    /// Names of what is left of a test's children: Service, Jobs and pods.
    pub async fn remaining_children(&self, namespace: &str, test: &str) -> Result<Vec<String>> {
        let mut left = Vec::new();
        let services: Api<Service> = Api::namespaced(self.client.clone(), namespace);
        if services.get_opt(&shared::naming::master_name(test)).await?.is_some() {
            left.push(format!("Service {}", shared::naming::master_name(test)));
        }
        let jobs: Api<Job> = Api::namespaced(self.client.clone(), namespace);
        for name in [shared::naming::master_name(test), shared::naming::worker_name(test)] {
            if jobs.get_opt(&name).await?.is_some() {
                left.push(format!("Job {name}"));
            }
        }
        for pod in self.test_pods(namespace, test).await? {
            left.push(format!("Pod {}", pod.metadata.name.unwrap_or_default()));
        }
        Ok(left)
    }

    /// The pods of a test (by the operator's labels).
    pub async fn test_pods(&self, namespace: &str, test: &str) -> Result<Vec<Pod>> {
        let pods: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        let selector = shared::naming::test_pods_selector(test);
        Ok(pods.list(&ListParams::default().labels(&selector)).await?.items)
    }

    /// Creates a namespace for one scenario.
    pub async fn create_namespace(&self, name: &str) -> Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let object: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"app.kubernetes.io/created-by": "locust-e2e", RUN_LABEL: self.run}}
        }))?;
        namespaces
            .create(&PostParams::default(), &object)
            .await
            .with_context(|| format!("creating namespace {name}"))?;
        Ok(())
    }

    /// Deletes a namespace (and with it everything in it); does not wait for it to go.
    pub async fn delete_namespace(&self, name: &str) -> Result<()> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        match namespaces.delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
            Err(error) => Err(error).with_context(|| format!("deleting namespace {name}")),
        }
    }

    /// Deletes every namespace this run made (after an interrupt); how many.
    pub async fn delete_run_namespaces(&self) -> Result<usize> {
        let namespaces: Api<Namespace> = Api::all(self.client.clone());
        let selector = format!("{RUN_LABEL}={}", self.run);
        let list = namespaces.list(&ListParams::default().labels(&selector)).await?;
        for namespace in &list.items {
            self.delete_namespace(namespace.metadata.name.as_deref().unwrap_or_default())
                .await?;
        }
        Ok(list.items.len())
    }

    /// A kubeconfig for this cluster whose current namespace is `namespace`, written to `path`, so
    /// the API reference's commands (which name no namespace) can run verbatim.
    pub async fn write_namespaced_kubeconfig(&self, namespace: &str, path: &Path) -> Result<()> {
        let flat = run(
            self.kubectl(None)
                .args(["config", "view", "--minify", "--flatten", "--raw"]),
            Duration::from_secs(20),
        )
        .await?
        .success("kubectl config view")?;
        std::fs::write(path, flat).with_context(|| format!("writing {}", path.display()))?;
        if let Some(context) = &self.context {
            run(
                Command::new("kubectl")
                    .env("KUBECONFIG", path)
                    .args(["config", "use-context", context]),
                Duration::from_secs(20),
            )
            .await?
            .success("kubectl config use-context")?;
        }
        run(
            Command::new("kubectl").env("KUBECONFIG", path).args([
                "config",
                "set-context",
                "--current",
                "--namespace",
                namespace,
            ]),
            Duration::from_secs(20),
        )
        .await?
        .success("kubectl config set-context")?;
        Ok(())
    }
}

fn present<T>(object: &Option<T>) -> &'static str {
    if object.is_some() { "present" } else { "missing" }
}

/// A test's three children as the API server holds them.
pub struct Children {
    pub service: Service,
    pub master_job: Job,
    pub worker_job: Job,
}

/// A short random suffix for names (`[a-z0-9]{5}`), from the clock and the process id.
pub fn random_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    let mut seed = nanos ^ (u128::from(std::process::id()) << 64);
    let alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..5)
        .map(|_| {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            alphabet[((seed >> 64) % 36) as usize] as char
        })
        .collect()
}
