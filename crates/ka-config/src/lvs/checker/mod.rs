//! Health checkers inside a `real_server`: the model shared by every type, the connection and
//! timing keywords they share (keepalived's check_api.c), and dispatch to each type's module.
//! TCP_CHECK and PING_CHECK have no keywords of their own and are parsed here.

pub mod bfd;
pub mod dns;
pub mod file;
pub mod http;
pub mod misc;
pub mod smtp;
pub mod udp;

use super::addr;
use super::real_server::RealServer;
use super::virtual_server::VirtualServer;
use super::{code, read, ParseState};
use crate::cx::Cx;
use crate::diag::Span;
use crate::syntax::Statement;
use ka_units::Micros;
use serde::Serialize;
use std::net::IpAddr;

pub use bfd::BfdCheck;
pub use dns::{DnsCheck, DnsType};
pub use file::FileCheck;
pub use http::{HttpCheck, HttpProtocol, StatusRange, Url, UrlRegex};
pub use misc::MiscCheck;
pub use smtp::SmtpCheck;
pub use udp::{ReplyPattern, UdpCheck};

/// The checker blocks a real server accepts.
pub const CHECKER_KEYWORDS: &[&str] = &[
    "MISC_CHECK",
    "SMTP_CHECK",
    "TCP_CHECK",
    "PING_CHECK",
    "UDP_CHECK",
    "HTTP_GET",
    "SSL_GET",
    "DNS_CHECK",
    "FILE_CHECK",
    "BFD_CHECK",
];

pub fn is_checker_keyword(kw: &str) -> bool {
    CHECKER_KEYWORDS.contains(&kw)
}

#[derive(Clone, Debug, Serialize)]
pub struct Checker {
    #[serde(skip)]
    pub span: Option<Span>,
    pub kind: CheckerKind,
    #[serde(flatten)]
    pub common: CheckerCommon,
}

#[derive(Clone, Debug, Serialize)]
pub enum CheckerKind {
    #[serde(rename = "TCP_CHECK")]
    Tcp,
    #[serde(rename = "HTTP_GET")]
    Http(HttpCheck),
    #[serde(rename = "SSL_GET")]
    Ssl(HttpCheck),
    #[serde(rename = "MISC_CHECK")]
    Misc(MiscCheck),
    #[serde(rename = "SMTP_CHECK")]
    Smtp(SmtpCheck),
    #[serde(rename = "DNS_CHECK")]
    Dns(DnsCheck),
    #[serde(rename = "UDP_CHECK")]
    Udp(UdpCheck),
    #[serde(rename = "PING_CHECK")]
    Ping,
    #[serde(rename = "FILE_CHECK")]
    File(FileCheck),
    #[serde(rename = "BFD_CHECK")]
    Bfd(BfdCheck),
}

impl CheckerKind {
    /// The block keyword.
    pub fn keyword(&self) -> &'static str {
        match self {
            CheckerKind::Tcp => "TCP_CHECK",
            CheckerKind::Http(_) => "HTTP_GET",
            CheckerKind::Ssl(_) => "SSL_GET",
            CheckerKind::Misc(_) => "MISC_CHECK",
            CheckerKind::Smtp(_) => "SMTP_CHECK",
            CheckerKind::Dns(_) => "DNS_CHECK",
            CheckerKind::Udp(_) => "UDP_CHECK",
            CheckerKind::Ping => "PING_CHECK",
            CheckerKind::File(_) => "FILE_CHECK",
            CheckerKind::Bfd(_) => "BFD_CHECK",
        }
    }

    /// `retry` when neither the checker, its real server nor its virtual server sets one.
    pub fn default_retry(&self) -> u32 {
        match self {
            CheckerKind::Misc(_) => 0,
            CheckerKind::Dns(_) => 3,
            _ => 1,
        }
    }

    /// `delay_before_retry` when nothing sets one; None means "the checker's delay_loop".
    pub fn default_delay_before_retry(&self) -> Option<Micros> {
        match self {
            CheckerKind::Http(_) | CheckerKind::Ssl(_) => Some(Micros::from_secs(3)),
            CheckerKind::Dns(_) => None,
            _ => Some(Micros::from_secs(1)),
        }
    }

    /// Whether keepalived runs the checker on a timer (and so gives it timing values):
    /// all but BFD_CHECK (driven by BFD events) and FILE_CHECK (driven by the file).
    pub fn has_run_loop(&self) -> bool {
        !matches!(self, CheckerKind::Bfd(_) | CheckerKind::File(_))
    }
}

/// What every checker has. Timing values are None until validation fills them from the real
/// server, the virtual server and the type's defaults (checkers without a run loop keep None).
#[derive(Clone, Debug, Default, Serialize)]
pub struct CheckerCommon {
    /// Connection options; None for MISC_CHECK, BFD_CHECK and FILE_CHECK.
    #[serde(flatten)]
    pub conn: Option<ConnOpts>,
    /// `retry` (≥ 0); default: the real server's, else the type's default (MISC 0, DNS 3, 1).
    pub retry: Option<u32>,
    /// `delay_before_retry`; default: the real server's, else the type's default (HTTP/SSL 3 s,
    /// DNS the delay_loop, others 1 s).
    pub delay_before_retry: Option<Micros>,
    /// `warmup`; default: the real server's, else the checker's delay_loop.
    pub warmup: Option<Micros>,
    /// `delay_loop`; default: the real server's (itself defaulting to the virtual server's).
    pub delay_loop: Option<Micros>,
    /// `alpha`; default: the real server's.
    pub alpha: Option<bool>,
    /// `log_all_failures`: default false.
    pub log_all_failures: bool,
}

/// Where and how a checker connects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnOpts {
    /// `connect_ip`: the real server's address by default. None when there is no usable
    /// destination (an invalid `connect_ip` leaves none, as in keepalived).
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`: by default the port on the `real_server` line *as written* (0 if none):
    /// keepalived copies the address when the checker is created and never updates it.
    pub connect_port: u16,
    /// `bindto`: source address, none by default.
    pub bindto: Option<IpAddr>,
    /// `bind_port`: source port, 0 = any (used only with `bindto`).
    pub bind_port: u16,
    /// `bind_if`: SO_BINDTODEVICE interface (needed for IPv6 link-local destinations).
    pub bind_if: Option<String>,
    /// `connect_timeout`: the real server's after validation when unset.
    pub connect_timeout: Option<Micros>,
    /// `fwmark`: SO_MARK on the checker's sockets, 0 = none.
    pub fwmark: u32,
}

impl ConnOpts {
    /// keepalived's `queue_checker`: destination = the real server as it is now.
    pub fn to_real_server(rs: &RealServer) -> ConnOpts {
        ConnOpts {
            connect_ip: Some(rs.ip),
            connect_port: rs.port,
            ..ConnOpts::unset()
        }
    }

    /// Nothing set (SMTP_CHECK's top-level options start like this).
    pub fn unset() -> ConnOpts {
        ConnOpts {
            connect_ip: None,
            connect_port: 0,
            bindto: None,
            bind_port: 0,
            bind_if: None,
            connect_timeout: None,
            fwmark: 0,
        }
    }
}

/// A checker being parsed: the checker and the span of its block's end.
pub(crate) struct NewChecker {
    pub checker: Checker,
    pub end: Span,
}

impl NewChecker {
    fn new(
        stmt: &Statement,
        block: Option<&crate::syntax::Block>,
        kind: CheckerKind,
        conn: Option<ConnOpts>,
    ) -> Self {
        NewChecker {
            checker: Checker {
                span: Some(stmt.span().clone()),
                kind,
                common: CheckerCommon {
                    conn,
                    ..CheckerCommon::default()
                },
            },
            end: block
                .map(|b| b.end_span().clone())
                .unwrap_or_else(|| stmt.end_span()),
        }
    }
}

/// Parses a checker block of the current real server. Several checkers come back for an
/// SMTP_CHECK with `host` blocks; none when keepalived drops the checker.
pub(crate) fn parse(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    vs: &VirtualServer,
    rs: &RealServer,
    state: &mut ParseState,
) -> Vec<Checker> {
    // Without '{' keepalived would read the next lines as the block; we read an empty block.
    let block = cx.block(stmt);
    let statements = block.map(|b| b.statements.as_slice()).unwrap_or(&[]);
    match stmt.keyword() {
        "TCP_CHECK" | "PING_CHECK" => {
            let kind = if stmt.keyword() == "TCP_CHECK" {
                CheckerKind::Tcp
            } else {
                CheckerKind::Ping
            };
            let mut new = NewChecker::new(stmt, block, kind, Some(ConnOpts::to_real_server(rs)));
            let context = stmt.keyword();
            cx.each_statement(statements, context, &mut |cx, s| {
                conn_or_timing_keyword(cx, s, &mut new.checker.common)
            });
            link_local_check(cx, &new)
                .then_some(new.checker)
                .into_iter()
                .collect()
        }
        "HTTP_GET" | "SSL_GET" => {
            let new = NewChecker::new(
                stmt,
                block,
                http::new_kind(stmt.keyword()),
                Some(ConnOpts::to_real_server(rs)),
            );
            http::parse(cx, statements, new, state).into_iter().collect()
        }
        "MISC_CHECK" => misc::parse(
            cx,
            statements,
            NewChecker::new(stmt, block, misc::new_kind(), None),
            state,
        )
        .into_iter()
        .collect(),
        "SMTP_CHECK" => {
            let new = NewChecker::new(stmt, block, smtp::new_kind(), Some(ConnOpts::unset()));
            smtp::parse(cx, statements, new, vs, rs)
        }
        "DNS_CHECK" => {
            let new = NewChecker::new(stmt, block, dns::new_kind(), Some(ConnOpts::to_real_server(rs)));
            dns::parse(cx, statements, new).into_iter().collect()
        }
        "UDP_CHECK" => {
            let new = NewChecker::new(stmt, block, udp::new_kind(), Some(ConnOpts::to_real_server(rs)));
            udp::parse(cx, statements, new).into_iter().collect()
        }
        "FILE_CHECK" => file::parse(
            cx,
            statements,
            NewChecker::new(stmt, block, file::new_kind(), None),
            state,
        )
        .into_iter()
        .collect(),
        "BFD_CHECK" => {
            let new = NewChecker::new(stmt, block, bfd::new_kind(), None);
            bfd::parse(cx, statements, new, vs, rs, state)
                .into_iter()
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The connection keywords on the checker's options, then the timing keywords.
/// False when `s` is neither.
pub(crate) fn conn_or_timing_keyword(cx: &mut Cx<'_>, s: &Statement, common: &mut CheckerCommon) -> bool {
    if let Some(co) = common.conn.as_mut() {
        if conn_keyword(cx, s, co) {
            return true;
        }
    }
    timing_keyword(cx, s, common)
}

/// `connect_ip`, `connect_port`, `bindto`, `bind_port`, `bind_if`, `connect_timeout`,
/// `fwmark`. False when `s` is none of them.
pub(crate) fn conn_keyword(cx: &mut Cx<'_>, s: &Statement, co: &mut ConnOpts) -> bool {
    match s.keyword() {
        "connect_ip" => {
            let Some(text) = read::text(cx, s, 1) else {
                return true;
            };
            co.connect_ip = addr::parse_ip(&text);
            match (&co.connect_ip, &co.bindto) {
                (None, _) => read::error_at_word(
                    cx,
                    s,
                    1,
                    format!("Invalid connect_ip address {text} - ignoring"),
                    "keepalived is left without a destination for this checker; give a numeric address",
                ),
                (Some(dst), Some(src)) if addr::Family::of(dst) != addr::Family::of(src) => {
                    co.connect_ip = None;
                    read::error_at_word(
                        cx,
                        s,
                        1,
                        format!(
                            "connect_ip address {text} does not match address family of bindto - skipping"
                        ),
                        "connect_ip and bindto must be of the same family",
                    );
                }
                _ => {}
            }
        }
        "connect_port" => {
            let msg = |w: &str| format!("Invalid checker connect_port '{w}'");
            if let Some(p) = read::unsigned_required(cx, s, 1, 1, 65535, msg) {
                co.connect_port = u16::try_from(p).unwrap_or(0);
            }
        }
        "bindto" => {
            let Some(text) = read::text(cx, s, 1) else {
                return true;
            };
            co.bindto = addr::parse_ip(&text);
            match (&co.bindto, &co.connect_ip) {
                (None, _) => read::error_at_word(
                    cx,
                    s,
                    1,
                    format!("Invalid bindto address {text} - ignoring"),
                    "expected a numeric address",
                ),
                (Some(src), Some(dst)) if addr::Family::of(dst) != addr::Family::of(src) => {
                    co.bindto = None;
                    read::error_at_word(
                        cx,
                        s,
                        1,
                        format!("bindto address {text} does not match address family of connect_ip - skipping"),
                        "bindto must be of the destination's family (the real server's unless connect_ip is given before it)",
                    );
                }
                _ => {}
            }
        }
        "bind_port" => {
            let msg = |w: &str| format!("Invalid checker bind_port '{w}'");
            if let Some(p) = read::unsigned_required(cx, s, 1, 1, 65535, msg) {
                co.bind_port = u16::try_from(p).unwrap_or(0);
            }
        }
        "bind_if" => {
            let Some(name) = read::text(cx, s, 1) else {
                return true;
            };
            // IFNAMSIZ - 1 bytes.
            if name.len() > 15 {
                let msg = format!("Interface name {name} is too long - ignoring");
                read::error_at_word(cx, s, 1, msg, "interface names have at most 15 characters");
            } else {
                co.bind_if = Some(name);
            }
        }
        "connect_timeout" => {
            let msg = |w: &str| format!("connect_timeout {w} invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 1, read::CONNECT_TIMEOUT_MAX_US, msg) {
                co.connect_timeout = Some(v);
            }
        }
        "fwmark" => {
            let msg = |w: &str| format!("Invalid fwmark connection value '{w}'");
            if let Some(v) = read::unsigned_required(cx, s, 1, 0, u32::MAX, msg) {
                co.fwmark = v;
            }
        }
        _ => return false,
    }
    cx.no_block(s);
    true
}

/// `retry`, `delay_before_retry`, `warmup`, `delay_loop`, `alpha`, `log_all_failures`.
/// False when `s` is none of them.
pub(crate) fn timing_keyword(cx: &mut Cx<'_>, s: &Statement, common: &mut CheckerCommon) -> bool {
    match s.keyword() {
        "retry" => {
            let msg = |w: &str| format!("Invalid retry connection value '{w}'");
            if let Some(v) = read::unsigned_required(cx, s, 1, 0, u32::MAX, msg) {
                common.retry = Some(v);
            }
        }
        "delay_before_retry" => {
            let msg = |w: &str| format!("Invalid delay_before_retry connection value '{w}'");
            if let Some(v) = read::timer(cx, s, 1, 0, read::TIMER_MAX_US, msg) {
                common.delay_before_retry = Some(v);
            }
        }
        "warmup" => {
            let msg = |w: &str| format!("Invalid warmup connection value '{w}'");
            if let Some(v) = read::timer(cx, s, 1, 0, read::TIMER_MAX_US, msg) {
                common.warmup = Some(v);
            }
        }
        "delay_loop" => {
            let msg = |w: &str| format!("delay_loop '{w}' is invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 1, read::TIMER_MAX_US, msg) {
                common.delay_loop = Some(v);
            }
        }
        "alpha" => {
            if let Some(b) = read::boolean(cx, s, 1, |w| format!("Invalid alpha parameter {w}")) {
                common.alpha = Some(b);
            }
        }
        "log_all_failures" => {
            if let Some(b) = read::boolean(cx, s, 1, |w| format!("Invalid log_all_failures parameter {w}")) {
                common.log_all_failures = b;
            }
        }
        _ => return false,
    }
    cx.no_block(s);
    true
}

/// keepalived's `check_conn_opts` at the end of a checker block: an IPv6 link-local
/// destination needs `bind_if`. False (with keepalived's message) when the checker must go.
pub(crate) fn link_local_check(cx: &mut Cx<'_>, new: &NewChecker) -> bool {
    match &new.checker.common.conn {
        Some(co) => conn_link_local_check(cx, co, &new.end),
        None => true,
    }
}

pub(crate) fn conn_link_local_check(cx: &mut Cx<'_>, co: &ConnOpts, end: &Span) -> bool {
    match &co.connect_ip {
        Some(ip) if addr::is_ipv6_link_local(ip) && co.bind_if.is_none() => {
            read::error(
                cx,
                code::REMOVED,
                end,
                format!("Checker link local address {ip} requires a bind_if"),
                "add 'bind_if IFNAME' naming the interface to reach it through; the checker is ignored",
            );
            false
        }
        _ => true,
    }
}
