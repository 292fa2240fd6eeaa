//! The fixed IPv6 header (RFC 8200 §3). Raw IPv6 sockets do not hand us this header (the
//! hop limit and addresses come as ancillary data), so it is used to build neighbour
//! advertisement frames and to read captures.

use crate::{Error, Result};
use std::net::Ipv6Addr;

pub const HEADER_LEN: usize = 40;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv6Addr,
    pub dst: Ipv6Addr,
    pub next_header: u8,
    pub hop_limit: u8,
    pub traffic_class: u8,
    pub flow_label: u32,
    pub payload_len: usize,
}

impl Repr {
    /// Reads the fixed header at the start of `buf`; the payload must be present in full.
    pub fn parse(buf: &[u8]) -> Result<Repr> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if buf[0] >> 4 != 6 {
            return Err(Error::Malformed);
        }
        let payload_len = usize::from(u16::from_be_bytes([buf[4], buf[5]]));
        if buf.len() < HEADER_LEN + payload_len {
            return Err(Error::Truncated);
        }
        let mut src = [0u8; 16];
        let mut dst = [0u8; 16];
        src.copy_from_slice(&buf[8..24]);
        dst.copy_from_slice(&buf[24..40]);
        Ok(Repr {
            src: Ipv6Addr::from(src),
            dst: Ipv6Addr::from(dst),
            next_header: buf[6],
            hop_limit: buf[7],
            traffic_class: ((buf[0] & 0x0f) << 4) | (buf[1] >> 4),
            flow_label: u32::from_be_bytes([0, buf[1] & 0x0f, buf[2], buf[3]]),
            payload_len,
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let len = u16::try_from(self.payload_len).map_err(|_| Error::Malformed)?;
        let fl = self.flow_label.to_be_bytes();
        buf[0] = 0x60 | (self.traffic_class >> 4);
        buf[1] = (self.traffic_class << 4) | (fl[1] & 0x0f);
        buf[2] = fl[2];
        buf[3] = fl[3];
        buf[4..6].copy_from_slice(&len.to_be_bytes());
        buf[6] = self.next_header;
        buf[7] = self.hop_limit;
        buf[8..24].copy_from_slice(&self.src.octets());
        buf[24..40].copy_from_slice(&self.dst.octets());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_class_and_flow_label() {
        let repr = Repr {
            src: "fe80::1".parse().unwrap(),
            dst: "ff02::12".parse().unwrap(),
            next_header: 112,
            hop_limit: 255,
            traffic_class: 0xc0,
            flow_label: 0xabcde,
            payload_len: 4,
        };
        let mut buf = [0u8; 44];
        repr.emit(&mut buf).unwrap();
        assert_eq!(Repr::parse(&buf).unwrap(), repr);
        assert_eq!(Repr::parse(&buf[..43]).unwrap_err(), Error::Truncated);
    }
}
