//! Addresses and ports as keepalived's checker reads them (`inet_stosockaddr` in lib/utils.c),
//! and servers as keepalived prints them in messages (`FMT_VS`, `FMT_RS`).

use crate::cx::Cx;
use crate::syntax::Statement;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An address family, named as the `ip_family` keyword names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    pub fn of(ip: &IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// The family keepalived guesses from the text: IPv6 if it contains ':'.
    pub fn guess(text: &str) -> Family {
        if text.contains(':') {
            Family::Inet6
        } else {
            Family::Inet
        }
    }

    pub fn keyword(self) -> &'static str {
        match self {
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        }
    }
}

/// The address part of keepalived's `inet_stosockaddr`: the family comes from the presence of
/// ':', anything from the first '-' or '/' on is silently dropped (so ranges and masks are
/// accepted where a single address is meant), and the rest must be a numeric address.
pub fn parse_ip(text: &str) -> Option<IpAddr> {
    let cut = text.find(['-', '/']).unwrap_or(text.len());
    let bare = &text[..cut];
    match Family::guess(text) {
        Family::Inet6 => bare.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        Family::Inet => bare.parse::<Ipv4Addr>().ok().map(IpAddr::V4),
    }
}

/// The port word of `virtual_server`, `real_server`, `sorry_server` and group entries: a word
/// made only of '0's (or no word) means "no port"; that is what keepalived does since 2.0.7.
pub fn is_no_port(word: Option<&str>) -> bool {
    word.is_none_or(|w| w.chars().all(|c| c == '0'))
}

/// Reads the port word `index` of `stmt` the way `inet_stosockaddr` does: 0 when absent or all
/// zeros, otherwise a number from 1 to 65535 (the number reader reports what is wrong).
/// Err(()) when the word is not a valid port.
pub(crate) fn read_port_word(cx: &mut Cx<'_>, stmt: &Statement, index: usize) -> Result<u16, ()> {
    let word = stmt.words.get(index).map(|w| w.text.as_str());
    if is_no_port(word) {
        return Ok(0);
    }
    match cx.unsigned(stmt, index, 1, 65535) {
        Some(p) => u16::try_from(p).map_err(|_| ()),
        None => Err(()),
    }
}

/// True for an IPv6 link-local address (fe80::/10), which keepalived's checkers can only reach
/// through a `bind_if`.
pub fn is_ipv6_link_local(ip: &IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if (v6.segments()[0] & 0xffc0) == 0xfe80)
}

/// keepalived's `inet_sockaddrtotrio`: `[ip]:proto:port`, proto being `tcp`, `udp`, `sctp` or
/// `none`. An unset address (virtual_server fwmark 0) prints as `[]`; keepalived prints garbage.
pub fn trio(ip: Option<&IpAddr>, proto: &str, port: u16) -> String {
    match ip {
        Some(ip) => format!("[{ip}]:{proto}:{port}"),
        None => format!("[]:{proto}:{port}"),
    }
}

/// glibc's `inet_aton` as `getaddrinfo(AI_NUMERICHOST)` uses it (exact: no trailing text):
/// one to four parts, each decimal, octal (leading 0) or hex (0x); the last part fills the
/// remaining bytes. So `24` is 0.0.0.24 and `255.255.255` is 255.255.0.255.
pub fn inet_aton(text: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = text.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut values = Vec::with_capacity(parts.len());
    for part in &parts {
        values.push(aton_part(part)?);
    }
    let (last, leading) = values.split_last()?;
    let mut addr: u64 = 0;
    for (i, v) in leading.iter().enumerate() {
        if *v > 255 {
            return None;
        }
        addr |= v << (24 - 8 * i);
    }
    let last_bits = 8 * (4 - leading.len() as u32);
    if last_bits < 64 && *last >= (1u64 << last_bits) {
        return None;
    }
    addr |= last;
    u32::try_from(addr).ok().map(Ipv4Addr::from)
}

fn aton_part(part: &str) -> Option<u64> {
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if part.is_empty() || (radix == 16 && digits.is_empty()) {
        // "0x" alone is 0 in glibc; an empty part is invalid.
        return if radix == 16 { Some(0) } else { None };
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Anything above u32 is out of range for every part anyway.
    u64::from_str_radix(digits, radix)
        .ok()
        .filter(|v| *v <= u64::from(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_like_inet_stosockaddr() {
        let cases: &[(&str, Option<&str>)] = &[
            ("10.0.0.1", Some("10.0.0.1")),
            ("10.0.0.1-5", Some("10.0.0.1")),
            ("10.0.0.2/24", Some("10.0.0.2")),
            ("fe80::1", Some("fe80::1")),
            ("ae00::2-9", Some("ae00::2")),
            ("1.2.3", None),
            ("host.example", None),
            ("fe80::1%eth0", None),
            ("", None),
            ("01.2.3.4", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_ip(text).map(|ip| ip.to_string()),
                want.map(str::to_string),
                "{text}"
            );
        }
    }

    #[test]
    fn zero_ports_mean_no_port() {
        assert!(is_no_port(None));
        assert!(is_no_port(Some("0")));
        assert!(is_no_port(Some("000")));
        assert!(!is_no_port(Some("0080")));
    }

    #[test]
    fn inet_aton_short_forms() {
        let cases: &[(&str, Option<[u8; 4]>)] = &[
            ("255.255.255.0", Some([255, 255, 255, 0])),
            ("24", Some([0, 0, 0, 24])),
            ("255.255.255", Some([255, 255, 0, 255])),
            ("0xff.0.0.1", Some([255, 0, 0, 1])),
            ("010.0.0.1", Some([8, 0, 0, 1])),
            ("256.0.0.1", None),
            ("1.2.3.4.5", None),
            ("1..2", None),
            ("09", None),
            ("abc", None),
        ];
        for (text, want) in cases {
            assert_eq!(inet_aton(text).map(|a| a.octets()), *want, "{text}");
        }
    }

    #[test]
    fn link_local_is_fe80_slash_10() {
        assert!(is_ipv6_link_local(&"fe80::1".parse().unwrap()));
        assert!(is_ipv6_link_local(&"febf::1".parse().unwrap()));
        assert!(!is_ipv6_link_local(&"fec0::1".parse().unwrap()));
        assert!(!is_ipv6_link_local(&"10.0.0.1".parse().unwrap()));
    }
}
