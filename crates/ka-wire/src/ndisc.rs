//! The unsolicited neighbour advertisement keepalived sends for an IPv6 VIP (RFC 4861
//! §4.4, §7.2.6): from the VIP to all-nodes ff02::1, hop limit 255, Override flag set
//! (Router flag when the interface forwards), with a target link-layer address option.

use crate::{checksum, ethernet, ipv6, Error, MacAddr, Result};
use std::net::Ipv6Addr;

pub const ICMPV6: u8 = 58;
pub const TYPE_NEIGHBOR_ADVERT: u8 = 136;
/// ICMPv6 header (4) + flags (4) + target (16) + target link-layer option (8).
pub const MESSAGE_LEN: usize = 32;
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + ipv6::HEADER_LEN + MESSAGE_LEN;
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

const FLAG_ROUTER: u32 = 0x8000_0000;
const FLAG_SOLICITED: u32 = 0x4000_0000;
const FLAG_OVERRIDE: u32 = 0x2000_0000;
const OPTION_TARGET_LLADDR: u8 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub router: bool,
    pub solicited: bool,
    pub override_flag: bool,
    pub target: Ipv6Addr,
    pub target_mac: Option<MacAddr>,
}

impl Repr {
    pub fn unsolicited(target: Ipv6Addr, mac: MacAddr, router: bool) -> Repr {
        Repr {
            router,
            solicited: false,
            override_flag: true,
            target,
            target_mac: Some(mac),
        }
    }

    /// Reads the ICMPv6 message, verifying its checksum against the IPv6 addresses.
    pub fn parse(msg: &[u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<Repr> {
        if msg.len() < 24 {
            return Err(Error::Truncated);
        }
        if msg[0] != TYPE_NEIGHBOR_ADVERT || msg[1] != 0 {
            return Err(Error::Malformed);
        }
        let len = u32::try_from(msg.len()).map_err(|_| Error::Malformed)?;
        if checksum::finish(checksum::accumulate(
            checksum::ipv6_pseudo_header(src, dst, ICMPV6, len),
            msg,
        )) != 0
        {
            return Err(Error::Checksum);
        }
        let flags = u32::from_be_bytes([msg[4], msg[5], msg[6], msg[7]]);
        let mut target = [0u8; 16];
        target.copy_from_slice(&msg[8..24]);
        let mut target_mac = None;
        let mut options = &msg[24..];
        while options.len() >= 2 {
            let option_len = usize::from(options[1]) * 8;
            if option_len == 0 || option_len > options.len() {
                return Err(Error::Malformed);
            }
            if options[0] == OPTION_TARGET_LLADDR && option_len == 8 {
                let mut mac = [0u8; 6];
                mac.copy_from_slice(&options[2..8]);
                target_mac = Some(MacAddr(mac));
            }
            options = &options[option_len..];
        }
        Ok(Repr {
            router: flags & FLAG_ROUTER != 0,
            solicited: flags & FLAG_SOLICITED != 0,
            override_flag: flags & FLAG_OVERRIDE != 0,
            target: Ipv6Addr::from(target),
            target_mac,
        })
    }

    pub fn buffer_len(&self) -> usize {
        if self.target_mac.is_some() {
            MESSAGE_LEN
        } else {
            24
        }
    }

    /// Writes the ICMPv6 message with its checksum for the given IPv6 source and destination.
    pub fn emit(&self, buf: &mut [u8], src: Ipv6Addr, dst: Ipv6Addr) -> Result<usize> {
        let len = self.buffer_len();
        if buf.len() < len {
            return Err(Error::Truncated);
        }
        let msg = &mut buf[..len];
        msg[0] = TYPE_NEIGHBOR_ADVERT;
        msg[1] = 0;
        msg[2..4].copy_from_slice(&[0, 0]);
        let mut flags = 0;
        if self.router {
            flags |= FLAG_ROUTER;
        }
        if self.solicited {
            flags |= FLAG_SOLICITED;
        }
        if self.override_flag {
            flags |= FLAG_OVERRIDE;
        }
        msg[4..8].copy_from_slice(&flags.to_be_bytes());
        msg[8..24].copy_from_slice(&self.target.octets());
        if let Some(mac) = self.target_mac {
            msg[24] = OPTION_TARGET_LLADDR;
            msg[25] = 1;
            msg[26..32].copy_from_slice(&mac.0);
        }
        let sum = checksum::ipv6_pseudo_header(src, dst, ICMPV6, len as u32);
        let c = checksum::finish(checksum::accumulate(sum, msg));
        msg[2..4].copy_from_slice(&c.to_be_bytes());
        Ok(len)
    }

    /// The whole frame keepalived sends: Ethernet to 33:33:00:00:00:01, IPv6 from the target
    /// address to ff02::1 with hop limit 255.
    pub fn emit_frame(&self, buf: &mut [u8], src_mac: MacAddr) -> Result<usize> {
        if buf.len() < FRAME_LEN {
            return Err(Error::Truncated);
        }
        let eth = ethernet::Repr {
            dst: MacAddr::ipv6_multicast(ALL_NODES),
            src: src_mac,
            ethertype: ethernet::ETHERTYPE_IPV6,
        };
        eth.emit(buf)?;
        let ip = ipv6::Repr {
            src: self.target,
            dst: ALL_NODES,
            next_header: ICMPV6,
            hop_limit: 255,
            traffic_class: 0,
            flow_label: 0,
            payload_len: self.buffer_len(),
        };
        ip.emit(&mut buf[ethernet::HEADER_LEN..])?;
        let n = self.emit(
            &mut buf[ethernet::HEADER_LEN + ipv6::HEADER_LEN..],
            self.target,
            ALL_NODES,
        )?;
        Ok(ethernet::HEADER_LEN + ipv6::HEADER_LEN + n)
    }

    pub fn parse_frame(frame: &[u8]) -> Result<(ethernet::Repr, ipv6::Repr, Repr)> {
        let (eth, rest) = ethernet::Repr::parse(frame)?;
        if eth.ethertype != ethernet::ETHERTYPE_IPV6 {
            return Err(Error::Malformed);
        }
        let ip = ipv6::Repr::parse(rest)?;
        if ip.next_header != ICMPV6 {
            return Err(Error::Malformed);
        }
        let msg = &rest[ipv6::HEADER_LEN..ipv6::HEADER_LEN + ip.payload_len];
        Ok((eth, ip, Repr::parse(msg, ip.src, ip.dst)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsolicited_na_round_trips_with_valid_checksum() {
        let vip: Ipv6Addr = "2001:db8::99".parse().unwrap();
        let mac = MacAddr([0x02, 0, 0, 0, 0, 7]);
        let na = Repr::unsolicited(vip, mac, false);
        let mut frame = [0u8; FRAME_LEN];
        assert_eq!(na.emit_frame(&mut frame, mac).unwrap(), 86);
        let (eth, ip, back) = Repr::parse_frame(&frame).unwrap();
        assert_eq!(eth.dst.to_string(), "33:33:00:00:00:01");
        assert_eq!((ip.src, ip.dst, ip.hop_limit), (vip, ALL_NODES, 255));
        assert_eq!(back, na);
        // Flags: Override only.
        assert_eq!(&frame[58..62], &[0x20, 0, 0, 0]);
        frame[70] ^= 1;
        assert_eq!(Repr::parse_frame(&frame).unwrap_err(), Error::Checksum);
    }
}
