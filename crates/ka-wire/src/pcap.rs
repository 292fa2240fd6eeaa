//! A minimal pcap (libpcap classic format) writer and reader, so tests can hand frames we
//! encoded to tshark and read frames that tcpdump captured from keepalived.

use crate::{Error, Result};

/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;
/// LINKTYPE_RAW: each record is an IPv4 or IPv6 packet.
pub const LINKTYPE_RAW: u32 = 101;

/// Starts a pcap file for the given link type.
pub fn header(linktype: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&65535u32.to_le_bytes());
    out.extend_from_slice(&linktype.to_le_bytes());
    out
}

/// Appends one record with a timestamp in microseconds.
pub fn push_record(out: &mut Vec<u8>, micros: u64, data: &[u8]) {
    let len = u32::try_from(data.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&((micros / 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&((micros % 1_000_000) as u32).to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(data);
}

/// One record of a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub micros: u64,
    pub data: Vec<u8>,
}

/// Reads a classic pcap file (either byte order, micro- or nanosecond timestamps).
/// Returns the link type and the records.
pub fn read(bytes: &[u8]) -> Result<(u32, Vec<Record>)> {
    if bytes.len() < 24 {
        return Err(Error::Truncated);
    }
    let magic = [bytes[0], bytes[1], bytes[2], bytes[3]];
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => return Err(Error::Malformed),
    };
    let u32_at = |at: usize| -> u32 {
        let b = [bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]];
        if le {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        }
    };
    let linktype = u32_at(20);
    let mut records = Vec::new();
    let mut at = 24;
    while at < bytes.len() {
        if at + 16 > bytes.len() {
            return Err(Error::Truncated);
        }
        let secs = u64::from(u32_at(at));
        let frac = u64::from(u32_at(at + 4));
        let incl = u32_at(at + 8) as usize;
        let start = at + 16;
        let end = start.checked_add(incl).ok_or(Error::Malformed)?;
        if end > bytes.len() {
            return Err(Error::Truncated);
        }
        let micros = secs * 1_000_000 + if nanos { frac / 1000 } else { frac };
        records.push(Record {
            micros,
            data: bytes[start..end].to_vec(),
        });
        at = end;
    }
    Ok((linktype, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read() {
        let mut file = header(LINKTYPE_ETHERNET);
        push_record(&mut file, 1_500_000, &[1, 2, 3]);
        push_record(&mut file, 2_000_001, &[4]);
        let (lt, recs) = read(&file).unwrap();
        assert_eq!(lt, LINKTYPE_ETHERNET);
        assert_eq!(
            recs,
            vec![
                Record {
                    micros: 1_500_000,
                    data: vec![1, 2, 3]
                },
                Record {
                    micros: 2_000_001,
                    data: vec![4]
                }
            ]
        );
        assert_eq!(read(&file[..file.len() - 1]).unwrap_err(), Error::Truncated);
    }
}
