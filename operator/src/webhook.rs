//! The v1 <-> v2 conversion webhook: `POST /convert` over HTTPS, answered by the shared
//! conversion, and the CRD's conversion block that sends the API server here.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams};
use shared::constants::CRD_NAME;
use shared::crd::{CONVERSION_WEBHOOK_PATH, CaBundleError, conversion_webhook_patch, merge_ca_bundle};

use crate::certs::{self, ServingCert};
use crate::settings::FIELD_MANAGER;

/// Largest `ConversionReview` accepted. The API server converts a whole list in one review, so a
/// review can be far larger than one object (etcd caps those at 1.5 MiB); 8 MiB holds thousands
/// of LocustTests while bounding what one request can make the operator allocate.
pub const MAX_REVIEW_BYTES: usize = 8 * 1024 * 1024;
/// How long in-flight conversions may take to finish once shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How many times [`install_ca_bundle`] re-reads the CRD after a conflicting write.
const INSTALL_ATTEMPTS: u32 = 5;
/// How long to wait before trying again when a renewed certificate could not be installed. The
/// served certificate still has a third of its validity left (see [`certs::renewal_delay`]).
pub const RENEWAL_RETRY: Duration = Duration::from_secs(60);

/// The webhook's routes: `POST /convert` only.
pub fn router() -> Router {
    Router::new()
        .route(CONVERSION_WEBHOOK_PATH, post(convert))
        .layer(DefaultBodyLimit::max(MAX_REVIEW_BYTES))
}

/// Answers one `ConversionReview`. Every body gets HTTP 200 with a review: a body that cannot be
/// converted gets a Failure result, which is how the API server expects a webhook to refuse.
async fn convert(headers: HeaderMap, body: Bytes) -> Response {
    if !is_json(&headers) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "a ConversionReview must be sent as Content-Type: application/json",
        )
            .into_response();
    }
    // A large list takes a while to convert; keep it off the threads the controller runs on.
    let review = match tokio::task::spawn_blocking(move || shared::api::conversion::review(&body)).await {
        Ok(review) => review,
        Err(error) => {
            tracing::error!(%error, "conversion task failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "conversion failed").into_response();
        }
    };
    if let Some(response) = &review.response {
        if response.result.is_failure() {
            tracing::warn!(uid = %response.uid, reason = %response.result.reason, message = %response.result.message, "conversion refused");
        } else {
            tracing::debug!(uid = %response.uid, objects = response.converted_objects.len(), "converted");
        }
    }
    axum::Json(review).into_response()
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case("application/json"))
}

/// Serves [`router`] over HTTPS on `addr` until `shutdown` completes, then lets in-flight
/// requests finish for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    addr: SocketAddr,
    tls: RustlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = std::net::TcpListener::bind(addr)
        .with_context(|| format!("cannot listen on {addr} for the conversion webhook"))?;
    serve_on(listener, tls, shutdown).await
}

/// Like [`serve`], on a listener bound already (tests bind port 0 and read the port first).
pub async fn serve_on(
    listener: std::net::TcpListener,
    tls: RustlsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    listener
        .set_nonblocking(true)
        .context("cannot make the conversion webhook listener non-blocking")?;
    let handle = Handle::new();
    let trigger = handle.clone();
    let stopper = tokio::spawn(async move {
        shutdown.await;
        trigger.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let server = axum_server::from_tcp_rustls(listener, tls)
        .context("cannot serve the conversion webhook on its listener")?
        .handle(handle)
        .http1_only();
    let served = server.serve(router().into_make_service()).await;
    stopper.abort();
    served.context("the conversion webhook server failed")
}

/// Why the CRD could not be pointed at the webhook.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The CRD does not exist.
    #[error(
        "CRD {CRD_NAME} is not installed: install the chart or \
         `kubectl apply -f charts/locust-operator/files/locusttests.locust.io.yaml`"
    )]
    CrdMissing,
    /// RBAC does not allow reading or patching the CRD.
    #[error(
        "not allowed to {action} CRD {CRD_NAME} ({message}): grant the operator's service account get and patch \
         on customresourcedefinitions/{CRD_NAME} (the chart's RBAC does), or mount a certificate with \
         --webhook-cert-path and let cert-manager inject the CA"
    )]
    Forbidden {
        /// `read` or `patch`.
        action: &'static str,
        /// The API server's message.
        message: String,
    },
    /// Another API error or a transport error.
    #[error("cannot {action} CRD {CRD_NAME}: {source}")]
    Kube {
        /// `read` or `patch`.
        action: &'static str,
        /// The error.
        #[source]
        source: kube::Error,
    },
    /// The CA is not a PEM certificate.
    #[error(transparent)]
    CaBundle(#[from] CaBundleError),
    /// Other writers kept changing the CRD between our read and our write.
    #[error("CRD {CRD_NAME} changed during each of {INSTALL_ATTEMPTS} attempts to add the webhook CA; giving up")]
    TooManyConflicts,
}

/// Points the CRD's conversion at the webhook Service (`service_namespace/service_name:port`,
/// path `/convert`) and adds `ca_pem` to its `caBundle`, keeping the CAs of the other replicas
/// (see [`merge_ca_bundle`]). The write carries the `resourceVersion` that was read, so two
/// replicas starting together cannot drop each other's CA: a conflict re-reads and retries.
pub async fn install_ca_bundle(
    client: kube::Client,
    ca_pem: &str,
    service_namespace: &str,
    service_name: &str,
    port: i32,
) -> Result<(), InstallError> {
    let crds: Api<CustomResourceDefinition> = Api::all(client);
    for attempt in 1..=INSTALL_ATTEMPTS {
        let crd = match crds.get(CRD_NAME).await {
            Ok(crd) => crd,
            Err(error) => return Err(api_error("read", error)),
        };
        let current_conversion = crd.spec.conversion.as_ref();
        let existing_bundle = current_conversion
            .and_then(|conversion| conversion.webhook.as_ref())
            .and_then(|webhook| webhook.client_config.as_ref())
            .and_then(|config| config.ca_bundle.as_ref())
            .map(|bundle| bundle.0.as_slice())
            .unwrap_or_default();
        let bundle = merge_ca_bundle(existing_bundle, ca_pem, Timestamp::now())?;
        let ca_count = String::from_utf8_lossy(&bundle)
            .matches("-----BEGIN CERTIFICATE-----")
            .count();
        let mut patch = conversion_webhook_patch(&bundle, service_namespace, service_name, port);
        if unchanged(&crd, &patch) {
            tracing::info!(
                crd = CRD_NAME,
                cas = ca_count,
                "CRD already routes conversions to this webhook"
            );
            return Ok(());
        }
        if let Some(resource_version) = &crd.metadata.resource_version {
            patch["metadata"] = serde_json::json!({ "resourceVersion": resource_version });
        }
        match crds
            .patch(
                CRD_NAME,
                &PatchParams {
                    field_manager: Some(FIELD_MANAGER.into()),
                    ..PatchParams::default()
                },
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {
                tracing::info!(
                    crd = CRD_NAME,
                    service = %format!("{service_namespace}/{service_name}:{port}{CONVERSION_WEBHOOK_PATH}"),
                    cas = ca_count,
                    "CRD conversion now goes to this webhook; its CA added to the caBundle"
                );
                return Ok(());
            }
            Err(kube::Error::Api(status)) if status.code == 409 => {
                tracing::info!(
                    crd = CRD_NAME,
                    attempt,
                    "CRD changed since it was read; reading it again"
                );
                tokio::time::sleep(Duration::from_millis(100 * u64::from(attempt))).await;
            }
            Err(error) => return Err(api_error("patch", error)),
        }
    }
    Err(InstallError::TooManyConflicts)
}

/// Whether the CRD already has the conversion block the patch would write.
fn unchanged(crd: &CustomResourceDefinition, patch: &serde_json::Value) -> bool {
    let wanted = &patch["spec"]["conversion"];
    let current = serde_json::to_value(&crd.spec.conversion).unwrap_or_default();
    // The patch's `url: null` means "absent", which is how the current value serializes it.
    let mut wanted = wanted.clone();
    if let Some(config) = wanted
        .pointer_mut("/webhook/clientConfig")
        .and_then(serde_json::Value::as_object_mut)
    {
        config.remove("url");
    }
    current == wanted
}

fn api_error(action: &'static str, error: kube::Error) -> InstallError {
    match error {
        kube::Error::Api(status) if status.code == 404 => InstallError::CrdMissing,
        kube::Error::Api(status) if status.code == 403 => InstallError::Forbidden {
            action,
            message: status.message,
        },
        source => InstallError::Kube { action, source },
    }
}

/// A webhook certificate the operator makes itself: the names it is made for, the Service whose
/// conversion block in the CRD must trust its CA, and how long each certificate lasts.
#[derive(Clone)]
pub struct SelfManagedCert {
    /// Client for the CRD.
    pub client: kube::Client,
    /// The names in the serving certificate (see [`certs::service_dns_names`]).
    pub dns_names: Vec<String>,
    /// Namespace of the webhook Service.
    pub service_namespace: String,
    /// Name of the webhook Service.
    pub service_name: String,
    /// Port of the webhook Service.
    pub port: i32,
    /// How long each certificate is valid ([`certs::SELF_SIGNED_VALIDITY`] outside tests).
    pub validity: Duration,
}

impl SelfManagedCert {
    /// Makes a new CA and serving certificate and adds the CA to the CRD's `caBundle`. Serve the
    /// pair only after this returned, so the API server never meets a certificate it does not
    /// trust yet.
    pub async fn issue(&self) -> anyhow::Result<ServingCert> {
        let serving = certs::self_signed_valid_for(&self.dns_names, Timestamp::now(), self.validity)?;
        install_ca_bundle(
            self.client.clone(),
            &serving.ca_pem,
            &self.service_namespace,
            &self.service_name,
            self.port,
        )
        .await?;
        Ok(serving)
    }

    /// Replaces the pair served on `tls` before it expires, for as long as it runs: after
    /// [`certs::renewal_delay`] a new pair is issued (its CA trusted first, see [`Self::issue`])
    /// and then served. The old CA stays in the bundle until it expires, so connections made with
    /// the old pair are never cut off. A failed renewal is logged and tried again after `retry`
    /// while the old pair goes on serving.
    pub async fn renew_forever(self, tls: RustlsConfig, retry: Duration) {
        let mut wait = certs::renewal_delay(self.validity);
        loop {
            tokio::time::sleep(wait).await;
            let renewed = match self.issue().await {
                Ok(serving) => certs::reload(&tls, &serving.cert_pem, &serving.key_pem).map_err(anyhow::Error::from),
                Err(error) => Err(error),
            };
            wait = match renewed {
                Ok(()) => {
                    tracing::info!(
                        valid_for_days = self.validity.as_secs() / 86_400,
                        "renewed the webhook's self-made certificate; its CA is in the CRD's caBundle"
                    );
                    certs::renewal_delay(self.validity)
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        retry_in_seconds = retry.as_secs(),
                        "cannot renew the webhook certificate; still serving the current one"
                    );
                    retry
                }
            };
        }
    }
}
