//! Command-line flags (with environment fallbacks). Flag names follow the Go operator where it
//! has one (`--health-probe-bind-address`, `--leader-elect`, `--enable-webhooks`, ...), so the
//! chart's arguments carry over. Test settings (resources, Kafka, TTL, ...) are environment
//! variables read by `shared::config`, as upstream documents them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::context::Settings;
use crate::controller::Scope;
use crate::scrape::{self, ScrapeSettings};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log pipelines.
    Json,
}

/// How the operator reaches masters' web ports to read live statistics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatsAccess {
    /// Service DNS inside the cluster, the API server's service proxy outside it.
    Auto,
    /// `http://<test>-master.<namespace>.svc:8089` (needs a route from the operator pod).
    ServiceDns,
    /// The API server's service proxy (needs `get` on `services/proxy`).
    ApiProxy,
}

/// `operator` — runs distributed Locust load tests described by LocustTest resources.
#[derive(Debug, Clone, Parser)]
#[command(name = "operator", version, about, long_about = None)]
pub struct Args {
    /// Address of /healthz, /readyz and /metrics (`:8081` means all interfaces).
    #[arg(long, env = "HEALTH_PROBE_BIND_ADDRESS", default_value = ":8081", value_parser = parse_bind_address)]
    pub health_probe_bind_address: SocketAddr,

    /// Elect a leader through a Lease so several replicas are safe; only the leader reconciles.
    #[arg(long, env = "LEADER_ELECT", num_args = 0..=1, default_value_t = false, default_missing_value = "true", action = ArgAction::Set)]
    pub leader_elect: bool,

    /// Name of the Lease used for leader election.
    #[arg(long, env = "LEADER_ELECTION_ID", default_value = "locust-k8s-operator.locust.io")]
    pub leader_election_id: String,

    /// Namespace of the Lease (defaults to the operator's own namespace).
    #[arg(long, env = "POD_NAMESPACE")]
    pub leader_election_namespace: Option<String>,

    /// Serve the v1 <-> v2 conversion webhook (needed for locust.io/v1 objects).
    #[arg(long, env = "ENABLE_WEBHOOKS", num_args = 0..=1, default_value_t = false, default_missing_value = "true", action = ArgAction::Set)]
    pub enable_webhooks: bool,

    /// Address the conversion webhook listens on.
    #[arg(long, env = "WEBHOOK_BIND_ADDRESS", default_value = ":9443", value_parser = parse_bind_address)]
    pub webhook_bind_address: SocketAddr,

    /// Directory with tls.crt and tls.key (cert-manager); without it the operator makes its own
    /// certificate and writes its CA into the CRD.
    #[arg(long, env = "WEBHOOK_CERT_PATH")]
    pub webhook_cert_path: Option<PathBuf>,

    /// Service that routes the API server to the webhook.
    #[arg(long, env = "WEBHOOK_SERVICE_NAME", default_value = "locust-operator-webhook")]
    pub webhook_service_name: String,

    /// Namespace of that Service (defaults to the operator's own namespace).
    #[arg(long, env = "WEBHOOK_SERVICE_NAMESPACE")]
    pub webhook_service_namespace: Option<String>,

    /// Port of that Service.
    #[arg(long, env = "WEBHOOK_SERVICE_PORT", default_value_t = 443)]
    pub webhook_service_port: i32,

    /// How long after pod creation pod failures count (e.g. 2m, 90s).
    #[arg(long, env = "POD_HEALTH_GRACE_PERIOD", default_value = "2m", value_parser = humantime::parse_duration)]
    pub pod_health_grace_period: Duration,

    /// How often each running test's master is read for live statistics (`GET /stats/requests`),
    /// and the shortest time between two writes of `status.stats`; `0s` turns reading off.
    #[arg(long, env = "STATS_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration)]
    pub stats_interval: Duration,

    /// How long one read of a master's statistics may take before it counts as unreachable.
    #[arg(long, env = "STATS_TIMEOUT", default_value = "2s", value_parser = parse_positive_duration)]
    pub stats_timeout: Duration,

    /// How many masters are read at once.
    #[arg(long, env = "STATS_CONCURRENCY", default_value_t = scrape::DEFAULT_CONCURRENCY, value_parser = parse_concurrency)]
    pub stats_concurrency: usize,

    /// How masters are reached: `service-dns` (in-cluster), `api-proxy` (through the API server),
    /// or `auto` (service DNS when running in a pod, else the API proxy).
    #[arg(long, env = "STATS_ACCESS", value_enum, default_value_t = StatsAccess::Auto)]
    pub stats_access: StatsAccess,

    /// Watch only this namespace (a Role is then enough) instead of the whole cluster.
    #[arg(long, env = "WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,

    /// Kubeconfig context to use when running outside the cluster.
    #[arg(long)]
    pub context: Option<String>,

    /// Kubeconfig file to use when running outside the cluster (default: $KUBECONFIG, ~/.kube/config).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,

    /// Log format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Log level filter (RUST_LOG syntax, e.g. `info` or `operator=debug`).
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,
}

/// Accepts Go-style `:8081` (all interfaces) as well as `127.0.0.1:8081`.
pub fn parse_bind_address(value: &str) -> Result<SocketAddr, String> {
    let full = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_string()
    };
    full.parse()
        .map_err(|_| format!("{value:?} is not an address; use HOST:PORT or :PORT"))
}

/// A duration above zero (e.g. `2s`, `500ms`).
fn parse_positive_duration(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(duration) if !duration.is_zero() => Ok(duration),
        Ok(_) => Err("must be more than zero".into()),
        Err(error) => Err(error.to_string()),
    }
}

/// At least one read at a time.
fn parse_concurrency(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(count) if count > 0 => Ok(count),
        _ => Err(format!("{value:?} is not a whole number of at least 1")),
    }
}

impl Args {
    /// Reconcile settings from the flags.
    pub fn settings(&self) -> Settings {
        Settings {
            pod_health_grace_period: self.pod_health_grace_period,
            stats_interval: self.stats_interval,
            ..Settings::default()
        }
    }

    /// How the stats scraper reads masters.
    pub fn scrape_settings(&self) -> ScrapeSettings {
        ScrapeSettings {
            interval: self.stats_interval,
            timeout: self.stats_timeout,
            concurrency: self.stats_concurrency,
        }
    }

    /// Whether masters are read through service DNS (else through the API server's proxy);
    /// `in_cluster` is whether the operator runs in a pod (`KUBERNETES_SERVICE_HOST` is set).
    pub fn stats_through_service_dns(&self, in_cluster: bool) -> bool {
        match self.stats_access {
            StatsAccess::Auto => in_cluster,
            StatsAccess::ServiceDns => true,
            StatsAccess::ApiProxy => false,
        }
    }

    /// Where to watch.
    pub fn scope(&self) -> Scope {
        match self
            .watch_namespace
            .as_deref()
            .filter(|namespace| !namespace.is_empty())
        {
            Some(namespace) => Scope::Namespace(namespace.to_string()),
            None => Scope::Cluster,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn go_style_flags_parse() {
        let args = Args::try_parse_from([
            "operator",
            "--health-probe-bind-address=:8081",
            "--leader-elect=true",
            "--enable-webhooks",
            "--pod-health-grace-period=30s",
            "--watch-namespace=load",
        ])
        .unwrap();
        assert_eq!(args.health_probe_bind_address, "0.0.0.0:8081".parse().unwrap());
        assert!(args.leader_elect);
        assert!(args.enable_webhooks);
        assert_eq!(args.pod_health_grace_period, Duration::from_secs(30));
        assert_eq!(args.scope(), Scope::Namespace("load".into()));
        assert_eq!(args.settings().pod_health_grace_period, Duration::from_secs(30));
    }

    #[test]
    fn defaults_match_the_go_operator() {
        let args = Args::try_parse_from(["operator"]).unwrap();
        assert!(!args.leader_elect);
        assert!(!args.enable_webhooks);
        assert_eq!(args.leader_election_id, "locust-k8s-operator.locust.io");
        assert_eq!(args.pod_health_grace_period, Duration::from_secs(120));
        assert_eq!(args.scope(), Scope::Cluster);
    }

    #[test]
    fn live_statistics_defaults() {
        let args = Args::try_parse_from(["operator"]).unwrap();
        assert_eq!(
            args.scrape_settings(),
            ScrapeSettings {
                interval: Duration::from_secs(5),
                timeout: Duration::from_secs(2),
                concurrency: 16,
            }
        );
        assert_eq!(args.settings().stats_interval, Duration::from_secs(5));
        assert!(args.stats_through_service_dns(true));
        assert!(!args.stats_through_service_dns(false));
    }

    #[test]
    fn live_statistics_flags() {
        let args = Args::try_parse_from([
            "operator",
            "--stats-interval=15s",
            "--stats-timeout=500ms",
            "--stats-concurrency=64",
            "--stats-access=api-proxy",
        ])
        .unwrap();
        assert_eq!(
            args.scrape_settings(),
            ScrapeSettings {
                interval: Duration::from_secs(15),
                timeout: Duration::from_millis(500),
                concurrency: 64,
            }
        );
        assert_eq!(args.settings().stats_interval, Duration::from_secs(15));
        assert!(!args.stats_through_service_dns(true));
        let dns = Args::try_parse_from(["operator", "--stats-access", "service-dns"]).unwrap();
        assert!(dns.stats_through_service_dns(false));
        let off = Args::try_parse_from(["operator", "--stats-interval=0s"]).unwrap();
        assert!(off.scrape_settings().interval.is_zero());
    }

    #[test]
    fn live_statistics_flags_reject_useless_values() {
        for bad in [
            "--stats-timeout=0s",
            "--stats-concurrency=0",
            "--stats-concurrency=-2",
            "--stats-access=sidecar",
        ] {
            let error = Args::try_parse_from(["operator", bad]).unwrap_err().to_string();
            let flag = bad.split('=').next().unwrap();
            assert!(error.contains(flag), "{bad}: {error}");
        }
    }

    #[test]
    fn a_bad_duration_names_the_flag() {
        let error = Args::try_parse_from(["operator", "--pod-health-grace-period=soon"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--pod-health-grace-period"), "{error}");
    }
}
