//! The cluster configuration, resolved as kubectl resolves it: `--kubeconfig` (else $KUBECONFIG,
//! else ~/.kube/config) and `--context`; with neither, the kubeconfig if there is one, else the
//! in-cluster service account.

use std::path::{Path, PathBuf};

use kube::Config;
use kube::config::{KubeConfigOptions, Kubeconfig};

/// Why no configuration could be made.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    /// The kubeconfig file named could not be read or parsed.
    #[error("cannot read kubeconfig {}: {error}", path.display())]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// Why.
        error: String,
    },
    /// The context (or the current one) is not usable.
    #[error("context {}: {error}", context.as_deref().unwrap_or("(current)"))]
    Context {
        /// The context asked for, if any.
        context: Option<String>,
        /// Why.
        error: String,
    },
    /// Neither a kubeconfig nor an in-cluster service account is there.
    #[error("no cluster is configured ({0})")]
    Nothing(String),
}

/// The configuration for `kubeconfig` and `context` (see the module docs), every request naming
/// the caller as `user_agent` (`name/version`, as client-go does, so audit logs tell callers apart).
pub async fn kube_config(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
    user_agent: &'static str,
) -> Result<Config, KubeconfigError> {
    let mut config = if kubeconfig.is_none() && context.is_none() {
        Config::infer()
            .await
            .map_err(|error| KubeconfigError::Nothing(error.to_string()))?
    } else {
        let options = KubeConfigOptions {
            context: context.map(str::to_string),
            ..KubeConfigOptions::default()
        };
        let file = match kubeconfig {
            Some(path) => Kubeconfig::read_from(path).map_err(|error| KubeconfigError::Unreadable {
                path: path.to_path_buf(),
                error: error.to_string(),
            })?,
            None => Kubeconfig::read().map_err(|error| KubeconfigError::Nothing(error.to_string()))?,
        };
        Config::from_custom_kubeconfig(file, &options)
            .await
            .map_err(|error| KubeconfigError::Context {
                context: context.map(str::to_string),
                error: error.to_string(),
            })?
    };
    config
        .headers
        .push((http::header::USER_AGENT, http::HeaderValue::from_static(user_agent)));
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    fn kubeconfig(dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(
            &path,
            "apiVersion: v1\nkind: Config\ncurrent-context: a\n\
             clusters: [{name: a, cluster: {server: 'https://127.0.0.1:6443'}}, {name: b, cluster: {server: 'https://127.0.0.2:6443'}}]\n\
             users: [{name: u, user: {token: t}}]\n\
             contexts: [{name: a, context: {cluster: a, user: u, namespace: team-a}}, {name: b, context: {cluster: b, user: u}}]\n",
        )
        .unwrap();
        path
    }

    #[tokio::test]
    async fn the_file_and_context_named_are_used_and_requests_name_the_caller() {
        let dir = std::env::temp_dir().join(format!("connect-kubeconfig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = kubeconfig(&dir);
        let current = kube_config(Some(&path), None, "tester/1").await.unwrap();
        assert_eq!(current.cluster_url.to_string(), "https://127.0.0.1:6443/");
        assert_eq!(current.default_namespace, "team-a");
        let other = kube_config(Some(&path), Some("b"), "tester/1").await.unwrap();
        assert_eq!(other.cluster_url.to_string(), "https://127.0.0.2:6443/");
        assert!(
            other
                .headers
                .iter()
                .any(|(name, value)| name == http::header::USER_AGENT && value == "tester/1")
        );
        let missing = kube_config(Some(&path), Some("nope"), "tester/1").await.unwrap_err();
        assert!(missing.to_string().starts_with("context nope:"), "{missing}");
        let unreadable = kube_config(Some(&dir.join("absent")), None, "tester/1")
            .await
            .unwrap_err();
        assert!(
            unreadable.to_string().starts_with("cannot read kubeconfig"),
            "{unreadable}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
