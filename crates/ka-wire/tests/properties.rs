//! Property tests: encode ∘ decode is the identity, and no input makes a decoder panic.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_units::Centiseconds;
use ka_wire::vrrp::{encode_addresses, Addresses, AuthType, ChecksumMode, Family, Packet, Repr, Version};
use ka_wire::{arp, ndisc, rx};
use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

fn arb_addrs(family: Family) -> impl Strategy<Value = Vec<IpAddr>> {
    match family {
        Family::Ipv4 => {
            prop::collection::vec(any::<u32>().prop_map(|a| IpAddr::V4(Ipv4Addr::from(a))), 0..20).boxed()
        }
        Family::Ipv6 => {
            prop::collection::vec(any::<u128>().prop_map(|a| IpAddr::V6(Ipv6Addr::from(a))), 0..20).boxed()
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn vrrp_encode_then_decode_is_identity(
        v3 in any::<bool>(),
        v6 in any::<bool>(),
        vrid in any::<u8>(),
        priority in any::<u8>(),
        secs in 1u16..=255,
        cs in 1u16..=0x0fff,
        pass in any::<bool>(),
        password in prop::array::uniform8(any::<u8>()),
        addrs in any::<bool>().prop_flat_map(|six| arb_addrs(if six { Family::Ipv6 } else { Family::Ipv4 })),
        src in any::<[u8; 16]>(),
    ) {
        let family = match addrs.first() { Some(IpAddr::V6(_)) => Family::Ipv6, Some(_) => Family::Ipv4, None => if v6 { Family::Ipv6 } else { Family::Ipv4 } };
        let version = if v3 { Version::V3 } else { Version::V2 };
        let bytes = encode_addresses(family, &addrs);
        let with_auth = version == Version::V2 && family == Family::Ipv4 && pass;
        let repr = Repr {
            version,
            vrid,
            priority,
            interval: if v3 { Centiseconds::new(cs) } else { Centiseconds::from_secs(secs) },
            auth_type: if with_auth { AuthType::Pass } else { AuthType::None },
            auth_data: if with_auth { password } else { [0; 8] },
            addresses: Addresses::new(family, &bytes).unwrap(),
        };
        let mode = match family {
            Family::Ipv4 => ChecksumMode::PseudoHeader { src: IpAddr::V4(Ipv4Addr::new(src[0], src[1], src[2], src[3])), dst: "224.0.0.18".parse().unwrap() },
            Family::Ipv6 => ChecksumMode::PseudoHeader { src: IpAddr::V6(Ipv6Addr::from(src)), dst: "ff02::12".parse().unwrap() },
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        let n = repr.emit(&mut buf, mode).unwrap();
        prop_assert_eq!(n, buf.len());
        let packet = Packet::new_checked(&buf[..], family).unwrap();
        prop_assert!(packet.checksum_ok(mode));
        let back = Repr::parse(&packet).unwrap();
        prop_assert_eq!(back, repr);
        let mut again = vec![0u8; n];
        back.emit(&mut again, mode).unwrap();
        prop_assert_eq!(again, buf);
    }

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600), v6 in any::<bool>()) {
        let family = if v6 { Family::Ipv6 } else { Family::Ipv4 };
        if let Ok(p) = Packet::new_checked(&bytes[..], family) {
            let _ = Repr::parse(&p);
            let _ = p.checksum_ok(ChecksumMode::Plain);
        }
        let received = rx::Received { family, bytes: &bytes, src: "::".parse().unwrap(), dst: "ff02::12".parse().unwrap(), hop_limit: Some(255) };
        if let Ok(at) = rx::locate(&received) {
            let vip = [];
            let want = rx::Expectations {
                family, version: Version::V2, auth_type: AuthType::None, auth_data: [0; 8],
                interval: Centiseconds::ONE_SECOND, v3_checksum_as_v2: false, unicast: false, peers: &[],
                check_unicast_src: false, vips: Addresses::new(family, &vip).unwrap(), check_addresses: true,
            };
            let _ = rx::validate(&at, &want);
        }
        let _ = arp::Repr::parse_frame(&bytes);
        let _ = ndisc::Repr::parse_frame(&bytes);
    }
}
