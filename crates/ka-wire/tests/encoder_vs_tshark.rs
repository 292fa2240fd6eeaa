//! Frames written by our encoder, read by Wireshark's dissectors (tshark): every VRRP
//! checksum must be "Good" and nothing malformed.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_units::Centiseconds;
use ka_wire::vrrp::{
    self, encode_addresses, pass_auth_data, Addresses, AuthType, ChecksumMode, Family, Repr, Version,
};
use ka_wire::{arp, ethernet, ipv6, ndisc, pcap, rx, MacAddr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::process::Command;

fn tool_missing(name: &str) -> bool {
    let found = Command::new(name).arg("--version").output().is_ok();
    if !found {
        if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
            panic!("{name} is required (KA_REQUIRE_TOOLS is set) but not installed");
        }
        eprintln!("\n*** SKIPPED: {name} is not installed; install it (apt-get install {name}) to run this test ***\n");
    }
    !found
}

fn ipv4_frame(repr: &Repr<'_>, src: Ipv4Addr, dst: Ipv4Addr, as_v2: bool) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + 20 + repr.buffer_len()];
    let eth = ethernet::Repr {
        dst: MacAddr::ipv4_multicast(vrrp::MULTICAST_V4),
        src: MacAddr([2, 0, 0, 0, 0, 1]),
        ethertype: ethernet::ETHERTYPE_IPV4,
    };
    eth.emit(&mut frame).unwrap();
    rx::emit_ipv4_advert(&mut frame[14..], repr, src, dst, 255, 7, as_v2).unwrap();
    frame
}

fn ipv6_frame(repr: &Repr<'_>, src: Ipv6Addr) -> Vec<u8> {
    let mut frame = vec![0u8; 14 + 40 + repr.buffer_len()];
    let eth = ethernet::Repr {
        dst: MacAddr::ipv6_multicast(vrrp::MULTICAST_V6),
        src: MacAddr([2, 0, 0, 0, 0, 1]),
        ethertype: ethernet::ETHERTYPE_IPV6,
    };
    eth.emit(&mut frame).unwrap();
    let ip = ipv6::Repr {
        src,
        dst: vrrp::MULTICAST_V6,
        next_header: vrrp::PROTOCOL,
        hop_limit: 255,
        traffic_class: 0xc0,
        flow_label: 0,
        payload_len: repr.buffer_len(),
    };
    ip.emit(&mut frame[14..]).unwrap();
    let mode = ChecksumMode::PseudoHeader {
        src: IpAddr::V6(src),
        dst: IpAddr::V6(vrrp::MULTICAST_V6),
    };
    repr.emit(&mut frame[54..], mode).unwrap();
    frame
}

fn tshark_fields(file: &std::path::Path, prefs: &[&str], fields: &[&str]) -> Vec<Vec<String>> {
    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(file).arg("-T").arg("fields");
    for p in prefs {
        cmd.arg("-o").arg(p);
    }
    for f in fields {
        cmd.arg("-e").arg(f);
    }
    let out = cmd.output().expect("tshark runs");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

#[test]
fn tshark_reports_good_checksums_on_our_frames() {
    if tool_missing("tshark") {
        return;
    }
    let src4 = Ipv4Addr::new(192, 0, 2, 11);
    let src6: Ipv6Addr = "fe80::11".parse().unwrap();
    let v4 = encode_addresses(
        Family::Ipv4,
        &["192.0.2.99".parse().unwrap(), "198.51.100.1".parse().unwrap()],
    );
    let v6 = encode_addresses(Family::Ipv6, &["2001:db8::99".parse().unwrap()]);
    let base = Repr {
        version: Version::V2,
        vrid: 51,
        priority: 101,
        interval: Centiseconds::ONE_SECOND,
        auth_type: AuthType::Pass,
        auth_data: pass_auth_data(b"keepsync"),
        addresses: Addresses::new(Family::Ipv4, &v4).unwrap(),
    };
    let v2_none = Repr {
        auth_type: AuthType::None,
        auth_data: [0; 8],
        priority: 0,
        ..base
    };
    let v3 = Repr {
        version: Version::V3,
        interval: Centiseconds::new(5),
        auth_type: AuthType::None,
        auth_data: [0; 8],
        ..base
    };
    let v3_v6 = Repr {
        addresses: Addresses::new(Family::Ipv6, &v6).unwrap(),
        ..v3
    };

    let mut file = pcap::header(pcap::LINKTYPE_ETHERNET);
    for (i, frame) in [
        ipv4_frame(&base, src4, vrrp::MULTICAST_V4, false),
        ipv4_frame(&v2_none, src4, vrrp::MULTICAST_V4, false),
        ipv4_frame(&v3, src4, vrrp::MULTICAST_V4, false),
        ipv4_frame(&v3, src4, Ipv4Addr::new(192, 0, 2, 12), false),
        ipv6_frame(&v3_v6, src6),
    ]
    .iter()
    .enumerate()
    {
        pcap::push_record(&mut file, i as u64 * 1000, frame);
    }
    let mut garp = [0u8; arp::FRAME_LEN];
    arp::Repr::gratuitous(MacAddr([2, 0, 0, 0, 0, 1]), "192.0.2.99".parse().unwrap())
        .emit_frame(&mut garp)
        .unwrap();
    pcap::push_record(&mut file, 10_000, &garp);
    let mut na = [0u8; ndisc::FRAME_LEN];
    ndisc::Repr::unsolicited(
        "2001:db8::99".parse().unwrap(),
        MacAddr([2, 0, 0, 0, 0, 1]),
        false,
    )
    .emit_frame(&mut na, MacAddr([2, 0, 0, 0, 0, 1]))
    .unwrap();
    pcap::push_record(&mut file, 11_000, &na);

    let dir = std::env::temp_dir().join(format!("ka-wire-tshark-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ours.pcap");
    std::fs::write(&path, &file).unwrap();
    let rows = tshark_fields(
        &path,
        &[],
        &[
            "vrrp.checksum.status",
            "icmpv6.checksum.status",
            "arp.isgratuitous",
            "_ws.malformed",
            "_ws.expert.severity",
        ],
    );
    assert_eq!(rows.len(), 7, "{rows:?}");
    for (i, row) in rows.iter().take(5).enumerate() {
        assert_eq!(
            row[0], "1",
            "frame {i}: VRRP checksum status must be Good (1): {row:?}"
        );
        assert_eq!(row[3], "", "frame {i} malformed: {row:?}");
    }
    assert_eq!(rows[5][2], "1", "gratuitous ARP recognised: {:?}", rows[5]);
    assert_eq!(rows[6][1], "1", "NA checksum Good: {:?}", rows[6]);

    // v3 over IPv4 without the pseudo-header (v3_checksum_as_v2): Wireshark checks it when
    // told the peer does so.
    let mut plain = pcap::header(pcap::LINKTYPE_ETHERNET);
    pcap::push_record(&mut plain, 0, &ipv4_frame(&v3, src4, vrrp::MULTICAST_V4, true));
    let path2 = dir.join("v3-as-v2.pcap");
    std::fs::write(&path2, &plain).unwrap();
    let rows = tshark_fields(
        &path2,
        &["vrrp.v3_checksum_as_in_v2:TRUE"],
        &["vrrp.checksum.status"],
    );
    assert_eq!(rows, vec![vec!["1".to_string()]]);
    let rows = tshark_fields(
        &path2,
        &["vrrp.v3_checksum_as_in_v2:FALSE"],
        &["vrrp.checksum.status"],
    );
    assert_eq!(
        rows,
        vec![vec!["0".to_string()]],
        "and the pseudo-header form fails for it"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
