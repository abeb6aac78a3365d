//! `pods/{name}/portforward` over a websocket, as kube-client's `Api::portforward` speaks it (the
//! protocol of the API server's `k8s.io/apiserver/pkg/util/wsstream` for port forwarding):
//!
//! - the client sends `GET .../pods/{name}/portforward?ports=8089[,...]` with a websocket upgrade
//!   and offers the subprotocols `v5.channel.k8s.io, v4.channel.k8s.io`; the server picks
//!   `v4.channel.k8s.io` (or `portforward.k8s.io`, the name kubectl's own websocket client uses)
//!   and answers `101 Switching Protocols`;
//! - every binary message starts with one channel byte: port `i` of `ports` has data channel
//!   `2i` and error channel `2i + 1`;
//! - the server's first message on each of the two channels is the port number, two bytes
//!   little-endian, and nothing else;
//! - after that, data messages carry the port's bytes both ways, and one message on the error
//!   channel says why the port is unusable (e.g. nothing listens on it in the pod);
//! - either side ends the forward with a websocket Close.
//!
//! The "pod" is a local address a test sets with [`crate::FakeApi::set_port_forward`] (a real
//! Locust master on 127.0.0.1); a port without one gets the kubelet's "connection refused" error.

use std::net::SocketAddr;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http::{HeaderValue, Request, Response, StatusCode, header};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::mpsc;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

/// The subprotocols this server speaks, preferred first.
const PROTOCOLS: [&str; 2] = ["v4.channel.k8s.io", "portforward.k8s.io"];

/// Where a forwarded port of a pod leads, looked up when the forward starts.
pub(crate) type Target = Result<SocketAddr, String>;

/// True for a websocket upgrade of a `pods/{name}/portforward` path.
pub(crate) fn is_upgrade<B>(request: &Request<B>) -> bool {
    let upgrade = request
        .headers()
        .get(header::UPGRADE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.eq_ignore_ascii_case("websocket"));
    upgrade && request.uri().path().ends_with("/portforward")
}

/// The ports of a `ports=8089,5557` query, or why there are none usable.
pub(crate) fn ports(query: &[(String, String)]) -> Result<Vec<u16>, String> {
    let listed: Vec<&str> = query
        .iter()
        .filter(|(key, _)| key == "ports")
        .flat_map(|(_, value)| value.split(','))
        .filter(|port| !port.is_empty())
        .collect();
    if listed.is_empty() {
        return Err("at least one port must be given in the ports query parameter".into());
    }
    listed
        .iter()
        .map(|port| match port.trim().parse::<u16>() {
            Ok(0) | Err(_) => Err(format!("invalid port {port:?}: a port is a number from 1 to 65535")),
            Ok(port) => Ok(port),
        })
        .collect()
}

/// The subprotocol to answer with, from the client's `Sec-WebSocket-Protocol` offer.
pub(crate) fn choose_protocol<B>(request: &Request<B>) -> Option<&'static str> {
    let offered: Vec<String> = request
        .headers()
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|protocol| protocol.trim().to_string())
        .collect();
    PROTOCOLS
        .into_iter()
        .find(|protocol| offered.iter().any(|offer| offer == protocol))
}

/// The `101 Switching Protocols` answer to `request`, speaking `protocol`, with an empty `body`.
pub(crate) fn switching<B, R>(request: &Request<B>, protocol: &'static str, body: R) -> Response<R> {
    let key = request
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|key| derive_accept_key(key.as_bytes()))
        .unwrap_or_default();
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = response.headers_mut();
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    headers.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(protocol));
    if let Ok(accept) = HeaderValue::from_str(&key) {
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept);
    }
    response
}

/// Runs one port-forward session on the upgraded connection until either side closes it.
pub(crate) async fn serve(upgraded: hyper::upgrade::OnUpgrade, ports: Vec<u16>, targets: Vec<Target>) {
    let Ok(upgraded) = upgraded.await else {
        return;
    };
    let socket = WebSocketStream::from_raw_socket(hyper_util::rt::TokioIo::new(upgraded), Role::Server, None).await;
    tunnel(socket, ports, targets).await;
}

/// The session itself, on any websocket (a test can drive it over an in-memory pipe).
pub(crate) async fn tunnel<S>(socket: WebSocketStream<S>, ports: Vec<u16>, targets: Vec<Target>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sink, mut incoming) = socket.split();
    // Everything the server sends goes through one queue; `None` asks for the Close.
    let (outgoing, mut queue) = mpsc::unbounded_channel::<Option<Vec<u8>>>();
    let sender = tokio::spawn(async move {
        while let Some(Some(frame)) = queue.recv().await {
            if sink.send(Message::binary(frame)).await.is_err() {
                return;
            }
        }
        // Sends the Close (or flushes the reply to the client's), so the client sees a clean end.
        let _ = sink.close().await;
    });

    let mut writers: Vec<Option<OwnedWriteHalf>> = Vec::with_capacity(ports.len());
    let (open_tx, mut open_rx) = mpsc::unbounded_channel::<()>();
    for (index, (port, target)) in ports.iter().zip(targets).enumerate() {
        let data = channel(index, false);
        let error = channel(index, true);
        let [low, high] = port.to_le_bytes();
        let _ = outgoing.send(Some(vec![data, low, high]));
        let _ = outgoing.send(Some(vec![error, low, high]));
        let connected = match target {
            Ok(address) => TcpStream::connect(address)
                .await
                .map_err(|problem| format!("dial tcp {address}: {problem}")),
            Err(problem) => Err(problem),
        };
        match connected {
            Ok(stream) => {
                let (mut reader, writer) = stream.into_split();
                writers.push(Some(writer));
                let (outgoing, open) = (outgoing.clone(), open_tx.clone());
                tokio::spawn(async move {
                    let mut buffer = vec![0_u8; 32 * 1024];
                    while let Ok(read) = reader.read(&mut buffer).await {
                        if read == 0 {
                            break;
                        }
                        let mut frame = Vec::with_capacity(read + 1);
                        frame.push(data);
                        frame.extend_from_slice(&buffer[..read]);
                        if outgoing.send(Some(frame)).is_err() {
                            break;
                        }
                    }
                    drop(open);
                });
            }
            Err(problem) => {
                writers.push(None);
                let message = format!(
                    "error forwarding port {port} to pod, uid : failed to connect to localhost:{port} inside the pod: {problem}"
                );
                let mut frame = vec![error];
                frame.extend_from_slice(message.as_bytes());
                let _ = outgoing.send(Some(frame));
            }
        }
    }
    drop(open_tx);
    // A port that could not be dialled stays unusable but the session stays up, as the kubelet
    // keeps it: closing at once would race the client's first write against the error message.
    let any_open = writers.iter().any(Option::is_some);

    // Until the client closes, or every port's far end has hung up (v4 has no per-port close).
    loop {
        tokio::select! {
            message = incoming.next() => match message {
                Some(Ok(Message::Binary(bytes))) => write_to_port(&mut writers, bytes).await,
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            None = open_rx.recv(), if any_open => break,
        }
    }
    for writer in writers.iter_mut().flatten() {
        let _ = writer.shutdown().await;
    }
    let _ = outgoing.send(None);
    drop(outgoing);
    let _ = sender.await;
}

/// The channel byte of port `index`'s data or error stream.
fn channel(index: usize, error: bool) -> u8 {
    u8::try_from(2 * index + usize::from(error)).unwrap_or(u8::MAX)
}

/// Writes a client's data message (channel byte first) to its port's connection.
async fn write_to_port(writers: &mut [Option<OwnedWriteHalf>], mut bytes: Bytes) {
    if bytes.len() < 2 {
        return;
    }
    let channel = usize::from(bytes.split_to(1)[0]);
    if channel % 2 != 0 {
        return;
    }
    if let Some(Some(writer)) = writers.get_mut(channel / 2)
        && writer.write_all(&bytes).await.is_err()
    {
        writers[channel / 2] = None;
    }
}
