//! UDP_CHECK (keepalived's check_udp.c, layer4.c `udp_bind_connect`/`udp_socket_state`): one
//! datagram, then up to connect_timeout for an answer.
//!
//! * ICMP(v6) destination unreachable (seen through IP_RECVERR) fails; other ICMP errors pass;
//! * silence passes unless `require_reply` is set;
//! * a reply passes, and is checked against the `require_reply` pattern (with its
//!   don't-care bits) and the length bounds only when a pattern is given.

use crate::Endpoint;
use ka_check::{Outcome, RsPlan};
use ka_config::lvs::checker::UdpCheck;
use nix::sys::socket::{self, sockopt, ControlMessageOwned, MsgFlags, SockaddrStorage};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use tokio::io::Interest;

/// keepalived's default payload: "keepalived check - " repeated over 32 bytes.
pub fn default_payload() -> Vec<u8> {
    repeated_check_text(32)
}

/// keepalived's `set_buf`.
pub(crate) fn repeated_check_text(len: usize) -> Vec<u8> {
    b"keepalived check - ".iter().copied().cycle().take(len).collect()
}

/// keepalived's `check_udp_reply`: true when the reply does NOT match. Lengths outside
/// [min, max] fail; then the first min(len, pattern) bytes must equal the pattern except
/// where the mask has bits set.
pub fn reply_mismatch(reply: &[u8], u: &UdpCheck) -> bool {
    let Some(pattern) = &u.reply else {
        return false;
    };
    if reply.len() < usize::from(u.min_reply_length) || reply.len() > usize::from(u.max_reply_length) {
        return true;
    }
    reply
        .iter()
        .zip(&pattern.data)
        .enumerate()
        .any(|(i, (rx, want))| (rx ^ want) & !pattern.mask.get(i).copied().unwrap_or(0) != 0)
}

const ICMP_DEST_UNREACH: u8 = 3;
const ICMPV6_DEST_UNREACH: u8 = 1;

/// What the error queue holds (keepalived's `udp_socket_error`).
enum QueuedError {
    DestinationUnreachable,
    /// Another ICMP error, or nothing readable: keepalived counts this as a success.
    Other,
}

fn read_error_queue(sock: &impl AsRawFd) -> QueuedError {
    let mut data = [0u8; 64];
    let mut iov = [IoSliceMut::new(&mut data)];
    let mut control = [0u8; 512];
    let flags = MsgFlags::MSG_ERRQUEUE | MsgFlags::MSG_DONTWAIT;
    let Ok(msg) = socket::recvmsg::<SockaddrStorage>(sock.as_raw_fd(), &mut iov, Some(&mut control), flags)
    else {
        return QueuedError::Other;
    };
    let Ok(cmsgs) = msg.cmsgs() else {
        return QueuedError::Other;
    };
    for c in cmsgs {
        let unreachable = match c {
            ControlMessageOwned::Ipv4RecvErr(e, _) => {
                e.ee_origin == libc::SO_EE_ORIGIN_ICMP && e.ee_type == ICMP_DEST_UNREACH
            }
            ControlMessageOwned::Ipv6RecvErr(e, _) => {
                e.ee_origin == libc::SO_EE_ORIGIN_ICMP6 && e.ee_type == ICMPV6_DEST_UNREACH
            }
            _ => false,
        };
        if unreachable {
            return QueuedError::DestinationUnreachable;
        }
    }
    QueuedError::Other
}

/// Socket, options, bind, connect, send. `Err(true)`: the socket could not be created (not
/// counted); `Err(false)`: a failure.
fn send_probe(u: &UdpCheck, ep: &Endpoint) -> Result<Socket, bool> {
    let domain = match ep.dst {
        SocketAddr::V4(_) => Domain::IPV4,
        SocketAddr::V6(_) => Domain::IPV6,
    };
    let sock =
        Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(Protocol::UDP)).map_err(|_| true)?;
    // keepalived only logs a failure to ask for ICMP errors.
    let _ = match ep.dst {
        SocketAddr::V4(_) => socket::setsockopt(&sock, sockopt::Ipv4RecvErr, &true),
        SocketAddr::V6(_) => socket::setsockopt(&sock, sockopt::Ipv6RecvErr, &true),
    };
    if ep.fwmark != 0 {
        sock.set_mark(ep.fwmark).map_err(|_| false)?;
    }
    // keepalived does not apply bind_if to UDP_CHECK.
    if let Some(bind) = ep.bind {
        sock.bind(&SockAddr::from(bind)).map_err(|_| false)?;
    }
    sock.connect(&SockAddr::from(ep.dst)).map_err(|_| false)?;
    let payload = u.payload.clone().unwrap_or_else(default_payload);
    match sock.send(&payload) {
        Ok(n) if n == payload.len() => Ok(sock),
        _ => Err(false),
    }
}

pub(crate) async fn probe(u: &UdpCheck, ep: &Endpoint, rs: &RsPlan) -> Outcome {
    let failed = || Outcome::Failure {
        message: format!("UDP connection to {} failed.", rs.name),
    };
    let sock = match send_probe(u, ep) {
        Ok(s) => s,
        Err(true) => {
            return Outcome::LocalError {
                message: "UDP connect fail to create socket.".into(),
            }
        }
        Err(false) => return failed(),
    };
    let Ok(sock) = tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(sock)) else {
        return failed();
    };
    let want = if u.require_reply {
        usize::from(u.max_reply_length) + 1
    } else {
        1
    };
    let mut buf = vec![0u8; want];
    let wait = async {
        loop {
            // The error interest wakes us for an ICMP error (EPOLLERR) as keepalived's
            // THREAD_READ_ERROR does.
            let Ok(ready) = sock.ready(Interest::READABLE | Interest::ERROR).await else {
                return failed();
            };
            if ready.is_error() {
                return match read_error_queue(&sock) {
                    QueuedError::DestinationUnreachable => failed(),
                    QueuedError::Other => Outcome::Success,
                };
            }
            match sock.try_recv(&mut buf) {
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                // e.g. ECONNREFUSED: the port is unreachable.
                Err(_) => return failed(),
                Ok(n) if reply_mismatch(&buf[..n], u) => {
                    return Outcome::Failure {
                        message: format!("UDP check to {} reply data mismatch.", rs.name),
                    }
                }
                Ok(_) => return Outcome::Success,
            }
        }
    };
    match tokio::time::timeout(ep.timeout, wait).await {
        Ok(outcome) => outcome,
        Err(_) if u.require_reply => failed(),
        Err(_) => Outcome::Success,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ka_config::lvs::checker::ReplyPattern;

    #[test]
    fn default_payload_is_keepalived_s() {
        assert_eq!(default_payload(), b"keepalived check - keepalived ch");
        assert_eq!(repeated_check_text(128).len(), 128);
        assert!(repeated_check_text(128).ends_with(b"keepalived che"));
    }

    #[test]
    fn replies_match_with_wildcards_and_bounds() {
        let mut u = UdpCheck {
            require_reply: true,
            reply: Some(ReplyPattern {
                data: vec![0xab, 0xc0, 0x12],
                mask: vec![0x00, 0x0f, 0x00],
            }),
            min_reply_length: 2,
            max_reply_length: 8,
            ..UdpCheck::default()
        };
        assert!(!reply_mismatch(&[0xab, 0xc7, 0x12], &u));
        assert!(reply_mismatch(&[0xab, 0xd0, 0x12], &u));
        // Shorter than the pattern: its prefix is compared.
        assert!(!reply_mismatch(&[0xab, 0xcf], &u));
        // Longer than the pattern: the extra bytes are free.
        assert!(!reply_mismatch(&[0xab, 0xc0, 0x12, 0xff], &u));
        assert!(reply_mismatch(&[0xab], &u), "below min_reply_length");
        assert!(
            reply_mismatch(&[0xab, 0xc0, 0x12, 0, 0, 0, 0, 0, 0], &u),
            "above max_reply_length"
        );
        // require_reply without a pattern accepts anything.
        u.reply = None;
        assert!(!reply_mismatch(&[], &u));
    }
}
