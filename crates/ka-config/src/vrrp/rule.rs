//! One line of `virtual_rules` or `static_rules`: the `ip rule` grammar keepalived accepts
//! (its `alloc_rule`), with keepalived's quirks: `inet`/`inet6` swallow the next word, a
//! `default`/`all` prefix after a family word counts as mixing families, single ports are
//! refused by `sport`/`dport`, and rules without a preference get 16384, 16383, ... per
//! family, in configuration order across static and virtual rules.

use crate::cx::Cx;
use crate::diag::Span;
use crate::syntax::{Statement, Word};
use serde::Serialize;
use std::path::Path;

use super::common::{self, general, AddressFamily, IfLookup};
use super::route::{get_realms, parse_route_prefix, parse_u64, RoutePrefix, RTPROT_KEEPALIVED};
use super::rt_tables::{self, strtoul_base0, NameTable};
use super::Env;

/// The first preference keepalived gives rules that have none (`RULE_START_PRIORITY`).
pub const RULE_START_PRIORITY: u32 = 16384;

/// What a rule does with matching packets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action", content = "target")]
pub enum RuleAction {
    /// `table`/`lookup` (or `l3mdev`).
    ToTable,
    /// `goto PREF`.
    Goto(u32),
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// A port range (`sport`/`dport A-B`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PortRange {
    pub start: u16,
    pub end: u16,
}

/// A policy routing rule keepalived installs (virtual) or keeps installed (static).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub family: AddressFamily,
    pub action: RuleAction,
    /// `from PREFIX`.
    pub from: Option<RoutePrefix>,
    /// `to PREFIX`.
    pub to: Option<RoutePrefix>,
    /// `table`/`lookup` (0 = none given).
    pub table: u32,
    /// `not`.
    pub invert: bool,
    /// `preference`/`order`/`priority` (keepalived fills it in when missing).
    pub preference: u32,
    pub tos: Option<u8>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<(u32, Option<u32>)>,
    pub realms: Option<u32>,
    /// `suppress_prefixlength`/`sup_pl`.
    pub suppress_prefixlength: Option<u32>,
    /// `suppress_ifgroup`/`sup_group`.
    pub suppress_ifgroup: Option<u32>,
    /// `dev`/`iif`.
    pub iif: Option<String>,
    pub oif: Option<String>,
    /// `tunnel-id`.
    pub tunnel_id: Option<u64>,
    pub uidrange: Option<(u32, u32)>,
    pub l3mdev: bool,
    /// `protocol`: forced to `RTPROT_KEEPALIVED` (18) unless `no_track`.
    pub protocol: Option<u8>,
    pub ipproto: Option<u8>,
    pub sport: Option<PortRange>,
    pub dport: Option<PortRange>,
    pub no_track: bool,
    /// `track_group GROUP` (static rules).
    pub track_group: Option<String>,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// Result of reading one rule line.
pub(crate) enum RuleLine {
    Rule(Box<Rule>),
    Dropped,
    /// A value was missing: keepalived exits on the spot.
    Abort,
}

/// `read_unsigned_base(str, base 0)`: C numbers in any base, with `read_unsigned`'s messages.
fn parse_unsigned_base0(text: &str) -> Result<u32, String> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if t.starts_with('-') {
        return Err(format!("negative number '{text}'"));
    }
    let (value, whole) = strtoul_base0(t);
    if !whole && !t.is_empty() {
        return Err(format!("invalid number '{text}'"));
    }
    u32::try_from(value).map_err(|_| format!("number '{text}' outside unsigned integer range"))
}

/// `sscanf(text, "%hu-%hu")` giving both numbers (keepalived refuses a single port).
fn port_range(text: &str) -> Option<PortRange> {
    let (a, b) = text.split_once('-')?;
    let num = |s: &str| -> Option<u16> {
        let s = s.trim_start();
        let digits: String = s
            .chars()
            .enumerate()
            .take_while(|(i, c)| c.is_ascii_digit() || (*i == 0 && *c == '+'))
            .map(|(_, c)| c)
            .collect();
        // %hu keeps the low 16 bits of what strtoul reads.
        digits
            .trim_start_matches('+')
            .parse::<u64>()
            .ok()
            .map(|v| v as u16)
    };
    let start = num(a)?;
    // The first number must run right up to the '-'.
    if a.trim_start()
        .trim_start_matches('+')
        .chars()
        .any(|c| !c.is_ascii_digit())
    {
        return None;
    }
    Some(PortRange { start, end: num(b)? })
}

/// `sscanf(text, "%u-%u")`.
fn uid_range(text: &str) -> Option<(u32, u32)> {
    let (a, b) = text.split_once('-')?;
    let lead = |s: &str| -> Option<u32> {
        let digits: String = s.trim_start().chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u64>().ok().map(|v| v as u32)
    };
    if a.trim_start().chars().any(|c| !c.is_ascii_digit()) {
        return None;
    }
    Some((lead(a)?, lead(b)?))
}

/// keepalived's `inet_proto_a2n`: a number up to 127, or a name from /etc/protocols.
fn ip_proto(cx: &Cx<'_>, text: &str) -> Option<u8> {
    let t = text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    if t.is_empty() || t.starts_with('-') {
        return None;
    }
    let digits: String = t.chars().take_while(char::is_ascii_digit).collect();
    let n = if digits.is_empty() {
        0
    } else {
        digits.parse::<u64>().unwrap_or(u64::MAX)
    };
    if n > 127 {
        return None;
    }
    if digits.len() == t.len() {
        return Some(n as u8);
    }
    let db = cx.host.read_file(Path::new("/etc/protocols")).ok()?;
    db.lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let name = w.next()?;
            let number = w.next()?.parse::<u8>().ok()?;
            let aliases: Vec<&str> = w.collect();
            (name == t || aliases.contains(&t)).then_some(number)
        })
        .next()
}

/// keepalived's `alloc_rule` for one line.
pub(crate) fn parse_rule_line(
    cx: &mut Cx<'_>,
    env: &mut Env<'_>,
    line: &Statement,
    allow_track_group: bool,
) -> RuleLine {
    let words = &line.words;
    let anchor = words.first().map_or_else(|| line.end_span(), |w| w.span.clone());
    let mut family: Option<AddressFamily> = None;
    let mut action: Option<RuleAction> = None;
    let mut preference: Option<u32> = None;
    let mut table_option = false;
    let mut r = Rule {
        family: AddressFamily::Ipv4,
        action: RuleAction::ToTable,
        from: None,
        to: None,
        table: 0,
        invert: false,
        preference: 0,
        tos: None,
        fwmark: None,
        realms: None,
        suppress_prefixlength: None,
        suppress_ifgroup: None,
        iif: None,
        oif: None,
        tunnel_id: None,
        uidrange: None,
        l3mdev: false,
        protocol: None,
        ipproto: None,
        sport: None,
        dport: None,
        no_track: false,
        track_group: None,
        span: Some(anchor.clone()),
    };
    macro_rules! value {
        ($i:expr) => {
            match cx.word(line, $i) {
                Some(w) => w,
                None => return RuleLine::Abort,
            }
        };
    }
    macro_rules! drop_rule {
        ($span:expr, $code:literal, $msg:expr) => {{
            general(cx, $code, $span, $msg);
            return RuleLine::Dropped;
        }};
    }
    const MIXED: &str = "rule specification has mixed IPv4 and IPv6";
    const MULTIPLE: &str =
        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable for rule";
    let mut i = 0;
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
                            "inet6 specified for IPv4 rule"
                        } else {
                            "inet specified for IPv6 rule"
                        };
                        drop_rule!(&w.span, "rule-family", msg);
                    }
                    _ => {}
                }
                // keepalived steps here and again at the end of the loop: the next word is lost.
                i += 1;
            }
            "from" | "to" => {
                i += 1;
                let v = value!(i);
                let Some(p) = parse_route_prefix(cx, v) else {
                    drop_rule!(
                        &v.span,
                        "rule-address",
                        format!("Invalid rule {} address {}", w.text, v.text)
                    );
                };
                match family {
                    None => family = p.family,
                    Some(f) if Some(f) != p.family => drop_rule!(&v.span, "rule-family", MIXED),
                    _ => {}
                }
                if w.text == "from" {
                    r.from = Some(p);
                } else {
                    r.to = Some(p);
                }
            }
            "table" | "lookup" => {
                i += 1;
                let v = value!(i);
                let Some(t) = rt_tables::find(cx.host, NameTable::Tables, &v.text) else {
                    drop_rule!(
                        &v.span,
                        "rule-table",
                        format!("Routing table {} not found for rule", v.text)
                    );
                };
                if t == 0 {
                    drop_rule!(&v.span, "rule-table", "Table 0 is not valid");
                }
                r.table = t;
                if action.is_some() {
                    drop_rule!(&w.span, "rule-action", MULTIPLE);
                }
                action = Some(RuleAction::ToTable);
            }
            "not" => r.invert = true,
            "preference" | "order" | "priority" => {
                i += 1;
                let v = value!(i);
                match parse_unsigned_base0(&v.text) {
                    Ok(p) => preference = Some(p),
                    Err(m) => {
                        cx.report(crate::diag::Class::InvalidNumber, "invalid-number", &v.span, m)
                            .with_token_mut(&v.text);
                        // keepalived prints the keyword here, not the value.
                        drop_rule!(
                            &v.span,
                            "rule-preference",
                            format!("Invalid rule preference {} specified", w.text)
                        );
                    }
                }
            }
            "tos" | "dsfield" => {
                i += 1;
                let v = value!(i);
                match rt_tables::find(cx.host, NameTable::Dsfield, &v.text) {
                    Some(t) => r.tos = Some(t as u8),
                    None => drop_rule!(&v.span, "rule-tos", format!("TOS value {} is invalid", v.text)),
                }
            }
            "fwmark" => {
                i += 1;
                let v = value!(i);
                match parse_fwmark(&v.text) {
                    Some(m) => r.fwmark = Some(m),
                    None => {
                        let shown = v.text.trim_start_matches([' ', '\t']);
                        drop_rule!(
                            &v.span,
                            "rule-fwmark",
                            format!("Invalid rule fwmark {shown} specified")
                        );
                    }
                }
            }
            "realms" => {
                i += 1;
                let v = value!(i);
                let Some(realms) = get_realms(cx, &v.text) else {
                    drop_rule!(
                        &v.span,
                        "invalid-realms",
                        format!("invalid realms {} for rule", v.text)
                    );
                };
                r.realms = Some(realms);
                table_option = true;
                match family {
                    None => family = Some(AddressFamily::Ipv4),
                    Some(AddressFamily::Ipv6) => {
                        drop_rule!(&v.span, "realms-ipv6", "realms is only valid for IPv4")
                    }
                    _ => {}
                }
            }
            "suppress_prefixlength" | "sup_pl" => {
                i += 1;
                let v = value!(i);
                match common::read_unsigned(cx, v, 0, i32::MAX as u32) {
                    Some(n) => r.suppress_prefixlength = Some(n),
                    None => drop_rule!(
                        &v.span,
                        "rule-suppress",
                        format!("Invalid suppress_prefixlength {} specified", w.text)
                    ),
                }
                table_option = true;
            }
            "suppress_ifgroup" | "sup_group" => {
                i += 1;
                let v = value!(i);
                match rt_tables::find(cx.host, NameTable::Groups, &v.text) {
                    Some(g) => r.suppress_ifgroup = Some(g),
                    None => drop_rule!(
                        &v.span,
                        "rule-suppress",
                        format!("suppress_group {} is invalid", v.text)
                    ),
                }
                table_option = true;
            }
            "dev" | "iif" | "oif" => {
                i += 1;
                let d = value!(i);
                if common::lookup_interface(cx, env.state, env.globals, &d.text, &d.span) == IfLookup::Missing
                {
                    general(
                        cx,
                        "interface-missing",
                        &d.span,
                        format!("WARNING - interface {} for rule doesn't exist", d.text),
                    )
                    .with_token_mut(&d.text)
                    .help =
                        Some("name an existing interface, or set 'dynamic_interfaces' in global_defs".into());
                    return RuleLine::Dropped;
                }
                if w.text == "oif" {
                    r.oif = Some(d.text.clone());
                } else {
                    r.iif = Some(d.text.clone());
                }
            }
            "tunnel-id" => {
                i += 1;
                let v = value!(i);
                match parse_u64(&v.text) {
                    Ok(n) => r.tunnel_id = Some(n),
                    Err(m) => {
                        cx.report(crate::diag::Class::InvalidNumber, "invalid-number", &v.span, m);
                        drop_rule!(
                            &v.span,
                            "rule-tunnel-id",
                            format!("Invalid tunnel-id {} specified", w.text)
                        );
                    }
                }
            }
            "uidrange" => {
                i += 1;
                let v = value!(i);
                match uid_range(&v.text) {
                    Some(u) => r.uidrange = Some(u),
                    None => drop_rule!(
                        &v.span,
                        "rule-uidrange",
                        format!("Invalid uidrange {} specified", w.text)
                    ),
                }
            }
            "l3mdev" => {
                r.l3mdev = true;
                if action.is_some() {
                    drop_rule!(&w.span, "rule-action", "Cannot specify l3mdev with other action");
                }
                action = Some(RuleAction::ToTable);
            }
            "protocol" => {
                i += 1;
                let v = value!(i);
                match common::read_unsigned(cx, v, 0, 255) {
                    Some(p) => r.protocol = Some(p as u8),
                    None => {
                        general(
                            cx,
                            "rule-protocol",
                            &v.span,
                            format!("Invalid protocol {}", v.text),
                        );
                    }
                }
            }
            "ipproto" => {
                i += 1;
                let v = value!(i);
                match ip_proto(cx, &v.text) {
                    Some(p) => r.ipproto = Some(p),
                    None => {
                        general(cx, "rule-ipproto", &v.span, format!("Invalid ipproto {}", v.text));
                    }
                }
            }
            "sport" | "dport" => {
                i += 1;
                let v = value!(i);
                match port_range(&v.text) {
                    Some(p) if w.text == "sport" => r.sport = Some(p),
                    Some(p) => r.dport = Some(p),
                    None => {
                        general(
                            cx,
                            "rule-port",
                            &v.span,
                            format!("invalid {} range {}", w.text, v.text),
                        )
                        .help = Some(
                            "keepalived 2.2.7 only accepts a range: write PORT-PORT for one port".into(),
                        );
                    }
                }
            }
            "no_track" => r.no_track = true,
            "track_group" if allow_track_group => {
                i += 1;
                let v = value!(i);
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
            _ => {
                let mut word: &Word = w;
                if word.text == "type" {
                    i += 1;
                    word = value!(i);
                }
                let new_action = match word.text.as_str() {
                    "goto" => {
                        i += 1;
                        let v = value!(i);
                        match common::read_unsigned(cx, v, 0, u32::MAX) {
                            Some(t) => RuleAction::Goto(t),
                            None => drop_rule!(&v.span, "rule-goto", "Invalid target goto specified"),
                        }
                    }
                    "nop" => RuleAction::Nop,
                    other => match rt_tables::route_type(other) {
                        Some(6) => RuleAction::Blackhole,
                        Some(7) => RuleAction::Unreachable,
                        Some(8) => RuleAction::Prohibit,
                        Some(_) => {
                            drop_rule!(&word.span, "rule-action", format!("Invalid rule action {other}"))
                        }
                        None => {
                            general(cx, "rule-unknown-option", &word.span, format!("Unknown rule option {other}"))
                                .with_token_mut(other)
                                .help = Some(
                                "rule options are from, to, table, preference, tos, fwmark, realms, dev/iif, oif, \
                                 sport, dport, ipproto, protocol, ... and an action (table, goto, nop, blackhole, \
                                 unreachable, prohibit)"
                                    .into(),
                            );
                            return RuleLine::Dropped;
                        }
                    },
                };
                if action.is_some() {
                    drop_rule!(
                        &word.span,
                        "rule-action",
                        "Cannot specify more than one of table/nop/goto/blackhole/prohibit/unreachable/l3mdev for rule"
                    );
                }
                action = Some(new_action);
            }
        }
        i += 1;
    }

    if let Some(RuleAction::Goto(target)) = action {
        match preference {
            Some(p) if p >= target => drop_rule!(
                &anchor,
                "rule-goto",
                format!("Invalid rule - preference {p} >= goto target {target}")
            ),
            None => drop_rule!(
                &anchor,
                "rule-goto",
                format!("Invalid rule - goto target {target} specified without preference")
            ),
            _ => {}
        }
    }
    let Some(action) = action else {
        drop_rule!(
            &anchor,
            "rule-no-action",
            "No action specified for rule - ignoring"
        );
    };
    r.action = action;
    if action != RuleAction::ToTable && table_option {
        drop_rule!(
            &anchor,
            "rule-table-option",
            "suppressor/realm specified for non table action - skipping"
        );
    }
    if r.table != 0 && r.l3mdev {
        drop_rule!(
            &anchor,
            "rule-l3mdev",
            "table cannot be specified for l3mdev rules"
        );
    }
    if !r.no_track {
        if r.protocol.is_some_and(|p| p != RTPROT_KEEPALIVED) {
            general(
                cx,
                "rule-protocol-reset",
                &anchor,
                format!(
                    "Rule cannot be tracked if protocol is not RTPROT_KEEPALIVED({RTPROT_KEEPALIVED}), resetting protocol"
                ),
            )
            .help = Some("add 'no_track' to keep your protocol".into());
        }
        r.protocol = Some(RTPROT_KEEPALIVED);
    }
    if r.track_group.is_some() && r.iif.is_none() {
        general(
            cx,
            "track-group-no-interface",
            &anchor,
            "Static rule cannot have track_group if dev/iif not specified",
        );
        r.track_group = None;
    }
    r.family = family.unwrap_or(AddressFamily::Ipv4);
    for p in [&mut r.from, &mut r.to].into_iter().flatten() {
        if p.family.is_none() {
            p.family = Some(r.family);
        }
    }
    r.preference = match preference {
        Some(p) => p,
        None => {
            let counter = match r.family {
                AddressFamily::Ipv4 => &mut env.state.next_rule_priority_v4,
                AddressFamily::Ipv6 => &mut env.state.next_rule_priority_v6,
            };
            let p = *counter;
            *counter = counter.wrapping_sub(1);
            general(
                cx,
                "rule-no-preference",
                &anchor,
                format!(
                    "Rule has no preference specified - setting to {p}. This is probably not what you want."
                ),
            )
            .help = Some("give each rule a 'preference N'".into());
            p
        }
    };
    RuleLine::Rule(Box::new(r))
}

/// `fwmark MARK[/MASK]`, numbers in any C base; None on anything keepalived refuses.
fn parse_fwmark(text: &str) -> Option<(u32, Option<u32>)> {
    let t = text.trim_start_matches([' ', '\t']);
    if t.starts_with('-') {
        return None;
    }
    let (mark_text, mask_text) = match t.split_once('/') {
        Some((m, k)) => (m, Some(k)),
        None => (t, None),
    };
    let (mark, whole) = strtoul_base0(mark_text);
    // An empty mark reads as 0 in C (strtoul consumes nothing, the next char is '/' or NUL).
    if (!whole && !mark_text.is_empty()) || mark > u64::from(u32::MAX) {
        return None;
    }
    let mask = match mask_text {
        None => None,
        Some(k) => {
            if k.starts_with(|c: char| c.is_whitespace() || c == '-') {
                return None;
            }
            let (mask, whole) = strtoul_base0(k);
            if (!whole && !k.is_empty()) || mask > u64::from(u32::MAX) {
                return None;
            }
            Some(mask as u32)
        }
    };
    Some((mark as u32, mask))
}

#[cfg(test)]
mod tests {
    fn rules(body: &str) -> (Vec<super::Rule>, Vec<String>) {
        let text = format!(
            "vrrp_instance VI_1 {{\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {{\n  10.0.0.1\n }}\n virtual_rules {{\n{body}\n }}\n}}\n"
        );
        let loaded = crate::load_str(&text);
        let msgs = loaded
            .diagnostics
            .iter()
            .filter(|d| d.class != crate::diag::Class::Info)
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
            .map(|i| i.virtual_rules.clone())
            .unwrap_or_default();
        (r, msgs)
    }

    #[test]
    fn messages_match_keepalived_2_2_7() {
        // Each expectation was checked against keepalived 2.2.7 -t.
        let cases: &[(&str, &[&str])] = &[
            ("inet from all table 100", &["8:General:Unknown rule option all"]),
            (
                "from 10.0.0.0/8 sport 80 preference 0x10 table main",
                &["8:General:invalid sport range 80"],
            ),
            (
                "to 10.0.0.0/8 goto 5 preference 10",
                &["8:General:Invalid rule - preference 10 >= goto target 5"],
            ),
            ("fwmark 0x10/0xff table 100 pref 7", &["8:General:Unknown rule option pref"]),
            ("from 1.2.3.4 lookup 0", &["8:General:Table 0 is not valid"]),
            (
                "to 192.168.200./24 table 2",
                &[
                    "8:General:VRRP parsed invalid IP 192.168.200./24. skipping IP...",
                    "8:General:Invalid rule to address 192.168.200./24",
                ],
            ),
            (
                "from 192.168.200.0/24 table 2",
                &["8:General:Rule has no preference specified - setting to 16384. This is probably not what you want."],
            ),
        ];
        for (line, want) in cases {
            let (_, got) = rules(line);
            assert_eq!(
                got,
                want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{line}"
            );
        }
    }

    #[test]
    fn rule_model_and_preference_counter() {
        let (r, _) = rules(
            "from 10.0.0.0/8 sport 80-80 preference 0x10 table main\n from 10.1.0.0/16 table 5\n from 10.2.0.0/16 table 5\n from fe80::/64 table 5",
        );
        assert_eq!(r[0].preference, 16);
        assert_eq!(r[0].table, 254);
        assert_eq!(r[0].sport, Some(super::PortRange { start: 80, end: 80 }));
        assert_eq!(r[0].protocol, Some(super::RTPROT_KEEPALIVED));
        assert_eq!(
            (r[1].preference, r[2].preference, r[3].preference),
            (16384, 16383, 16384)
        );
        let (r, _) = rules("fwmark 0x10/0xff blackhole preference 9");
        assert_eq!(r[0].fwmark, Some((16, Some(255))));
        assert_eq!(r[0].action, super::RuleAction::Blackhole);
    }

    #[test]
    fn fwmark_and_ports_follow_c() {
        assert_eq!(super::parse_fwmark("5"), Some((5, None)));
        assert_eq!(super::parse_fwmark("5/-1"), None);
        assert_eq!(super::parse_fwmark("5x"), None);
        assert_eq!(super::port_range("80"), None);
        assert_eq!(super::port_range("1-65535").map(|p| p.end), Some(65535));
    }
}
