//! The objects a test is submitted as: its LocustTest and the ConfigMaps holding its files.
//!
//! Built from a locustfile and flags, or from a manifest's text, and checked with the CRD's own
//! rules; nothing here talks to a cluster.

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, EnvVar};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use shared::api::v2::{AutoquitConfig, EnvConfig, LocustTest, TestFilesConfig};
use shared::constants::{DEFAULT_LIB_MOUNT_PATH, DEFAULT_SRC_MOUNT_PATH};
use shared::validation::{self, FieldError};

use crate::cli::RunArgs;
use crate::error::PluginError;

/// The API server refuses a ConfigMap whose data exceeds 1 MiB.
pub const CONFIG_MAP_LIMIT: usize = 1024 * 1024;

/// Marks what the plugin created, for people reading the cluster.
pub const CREATED_BY: (&str, &str) = ("locust.io/created-by", "kubectl-locust");

/// A test and the ConfigMaps its files live in.
#[derive(Clone, Debug, PartialEq)]
pub struct Submission {
    pub test: LocustTest,
    pub config_maps: Vec<ConfigMap>,
}

/// `run NAME --locustfile F [--lib DIR] ...`: the locustfile (and lib files) in ConfigMaps
/// `NAME-files` (`NAME-lib`), mounted where the operator mounts test files.
pub fn from_locustfile(args: &RunArgs, namespace: &str) -> Result<Submission, PluginError> {
    let name = args.name.clone().ok_or_else(|| {
        PluginError::Usage("a test name is needed with --locustfile: kubectl locust run NAME --locustfile FILE".into())
    })?;
    let locustfile = args
        .locustfile
        .as_deref()
        .ok_or_else(|| PluginError::Usage("give --locustfile FILE or -f MANIFEST".into()))?;
    let file_name = locustfile
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .ok_or_else(|| file_error(locustfile, "not a file name"))?;
    let content = std::fs::read(locustfile).map_err(|error| file_error(locustfile, &error.to_string()))?;
    let files_name = format!("{name}-files");
    let mut config_maps = vec![config_map(
        &files_name,
        namespace,
        BTreeMap::from([(file_name.clone(), content)]),
    )?];
    let lib_name = match &args.lib {
        Some(dir) => {
            let lib = format!("{name}-lib");
            config_maps.push(config_map(&lib, namespace, read_flat_dir(dir)?)?);
            Some(lib)
        }
        None => None,
    };

    let script = format!("{DEFAULT_SRC_MOUNT_PATH}/{file_name}");
    let mut master = vec!["--locustfile".to_string(), script.clone()];
    let optional = [
        ("--host", args.host.clone()),
        ("--users", args.users.map(|u| u.to_string())),
        ("--spawn-rate", args.spawn_rate.map(|r| r.to_string())),
        ("--run-time", args.run_time.clone()),
    ];
    for (flag, value) in optional {
        if let Some(value) = value {
            master.push(flag.to_string());
            master.push(value);
        }
    }
    let variables: Vec<EnvVar> = args
        .env
        .iter()
        .map(|(key, value)| EnvVar {
            name: key.clone(),
            value: Some(value.clone()),
            value_from: None,
        })
        .collect();
    let manifest = serde_json::json!({
        "apiVersion": "locust.io/v2",
        "kind": "LocustTest",
        "metadata": { "name": name, "namespace": namespace, "annotations": { CREATED_BY.0: CREATED_BY.1 } },
        "spec": {
            "image": args.image,
            "master": { "command": shell_words::join(&master) },
            "worker": { "command": shell_words::join(["--locustfile", script.as_str()]), "replicas": args.workers },
        }
    });
    let mut test: LocustTest = serde_json::from_value(manifest)
        .map_err(|error| PluginError::Other(format!("cannot build the LocustTest: {error}")))?;
    test.spec.test_files = Some(TestFilesConfig {
        config_map_ref: Some(files_name),
        lib_config_map_ref: lib_name,
        src_mount_path: DEFAULT_SRC_MOUNT_PATH.into(),
        lib_mount_path: DEFAULT_LIB_MOUNT_PATH.into(),
    });
    if !variables.is_empty() {
        test.spec.env = Some(EnvConfig {
            config_map_refs: None,
            secret_refs: None,
            variables: Some(variables),
            secret_mounts: None,
        });
    }
    if let Some(timeout) = args.autoquit {
        test.spec.master.autoquit = Some(AutoquitConfig { enabled: true, timeout });
    }
    test.spec.master.extra_args = Some(args.master_args.clone()).filter(|a| !a.is_empty());
    test.spec.worker.extra_args = Some(args.worker_args.clone()).filter(|a| !a.is_empty());
    checked(test, config_maps, &format!("test {name}"))
}

/// `run -f FILE`: a LocustTest manifest (YAML or JSON), NAME overriding metadata.name.
pub fn from_manifest(
    text: &str,
    source_name: &str,
    name_override: Option<&str>,
    namespace: &str,
) -> Result<Submission, PluginError> {
    let mut test = validation::parse_locust_test(text).map_err(|errors| invalid(source_name, errors))?;
    if let Some(name) = name_override {
        test.metadata.name = Some(name.to_string());
    }
    if test.metadata.namespace.is_none() {
        test.metadata.namespace = Some(namespace.to_string());
    }
    checked(test, Vec::new(), source_name)
}

fn checked(test: LocustTest, config_maps: Vec<ConfigMap>, source_name: &str) -> Result<Submission, PluginError> {
    validation::validate(&test).map_err(|errors| invalid(source_name, errors))?;
    Ok(Submission { test, config_maps })
}

fn invalid(source_name: &str, errors: Vec<FieldError>) -> PluginError {
    PluginError::Invalid {
        source_name: source_name.to_string(),
        errors,
    }
}

fn file_error(path: &Path, detail: &str) -> PluginError {
    PluginError::File {
        path: path.to_path_buf(),
        detail: detail.to_string(),
    }
}

/// The files of a directory, as ConfigMap keys (which cannot hold subdirectories), or one file.
pub fn read_flat_dir(path: &Path) -> Result<BTreeMap<String, Vec<u8>>, PluginError> {
    let mut files = BTreeMap::new();
    if path.is_file() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        files.insert(name, std::fs::read(path).map_err(|e| file_error(path, &e.to_string()))?);
        return Ok(files);
    }
    let entries = std::fs::read_dir(path).map_err(|error| file_error(path, &error.to_string()))?;
    for entry in entries {
        let entry = entry.map_err(|error| file_error(path, &error.to_string()))?;
        let file = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') || name == "__pycache__" {
            continue;
        }
        if file.is_dir() {
            return Err(file_error(
                &file,
                "is a subdirectory: ConfigMap keys are flat file names; put its modules at the top level \
                 or bake the package into a custom image",
            ));
        }
        files.insert(
            name,
            std::fs::read(&file).map_err(|e| file_error(&file, &e.to_string()))?,
        );
    }
    Ok(files)
}

/// A ConfigMap holding `files` (text in `data`, anything else in `binaryData`), within the size
/// limit the API server enforces.
pub fn config_map(name: &str, namespace: &str, files: BTreeMap<String, Vec<u8>>) -> Result<ConfigMap, PluginError> {
    let total: usize = files.iter().map(|(key, value)| key.len() + value.len()).sum();
    if total > CONFIG_MAP_LIMIT {
        let mut sizes: Vec<(usize, &String)> = files.iter().map(|(k, v)| (v.len(), k)).collect();
        sizes.sort_by(|a, b| b.cmp(a));
        let largest: Vec<String> = sizes
            .iter()
            .take(3)
            .map(|(size, name)| format!("{name} ({size} bytes)"))
            .collect();
        return Err(PluginError::Usage(format!(
            "ConfigMap {name} would hold {total} bytes, over the 1 MiB ({CONFIG_MAP_LIMIT} bytes) the API server accepts; \
             largest files: {}. Trim the files, or bake them into a custom image (spec.image) instead",
            largest.join(", ")
        )));
    }
    let mut data = BTreeMap::new();
    let mut binary = BTreeMap::new();
    for (key, value) in files {
        match String::from_utf8(value) {
            Ok(text) => {
                data.insert(key, text);
            }
            Err(error) => {
                binary.insert(key, ByteString(error.into_bytes()));
            }
        }
    }
    Ok(ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.to_string()),
            namespace: Some(namespace.to_string()),
            annotations: Some(BTreeMap::from([(CREATED_BY.0.to_string(), CREATED_BY.1.to_string())])),
            ..ObjectMeta::default()
        },
        data: Some(data).filter(|d| !d.is_empty()),
        binary_data: Some(binary).filter(|b| !b.is_empty()),
        ..ConfigMap::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use clap::Parser;

    fn args(line: &str, dir: &Path) -> RunArgs {
        let line = line.replace("DIR", &dir.display().to_string());
        let cli = crate::Cli::try_parse_from(shell_words::split(&line).unwrap()).unwrap();
        match cli.command {
            crate::cli::Command::Run(args) => *args,
            other => panic!("not run: {other:?}"),
        }
    }

    #[test]
    fn a_locustfile_becomes_a_configmap_and_a_valid_test_with_exactly_the_given_flags() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("test.py"), "from locust import HttpUser\n").unwrap();
        let run = args(
            "kubectl-locust run demo --locustfile DIR/test.py --workers 3 --users 50 --host https://x.test -e A=1 \
             --master-arg=--csv=out --autoquit 5",
            dir.path(),
        );
        let submission = from_locustfile(&run, "load").unwrap();
        let spec = &submission.test.spec;
        assert_eq!(
            spec.master.command,
            "--locustfile /lotest/src/test.py --host https://x.test --users 50"
        );
        assert_eq!(spec.worker.command, "--locustfile /lotest/src/test.py");
        assert_eq!(spec.worker.replicas, 3);
        assert_eq!(spec.master.extra_args, Some(vec!["--csv=out".to_string()]));
        assert_eq!(spec.master.autoquit.as_ref().map(|a| a.timeout), Some(5));
        assert_eq!(
            spec.test_files.as_ref().unwrap().config_map_ref.as_deref(),
            Some("demo-files")
        );
        let env = spec.env.as_ref().unwrap().variables.as_ref().unwrap();
        assert_eq!((env[0].name.as_str(), env[0].value.as_deref()), ("A", Some("1")));
        assert_eq!(submission.config_maps.len(), 1);
        let data = submission.config_maps[0].data.as_ref().unwrap();
        assert_eq!(data["test.py"], "from locust import HttpUser\n");
        assert_eq!(submission.config_maps[0].metadata.namespace.as_deref(), Some("load"));
    }

    #[test]
    fn lib_dirs_must_be_flat_and_configmaps_must_fit_in_1_mib() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("test.py"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("lib/pkg")).unwrap();
        let run = args(
            "kubectl-locust run demo --locustfile DIR/test.py --lib DIR/lib",
            dir.path(),
        );
        let error = from_locustfile(&run, "ns").unwrap_err().to_string();
        assert!(error.contains("pkg") && error.contains("subdirectory"), "{error}");

        let big = BTreeMap::from([("big.csv".to_string(), vec![b'x'; CONFIG_MAP_LIMIT])]);
        let error = config_map("demo-files", "ns", big).unwrap_err().to_string();
        assert!(error.contains("1 MiB") && error.contains("big.csv"), "{error}");
    }

    #[test]
    fn manifests_are_checked_with_the_crds_rules_and_the_name_can_be_overridden() {
        let manifest = "apiVersion: locust.io/v2\nkind: LocustTest\nmetadata: {name: demo}\nspec:\n  image: locustio/locust:2.20.0\n  master: {command: '--locustfile /lotest/src/t.py'}\n  worker: {command: '--locustfile /lotest/src/t.py', replicas: 2}\n";
        let submission = from_manifest(manifest, "t.yaml", Some("other"), "load").unwrap();
        assert_eq!(submission.test.metadata.name.as_deref(), Some("other"));
        assert_eq!(submission.test.metadata.namespace.as_deref(), Some("load"));
        let too_long = "x".repeat(60);
        let error = from_manifest(manifest, "t.yaml", Some(&too_long), "load")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("t.yaml is not a valid LocustTest") && error.contains("metadata.name"),
            "{error}"
        );
        let wrong_shape = manifest.to_string()
            + "  observability:\n    openTelemetry:\n      enabled: true\n      endpoint: otel:4317\n      extraEnvVars: [{name: A, value: b}]\n";
        let error = from_manifest(&wrong_shape, "t.yaml", None, "load")
            .unwrap_err()
            .to_string();
        assert!(error.contains("extraEnvVars must be a map"), "{error}");
    }
}
