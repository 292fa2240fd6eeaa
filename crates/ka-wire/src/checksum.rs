//! The Internet checksum (RFC 1071) and the pseudo-headers VRRP and ICMPv6 put under it.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Adds `data` to a running one's-complement sum of 16-bit big-endian words.
pub fn accumulate(mut sum: u32, data: &[u8]) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for pair in &mut chunks {
        sum = sum.wrapping_add(u32::from(u16::from_be_bytes([pair[0], pair[1]])));
        sum = (sum & 0xffff) + (sum >> 16);
    }
    if let [last] = chunks.remainder() {
        sum = sum.wrapping_add(u32::from(*last) << 8);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum
}

/// Folds a running sum to 16 bits and complements it: the value to store in a checksum field.
pub fn finish(mut sum: u32) -> u16 {
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The checksum of `data` alone (VRRPv2, IPv4 header).
pub fn of(data: &[u8]) -> u16 {
    finish(accumulate(0, data))
}

/// Sum of the IPv4 pseudo-header (RFC 768 layout: source, destination, zero, protocol, length).
pub fn ipv4_pseudo_header(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let mut sum = accumulate(0, &src.octets());
    sum = accumulate(sum, &dst.octets());
    sum = accumulate(sum, &[0, protocol]);
    accumulate(sum, &length.to_be_bytes())
}

/// Sum of the IPv6 pseudo-header (RFC 8200 §8.1).
pub fn ipv6_pseudo_header(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u32 {
    let mut sum = accumulate(0, &src.octets());
    sum = accumulate(sum, &dst.octets());
    sum = accumulate(sum, &length.to_be_bytes());
    accumulate(sum, &[0, 0, 0, next_header])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: the sum of 0001 f203 f4f5 f6f7 is ddf2 (before complement).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(finish(accumulate(0, &data)), !0xddf2);
    }

    #[test]
    fn data_with_its_checksum_sums_to_zero() {
        let mut data = vec![
            0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x00, 0x00, 0xff, 0x70, 0, 0, 10, 0, 0, 1, 224, 0, 0, 18,
        ];
        let c = of(&data);
        data[10..12].copy_from_slice(&c.to_be_bytes());
        assert_eq!(of(&data), 0);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(of(&[0xab]), of(&[0xab, 0x00]));
    }
}
