//! Leader election on a `coordination.k8s.io/v1` Lease, so several replicas can run and only one
//! reconciles. kube-runtime has no elector, so this is a small one with the client-go rules:
//!
//! * the holder renews every `renew_every` with an optimistic-concurrency replace (a 409 means
//!   the record changed under us, so it is read again before deciding anything);
//! * a candidate takes over only once the lease has expired both by its timestamps
//!   (`renewTime + leaseDurationSeconds`) and by its own stopwatch (the record has not changed
//!   for a whole lease duration since this replica first saw it), so a skewed clock on either side
//!   cannot make two leaders;
//! * the holder stops leading when it could not renew for [`LeaseSettings::renew_deadline`]
//!   (two thirds of the lease), before any candidate may take over;
//! * on shutdown the holder releases the lease (no holder, one-second duration) so a standby
//!   takes over at its next poll instead of waiting for expiry.

use std::future::Future;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;

/// The Lease name the Go operator uses; kept so a mixed roll-out still has a single leader.
pub const DEFAULT_LEASE_NAME: &str = "locust-k8s-operator.locust.io";

/// Default lease duration (client-go's default).
pub const DEFAULT_LEASE_DURATION: Duration = Duration::from_secs(15);

/// Default renewal period.
pub const DEFAULT_RENEW_EVERY: Duration = Duration::from_secs(5);

/// Where the lease lives, who we are, and how often we renew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseSettings {
    /// Lease name, normally [`DEFAULT_LEASE_NAME`].
    pub name: String,
    /// The operator's own namespace.
    pub namespace: String,
    /// This replica's identity, unique among replicas (see [`unique_identity`]).
    pub identity: String,
    /// How long a lease stays valid without renewal; stored in whole seconds (rounded up).
    pub lease_duration: Duration,
    /// How often the holder renews and a candidate polls.
    pub renew_every: Duration,
}

impl LeaseSettings {
    /// Settings with the default durations (15 s lease, renewal every 5 s).
    pub fn new(name: impl Into<String>, namespace: impl Into<String>, identity: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            namespace: namespace.into(),
            identity: identity.into(),
            lease_duration: DEFAULT_LEASE_DURATION,
            renew_every: DEFAULT_RENEW_EVERY,
        }
    }

    /// How long the holder keeps leading without a successful renewal: two thirds of the lease,
    /// so it has stopped before any candidate can consider the lease expired.
    pub fn renew_deadline(&self) -> Duration {
        self.lease_duration * 2 / 3
    }

    /// The lease duration as written in `leaseDurationSeconds`.
    fn lease_duration_seconds(&self) -> i32 {
        let rounded_up = self.lease_duration.as_secs() + u64::from(self.lease_duration.subsec_nanos() > 0);
        i32::try_from(rounded_up).unwrap_or(i32::MAX)
    }

    fn validate(&self) -> Result<(), LeaderError> {
        let problem = if self.name.is_empty() {
            "the lease name is empty"
        } else if self.namespace.is_empty() {
            "the lease namespace is empty"
        } else if self.identity.is_empty() {
            "the identity is empty"
        } else if self.lease_duration < Duration::from_secs(1) {
            "the lease duration must be at least one second"
        } else if self.renew_every.is_zero() || self.renew_every >= self.renew_deadline() {
            "the renewal period must be positive and shorter than two thirds of the lease duration"
        } else {
            return Ok(());
        };
        Err(LeaderError::InvalidSettings(problem.to_string()))
    }
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

/// What to do with the lease, given what was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// There is no lease: create it, held by us.
    Create,
    /// We hold it: renew.
    Renew,
    /// It is free (released, or expired): take it.
    TakeOver,
    /// Someone else holds a valid lease: try again later; it expires no earlier than `until`.
    Wait {
        /// When the lease expires at the earliest, if its holder stops renewing now.
        until: Timestamp,
    },
}

/// Decides what to do with `lease` (None: the object does not exist).
///
/// `unchanged_for` is how long this replica has seen the same record; together with `now` it
/// must exceed the lease duration before someone else's lease counts as expired. The lease's own
/// `leaseDurationSeconds` (the holder's promise) wins over `lease_duration`, which is only the
/// fallback for a lease without one.
pub fn decide(
    lease: Option<&LeaseSpec>,
    me: &str,
    now: Timestamp,
    unchanged_for: Duration,
    lease_duration: Duration,
) -> Decision {
    let Some(spec) = lease else { return Decision::Create };
    let holder = spec.holder_identity.as_deref().filter(|holder| !holder.is_empty());
    match holder {
        None => Decision::TakeOver,
        Some(holder) if holder == me => Decision::Renew,
        Some(_) => {
            let duration = spec
                .lease_duration_seconds
                .and_then(|seconds| u64::try_from(seconds).ok())
                .filter(|seconds| *seconds > 0)
                .map_or(lease_duration, Duration::from_secs);
            let last_renewal = spec
                .renew_time
                .as_ref()
                .or(spec.acquire_time.as_ref())
                .map(|time| time.0);
            let expires_by_stamp = last_renewal.map_or(now, |renewed| add(renewed, duration));
            let expires_by_stopwatch = add(now, duration.saturating_sub(unchanged_for));
            let until = expires_by_stamp.max(expires_by_stopwatch);
            if until <= now {
                Decision::TakeOver
            } else {
                Decision::Wait { until }
            }
        }
    }
}

fn add(time: Timestamp, duration: Duration) -> Timestamp {
    SignedDuration::try_from(duration)
        .ok()
        .and_then(|duration| time.checked_add(duration).ok())
        .unwrap_or(Timestamp::MAX)
}

/// Competes for the lease until `shutdown` resolves, publishing on `leading` whether this replica
/// is the leader (every change is sent; the initial value should be `false`).
///
/// `leading` turns false when the lease is lost: another holder is seen, or renewal failed for
/// [`LeaseSettings::renew_deadline`]. The caller must then stop reconciling (typically by exiting).
/// Election keeps running afterwards, so leadership can come back.
///
/// On shutdown, `leading` is set to false first and then, if this replica held the lease, the
/// lease is released so a standby takes over at once. Resolve `shutdown` only once reconciling
/// has stopped, and await this function before exiting, or the release never happens.
///
/// API errors are logged and retried; only invalid settings end it with an error.
pub async fn acquire_and_hold(
    client: Client,
    settings: LeaseSettings,
    leading: watch::Sender<bool>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), LeaderError> {
    settings.validate()?;
    let mut elector = Elector::new(Api::namespaced(client, &settings.namespace), settings, leading);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let deadline = elector.leading_until;
        let wake = tokio::select! {
            biased;
            () = &mut shutdown => Wake::Shutdown,
            () = sleep_until_some(deadline) => Wake::DeadlinePassed,
            () = elector.step_then_wait() => Wake::Stepped,
        };
        match wake {
            Wake::Shutdown => break,
            Wake::DeadlinePassed => elector.lose("the lease could not be renewed in time"),
            Wake::Stepped => {}
        }
    }
    elector.shut_down().await;
    Ok(())
}

enum Wake {
    Shutdown,
    DeadlinePassed,
    Stepped,
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.is_conflict() || status.is_already_exists())
}

struct Elector {
    api: Api<Lease>,
    settings: LeaseSettings,
    leading: watch::Sender<bool>,
    /// While leading: when leadership ends unless renewed (local monotonic clock).
    leading_until: Option<Instant>,
    /// The lease as we last wrote it while leading; released on shutdown.
    held: Option<Lease>,
    /// The record last read and since when it has looked the same (local monotonic clock).
    observed: Option<(Option<LeaseSpec>, Instant)>,
    /// The previous write was a renewal that hit a conflict; the retry happens without delay once.
    retried_conflict: bool,
}

impl Elector {
    fn new(api: Api<Lease>, settings: LeaseSettings, leading: watch::Sender<bool>) -> Self {
        Self {
            api,
            settings,
            leading,
            leading_until: None,
            held: None,
            observed: None,
            retried_conflict: false,
        }
    }

    fn is_leading(&self) -> bool {
        self.leading_until.is_some()
    }

    fn publish(&self, now_leading: bool) {
        self.leading.send_if_modified(|leading| {
            let changed = *leading != now_leading;
            *leading = now_leading;
            changed
        });
    }

    fn lose(&mut self, why: &str) {
        if self.is_leading() {
            tracing::warn!(lease = %self.settings.name, identity = %self.settings.identity, "lost leadership: {why}");
        }
        self.leading_until = None;
        self.held = None;
        self.publish(false);
    }

    fn won(&mut self, lease: Lease, attempt_started: Instant) {
        if !self.is_leading() {
            tracing::info!(lease = %self.settings.name, identity = %self.settings.identity, "acquired the lease");
        }
        // Counted from before the request, so leadership never outlives what the server recorded.
        self.leading_until = Some(attempt_started + self.settings.renew_deadline());
        self.observed = Some((lease.spec.clone(), attempt_started));
        self.held = Some(lease);
        self.publish(true);
    }

    /// How long the record read at `now` has looked the same to this replica.
    fn observe(&mut self, spec: Option<&LeaseSpec>, now: Instant) -> Duration {
        match &self.observed {
            Some((seen, since)) if seen.as_ref() == spec => now.saturating_duration_since(*since),
            _ => {
                self.observed = Some((spec.cloned(), now));
                Duration::ZERO
            }
        }
    }

    async fn step_then_wait(&mut self) {
        let wait = self.step().await;
        tokio::time::sleep(wait).await;
    }

    /// One read-decide-write round; returns how long to wait before the next.
    async fn step(&mut self) -> Duration {
        let poll = self.settings.renew_every;
        let attempt_started = Instant::now();
        let current = match self.api.get_opt(&self.settings.name).await {
            Ok(current) => current,
            Err(error) => {
                tracing::warn!(lease = %self.settings.name, %error, "cannot read the lease");
                return poll;
            }
        };
        let spec = current.as_ref().map(|lease| lease.spec.clone().unwrap_or_default());
        let unchanged_for = self.observe(spec.as_ref(), attempt_started);
        let now = Timestamp::now();
        let decision = decide(
            spec.as_ref(),
            &self.settings.identity,
            now,
            unchanged_for,
            self.settings.lease_duration,
        );
        let result = match (decision, current) {
            (Decision::Create, _) => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.settings.name.clone()),
                        namespace: Some(self.settings.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.held_spec(None, now)),
                };
                self.api.create(&PostParams::default(), &lease).await
            }
            (Decision::Renew | Decision::TakeOver, Some(mut lease)) => {
                lease.spec = Some(self.held_spec(lease.spec.take(), now));
                self.api
                    .replace(&self.settings.name, &PostParams::default(), &lease)
                    .await
            }
            (Decision::Renew | Decision::TakeOver, None) => return poll,
            (Decision::Wait { until }, _) => {
                if self.is_leading() {
                    let holder = spec.and_then(|spec| spec.holder_identity).unwrap_or_default();
                    self.lose(&format!("the lease is held by {holder}"));
                }
                tracing::debug!(lease = %self.settings.name, %until, "lease held by another replica");
                return poll;
            }
        };
        match result {
            Ok(lease) => {
                self.retried_conflict = false;
                self.won(lease, attempt_started);
                poll
            }
            Err(error) if is_conflict(&error) => {
                // The record changed since it was read: read it again before deciding. A holder
                // retries at once (once), so a harmless concurrent edit does not cost a renewal.
                tracing::debug!(lease = %self.settings.name, "lease changed concurrently");
                if self.is_leading() && !self.retried_conflict {
                    self.retried_conflict = true;
                    Duration::ZERO
                } else {
                    self.retried_conflict = false;
                    poll
                }
            }
            Err(error) => {
                tracing::warn!(lease = %self.settings.name, %error, "cannot write the lease");
                poll
            }
        }
    }

    /// The spec we write to hold the lease: a renewal keeps the acquisition, a takeover starts a
    /// new one and counts a transition.
    fn held_spec(&self, previous: Option<LeaseSpec>, now: Timestamp) -> LeaseSpec {
        let me = &self.settings.identity;
        let mut spec = previous.clone().unwrap_or_default();
        let renewing = spec.holder_identity.as_deref() == Some(me.as_str());
        if !renewing {
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = match previous {
                Some(previous) => Some(previous.lease_transitions.unwrap_or(0).saturating_add(1)),
                None => Some(0),
            };
        }
        spec.holder_identity = Some(me.clone());
        spec.renew_time = Some(MicroTime(now));
        spec.lease_duration_seconds = Some(self.settings.lease_duration_seconds());
        spec
    }

    async fn shut_down(mut self) {
        let held = self.held.take();
        // Stop leading before anyone else can start.
        self.leading_until = None;
        self.publish(false);
        let Some(held) = held else { return };
        let deadline = self.settings.renew_deadline();
        match tokio::time::timeout(deadline, self.release(held)).await {
            Ok(Ok(())) => tracing::info!(lease = %self.settings.name, "released the lease"),
            Ok(Err(error)) => tracing::warn!(lease = %self.settings.name, %error, "cannot release the lease"),
            Err(_) => tracing::warn!(lease = %self.settings.name, "releasing the lease timed out"),
        }
    }

    /// Empties the holder and shortens the lease to a second, so others take over at once. On a
    /// conflict it reads again and releases only if the lease is still ours.
    async fn release(&self, held: Lease) -> Result<(), kube::Error> {
        let mut lease = held;
        for _ in 0..2 {
            let mut spec = lease.spec.take().unwrap_or_default();
            if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
                return Ok(());
            }
            spec.holder_identity = None;
            spec.acquire_time = None;
            spec.renew_time = Some(MicroTime(Timestamp::now()));
            spec.lease_duration_seconds = Some(1);
            lease.spec = Some(spec);
            match self
                .api
                .replace(&self.settings.name, &PostParams::default(), &lease)
                .await
            {
                Ok(_) => return Ok(()),
                Err(error) if is_conflict(&error) => match self.api.get_opt(&self.settings.name).await? {
                    Some(current) => lease = current,
                    None => return Ok(()),
                },
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    const LEASE: Duration = Duration::from_secs(15);

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    fn held_by(holder: &str, renewed: i64, duration_seconds: Option<i32>) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(holder.to_string()),
            acquire_time: Some(MicroTime(at(0))),
            renew_time: Some(MicroTime(at(renewed))),
            lease_duration_seconds: duration_seconds,
            ..LeaseSpec::default()
        }
    }

    #[test]
    fn missing_lease_is_created() {
        assert_eq!(decide(None, "me", at(0), Duration::ZERO, LEASE), Decision::Create);
    }

    #[test]
    fn own_lease_is_renewed_even_when_expired() {
        let lease = held_by("me", 0, Some(15));
        assert_eq!(
            decide(Some(&lease), "me", at(5), Duration::ZERO, LEASE),
            Decision::Renew
        );
        assert_eq!(
            decide(Some(&lease), "me", at(100), Duration::from_secs(100), LEASE),
            Decision::Renew
        );
    }

    #[test]
    fn released_or_empty_lease_is_taken_at_once() {
        let released = LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            ..held_by("x", 0, None)
        };
        assert_eq!(
            decide(Some(&released), "me", at(0), Duration::ZERO, LEASE),
            Decision::TakeOver
        );
        let empty_holder = LeaseSpec {
            holder_identity: Some(String::new()),
            ..held_by("x", 0, Some(15))
        };
        assert_eq!(
            decide(Some(&empty_holder), "me", at(0), Duration::ZERO, LEASE),
            Decision::TakeOver
        );
        assert_eq!(
            decide(Some(&LeaseSpec::default()), "me", at(0), Duration::ZERO, LEASE),
            Decision::TakeOver
        );
    }

    #[test]
    fn valid_lease_of_another_holder_means_wait_until_it_expires() {
        let lease = held_by("other", 10, Some(15));
        assert_eq!(
            decide(Some(&lease), "me", at(12), Duration::from_secs(60), LEASE),
            Decision::Wait { until: at(25) }
        );
    }

    #[test]
    fn expired_lease_of_another_holder_is_taken_over_once_unchanged_for_a_lease_duration() {
        let lease = held_by("other", 10, Some(15));
        assert_eq!(
            decide(Some(&lease), "me", at(25), Duration::from_secs(15), LEASE),
            Decision::TakeOver
        );
        assert_eq!(
            decide(Some(&lease), "me", at(40), Duration::from_secs(30), LEASE),
            Decision::TakeOver
        );
    }

    #[test]
    fn lease_expired_by_timestamps_is_not_taken_before_this_replica_watched_it_for_a_lease_duration() {
        // Our clock may run ahead of the holder's: the stopwatch guards against that skew.
        let lease = held_by("other", 10, Some(15));
        assert_eq!(
            decide(Some(&lease), "me", at(100), Duration::from_secs(4), LEASE),
            Decision::Wait { until: at(111) }
        );
    }

    #[test]
    fn holders_lease_duration_wins_over_ours_and_ours_is_the_fallback() {
        let short = held_by("other", 10, Some(2));
        assert_eq!(
            decide(Some(&short), "me", at(12), Duration::from_secs(2), LEASE),
            Decision::TakeOver
        );
        let unspecified = held_by("other", 10, None);
        assert_eq!(
            decide(Some(&unspecified), "me", at(12), Duration::from_secs(60), LEASE),
            Decision::Wait { until: at(25) }
        );
    }

    #[test]
    fn lease_without_timestamps_expires_by_the_stopwatch_alone() {
        let lease = LeaseSpec {
            holder_identity: Some("other".into()),
            ..LeaseSpec::default()
        };
        assert_eq!(
            decide(Some(&lease), "me", at(0), Duration::from_secs(5), LEASE),
            Decision::Wait { until: at(10) }
        );
        assert_eq!(decide(Some(&lease), "me", at(0), LEASE, LEASE), Decision::TakeOver);
    }

    #[test]
    fn settings_defaults_and_validation() {
        let settings = LeaseSettings::new(DEFAULT_LEASE_NAME, "ns", "me");
        assert_eq!(settings.lease_duration, Duration::from_secs(15));
        assert_eq!(settings.renew_every, Duration::from_secs(5));
        assert_eq!(settings.renew_deadline(), Duration::from_secs(10));
        assert!(settings.validate().is_ok());
        let too_slow = LeaseSettings {
            renew_every: Duration::from_secs(10),
            ..settings.clone()
        };
        assert!(too_slow.validate().is_err());
        let no_identity = LeaseSettings {
            identity: String::new(),
            ..settings.clone()
        };
        assert!(no_identity.validate().is_err());
        let sub_second = LeaseSettings {
            lease_duration: Duration::from_millis(500),
            ..settings
        };
        assert!(sub_second.validate().is_err());
    }

    #[test]
    fn lease_duration_is_written_in_whole_seconds_rounded_up() {
        let mut settings = LeaseSettings::new("l", "ns", "me");
        settings.lease_duration = Duration::from_millis(1500);
        assert_eq!(settings.lease_duration_seconds(), 2);
        settings.lease_duration = Duration::from_secs(15);
        assert_eq!(settings.lease_duration_seconds(), 15);
    }

    #[test]
    fn unique_identities_differ_and_keep_the_base() {
        let first = unique_identity("operator-7f9");
        let second = unique_identity("operator-7f9");
        assert!(first.starts_with("operator-7f9_"));
        assert_ne!(first, second);
    }
}
