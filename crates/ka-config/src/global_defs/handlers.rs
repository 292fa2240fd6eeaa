//! The `global_defs` keyword dispatch and the helpers every handler uses: keepalived
//! 2.2.7's `global_parser.c` behaviour, with its messages and classes, one diagnostic per
//! problem at the word concerned. The longer handlers live in the sibling modules by theme.

use super::lvs_opts::*;
use super::notify::*;
use super::process::*;
use super::vrrp_opts::*;
use super::{GlobalDefs, LvsFlushOnStop, TIMER_HZ};
use crate::cx::{check_true_false, format_fixed, parse_decimal, parse_int, parse_unsigned, Cx};
use crate::diag::{Class, Span};
use crate::syntax::{Statement, Word};
use ka_units::Micros;

/// `sched_get_priority_max(SCHED_RR)` on Linux.
pub(super) const RR_PRIORITY_MAX: i32 = 99;
/// `sched_get_priority_min(SCHED_RR)` on Linux.
pub(super) const RR_PRIORITY_MIN: i32 = 1;
/// keepalived checks CPU ids against the CPUs online where it parses. `Host` has no CPU
/// count, so we accept what a `cpu_set_t` holds (CPU_SETSIZE 1024); the daemon pins what
/// exists.
pub(super) const MAX_CPU_ID: i32 = 1023;
/// The kernel's TASK_COMM_LEN - 1: longest process name.
pub(super) const MAX_PROCESS_NAME: usize = 15;
/// IP_VS_IFNAME_MAXLEN (16) in the Debian build: interface names must be shorter.
pub(super) const IPVS_IFNAME_MAXLEN: usize = 16;
/// NFT_TABLE_MAXNAMELEN in the Debian build: table names must be shorter.
pub(super) const NFT_TABLE_MAXNAMELEN: usize = 256;
/// PATH_MAX - 1: longest SNMP socket name.
pub(super) const SNMP_SOCKET_MAX: usize = 4095;
/// LVS_MAX_TIMEOUT: 31 days in seconds.
pub(super) const LVS_MAX_TIMEOUT: u32 = 86400 * 31;

pub(super) const BOOL_HELP: &str = "expected one of true, on, yes, false, off, no (or nothing, meaning true)";

// ---------------------------------------------------------------------------------------
// Reporting helpers

/// A message keepalived reports with class CONFIG_GENERAL_ERROR, at `span`.
pub(super) fn general(
    cx: &mut Cx<'_>,
    code: &'static str,
    span: &Span,
    token: &str,
    message: String,
    help: impl Into<String>,
) {
    let d = cx.report(Class::General, code, span, message);
    if !token.is_empty() {
        d.with_token_mut(token);
    }
    d.help = Some(help.into());
}

/// keepalived's graceful "value missing" messages (class GENERAL), where the value should be.
pub(super) fn missing(cx: &mut Cx<'_>, stmt: &Statement, message: String, help: impl Into<String>) {
    let span = stmt.end_span();
    general(cx, "missing-value", &span, "", message, help);
}

/// Something keepalived only logs (invisible under `-t`, no effect on the exit code).
pub(super) fn info(
    cx: &mut Cx<'_>,
    code: &'static str,
    span: &Span,
    message: String,
    help: impl Into<String>,
) {
    cx.report(Class::Info, code, span, message).help = Some(help.into());
}

/// One diagnostic for keepalived's pair of messages about a bad number: the number helper's
/// (`helper`) and the keyword's own (`followup`), with the helper's class.
pub(super) fn bad_number(cx: &mut Cx<'_>, word: &Word, helper: &str, followup: Option<String>, help: String) {
    let message = match followup {
        Some(f) => format!("{f}: {helper}"),
        None => helper.to_string(),
    };
    cx.report(Class::InvalidNumber, "invalid-number", &word.span, message)
        .with_token_mut(&word.text)
        .help = Some(help);
}

/// `read_unsigned_strvec(strvec, index, ...)`: a missing word is keepalived's exit-2 abort.
pub(super) fn unsigned_at(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    index: usize,
    (min, max): (u32, u32),
    followup: impl FnOnce(&str) -> String,
    expected: &str,
) -> Option<u32> {
    let word = cx.word(stmt, index)?;
    unsigned_word(cx, word, (min, max), followup, expected)
}

pub(super) fn unsigned_word(
    cx: &mut Cx<'_>,
    word: &Word,
    (min, max): (u32, u32),
    followup: impl FnOnce(&str) -> String,
    expected: &str,
) -> Option<u32> {
    match parse_unsigned(&word.text, min, max) {
        Ok(v) => Some(v),
        Err(e) => {
            bad_number(
                cx,
                word,
                &e,
                Some(followup(&word.text)),
                format!("expected {expected}"),
            );
            None
        }
    }
}

pub(super) fn int_word(
    cx: &mut Cx<'_>,
    word: &Word,
    (min, max): (i32, i32),
    followup: impl FnOnce(&str) -> String,
    expected: &str,
) -> Option<i32> {
    match parse_int(&word.text, min, max) {
        Ok(v) => Some(v),
        Err(e) => {
            bad_number(
                cx,
                word,
                &e,
                Some(followup(&word.text)),
                format!("expected {expected}"),
            );
            None
        }
    }
}

/// `read_decimal_unsigned_strvec(strvec, 1, ..., TIMER_HZ_DIGITS, ...)`: seconds with up to
/// 6 decimals, in µs. keepalived accepts some flawed values with a complaint (too many
/// decimals: rounded; trailing junk: the digits read); those are reported and kept.
pub(super) fn seconds_at1(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    (min_us, max_us): (u64, u64),
    followup: impl FnOnce(&str) -> String,
) -> Option<u64> {
    let word = cx.word(stmt, 1)?;
    let outcome = parse_decimal(&word.text, min_us, max_us, 6);
    let helper = outcome.messages.join("; ");
    let range = format!(
        "a number of seconds from {} to {}, with at most 6 decimals",
        format_fixed(min_us, 6),
        format_fixed(max_us, 6)
    );
    match outcome.value {
        Some(v) => {
            if !outcome.messages.is_empty() {
                let help = if helper.contains("decimal places") {
                    format!(
                        "keepalived rounds to microseconds and uses {}; expected {range}",
                        format_fixed(v, 6)
                    )
                } else {
                    format!(
                        "keepalived uses the digits it could read ({} s); expected {range}",
                        format_fixed(v, 6)
                    )
                };
                bad_number(cx, word, &helper, None, help);
            }
            Some(v)
        }
        None => {
            bad_number(
                cx,
                word,
                &helper,
                Some(followup(&word.text)),
                format!("expected {range}"),
            );
            None
        }
    }
}

/// keepalived's optional boolean: no word means true; anything but the six words is
/// reported with `message` (given the word) and the setting is left alone.
pub(super) fn bool_arg(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    message: impl FnOnce(&str) -> String,
) -> Option<bool> {
    let Some(word) = stmt.words.get(1) else {
        return Some(true);
    };
    match check_true_false(&word.text) {
        Some(b) => Some(b),
        None => {
            general(
                cx,
                "invalid-boolean",
                &word.span,
                &word.text,
                message(&word.text),
                BOOL_HELP,
            );
            None
        }
    }
}

/// The common "Invalid value '<w1>' for global <keyword> specified" boolean.
pub(super) fn global_bool(cx: &mut Cx<'_>, stmt: &Statement) -> Option<bool> {
    let kw = stmt.keyword().to_string();
    bool_arg(cx, stmt, |w| {
        format!("Invalid value '{w}' for global {kw} specified")
    })
}

pub(super) fn secs(v: u32) -> Micros {
    Micros::from_secs(u64::from(v))
}

// ---------------------------------------------------------------------------------------
// Dispatch

/// Applies one statement. Returns false for an unknown keyword (reported).
pub(super) fn keyword(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) -> bool {
    let kw = stmt.keyword();
    match kw {
        "process_names" => {
            g.process_names = true;
            g.vrrp_process_name = Some("keepalived_vrrp".into());
            // keepalived's name; its man page says keepalived_ipvs.
            g.checker_process_name = Some("keepalived_lvs".into());
            g.bfd_process_name = Some("keepalived_bfd".into());
        }
        "process_name" => {
            if let Some(name) = process_name(cx, stmt) {
                g.process_name = Some(name);
            }
        }
        "vrrp_process_name" => {
            if let Some(name) = process_name(cx, stmt) {
                g.vrrp_process_name = Some(name);
            }
        }
        "checker_process_name" | "lvs_process_name" => {
            if kw == "lvs_process_name" {
                info(
                    cx,
                    "deprecated",
                    stmt.span(),
                    "'lvs_process_name' is deprecated - please use 'checker_process_name'".into(),
                    "rename the keyword to checker_process_name (keepalived only logs this)",
                );
            }
            if let Some(name) = process_name(cx, stmt) {
                g.checker_process_name = Some(name);
            }
        }
        "bfd_process_name" => {
            if let Some(name) = process_name(cx, stmt) {
                g.bfd_process_name = Some(name);
            }
        }
        "router_id" => match stmt.words.get(1) {
            Some(w) => {
                g.router_id = w.text.clone();
                g.router_id_set = true;
            }
            None => missing(
                cx,
                stmt,
                "routerid name missing - ignoring".into(),
                "write 'router_id NAME' (default: the host name)",
            ),
        },
        "notification_email_from" => match stmt.words.get(1) {
            Some(w) => g.notification_email_from = Some(w.text.clone()),
            None => missing(
                cx,
                stmt,
                "emailfrom missing - ignoring".into(),
                "write 'notification_email_from ADDRESS'",
            ),
        },
        "smtp_server" => smtp_server(cx, stmt, g),
        "smtp_helo_name" => {
            // keepalived ignores the line silently without a name.
            if let Some(w) = stmt.words.get(1) {
                g.smtp_helo_name = Some(w.text.clone());
            }
        }
        "smtp_connect_timeout" => smtp_connect_timeout(cx, stmt, g),
        "smtp_alert" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.smtp_alert = Some(b);
            }
        }
        "smtp_alert_vrrp" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.smtp_alert_vrrp = Some(b);
            }
        }
        "smtp_alert_checker" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.smtp_alert_checker = Some(b);
            }
        }
        "no_email_faults" => g.no_email_faults = true,
        "checker_log_all_failures" => {
            if let Some(b) = bool_arg(cx, stmt, |_| {
                "Invalid value for checker_log_all_failures specified".into()
            }) {
                g.checker_log_all_failures = b;
            }
        }
        "no_checker_emails" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.no_checker_emails = b;
            }
        }
        "rs_init_notifies" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.rs_init_notifies = b;
            }
        }
        "startup_script" | "shutdown_script" => start_stop_script(cx, stmt, g),
        "startup_script_timeout" | "shutdown_script_timeout" => start_stop_timeout(cx, stmt, g),
        "max_auto_priority" => max_auto_priority(cx, stmt, g),
        "min_auto_priority_delay" => min_auto_priority_delay(cx, stmt, g),
        "vrrp_priority" => {
            g.vrrp_priority = nice_priority(cx, stmt, "vrrp");
            g.vrrp_priority_set = true;
        }
        "checker_priority" => g.checker_priority = nice_priority(cx, stmt, "checker"),
        "bfd_priority" => g.bfd_priority = nice_priority(cx, stmt, "bfd"),
        "vrrp_no_swap" => g.vrrp_no_swap = true,
        "checker_no_swap" => g.checker_no_swap = true,
        "bfd_no_swap" => g.bfd_no_swap = true,
        "vrrp_rt_priority" => {
            if let Some(p) = rt_priority(cx, stmt, "vrrp") {
                g.vrrp_rt_priority = p;
            }
        }
        "checker_rt_priority" => {
            if let Some(p) = rt_priority(cx, stmt, "checker") {
                g.checker_rt_priority = p;
            }
        }
        "bfd_rt_priority" => {
            if let Some(p) = rt_priority(cx, stmt, "bfd") {
                g.bfd_rt_priority = p;
            }
        }
        "vrrp_cpu_affinity" => cpu_affinity(cx, stmt, "vrrp", &mut g.vrrp_cpu_affinity),
        "checker_cpu_affinity" => cpu_affinity(cx, stmt, "checker", &mut g.checker_cpu_affinity),
        "bfd_cpu_affinity" => cpu_affinity(cx, stmt, "bfd", &mut g.bfd_cpu_affinity),
        "vrrp_rlimit_rttime" | "vrrp_rlimit_rtime" => {
            if let Some(v) = rt_rlimit(cx, stmt, "vrrp") {
                g.vrrp_rlimit_rttime = v;
            }
        }
        "checker_rlimit_rttime" | "checker_rlimit_rtime" => {
            if let Some(v) = rt_rlimit(cx, stmt, "checker") {
                g.checker_rlimit_rttime = v;
            }
        }
        "bfd_rlimit_rttime" | "bfd_rlimit_rtime" => {
            if let Some(v) = rt_rlimit(cx, stmt, "bfd") {
                g.bfd_rlimit_rttime = v;
            }
        }
        "dynamic_interfaces" => {
            g.dynamic_interfaces = true;
            if let Some(w) = stmt.words.get(1) {
                if w.text == "allow_if_changes" {
                    g.dynamic_interfaces_allow_if_changes = true;
                } else {
                    general(
                        cx,
                        "unknown-option",
                        &w.span,
                        &w.text,
                        format!("Unknown dynamic_interfaces option '{}'", w.text),
                        "the only option is 'allow_if_changes' (dynamic_interfaces is still enabled)",
                    );
                }
            }
        }
        "default_interface" => match stmt.words.get(1) {
            Some(w) => g.default_interface = w.text.clone(),
            None => missing(
                cx,
                stmt,
                "default_interface requires interface name".into(),
                "write 'default_interface IFNAME'",
            ),
        },
        // keepalived refuses this when /proc/sys/net/ipv4/igmp_link_local_mcast_reports is
        // not writable (kernels before 4.2, or not root). That is a property of the machine
        // the daemon runs on, which the daemon checks when it starts.
        "disable_local_igmp" => g.disable_local_igmp = true,
        "vrrp_mcast_group4" => mcast_group4(cx, stmt, g),
        "vrrp_mcast_group6" => mcast_group6(cx, stmt, g),
        "vrrp_version" => {
            if let Some(w) = cx.word(stmt, 1) {
                let v = int_word(
                    cx,
                    w,
                    (2, 3),
                    |_| "VRRP Error: Version must be either 2 or 3".into(),
                    "2 or 3",
                );
                if let Some(v) = v {
                    g.vrrp_version = if v == 3 { 3 } else { 2 };
                }
            }
        }
        "vrrp_check_unicast_src" => g.vrrp_check_unicast_src = true,
        "vrrp_skip_check_adv_addr" => g.vrrp_skip_check_adv_addr = true,
        "vrrp_strict" => g.vrrp_strict = true,
        "vrrp_lower_prio_no_advert" => {
            if let Some(b) = bool_arg(cx, stmt, |_| {
                "Invalid value for vrrp_lower_prio_no_advert specified".into()
            }) {
                g.vrrp_lower_prio_no_advert = b;
            }
        }
        "vrrp_higher_prio_send_advert" => {
            if let Some(b) = bool_arg(cx, stmt, |_| {
                "Invalid value for vrrp_higher_prio_send_advert specified".into()
            }) {
                g.vrrp_higher_prio_send_advert = b;
            }
        }
        "vrrp_notify_priority_changes" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.vrrp_notify_priority_changes = b;
            }
        }
        "vrrp_startup_delay" => {
            let v = seconds_at1(cx, stmt, (TIMER_HZ / 1000, u64::from(u32::MAX)), |w| {
                format!("vrrp_startup_delay '{w}' is invalid")
            });
            if let Some(v) = v {
                g.vrrp_startup_delay = Micros(v);
            }
            very_large(cx, stmt, g.vrrp_startup_delay, 60, "vrrp_startup_delay");
        }
        "log_unknown_vrids" => g.log_unknown_vrids = true,
        "vmac_prefix" | "vmac_addr_prefix" => vmac_prefix(cx, stmt, g),
        "vrrp_rx_bufs_policy" => rx_bufs_policy(cx, stmt, g),
        "vrrp_rx_bufs_multiplier" => rx_bufs_multiplier(cx, stmt, g),
        "vrrp_garp_master_delay" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (0, u32::MAX / 1_000_000),
                |w| format!("vrrp_garp_master_delay '{w}' invalid - ignoring"),
                "a whole number of seconds from 0 to 4294",
            );
            if let Some(v) = v {
                g.vrrp_garp_master_delay = secs(v);
            }
        }
        "vrrp_garp_master_repeat" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (0, u32::MAX),
                |w| format!("vrrp_garp_master_repeat '{w}' invalid - ignoring"),
                "a count from 1 to 4294967295",
            );
            if let Some(v) = v {
                g.vrrp_garp_master_repeat = at_least_one(cx, stmt, v, "vrrp_garp_master_repeat");
            }
        }
        "vrrp_garp_master_refresh" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (0, u32::MAX),
                |w| format!("Invalid vrrp_garp_master_refresh '{w}' - ignoring"),
                "a whole number of seconds (0 = no refresh); keepalived sets 0 despite 'ignoring'",
            );
            // keepalived resets the refresh to 0 on an invalid value, despite "ignoring".
            g.vrrp_garp_master_refresh = secs(v.unwrap_or(0));
        }
        "vrrp_garp_master_refresh_repeat" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (0, u32::MAX),
                |w| format!("vrrp_garp_master_refresh_repeat '{w}' invalid - ignoring"),
                "a count from 1 to 4294967295",
            );
            if let Some(v) = v {
                g.vrrp_garp_master_refresh_repeat =
                    at_least_one(cx, stmt, v, "vrrp_garp_master_refresh_repeat");
            }
        }
        "vrrp_garp_lower_prio_delay" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (0, u32::MAX / 1_000_000),
                |w| format!("vrrp_garp_lower_prio_delay '{w}' invalid - ignoring"),
                "a whole number of seconds from 0 to 4294",
            );
            if let Some(v) = v {
                g.vrrp_garp_lower_prio_delay = Some(secs(v));
            }
        }
        "vrrp_garp_lower_prio_repeat" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (0, i32::MAX as u32),
                |w| format!("Invalid vrrp_garp_lower_prio_repeat '{w}'"),
                "a count from 0 to 2147483647",
            );
            if let Some(v) = v {
                g.vrrp_garp_lower_prio_repeat = Some(v);
            }
        }
        "vrrp_down_timer_adverts" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (1, 100),
                |w| format!("Invalid vrrp_down_timer_adverts [1:100] '{w}'"),
                "a count of adverts from 1 to 100",
            );
            if let Some(v) = v {
                g.vrrp_down_timer_adverts = v;
            }
        }
        "vrrp_garp_interval" => {
            let v = seconds_at1(cx, stmt, (1, u64::from(u32::MAX)), |w| {
                format!("vrrp_garp_interval '{w}' is invalid")
            });
            if let Some(v) = v {
                g.vrrp_garp_interval = Micros(v);
            }
            very_large(cx, stmt, g.vrrp_garp_interval, 1, "vrrp_garp_interval");
        }
        "vrrp_gna_interval" => {
            let v = seconds_at1(cx, stmt, (1, u64::from(u32::MAX)), |w| {
                format!("vrrp_gna_interval '{w}' is invalid")
            });
            if let Some(v) = v {
                g.vrrp_gna_interval = Micros(v);
            }
            very_large(cx, stmt, g.vrrp_gna_interval, 1, "vrrp_gna_interval");
        }
        "vrrp_min_garp" => {
            if bool_arg(cx, stmt, |_| "Invalid value for vrrp_min_garp specified".into()) == Some(true) {
                min_garp(g);
            }
        }
        "vrrp_garp_extra_if" | "vrrp_vmac_garp_intvl" => garp_extra_if(cx, stmt, g),
        "vrrp_iptables" => {
            // This build (like Debian's) has nftables but no iptables: keepalived falls back.
            general(
                cx,
                "iptables-unsupported",
                stmt.span(),
                kw,
                "iptables not supported, using nftables instead. Please replace 'vrrp_iptables and 'vrrp_ipsets' with 'nftables' config option".into(),
                "replace 'vrrp_iptables' with 'nftables' (keepalived uses nftables table 'keepalived')",
            );
            g.vrrp_iptables = true;
            g.nftables = Some("keepalived".into());
            g.nftables_priority = -1;
        }
        "nftables" => nftables(cx, stmt, g, false),
        "nftables_ipvs" => nftables(cx, stmt, g, true),
        "nftables_priority" | "nftables_ipvs_priority" => {
            let ipvs = kw == "nftables_ipvs_priority";
            if let Some(w) = cx.word(stmt, 1) {
                let v = int_word(
                    cx,
                    w,
                    (i32::MIN, i32::MAX),
                    |w| {
                        if ipvs {
                            format!("invalid ipvs nftables chain priority '{w}'")
                        } else {
                            format!("invalid nftables chain priority '{w}'")
                        }
                    },
                    "a whole number (nftables chain priority)",
                );
                if let Some(v) = v {
                    if ipvs {
                        g.nftables_ipvs_priority = v;
                    } else {
                        g.nftables_priority = v;
                    }
                }
            }
        }
        "nftables_ifindex" => g.nftables_ifindex = true,
        "nftables_ipvs_start_fwmark" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (1, u32::MAX),
                |w| format!("invalid ipvs nftables start_fwmark priority '{w}'"),
                "a firewall mark from 1 to 4294967295",
            );
            if let Some(v) = v {
                g.nftables_ipvs_start_fwmark = v;
            }
        }
        "nftables_counters" => g.nftables_counters = true,
        "lvs_timeouts" => lvs_timeouts(cx, stmt, &mut g.lvs_timeouts),
        "lvs_flush" => g.lvs_flush = true,
        // lvs_flush_onstop is a deprecated alias keepalived accepts without a word.
        "lvs_flush_on_stop" | "lvs_flush_onstop" => match stmt.words.get(1) {
            None => g.lvs_flush_on_stop = LvsFlushOnStop::Full,
            Some(w) if w.text == "VS" => g.lvs_flush_on_stop = LvsFlushOnStop::Vs,
            Some(w) => general(
                cx,
                "unknown-option",
                &w.span,
                &w.text,
                format!("Unknown lvs_flush_on_stop type {}", w.text),
                "expected 'VS' (only keepalived's virtual servers) or nothing (flush everything)",
            ),
        },
        "lvs_sync_daemon" => lvs_sync_daemon(cx, stmt, g),
        "notify_fifo" => notify_fifo(
            cx,
            stmt,
            "",
            &mut g.notify_fifo,
            &mut g.script_user,
            g.enable_script_security,
        ),
        "vrrp_notify_fifo" => notify_fifo(
            cx,
            stmt,
            "vrrp_",
            &mut g.vrrp_notify_fifo,
            &mut g.script_user,
            g.enable_script_security,
        ),
        "lvs_notify_fifo" => notify_fifo(
            cx,
            stmt,
            "lvs_",
            &mut g.lvs_notify_fifo,
            &mut g.script_user,
            g.enable_script_security,
        ),
        "notify_fifo_script" => fifo_script(
            cx,
            stmt,
            "",
            &mut g.notify_fifo_script,
            &mut g.script_user,
            g.enable_script_security,
        ),
        "vrrp_notify_fifo_script" => fifo_script(
            cx,
            stmt,
            "vrrp_",
            &mut g.vrrp_notify_fifo_script,
            &mut g.script_user,
            g.enable_script_security,
        ),
        "lvs_notify_fifo_script" => fifo_script(
            cx,
            stmt,
            "lvs_",
            &mut g.lvs_notify_fifo_script,
            &mut g.script_user,
            g.enable_script_security,
        ),
        "fifo_write_vrrp_states_on_reload" => g.fifo_write_vrrp_states_on_reload = true,
        "snmp_socket" => snmp_socket(cx, stmt, g),
        "enable_traps" => g.enable_traps = true,
        // enable_snmp_keepalived is a deprecated alias keepalived accepts without a word.
        "enable_snmp_vrrp" | "enable_snmp_keepalived" => g.enable_snmp_vrrp = true,
        "enable_snmp_rfc" => {
            g.enable_snmp_rfc = true;
            g.enable_snmp_rfcv2 = true;
            g.enable_snmp_rfcv3 = true;
        }
        "enable_snmp_rfcv2" => g.enable_snmp_rfcv2 = true,
        "enable_snmp_rfcv3" => g.enable_snmp_rfcv3 = true,
        "enable_snmp_checker" => g.enable_snmp_checker = true,
        "enable_dbus" => g.enable_dbus = true,
        "dbus_service_name" => match stmt.words.get(1) {
            Some(w) => g.dbus_service_name = w.text.clone(),
            None => missing(
                cx,
                stmt,
                "dbus_service_name missing - ignoring".into(),
                "write 'dbus_service_name NAME' (default org.keepalived.Vrrp1)",
            ),
        },
        "script_user" => script_user(cx, stmt, g),
        "enable_script_security" => g.enable_script_security = true,
        "vrrp_netlink_cmd_rcv_bufs" => {
            if let Some(v) = rcv_bufs(cx, stmt, "vrrp_netlink_cmd") {
                g.vrrp_netlink_cmd_rcv_bufs_bytes = v;
            }
        }
        "vrrp_netlink_monitor_rcv_bufs" => {
            if let Some(v) = rcv_bufs(cx, stmt, "vrrp_netlink_monitor") {
                g.vrrp_netlink_monitor_rcv_bufs_bytes = v;
            }
        }
        "process_monitor_rcv_bufs" => {
            if let Some(v) = rcv_bufs(cx, stmt, "process_monitor") {
                g.process_monitor_rcv_bufs_bytes = v;
            }
        }
        "lvs_netlink_cmd_rcv_bufs" => {
            if let Some(v) = rcv_bufs(cx, stmt, "lvs_netlink_cmd") {
                g.lvs_netlink_cmd_rcv_bufs_bytes = v;
            }
        }
        "lvs_netlink_monitor_rcv_bufs" => {
            if let Some(v) = rcv_bufs(cx, stmt, "lvs_netlink_monitor") {
                g.lvs_netlink_monitor_rcv_bufs_bytes = v;
            }
        }
        "vrrp_netlink_cmd_rcv_bufs_force" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.vrrp_netlink_cmd_rcv_bufs_force = b;
            }
        }
        "vrrp_netlink_monitor_rcv_bufs_force" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.vrrp_netlink_monitor_rcv_bufs_force = b;
            }
        }
        "process_monitor_rcv_bufs_force" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.process_monitor_rcv_bufs_force = b;
            }
        }
        "lvs_netlink_cmd_rcv_bufs_force" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.lvs_netlink_cmd_rcv_bufs_force = b;
            }
        }
        "lvs_netlink_monitor_rcv_bufs_force" => {
            if let Some(b) = global_bool(cx, stmt) {
                g.lvs_netlink_monitor_rcv_bufs_force = b;
            }
        }
        "umask" => umask(cx, stmt, g),
        "random_seed" => {
            let v = unsigned_at(
                cx,
                stmt,
                1,
                (0, u32::MAX),
                |w| format!("random_seed {w} invalid"),
                "a whole number from 0 to 4294967295",
            );
            if let Some(v) = v {
                g.random_seed = Some(v);
            }
        }
        "reload_check_config" => {
            g.reload_check_config = Some(
                stmt.words
                    .get(1)
                    .map_or_else(|| "/dev/null".into(), |w| w.text.clone()),
            );
        }
        "reload_time_file" => {
            if stmt.words.len() == 2 {
                g.reload_time_file = stmt.words.get(1).map(|w| w.text.clone());
            } else {
                let span = stmt
                    .words
                    .get(2)
                    .map_or_else(|| stmt.end_span(), |w| w.span.clone());
                general(
                    cx,
                    "invalid-value",
                    &span,
                    "",
                    "reload_time_file invalid".into(),
                    "write 'reload_time_file PATH' with exactly one path",
                );
            }
        }
        "reload_repeat" => g.reload_repeat = true,
        "reload_file" => match stmt.words.get(1) {
            Some(w) => {
                g.reload_file = Some(w.text.clone());
                g.reload_file_default = false;
            }
            None => {
                g.reload_file = None;
                g.reload_file_default = true;
            }
        },
        "include_check" => include_check(cx, stmt, &mut g.include_check),
        "config_save_dir" => config_save_dir(cx, stmt, g),
        "tmp_config_directory" => {
            if g.tmp_config_directory.is_some() {
                general(
                    cx,
                    "duplicate",
                    stmt.span(),
                    kw,
                    "tmp_config_directory already specified - ignoring".into(),
                    "only the first tmp_config_directory is used; remove this one",
                );
            } else if let Some(w) = stmt.words.get(1) {
                g.tmp_config_directory = Some(w.text.clone());
            } else {
                missing(
                    cx,
                    stmt,
                    "tmp_config_directory missing directory name".into(),
                    "write 'tmp_config_directory DIR'",
                );
            }
        }
        "data_use_instance" => {
            // keepalived's message says "date_use_instance".
            if let Some(b) = bool_arg(cx, stmt, |w| {
                format!("Invalid value '{w}' for global date_use_instance specified")
            }) {
                g.data_use_instance = b;
            }
        }
        // keepalived-rs's own keyword: where the Prometheus metrics are served.
        "metrics_listen" => match stmt.words.get(1) {
            Some(w) => match w.text.parse::<std::net::SocketAddr>() {
                Ok(addr) => g.metrics_listen = Some(addr),
                Err(_) => general(
                    cx,
                    "metrics-listen",
                    &w.span,
                    &w.text,
                    format!("metrics_listen: '{}' is not an ADDRESS:PORT - ignoring", w.text),
                    "write e.g. 'metrics_listen 127.0.0.1:9650' or 'metrics_listen [::1]:9650'",
                ),
            },
            None => missing(
                cx,
                stmt,
                "metrics_listen address missing - ignoring".into(),
                "write 'metrics_listen ADDRESS:PORT', e.g. 127.0.0.1:9650",
            ),
        },
        _ => {
            cx.unknown_keyword(stmt, "global_defs");
            return false;
        }
    }
    true
}
