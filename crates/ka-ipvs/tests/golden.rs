//! Golden bytes written by hand from the uapi layout (`include/uapi/linux/ip_vs.h`,
//! `linux/netlink.h`, `linux/genetlink.h`), both directions: our encoder must produce them,
//! our decoders must read them. Vectors captured from the real kernel and ipvsadm live in
//! `tests/vectors/` (see `captured.rs`). Netlink integers are host-order: little-endian here.
#![cfg(target_endian = "little")]
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_ipvs::netlink::{messages, Addressing, KernelError, Payload};
use ka_ipvs::{
    decode_dest, decode_info, decode_request, decode_service, decode_timeouts, Request, Stats, Timeouts,
};
use ka_lb::model::{service_flags, TunnelSpec};
use ka_lb::{Change, Dest, DestKey, Family, Forward, Protocol, Scheduler, Service, ServiceKey};
use std::net::IpAddr;

/// Hex digits, whitespace ignored, `#` comments to the end of the line.
fn hex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits");
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
}

const TO: Addressing = Addressing {
    family_id: 0x23,
    seq: 1,
    port: 0x1234,
};

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn web_v4() -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip("192.0.2.10"),
        port: 80,
    }
}

fn persistent_wrr() -> Service {
    Service {
        flags: service_flags::PERSISTENT,
        timeout: 300,
        netmask: 0xffff_ff00,
        ..Service::new(web_v4(), Scheduler::Wrr)
    }
}

const NEW_SERVICE_TCP4: &str = "
    68000000 2300 0500 01000000 34120000  # nlmsghdr: 104 bytes, family 0x23, REQUEST|ACK, seq 1, port 0x1234
    01 01 0000                            # genlmsghdr: NEW_SERVICE, version 1
    5400 0180                             # SERVICE (84 bytes), NLA_F_NESTED as libnl sets it
      0600 0100 0200 0000                 #   AF = AF_INET
      0600 0200 0600 0000                 #   PROTOCOL = TCP
      1400 0300 c000020a 00000000 00000000 00000000  # ADDR 192.0.2.10 (16 bytes)
      0600 0400 0050 0000                 #   PORT = 80, big-endian
      0800 0600 77727200                  #   SCHED_NAME \"wrr\\0\"
      0c00 0700 01000000 ffffffff         #   FLAGS {PERSISTENT, mask all}
      0800 0800 2c010000                  #   TIMEOUT = 300
      0800 0900 ffffff00                  #   NETMASK 255.255.255.0, as the mask's bytes
";

#[test]
fn new_service_ipv4_persistent() {
    let bytes = Request::NewService(persistent_wrr()).encode(TO).unwrap();
    assert_eq!(bytes, hex(NEW_SERVICE_TCP4));
    let (header, request) = decode_request(&bytes).unwrap();
    assert_eq!((header.kind, header.seq, header.port), (0x23, 1, 0x1234));
    assert_eq!(request, Request::NewService(persistent_wrr()));
}

#[test]
fn set_service_ipv6_fwmark_with_scheduler_flags() {
    let svc = Service {
        flags: service_flags::SCHED1 | service_flags::SCHED2,
        ..Service::new(
            ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: 7,
            },
            Scheduler::Sh,
        )
    };
    let want = hex("
        4c000000 2300 0500 01000000 34120000  # 76 bytes
        02 01 0000                            # SET_SERVICE
        3800 0180                             # SERVICE (56 bytes)
          0600 0100 0a00 0000                 #   AF = AF_INET6
          0800 0500 07000000                  #   FWMARK = 7
          0700 0600 736800 00                 #   SCHED_NAME \"sh\\0\" + 1 pad byte
          0c00 0700 18000000 ffffffff         #   FLAGS {SCHED1|SCHED2}
          0800 0800 00000000                  #   TIMEOUT = 0
          0800 0900 80000000                  #   NETMASK = prefix length 128, host order
    ");
    let bytes = Request::SetService(svc.clone()).encode(TO).unwrap();
    assert_eq!(bytes, want);
    assert_eq!(decode_request(&bytes).unwrap().1, Request::SetService(svc));
}

#[test]
fn persistence_engine_is_sent_after_the_scheduler() {
    let svc = Service {
        pe_name: Some("sip".into()),
        flags: service_flags::PERSISTENT,
        timeout: 60,
        ..Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Udp,
                addr: ip("192.0.2.10"),
                port: 5060,
            },
            Scheduler::Rr,
        )
    };
    let bytes = Request::NewService(svc.clone()).encode(TO).unwrap();
    let want_tail = hex("
        0600 0400 13c4 0000                   # PORT 5060
        0700 0600 727200 00                   # SCHED_NAME \"rr\\0\"
        0800 0b00 73697000                    # PE_NAME \"sip\\0\"
        0c00 0700 01000000 ffffffff
        0800 0800 3c000000
        0800 0900 ffffffff
    ");
    assert!(bytes.ends_with(&want_tail), "{bytes:02x?}");
    assert_eq!(
        decode_request(&bytes).unwrap().1,
        Request::NewService(svc.clone())
    );
    let long = Service {
        pe_name: Some("a-much-too-long-name".into()),
        ..svc
    };
    assert!(Request::NewService(long).encode(TO).is_err());
}

#[test]
fn dest_requests() {
    let dest = Dest {
        upper_threshold: 100,
        lower_threshold: 50,
        ..Dest::new(
            DestKey {
                addr: ip("198.51.100.1"),
                port: 8080,
            },
            Forward::Masq,
            3,
        )
    };
    let key_nest = "
        3000 0180                             # SERVICE (48 bytes), identity only
          0600 0100 0200 0000                 #   AF_INET
          0600 0200 0600 0000                 #   TCP
          1400 0300 c000020a 00000000 00000000 00000000
          0600 0400 0050 0000                 #   port 80
    ";
    let new_dest = format!(
        "8c000000 2300 0500 01000000 34120000  # 140 bytes
         05 01 0000                            # NEW_DEST
         {key_nest}
         4800 0280                             # DEST (72 bytes)
           0600 0b00 0200 0000                 #   ADDR_FAMILY = AF_INET
           1400 0100 c6336401 00000000 00000000 00000000  # ADDR 198.51.100.1
           0600 0200 1f90 0000                 #   PORT 8080
           0800 0300 00000000                  #   FWD_METHOD = masq
           0800 0400 03000000                  #   WEIGHT = 3
           0800 0500 64000000                  #   U_THRESH = 100
           0800 0600 32000000                  #   L_THRESH = 50
        "
    );
    let change = Change::AddDest(web_v4(), dest.clone());
    let bytes = Request::from(&change).encode(TO).unwrap();
    assert_eq!(bytes, hex(&new_dest));
    assert_eq!(
        decode_request(&bytes).unwrap().1,
        Request::NewDest(web_v4(), dest.clone())
    );

    let del_dest = format!(
        "6c000000 2300 0500 01000000 34120000  # 108 bytes
         07 01 0000                            # DEL_DEST
         {key_nest}
         2800 0280                             # DEST (40 bytes), identity only
           0600 0b00 0200 0000
           1400 0100 c6336401 00000000 00000000 00000000
           0600 0200 1f90 0000
        "
    );
    let bytes = Request::DelDest(web_v4(), dest.key).encode(TO).unwrap();
    assert_eq!(bytes, hex(&del_dest));
    assert_eq!(
        decode_request(&bytes).unwrap().1,
        Request::DelDest(web_v4(), dest.key)
    );
}

#[test]
fn tunnel_dest_sends_its_encapsulation() {
    let dest = Dest {
        tunnel: Some(TunnelSpec {
            kind: 1,
            port: 6080,
            flags: 1,
        }),
        ..Dest::new(
            DestKey {
                addr: ip("2001:db8::1"),
                port: 80,
            },
            Forward::Tunnel,
            1,
        )
    };
    let key = ServiceKey::Fwmark {
        family: Family::Ipv6,
        mark: 1,
    };
    let bytes = Request::SetDest(key, dest.clone()).encode(TO).unwrap();
    let want_tail = hex("
        0800 0300 02000000                    # FWD_METHOD = tunnel
        0800 0400 01000000                    # WEIGHT 1
        0500 0d00 01 000000                   # TUN_TYPE = GUE (u8)
        0600 0e00 17c0 0000                   # TUN_PORT 6080, big-endian
        0600 0f00 0100 0000                   # TUN_FLAGS = CSUM
        0800 0500 00000000
        0800 0600 00000000
    ");
    assert!(bytes.ends_with(&want_tail), "{bytes:02x?}");
    assert_eq!(decode_request(&bytes).unwrap().1, Request::SetDest(key, dest));
}

#[test]
fn requests_without_payload_and_dumps() {
    let cases: [(Request, &str); 6] = [
        (
            Request::GetServices,
            "14000000 2300 0503 01000000 34120000 04 01 0000",
        ),
        (
            Request::GetInfo,
            "14000000 2300 0500 01000000 34120000 0f 01 0000",
        ),
        (
            Request::GetConfig,
            "14000000 2300 0500 01000000 34120000 0d 01 0000",
        ),
        (Request::Flush, "14000000 2300 0500 01000000 34120000 11 01 0000"),
        (
            Request::Zero(None),
            "14000000 2300 0500 01000000 34120000 10 01 0000",
        ),
        (
            Request::SetConfig(Timeouts {
                tcp: 900,
                tcp_fin: 120,
                udp: 300,
            }),
            "2c000000 2300 0500 01000000 34120000 0c 01 0000
             0800 0400 84030000  0800 0500 78000000  0800 0600 2c010000",
        ),
    ];
    for (request, text) in cases {
        let bytes = request.encode(TO).unwrap();
        assert_eq!(bytes, hex(text), "{request}");
        assert_eq!(decode_request(&bytes).unwrap().1, request);
    }
    let dump = Request::GetDests(web_v4()).encode(TO).unwrap();
    assert_eq!(&dump[4..8], &hex("2300 0503"), "GET_DEST is a dump");
    assert_eq!(dump[16], 8);
}

/// A GET_SERVICE dump reply as the 6.1 kernel writes one (ip_vs_genl_fill_service): the
/// HASHED flag set, both STATS and STATS64 (the latter with PAD attributes aligning the u64s).
const SERVICE_REPLY: &str = "
    c8000000 2300 0200 05000000 34120000  # 200 bytes, NLM_F_MULTI
    01 01 0000                            # NEW_SERVICE
    b4000100                              # SERVICE (180 bytes)
      0600 0100 0200 0000                 #   AF_INET
      0600 0200 0600 0000                 #   TCP
      1400 0300 c000020a 00000000 00000000 00000000
      0600 0400 0050 0000
      0800 0600 77727200                  #   \"wrr\"
      0c00 0700 03000000 ffffffff         #   PERSISTENT|HASHED
      0800 0800 2c010000                  #   300 s
      0800 0900 ffffff00                  #   /24
      2800 0a00                           #   STATS (40 bytes, 32-bit counters)
        0800 0100 05000000                #     CONNS 5
        0800 0200 0a000000                #     INPKTS 10
        0c00 0400 e803000000000000        #     INBYTES 1000 (u64)
        0800 0600 01000000                #     CPS 1
      3800 0c00                           #   STATS64 (56 bytes)
        0c00 0100 0600000000000000        #     CONNS 6
        0400 0b00                         #     PAD
        0c00 0200 0b00000000000000        #     INPKTS 11
        0c00 0400 0000000001000000        #     INBYTES 2^32
        0c00 0500 0700000000000000        #     OUTBYTES 7
";

#[test]
fn service_dump_entry() {
    let bytes = hex(SERVICE_REPLY);
    let msg = messages(&bytes).next().unwrap().unwrap();
    assert_eq!(msg.header.flags, 2);
    let Payload::Data(g) = msg.payload else {
        panic!("not data")
    };
    let entry = decode_service(&g).unwrap();
    assert_eq!(entry.flags, 3, "the raw flags keep HASHED");
    assert_eq!(entry.scheduler, "wrr");
    assert_eq!(
        entry.stats,
        Stats {
            conns: 6,
            in_packets: 11,
            in_bytes: 1 << 32,
            out_bytes: 7,
            ..Stats::default()
        },
        "STATS64 wins over STATS"
    );
    assert_eq!(entry.to_service().unwrap(), persistent_wrr());
    assert!(
        decode_dest(&g, Family::Ipv4).is_err(),
        "a service is not a destination"
    );
}

#[test]
fn dest_dump_entry_with_connection_counts() {
    let bytes = hex("
        98000000 2300 0200 06000000 34120000  # 152 bytes
        05 01 0000                            # NEW_DEST
        84000200                              # DEST (132 bytes)
          1400 0100 c6336401 00000000 00000000 00000000
          0600 0200 0050 0000
          0800 0300 03000000                  #   route (DR)
          0800 0400 00000000                  #   weight 0: quiescent
          0500 0d00 00 000000                 #   TUN_TYPE ipip (unused here)
          0600 0e00 0000 0000
          0600 0f00 0000 0000
          0800 0500 00000000
          0800 0600 00000000
          0800 0700 02000000                  #   ACTIVE_CONNS 2
          0800 0800 03000000                  #   INACT_CONNS 3
          0800 0900 04000000                  #   PERSIST_CONNS 4
          0600 0b00 0200 0000                 #   ADDR_FAMILY
          0c00 0a00                           #   STATS
            0800 0100 09000000                #     CONNS 9
    ");
    let msg = messages(&bytes).next().unwrap().unwrap();
    let Payload::Data(g) = msg.payload else {
        panic!("not data")
    };
    let entry = decode_dest(&g, Family::Ipv4).unwrap();
    assert_eq!(
        entry.dest,
        Dest::new(
            DestKey {
                addr: ip("198.51.100.1"),
                port: 80
            },
            Forward::Route,
            0
        )
    );
    assert_eq!(
        (
            entry.active_conns,
            entry.inactive_conns,
            entry.persist_conns,
            entry.stats.conns
        ),
        (2, 3, 4, 9)
    );
    assert_eq!(entry.family, Family::Ipv4);
}

#[test]
fn info_timeouts_ack_error_done() {
    let bytes = hex("
        24000000 2300 0000 07000000 34120000  0e 01 0000   # SET_INFO
          0800 0100 01020100                  # VERSION 0x010201
          0800 0200 00100000                  # CONN_TAB_SIZE 4096
        2c000000 2300 0000 08000000 34120000  0c 01 0000   # SET_CONFIG
          0800 0400 84030000  0800 0500 78000000  0800 0600 2c010000
        24000000 0200 0001 09000000 34120000  # NLMSG_ERROR, CAPPED
          00000000                            # error 0: ACK
          14000000 2300 0500 09000000 34120000  # the request's header
        24000000 0200 0001 0a000000 34120000
          efffffff                            # -17: EEXIST
          68000000 2300 0500 0a000000 34120000
        14000000 0300 0200 0b000000 34120000  # NLMSG_DONE
          00000000
    ");
    let all: Vec<_> = messages(&bytes).collect::<Result<_, _>>().unwrap();
    assert_eq!(all.len(), 5);
    let Payload::Data(info) = &all[0].payload else {
        panic!()
    };
    let info = decode_info(info).unwrap();
    assert_eq!(info.banner(), "IP Virtual Server version 1.2.1 (size=4096)");
    let Payload::Data(config) = &all[1].payload else {
        panic!()
    };
    assert_eq!(
        decode_timeouts(config).unwrap(),
        Timeouts {
            tcp: 900,
            tcp_fin: 120,
            udp: 300
        }
    );
    assert_eq!(all[2].payload, Payload::Ack);
    assert_eq!(
        all[3].payload,
        Payload::Error(KernelError {
            errno: 17,
            message: None
        })
    );
    assert_eq!(all[4].payload, Payload::Done);
    assert_eq!(
        Request::NewService(persistent_wrr()).explain(17),
        Some("the virtual service already exists")
    );
}

#[test]
fn truncations_of_a_valid_reply_are_errors_not_panics() {
    let bytes = hex(SERVICE_REPLY);
    for cut in 0..bytes.len() {
        let mut prefix = bytes[..cut].to_vec();
        // Keep the header's length consistent with the cut, so the nested parsers see it.
        if cut >= 4 {
            prefix[..4].copy_from_slice(&(cut as u32).to_le_bytes());
        }
        for m in messages(&prefix) {
            if let Ok(Message {
                payload: Payload::Data(g),
                ..
            }) = m
            {
                let _ = decode_service(&g);
            }
        }
        ka_ipvs::fuzzing::decode_everything(&prefix);
    }
}

use ka_ipvs::netlink::Message;
