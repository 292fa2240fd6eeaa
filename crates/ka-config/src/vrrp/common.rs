//! Helpers every VRRP block parser shares: keepalived's value blocks, its number readers
//! applied to single words, its interface lookup and its address readers
//! (`inet_stosockaddr`, `parse_ipaddress`), with keepalived's messages.

use crate::cx::{parse_decimal, parse_int, parse_unsigned, Cx};
use crate::diag::{Class, Diagnostic, Span};
use crate::syntax::{Statement, Word};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::globals::VrrpGlobals;
use super::ParseState;

/// Longest interface name the kernel accepts: `IFNAMSIZ` (16) less the terminating NUL.
pub const IFNAMSIZ: usize = 16;

/// An address family, as keepalived distinguishes IPv4 and IPv6 configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AddressFamily {
    Ipv4,
    Ipv6,
}

impl AddressFamily {
    pub fn of(addr: &IpAddr) -> AddressFamily {
        match addr {
            IpAddr::V4(_) => AddressFamily::Ipv4,
            IpAddr::V6(_) => AddressFamily::Ipv6,
        }
    }

    /// The host prefix length: 32 or 128.
    pub fn max_prefix(self) -> u8 {
        match self {
            AddressFamily::Ipv4 => 32,
            AddressFamily::Ipv6 => 128,
        }
    }

    /// 4 or 6, as keepalived prints "IPv%d".
    pub fn number(self) -> u8 {
        match self {
            AddressFamily::Ipv4 => 4,
            AddressFamily::Ipv6 => 6,
        }
    }
}

/// keepalived's general configuration error (`CONFIG_GENERAL_ERROR`), placed at `span`.
pub(crate) fn general<'c>(
    cx: &'c mut Cx<'_>,
    code: &'static str,
    span: &Span,
    message: impl Into<String>,
) -> &'c mut Diagnostic {
    cx.report(Class::General, code, span, message)
}

/// Reports a number keepalived's reader refused, with the reader's own message.
fn number_error(cx: &mut Cx<'_>, span: &Span, text: &str, message: String, expected: &str) {
    cx.report(Class::InvalidNumber, "invalid-number", span, message)
        .with_token_mut(text)
        .help = Some(format!("expected {expected}"));
}

/// keepalived's `read_unsigned` on the text of one word (as `-t` runs it: no leniency).
pub(crate) fn read_unsigned(cx: &mut Cx<'_>, word: &Word, min: u32, max: u32) -> Option<u32> {
    read_unsigned_text(cx, &word.span, &word.text, min, max)
}

/// keepalived's `read_unsigned` on part of a word (e.g. the text after a `/`).
pub(crate) fn read_unsigned_text(
    cx: &mut Cx<'_>,
    span: &Span,
    text: &str,
    min: u32,
    max: u32,
) -> Option<u32> {
    match parse_unsigned(text, min, max) {
        Ok(v) => Some(v),
        Err(msg) => {
            number_error(
                cx,
                span,
                text,
                msg,
                &format!("a whole number from {min} to {max}"),
            );
            None
        }
    }
}

/// keepalived's `read_int` on one word.
pub(crate) fn read_int(cx: &mut Cx<'_>, word: &Word, min: i32, max: i32) -> Option<i32> {
    match parse_int(&word.text, min, max) {
        Ok(v) => Some(v),
        Err(msg) => {
            number_error(
                cx,
                &word.span,
                &word.text,
                msg,
                &format!("a whole number from {min} to {max}"),
            );
            None
        }
    }
}

/// What C's `strtol` makes of a word keepalived then stores even when `read_int` complained
/// (`vrrp_script` `weight` keeps it): the leading number, 0 if there is none, saturated.
pub(crate) fn strtol_prefix(text: &str) -> i64 {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = body.chars().take_while(|c| c.is_ascii_digit()).collect();
    let magnitude = digits
        .parse::<i64>()
        .unwrap_or(if digits.is_empty() { 0 } else { i64::MAX });
    if neg {
        -magnitude
    } else {
        magnitude
    }
}

/// keepalived's `read_decimal_unsigned` on one word: value × 10^shift. Its quirks (rounding
/// extra decimals, keeping an in-range prefix before junk) are those of [`parse_decimal`].
pub(crate) fn read_decimal(cx: &mut Cx<'_>, word: &Word, min: u64, max: u64, shift: u32) -> Option<u64> {
    let outcome = parse_decimal(&word.text, min, max, shift);
    let expected = format!(
        "a number from {} to {}",
        crate::cx::format_fixed(min, shift),
        crate::cx::format_fixed(max, shift)
    );
    for msg in outcome.messages {
        number_error(cx, &word.span, &word.text, msg, &expected);
    }
    outcome.value
}

/// The lines of a keepalived value block (`virtual_ipaddress { ... }`, `track_script { ... }`):
/// every line inside the braces, in order. Words after the keyword on the header line are
/// reported as keepalived does ("Block %s has extra parameters %s ...") and otherwise ignored.
pub(crate) fn value_lines<'s>(cx: &mut Cx<'_>, stmt: &'s Statement) -> Vec<&'s Statement> {
    if let Some(extra) = stmt.words.get(1) {
        let kw = stmt.keyword().to_string();
        let text = extra.text.clone();
        general(
            cx,
            "block-extra-parameters",
            &extra.span,
            format!("Block {kw} has extra parameters {text} ..."),
        )
        .with_token_mut(&text)
        .help = Some(format!(
            "put the entries of '{kw}' on their own lines inside '{{ }}'"
        ));
    }
    let Some(block) = &stmt.block else {
        // keepalived only logs this, then takes the following lines as the block's contents.
        let kw = stmt.keyword().to_string();
        cx.report(
            Class::Info,
            "value-block-missing-open-brace",
            &stmt.end_span(),
            format!("'{{' missing from beginning of block {kw}"),
        )
        .help = Some(format!(
            "write '{kw} {{' with the entries on the following lines; keepalived would read the \
             next lines up to a '}}' as the block"
        ));
        return Vec::new();
    };
    let mut lines = Vec::with_capacity(block.statements.len());
    for line in &block.statements {
        // A '{' inside a value block is not a block to keepalived; we ignore what it holds.
        cx.no_block(line);
        lines.push(line);
    }
    lines
}

/// Where keepalived is when it has read a whole value block: its closing brace (or the
/// keyword when there is no block).
pub(crate) fn value_block_end(stmt: &Statement) -> Span {
    stmt.block
        .as_ref()
        .map_or_else(|| stmt.span().clone(), |b| b.end_span().clone())
}

/// keepalived's `read_value_block`: every word of every line of the block, flattened.
pub(crate) fn value_words<'s>(cx: &mut Cx<'_>, stmt: &'s Statement) -> Vec<&'s Word> {
    value_lines(cx, stmt)
        .into_iter()
        .flat_map(|line| line.words.iter())
        .collect()
}

/// The result of keepalived's interface lookup in its `IF_CREATE_IF_DYNAMIC` mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IfLookup {
    /// The interface exists, interfaces are not checked here, or `dynamic_interfaces` lets
    /// keepalived wait for it.
    Found,
    /// It does not exist: the caller reports its own message, and the configuration as a
    /// whole is refused after parsing ("Non-existent interface specified in configuration").
    Missing,
}

/// keepalived's `if_get_by_ifname(name, IF_CREATE_IF_DYNAMIC)`.
pub(crate) fn lookup_interface(
    cx: &mut Cx<'_>,
    state: &mut ParseState,
    globals: &VrrpGlobals,
    name: &str,
    span: &Span,
) -> IfLookup {
    match cx.host.interface_exists(name) {
        None | Some(true) => IfLookup::Found,
        Some(false) if globals.dynamic_interfaces => {
            cx.report(
                Class::Info,
                "interface-will-be-created",
                span,
                format!(
                    "Configuration specifies interface {name} which doesn't currently exist - will use if created"
                ),
            );
            IfLookup::Found
        }
        Some(false) => {
            state.nonexistent_interface = true;
            if state.first_missing_interface.is_none() {
                state.first_missing_interface = Some(span.clone());
            }
            IfLookup::Missing
        }
    }
}

/// C's `inet_pton` for the family keepalived guesses from the text (IPv6 if it has a ':').
pub(crate) fn inet_pton(text: &str) -> Option<IpAddr> {
    if text.contains(':') {
        // inet_pton refuses zone indexes and anything but the address itself.
        text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        parse_ipv4(text).map(IpAddr::V4)
    }
}

/// `inet_pton(AF_INET, ...)`: exactly four dotted decimal parts, no leading zeros.
pub(crate) fn parse_ipv4(text: &str) -> Option<Ipv4Addr> {
    text.parse::<Ipv4Addr>().ok()
}

/// keepalived's `inet_stosockaddr` without a port: anything from the first '-' or '/' on is
/// dropped (ranges and masks), the rest must be an address.
pub(crate) fn inet_stosockaddr(text: &str) -> Option<IpAddr> {
    let cut = text.find('-').or_else(|| text.find('/')).unwrap_or(text.len());
    let family_v6 = text.contains(':');
    let head = &text[..cut];
    if family_v6 {
        head.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        parse_ipv4(head).map(IpAddr::V4)
    }
}

/// An address with its prefix length, as keepalived's `parse_ipaddress` reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Prefixed {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

/// keepalived's `parse_ipaddress(str, allow_prefix)`, with its messages. On a bad address it
/// reports "VRRP parsed invalid IP %s. skipping IP..." and gives None.
pub(crate) fn parse_ipaddress(cx: &mut Cx<'_>, word: &Word, allow_prefix: bool) -> Option<Prefixed> {
    let text = word.text.as_str();
    let v6 = text.contains(':');
    let mut prefix_len: u8 = if v6 { 128 } else { 32 };
    let mut addr_text = text;
    if allow_prefix {
        if let Some(slash) = text.find('/') {
            let len_text = &text[slash + 1..];
            match read_unsigned_text(cx, &word.span, len_text, 0, u32::from(prefix_len)) {
                Some(v) => prefix_len = v as u8,
                None => {
                    general(
                        cx,
                        "invalid-prefix-length",
                        &word.span,
                        format!(
                            "Invalid address prefix len {len_text} for address {text} - using {prefix_len}"
                        ),
                    )
                    .with_token_mut(text)
                    .help = Some(format!("a prefix length is 0 to {prefix_len}"));
                }
            }
            addr_text = &text[..slash];
        }
    }
    let parsed = if v6 {
        addr_text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        parse_ipv4(addr_text).map(IpAddr::V4)
    };
    match parsed {
        Some(addr) => Some(Prefixed { addr, prefix_len }),
        None => {
            general(
                cx,
                "invalid-ip-address",
                &word.span,
                format!("VRRP parsed invalid IP {text}. skipping IP..."),
            )
            .with_token_mut(text)
            .help = Some(if allow_prefix {
                "expected an IPv4 or IPv6 address, optionally with /PREFIXLEN".into()
            } else {
                "expected an IPv4 or IPv6 address (no /PREFIXLEN here)".into()
            });
            None
        }
    }
}

/// A valid interface name for keepalived's VMAC/ipvlan names: 1 to 15 characters, not `.` or
/// `..`, no '/', ':' or white space.
pub(crate) fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() < IFNAMSIZ
        && name != "."
        && name != ".."
        && !name.chars().any(|c| c == '/' || c == ':' || c.is_whitespace())
}

/// "1.500000": a microsecond value printed as C's `%f` prints seconds.
pub(crate) fn secs_f(us: u64) -> String {
    format!("{}.{:06}", us / 1_000_000, us % 1_000_000)
}

/// "1.50": a microsecond value printed as C's `%.2f` prints seconds (round half to even is
/// irrelevant here: the values printed are whole centiseconds or come from whole µs).
pub(crate) fn secs_2f(us: u64) -> String {
    let cs = (us + 5_000) / 10_000;
    format!("{}.{:02}", cs / 100, cs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stosockaddr_drops_ranges_and_masks() {
        assert_eq!(inet_stosockaddr("10.0.0.1/24"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(inet_stosockaddr("10.0.0.1-5"), Some("10.0.0.1".parse().unwrap()));
        assert_eq!(inet_stosockaddr("fe80::1"), Some("fe80::1".parse().unwrap()));
        assert_eq!(inet_stosockaddr("10.0.0"), None);
        assert_eq!(inet_stosockaddr("fe80::1%eth0"), None);
    }

    #[test]
    fn strtol_prefix_is_what_c_stores() {
        assert_eq!(strtol_prefix("300"), 300);
        assert_eq!(strtol_prefix("abc"), 0);
        assert_eq!(strtol_prefix("-12x"), -12);
    }

    #[test]
    fn c_float_formats() {
        assert_eq!(secs_f(1_500_000), "1.500000");
        assert_eq!(secs_2f(41_000_000), "41.00");
        assert_eq!(secs_2f(40_950_000), "40.95");
    }

    #[test]
    fn vmac_names() {
        assert!(valid_ifname("vrrp.51"));
        assert!(!valid_ifname("a/b"));
        assert!(!valid_ifname("0123456789abcdef"));
        assert!(!valid_ifname(".."));
    }
}
