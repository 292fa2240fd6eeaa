//! `virtual_server IP [PORT] | fwmark N | group NAME { ... }` and its `sorry_server`
//! (keepalived's `vs_handler`, the VS keyword handlers and `vs_end_handler`).

use super::addr::{self, Family};
use super::forwarding::{self, Forwarding};
use super::real_server::{self, RealServer};
use super::scheduler::{self, LbAlgo, SchedFlags};
use super::{code, notify, read, LvsConfig};
use crate::cx::Cx;
use crate::diag::Span;
use crate::script::Script;
use crate::syntax::Statement;
use ka_units::Micros;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr};

/// What a virtual server is addressed by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VsKey {
    /// `virtual_server IP [PORT]`; port 0 when none.
    Addr { ip: IpAddr, port: u16 },
    /// `virtual_server fwmark N`. keepalived accepts `fwmark 0` but then treats the server as
    /// an address server with no address (we print it as `[]`). The family is the virtual
    /// server's `ip_family`.
    Fwmark { mark: u32 },
    /// `virtual_server group NAME`. `seq` numbers the servers using the same group (0, 1, ...)
    /// once validation has linked them, as keepalived does; it shows in messages as `[NAME]:seq`.
    Group { name: String, seq: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// As keepalived prints it in server names.
    pub fn lower(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
            Protocol::Sctp => "sctp",
        }
    }
}

/// `persistence_granularity`: a netmask for IPv4, a prefix length for IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Granularity {
    Ipv4Mask(Ipv4Addr),
    Ipv6Prefix(u8),
}

/// `sorry_server IP [PORT]`: where traffic goes when no real server is up.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SorryServer {
    #[serde(skip)]
    pub span: Option<Span>,
    pub ip: IpAddr,
    /// 0 when none; validation fills it in from the virtual server for non-NAT methods.
    pub port: u16,
    /// `sorry_server_inhibit`.
    pub inhibit: bool,
    /// `sorry_server_lvs_method`; starts as the virtual server's method at the time of the
    /// `sorry_server` line.
    pub forwarding: Forwarding,
}

#[derive(Clone, Debug, Serialize)]
pub struct VirtualServer {
    #[serde(skip)]
    pub span: Option<Span>,
    pub key: VsKey,
    /// `ip_family`, or the family of the address, or of the real/sorry servers.
    pub ip_family: Option<Family>,
    /// `protocol`; after validation address-based servers without one use UDP (keepalived's
    /// kernel default) and fwmark-only servers have none.
    pub protocol: Option<Protocol>,
    /// `lb_algo` / `lvs_sched`; `wlc` after validation when not set.
    pub lvs_sched: Option<LbAlgo>,
    /// `ops`: one-packet scheduling (UDP only; cleared by validation otherwise).
    pub ops: bool,
    pub sched_flags: SchedFlags,
    /// `lb_kind` / `lvs_method`; NAT after validation when not set.
    pub forwarding: Forwarding,
    /// `persistence_engine` (at most 16 characters).
    pub persistence_engine: Option<String>,
    /// `persistence_timeout` in seconds; 0: not persistent (default).
    pub persistence_timeout_secs: u32,
    pub persistence_granularity: Option<Granularity>,
    /// `quorum`: default 1.
    pub quorum: u32,
    /// `hysteresis`: default 0.
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    /// `alpha`: default false (the keyword sets true whatever follows it).
    pub alpha: bool,
    /// `omega`: default false.
    pub omega: bool,
    /// `inhibit_on_failure`: default false (the keyword sets true whatever follows it).
    pub inhibit_on_failure: bool,
    /// `ha_suspend`: default false.
    pub ha_suspend: bool,
    /// `delay_loop`: default 60 s.
    pub delay_loop: Micros,
    /// `connect_timeout`: default 5 s.
    pub connect_timeout: Micros,
    /// `warmup`: unset by default (then each checker uses its delay_loop).
    pub warmup: Option<Micros>,
    /// `retry`: unset by default (then each checker uses its type's default).
    pub retry: Option<u32>,
    /// `delay_before_retry`: unset by default (then the checker type's default).
    pub delay_before_retry: Option<Micros>,
    /// `weight`: default weight of real servers without one; default 1.
    pub weight: u32,
    /// `smtp_alert`; after validation global smtp_alert_checker / smtp_alert, else false.
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    pub sorry_server: Option<SorryServer>,
    /// Set by validation when a real server has the sorry server's address.
    pub sorry_server_duplicates_rs: bool,
    pub real_servers: Vec<RealServer>,
}

/// keepalived's default `delay_loop` (KEEPALIVED_DEFAULT_DELAY).
pub const DEFAULT_DELAY_LOOP: Micros = Micros::from_secs(60);
/// keepalived's default `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Micros = Micros::from_secs(5);
/// IPVS_SVC_PERSISTENT_TIMEOUT: what `persistence_timeout` without a value (and a few
/// adjustments) set.
pub const DEFAULT_PERSISTENCE_TIMEOUT_SECS: u32 = 360;
/// IPVS_WEIGHT_LIMIT.
pub const WEIGHT_LIMIT: u32 = 2_147_483_647;

impl VirtualServer {
    /// A virtual server with keepalived's defaults (`alloc_vs`).
    pub fn new(key: VsKey) -> VirtualServer {
        let ip_family = match &key {
            VsKey::Addr { ip, .. } => Some(Family::of(ip)),
            _ => None,
        };
        VirtualServer {
            span: None,
            key,
            ip_family,
            protocol: None,
            lvs_sched: None,
            ops: false,
            sched_flags: SchedFlags::default(),
            forwarding: Forwarding::default(),
            persistence_engine: None,
            persistence_timeout_secs: 0,
            persistence_granularity: None,
            quorum: 1,
            hysteresis: 0,
            quorum_up: None,
            quorum_down: None,
            alpha: false,
            omega: false,
            inhibit_on_failure: false,
            ha_suspend: false,
            delay_loop: DEFAULT_DELAY_LOOP,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            warmup: None,
            retry: None,
            delay_before_retry: None,
            weight: 1,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            sorry_server: None,
            sorry_server_duplicates_rs: false,
            real_servers: Vec::new(),
        }
    }

    /// The firewall mark of a `virtual_server fwmark N` with N ≠ 0 (0 behaves as no mark).
    pub fn fwmark(&self) -> Option<u32> {
        match self.key {
            VsKey::Fwmark { mark } if mark != 0 => Some(mark),
            _ => None,
        }
    }

    pub fn group_name(&self) -> Option<&str> {
        match &self.key {
            VsKey::Group { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The port of the service: the address's port, 0 for fwmarks, the sequence number for
    /// groups (as keepalived stores it).
    pub fn port(&self) -> u16 {
        match &self.key {
            VsKey::Addr { port, .. } => *port,
            VsKey::Fwmark { .. } => 0,
            VsKey::Group { seq, .. } => u16::try_from(*seq).unwrap_or(u16::MAX),
        }
    }

    pub fn ip(&self) -> Option<&IpAddr> {
        match &self.key {
            VsKey::Addr { ip, .. } => Some(ip),
            _ => None,
        }
    }

    /// keepalived's FMT_VS: `[group]:seq`, `FWM n` or `[ip]:proto:port`.
    pub fn describe(&self) -> String {
        describe_vs(&self.key, self.protocol)
    }

    /// keepalived's FMT_RS for a server of this virtual server: `[ip]:proto:port` with the
    /// virtual server's protocol.
    pub fn describe_server(&self, ip: &IpAddr, port: u16) -> String {
        describe_server(self.protocol, ip, port)
    }

    /// Whether keepalived treats this as an address-based server (not fwmark, not group).
    pub(crate) fn is_plain_address(&self) -> bool {
        matches!(self.key, VsKey::Addr { .. } | VsKey::Fwmark { mark: 0 })
    }
}

fn proto_name(protocol: Option<Protocol>) -> &'static str {
    protocol.map(Protocol::lower).unwrap_or("none")
}

/// FMT_VS from the parts that decide it (the protocol is the one at the time of printing).
pub(crate) fn describe_vs(key: &VsKey, protocol: Option<Protocol>) -> String {
    match key {
        VsKey::Group { name, seq } => format!("[{name}]:{seq}"),
        VsKey::Fwmark { mark } if *mark != 0 => format!("FWM {mark}"),
        VsKey::Addr { ip, port } => addr::trio(Some(ip), proto_name(protocol), *port),
        VsKey::Fwmark { .. } => addr::trio(None, proto_name(protocol), 0),
    }
}

/// FMT_RS: a real or sorry server with the virtual server's protocol.
pub(crate) fn describe_server(protocol: Option<Protocol>, ip: &IpAddr, port: u16) -> String {
    addr::trio(Some(ip), proto_name(protocol), port)
}

/// `virtual_server ...` at the top level.
pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement, lvs: &mut LvsConfig) {
    let Some(key) = parse_header(cx, stmt) else {
        // keepalived skips the whole block.
        return;
    };
    let mut vs = VirtualServer::new(key);
    vs.span = Some(stmt.span().clone());
    let block = cx.block(stmt);
    if let Some(block) = block {
        cx.each_statement(&block.statements, "virtual_server", &mut |cx, s| {
            parse_keyword(cx, s, &mut vs, lvs)
        });
    }
    let end = block
        .map(|b| b.end_span().clone())
        .unwrap_or_else(|| stmt.end_span());
    end_of_block(cx, &mut vs, &end);
    lvs.virtual_servers.push(vs);
}

fn parse_header(cx: &mut Cx<'_>, stmt: &Statement) -> Option<VsKey> {
    let first = read::text(cx, stmt, 1)?;
    match first.as_str() {
        // keepalived crashes on `group`/`fwmark` without a value; we abort as for any
        // missing parameter.
        "group" => Some(VsKey::Group {
            name: read::text(cx, stmt, 2)?,
            seq: 0,
        }),
        "fwmark" => {
            let msg = |w: &str| format!("virtual server fwmark '{w}' must be in [0, 4294967295] - ignoring");
            let mark = read::unsigned_required(cx, stmt, 2, 0, u32::MAX, msg)?;
            Some(VsKey::Fwmark { mark })
        }
        _ => {
            let port_word = stmt.words.get(2).map(|w| w.text.clone());
            let has_port = !addr::is_no_port(port_word.as_deref());
            let port = addr::read_port_word(cx, stmt, 2);
            let ip = addr::parse_ip(&first);
            match (port, ip) {
                (Ok(port), Some(ip)) => Some(VsKey::Addr { ip, port }),
                _ => {
                    let p = port_word.unwrap_or_default();
                    let msg = if has_port {
                        format!("Invalid virtual server IP address/port {first}/{p} - skipping")
                    } else {
                        format!("Invalid virtual server IP address {first} - skipping")
                    };
                    read::error_at_word(
                        cx,
                        stmt,
                        1,
                        msg,
                        "expected 'virtual_server IP [PORT]', 'virtual_server fwmark N' or 'virtual_server group NAME'; the block is skipped",
                    );
                    None
                }
            }
        }
    }
}

/// keepalived's `vs_end_handler`, at the closing brace.
fn end_of_block(cx: &mut Cx<'_>, vs: &mut VirtualServer, end: &Span) {
    if let Some(sorry) = &vs.sorry_server {
        if !sorry.forwarding.is_tunnel() {
            let fam = Family::of(&sorry.ip);
            match vs.ip_family {
                None => vs.ip_family = Some(fam),
                Some(f) if f != fam => {
                    let msg = format!(
                        "Address family of virtual server and sorry server {} don't match - skipping sorry server.",
                        sorry.ip
                    );
                    read::error(
                        cx,
                        code::REMOVED,
                        end,
                        msg,
                        "use a sorry server of the virtual server's family, or a TUN sorry server",
                    );
                    vs.sorry_server = None;
                }
                Some(_) => {}
            }
        }
    }
    if vs.ip_family.is_none() && !matches!(vs.key, VsKey::Group { .. }) {
        // Only a fwmark server whose real and sorry servers are all tunnelled gets here: one
        // common family if there is one, otherwise IPv4.
        let mut fam = vs.sorry_server.as_ref().map(|s| Family::of(&s.ip));
        let mut mixed = false;
        for rs in &vs.real_servers {
            let f = Family::of(&rs.ip);
            match fam {
                None => fam = Some(f),
                Some(x) if x != f => {
                    mixed = true;
                    break;
                }
                Some(_) => {}
            }
        }
        vs.ip_family = if mixed {
            Some(Family::Inet)
        } else {
            Some(fam.unwrap_or(Family::Inet))
        };
    }
}

const NO_ARGS: &[&str] = &["inhibit_on_failure", "alpha", "omega", "ha_suspend"];

fn parse_keyword(cx: &mut Cx<'_>, s: &Statement, vs: &mut VirtualServer, lvs: &mut LvsConfig) -> bool {
    let kw = s.keyword();
    if !super::keywords::VIRTUAL_SERVER.contains(&kw) {
        return false;
    }
    if kw != "real_server" {
        cx.no_block(s);
    }
    match kw {
        "ip_family" => parse_ip_family(cx, s, vs),
        "retry" => {
            if let Some(v) =
                read::unsigned_required(cx, s, 1, 1, u32::MAX, |w| format!("retry value invalid - {w}"))
            {
                vs.retry = Some(v);
            }
        }
        "delay_before_retry" => {
            let msg = |w: &str| format!("virtual server delay before retry '{w}' invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 0, read::TIMER_MAX_US, msg) {
                vs.delay_before_retry = Some(v);
            }
        }
        "warmup" => {
            let msg = |w: &str| format!("virtual server warmup '{w}' invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 0, read::TIMER_MAX_US, msg) {
                vs.warmup = Some(v);
            }
        }
        "connect_timeout" => {
            let msg = |w: &str| format!("virtual server connect_timeout {w} invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 1, read::CONNECT_TIMEOUT_MAX_US, msg) {
                vs.connect_timeout = v;
            }
        }
        "delay_loop" => {
            let msg = |w: &str| format!("virtual server delay loop '{w}' invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 1, read::TIMER_MAX_US, msg) {
                vs.delay_loop = v;
            }
        }
        // keepalived does not read the arguments: `inhibit_on_failure no` still sets it.
        k if NO_ARGS.contains(&k) => match k {
            "inhibit_on_failure" => vs.inhibit_on_failure = true,
            "alpha" => vs.alpha = true,
            "omega" => vs.omega = true,
            _ => vs.ha_suspend = true,
        },
        "lb_algo" | "lvs_sched" => scheduler::parse_algo(cx, s, vs),
        "hashed" | "ops" | "flag-1" | "flag-2" | "flag-3" | "sh-port" | "sh-fallback" | "mh-port"
        | "mh-fallback" => scheduler::parse_flag(cx, s, vs),
        "lb_kind" | "lvs_method" => forwarding::parse(cx, s, "virtual", &mut vs.forwarding),
        "persistence_engine" => parse_persistence_engine(cx, s, vs),
        "persistence_timeout" => {
            if s.words.len() < 2 {
                vs.persistence_timeout_secs = DEFAULT_PERSISTENCE_TIMEOUT_SECS;
            } else if let Some(v) =
                read::unsigned(cx, s, 1, 1, 2_678_400, |_| "persistence_timeout invalid".into())
            {
                vs.persistence_timeout_secs = v;
            }
        }
        "persistence_granularity" => parse_granularity(cx, s, vs),
        "protocol" => {
            let Some(p) = read::text(cx, s, 1) else {
                return true;
            };
            match p.to_ascii_uppercase().as_str() {
                "TCP" => vs.protocol = Some(Protocol::Tcp),
                "UDP" => vs.protocol = Some(Protocol::Udp),
                "SCTP" => vs.protocol = Some(Protocol::Sctp),
                _ => read::error_at_word(
                    cx,
                    s,
                    1,
                    format!("Unknown protocol {p} - ignoring"),
                    "expected TCP, UDP or SCTP",
                ),
            }
        }
        "smtp_alert" => {
            let msg = |w: &str| format!("Invalid virtual_server smtp_alert parameter {w}");
            if let Some(b) = read::boolean(cx, s, 1, msg) {
                vs.smtp_alert = Some(b);
            }
        }
        "virtualhost" => match s.words.get(1) {
            Some(w) => vs.virtualhost = Some(w.text.clone()),
            None => read::missing(
                cx,
                s,
                "virtual server virtualhost missing".into(),
                "expected a host name",
            ),
        },
        "snmp_name" => {
            if s.words.len() == 2 {
                vs.snmp_name = Some(read::word_text(s, 1));
            } else {
                let msg = "virtual server snmp_name missing or extra parameters".to_string();
                read::error(
                    cx,
                    code::INVALID_VALUE,
                    s.span(),
                    msg,
                    "expected exactly one name",
                );
            }
        }
        "quorum_up" | "quorum_down" => {
            let slot = if kw == "quorum_up" {
                &mut vs.quorum_up
            } else {
                &mut vs.quorum_down
            };
            if slot.is_some() {
                let Some(w) = read::text(cx, s, 1) else {
                    return true;
                };
                let gname = match &vs.key {
                    VsKey::Group { name, .. } => name.clone(),
                    _ => "(null)".into(),
                };
                let msg = format!("({gname}) {kw} script already specified - ignoring {w}");
                read::error(cx, code::DUPLICATE, s.span(), msg, "only the first one is used");
            } else {
                *slot = notify::parse(cx, s, "quorum", &mut lvs.state);
            }
        }
        "quorum" => {
            if s.words.len() < 2 {
                cx.word(s, 1);
            } else {
                let msg = |w: &str| format!("Quorum {w} must be in [1, 4294967295]. Setting to 1.");
                vs.quorum = read::unsigned(cx, s, 1, 1, u32::MAX, msg).unwrap_or(1);
            }
        }
        "hysteresis" => {
            let msg = |w: &str| format!("Hysteresis {w} must be in [0, 4294967295] - ignoring");
            if let Some(v) = read::unsigned_required(cx, s, 1, 0, u32::MAX, msg) {
                vs.hysteresis = v;
            }
        }
        "weight" => {
            let msg = |w: &str| format!("Virtual server weight {w} is outside range 1-{WEIGHT_LIMIT}");
            if let Some(v) = read::unsigned_required(cx, s, 1, 1, WEIGHT_LIMIT, msg) {
                vs.weight = v;
            }
        }
        "sorry_server" => parse_sorry_server(cx, s, vs),
        "sorry_server_inhibit" => match &mut vs.sorry_server {
            Some(sorry) => sorry.inhibit = true,
            None => {
                let msg = "Ignoring sorry_server inhibit used before or without sorry_server".to_string();
                read::error(
                    cx,
                    code::INVALID_VALUE,
                    s.span(),
                    msg,
                    "put it after the sorry_server line",
                );
            }
        },
        "sorry_server_lvs_method" => match &mut vs.sorry_server {
            Some(sorry) => forwarding::parse(cx, s, "sorry", &mut sorry.forwarding),
            None => {
                let msg = "sorry_server forwarding used without sorry_server".to_string();
                read::error(
                    cx,
                    code::INVALID_VALUE,
                    s.span(),
                    msg,
                    "put it after the sorry_server line",
                );
            }
        },
        "real_server" => real_server::parse(cx, s, vs, &mut lvs.state),
        _ => return false,
    }
    true
}

fn parse_ip_family(cx: &mut Cx<'_>, s: &Statement, vs: &mut VirtualServer) {
    let Some(word) = read::text(cx, s, 1) else { return };
    let fam = match word.as_str() {
        "inet" => Family::Inet,
        "inet6" => Family::Inet6,
        _ => {
            read::error_at_word(
                cx,
                s,
                1,
                format!("unknown address family {word}"),
                "expected inet or inet6",
            );
            return;
        }
    };
    match vs.ip_family {
        Some(f) if f != fam => {
            let msg = format!("Virtual server specified family {word} conflicts with server family");
            read::error_at_word(
                cx,
                s,
                1,
                msg,
                format!("this virtual server is already {}", f.keyword()),
            );
        }
        _ => vs.ip_family = Some(fam),
    }
}

fn parse_persistence_engine(cx: &mut Cx<'_>, s: &Statement, vs: &mut VirtualServer) {
    let Some(name) = read::text(cx, s, 1) else { return };
    // IP_VS_PENAME_MAXLEN: 16 bytes.
    let mut cut = name.len().min(16);
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    if name.len() > 16 {
        let msg = format!("persistence_name too long, truncating - {name}");
        read::error_at_word(
            cx,
            s,
            1,
            msg,
            "persistence engine names have at most 16 characters",
        );
    }
    vs.persistence_engine = Some(name[..cut].to_string());
}

fn parse_granularity(cx: &mut Cx<'_>, s: &Statement, vs: &mut VirtualServer) {
    let Some(word) = read::text(cx, s, 1) else { return };
    let fam = vs.ip_family.unwrap_or(if word.contains('.') {
        Family::Inet
    } else {
        Family::Inet6
    });
    let granularity = match fam {
        Family::Inet6 => {
            let msg = |w: &str| format!("Invalid IPv6 persistence_granularity specified - {w}");
            let Some(len) = read::unsigned(cx, s, 1, 1, 128, msg) else {
                return;
            };
            Granularity::Ipv6Prefix(u8::try_from(len).unwrap_or(128))
        }
        Family::Inet => match addr::inet_aton(&word) {
            Some(mask) => Granularity::Ipv4Mask(mask),
            None => {
                let msg = format!("Invalid IPv4 persistence_granularity specified - {word}");
                read::error_at_word(cx, s, 1, msg, "expected a netmask such as 255.255.255.0");
                return;
            }
        },
    };
    vs.persistence_granularity = Some(granularity);
    if vs.ip_family.is_none() {
        vs.ip_family = Some(fam);
    }
    if vs.persistence_timeout_secs == 0 {
        vs.persistence_timeout_secs = DEFAULT_PERSISTENCE_TIMEOUT_SECS;
    }
}

fn parse_sorry_server(cx: &mut Cx<'_>, s: &Statement, vs: &mut VirtualServer) {
    let Some(ip_text) = read::text(cx, s, 1) else {
        return;
    };
    let port = addr::read_port_word(cx, s, 2);
    match (port, addr::parse_ip(&ip_text)) {
        (Ok(port), Some(ip)) => {
            vs.sorry_server = Some(SorryServer {
                span: Some(s.span().clone()),
                ip,
                port,
                inhibit: false,
                forwarding: vs.forwarding,
            });
        }
        _ => {
            let msg = format!("Invalid sorry server IP address {ip_text} - skipping");
            read::error_at_word(cx, s, 1, msg, "expected 'sorry_server IP [PORT]'");
        }
    }
}
