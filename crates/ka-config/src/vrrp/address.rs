//! One line of `virtual_ipaddress`, `virtual_ipaddress_excluded` or `static_ipaddress`: the
//! `ip addr` grammar keepalived accepts (its `alloc_ipaddress`).
//!
//! ```text
//! ADDR[/PREFIXLEN] [dev IF] [scope SCOPE] [brd|broadcast IPv4|+|-] [label LABEL]
//!                  [peer ADDR] [home] [-nodad] [mngtmpaddr] [noprefixroute] [autojoin]
//!                  [no_track] [preferred_lft N|forever]
//!                  [track_group GROUP]   (static_ipaddress only)
//!                  [use_vmac]            (virtual addresses only)
//! ```

use crate::cx::Cx;
use crate::diag::Span;
use crate::syntax::Statement;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};

use super::common::{self, general, AddressFamily, IfLookup, IFNAMSIZ};
use super::rt_tables::{self, NameTable};
use super::Env;

/// `preferred_lft forever`.
pub const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// An address keepalived adds to an interface.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VirtualAddress {
    /// The address (word 0).
    pub addr: IpAddr,
    /// `/PREFIXLEN` (default 32 or 128; the peer's when `peer` is given).
    pub prefix_len: u8,
    /// `brd`/`broadcast`: the broadcast address (IPv4), computed for `+` and `-`.
    pub brd: Option<Ipv4Addr>,
    /// `dev IF`. Virtual addresses without it go on the instance's interface (or its VMAC);
    /// static addresses without it go on `default_interface`.
    pub dev: Option<String>,
    /// `scope`: the numeric scope (0 = global). Always 0 for IPv6.
    pub scope: u8,
    /// `label LABEL` (IPv4 only).
    pub label: Option<String>,
    /// `peer ADDR`: the other end of a point-to-point address.
    pub peer: Option<IpAddr>,
    /// `home` (IFA_F_HOMEADDRESS).
    pub home: bool,
    /// `-nodad`: keepalived adds IPv6 addresses with IFA_F_NODAD *unless* this is given, so
    /// `-nodad` turns duplicate address detection back on.
    pub nodad: bool,
    /// `mngtmpaddr` (IFA_F_MANAGETEMPADDR).
    pub mngtmpaddr: bool,
    /// `noprefixroute` (IFA_F_NOPREFIXROUTE).
    pub noprefixroute: bool,
    /// `autojoin` (IFA_F_MCAUTOJOIN).
    pub autojoin: bool,
    /// `no_track`: the instance does not go to FAULT if the address is removed behind its back.
    pub no_track: bool,
    /// `preferred_lft`: `None` when not given (IPv6 then gets 0 for a /128, forever otherwise).
    pub preferred_lft: Option<u32>,
    /// `track_group GROUP` (static addresses).
    pub track_group: Option<String>,
    /// `use_vmac`: put this address on a VMAC of its own.
    pub use_vmac: bool,
    /// The address as written (word 0), which keepalived prints in its messages.
    pub text: String,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl VirtualAddress {
    pub fn family(&self) -> AddressFamily {
        AddressFamily::of(&self.addr)
    }

    /// The address with `/prefix` unless it is a host address, as keepalived prints VIPs.
    pub fn display(&self) -> String {
        if self.prefix_len == self.family().max_prefix() {
            self.addr.to_string()
        } else {
            format!("{}/{}", self.addr, self.prefix_len)
        }
    }
}

/// Which list the line belongs to: the options differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum AddressKind {
    /// `virtual_ipaddress` / `virtual_ipaddress_excluded`: `use_vmac` allowed.
    Virtual,
    /// `static_ipaddress`: `track_group` allowed, `dev` defaults to `default_interface`.
    Static,
}

/// keepalived's `alloc_ipaddress`: the address of one line, or None when keepalived drops it
/// (each reason reported with keepalived's message).
pub(crate) fn parse_address_line(
    cx: &mut Cx<'_>,
    env: &mut Env<'_>,
    line: &Statement,
    kind: AddressKind,
) -> Option<VirtualAddress> {
    let first = line.words.first()?;
    let parsed = common::parse_ipaddress(cx, first, true)?;
    let text = first.text.clone();
    let family = AddressFamily::of(&parsed.addr);
    let mut a = VirtualAddress {
        addr: parsed.addr,
        prefix_len: parsed.prefix_len,
        brd: None,
        dev: None,
        scope: 0,
        label: None,
        peer: None,
        home: false,
        nodad: false,
        mngtmpaddr: false,
        noprefixroute: false,
        autojoin: false,
        no_track: false,
        preferred_lft: None,
        track_group: None,
        use_vmac: false,
        text: text.clone(),
        span: Some(first.span.clone()),
    };
    // keepalived keeps an explicit broadcast and a `+`/`-` request apart: once `+` or `-`
    // was seen, the computed address wins whatever order the options came in.
    let mut have_broadcast = false;
    let mut brd_host_bits: Option<bool> = None;
    let words = &line.words;
    let mut i = 1;
    let mut missing: Option<&str> = None;
    while i < words.len() {
        let w = &words[i];
        let opt = w.text.as_str();
        let value = words.get(i + 1);
        let takes_value = matches!(
            opt,
            "dev" | "scope" | "broadcast" | "brd" | "label" | "peer" | "preferred_lft"
        ) || (kind == AddressKind::Static && opt == "track_group");
        if takes_value && value.is_none() {
            missing = Some(opt);
            break;
        }
        match (opt, value) {
            ("dev", Some(v)) => {
                if a.dev.is_some() {
                    general(
                        cx,
                        "address-dev-twice",
                        &w.span,
                        format!("Cannot specify ipaddress device more than once for {text}"),
                    )
                    .help = Some("give 'dev' once per address".into());
                    return None;
                }
                if common::lookup_interface(cx, env.state, env.globals, &v.text, &v.span) == IfLookup::Missing
                {
                    general(
                        cx,
                        "interface-missing",
                        &v.span,
                        format!(
                            "WARNING - interface {} for ip address {text} doesn't exist",
                            v.text
                        ),
                    )
                    .with_token_mut(&v.text)
                    .help =
                        Some("name an existing interface, or set 'dynamic_interfaces' in global_defs".into());
                    return None;
                }
                a.dev = Some(v.text.clone());
                i += 1;
            }
            ("scope", Some(v)) => {
                match rt_tables::find(cx.host, NameTable::Scopes, &v.text) {
                    Some(s) => a.scope = s as u8,
                    None => {
                        general(
                            cx,
                            "invalid-scope",
                            &v.span,
                            format!("Invalid scope '{}' specified for {text} - ignoring", v.text),
                        )
                        .with_token_mut(&v.text)
                        .help = Some("expected global, site, link, host, nowhere, a name from /etc/iproute2/rt_scopes or 0-255".into());
                    }
                }
                i += 1;
            }
            ("broadcast" | "brd", Some(v)) => {
                if family == AddressFamily::Ipv6 {
                    // keepalived prints the keyword here where it means the value.
                    general(
                        cx,
                        "broadcast-on-ipv6",
                        &w.span,
                        format!(
                            "VRRP is trying to assign a broadcast {opt} to the IPv6 address {text} !!?? WTF... skipping VIP..."
                        ),
                    )
                    .help = Some("IPv6 has no broadcast address; remove the option".into());
                    return None;
                }
                have_broadcast = true;
                match v.text.as_str() {
                    "-" => brd_host_bits = Some(false),
                    "+" => brd_host_bits = Some(true),
                    other => match common::parse_ipv4(other) {
                        Some(b) => a.brd = Some(b),
                        None => {
                            general(
                                cx,
                                "invalid-broadcast",
                                &v.span,
                                format!(
                                    "VRRP is trying to assign invalid broadcast {other}. skipping VIP..."
                                ),
                            )
                            .with_token_mut(other)
                            .help = Some("expected an IPv4 address, '+' or '-'".into());
                            return None;
                        }
                    },
                }
                i += 1;
            }
            ("label", Some(v)) => {
                if v.text.len() >= IFNAMSIZ {
                    general(
                        cx,
                        "label-too-long",
                        &v.span,
                        format!(
                            "Address label {} is longer than maximum length {} - removing address",
                            v.text,
                            IFNAMSIZ - 1
                        ),
                    )
                    .with_token_mut(&v.text)
                    .help = Some("an address label has at most 15 characters".into());
                    return None;
                }
                a.label = Some(v.text.clone());
                i += 1;
            }
            ("peer", Some(v)) => {
                i += 1;
                if a.peer.is_some() {
                    general(
                        cx,
                        "peer-twice",
                        &v.span,
                        format!("Peer {} - another peer has already been specified", v.text),
                    )
                    .help = Some("give one 'peer' per address".into());
                    // keepalived then reads the value again as an option (its quirk).
                    continue;
                }
                match common::parse_ipaddress(cx, v, false) {
                    None => {
                        general(
                            cx,
                            "invalid-peer",
                            &v.span,
                            format!("Invalid peer address {}", v.text),
                        )
                        .with_token_mut(&v.text);
                    }
                    Some(p) if AddressFamily::of(&p.addr) != family => {
                        general(
                            cx,
                            "peer-family",
                            &v.span,
                            format!("Peer address {} does not match address family", v.text),
                        )
                        .with_token_mut(&v.text);
                    }
                    Some(p) => {
                        if a.prefix_len != family.max_prefix() {
                            general(
                                cx,
                                "peer-with-prefix",
                                &first.span,
                                "Cannot specify address prefix when specifying peer address - ignoring",
                            )
                            .help = Some("with 'peer', write the local address without /PREFIXLEN".into());
                        }
                        a.peer = Some(p.addr);
                        a.prefix_len = p.prefix_len;
                    }
                }
            }
            ("home", _) => a.home = true,
            ("-nodad", _) => a.nodad = true,
            ("mngtmpaddr", _) => a.mngtmpaddr = true,
            ("noprefixroute", _) => a.noprefixroute = true,
            ("autojoin", _) => a.autojoin = true,
            ("no_track", _) => a.no_track = true,
            ("preferred_lft", Some(v)) => {
                i += 1;
                if v.text == "forever" {
                    a.preferred_lft = Some(INFINITY_LIFE_TIME);
                } else if let Some(n) = common::read_unsigned(cx, v, 0, u32::MAX) {
                    a.preferred_lft = Some(n);
                } else {
                    general(
                        cx,
                        "invalid-preferred-lft",
                        &v.span,
                        format!("preferred_lft {} is invalid", v.text),
                    )
                    .with_token_mut(&v.text)
                    .help = Some("expected a number of seconds or 'forever'".into());
                }
            }
            ("track_group", Some(v)) if kind == AddressKind::Static => {
                if a.track_group.is_some() {
                    general(
                        cx,
                        "track-group-twice",
                        &v.span,
                        format!("track_group {} is a duplicate", v.text),
                    )
                    .with_token_mut(&v.text);
                    // keepalived stops reading the line here and keeps the address.
                    break;
                }
                i += 1;
                if env.track_groups.iter().any(|g| g.name == v.text) {
                    a.track_group = Some(v.text.clone());
                } else {
                    general(
                        cx,
                        "track-group-unknown",
                        &v.span,
                        format!("track_group {} not found", v.text),
                    )
                    .with_token_mut(&v.text)
                    .help = Some("define the track_group before the line that uses it".into());
                }
            }
            ("use_vmac", _) if kind == AddressKind::Virtual => a.use_vmac = true,
            _ => {
                general(
                    cx,
                    "address-unknown-option",
                    &w.span,
                    format!("Unknown configuration entry '{opt}' for ip address - ignoring"),
                )
                .with_token_mut(opt)
                .help = Some(match kind {
                    AddressKind::Virtual => "options are dev, scope, brd, label, peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track, preferred_lft, use_vmac".into(),
                    AddressKind::Static => "options are dev, scope, brd, label, peer, home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track, preferred_lft, track_group".into(),
                });
            }
        }
        i += 1;
    }

    if let Some(opt) = missing {
        general(
            cx,
            "address-missing-value",
            &line.end_span(),
            format!("No {opt} parameter specified for {text}"),
        )
        .help = Some(format!("'{opt}' needs a value"));
        return None;
    }

    if have_broadcast && a.peer.is_some() {
        general(
            cx,
            "broadcast-and-peer",
            &first.span,
            "Cannot specify broadcast and peer addresses - ignoring broadcast address",
        );
        a.brd = None;
    } else if let (IpAddr::V4(v4), Some(set)) = (a.addr, brd_host_bits) {
        if a.prefix_len <= 30 {
            let host_mask = u32::MAX.checked_shr(u32::from(a.prefix_len)).unwrap_or(0);
            let bits = u32::from(v4);
            a.brd = Some(Ipv4Addr::from(if set {
                bits | host_mask
            } else {
                bits & !host_mask
            }));
        } else {
            general(
                cx,
                "broadcast-prefix-too-long",
                &first.span,
                format!("Address prefix length {} too long for broadcast", a.prefix_len),
            );
        }
    }

    if kind == AddressKind::Static && a.dev.is_none() {
        let name = env.globals.default_interface.clone();
        if common::lookup_interface(cx, env.state, env.globals, &name, &first.span) == IfLookup::Missing {
            cx.report(
                crate::diag::Class::Fatal,
                "static-address-no-interface",
                &first.span,
                format!("Static address {text} requires either an interface or default interface must exist"),
            )
            .help = Some(format!(
                "add 'dev IF' to the line, or set default_interface in global_defs (now '{name}')"
            ));
            return None;
        }
        a.dev = Some(name);
    }

    if family == AddressFamily::Ipv6 {
        if a.scope != 0 {
            general(
                cx,
                "ipv6-scope",
                &first.span,
                format!("Cannot specify scope for IPv6 addresses ({text}) - ignoring scope"),
            );
            a.scope = 0;
        }
        if a.label.is_some() {
            general(
                cx,
                "ipv6-label",
                &first.span,
                format!("Cannot specify label for IPv6 addresses ({text}) - ignoring label"),
            );
            a.label = None;
        }
        if a.preferred_lft.is_none() {
            // keepalived's old defaults: a /128 is added deprecated, others preferred forever.
            a.preferred_lft = Some(if a.prefix_len == 128 {
                0
            } else {
                INFINITY_LIFE_TIME
            });
        }
    }

    if a.track_group.is_some() && a.dev.is_none() {
        general(
            cx,
            "track-group-no-interface",
            &first.span,
            "Static route cannot have track_group if interface not specified",
        );
        a.track_group = None;
    }
    Some(a)
}

#[cfg(test)]
mod tests {
    use crate::diag::Class;

    fn vips(body: &str) -> (Vec<super::VirtualAddress>, Vec<String>) {
        let text = format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{\n{body}\n }}\n}}\n"
        );
        let loaded = crate::load_str(&text);
        let msgs = loaded
            .diagnostics
            .iter()
            .map(|d| {
                let line = d.span.as_ref().map_or(0, |s| s.line);
                format!("{line}:{:?}:{}", d.class, d.message)
            })
            .collect();
        let addrs = loaded
            .config
            .vrrp
            .vrrp_instance
            .first()
            .map(|i| i.virtual_ipaddress.clone())
            .unwrap_or_default();
        (addrs, msgs)
    }

    #[test]
    fn full_line_grammar() {
        let (a, d) = vips("10.0.0.1/24 brd + dev eth0 scope link label eth0:1 no_track preferred_lft 30");
        assert!(d.iter().all(|m| !m.contains("General")), "{d:?}");
        let a = &a[0];
        assert_eq!(a.prefix_len, 24);
        assert_eq!(a.brd, Some("10.0.0.255".parse().unwrap()));
        assert_eq!(a.dev.as_deref(), Some("eth0"));
        assert_eq!(a.scope, 253);
        assert_eq!(a.label.as_deref(), Some("eth0:1"));
        assert!(a.no_track);
        assert_eq!(a.preferred_lft, Some(30));
        let (a, _) = vips("10.0.0.9/24 brd -");
        assert_eq!(a[0].brd, Some("10.0.0.0".parse().unwrap()));
        let (a, _) = vips("fe80::1/64 -nodad use_vmac");
        assert!(a[0].nodad && a[0].use_vmac);
        assert_eq!(a[0].preferred_lft, Some(super::INFINITY_LIFE_TIME));
    }

    #[test]
    fn keepalived_messages_and_quirks() {
        let cases: &[(&str, &str)] = &[
            ("10.0.0.300", "5:General:VRRP parsed invalid IP 10.0.0.300. skipping IP..."),
            ("10.0.0.1/33", "5:InvalidNumber:number '33' outside range [0, 32]"),
            ("10.0.0.1/33", "5:General:Invalid address prefix len 33 for address 10.0.0.1/33 - using 32"),
            ("fe80::1 brd +", "5:General:VRRP is trying to assign a broadcast brd to the IPv6 address fe80::1 !!?? WTF... skipping VIP..."),
            ("10.0.0.1 brd 1.2.3", "5:General:VRRP is trying to assign invalid broadcast 1.2.3. skipping VIP..."),
            ("10.0.0.1 label abcdefghijklmnop", "5:General:Address label abcdefghijklmnop is longer than maximum length 15 - removing address"),
            ("10.0.0.1 dev", "5:General:No dev parameter specified for 10.0.0.1"),
            ("10.0.0.1 dev eth0 dev eth0", "5:General:Cannot specify ipaddress device more than once for 10.0.0.1"),
            ("10.0.0.1 scope nowhere2", "5:General:Invalid scope 'nowhere2' specified for 10.0.0.1 - ignoring"),
            ("10.0.0.1 peer 10.0.0.2 peer 10.0.0.3", "5:General:Peer 10.0.0.3 - another peer has already been specified"),
            ("10.0.0.1 peer 10.0.0.2 peer 10.0.0.3", "5:General:Unknown configuration entry '10.0.0.3' for ip address - ignoring"),
            ("10.0.0.1/24 peer 10.0.0.2", "5:General:Cannot specify address prefix when specifying peer address - ignoring"),
            ("10.0.0.1 peer fe80::1", "5:General:Peer address fe80::1 does not match address family"),
            ("10.0.0.1 brd + peer 10.0.0.2", "5:General:Cannot specify broadcast and peer addresses - ignoring broadcast address"),
            ("10.0.0.1/31 brd +", "5:General:Address prefix length 31 too long for broadcast"),
            ("fe80::1 scope link label x", "5:General:Cannot specify scope for IPv6 addresses (fe80::1) - ignoring scope"),
            ("fe80::1 scope link label x", "5:General:Cannot specify label for IPv6 addresses (fe80::1) - ignoring label"),
            ("10.0.0.1 track_group G", "5:General:Unknown configuration entry 'track_group' for ip address - ignoring"),
            ("10.0.0.1 track_group G", "5:General:Unknown configuration entry 'G' for ip address - ignoring"),
            ("10.0.0.1 preferred_lft soon", "5:General:preferred_lft soon is invalid"),
        ];
        for (line, want) in cases {
            let (_, d) = vips(line);
            assert!(d.iter().any(|m| m == want), "{line}: want {want}, got {d:?}");
        }
        let (a, _) = vips("10.0.0.1 peer 10.0.0.2 peer 10.0.0.3");
        assert_eq!(a[0].peer, Some("10.0.0.2".parse().unwrap()));
        // An empty prefix reads as 0 without complaint (strtoul of "").
        let (a, d) = vips("10.0.0.1/");
        assert_eq!(a[0].prefix_len, 0);
        assert!(!d.iter().any(|m| m.contains("prefix")), "{d:?}");
        let _ = Class::General;
    }
}
