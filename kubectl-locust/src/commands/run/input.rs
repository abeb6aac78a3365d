//! Reads `run`'s inputs as its command line names them: `--locustfile`, `-f FILE` or `-f -`.
//!
//! On top of [`crate::submission`], which builds and checks the objects, this picks the namespace
//! as kubectl would (a manifest's own, unless `-n` contradicts it; for `--dry-run`, the kubeconfig
//! file's without the network) and converts v1 manifests.

use std::io::Read;
use std::path::Path;

use kube::config::Kubeconfig;
use shared::api::conversion::{API_VERSION_V1, v1_to_v2};
use shared::api::v1;

use crate::cli::{GlobalArgs, RunArgs};
use crate::error::PluginError;
use crate::submission::{self, Submission};

/// A submission and what the user should know about how it was read.
pub struct Prepared {
    pub submission: Submission,
    /// e.g. that a v1 manifest was converted.
    pub notes: Vec<String>,
}

/// Reads and checks what `args` asks to submit. `namespace` is `-n` or the context's;
/// `explicit_namespace` says whether it came from `-n` (which a manifest may not contradict).
pub fn prepare(args: &RunArgs, namespace: &str, explicit_namespace: bool) -> Result<Prepared, PluginError> {
    match &args.filename {
        Some(path) => {
            let (text, source) = read_manifest(path)?;
            from_manifest_text(&text, &source, args.name.as_deref(), namespace, explicit_namespace)
        }
        None => Ok(Prepared {
            submission: submission::from_locustfile(args, namespace)?,
            notes: Vec::new(),
        }),
    }
}

/// The manifest's text and how to name it in messages; `-` is standard input.
pub fn read_manifest(path: &Path) -> Result<(String, String), PluginError> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|error| PluginError::Other(format!("cannot read the manifest from standard input: {error}")))?;
        return Ok((text, "standard input".to_string()));
    }
    let text = std::fs::read_to_string(path).map_err(|error| PluginError::File {
        path: path.to_path_buf(),
        detail: error.to_string(),
    })?;
    Ok((text, path.display().to_string()))
}

/// A manifest as submitted: a v1 document converted to v2 first, its `metadata.namespace`
/// honoured unless `-n` says otherwise (then, as kubectl does, it is an error).
pub fn from_manifest_text(
    text: &str,
    source: &str,
    name_override: Option<&str>,
    namespace: &str,
    explicit_namespace: bool,
) -> Result<Prepared, PluginError> {
    let document: Option<serde_yaml::Value> = serde_yaml::from_str(text).ok();
    let own_namespace = document
        .as_ref()
        .and_then(|d| d.get("metadata"))
        .and_then(|m| m.get("namespace"))
        .and_then(serde_yaml::Value::as_str)
        .filter(|ns| !ns.is_empty())
        .map(str::to_string);
    let namespace = match own_namespace {
        Some(own) if explicit_namespace && own != namespace => {
            return Err(PluginError::Usage(format!(
                "the namespace of {source} (\"{own}\") does not match the namespace \"{namespace}\" given with -n; \
                 drop -n or metadata.namespace"
            )));
        }
        Some(own) => own,
        None => namespace.to_string(),
    };
    let mut notes = Vec::new();
    let converted = document.as_ref().and_then(upgrade_v1);
    let text = match &converted {
        Some(v2_text) => {
            notes.push(format!(
                "{source} is a locust.io/v1 LocustTest (deprecated); submitting it as locust.io/v2 \
                 (`kubectl locust run -f {source} --dry-run` shows the v2 form to keep)"
            ));
            v2_text.as_str()
        }
        None => text,
    };
    let submission = submission::from_manifest(text, source, name_override, &namespace)?;
    Ok(Prepared { submission, notes })
}

/// The v2 form of a v1 document that reads cleanly as v1; otherwise `None`, and the manifest's
/// check reports what is wrong with it.
fn upgrade_v1(document: &serde_yaml::Value) -> Option<String> {
    if document.get("apiVersion").and_then(serde_yaml::Value::as_str) != Some(API_VERSION_V1) {
        return None;
    }
    let old: v1::LocustTest = serde_yaml::from_value(document.clone()).ok()?;
    serde_json::to_string(&v1_to_v2(&old)).ok()
}

/// The namespace of a `--dry-run`: `-n`, else the kubeconfig context's (read from the file only,
/// no network), else `default`.
pub fn dry_run_namespace(global: &GlobalArgs) -> String {
    if let Some(namespace) = &global.namespace {
        return namespace.clone();
    }
    let kubeconfig = match &global.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok(),
        None => Kubeconfig::read().ok(),
    };
    kubeconfig
        .and_then(|config| context_namespace(&config, global.context.as_deref()))
        .unwrap_or_else(|| "default".to_string())
}

/// The namespace of `context` (else the current context) in `config`, if it sets one.
pub fn context_namespace(config: &Kubeconfig, context: Option<&str>) -> Option<String> {
    let wanted = context.or(config.current_context.as_deref())?;
    config
        .contexts
        .iter()
        .find(|named| named.name == wanted)
        .and_then(|named| named.context.as_ref())
        .and_then(|context| context.namespace.clone())
        .filter(|namespace| !namespace.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const V2: &str = "apiVersion: locust.io/v2\nkind: LocustTest\nmetadata: {name: demo}\nspec:\n  image: locustio/locust:2.20.0\n  master: {command: '--locustfile /lotest/src/t.py'}\n  worker: {command: '--locustfile /lotest/src/t.py', replicas: 2}\n";

    #[test]
    fn a_manifest_keeps_its_own_namespace_unless_n_contradicts_it() {
        let with_namespace = V2.replace("{name: demo}", "{name: demo, namespace: perf}");
        let prepared = from_manifest_text(&with_namespace, "t.yaml", None, "default", false).unwrap();
        assert_eq!(prepared.submission.test.metadata.namespace.as_deref(), Some("perf"));
        let same = from_manifest_text(&with_namespace, "t.yaml", None, "perf", true).unwrap();
        assert_eq!(same.submission.test.metadata.namespace.as_deref(), Some("perf"));
        let error = from_manifest_text(&with_namespace, "t.yaml", None, "load", true)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("\"perf\"") && error.contains("\"load\""), "{error}");
        let without = from_manifest_text(V2, "t.yaml", None, "load", true).unwrap();
        assert_eq!(without.submission.test.metadata.namespace.as_deref(), Some("load"));
        assert!(without.notes.is_empty());
    }

    #[test]
    fn a_v1_manifest_is_submitted_as_v2_with_a_note() {
        let old = "apiVersion: locust.io/v1\nkind: LocustTest\nmetadata: {name: legacy}\nspec:\n  image: locustio/locust:2.20.0\n  masterCommandSeed: '--locustfile /lotest/src/t.py'\n  workerCommandSeed: '--locustfile /lotest/src/t.py'\n  workerReplicas: 3\n  configMap: legacy-scripts\n";
        let prepared = from_manifest_text(old, "old.yaml", None, "load", false).unwrap();
        let test = &prepared.submission.test;
        assert_eq!(test.spec.worker.replicas, 3);
        assert_eq!(test.spec.master.command, "--locustfile /lotest/src/t.py");
        let files = test.spec.test_files.as_ref().unwrap();
        assert_eq!(files.config_map_ref.as_deref(), Some("legacy-scripts"));
        assert!(prepared.notes[0].contains("locust.io/v1"), "{:?}", prepared.notes);

        // A v1 document that does not even read as v1 is reported, not guessed at.
        let broken = old.replace("workerReplicas: 3", "workerReplicas: three");
        let error = from_manifest_text(&broken, "old.yaml", None, "load", false)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("workerReplicas"), "{error}");
    }

    #[test]
    fn the_dry_run_namespace_comes_from_the_chosen_context() {
        let config: Kubeconfig = serde_yaml::from_str(
            "apiVersion: v1\nkind: Config\ncurrent-context: a\ncontexts:\n- name: a\n  context: {cluster: c, user: u, namespace: team-a}\n- name: b\n  context: {cluster: c, user: u}\n",
        )
        .unwrap();
        assert_eq!(context_namespace(&config, None).as_deref(), Some("team-a"));
        assert_eq!(context_namespace(&config, Some("b")), None);
        assert_eq!(context_namespace(&config, Some("missing")), None);
    }
}
