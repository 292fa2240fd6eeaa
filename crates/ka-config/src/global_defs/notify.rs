//! `global_defs` handlers for notification: SMTP, e-mail, startup/shutdown scripts,
//! notify FIFOs, SNMP socket and the script user.

use super::handlers::*;
use super::vrrp_opts::inet_address;
use super::{GlobalDefs, NotifyFifo, SmtpServer};
use crate::cx::{parse_unsigned, Cx};
use crate::diag::Span;
use crate::script::{self, Script, ScriptUserState};
use crate::syntax::Statement;
use ka_units::Micros;
use std::net::IpAddr;

/// `smtp_server HOST [PORT]`: an address is tried first unless HOST has `-` or `/`, then a
/// host name. keepalived parses the port once per attempt, so a bad port after an address is
/// reported twice; we report it once. A failure clears an earlier server.
pub(super) fn smtp_server(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(host) = cx.word(stmt, 1) else {
        return;
    };
    let port_word = stmt.words.get(2);
    let port_text = port_word.map_or("25", |w| w.text.as_str());
    let port = parse_unsigned(port_text, 1, 65535);
    let server = match &port {
        Ok(p) => {
            let port = u16::try_from(*p).unwrap_or(25);
            let address = if host.text.contains(['-', '/']) {
                None
            } else {
                inet_address(&host.text)
            };
            match address {
                Some(a) => Some(SmtpServer {
                    host: host.text.clone(),
                    port,
                    address: Some(a),
                }),
                None if looks_resolvable(&host.text) => Some(SmtpServer {
                    host: host.text.clone(),
                    port,
                    address: None,
                }),
                None => None,
            }
        }
        Err(_) => None,
    };
    if server.is_some() {
        g.smtp_server = server;
        return;
    }
    g.smtp_server = None;
    let followup = format!("Invalid smtp server {} {port_text}", host.text);
    match (port, port_word) {
        (Err(e), Some(pw)) => bad_number(cx, pw, &e, Some(followup), "expected a port from 1 to 65535".into()),
        _ => general(
            cx,
            "invalid-smtp-server",
            &host.span,
            &host.text,
            followup,
            "expected an IPv4/IPv6 address or a host name that resolves, then an optional port (default 25); any earlier smtp_server is cleared",
        ),
    }
}

/// Whether keepalived's `getaddrinfo` could resolve `name`: we cannot ask DNS while reading
/// the file, so any syntactically valid host name is taken (the daemon resolves it).
fn looks_resolvable(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    if name.parse::<IpAddr>().is_ok() {
        return true;
    }
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    let trimmed = name.strip_suffix('.').unwrap_or(name);
    // Dotted digits that are not an address are not a name either.
    let all_numeric = trimmed.chars().all(|c| c.is_ascii_digit() || c == '.');
    !all_numeric && trimmed.split('.').all(label_ok)
}

pub(super) fn smtp_connect_timeout(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let max = u32::MAX / 1_000_000;
    let Some(word) = cx.word(stmt, 1) else {
        return;
    };
    let v = unsigned_word(
        cx,
        word,
        (0, max),
        |w| format!("smtp_connect_timeout '{w}' must be in [0, {max}] - ignoring"),
        "a whole number of seconds from 1 to 4294",
    );
    let Some(mut v) = v else {
        return;
    };
    if v == 0 {
        // keepalived's message has the typo "conect".
        general(
            cx,
            "invalid-value",
            &word.span,
            &word.text,
            "smtp_conect_timeout must be greater than 0, setting to 1".into(),
            "give a timeout of at least 1 second",
        );
        v = 1;
    }
    g.smtp_connect_timeout = secs(v);
}

/// `startup_script` / `shutdown_script`: first wins; a script sets its timeout to 10 s if
/// none was given yet.
pub(super) fn start_stop_script(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let startup = stmt.keyword() == "startup_script";
    let kind = if startup { "startup" } else { "shutdown" };
    let existing = if startup {
        &g.startup_script
    } else {
        &g.shutdown_script
    };
    if existing.is_some() {
        general(
            cx,
            "duplicate",
            stmt.span(),
            stmt.keyword(),
            format!("{kind} script already specified"),
            format!("only the first {kind}_script is used; remove this one"),
        );
        return;
    }
    if stmt.words.len() < 2 {
        missing(
            cx,
            stmt,
            format!("{kind} script missing"),
            format!("write '{kind}_script COMMAND [USER [GROUP]]'"),
        );
        return;
    }
    let security = g.enable_script_security;
    let Some(script) = script::notify_script_init(cx, stmt, kind, &mut g.script_user, security) else {
        let span = stmt
            .words
            .get(1)
            .map_or_else(|| stmt.span().clone(), |w| w.span.clone());
        general(
            cx,
            "invalid-script",
            &span,
            "",
            format!("Invalid {kind} script"),
            "expected a command (quote it if it has arguments), then an optional existing user and group",
        );
        return;
    };
    let (slot, timeout) = if startup {
        (&mut g.startup_script, &mut g.startup_script_timeout)
    } else {
        (&mut g.shutdown_script, &mut g.shutdown_script_timeout)
    };
    *slot = Some(script);
    if *timeout == Micros::ZERO {
        *timeout = Micros::from_secs(10);
    }
}

pub(super) fn start_stop_timeout(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let kind = if stmt.keyword() == "startup_script_timeout" {
        "startup"
    } else {
        "shutdown"
    };
    let Some(word) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            format!("{kind}_script_timeout requires value"),
            format!("write '{kind}_script_timeout SECONDS' (1 to 1000)"),
        );
        return;
    };
    let v = unsigned_word(
        cx,
        word,
        (1, 1000),
        |w| format!("{kind}_script_timeout '{w}' must be in [1, 1000] - ignoring"),
        "a whole number of seconds from 1 to 1000",
    );
    if let Some(v) = v {
        if kind == "startup" {
            g.startup_script_timeout = secs(v);
        } else {
            g.shutdown_script_timeout = secs(v);
        }
    }
}

/// keepalived's `notify_fifo`: first wins; a named user must exist, else the default script
/// user must be available (both only logged).
pub(super) fn notify_fifo(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    prefix: &str,
    slot: &mut Option<NotifyFifo>,
    users: &mut ScriptUserState,
    script_security: bool,
) {
    let Some(path) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            format!("No {prefix}notify_fifo name specified"),
            format!("write '{prefix}notify_fifo PATH [USER [GROUP]]'"),
        );
        return;
    };
    if slot.is_some() {
        general(
            cx,
            "duplicate",
            &path.span,
            &path.text,
            format!("{prefix}notify_fifo already specified - ignoring {}", path.text),
            format!("only the first {prefix}notify_fifo is used; remove this one"),
        );
        return;
    }
    let user = stmt.words.get(2).map(|w| w.text.clone());
    let group = stmt.words.get(3).map(|w| w.text.clone());
    if let (Some(u), Some(w)) = (&user, stmt.words.get(2)) {
        if !cx.host.user_exists(u) {
            info(
                cx,
                "script-user-unknown",
                &w.span,
                format!("Invalid user/group for {prefix}notify_fifo {} - ignoring: Script user '{u}' does not exist", path.text),
                "name an existing user (keepalived drops the FIFO)",
            );
            return;
        }
    } else if let Err(e) = users.get(cx.host, script_security) {
        let what = format!("{prefix}notify_fifo {}", path.text);
        script::report_default_user_error(cx, &path.span, e, &what);
        return;
    }
    *slot = Some(NotifyFifo {
        path: path.text.clone(),
        user,
        group,
    });
}

/// keepalived's `notify_fifo_script`: first wins; the script is read like any notify script.
pub(super) fn fifo_script(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    prefix: &str,
    slot: &mut Option<Script>,
    users: &mut ScriptUserState,
    script_security: bool,
) {
    let Some(first) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            format!("No {prefix}notify_fifo_script specified"),
            format!("write '{prefix}notify_fifo_script COMMAND [USER [GROUP]]'"),
        );
        return;
    };
    if slot.is_some() {
        general(
            cx,
            "duplicate",
            &first.span,
            &first.text,
            format!(
                "{prefix}notify_fifo_script already specified - ignoring {}",
                first.text
            ),
            format!("only the first {prefix}notify_fifo_script is used; remove this one"),
        );
        return;
    }
    let kind = format!("{prefix}notify_fifo");
    *slot = script::notify_script_init(cx, stmt, &kind, users, script_security);
}

pub(super) fn snmp_socket(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    if let Some(extra) = stmt.words.get(2) {
        general(
            cx,
            "extra-words",
            &extra.span,
            &extra.text,
            "Too many parameters specified for snmp_socket - ignoring".into(),
            "write 'snmp_socket SPEC' with one socket, e.g. udp:1.2.3.4:705",
        );
        return;
    }
    let Some(spec) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            "SNMP error : snmp socket name missing".into(),
            "write 'snmp_socket SPEC', e.g. unix:/var/agentx/master",
        );
        return;
    };
    if spec.text.len() > SNMP_SOCKET_MAX {
        general(
            cx,
            "name-too-long",
            &spec.span,
            "",
            "SNMP error : snmp socket name too long - ignored".into(),
            format!("socket names are at most {SNMP_SOCKET_MAX} bytes"),
        );
        return;
    }
    if let Some(old) = &g.snmp_socket {
        let message = format!("SNMP socket already set to {old} - ignoring");
        general(
            cx,
            "duplicate",
            &spec.span,
            &spec.text,
            message,
            "only the first snmp_socket is used; remove this one",
        );
        return;
    }
    g.snmp_socket = Some(spec.text.clone());
}

pub(super) fn script_user(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(user) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            "No script username specified".into(),
            "write 'script_user USER [GROUP]'",
        );
        return;
    };
    let group = stmt.words.get(2).map(|w| w.text.as_str());
    let (ok, log) = g.script_user.set(cx.host, &user.text, group);
    if let Some(log) = log {
        info(
            cx,
            "script-user-unknown",
            &user.span,
            log,
            "name an existing user",
        );
    }
    if !ok {
        general(
            cx,
            "script-user",
            &user.span,
            &user.text,
            "Error setting global script uid/gid".into(),
            "name an existing user (once this fails keepalived drops every script relying on the default user)",
        );
    }
}

/// `notification_email { ADDR ... }`. Without a `{`, keepalived (after only logging it)
/// takes the following lines as addresses up to the next `}`, which swallows the rest of
/// `global_defs`; we take the rest of this block's lines, up to and including the first one
/// with a block of its own.
pub(super) fn notification_email(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    rest: &mut std::slice::Iter<'_, Statement>,
    enclosing_end: &Span,
    g: &mut GlobalDefs,
) {
    if let Some(extra) = stmt.words.get(1) {
        general(
            cx,
            "extra-words",
            &extra.span,
            &extra.text,
            format!("Block notification_email has extra parameters {} ...", extra.text),
            "write 'notification_email {' and the addresses inside the block",
        );
    }
    let before = g.notification_email.len();
    // keepalived reports an empty block once it has read its `}`: that is the line it names.
    let end = match &stmt.block {
        Some(block) => {
            collect_words(&block.statements, &mut g.notification_email);
            block.end_span().clone()
        }
        None => {
            info(
                cx,
                "missing-open-brace",
                &stmt.end_span(),
                "'{' missing from beginning of block notification_email".into(),
                "write 'notification_email {' : without it keepalived takes the rest of global_defs as addresses",
            );
            let mut end = enclosing_end.clone();
            for swallowed in rest.by_ref() {
                g.notification_email
                    .extend(swallowed.words.iter().map(|w| w.text.clone()));
                if let Some(block) = &swallowed.block {
                    collect_words(&block.statements, &mut g.notification_email);
                    end = block.end_span().clone();
                    break;
                }
            }
            end
        }
    };
    if g.notification_email.len() == before {
        general(
            cx,
            "empty-block",
            &end,
            "",
            "Warning - empty notification_email block".into(),
            "list one or more e-mail addresses in the block, or remove it",
        );
    }
}

/// Every word of `statements` and of any blocks under them, in order (a stack, not
/// recursion, so hostile nesting cannot exhaust the call stack).
fn collect_words(statements: &[Statement], out: &mut Vec<String>) {
    let mut stack = vec![statements.iter()];
    while let Some(iter) = stack.last_mut() {
        let Some(s) = iter.next() else {
            stack.pop();
            continue;
        };
        out.extend(s.words.iter().map(|w| w.text.clone()));
        if let Some(b) = &s.block {
            stack.push(b.statements.iter());
        }
    }
}
