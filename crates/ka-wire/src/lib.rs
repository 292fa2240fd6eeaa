//! Wire formats for keepalived-rs, in the style of smoltcp's `wire` module: a zero-copy
//! `Packet` view checked once for length, after which no accessor can panic, and a `Repr`
//! that is the validated meaning of the bytes, with `parse` and `emit` in both directions.
//!
//! Nothing here allocates per packet, reads a clock or touches a socket.

pub mod arp;
pub mod checksum;
pub mod ethernet;
pub mod ipv4;
pub mod ipv6;
pub mod ndisc;
pub mod pcap;
pub mod rx;
pub mod vrrp;

/// Why bytes could not be read as the format asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Error {
    /// Fewer bytes than the format needs.
    Truncated,
    /// A field holds a value the format does not allow.
    Malformed,
    /// The checksum does not match the contents.
    Checksum,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::Truncated => "truncated",
            Error::Malformed => "malformed",
            Error::Checksum => "bad checksum",
        })
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;

/// An Ethernet (MAC) address.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    pub const BROADCAST: MacAddr = MacAddr([0xff; 6]);

    /// The VRRP virtual MAC for a VRID (RFC 5798 §7.3): 00-00-5E-00-01-{VRID} for IPv4,
    /// 00-00-5E-00-02-{VRID} for IPv6.
    pub const fn vrrp_virtual(vrid: u8, ipv6: bool) -> MacAddr {
        MacAddr([0x00, 0x00, 0x5e, 0x00, if ipv6 { 0x02 } else { 0x01 }, vrid])
    }

    /// The Ethernet multicast address of an IPv6 multicast group (RFC 2464 §7).
    pub fn ipv6_multicast(group: std::net::Ipv6Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x33, 0x33, o[12], o[13], o[14], o[15]])
    }

    /// The Ethernet multicast address of an IPv4 multicast group (RFC 1112 §6.4).
    pub fn ipv4_multicast(group: std::net::Ipv4Addr) -> MacAddr {
        let o = group.octets();
        MacAddr([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
    }
}

impl std::fmt::Display for MacAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl std::str::FromStr for MacAddr {
    type Err = Error;
    fn from_str(s: &str) -> Result<MacAddr> {
        let mut out = [0u8; 6];
        let mut parts = s.split([':', '-']);
        for byte in &mut out {
            let part = parts.next().ok_or(Error::Malformed)?;
            if part.is_empty() || part.len() > 2 {
                return Err(Error::Malformed);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| Error::Malformed)?;
        }
        if parts.next().is_some() {
            return Err(Error::Malformed);
        }
        Ok(MacAddr(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_macs_follow_rfc5798() {
        assert_eq!(MacAddr::vrrp_virtual(51, false).to_string(), "00:00:5e:00:01:33");
        assert_eq!(MacAddr::vrrp_virtual(51, true).to_string(), "00:00:5e:00:02:33");
        assert_eq!(
            MacAddr::ipv4_multicast("224.0.0.18".parse().unwrap()).to_string(),
            "01:00:5e:00:00:12"
        );
        assert_eq!(
            MacAddr::ipv6_multicast("ff02::12".parse().unwrap()).to_string(),
            "33:33:00:00:00:12"
        );
    }

    #[test]
    fn mac_parses_and_rejects() {
        assert_eq!(
            "00:00:5E:00:01:33".parse::<MacAddr>().unwrap(),
            MacAddr::vrrp_virtual(51, false)
        );
        assert!("00:00:5e:00:01".parse::<MacAddr>().is_err());
        assert!("00:00:5e:00:01:33:44".parse::<MacAddr>().is_err());
        assert!("zz:00:5e:00:01:33".parse::<MacAddr>().is_err());
    }
}

/// Entry points shared by the cargo-fuzz targets (fuzz/) and the plain tests that replay
/// their corpus, so that both exercise exactly the same code.
pub mod fuzzing {
    use crate::vrrp::{Addresses, AuthType, Family, Version};
    use crate::{arp, ipv4, ipv6, ndisc, pcap, rx};
    use ka_units::Centiseconds;

    /// Feeds arbitrary bytes to every decoder. Must never panic.
    pub fn decode_everything(data: &[u8]) {
        let Some((&selector, bytes)) = data.split_first() else {
            return;
        };
        let family = if selector & 1 == 0 {
            Family::Ipv4
        } else {
            Family::Ipv6
        };
        let version = if selector & 2 == 0 {
            Version::V2
        } else {
            Version::V3
        };
        let vips = [192, 0, 2, 99];
        let want = rx::Expectations {
            family,
            version,
            auth_type: if selector & 4 == 0 {
                AuthType::None
            } else {
                AuthType::Pass
            },
            auth_data: *b"keepsync",
            interval: Centiseconds::ONE_SECOND,
            v3_checksum_as_v2: selector & 8 != 0,
            unicast: selector & 16 != 0,
            peers: &[],
            check_unicast_src: selector & 32 != 0,
            vips: match Addresses::new(Family::Ipv4, &vips) {
                Ok(a) if family == Family::Ipv4 => a,
                _ => match Addresses::new(family, &[]) {
                    Ok(a) => a,
                    Err(_) => return,
                },
            },
            check_addresses: selector & 64 != 0,
        };
        let received = rx::Received {
            family,
            bytes,
            src: std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            dst: std::net::IpAddr::V6("ff02::12".parse().unwrap_or(std::net::Ipv6Addr::UNSPECIFIED)),
            hop_limit: Some(255),
        };
        if let Ok(at) = rx::locate(&received) {
            let _ = rx::validate(&at, &want);
        }
        if let Ok(p) = ipv4::Packet::new_checked(bytes) {
            let _ = ipv4::Repr::parse(&p);
            let _ = p.payload();
        }
        let _ = ipv6::Repr::parse(bytes);
        let _ = arp::Repr::parse_frame(bytes);
        let _ = ndisc::Repr::parse_frame(bytes);
        let _ = pcap::read(bytes);
        if let Ok(p) = crate::vrrp::Packet::new_checked(bytes, family) {
            if let Ok(repr) = crate::vrrp::Repr::parse(&p) {
                // Whatever decodes must encode back to the same message.
                let mut out = [0u8; 4200];
                let mode = crate::vrrp::ChecksumMode::Plain;
                if let Ok(n) = repr.emit(&mut out, mode) {
                    let again = crate::vrrp::Packet::new_checked(&out[..n], family)
                        .map(|q| crate::vrrp::Repr::parse(&q).ok());
                    assert!(
                        matches!(again, Ok(Some(r)) if r == repr),
                        "decode/encode round trip differs"
                    );
                }
            }
        }
    }
}
