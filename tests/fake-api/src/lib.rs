//! A stateful in-memory Kubernetes API server behind a `tower` service, for driving the real
//! operator code through a real `kube::Client` without a cluster.
//!
//! It understands the request shapes `kube` sends: GET one, LIST with label and field selectors, WATCH (kept open, silent),
//! POST create, PATCH on an object and on its `/status` subresource, PUT replace and DELETE, for
//! any resource path (`/api/v1/...` and `/apis/{group}/{version}/...`, namespaced or
//! cluster-scoped). Errors come back as `metav1.Status` bodies, as the real API server sends them,
//! so `kube` turns them into `kube::Error::Api`.
//!
//! PATCH takes a JSON merge patch; a strategic merge patch, which is applied the same way (right
//! for objects without merge-keyed lists, such as a Lease); and a server-side apply, with field
//! ownership per leaf field: an apply that would change a field another manager set (by apply or
//! patch) fails with 409 `Conflict` unless forced, which is what makes two lease holders apply
//! `holderIdentity` at once end with one winner.
//!
//! GETs through the service proxy (`/api/v1/namespaces/{ns}/services/{name}:{port}/proxy/...`)
//! get the answer a test set with [`FakeApi::set_proxy_answer`], or 503 as for a Service without
//! endpoints.
//!
//! Over [`FakeApi::serve_http`], `pods/{name}/portforward` upgrades to a websocket and forwards
//! each port to the local address a test set with [`FakeApi::set_port_forward`] (module
//! `portforward` has the protocol), as the API server and kubelet forward to a pod's port.
//!
//! Every request is recorded so tests can assert which calls the operator made, and
//! [`FakeApi::fail_next`] injects one failure. Time comes from a clock the test controls, which
//! also stamps `creationTimestamp` on created objects.

// Test support: a broken fixture should stop the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Resource;
use kube::api::DynamicObject;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

mod portforward;

/// Where an object is stored: API group (`""` for core), resource plural, namespace, name.
/// The version is not part of the key: one stored version per resource, as in etcd.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// API group, `""` for the core group.
    pub group: String,
    /// Resource plural, e.g. `jobs`.
    pub plural: String,
    /// Namespace; `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    /// Object name.
    pub name: String,
}

impl ObjectKey {
    /// The key of a typed resource.
    pub fn of<K: Resource<DynamicType = ()>>(namespace: &str, name: &str) -> Self {
        Self {
            group: K::group(&()).into_owned(),
            plural: K::plural(&()).into_owned(),
            namespace: Some(namespace.to_string()),
            name: name.to_string(),
        }
    }
}

/// One request as the fake received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: Method,
    /// Path without the query, e.g. `/apis/batch/v1/namespaces/ns/jobs`.
    pub path: String,
    /// Decoded query parameters in order.
    pub query: Vec<(String, String)>,
    /// `Content-Type` header, if any.
    pub content_type: Option<String>,
    /// JSON body, if the request had one.
    pub body: Option<Value>,
    /// `User-Agent` header, if any.
    pub user_agent: Option<String>,
}

impl RecordedRequest {
    /// False for GET (one object or a list).
    pub fn is_write(&self) -> bool {
        self.method != Method::GET && self.method != Method::HEAD
    }

    /// First value of query parameter `key`.
    pub fn query_param(&self, key: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// `METHOD path`, for readable assertion messages.
    pub fn summary(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// An `events.k8s.io/v1` Event as stored (after any series PATCH by the recorder).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    /// `Normal` or `Warning`.
    pub type_: String,
    /// e.g. `TestStarted`.
    pub reason: String,
    /// The message.
    pub note: String,
    /// Name of the object the event is about.
    pub regarding: String,
    /// How often it was observed (`series.count`, 1 without a series).
    pub count: i64,
}

struct Failure {
    method: Method,
    path_contains: String,
    status: u16,
    message: String,
}

/// What the fake answers on a service-proxy path (a master's `/stats/requests`).
#[derive(Clone)]
struct ProxyAnswer {
    status: u16,
    body: Bytes,
    /// How long the answer takes (a slow or hung master).
    delay: Duration,
}

#[derive(Default)]
struct State {
    objects: BTreeMap<ObjectKey, Value>,
    requests: Vec<RecordedRequest>,
    failures: Vec<Failure>,
    /// Answers by full service-proxy path.
    proxied: BTreeMap<String, ProxyAnswer>,
    /// Services whose proxy forwards every request to a real server: by (namespace, service).
    proxy_upstreams: BTreeMap<(String, String), std::net::SocketAddr>,
    /// Service-proxy requests being answered now, and the most there ever were at once.
    proxy_in_flight: usize,
    proxy_peak: usize,
    /// Source of uids and resourceVersions; only ever grows.
    counter: u64,
    /// Container logs by (namespace, pod name), served on the `log` subresource.
    logs: BTreeMap<(String, String), String>,
    /// API groups whose resources this server does not know (a CRD not installed).
    missing_groups: std::collections::BTreeSet<String>,
    /// (method, resource plural) pairs the caller may not use, answered 403 as RBAC would.
    forbidden: Vec<(Method, String)>,
    /// Where `pods/portforward` leads: by (namespace, pod, port), a local address.
    port_forwards: BTreeMap<(String, String, u16), std::net::SocketAddr>,
    /// Field managers by object and leaf field path (`/spec/holderIdentity`), for server-side apply.
    owners: BTreeMap<ObjectKey, BTreeMap<String, BTreeSet<String>>>,
    /// Every change of a stored object, in resourceVersion order: what watches send.
    changes: Vec<Change>,
    /// Told the newest resourceVersion after every change, waking open watches.
    changed: Option<tokio::sync::watch::Sender<u64>>,
    /// Whether watches send changes ([`FakeApi::with_live_watches`]) or stay silent.
    live_watches: bool,
}

/// One change of a stored object, as a watch event.
struct Change {
    resource_version: u64,
    key: ObjectKey,
    type_: &'static str,
    object: Value,
}

impl State {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    /// Stores `object` under `key` (a new object when `type_` is ADDED) and logs the change.
    fn put(&mut self, key: ObjectKey, object: Value, type_: &'static str) {
        self.log(&key, &object, type_);
        self.objects.insert(key, object);
    }

    /// Removes the object under `key` and logs its deletion; the object, if there was one.
    fn take(&mut self, key: &ObjectKey) -> Option<Value> {
        let mut object = self.objects.remove(key)?;
        self.owners.remove(key);
        let number = self.next();
        object["metadata"]["resourceVersion"] = json!(number.to_string());
        self.log(key, &object, "DELETED");
        Some(object)
    }

    fn log(&mut self, key: &ObjectKey, object: &Value, type_: &'static str) {
        let resource_version = self.counter;
        self.changes.push(Change {
            resource_version,
            key: key.clone(),
            type_,
            object: object.clone(),
        });
        if let Some(changed) = &self.changed {
            changed.send_replace(resource_version);
        }
    }
}

/// The parts of a resource path.
#[derive(Debug, Clone)]
struct Route {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    subresource: Option<String>,
}

impl Route {
    fn parse(path: &str) -> Option<Self> {
        let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(percent_decode).collect();
        let (group, version, rest) = match segments.first().map(String::as_str) {
            Some("api") => (String::new(), segments.get(1)?.clone(), segments.get(2..)?),
            Some("apis") => (segments.get(1)?.clone(), segments.get(2)?.clone(), segments.get(3..)?),
            _ => return None,
        };
        // `namespaces/{ns}/{plural}...` is namespaced; `namespaces` or `namespaces/{name}` alone is
        // the cluster-scoped Namespace resource.
        let (namespace, rest) = if rest.first().map(String::as_str) == Some("namespaces") && rest.len() >= 3 {
            (Some(rest[1].clone()), &rest[2..])
        } else {
            (None, rest)
        };
        if rest.is_empty() || rest.len() > 3 {
            return None;
        }
        Some(Self {
            group,
            version,
            namespace,
            plural: rest[0].clone(),
            name: rest.get(1).cloned(),
            subresource: rest.get(2).cloned(),
        })
    }

    fn key(&self, name: &str) -> ObjectKey {
        ObjectKey {
            group: self.group.clone(),
            plural: self.plural.clone(),
            namespace: self.namespace.clone(),
            name: name.to_string(),
        }
    }

    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => (percent_decode(key), percent_decode(value)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

/// RFC 7386 JSON merge patch: objects merge recursively, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(target) = target {
        for (key, value) in patch {
            if value.is_null() {
                target.remove(key);
            } else {
                merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// A `metav1.Status` failure, as the API server sends it.
fn status_body(code: u16, reason: &str, message: &str, route: Option<&Route>) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": route.map(|r| json!({ "name": r.name.clone().unwrap_or_default(), "group": r.group, "kind": r.plural })),
        "code": code,
    })
}

fn reason_for(code: u16) -> &'static str {
    match code {
        400 => "BadRequest",
        403 => "Forbidden",
        404 => "NotFound",
        405 => "MethodNotAllowed",
        409 => "Conflict",
        415 => "UnsupportedMediaType",
        422 => "Invalid",
        429 => "TooManyRequests",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    }
}

/// A response body: JSON, or a watch stream that never sends an event.
type Reply = BoxBody<Bytes, Infallible>;

fn respond(code: u16, body: &Value) -> Response<Reply> {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())).boxed());
    *response.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn failure(code: u16, message: &str, route: Option<&Route>) -> Response<Reply> {
    respond(code, &status_body(code, reason_for(code), message, route))
}

/// The value at a dotted path (`involvedObject.name`), as a selector compares it.
fn field_value(object: &Value, path: &str) -> Option<String> {
    let value = path.split('.').try_fold(object, |value, segment| value.get(segment))?;
    Some(match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

/// One requirement of an equality-based selector.
#[derive(Clone)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    NotExists(String),
}

fn parse_selector(selector: &str) -> Result<Vec<Requirement>, String> {
    selector
        .split(',')
        .map(str::trim)
        .filter(|term| !term.is_empty())
        .map(|term| {
            if term.contains(" in ") || term.contains(" notin ") || term.contains('(') {
                return Err(format!("set-based selector {term:?} is not supported by the fake"));
            }
            Ok(if let Some((key, value)) = term.split_once("!=") {
                Requirement::NotEquals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) = term.split_once("==") {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) = term.split_once('=') {
                Requirement::Equals(key.trim().into(), value.trim().into())
            } else if let Some(key) = term.strip_prefix('!') {
                Requirement::NotExists(key.trim().into())
            } else {
                Requirement::Exists(term.into())
            })
        })
        .collect()
}

fn matches(requirements: &[Requirement], lookup: impl Fn(&str) -> Option<String>) -> bool {
    requirements.iter().all(|requirement| match requirement {
        Requirement::Equals(key, value) => lookup(key).as_deref() == Some(value.as_str()),
        Requirement::NotEquals(key, value) => lookup(key).as_deref() != Some(value.as_str()),
        Requirement::Exists(key) => lookup(key).is_some(),
        Requirement::NotExists(key) => lookup(key).is_none(),
    })
}

/// A cheap clone handle on one fake API server.
#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    clock: Arc<Mutex<Timestamp>>,
}

impl FakeApi {
    /// An empty API server whose clock starts at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            state: Arc::new(Mutex::new(State::default())),
            clock: Arc::new(Mutex::new(start)),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A `kube::Client` whose every request is served by this fake.
    pub fn client(&self) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |request: Request<kube::client::Body>| {
            let fake = fake.clone();
            async move { Ok::<_, Infallible>(fake.serve(request).await) }
        });
        kube::Client::new(service, "default")
    }

    /// A client like [`FakeApi::client`] whose requests fail with 503, never reaching the server,
    /// while `outage` is true: one replica cut off from the API server.
    pub fn client_with_outage(&self, outage: Arc<std::sync::atomic::AtomicBool>) -> kube::Client {
        let fake = self.clone();
        let service = tower::service_fn(move |request: Request<kube::client::Body>| {
            let (fake, outage) = (fake.clone(), outage.clone());
            async move {
                if outage.load(std::sync::atomic::Ordering::SeqCst) {
                    return Ok::<_, Infallible>(failure(503, "the connection to the server was lost", None));
                }
                Ok(fake.serve(request).await)
            }
        });
        kube::Client::new(service, "default")
    }

    // ---- watches ----

    /// Watches send every change made after the resourceVersion they start from (creates,
    /// patches, deletes, also those made through [`FakeApi::update`] and friends), as a real API
    /// server does, instead of staying silent. For tests of the controller as it runs.
    #[must_use]
    pub fn with_live_watches(self) -> Self {
        {
            let mut state = self.state();
            state.live_watches = true;
            let newest = state.counter;
            state
                .changed
                .get_or_insert_with(|| tokio::sync::watch::Sender::new(newest));
        }
        self
    }

    /// A watch of `route`'s collection from the request's `resourceVersion`: one JSON line per
    /// matching change (label and field selectors applied to the object as it is after the
    /// change), kept open until `timeoutSeconds` or the client hangs up.
    fn live_watch(&self, state: &mut State, route: &Route, request: &RecordedRequest) -> Response<Reply> {
        let selectors = (
            parse_selector(request.query_param("labelSelector").unwrap_or_default()),
            parse_selector(request.query_param("fieldSelector").unwrap_or_default()),
        );
        let (labels, fields) = match selectors {
            (Ok(labels), Ok(fields)) => (labels, fields),
            (Err(problem), _) | (_, Err(problem)) => return failure(400, &problem, Some(route)),
        };
        let since: u64 = request
            .query_param("resourceVersion")
            .and_then(|version| version.parse().ok())
            .unwrap_or(state.counter);
        let timeout = request
            .query_param("timeoutSeconds")
            .and_then(|seconds| seconds.parse().ok())
            .map_or(Duration::from_secs(300), Duration::from_secs);
        let Some(changed) = state.changed.as_ref().map(tokio::sync::watch::Sender::subscribe) else {
            return quiet_watch();
        };
        let (shared, route) = (self.state.clone(), route.clone());
        let matches_route = move |change: &Change| {
            change.key.group == route.group
                && change.key.plural == route.plural
                && (route.namespace.is_none() || change.key.namespace == route.namespace)
                && matches(&labels, |key| {
                    change.object["metadata"]["labels"]
                        .get(key)
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                && matches(&fields, |path| field_value(&change.object, path))
        };
        let events = futures::stream::unfold((since, changed), move |(mut since, mut changed)| {
            let (shared, matches_route) = (shared.clone(), matches_route.clone());
            async move {
                loop {
                    let lines: String = {
                        let state = shared.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                        let start = state.changes.partition_point(|change| change.resource_version <= since);
                        let lines = state.changes[start..]
                            .iter()
                            .filter(|change| matches_route(change))
                            .map(|change| format!("{}\n", json!({ "type": change.type_, "object": change.object })))
                            .collect();
                        since = state
                            .changes
                            .last()
                            .map_or(since, |change| change.resource_version.max(since));
                        lines
                    };
                    if !lines.is_empty() {
                        let frame = hyper::body::Frame::data(Bytes::from(lines));
                        return Some((Ok::<_, Infallible>(frame), (since, changed)));
                    }
                    changed.changed().await.ok()?;
                }
            }
        });
        let events = futures::StreamExt::take_until(events, tokio::time::sleep(timeout));
        let mut response = Response::new(StreamBody::new(events).boxed());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        response
    }

    // ---- clock ----

    /// The fake's current time.
    pub fn now(&self) -> Timestamp {
        *self.clock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut clock = self.clock.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        *clock = clock
            .checked_add(SignedDuration::try_from(by).expect("duration in range"))
            .expect("time in range");
    }

    /// A clock function reading the fake's time, for the code under test.
    pub fn clock(&self) -> Arc<dyn Fn() -> Timestamp + Send + Sync> {
        let clock = self.clock.clone();
        Arc::new(move || *clock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    // ---- failure injection ----

    /// Makes the next request with `method` whose path contains `path_contains` fail once with
    /// HTTP `status` (and a `metav1.Status` body with the matching reason). Failures queue in order.
    pub fn fail_next(&self, method: &str, path_contains: &str, status: u16) {
        self.fail_next_with(method, path_contains, status, "injected failure");
    }

    /// Like [`FakeApi::fail_next`], with the API server's `message` (e.g. a validation error).
    pub fn fail_next_with(&self, method: &str, path_contains: &str, status: u16, message: &str) {
        let method = Method::from_bytes(method.as_bytes()).expect("valid HTTP method");
        self.state().failures.push(Failure {
            method,
            path_contains: path_contains.to_string(),
            status,
            message: message.to_string(),
        });
    }

    /// Injected failures not yet triggered.
    pub fn pending_failures(&self) -> usize {
        self.state().failures.len()
    }

    // ---- service proxy ----

    /// Makes the API server's service proxy answer requests for `path`, whatever their method (e.g.
    /// `/api/v1/namespaces/load/services/demo-master:8089/proxy/stats/requests`) with `status` and
    /// `body` after `delay`. Unset proxy paths answer 503 as a Service without endpoints does.
    pub fn set_proxy_answer(&self, path: &str, status: u16, body: impl Into<Bytes>, delay: Duration) {
        self.state().proxied.insert(
            path.to_string(),
            ProxyAnswer {
                status,
                body: body.into(),
                delay,
            },
        );
    }

    /// Makes the service proxy of Service `service` in `namespace` (any port) forward every
    /// request, whatever its method, to the HTTP server at `address` (a real Locust master's web
    /// port), as the API server forwards to the Service's endpoint. Set answers still win.
    pub fn set_proxy_upstream(&self, namespace: &str, service: &str, address: std::net::SocketAddr) {
        self.state()
            .proxy_upstreams
            .insert((namespace.to_string(), service.to_string()), address);
    }

    /// The most service-proxy requests the fake was answering at the same time.
    pub fn proxy_peak_concurrency(&self) -> usize {
        self.state().proxy_peak
    }

    // ---- what the server knows and allows ----

    /// Makes every resource of API `group` unknown, as when its CRD is not installed: requests
    /// get 404 "the server could not find the requested resource" and discovery of the group fails.
    pub fn remove_group(&self, group: &str) {
        self.state().missing_groups.insert(group.to_string());
    }

    /// Answers `method` on resource `plural` (in any namespace) with 403 Forbidden, worded as the
    /// API server's RBAC authorizer words it. A subresource can be named alone
    /// (`forbid("GET", "pods/portforward")`); `pods` covers its subresources too.
    pub fn forbid(&self, method: &str, plural: &str) {
        let method = Method::from_bytes(method.as_bytes()).expect("valid HTTP method");
        self.state().forbidden.push((method, plural.to_string()));
    }

    /// Sets what `GET .../pods/{pod}/log` returns for a stored pod.
    pub fn set_pod_log(&self, namespace: &str, pod: &str, text: &str) {
        self.state()
            .logs
            .insert((namespace.to_string(), pod.to_string()), text.to_string());
    }

    /// Makes `pods/{pod}/portforward` in `namespace` forward `port` to `target` (a real Locust
    /// master's web port on 127.0.0.1). A port without a target gets the kubelet's error.
    pub fn set_port_forward(&self, namespace: &str, pod: &str, port: u16, target: std::net::SocketAddr) {
        self.state()
            .port_forwards
            .insert((namespace.to_string(), pod.to_string(), port), target);
    }

    /// Where each of `ports` of `pod` leads, or the kubelet's reason it cannot be reached.
    fn port_targets(&self, namespace: &str, pod: &str, ports: &[u16]) -> Vec<portforward::Target> {
        let state = self.state();
        ports
            .iter()
            .map(|port| {
                state
                    .port_forwards
                    .get(&(namespace.to_string(), pod.to_string(), *port))
                    .copied()
                    .ok_or_else(|| format!("dial tcp 127.0.0.1:{port}: connect: connection refused"))
            })
            .collect()
    }

    /// A `pods/{name}/portforward` websocket upgrade: answered as any request (recorded, injected
    /// failures, RBAC, 404 without the pod, 400 for a pod not running), then `101` and the forward.
    async fn port_forward(&self, mut request: Request<hyper::body::Incoming>) -> Response<Reply> {
        let upgraded = hyper::upgrade::on(&mut request);
        let (parts, _body) = request.into_parts();
        let head = Request::from_parts(parts.clone(), ());
        let answer = self.serve_parts(parts, Bytes::new()).await;
        if answer.status() != StatusCode::SWITCHING_PROTOCOLS {
            return answer;
        }
        let query = parse_query(head.uri().query().unwrap_or_default());
        let ports = match portforward::ports(&query) {
            Ok(ports) => ports,
            Err(problem) => return failure(400, &problem, None),
        };
        let Some(protocol) = portforward::choose_protocol(&head) else {
            return failure(
                400,
                "port forwarding speaks the websocket subprotocol v4.channel.k8s.io",
                None,
            );
        };
        let Some(route) = Route::parse(head.uri().path()) else {
            return failure(404, "not a pod path", None);
        };
        let namespace = route.namespace.clone().unwrap_or_default();
        let targets = self.port_targets(&namespace, &route.name.unwrap_or_default(), &ports);
        tokio::spawn(portforward::serve(upgraded, ports, targets));
        portforward::switching(&head, protocol, Full::new(Bytes::new()).boxed())
    }

    // ---- recorded requests ----

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state().requests.clone()
    }

    /// How many requests were recorded (cheaper than [`FakeApi::requests`] when only counting).
    pub fn request_count(&self) -> usize {
        self.state().requests.len()
    }

    /// Forgets recorded requests (the stored objects stay).
    pub fn clear_requests(&self) {
        self.state().requests.clear();
    }

    /// Recorded requests that change something (anything but GET).
    pub fn writes(&self) -> Vec<RecordedRequest> {
        self.requests().into_iter().filter(RecordedRequest::is_write).collect()
    }

    /// Recorded PATCHes of a `/status` subresource.
    pub fn status_patches(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == Method::PATCH && r.path.ends_with("/status"))
            .collect()
    }

    /// Recorded requests with `method` whose path contains `path_contains`.
    pub fn requests_matching(&self, method: &str, path_contains: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method.as_str() == method && r.path.contains(path_contains))
            .collect()
    }

    // ---- stored objects ----

    /// Stores `object` as if created through the API (uid, resourceVersion, generation 1 and a
    /// creationTimestamp of now are filled in when absent). The resource plural is the lowercase
    /// kind plus `s`. Panics if it already exists.
    pub fn insert(&self, mut object: Value) -> Value {
        let api_version = object["apiVersion"].as_str().expect("apiVersion").to_string();
        let kind = object["kind"].as_str().expect("kind").to_string();
        let group = api_version
            .rsplit_once('/')
            .map(|(group, _)| group.to_string())
            .unwrap_or_default();
        let key = ObjectKey {
            group,
            plural: format!("{}s", kind.to_ascii_lowercase()),
            namespace: object["metadata"]["namespace"].as_str().map(str::to_string),
            name: object["metadata"]["name"].as_str().expect("metadata.name").to_string(),
        };
        let now = self.now();
        let mut state = self.state();
        assert!(!state.objects.contains_key(&key), "{key:?} already exists");
        let number = state.next();
        let metadata = object["metadata"].as_object_mut().expect("metadata");
        metadata.entry("uid").or_insert_with(|| json!(uid(number)));
        metadata.entry("generation").or_insert(json!(1));
        metadata.entry("creationTimestamp").or_insert_with(|| json!(Time(now)));
        metadata.insert("resourceVersion".into(), json!(number.to_string()));
        state.put(key, object.clone(), "ADDED");
        object
    }

    /// The stored object, as JSON.
    pub fn get_value(&self, key: &ObjectKey) -> Option<Value> {
        self.state().objects.get(key).cloned()
    }

    /// The stored object of a typed resource.
    pub fn get<K: Resource<DynamicType = ()> + DeserializeOwned>(&self, namespace: &str, name: &str) -> Option<K> {
        self.get_value(&ObjectKey::of::<K>(namespace, name))
            .map(|value| serde_json::from_value(value).expect("stored object decodes"))
    }

    /// The stored object of typed resource `K`, untyped: what a raw watch delivers even when the
    /// object does not decode as `K`.
    pub fn get_dynamic<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str) -> Option<DynamicObject> {
        self.get_value(&ObjectKey::of::<K>(namespace, name))
            .map(|value| serde_json::from_value(value).expect("any object decodes as DynamicObject"))
    }

    /// Every stored object of typed resource `K`, in all namespaces (no request is recorded): what
    /// a watch of `K` would have listed.
    pub fn all<K: Resource<DynamicType = ()> + DeserializeOwned>(&self) -> Vec<K> {
        let group = K::group(&()).into_owned();
        let plural = K::plural(&()).into_owned();
        self.state()
            .objects
            .iter()
            .filter(|(key, _)| key.group == group && key.plural == plural)
            .map(|(_, value)| serde_json::from_value(value.clone()).expect("stored object decodes"))
            .collect()
    }

    /// Names of stored objects of typed resource `K` in `namespace`.
    pub fn names<K: Resource<DynamicType = ()>>(&self, namespace: &str) -> Vec<String> {
        let group = K::group(&()).into_owned();
        let plural = K::plural(&()).into_owned();
        self.state()
            .objects
            .keys()
            .filter(|k| k.group == group && k.plural == plural && k.namespace.as_deref() == Some(namespace))
            .map(|k| k.name.clone())
            .collect()
    }

    /// Changes a stored object in place (no request is recorded; the resourceVersion moves).
    /// Panics if it does not exist.
    pub fn update<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str, change: impl FnOnce(&mut Value)) {
        let key = ObjectKey::of::<K>(namespace, name);
        let mut state = self.state();
        let number = state.next();
        let mut object = state
            .objects
            .get(&key)
            .cloned()
            .unwrap_or_else(|| panic!("{key:?} does not exist"));
        change(&mut object);
        object["metadata"]["resourceVersion"] = json!(number.to_string());
        state.put(key, object, "MODIFIED");
    }

    /// Replaces `.status` of a stored object, as a controller (the Job controller, the kubelet) would.
    pub fn set_status<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str, status: Value) {
        self.update::<K>(namespace, name, |object| object["status"] = status);
    }

    /// Merge-patches the main resource as a user's `kubectl patch --type merge` would: `.status`
    /// is ignored and `metadata.generation` grows when `.spec` changes. No request is recorded.
    pub fn user_patch<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str, patch: &Value) {
        self.update::<K>(namespace, name, |object| {
            let before = object.clone();
            merge_patch(object, patch);
            keep_system_fields(object, &before, false);
        });
    }

    /// Deletes a stored object (no request is recorded). True if it existed.
    pub fn delete<K: Resource<DynamicType = ()>>(&self, namespace: &str, name: &str) -> bool {
        self.state().take(&ObjectKey::of::<K>(namespace, name)).is_some()
    }

    /// Stores a pod with `labels` and `status`, created now.
    pub fn add_pod(&self, namespace: &str, name: &str, labels: &BTreeMap<String, String>, status: Value) -> Value {
        self.insert(json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": { "name": name, "namespace": namespace, "labels": labels },
            "status": status,
        }))
    }

    /// The `events.k8s.io/v1` Events stored in `namespace`, oldest first.
    pub fn events(&self, namespace: &str) -> Vec<RecordedEvent> {
        let mut stored: Vec<Value> = self
            .state()
            .objects
            .iter()
            .filter(|(k, _)| {
                k.group == "events.k8s.io" && k.plural == "events" && k.namespace.as_deref() == Some(namespace)
            })
            .map(|(_, v)| v.clone())
            .collect();
        // uids are issued in creation order and zero-padded, so they sort chronologically.
        stored.sort_by_key(|event| event["metadata"]["uid"].as_str().unwrap_or_default().to_string());
        stored
            .iter()
            .map(|event| RecordedEvent {
                type_: event["type"].as_str().unwrap_or_default().into(),
                reason: event["reason"].as_str().unwrap_or_default().into(),
                note: event["note"].as_str().unwrap_or_default().into(),
                regarding: event["regarding"]["name"].as_str().unwrap_or_default().into(),
                count: event["series"]["count"].as_i64().unwrap_or(1),
            })
            .collect()
    }

    // ---- serving ----

    async fn serve(&self, request: Request<kube::client::Body>) -> Response<Reply> {
        let (parts, body) = request.into_parts();
        match body.collect_bytes().await {
            Ok(bytes) => self.serve_parts(parts, bytes).await,
            Err(error) => failure(400, &format!("unreadable body: {error}"), None),
        }
    }

    /// Serves this fake over plain HTTP on 127.0.0.1 (a free port) until the returned task is
    /// dropped or aborted, for tests that run a binary with a kubeconfig pointing here.
    pub async fn serve_http(&self) -> std::io::Result<HttpServer> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let fake = self.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let fake = fake.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: Request<hyper::body::Incoming>| {
                        let fake = fake.clone();
                        async move {
                            if portforward::is_upgrade(&request) {
                                return Ok::<_, Infallible>(fake.port_forward(request).await);
                            }
                            let (parts, body) = request.into_parts();
                            let response = match body.collect().await {
                                Ok(collected) => fake.serve_parts(parts, collected.to_bytes()).await,
                                Err(error) => failure(400, &format!("unreadable body: {error}"), None),
                            };
                            Ok::<_, Infallible>(response)
                        }
                    });
                    // A client hanging up mid-request is not the test's concern.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                        .with_upgrades()
                        .await;
                });
            }
        });
        Ok(HttpServer { address, task })
    }

    async fn serve_parts(&self, parts: http::request::Parts, bytes: Bytes) -> Response<Reply> {
        let body: Option<Value> = if bytes.is_empty() {
            None
        } else {
            match serde_json::from_slice(&bytes) {
                Ok(value) => Some(value),
                Err(error) => return failure(400, &format!("body is not JSON: {error}"), None),
            }
        };
        let recorded = RecordedRequest {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parse_query(parts.uri.query().unwrap_or_default()),
            content_type: parts
                .headers
                .get(http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            body,
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        let now = self.now();
        let forwarded = (parts.method.clone(), parts.uri.clone(), bytes.clone());
        let (service, answer, upstream) = match self.answer_at_once(recorded, now) {
            Ok(response) => return response,
            Err(proxied) => proxied,
        };
        // Counted until answered or abandoned (a client timeout drops this future).
        let _in_flight = ProxyInFlight::enter(self);
        match (answer, upstream) {
            (Some(answer), _) => {
                tokio::time::sleep(answer.delay).await;
                raw_response(answer.status, answer.body)
            }
            (None, Some(address)) => {
                let (method, uri, body) = forwarded;
                forward(address, &method, &uri, body).await
            }
            (None, None) => failure(503, &format!("no endpoints available for service \"{service}\""), None),
        }
    }

    /// Records the request and answers it, except a service-proxy request: that gives back the
    /// Service and its set answer, to be sent without holding the lock while it is delayed.
    fn answer_at_once(
        &self,
        recorded: RecordedRequest,
        now: Timestamp,
    ) -> Result<Response<Reply>, (String, Option<ProxyAnswer>, Option<std::net::SocketAddr>)> {
        let mut state = self.state();
        state.requests.push(recorded.clone());
        let route = Route::parse(&recorded.path);
        if let Some(index) = state
            .failures
            .iter()
            .position(|f| f.method == recorded.method && recorded.path.contains(&f.path_contains))
        {
            let injected = state.failures.remove(index);
            return Ok(failure(injected.status, &injected.message, route.as_ref()));
        }
        if let Some(service) = proxied_service(&recorded.path) {
            // RBAC comes first: `forbid("POST", "services/proxy")`, worded as the authorizer words it.
            if state
                .forbidden
                .iter()
                .any(|(method, plural)| *method == recorded.method && plural == "services/proxy")
            {
                let verb = if recorded.method == Method::GET {
                    "get"
                } else {
                    "create"
                };
                let namespace = recorded.path.split('/').nth(4).unwrap_or_default();
                return Ok(failure(
                    403,
                    &format!(
                        "services \"{service}\" is forbidden: User \"tester\" cannot {verb} resource \"services/proxy\" in API group \"\" in the namespace \"{namespace}\""
                    ),
                    None,
                ));
            }
            let namespace = recorded.path.split('/').nth(4).unwrap_or_default().to_string();
            let upstream = state.proxy_upstreams.get(&(namespace, service.clone())).copied();
            return Err((service, state.proxied.get(&recorded.path).cloned(), upstream));
        }
        if let Some(answer) = discovery(&state, &recorded.path) {
            return Ok(answer);
        }
        if let Some(route) = &route {
            if state.missing_groups.contains(&route.group) {
                return Ok(failure(404, "the server could not find the requested resource", None));
            }
            if let Some(answer) = forbidden(&state, route, &recorded) {
                return Ok(answer);
            }
        }
        let Some(route) = route else {
            return Ok(failure(
                404,
                &format!("the fake does not serve {}", recorded.path),
                None,
            ));
        };
        if state.live_watches
            && route.name.is_none()
            && recorded.query_param("watch").is_some_and(|w| w == "true" || w == "1")
        {
            return Ok(self.live_watch(&mut state, &route, &recorded));
        }
        Ok(handle(&mut state, &route, &recorded, now))
    }
}

/// One service-proxy request being answered.
struct ProxyInFlight {
    state: Arc<Mutex<State>>,
}

impl ProxyInFlight {
    fn enter(fake: &FakeApi) -> Self {
        let mut state = fake.state();
        state.proxy_in_flight += 1;
        state.proxy_peak = state.proxy_peak.max(state.proxy_in_flight);
        Self {
            state: fake.state.clone(),
        }
    }
}

impl Drop for ProxyInFlight {
    fn drop(&mut self) {
        let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        state.proxy_in_flight -= 1;
    }
}

/// The Service name (without the port) of a service-proxy path
/// `/api/v1/namespaces/{ns}/services/{name}[:{port}]/proxy/...`.
fn proxied_service(path: &str) -> Option<String> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["api", "v1", "namespaces", _, "services", service, "proxy", ..] => {
            Some(service.split(':').next().unwrap_or_default().to_string())
        }
        _ => None,
    }
}

/// Forwards a service-proxy request to `address` as one HTTP/1.0 exchange (what the proxy path
/// holds after `/proxy`, with its query), and answers with what came back; 503 when nothing
/// answers, as the API server does for a Service whose endpoint is down.
async fn forward(address: std::net::SocketAddr, method: &Method, uri: &http::Uri, body: Bytes) -> Response<Reply> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let path = uri.path().split_once("/proxy").map_or("/", |(_, rest)| rest);
    let path = if path.is_empty() { "/" } else { path };
    let target = match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    };
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(address).await?;
        let head = format!(
            "{method} {target} HTTP/1.0\r\nHost: {address}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(&body).await?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = match tokio::time::timeout(Duration::from_secs(10), exchange).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) => return failure(503, &format!("error trying to reach service: {error}"), None),
        Err(_) => return failure(503, "error trying to reach service: timed out", None),
    };
    let split = answer.windows(4).position(|window| window == b"\r\n\r\n");
    let (head, body) = match split {
        Some(at) => (
            String::from_utf8_lossy(&answer[..at]).to_string(),
            answer[at + 4..].to_vec(),
        ),
        None => return failure(503, "error trying to reach service: no HTTP answer", None),
    };
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(502);
    let mut response = raw_response(status, Bytes::from(body));
    if let Some(content_type) = head
        .lines()
        .find_map(|line| {
            line.split_once(':')
                .filter(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        })
        .and_then(|(_, value)| http::HeaderValue::from_str(value.trim()).ok())
    {
        response.headers_mut().insert(http::header::CONTENT_TYPE, content_type);
    }
    response
}

/// A response with a body as given (the proxied master's own answer, not a `Status`).
fn raw_response(status: u16, body: Bytes) -> Response<Reply> {
    let mut response = Response::new(Full::new(body).boxed());
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn uid(number: u64) -> String {
    format!("00000000-0000-4000-8000-{number:012}")
}

/// After a write, restores what clients cannot change: identity, creation time, and either the
/// status (main resource) or everything but the status (`/status` subresource). Grows
/// `metadata.generation` when the spec changed.
fn keep_system_fields(object: &mut Value, before: &Value, status_subresource: bool) {
    if status_subresource {
        let status = object.get("status").cloned();
        *object = before.clone();
        match status {
            Some(status) => object["status"] = status,
            None => {
                if let Some(map) = object.as_object_mut() {
                    map.remove("status");
                }
            }
        }
        return;
    }
    if let Some(map) = object.as_object_mut() {
        match before.get("status") {
            Some(status) => {
                map.insert("status".into(), status.clone());
            }
            None => {
                map.remove("status");
            }
        }
    }
    for field in ["uid", "creationTimestamp", "generation", "name", "namespace"] {
        if let Some(value) = before["metadata"].get(field) {
            object["metadata"][field] = value.clone();
        }
    }
    if object.get("spec") != before.get("spec") {
        let generation = before["metadata"]["generation"].as_i64().unwrap_or(0);
        object["metadata"]["generation"] = json!(generation + 1);
    }
}

fn handle(state: &mut State, route: &Route, request: &RecordedRequest, now: Timestamp) -> Response<Reply> {
    let method = &request.method;
    if route.plural == "pods" && route.subresource.as_deref() == Some("log") && method == Method::GET {
        return pod_log(state, route, request);
    }
    if route.plural == "pods" && route.subresource.as_deref() == Some("portforward") {
        return port_forward_check(state, route);
    }
    match (method.as_str(), &route.name) {
        ("GET", Some(name)) => match state.objects.get(&route.key(name)) {
            Some(object) => respond(200, object),
            None => not_found(route, name),
        },
        ("GET", None) => list(state, route, request),
        ("POST", None) => create(state, route, request, now),
        ("PATCH", Some(name)) => patch(state, route, request, name, now),
        ("PUT", Some(name)) => replace(state, route, request, name),
        ("DELETE", Some(name)) => match state.take(&route.key(name)) {
            Some(object) => respond(200, &object),
            None => not_found(route, name),
        },
        _ => failure(
            405,
            &format!("{method} is not supported on {}", request.path),
            Some(route),
        ),
    }
}

/// A running [`FakeApi::serve_http`]: its address; the server stops when this is dropped.
pub struct HttpServer {
    /// Where it listens.
    pub address: std::net::SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl HttpServer {
    /// `http://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A kubeconfig (YAML) whose current context `fake` points at this server, namespace `namespace`.
    pub fn kubeconfig(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             users:\n- name: tester\n  user:\n    token: not-a-secret\ncontexts:\n- name: fake\n  context:\n\
             \x20   cluster: fake\n    user: tester\n    namespace: {namespace}\ncurrent-context: fake\n",
            self.url()
        )
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Discovery answers, enough for `kubectl get` to map a resource (or short name) to its path:
/// `/version`; `/api` (APIVersions) and `/apis` (APIGroupList), in the legacy form, which
/// kubectl falls back to when it asked for aggregated discovery and got plain JSON; and the
/// APIResourceList of `/api/v1` and `/apis/{group}/{version}` (404 for a removed group). The
/// groups and resources are those the fake holds objects of, plus a few every API server serves
/// (CustomResourceDefinitions among them).
fn discovery(state: &State, path: &str) -> Option<Response<Reply>> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["version"] => Some(respond(
            200,
            &json!({ "major": "1", "minor": "33", "gitVersion": "v1.33.0", "platform": "linux/amd64" }),
        )),
        ["api"] => Some(respond(
            200,
            &json!({ "kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [] }),
        )),
        ["apis"] => Some(respond(200, &api_group_list(state))),
        ["api", "v1"] => Some(respond(200, &api_resource_list(state, "", "v1"))),
        ["apis", group, version] => Some(if state.missing_groups.contains(*group) {
            failure(404, "the server could not find the requested resource", None)
        } else {
            respond(200, &api_resource_list(state, group, version))
        }),
        _ => None,
    }
}

/// What discovery tells of one resource.
struct ServedResource {
    kind: String,
    namespaced: bool,
}

/// Resources every API server serves, listed by discovery even when the fake holds none of them
/// (kubectl takes an empty `/api/v1` for a broken server): (group, version, plural, kind, namespaced).
const BUILT_IN_RESOURCES: &[(&str, &str, &str, &str, bool)] = &[
    ("", "v1", "configmaps", "ConfigMap", true),
    ("", "v1", "events", "Event", true),
    ("", "v1", "namespaces", "Namespace", false),
    ("", "v1", "pods", "Pod", true),
    ("", "v1", "services", "Service", true),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
    ),
];

/// Group, version and plural of what discovery lists: the built-in resources, and every
/// resource the fake holds objects of (the version from their `apiVersion`), but no removed group.
fn served_resources(state: &State) -> BTreeMap<(String, String, String), ServedResource> {
    let mut served = BTreeMap::new();
    for (group, version, plural, kind, namespaced) in BUILT_IN_RESOURCES {
        if state.missing_groups.contains(*group) {
            continue;
        }
        served.insert(
            (group.to_string(), version.to_string(), plural.to_string()),
            ServedResource {
                kind: kind.to_string(),
                namespaced: *namespaced,
            },
        );
    }
    for (key, object) in &state.objects {
        if state.missing_groups.contains(&key.group) {
            continue;
        }
        let api_version = object["apiVersion"].as_str().unwrap_or_default();
        let version = api_version.rsplit('/').next().unwrap_or_default().to_string();
        served
            .entry((key.group.clone(), version, key.plural.clone()))
            .or_insert_with(|| ServedResource {
                kind: object["kind"].as_str().unwrap_or_default().to_string(),
                namespaced: key.namespace.is_some(),
            });
    }
    served
}

/// `/apis`: every served group (not the core group) with its versions, the highest preferred.
fn api_group_list(state: &State) -> Value {
    let mut versions: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (group, version, _) in served_resources(state).into_keys() {
        if !group.is_empty() && !version.is_empty() {
            versions.entry(group).or_default().insert(version);
        }
    }
    let groups: Vec<Value> = versions
        .into_iter()
        .map(|(group, versions)| {
            let entries: Vec<Value> = versions
                .iter()
                .rev()
                .map(|version| json!({ "groupVersion": format!("{group}/{version}"), "version": version }))
                .collect();
            json!({ "name": group, "versions": entries, "preferredVersion": entries[0] })
        })
        .collect();
    json!({ "kind": "APIGroupList", "apiVersion": "v1", "groups": groups })
}

/// The APIResourceList of `group`/`version` (`""` for the core group): every served resource of
/// the group, whichever version its objects were stored in.
fn api_resource_list(state: &State, group: &str, version: &str) -> Value {
    let mut listed = BTreeSet::new();
    let resources: Vec<Value> = served_resources(state)
        .into_iter()
        .filter(|((served_group, _, plural), _)| served_group == group && listed.insert(plural.clone()))
        .map(|((_, _, plural), resource)| {
            let mut entry = json!({
                "name": plural,
                "singularName": resource.kind.to_ascii_lowercase(),
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
            });
            let short_names = short_names(&plural);
            if !short_names.is_empty() {
                entry["shortNames"] = json!(short_names);
            }
            entry
        })
        .collect();
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({ "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources })
}

/// The short names the real API server gives a resource (kubectl resolves `crd`, `lotest` by them).
fn short_names(plural: &str) -> &'static [&'static str] {
    match plural {
        "customresourcedefinitions" => &["crd", "crds"],
        "locusttests" => &["lotest"],
        "configmaps" => &["cm"],
        "events" => &["ev"],
        "namespaces" => &["ns"],
        "pods" => &["po"],
        "services" => &["svc"],
        _ => &[],
    }
}

/// The RBAC denial for a forbidden (method, resource), in the API server's words.
fn forbidden(state: &State, route: &Route, request: &RecordedRequest) -> Option<Response<Reply>> {
    state
        .forbidden
        .iter()
        .any(|(method, plural)| {
            let with_subresource = route
                .subresource
                .as_ref()
                .map(|subresource| format!("{}/{subresource}", route.plural));
            *method == request.method && (*plural == route.plural || Some(plural) == with_subresource.as_ref())
        })
        .then(|| {
            let verb = match (request.method.as_str(), route.name.is_some()) {
                // Port forwarding is authorized as `create` on pods/portforward, whatever the method.
                _ if route.subresource.as_deref() == Some("portforward") => "create",
                ("GET", true) => "get",
                ("GET", false) if request.query_param("watch").is_some() => "watch",
                ("GET", false) => "list",
                ("POST", _) => "create",
                ("PATCH", _) => "patch",
                ("PUT", _) => "update",
                ("DELETE", _) => "delete",
                _ => "use",
            };
            let resource = if route.group.is_empty() {
                route.plural.clone()
            } else {
                format!("{}.{}", route.plural, route.group)
            };
            let scope = route
                .namespace
                .as_ref()
                .map(|ns| format!(" in the namespace \"{ns}\""))
                .unwrap_or_else(|| " at the cluster scope".to_string());
            let checked = match &route.subresource {
                Some(subresource) => format!("{}/{subresource}", route.plural),
                None => route.plural.clone(),
            };
            let message = format!(
                "{resource} is forbidden: User \"tester\" cannot {verb} resource \"{checked}\" in API group \"{}\"{scope}",
                route.group
            );
            failure(403, &message, Some(route))
        })
}

/// `GET .../pods/{name}/log`: the text set for the pod (honouring `tailLines`), 404 without the pod.
fn pod_log(state: &State, route: &Route, request: &RecordedRequest) -> Response<Reply> {
    let name = route.name.clone().unwrap_or_default();
    if !state.objects.contains_key(&route.key(&name)) {
        return not_found(route, &name);
    }
    let namespace = route.namespace.clone().unwrap_or_default();
    let text = state.logs.get(&(namespace, name)).cloned().unwrap_or_default();
    let text = match request.query_param("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        Some(tail) => {
            let lines: Vec<&str> = text.lines().collect();
            let kept = &lines[lines.len().saturating_sub(tail)..];
            kept.iter().map(|line| format!("{line}\n")).collect()
        }
        None => text,
    };
    let mut response = Response::new(Full::new(Bytes::from(text)).boxed());
    response
        .headers_mut()
        .insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/plain"));
    response
}

/// Whether `pods/{name}/portforward` may start: 404 without the pod, 400 (the kubelet's words) when
/// it is not running, else an empty `101` that [`FakeApi::port_forward`] completes. Without an
/// HTTP connection to upgrade ([`FakeApi::client`]), the 101 is all a client gets.
fn port_forward_check(state: &State, route: &Route) -> Response<Reply> {
    let name = route.name.clone().unwrap_or_default();
    let Some(pod) = state.objects.get(&route.key(&name)) else {
        return not_found(route, &name);
    };
    let phase = pod["status"]["phase"].as_str().unwrap_or("Pending");
    if phase != "Running" {
        return failure(
            400,
            &format!("unable to forward port because pod is not running. Current status={phase}"),
            Some(route),
        );
    }
    let mut response = Response::new(Full::new(Bytes::new()).boxed());
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    response
}

fn not_found(route: &Route, name: &str) -> Response<Reply> {
    failure(404, &format!("{} \"{name}\" not found", route.plural), Some(route))
}

fn list(state: &State, route: &Route, request: &RecordedRequest) -> Response<Reply> {
    if request.query_param("watch").is_some_and(|w| w == "true" || w == "1") {
        return quiet_watch();
    }
    let labels = match parse_selector(request.query_param("labelSelector").unwrap_or_default()) {
        Ok(requirements) => requirements,
        Err(problem) => return failure(400, &problem, Some(route)),
    };
    let fields = match parse_selector(request.query_param("fieldSelector").unwrap_or_default()) {
        Ok(requirements) => requirements,
        Err(problem) => return failure(400, &problem, Some(route)),
    };
    let items: Vec<Value> = state
        .objects
        .iter()
        .filter(|(key, _)| {
            key.group == route.group
                && key.plural == route.plural
                && (route.namespace.is_none() || key.namespace == route.namespace)
        })
        .map(|(_, object)| object)
        .filter(|object| {
            matches(&labels, |key| {
                object["metadata"]["labels"]
                    .get(key)
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
        })
        .filter(|object| matches(&fields, |path| field_value(object, path)))
        .cloned()
        .collect();
    respond(
        200,
        &json!({
            "apiVersion": route.api_version(),
            "kind": "List",
            "metadata": { "resourceVersion": state.counter.to_string() },
            "items": items,
        }),
    )
}

/// A watch that stays open and never reports a change: watchers see the state of their initial
/// LIST and nothing after, so a test decides exactly what the operator observes.
fn quiet_watch() -> Response<Reply> {
    // `http_body::Frame` cannot be named here (not a dependency); an empty body's frame future
    // lends its item type to the never-ending stream.
    fn never_yielding<T>(_item_type_of: impl Future<Output = Option<T>>) -> futures::stream::Pending<T> {
        futures::stream::pending()
    }
    let mut empty = Full::new(Bytes::new());
    let frames = never_yielding(empty.frame());
    let mut response = Response::new(StreamBody::new(frames).boxed());
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn create(state: &mut State, route: &Route, request: &RecordedRequest, now: Timestamp) -> Response<Reply> {
    let Some(mut object) = request.body.clone().filter(Value::is_object) else {
        return failure(400, "create needs a JSON object", Some(route));
    };
    let number = state.next();
    let name = match object["metadata"]["name"].as_str() {
        Some(name) => name.to_string(),
        None => match object["metadata"]["generateName"].as_str() {
            Some(prefix) => format!("{prefix}{number:05}"),
            None => return failure(422, "metadata.name: Required value", Some(route)),
        },
    };
    let key = route.key(&name);
    if state.objects.contains_key(&key) {
        return respond(
            409,
            &status_body(
                409,
                "AlreadyExists",
                &format!("{} \"{name}\" already exists", route.plural),
                Some(route),
            ),
        );
    }
    object["metadata"]["name"] = json!(name);
    if let Some(namespace) = &route.namespace {
        object["metadata"]["namespace"] = json!(namespace);
    }
    object["metadata"]["uid"] = json!(uid(number));
    object["metadata"]["resourceVersion"] = json!(number.to_string());
    object["metadata"]["creationTimestamp"] = json!(Time(now));
    object["metadata"]["generation"] = json!(1);
    if object.get("apiVersion").is_none() {
        object["apiVersion"] = json!(route.api_version());
    }
    state.put(key, object.clone(), "ADDED");
    respond(201, &object)
}

/// Stores the result of a write to an existing object and answers with it. A write that changes
/// nothing keeps the resourceVersion and sends no watch event, as on a real API server (so a
/// controller patching what is already there does not wake itself up).
fn store_write(state: &mut State, key: ObjectKey, before: &Value, mut after: Value, number: u64) -> Response<Reply> {
    after["metadata"]["resourceVersion"] = before["metadata"]["resourceVersion"].clone();
    if after == *before {
        return respond(200, before);
    }
    after["metadata"]["resourceVersion"] = json!(number.to_string());
    let response = respond(200, &after);
    state.put(key, after, "MODIFIED");
    response
}

/// The leaf fields a patch or apply body sets (`Some`) or removes (`None`), by JSON pointer,
/// leaving out the identity fields every apply carries.
fn leaf_fields(body: &Value) -> Vec<(String, Option<Value>)> {
    fn walk(value: &Value, path: String, into: &mut Vec<(String, Option<Value>)>) {
        match value {
            Value::Object(map) if !map.is_empty() => {
                for (key, value) in map {
                    walk(
                        value,
                        format!("{path}/{}", key.replace('~', "~0").replace('/', "~1")),
                        into,
                    );
                }
            }
            Value::Null => into.push((path, None)),
            other => into.push((path, Some(other.clone()))),
        }
    }
    let mut fields = Vec::new();
    if let Value::Object(map) = body {
        for (key, value) in map {
            if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata") {
                walk(value, format!("/{key}"), &mut fields);
            }
        }
    }
    fields
}

/// Field owners after a write of `body` by `manager` to an object that held `before`: a field
/// set to a new value is `manager`'s alone, one set to the value it had is shared with its
/// owners, and a removed field has no owner left.
fn take_ownership(owners: &mut BTreeMap<String, BTreeSet<String>>, before: &Value, body: &Value, manager: &str) {
    for (path, value) in leaf_fields(body) {
        match value {
            Some(value) => {
                let managers = owners.entry(path.clone()).or_default();
                if before.pointer(&path) != Some(&value) {
                    managers.clear();
                }
                managers.insert(manager.to_string());
            }
            None => owners.retain(|owned, _| owned != &path && !owned.starts_with(&format!("{path}/"))),
        }
    }
}

/// A server-side apply: 409 listing the fields another manager owns with another value (unless
/// `force=true`), else the body merged in and its fields owned by the applier. Creates the object
/// when it does not exist.
fn apply(state: &mut State, route: &Route, request: &RecordedRequest, name: &str, now: Timestamp) -> Response<Reply> {
    let Some(manager) = request.query_param("fieldManager").map(str::to_string) else {
        return failure(
            422,
            "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            Some(route),
        );
    };
    let Some(body) = request.body.clone().filter(Value::is_object) else {
        return failure(400, "apply needs a JSON object", Some(route));
    };
    let key = route.key(name);
    let Some(current) = state.objects.get(&key).cloned() else {
        // The name comes from the path, as for the real server.
        let mut creation = request.clone();
        if let Some(body) = creation.body.as_mut() {
            body["metadata"]["name"] = json!(name);
        }
        let created = create(state, route, &creation, now);
        if created.status() == StatusCode::CREATED {
            take_ownership(state.owners.entry(key).or_default(), &Value::Null, &body, &manager);
        }
        return created;
    };
    let force = request.query_param("force") == Some("true");
    let owners = state.owners.entry(key.clone()).or_default();
    let conflicts: Vec<String> = leaf_fields(&body)
        .into_iter()
        .filter(|(path, value)| current.pointer(path) != value.as_ref())
        .flat_map(|(path, _)| {
            let field = path.trim_start_matches('/').replace('/', ".");
            owners
                .get(&path)
                .into_iter()
                .flatten()
                .filter(|owner| **owner != manager)
                .map(move |owner| format!("conflict with \"{owner}\": .{field}"))
        })
        .collect();
    if !conflicts.is_empty() && !force {
        let message = format!(
            "Apply failed with {} conflict{}: {}",
            conflicts.len(),
            if conflicts.len() == 1 { "" } else { "s" },
            conflicts.join("; ")
        );
        return respond(409, &status_body(409, "Conflict", &message, Some(route)));
    }
    take_ownership(owners, &current, &body, &manager);
    let number = state.next();
    let mut object = current.clone();
    merge_patch(&mut object, &body);
    keep_system_fields(&mut object, &current, route.subresource.is_some());
    store_write(state, key, &current, object, number)
}

fn patch(state: &mut State, route: &Route, request: &RecordedRequest, name: &str, now: Timestamp) -> Response<Reply> {
    let content_type = request.content_type.as_deref().unwrap_or_default();
    if content_type.starts_with("application/apply-patch") {
        return apply(state, route, request, name, now);
    }
    if !content_type.starts_with("application/merge-patch+json")
        && !content_type.starts_with("application/strategic-merge-patch+json")
    {
        return failure(
            415,
            &format!("the fake accepts merge, strategic merge and apply patches, not {content_type:?}"),
            Some(route),
        );
    }
    let Some(body) = request.body.as_ref() else {
        return failure(400, "patch needs a body", Some(route));
    };
    let (number, key, before) = match object_to_write(state, route, name, body) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let mut object = before.clone();
    merge_patch(&mut object, body);
    keep_system_fields(&mut object, &before, route.subresource.is_some());
    if let Some(manager) = request.query_param("fieldManager") {
        take_ownership(state.owners.entry(key.clone()).or_default(), &before, body, manager);
    }
    store_write(state, key, &before, object, number)
}

/// What a patch or a replace of `name` with `body` writes over: its write number, key and the
/// stored object; or the answer refusing it (a subresource other than status, no such object, or
/// a `resourceVersion` in the body that is not the stored one).
fn object_to_write(
    state: &mut State,
    route: &Route,
    name: &str,
    body: &Value,
) -> Result<(u64, ObjectKey, Value), Box<Response<Reply>>> {
    if route.subresource.as_deref().is_some_and(|s| s != "status") {
        return Err(Box::new(failure(
            405,
            "only the status subresource is supported",
            Some(route),
        )));
    }
    let number = state.next();
    let key = route.key(name);
    let Some(before) = state.objects.get(&key).cloned() else {
        return Err(Box::new(not_found(route, name)));
    };
    if let Some(expected) = body["metadata"]["resourceVersion"].as_str()
        && before["metadata"]["resourceVersion"].as_str() != Some(expected)
    {
        return Err(Box::new(failure(
            409,
            "the object has been modified; please apply your changes to the latest version",
            Some(route),
        )));
    }
    Ok((number, key, before))
}

fn replace(state: &mut State, route: &Route, request: &RecordedRequest, name: &str) -> Response<Reply> {
    let Some(mut replacement) = request.body.clone().filter(Value::is_object) else {
        return failure(400, "replace needs a JSON object", Some(route));
    };
    let (number, key, before) = match object_to_write(state, route, name, &replacement) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    keep_system_fields(&mut replacement, &before, route.subresource.is_some());
    store_write(state, key, &before, replacement, number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc_7386() {
        let mut target = json!({"a": "b", "c": {"d": "e", "f": "g"}, "list": [1, 2]});
        merge_patch(&mut target, &json!({"a": "z", "c": {"f": null}, "list": [3]}));
        assert_eq!(target, json!({"a": "z", "c": {"d": "e"}, "list": [3]}));
    }

    #[test]
    fn paths_parse_for_core_group_and_cluster_scope() {
        let route = Route::parse("/api/v1/namespaces/ns/pods/p1/status").expect("route");
        assert_eq!(
            (route.group.as_str(), route.namespace.as_deref(), route.plural.as_str()),
            ("", Some("ns"), "pods")
        );
        assert_eq!(
            (route.name.as_deref(), route.subresource.as_deref()),
            (Some("p1"), Some("status"))
        );
        let route = Route::parse("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/x").expect("route");
        assert_eq!(
            (route.namespace, route.plural.as_str(), route.name.as_deref()),
            (None, "customresourcedefinitions", Some("x"))
        );
        let route = Route::parse("/api/v1/namespaces/ns").expect("route");
        assert_eq!(
            (route.plural.as_str(), route.name.as_deref()),
            ("namespaces", Some("ns"))
        );
    }

    #[test]
    fn query_values_are_percent_decoded() {
        let query = parse_query("&labelSelector=a%3Db%2Cc%21%3Dd&fieldSelector=x.y%3Dz+w");
        assert_eq!(query[0], ("labelSelector".to_string(), "a=b,c!=d".to_string()));
        assert_eq!(query[1], ("fieldSelector".to_string(), "x.y=z w".to_string()));
    }
}

#[cfg(test)]
mod client_tests {
    use k8s_openapi::api::batch::v1::Job;
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};

    use super::*;

    fn start() -> Timestamp {
        "2025-03-01T10:00:00.250Z".parse().expect("timestamp")
    }

    #[tokio::test]
    async fn a_real_kube_client_creates_reads_lists_and_patches() {
        let fake = FakeApi::new(start());
        let jobs: Api<Job> = Api::namespaced(fake.client(), "ns");
        let job: Job = serde_json::from_value(json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": { "name": "j", "labels": { "team": "perf" } },
            "spec": { "template": { "spec": { "containers": [] } } },
        }))
        .expect("job");
        let created = jobs.create(&PostParams::default(), &job).await.expect("created");
        assert_eq!(created.metadata.generation, Some(1));
        assert_eq!(created.metadata.namespace.as_deref(), Some("ns"));
        assert!(created.metadata.uid.is_some());

        let conflict = jobs
            .create(&PostParams::default(), &job)
            .await
            .expect_err("second create conflicts");
        assert!(matches!(conflict, kube::Error::Api(status) if status.code == 409 && status.is_already_exists()));
        assert!(jobs.get_opt("missing").await.expect("404 is None").is_none());

        let listed = jobs
            .list(&ListParams::default().labels("team=perf"))
            .await
            .expect("list");
        assert_eq!(listed.items.len(), 1);
        let listed = jobs
            .list(&ListParams::default().labels("team=other"))
            .await
            .expect("list");
        assert!(listed.items.is_empty());

        let patched = jobs
            .patch_status(
                "j",
                &PatchParams::default(),
                &Patch::Merge(json!({ "status": { "active": 2 }, "spec": { "parallelism": 9 } })),
            )
            .await
            .expect("status patch");
        assert_eq!(patched.status.and_then(|s| s.active), Some(2));
        assert_eq!(
            patched.spec.and_then(|s| s.parallelism),
            None,
            "a status patch changes only .status"
        );
        assert_eq!(patched.metadata.generation, Some(1));

        let patched = jobs
            .patch(
                "j",
                &PatchParams::default(),
                &Patch::Merge(json!({ "spec": { "parallelism": 3 }, "status": { "active": 0 } })),
            )
            .await
            .expect("patch");
        assert_eq!(
            patched.metadata.generation,
            Some(2),
            "a spec change bumps the generation"
        );
        assert_eq!(
            patched.status.and_then(|s| s.active),
            Some(2),
            "a main-resource patch ignores .status"
        );

        fake.fail_next("GET", "/jobs/j", 500);
        let error = jobs.get("j").await.expect_err("injected");
        assert!(matches!(error, kube::Error::Api(status) if status.code == 500));
        assert!(jobs.get("j").await.is_ok(), "an injected failure happens once");

        let methods: Vec<String> = fake.requests().iter().map(RecordedRequest::summary).collect();
        assert_eq!(
            methods.first().map(String::as_str),
            Some("POST /apis/batch/v1/namespaces/ns/jobs")
        );
        assert_eq!(fake.status_patches().len(), 1);
    }

    #[tokio::test]
    async fn field_selectors_match_dotted_paths() {
        let fake = FakeApi::new(start());
        for (name, pod, reason) in [
            ("e1", "p1", "FailedMount"),
            ("e2", "p2", "FailedMount"),
            ("e3", "p1", "Pulled"),
        ] {
            fake.insert(json!({
                "apiVersion": "v1", "kind": "Event",
                "metadata": { "name": name, "namespace": "ns" },
                "involvedObject": { "kind": "Pod", "name": pod },
                "reason": reason,
            }));
        }
        let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(fake.client(), "ns");
        let listed = events
            .list(&ListParams::default().fields("involvedObject.kind=Pod,involvedObject.name=p1,reason=FailedMount"))
            .await
            .expect("list");
        let names: Vec<String> = listed.items.iter().filter_map(|e| e.metadata.name.clone()).collect();
        assert_eq!(names, ["e1"]);

        let pods: Api<Pod> = Api::namespaced(fake.client(), "other");
        assert!(pods.list(&ListParams::default()).await.expect("list").items.is_empty());
    }

    #[tokio::test]
    async fn apply_conflicts_with_another_managers_field_until_that_field_is_removed() {
        use k8s_openapi::api::coordination::v1::Lease;
        use kube::api::{Patch, PatchParams};
        let fake = FakeApi::new(start());
        let leases: Api<Lease> = Api::namespaced(fake.client(), "ns");
        let apply = |holder: &str| json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "spec": {"holderIdentity": holder}});
        let by = |manager: &str| PatchParams::apply(manager);

        // An apply creates the object; the same manager may change its own field.
        leases
            .patch("l", &by("a"), &Patch::Apply(apply("a")))
            .await
            .expect("created by apply");
        leases
            .patch("l", &by("a"), &Patch::Apply(apply("a2")))
            .await
            .expect("own field");
        // Another manager applying another value conflicts, naming the owner and the field.
        let Err(kube::Error::Api(status)) = leases.patch("l", &by("b"), &Patch::Apply(apply("b"))).await else {
            panic!("expected a conflict");
        };
        assert_eq!((status.code, status.reason.as_str()), (409, "Conflict"));
        assert!(
            status.message.contains(r#"conflict with "a": .spec.holderIdentity"#),
            "{}",
            status.message
        );
        // The same value is no conflict; force takes the field over.
        leases
            .patch("l", &by("b"), &Patch::Apply(apply("a2")))
            .await
            .expect("same value");
        leases
            .patch("l", &by("b"), &Patch::Apply(apply("b")))
            .await
            .expect_err("still owned by a");
        leases
            .patch("l", &by("b").force(), &Patch::Apply(apply("b")))
            .await
            .expect("forced");
        // A strategic merge patch that removes the field frees it for anyone.
        let release = json!({"spec": {"holderIdentity": null}});
        let params = PatchParams {
            field_manager: Some("b".into()),
            ..PatchParams::default()
        };
        let released = leases
            .patch("l", &params, &Patch::Strategic(release))
            .await
            .expect("strategic");
        assert_eq!(released.spec.unwrap().holder_identity, None);
        leases
            .patch("l", &by("c"), &Patch::Apply(apply("c")))
            .await
            .expect("free field");
        // A merge patch by another manager takes ownership too.
        let params = PatchParams {
            field_manager: Some("d".into()),
            ..PatchParams::default()
        };
        leases
            .patch("l", &params, &Patch::Merge(apply("d")))
            .await
            .expect("merge");
        leases
            .patch("l", &by("c"), &Patch::Apply(apply("c")))
            .await
            .expect_err("now owned by d");
    }

    #[tokio::test]
    async fn live_watches_send_each_change_after_their_version_and_nothing_for_a_write_that_changes_nothing() {
        use futures::{StreamExt, TryStreamExt};
        use kube::api::{Patch, PatchParams, PostParams, WatchEvent, WatchParams};
        let fake = FakeApi::new(start()).with_live_watches();
        let pods: Api<Pod> = Api::namespaced(fake.client(), "ns");
        let pod = |name: &str, app: &str| -> Pod {
            serde_json::from_value(json!({"metadata": {"name": name, "labels": {"app": app}}})).unwrap()
        };
        pods.create(&PostParams::default(), &pod("before", "x")).await.unwrap();
        let version = pods
            .list(&ListParams::default())
            .await
            .unwrap()
            .metadata
            .resource_version
            .unwrap();
        let mut events = pods
            .watch(&WatchParams::default().labels("app=x").timeout(10), &version)
            .await
            .unwrap()
            .boxed();
        async fn next(events: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<Pod>>> + Unpin)) -> String {
            match tokio::time::timeout(Duration::from_secs(2), events.try_next())
                .await
                .expect("an event in time")
                .unwrap()
            {
                Some(WatchEvent::Added(pod)) => format!("ADDED {}", pod.metadata.name.unwrap()),
                Some(WatchEvent::Modified(pod)) => format!("MODIFIED {}", pod.metadata.name.unwrap()),
                Some(WatchEvent::Deleted(pod)) => format!("DELETED {}", pod.metadata.name.unwrap()),
                other => format!("{other:?}"),
            }
        }
        pods.create(&PostParams::default(), &pod("other-app", "y"))
            .await
            .unwrap();
        pods.create(&PostParams::default(), &pod("a", "x")).await.unwrap();
        assert_eq!(
            next(&mut events).await,
            "ADDED a",
            "only after the version, only matching labels"
        );
        let relabel = Patch::Merge(json!({"metadata": {"labels": {"app": "x"}}}));
        pods.patch("a", &PatchParams::default(), &relabel).await.unwrap();
        fake.set_status::<Pod>("ns", "a", json!({"phase": "Running"}));
        assert_eq!(
            next(&mut events).await,
            "MODIFIED a",
            "the no-op patch sent nothing, the status change did"
        );
        pods.delete("a", &Default::default()).await.unwrap();
        assert_eq!(next(&mut events).await, "DELETED a");
    }
}

#[cfg(test)]
mod port_forward_tests {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::Api;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A TCP server on 127.0.0.1 that answers each connection's bytes upper-cased, then hangs up
    /// when the client does.
    async fn shouting_server() -> std::net::SocketAddr {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut buffer = [0_u8; 1024];
                    while let Ok(read) = stream.read(&mut buffer).await {
                        if read == 0 {
                            break;
                        }
                        let _ = stream.write_all(&buffer[..read].to_ascii_uppercase()).await;
                    }
                });
            }
        });
        address
    }

    /// `future`, which must be done within 10 s: no test here can hang.
    async fn within<T>(future: impl Future<Output = T>) -> T {
        tokio::time::timeout(Duration::from_secs(10), future)
            .await
            .expect("done within 10 s")
    }

    async fn pods_over_http(fake: &FakeApi) -> (Api<Pod>, HttpServer) {
        let server = fake.serve_http().await.unwrap();
        let config = kube::Config::new(server.url().parse().unwrap());
        let client = kube::Client::try_from(config).unwrap();
        (Api::namespaced(client, "ns"), server)
    }

    fn add_pod(fake: &FakeApi, name: &str, phase: &str) {
        fake.add_pod("ns", name, &BTreeMap::new(), json!({ "phase": phase }));
    }

    #[tokio::test]
    async fn kube_clients_port_forward_reaches_the_address_set_for_the_pods_port() {
        let fake = FakeApi::new("2025-03-01T10:00:00Z".parse().unwrap());
        add_pod(&fake, "web", "Running");
        fake.set_port_forward("ns", "web", 8089, shouting_server().await);
        let (pods, _server) = pods_over_http(&fake).await;

        let mut forwarder = tokio::time::timeout(Duration::from_secs(10), pods.portforward("web", &[8089]))
            .await
            .unwrap()
            .unwrap();
        let mut stream = forwarder.take_stream(8089).unwrap();
        for word in ["hello", "locust"] {
            stream.write_all(word.as_bytes()).await.unwrap();
            let mut answer = vec![0_u8; word.len()];
            tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut answer))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(answer, word.to_ascii_uppercase().as_bytes());
        }
        drop(stream);
        let joined = tokio::time::timeout(Duration::from_secs(10), forwarder.join())
            .await
            .unwrap();
        assert!(joined.is_ok(), "{joined:?}");
        let recorded = fake.requests_matching("GET", "/pods/web/portforward");
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[0].query_param("ports"), Some("8089"));
    }

    #[tokio::test]
    async fn a_port_nothing_listens_on_reports_the_kubelets_error_on_its_error_channel() {
        let fake = FakeApi::new("2025-03-01T10:00:00Z".parse().unwrap());
        add_pod(&fake, "web", "Running");
        let (pods, _server) = pods_over_http(&fake).await;
        let mut forwarder = within(pods.portforward("web", &[8089])).await.unwrap();
        let error = tokio::time::timeout(Duration::from_secs(10), forwarder.take_error(8089).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert!(error.contains("error forwarding port 8089"), "{error}");
        assert!(error.contains("connection refused"), "{error}");
    }

    #[tokio::test]
    async fn refusals_come_back_as_api_errors_a_kube_client_understands() {
        let fake = FakeApi::new("2025-03-01T10:00:00Z".parse().unwrap());
        add_pod(&fake, "starting", "Pending");
        add_pod(&fake, "web", "Running");
        let (pods, _server) = pods_over_http(&fake).await;
        let status = |result: kube::Result<kube::api::Portforwarder>| match result {
            Err(kube::Error::Api(status)) => (status.code, status.message),
            Err(other) => panic!("not an API error: {other}"),
            Ok(_) => panic!("the forward was refused"),
        };

        let (code, message) = status(within(pods.portforward("gone", &[8089])).await);
        assert_eq!((code, message.as_str()), (404, "pods \"gone\" not found"));
        let (code, message) = status(within(pods.portforward("starting", &[8089])).await);
        assert_eq!(code, 400);
        assert!(
            message.contains("pod is not running. Current status=Pending"),
            "{message}"
        );

        fake.forbid("GET", "pods/portforward");
        let (code, message) = status(within(pods.portforward("web", &[8089])).await);
        assert_eq!(code, 403);
        assert!(
            message.contains("cannot create resource \"pods/portforward\" in API group \"\" in the namespace \"ns\""),
            "{message}"
        );
        // Only the subresource is forbidden: the pod itself can still be read.
        within(pods.get("web")).await.unwrap();
    }
}
