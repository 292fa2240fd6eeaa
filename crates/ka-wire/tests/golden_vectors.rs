//! Golden vectors: frames captured from real keepalived 2.2.7 (tools/capture-keepalived-vectors.sh)
//! decode to a Repr and encode back to the very same bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_wire::vrrp::{self, ChecksumMode, Family, Packet, Repr, Version};
use ka_wire::{arp, ethernet, ipv4, ipv6, ndisc, pcap, rx};
use std::net::IpAddr;
use std::path::PathBuf;

fn vector(name: &str) -> Vec<pcap::Record> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (linktype, records) = pcap::read(&bytes).unwrap();
    assert_eq!(linktype, pcap::LINKTYPE_ETHERNET);
    records
}

#[derive(Default, Debug)]
struct Seen {
    adverts: Vec<(Version, u8, u8, u16)>, // version, vrid, priority, interval (cs)
    garps: usize,
    nas: usize,
}

/// Decodes every VRRP, gratuitous ARP and NA frame of a capture, re-encodes it and checks the
/// bytes are identical.
fn round_trip_capture(name: &str) -> Seen {
    let mut seen = Seen::default();
    for record in vector(name) {
        let frame = &record.data;
        let (eth, payload) = ethernet::Repr::parse(frame).unwrap();
        match eth.ethertype {
            ethernet::ETHERTYPE_IPV4 => {
                let ip_packet = ipv4::Packet::new_checked(payload).unwrap();
                if ip_packet.protocol() != vrrp::PROTOCOL {
                    continue;
                }
                let ip = ipv4::Repr::parse(&ip_packet).unwrap();
                let vrrp_bytes = ip_packet.payload();
                let packet = Packet::new_checked(vrrp_bytes, Family::Ipv4).unwrap();
                let repr = Repr::parse(&packet).unwrap();
                let pseudo = ChecksumMode::PseudoHeader {
                    src: IpAddr::V4(ip.src),
                    dst: IpAddr::V4(ip.dst),
                };
                let mode = if repr.version == Version::V3 {
                    pseudo
                } else {
                    ChecksumMode::Plain
                };
                assert!(packet.checksum_ok(mode), "{name}: checksum");
                let mut out = vec![0u8; payload.len()];
                let n =
                    rx::emit_ipv4_advert(&mut out, &repr, ip.src, ip.dst, ip.ttl, ip.ident, false).unwrap();
                assert_eq!(&out[..n], payload, "{name}: IPv4 advert re-encodes identically");
                seen.adverts
                    .push((repr.version, repr.vrid, repr.priority, repr.interval.get()));
            }
            ethernet::ETHERTYPE_IPV6 => {
                let ip = ipv6::Repr::parse(payload).unwrap();
                let body = &payload[ipv6::HEADER_LEN..ipv6::HEADER_LEN + ip.payload_len];
                let mut out = vec![0u8; payload.len()];
                ip.emit(&mut out).unwrap();
                if ip.next_header == vrrp::PROTOCOL {
                    let packet = Packet::new_checked(body, Family::Ipv6).unwrap();
                    let repr = Repr::parse(&packet).unwrap();
                    let mode = ChecksumMode::PseudoHeader {
                        src: IpAddr::V6(ip.src),
                        dst: IpAddr::V6(ip.dst),
                    };
                    assert!(packet.checksum_ok(mode), "{name}: IPv6 checksum");
                    repr.emit(&mut out[ipv6::HEADER_LEN..], mode).unwrap();
                    assert_eq!(out, payload, "{name}: IPv6 advert re-encodes identically");
                    seen.adverts
                        .push((repr.version, repr.vrid, repr.priority, repr.interval.get()));
                } else if ip.next_header == ndisc::ICMPV6
                    && body.first() == Some(&ndisc::TYPE_NEIGHBOR_ADVERT)
                {
                    let (_, _, na) = ndisc::Repr::parse_frame(frame).unwrap();
                    let mut again = vec![0u8; frame.len()];
                    na.emit_frame(&mut again, eth.src).unwrap();
                    assert_eq!(&again, frame, "{name}: NA re-encodes identically");
                    assert!(na.override_flag && !na.solicited);
                    seen.nas += 1;
                }
            }
            ethernet::ETHERTYPE_ARP => {
                let (_, arp) = arp::Repr::parse_frame(frame).unwrap();
                if arp.is_gratuitous() {
                    let mut again = vec![0u8; arp::FRAME_LEN];
                    arp.emit_frame(&mut again).unwrap();
                    assert_eq!(
                        &again[..],
                        &frame[..arp::FRAME_LEN],
                        "{name}: GARP re-encodes identically"
                    );
                    seen.garps += 1;
                }
            }
            _ => {}
        }
    }
    seen
}

fn check_master_then_shutdown(seen: &Seen, version: Version, vrid: u8, interval: u16) {
    assert!(seen.adverts.len() >= 3, "{seen:?}");
    let (last, rest) = seen.adverts.split_last().unwrap();
    // keepalived's SIGTERM sends one advert with priority 0.
    assert_eq!(*last, (version, vrid, 0, interval));
    assert!(
        rest.iter().all(|a| *a == (version, vrid, 255, interval)),
        "{seen:?}"
    );
}

#[test]
fn keepalived_v2_pass() {
    let seen = round_trip_capture("keepalived-2.2.7-v2-pass.pcap");
    check_master_then_shutdown(&seen, Version::V2, 51, 100);
    assert!(seen.garps >= 1);
}

#[test]
fn keepalived_v2_pass_carries_the_password() {
    let record = vector("keepalived-2.2.7-v2-pass.pcap")
        .into_iter()
        .find(|r| r.data.get(23) == Some(&112))
        .unwrap();
    let packet = Packet::new_checked(&record.data[34..], Family::Ipv4).unwrap();
    assert_eq!(packet.auth_data(), b"keepsync");
    assert_eq!(Repr::parse(&packet).unwrap().auth_type, vrrp::AuthType::Pass);
}

#[test]
fn keepalived_v2_no_auth_two_vips() {
    let seen = round_trip_capture("keepalived-2.2.7-v2-noauth.pcap");
    check_master_then_shutdown(&seen, Version::V2, 52, 100);
    assert!(seen.garps >= 2, "one GARP per VIP");
}

#[test]
fn keepalived_v3_ipv4_uses_the_pseudo_header() {
    let seen = round_trip_capture("keepalived-2.2.7-v3-ipv4.pcap");
    check_master_then_shutdown(&seen, Version::V3, 53, 10);
}

#[test]
fn keepalived_v3_ipv6_and_its_neighbour_advertisement() {
    let seen = round_trip_capture("keepalived-2.2.7-v3-ipv6.pcap");
    check_master_then_shutdown(&seen, Version::V3, 54, 10);
    assert!(seen.nas >= 1);
}

#[test]
fn keepalived_v3_unicast() {
    let seen = round_trip_capture("keepalived-2.2.7-v3-unicast.pcap");
    check_master_then_shutdown(&seen, Version::V3, 55, 10);
}
