//! Leader election on a `coordination.k8s.io/v1` Lease, so several replicas can run and only one
//! reconciles. The election itself is kube-lease-manager's: it takes a free lease with a
//! server-side apply (so of two candidates exactly one wins, by field ownership), renews it with
//! patches `renew_period` apart, waits out a lease held by someone else until it expires, and
//! releases it on request.
//!
//! What this module adds is the holder's side of safety, which the crate leaves to its user: a
//! renewal that failed is retried, and if no renewal is seen to land within half the time the
//! lease had left, this replica stops leading — before any candidate may take over. (The crate
//! only reports errors; a holder that kept leading through them could lead beside a new leader.)

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::{Api, Client};
use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::time::Instant;

/// The Lease name the Go operator uses; kept so a mixed roll-out still has a single leader.
pub const DEFAULT_LEASE_NAME: &str = "locust-k8s-operator.locust.io";

/// Default lease duration (client-go's default).
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

/// Default time between two renewals of a held lease.
pub const DEFAULT_RENEW_PERIOD: Duration = Duration::from_secs(5);

/// Where the lease lives, who we are, and how often we renew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    /// Lease name, normally [`DEFAULT_LEASE_NAME`].
    pub name: String,
    /// The operator's own namespace.
    pub namespace: String,
    /// This replica's identity, unique among replicas (see [`unique_identity`]).
    pub identity: String,
    /// How long a lease stays valid without renewal (whole seconds, as the Lease stores it).
    pub lease_duration: Duration,
    /// Time between renewals (whole seconds, shorter than the lease duration).
    pub renew_period: Duration,
}

impl LeaseSettings {
    /// Settings with the default durations (15 s lease, renewed every 5 s).
    pub fn new(name: impl Into<String>, namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_period: DEFAULT_RENEW_PERIOD,
        }
    }

    /// How long a held lease still has when a renewal falls due: kube-lease-manager's "grace".
    pub fn grace(&self) -> Duration {
        self.lease_duration.saturating_sub(self.renew_period)
    }

    /// How long the holder keeps leading after a renewal failed, retrying, before it checks
    /// whether one landed: half of [`LeaseSettings::grace`], so it has stopped well before the
    /// lease can expire for anyone else.
    pub fn step_down_after(&self) -> Duration {
        self.grace() / 2
    }

    /// The longest one lease request may take, so a hung request counts as a failed one in time
    /// (a quarter of the grace; what [`lease_client_config`] sets).
    pub fn request_timeout(&self) -> Duration {
        self.grace() / 4
    }

    /// Time between retries after an error: often while holding the lease (the grace is short),
    /// once a renew period otherwise.
    fn retry_after_error(&self, leading: bool) -> Duration {
        if leading {
            self.request_timeout().min(Duration::from_secs(1))
        } else {
            self.renew_period
        }
    }

    /// Refuses settings that cannot give a safe election.
    pub fn validate(&self) -> Result<(), LeaderError> {
        let whole_seconds = |duration: Duration| duration.subsec_nanos() == 0 && duration.as_secs() > 0;
        let problem = if self.name.is_empty() {
            "the lease name is empty"
        } else if self.namespace.is_empty() {
            "the lease namespace is empty"
        } else if self.identity.is_empty() {
            "the identity is empty"
        } else if !whole_seconds(self.lease_duration) || !whole_seconds(self.renew_period) {
            "the lease duration and the renew period must be whole seconds, at least one"
        } else if self.renew_period >= self.lease_duration {
            "the renew period must be shorter than the lease duration"
        } else {
            return Ok(());
        };
        Err(LeaderError::InvalidSettings(problem.to_string()))
    }
}

/// The client configuration for lease requests: `config` with every request bounded by
/// [`LeaseSettings::request_timeout`], so a renewal that hangs fails while the lease still holds.
pub fn lease_client_config(mut config: kube::Config, settings: &LeaseSettings) -> kube::Config {
    let timeout = Some(settings.request_timeout().max(Duration::from_millis(100)));
    config.connect_timeout = timeout;
    config.read_timeout = timeout;
    config.write_timeout = timeout;
    config
}

/// An identity unique to this process: `<base>_<random hex>`. The random part keeps two replicas
/// apart even when they share a name (a restarted pod, or a PID that is 1 in every container).
pub fn unique_identity(base: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    // RandomState is seeded randomly per process, which is all the uniqueness needed here.
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(Timestamp::now().as_nanosecond().unsigned_abs());
    hasher.write_u32(std::process::id());
    format!("{base}_{:016x}", hasher.finish())
}

/// Why leader election could not run.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The settings cannot give a safe election.
    #[error("invalid leader election settings: {0}")]
    InvalidSettings(String),
}

/// Competes for the lease until `shutdown` resolves, publishing on `leading` whether this replica
/// is the leader (every change is sent; the initial value should be `false`).
///
/// `leading` turns false when the lease is lost: another holder is seen, or no renewal landed
/// within [`LeaseSettings::step_down_after`] of a failed one. The caller must then stop
/// reconciling (typically by exiting). Election keeps running afterwards, so leadership can come
/// back.
///
/// On shutdown, `leading` is set to false first and then, if this replica held the lease, the
/// lease is released so a standby takes it at its next look. Resolve `shutdown` only once
/// reconciling has stopped, and await this function before exiting, or the release never happens.
///
/// API errors are logged and retried; only invalid settings end it with an error.
pub async fn acquire_and_hold(
    client: Client,
    settings: LeaseSettings,
    leading: watch::Sender<bool>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), LeaderError> {
    settings.validate()?;
    let mut shutdown = std::pin::pin!(shutdown);
    let mut elector = Elector {
        leases: Api::namespaced(client.clone(), &settings.namespace),
        client,
        settings,
        leading,
        renewal_failed: None,
    };
    'election: loop {
        let Some(manager) = elector.manager(&mut shutdown).await else {
            break 'election;
        };
        loop {
            let check_at = elector
                .renewal_failed
                .map(|(at, _)| at + elector.settings.step_down_after());
            let wake = tokio::select! {
                biased;
                () = &mut shutdown => Wake::Shutdown,
                () = sleep_until_some(check_at) => Wake::CheckRenewal,
                changed = manager.changed() => Wake::Changed(changed),
            };
            match wake {
                Wake::Shutdown => {
                    elector.shut_down(&manager).await;
                    break 'election;
                }
                Wake::CheckRenewal => {
                    if !elector.renewed_since_failure().await {
                        // The manager still believes it holds the lease: start afresh from what
                        // the API server says, as a follower.
                        elector.lose("no renewal of the lease landed in time");
                        continue 'election;
                    }
                    tracing::info!(lease = %elector.settings.name, "renewing the lease again");
                    elector.renewal_failed = None;
                }
                Wake::Changed(Ok(now_leading)) => elector.publish(now_leading),
                Wake::Changed(Err(error)) => {
                    let is_leading = elector.is_leading();
                    tracing::warn!(lease = %elector.settings.name, %error, leading = is_leading, "lease request failed");
                    if is_leading && elector.renewal_failed.is_none() {
                        elector.renewal_failed = Some((Instant::now(), Timestamp::now()));
                    }
                    let retry = elector.settings.retry_after_error(is_leading);
                    tokio::select! {
                        biased;
                        () = &mut shutdown => {
                            elector.shut_down(&manager).await;
                            break 'election;
                        }
                        () = sleep_until_some(check_at) => {}
                        () = tokio::time::sleep(retry) => {}
                    }
                }
            }
        }
    }
    elector.publish(false);
    Ok(())
}

enum Wake {
    Shutdown,
    CheckRenewal,
    Changed(kube_lease_manager::Result<bool>),
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

struct Elector {
    client: Client,
    leases: Api<Lease>,
    settings: LeaseSettings,
    leading: watch::Sender<bool>,
    /// While leading: since when (monotonic, and wall clock as renewals are stamped) renewals
    /// have been failing, if they have.
    renewal_failed: Option<(Instant, Timestamp)>,
}

impl Elector {
    fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }

    fn publish(&mut self, now_leading: bool) {
        let changed = self.leading.send_if_modified(|leading| {
            let changed = *leading != now_leading;
            *leading = now_leading;
            changed
        });
        if changed {
            let (lease, identity) = (&self.settings.name, &self.settings.identity);
            if now_leading {
                tracing::info!(%lease, %identity, "acquired the lease");
            } else {
                tracing::warn!(%lease, %identity, "lost leadership: another replica holds the lease");
            }
        }
        self.renewal_failed = None;
    }

    fn lose(&mut self, why: &str) {
        if self.is_leading() {
            tracing::warn!(lease = %self.settings.name, identity = %self.settings.identity, "lost leadership: {why}");
        }
        self.leading
            .send_if_modified(|leading| std::mem::replace(leading, false));
        self.renewal_failed = None;
    }

    /// A lease manager, retrying (until shutdown) while the API server cannot be reached; None
    /// on shutdown. It reads the lease, creating it when it does not exist.
    async fn manager(&self, shutdown: &mut std::pin::Pin<&mut impl Future<Output = ()>>) -> Option<LeaseManager> {
        let settings = &self.settings;
        loop {
            let build = LeaseManagerBuilder::new(self.client.clone(), &settings.name)
                .with_namespace(&settings.namespace)
                .with_identity(&settings.identity)
                .with_field_manager(format!("locust-operator-{}", settings.identity))
                .with_duration(settings.lease_duration.as_secs())
                .with_grace(settings.grace().as_secs())
                .build();
            tokio::select! {
                biased;
                () = &mut *shutdown => return None,
                built = build => match built {
                    Ok(manager) => return Some(manager),
                    Err(error) => tracing::warn!(lease = %settings.name, %error, "cannot read or create the lease"),
                },
            }
            tokio::select! {
                biased;
                () = &mut *shutdown => return None,
                () = tokio::time::sleep(settings.renew_period) => {}
            }
        }
    }

    /// Whether the lease shows a renewal by us after renewals began to fail, and is still valid.
    async fn renewed_since_failure(&self) -> bool {
        let Some((_, failed_at)) = self.renewal_failed else {
            return true;
        };
        let lease =
            match tokio::time::timeout(self.settings.request_timeout(), self.leases.get(&self.settings.name)).await {
                Ok(Ok(lease)) => lease,
                Ok(Err(error)) => {
                    tracing::warn!(lease = %self.settings.name, %error, "cannot read the lease");
                    return false;
                }
                Err(_) => return false,
            };
        let Some(spec) = lease.spec else { return false };
        let duration = SignedDuration::try_from(self.settings.lease_duration).unwrap_or(SignedDuration::ZERO);
        let valid_renewal_since_failure = spec.renew_time.is_some_and(|renewed| {
            renewed.0 >= failed_at
                && renewed
                    .0
                    .checked_add(duration)
                    .is_ok_and(|expires| expires > Timestamp::now())
        });
        spec.holder_identity.as_deref() == Some(self.settings.identity.as_str()) && valid_renewal_since_failure
    }

    /// Stops leading, then releases the lease if this replica holds it (bounded by the grace).
    async fn shut_down(&mut self, manager: &LeaseManager) {
        let held = self.is_leading();
        self.leading
            .send_if_modified(|leading| std::mem::replace(leading, false));
        if !held {
            return;
        }
        match tokio::time::timeout(self.settings.grace(), manager.release()).await {
            Ok(Ok(())) => tracing::info!(lease = %self.settings.name, "released the lease"),
            Ok(Err(error)) => tracing::warn!(lease = %self.settings.name, %error, "cannot release the lease"),
            Err(_) => tracing::warn!(lease = %self.settings.name, "releasing the lease timed out"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn defaults_renew_every_five_seconds_and_step_down_well_before_the_lease_expires() {
        let settings = LeaseSettings::new(DEFAULT_LEASE_NAME, "ns", "me");
        assert_eq!(settings.lease_duration, Duration::from_secs(15));
        assert_eq!(settings.renew_period, Duration::from_secs(5));
        assert!(settings.validate().is_ok());
        // A renewal falls due with 10 s left; after one fails the holder checks at +5 s and has
        // decided, its read bounded by 2.5 s, with 2.5 s of the lease still left.
        assert_eq!(settings.grace(), Duration::from_secs(10));
        assert_eq!(settings.step_down_after(), Duration::from_secs(5));
        assert_eq!(settings.request_timeout(), Duration::from_millis(2500));
        assert!(settings.step_down_after() + settings.request_timeout() < settings.grace());
        assert_eq!(settings.retry_after_error(true), Duration::from_secs(1));
        assert_eq!(settings.retry_after_error(false), Duration::from_secs(5));
    }

    #[test]
    fn settings_that_cannot_give_a_safe_election_are_refused() {
        let settings = LeaseSettings::new(DEFAULT_LEASE_NAME, "ns", "me");
        let refused = [
            LeaseSettings {
                renew_period: Duration::from_secs(15),
                ..settings.clone()
            },
            LeaseSettings {
                lease_duration: Duration::from_millis(1500),
                ..settings.clone()
            },
            LeaseSettings {
                renew_period: Duration::ZERO,
                ..settings.clone()
            },
            LeaseSettings {
                identity: String::new(),
                ..settings.clone()
            },
            LeaseSettings {
                namespace: String::new(),
                ..settings
            },
        ];
        for settings in refused {
            assert!(
                matches!(settings.validate(), Err(LeaderError::InvalidSettings(_))),
                "{settings:?}"
            );
        }
    }

    #[test]
    fn lease_requests_are_bounded_by_a_quarter_of_the_grace() {
        let settings = LeaseSettings {
            lease_duration: Duration::from_secs(3),
            renew_period: Duration::from_secs(1),
            ..LeaseSettings::new(DEFAULT_LEASE_NAME, "ns", "me")
        };
        let config = lease_client_config(kube::Config::new("http://127.0.0.1:1".parse().unwrap()), &settings);
        assert_eq!(config.read_timeout, Some(Duration::from_millis(500)));
        assert_eq!(config.write_timeout, Some(Duration::from_millis(500)));
        assert_eq!(config.connect_timeout, Some(Duration::from_millis(500)));
    }

    #[test]
    fn unique_identities_differ_and_keep_the_base() {
        let first = unique_identity("operator-7f9");
        let second = unique_identity("operator-7f9");
        assert!(first.starts_with("operator-7f9_"));
        assert_ne!(first, second);
    }
}
