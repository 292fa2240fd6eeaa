//! VRRP advertisements: version 2 (RFC 3768) and version 3 (RFC 5798 / RFC 9568).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |Version| Type  | Virtual Rtr ID|   Priority    | Count IP Addrs|
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2: |   Auth Type   |   Adver Int   |          Checksum         |
//! v3: |(rsvd) |     Max Adver Int     |          Checksum         |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                  IPvX Address(es) (4 or 16 bytes each)        |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! v2 over IPv4 only: |   Authentication Data (8 bytes, always)  |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! ```
//!
//! Checksums: VRRPv2 over IPv4 sums the VRRP message alone. VRRPv3 adds a pseudo-header
//! (IPv6: RFC 8200, filled in by the kernel; IPv4: keepalived's default, which FRR shares)
//! unless `v3_checksum_as_v2` asks for the plain sum that some routers use. Over IPv6 the
//! kernel computes the checksum at offset 6 (IPV6_CHECKSUM) for either version.

use crate::{checksum, Error, Result};
use ka_units::Centiseconds;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const PROTOCOL: u8 = 112;
pub const MULTICAST_V4: Ipv4Addr = Ipv4Addr::new(224, 0, 0, 18);
pub const MULTICAST_V6: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12);
/// Adverts are sent with TTL / hop limit 255 and must arrive with it (RFC 5798 §5.1.1.3).
pub const TTL: u8 = 255;
pub const TYPE_ADVERTISEMENT: u8 = 1;
pub const HEADER_LEN: usize = 8;
pub const AUTH_DATA_LEN: usize = 8;
/// Offset of the checksum, for IPV6_CHECKSUM.
pub const CHECKSUM_OFFSET: usize = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Version {
    V2,
    V3,
}

impl Version {
    pub const fn number(self) -> u8 {
        match self {
            Version::V2 => 2,
            Version::V3 => 3,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub const fn address_len(self) -> usize {
        match self {
            Family::Ipv4 => 4,
            Family::Ipv6 => 16,
        }
    }

    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// VRRPv2 authentication type (RFC 2338 §5.3.6; removed by RFC 3768 but still used).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub enum AuthType {
    None,
    /// "Simple text password", keepalived's `auth_type PASS`.
    Pass,
    /// IPsec AH (keepalived's `auth_type AH`): the advert follows an AH header.
    Ah,
}

impl AuthType {
    pub const fn code(self) -> u8 {
        match self {
            AuthType::None => 0,
            AuthType::Pass => 1,
            AuthType::Ah => 2,
        }
    }

    pub const fn from_code(code: u8) -> Option<AuthType> {
        match code {
            0 => Some(AuthType::None),
            1 => Some(AuthType::Pass),
            2 => Some(AuthType::Ah),
            _ => None,
        }
    }
}

/// The 8-byte PASS authentication data: the password, truncated to 8 bytes, zero padded.
pub fn pass_auth_data(password: &[u8]) -> [u8; AUTH_DATA_LEN] {
    let mut data = [0u8; AUTH_DATA_LEN];
    let n = password.len().min(AUTH_DATA_LEN);
    data[..n].copy_from_slice(&password[..n]);
    data
}

/// How the checksum of an advert is computed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChecksumMode {
    /// Over the VRRP message alone: VRRPv2 over IPv4, or VRRPv3 with `v3_checksum_as_v2`.
    Plain,
    /// Over an IPv4 or IPv6 pseudo-header then the message.
    PseudoHeader { src: IpAddr, dst: IpAddr },
}

/// Length of an advert with `count` addresses.
pub const fn message_len(version: Version, family: Family, count: usize) -> usize {
    let auth = match (version, family) {
        (Version::V2, Family::Ipv4) => AUTH_DATA_LEN,
        _ => 0,
    };
    HEADER_LEN + count * family.address_len() + auth
}

/// A view of VRRP bytes, checked to hold the fixed header and the addresses its count
/// announces (and the v2 authentication data over IPv4).
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    family: Family,
}

impl<T: AsRef<[u8]>> Packet<T> {
    pub fn new_checked(buffer: T, family: Family) -> Result<Packet<T>> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let version = match b[0] >> 4 {
            2 => Version::V2,
            3 => Version::V3,
            _ => return Err(Error::Malformed),
        };
        if b.len() < message_len(version, family, usize::from(b[3])) {
            return Err(Error::Truncated);
        }
        Ok(Packet { buffer, family })
    }

    pub fn version(&self) -> Version {
        if self.buffer.as_ref()[0] >> 4 == 2 {
            Version::V2
        } else {
            Version::V3
        }
    }

    pub fn kind(&self) -> u8 {
        self.buffer.as_ref()[0] & 0x0f
    }

    pub fn vrid(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    pub fn priority(&self) -> u8 {
        self.buffer.as_ref()[2]
    }

    pub fn count(&self) -> usize {
        usize::from(self.buffer.as_ref()[3])
    }

    /// VRRPv2 auth type byte.
    pub fn auth_type_code(&self) -> u8 {
        self.buffer.as_ref()[4]
    }

    /// VRRPv2 advert interval, whole seconds.
    pub fn v2_interval_secs(&self) -> u8 {
        self.buffer.as_ref()[5]
    }

    /// VRRPv3 max advert interval (the 4 reserved bits are ignored, as RFC 5798 says).
    pub fn v3_interval(&self) -> Centiseconds {
        let b = self.buffer.as_ref();
        Centiseconds::new(u16::from_be_bytes([b[4], b[5]]) & 0x0fff)
    }

    /// The advert interval in either version's unit, as centiseconds.
    pub fn interval(&self) -> Centiseconds {
        match self.version() {
            Version::V2 => Centiseconds::from_secs(u16::from(self.v2_interval_secs())),
            Version::V3 => self.v3_interval(),
        }
    }

    pub fn checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[6], b[7]])
    }

    /// Length of the message as its count says (extra bytes after it are not part of it).
    pub fn message_len(&self) -> usize {
        message_len(self.version(), self.family, self.count())
    }

    pub fn address_bytes(&self) -> &[u8] {
        let n = self.count() * self.family.address_len();
        &self.buffer.as_ref()[HEADER_LEN..HEADER_LEN + n]
    }

    pub fn addresses(&self) -> Addresses<'_> {
        Addresses {
            family: self.family,
            bytes: self.address_bytes(),
        }
    }

    /// The v2 authentication data (IPv4 only; empty otherwise).
    pub fn auth_data(&self) -> &[u8] {
        match (self.version(), self.family) {
            (Version::V2, Family::Ipv4) => {
                let start = HEADER_LEN + self.count() * 4;
                &self.buffer.as_ref()[start..start + AUTH_DATA_LEN]
            }
            _ => &[],
        }
    }

    /// True if the checksum over the message (and pseudo-header, if asked) is right.
    pub fn checksum_ok(&self, mode: ChecksumMode) -> bool {
        let msg = &self.buffer.as_ref()[..self.message_len()];
        checksum::finish(checksum::accumulate(pseudo_sum(mode, msg.len()), msg)) == 0
    }
}

fn pseudo_sum(mode: ChecksumMode, len: usize) -> u32 {
    match mode {
        ChecksumMode::Plain => 0,
        ChecksumMode::PseudoHeader {
            src: IpAddr::V4(s),
            dst: IpAddr::V4(d),
        } => checksum::ipv4_pseudo_header(s, d, PROTOCOL, len as u16),
        ChecksumMode::PseudoHeader {
            src: IpAddr::V6(s),
            dst: IpAddr::V6(d),
        } => checksum::ipv6_pseudo_header(s, d, PROTOCOL, len as u32),
        // Mixed families cannot happen on the wire; sum nothing so the check fails.
        ChecksumMode::PseudoHeader { .. } => 0xffff,
    }
}

/// The addresses of an advert, read in place (no allocation on the receive path).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addresses<'a> {
    family: Family,
    bytes: &'a [u8],
}

impl<'a> Addresses<'a> {
    /// Wraps encoded addresses (`bytes.len()` a multiple of the address length).
    pub fn new(family: Family, bytes: &'a [u8]) -> Result<Addresses<'a>> {
        if !bytes.len().is_multiple_of(family.address_len()) || bytes.len() / family.address_len() > 255 {
            return Err(Error::Malformed);
        }
        Ok(Addresses { family, bytes })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.bytes
    }

    pub fn len(&self) -> usize {
        self.bytes.len() / self.family.address_len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = IpAddr> + 'a {
        let family = self.family;
        self.bytes
            .chunks_exact(family.address_len())
            .map(move |c| match family {
                Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(c[0], c[1], c[2], c[3])),
                Family::Ipv6 => {
                    let mut o = [0u8; 16];
                    o.copy_from_slice(c);
                    IpAddr::V6(Ipv6Addr::from(o))
                }
            })
    }

    pub fn contains(&self, addr: &IpAddr) -> bool {
        let len = self.family.address_len();
        match addr {
            IpAddr::V4(a) if len == 4 => self.bytes.chunks_exact(4).any(|c| c == a.octets()),
            IpAddr::V6(a) if len == 16 => self.bytes.chunks_exact(16).any(|c| c == a.octets()),
            _ => false,
        }
    }

    /// Same set of addresses, in any order (what keepalived's VIP check compares).
    pub fn same_set(&self, other: &Addresses<'_>) -> bool {
        self.family == other.family && self.len() == other.len() && self.iter().all(|a| other.contains(&a))
    }
}

/// Encodes addresses for [`Addresses::new`]; done once per configuration, not per packet.
/// Addresses of the other family are skipped.
pub fn encode_addresses(family: Family, addrs: &[IpAddr]) -> Vec<u8> {
    let mut out = Vec::with_capacity(addrs.len() * family.address_len());
    for a in addrs {
        match (family, a) {
            (Family::Ipv4, IpAddr::V4(v4)) => out.extend_from_slice(&v4.octets()),
            (Family::Ipv6, IpAddr::V6(v6)) => out.extend_from_slice(&v6.octets()),
            _ => {}
        }
    }
    out
}

/// The meaning of an advert.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr<'a> {
    pub version: Version,
    pub vrid: u8,
    pub priority: u8,
    /// Advert interval: v2 carries whole seconds, v3 centiseconds.
    pub interval: Centiseconds,
    /// VRRPv2 only; `AuthType::None` for v3.
    pub auth_type: AuthType,
    /// VRRPv2 over IPv4 only; zero otherwise.
    pub auth_data: [u8; AUTH_DATA_LEN],
    pub addresses: Addresses<'a>,
}

impl<'a> Repr<'a> {
    /// Reads an advertisement. The checksum is not verified here (see
    /// [`Packet::checksum_ok`]): keepalived checks it after other fields.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&'a T>) -> Result<Repr<'a>> {
        let bytes: &'a [u8] = packet.buffer.as_ref();
        if packet.kind() != TYPE_ADVERTISEMENT {
            return Err(Error::Malformed);
        }
        let version = packet.version();
        let family = packet.family;
        let n = packet.count() * family.address_len();
        let addresses = Addresses {
            family,
            bytes: &bytes[HEADER_LEN..HEADER_LEN + n],
        };
        let (auth_type, interval) = match version {
            Version::V2 => (
                AuthType::from_code(packet.auth_type_code()).ok_or(Error::Malformed)?,
                packet.interval(),
            ),
            Version::V3 => (AuthType::None, packet.v3_interval()),
        };
        let mut auth_data = [0u8; AUTH_DATA_LEN];
        auth_data.copy_from_slice(match packet.auth_data() {
            [] => &[0u8; AUTH_DATA_LEN][..],
            d => d,
        });
        Ok(Repr {
            version,
            vrid: packet.vrid(),
            priority: packet.priority(),
            interval,
            auth_type,
            auth_data,
            addresses,
        })
    }

    pub fn buffer_len(&self) -> usize {
        message_len(self.version, self.addresses.family, self.addresses.len())
    }

    /// Writes the advert into `buf` and returns its length. For IPv6, where the kernel fills
    /// in the checksum, pass the pseudo-header anyway to get a complete message (tests,
    /// captures); the kernel overwrites the same value.
    pub fn emit(&self, buf: &mut [u8], mode: ChecksumMode) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        let family = self.addresses.family;
        let msg = &mut buf[..len];
        msg[0] = (self.version.number() << 4) | TYPE_ADVERTISEMENT;
        msg[1] = self.vrid;
        msg[2] = self.priority;
        msg[3] = u8::try_from(self.addresses.len()).map_err(|_| Error::Malformed)?;
        match self.version {
            Version::V2 => {
                if !self.interval.get().is_multiple_of(100) || self.interval.get() / 100 > 255 {
                    return Err(Error::Malformed);
                }
                msg[4] = self.auth_type.code();
                msg[5] = (self.interval.get() / 100) as u8;
            }
            Version::V3 => {
                if !self.interval.fits_v3() {
                    return Err(Error::Malformed);
                }
                msg[4..6].copy_from_slice(&self.interval.get().to_be_bytes());
            }
        }
        msg[6..8].copy_from_slice(&[0, 0]);
        let n = self.addresses.bytes.len();
        msg[HEADER_LEN..HEADER_LEN + n].copy_from_slice(self.addresses.bytes);
        if self.version == Version::V2 && family == Family::Ipv4 {
            msg[HEADER_LEN + n..].copy_from_slice(&self.auth_data);
        }
        let c = checksum::finish(checksum::accumulate(pseudo_sum(mode, len), msg));
        msg[6..8].copy_from_slice(&c.to_be_bytes());
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The seed's advert as keepalived builds it: v2, VRID 51, priority 101, PASS "keepsync",
    /// one VIP, advert_int 1 (VIP mapped to the documentation range).
    fn seed_advert_bytes() -> Vec<u8> {
        let vip = encode_addresses(Family::Ipv4, &["192.0.2.99".parse().unwrap()]);
        let repr = Repr {
            version: Version::V2,
            vrid: 51,
            priority: 101,
            interval: Centiseconds::ONE_SECOND,
            auth_type: AuthType::Pass,
            auth_data: pass_auth_data(b"keepsync"),
            addresses: Addresses::new(Family::Ipv4, &vip).unwrap(),
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf, ChecksumMode::Plain).unwrap();
        buf
    }

    #[test]
    fn v2_pass_layout() {
        let b = seed_advert_bytes();
        assert_eq!(b.len(), 20);
        assert_eq!(&b[..6], &[0x21, 51, 101, 1, 1, 1]);
        assert_eq!(&b[8..12], &[192, 0, 2, 99]);
        assert_eq!(&b[12..], b"keepsync");
        let p = Packet::new_checked(&b[..], Family::Ipv4).unwrap();
        assert!(p.checksum_ok(ChecksumMode::Plain));
    }

    #[test]
    fn v3_ipv4_pseudo_header_differs_from_plain() {
        let vip = encode_addresses(Family::Ipv4, &["192.0.2.99".parse().unwrap()]);
        let repr = Repr {
            version: Version::V3,
            vrid: 7,
            priority: 100,
            interval: Centiseconds::new(5),
            auth_type: AuthType::None,
            auth_data: [0; 8],
            addresses: Addresses::new(Family::Ipv4, &vip).unwrap(),
        };
        let pseudo = ChecksumMode::PseudoHeader {
            src: "192.0.2.1".parse().unwrap(),
            dst: IpAddr::V4(MULTICAST_V4),
        };
        let mut a = [0u8; 12];
        let mut b = [0u8; 12];
        repr.emit(&mut a, pseudo).unwrap();
        repr.emit(&mut b, ChecksumMode::Plain).unwrap();
        assert_ne!(a[6..8], b[6..8]);
        let pa = Packet::new_checked(&a[..], Family::Ipv4).unwrap();
        assert!(pa.checksum_ok(pseudo));
        assert!(!pa.checksum_ok(ChecksumMode::Plain));
        assert_eq!(Repr::parse(&pa).unwrap(), repr);
        assert_eq!(&a[4..6], &[0, 5]);
    }

    #[test]
    fn truncated_and_malformed_are_rejected() {
        let b = seed_advert_bytes();
        assert_eq!(
            Packet::new_checked(&b[..19], Family::Ipv4).unwrap_err(),
            Error::Truncated
        );
        let mut wrong_version = b.clone();
        wrong_version[0] = 0x41;
        assert_eq!(
            Packet::new_checked(&wrong_version[..], Family::Ipv4).unwrap_err(),
            Error::Malformed
        );
        let mut wrong_type = b.clone();
        wrong_type[0] = 0x22;
        let p = Packet::new_checked(&wrong_type[..], Family::Ipv4).unwrap();
        assert_eq!(Repr::parse(&p).unwrap_err(), Error::Malformed);
    }

    #[test]
    fn address_sets_compare_in_any_order() {
        let a = encode_addresses(
            Family::Ipv4,
            &["192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()],
        );
        let b = encode_addresses(
            Family::Ipv4,
            &["192.0.2.2".parse().unwrap(), "192.0.2.1".parse().unwrap()],
        );
        let c = encode_addresses(Family::Ipv4, &["192.0.2.2".parse().unwrap()]);
        let (a, b, c) = (
            Addresses::new(Family::Ipv4, &a).unwrap(),
            Addresses::new(Family::Ipv4, &b).unwrap(),
            Addresses::new(Family::Ipv4, &c).unwrap(),
        );
        assert!(a.same_set(&b));
        assert!(!a.same_set(&c));
    }

    #[test]
    fn v2_refuses_fractional_intervals() {
        let repr = Repr {
            version: Version::V2,
            vrid: 1,
            priority: 1,
            interval: Centiseconds::new(150),
            auth_type: AuthType::None,
            auth_data: [0; 8],
            addresses: Addresses::new(Family::Ipv4, &[]).unwrap(),
        };
        assert_eq!(
            repr.emit(&mut [0u8; 16], ChecksumMode::Plain).unwrap_err(),
            Error::Malformed
        );
    }
}
