//! `real_server IP [PORT] { ... }` inside a virtual server (keepalived's `alloc_rs`, the RS
//! keyword handlers and `rs_end_handler`).

use super::addr::{self, Family};
use super::checker::{self, Checker};
use super::forwarding::{self, Forwarding};
use super::virtual_server::{VirtualServer, VsKey, WEIGHT_LIMIT};
use super::{code, notify, read, ParseState};
use crate::cx::Cx;
use crate::diag::Span;
use crate::script::Script;
use crate::syntax::Statement;
use ka_units::Micros;
use serde::Serialize;
use std::net::IpAddr;

#[derive(Clone, Debug, Serialize)]
pub struct RealServer {
    #[serde(skip)]
    pub span: Option<Span>,
    pub ip: IpAddr,
    /// The port as written (0: none). Validation sets it to the virtual server's port where
    /// keepalived does; checkers keep the port written here (see [`Checker`]).
    pub port: u16,
    /// `weight` (0..2147483647); the virtual server's `weight` after validation when unset.
    pub weight: Option<u32>,
    /// `lvs_method`; starts as the virtual server's method at the time of the `real_server`
    /// line, and after validation the virtual server's final method when still unset.
    pub forwarding: Forwarding,
    /// `uthreshold`: upper connection limit, 0 = none.
    pub uthreshold: u32,
    /// `lthreshold`: lower connection limit, 0 = none.
    pub lthreshold: u32,
    /// `inhibit_on_failure`; the virtual server's after validation when unset.
    pub inhibit_on_failure: Option<bool>,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
    /// `alpha`; the virtual server's after validation when unset.
    pub alpha: Option<bool>,
    /// `retry` (≥ 1); the virtual server's after validation, which may be unset too.
    pub retry: Option<u32>,
    /// `delay_before_retry`; the virtual server's after validation (may stay unset).
    pub delay_before_retry: Option<Micros>,
    /// `warmup`; the virtual server's after validation (may stay unset).
    pub warmup: Option<Micros>,
    /// `connect_timeout`; the virtual server's after validation (always set then).
    pub connect_timeout: Option<Micros>,
    /// `delay_loop`; the virtual server's after validation (always set then).
    pub delay_loop: Option<Micros>,
    /// `smtp_alert`; after validation global smtp_alert_checker / smtp_alert, else true.
    pub smtp_alert: Option<bool>,
    pub virtualhost: Option<String>,
    pub snmp_name: Option<String>,
    /// The health checkers, in order (SMTP `host{}` checkers right after their SMTP_CHECK).
    pub checkers: Vec<Checker>,
}

impl RealServer {
    /// A real server with keepalived's defaults (`alloc_rs`): everything unset so that it
    /// inherits from the virtual server, forwarding copied from the virtual server now.
    pub fn new(ip: IpAddr, port: u16, vs_forwarding: Forwarding) -> RealServer {
        RealServer {
            span: None,
            ip,
            port,
            weight: None,
            forwarding: vs_forwarding,
            uthreshold: 0,
            lthreshold: 0,
            inhibit_on_failure: None,
            notify_up: None,
            notify_down: None,
            alpha: None,
            retry: None,
            delay_before_retry: None,
            warmup: None,
            connect_timeout: None,
            delay_loop: None,
            smtp_alert: None,
            virtualhost: None,
            snmp_name: None,
            checkers: Vec::new(),
        }
    }
}

pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement, vs: &mut VirtualServer, state: &mut ParseState) {
    let Some(ip_text) = read::text(cx, stmt, 1) else {
        return;
    };
    let port = addr::read_port_word(cx, stmt, 2);
    let (Ok(port), Some(ip)) = (port, addr::parse_ip(&ip_text)) else {
        let p = stmt
            .words
            .get(2)
            .map(|w| w.text.clone())
            .unwrap_or_else(|| "(null)".into());
        read::error_at_word(
            cx,
            stmt,
            1,
            format!("Invalid real server ip address/port {ip_text}/{p} - skipping"),
            "expected 'real_server IP [PORT]'; the block and its checkers are skipped",
        );
        return;
    };
    let mut rs = RealServer::new(ip, port, vs.forwarding);
    rs.span = Some(stmt.span().clone());
    let block = cx.block(stmt);
    if let Some(block) = block {
        cx.each_statement(&block.statements, "real_server", &mut |cx, s| {
            parse_keyword(cx, s, vs, &mut rs, state)
        });
    }
    // rs_end_handler: a non-tunnelled real server must have the virtual server's family.
    if !rs.forwarding.is_tunnel() {
        let fam = Family::of(&rs.ip);
        match vs.ip_family {
            None => vs.ip_family = Some(fam),
            Some(f) if f != fam => {
                let end = block
                    .map(|b| b.end_span().clone())
                    .unwrap_or_else(|| stmt.end_span());
                let msg = format!(
                    "Address family of virtual server and real server {} don't match - skipping real server.",
                    rs.ip
                );
                // keepalived leaves the dropped server's checkers queued (undefined behaviour);
                // they go with it here.
                read::error(
                    cx,
                    code::REMOVED,
                    &end,
                    msg,
                    "use an address of the virtual server's family, or 'lvs_method TUN'",
                );
                return;
            }
            Some(_) => {}
        }
    }
    vs.real_servers.push(rs);
}

fn parse_keyword(
    cx: &mut Cx<'_>,
    s: &Statement,
    vs: &VirtualServer,
    rs: &mut RealServer,
    state: &mut ParseState,
) -> bool {
    let kw = s.keyword();
    if checker::is_checker_keyword(kw) {
        let new = checker::parse(cx, s, vs, rs, state);
        rs.checkers.extend(new);
        return true;
    }
    if !super::keywords::REAL_SERVER.contains(&kw) {
        return false;
    }
    cx.no_block(s);
    match kw {
        "weight" => {
            let msg = |w: &str| format!("Real server weight {w} is outside range 0-{WEIGHT_LIMIT}");
            if let Some(v) = read::unsigned_required(cx, s, 1, 0, WEIGHT_LIMIT, msg) {
                rs.weight = Some(v);
            }
        }
        "lvs_method" => forwarding::parse(cx, s, "real", &mut rs.forwarding),
        "uthreshold" => {
            let msg = |w: &str| format!("Invalid real_server uthreshold '{w}' - ignoring");
            if let Some(v) = read::unsigned_required(cx, s, 1, 0, u32::MAX, msg) {
                rs.uthreshold = v;
            }
        }
        "lthreshold" => {
            let msg = |w: &str| format!("Invalid real_server lthreshold '{w}' - ignoring");
            if let Some(v) = read::unsigned_required(cx, s, 1, 0, u32::MAX, msg) {
                rs.lthreshold = v;
            }
        }
        "inhibit_on_failure" => {
            if let Some(b) = read::boolean(cx, s, 1, |w| format!("Invalid inhibit_on_failure parameter {w}"))
            {
                rs.inhibit_on_failure = Some(b);
            }
        }
        "notify_up" | "notify_down" => {
            let slot = if kw == "notify_up" {
                &mut rs.notify_up
            } else {
                &mut rs.notify_down
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
                *slot = notify::parse(cx, s, "notify", state);
            }
        }
        "alpha" => {
            if let Some(b) = read::boolean(cx, s, 1, |w| format!("Invalid alpha parameter {w}")) {
                rs.alpha = Some(b);
            }
        }
        "retry" => {
            if let Some(v) =
                read::unsigned_required(cx, s, 1, 1, u32::MAX, |w| format!("retry value invalid - {w}"))
            {
                rs.retry = Some(v);
            }
        }
        "delay_before_retry" => {
            let msg = |w: &str| format!("real server delay_before_retry '{w}' invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 0, read::TIMER_MAX_US, msg) {
                rs.delay_before_retry = Some(v);
            }
        }
        "warmup" => {
            let msg = |w: &str| format!("real server warmup '{w}' invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 0, read::TIMER_MAX_US, msg) {
                rs.warmup = Some(v);
            }
        }
        "connect_timeout" => {
            let msg = |w: &str| format!("real server connect_timeout {w} invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 1, read::CONNECT_TIMEOUT_MAX_US, msg) {
                rs.connect_timeout = Some(v);
            }
        }
        "delay_loop" => {
            let msg = |w: &str| format!("real server delay_loop '{w}' invalid - ignoring");
            if let Some(v) = read::timer(cx, s, 1, 1, read::TIMER_MAX_US, msg) {
                rs.delay_loop = Some(v);
            }
        }
        "smtp_alert" => {
            if let Some(b) = read::boolean(cx, s, 1, |w| {
                format!("Invalid real_server smtp_alert parameter {w}")
            }) {
                rs.smtp_alert = Some(b);
            }
        }
        "virtualhost" => match s.words.get(1) {
            Some(w) => rs.virtualhost = Some(w.text.clone()),
            None => read::missing(
                cx,
                s,
                "real server virtualhost missing".into(),
                "expected a host name",
            ),
        },
        "snmp_name" => {
            if s.words.len() == 2 {
                rs.snmp_name = Some(read::word_text(s, 1));
            } else {
                let msg = "real server snmp_name missing or extra parameters".to_string();
                read::error(
                    cx,
                    code::INVALID_VALUE,
                    s.span(),
                    msg,
                    "expected exactly one name",
                );
            }
        }
        _ => return false,
    }
    true
}
