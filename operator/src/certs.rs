//! Certificates of the conversion webhook: a self-made CA and serving certificate (the default,
//! so no cert-manager is needed and no Secret is read or written), or a certificate mounted from
//! a Secret (cert-manager), reloaded when it changes on disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use k8s_openapi::jiff::Timestamp;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Common name of the self-made CA.
pub const CA_COMMON_NAME: &str = "locust-operator-ca";
/// How long the self-made CA and serving certificate are valid. A new pair is made at every
/// start and again after [`renewal_delay`] of this, so an operator that runs for years keeps a
/// valid certificate.
pub const SELF_SIGNED_VALIDITY: Duration = Duration::from_secs(365 * 24 * 60 * 60);
/// How far `notBefore` is set back, so a node whose clock is a little ahead of the API server's
/// does not hand out a certificate that is not valid yet.
const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(60 * 60);

/// A CA and the serving certificate it signed, all PEM.
#[derive(Clone, PartialEq, Eq)]
pub struct ServingCert {
    /// The CA certificate, for the CRD's `caBundle`.
    pub ca_pem: String,
    /// The serving certificate.
    pub cert_pem: String,
    /// The serving certificate's private key (PKCS#8).
    pub key_pem: String,
}

// The key must never reach a log line.
impl std::fmt::Debug for ServingCert {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingCert")
            .field("ca_pem", &self.ca_pem)
            .field("cert_pem", &self.cert_pem)
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// Why a webhook certificate cannot be made, read or used.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    /// The serving certificate would name no host.
    #[error("the webhook serving certificate needs at least one DNS name or IP address")]
    NoNames,
    /// The clock is before the Unix epoch.
    #[error("the system clock ({0}) is before 1970; cannot date the webhook certificate")]
    ClockBeforeEpoch(Timestamp),
    /// rcgen could not make the certificate (e.g. a name that is not a valid DNS name).
    #[error("cannot generate the webhook certificate: {0}")]
    Generate(#[from] rcgen::Error),
    /// A mounted certificate file does not exist.
    #[error(
        "webhook certificate file {} does not exist: mount the Secret holding tls.crt and tls.key \
         (e.g. cert-manager's) at --webhook-cert-path, or leave --webhook-cert-path unset so the \
         operator makes its own certificate",
        .0.display()
    )]
    MissingFile(PathBuf),
    /// A mounted certificate file exists but cannot be read.
    #[error("cannot read webhook certificate file {}: {source}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        #[source]
        source: std::io::Error,
    },
    /// The certificate or key is not usable PEM.
    #[error("{what} is not valid: {problem}")]
    InvalidPem {
        /// Which input, e.g. the file path.
        what: String,
        /// What is wrong with it.
        problem: String,
    },
    /// rustls rejects the pair (e.g. the key does not belong to the certificate).
    #[error("the webhook certificate and key cannot serve TLS: {0}")]
    Tls(#[from] rustls::Error),
}

/// How long after it was made a self-made certificate is replaced: after two thirds of its
/// validity (cert-manager's default), which leaves a third of it for retries when the
/// replacement cannot be installed.
pub fn renewal_delay(validity: Duration) -> Duration {
    validity / 3 * 2
}

/// The names the API server may dial for the webhook Service `service` in `namespace`:
/// `<svc>`, `<svc>.<ns>`, `<svc>.<ns>.svc`, `<svc>.<ns>.svc.cluster.local`.
pub fn service_dns_names(service: &str, namespace: &str) -> Vec<String> {
    vec![
        service.to_string(),
        format!("{service}.{namespace}"),
        format!("{service}.{namespace}.svc"),
        format!("{service}.{namespace}.svc.cluster.local"),
    ]
}

/// Makes a CA (CN [`CA_COMMON_NAME`]) and a serving certificate it signs for `dns_names`, valid
/// from shortly before `now` for [`SELF_SIGNED_VALIDITY`]. A name that parses as an IP address
/// becomes an IP SAN (tests use `127.0.0.1`). The caller passes [`service_dns_names`].
pub fn self_signed(dns_names: &[String], now: Timestamp) -> Result<ServingCert, CertError> {
    self_signed_valid_for(dns_names, now, SELF_SIGNED_VALIDITY)
}

/// Like [`self_signed`], valid for `validity` instead (tests renew in seconds, not months).
pub fn self_signed_valid_for(
    dns_names: &[String],
    now: Timestamp,
    validity: Duration,
) -> Result<ServingCert, CertError> {
    if dns_names.is_empty() {
        return Err(CertError::NoNames);
    }
    let since_epoch = u64::try_from(now.as_second()).map_err(|_| CertError::ClockBeforeEpoch(now))?;
    // rcgen takes `time` dates; building them from the epoch avoids a direct `time` dependency.
    let not_before = date_time_ymd(1970, 1, 1) + Duration::from_secs(since_epoch) - CLOCK_SKEW_ALLOWANCE;
    let not_after = not_before + CLOCK_SKEW_ALLOWANCE + validity;

    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name.push(DnType::CommonName, CA_COMMON_NAME);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    let ca_key = KeyPair::generate()?;
    let ca_cert = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let mut params = CertificateParams::new(dns_names.to_vec())?;
    params
        .distinguished_name
        .push(DnType::CommonName, dns_names[0].as_str());
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // Every replica's CA has the same name; the key identifier tells clients which one signed.
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;

    Ok(ServingCert {
        ca_pem: ca_cert.pem(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    })
}

/// Reads a mounted certificate and key (cert-manager's `tls.crt` and `tls.key`) and checks that
/// they make a TLS config. Returns `(cert_pem, key_pem)`.
pub fn load_mounted(cert_path: &Path, key_path: &Path) -> Result<(String, String), CertError> {
    let cert_pem = read_pem_file(cert_path)?;
    let key_pem = read_pem_file(key_path)?;
    server_config(
        cert_pem.as_bytes(),
        &cert_path.display().to_string(),
        key_pem.as_bytes(),
        &key_path.display().to_string(),
    )?;
    Ok((cert_pem, key_pem))
}

/// Waits until both mounted files exist, then loads them like [`load_mounted`]. A Secret volume
/// marked optional starts empty until cert-manager has issued the certificate. `timeout: None`
/// waits forever. Checks every second, logs every 10 s.
pub async fn wait_for_mounted(
    cert_path: &Path,
    key_path: &Path,
    timeout: Option<Duration>,
) -> Result<(String, String), CertError> {
    let started = tokio::time::Instant::now();
    let mut last_log = started;
    loop {
        match load_mounted(cert_path, key_path) {
            Err(CertError::MissingFile(missing)) => {
                if timeout.is_some_and(|timeout| started.elapsed() >= timeout) {
                    return Err(CertError::MissingFile(missing));
                }
                if last_log.elapsed() >= Duration::from_secs(10) {
                    tracing::info!(file = %missing.display(), "waiting for the webhook certificate to be mounted");
                    last_log = tokio::time::Instant::now();
                }
            }
            loaded => return loaded,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The server TLS config for a PEM certificate (chain) and key: ring crypto, TLS 1.2 and 1.3,
/// HTTP/1.1 only (the API server's webhook client needs nothing more, and the upstream operator
/// also keeps HTTP/2 off by default).
pub fn rustls_config(cert_pem: &str, key_pem: &str) -> Result<RustlsConfig, CertError> {
    Ok(RustlsConfig::from_config(pem_server_config(cert_pem, key_pem)?))
}

/// Serves `cert_pem` and `key_pem` on `tls` from the next handshake on; connections already open
/// keep the pair they started with.
pub fn reload(tls: &RustlsConfig, cert_pem: &str, key_pem: &str) -> Result<(), CertError> {
    tls.reload_from_config(pem_server_config(cert_pem, key_pem)?);
    Ok(())
}

fn pem_server_config(cert_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, CertError> {
    let config = server_config(
        cert_pem.as_bytes(),
        "the webhook certificate",
        key_pem.as_bytes(),
        "the webhook key",
    )?;
    Ok(Arc::new(config))
}

/// Checks the mounted files every `every` and, when either changed, serves the new pair from then
/// on (cert-manager renews certificates in place). `serving` is the `(cert_pem, key_pem)` that
/// `tls` was built from. A changed pair that is not valid is logged and the current one kept.
/// Runs until dropped.
pub async fn reload_mounted_on_change(
    tls: RustlsConfig,
    cert_path: PathBuf,
    key_path: PathBuf,
    serving: (String, String),
    every: Duration,
) {
    let mut serving = serving;
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let on_disk = match (read_pem_file(&cert_path), read_pem_file(&key_path)) {
            (Ok(cert), Ok(key)) => (cert, key),
            (Err(error), _) | (_, Err(error)) => {
                tracing::warn!(%error, "cannot re-read the webhook certificate; still serving the current one");
                continue;
            }
        };
        if on_disk == serving {
            continue;
        }
        let cert_name = cert_path.display().to_string();
        let key_name = key_path.display().to_string();
        match server_config(on_disk.0.as_bytes(), &cert_name, on_disk.1.as_bytes(), &key_name) {
            Ok(config) => {
                tls.reload_from_config(Arc::new(config));
                tracing::info!(cert = %cert_name, "reloaded the webhook certificate after it changed on disk");
                serving = on_disk;
            }
            Err(error) => {
                tracing::warn!(%error, "the changed webhook certificate is not usable; still serving the current one");
            }
        }
    }
}

fn read_pem_file(path: &Path) -> Result<String, CertError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Err(CertError::MissingFile(path.to_path_buf())),
        Err(source) => Err(CertError::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

fn server_config(
    cert_pem: &[u8],
    cert_name: &str,
    key_pem: &[u8],
    key_name: &str,
) -> Result<rustls::ServerConfig, CertError> {
    let invalid = |what: &str, problem: String| CertError::InvalidPem {
        what: what.to_string(),
        problem,
    };
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(cert_name, error.to_string()))?;
    if chain.is_empty() {
        return Err(invalid(cert_name, "it holds no PEM CERTIFICATE block".to_string()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|error| invalid(key_name, error.to_string()))?;
    // An explicit provider: the process-wide default may not be installed yet.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
