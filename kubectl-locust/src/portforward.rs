//! A pod's port on a local one, through the API server: `pods/{name}/portforward` over a
//! websocket (kube's `ws` feature), so no `kubectl` binary is needed. Each accepted local
//! connection gets a forward of its own, so one that fails or hangs never holds up another.

use std::net::{IpAddr, SocketAddr};

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use tokio::net::{TcpListener, TcpStream};

use crate::error::PluginError;

/// Which local port to listen on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalPort {
    /// This one if it is free, else any free port (with a note saying so).
    Preferred(u16),
    /// This one or an error (`0`: any free port).
    Exact(u16),
}

/// A listener on `address` and the port asked for; the note to print when it had to fall back to
/// another port.
pub async fn listen(address: IpAddr, port: LocalPort) -> Result<(TcpListener, Option<String>), PluginError> {
    let wanted = SocketAddr::new(
        address,
        match port {
            LocalPort::Preferred(port) | LocalPort::Exact(port) => port,
        },
    );
    let refused = |error: std::io::Error| {
        let next = if error.kind() == std::io::ErrorKind::AddrInUse {
            "pick another --port, or leave --port out for a free one"
        } else {
            "--address takes an address of this machine (default 127.0.0.1, loopback only)"
        };
        PluginError::Other(format!("cannot listen on {wanted}: {error}\n  next: {next}"))
    };
    match (TcpListener::bind(wanted).await, port) {
        (Ok(listener), _) => Ok((listener, None)),
        (Err(error), LocalPort::Preferred(_)) if error.kind() == std::io::ErrorKind::AddrInUse => {
            let listener = TcpListener::bind(SocketAddr::new(address, 0)).await.map_err(refused)?;
            let note = format!("note: {wanted} is in use (another port-forward?), so a free port is used instead");
            Ok((listener, Some(note)))
        }
        (Err(error), _) => Err(refused(error)),
    }
}

/// How long the end of a forwarded stream waits for the kubelet's error that may come with it.
const ERROR_AFTER_END: std::time::Duration = std::time::Duration::from_millis(250);

/// Why one connection could not be forwarded.
#[derive(Debug)]
pub enum ForwardError {
    /// The API server refused the forward (the pod is gone or not running, RBAC said no...).
    Refused(kube::Error),
    /// The forward started but the port is unusable: the kubelet's message (nothing listens on it).
    Port(String),
}

/// Forwards `local` to `port` of `pod` until either end closes. A connection that ends abruptly
/// (a browser tab closed mid-answer) is a normal end, not an error.
pub async fn forward(pods: &Api<Pod>, pod: &str, port: u16, local: &mut TcpStream) -> Result<(), ForwardError> {
    let mut forwarder = pods.portforward(pod, &[port]).await.map_err(ForwardError::Refused)?;
    let (Some(mut remote), Some(port_error)) = (forwarder.take_stream(port), forwarder.take_error(port)) else {
        forwarder.abort();
        return Ok(());
    };
    let copy = tokio::io::copy_bidirectional(local, &mut remote);
    tokio::pin!(copy);
    tokio::pin!(port_error);
    let outcome = tokio::select! {
        biased;
        // `None` only says the forward ended: the copy then ends too.
        Some(message) = &mut port_error => Err(ForwardError::Port(message)),
        _ = &mut copy => {
            // The kubelet's error and the end of the stream arrive together: which is seen first
            // is chance, so an end gets a moment for the error before it counts as a normal one.
            match tokio::time::timeout(ERROR_AFTER_END, &mut port_error).await {
                Ok(Some(message)) => Err(ForwardError::Port(message)),
                _ => Ok(()),
            }
        }
    };
    forwarder.abort();
    outcome
}

/// Opens and closes one forward to `port` of `pod`: whether the API server allows it, before any
/// URL is printed.
pub async fn check(pods: &Api<Pod>, pod: &str, port: u16) -> Result<(), kube::Error> {
    let forwarder = pods.portforward(pod, &[port]).await?;
    // Dropping the streams closes the websocket; a forward that does not close in time is cut.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), forwarder.join()).await;
    Ok(())
}
