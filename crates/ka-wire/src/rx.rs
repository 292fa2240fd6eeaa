//! Receive-side validation of adverts, in the order keepalived 2.2.7 checks them
//! (`vrrp_check_packet` in its vrrp/vrrp.c), so that the same packet is refused for the same
//! reason and counted under the same statistic.
//!
//! Two deliberate differences, both from the product's issue list:
//! - a VIP count or list that differs from ours is reported ([`Accepted::address_mismatch`])
//!   but the advert is still accepted (keepalived 2.2.7 dropped it, turning a typo in one
//!   node's VIP list into a dual master; later keepalived versions accept it too);
//! - IPsec AH adverts are recognised and refused with [`DropReason::AhUnsupported`].

use crate::vrrp::{self, Addresses, AuthType, ChecksumMode, Family, Packet, Repr, Version};
use crate::{ipv4, Error};
use ka_units::Centiseconds;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};

const PROTOCOL_AH: u8 = 51;

/// Why an advert was dropped. Each reason has its own counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DropReason {
    /// Too short for the headers it announces, or not parseable at all.
    Truncated,
    /// The IPv4 header is malformed or its checksum is wrong.
    IpHeader,
    /// AH present without `auth_type AH`, or missing with it.
    AhMismatch,
    /// `auth_type AH` adverts: not implemented.
    AhUnsupported,
    /// Length differs from what the header's count implies.
    Length,
    /// TTL / hop limit is not 255 on a multicast advert.
    Ttl,
    Version,
    /// No VRRP instance with this VRID (and family) on the interface.
    UnknownVrid,
    /// An auth type code that is not 0, 1 or 2.
    InvalidAuthType,
    /// The advert's auth type is not the one configured.
    AuthTypeMismatch,
    /// Wrong PASS password.
    AuthFailure,
    /// VRRPv2 advert interval differs from ours: keepalived drops these.
    IntervalMismatch,
    /// Not an advertisement (type ≠ 1).
    Type,
    /// IPv4 total length does not match what was received.
    IpLength,
    Checksum,
    /// Multicast advert for a unicast instance or the reverse.
    CastMismatch,
    /// Unicast advert from an address that is not a `unicast_peer`.
    NotAPeer,
    /// Unicast advert with a TTL outside the peer's `min_ttl`..`max_ttl`.
    PeerTtl,
}

impl DropReason {
    pub const ALL: [DropReason; 18] = [
        DropReason::Truncated,
        DropReason::IpHeader,
        DropReason::AhMismatch,
        DropReason::AhUnsupported,
        DropReason::Length,
        DropReason::Ttl,
        DropReason::Version,
        DropReason::UnknownVrid,
        DropReason::InvalidAuthType,
        DropReason::AuthTypeMismatch,
        DropReason::AuthFailure,
        DropReason::IntervalMismatch,
        DropReason::Type,
        DropReason::IpLength,
        DropReason::Checksum,
        DropReason::CastMismatch,
        DropReason::NotAPeer,
        DropReason::PeerTtl,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            DropReason::Truncated => "truncated",
            DropReason::IpHeader => "ip_header",
            DropReason::AhMismatch => "ah_mismatch",
            DropReason::AhUnsupported => "ah_unsupported",
            DropReason::Length => "length",
            DropReason::Ttl => "ttl",
            DropReason::Version => "version",
            DropReason::UnknownVrid => "unknown_vrid",
            DropReason::InvalidAuthType => "invalid_auth_type",
            DropReason::AuthTypeMismatch => "auth_type_mismatch",
            DropReason::AuthFailure => "auth_failure",
            DropReason::IntervalMismatch => "interval_mismatch",
            DropReason::Type => "type",
            DropReason::IpLength => "ip_length",
            DropReason::Checksum => "checksum",
            DropReason::CastMismatch => "cast_mismatch",
            DropReason::NotAPeer => "not_a_peer",
            DropReason::PeerTtl => "peer_ttl",
        }
    }
}

/// An advert as it came off a socket.
#[derive(Clone, Copy, Debug)]
pub struct Received<'a> {
    pub family: Family,
    /// IPv4: the whole IP datagram (raw sockets deliver the header). IPv6: the VRRP message
    /// (the kernel strips the header and gives hop limit and addresses as ancillary data).
    pub bytes: &'a [u8],
    /// IPv6 only (IPv4 reads them from the header).
    pub src: IpAddr,
    pub dst: IpAddr,
    /// IPv6 hop limit from ancillary data; None if unknown (the check is then skipped, as
    /// keepalived does).
    pub hop_limit: Option<u8>,
}

/// The VRRP part of a received advert, located but not yet validated: enough to find the
/// instance it is for.
#[derive(Clone, Copy, Debug)]
pub struct Located<'a> {
    pub vrrp: &'a [u8],
    pub src: IpAddr,
    pub dst: IpAddr,
    pub ttl: Option<u8>,
    pub ip_total_len: Option<usize>,
    pub ah: bool,
    /// Everything received, for the exact length check.
    pub received_len: usize,
    pub ip_header_len: usize,
    pub vrid: u8,
}

/// Finds the VRRP message in what a socket returned, so the caller can dispatch by VRID.
pub fn locate<'a>(rx: &Received<'a>) -> Result<Located<'a>, DropReason> {
    match rx.family {
        Family::Ipv4 => {
            let ip = ipv4::Packet::new_checked(rx.bytes).map_err(|e| match e {
                Error::Truncated => DropReason::Truncated,
                _ => DropReason::IpHeader,
            })?;
            let hl = ip.header_len();
            let ah = ip.protocol() == PROTOCOL_AH;
            let vrrp_at = if ah { hl + 24 } else { hl };
            let vrrp = rx.bytes.get(vrrp_at..).ok_or(DropReason::Truncated)?;
            if vrrp.len() < vrrp::HEADER_LEN {
                return Err(DropReason::Truncated);
            }
            Ok(Located {
                vrrp,
                src: IpAddr::V4(ip.src()),
                dst: IpAddr::V4(ip.dst()),
                ttl: Some(ip.ttl()),
                ip_total_len: Some(usize::from(ip.total_len())),
                ah,
                received_len: rx.bytes.len(),
                ip_header_len: hl,
                vrid: vrrp[1],
            })
        }
        Family::Ipv6 => {
            if rx.bytes.len() < vrrp::HEADER_LEN {
                return Err(DropReason::Truncated);
            }
            Ok(Located {
                vrrp: rx.bytes,
                src: rx.src,
                dst: rx.dst,
                ttl: rx.hop_limit,
                ip_total_len: None,
                ah: false,
                received_len: rx.bytes.len(),
                ip_header_len: 0,
                vrid: rx.bytes[1],
            })
        }
    }
}

/// A unicast peer and the TTL range its adverts may arrive with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Peer {
    pub addr: IpAddr,
    pub min_ttl: u8,
    pub max_ttl: u8,
}

/// What one instance expects of adverts.
#[derive(Clone, Copy, Debug)]
pub struct Expectations<'a> {
    pub family: Family,
    pub version: Version,
    pub auth_type: AuthType,
    /// PASS data (password truncated/padded to 8 bytes).
    pub auth_data: [u8; vrrp::AUTH_DATA_LEN],
    /// Our advert interval, for the VRRPv2 equality check.
    pub interval: Centiseconds,
    /// `v3_checksum_as_v2`: VRRPv3 over IPv4 without the pseudo-header.
    pub v3_checksum_as_v2: bool,
    pub unicast: bool,
    pub peers: &'a [Peer],
    /// `check_unicast_src` / `vrrp_check_unicast_src`.
    pub check_unicast_src: bool,
    /// Our VIPs (encoded), compared when `check_addresses` is set.
    pub vips: Addresses<'a>,
    /// False when `skip_check_adv_addr` is on and the advert comes from the known master.
    pub check_addresses: bool,
}

/// An advert that passed validation.
#[derive(Clone, Copy, Debug)]
pub struct Accepted<'a> {
    pub repr: Repr<'a>,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// The VIP list differs from ours (count or members): logged and counted, not dropped.
    pub address_mismatch: bool,
}

/// Validates a located advert against an instance's expectations, in keepalived's order.
pub fn validate<'a>(at: &Located<'a>, want: &Expectations<'_>) -> Result<Accepted<'a>, DropReason> {
    // AH present exactly when configured.
    if at.ah != (want.auth_type == AuthType::Ah) {
        return Err(DropReason::AhMismatch);
    }
    if at.ah {
        return Err(DropReason::AhUnsupported);
    }
    let version = match at.vrrp[0] >> 4 {
        2 => Version::V2,
        3 => Version::V3,
        // The length check below needs a version; keepalived's length formula treats
        // anything but 2 as having no auth data.
        _ => Version::V3,
    };
    let expected = at.ip_header_len + vrrp::message_len(version, want.family, usize::from(at.vrrp[3]));
    if at.received_len != expected {
        return Err(DropReason::Length);
    }
    if !want.unicast {
        if let Some(ttl) = at.ttl {
            if ttl != vrrp::TTL {
                return Err(DropReason::Ttl);
            }
        }
    }
    if at.vrrp[0] >> 4 != want.version.number() {
        return Err(DropReason::Version);
    }
    let packet = Packet::new_checked(at.vrrp, want.family).map_err(|_| DropReason::Truncated)?;
    if want.version == Version::V2 {
        let Some(auth) = AuthType::from_code(packet.auth_type_code()) else {
            return Err(DropReason::InvalidAuthType);
        };
        if auth != want.auth_type {
            return Err(DropReason::AuthTypeMismatch);
        }
        if auth == AuthType::Pass && !constant_time_eq(packet.auth_data(), &want.auth_data) {
            return Err(DropReason::AuthFailure);
        }
        if packet.interval() != want.interval {
            return Err(DropReason::IntervalMismatch);
        }
    }
    if packet.kind() != vrrp::TYPE_ADVERTISEMENT {
        return Err(DropReason::Type);
    }
    if let Some(total) = at.ip_total_len {
        if total != at.received_len {
            return Err(DropReason::IpLength);
        }
    }
    if want.family == Family::Ipv4 {
        let mode = if want.version == Version::V3 && !want.v3_checksum_as_v2 {
            ChecksumMode::PseudoHeader {
                src: at.src,
                dst: at.dst,
            }
        } else {
            ChecksumMode::Plain
        };
        if !packet.checksum_ok(mode) {
            return Err(DropReason::Checksum);
        }
    }
    let multicast = match at.dst {
        IpAddr::V4(d) => d.is_multicast(),
        IpAddr::V6(d) => d.is_multicast(),
    };
    if multicast == want.unicast {
        return Err(DropReason::CastMismatch);
    }
    let repr = Repr::parse(&packet).map_err(|_| DropReason::Type)?;
    let address_mismatch = want.check_addresses && !repr.addresses.same_set(&want.vips);
    if want.unicast && want.check_unicast_src {
        let Some(peer) = want.peers.iter().find(|p| p.addr == at.src) else {
            return Err(DropReason::NotAPeer);
        };
        if let Some(ttl) = at.ttl {
            if ttl < peer.min_ttl || ttl > peer.max_ttl {
                return Err(DropReason::PeerTtl);
            }
        }
    }
    Ok(Accepted {
        repr,
        src: at.src,
        dst: at.dst,
        address_mismatch,
    })
}

/// Compares passwords without an early exit, as keepalived does.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Builds a complete IPv4 advert datagram as keepalived sends it (TOS 0xC0, TTL as given,
/// DF clear); returns its length. Used by the daemon with IP_HDRINCL and by tests.
#[allow(clippy::too_many_arguments)]
pub fn emit_ipv4_advert(
    buf: &mut [u8],
    repr: &Repr<'_>,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    ttl: u8,
    ident: u16,
    v3_checksum_as_v2: bool,
) -> crate::Result<usize> {
    let vrrp_len = repr.buffer_len();
    let ip = ipv4::Repr {
        src,
        dst,
        protocol: vrrp::PROTOCOL,
        ttl,
        tos: ipv4::TOS_INTERNET_CONTROL,
        ident,
        frag_field: 0,
        payload_len: vrrp_len,
    };
    if buf.len() < ipv4::HEADER_LEN + vrrp_len {
        return Err(Error::Truncated);
    }
    ip.emit(buf)?;
    let mode = if repr.version == Version::V3 && !v3_checksum_as_v2 {
        ChecksumMode::PseudoHeader {
            src: IpAddr::V4(src),
            dst: IpAddr::V4(dst),
        }
    } else {
        ChecksumMode::Plain
    };
    repr.emit(&mut buf[ipv4::HEADER_LEN..], mode)?;
    Ok(ipv4::HEADER_LEN + vrrp_len)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vrrp::{encode_addresses, pass_auth_data};

    const SRC: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 11);

    fn advert(version: Version, priority: u8, password: &[u8], interval: u16) -> Vec<u8> {
        let vip = encode_addresses(Family::Ipv4, &["192.0.2.99".parse().unwrap()]);
        let repr = Repr {
            version,
            vrid: 51,
            priority,
            interval: Centiseconds::new(interval),
            auth_type: if version == Version::V2 {
                AuthType::Pass
            } else {
                AuthType::None
            },
            auth_data: if version == Version::V2 {
                pass_auth_data(password)
            } else {
                [0; 8]
            },
            addresses: Addresses::new(Family::Ipv4, &vip).unwrap(),
        };
        let mut buf = vec![0u8; 64];
        let n = emit_ipv4_advert(&mut buf, &repr, SRC, vrrp::MULTICAST_V4, 255, 1, false).unwrap();
        buf.truncate(n);
        buf
    }

    fn check(bytes: &[u8], version: Version) -> Result<bool, DropReason> {
        let vip = encode_addresses(Family::Ipv4, &["192.0.2.99".parse().unwrap()]);
        let want = Expectations {
            family: Family::Ipv4,
            version,
            auth_type: if version == Version::V2 {
                AuthType::Pass
            } else {
                AuthType::None
            },
            auth_data: if version == Version::V2 {
                pass_auth_data(b"keepsync")
            } else {
                [0; 8]
            },
            interval: Centiseconds::ONE_SECOND,
            v3_checksum_as_v2: false,
            unicast: false,
            peers: &[],
            check_unicast_src: false,
            vips: Addresses::new(Family::Ipv4, &vip).unwrap(),
            check_addresses: true,
        };
        let rx = Received {
            family: Family::Ipv4,
            bytes,
            src: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            dst: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            hop_limit: None,
        };
        let at = locate(&rx)?;
        validate(&at, &want).map(|a| a.address_mismatch)
    }

    #[test]
    fn good_v2_and_v3_adverts_pass() {
        assert_eq!(
            check(&advert(Version::V2, 101, b"keepsync", 100), Version::V2),
            Ok(false)
        );
        assert_eq!(check(&advert(Version::V3, 101, b"", 100), Version::V3), Ok(false));
    }

    #[test]
    fn each_fault_has_its_reason() {
        let good = advert(Version::V2, 101, b"keepsync", 100);
        let mut ttl = good.clone();
        ttl[8] = 64;
        // Fix the IP header checksum after changing the TTL.
        ttl[10..12].copy_from_slice(&[0, 0]);
        let c = crate::checksum::of(&ttl[..20]);
        ttl[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(check(&ttl, Version::V2), Err(DropReason::Ttl));
        assert_eq!(check(&good, Version::V3), Err(DropReason::Version));
        assert_eq!(
            check(&advert(Version::V2, 101, b"wrongpwd", 100), Version::V2),
            Err(DropReason::AuthFailure)
        );
        assert_eq!(
            check(&advert(Version::V2, 101, b"keepsync", 200), Version::V2),
            Err(DropReason::IntervalMismatch)
        );
        let mut long = good.clone();
        long.push(0);
        assert_eq!(check(&long, Version::V2), Err(DropReason::Length));
        let mut bad_sum = good.clone();
        bad_sum[27] ^= 0xff;
        assert_eq!(check(&bad_sum, Version::V2), Err(DropReason::Checksum));
        assert_eq!(check(&good[..30], Version::V2), Err(DropReason::Length));
        assert_eq!(check(&good[..10], Version::V2), Err(DropReason::Truncated));
    }

    #[test]
    fn v3_interval_mismatch_is_accepted() {
        assert_eq!(check(&advert(Version::V3, 101, b"", 5), Version::V3), Ok(false));
    }
}
