//! The conversion webhook over real TLS on 127.0.0.1, and the CRD conversion block it installs.
//!
//! The client is tokio-rustls plus hyper's HTTP/1.1 connection: both are already in the build for
//! `kube`, and they let a test trust exactly the CAs it chooses and see the handshake error itself.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use operator::certs::{self, CertError, ServingCert};
use operator::webhook::{self, InstallError, MAX_REVIEW_BYTES};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{CertificateError, ClientConfig, RootCertStore};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

const BOUND: Duration = Duration::from_secs(10);
const REVIEW_TO_V2: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/tests/fixtures/conversion/review-mixed-to-v2.json"
));
const REVIEW_TO_V1: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/tests/fixtures/conversion/review-to-v1.json"
));
const GARBAGE: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/tests/fixtures/conversion/review-garbage.txt"
));

fn cert_for(names: &[&str]) -> ServingCert {
    let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
    certs::self_signed(&names, Timestamp::now()).unwrap()
}

fn local_cert() -> ServingCert {
    cert_for(&["localhost", "127.0.0.1"])
}

/// A webhook server on a free loopback port.
struct RunningWebhook {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl RunningWebhook {
    fn start(cert: &ServingCert) -> Self {
        Self::start_with(certs::rustls_config(&cert.cert_pem, &cert.key_pem).unwrap())
    }

    fn start_with(tls: axum_server::tls_rustls::RustlsConfig) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(webhook::serve_on(listener, tls, async move {
            let _ = stopped.await;
        }));
        Self {
            addr,
            stop: Some(stop),
            task,
        }
    }

    /// Asks for a graceful shutdown and waits (bounded) for the server to end.
    async fn stop(mut self) -> anyhow::Result<()> {
        self.stop.take().unwrap().send(()).unwrap();
        timeout(Duration::from_secs(3), self.task)
            .await
            .expect("the server stops within 3 s")
            .unwrap()
    }
}

/// A TLS client that trusts exactly the CA certificates in `ca_pems` (PEM, bundles allowed).
fn trusting(ca_pems: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for pem in ca_pems {
        for der in CertificateDer::pem_slice_iter(pem) {
            roots.add(der.unwrap()).unwrap();
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

async fn connect(
    addr: SocketAddr,
    client: Arc<ClientConfig>,
    server_name: &str,
) -> std::io::Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(server_name.to_string()).unwrap();
    timeout(BOUND, async {
        let tcp = TcpStream::connect(addr).await?;
        TlsConnector::from(client).connect(name, tcp).await
    })
    .await
    .expect("the handshake ends within the bound")
}

/// The rustls error under a failed handshake.
fn tls_error(error: &std::io::Error) -> &rustls::Error {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .unwrap_or_else(|| panic!("not a TLS error: {error}"))
}

/// One HTTP/1.1 connection over an established TLS stream.
struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl Connection {
    async fn open(stream: TlsStream<TcpStream>) -> Self {
        let (sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(connection);
        Self { sender }
    }

    async fn send(
        &mut self,
        method: Method,
        content_type: &str,
        body: impl Into<Bytes>,
    ) -> (StatusCode, Option<String>, Bytes) {
        let request = Request::builder()
            .method(method)
            .uri("/convert")
            .header(header::HOST, "localhost")
            .header(header::CONTENT_TYPE, content_type)
            .body(Full::new(body.into()))
            .unwrap();
        timeout(BOUND, async {
            let response = self.sender.send_request(request).await.unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .map(|value| value.to_str().unwrap().to_string());
            let body = response.into_body().collect().await.unwrap().to_bytes();
            (status, content_type, body)
        })
        .await
        .expect("the webhook answers within the bound")
    }

    /// POSTs a ConversionReview and returns the answered review.
    async fn review(&mut self, body: &str) -> Value {
        let (status, content_type, body) = self.send(Method::POST, "application/json", body.to_string()).await;
        assert_eq!(status, StatusCode::OK, "body: {}", String::from_utf8_lossy(&body));
        assert_eq!(content_type.as_deref(), Some("application/json"));
        serde_json::from_slice(&body).unwrap()
    }
}

async fn open(addr: SocketAddr, ca_pem: &str) -> Connection {
    Connection::open(
        connect(addr, trusting(&[ca_pem.as_bytes()]), "localhost")
            .await
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn a_v1_object_is_answered_as_v2_over_tls() {
    let cert = local_cert();
    let server = RunningWebhook::start(&cert);
    let mut connection = open(server.addr, &cert.ca_pem).await;

    let request: Value = serde_json::from_str(REVIEW_TO_V2).unwrap();
    let answer = connection.review(REVIEW_TO_V2).await;

    assert_eq!(answer["kind"], "ConversionReview");
    assert_eq!(answer["apiVersion"], "apiextensions.k8s.io/v1");
    let response = &answer["response"];
    assert_eq!(response["uid"], request["request"]["uid"]);
    assert_eq!(response["result"]["status"], "Success", "{response}");
    let converted = response["convertedObjects"].as_array().unwrap();
    assert_eq!(converted.len(), request["request"]["objects"].as_array().unwrap().len());
    assert!(converted.iter().all(|object| object["apiVersion"] == "locust.io/v2"));
    let v1_spec = &request["request"]["objects"][0]["spec"];
    assert_eq!(converted[0]["metadata"]["name"], "basic-test");
    assert_eq!(converted[0]["spec"]["worker"]["replicas"], v1_spec["workerReplicas"]);
    assert_eq!(converted[0]["spec"]["master"]["command"], v1_spec["masterCommandSeed"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_v2_object_is_answered_as_v1_over_tls_to_the_ip_address() {
    let cert = local_cert();
    let server = RunningWebhook::start(&cert);
    let stream = connect(server.addr, trusting(&[cert.ca_pem.as_bytes()]), "127.0.0.1")
        .await
        .unwrap();
    let mut connection = Connection::open(stream).await;

    let request: Value = serde_json::from_str(REVIEW_TO_V1).unwrap();
    let answer = connection.review(REVIEW_TO_V1).await;

    let response = &answer["response"];
    assert_eq!(response["uid"], request["request"]["uid"]);
    assert_eq!(response["result"]["status"], "Success", "{response}");
    let converted = &response["convertedObjects"][0];
    let v2_spec = &request["request"]["objects"][0]["spec"];
    assert_eq!(converted["apiVersion"], "locust.io/v1");
    assert_eq!(converted["metadata"]["name"], "full-test");
    assert_eq!(converted["spec"]["workerReplicas"], v2_spec["worker"]["replicas"]);
    assert_eq!(converted["spec"]["masterCommandSeed"], v2_spec["master"]["command"]);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn garbage_gets_http_200_with_a_failure_review() {
    let cert = local_cert();
    let server = RunningWebhook::start(&cert);
    let mut connection = open(server.addr, &cert.ca_pem).await;

    let answer = connection.review(GARBAGE).await;
    assert_eq!(answer["kind"], "ConversionReview");
    assert_eq!(answer["response"]["result"]["status"], "Failure");
    assert!(
        answer["response"]["result"]["message"]
            .as_str()
            .unwrap()
            .contains("not a ConversionReview")
    );
    assert_eq!(answer["response"]["convertedObjects"], json!([]));

    // The same connection keeps working after a refused review.
    let answer = connection.review(REVIEW_TO_V1).await;
    assert_eq!(answer["response"]["result"]["status"], "Success");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn requests_that_are_not_json_reviews_are_refused_by_http_status() {
    let cert = local_cert();
    let server = RunningWebhook::start(&cert);
    let mut connection = open(server.addr, &cert.ca_pem).await;

    let (status, _, _) = connection.send(Method::POST, "text/plain", REVIEW_TO_V1).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let (status, _, _) = connection.send(Method::GET, "application/json", "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    let (status, _, body) = connection
        .send(Method::POST, "application/json; charset=utf-8", REVIEW_TO_V1)
        .await;
    assert_eq!(status, StatusCode::OK, "a charset parameter is still JSON");
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["response"]["result"]["status"],
        "Success"
    );

    let too_large = vec![b' '; MAX_REVIEW_BYTES + 1];
    let (status, _, _) = connection.send(Method::POST, "application/json", too_large).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_client_that_does_not_trust_the_ca_fails_the_handshake() {
    let cert = local_cert();
    let server = RunningWebhook::start(&cert);

    // Another replica's CA has the same name, so the verifier finds it and then rejects the signature.
    let stranger = local_cert();
    let error = connect(server.addr, trusting(&[stranger.ca_pem.as_bytes()]), "localhost")
        .await
        .unwrap_err();
    assert!(
        matches!(
            tls_error(&error),
            rustls::Error::InvalidCertificate(CertificateError::BadSignature | CertificateError::UnknownIssuer)
        ),
        "{error}"
    );

    // Trusting the right CA is not enough for a name the certificate does not carry.
    let error = connect(server.addr, trusting(&[cert.ca_pem.as_bytes()]), "elsewhere.example")
        .await
        .unwrap_err();
    assert!(
        matches!(
            tls_error(&error),
            rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext { .. })
        ),
        "{error}"
    );
    // And the server still serves clients that trust it.
    let mut connection = open(server.addr, &cert.ca_pem).await;
    assert_eq!(
        connection.review(REVIEW_TO_V1).await["response"]["result"]["status"],
        "Success"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn the_certificate_is_valid_for_every_name_the_api_server_may_dial() {
    let service_names = [
        "locust-operator-webhook",
        "locust-operator-webhook.locust-system",
        "locust-operator-webhook.locust-system.svc",
        "locust-operator-webhook.locust-system.svc.cluster.local",
    ];
    let cert = cert_for(&[service_names.as_slice(), &["127.0.0.1"]].concat());
    let server = RunningWebhook::start(&cert);
    for name in service_names {
        let stream = connect(server.addr, trusting(&[cert.ca_pem.as_bytes()]), name).await;
        assert!(stream.is_ok(), "{name}: {:?}", stream.err());
    }
    server.stop().await.unwrap();
}

#[tokio::test]
async fn graceful_shutdown_ends_the_server_with_an_idle_connection_open() {
    let cert = local_cert();
    let server = RunningWebhook::start(&cert);
    let addr = server.addr;
    // A kept-alive connection, as the API server keeps one.
    let mut connection = open(addr, &cert.ca_pem).await;
    assert_eq!(
        connection.review(REVIEW_TO_V2).await["response"]["result"]["status"],
        "Success"
    );

    let started = std::time::Instant::now();
    server.stop().await.unwrap();
    assert!(
        started.elapsed() < webhook::SHUTDOWN_GRACE,
        "idle connections do not hold shutdown"
    );
    let refused = timeout(BOUND, TcpStream::connect(addr)).await.unwrap();
    assert!(refused.is_err(), "nothing listens after shutdown");
}

#[tokio::test]
async fn serving_on_a_taken_port_is_an_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let cert = local_cert();
    let tls = certs::rustls_config(&cert.cert_pem, &cert.key_pem).unwrap();
    let result = timeout(
        BOUND,
        webhook::serve(taken.local_addr().unwrap(), tls, std::future::pending()),
    )
    .await
    .unwrap();
    let message = format!("{:#}", result.unwrap_err());
    assert!(message.contains("cannot listen on 127.0.0.1:"), "{message}");
}

#[test]
fn a_certificate_needs_a_name() {
    assert!(matches!(
        certs::self_signed(&[], Timestamp::now()),
        Err(CertError::NoNames)
    ));
}

#[test]
fn the_self_made_key_is_not_printed() {
    let cert = local_cert();
    let printed = format!("{cert:?}");
    assert!(printed.contains("<redacted>"));
    assert!(!printed.contains(cert.key_pem.lines().nth(1).unwrap()));
}

// Mounted certificates (cert-manager).

fn write_pair(dir: &Path, cert: &ServingCert) {
    std::fs::write(dir.join("tls.crt"), &cert.cert_pem).unwrap();
    std::fs::write(dir.join("tls.key"), &cert.key_pem).unwrap();
}

#[test]
fn a_missing_mounted_file_is_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), local_cert().cert_pem).unwrap();
    let error = certs::load_mounted(&dir.path().join("tls.crt"), &dir.path().join("tls.key")).unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains(&dir.path().join("tls.key").display().to_string()),
        "{message}"
    );
    assert!(message.contains("does not exist"), "{message}");
    assert!(message.contains("--webhook-cert-path"), "{message}");
}

#[test]
fn a_mounted_key_of_another_certificate_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tls.crt"), local_cert().cert_pem).unwrap();
    std::fs::write(dir.path().join("tls.key"), local_cert().key_pem).unwrap();
    let error = certs::load_mounted(&dir.path().join("tls.crt"), &dir.path().join("tls.key")).unwrap_err();
    assert!(matches!(error, CertError::Tls(_)), "{error}");

    std::fs::write(dir.path().join("tls.crt"), "not a certificate").unwrap();
    let error = certs::load_mounted(&dir.path().join("tls.crt"), &dir.path().join("tls.key")).unwrap_err();
    assert!(error.to_string().contains("tls.crt is not valid"), "{error}");
}

#[tokio::test]
async fn waiting_for_mounted_files_gives_up_after_the_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let waited = timeout(
        BOUND,
        certs::wait_for_mounted(&cert_path, &key_path, Some(Duration::from_millis(10))),
    )
    .await
    .unwrap();
    assert!(matches!(waited, Err(CertError::MissingFile(path)) if path == cert_path));

    // Files that appear while waiting are loaded.
    let cert = local_cert();
    let writer = {
        let dir = dir.path().to_path_buf();
        let cert = cert.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            write_pair(&dir, &cert);
        })
    };
    let loaded = timeout(
        BOUND,
        certs::wait_for_mounted(&cert_path, &key_path, Some(Duration::from_secs(5))),
    )
    .await
    .unwrap()
    .unwrap();
    writer.await.unwrap();
    assert_eq!(loaded, (cert.cert_pem, cert.key_pem));
}

#[tokio::test]
async fn a_renewed_mounted_certificate_is_served_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
    let first = local_cert();
    write_pair(dir.path(), &first);
    let loaded = certs::load_mounted(&cert_path, &key_path).unwrap();
    let tls = certs::rustls_config(&loaded.0, &loaded.1).unwrap();
    let server = RunningWebhook::start_with(tls.clone());
    let reloader = tokio::spawn(certs::reload_mounted_on_change(
        tls,
        cert_path.clone(),
        key_path.clone(),
        loaded,
        Duration::from_millis(50),
    ));
    assert!(
        connect(server.addr, trusting(&[first.ca_pem.as_bytes()]), "localhost")
            .await
            .is_ok()
    );

    // A half-written pair (new certificate, old key) is not picked up.
    let renewed = local_cert();
    std::fs::write(&cert_path, &renewed.cert_pem).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        connect(server.addr, trusting(&[first.ca_pem.as_bytes()]), "localhost")
            .await
            .is_ok()
    );

    std::fs::write(&key_path, &renewed.key_pem).unwrap();
    let renewed_client = trusting(&[renewed.ca_pem.as_bytes()]);
    let mut served_renewed = false;
    for _ in 0..100 {
        if connect(server.addr, renewed_client.clone(), "localhost").await.is_ok() {
            served_renewed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(served_renewed, "the renewed certificate is served within 5 s");
    assert!(
        connect(server.addr, trusting(&[first.ca_pem.as_bytes()]), "localhost")
            .await
            .is_err()
    );
    reloader.abort();
    server.stop().await.unwrap();
}

// The CRD conversion block, against an in-memory API server.

const CRD_URL: &str = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/locusttests.locust.io";

type BeforePatch = Box<dyn FnOnce(&mut Value) + Send>;

#[derive(Default)]
struct FakeState {
    crd: Option<Value>,
    resource_version: u64,
    /// Runs once before the next PATCH is looked at: another writer changing the CRD.
    before_next_patch: Option<BeforePatch>,
    patches_received: usize,
    patches_rejected: usize,
    /// PATCHes are answered 403, as when RBAC no longer allows them.
    forbid_patches: bool,
}

/// The API server, as far as the CRD `locusttests.locust.io` is concerned.
#[derive(Clone, Default)]
struct FakeApi(Arc<Mutex<FakeState>>);

fn status(code: u16, reason: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason, "code": code,
    });
    json_response(code, &body)
}

fn json_response(code: u16, body: &Value) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(body).unwrap())))
        .unwrap()
}

/// RFC 7386 JSON merge patch, as the API server applies `application/merge-patch+json`.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target.as_object_mut().unwrap();
    for (key, value) in patch {
        if value.is_null() {
            target.remove(key);
        } else {
            merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

impl FakeApi {
    fn with_crd() -> Self {
        let fake = Self::default();
        fake.store(serde_json::to_value(shared::crd::locusttest_crd()).unwrap());
        fake
    }

    fn store(&self, mut crd: Value) {
        let mut state = self.0.lock().unwrap();
        state.resource_version += 1;
        crd["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
        state.crd = Some(crd);
    }

    fn crd(&self) -> CustomResourceDefinition {
        serde_json::from_value(self.0.lock().unwrap().crd.clone().unwrap()).unwrap()
    }

    fn ca_bundle(&self) -> Vec<u8> {
        let crd = self.crd();
        crd.spec
            .conversion
            .unwrap()
            .webhook
            .unwrap()
            .client_config
            .unwrap()
            .ca_bundle
            .unwrap()
            .0
    }

    fn client(&self) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |request: Request<kube::client::Body>| {
            let fake = fake.clone();
            async move { Ok::<_, Infallible>(fake.answer(request).await) }
        });
        kube::Client::new(service, "default")
    }

    async fn answer(&self, request: Request<kube::client::Body>) -> Response<Full<Bytes>> {
        if request.uri().path() != CRD_URL {
            return status(404, "NotFound", "only the LocustTest CRD lives here");
        }
        let method = request.method().clone();
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|value| value.to_str().unwrap().to_string());
        let body = request.into_body().collect().await.unwrap().to_bytes();
        let mut guard = self.0.lock().unwrap();
        // Borrow the fields one by one through the guard.
        let state = &mut *guard;
        if method == Method::PATCH {
            state.patches_received += 1;
            if state.forbid_patches {
                return status(
                    403,
                    "Forbidden",
                    "customresourcedefinitions.apiextensions.k8s.io \"locusttests.locust.io\" is forbidden",
                );
            }
            if let Some(other_writer) = state.before_next_patch.take()
                && let Some(crd) = state.crd.as_mut()
            {
                other_writer(crd);
                state.resource_version += 1;
                let version = state.resource_version.to_string();
                state.crd.as_mut().unwrap()["metadata"]["resourceVersion"] = json!(version);
            }
        }
        let resource_version = state.resource_version.to_string();
        let Some(crd) = state.crd.as_mut() else {
            return status(
                404,
                "NotFound",
                "customresourcedefinitions \"locusttests.locust.io\" not found",
            );
        };
        match method {
            Method::GET => json_response(200, crd),
            Method::PATCH => {
                assert_eq!(content_type.as_deref(), Some("application/merge-patch+json"));
                let patch: Value = serde_json::from_slice(&body).unwrap();
                if let Some(expected) = patch.pointer("/metadata/resourceVersion")
                    && expected != &json!(resource_version)
                {
                    state.patches_rejected += 1;
                    return status(
                        409,
                        "Conflict",
                        "the object has been modified; please apply your changes to the latest version and try again",
                    );
                }
                merge_patch(crd, &patch);
                // What the API server would refuse to store fails here.
                let _: CustomResourceDefinition = serde_json::from_value(crd.clone()).unwrap();
                state.resource_version += 1;
                crd["metadata"]["resourceVersion"] = json!(state.resource_version.to_string());
                json_response(200, crd)
            }
            _ => status(405, "MethodNotAllowed", "not served by the fake"),
        }
    }
}

fn certificates(bundle: &[u8]) -> Vec<CertificateDer<'static>> {
    CertificateDer::pem_slice_iter(bundle).map(Result::unwrap).collect()
}

fn der(pem: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_slice(pem.as_bytes()).unwrap()
}

#[tokio::test]
async fn installing_points_the_crd_at_the_webhook_with_the_ca() {
    let fake = FakeApi::with_crd();
    let replica = local_cert();
    webhook::install_ca_bundle(
        fake.client(),
        &replica.ca_pem,
        "locust-system",
        "locust-operator-webhook",
        443,
    )
    .await
    .unwrap();

    let crd = fake.crd();
    let conversion = crd.spec.conversion.unwrap();
    assert_eq!(conversion.strategy, "Webhook");
    let webhook_config = conversion.webhook.unwrap();
    assert_eq!(webhook_config.conversion_review_versions, ["v1"]);
    let client_config = webhook_config.client_config.unwrap();
    let service = client_config.service.unwrap();
    assert_eq!(
        (
            service.namespace.as_str(),
            service.name.as_str(),
            service.path.as_deref(),
            service.port
        ),
        ("locust-system", "locust-operator-webhook", Some("/convert"), Some(443))
    );
    assert_eq!(
        certificates(&client_config.ca_bundle.unwrap().0),
        [der(&replica.ca_pem)]
    );
    // The versions the chart installed are untouched.
    assert_eq!(crd.spec.versions, shared::crd::locusttest_crd().spec.versions);
}

#[tokio::test]
async fn a_second_replica_adds_its_ca_and_both_replicas_are_trusted() {
    let fake = FakeApi::with_crd();
    let first = local_cert();
    let second = local_cert();
    for replica in [&first, &second] {
        webhook::install_ca_bundle(
            fake.client(),
            &replica.ca_pem,
            "locust-system",
            "locust-operator-webhook",
            443,
        )
        .await
        .unwrap();
    }
    let bundle = fake.ca_bundle();
    assert_eq!(certificates(&bundle), [der(&second.ca_pem), der(&first.ca_pem)]);

    // A client that trusts only the CRD's caBundle, as the API server does, reaches either replica.
    let api_server_view = trusting(&[&bundle]);
    for replica in [&first, &second] {
        let server = RunningWebhook::start(replica);
        let stream = connect(server.addr, api_server_view.clone(), "localhost")
            .await
            .unwrap();
        let answer = Connection::open(stream).await.review(REVIEW_TO_V2).await;
        assert_eq!(answer["response"]["result"]["status"], "Success");
        server.stop().await.unwrap();
    }
}

#[tokio::test]
async fn replicas_writing_at_the_same_time_keep_both_cas() {
    let fake = FakeApi::with_crd();
    let first = local_cert();
    let second = local_cert();
    // The second replica's write lands between the first one's read and its write.
    let second_ca = second.ca_pem.clone();
    fake.0.lock().unwrap().before_next_patch = Some(Box::new(move |crd: &mut Value| {
        let bundle = shared::crd::merge_ca_bundle(b"", &second_ca, Timestamp::now()).unwrap();
        merge_patch(
            crd,
            &shared::crd::conversion_webhook_patch(&bundle, "locust-system", "locust-operator-webhook", 443),
        );
    }));

    webhook::install_ca_bundle(
        fake.client(),
        &first.ca_pem,
        "locust-system",
        "locust-operator-webhook",
        443,
    )
    .await
    .unwrap();

    let state = fake.0.lock().unwrap();
    assert_eq!(
        (state.patches_received, state.patches_rejected),
        (2, 1),
        "the stale write was refused and retried"
    );
    drop(state);
    assert_eq!(
        certificates(&fake.ca_bundle()),
        [der(&first.ca_pem), der(&second.ca_pem)]
    );
}

#[tokio::test]
async fn installing_the_same_ca_again_writes_nothing() {
    let fake = FakeApi::with_crd();
    let replica = local_cert();
    for _ in 0..2 {
        webhook::install_ca_bundle(
            fake.client(),
            &replica.ca_pem,
            "locust-system",
            "locust-operator-webhook",
            443,
        )
        .await
        .unwrap();
    }
    assert_eq!(fake.0.lock().unwrap().patches_received, 1);
    assert_eq!(certificates(&fake.ca_bundle()), [der(&replica.ca_pem)]);
}

#[tokio::test]
async fn a_missing_crd_is_a_clear_error() {
    let fake = FakeApi::default();
    let error = webhook::install_ca_bundle(fake.client(), &local_cert().ca_pem, "ns", "svc", 443)
        .await
        .unwrap_err();
    assert!(matches!(error, InstallError::CrdMissing));
    let message = error.to_string();
    assert!(
        message.starts_with("CRD locusttests.locust.io is not installed"),
        "{message}"
    );
    assert!(
        message.contains("kubectl apply -f charts/locust-operator/files/locusttests.locust.io.yaml"),
        "{message}"
    );
}

// Self-made certificates, renewed before they expire.

/// The operator's own certificate for this test's webhook (localhost, 127.0.0.1), trusted
/// through `fake`'s CRD and valid for `validity`.
fn self_managed(fake: &FakeApi, validity: Duration) -> webhook::SelfManagedCert {
    webhook::SelfManagedCert {
        client: fake.client(),
        dns_names: vec!["localhost".to_string(), "127.0.0.1".to_string()],
        service_namespace: "locust-system".to_string(),
        service_name: "locust-operator-webhook".to_string(),
        port: 443,
        validity,
    }
}

/// Checks `done` every 50 ms until it holds or `limit` has passed; says whether it held.
async fn eventually(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + limit;
    while tokio::time::Instant::now() < deadline {
        if done().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Asserts that within 5 s a client trusting only `ca_pem` is served.
async fn assert_served_soon(addr: SocketAddr, ca_pem: &str, what: &str) {
    let served = eventually(Duration::from_secs(5), async || {
        is_served_to(addr, ca_pem.as_bytes()).await
    })
    .await;
    assert!(served, "{what}");
}

async fn is_served_to(addr: SocketAddr, ca_pem: &[u8]) -> bool {
    connect(addr, trusting(&[ca_pem]), "localhost").await.is_ok()
}

#[test]
fn self_made_certificates_are_renewed_after_two_thirds_of_their_life() {
    assert_eq!(certs::renewal_delay(Duration::from_secs(9)), Duration::from_secs(6));
    let year = certs::renewal_delay(certs::SELF_SIGNED_VALIDITY);
    assert_eq!(
        year.as_secs() / 86_400,
        243,
        "a one-year certificate is renewed after about 8 months"
    );
}

#[test]
fn self_made_certificates_last_as_long_as_asked() {
    let names = ["localhost".to_string()];
    for validity in [Duration::from_secs(9), certs::SELF_SIGNED_VALIDITY] {
        let cert = certs::self_signed_valid_for(&names, Timestamp::now(), validity).unwrap();
        let der = der(&cert.cert_pem);
        let (_, parsed) = x509_parser::parse_x509_certificate(&der).unwrap();
        let expires_in = parsed.validity().not_after.timestamp() - Timestamp::now().as_second();
        let wanted = i64::try_from(validity.as_secs()).unwrap();
        assert!(
            (wanted - 2..=wanted).contains(&expires_in),
            "{validity:?}: expires in {expires_in} s"
        );
    }
}

#[tokio::test]
async fn a_self_made_certificate_is_replaced_before_it_expires_and_the_api_server_trusts_the_new_one() {
    let fake = FakeApi::with_crd();
    // Renewed after 6 s, 3 s before the first certificate expires.
    let manager = self_managed(&fake, Duration::from_secs(9));
    let first = manager.issue().await.unwrap();
    assert_eq!(certificates(&fake.ca_bundle()), [der(&first.ca_pem)]);
    let tls = certs::rustls_config(&first.cert_pem, &first.key_pem).unwrap();
    let server = RunningWebhook::start_with(tls.clone());
    let renewer = tokio::spawn(manager.renew_forever(tls, Duration::from_millis(200)));
    assert!(is_served_to(server.addr, first.ca_pem.as_bytes()).await);

    assert!(
        eventually(Duration::from_secs(15), async || certificates(&fake.ca_bundle()).len()
            == 2)
        .await,
        "a second CA is added to the caBundle within 15 s"
    );
    let bundle = fake.ca_bundle();
    let [renewed_ca, kept_ca] = certificates(&bundle).try_into().unwrap();
    assert_eq!(
        kept_ca,
        der(&first.ca_pem),
        "the first CA stays trusted until it expires"
    );
    assert_ne!(renewed_ca, der(&first.ca_pem));

    // The API server trusts exactly the caBundle; the renewed pair is what it is served now.
    assert_served_soon(server.addr, &pem_of(&renewed_ca), "the renewed certificate is served").await;
    let mut connection = Connection::open(connect(server.addr, trusting(&[&bundle]), "localhost").await.unwrap()).await;
    assert_eq!(
        connection.review(REVIEW_TO_V2).await["response"]["result"]["status"],
        "Success"
    );
    assert!(
        !is_served_to(server.addr, first.ca_pem.as_bytes()).await,
        "the first certificate is no longer served"
    );
    renewer.abort();
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_renewal_the_api_server_refuses_keeps_serving_the_current_certificate_and_is_retried() {
    let fake = FakeApi::with_crd();
    let manager = self_managed(&fake, Duration::from_secs(9));
    let first = manager.issue().await.unwrap();
    let tls = certs::rustls_config(&first.cert_pem, &first.key_pem).unwrap();
    let server = RunningWebhook::start_with(tls.clone());
    fake.0.lock().unwrap().forbid_patches = true;
    let renewer = tokio::spawn(manager.renew_forever(tls, Duration::from_millis(200)));

    assert!(
        eventually(Duration::from_secs(15), async || fake
            .0
            .lock()
            .unwrap()
            .patches_received
            >= 3)
        .await,
        "the renewal is tried and tried again"
    );
    // Nothing the API server does not trust is served.
    assert_eq!(certificates(&fake.ca_bundle()), [der(&first.ca_pem)]);
    assert!(is_served_to(server.addr, first.ca_pem.as_bytes()).await);

    fake.0.lock().unwrap().forbid_patches = false;
    assert!(
        eventually(Duration::from_secs(5), async || certificates(&fake.ca_bundle()).len()
            == 2)
        .await,
        "the next retry installs the renewed CA"
    );
    assert_served_soon(
        server.addr,
        &pem_of(&certificates(&fake.ca_bundle())[0]),
        "and serves the renewed certificate",
    )
    .await;
    renewer.abort();
    server.stop().await.unwrap();
}

fn pem_of(certificate: &CertificateDer<'_>) -> String {
    pem::encode(&pem::Pem::new("CERTIFICATE", certificate.to_vec()))
}
