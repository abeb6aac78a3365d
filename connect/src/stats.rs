//! Reading one master's `GET /stats/requests`, through the Service's DNS name, the API server's
//! service proxy or a fixed address, bounded in time and size; failures in words fit for a
//! condition message.

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode, header};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use shared::constants::WEB_UI_PORT;
use shared::naming;
use shared::report::{self, ReportFiles};
use shared::stats::{self, REQUESTS_PATH, RequestsReport};

/// Answers larger than this are not a statistics report (a busy test with hundreds of endpoints
/// stays far below it); reading stops there instead of buffering without bound.
const MAX_ANSWER_BYTES: usize = 8 * 1024 * 1024;
/// How much of an unexpected answer is quoted in the reason.
const QUOTED_CHARS: usize = 160;

/// How the operator reaches a master's web port.
#[derive(Clone)]
pub enum Access {
    /// `http://<name>-master.<namespace>.svc:8089` — the default inside the cluster.
    ServiceDns,
    /// Through the API server's service proxy
    /// (`/api/v1/namespaces/<namespace>/services/<name>-master:8089/proxy/...`): works from outside
    /// the cluster, and needs `get` on `services/proxy`.
    ApiProxy(kube::Client),
    /// Every test at this base URL, e.g. `http://127.0.0.1:8089` (local runs and tests).
    Direct(String),
}

impl std::fmt::Debug for Access {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::ServiceDns => formatter.write_str("ServiceDns"),
            Self::ApiProxy(_) => formatter.write_str("ApiProxy"),
            Self::Direct(base) => formatter.debug_tuple("Direct").field(base).finish(),
        }
    }
}

impl Access {
    /// Where the statistics of test `name` in `namespace` are read: a URL, or for the API proxy
    /// the path on the API server.
    pub fn location(&self, namespace: &str, name: &str) -> String {
        self.location_of(namespace, name, REQUESTS_PATH)
    }

    /// Where `path` (e.g. `/stats/report`) of test `name`'s master in `namespace` is read.
    pub fn location_of(&self, namespace: &str, name: &str, path: &str) -> String {
        let master = naming::master_name(name);
        match self {
            Self::ServiceDns => format!("http://{master}.{namespace}.svc:{WEB_UI_PORT}{path}"),
            Self::ApiProxy(_) => {
                format!("/api/v1/namespaces/{namespace}/services/{master}:{WEB_UI_PORT}/proxy{path}")
            }
            Self::Direct(base) => format!("{}{path}", base.trim_end_matches('/')),
        }
    }

    /// The master as named in a reason, without the path.
    fn target(&self, namespace: &str, name: &str) -> String {
        let master = naming::master_name(name);
        match self {
            Self::ServiceDns => format!("{master}.{namespace}.svc:{WEB_UI_PORT}"),
            Self::ApiProxy(_) => format!("the API server's proxy to {master}:{WEB_UI_PORT}"),
            Self::Direct(base) => base.trim_end_matches('/').to_string(),
        }
    }
}

/// Reads masters' statistics, one at a time per call, within a timeout.
#[derive(Clone)]
pub struct Reader {
    access: Access,
    timeout: Duration,
    http: HttpClient<HttpConnector, Empty<Bytes>>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Reader")
            .field("access", &self.access)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Reader {
    /// A reader through `access`, each read bounded by `timeout`; a kept-alive connection to a
    /// master is dropped once it has been idle for `idle` (three read intervals, say).
    pub fn new(access: Access, timeout: Duration, idle: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        let http = HttpClient::builder(TokioExecutor::new())
            // One kept-alive connection per master, dropped once the master is no longer read.
            .pool_max_idle_per_host(1)
            .pool_idle_timeout(idle.max(Duration::from_secs(30)))
            .pool_timer(TokioTimer::new())
            .build(connector);
        Self { access, timeout, http }
    }

    /// Reads the report of test `name` in `namespace` once, within the timeout. `Err` says why
    /// not, naming the master, in words fit for a condition message.
    pub async fn fetch(&self, namespace: &str, name: &str) -> Result<RequestsReport, String> {
        let location = self.access.location(namespace, name);
        let read = async {
            let body = self.get(&location, "application/json").await?;
            stats::parse_report(&body).map_err(|error| error.to_string())
        };
        self.bounded(namespace, name, read).await
    }

    /// Reads `path` of test `name`'s master in `namespace` (Locust's `/stats/report` HTML, its
    /// `/stats/requests/csv`, ...) once, within the timeout, as bytes; `Err` says why not.
    pub async fn fetch_path(&self, namespace: &str, name: &str, path: &str) -> Result<Bytes, String> {
        let location = self.access.location_of(namespace, name, path);
        self.bounded(namespace, name, self.get(&location, "*/*")).await
    }

    /// Reads Locust's report files (`shared::report::sources`) from test `name`'s master in
    /// `namespace`, one after another; a file that cannot be read is listed with why.
    pub async fn fetch_report_files(&self, namespace: &str, name: &str) -> ReportFiles {
        let mut read = ReportFiles::default();
        for (file, path) in report::sources() {
            match self.fetch_path(namespace, name, path).await {
                Ok(bytes) => read.files.push((file.to_string(), bytes.to_vec())),
                Err(why) => read.missing.push(format!("{file}: {why}")),
            }
        }
        read
    }

    async fn get(&self, location: &str, accept: &str) -> Result<Bytes, String> {
        match &self.access {
            Access::ApiProxy(client) => get_via_api(client, location, accept).await,
            Access::ServiceDns | Access::Direct(_) => self.get_direct(location, accept).await,
        }
    }

    /// `read` within the timeout; a failure names the master.
    async fn bounded<T>(
        &self,
        namespace: &str,
        name: &str,
        read: impl Future<Output = Result<T, String>>,
    ) -> Result<T, String> {
        let outcome = match tokio::time::timeout(self.timeout, read).await {
            Ok(outcome) => outcome,
            Err(_) => Err(format!("no answer within {}", humantime::format_duration(self.timeout))),
        };
        outcome.map_err(|why| format!("{}: {why}", self.access.target(namespace, name)))
    }

    async fn get_direct(&self, location: &str, accept: &str) -> Result<Bytes, String> {
        let request = Request::get(location)
            .header(header::ACCEPT, accept)
            .body(Empty::new())
            .map_err(|error| format!("invalid address {location}: {error}"))?;
        let response = self.http.request(request).await.map_err(|error| {
            if error.is_connect() {
                format!("cannot connect: {}", root_cause(&error))
            } else {
                root_cause(&error)
            }
        })?;
        answer_body(response).await
    }
}

async fn get_via_api(client: &kube::Client, path: &str, accept: &str) -> Result<Bytes, String> {
    let request = Request::get(path)
        .header(header::ACCEPT, accept)
        .body(kube::client::Body::empty())
        .map_err(|error| format!("invalid path {path}: {error}"))?;
    let response = client.send(request).await.map_err(|error| root_cause(&error))?;
    answer_body(response).await
}

/// The body of a 2xx answer, read up to [`MAX_ANSWER_BYTES`]; any other answer says why it is no
/// report.
async fn answer_body<B>(response: http::Response<B>) -> Result<Bytes, String>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let status = response.status();
    let body = Limited::new(response.into_body(), MAX_ANSWER_BYTES)
        .collect()
        .await
        .map_err(|error| format!("reading the answer: {}", root_cause(error.as_ref())))?
        .to_bytes();
    if status.is_success() {
        Ok(body)
    } else {
        Err(unexpected_answer(status, &body))
    }
}

/// The first line of `text`, at most [`QUOTED_CHARS`] characters.
fn quote(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    let mut quoted: String = line.chars().take(QUOTED_CHARS).collect();
    if quoted.len() < line.len() {
        quoted.push('…');
    }
    quoted
}

/// The innermost cause of an error: what actually went wrong (`Connection refused`, a DNS failure)
/// rather than the layers that passed it on.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    cause.to_string()
}

/// Why a non-2xx answer is not a report: the API server's `Status` message when it sent one
/// (the proxy's `no endpoints available`, a missing RBAC grant), else the start of the body.
fn unexpected_answer(status: StatusCode, body: &[u8]) -> String {
    let detail = serde_json::from_slice::<Status>(body)
        .ok()
        .and_then(|status| status.message)
        .unwrap_or_else(|| quote(&String::from_utf8_lossy(body)));
    if detail.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn locations_follow_the_access_mode() {
        assert_eq!(
            Access::ServiceDns.location("load", "demo"),
            "http://demo-master.load.svc:8089/stats/requests"
        );
        assert_eq!(
            Access::Direct("http://127.0.0.1:9/".into()).location("load", "demo"),
            "http://127.0.0.1:9/stats/requests"
        );
    }

    #[test]
    fn unexpected_answers_are_quoted_briefly() {
        let status = br#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no endpoints available for service \"demo-master\"","code":503}"#;
        assert_eq!(
            unexpected_answer(StatusCode::SERVICE_UNAVAILABLE, status),
            "HTTP 503 Service Unavailable: no endpoints available for service \"demo-master\""
        );
        let page = format!("<html>{}</html>\nsecond line", "x".repeat(500));
        let said = unexpected_answer(StatusCode::UNAUTHORIZED, page.as_bytes());
        assert!(said.starts_with("HTTP 401 Unauthorized: <html>xxx"), "{said}");
        assert!(said.chars().count() < 200, "{said}");
        assert_eq!(unexpected_answer(StatusCode::NOT_FOUND, b""), "HTTP 404 Not Found");
    }
}
