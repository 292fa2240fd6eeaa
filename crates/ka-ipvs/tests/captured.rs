//! Golden vectors captured from the real thing: ipvsadm 1.31 and keepalived 2.2.7 talking to the
//! ip_vs of Debian's 6.1 kernel, recorded by `tools/ipvs-vm/capture-ipvs-vectors.sh` (an nlmon device in the
//! test VM) into `tests/vectors/NAME.pcap`, with what ipvsadm printed in `NAME.txt`.
//!
//! Both directions: every request ipvsadm sent decodes to the request we expect and our
//! encoder reproduces its bytes (for the requests where ipvsadm sends more than the kernel
//! reads — the full service with destination requests — after dropping those extra
//! attributes); every reply the kernel sent decodes, and says what ipvsadm printed.
#![cfg(target_endian = "little")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_ipvs::netlink::{
    attributes, messages, parse_header, Addressing, MessageBuilder, Payload, NLM_F_REQUEST,
};
use ka_ipvs::uapi::{cmd, cmd_attr, dest_attr, svc_attr};
use ka_ipvs::{
    ctrl, decode_dest, decode_info, decode_request, decode_service, decode_timeouts, DecodeError, DestEntry,
    Request, ServiceEntry, Timeouts,
};
use ka_lb::model::{service_flags, TunnelSpec};
use ka_lb::{Dest, DestKey, Family, Forward, Protocol, Scheduler, Service, ServiceKey};
use std::net::IpAddr;
use std::path::Path;

/// pcap link type of nlmon captures: a 16-byte cooked header, then the netlink message.
const LINKTYPE_NETLINK: u32 = 253;
const NETLINK_GENERIC: u16 = 16;
/// The id the 6.1 kernel in the VM gave the IPVS family.
const IPVS_FAMILY_ID: u16 = 0x20;

/// The generic netlink messages of a capture, in order (a datagram may hold several).
fn load(name: &str) -> (Vec<Vec<u8>>, String) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let pcap = std::fs::read(dir.join(format!("{name}.pcap"))).unwrap();
    let printed = std::fs::read_to_string(dir.join(format!("{name}.txt"))).unwrap();
    let (linktype, records) = ka_wire::pcap::read(&pcap).unwrap();
    assert_eq!(linktype, LINKTYPE_NETLINK);
    let mut out = Vec::new();
    for record in records {
        let protocol = u16::from_be_bytes([record.data[14], record.data[15]]);
        if protocol != NETLINK_GENERIC {
            continue;
        }
        let mut rest = &record.data[16..];
        while !rest.is_empty() {
            let len = parse_header(rest).unwrap().len as usize;
            out.push(rest[..len].to_vec());
            rest = &rest[(len + 3) & !3..];
        }
    }
    (out, printed)
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn addressing(bytes: &[u8]) -> Addressing {
    let h = parse_header(bytes).unwrap();
    Addressing {
        family_id: h.kind,
        seq: h.seq,
        port: h.port,
    }
}

/// The captured request rebuilt with what our encoder sends, where ipvsadm sends more than
/// the kernel reads or the same differently:
/// - the whole service in destination, delete and zero requests (the kernel reads its
///   identity), and the whole destination in DEL_DEST;
/// - TUN_TYPE/TUN_PORT/TUN_FLAGS, zero, in every destination (we send them for tunnels only,
///   as keepalived does);
/// - the DEST nest without NLA_F_NESTED (ipvsadm sets it on the SERVICE nest only; we set it
///   on both, the kernel reads either).
fn as_we_encode(bytes: &[u8], identity_only: bool) -> Vec<u8> {
    let header = parse_header(bytes).unwrap();
    let genl = &bytes[16..20];
    let mut m = MessageBuilder::genl(addressing(bytes), header.flags, genl[0], genl[1]);
    for attr in attributes(&bytes[20..]) {
        let attr = attr.unwrap();
        let nested: Vec<_> = match attr.kind {
            cmd_attr::SERVICE | cmd_attr::DEST => attr.nested().map(Result::unwrap).collect(),
            _ => {
                m.put(attr.kind, attr.payload);
                continue;
            }
        };
        let tunnel = nested
            .iter()
            .any(|a| a.kind == dest_attr::FWD_METHOD && a.payload == 2u32.to_le_bytes());
        let keep = |kind: u16| match attr.kind {
            cmd_attr::SERVICE if identity_only => [
                svc_attr::AF,
                svc_attr::PROTOCOL,
                svc_attr::ADDR,
                svc_attr::PORT,
                svc_attr::FWMARK,
            ]
            .contains(&kind),
            cmd_attr::DEST if genl[0] == cmd::DEL_DEST => {
                [dest_attr::ADDR_FAMILY, dest_attr::ADDR, dest_attr::PORT].contains(&kind)
            }
            cmd_attr::DEST => {
                tunnel || ![dest_attr::TUN_TYPE, dest_attr::TUN_PORT, dest_attr::TUN_FLAGS].contains(&kind)
            }
            _ => true,
        };
        let nest = m.begin_nest(attr.kind);
        for inner in nested.iter().filter(|a| keep(a.kind)) {
            m.put(inner.kind, inner.payload);
        }
        m.end_nest(nest);
    }
    m.finish()
}

/// Whether ipvsadm sends exactly what we send for this request.
fn sent_as_is(request: &Request) -> bool {
    !matches!(
        request,
        Request::NewDest(..)
            | Request::SetDest(..)
            | Request::DelDest(..)
            | Request::DelService(_)
            | Request::Zero(Some(_))
    )
}

/// What one capture holds.
#[derive(Default)]
struct Exchange {
    requests: Vec<Result<Request, DecodeError>>,
    services: Vec<ServiceEntry>,
    dests: Vec<DestEntry>,
    errors: Vec<i32>,
    acks: usize,
    dumps_done: usize,
    info_banners: Vec<String>,
    timeouts: Vec<Timeouts>,
}

/// Decodes a capture, checking on the way that every request's bytes are ours.
fn replay(name: &str) -> (Exchange, String) {
    let (msgs, printed) = load(name);
    let mut x = Exchange::default();
    let mut last_service_family = Family::Ipv4;
    for bytes in msgs {
        let header = parse_header(&bytes).unwrap();
        if header.flags & NLM_F_REQUEST != 0 {
            if header.kind == ctrl::GENL_ID_CTRL {
                // libnl's genl_ctrl_resolve, before every ipvsadm command.
                assert_eq!(
                    ctrl::get_family_request("IPVS", addressing(&bytes)),
                    bytes,
                    "{name}: GETFAMILY"
                );
                continue;
            }
            assert_eq!(header.kind, IPVS_FAMILY_ID);
            let decoded = decode_request(&bytes).map(|(_, r)| r);
            if let Ok(request) = &decoded {
                let ours = request.encode(addressing(&bytes)).unwrap();
                if sent_as_is(request) {
                    assert_eq!(
                        ours, bytes,
                        "{name}: our bytes for {request} differ from ipvsadm's"
                    );
                } else {
                    let identity_only = !matches!(request, Request::SetService(_) | Request::NewService(_));
                    let theirs = as_we_encode(&bytes, identity_only);
                    assert_eq!(
                        ours, theirs,
                        "{name}: our bytes for {request} differ from ipvsadm's"
                    );
                }
                if let Request::GetDests(key) = request {
                    last_service_family = key.family();
                }
            }
            x.requests.push(decoded);
            continue;
        }
        let message = messages(&bytes).next().unwrap().unwrap();
        match message.payload {
            Payload::Ack => x.acks += 1,
            Payload::Done => x.dumps_done += 1,
            Payload::Error(e) => x.errors.push(e.errno),
            Payload::Noop => {}
            Payload::Data(g) if g.family_id == ctrl::GENL_ID_CTRL => {
                let family = ctrl::parse_family(&g).unwrap();
                assert_eq!(
                    (family.id, family.name.as_str(), family.version),
                    (IPVS_FAMILY_ID, "IPVS", 1)
                );
            }
            Payload::Data(g) => match g.cmd {
                cmd::NEW_SERVICE => x.services.push(decode_service(&g).unwrap()),
                cmd::NEW_DEST => x.dests.push(decode_dest(&g, last_service_family).unwrap()),
                cmd::SET_INFO => x.info_banners.push(decode_info(&g).unwrap().banner()),
                cmd::SET_CONFIG => x.timeouts.push(decode_timeouts(&g).unwrap()),
                other => panic!("{name}: unexpected reply command {other}"),
            },
        }
    }
    (x, printed)
}

/// An ipvsadm capture: ipvsadm asks for the version (GET_INFO) before every command.
fn replay_ipvsadm(name: &str) -> (Exchange, String) {
    let (x, printed) = replay(name);
    assert_eq!(x.requests.first(), Some(&Ok(Request::GetInfo)), "{name}");
    assert_eq!(x.info_banners, vec![BANNER.to_string()]);
    (x, printed)
}

const BANNER: &str = "IP Virtual Server version 1.2.1 (size=4096)";

/// The request a capture was made for (after GET_INFO), which the kernel acknowledged.
fn single_request(name: &str) -> Request {
    let (x, printed) = replay_ipvsadm(name);
    assert!(printed.contains("# exit 0"), "{name}: {printed}");
    assert_eq!(x.requests.len(), 2, "{name}: {:?}", x.requests);
    assert!(x.errors.is_empty(), "{name}");
    x.requests[1].clone().unwrap()
}

fn web() -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip("192.0.2.10"),
        port: 80,
    }
}

fn fwmark6() -> ServiceKey {
    ServiceKey::Fwmark {
        family: Family::Ipv6,
        mark: 7,
    }
}

fn persistent_web(scheduler: Scheduler) -> Service {
    Service {
        flags: service_flags::PERSISTENT,
        timeout: 300,
        netmask: 0xffff_ff00,
        ..Service::new(web(), scheduler)
    }
}

fn masq_dest(weight: u32) -> Dest {
    Dest {
        upper_threshold: 100,
        lower_threshold: 50,
        ..Dest::new(
            DestKey {
                addr: ip("198.51.100.1"),
                port: 8080,
            },
            Forward::Masq,
            weight,
        )
    }
}

fn gue_dest() -> Dest {
    Dest {
        tunnel: Some(TunnelSpec {
            kind: 1,
            port: 6080,
            flags: 1,
        }),
        ..Dest::new(
            DestKey {
                addr: ip("2001:db8::1"),
                port: 0,
            },
            Forward::Tunnel,
            1,
        )
    }
}

fn ops_service() -> Service {
    Service {
        flags: service_flags::ONE_PACKET,
        ..Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                addr: ip("192.0.2.10"),
                port: 53,
            },
            Scheduler::Rr,
        )
    }
}

fn sip_service() -> Service {
    Service {
        flags: service_flags::PERSISTENT,
        timeout: 60,
        pe_name: Some("sip".into()),
        ..Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                addr: ip("192.0.2.13"),
                port: 5060,
            },
            Scheduler::Rr,
        )
    }
}

fn sh_service() -> Service {
    Service {
        flags: service_flags::SCHED1 | service_flags::SCHED2,
        ..Service::new(fwmark6(), Scheduler::Sh)
    }
}

#[test]
fn service_and_dest_requests() {
    assert_eq!(
        single_request("add-service-tcp4"),
        Request::NewService(persistent_web(Scheduler::Wrr))
    );
    assert_eq!(
        single_request("add-dest-masq"),
        Request::NewDest(web(), masq_dest(3))
    );
    assert_eq!(
        single_request("add-service-fwm6"),
        Request::NewService(sh_service())
    );
    assert_eq!(
        single_request("add-dest-gue6"),
        Request::NewDest(fwmark6(), gue_dest())
    );
    assert_eq!(
        single_request("add-service-ops"),
        Request::NewService(ops_service())
    );
    assert_eq!(
        single_request("add-service-pe"),
        Request::NewService(sip_service())
    );
    assert_eq!(
        single_request("edit-service"),
        Request::SetService(persistent_web(Scheduler::Rr))
    );
    // `ipvsadm -e` without -x/-y sets the thresholds back to 0.
    let no_thresholds = Dest {
        upper_threshold: 0,
        lower_threshold: 0,
        ..masq_dest(0)
    };
    assert_eq!(
        single_request("edit-dest"),
        Request::SetDest(web(), no_thresholds)
    );
    assert_eq!(
        single_request("del-dest"),
        Request::DelDest(web(), masq_dest(0).key)
    );
    assert_eq!(single_request("del-service"), Request::DelService(web()));
}

#[test]
fn table_wide_requests() {
    assert_eq!(single_request("zero-service"), Request::Zero(Some(web())));
    assert_eq!(single_request("zero-all"), Request::Zero(None));
    assert_eq!(single_request("flush"), Request::Flush);
    assert_eq!(
        single_request("set-timeouts"),
        Request::SetConfig(Timeouts {
            tcp: 1000,
            tcp_fin: 60,
            udp: 30
        })
    );
    let (x, printed) = replay_ipvsadm("get-timeouts");
    assert_eq!(x.requests[1], Ok(Request::GetConfig));
    let t = x.timeouts[0];
    assert_eq!(
        t,
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    assert!(printed.starts_with(&format!(
        "Timeout (tcp tcpfin udp): {} {} {}\n",
        t.tcp, t.tcp_fin, t.udp
    )));
}

#[test]
fn refusals() {
    let (x, printed) = replay_ipvsadm("error-exists");
    assert_eq!(
        x.requests[1],
        Ok(Request::NewService(Service::new(
            ops_service().key,
            Scheduler::Rr
        )))
    );
    assert_eq!(x.errors, vec![17]);
    assert!(printed.starts_with("Service already exists"));
    // A scheduler the model does not know: the request does not decode, the reply does.
    let (x, printed) = replay_ipvsadm("error-scheduler");
    assert!(
        matches!(
            &x.requests[1],
            Err(DecodeError::Invalid {
                what: "scheduler",
                ..
            })
        ),
        "{:?}",
        x.requests[1]
    );
    assert_eq!(x.errors, vec![2]);
    assert!(printed.starts_with("Scheduler or persistence engine not found"));
}

#[test]
fn listing_dumps() {
    let (x, printed) = replay_ipvsadm("list");
    assert!(
        printed.contains("FWM  7 IPv6 sh (sh-fallback,sh-port)"),
        "{printed}"
    );
    let requests: Vec<Request> = x.requests.into_iter().map(Result::unwrap).collect();
    assert_eq!(requests[1], Request::GetServices);
    let mut services: Vec<Service> = x.services.iter().map(|s| s.to_service().unwrap()).collect();
    services.sort_by_key(|s| s.key);
    let mut want = vec![
        persistent_web(Scheduler::Rr),
        ops_service(),
        sip_service(),
        sh_service(),
    ];
    want.sort_by_key(|s| s.key);
    assert_eq!(services, want);
    assert!(x.services.iter().all(|s| s.flags & service_flags::HASHED != 0));
    // One GET_DEST dump per service, each ended by NLMSG_DONE.
    let mut dumped: Vec<ServiceKey> = requests[2..]
        .iter()
        .map(|r| match r {
            Request::GetDests(k) => *k,
            other => panic!("{other}"),
        })
        .collect();
    dumped.sort();
    assert_eq!(dumped, want.iter().map(|s| s.key).collect::<Vec<_>>());
    assert_eq!(x.dumps_done, 1 + want.len());
    let dests: Vec<Dest> = x.dests.iter().map(|d| d.dest.clone()).collect();
    let edited = Dest {
        upper_threshold: 0,
        lower_threshold: 0,
        ..masq_dest(0)
    };
    assert_eq!(dests, vec![edited, gue_dest()]);
    assert_eq!(x.dests[1].family, Family::Ipv6);
}

/// The numbers of `ipvsadm -Ln --stats`'s first service line: conns, inpkts, outpkts,
/// inbytes, outbytes.
fn printed_counters(printed: &str) -> Vec<u64> {
    let line = printed.lines().find(|l| l.starts_with("TCP ")).unwrap();
    line.split_whitespace()
        .skip(2)
        .map(|n| n.parse().unwrap())
        .collect()
}

#[test]
fn counters_after_traffic() {
    let (x, printed) = replay_ipvsadm("list-traffic");
    let want = printed_counters(&printed);
    let [service] = x.services.as_slice() else {
        panic!("{:?}", x.services)
    };
    let s = service.stats;
    assert_eq!(
        vec![s.conns, s.in_packets, s.out_packets, s.in_bytes, s.out_bytes],
        want
    );
    assert_eq!(s.conns, 3, "three HTTP requests through the VIP");
    let [dest] = x.dests.as_slice() else {
        panic!("{:?}", x.dests)
    };
    assert_eq!(dest.stats.conns, 3);
    // The three connections are closed (TIME_WAIT): inactive, none active.
    assert_eq!((dest.active_conns, dest.inactive_conns), (0, 3));
}

#[test]
fn every_captured_message_survives_the_fuzz_entry_point() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if let Some(stem) = name.strip_suffix(".pcap") {
            for bytes in load(stem).0 {
                ka_ipvs::fuzzing::decode_everything(&bytes);
                n += 1;
            }
        }
    }
    assert!(n > 200, "only {n} messages");
}

/// keepalived 2.2.7's checker process starting with three virtual servers (NAT with
/// persistence and thresholds, DR with ops, an IPv6 fwmark with sh flags and tunnel real
/// servers, GUE and plain IPIP), then stopping: our encoder writes its requests byte for
/// byte, the service in destination and delete requests reduced to its identity (all the
/// kernel reads there).
#[test]
fn keepalived_programs_and_removes_its_services() {
    let dns = ops_service();
    let web1 = masq_dest(3);
    let web2 = Dest::new(
        DestKey {
            addr: ip("198.51.100.2"),
            port: 8080,
        },
        Forward::Masq,
        1,
    );
    let dns1 = Dest::new(
        DestKey {
            addr: ip("198.51.100.4"),
            port: 53,
        },
        Forward::Route,
        2,
    );
    let ipip = Dest::new(
        DestKey {
            addr: ip("2001:db8::2"),
            port: 0,
        },
        Forward::Tunnel,
        1,
    );
    let (x, printed) = replay("keepalived-start");
    assert!(x.errors.is_empty());
    let requests: Vec<Request> = x.requests.into_iter().map(Result::unwrap).collect();
    let changes: Vec<&Request> = requests
        .iter()
        // Also in the capture: the `ipvsadm -Ln` that waited for the real servers.
        .filter(|r| !matches!(r, Request::GetInfo | Request::GetServices | Request::GetDests(_)))
        .collect();
    assert_eq!(
        changes,
        vec![
            &Request::NewService(persistent_web(Scheduler::Wrr)),
            &Request::NewDest(web(), web1.clone()),
            &Request::NewDest(web(), web2.clone()),
            &Request::NewService(dns.clone()),
            &Request::NewDest(dns.key, dns1.clone()),
            &Request::NewService(sh_service()),
            &Request::NewDest(fwmark6(), gue_dest()),
            &Request::NewDest(fwmark6(), ipip.clone()),
        ]
    );
    assert!(
        printed.contains("  -> [2001:db8::2]:0              Tunnel  1"),
        "{printed}"
    );

    let (x, printed) = replay("keepalived-stop");
    assert!(x.errors.is_empty());
    let requests: Vec<Request> = x.requests.into_iter().map(Result::unwrap).collect();
    assert_eq!(
        requests,
        vec![
            Request::DelDest(web(), web1.key),
            Request::DelDest(web(), web2.key),
            Request::DelService(web()),
            Request::DelDest(dns.key, dns1.key),
            Request::DelService(dns.key),
            Request::DelDest(fwmark6(), gue_dest().key),
            Request::DelDest(fwmark6(), ipip.key),
            Request::DelService(fwmark6()),
        ]
    );
    assert_eq!(
        printed.lines().filter(|l| l.starts_with("  -> ")).count(),
        1,
        "only the header: {printed}"
    );
}
