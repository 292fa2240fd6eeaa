//! `global_defs` handlers for LVS: IPVS timeouts and the sync daemon.

use super::handlers::*;
use super::vrrp_opts::inet_address;
use super::{GlobalDefs, LvsSyncDaemon, LvsTimeouts};
use crate::cx::Cx;
use crate::syntax::{Statement, Word};

pub(super) fn lvs_timeouts(cx: &mut Cx<'_>, stmt: &Statement, t: &mut LvsTimeouts) {
    if stmt.words.len() < 3 {
        missing(
            cx,
            stmt,
            "lvs_timeouts requires at least one option".into(),
            "write 'lvs_timeouts [tcp SECS] [tcpfin SECS] [udp SECS]'",
        );
        return;
    }
    let words = &stmt.words;
    let mut i = 1;
    while let Some(word) = words.get(i) {
        let option = word.text.as_str();
        let slot = match option {
            "tcp" => &mut t.tcp_secs,
            "tcpfin" => &mut t.tcpfin_secs,
            "udp" => &mut t.udp_secs,
            _ => {
                general(
                    cx,
                    "unknown-option",
                    &word.span,
                    option,
                    format!("Unknown option {option} specified for lvs_timeouts"),
                    "options are tcp, tcpfin and udp, each followed by seconds",
                );
                i += 1;
                continue;
            }
        };
        let Some(value) = words.get(i + 1) else {
            missing(
                cx,
                stmt,
                format!("No value specified for lvs_timeout {option} - ignoring"),
                format!("write '{option} SECONDS'"),
            );
            break;
        };
        if let Some(v) = unsigned_word(
            cx,
            value,
            (0, LVS_MAX_TIMEOUT),
            |w| format!("Invalid lvs_timeout {option} ({w}) - ignoring"),
            "a number of seconds from 0 to 2678400 (31 days)",
        ) {
            *slot = v;
        }
        i += 2;
    }
}

/// `lvs_sync_daemon IFNAME [[inst] VRRP_INSTANCE] [id SYNCID] [maxlen LEN] [port PORT]
/// [ttl TTL] [group ADDR]`, with keepalived's backward-compatible positional forms.
pub(super) fn lvs_sync_daemon(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    if let Some(existing) = &g.lvs_sync_daemon {
        let message = format!(
            "lvs_sync_daemon has already been specified as {} {} - ignoring",
            existing.interface,
            existing.vrrp_instance.as_deref().unwrap_or("")
        );
        general(
            cx,
            "duplicate",
            stmt.span(),
            stmt.keyword(),
            message,
            "only the first lvs_sync_daemon is used; remove this one",
        );
        return;
    }
    let Some(ifname) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            "lvs_sync_daemon requires interface".into(),
            "write 'lvs_sync_daemon IFNAME [inst VRRP_INSTANCE] [id SYNCID] ...'",
        );
        return;
    };
    if ifname.text.len() >= IPVS_IFNAME_MAXLEN {
        general(
            cx,
            "name-too-long",
            &ifname.span,
            &ifname.text,
            format!(
                "lvs_sync_daemon interface name '{}' too long - ignoring",
                ifname.text
            ),
            format!("interface names are at most {} bytes", IPVS_IFNAME_MAXLEN - 1),
        );
        return;
    }
    let mut sd = LvsSyncDaemon {
        interface: ifname.text.clone(),
        ..LvsSyncDaemon::default()
    };
    let words = &stmt.words;
    let mut i = 2;
    while let Some(word) = words.get(i) {
        let option = word.text.as_str();
        match option {
            "inst" => {
                if let Some(name) = &sd.vrrp_instance {
                    general(
                        cx,
                        "duplicate",
                        &word.span,
                        option,
                        format!(
                            "lvs_sync_daemon vrrp instance has already been specified as {name} - ignoring"
                        ),
                        "give the VRRP instance once",
                    );
                } else {
                    // keepalived reads the next word unconditionally: missing, it aborts.
                    let Some(v) = cx.word(stmt, i + 1) else {
                        break;
                    };
                    sd.vrrp_instance = Some(v.text.clone());
                }
                i += 2;
            }
            "id" | "maxlen" | "port" | "ttl" | "group" => {
                let Some(value) = words.get(i + 1) else {
                    let message = if option == "id" {
                        "No value specified for lvs_sync_daemon id, defaulting to vrid".to_string()
                    } else {
                        format!("No value specified for lvs_sync_daemon {option} - ignoring")
                    };
                    missing(cx, stmt, message, format!("write '{option} VALUE'"));
                    break;
                };
                sync_daemon_option(cx, &mut sd, option, value);
                i += 2;
            }
            _ if i == 2 => {
                // The old form `lvs_sync_daemon IFNAME VRRP_INSTANCE [SYNCID]`.
                sd.vrrp_instance = Some(option.to_string());
                i += 1;
            }
            _ if i == 3 => {
                if let Some(v) = unsigned_word(
                    cx,
                    word,
                    (0, 255),
                    |w| format!("Invalid syncid ({w}) - defaulting to vrid"),
                    "a sync id from 0 to 255",
                ) {
                    // keepalived complains even though it takes the value.
                    general(
                        cx,
                        "old-syntax",
                        &word.span,
                        option,
                        "Please use keyword \"id\" before lvs_sync_daemon SYNCID".into(),
                        format!("write 'id {option}'"),
                    );
                    sd.syncid = u8::try_from(v).ok();
                }
                i += 1;
            }
            _ => {
                general(
                    cx,
                    "unknown-option",
                    &word.span,
                    option,
                    format!("Unknown option {option} specified for lvs_sync_daemon"),
                    "options are inst, id, maxlen, port, ttl and group, each followed by a value",
                );
                i += 1;
            }
        }
    }
    g.lvs_sync_daemon = Some(sd);
}

fn sync_daemon_option(cx: &mut Cx<'_>, sd: &mut LvsSyncDaemon, option: &str, value: &Word) {
    let number = |cx: &mut Cx<'_>, max: u32, followup: String, expected: &str| {
        unsigned_word(
            cx,
            value,
            (if option == "id" { 0 } else { 1 }, max),
            |_| followup,
            expected,
        )
    };
    match option {
        "id" => {
            let f = format!("Invalid syncid ({}) - defaulting to vrid", value.text);
            if let Some(v) = number(cx, 255, f, "a sync id from 0 to 255") {
                sd.syncid = u8::try_from(v).ok();
            }
        }
        "maxlen" => {
            let f = format!("Invalid lvs_sync_daemon maxlen ({}) - ignoring", value.text);
            if let Some(v) = number(cx, 65535 - 20 - 8, f, "a message length from 1 to 65507") {
                sd.maxlen = u16::try_from(v).ok();
            }
        }
        "port" => {
            let f = format!("Invalid lvs_sync_daemon port ({}) - ignoring", value.text);
            if let Some(v) = number(cx, 65535, f, "a port from 1 to 65535") {
                sd.port = u16::try_from(v).ok();
            }
        }
        "ttl" => {
            let f = format!("Invalid lvs_sync_daemon ttl ({}) - ignoring", value.text);
            if let Some(v) = number(cx, 255, f, "a TTL from 1 to 255") {
                sd.ttl = u8::try_from(v).ok();
            }
        }
        _ => {
            // "group": a failed parse also clears an earlier group, as in keepalived.
            let t = &value.text;
            let problem = match inet_address(t) {
                None => format!("Invalid lvs_sync_daemon group ({t}) - ignoring"),
                Some(a) if !a.is_multicast() => {
                    format!("lvs_sync_daemon group address {t} is not multicast - ignoring")
                }
                Some(a) => {
                    sd.group = Some(a);
                    return;
                }
            };
            sd.group = None;
            general(
                cx,
                "invalid-address",
                &value.span,
                t,
                problem,
                "expected an IPv4 or IPv6 multicast address",
            );
        }
    }
}
