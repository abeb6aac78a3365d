//! The plain-HTTP endpoints for probes and scraping: `/healthz` (the process serves), `/readyz`
//! (the controller's watches have synced) and `/metrics` (OpenMetrics text).

use std::future::{Future, IntoFuture};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::metrics::{self, Metrics};

/// How long connections may take to finish after shutdown is requested before they are dropped.
pub const SHUTDOWN_DRAIN: Duration = Duration::from_secs(5);

const NOT_SYNCED: &str = "watches have not synced yet";

/// Readiness shared between the controller and the `/readyz` endpoint.
#[derive(Debug)]
pub struct Health {
    ready: AtomicBool,
    /// Why the replica is not ready, reported by `/readyz` while it is not.
    not_ready_reason: Mutex<String>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            ready: AtomicBool::new(false),
            not_ready_reason: Mutex::new(NOT_SYNCED.to_string()),
        }
    }
}

impl Health {
    /// Marks the replica ready (`/readyz` answers 200) or not ready (503, with the last reason
    /// given to [`Health::set_not_ready`], by default that the watches have not synced).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// Marks the replica not ready and says why (a short phrase, shown by `/readyz`).
    pub fn set_not_ready(&self, reason: impl Into<String>) {
        *self
            .not_ready_reason
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = reason.into();
        self.set_ready(false);
    }

    /// Whether the replica is ready.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst)
    }

    fn not_ready_reason(&self) -> String {
        self.not_ready_reason
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }
}

#[derive(Clone)]
struct Endpoints {
    health: Arc<Health>,
    metrics: Arc<Metrics>,
}

/// The routes: GET `/healthz`, `/readyz` and `/metrics`; anything else is 404.
pub fn router(health: Arc<Health>, metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(scrape))
        .with_state(Endpoints { health, metrics })
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(endpoints): State<Endpoints>) -> (StatusCode, String) {
    if endpoints.health.is_ready() {
        (StatusCode::OK, "ready".to_string())
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {}", endpoints.health.not_ready_reason()),
        )
    }
}

async fn scrape(State(endpoints): State<Endpoints>) -> impl IntoResponse {
    // Taken at scrape time so the gauge always agrees with /readyz.
    endpoints.metrics.set_ready(endpoints.health.is_ready());
    (
        [(header::CONTENT_TYPE, metrics::CONTENT_TYPE)],
        endpoints.metrics.encode(),
    )
}

/// Serves `router` over plain HTTP on `addr` until `shutdown` resolves; see [`serve_on`].
pub async fn serve(
    addr: SocketAddr,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    // The bound address, not the requested one: with port 0 this is how scripts and tests find it.
    let bound = listener.local_addr().unwrap_or(addr);
    tracing::info!(addr = %bound, "serving /healthz, /readyz and /metrics");
    serve_on(listener, router, shutdown).await
}

/// Serves `router` on an already bound listener until `shutdown` resolves. In-flight requests
/// then get [`SHUTDOWN_DRAIN`] to finish; connections still open after that are dropped.
pub async fn serve_on(
    listener: TcpListener,
    router: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let signal = async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
    };
    let server = axum::serve(listener, router).with_graceful_shutdown(signal);
    let drain_expired = async move {
        // An Err means the server (and with it the sender) is gone: nothing left to bound.
        if stopping_rx.wait_for(|stopping| *stopping).await.is_ok() {
            tokio::time::sleep(SHUTDOWN_DRAIN).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        result = server.into_future() => result.context("HTTP server failed"),
        () = drain_expired => {
            tracing::warn!("connections still open {SHUTDOWN_DRAIN:?} after shutdown; dropping them");
            Ok(())
        }
    }
}
