//! The IPv4 header, as far as VRRP needs it: keepalived sends adverts on a raw socket with
//! `IP_HDRINCL` and builds the header itself (TTL 255, TOS 0xC0), and receives the header in
//! front of every advert.

use crate::{checksum, Error, Result};
use std::net::Ipv4Addr;

pub const HEADER_LEN: usize = 20;
/// Type of service keepalived puts on adverts: precedence "internetwork control".
pub const TOS_INTERNET_CONTROL: u8 = 0xc0;

/// A checked view of an IPv4 header and what follows it.
#[derive(Debug, Clone, Copy)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Checks the header fits and is an IPv4 header; total length may exceed the buffer
    /// only if the caller accepts truncation (it does not: [`Packet::payload`] is bounded).
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let b = buffer.as_ref();
        if b.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        if b[0] >> 4 != 4 {
            return Err(Error::Malformed);
        }
        let ihl = usize::from(b[0] & 0x0f) * 4;
        if ihl < HEADER_LEN {
            return Err(Error::Malformed);
        }
        if b.len() < ihl {
            return Err(Error::Truncated);
        }
        let total = usize::from(u16::from_be_bytes([b[2], b[3]]));
        if total < ihl {
            return Err(Error::Malformed);
        }
        Ok(Packet { buffer })
    }

    pub fn header_len(&self) -> usize {
        usize::from(self.buffer.as_ref()[0] & 0x0f) * 4
    }

    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    pub fn total_len(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[2], b[3]])
    }

    pub fn ident(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[4], b[5]])
    }

    /// Flags and fragment offset as one field.
    pub fn frag_field(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[6], b[7]])
    }

    pub fn ttl(&self) -> u8 {
        self.buffer.as_ref()[8]
    }

    pub fn protocol(&self) -> u8 {
        self.buffer.as_ref()[9]
    }

    pub fn header_checksum(&self) -> u16 {
        let b = self.buffer.as_ref();
        u16::from_be_bytes([b[10], b[11]])
    }

    pub fn src(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[12], b[13], b[14], b[15])
    }

    pub fn dst(&self) -> Ipv4Addr {
        let b = self.buffer.as_ref();
        Ipv4Addr::new(b[16], b[17], b[18], b[19])
    }

    pub fn verify_checksum(&self) -> bool {
        checksum::of(&self.buffer.as_ref()[..self.header_len()]) == 0
    }

    /// The bytes after the header, up to the smaller of total length and buffer length.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.total_len()).min(b.len());
        &b[self.header_len().min(end)..end]
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }
}

/// The meaning of an IPv4 header without options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub src: Ipv4Addr,
    pub dst: Ipv4Addr,
    pub protocol: u8,
    pub ttl: u8,
    pub tos: u8,
    pub ident: u16,
    /// Flags and fragment offset (keepalived sends 0: DF not set).
    pub frag_field: u16,
    pub payload_len: usize,
}

impl Repr {
    /// Reads a header. Options are allowed and skipped; a bad header checksum is an error.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>) -> Result<Repr> {
        if !packet.verify_checksum() {
            return Err(Error::Checksum);
        }
        Ok(Repr {
            src: packet.src(),
            dst: packet.dst(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            tos: packet.tos(),
            ident: packet.ident(),
            frag_field: packet.frag_field(),
            payload_len: usize::from(packet.total_len()) - packet.header_len(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// Writes the 20-byte header with its checksum into `buf[..20]`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let total = u16::try_from(HEADER_LEN + self.payload_len).map_err(|_| Error::Malformed)?;
        let h = &mut buf[..HEADER_LEN];
        h[0] = 0x45;
        h[1] = self.tos;
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h[4..6].copy_from_slice(&self.ident.to_be_bytes());
        h[6..8].copy_from_slice(&self.frag_field.to_be_bytes());
        h[8] = self.ttl;
        h[9] = self.protocol;
        h[10..12].copy_from_slice(&[0, 0]);
        h[12..16].copy_from_slice(&self.src.octets());
        h[16..20].copy_from_slice(&self.dst.octets());
        let c = checksum::of(h);
        h[10..12].copy_from_slice(&c.to_be_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emit_then_parse_round_trips() {
        let repr = Repr {
            src: Ipv4Addr::new(192, 0, 2, 1),
            dst: Ipv4Addr::new(224, 0, 0, 18),
            protocol: 112,
            ttl: 255,
            tos: TOS_INTERNET_CONTROL,
            ident: 0x1234,
            frag_field: 0,
            payload_len: 20,
        };
        let mut buf = [0u8; 40];
        repr.emit(&mut buf).unwrap();
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&packet).unwrap(), repr);
        assert_eq!(packet.payload().len(), 20);
    }

    #[test]
    fn rejects_short_wrong_version_and_bad_checksum() {
        assert_eq!(
            Packet::new_checked(&[0x45u8; 10][..]).unwrap_err(),
            Error::Truncated
        );
        let mut buf = [0u8; 20];
        buf[0] = 0x65;
        assert_eq!(Packet::new_checked(&buf[..]).unwrap_err(), Error::Malformed);
        buf[0] = 0x45;
        buf[3] = 20;
        let packet = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(Repr::parse(&packet).unwrap_err(), Error::Checksum);
    }
}
