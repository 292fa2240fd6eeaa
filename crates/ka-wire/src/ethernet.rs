//! Ethernet II framing for the frames we send through AF_PACKET (gratuitous ARP,
//! unsolicited neighbour advertisements) and read from captures.

use crate::{Error, MacAddr, Result};

pub const HEADER_LEN: usize = 14;
pub const ETHERTYPE_IPV4: u16 = 0x0800;
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Repr {
    pub dst: MacAddr,
    pub src: MacAddr,
    pub ethertype: u16,
}

impl Repr {
    pub fn parse(frame: &[u8]) -> Result<(Repr, &[u8])> {
        if frame.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        let mut dst = [0u8; 6];
        let mut src = [0u8; 6];
        dst.copy_from_slice(&frame[0..6]);
        src.copy_from_slice(&frame[6..12]);
        let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
        Ok((
            Repr {
                dst: MacAddr(dst),
                src: MacAddr(src),
                ethertype,
            },
            &frame[HEADER_LEN..],
        ))
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        if buf.len() < HEADER_LEN {
            return Err(Error::Truncated);
        }
        buf[0..6].copy_from_slice(&self.dst.0);
        buf[6..12].copy_from_slice(&self.src.0);
        buf[12..14].copy_from_slice(&self.ethertype.to_be_bytes());
        Ok(())
    }
}
