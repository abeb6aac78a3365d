//! Connection to the cluster of the kubeconfig (context and namespace resolved as kubectl does), and
//! translation of API failures into errors that say what to do.

use std::time::Duration;

use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ApiResource, DynamicObject, ListParams};
use kube::{Client, Config};
use shared::api::v2::LocustTest;

use crate::cli::GlobalArgs;
use crate::error::{PluginError, close_names};
use crate::render::events::{EventRow, events_for};

/// A client and the namespace commands act in.
#[derive(Clone)]
pub struct Cluster {
    pub client: Client,
    /// The same connection without kube's retries of 503s, for requests through the service
    /// proxy to a master: a master that is not serving should say so at once, not after retries.
    pub proxy_client: Client,
    /// `-n`, else the context's namespace, else `default`.
    pub namespace: String,
    /// The API server URL, for error messages.
    pub server: String,
}

/// The plugin's `User-Agent`.
pub const USER_AGENT: &str = concat!("kubectl-locust/", env!("CARGO_PKG_VERSION"));

impl Cluster {
    /// A cluster from an existing client (tests pass one talking to an in-memory API server).
    pub fn from_client(client: Client, namespace: &str) -> Self {
        Self {
            proxy_client: client.clone(),
            client,
            namespace: namespace.to_string(),
            server: "the API server".to_string(),
        }
    }

    /// Connects as kubectl would: `--kubeconfig` (else $KUBECONFIG, else ~/.kube/config, else the
    /// in-cluster service account), `--context`, `-n`. Makes no request yet.
    pub async fn connect(global: &GlobalArgs) -> Result<Self, PluginError> {
        let mut config = load_config(global).await?;
        // An unreachable server should fail in seconds, not after the OS's TCP timeout.
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        let server = config.cluster_url.to_string();
        let namespace = global
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let mut proxy_config = config.clone();
        proxy_config.default_retry = false;
        let client = Client::try_from(config).map_err(|error| PluginError::Kubeconfig {
            detail: error.to_string(),
        })?;
        let proxy_client = Client::try_from(proxy_config).map_err(|error| PluginError::Kubeconfig {
            detail: error.to_string(),
        })?;
        Ok(Self {
            client,
            proxy_client,
            namespace,
            server,
        })
    }

    /// LocustTests in the working namespace.
    pub fn tests(&self) -> Api<LocustTest> {
        Api::namespaced(self.client.clone(), &self.namespace)
    }

    /// LocustTests in `namespace`, or in every namespace for `None`.
    pub fn tests_in(&self, namespace: Option<&str>) -> Api<LocustTest> {
        match namespace {
            Some(namespace) => Api::namespaced(self.client.clone(), namespace),
            None => Api::all(self.client.clone()),
        }
    }

    /// One test by name; when missing, the error lists similar names in the namespace.
    pub async fn get_test(&self, name: &str) -> Result<LocustTest, PluginError> {
        // Not `get_opt`: it reads the 404 of a missing CRD as a missing test.
        match self.tests().get(name).await {
            Ok(test) => Ok(test),
            Err(error) => Err(self.get_error(name, error).await),
        }
    }

    /// LocustTests as the API server returns them, untyped: what `-o json|yaml` prints, so no
    /// field is added (serde defaults) or dropped (fields this plugin does not know).
    fn raw_tests_in(&self, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = ApiResource::erase::<LocustTest>(&());
        match namespace {
            Some(namespace) => Api::namespaced_with(self.client.clone(), namespace, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        }
    }

    /// One test exactly as stored (see [`Cluster::raw_tests_in`]).
    pub async fn get_test_raw(&self, name: &str) -> Result<serde_json::Value, PluginError> {
        match self.raw_tests_in(Some(&self.namespace)).get(name).await {
            Ok(test) => serde_json::to_value(test).map_err(|error| PluginError::Other(error.to_string())),
            Err(error) => Err(self.get_error(name, error).await),
        }
    }

    /// Tests exactly as stored, sorted by namespace and name.
    pub async fn list_tests_raw(&self, all_namespaces: bool) -> Result<Vec<serde_json::Value>, PluginError> {
        let list = self
            .raw_tests_in((!all_namespaces).then_some(self.namespace.as_str()))
            .list(&ListParams::default())
            .await
            .map_err(|error| self.translate(error, "list", "locusttests.locust.io", all_namespaces))?;
        let mut tests = list
            .items
            .into_iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| PluginError::Other(error.to_string()))?;
        let key = |test: &serde_json::Value| {
            let field = |name: &str| test["metadata"][name].as_str().unwrap_or_default().to_string();
            (field("namespace"), field("name"))
        };
        tests.sort_by_key(key);
        Ok(tests)
    }

    async fn get_error(&self, name: &str, error: kube::Error) -> PluginError {
        match error {
            kube::Error::Api(status)
                if status.code == 404 && !status.message.contains("could not find the requested resource") =>
            {
                self.not_found(name).await
            }
            error => self.translate(error, "get", "locusttests.locust.io", false),
        }
    }

    /// The not-found error for `name`, with close names when the namespace can be listed.
    pub async fn not_found(&self, name: &str) -> PluginError {
        let existing: Vec<String> = match self.tests().list(&ListParams::default()).await {
            Ok(list) => list.items.iter().filter_map(|t| t.metadata.name.clone()).collect(),
            Err(_) => Vec::new(),
        };
        PluginError::NotFound {
            name: name.to_string(),
            namespace: self.namespace.clone(),
            close: close_names(name, &existing),
        }
    }

    /// Tests in the working namespace, or everywhere with `all_namespaces`, sorted by namespace
    /// and name.
    pub async fn list_tests(&self, all_namespaces: bool) -> Result<Vec<LocustTest>, PluginError> {
        let api = self.tests_in((!all_namespaces).then_some(self.namespace.as_str()));
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|error| self.translate(error, "list", "locusttests.locust.io", all_namespaces))?;
        let mut tests = list.items;
        tests.sort_by(|a, b| {
            (a.metadata.namespace.as_deref(), a.metadata.name.as_deref())
                .cmp(&(b.metadata.namespace.as_deref(), b.metadata.name.as_deref()))
        });
        Ok(tests)
    }

    /// The last `limit` events of test `name` (its own, its Jobs' and its pods'), oldest first.
    pub async fn recent_events(&self, name: &str, limit: usize) -> Result<Vec<EventRow>, PluginError> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &self.namespace);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(|error| self.translate(error, "list", "events.events.k8s.io", false))?;
        Ok(events_for(name, &list.items, limit))
    }

    /// Turns an API failure of `verb` on `resource` into an error that says what to do.
    pub fn translate(&self, error: kube::Error, verb: &str, resource: &str, all_namespaces: bool) -> PluginError {
        translate(error, verb, resource, &self.namespace, all_namespaces, &self.server)
    }
}

async fn load_config(global: &GlobalArgs) -> Result<Config, PluginError> {
    connect::kubeconfig::kube_config(global.kubeconfig.as_deref(), global.context.as_deref(), USER_AGENT)
        .await
        .map_err(|error| PluginError::Kubeconfig {
            detail: error.to_string(),
        })
}

/// See [`Cluster::translate`].
pub fn translate(
    error: kube::Error,
    verb: &str,
    resource: &str,
    namespace: &str,
    all_namespaces: bool,
    server: &str,
) -> PluginError {
    match error {
        kube::Error::Api(status) if status.code == 403 => {
            let (scope, can_i_scope) = if all_namespaces {
                ("all namespaces".to_string(), " -A".to_string())
            } else {
                (format!("namespace \"{namespace}\""), format!(" -n {namespace}"))
            };
            PluginError::Forbidden {
                verb: verb.to_string(),
                resource: resource.to_string(),
                scope,
                can_i_scope,
            }
        }
        kube::Error::Api(status)
            if status.code == 404
                && status.message.contains("could not find the requested resource")
                && resource.starts_with("locusttests") =>
        {
            PluginError::CrdMissing
        }
        kube::Error::Api(status) => PluginError::Api {
            action: format!("{verb} {resource}"),
            message: status.message,
        },
        kube::Error::Auth(error) => PluginError::Kubeconfig {
            detail: format!("cannot authenticate: {error}"),
        },
        other => PluginError::Unreachable {
            server: server.to_string(),
            detail: root_cause(&other),
        },
    }
}

/// The innermost message of an error chain ("connection refused", not "ServiceError: client error").
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(source) = current.source() {
        current = source;
    }
    current.to_string()
}
