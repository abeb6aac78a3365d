//! What `run --local` starts, decided purely: the master and worker containers the operator would
//! build (via `shared::build`), turned into local processes — argv localized to 127.0.0.1, mounted
//! ConfigMaps replaced by local directories, plain env kept, and everything that only exists in a
//! cluster (Secrets, ConfigMap env, other volumes) listed by name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::{ConfigMap, Container, EnvVar, PodSpec, Volume};
use shared::api::v2::LocustTest;
use shared::command::{self, LocalEndpoints};
use shared::config::OperatorConfig;
use shared::naming::Role;

use crate::error::PluginError;

/// Files of a ConfigMap as they appear when mounted: file name → content.
pub type ConfigMapFiles = BTreeMap<String, Vec<u8>>;

/// One local process: its arguments after `locust`, and its environment on top of the caller's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessSpec {
    /// `master`, `worker-1`, ...
    pub name: String,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
}

/// Everything a local run needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPlan {
    pub master: ProcessSpec,
    pub workers: Vec<ProcessSpec>,
    /// Files to write before starting: path (under the work directory) → content.
    pub files: BTreeMap<PathBuf, Vec<u8>>,
    /// Worker connections the master waits for.
    pub expected_workers: i32,
    /// What the test references that a laptop does not have, one line each, by name.
    pub unavailable: Vec<String>,
}

/// The files of each ConfigMap the test mounts, by ConfigMap name.
pub fn files_of(config_maps: &[ConfigMap]) -> BTreeMap<String, ConfigMapFiles> {
    config_maps
        .iter()
        .filter_map(|config_map| {
            let name = config_map.metadata.name.clone()?;
            let mut files: ConfigMapFiles = BTreeMap::new();
            for (key, value) in config_map.data.iter().flatten() {
                files.insert(key.clone(), value.clone().into_bytes());
            }
            for (key, value) in config_map.binary_data.iter().flatten() {
                files.insert(key.clone(), value.0.clone());
            }
            Some((name, files))
        })
        .collect()
}

/// Plans the local processes of `test`. `config_maps` holds the files of the ConfigMaps that are
/// available locally; `work_dir` is where mounted volumes become directories.
pub fn plan(
    test: &LocustTest,
    config_maps: &BTreeMap<String, ConfigMapFiles>,
    endpoints: LocalEndpoints,
    work_dir: &Path,
) -> Result<LocalPlan, PluginError> {
    // The operator's defaults, not this machine's environment: the same containers as in a cluster.
    let config = OperatorConfig::from_lookup(|_| None)
        .map_err(|error| PluginError::Other(format!("cannot build the operator's defaults: {error}")))?;
    let built = |role| shared::build::job(test, &config, role).map_err(|error| PluginError::Usage(format!("{error}")));
    let master_job = built(Role::Master)?;
    let worker_job = built(Role::Worker)?;

    let mut unavailable = Vec::new();
    let mut files = BTreeMap::new();
    let master = localize_container(
        "master",
        pod_spec(&master_job.spec.and_then(|s| s.template.spec))?,
        Role::Master,
        endpoints,
        config_maps,
        work_dir,
        &mut files,
        &mut unavailable,
    )?;
    // Workers share one pod template; what they miss is the same, so it is listed once.
    let mut worker_unavailable = Vec::new();
    let worker_spec = worker_job.spec.and_then(|s| s.template.spec);
    let worker_pod = pod_spec(&worker_spec)?;
    let worker = localize_container(
        "worker",
        worker_pod,
        Role::Worker,
        endpoints,
        config_maps,
        work_dir,
        &mut files,
        &mut worker_unavailable,
    )?;
    for line in worker_unavailable {
        if !unavailable.contains(&line) {
            unavailable.push(line);
        }
    }
    let workers = (1..=test.spec.worker.replicas.max(0))
        .map(|index| ProcessSpec {
            name: format!("worker-{index}"),
            ..worker.clone()
        })
        .collect();
    Ok(LocalPlan {
        master,
        workers,
        files,
        expected_workers: command::expected_worker_connections(&test.spec),
        unavailable,
    })
}

fn pod_spec(spec: &Option<PodSpec>) -> Result<(&Container, &[Volume]), PluginError> {
    let spec = spec
        .as_ref()
        .ok_or_else(|| PluginError::Other("the built Job has no pod spec".into()))?;
    let container = spec
        .containers
        .first()
        .ok_or_else(|| PluginError::Other("the built Job has no container".into()))?;
    Ok((container, spec.volumes.as_deref().unwrap_or_default()))
}

#[allow(clippy::too_many_arguments)]
fn localize_container(
    name: &str,
    (container, volumes): (&Container, &[Volume]),
    role: Role,
    endpoints: LocalEndpoints,
    config_maps: &BTreeMap<String, ConfigMapFiles>,
    work_dir: &Path,
    files: &mut BTreeMap<PathBuf, Vec<u8>>,
    unavailable: &mut Vec<String>,
) -> Result<ProcessSpec, PluginError> {
    // Mount path → local path, longest first so nested mounts win.
    let mut mounts: Vec<(String, PathBuf)> = Vec::new();
    for mount in container.volume_mounts.iter().flatten() {
        let volume = volumes.iter().find(|volume| volume.name == mount.name);
        let config_map = volume
            .and_then(|volume| volume.config_map.as_ref())
            .map(|c| c.name.clone());
        match config_map
            .as_ref()
            .and_then(|name| config_maps.get(name).map(|files| (name, files)))
        {
            Some((config_map_name, content)) => {
                let local_dir = work_dir.join("volumes").join(&mount.name);
                for (file, bytes) in content {
                    files.insert(local_dir.join(file), bytes.clone());
                }
                let local = match mount.sub_path.as_deref().filter(|sub| !sub.is_empty()) {
                    Some(sub_path) => {
                        if !content.contains_key(sub_path) {
                            unavailable.push(format!(
                                "file {sub_path} of ConfigMap {config_map_name} (mounted at {}): not among the local files",
                                mount.mount_path
                            ));
                        }
                        local_dir.join(sub_path)
                    }
                    None => local_dir,
                };
                mounts.push((mount.mount_path.clone(), local));
            }
            None => unavailable.push(describe_missing_volume(volume, &mount.mount_path)),
        }
    }
    mounts.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    let rewrite = |value: &str| rewrite_paths(value, &mounts);

    let args: Vec<String> = container.args.iter().flatten().map(|arg| rewrite(arg)).collect();
    let args = command::localize(&args, role, endpoints);

    let mut env = Vec::new();
    for variable in container.env.iter().flatten() {
        match local_value(variable) {
            Some(value) => env.push((variable.name.clone(), rewrite(&value))),
            None => unavailable.push(describe_missing_env(variable)),
        }
    }
    for source in container.env_from.iter().flatten() {
        if let Some(config_map) = &source.config_map_ref {
            unavailable.push(format!(
                "environment from ConfigMap {} (envFrom): cluster-only, not set locally",
                config_map.name
            ));
        }
        if let Some(secret) = &source.secret_ref {
            unavailable.push(format!(
                "environment from Secret {} (envFrom): cluster-only, not set locally",
                secret.name
            ));
        }
    }
    Ok(ProcessSpec {
        name: name.to_string(),
        args,
        env,
    })
}

fn local_value(variable: &EnvVar) -> Option<String> {
    match (&variable.value, &variable.value_from) {
        (_, Some(_)) => None,
        (Some(value), None) => Some(value.clone()),
        (None, None) => Some(String::new()),
    }
}

fn describe_missing_env(variable: &EnvVar) -> String {
    let from = variable.value_from.as_ref();
    let source = from
        .and_then(|f| f.secret_key_ref.as_ref())
        .map(|s| format!("Secret {} key {}", s.name, s.key))
        .or_else(|| {
            from.and_then(|f| f.config_map_key_ref.as_ref())
                .map(|c| format!("ConfigMap {} key {}", c.name, c.key))
        })
        .unwrap_or_else(|| "a field of the pod".to_string());
    format!(
        "environment variable {} from {source}: cluster-only, not set locally",
        variable.name
    )
}

fn describe_missing_volume(volume: Option<&Volume>, mount_path: &str) -> String {
    let Some(volume) = volume else {
        return format!("a volume mounted at {mount_path}: not defined");
    };
    if let Some(config_map) = &volume.config_map {
        return format!(
            "ConfigMap {} (mounted at {mount_path}): give its files with --configmap {}=PATH",
            config_map.name, config_map.name
        );
    }
    if let Some(secret) = &volume.secret {
        return format!(
            "Secret {} (mounted at {mount_path}): cluster-only, not mounted locally",
            secret.secret_name.as_deref().unwrap_or(&volume.name)
        );
    }
    format!(
        "volume {} (mounted at {mount_path}): cluster-only, not mounted locally",
        volume.name
    )
}

/// Replaces a mount path at the start of `value`, or after `=` (`--locustfile=/lotest/src/t.py`),
/// or at the start of a `:`-separated entry (PYTHONPATH), by its local directory.
fn rewrite_paths(value: &str, mounts: &[(String, PathBuf)]) -> String {
    let rewrite_one = |part: &str| -> String {
        for (mount_path, local) in mounts {
            if let Some(rest) = part.strip_prefix(mount_path.as_str())
                && (rest.is_empty() || rest.starts_with('/'))
            {
                return format!("{}{rest}", local.display());
            }
        }
        part.to_string()
    };
    let rewrite_list = |list: &str| list.split(':').map(rewrite_one).collect::<Vec<_>>().join(":");
    match value.split_once('=') {
        Some((flag, path)) if flag.starts_with("--") => format!("{flag}={}", rewrite_list(path)),
        _ => rewrite_list(value),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn test(yaml: &str) -> LocustTest {
        shared::validation::parse_and_validate(yaml).unwrap()
    }

    fn endpoints() -> LocalEndpoints {
        LocalEndpoints {
            master_port: 15557,
            web_port: 18089,
        }
    }

    const DEMO: &str = r#"
apiVersion: locust.io/v2
kind: LocustTest
metadata: { name: demo, namespace: load }
spec:
  image: locustio/locust:2.20.0
  master: { command: "--locustfile /lotest/src/test.py --host http://127.0.0.1:8000 --users 4 --run-time 5s" }
  worker: { command: "--locustfile /lotest/src/test.py", replicas: 2 }
  testFiles: { configMapRef: demo-files, libConfigMapRef: demo-lib }
  env:
    variables: [{ name: TARGET, value: staging }]
    secretRefs: [{ name: api-keys }]
"#;

    fn files() -> BTreeMap<String, ConfigMapFiles> {
        BTreeMap::from([
            (
                "demo-files".to_string(),
                BTreeMap::from([("test.py".to_string(), b"x".to_vec())]),
            ),
            (
                "demo-lib".to_string(),
                BTreeMap::from([("helpers.py".to_string(), b"y".to_vec())]),
            ),
        ])
    }

    #[test]
    fn master_and_workers_run_the_operators_argv_on_loopback_with_local_files() {
        let plan = plan(&test(DEMO), &files(), endpoints(), Path::new("/work")).unwrap();
        let args = plan.master.args.join(" ");
        assert!(args.starts_with("--locustfile /work/volumes/"), "{args}");
        assert!(args.contains("/test.py --host http://127.0.0.1:8000"), "{args}");
        assert!(args.contains("--master"), "{args}");
        assert!(
            args.contains("--master-bind-host=127.0.0.1 --master-bind-port=15557"),
            "{args}"
        );
        assert!(args.contains("--web-host=127.0.0.1 --web-port=18089"), "{args}");
        assert_eq!(plan.workers.len(), 2);
        let worker = plan.workers[1].args.join(" ");
        assert!(worker.contains("--worker"), "{worker}");
        assert!(
            worker.contains("--master-host=127.0.0.1 --master-port=15557"),
            "{worker}"
        );
        assert_eq!(plan.workers[1].name, "worker-2");
        assert_eq!(plan.expected_workers, 2);
        // Each file lands under the directory its mount became.
        let written: Vec<String> = plan.files.keys().map(|p| p.display().to_string()).collect();
        assert!(written.iter().any(|p| p.ends_with("/test.py")), "{written:?}");
        assert!(written.iter().any(|p| p.ends_with("/helpers.py")), "{written:?}");
        let locustfile = plan.master.args[1].clone();
        assert!(
            plan.files.contains_key(Path::new(&locustfile)),
            "{locustfile} is not written"
        );
    }

    #[test]
    fn plain_env_and_the_lib_python_path_are_kept_and_cluster_only_sources_are_named() {
        let plan = plan(&test(DEMO), &files(), endpoints(), Path::new("/work")).unwrap();
        let env: BTreeMap<_, _> = plan.master.env.iter().cloned().collect();
        assert_eq!(env.get("TARGET").map(String::as_str), Some("staging"));
        let python_path = env.get("PYTHONPATH").expect("PYTHONPATH for the lib ConfigMap");
        assert!(python_path.starts_with("/work/volumes/"), "{python_path}");
        assert!(
            plan.files
                .keys()
                .any(|p| p.starts_with(python_path) && p.ends_with("helpers.py")),
            "lib files under {python_path}"
        );
        assert_eq!(
            plan.unavailable,
            vec!["environment from Secret api-keys (envFrom): cluster-only, not set locally"]
        );
    }

    #[test]
    fn a_configmap_without_local_files_is_reported_with_the_flag_that_gives_them() {
        let plan = plan(&test(DEMO), &BTreeMap::new(), endpoints(), Path::new("/work")).unwrap();
        assert!(
            plan.unavailable
                .iter()
                .any(|line| line.contains("ConfigMap demo-files") && line.contains("--configmap demo-files=PATH")),
            "{:?}",
            plan.unavailable
        );
    }

    #[test]
    fn paths_are_rewritten_in_flag_values_and_path_lists_only_at_a_boundary() {
        let mounts = vec![("/lotest/src".to_string(), PathBuf::from("/tmp/w/src"))];
        assert_eq!(
            rewrite_paths("--locustfile=/lotest/src/a.py", &mounts),
            "--locustfile=/tmp/w/src/a.py"
        );
        assert_eq!(rewrite_paths("/lotest/src", &mounts), "/tmp/w/src");
        assert_eq!(
            rewrite_paths("/opt/x:/lotest/src/lib", &mounts),
            "/opt/x:/tmp/w/src/lib"
        );
        assert_eq!(rewrite_paths("/lotest/srcs/a.py", &mounts), "/lotest/srcs/a.py");
        assert_eq!(rewrite_paths("--host=http://x", &mounts), "--host=http://x");
    }
}
