//! Leader election against an in-memory Lease API that behaves like the API server for one
//! Lease: GET, POST (409 when it exists), PUT with optimistic concurrency (409 on a stale
//! resourceVersion). Short leases (1 s, renewed every 200 ms) keep each scenario to a few seconds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use k8s_openapi::api::coordination::v1::Lease;
use operator::leader::{self, DEFAULT_LEASE_NAME, LeaderError, LeaseSettings};
use serde_json::json;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

const NAMESPACE: &str = "locust-system";
const SAMPLE_EVERY: Duration = Duration::from_millis(10);

#[derive(Default)]
struct Stored {
    lease: Option<Lease>,
    resource_version: u64,
    /// Identities whose writes fail with a 500, as if their API connection were broken.
    failing: HashSet<String>,
    /// Holder after every successful write, in order.
    holders: Vec<Option<String>>,
}

#[derive(Clone, Default)]
struct FakeLeaseApi {
    stored: Arc<Mutex<Stored>>,
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

fn object(code: StatusCode, lease: &Lease) -> Response<Full<Bytes>> {
    Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(lease).unwrap())))
        .unwrap()
}

impl FakeLeaseApi {
    fn client(&self) -> kube::Client {
        let api = self.clone();
        let service = tower::service_fn(move |request: Request<kube::client::Body>| {
            let api = api.clone();
            async move { Ok::<_, Infallible>(api.handle(request).await) }
        });
        kube::Client::new(service, "default")
    }

    async fn handle(&self, request: Request<kube::client::Body>) -> Response<Full<Bytes>> {
        let collection = format!("/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases");
        let one = format!("{collection}/{DEFAULT_LEASE_NAME}");
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let body = request.into_body().collect_bytes().await.unwrap();
        let mut stored = self.stored.lock().unwrap();
        match (method, path) {
            (Method::GET, path) if path == one => match &stored.lease {
                Some(lease) => object(StatusCode::OK, lease),
                None => status(StatusCode::NOT_FOUND, "NotFound", "leases not found"),
            },
            (Method::POST, path) if path == collection => {
                let lease: Lease = serde_json::from_slice(&body).unwrap();
                assert_eq!(lease.metadata.name.as_deref(), Some(DEFAULT_LEASE_NAME));
                if stored.lease.is_some() {
                    return status(StatusCode::CONFLICT, "AlreadyExists", "leases already exists");
                }
                stored.store(lease, StatusCode::CREATED)
            }
            (Method::PUT, path) if path == one => {
                let lease: Lease = serde_json::from_slice(&body).unwrap();
                let Some(current) = &stored.lease else {
                    return status(StatusCode::NOT_FOUND, "NotFound", "leases not found");
                };
                if lease.metadata.resource_version != current.metadata.resource_version {
                    return status(StatusCode::CONFLICT, "Conflict", "the object has been modified");
                }
                stored.store(lease, StatusCode::OK)
            }
            (method, path) => panic!("unexpected request {method} {path}"),
        }
    }

    fn fail_writes_of(&self, identity: &str) {
        self.stored.lock().unwrap().failing.insert(identity.to_string());
    }

    fn lease(&self) -> Lease {
        self.stored.lock().unwrap().lease.clone().expect("lease exists")
    }

    fn holders(&self) -> Vec<Option<String>> {
        self.stored.lock().unwrap().holders.clone()
    }
}

impl Stored {
    /// Stores a write and answers with the stored object, or fails it for a broken identity.
    fn store(&mut self, mut lease: Lease, success: StatusCode) -> Response<Full<Bytes>> {
        let holder = lease.spec.as_ref().and_then(|spec| spec.holder_identity.clone());
        if holder.as_ref().is_some_and(|holder| self.failing.contains(holder)) {
            return status(StatusCode::INTERNAL_SERVER_ERROR, "InternalError", "etcd unavailable");
        }
        self.resource_version += 1;
        lease.metadata.resource_version = Some(self.resource_version.to_string());
        let reply = object(success, &lease);
        self.lease = Some(lease);
        self.holders.push(holder);
        reply
    }
}

struct Elector {
    leading: watch::Receiver<bool>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), LeaderError>>,
}

impl Elector {
    fn start(api: &FakeLeaseApi, identity: &str, lease_duration: Duration) -> Self {
        let settings = LeaseSettings {
            lease_duration,
            renew_every: Duration::from_millis(200),
            ..LeaseSettings::new(DEFAULT_LEASE_NAME, NAMESPACE, identity)
        };
        let (leading_tx, leading) = watch::channel(false);
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(leader::acquire_and_hold(api.client(), settings, leading_tx, shutdown));
        Self {
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
            .expect("became leader in time")
            .unwrap();
    }

    /// Requests shutdown and waits (bounded) for the elector to return.
    async fn shut_down(mut self) {
        let _ = self.stop.take().unwrap().send(());
        let result = tokio::time::timeout(Duration::from_secs(3), self.task)
            .await
            .expect("stopped in time");
        result.unwrap().unwrap();
        assert!(!*self.leading.borrow(), "not leading after shutdown");
    }
}

#[tokio::test]
async fn single_elector_creates_the_lease_keeps_renewing_and_releases_it_on_shutdown() {
    let api = FakeLeaseApi::default();
    let mut elector = Elector::start(&api, "replica-a", Duration::from_secs(1));
    elector.wait_until_leading(Duration::from_secs(3)).await;

    let created = api.lease().spec.unwrap();
    assert_eq!(created.holder_identity.as_deref(), Some("replica-a"));
    assert_eq!(created.lease_duration_seconds, Some(1));
    assert_eq!(created.lease_transitions, Some(0));
    assert!(created.acquire_time.is_some());
    let first_renewal = created.renew_time.unwrap().0;

    tokio::time::sleep(Duration::from_millis(700)).await;
    let renewed = api.lease().spec.unwrap();
    assert_eq!(renewed.holder_identity.as_deref(), Some("replica-a"));
    assert!(renewed.renew_time.unwrap().0 > first_renewal, "the holder renews");
    assert_eq!(
        renewed.acquire_time, created.acquire_time,
        "a renewal keeps the acquisition time"
    );
    assert!(elector.is_leading(), "still leading while renewals succeed");

    elector.shut_down().await;
    let released = api.lease().spec.unwrap();
    assert_eq!(released.holder_identity, None, "released on shutdown");
    assert_eq!(released.lease_duration_seconds, Some(1));
}

#[tokio::test]
async fn two_electors_never_lead_at_the_same_time_and_one_always_leads() {
    let api = FakeLeaseApi::default();
    let a = Elector::start(&api, "replica-a", Duration::from_secs(1));
    let b = Elector::start(&api, "replica-b", Duration::from_secs(1));

    let deadline = Instant::now() + Duration::from_secs(3);
    while !(a.is_leading() || b.is_leading()) {
        assert!(Instant::now() < deadline, "nobody became leader");
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    let first_leader = if a.is_leading() { "replica-a" } else { "replica-b" };

    // Three seconds is three lease durations: a healthy leader keeps the lease throughout.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let leaders = [a.is_leading(), b.is_leading()]
            .into_iter()
            .filter(|leading| *leading)
            .count();
        assert_eq!(leaders, 1, "exactly one leader at every sample");
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    assert_eq!(api.lease().spec.unwrap().holder_identity.as_deref(), Some(first_leader));
    assert!(
        api.holders()
            .iter()
            .all(|holder| holder.as_deref() == Some(first_leader)),
        "the lease never changed hands: {:?}",
        api.holders()
    );

    a.shut_down().await;
    b.shut_down().await;
}

#[tokio::test]
async fn a_leader_shutting_down_hands_over_long_before_the_lease_would_expire() {
    let api = FakeLeaseApi::default();
    let lease_duration = Duration::from_secs(10);
    let mut a = Elector::start(&api, "replica-a", lease_duration);
    a.wait_until_leading(Duration::from_secs(3)).await;
    let mut b = Elector::start(&api, "replica-b", lease_duration);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!b.is_leading(), "the standby waits while the leader renews");

    let mut a_leading = a.leading.clone();
    let shutdown_started = Instant::now();
    a.shut_down().await;
    b.wait_until_leading(Duration::from_secs(2)).await;
    let handover = shutdown_started.elapsed();
    assert!(
        handover < Duration::from_secs(2),
        "took over after {handover:?}, lease is {lease_duration:?}"
    );
    assert!(!*a_leading.borrow_and_update(), "the old leader stopped first");

    let lease = api.lease().spec.unwrap();
    assert_eq!(lease.holder_identity.as_deref(), Some("replica-b"));
    assert_eq!(lease.lease_duration_seconds, Some(10));
    assert_eq!(lease.lease_transitions, Some(1));
    b.shut_down().await;
}

#[tokio::test]
async fn a_leader_that_cannot_renew_steps_down_and_the_standby_takes_over_after_expiry() {
    let api = FakeLeaseApi::default();
    let lease_duration = Duration::from_secs(1);
    let mut a = Elector::start(&api, "replica-a", lease_duration);
    a.wait_until_leading(Duration::from_secs(3)).await;
    let b = Elector::start(&api, "replica-b", lease_duration);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!b.is_leading());

    api.fail_writes_of("replica-a");
    let failing_since = Instant::now();
    let mut a_stepped_down = None;
    let mut b_took_over = None;
    while b_took_over.is_none() {
        assert!(
            failing_since.elapsed() < Duration::from_secs(5),
            "no takeover within 5 s"
        );
        let (a_leads, b_leads) = (a.is_leading(), b.is_leading());
        assert!(!(a_leads && b_leads), "two leaders at {:?}", failing_since.elapsed());
        if !a_leads && a_stepped_down.is_none() {
            a_stepped_down = Some(failing_since.elapsed());
        }
        if b_leads {
            b_took_over = Some(failing_since.elapsed());
        }
        tokio::time::sleep(SAMPLE_EVERY).await;
    }
    let (a_stepped_down, b_took_over) = (a_stepped_down.unwrap(), b_took_over.unwrap());
    assert!(
        a_stepped_down < b_took_over,
        "the old leader stopped ({a_stepped_down:?}) before the takeover"
    );
    // The last renewal was at most one renewal period (200 ms) before the failures began, and the
    // standby must wait a full lease (1 s) after it.
    assert!(
        b_took_over >= Duration::from_millis(700),
        "took over at {b_took_over:?}, before the lease expired"
    );

    // The old leader keeps competing but stays a follower while the new one renews.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!a.is_leading());
    assert!(b.is_leading());
    assert_eq!(api.lease().spec.unwrap().holder_identity.as_deref(), Some("replica-b"));
    a.shut_down().await;
    b.shut_down().await;
}

#[tokio::test]
async fn invalid_settings_are_refused() {
    let api = FakeLeaseApi::default();
    let settings = LeaseSettings {
        lease_duration: Duration::from_secs(3),
        renew_every: Duration::from_secs(3),
        ..LeaseSettings::new(DEFAULT_LEASE_NAME, NAMESPACE, "replica-a")
    };
    let (leading_tx, leading) = watch::channel(false);
    let result = tokio::time::timeout(
        Duration::from_secs(2),
        leader::acquire_and_hold(api.client(), settings, leading_tx, std::future::pending()),
    )
    .await
    .expect("returns at once");
    assert!(matches!(result, Err(LeaderError::InvalidSettings(_))), "{result:?}");
    assert!(!*leading.borrow());
    assert!(api.stored.lock().unwrap().lease.is_none(), "nothing written");
}
