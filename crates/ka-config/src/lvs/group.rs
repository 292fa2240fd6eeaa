//! `virtual_server_group NAME { entries }`: addresses, ranges, CIDR blocks and firewall marks
//! that a `virtual_server group NAME` serves together (keepalived's `alloc_vsg_entry`).

use super::addr::{self, Family};
use super::{code, read, LvsConfig};
use crate::cx::{Cx, MISSING_PARAMETER_ABORT};
use crate::diag::{Class, Span};
use crate::syntax::Statement;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Debug, Serialize)]
pub struct VirtualServerGroup {
    #[serde(skip)]
    pub span: Option<Span>,
    pub name: String,
    /// Address entries (single addresses are ranges with start == end), in order.
    pub addresses: Vec<VsgAddrRange>,
    /// `fwmark N [inet|inet6]` entries, in order.
    pub fwmarks: Vec<VsgFwmark>,
    /// The group has IPv4 entries (an address, or a fwmark with `inet`).
    pub have_ipv4: bool,
    /// The group has IPv6 entries (an address, or a fwmark with `inet6`).
    pub have_ipv6: bool,
    /// The group has a fwmark without a family.
    pub fwmark_no_family: bool,
}

impl VirtualServerGroup {
    /// The family a virtual server using this group gets from it: known only if the group has
    /// exactly one of IPv4 and IPv6.
    pub fn family(&self) -> Option<Family> {
        match (self.have_ipv4, self.have_ipv6) {
            (true, false) => Some(Family::Inet),
            (false, true) => Some(Family::Inet6),
            _ => None,
        }
    }
}

/// An address, range (`a.b.c.d-e`, `a-b`) or CIDR block, with its port (0: none).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VsgAddrRange {
    pub start: IpAddr,
    pub end: IpAddr,
    pub port: u16,
}

impl VsgAddrRange {
    /// keepalived's `format_vsge`: `start-end,port` or `addr,port`.
    pub fn describe(&self) -> String {
        if self.start == self.end {
            format!("{},{}", self.start, self.port)
        } else {
            format!("{}-{},{}", self.start, self.end, self.port)
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VsgFwmark {
    pub fwmark: u32,
    /// `inet` / `inet6`; None when not given.
    pub family: Option<Family>,
}

pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement, lvs: &mut LvsConfig) {
    let Some(name) = read::text(cx, stmt, 1) else {
        return;
    };
    if let Some(extra) = stmt.words.get(2) {
        // keepalived 2.2.7 means to say this, but dereferences a NULL word and aborts with its
        // missing-parameter message (exit 2); we keep the exit status and say what is wrong.
        let rest: Vec<&str> = stmt.words[2..].iter().map(|w| w.text.as_str()).collect();
        let text = extra.text.clone();
        cx.report(
            Class::MissingParameter,
            MISSING_PARAMETER_ABORT,
            &extra.span,
            format!("Block virtual_server_group has extra parameters {} ...", rest.join(" ")),
        )
        .with_token_mut(&text)
        .help = Some(
            "write only 'virtual_server_group NAME {' (keepalived 2.2.7 stops reading the configuration here)"
                .into(),
        );
    }
    let mut group = VirtualServerGroup {
        span: Some(stmt.span().clone()),
        name,
        addresses: Vec::new(),
        fwmarks: Vec::new(),
        have_ipv4: false,
        have_ipv6: false,
        fwmark_no_family: false,
    };
    let Some(block) = cx.block(stmt) else {
        return;
    };
    for entry in &block.statements {
        cx.no_block(entry);
        if entry.keyword() == "fwmark" {
            parse_fwmark(cx, entry, &mut group);
        } else {
            parse_address(cx, entry, &mut group);
        }
    }
    let end = block.end_span().clone();
    if group.addresses.is_empty() && group.fwmarks.is_empty() {
        let msg = format!("virtual server group {} has no entries - removing", group.name);
        read::error(
            cx,
            code::REMOVED,
            &end,
            msg,
            "list addresses, ranges or 'fwmark N' lines",
        );
        return;
    }
    if group.have_ipv4 && group.have_ipv6 && group.fwmark_no_family {
        let msg = format!(
            "virtual server group {} cannot have IPv4, IPv6 and fwmark without family - removing",
            group.name
        );
        read::error(
            cx,
            code::REMOVED,
            &end,
            msg,
            "give the fwmark a family: 'fwmark N inet' or 'fwmark N inet6'",
        );
        return;
    }
    lvs.virtual_server_groups.push(group);
}

/// `fwmark N [inet|inet6]`.
fn parse_fwmark(cx: &mut Cx<'_>, entry: &Statement, group: &mut VirtualServerGroup) {
    let gname = group.name.clone();
    let msg = |w: &str| format!("({gname}): fwmark '{w}' must be in [0, 4294967295] - ignoring");
    let Some(fwmark) = read::unsigned_required(cx, entry, 1, 0, u32::MAX, msg) else {
        return;
    };
    let family = match entry.words.get(2).map(|w| w.text.as_str()) {
        None => {
            group.fwmark_no_family = true;
            None
        }
        Some("inet") => {
            group.have_ipv4 = true;
            Some(Family::Inet)
        }
        Some("inet6") => {
            group.have_ipv6 = true;
            Some(Family::Inet6)
        }
        Some(other) => {
            let msg = format!(
                "({}): fwmark '{fwmark}' family {other} unknown - ignoring",
                group.name
            );
            read::error_at_word(cx, entry, 2, msg, "expected inet or inet6");
            return;
        }
    };
    group.fwmarks.push(VsgFwmark { fwmark, family });
}

/// `ADDR [PORT]`, `ADDR-LAST [PORT]`, `ADDR-ENDADDR [PORT]`, `ADDR/LEN [PORT]`.
fn parse_address(cx: &mut Cx<'_>, entry: &Statement, group: &mut VirtualServerGroup) {
    let text = entry.keyword().to_string();
    let port_word = entry.words.get(1).map(|w| w.text.clone());
    let has_port = !addr::is_no_port(port_word.as_deref());
    let port = addr::read_port_word(cx, entry, 1);
    let start = addr::parse_ip(&text);
    let (Ok(port), Some(start)) = (port, start) else {
        let p = port_word.unwrap_or_default();
        let (a, b, c) = if has_port {
            ("/port", "/", p.as_str())
        } else {
            ("", "", "")
        };
        let msg = format!("Invalid virtual server group IP address {text} {a}{b}{c} - skipping");
        read::error(
            cx,
            code::INVALID_ADDRESS,
            entry.span(),
            msg,
            "expected an address, a range or a CIDR block",
        );
        return;
    };
    let skip = |cx: &mut Cx<'_>, msg: String| {
        read::error(
            cx,
            code::INVALID_ADDRESS,
            entry.span(),
            msg,
            "the entry is ignored",
        );
    };
    let end = if let Some(slash) = text.find('/') {
        match cidr_end(&start, &text[slash + 1..]) {
            Ok(end) => end,
            Err(CidrError::Mask) => return skip(cx, format!("Invalid netmask - {text} - skipping")),
            Err(CidrError::HostBits) => {
                return skip(cx, format!("Address mask bits not empty - {text} - skipping"))
            }
        }
    } else if let Some(dash) = text.find('-') {
        let end_text = &text[dash + 1..];
        let full = match start {
            IpAddr::V4(_) => end_text.contains('.'),
            IpAddr::V6(_) => end_text.contains(':'),
        };
        if full {
            let Some(end) = addr::parse_ip(end_text) else {
                return skip(cx, format!("Invalid range end {text} - skipping"));
            };
            if Family::of(&end) != Family::of(&start) {
                return skip(
                    cx,
                    format!("Range address families do not match {text} - skipping"),
                );
            }
            if ip_value(&end) < ip_value(&start) {
                return skip(
                    cx,
                    format!("Address range end is less than address range start - {text} - skipping"),
                );
            }
            end
        } else {
            match short_range_end(cx, entry, &text, &start, end_text) {
                Some(end) => end,
                None => return,
            }
        }
    } else {
        start
    };
    match start {
        IpAddr::V4(_) => group.have_ipv4 = true,
        IpAddr::V6(_) => group.have_ipv6 = true,
    }
    group.addresses.push(VsgAddrRange { start, end, port });
}

enum CidrError {
    Mask,
    HostBits,
}

/// The last address of `start/len`; the host bits of `start` must be zero.
fn cidr_end(start: &IpAddr, mask_text: &str) -> Result<IpAddr, CidrError> {
    let (mask, rest, overflow) = read::strtoul(mask_text, 10);
    let bits: u64 = match start {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    if !rest.is_empty() || overflow || mask == 0 || mask > bits {
        return Err(CidrError::Mask);
    }
    let host_bits = bits - mask;
    let host_mask: u128 = if host_bits == 0 {
        0
    } else {
        (1u128 << host_bits) - 1
    };
    let value = ip_value(start);
    if value & host_mask != 0 {
        return Err(CidrError::HostBits);
    }
    Ok(ip_from_value(start, value | host_mask))
}

/// `a.b.c.d-N` (decimal, replaces the last octet) or `x::y-N` (hex, replaces the last group),
/// keepalived's `inet_stor`. We read as `keepalived -t` does: trailing junk drops the entry.
fn short_range_end(
    cx: &mut Cx<'_>,
    entry: &Statement,
    text: &str,
    start: &IpAddr,
    end_text: &str,
) -> Option<IpAddr> {
    let (radix, max, last) = match start {
        IpAddr::V4(v4) => (10, 255u64, u64::from(v4.octets()[3])),
        IpAddr::V6(v6) => (16, 0xffffu64, u64::from(v6.segments()[7])),
    };
    let (value, rest, overflow) = read::strtoul(end_text, radix);
    if !rest.is_empty() {
        cx.report(
            Class::InvalidNumber,
            "invalid-number",
            entry.span(),
            format!("Virtual server group range '{text}' has extra characters at end '{rest}'"),
        )
        .help = Some(format!(
            "the end of a short range is a {} number; keepalived -t drops the entry",
            if radix == 10 { "decimal" } else { "hexadecimal" }
        ));
        return None;
    }
    if overflow || value > max {
        cx.report(
            Class::InvalidNumber,
            "invalid-number",
            entry.span(),
            format!("Virtual server group range '{text}' end '{end_text}' too large"),
        )
        .help = Some(format!(
            "the end of a short range replaces the last part of the address (at most {max})"
        ));
        return None;
    }
    if last >= value {
        let msg = format!("Address range end is not greater than address range start - {text} - skipping");
        read::error(
            cx,
            code::INVALID_ADDRESS,
            entry.span(),
            msg,
            "the end must be greater than the start",
        );
        return None;
    }
    Some(match start {
        IpAddr::V4(v4) => {
            let mut o = v4.octets();
            o[3] = u8::try_from(value).unwrap_or(u8::MAX);
            IpAddr::V4(Ipv4Addr::from(o))
        }
        IpAddr::V6(v6) => {
            let mut s = v6.segments();
            s[7] = u16::try_from(value).unwrap_or(u16::MAX);
            IpAddr::V6(Ipv6Addr::from(s))
        }
    })
}

fn ip_value(ip: &IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(*v4)),
        IpAddr::V6(v6) => u128::from(*v6),
    }
}

fn ip_from_value(like: &IpAddr, value: u128) -> IpAddr {
    match like {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(u32::try_from(value).unwrap_or(u32::MAX))),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::from(value)),
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Diagnostic;

    fn load(body: &str) -> (Vec<super::VirtualServerGroup>, Vec<Diagnostic>) {
        let l = crate::load_str(&format!("virtual_server_group G {{\n{body}\n}}\n"));
        (l.config.lvs.virtual_server_groups, l.diagnostics)
    }

    /// Each entry alone in a group: the range it gives, or keepalived's message.
    #[test]
    fn entries_read_like_keepalived() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("192.168.200.3-10 80", Ok("192.168.200.3-192.168.200.10,80")),
            (
                "192.168.200.250-192.168.201.10 80",
                Ok("192.168.200.250-192.168.201.10,80"),
            ),
            ("192.168.202.8/29 80", Ok("192.168.202.8-192.168.202.15,80")),
            ("10.0.0.1/32", Ok("10.0.0.1,0")),
            ("ae00::2-9 80", Ok("ae00::2-ae00::9,80")),
            ("ae00::1-10", Ok("ae00::1-ae00::10,0")),
            ("ae00::/120", Ok("ae00::-ae00::ff,0")),
            ("10.1.1.1 0080", Ok("10.1.1.1,80")),
            ("10.1.1.1 000", Ok("10.1.1.1,0")),
            (
                "192.168.200.10-3 80",
                Err(
                    "Address range end is not greater than address range start - 192.168.200.10-3 - skipping",
                ),
            ),
            (
                "192.168.200.5-5",
                Err("Address range end is not greater than address range start - 192.168.200.5-5 - skipping"),
            ),
            (
                "192.168.200.3-300",
                Err("Virtual server group range '192.168.200.3-300' end '300' too large"),
            ),
            (
                "ae00::1-10000",
                Err("Virtual server group range 'ae00::1-10000' end '10000' too large"),
            ),
            (
                "192.168.200.3-9x",
                Err("Virtual server group range '192.168.200.3-9x' has extra characters at end 'x'"),
            ),
            (
                "192.168.202.9/29",
                Err("Address mask bits not empty - 192.168.202.9/29 - skipping"),
            ),
            (
                "ae00::1/120",
                Err("Address mask bits not empty - ae00::1/120 - skipping"),
            ),
            ("10.0.0.0/33", Err("Invalid netmask - 10.0.0.0/33 - skipping")),
            ("10.0.0.0/0", Err("Invalid netmask - 10.0.0.0/0 - skipping")),
            (
                "10.0.0.9-10.0.0.1",
                Err("Address range end is less than address range start - 10.0.0.9-10.0.0.1 - skipping"),
            ),
            (
                "10.0.0.1-10.0.0.x",
                Err("Invalid range end 10.0.0.1-10.0.0.x - skipping"),
            ),
            (
                "bogus 80",
                Err("Invalid virtual server group IP address bogus /port/80 - skipping"),
            ),
            (
                "bogus",
                Err("Invalid virtual server group IP address bogus  - skipping"),
            ),
        ];
        for (entry, want) in cases {
            let (groups, diags) = load(&format!("{entry}\n10.9.9.9 1"));
            // The second entry (port 1) keeps the group alive when the first is rejected.
            let first = groups
                .first()
                .and_then(|g| g.addresses.iter().find(|a| a.port != 1));
            match want {
                Ok(range) => {
                    assert_eq!(
                        first.map(|a| a.describe()).as_deref(),
                        Some(*range),
                        "{entry}: {diags:?}"
                    );
                    assert!(diags.is_empty(), "{entry}: {diags:?}");
                }
                Err(msg) => {
                    assert!(first.is_none(), "{entry}");
                    assert!(diags.iter().any(|d| d.message == *msg), "{entry}: {diags:?}");
                    assert_eq!(
                        diags[0].span.as_ref().map(|s| (s.line, s.column)),
                        Some((2, 1)),
                        "{entry}"
                    );
                }
            }
        }
    }

    #[test]
    fn fwmark_entries_and_end_checks() {
        let (g, d) = load("fwmark 3\nfwmark 4 inet6");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(g[0].fwmarks.len(), 2);
        assert!(g[0].fwmark_no_family && g[0].have_ipv6 && !g[0].have_ipv4);

        let (g, d) = load("fwmark 3 ipx");
        assert!(g.is_empty());
        assert_eq!(d[0].message, "(G): fwmark '3' family ipx unknown - ignoring");
        assert_eq!(d[1].message, "virtual server group G has no entries - removing");
        // Reported at the closing brace, as keepalived does.
        assert_eq!(d[1].span.as_ref().map(|s| s.line), Some(3));

        let (g, d) = load("10.0.0.1 80\nae00::1 80\nfwmark 1");
        assert!(g.is_empty());
        assert_eq!(
            d[0].message,
            "virtual server group G cannot have IPv4, IPv6 and fwmark without family - removing"
        );

        let (_, d) = load("fwmark 4294967296");
        assert_eq!(d[0].message, "number '4294967296' outside unsigned integer range");
        assert_eq!(
            d[1].message,
            "(G): fwmark '4294967296' must be in [0, 4294967295] - ignoring"
        );
    }

    #[test]
    fn extra_header_word_aborts_like_keepalived() {
        let l = crate::load_str("virtual_server_group G extra {\n10.0.0.1 80\n}\n");
        assert_eq!(l.test_exit_code(), 2);
        assert_eq!(
            l.diagnostics[0].message,
            "Block virtual_server_group has extra parameters extra ..."
        );
    }
}
