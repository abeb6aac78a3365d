//! The plugin's errors: each says what went wrong and what to do next.

use std::path::PathBuf;

use shared::validation::FieldError;

use crate::exit;

/// How to install the operator (and with it the CRD), for errors that find it missing.
pub const INSTALL_HINT: &str = "install the locust operator (it brings the CRD): \
     helm install locust-operator charts/locust-operator --namespace locust-system --create-namespace";

#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No kubeconfig could be loaded, or the named context does not exist.
    #[error(
        "cannot load a kubeconfig: {detail}\n  next: check --kubeconfig/$KUBECONFIG and --context (`kubectl config get-contexts`); to try a test without a cluster, use `kubectl locust run --local`"
    )]
    Kubeconfig { detail: String },

    /// The API server did not answer.
    #[error(
        "cannot reach the cluster at {server}: {detail}\n  next: check `kubectl cluster-info` or pick another context with --context; to try a test without a cluster, use `kubectl locust run --local`"
    )]
    Unreachable { server: String, detail: String },

    /// The LocustTest CRD is not installed.
    #[error(
        "the LocustTest resource (locusttests.locust.io/v2) is not installed in this cluster\n  next: {INSTALL_HINT}"
    )]
    CrdMissing,

    /// A named test does not exist.
    #[error("{}", not_found_message(.name, .namespace, .close))]
    NotFound {
        name: String,
        namespace: String,
        /// Existing tests with similar names.
        close: Vec<String>,
    },

    /// RBAC said no.
    #[error(
        "permission denied: you may not {verb} {resource} in {scope}\n  next: ask a cluster admin for a Role granting \"{verb}\" on {resource}; `kubectl auth can-i {verb} {resource}{can_i_scope}` checks it"
    )]
    Forbidden {
        verb: String,
        /// e.g. `locusttests.locust.io` or `pods`.
        resource: String,
        /// e.g. `namespace "load"` or `all namespaces`.
        scope: String,
        /// ` -n load` or ` -A`.
        can_i_scope: String,
    },

    /// The test, as written, breaks the CRD's rules.
    #[error("{}", invalid_message(.source_name, .errors))]
    Invalid {
        source_name: String,
        errors: Vec<FieldError>,
    },

    /// A local file could not be read or is unusable.
    #[error("{}: {detail}", .path.display())]
    File { path: PathBuf, detail: String },

    /// The command line asks for something that cannot work (beyond what clap checks).
    #[error("{0}")]
    Usage(String),

    /// Any other API error, with the server's own message.
    #[error("the API server refused to {action}: {message}")]
    Api { action: String, message: String },

    /// Something else, already worded for the user.
    #[error("{0}")]
    Other(String),
}

impl PluginError {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Usage(_) => exit::USAGE,
            _ => exit::ERROR,
        }
    }
}

fn not_found_message(name: &str, namespace: &str, close: &[String]) -> String {
    let mut message = format!("LocustTest \"{name}\" not found in namespace \"{namespace}\"");
    if close.is_empty() {
        message.push_str(&format!(
            "\n  next: list the tests with `kubectl locust status -n {namespace}` (or -A for every namespace)"
        ));
    } else {
        message.push_str(&format!("\n  did you mean: {}?", close.join(", ")));
    }
    message
}

fn invalid_message(source_name: &str, errors: &[FieldError]) -> String {
    let mut message = format!("{source_name} is not a valid LocustTest:");
    for error in errors {
        message.push_str(&format!("\n  - {error}"));
    }
    message.push_str("\n  next: fix the fields above; the API reference lists every field and its form");
    message
}

/// Names among `candidates` close to `wanted` (typos, a missing suffix), closest first, at most 3.
pub fn close_names(wanted: &str, candidates: &[String]) -> Vec<String> {
    let mut scored: Vec<(f64, &String)> = candidates
        .iter()
        .filter(|candidate| candidate.as_str() != wanted)
        .map(|candidate| {
            let similarity = strsim::jaro_winkler(wanted, candidate);
            let contains = candidate.contains(wanted) || wanted.contains(candidate.as_str());
            (if contains { similarity.max(0.9) } else { similarity }, candidate)
        })
        .filter(|(score, _)| *score >= 0.8)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, name)| name.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_names_find_typos_and_prefixes_but_not_strangers() {
        let names: Vec<String> = ["checkout", "checkout-v2", "login", "search"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(close_names("chekout", &names), vec!["checkout", "checkout-v2"]);
        assert_eq!(close_names("logn", &names), vec!["login"]);
        assert!(close_names("payments", &names).is_empty());
    }

    #[test]
    fn not_found_without_close_names_says_how_to_list() {
        let error = PluginError::NotFound {
            name: "x".into(),
            namespace: "load".into(),
            close: vec![],
        };
        assert!(error.to_string().contains("kubectl locust status -n load"), "{error}");
    }
}
