//! keepalived's `socket_bind_connect` and `socket_state` (core/layer4.c): one socket per
//! probe with the checker's options (SO_MARK, SO_BINDTODEVICE, bind), a non-blocking
//! connect, and keepalived's reading of what went wrong:
//!
//! * `socket()` fails, or an option, the bind or an unexpected connect errno fails: a local
//!   error, not the real server's fault (not counted);
//! * connect fails at once with an unreachable/refused errno: a failure ("connect_fail");
//! * the connection does not complete within the timeout (or SO_ERROR is ETIMEDOUT): a
//!   timeout; any other SO_ERROR: a failure.

use crate::Endpoint;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::SocketAddr;
use tokio::net::{TcpStream, UdpSocket};

/// The errors are kept for debugging output; keepalived's messages do not carry them.
#[derive(Debug)]
#[allow(dead_code)]
pub(crate) enum ConnectError {
    /// `socket()` failed.
    Socket(io::Error),
    /// SO_MARK, SO_BINDTODEVICE, bind, or connect with an errno keepalived does not count
    /// against the server (keepalived's `connect_error`).
    Local(io::Error),
    /// connect() failed at once: network/host unreachable, refused, reset... (`connect_fail`).
    Unreachable(io::Error),
    /// The connection attempt ended with an error (SO_ERROR).
    Failed(io::Error),
    /// Not connected within the timeout.
    Timeout,
}

fn domain(addr: &SocketAddr) -> Domain {
    match addr {
        SocketAddr::V4(_) => Domain::IPV4,
        SocketAddr::V6(_) => Domain::IPV6,
    }
}

/// The errnos keepalived reads as "the server cannot be reached" when connect() returns.
fn is_connect_fail(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ENETUNREACH
                | libc::EHOSTUNREACH
                | libc::ECONNREFUSED
                | libc::EHOSTDOWN
                | libc::ENETDOWN
                | libc::ECONNRESET
                | libc::ECONNABORTED
                | libc::ETIMEDOUT
        )
    )
}

/// Applies fwmark, bind_if and bindto as keepalived does, in its order.
fn apply_options(sock: &Socket, ep: &Endpoint, with_device: bool) -> io::Result<()> {
    if ep.fwmark != 0 {
        sock.set_mark(ep.fwmark)?;
    }
    if with_device {
        if let Some(dev) = &ep.bind_if {
            sock.bind_device(Some(dev.as_bytes()))?;
        }
    }
    if let Some(bind) = ep.bind {
        sock.bind(&SockAddr::from(bind))?;
    }
    Ok(())
}

/// A stream socket connected to `ep.dst` within `ep.timeout`.
pub(crate) async fn tcp_connect(ep: &Endpoint) -> Result<TcpStream, ConnectError> {
    let sock = Socket::new(
        domain(&ep.dst),
        Type::STREAM.nonblocking().cloexec(),
        Some(Protocol::TCP),
    )
    .map_err(ConnectError::Socket)?;
    apply_options(&sock, ep, true).map_err(ConnectError::Local)?;
    match sock.connect(&SockAddr::from(ep.dst)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if is_connect_fail(&e) => return Err(ConnectError::Unreachable(e)),
        Err(e) => return Err(ConnectError::Local(e)),
    }
    let stream = TcpStream::from_std(std::net::TcpStream::from(sock)).map_err(ConnectError::Local)?;
    // Writable = the handshake ended, one way or the other; SO_ERROR says which.
    match tokio::time::timeout(ep.timeout, stream.writable()).await {
        Err(_) => return Err(ConnectError::Timeout),
        Ok(Err(e)) => return Err(ConnectError::Failed(e)),
        Ok(Ok(())) => {}
    }
    match stream.take_error() {
        Ok(None) => {}
        Ok(Some(e)) | Err(e) if e.raw_os_error() == Some(libc::ETIMEDOUT) => {
            return Err(ConnectError::Timeout)
        }
        Ok(Some(e)) | Err(e) => return Err(ConnectError::Failed(e)),
    }
    // A spurious wake-up before the handshake ends would leave the socket unconnected:
    // peer_addr() tells.
    match stream.peer_addr() {
        Ok(_) => Ok(stream),
        Err(e) => Err(ConnectError::Failed(e)),
    }
}

/// A connected datagram socket (DNS_CHECK goes through socket_bind_connect too).
pub(crate) fn udp_connect(ep: &Endpoint) -> Result<UdpSocket, ConnectError> {
    let sock = Socket::new(
        domain(&ep.dst),
        Type::DGRAM.nonblocking().cloexec(),
        Some(Protocol::UDP),
    )
    .map_err(ConnectError::Socket)?;
    apply_options(&sock, ep, true).map_err(ConnectError::Local)?;
    match sock.connect(&SockAddr::from(ep.dst)) {
        Ok(()) => {}
        Err(e) if is_connect_fail(&e) => return Err(ConnectError::Unreachable(e)),
        Err(e) => return Err(ConnectError::Local(e)),
    }
    UdpSocket::from_std(std::net::UdpSocket::from(sock)).map_err(ConnectError::Local)
}
