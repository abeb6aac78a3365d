//! Command-line flags (with environment fallbacks). Flag names follow the Go operator where it
//! has one (`--health-probe-bind-address`, `--leader-elect`, `--enable-webhooks`, ...), so the
//! chart's arguments carry over. Test settings (resources, Kafka, TTL, ...) are environment
//! variables read by `shared::config`, as upstream documents them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Parser, ValueEnum};

use crate::controller::Scope;
use crate::leader::LeaseSettings;
use crate::scrape::{self, ScrapeSettings};
use crate::settings::Settings;
use shared::status::DeriveSettings;

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

    /// How long the leader's lease stays valid without a renewal (whole seconds).
    #[arg(long, env = "LEADER_ELECTION_LEASE_DURATION", default_value = "15s", value_parser = parse_whole_seconds)]
    pub leader_election_lease_duration: Duration,

    /// Time between two renewals of the held lease (whole seconds, shorter than the lease).
    #[arg(long, env = "LEADER_ELECTION_RENEW_PERIOD", default_value = "5s", value_parser = parse_whole_seconds)]
    pub leader_election_renew_period: Duration,

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

    /// Tests reconciled at once, at most (0: no limit).
    #[arg(long, env = "MAX_CONCURRENT_RECONCILES", default_value_t = crate::controller::DEFAULT_CONCURRENCY)]
    pub max_concurrent_reconciles: u16,

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

    /// File name of the certificate in --webhook-cert-path.
    #[arg(long, default_value = "tls.crt", help_heading = GO_FLAGS)]
    pub webhook_cert_name: String,

    /// File name of the key in --webhook-cert-path.
    #[arg(long, default_value = "tls.key", help_heading = GO_FLAGS)]
    pub webhook_cert_key: String,

    /// How long to wait for the mounted webhook certificate to appear; 0 waits forever.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration, help_heading = GO_FLAGS)]
    pub webhook_cert_wait_timeout: Duration,

    /// `0` (off) or an address that serves /metrics (with /healthz and /readyz) in addition to
    /// --health-probe-bind-address, over plain HTTP.
    #[arg(long, env = "METRICS_BIND_ADDRESS", value_parser = parse_metrics_bind_address, help_heading = GO_FLAGS)]
    pub metrics_bind_address: Option<MetricsBind>,

    /// HTTPS metrics, the Go operator's default with --metrics-bind-address: not supported;
    /// pass --metrics-secure=false with --metrics-bind-address.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set, help_heading = GO_FLAGS)]
    pub metrics_secure: Option<bool>,

    /// Accepted and unused (HTTPS metrics are not supported).
    #[arg(long, help_heading = GO_FLAGS)]
    pub metrics_cert_path: Option<PathBuf>,

    /// Accepted and unused (HTTPS metrics are not supported).
    #[arg(long, help_heading = GO_FLAGS)]
    pub metrics_cert_name: Option<String>,

    /// Accepted and unused (HTTPS metrics are not supported).
    #[arg(long, help_heading = GO_FLAGS)]
    pub metrics_cert_key: Option<String>,

    /// Accepted; the servers speak HTTP/1.1 only, all the API server's webhook client needs.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set, help_heading = GO_FLAGS)]
    pub enable_http2: Option<bool>,

    /// zap's level: debug, info, warn, error, dpanic, panic, fatal, or a verbosity number
    /// (1 and up mean debug). Overrides --log-level when given.
    #[arg(long, help_heading = GO_FLAGS)]
    pub zap_log_level: Option<String>,

    /// zap's encoder: `json` or `console`. Overrides --log-format when given.
    #[arg(long, value_enum, help_heading = GO_FLAGS)]
    pub zap_encoder: Option<ZapEncoder>,

    /// zap's development mode: console lines at debug level unless --zap-encoder or
    /// --zap-log-level say otherwise.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", action = ArgAction::Set, help_heading = GO_FLAGS)]
    pub zap_devel: Option<bool>,

    /// Accepted and unused (errors carry their cause chain instead of a stack trace).
    #[arg(long, help_heading = GO_FLAGS)]
    pub zap_stacktrace_level: Option<String>,

    /// Accepted and unused (timestamps are RFC 3339).
    #[arg(long, help_heading = GO_FLAGS)]
    pub zap_time_encoding: Option<String>,
}

/// Help heading of the flags kept so the Go operator's manifests start this operator unchanged.
const GO_FLAGS: &str = "Go operator flags (accepted for drop-in manifests)";

/// zap's log encoders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ZapEncoder {
    /// One JSON object per line.
    Json,
    /// Human-readable lines.
    Console,
}

/// The Go operator's --metrics-bind-address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsBind {
    /// `0`: no metrics server of its own.
    Off,
    /// Serve there.
    At(SocketAddr),
}

/// `0` (the Go operator's "off") or a bind address.
fn parse_metrics_bind_address(value: &str) -> Result<MetricsBind, String> {
    match value {
        "0" | "" => Ok(MetricsBind::Off),
        _ => parse_bind_address(value).map(MetricsBind::At),
    }
}

/// A tracing filter for a zap level.
fn zap_level_filter(level: &str) -> Result<&'static str, String> {
    match level.to_ascii_lowercase().as_str() {
        "debug" => Ok("debug"),
        "info" => Ok("info"),
        "warn" => Ok("warn"),
        "error" | "dpanic" | "panic" | "fatal" => Ok("error"),
        number => match number.parse::<u8>() {
            Ok(0) => Ok("info"),
            Ok(1) => Ok("debug"),
            Ok(_) => Ok("trace"),
            Err(_) => Err(format!(
                "--zap-log-level={level}: use debug, info, warn, error, dpanic, panic, fatal or a verbosity number"
            )),
        },
    }
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

/// A whole number of seconds, at least one (`15s`, `1m`), as a Lease stores durations.
fn parse_whole_seconds(value: &str) -> Result<Duration, String> {
    match humantime::parse_duration(value) {
        Ok(duration) if duration.subsec_nanos() == 0 && duration.as_secs() > 0 => Ok(duration),
        Ok(_) => Err("must be a whole number of seconds, at least 1s".into()),
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
            status: DeriveSettings {
                grace_period: self.pod_health_grace_period,
                stats_interval: self.stats_interval,
            },
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

    /// The log format and filter, the Go operator's zap flags taking precedence when given.
    pub fn logging(&self) -> Result<(LogFormat, String), String> {
        let devel = self.zap_devel == Some(true);
        let format = match self.zap_encoder {
            Some(ZapEncoder::Json) => LogFormat::Json,
            Some(ZapEncoder::Console) => LogFormat::Text,
            None if devel => LogFormat::Text,
            None => self.log_format,
        };
        let level = match &self.zap_log_level {
            Some(level) => zap_level_filter(level)?.to_string(),
            None if devel => "debug".to_string(),
            None => self.log_level.clone(),
        };
        Ok((format, level))
    }

    /// The second address for the health and metrics endpoints (--metrics-bind-address), after
    /// refusing what cannot be honoured: HTTPS metrics, which the Go operator turns on by
    /// default, are not served, so they must be turned off explicitly.
    pub fn metrics_address(&self) -> Result<Option<SocketAddr>, String> {
        let Some(MetricsBind::At(address)) = self.metrics_bind_address else {
            return Ok(None);
        };
        if self.metrics_secure != Some(false) {
            return Err(format!(
                "--metrics-bind-address={address} asks for HTTPS metrics (the Go operator's --metrics-secure \
                 defaults to true), which this operator does not serve: add --metrics-secure=false for plain \
                 HTTP there, or drop --metrics-bind-address (/metrics is always on --health-probe-bind-address)"
            ));
        }
        Ok((address != self.health_probe_bind_address).then_some(address))
    }

    /// Go operator flags that were given but change nothing here, for a warning at start-up.
    pub fn ignored_go_flags(&self) -> Vec<&'static str> {
        let given = [
            ("--metrics-cert-path", self.metrics_cert_path.is_some()),
            ("--metrics-cert-name", self.metrics_cert_name.is_some()),
            ("--metrics-cert-key", self.metrics_cert_key.is_some()),
            ("--enable-http2", self.enable_http2 == Some(true)),
            ("--zap-stacktrace-level", self.zap_stacktrace_level.is_some()),
            ("--zap-time-encoding", self.zap_time_encoding.is_some()),
        ];
        given
            .into_iter()
            .filter(|(_, set)| *set)
            .map(|(flag, _)| flag)
            .collect()
    }

    /// The leader election settings for a replica named `identity`, checked: an election that
    /// could not be safe is a configuration error.
    pub fn lease_settings(&self, namespace: &str, identity: &str) -> Result<LeaseSettings, String> {
        let settings = LeaseSettings {
            lease_duration: self.leader_election_lease_duration,
            renew_period: self.leader_election_renew_period,
            ..LeaseSettings::new(self.leader_election_id.clone(), namespace, identity)
        };
        settings.validate().map_err(|error| {
            format!(
                "--leader-election-renew-period={:?} with --leader-election-lease-duration={:?}: {error}",
                self.leader_election_renew_period, self.leader_election_lease_duration
            )
        })?;
        Ok(settings)
    }

    /// How long to wait for mounted webhook certificates; `None` waits forever.
    pub fn webhook_cert_wait(&self) -> Option<Duration> {
        Some(self.webhook_cert_wait_timeout).filter(|timeout| !timeout.is_zero())
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
        assert_eq!(args.settings().status.grace_period, Duration::from_secs(30));
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
        assert_eq!(args.settings().status.stats_interval, Duration::from_secs(5));
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
        assert_eq!(args.settings().status.stats_interval, Duration::from_secs(15));
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

    /// The flags of the Go operator's own manifests (config/default and its chart).
    const GO_MANIFEST_FLAGS: [&str; 9] = [
        "--metrics-bind-address=:8080",
        "--metrics-secure=false",
        "--health-probe-bind-address=:8081",
        "--leader-elect",
        "--enable-webhooks=true",
        "--webhook-cert-path=/tmp/k8s-webhook-server/serving-certs",
        "--webhook-cert-wait-timeout=30s",
        "--zap-log-level=info",
        "--zap-encoder=json",
    ];

    #[test]
    fn the_go_operators_manifest_flags_start_this_operator() {
        let args = Args::try_parse_from(std::iter::once("operator").chain(GO_MANIFEST_FLAGS)).unwrap();
        assert_eq!(args.metrics_address(), Ok(Some("0.0.0.0:8080".parse().unwrap())));
        assert_eq!(args.logging(), Ok((LogFormat::Json, "info".to_string())));
        assert_eq!(args.webhook_cert_wait(), Some(Duration::from_secs(30)));
        assert!(args.ignored_go_flags().is_empty());
        assert!(args.leader_elect && args.enable_webhooks);
    }

    #[test]
    fn go_webhook_certificate_files_and_wait() {
        let defaults = Args::try_parse_from(["operator"]).unwrap();
        assert_eq!(
            (defaults.webhook_cert_name.as_str(), defaults.webhook_cert_key.as_str()),
            ("tls.crt", "tls.key")
        );
        assert_eq!(
            defaults.webhook_cert_wait(),
            Some(Duration::from_secs(120)),
            "upstream's 2m"
        );
        let custom = Args::try_parse_from([
            "operator",
            "--webhook-cert-name=cert.pem",
            "--webhook-cert-key=key.pem",
            "--webhook-cert-wait-timeout=0",
        ])
        .unwrap();
        assert_eq!(
            (custom.webhook_cert_name.as_str(), custom.webhook_cert_key.as_str()),
            ("cert.pem", "key.pem")
        );
        assert_eq!(custom.webhook_cert_wait(), None, "0 waits forever");
    }

    #[test]
    fn https_metrics_are_refused_with_what_to_do() {
        for flags in [
            &["--metrics-bind-address=:8443"][..],
            &["--metrics-bind-address=:8443", "--metrics-secure"],
        ] {
            let args = Args::try_parse_from(std::iter::once("operator").chain(flags.iter().copied())).unwrap();
            let error = args.metrics_address().unwrap_err();
            for words in ["HTTPS metrics", "--metrics-secure=false", "--health-probe-bind-address"] {
                assert!(error.contains(words), "{flags:?}: {words:?} missing from {error}");
            }
        }
        let off = Args::try_parse_from(["operator", "--metrics-bind-address=0"]).unwrap();
        assert_eq!(off.metrics_address(), Ok(None), "0 is the Go operator's off");
        let same =
            Args::try_parse_from(["operator", "--metrics-bind-address=:8081", "--metrics-secure=false"]).unwrap();
        assert_eq!(same.metrics_address(), Ok(None), "already served there");
    }

    #[test]
    fn zap_flags_set_the_log_format_and_level() {
        let cases: [(&[&str], LogFormat, &str); 6] = [
            (&[], LogFormat::Text, "info"),
            (&["--zap-devel"], LogFormat::Text, "debug"),
            (
                &["--zap-devel", "--zap-encoder=json", "--zap-log-level=error"],
                LogFormat::Json,
                "error",
            ),
            (&["--log-format=json", "--zap-log-level=2"], LogFormat::Json, "trace"),
            (&["--zap-log-level=panic"], LogFormat::Text, "error"),
            (&["--zap-encoder=console", "--log-format=json"], LogFormat::Text, "info"),
        ];
        for (flags, format, level) in cases {
            let args = Args::try_parse_from(std::iter::once("operator").chain(flags.iter().copied())).unwrap();
            assert_eq!(args.logging(), Ok((format, level.to_string())), "{flags:?}");
        }
        let bad = Args::try_parse_from(["operator", "--zap-log-level=loud"]).unwrap();
        assert!(bad.logging().unwrap_err().contains("--zap-log-level=loud"));
    }

    #[test]
    fn go_flags_that_change_nothing_are_named_for_a_warning() {
        let args = Args::try_parse_from([
            "operator",
            "--metrics-cert-path=/certs",
            "--enable-http2",
            "--zap-stacktrace-level=error",
            "--zap-time-encoding=iso8601",
        ])
        .unwrap();
        assert_eq!(
            args.ignored_go_flags(),
            [
                "--metrics-cert-path",
                "--enable-http2",
                "--zap-stacktrace-level",
                "--zap-time-encoding"
            ]
        );
        let http1 = Args::try_parse_from(["operator", "--enable-http2=false"]).unwrap();
        assert!(
            http1.ignored_go_flags().is_empty(),
            "asking for HTTP/1.1 is what happens"
        );
    }

    #[test]
    fn a_bad_duration_names_the_flag() {
        let error = Args::try_parse_from(["operator", "--pod-health-grace-period=soon"])
            .unwrap_err()
            .to_string();
        assert!(error.contains("--pod-health-grace-period"), "{error}");
    }
}
