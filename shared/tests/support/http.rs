//! A tiny HTTP/1.1 target that answers every request `200 OK` and remembers what it got, and a
//! minimal HTTP/1.0 client for Locust's JSON API. Loopback only; every socket has a timeout.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// How long a socket may stay silent before we give up on it.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(5);
/// Request heads larger than this are not something Locust sends; stop reading.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Requests for paths under this one are answered after [`SLOW_RESPONSE`]: a slow endpoint.
pub const SLOW_PATH: &str = "/slow";
/// How long the slow endpoint takes to answer.
pub const SLOW_RESPONSE: Duration = Duration::from_millis(300);

/// One request the target received.
#[derive(Debug, Clone)]
pub struct ReceivedRequest {
    /// E.g. `GET / HTTP/1.1`.
    pub request_line: String,
    /// Header names lower-cased, values trimmed, in arrival order.
    pub headers: Vec<(String, String)>,
}

impl ReceivedRequest {
    /// Value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The load-test target. Closing every connection after one response keeps it simple; Locust's
/// client reconnects transparently.
pub struct TargetServer {
    address: SocketAddr,
    received: Arc<Mutex<Vec<ReceivedRequest>>>,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl TargetServer {
    /// Listens on a free port of 127.0.0.1.
    pub fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let address = listener.local_addr()?;
        let received = Arc::new(Mutex::new(Vec::new()));
        let stopping = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let received = Arc::clone(&received);
            let stopping = Arc::clone(&stopping);
            std::thread::spawn(move || {
                for connection in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(connection) = connection else { continue };
                    let received = Arc::clone(&received);
                    // One thread per connection so a silent client cannot stall the others.
                    std::thread::spawn(move || serve_one(connection, &received));
                }
            })
        };
        Ok(Self {
            address,
            received,
            stopping,
            acceptor: Some(acceptor),
        })
    }

    /// `http://127.0.0.1:<port>`, for Locust's `--host`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Every complete request received so far.
    pub fn received(&self) -> Vec<ReceivedRequest> {
        self.received.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Drop for TargetServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // `accept` only returns when someone connects: wake it so the thread sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, SOCKET_TIMEOUT);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// Reads one request head, records it, answers `200 OK` and closes. Errors just drop the
/// connection: a client that vanished is not the target's problem.
fn serve_one(mut connection: TcpStream, received: &Mutex<Vec<ReceivedRequest>>) {
    let _ = connection.set_read_timeout(Some(SOCKET_TIMEOUT));
    let _ = connection.set_write_timeout(Some(SOCKET_TIMEOUT));
    let Some(head) = read_head(&mut connection) else {
        return;
    };
    let Some(request) = parse_head(&head) else {
        return;
    };
    let slow = request
        .request_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|path| path.starts_with(SLOW_PATH));
    received.lock().unwrap_or_else(PoisonError::into_inner).push(request);
    if slow {
        std::thread::sleep(SLOW_RESPONSE);
    }
    let _ = connection
        .write_all(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
    let _ = connection.flush();
}

/// Bytes up to the blank line ending the head, or `None` if the client stopped before it.
fn read_head(connection: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut chunk = [0_u8; 1024];
    while !head.windows(4).any(|window| window == b"\r\n\r\n") {
        if head.len() > MAX_HEAD_BYTES {
            return None;
        }
        let read = connection.read(&mut chunk).ok()?;
        if read == 0 {
            return None;
        }
        head.extend_from_slice(&chunk[..read]);
    }
    String::from_utf8(head).ok()
}

fn parse_head(head: &str) -> Option<ReceivedRequest> {
    let mut lines = head.split("\r\n");
    let request_line = lines.next()?.to_string();
    let headers = lines
        .take_while(|line| !line.is_empty())
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    Some(ReceivedRequest { request_line, headers })
}

/// `GET path` on 127.0.0.1:`port` over HTTP/1.0, body parsed as JSON. `Err` says what went wrong
/// (connection refused while the master starts is expected, so callers usually retry).
pub fn get_json(port: u16, path: &str) -> Result<serde_json::Value, String> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))
        .map_err(|error| format!("connect {address}: {error}"))?;
    stream
        .set_read_timeout(Some(SOCKET_TIMEOUT))
        .map_err(|error| error.to_string())?;
    stream
        .set_write_timeout(Some(SOCKET_TIMEOUT))
        .map_err(|error| error.to_string())?;
    stream
        .write_all(
            format!("GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nAccept: application/json\r\n\r\n").as_bytes(),
        )
        .map_err(|error| format!("send to {address}: {error}"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .map_err(|error| format!("read from {address}: {error}"))?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("incomplete response from {address}: {response:?}"))?;
    let status_line = head.lines().next().unwrap_or_default();
    if status_line.split_whitespace().nth(1) != Some("200") {
        return Err(format!("GET {path}: {status_line}"));
    }
    serde_json::from_str(body).map_err(|error| format!("GET {path}: body is not JSON ({error})"))
}
