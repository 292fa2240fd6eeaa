//! PING_CHECK (keepalived's check_ping.c): one ICMP(v6) echo request, up to connect_timeout
//! for the answer.
//!
//! keepalived uses an unprivileged "ping" socket (SOCK_DGRAM, IPPROTO_ICMP[V6]): the kernel
//! sets the identifier and hands back only the replies to it. Those sockets are allowed
//! only to the groups in `net.ipv4.ping_group_range`; keepalived widens that range at start
//! ([`widen_group_range`], restored at exit). When ping sockets are still refused, the probe
//! falls back to a raw socket (root) and filters the replies itself.
//!
//! The request is keepalived's: type 8 (128 for IPv6), code 0, sequence = a counter shared by
//! all checkers, in host byte order, and 128 bytes of `keepalived check - ` repeated.
//! bindto, bind_if, fwmark and the ports are not applied, as in keepalived.

use crate::{Endpoint, ProbeContext};
use ka_check::{Outcome, RsPlan, VsPlan};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::net::SocketAddr;

/// keepalived's ICMP_BUFSIZE.
const PAYLOAD: usize = 128;
const ECHO_REQUEST_V4: u8 = 8;
const ECHO_REPLY_V4: u8 = 0;
const ECHO_REQUEST_V6: u8 = 128;
const ECHO_REPLY_V6: u8 = 129;
const DEST_UNREACH_V4: u8 = 3;
const DEST_UNREACH_V6: u8 = 1;
const GROUP_RANGE: &str = "/proc/sys/net/ipv4/ping_group_range";

/// The echo request. `identifier` and the checksum are the kernel's on a ping socket;
/// on a raw socket the checksum is ours (IPv4; the kernel computes ICMPv6's).
pub fn echo_request(v6: bool, identifier: u16, sequence: u16, checksum: bool) -> Vec<u8> {
    let mut p = Vec::with_capacity(8 + PAYLOAD);
    p.push(if v6 { ECHO_REQUEST_V6 } else { ECHO_REQUEST_V4 });
    p.push(0);
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&identifier.to_be_bytes());
    // keepalived stores the counter without htons().
    p.extend_from_slice(&sequence.to_ne_bytes());
    p.extend_from_slice(&crate::udp::repeated_check_text(PAYLOAD));
    if checksum && !v6 {
        let sum = internet_checksum(&p);
        p[2..4].copy_from_slice(&sum.to_be_bytes());
    }
    p
}

/// RFC 1071.
pub fn internet_checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    for pair in data.chunks(2) {
        let word = match pair {
            [a, b] => u16::from_be_bytes([*a, *b]),
            [a] => u16::from_be_bytes([*a, 0]),
            _ => 0,
        };
        sum += u32::from(word);
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// What a ping socket's datagram means (keepalived's `recv_it`).
pub fn read_reply(v6: bool, datagram: &[u8]) -> Result<(), String> {
    if datagram.len() < 8 {
        return Err(format!("Error, got short ICMP packet, {} bytes", datagram.len()));
    }
    let want = if v6 { ECHO_REPLY_V6 } else { ECHO_REPLY_V4 };
    if datagram[0] != want {
        let family = if v6 { "ICMPv6" } else { "ICMP" };
        return Err(format!("Got {family} packet with type 0x{:x}", datagram[0]));
    }
    Ok(())
}

/// What a raw socket's packet means for our echo request.
#[derive(Debug, PartialEq, Eq)]
enum RawReply {
    Ours,
    /// An error about our request (destination unreachable quoting it).
    Unreachable,
    NotOurs,
}

/// `packet`: the ICMP message (IPv4 raw sockets deliver the IP header too; strip it first).
fn read_raw_reply(v6: bool, icmp: &[u8], identifier: u16) -> RawReply {
    let (reply, unreach, request) = if v6 {
        (ECHO_REPLY_V6, DEST_UNREACH_V6, ECHO_REQUEST_V6)
    } else {
        (ECHO_REPLY_V4, DEST_UNREACH_V4, ECHO_REQUEST_V4)
    };
    let id = |m: &[u8]| m.get(4..6).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match icmp.first() {
        Some(&t) if t == reply && id(icmp) == Some(identifier) => RawReply::Ours,
        Some(&t) if t == unreach => {
            // The error quotes our packet: IPv4 header (variable) or 40-byte IPv6 header.
            let quoted = icmp.get(8..).unwrap_or(&[]);
            let inner = if v6 {
                quoted.get(40..)
            } else {
                let ihl = quoted.first().map(|b| usize::from(b & 0x0f) * 4).unwrap_or(0);
                quoted.get(ihl..)
            };
            match inner {
                Some(m) if m.first() == Some(&request) && id(m) == Some(identifier) => RawReply::Unreachable,
                _ => RawReply::NotOurs,
            }
        }
        _ => RawReply::NotOurs,
    }
}

/// The range of groups allowed to open ping sockets, as the kernel shows it.
pub fn group_range() -> Result<(u32, u32), String> {
    let text = std::fs::read_to_string(GROUP_RANGE).map_err(|e| format!("{GROUP_RANGE}: {e}"))?;
    let mut words = text.split_whitespace().map(str::parse::<u32>);
    match (words.next(), words.next()) {
        (Some(Ok(low)), Some(Ok(high))) => Ok((low, high)),
        _ => Err(format!("{GROUP_RANGE}: unexpected content {text:?}")),
    }
}

/// The range was changed; [`Widened::restore`] puts the old one back (keepalived does at exit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Widened {
    pub original: (u32, u32),
    pub now: (u32, u32),
}

impl Widened {
    /// The log line saying so (keepalived's warning when the range was a real one).
    pub fn message(&self) -> String {
        let ((lo, hi), (nlo, nhi)) = (self.original, self.now);
        if lo > 1 && hi > 1 {
            format!("Warning: {GROUP_RANGE} being expanded from {lo} {hi} to {nlo} {nhi}")
        } else {
            format!("{GROUP_RANGE} set from {lo} {hi} to {nlo} {nhi} so that PING_CHECK can use ping sockets")
        }
    }

    pub fn restore(&self) -> Result<(), String> {
        write_group_range(self.original)
    }
}

fn write_group_range((low, high): (u32, u32)) -> Result<(), String> {
    std::fs::write(GROUP_RANGE, format!("{low}\t{high}\t\n"))
        .map_err(|e| format!("Write {GROUP_RANGE} failed - {e}"))
}

/// keepalived's `set_ping_group_range(true)`: the lower bound becomes 0 (the upper one is
/// kept), so that root's group — keepalived's — may open ping sockets. `Ok(None)`: nothing
/// to do.
pub fn widen_group_range() -> Result<Option<Widened>, String> {
    let (low, high) = group_range()?;
    if low == 0 {
        return Ok(None);
    }
    write_group_range((0, high))?;
    Ok(Some(Widened {
        original: (low, high),
        now: (0, high),
    }))
}

/// A ping socket, else a raw one. `bool`: raw.
fn open(v6: bool) -> std::io::Result<(Socket, bool)> {
    let (domain, protocol) = if v6 {
        (Domain::IPV6, Protocol::ICMPV6)
    } else {
        (Domain::IPV4, Protocol::ICMPV4)
    };
    let (sock, raw) = match Socket::new(domain, Type::DGRAM.nonblocking().cloexec(), Some(protocol)) {
        Ok(s) => (s, false),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => (
            Socket::new(domain, Type::RAW.nonblocking().cloexec(), Some(protocol))?,
            true,
        ),
        Err(e) => return Err(e),
    };
    // keepalived's 128 KiB; a smaller buffer is no reason not to probe.
    let _ = sock.set_recv_buffer_size(128 * 1024);
    Ok((sock, raw))
}

fn random_identifier() -> u16 {
    getrandom::u32()
        .map(|r| r as u16)
        .unwrap_or_else(|_| std::process::id() as u16)
}

pub(crate) async fn probe(ctx: &ProbeContext, ep: &Endpoint, rs: &RsPlan, vs: &VsPlan) -> Outcome {
    let v6 = ep.dst.is_ipv6();
    let failed = || Outcome::Failure {
        message: format!("ICMP connection to {} of {} failed.", rs.name, vs.name),
    };
    let Ok((sock, raw)) = open(v6) else {
        return Outcome::LocalError {
            message: format!(
                "{} connect fail to create socket.",
                if v6 { "ICMPv6" } else { "ICMP" }
            ),
        };
    };
    let identifier = if raw { random_identifier() } else { 0 };
    let packet = echo_request(v6, identifier, ctx.next_ping_sequence(), raw);
    let dst = SockAddr::from(SocketAddr::new(ep.dst.ip(), 0));
    if sock.send_to(&packet, &dst).is_err() {
        return failed();
    }
    // tokio's UdpSocket only issues recv/send calls on the descriptor, which is what an
    // ICMP socket needs; it keeps ownership and registration safe.
    let Ok(sock) = tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(sock)) else {
        return failed();
    };
    let wait = async {
        let mut buf = [0u8; 1500];
        loop {
            let (n, from) = match sock.recv_from(&mut buf).await {
                // keepalived: "recv ICMP packet error" (an ICMP error reported on the socket).
                Err(_) => return failed(),
                Ok(r) => r,
            };
            let datagram = &buf[..n];
            if !raw {
                return match read_reply(v6, datagram) {
                    Ok(()) => Outcome::Success,
                    Err(_) => failed(),
                };
            }
            let from_destination = from.ip() == ep.dst.ip();
            let icmp = if v6 {
                datagram
            } else {
                let ihl = datagram.first().map(|b| usize::from(b & 0x0f) * 4).unwrap_or(0);
                datagram.get(ihl..).unwrap_or(&[])
            };
            match read_raw_reply(v6, icmp, identifier) {
                RawReply::Ours if from_destination => return Outcome::Success,
                // Errors come from routers on the way as well as from the destination.
                RawReply::Unreachable => return failed(),
                _ => continue,
            }
        }
    };
    match tokio::time::timeout(ep.timeout, wait).await {
        Ok(outcome) => outcome,
        Err(_) => Outcome::Failure {
            message: format!("ICMP connection to address {} timeout.", rs.name),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_request_is_keepalived_s() {
        let p = echo_request(false, 0, 0x0102, false);
        assert_eq!(p.len(), 136);
        assert_eq!(&p[..4], &[8, 0, 0, 0]);
        assert_eq!(&p[6..8], &0x0102u16.to_ne_bytes());
        assert!(p.ends_with(b"keepalived che"));
        assert_eq!(echo_request(true, 0, 0, false)[0], 128);
        // A raw IPv4 request carries a valid checksum.
        let raw = echo_request(false, 0x1234, 7, true);
        assert_eq!(internet_checksum(&raw), 0);
    }

    #[test]
    fn replies() {
        let mut r = echo_request(false, 0, 0, false);
        assert!(read_reply(false, &r).is_err());
        r[0] = 0;
        assert!(read_reply(false, &r).is_ok());
        assert_eq!(
            read_reply(false, &r[..7]),
            Err("Error, got short ICMP packet, 7 bytes".into())
        );
        r[0] = 3;
        assert_eq!(read_reply(false, &r), Err("Got ICMP packet with type 0x3".into()));
        let mut r6 = echo_request(true, 0, 0, false);
        r6[0] = 129;
        assert!(read_reply(true, &r6).is_ok());
    }

    #[test]
    fn raw_replies_are_filtered_by_identifier() {
        let mut reply = echo_request(false, 0x4242, 1, true);
        reply[0] = ECHO_REPLY_V4;
        assert_eq!(read_raw_reply(false, &reply, 0x4242), RawReply::Ours);
        assert_eq!(read_raw_reply(false, &reply, 0x4243), RawReply::NotOurs);
        // Destination unreachable quoting our request behind a 20-byte IPv4 header.
        let request = echo_request(false, 0x4242, 1, true);
        let mut unreach = vec![3, 1, 0, 0, 0, 0, 0, 0];
        let mut ip = vec![0x45];
        ip.resize(20, 0);
        unreach.extend_from_slice(&ip);
        unreach.extend_from_slice(&request[..8]);
        assert_eq!(read_raw_reply(false, &unreach, 0x4242), RawReply::Unreachable);
        assert_eq!(read_raw_reply(false, &unreach, 1), RawReply::NotOurs);
        assert_eq!(read_raw_reply(false, &[], 1), RawReply::NotOurs);
    }
}
