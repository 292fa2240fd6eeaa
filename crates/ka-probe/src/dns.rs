//! DNS_CHECK (keepalived's check_dns.c): one query over UDP, one deadline (connect_timeout)
//! for the whole exchange. Any reply with the query's id, QR set and RCODE 0 passes
//! (answers, question and TC are not looked at, as in keepalived); RCODE ≠ 0 fails; other
//! datagrams are ignored until the deadline.

use crate::conn::{udp_connect, ConnectError};
use crate::Endpoint;
use ka_check::{Outcome, RsPlan};
use ka_config::lvs::checker::DnsCheck;

/// keepalived's DNS_BUFFER_SIZE.
const BUFFER: usize = 768;
/// keepalived compares the datagram's length with `sizeof` a pointer, not the 12-byte
/// header: shorter datagrams are ignored.
const MIN_REPLY: usize = 8;

/// keepalived's `dns_make_query`: header (id, RD only, one question), QNAME as
/// length-prefixed labels split on `.`, QTYPE, QCLASS IN. `""` and `"."` are the root.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut q = Vec::with_capacity(12 + name.len() + 6);
    q.extend_from_slice(&id.to_be_bytes());
    q.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    q.extend_from_slice(&1u16.to_be_bytes()); // QDCOUNT
    q.extend_from_slice(&[0; 6]); // AN, NS, AR
                                  // As the C loop does: each '.'-separated piece is a label, and a name ending in '.'
                                  // gets no empty label for the end.
    let mut rest = name;
    while !rest.is_empty() {
        let (label, next) = match rest.find('.') {
            Some(dot) => (&rest[..dot], &rest[dot + 1..]),
            None => (rest, ""),
        };
        // keepalived writes the length as one byte without checking it.
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
        rest = next;
    }
    if name != "." {
        q.push(0);
    }
    q.extend_from_slice(&qtype.to_be_bytes());
    q.extend_from_slice(&1u16.to_be_bytes()); // IN
    q
}

/// What one received datagram means for a query with `id`.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    /// Not ours, not a response, or too short: keep waiting.
    Ignore,
    Ok,
    /// The RCODE.
    Error(u8),
}

pub fn read_reply(id: u16, datagram: &[u8]) -> Reply {
    if datagram.len() < MIN_REPLY {
        return Reply::Ignore;
    }
    if datagram[0..2] != id.to_be_bytes() {
        return Reply::Ignore;
    }
    let flags = u16::from_be_bytes([datagram[2], datagram[3]]);
    if flags & 0x8000 == 0 {
        return Reply::Ignore;
    }
    match (flags & 0x000f) as u8 {
        0 => Reply::Ok,
        rcode => Reply::Error(rcode),
    }
}

fn random_id() -> u16 {
    // keepalived uses random(); any unpredictable id does.
    getrandom::u32().map(|r| r as u16).unwrap_or_else(|_| {
        let nanos = std::time::SystemTime::UNIX_EPOCH
            .elapsed()
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        nanos as u16 ^ std::process::id() as u16
    })
}

pub(crate) async fn probe(dns: &DnsCheck, ep: &Endpoint, rs: &RsPlan) -> Outcome {
    let fail = |m: String| Outcome::Failure { message: m };
    let sock = match udp_connect(ep) {
        Ok(s) => s,
        Err(ConnectError::Socket(_)) => {
            return Outcome::LocalError {
                message: format!("DNS_CHECK ({}) failed to create socket.", rs.name),
            }
        }
        Err(ConnectError::Unreachable(_)) => return fail(format!("network unreachable for {}", ep.pair())),
        Err(_) => {
            return Outcome::LocalError {
                message: format!("DNS_CHECK ({}) UDP socket bind failed.", rs.name),
            }
        }
    };
    let id = random_id();
    let q = query(id, &dns.name, dns.dns_type.code());
    let exchange = async {
        match sock.send(&q).await {
            Ok(n) if n == q.len() => {}
            Ok(_) => return fail("failed to write all of the datagram.".into()),
            Err(_) => return fail("failed to write socket.".into()),
        }
        let mut buf = [0u8; BUFFER];
        loop {
            match sock.recv(&mut buf).await {
                Ok(n) => match read_reply(id, &buf[..n]) {
                    Reply::Ignore => continue,
                    Reply::Ok => return Outcome::Success,
                    Reply::Error(rcode) => return fail(format!("read error occurred. (rcode = {rcode})")),
                },
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(0);
                    return fail(format!(
                        "failed to read socket; errno {errno} ({})",
                        crate::strerror(&e)
                    ));
                }
            }
        }
    };
    match tokio::time::timeout(ep.timeout, exchange).await {
        Ok(outcome) => outcome,
        Err(_) => fail("read timeout from socket".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_bytes() {
        let q = query(0x1234, "example.com", 6);
        assert_eq!(
            q,
            [
                0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 7, b'e', b'x', b'a', b'm', b'p', b'l', b'e',
                3, b'c', b'o', b'm', 0, 0, 6, 0, 1
            ]
        );
        // A trailing dot changes nothing.
        assert_eq!(query(0x1234, "example.com.", 6), q);
    }

    #[test]
    fn root_names() {
        let header = [0xab, 0xcd, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for name in ["", "."] {
            let q = query(0xabcd, name, 2);
            assert_eq!(&q[..12], &header);
            assert_eq!(&q[12..], &[0, 0, 2, 0, 1], "{name:?}");
        }
        // keepalived's loop gives an empty label for a leading dot.
        assert_eq!(
            &query(1, ".com", 1)[12..],
            &[0, 3, b'c', b'o', b'm', 0, 0, 1, 0, 1]
        );
    }

    #[test]
    fn replies() {
        let mut r = query(0x4242, "a", 1);
        assert_eq!(read_reply(0x4242, &r), Reply::Ignore, "a query is not a reply");
        r[2] |= 0x80;
        assert_eq!(read_reply(0x4242, &r), Reply::Ok);
        assert_eq!(read_reply(0x4243, &r), Reply::Ignore, "id mismatch");
        r[3] |= 3;
        assert_eq!(read_reply(0x4242, &r), Reply::Error(3));
        assert_eq!(read_reply(0x4242, &r[..7]), Reply::Ignore, "too short");
        // Eight bytes are enough for keepalived.
        assert_eq!(read_reply(0x4242, &r[..8]), Reply::Error(3));
        assert_eq!(read_reply(0x4242, &[]), Reply::Ignore);
    }
}
