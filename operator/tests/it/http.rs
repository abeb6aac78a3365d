//! The probe and metrics endpoints, served for real on a loopback port and queried with a
//! minimal HTTP/1.1 client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use operator::http::{self, Health, SHUTDOWN_DRAIN};
use operator::metrics::{self, Metrics};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const IO_TIMEOUT: Duration = Duration::from_secs(5);

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends one request on a fresh connection and reads the reply until the server closes it.
async fn request(addr: SocketAddr, method: &str, path: &str) -> Reply {
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(head.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        String::from_utf8(raw).unwrap()
    };
    let raw = tokio::time::timeout(IO_TIMEOUT, exchange).await.expect("reply in time");
    let (head, body) = raw.split_once("\r\n\r\n").expect("complete reply");
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|line| {
            let (name, value) = line.split_once(':').unwrap();
            (name.trim().to_string(), value.trim().to_string())
        })
        .collect();
    Reply {
        status,
        headers,
        body: body.to_string(),
    }
}

struct Server {
    addr: SocketAddr,
    health: Arc<Health>,
    metrics: Arc<Metrics>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(phase_counts: metrics::PhaseCounter) -> Self {
        let health = Arc::new(Health::default());
        let metrics = Arc::new(Metrics::new(phase_counts));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let task = tokio::spawn(http::serve_on(
            listener,
            http::router(health.clone(), metrics.clone()),
            shutdown,
        ));
        Self {
            addr,
            health,
            metrics,
            stop: Some(stop),
            task,
        }
    }

    /// Requests shutdown and returns how long `serve_on` took to return.
    async fn shut_down(mut self, within: Duration) -> Duration {
        let started = tokio::time::Instant::now();
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(within, self.task)
            .await
            .expect("server stopped in time")
            .unwrap()
            .unwrap();
        started.elapsed()
    }
}

fn no_tests() -> metrics::PhaseCounter {
    Box::new(Vec::new)
}

#[tokio::test]
async fn healthz_answers_ok_while_the_process_serves() {
    let server = Server::start(no_tests()).await;
    let reply = request(server.addr, "GET", "/healthz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "ok");
    // Liveness does not depend on readiness.
    assert!(!server.health.is_ready());
    server.shut_down(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn readyz_is_unavailable_until_ready_and_says_why() {
    let server = Server::start(no_tests()).await;
    let reply = request(server.addr, "GET", "/readyz").await;
    assert_eq!(reply.status, 503);
    assert!(reply.body.contains("watches have not synced"), "{}", reply.body);

    server.health.set_ready(true);
    let reply = request(server.addr, "GET", "/readyz").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body, "ready");

    server.health.set_not_ready("leadership lost");
    let reply = request(server.addr, "GET", "/readyz").await;
    assert_eq!(reply.status, 503);
    assert!(reply.body.contains("leadership lost"), "{}", reply.body);
    server.shut_down(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn metrics_expose_reconciles_and_tests_by_phase_at_scrape_time() {
    let tests: Arc<Mutex<Vec<(String, i64)>>> = Arc::new(Mutex::new(vec![("Running".into(), 3), ("Failed".into(), 1)]));
    let source = tests.clone();
    let server = Server::start(Box::new(move || source.lock().unwrap().clone())).await;
    drop(server.metrics.reconcile_timer());
    server.metrics.reconcile_error("patch_status", "conflict");

    let reply = request(server.addr, "GET", "/metrics").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), Some(metrics::CONTENT_TYPE));
    let lines: Vec<&str> = reply.body.lines().collect();
    for expected in [
        "locust_operator_reconciliations_total 1",
        "locust_operator_reconcile_duration_seconds_count 1",
        "locust_operator_reconcile_errors_total{step=\"patch_status\",error=\"conflict\"} 1",
        "locust_operator_tests{phase=\"Running\"} 3",
        "locust_operator_tests{phase=\"Failed\"} 1",
        "locust_operator_tests{phase=\"Pending\"} 0",
        "locust_operator_tests{phase=\"Succeeded\"} 0",
        "locust_operator_ready 0",
        "locust_operator_leader 0",
    ] {
        assert!(lines.contains(&expected), "missing `{expected}` in:\n{}", reply.body);
    }
    assert_eq!(lines.last(), Some(&"# EOF"));

    // Deleted tests disappear and readiness shows up on the next scrape.
    *tests.lock().unwrap() = vec![("Succeeded".into(), 2)];
    server.health.set_ready(true);
    server.metrics.set_leader(true);
    let reply = request(server.addr, "GET", "/metrics").await;
    let lines: Vec<&str> = reply.body.lines().collect();
    for expected in [
        "locust_operator_tests{phase=\"Running\"} 0",
        "locust_operator_tests{phase=\"Failed\"} 0",
        "locust_operator_tests{phase=\"Succeeded\"} 2",
        "locust_operator_ready 1",
        "locust_operator_leader 1",
    ] {
        assert!(lines.contains(&expected), "missing `{expected}` in:\n{}", reply.body);
    }
    server.shut_down(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn unknown_paths_are_not_found_and_only_get_is_served() {
    let server = Server::start(no_tests()).await;
    assert_eq!(request(server.addr, "GET", "/").await.status, 404);
    assert_eq!(request(server.addr, "GET", "/livez").await.status, 404);
    assert_eq!(request(server.addr, "POST", "/healthz").await.status, 405);
    server.shut_down(Duration::from_secs(3)).await;
}

#[tokio::test]
async fn shutdown_closes_idle_keep_alive_connections_and_stops_listening() {
    let server = Server::start(no_tests()).await;
    let addr = server.addr;
    // A scraper that keeps its connection open between scrapes.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut first = [0u8; 12];
    tokio::time::timeout(IO_TIMEOUT, idle.read_exact(&mut first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&first, b"HTTP/1.1 200");

    let took = server.shut_down(Duration::from_secs(3)).await;
    assert!(took < SHUTDOWN_DRAIN, "an idle connection held shutdown for {took:?}");
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting connections after shutdown"
    );
}

#[tokio::test]
async fn shutdown_is_bounded_even_when_a_client_stalls_mid_request() {
    let server = Server::start(no_tests()).await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    // Let the server start reading the request before shutting down.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let took = server.shut_down(SHUTDOWN_DRAIN + Duration::from_secs(3)).await;
    assert!(
        took <= SHUTDOWN_DRAIN + Duration::from_secs(1),
        "shutdown took {took:?}"
    );
    drop(stalled);
}

#[tokio::test]
async fn serve_reports_an_address_that_cannot_be_bound() {
    let taken = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let health = Arc::new(Health::default());
    let metrics = Arc::new(Metrics::new(no_tests()));
    let result = tokio::time::timeout(
        IO_TIMEOUT,
        http::serve(addr, http::router(health, metrics), std::future::pending()),
    )
    .await
    .expect("returns at once");
    let error = result.expect_err("the port is taken");
    assert!(
        format!("{error:#}").contains(&format!("cannot listen on {addr}")),
        "{error:#}"
    );
}
