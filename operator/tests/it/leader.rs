//! Leader election against the in-memory API server, which keeps a Lease as the real one does
//! (create, strategic merge patches, server-side apply with field ownership).
//!
//! The default settings run on paused tokio time (five minutes of renewals in milliseconds);
//! hand-overs run on real time with short leases (2 s, renewed every second), because the lease
//! library stamps and judges leases by the wall clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

// Not every helper's re-export is used here.
#[allow(unused_imports)]
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::FakeApi;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use operator::leader::{self, DEFAULT_LEASE_NAME, LeaderError, LeaseSettings};
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const NAMESPACE: &str = "locust-system";
const SAMPLE_EVERY: Duration = Duration::from_millis(20);

fn fake_api() -> FakeApi {
    FakeApi::new("2026-12-07T10:00:00Z".parse().unwrap())
}

fn lease(fake: &FakeApi) -> Option<LeaseSpec> {
    fake.get::<Lease>(NAMESPACE, DEFAULT_LEASE_NAME)
        .map(|lease| lease.spec.unwrap_or_default())
}

fn holder(fake: &FakeApi) -> Option<String> {
    lease(fake).and_then(|spec| spec.holder_identity)
}

/// The 2 s lease renewed every second that the real-time scenarios use.
fn short(identity: &str) -> LeaseSettings {
    LeaseSettings {
        lease_duration: Duration::from_secs(2),
        renew_period: Duration::from_secs(1),
        ..LeaseSettings::new(DEFAULT_LEASE_NAME, NAMESPACE, identity)
    }
}

struct Elector {
    identity: String,
    leading: watch::Receiver<bool>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), LeaderError>>,
}

impl Elector {
    fn start(client: kube::Client, settings: LeaseSettings) -> Self {
        let identity = settings.identity.clone();
        let (leading_tx, leading) = watch::channel(false);
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(leader::acquire_and_hold(client, settings, leading_tx, shutdown));
        Self {
            identity,
            leading,
            stop: Some(stop),
            task,
        }
    }

    fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }

    async fn wait_until_leading(&mut self, within: Duration) {
        tokio::time::timeout(within, self.leading.wait_for(|leading| *leading))
            .await
            .unwrap_or_else(|_| panic!("{} did not lead within {within:?}", self.identity))
            .unwrap();
    }

    /// Requests shutdown and waits (bounded) for the elector to return.
    async fn shut_down(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let result = tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("stopped in time");
        result.unwrap().unwrap();
        assert!(!*self.leading.borrow(), "not leading after shutdown");
    }

    /// Ends the elector without its shutdown path, as SIGKILL ends a process: no release.
    async fn kill(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Samples both electors until `until`, asserting there is never more than one leader; returns
/// when (time since `since`) each stopped leading and started leading, if it did.
async fn watch_handover(
    first: &Elector,
    second: &Elector,
    since: Instant,
    until: Duration,
) -> (Option<Duration>, Option<Duration>) {
    let (mut first_stopped, mut second_started) = (None, None);
    while second_started.is_none() && since.elapsed() < until {
        let (a, b) = (first.is_leading(), second.is_leading());
        assert!(!(a && b), "two leaders at {:?}", since.elapsed());
        if !a && first_stopped.is_none() {
            first_stopped = Some(since.elapsed());
        }
        if b {
            second_started = Some(since.elapsed());
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    (first_stopped, second_started)
}

#[tokio::test(start_paused = true)]
async fn with_the_default_settings_one_leader_keeps_the_lease_through_five_minutes_of_renewals() {
    let fake = fake_api();
    let mut a = Elector::start(
        fake.client(),
        LeaseSettings::new(DEFAULT_LEASE_NAME, NAMESPACE, "replica-a"),
    );
    a.wait_until_leading(Duration::from_secs(5)).await;
    let b = Elector::start(
        fake.client(),
        LeaseSettings::new(DEFAULT_LEASE_NAME, NAMESPACE, "replica-b"),
    );
    let acquired = lease(&fake).unwrap();
    assert_eq!(acquired.holder_identity.as_deref(), Some("replica-a"));
    assert_eq!(acquired.lease_duration_seconds, Some(15));
    fake.clear_requests();

    // The hand-written elector this replaced lost the lease exactly 10 s after acquiring it (and
    // took it back at once, too fast for sampling to see: any change of `leading` counts).
    a.leading.borrow_and_update();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(300) {
        let flipped = a.leading.has_changed().unwrap();
        assert!(
            a.is_leading() && !flipped,
            "replica-a stopped leading at {:?}",
            started.elapsed()
        );
        assert!(!b.is_leading(), "replica-b led at {:?}", started.elapsed());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let renewals = fake
        .requests_matching("PATCH", DEFAULT_LEASE_NAME)
        .into_iter()
        .filter(|request| request.query_param("fieldManager") == Some("locust-operator-replica-a"))
        .count();
    assert!(
        (55..=65).contains(&renewals),
        "one renewal every 5 s: {renewals} in 300 s"
    );
    let held = lease(&fake).unwrap();
    assert_eq!(held.holder_identity.as_deref(), Some("replica-a"));
    assert_eq!(held.lease_transitions, acquired.lease_transitions, "no transition");
    assert_eq!(held.acquire_time, acquired.acquire_time);
    a.shut_down().await;
    b.shut_down().await;
}

#[tokio::test]
async fn a_single_elector_takes_the_lease_renews_it_and_releases_it_on_shutdown() {
    let fake = fake_api();
    let mut elector = Elector::start(fake.client(), short("replica-a"));
    elector.wait_until_leading(Duration::from_secs(3)).await;
    let taken = lease(&fake).unwrap();
    assert_eq!(taken.holder_identity.as_deref(), Some("replica-a"));
    assert_eq!(taken.lease_duration_seconds, Some(2));
    assert!(taken.acquire_time.is_some());

    tokio::time::sleep(Duration::from_millis(2500)).await;
    let renewed = lease(&fake).unwrap();
    assert_eq!(renewed.holder_identity.as_deref(), Some("replica-a"));
    assert!(renewed.renew_time > taken.renew_time, "the holder renews");
    assert_eq!(
        renewed.acquire_time, taken.acquire_time,
        "a renewal keeps the acquisition"
    );
    assert!(elector.is_leading());

    elector.shut_down().await;
    assert_eq!(holder(&fake), None, "released on shutdown");
}

#[tokio::test]
async fn when_the_leader_shuts_down_the_standby_takes_over_within_the_lease_duration() {
    let fake = fake_api();
    let mut a = Elector::start(fake.client(), short("replica-a"));
    a.wait_until_leading(Duration::from_secs(3)).await;
    let mut b = Elector::start(fake.client(), short("replica-b"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!b.is_leading(), "the standby waits while the leader renews");

    let transitions = lease(&fake).unwrap().lease_transitions;
    let shutdown_started = Instant::now();
    a.shut_down().await;
    b.wait_until_leading(Duration::from_secs(4)).await;
    let handover = shutdown_started.elapsed();
    // The standby looks again when the lease it last saw would expire: at most one duration,
    // plus the lease library's random pause of up to a second before taking a free lease.
    assert!(handover <= Duration::from_secs(3), "took over after {handover:?}");
    let taken = lease(&fake).unwrap();
    assert_eq!(taken.holder_identity.as_deref(), Some("replica-b"));
    assert_ne!(taken.lease_transitions, transitions, "a transition is counted");
    b.shut_down().await;
}

#[tokio::test]
async fn when_the_leader_is_killed_the_standby_takes_over_once_the_lease_expires() {
    let fake = fake_api();
    let mut a = Elector::start(fake.client(), short("replica-a"));
    a.wait_until_leading(Duration::from_secs(3)).await;
    let mut b = Elector::start(fake.client(), short("replica-b"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!b.is_leading());

    let killed = Instant::now();
    a.kill().await;
    assert_eq!(holder(&fake).as_deref(), Some("replica-a"), "nothing released");
    b.wait_until_leading(Duration::from_secs(5)).await;
    let handover = killed.elapsed();
    assert!(handover <= Duration::from_secs(4), "took over after {handover:?}");
    assert_eq!(holder(&fake).as_deref(), Some("replica-b"));
    b.shut_down().await;
}

#[tokio::test]
async fn a_leader_cut_off_from_the_api_server_steps_down_before_the_standby_takes_over() {
    let fake = fake_api();
    let outage = Arc::new(AtomicBool::new(false));
    let mut a = Elector::start(fake.client_with_outage(outage.clone()), short("replica-a"));
    a.wait_until_leading(Duration::from_secs(3)).await;
    let b = Elector::start(fake.client(), short("replica-b"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(!b.is_leading());

    let last_renewal = lease(&fake).unwrap().renew_time.unwrap().0;
    outage.store(true, Ordering::SeqCst);
    let cut = Instant::now();
    let (a_stopped, b_started) = watch_handover(&a, &b, cut, Duration::from_secs(8)).await;
    let (a_stopped, b_started) = (
        a_stopped.expect("the cut-off leader stepped down"),
        b_started.expect("the standby took over"),
    );
    assert!(
        a_stopped < b_started,
        "stepped down at {a_stopped:?}, taken over at {b_started:?}"
    );
    let taken = lease(&fake).unwrap();
    assert_eq!(taken.holder_identity.as_deref(), Some("replica-b"));
    let expired_at = last_renewal
        .checked_add(k8s_openapi::jiff::SignedDuration::from_secs(2))
        .unwrap();
    assert!(
        taken.acquire_time.as_ref().unwrap().0 >= expired_at,
        "taken at {:?}, before the lease renewed at {last_renewal} expired",
        taken.acquire_time
    );

    // Back on the network, the old leader stays a follower while the new one renews.
    outage.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert!(!a.is_leading());
    assert!(b.is_leading());
    assert_eq!(holder(&fake).as_deref(), Some("replica-b"));
    a.shut_down().await;
    b.shut_down().await;
}

#[tokio::test]
async fn a_leader_whose_renewals_fail_briefly_keeps_leading() {
    let fake = fake_api();
    let outage = Arc::new(AtomicBool::new(false));
    let settings = LeaseSettings {
        lease_duration: Duration::from_secs(6),
        renew_period: Duration::from_secs(2),
        ..LeaseSettings::new(DEFAULT_LEASE_NAME, NAMESPACE, "replica-a")
    };
    let mut a = Elector::start(fake.client_with_outage(outage.clone()), settings);
    a.wait_until_leading(Duration::from_secs(3)).await;
    // Renewals fall due every 2 s; a 2.5 s outage makes one fail, the retry after it lands
    // within the 2 s the holder allows itself (half of the 4 s left).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    outage.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    outage.store(false, Ordering::SeqCst);
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        assert!(a.is_leading(), "a brief outage cost the leadership");
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    assert_eq!(holder(&fake).as_deref(), Some("replica-a"));
    a.shut_down().await;
}

#[tokio::test]
async fn invalid_settings_are_refused_before_anything_is_written() {
    let fake = fake_api();
    let settings = LeaseSettings {
        renew_period: Duration::from_secs(15),
        ..LeaseSettings::new(DEFAULT_LEASE_NAME, NAMESPACE, "replica-a")
    };
    let (leading_tx, leading) = watch::channel(false);
    let result = tokio::time::timeout(
        Duration::from_secs(2),
        leader::acquire_and_hold(fake.client(), settings, leading_tx, std::future::pending()),
    )
    .await
    .expect("returns at once");
    assert!(matches!(result, Err(LeaderError::InvalidSettings(_))), "{result:?}");
    assert!(!*leading.borrow());
    assert!(fake.requests().is_empty(), "nothing sent");
}
