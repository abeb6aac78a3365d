//! Helpers for tests across the workspace's deliverables: [`helm`] renders the chart with the real
//! `helm` binary and hands back the objects as JSON values; [`release`] runs `scripts/release.sh`.
//! (The in-memory Kubernetes API server
//! the operator's and the plugin's tests drive through a real `kube::Client` is the `fake-api`
//! crate, `tests/fake-api`.)

pub mod helm {
    //! `helm template` / `helm install --dry-run=client` of `charts/locust-operator`.

    use std::fmt;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use serde_json::Value;

    /// The workspace root (the parent of this crate).
    pub fn workspace_root() -> PathBuf {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        crate_dir.parent().unwrap_or(crate_dir).to_path_buf()
    }

    /// The chart's directory.
    pub fn chart_dir() -> PathBuf {
        workspace_root().join("charts").join("locust-operator")
    }

    /// Every `ci/*-values.yaml` scenario of the chart, sorted by name.
    pub fn ci_values_files() -> Result<Vec<PathBuf>, Error> {
        let dir = chart_dir().join("ci");
        let entries = std::fs::read_dir(&dir).map_err(|error| Error::Io(dir.clone(), error.to_string()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.file_name()
                    .and_then(|name| name.to_str())
                    .is_some_and(|name| name.ends_with("-values.yaml"))
            })
            .collect();
        files.sort();
        Ok(files)
    }

    /// Why rendering failed.
    #[derive(Debug)]
    pub enum Error {
        /// No helm binary was found.
        HelmMissing,
        /// helm ran and refused (schema violation, template `fail`, ...): its stderr.
        Refused(String),
        /// A file or the helm process could not be used.
        Io(PathBuf, String),
        /// helm's output is not the YAML it should be.
        BadOutput(String),
    }

    impl fmt::Display for Error {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self {
                Self::HelmMissing => write!(
                    f,
                    "helm not found: run `bash scripts/test.sh` once (it installs helm into target/tools/bin), \
                     put helm on PATH, or set HELM=/path/to/helm"
                ),
                Self::Refused(stderr) => write!(f, "helm refused: {stderr}"),
                Self::Io(path, error) => write!(f, "{}: {error}", path.display()),
                Self::BadOutput(error) => write!(f, "unexpected helm output: {error}"),
            }
        }
    }

    impl std::error::Error for Error {}

    /// The helm binary: `$HELM`, else `helm` on PATH, else the copy `scripts/test.sh` installs
    /// into `target/tools/bin`.
    pub fn helm_binary() -> Result<PathBuf, Error> {
        if let Some(path) = std::env::var_os("HELM").filter(|path| !path.is_empty()) {
            return Ok(PathBuf::from(path));
        }
        let on_path = std::env::var_os("PATH")
            .map(|paths| {
                std::env::split_paths(&paths)
                    .map(|dir| dir.join("helm"))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let installed = workspace_root().join("target").join("tools").join("bin").join("helm");
        on_path
            .into_iter()
            .chain(std::iter::once(installed))
            .find(|candidate| candidate.is_file())
            .ok_or(Error::HelmMissing)
    }

    /// One rendering of the chart: which values, which release.
    #[derive(Clone, Debug)]
    pub struct Render {
        /// Release name.
        pub release: String,
        /// Release namespace.
        pub namespace: String,
        /// `-f` files, in order.
        pub values_files: Vec<PathBuf>,
        /// `--set` assignments, in order.
        pub set: Vec<String>,
    }

    impl Render {
        /// The chart's defaults for release `release` in `namespace`.
        pub fn new(release: &str, namespace: &str) -> Self {
            Self {
                release: release.to_string(),
                namespace: namespace.to_string(),
                values_files: Vec::new(),
                set: Vec::new(),
            }
        }

        /// Adds a values file.
        pub fn values(mut self, file: impl Into<PathBuf>) -> Self {
            self.values_files.push(file.into());
            self
        }

        /// Adds a `--set KEY=VALUE`.
        pub fn set(mut self, assignment: &str) -> Self {
            self.set.push(assignment.to_string());
            self
        }

        fn args(&self) -> Vec<String> {
            let mut args = vec![
                self.release.clone(),
                chart_dir().display().to_string(),
                "--namespace".to_string(),
                self.namespace.clone(),
            ];
            for file in &self.values_files {
                args.push("--values".to_string());
                args.push(file.display().to_string());
            }
            for assignment in &self.set {
                args.push("--set".to_string());
                args.push(assignment.clone());
            }
            args
        }

        /// `helm template`: every rendered object, in output order.
        pub fn objects(&self) -> Result<Vec<Value>, Error> {
            let mut args = vec!["template".to_string()];
            args.extend(self.args());
            parse_documents(&run_helm(&args)?)
        }

        /// `helm install --dry-run=client`: the post-install notes users see.
        pub fn notes(&self) -> Result<String, Error> {
            let mut args = vec!["install".to_string(), "--dry-run=client".to_string()];
            args.extend(self.args());
            let output = run_helm(&args)?;
            let notes = output
                .split_once("NOTES:\n")
                .map(|(_, notes)| notes.to_string())
                .ok_or_else(|| Error::BadOutput("no NOTES section".to_string()))?;
            Ok(notes)
        }
    }

    fn run_helm(args: &[String]) -> Result<String, Error> {
        let helm = helm_binary()?;
        let output = Command::new(&helm)
            .args(args)
            .output()
            .map_err(|error| Error::Io(helm.clone(), error.to_string()))?;
        if !output.status.success() {
            return Err(Error::Refused(String::from_utf8_lossy(&output.stderr).into_owned()));
        }
        String::from_utf8(output.stdout).map_err(|error| Error::BadOutput(error.to_string()))
    }

    /// Splits a multi-document YAML stream into JSON values, skipping empty documents.
    pub fn parse_documents(yaml: &str) -> Result<Vec<Value>, Error> {
        let mut objects = Vec::new();
        for document in serde_yaml::Deserializer::from_str(yaml) {
            let value: Value = serde::Deserialize::deserialize(document)
                .map_err(|error: serde_yaml::Error| Error::BadOutput(error.to_string()))?;
            if !value.is_null() {
                objects.push(value);
            }
        }
        Ok(objects)
    }
}

pub mod release {
    //! `scripts/release.sh` and the processes the tests start.

    use std::path::{Path, PathBuf};
    use std::process::{Command, Output};

    use super::helm::{helm_binary, workspace_root};

    /// Runs `scripts/release.sh ARGS...` of `root` (the real workspace, or a copy of its parts),
    /// with the helm the chart tests use on PATH (for `finish`, which packages the chart).
    pub fn release_script(root: &Path, args: &[&str]) -> Output {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut paths: Vec<PathBuf> = std::env::split_paths(&path).collect();
        if let Ok(helm) = helm_binary()
            && let Some(dir) = helm.parent()
        {
            paths.insert(0, dir.to_path_buf());
        }
        paths.push(workspace_root().join("target").join("tools").join("bin"));
        let mut command = Command::new("bash");
        command.arg(root.join("scripts").join("release.sh")).args(args);
        if let Ok(joined) = std::env::join_paths(paths) {
            command.env("PATH", joined);
        }
        command
            .output()
            .unwrap_or_else(|error| panic!("bash scripts/release.sh: {error}"))
    }

    /// Fails the test with `what`, the exit status and both outputs unless `output` succeeded.
    pub fn assert_success(output: &Output, what: &str) {
        assert!(
            output.status.success(),
            "{what} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
