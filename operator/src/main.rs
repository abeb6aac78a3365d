//! The operator binary: flags, logging and start-up checks, then the HTTP endpoints, the
//! conversion webhook, leader election, the live-statistics scraper and the controller, until
//! SIGTERM.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use kube::api::{Api, ListParams};
use kube::{Client, Config};
use operator::cli::{Args, LogFormat};
use operator::context::Context;
use operator::controller::{self, Scope};
use operator::http::{self, Health};
use operator::metrics::Metrics;
use operator::scrape::{Access, Scraper, StatsCache};
use operator::{certs, leader, webhook};
use shared::api::v2::LocustTest;
use shared::config::OperatorConfig;
use tokio::sync::watch;

/// Exit code for configuration errors (bad flags or environment).
const EXIT_CONFIG: u8 = 2;
/// How often mounted webhook certificates are checked for renewal.
const CERT_RELOAD: std::time::Duration = std::time::Duration::from_secs(60);

/// Names this operator in every request, as client-go does, so an API server's audit log tells
/// its requests apart.
const USER_AGENT: &str = concat!("locust-operator/", env!("CARGO_PKG_VERSION"));

/// kube-client's HTTP trace layer logs every 5xx answer at ERROR, with nothing that says which
/// test: a master not serving yet behind the API server's proxy made hundreds of such lines. The
/// operator logs what matters itself (failed reconciles, a master it cannot read, once per change).
const QUIET_LIBRARY_TRACES: &str = "kube_client::client::builder=off";

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{level},{QUIET_LIBRARY_TRACES}")));
    // Colour only on a terminal: redirected to a file (the quickstart's log), escape codes are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()));
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn kube_config(args: &Args) -> anyhow::Result<Config> {
    connect::kubeconfig::kube_config(args.kubeconfig.as_deref(), args.context.as_deref(), USER_AGENT)
        .await
        .map_err(|error| match error {
            connect::kubeconfig::KubeconfigError::Nothing(_) => {
                anyhow::anyhow!("{error}: run in a pod, or set KUBECONFIG / --kubeconfig / --context")
            }
            other => anyhow::Error::new(other),
        })
}

/// Fails early, with what to do, when the cluster is unreachable or the CRD is missing.
async fn check_crd_installed(client: &Client, scope: &Scope) -> anyhow::Result<()> {
    let api: Api<LocustTest> = match scope {
        Scope::Cluster => Api::all(client.clone()),
        Scope::Namespace(namespace) => Api::namespaced(client.clone(), namespace),
    };
    match api.list(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => anyhow::bail!(
            "the LocustTest CRD (locusttests.locust.io, version v2) is not installed in this cluster: install it with \
             `helm install locust-operator charts/locust-operator` or \
             `kubectl apply --server-side -f charts/locust-operator/files/locusttests.locust.io.yaml`"
        ),
        Err(kube::Error::Api(status)) if status.code == 403 => anyhow::bail!(
            "not allowed to list locusttests.locust.io ({}): grant the operator's service account the chart's RBAC",
            status.message
        ),
        Err(error) => Err(anyhow::Error::new(error).context("cannot reach the Kubernetes API server")),
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

async fn start_webhook(
    args: &Args,
    client: &Client,
    namespace: &str,
    stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let tls = match &args.webhook_cert_path {
        Some(dir) => {
            let (cert, key) = (dir.join(&args.webhook_cert_name), dir.join(&args.webhook_cert_key));
            // cert-manager may still be issuing the certificate when the pod starts.
            let (cert_pem, key_pem) = certs::wait_for_mounted(&cert, &key, args.webhook_cert_wait()).await?;
            let tls = certs::rustls_config(&cert_pem, &key_pem).context("invalid webhook certificate")?;
            // Renewed certificates are served without a restart.
            tokio::spawn(certs::reload_mounted_on_change(
                tls.clone(),
                cert,
                key,
                (cert_pem, key_pem),
                CERT_RELOAD,
            ));
            tls
        }
        None => {
            let self_managed = webhook::SelfManagedCert {
                client: client.clone(),
                dns_names: certs::service_dns_names(&args.webhook_service_name, namespace),
                service_namespace: namespace.to_string(),
                service_name: args.webhook_service_name.clone(),
                port: args.webhook_service_port,
                validity: certs::SELF_SIGNED_VALIDITY,
            };
            let serving = self_managed.issue().await?;
            let tls =
                certs::rustls_config(&serving.cert_pem, &serving.key_pem).context("invalid webhook certificate")?;
            tokio::spawn(self_managed.renew_forever(tls.clone(), webhook::RENEWAL_RETRY));
            tls
        }
    };
    let addr = args.webhook_bind_address;
    tokio::spawn(async move {
        if let Err(error) = webhook::serve(addr, tls, wait_for(stop)).await {
            tracing::error!(%error, "conversion webhook stopped");
        }
    });
    tracing::info!(%addr, "conversion webhook listening on /convert");
    Ok(())
}

/// Tells the elector to release the lease and waits until it has (bounded by its renew deadline).
async fn stop_elector(release: &watch::Sender<bool>, elector: Option<tokio::task::JoinHandle<()>>) {
    let _ = release.send(true);
    if let Some(elector) = elector {
        let _ = elector.await;
    }
}

async fn wait_for(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stopped| *stopped).await;
}

async fn run(args: Args) -> anyhow::Result<()> {
    let config =
        OperatorConfig::from_env().map_err(|error| anyhow::anyhow!("invalid operator configuration:\n{error}"))?;
    let extra_metrics_addr = args
        .metrics_address()
        .map_err(|error| anyhow::anyhow!("invalid operator configuration:\n{error}"))?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube_config = kube_config(&args).await?;
    let client = Client::try_from(kube_config.clone())?;
    let own_namespace = args
        .leader_election_namespace
        .clone()
        .or_else(|| std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace").ok())
        .unwrap_or_else(|| client.default_namespace().to_string());
    let lease_settings = if args.leader_elect {
        let pod = std::env::var("POD_NAME")
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "operator".into());
        let settings = args
            .lease_settings(&own_namespace, &leader::unique_identity(&pod))
            .map_err(|error| anyhow::anyhow!("invalid operator configuration:\n{error}"))?;
        Some(settings)
    } else {
        None
    };
    let scope = args.scope();
    check_crd_installed(&client, &scope).await?;

    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    });

    let (controller, cache, mut synced) = controller::build(&client, &scope, args.max_concurrent_reconciles);
    let phase_cache = cache.clone();
    let stats = Arc::new(StatsCache::new());
    let series_stats = stats.clone();
    let metrics = Arc::new(
        Metrics::new(Box::new(move || {
            operator::cache::phase_counts(&phase_cache).into_iter().collect()
        }))
        .with_test_series(Box::new(move || series_stats.samples())),
    );
    let health = Arc::new(Health::default());
    let router = http::router(health.clone(), metrics.clone());
    for http_addr in std::iter::once(args.health_probe_bind_address).chain(extra_metrics_addr) {
        let (router, http_stop) = (router.clone(), stop_rx.clone());
        tokio::spawn(async move {
            if let Err(error) = http::serve(http_addr, router, wait_for(http_stop)).await {
                tracing::error!(%error, %http_addr, "health and metrics server stopped");
            }
        });
    }

    if args.enable_webhooks {
        let namespace = args
            .webhook_service_namespace
            .clone()
            .unwrap_or_else(|| own_namespace.clone());
        start_webhook(&args, &client, &namespace, stop_rx.clone()).await?;
    }

    let (leading_tx, mut leading_rx) = watch::channel(!args.leader_elect);
    // The elector stops only after the controller has: it releases the lease once no reconcile runs.
    let (release_tx, release_rx) = watch::channel(false);
    let mut elector = None;
    if let Some(settings) = lease_settings {
        // Its own client: lease requests get short timeouts, so a hung renewal fails in time.
        let lease_client = Client::try_from(leader::lease_client_config(kube_config.clone(), &settings))?;
        elector = Some(tokio::spawn(async move {
            if let Err(error) = leader::acquire_and_hold(lease_client, settings, leading_tx, wait_for(release_rx)).await
            {
                tracing::error!(%error, "leader election stopped");
            }
        }));
        // A standby replica is ready: it serves the webhook and waits for the lease.
        health.set_ready(true);
        tracing::info!(lease = %args.leader_election_id, "waiting to become leader");
        let mut stopped = stop_rx.clone();
        tokio::select! {
            result = leading_rx.wait_for(|leading| *leading) => { result.context("leader election ended")?; },
            _ = stopped.wait_for(|stopped| *stopped) => {
                stop_elector(&release_tx, elector).await;
                return Ok(());
            }
        }
        health.set_not_ready("watches have not synced yet");
        metrics.set_leader(true);
        tracing::info!("became leader");
    }

    let ready_health = health.clone();
    tokio::spawn(async move {
        if synced.wait_for(|synced| *synced).await.is_ok() {
            ready_health.set_ready(true);
            tracing::info!("watches synced, ready");
        }
    });

    // Live statistics: read only while leading, like reconciles, into the cache reconciles read.
    let (controller, triggers) = controller::with_stats_triggers(controller);
    let in_cluster = std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    let access = if args.stats_through_service_dns(in_cluster) {
        Access::ServiceDns
    } else {
        // Its own client, without kube's retries of 503: a master not serving yet is read again
        // at the next interval anyway, and each retry is one more request through the API server.
        let mut stats_config = kube_config.clone();
        stats_config.default_retry = false;
        Access::ApiProxy(Client::try_from(stats_config)?)
    };
    tracing::info!(access = ?access, interval = ?args.stats_interval, "reading live statistics from masters");
    let scraper = Scraper::new(access, args.scrape_settings(), stats.clone());
    let scrape_tests = cache.tests.clone();
    let scrape_stop = stop_rx.clone();
    tokio::spawn(scraper.run(move || scrape_tests.state(), triggers, wait_for(scrape_stop)));

    let ctx = Arc::new(Context::new(client, config, args.settings(), metrics, cache).with_stats(stats));
    let mut controller_stop = stop_rx.clone();
    let mut lost = leading_rx.clone();
    let leadership_lost = async move {
        tokio::select! {
            _ = controller_stop.wait_for(|stopped| *stopped) => {},
            _ = lost.wait_for(|leading| !*leading) => {
                tracing::error!("lost leadership, stopping reconciliation");
            },
        }
    };
    controller::run(controller, ctx, leadership_lost).await;
    stop_elector(&release_tx, elector).await;
    if !*stop_rx.borrow() {
        anyhow::bail!("leadership lost: exiting so a restart can compete for the lease again");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let (log_format, log_level) = match args.logging() {
        Ok(logging) => logging,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    init_logging(log_format, &log_level);
    let ignored = args.ignored_go_flags();
    if !ignored.is_empty() {
        tracing::warn!(flags = %ignored.join(", "), "Go operator flags accepted but unused here");
    }
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let message = format!("{error:#}");
            eprintln!("error: {message}");
            if message.starts_with("invalid operator configuration") {
                ExitCode::from(EXIT_CONFIG)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
