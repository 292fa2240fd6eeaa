//! Gratuitous ARP as keepalived sends it when it takes a VIP: an Ethernet broadcast ARP
//! *request* whose sender and target protocol addresses are both the VIP, sender hardware
//! address the interface's MAC and target hardware address the broadcast address.

use crate::{ethernet, Error, MacAddr, Result};
use std::net::Ipv4Addr;

pub const PACKET_LEN: usize = 28;
/// Ethernet header + ARP packet.
pub const FRAME_LEN: usize = ethernet::HEADER_LEN + PACKET_LEN;

const HTYPE_ETHERNET: u16 = 1;
pub const OP_REQUEST: u16 = 1;
pub const OP_REPLY: u16 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub operation: u16,
    pub sender_mac: MacAddr,
    pub sender_ip: Ipv4Addr,
    pub target_mac: MacAddr,
    pub target_ip: Ipv4Addr,
}

impl Repr {
    /// The gratuitous ARP keepalived sends for `vip` from an interface with MAC `mac`.
    pub fn gratuitous(mac: MacAddr, vip: Ipv4Addr) -> Repr {
        Repr {
            operation: OP_REQUEST,
            sender_mac: mac,
            sender_ip: vip,
            target_mac: MacAddr::BROADCAST,
            target_ip: vip,
        }
    }

    /// True for an announcement of the sender's own address (sender IP = target IP).
    pub fn is_gratuitous(&self) -> bool {
        self.sender_ip == self.target_ip
    }

    /// Reads an Ethernet/IPv4 ARP packet (not the Ethernet header).
    pub fn parse(buf: &[u8]) -> Result<Repr> {
        if buf.len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        let htype = u16::from_be_bytes([buf[0], buf[1]]);
        let ptype = u16::from_be_bytes([buf[2], buf[3]]);
        if htype != HTYPE_ETHERNET || ptype != ethernet::ETHERTYPE_IPV4 || buf[4] != 6 || buf[5] != 4 {
            return Err(Error::Malformed);
        }
        let mac = |at: usize| {
            let mut m = [0u8; 6];
            m.copy_from_slice(&buf[at..at + 6]);
            MacAddr(m)
        };
        let ip = |at: usize| Ipv4Addr::new(buf[at], buf[at + 1], buf[at + 2], buf[at + 3]);
        Ok(Repr {
            operation: u16::from_be_bytes([buf[6], buf[7]]),
            sender_mac: mac(8),
            sender_ip: ip(14),
            target_mac: mac(18),
            target_ip: ip(24),
        })
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < PACKET_LEN {
            return Err(Error::Truncated);
        }
        buf[0..2].copy_from_slice(&HTYPE_ETHERNET.to_be_bytes());
        buf[2..4].copy_from_slice(&ethernet::ETHERTYPE_IPV4.to_be_bytes());
        buf[4] = 6;
        buf[5] = 4;
        buf[6..8].copy_from_slice(&self.operation.to_be_bytes());
        buf[8..14].copy_from_slice(&self.sender_mac.0);
        buf[14..18].copy_from_slice(&self.sender_ip.octets());
        buf[18..24].copy_from_slice(&self.target_mac.0);
        buf[24..28].copy_from_slice(&self.target_ip.octets());
        Ok(())
    }

    /// Writes the whole Ethernet frame keepalived sends (broadcast destination).
    pub fn emit_frame(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < FRAME_LEN {
            return Err(Error::Truncated);
        }
        let eth = ethernet::Repr {
            dst: MacAddr::BROADCAST,
            src: self.sender_mac,
            ethertype: ethernet::ETHERTYPE_ARP,
        };
        eth.emit(buf)?;
        self.emit(&mut buf[ethernet::HEADER_LEN..])?;
        Ok(FRAME_LEN)
    }

    /// Reads a whole frame; Ethernet padding after the ARP packet is ignored.
    pub fn parse_frame(frame: &[u8]) -> Result<(ethernet::Repr, Repr)> {
        let (eth, payload) = ethernet::Repr::parse(frame)?;
        if eth.ethertype != ethernet::ETHERTYPE_ARP {
            return Err(Error::Malformed);
        }
        Ok((eth, Repr::parse(payload)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gratuitous_frame_has_keepalived_layout() {
        let mac = MacAddr([0x02, 0, 0, 0, 0, 1]);
        let vip = Ipv4Addr::new(192, 0, 2, 99);
        let mut buf = [0u8; FRAME_LEN];
        assert_eq!(Repr::gratuitous(mac, vip).emit_frame(&mut buf).unwrap(), 42);
        let expected: [u8; 42] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06, // ethernet
            0, 1, 0x08, 0, 6, 4, 0, 1, // ethernet/ipv4, request
            0x02, 0, 0, 0, 0, 1, 192, 0, 2, 99, // sender
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 192, 0, 2, 99, // target
        ];
        assert_eq!(buf, expected);
        let (eth, arp) = Repr::parse_frame(&buf).unwrap();
        assert_eq!(eth.dst, MacAddr::BROADCAST);
        assert!(arp.is_gratuitous());
        assert_eq!(arp, Repr::gratuitous(mac, vip));
    }

    #[test]
    fn rejects_non_ethernet_ipv4_arp() {
        let mut buf = [0u8; PACKET_LEN];
        Repr::gratuitous(MacAddr::default(), Ipv4Addr::LOCALHOST)
            .emit(&mut buf)
            .unwrap();
        buf[5] = 16;
        assert_eq!(Repr::parse(&buf).unwrap_err(), Error::Malformed);
        assert_eq!(Repr::parse(&buf[..27]).unwrap_err(), Error::Truncated);
    }
}
