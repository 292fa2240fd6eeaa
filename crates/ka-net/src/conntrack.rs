//! The kernel's connection tracking table, read for listings: on the nftables data plane,
//! ActiveConn and InActConn are counted from it (`ka_lb::listing::connections`).
//!
//! Read through ctnetlink (an `IPCTNL_MSG_CT_GET` dump on a NETLINK_NETFILTER socket), not
//! `/proc/net/nf_conntrack` or the `conntrack` program: the netlink messages are the kernel's
//! stable binary interface (the procfs file is a deprecated option, `NF_CONNTRACK_PROCFS`,
//! absent from some kernels, and its text layout varies with options such as accounting and
//! zones), the kernel loads `nf_conntrack_netlink` on demand, no extra package is needed,
//! and the dump streams: a million entries are counted without being held in memory. Like
//! everything else here it sees the calling thread's network namespace.
//!
//! The messages are framed like generic netlink ones (`nfgenmsg` has `genlmsghdr`'s
//! four-byte layout: family, version, resource id), so `ka_ipvs::netlink`'s reader and
//! builder serve both. Integers inside ctnetlink attributes are big-endian.

use ka_ipvs::netlink::{
    messages, Addressing, Attr, GenlMessage, MessageBuilder, Payload, NLM_F_DUMP, NLM_F_REQUEST,
};
use ka_ipvs::DecodeError;
use ka_lb::listing::connections::TrackedConnection;
use ka_lb::{DataplaneError, Protocol};
use netlink_sys::{protocols::NETLINK_NETFILTER, Socket};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

/// How long the kernel may take to send the next part of the dump.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// One datagram of the dump (the kernel fills at most 32 KiB per part when allowed).
const RECEIVE_BUFFER: usize = 64 * 1024;

/// `(NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET`: the dump request's message type.
const CT_GET: u16 = (1 << 8) | 1;
/// `(NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW`: each dumped connection.
const CT_NEW: u16 = 1 << 8;
/// `nfgenmsg.nfgen_family` of the request: every family.
const AF_UNSPEC: u8 = 0;
const NFNETLINK_V0: u8 = 0;

/// `enum ctattr_type`, `ctattr_tuple`, `ctattr_ip`, `ctattr_l4proto`, `ctattr_protoinfo`
/// (linux/netfilter/nfnetlink_conntrack.h).
mod attr {
    pub const TUPLE_ORIG: u16 = 1;
    pub const TUPLE_REPLY: u16 = 2;
    pub const PROTOINFO: u16 = 4;
    pub const MARK: u16 = 8;

    pub const TUPLE_IP: u16 = 1;
    pub const TUPLE_PROTO: u16 = 2;

    pub const IP_V4_SRC: u16 = 1;
    pub const IP_V4_DST: u16 = 2;
    pub const IP_V6_SRC: u16 = 3;
    pub const IP_V6_DST: u16 = 4;

    pub const PROTO_NUM: u16 = 1;
    pub const PROTO_SRC_PORT: u16 = 2;
    pub const PROTO_DST_PORT: u16 = 3;

    pub const PROTOINFO_TCP: u16 = 1;
    pub const PROTOINFO_SCTP: u16 = 3;
    /// `CTA_PROTOINFO_TCP_STATE` and `CTA_PROTOINFO_SCTP_STATE` (both 1).
    pub const PROTOINFO_STATE: u16 = 1;
}

/// `TCP_CONNTRACK_ESTABLISHED`.
const TCP_ESTABLISHED: u8 = 3;
/// `SCTP_CONNTRACK_ESTABLISHED`.
const SCTP_ESTABLISHED: u8 = 4;

/// The dump request (ctnetlink's dump of every family).
pub fn dump_request(seq: u32) -> Vec<u8> {
    MessageBuilder::genl(
        Addressing {
            family_id: CT_GET,
            seq,
            port: 0,
        },
        NLM_F_REQUEST | NLM_F_DUMP,
        AF_UNSPEC,
        NFNETLINK_V0,
    )
    .finish()
}

/// One direction of a connection: source and destination address and port.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Tuple {
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    protocol: Option<u8>,
    src_port: Option<u16>,
    dst_port: Option<u16>,
}

fn be16(a: &Attr<'_>, what: &'static str) -> Result<u16, DecodeError> {
    match a.payload {
        [x, y] => Ok(u16::from_be_bytes([*x, *y])),
        other => Err(DecodeError::BadLength {
            what,
            len: other.len(),
        }),
    }
}

fn be32(a: &Attr<'_>, what: &'static str) -> Result<u32, DecodeError> {
    match a.payload {
        [w, x, y, z] => Ok(u32::from_be_bytes([*w, *x, *y, *z])),
        other => Err(DecodeError::BadLength {
            what,
            len: other.len(),
        }),
    }
}

fn address(a: &Attr<'_>, what: &'static str) -> Result<IpAddr, DecodeError> {
    if let Ok(b) = <[u8; 4]>::try_from(a.payload) {
        return Ok(IpAddr::V4(Ipv4Addr::from(b)));
    }
    <[u8; 16]>::try_from(a.payload)
        .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
        .map_err(|_| DecodeError::BadLength {
            what,
            len: a.payload.len(),
        })
}

fn tuple(nested: &[u8]) -> Result<Tuple, DecodeError> {
    let mut t = Tuple::default();
    for a in ka_ipvs::netlink::attributes(nested) {
        let a = a?;
        match a.kind {
            attr::TUPLE_IP => {
                for ip in a.nested() {
                    let ip = ip?;
                    match ip.kind {
                        attr::IP_V4_SRC | attr::IP_V6_SRC => t.src = Some(address(&ip, "conntrack source")?),
                        attr::IP_V4_DST | attr::IP_V6_DST => {
                            t.dst = Some(address(&ip, "conntrack destination")?)
                        }
                        _ => {}
                    }
                }
            }
            attr::TUPLE_PROTO => {
                for p in a.nested() {
                    let p = p?;
                    match p.kind {
                        attr::PROTO_NUM => t.protocol = Some(p.u8("conntrack protocol")?),
                        attr::PROTO_SRC_PORT => t.src_port = Some(be16(&p, "conntrack source port")?),
                        attr::PROTO_DST_PORT => t.dst_port = Some(be16(&p, "conntrack destination port")?),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    Ok(t)
}

/// The protocol state (TCP's or SCTP's), if the entry carries one.
fn protocol_state(nested: &[u8]) -> Result<Option<u8>, DecodeError> {
    for a in ka_ipvs::netlink::attributes(nested) {
        let a = a?;
        if matches!(a.kind, attr::PROTOINFO_TCP | attr::PROTOINFO_SCTP) {
            for s in a.nested() {
                let s = s?;
                if s.kind == attr::PROTOINFO_STATE {
                    return Ok(Some(s.u8("conntrack protocol state")?));
                }
            }
        }
    }
    Ok(None)
}

/// One dumped connection, or `None` for one a listing has no use for (not TCP, UDP or
/// SCTP: ICMP, GRE, ...).
pub fn decode_connection(msg: &GenlMessage<'_>) -> Result<Option<TrackedConnection>, DecodeError> {
    if msg.family_id != CT_NEW {
        return Err(DecodeError::UnexpectedMessage {
            expected: "ctnetlink IPCTNL_MSG_CT_NEW",
            family_id: msg.family_id,
            cmd: msg.cmd,
        });
    }
    let (mut original, mut reply, mut state, mut mark) = (None, None, None, 0);
    for a in ka_ipvs::netlink::attributes(msg.attrs) {
        let a = a?;
        match a.kind {
            attr::TUPLE_ORIG => original = Some(tuple(a.payload)?),
            attr::TUPLE_REPLY => reply = Some(tuple(a.payload)?),
            attr::PROTOINFO => state = protocol_state(a.payload)?,
            attr::MARK => mark = be32(&a, "conntrack mark")?,
            _ => {}
        }
    }
    let original = original.ok_or(DecodeError::Missing("conntrack original tuple"))?;
    let reply = reply.ok_or(DecodeError::Missing("conntrack reply tuple"))?;
    let number = original
        .protocol
        .ok_or(DecodeError::Missing("conntrack protocol"))?;
    let Some(protocol) = Protocol::from_number(number) else {
        return Ok(None);
    };
    let established = match protocol {
        Protocol::Tcp => state == Some(TCP_ESTABLISHED),
        Protocol::Sctp => state == Some(SCTP_ESTABLISHED),
        Protocol::Udp => false,
    };
    Ok(Some(TrackedConnection {
        protocol,
        original_dst: (
            original
                .dst
                .ok_or(DecodeError::Missing("conntrack original destination"))?,
            original
                .dst_port
                .ok_or(DecodeError::Missing("conntrack original destination port"))?,
        ),
        reply_src: (
            reply.src.ok_or(DecodeError::Missing("conntrack reply source"))?,
            reply
                .src_port
                .ok_or(DecodeError::Missing("conntrack reply source port"))?,
        ),
        mark,
        established,
    }))
}

/// What a dump went through.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DumpSummary {
    /// Connections handed over.
    pub connections: u64,
    /// Entries that could not be decoded (skipped), and the first reason.
    pub undecodable: u64,
    pub first_error: Option<String>,
}

/// Dumps the connection tracking table of the calling thread's network namespace, handing
/// every TCP, UDP and SCTP connection to `each`. Needs CAP_NET_ADMIN.
pub fn for_each_connection(mut each: impl FnMut(&TrackedConnection)) -> Result<DumpSummary, DataplaneError> {
    let fail = |what: &str, e: &dyn std::fmt::Display| DataplaneError::new(format!("conntrack: {what}: {e}"));
    let mut socket =
        Socket::new(NETLINK_NETFILTER).map_err(|e| fail("open a netfilter netlink socket", &e))?;
    socket
        .bind_auto()
        .map_err(|e| fail("bind the netfilter netlink socket", &e))?;
    socket2::SockRef::from(&socket)
        .set_read_timeout(Some(REPLY_TIMEOUT))
        .map_err(|e| fail("set the reply timeout", &e))?;
    let seq = 1;
    let request = dump_request(seq);
    loop {
        match socket.send(&request, 0) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail("send the dump request", &e)),
            Ok(_) => break,
        }
    }
    let mut summary = DumpSummary::default();
    let mut buf = vec![0u8; RECEIVE_BUFFER];
    loop {
        let received = {
            let mut window = &mut buf[..];
            socket.recv(&mut window, libc::MSG_TRUNC)
        };
        let n = match received {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(fail("receive the dump", &e)),
        };
        if n > buf.len() {
            return Err(fail(
                "receive the dump",
                &format!("a {n}-byte datagram does not fit the {}-byte buffer", buf.len()),
            ));
        }
        for message in messages(&buf[..n]) {
            let message = message.map_err(|e| fail("read the dump", &e))?;
            if message.header.seq != seq {
                continue;
            }
            match message.payload {
                Payload::Data(msg) => match decode_connection(&msg) {
                    Ok(Some(c)) => {
                        summary.connections += 1;
                        each(&c);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        summary.undecodable += 1;
                        summary.first_error.get_or_insert_with(|| e.to_string());
                    }
                },
                Payload::Done | Payload::Ack => return Ok(summary),
                Payload::Error(e) => {
                    return Err(fail(
                        "dump",
                        &format!(
                            "{}{}",
                            nix::errno::Errno::from_raw(e.errno),
                            e.message.map(|m| format!(" ({m})")).unwrap_or_default()
                        ),
                    ))
                }
                Payload::Noop => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CT_NEW message as the kernel writes one (nests without NLA_F_NESTED are accepted
    /// too; the kernel sets it).
    fn connection_message(
        family: u8,
        proto: u8,
        orig: (IpAddr, u16, IpAddr, u16),
        reply: (IpAddr, u16, IpAddr, u16),
        state: Option<(u16, u8)>,
        mark: u32,
    ) -> Vec<u8> {
        let mut m = MessageBuilder::genl(
            Addressing {
                family_id: CT_NEW,
                seq: 7,
                port: 0,
            },
            0x2,
            family,
            NFNETLINK_V0,
        );
        for (kind, (src, sport, dst, dport)) in [(attr::TUPLE_ORIG, orig), (attr::TUPLE_REPLY, reply)] {
            let t = m.begin_nest(kind);
            let ip = m.begin_nest(attr::TUPLE_IP);
            let octets = |a: IpAddr| match a {
                IpAddr::V4(a) => a.octets().to_vec(),
                IpAddr::V6(a) => a.octets().to_vec(),
            };
            let (s, d) = if src.is_ipv4() {
                (attr::IP_V4_SRC, attr::IP_V4_DST)
            } else {
                (attr::IP_V6_SRC, attr::IP_V6_DST)
            };
            m.put(s, &octets(src));
            m.put(d, &octets(dst));
            m.end_nest(ip);
            let p = m.begin_nest(attr::TUPLE_PROTO);
            m.put_u8(attr::PROTO_NUM, proto);
            if proto != 1 {
                m.put_be16(attr::PROTO_SRC_PORT, sport);
                m.put_be16(attr::PROTO_DST_PORT, dport);
            }
            m.end_nest(p);
            m.end_nest(t);
        }
        m.put(3, &0x1a8u32.to_be_bytes()); // CTA_STATUS: not read
        if let Some((kind, st)) = state {
            let info = m.begin_nest(attr::PROTOINFO);
            let inner = m.begin_nest(kind);
            m.put_u8(attr::PROTOINFO_STATE, st);
            m.end_nest(inner);
            m.end_nest(info);
        }
        m.put(attr::MARK, &mark.to_be_bytes());
        m.finish()
    }

    fn decode(bytes: &[u8]) -> Result<Option<TrackedConnection>, DecodeError> {
        let message = messages(bytes).next().unwrap().unwrap();
        let Payload::Data(msg) = message.payload else {
            panic!("not data: {message:?}")
        };
        decode_connection(&msg)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_dump_request_is_ctnetlinks() {
        // nlmsghdr (len 20, type 0x0101, flags REQUEST|DUMP, seq 9, port 0), nfgenmsg
        // (AF_UNSPEC, version 0, res_id 0).
        let mut want = Vec::new();
        want.extend_from_slice(&20u32.to_ne_bytes());
        want.extend_from_slice(&0x0101u16.to_ne_bytes());
        want.extend_from_slice(&0x0301u16.to_ne_bytes());
        want.extend_from_slice(&9u32.to_ne_bytes());
        want.extend_from_slice(&0u32.to_ne_bytes());
        want.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(dump_request(9), want);
    }

    #[test]
    fn a_translated_tcp_connection() {
        let bytes = connection_message(
            2,
            6,
            (ip("192.0.2.100"), 40000, ip("192.0.2.10"), 80),
            (ip("198.51.100.1"), 8080, ip("192.0.2.100"), 40000),
            Some((attr::PROTOINFO_TCP, TCP_ESTABLISHED)),
            0x10,
        );
        assert_eq!(
            decode(&bytes).unwrap(),
            Some(TrackedConnection {
                protocol: Protocol::Tcp,
                original_dst: (ip("192.0.2.10"), 80),
                reply_src: (ip("198.51.100.1"), 8080),
                mark: 0x10,
                established: true,
            })
        );
        // TIME_WAIT (7) is inactive.
        let bytes = connection_message(
            2,
            6,
            (ip("192.0.2.100"), 40000, ip("192.0.2.10"), 80),
            (ip("198.51.100.1"), 8080, ip("192.0.2.100"), 40000),
            Some((attr::PROTOINFO_TCP, 7)),
            0,
        );
        assert!(!decode(&bytes).unwrap().unwrap().established);
    }

    #[test]
    fn sctp_udp_ipv6_and_protocols_without_ports() {
        let sctp = connection_message(
            10,
            132,
            (ip("2001:db8::100"), 5000, ip("2001:db8::10"), 3868),
            (ip("2001:db8::1"), 3868, ip("2001:db8::100"), 5000),
            Some((attr::PROTOINFO_SCTP, SCTP_ESTABLISHED)),
            0,
        );
        let c = decode(&sctp).unwrap().unwrap();
        assert_eq!((c.protocol, c.established), (Protocol::Sctp, true));
        assert_eq!(c.reply_src, (ip("2001:db8::1"), 3868));
        let udp = connection_message(
            2,
            17,
            (ip("192.0.2.100"), 5353, ip("192.0.2.10"), 53),
            (ip("198.51.100.1"), 53, ip("192.0.2.100"), 5353),
            None,
            0,
        );
        let c = decode(&udp).unwrap().unwrap();
        assert_eq!((c.protocol, c.established), (Protocol::Udp, false));
        let icmp = connection_message(
            2,
            1,
            (ip("192.0.2.100"), 0, ip("192.0.2.10"), 0),
            (ip("192.0.2.10"), 0, ip("192.0.2.100"), 0),
            None,
            0,
        );
        assert_eq!(decode(&icmp).unwrap(), None);
    }

    #[test]
    fn damaged_entries_are_errors_not_panics() {
        let good = connection_message(
            2,
            6,
            (ip("192.0.2.100"), 40000, ip("192.0.2.10"), 80),
            (ip("198.51.100.1"), 80, ip("192.0.2.100"), 40000),
            Some((attr::PROTOINFO_TCP, TCP_ESTABLISHED)),
            0,
        );
        // Every truncation of the attributes (the message length patched to match).
        for cut in 20..good.len() {
            let mut bytes = good[..cut].to_vec();
            bytes[..4].copy_from_slice(&(cut as u32).to_ne_bytes());
            if let Some(Ok(message)) = messages(&bytes).next() {
                if let Payload::Data(msg) = message.payload {
                    let _ = decode_connection(&msg);
                }
            }
        }
        // A 3-byte address.
        let mut m = MessageBuilder::genl(
            Addressing {
                family_id: CT_NEW,
                seq: 1,
                port: 0,
            },
            0,
            2,
            0,
        );
        let t = m.begin_nest(attr::TUPLE_ORIG);
        let i = m.begin_nest(attr::TUPLE_IP);
        m.put(attr::IP_V4_DST, &[192, 0, 2]);
        m.end_nest(i);
        m.end_nest(t);
        assert!(decode(&m.finish()).is_err());
    }
}
