//! One line of `virtual_routes` or `static_routes`: the `ip route` grammar keepalived accepts
//! (its `alloc_route`), with keepalived's quirks:
//! - `inet`/`inet6` also swallow the word after them (so `inet6 default ...` loses its
//!   destination);
//! - after `to`, a route type is not recognised;
//! - a failing `encap ip`/`encap ip6` option word is read again as a route word;
//! - an error inside a `nexthop` drops only that hop.

use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::syntax::{Statement, Word};
use serde::Serialize;
use std::net::IpAddr;

use super::common::{self, general, AddressFamily, IfLookup, Prefixed};
use super::rt_tables::{self, NameTable};
use super::Env;

/// keepalived's own route protocol number (`RTPROT_KEEPALIVED`), which tracked routes get.
pub const RTPROT_KEEPALIVED: u8 = 18;

/// A destination or source prefix: an address with its length, or `default`/`any`/`all`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RoutePrefix {
    /// None for `default`/`any`/`all` (takes the route's family).
    pub addr: Option<IpAddr>,
    pub prefix_len: u8,
    /// The family, once known.
    pub family: Option<AddressFamily>,
}

/// `encap` on a route or nexthop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Encap {
    Ip {
        id: Option<u64>,
        dst: Option<IpAddr>,
        src: Option<IpAddr>,
        tos: Option<u8>,
        ttl: Option<u8>,
        flags: Option<u16>,
    },
    Ip6 {
        id: Option<u64>,
        dst: Option<IpAddr>,
        src: Option<IpAddr>,
        tc: Option<u8>,
        hoplimit: Option<u8>,
        flags: Option<u16>,
    },
    /// Labels, outermost first.
    Mpls {
        labels: Vec<u32>,
    },
    Ila {
        locator: u64,
    },
}

/// One `nexthop` (or one address of the deprecated `or`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Nexthop {
    /// `via ADDR`.
    pub via: Option<IpAddr>,
    /// `dev IF`.
    pub dev: Option<String>,
    /// `weight N` (1-256), as given.
    pub weight: Option<u32>,
    pub onlink: bool,
    pub encap: Option<Encap>,
    /// `realms FROM/TO` packed as keepalived does (from << 16 | to).
    pub realms: Option<u32>,
}

/// How the route is installed: iproute2's `add`, `append`, or the kernel default `prepend`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RouteMode {
    #[default]
    Prepend,
    Add,
    Append,
}

/// A metric with iproute2's optional `lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Metric {
    pub value: u32,
    pub lock: bool,
}

/// A route keepalived installs (virtual) or keeps installed (static).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Route {
    /// The destination.
    pub dst: RoutePrefix,
    /// The destination as written, as keepalived prints it.
    pub dst_text: String,
    /// Route family (IPv4 unless something says IPv6).
    pub family: AddressFamily,
    /// Route type (`unicast` 1 by default; `blackhole`, `unreachable`, ...).
    pub r#type: u8,
    /// `src ADDR`: preferred source.
    pub src: Option<IpAddr>,
    /// `via ADDR` / `gw ADDR`.
    pub via: Option<IpAddr>,
    /// `from PREFIX` (IPv6 source routing).
    pub from: Option<RoutePrefix>,
    /// `tos`/`dsfield`.
    pub tos: Option<u8>,
    /// `table` (default main, 254).
    pub table: u32,
    /// `protocol`: forced to `RTPROT_KEEPALIVED` (18) unless `no_track`.
    pub protocol: Option<u8>,
    /// `scope` (default universe, 0).
    pub scope: u8,
    /// `metric`/`priority`/`preference`.
    pub metric: Option<u32>,
    /// `dev`/`oif`.
    pub dev: Option<String>,
    pub onlink: bool,
    pub encap: Option<Encap>,
    /// `expires` (IPv6).
    pub expires: Option<u32>,
    pub mtu: Option<Metric>,
    pub hoplimit: Option<u8>,
    pub advmss: Option<Metric>,
    /// `rtt`, in the kernel's 1/8 ms units.
    pub rtt: Option<Metric>,
    /// `rttvar`, in 1/4 ms units.
    pub rttvar: Option<Metric>,
    pub reordering: Option<Metric>,
    pub window: Option<u32>,
    pub cwnd: Option<Metric>,
    pub ssthresh: Option<Metric>,
    pub realms: Option<u32>,
    /// `rto_min`, in ms.
    pub rto_min: Option<Metric>,
    pub initcwnd: Option<u32>,
    pub initrwnd: Option<u32>,
    /// `features ecn`.
    pub features_ecn: bool,
    pub quickack: Option<u32>,
    /// `congctl [lock] NAME`.
    pub congctl: Option<(String, bool)>,
    /// `pref low|medium|high|N` as the ICMPv6 router preference value.
    pub pref: Option<u8>,
    /// `ttl-propagate enabled|disabled` (an unrecognised value counts as disabled).
    pub ttl_propagate: Option<bool>,
    pub fastopen_no_cookie: Option<bool>,
    pub mode: RouteMode,
    pub nexthops: Vec<Nexthop>,
    /// `no_track` (or set because the route has no interface to track).
    pub no_track: bool,
    /// `track_group GROUP` (static routes).
    pub track_group: Option<String>,
    /// `vrf NAME`: the route goes in that VRF's table.
    pub vrf: Option<String>,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// Marker: keepalived stopped reading the configuration (a missing value, exit 2).
struct Abort;

/// Either the route is dropped (`Err(None)`), or keepalived aborts (`Err(Some(Abort))`).
type Step<T> = Result<T, Option<Abort>>;

/// The word at `i`, or keepalived's missing-parameter abort.
fn slot<'s>(cx: &mut Cx<'_>, line: &'s Statement, i: usize) -> Step<&'s Word> {
    cx.word(line, i).ok_or(Some(Abort))
}

fn drop_with(cx: &mut Cx<'_>, span: &Span, code: &'static str, message: String) -> Option<Abort> {
    general(cx, code, span, message);
    None
}

/// keepalived's `parse_route`: `default`/`any`/`all`, `default6`, or an address with prefix.
pub(crate) fn parse_route_prefix(cx: &mut Cx<'_>, word: &Word) -> Option<RoutePrefix> {
    match word.text.as_str() {
        "default" | "any" | "all" => Some(RoutePrefix {
            addr: None,
            prefix_len: 0,
            family: None,
        }),
        "default6" => {
            cx.report(
                Class::Info,
                "default6-deprecated",
                &word.span,
                "'default6' is deprecated - please replace with 'inet6 default'",
            );
            Some(RoutePrefix {
                addr: None,
                prefix_len: 0,
                family: Some(AddressFamily::Ipv6),
            })
        }
        _ => common::parse_ipaddress(cx, word, true).map(|Prefixed { addr, prefix_len }| RoutePrefix {
            addr: Some(addr),
            prefix_len,
            family: Some(AddressFamily::of(&addr)),
        }),
    }
}

/// keepalived's `get_u32`-style readers: strict `read_unsigned` up to `max`, then the
/// caller's message with the value.
fn get_u32(cx: &mut Cx<'_>, w: &Word, max: u32, code: &'static str, msg: &str) -> Step<u32> {
    match common::read_unsigned(cx, w, 0, max) {
        Some(v) => Ok(v),
        None => Err(drop_with(cx, &w.span, code, msg.replace("{}", &w.text))),
    }
}

/// keepalived's `get_realms`: `REALM` or `FROM/TO`, names from rt_realms.
pub(crate) fn get_realms(cx: &Cx<'_>, text: &str) -> Option<u32> {
    match text.split_once('/') {
        Some((a, b)) => {
            let a = rt_tables::find(cx.host, NameTable::Realms, a)?;
            let b = rt_tables::find(cx.host, NameTable::Realms, b)?;
            Some((a << 16) | b)
        }
        None => rt_tables::find(cx.host, NameTable::Realms, text),
    }
}

/// keepalived's `get_time_rtt`: `N` in kernel units, or `Ns`/`Nms` (`sec`, `secs` too),
/// scaled by `unit` (8 for rtt, 4 for rttvar, 1 for rto_min) and clamped to 0.2-120 s.
fn get_time_rtt(cx: &mut Cx<'_>, w: &Word, unit: u64) -> Option<u32> {
    const RTT_MIN_MS: u64 = 200;
    const RTT_MAX_MS: u64 = 120_000;
    let text = w.text.trim_start_matches([' ', '\t']);
    let (number, shift, raw) = match text.find(['s', 'S']) {
        Some(p) => {
            let suffix = text[p..].to_ascii_lowercase();
            if !matches!(suffix.as_str(), "s" | "sec" | "secs") {
                return None;
            }
            let (end, shift) = if p > 0 && text.as_bytes()[p - 1].eq_ignore_ascii_case(&b'm') {
                (p - 1, 0)
            } else {
                (p, 3)
            };
            if end == 0 {
                return None;
            }
            (&text[..end], shift, false)
        }
        None => (text, 0, true),
    };
    if number.contains(['e', 'E']) {
        cx.report(
            Class::Info,
            "rtt-exponent",
            &w.span,
            format!("rtt value exponential form {} no longer supported", w.text),
        );
        return None;
    }
    let outcome = crate::cx::parse_decimal(number, 0, RTT_MAX_MS * unit, shift);
    // keepalived reads this number without leniency: any complaint but the rounding of extra
    // decimals makes it invalid.
    let mut refused = false;
    for m in outcome.messages {
        refused |= !m.ends_with("has too many decimal places");
        cx.report(Class::InvalidNumber, "invalid-number", &w.span, m)
            .with_token_mut(&w.text);
    }
    if refused {
        return None;
    }
    let mut value = outcome.value?;
    if !raw {
        value *= unit;
    }
    if value > RTT_MAX_MS * unit {
        cx.report(
            Class::Info,
            "rtt-clamped",
            &w.span,
            format!(
                "rtt value {} exceeds maximum {}s, resetting",
                w.text,
                RTT_MAX_MS / 1000
            ),
        );
        value = RTT_MAX_MS * unit;
    } else if value < RTT_MIN_MS * unit {
        cx.report(
            Class::Info,
            "rtt-clamped",
            &w.span,
            format!("rtt value {} below minimum {RTT_MIN_MS}ms, resetting", w.text),
        );
        value = RTT_MIN_MS * unit;
    }
    u32::try_from(value).ok()
}

/// keepalived's `parse_mpls_address`: up to 2 labels `L[/L]`, each below 2^20.
fn parse_mpls(text: &str) -> Option<Vec<u32>> {
    let mut labels = Vec::new();
    let mut rest = text.trim_start_matches([' ', '\t']);
    for _ in 0..2 {
        if rest.starts_with('-') || rest.starts_with([' ', '\t']) {
            return None;
        }
        let end = rest.find('/').unwrap_or(rest.len());
        let (value, whole) = rt_tables::strtoul_base0(&rest[..end]);
        if !whole || value >= 1 << 20 {
            return None;
        }
        labels.push(value as u32);
        if end == rest.len() {
            return Some(labels);
        }
        rest = &rest[end + 1..];
    }
    None
}

/// keepalived's `get_addr64`: an ILA locator `x:x:x:x`.
fn parse_ila_locator(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.trim_start_matches([' ', '\t']).split(':').collect();
    if parts.len() != 4 {
        return None;
    }
    let mut value = 0u64;
    for p in parts {
        if p.is_empty() || p.len() > 4 || !p.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        value = (value << 16) | u64::from_str_radix(p, 16).ok()?;
    }
    Some(value)
}

/// keepalived's `parse_encap`, starting at the `encap` word `*i`. Errors are reported and the
/// encap left out; `*i` ends where keepalived leaves it (see the module comment for the
/// re-read of a failing option word).
fn parse_encap(cx: &mut Cx<'_>, line: &Statement, i: &mut usize) -> Option<Encap> {
    let words = &line.words;
    *i += 1;
    let Some(kind) = words.get(*i) else {
        general(cx, "encap-missing-type", &line.end_span(), "Missing encap type");
        return None;
    };
    *i += 1;
    let result = match kind.text.as_str() {
        "ip" | "ip6" => parse_encap_ip(cx, line, i, kind.text == "ip6"),
        "mpls" => match words.get(*i) {
            None => {
                general(
                    cx,
                    "encap-mpls",
                    &line.end_span(),
                    "missing address for MPLS encapsulation",
                );
                None
            }
            Some(w) => {
                *i += 1;
                match parse_mpls(&w.text) {
                    Some(labels) => Some(Encap::Mpls { labels }),
                    None => {
                        general(
                            cx,
                            "encap-mpls",
                            &w.span,
                            format!("invalid mpls address {} for encapsulation", w.text),
                        );
                        None
                    }
                }
            }
        },
        "ila" => match words.get(*i) {
            None => {
                general(
                    cx,
                    "encap-ila",
                    &line.end_span(),
                    "missing locator for ILA encapsulation",
                );
                None
            }
            Some(w) => {
                *i += 1;
                match parse_ila_locator(&w.text) {
                    Some(locator) => Some(Encap::Ila { locator }),
                    None => {
                        general(
                            cx,
                            "encap-ila",
                            &w.span,
                            format!("invalid locator {} for ila encapsulation", w.text),
                        );
                        None
                    }
                }
            }
        },
        other => {
            general(
                cx,
                "encap-type",
                &kind.span,
                format!("Unknown encap type - {other}"),
            )
            .with_token_mut(other)
            .help = Some("encap types are ip, ip6, mpls and ila".into());
            // keepalived does not step back here, so the word after the type is skipped.
            return None;
        }
    };
    *i -= 1;
    result
}

/// `encap ip ...` / `encap ip6 ...`: option/value pairs up to the first other word.
fn parse_encap_ip(cx: &mut Cx<'_>, line: &Statement, i: &mut usize, v6: bool) -> Option<Encap> {
    let words = &line.words;
    let (mut id, mut dst, mut src, mut tos, mut ttl, mut flags) = (None, None, None, None, None, None);
    let name = if v6 { "ip6" } else { "ip" };
    while *i + 1 < words.len() {
        let key = &words[*i];
        let v = &words[*i + 1];
        let ok = match key.text.as_str() {
            "id" => match parse_u64(&v.text) {
                Ok(n) => {
                    id = Some(n);
                    true
                }
                Err(m) => {
                    cx.report(Class::InvalidNumber, "invalid-number", &v.span, m);
                    let msg = if v6 {
                        format!("id {} value invalid for IPv6 encapsulation", v.text)
                    } else {
                        format!("encap id {} value is invalid", v.text)
                    };
                    general(cx, "encap-ip", &v.span, msg);
                    false
                }
            },
            "dst" | "src" => match common::parse_ipaddress(cx, v, false) {
                None => {
                    general(
                        cx,
                        "encap-ip",
                        &v.span,
                        format!("Invalid encap {name} {} {}", key.text, v.text),
                    );
                    false
                }
                Some(p) if p.addr.is_ipv6() != v6 => {
                    let msg = if v6 {
                        format!("IPv4 address {} not valid for ip6 encapsulation", v.text)
                    } else {
                        format!("IPv6 address {} not valid for ip encapsulation", v.text)
                    };
                    general(cx, "encap-ip", &v.span, msg);
                    false
                }
                Some(p) => {
                    if key.text == "dst" {
                        dst = Some(p.addr);
                    } else {
                        src = Some(p.addr);
                    }
                    true
                }
            },
            "tos" if !v6 => match rt_tables::find(cx.host, NameTable::Dsfield, &v.text) {
                Some(t) => {
                    tos = Some(t as u8);
                    true
                }
                None => {
                    general(
                        cx,
                        "encap-ip",
                        &v.span,
                        format!("dsfield {} not valid for ip encapsulation", v.text),
                    );
                    false
                }
            },
            "tc" if v6 => match rt_tables::find(cx.host, NameTable::Dsfield, &v.text) {
                Some(t) => {
                    tos = Some(t as u8);
                    true
                }
                None => {
                    // keepalived prints the option name here, not the value.
                    general(
                        cx,
                        "encap-ip",
                        &key.span,
                        "tc value tc is invalid for ip6 encapsulation",
                    );
                    false
                }
            },
            "ttl" if !v6 => match common::read_unsigned(cx, v, 0, 255) {
                Some(t) => {
                    ttl = Some(t as u8);
                    true
                }
                None => {
                    general(
                        cx,
                        "encap-ip",
                        &v.span,
                        format!("ttl {} is not valid for ip encapsulation", v.text),
                    );
                    false
                }
            },
            "hoplimit" if v6 => match common::read_unsigned(cx, v, 0, 255) {
                Some(t) => {
                    ttl = Some(t as u8);
                    true
                }
                None => {
                    general(
                        cx,
                        "encap-ip",
                        &v.span,
                        format!("Invalid hoplimit {} specified for ip6 encapsulation", v.text),
                    );
                    false
                }
            },
            "flags" => match common::read_unsigned(cx, v, 0, u32::from(u16::MAX)) {
                Some(f) => {
                    flags = Some(f as u16);
                    true
                }
                None => {
                    general(
                        cx,
                        "encap-ip",
                        &v.span,
                        format!("flags {} is not valid for {name} encapsulation", v.text),
                    );
                    false
                }
            },
            _ => break,
        };
        if !ok {
            return None;
        }
        *i += 2;
    }
    // keepalived's ip6 check looks at the ip destination, which shares the ip6 one's place.
    if dst.is_none() && id.is_none() {
        general(
            cx,
            "encap-ip",
            words.get(*i).map_or(&line.end_span(), |w| &w.span),
            format!("address or id missing for {name} encapsulation"),
        );
        return None;
    }
    Some(if v6 {
        Encap::Ip6 {
            id,
            dst,
            src,
            tc: tos,
            hoplimit: ttl,
            flags,
        }
    } else {
        Encap::Ip {
            id,
            dst,
            src,
            tos,
            ttl,
            flags,
        }
    })
}

/// keepalived's `read_unsigned64` (strict), with its messages.
pub(crate) fn parse_u64(text: &str) -> Result<u64, String> {
    let t = text.trim_start_matches([' ', '\t']);
    if t.starts_with('-') {
        return Err(format!("negative number '{text}'"));
    }
    let body = t.strip_prefix('+').unwrap_or(t);
    let digits: String = body.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() != body.len() {
        return Err(format!("invalid number '{text}'"));
    }
    if digits.is_empty() {
        return Ok(0);
    }
    digits
        .parse::<u64>()
        .map_err(|_| format!("number '{text}' outside unsigned 64 bit range"))
}

/// keepalived's `parse_nexthops` from word `i` (a `nexthop` word). Errors drop the hop being
/// read and end nexthop parsing; completed hops stay.
fn parse_nexthops(
    cx: &mut Cx<'_>,
    env: &mut Env<'_>,
    line: &Statement,
    mut i: usize,
    route: &mut Route,
    family: &mut Option<AddressFamily>,
) -> Result<(), Abort> {
    let words = &line.words;
    // keepalived keeps the explicit `via inet|inet6` family from one hop to the next.
    let mut via_family: Option<AddressFamily> = None;
    while words.get(i).is_some_and(|w| w.text == "nexthop") {
        i += 1;
        let mut hop = Nexthop::default();
        let mut failed = false;
        while let Some(w) = words.get(i) {
            match w.text.as_str() {
                "via" => {
                    i += 1;
                    let mut a = slot(cx, line, i).map_err(|_| Abort)?;
                    if a.text == "inet" || a.text == "inet6" {
                        via_family = Some(if a.text == "inet" {
                            AddressFamily::Ipv4
                        } else {
                            AddressFamily::Ipv6
                        });
                        i += 1;
                        a = slot(cx, line, i).map_err(|_| Abort)?;
                    }
                    if let Some(f) = via_family {
                        match family {
                            None => *family = Some(f),
                            Some(rf) if *rf != f => {
                                general(cx, "nexthop-family", &a.span, "IPv4/6 mismatch for nexthop");
                                failed = true;
                                break;
                            }
                            _ => {}
                        }
                    }
                    let Some(p) = common::parse_ipaddress(cx, a, false) else {
                        general(
                            cx,
                            "nexthop-address",
                            &a.span,
                            format!("invalid nexthop address {}", a.text),
                        );
                        failed = true;
                        break;
                    };
                    let af = AddressFamily::of(&p.addr);
                    if family.is_some_and(|f| f != af) {
                        general(
                            cx,
                            "nexthop-family",
                            &a.span,
                            "Address family mismatch for next hop",
                        );
                        failed = true;
                        break;
                    }
                    *family = Some(af);
                    hop.via = Some(p.addr);
                }
                "dev" => {
                    i += 1;
                    let d = slot(cx, line, i).map_err(|_| Abort)?;
                    if common::lookup_interface(cx, env.state, env.globals, &d.text, &d.span)
                        == IfLookup::Missing
                    {
                        general(
                            cx,
                            "interface-missing",
                            &d.span,
                            format!("WARNING - interface {} for VROUTE nexthop doesn't exist", d.text),
                        )
                        .with_token_mut(&d.text);
                        failed = true;
                        break;
                    }
                    hop.dev = Some(d.text.clone());
                }
                "weight" => {
                    i += 1;
                    let v = slot(cx, line, i).map_err(|_| Abort)?;
                    match get_u32(
                        cx,
                        v,
                        256,
                        "nexthop-weight",
                        "Invalid weight {} specified for route",
                    ) {
                        Ok(0) => {
                            general(
                                cx,
                                "nexthop-weight",
                                &v.span,
                                "Invalid weight 0 specified for route",
                            );
                            failed = true;
                            break;
                        }
                        Ok(n) => hop.weight = Some(n),
                        Err(_) => {
                            failed = true;
                            break;
                        }
                    }
                }
                "onlink" => hop.onlink = true,
                "encap" => {
                    if let Some(e) = parse_encap(cx, line, &mut i) {
                        hop.encap = Some(e);
                    }
                }
                "realms" => {
                    i += 1;
                    let v = slot(cx, line, i).map_err(|_| Abort)?;
                    let Some(r) = get_realms(cx, &v.text) else {
                        general(
                            cx,
                            "invalid-realms",
                            &v.span,
                            format!("Invalid realms {} for route", v.text),
                        );
                        failed = true;
                        break;
                    };
                    hop.realms = Some(r);
                    match family {
                        None => *family = Some(AddressFamily::Ipv4),
                        Some(AddressFamily::Ipv6) => {
                            general(cx, "realms-ipv6", &v.span, "realms are only supported for IPv4");
                            failed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                "as" => {
                    i += 1;
                    if slot(cx, line, i).map_err(|_| Abort)?.text == "to" {
                        i += 1;
                    }
                    general(cx, "nexthop-as", &w.span, "'as [to]' (nat) not supported");
                    failed = true;
                    break;
                }
                _ => break,
            }
            i += 1;
        }
        if failed {
            return Ok(());
        }
        route.nexthops.push(hop);
    }
    if let Some(w) = words.get(i) {
        general(
            cx,
            "route-trailing",
            &w.span,
            format!("Route has trailing nonsense after nexthops - {}", w.text),
        )
        .with_token_mut(&w.text);
    }
    Ok(())
}

/// Result of reading one route line.
pub(crate) enum RouteLine {
    Route(Box<Route>),
    Dropped,
    /// A value was missing: keepalived exits on the spot.
    Abort,
}

/// keepalived's `alloc_route` for one line.
pub(crate) fn parse_route_line(
    cx: &mut Cx<'_>,
    env: &mut Env<'_>,
    line: &Statement,
    allow_track_group: bool,
) -> RouteLine {
    match parse_route_inner(cx, env, line, allow_track_group) {
        Ok(r) => RouteLine::Route(Box::new(r)),
        Err(None) => RouteLine::Dropped,
        Err(Some(Abort)) => RouteLine::Abort,
    }
}

fn parse_route_inner(
    cx: &mut Cx<'_>,
    env: &mut Env<'_>,
    line: &Statement,
    allow_track_group: bool,
) -> Step<Route> {
    let words = &line.words;
    let mut r = Route {
        dst: RoutePrefix {
            addr: None,
            prefix_len: 0,
            family: None,
        },
        dst_text: String::new(),
        family: AddressFamily::Ipv4,
        r#type: 1,
        src: None,
        via: None,
        from: None,
        tos: None,
        table: 254,
        protocol: None,
        scope: 0,
        metric: None,
        dev: None,
        onlink: false,
        encap: None,
        expires: None,
        mtu: None,
        hoplimit: None,
        advmss: None,
        rtt: None,
        rttvar: None,
        reordering: None,
        window: None,
        cwnd: None,
        ssthresh: None,
        realms: None,
        rto_min: None,
        initcwnd: None,
        initrwnd: None,
        features_ecn: false,
        quickack: None,
        congctl: None,
        pref: None,
        ttl_propagate: None,
        fastopen_no_cookie: None,
        mode: RouteMode::Prepend,
        nexthops: Vec::new(),
        no_track: false,
        track_group: None,
        vrf: None,
        span: words.first().map(|w| w.span.clone()),
    };
    let mut family: Option<AddressFamily> = None;
    let mut have_dst = false;
    let mut do_nexthop = false;
    let mut i = 0;
    const MIX: &str = "Cannot mix IPv4 and IPv6 addresses for route";
    // Reads `[lock] N` for a metric.
    macro_rules! locked_u32 {
        ($field:ident, $code:literal, $msg:literal) => {{
            i += 1;
            let mut lock = false;
            if slot(cx, line, i)?.text == "lock" {
                lock = true;
                i += 1;
            }
            let v = slot(cx, line, i)?;
            let value = get_u32(cx, v, u32::MAX, $code, $msg)?;
            r.$field = Some(Metric { value, lock });
        }};
    }
    macro_rules! plain_u32 {
        ($field:ident, $max:expr, $code:literal, $msg:literal) => {{
            i += 1;
            let v = slot(cx, line, i)?;
            r.$field = Some(get_u32(cx, v, $max, $code, $msg)?);
        }};
    }
    macro_rules! rtt {
        ($field:ident, $unit:expr, $code:literal, $msg:literal) => {{
            i += 1;
            let mut lock = false;
            if slot(cx, line, i)?.text == "lock" {
                lock = true;
                i += 1;
            }
            let v = slot(cx, line, i)?;
            match get_time_rtt(cx, v, $unit) {
                Some(value) => r.$field = Some(Metric { value, lock }),
                None => return Err(drop_with(cx, &v.span, $code, format!($msg, v.text))),
            }
        }};
    }
    while i < words.len() {
        let w = &words[i];
        match w.text.as_str() {
            "inet6" | "inet" => {
                let f = if w.text == "inet" {
                    AddressFamily::Ipv4
                } else {
                    AddressFamily::Ipv6
                };
                match family {
                    None => family = Some(f),
                    Some(cur) if cur != f => {
                        let msg = if f == AddressFamily::Ipv6 {
                            "inet6 specified for IPv4 route"
                        } else {
                            "inet specified for IPv6 route"
                        };
                        return Err(drop_with(cx, &w.span, "route-family", msg.into()));
                    }
                    _ => {}
                }
                // keepalived steps here and again at the end of the loop: the next word is lost.
                i += 1;
            }
            "src" => {
                i += 1;
                let v = slot(cx, line, i)?;
                let Some(p) = common::parse_ipaddress(cx, v, false) else {
                    return Err(drop_with(
                        cx,
                        &v.span,
                        "route-src",
                        format!("invalid route src address {}", v.text),
                    ));
                };
                let af = AddressFamily::of(&p.addr);
                if family.is_some_and(|f| f != af) {
                    return Err(drop_with(cx, &v.span, "route-family", MIX.into()));
                }
                family = Some(af);
                r.src = Some(p.addr);
            }
            "as" => {
                i += 1;
                if slot(cx, line, i)?.text == "to" {
                    i += 1;
                }
                general(cx, "route-as", &w.span, "\"as to\" for MPLS only - ignoring");
            }
            "via" | "gw" => {
                if w.text == "gw" {
                    general(
                        cx,
                        "route-gw",
                        &w.span,
                        "\"gw\" for routes is deprecated. Please use \"via\"",
                    )
                    .help = Some("write 'via ADDR'".into());
                }
                i += 1;
                let mut a = slot(cx, line, i)?;
                let mut via_family = family;
                if a.text == "inet" || a.text == "inet6" {
                    via_family = Some(if a.text == "inet" {
                        AddressFamily::Ipv4
                    } else {
                        AddressFamily::Ipv6
                    });
                    i += 1;
                    a = slot(cx, line, i)?;
                }
                match family {
                    None => family = via_family,
                    Some(f) if Some(f) != via_family => {
                        return Err(drop_with(cx, &a.span, "route-family", MIX.into()));
                    }
                    _ => {}
                }
                let Some(p) = common::parse_ipaddress(cx, a, false) else {
                    return Err(drop_with(
                        cx,
                        &a.span,
                        "route-via",
                        format!("invalid route via address {}", a.text),
                    ));
                };
                let af = AddressFamily::of(&p.addr);
                if family.is_some_and(|f| f != af) {
                    return Err(drop_with(cx, &a.span, "route-family", MIX.into()));
                }
                family = Some(af);
                r.via = Some(p.addr);
            }
            "from" => {
                i += 1;
                let v = slot(cx, line, i)?;
                let Some(p) = parse_route_prefix(cx, v) else {
                    return Err(drop_with(
                        cx,
                        &v.span,
                        "route-from",
                        format!("invalid route from address {}", v.text),
                    ));
                };
                if p.family != Some(AddressFamily::Ipv6) {
                    return Err(drop_with(
                        cx,
                        &v.span,
                        "route-from",
                        format!("route from address only supported with IPv6 ({})", v.text),
                    ));
                }
                if family.is_some_and(|f| Some(f) != p.family) {
                    return Err(drop_with(cx, &v.span, "route-family", MIX.into()));
                }
                family = p.family;
                r.from = Some(p);
            }
            "tos" | "dsfield" => {
                i += 1;
                let v = slot(cx, line, i)?;
                match rt_tables::find(cx.host, NameTable::Dsfield, &v.text) {
                    Some(t) => r.tos = Some(t as u8),
                    None => {
                        return Err(drop_with(
                            cx,
                            &v.span,
                            "route-tos",
                            format!("TOS value {} is invalid", v.text),
                        ))
                    }
                }
            }
            "table" => {
                i += 1;
                let v = slot(cx, line, i)?;
                match rt_tables::find(cx.host, NameTable::Tables, &v.text) {
                    Some(t) => r.table = t,
                    None => {
                        return Err(drop_with(
                            cx,
                            &v.span,
                            "route-table",
                            format!("Routing table {} not found for route", v.text),
                        ))
                    }
                }
            }
            "protocol" => {
                i += 1;
                let v = slot(cx, line, i)?;
                match rt_tables::find(cx.host, NameTable::Protos, &v.text) {
                    Some(p) => r.protocol = Some(p as u8),
                    None => {
                        return Err(drop_with(
                            cx,
                            &v.span,
                            "route-protocol",
                            format!("Protocol {} not found or invalid for route", v.text),
                        ))
                    }
                }
            }
            "scope" => {
                i += 1;
                let v = slot(cx, line, i)?;
                match rt_tables::find(cx.host, NameTable::Scopes, &v.text) {
                    Some(s) => r.scope = s as u8,
                    None => {
                        return Err(drop_with(
                            cx,
                            &v.span,
                            "route-scope",
                            format!("Scope {} not found or invalid for route", v.text),
                        ))
                    }
                }
            }
            "metric" | "priority" | "preference" => {
                plain_u32!(
                    metric,
                    u32::MAX,
                    "route-metric",
                    "Invalid metric {} specified for route"
                )
            }
            "dev" | "oif" => {
                i += 1;
                let d = slot(cx, line, i)?;
                if common::lookup_interface(cx, env.state, env.globals, &d.text, &d.span) == IfLookup::Missing
                {
                    general(
                        cx,
                        "interface-missing",
                        &d.span,
                        format!("WARNING - interface {} for VROUTE nexthop doesn't exist", d.text),
                    )
                    .with_token_mut(&d.text)
                    .help =
                        Some("name an existing interface, or set 'dynamic_interfaces' in global_defs".into());
                    return Err(None);
                }
                r.dev = Some(d.text.clone());
            }
            "onlink" => r.onlink = true,
            "encap" => {
                if let Some(e) = parse_encap(cx, line, &mut i) {
                    r.encap = Some(e);
                }
            }
            "expires" => {
                i += 1;
                if family == Some(AddressFamily::Ipv4) {
                    return Err(drop_with(
                        cx,
                        &w.span,
                        "route-expires",
                        "expires is only valid for IPv6".into(),
                    ));
                }
                family = Some(AddressFamily::Ipv6);
                let v = slot(cx, line, i)?;
                r.expires = Some(get_u32(
                    cx,
                    v,
                    u32::MAX,
                    "route-expires",
                    "Invalid expires time {} specified for route",
                )?);
            }
            "mtu" => locked_u32!(mtu, "route-mtu", "Invalid MTU {} specified for route"),
            "hoplimit" => {
                i += 1;
                let v = slot(cx, line, i)?;
                r.hoplimit = Some(get_u32(
                    cx,
                    v,
                    255,
                    "route-hoplimit",
                    "Invalid hoplimit {} specified for route",
                )? as u8);
            }
            "advmss" => locked_u32!(advmss, "route-advmss", "Invalid advmss {} specified for route"),
            "rtt" => rtt!(rtt, 8, "route-rtt", "Invalid rtt {} for route"),
            "rttvar" => rtt!(rttvar, 4, "route-rttvar", "Invalid rttvar {} for route"),
            "reordering" => locked_u32!(
                reordering,
                "route-reordering",
                "Invalid reordering value {} specified for route"
            ),
            "window" => plain_u32!(
                window,
                u32::MAX,
                "route-window",
                "Invalid window value {} specified for route"
            ),
            "cwnd" => locked_u32!(cwnd, "route-cwnd", "Invalid cwnd value {} specified for route"),
            "ssthresh" => locked_u32!(
                ssthresh,
                "route-ssthresh",
                "Invalid ssthresh value {} specified for route"
            ),
            "realms" => {
                i += 1;
                let v = slot(cx, line, i)?;
                let Some(realms) = get_realms(cx, &v.text) else {
                    return Err(drop_with(
                        cx,
                        &v.span,
                        "invalid-realms",
                        format!("Invalid realms {} for route", v.text),
                    ));
                };
                if family == Some(AddressFamily::Ipv6) {
                    return Err(drop_with(
                        cx,
                        &v.span,
                        "realms-ipv6",
                        "realms are only valid for IPv4".into(),
                    ));
                }
                family = Some(AddressFamily::Ipv4);
                r.realms = Some(realms);
            }
            "rto_min" => rtt!(
                rto_min,
                1,
                "route-rto-min",
                "Invalid rto_min value {} specified for route"
            ),
            "initcwnd" => plain_u32!(
                initcwnd,
                u32::MAX,
                "route-initcwnd",
                "Invalid initcwnd value {} specified for route"
            ),
            "initrwnd" => plain_u32!(
                initrwnd,
                u32::MAX,
                "route-initrwnd",
                "Invalid initrwnd value {} specified for route"
            ),
            "features" => {
                i += 1;
                let v = slot(cx, line, i)?;
                if v.text == "ecn" {
                    r.features_ecn = true;
                } else {
                    general(
                        cx,
                        "route-feature",
                        &v.span,
                        format!("feature {} not supported", v.text),
                    )
                    .help = Some("the only feature is 'ecn'".into());
                }
            }
            "quickack" => plain_u32!(
                quickack,
                1,
                "route-quickack",
                "Invalid quickack value {} specified for route"
            ),
            "congctl" => {
                i += 1;
                let mut lock = false;
                if slot(cx, line, i)?.text == "lock" {
                    lock = true;
                    i += 1;
                }
                let v = slot(cx, line, i)?;
                r.congctl = Some((v.text.clone(), lock));
            }
            "pref" => {
                i += 1;
                if family == Some(AddressFamily::Ipv4) {
                    return Err(drop_with(
                        cx,
                        &w.span,
                        "route-pref",
                        "pref is only valid for IPv6".into(),
                    ));
                }
                family = Some(AddressFamily::Ipv6);
                let v = slot(cx, line, i)?;
                r.pref = Some(match v.text.as_str() {
                    // ICMPV6_ROUTER_PREF_LOW / MEDIUM / HIGH.
                    "low" => 3,
                    "medium" => 0,
                    "high" => 1,
                    _ => get_u32(
                        cx,
                        v,
                        255,
                        "route-pref",
                        "Invalid pref value {} specified for route",
                    )? as u8,
                });
            }
            "ttl-propagate" => {
                i += 1;
                let v = slot(cx, line, i)?;
                r.ttl_propagate = Some(match v.text.as_str() {
                    "enabled" => true,
                    "disabled" => false,
                    other => {
                        general(
                            cx,
                            "route-ttl-propagate",
                            &v.span,
                            format!("ttl-propagate value {other} not recognised"),
                        )
                        .help = Some("expected 'enabled' or 'disabled'".into());
                        false
                    }
                });
            }
            "fastopen_no_cookie" => {
                i += 1;
                let v = slot(cx, line, i)?;
                r.fastopen_no_cookie = Some(
                    get_u32(
                        cx,
                        v,
                        1,
                        "route-fastopen",
                        "Invalid fastopen_no_cookie value {} specified for route",
                    )? != 0,
                );
            }
            "add" => r.mode = RouteMode::Add,
            "prepend" => r.mode = RouteMode::Prepend,
            "append" => r.mode = RouteMode::Append,
            "or" => {
                general(
                    cx,
                    "route-or",
                    &w.span,
                    "\"or\" for routes is deprecated. Please use \"nexthop\"",
                )
                .help = Some("write 'nexthop via ADDR1 nexthop via ADDR2'".into());
                if !r.nexthops.is_empty() {
                    general(
                        cx,
                        "route-or",
                        &w.span,
                        "\"or\" route already specified - ignoring subsequent",
                    );
                    i += 2;
                    continue;
                }
                // The `via` address becomes the first hop and the `or` address the second.
                let first = Nexthop {
                    via: r.via.take(),
                    ..Nexthop::default()
                };
                i += 1;
                let v = slot(cx, line, i)?;
                let Some(p) = common::parse_ipaddress(cx, v, false) else {
                    return Err(drop_with(
                        cx,
                        &v.span,
                        "route-or",
                        format!("Invalid \"or\" address {}", v.text),
                    ));
                };
                r.nexthops.push(first);
                r.nexthops.push(Nexthop {
                    via: Some(p.addr),
                    ..Nexthop::default()
                });
            }
            "nexthop" => {
                if r.nexthops.is_empty() {
                    do_nexthop = true;
                } else {
                    general(
                        cx,
                        "route-or",
                        &w.span,
                        "Cannot specify nexthops with \"or\" route",
                    );
                }
                break;
            }
            "no_track" => r.no_track = true,
            "track_group" if allow_track_group => {
                i += 1;
                let v = slot(cx, line, i)?;
                if r.track_group.is_some() {
                    general(
                        cx,
                        "track-group-twice",
                        &v.span,
                        format!("track_group {} is a duplicate", v.text),
                    );
                    break;
                }
                if env.track_groups.iter().any(|g| g.name == v.text) {
                    r.track_group = Some(v.text.clone());
                } else {
                    general(
                        cx,
                        "track-group-unknown",
                        &v.span,
                        format!("track_group {} not found", v.text),
                    )
                    .help = Some("define the track_group before the line that uses it".into());
                }
            }
            "vrf" => {
                i += 1;
                let v = slot(cx, line, i)?;
                if cx.host.interface_exists(&v.text) == Some(false) {
                    return Err(drop_with(
                        cx,
                        &v.span,
                        "route-vrf",
                        format!("VRF {} not found for route", v.text),
                    ));
                }
                r.vrf = Some(v.text.clone());
            }
            _ => {
                if w.text == "to" {
                    i += 1;
                }
                // The type test looks at the word before `to` was skipped (keepalived's quirk).
                if let Some(t) = rt_tables::route_type(&w.text) {
                    r.r#type = t;
                    i += 1;
                }
                let d = slot(cx, line, i)?;
                let Some(p) = parse_route_prefix(cx, d) else {
                    return Err(drop_with(
                        cx,
                        &d.span,
                        "route-unknown-keyword",
                        format!("unknown route keyword {}", d.text),
                    ));
                };
                if family.is_none() {
                    family = p.family;
                } else if family != p.family {
                    return Err(drop_with(
                        cx,
                        &d.span,
                        "route-family",
                        format!("Cannot mix IPv4 and IPv6 addresses for route ({})", d.text),
                    ));
                }
                r.dst = p;
                r.dst_text = d.text.clone();
                have_dst = true;
            }
        }
        i += 1;
    }

    let anchor = words.first().map_or_else(|| line.end_span(), |w| w.span.clone());
    if do_nexthop {
        parse_nexthops(cx, env, line, i, &mut r, &mut family).map_err(Some)?;
    } else if let Some(w) = words.get(i) {
        return Err(drop_with(
            cx,
            &w.span,
            "route-trailing",
            format!("Route has trailing nonsense - {}", w.text),
        ));
    }
    if !have_dst {
        return Err(drop_with(
            cx,
            &anchor,
            "route-no-destination",
            "Route must have a destination".into(),
        ));
    }
    if !r.no_track {
        if r.protocol.is_some_and(|p| p != RTPROT_KEEPALIVED) {
            general(
                cx,
                "route-protocol-reset",
                &anchor,
                format!(
                    "Route cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), resetting protocol"
                ),
            )
            .help = Some("add 'no_track' to keep your protocol".into());
        }
        r.protocol = Some(RTPROT_KEEPALIVED);
        if r.dev.is_none() {
            general(
                cx,
                "route-not-tracked",
                &anchor,
                format!(
                    "Warning - cannot track route {} with no interface specified, not tracking",
                    r.dst_text
                ),
            )
            .help = Some("add 'dev IF' to track the route, or 'no_track' to say it is not tracked".into());
            r.no_track = true;
        }
    }
    if r.track_group.is_some() && r.dev.is_none() {
        general(
            cx,
            "track-group-no-interface",
            &anchor,
            "Static route cannot have track group if no oif specified",
        );
        r.track_group = None;
    }
    r.family = family.unwrap_or(AddressFamily::Ipv4);
    if r.dst.family.is_none() {
        r.dst.family = Some(r.family);
    }
    if let Some(from) = &mut r.from {
        if from.family.is_none() {
            from.family = Some(r.family);
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    fn routes(body: &str) -> (Vec<super::Route>, Vec<String>) {
        let text = format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{\n  10.0.0.1\n }}\n virtual_routes {{\n{body}\n }}\n}}\n"
        );
        let loaded = crate::load_str(&text);
        let msgs = loaded
            .diagnostics
            .iter()
            .map(|d| {
                format!(
                    "{}:{:?}:{}",
                    d.span.as_ref().map_or(0, |s| s.line),
                    d.class,
                    d.message
                )
            })
            .collect();
        let r = loaded
            .config
            .vrrp
            .vrrp_instance
            .first()
            .map(|i| i.virtual_routes.clone())
            .unwrap_or_default();
        (r, msgs)
    }

    #[test]
    fn messages_match_keepalived_2_2_7() {
        // Each expectation was checked against keepalived 2.2.7 -t.
        let cases: &[(&str, &[&str])] = &[
            ("inet6 default via fe80::1 dev eth0", &["8:General:Route must have a destination"]),
            (
                "10.1.0.0/16 encap ip dst 1.2.3 dev eth0",
                &[
                    "8:General:VRRP parsed invalid IP 1.2.3. skipping IP...",
                    "8:General:Invalid encap ip dst 1.2.3",
                    "8:General:VRRP parsed invalid IP dst. skipping IP...",
                    "8:General:unknown route keyword dst",
                ],
            ),
            ("10.2.0.0/16 dev eth0 encap foo bar", &["8:General:Unknown encap type - foo"]),
            (
                "to blackhole 10.3.0.0/16 dev eth0",
                &[
                    "8:General:VRRP parsed invalid IP blackhole. skipping IP...",
                    "8:General:unknown route keyword blackhole",
                ],
            ),
            (
                "10.4.0.0/16 dev eth0 nexthop via 10.0.0.1 weight 0 nexthop via 10.0.0.2",
                &["8:General:Invalid weight 0 specified for route"],
            ),
            ("10.5.0.0/16 dev eth0 rtt 1.5 rttvar 3s", &["8:InvalidNumber:number '1.5' has too many decimal places"]),
            (
                "10.6.0.0/16 via 10.0.0.1 or 10.0.0.2 nexthop via 10.0.0.3",
                &[
                    "8:General:\"or\" for routes is deprecated. Please use \"nexthop\"",
                    "8:General:Cannot specify nexthops with \"or\" route",
                    "8:General:Route has trailing nonsense - nexthop",
                ],
            ),
            (
                "10.7.0.0/16 protocol bird dev eth0 metric x",
                &["8:InvalidNumber:invalid number 'x'", "8:General:Invalid metric x specified for route"],
            ),
            (
                "0.0.0.0/0 gw 192.168.0.1 table 100",
                &[
                    "8:General:\"gw\" for routes is deprecated. Please use \"via\"",
                    "8:General:Warning - cannot track route 0.0.0.0/0 with no interface specified, not tracking",
                ],
            ),
            ("default via 10.0.0.254 dev eth0", &[]),
        ];
        for (line, want) in cases {
            let (_, got) = routes(line);
            let got: Vec<&String> = got.iter().filter(|m| !m.contains(":Info:")).collect();
            assert_eq!(got.len(), want.len(), "{line}: {got:?}");
            for (g, w) in got.iter().zip(want.iter()) {
                assert_eq!(g.as_str(), *w, "{line}");
            }
        }
    }

    #[test]
    fn route_model() {
        let (r, _) =
            routes("10.4.0.0/16 dev eth0 nexthop via 10.0.0.1 weight 2 dev eth0 nexthop via 10.0.0.2 onlink");
        let r = &r[0];
        assert_eq!(r.nexthops.len(), 2);
        assert_eq!(r.nexthops[0].weight, Some(2));
        assert!(r.nexthops[1].onlink);
        assert_eq!(r.protocol, Some(super::RTPROT_KEEPALIVED));
        let (r, _) = routes("blackhole 10.9.0.0/16 table 7 metric 5 mtu lock 1400 rtt 300ms no_track");
        let r = &r[0];
        assert_eq!((r.r#type, r.table, r.metric), (6, 7, Some(5)));
        assert_eq!(
            r.mtu,
            Some(super::Metric {
                value: 1400,
                lock: true
            })
        );
        assert_eq!(r.rtt.map(|m| m.value), Some(2400));
        assert!(r.no_track && r.protocol.is_none());
        let (r, _) = routes("10.0.0.0/8 via 10.0.0.1 or 10.0.0.2 dev eth0");
        assert_eq!(r[0].nexthops.len(), 2);
        assert_eq!(r[0].via, None);
    }
}
