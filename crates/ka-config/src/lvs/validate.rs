//! keepalived's post-parse passes for the checker, in its order: `link_vsg_to_vs` (groups),
//! then `validate_check_config` per virtual server and per checker. keepalived prints these
//! messages without a position; we put them at the virtual (or real) server concerned.
//!
//! Left to the global passes: the script-security check (keepalived's
//! `check_check_script_security`, see [`super::LvsConfig::scripts`]).

use super::addr::Family;
use super::checker::CheckerKind;
use super::forwarding::LbKind;
use super::scheduler::LbAlgo;
use super::virtual_server::{
    describe_server, describe_vs, Protocol, VirtualServer, VsKey, DEFAULT_PERSISTENCE_TIMEOUT_SECS,
};
use super::{code, read, LvsConfig};
use crate::cx::Cx;
use crate::diag::Span;

/// global_defs' `smtp_alert_checker` and `smtp_alert`, which come before keepalived's own
/// smtp_alert defaults for virtual and real servers.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SmtpAlertDefaults {
    pub smtp_alert_checker: Option<bool>,
    pub smtp_alert: Option<bool>,
}

impl SmtpAlertDefaults {
    fn or(self, fallback: bool) -> bool {
        self.smtp_alert_checker.or(self.smtp_alert).unwrap_or(fallback)
    }
}

pub(crate) fn run(cx: &mut Cx<'_>, lvs: &mut LvsConfig, smtp_alert: SmtpAlertDefaults) {
    link_groups(cx, lvs);
    let mut i = 0;
    while i < lvs.virtual_servers.len() {
        if check_virtual_server(cx, lvs, i, smtp_alert) {
            i += 1;
        } else {
            lvs.virtual_servers.remove(i);
        }
    }
    for vs in &mut lvs.virtual_servers {
        inherit_checker_settings(vs);
    }
}

/// Reports at `span` (the server concerned), or unplaced if we have none.
fn report(cx: &mut Cx<'_>, span: Option<&Span>, code: &'static str, message: String, help: &str) {
    match span {
        Some(s) => read::error(cx, code, s, message, help),
        None => {
            cx.report_unplaced(crate::diag::Class::General, code, message)
                .help = Some(help.into());
        }
    }
}

/// keepalived's `link_vsg_to_vs`: a virtual server naming a missing group, or a group of
/// another family, is dropped (keepalived only logs this); the others are numbered per group.
fn link_groups(cx: &mut Cx<'_>, lvs: &mut LvsConfig) {
    let groups = &lvs.virtual_server_groups;
    lvs.virtual_servers.retain_mut(|vs| {
        let VsKey::Group { name, .. } = &vs.key else {
            return true;
        };
        let shown = format!("[{name}]:0");
        let span = vs.span.clone();
        let log = |cx: &mut Cx<'_>, msg: String| {
            let help = "keepalived drops this virtual server (and says nothing under -t)";
            match &span {
                Some(span) => read::logged(cx, span, msg, help),
                None => cx.report_unplaced(crate::diag::Class::Info, code::LOGGED, msg).help = Some(help.into()),
            }
        };
        let Some(group) = groups.iter().find(|g| g.name == *name) else {
            log(cx, format!("Virtual server group {name} specified but not configured - ignoring virtual server {shown}"));
            return false;
        };
        let mismatch = match vs.ip_family {
            Some(Family::Inet) => group.have_ipv6,
            Some(Family::Inet6) => group.have_ipv4,
            None => false,
        };
        if group.have_ipv4 && group.have_ipv6 && vs.ip_family.is_some() {
            log(cx, format!("{name}: virtual server group with IPv4 & IPv6 doesn't match virtual server {shown} - ignoring"));
            return false;
        }
        if mismatch {
            log(cx, format!("{name}: address family doesn't match virtual server {shown} - ignoring"));
            return false;
        }
        if let Some(f) = group.family() {
            vs.ip_family.get_or_insert(f);
        } else if vs.ip_family.is_none() && group.fwmark_no_family {
            // keepalived leaves the family unset and uses IPv4 later.
            log(cx, format!("{name}: Virtual server {shown} address family cannot be determined, defaulting to IPv4"));
        }
        true
    });
    let mut counts: Vec<(String, u32)> = Vec::new();
    for vs in &mut lvs.virtual_servers {
        if let VsKey::Group { name, seq } = &mut vs.key {
            match counts.iter_mut().find(|(n, _)| n == name) {
                Some((_, c)) => {
                    *seq = *c;
                    *c += 1;
                }
                None => {
                    *seq = 0;
                    counts.push((name.clone(), 1));
                }
            }
        }
    }
}

/// What a virtual server's group holds (keepalived tests its address and fwmark lists).
struct GroupShape {
    addresses: Vec<super::VsgAddrRange>,
    has_fwmarks: bool,
}

/// keepalived's per-virtual-server checks. False when the virtual server is dropped.
fn check_virtual_server(
    cx: &mut Cx<'_>,
    lvs: &mut LvsConfig,
    index: usize,
    smtp_alert: SmtpAlertDefaults,
) -> bool {
    let group = match lvs.virtual_servers.get(index).and_then(|vs| vs.group_name()) {
        Some(name) => lvs
            .virtual_server_groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| GroupShape {
                addresses: g.addresses.clone(),
                has_fwmarks: !g.fwmarks.is_empty(),
            }),
        None => None,
    };
    let Some(vs) = lvs.virtual_servers.get_mut(index) else {
        return false;
    };
    let span = vs.span.clone();
    let span = span.as_ref();
    let is_group = group.is_some();

    if vs.real_servers.is_empty() {
        let msg = format!("Virtual server {} has no real servers - ignoring", vs.describe());
        report(cx, span, code::REMOVED, msg, "add a real_server block");
        return false;
    }

    let group_fwmarks = group.as_ref().is_some_and(|g| g.has_fwmarks);
    let group_addresses = group.as_ref().is_some_and(|g| !g.addresses.is_empty());
    if vs.ha_suspend && (vs.fwmark().is_some() || group_fwmarks) {
        let msg = format!(
            "Virtual server {}: cannot use ha_suspend with fwmarks - clearing ha_suspend",
            vs.describe()
        );
        report(cx, span, code::ADJUSTED, msg, "remove ha_suspend");
        vs.ha_suspend = false;
    }

    if group_addresses || vs.is_plain_address() {
        if vs.protocol.is_none() {
            let msg = format!(
                "Virtual server {}: no protocol set - defaulting to UDP",
                vs.describe()
            );
            report(cx, span, code::ADJUSTED, msg, "add 'protocol TCP' (or UDP, SCTP)");
            vs.protocol = Some(Protocol::Udp);
        }
        if vs.ops && vs.protocol != Some(Protocol::Udp) {
            let msg = format!(
                "Virtual server {}: one packet scheduling requires UDP - resetting",
                vs.describe()
            );
            report(cx, span, code::ADJUSTED, msg, "remove ops, or use protocol UDP");
            vs.ops = false;
        }
        if vs.persistence_timeout_secs == 0 && vs.is_plain_address() && vs.port() == 0 {
            let msg = format!(
                "Virtual server {}: zero port only valid for persistent services - setting",
                vs.describe()
            );
            report(
                cx,
                span,
                code::ADJUSTED,
                msg,
                "give the virtual server a port, or set persistence_timeout",
            );
            vs.persistence_timeout_secs = DEFAULT_PERSISTENCE_TIMEOUT_SECS;
        }
    }

    if vs.persistence_timeout_secs == 0
        && group
            .as_ref()
            .is_some_and(|g| g.addresses.iter().any(|a| a.port == 0))
    {
        let msg = format!(
            "Virtual server {}: zero port only valid for persistent services - setting",
            vs.describe()
        );
        report(
            cx,
            span,
            code::ADJUSTED,
            msg,
            "give every group address a port, or set persistence_timeout",
        );
        vs.persistence_timeout_secs = DEFAULT_PERSISTENCE_TIMEOUT_SECS;
    }

    let fwmark_only = (is_group && !group_addresses && group_fwmarks) || (!is_group && vs.fwmark().is_some());
    if vs.protocol.is_some() && fwmark_only {
        let msg = format!(
            "Warning: Virtual server {}: protocol specified for fwmark - protocol will be ignored",
            vs.describe()
        );
        report(
            cx,
            span,
            code::ADJUSTED,
            msg,
            "remove 'protocol': a firewall mark covers every protocol",
        );
        vs.protocol = None;
    }

    if vs.lvs_sched.is_none() {
        let msg = format!(
            "Virtual server {}: no scheduler set, setting default 'wlc'",
            vs.describe()
        );
        report(cx, span, code::ADJUSTED, msg, "add 'lvs_sched NAME' (lb_algo)");
        vs.lvs_sched = Some(LbAlgo::Wlc);
    }

    vs.smtp_alert.get_or_insert(smtp_alert.or(false));

    check_real_servers(cx, vs, span, smtp_alert);

    if let Some(sorry) = &mut vs.sorry_server {
        if sorry.forwarding.lvs_method.is_none() {
            default_forwarding(cx, &mut vs.forwarding, &vs.key, vs.protocol, span);
            sorry.forwarding = vs.forwarding;
        }
    }

    let weight_sum = vs
        .real_servers
        .iter()
        .fold(0u32, |acc, rs| acc.wrapping_add(rs.weight.unwrap_or(0)));
    if vs.quorum > weight_sum {
        let msg = format!(
            "Warning - quorum {} for {} exceeds total weight of real servers {weight_sum}, reducing quorum to {weight_sum}",
            vs.quorum,
            vs.describe()
        );
        report(
            cx,
            span,
            code::ADJUSTED,
            msg,
            "lower quorum or raise the real servers' weights",
        );
        vs.quorum = weight_sum;
    }
    if vs.hysteresis >= vs.quorum {
        let new = vs.quorum.wrapping_sub(1);
        let msg = format!(
            "Virtual server {}: hysteresis {} >= quorum {}; setting hysteresis to {new}",
            vs.describe(),
            vs.hysteresis,
            vs.quorum
        );
        report(
            cx,
            span,
            code::ADJUSTED,
            msg,
            "hysteresis must be lower than quorum",
        );
        vs.hysteresis = new;
    }

    match &group {
        Some(g) => check_group_ports(cx, vs, g, span),
        None => fix_ports(cx, vs, span),
    }
    true
}

/// keepalived's "no forwarding method set" default, printed at most once per virtual server.
fn default_forwarding(
    cx: &mut Cx<'_>,
    fwd: &mut super::Forwarding,
    key: &VsKey,
    protocol: Option<Protocol>,
    span: Option<&Span>,
) {
    if fwd.lvs_method.is_none() {
        let msg = format!(
            "Virtual server {}: no forwarding method set, setting default NAT",
            describe_vs(key, protocol)
        );
        report(
            cx,
            span,
            code::ADJUSTED,
            msg,
            "add 'lvs_method NAT' (lb_kind), or DR or TUN",
        );
        fwd.lvs_method = Some(LbKind::Nat);
    }
}

/// Step 8 of validate_check_config: duplicates, forwarding, inheritance, sorry server.
fn check_real_servers(
    cx: &mut Cx<'_>,
    vs: &mut VirtualServer,
    vs_span: Option<&Span>,
    smtp_alert: SmtpAlertDefaults,
) {
    let mut j = 0;
    while j < vs.real_servers.len() {
        let (earlier, rest) = vs.real_servers.split_at(j);
        let Some(rs) = rest.first() else { break };
        let same = |a: &super::RealServer| a.ip == rs.ip && a.port == rs.port;
        if earlier.iter().any(same) {
            let msg = format!(
                "VS {}: real server {} is duplicated - removing second rs",
                vs.describe(),
                vs.describe_server(&rs.ip, rs.port)
            );
            let span = rs.span.clone();
            report(
                cx,
                span.as_ref().or(vs_span),
                code::REMOVED,
                msg,
                "remove one of the two real_server blocks",
            );
            vs.real_servers.remove(j);
            continue;
        }
        if vs.real_servers[j].forwarding.lvs_method.is_none() {
            default_forwarding(cx, &mut vs.forwarding, &vs.key, vs.protocol, vs_span);
            vs.real_servers[j].forwarding = vs.forwarding;
        }
        let rs = &mut vs.real_servers[j];
        rs.alpha.get_or_insert(vs.alpha);
        rs.inhibit_on_failure.get_or_insert(vs.inhibit_on_failure);
        if rs.retry.is_none() {
            rs.retry = vs.retry;
        }
        rs.connect_timeout.get_or_insert(vs.connect_timeout);
        rs.delay_loop.get_or_insert(vs.delay_loop);
        if rs.warmup.is_none() {
            rs.warmup = vs.warmup;
        }
        if rs.delay_before_retry.is_none() {
            rs.delay_before_retry = vs.delay_before_retry;
        }
        rs.weight.get_or_insert(vs.weight);
        // keepalived's last resort here is true (unlike the virtual server's), for compatibility.
        rs.smtp_alert.get_or_insert(smtp_alert.or(true));

        let rs_inhibit = rs.inhibit_on_failure.unwrap_or(false);
        let (rs_ip, rs_port, rs_span) = (rs.ip, rs.port, rs.span.clone());
        if let Some(sorry) = &mut vs.sorry_server {
            if sorry.ip == rs_ip && sorry.port == rs_port {
                if sorry.inhibit != rs_inhibit {
                    let msg = format!(
                        "Virtual server {}: real server {} matches sorry server, but inhibit setting differs, {}ing on sorry server",
                        describe_vs(&vs.key, vs.protocol),
                        describe_server(vs.protocol, &rs_ip, rs_port),
                        if rs_inhibit { "sett" } else { "clear" }
                    );
                    report(
                        cx,
                        rs_span.as_ref().or(vs_span),
                        code::ADJUSTED,
                        msg,
                        "give the sorry server the real server's inhibit_on_failure",
                    );
                    sorry.inhibit = rs_inhibit;
                }
                vs.sorry_server_duplicates_rs = true;
            }
        }
        j += 1;
    }
}

/// Ports of a group's real and sorry servers: keepalived only warns.
fn check_group_ports(cx: &mut Cx<'_>, vs: &VirtualServer, group: &GroupShape, span: Option<&Span>) {
    let not_nat = |m: Option<LbKind>| m != Some(LbKind::Nat);
    if group.has_fwmarks {
        for rs in vs
            .real_servers
            .iter()
            .filter(|rs| not_nat(rs.forwarding.lvs_method) && rs.port != 0)
        {
            let msg = format!(
                "WARNING - fwmark virtual server {}, real server {} has port specified - port will be ignored",
                vs.describe(),
                vs.describe_server(&rs.ip, rs.port)
            );
            report(
                cx,
                rs.span.as_ref().or(span),
                code::ADJUSTED,
                msg,
                "remove the real server's port",
            );
        }
        if let Some(sorry) = vs
            .sorry_server
            .as_ref()
            .filter(|s| not_nat(s.forwarding.lvs_method) && s.port != 0)
        {
            let msg = format!(
                "WARNING - fwmark virtual server {}, sorry server has port specified - port will be ignored",
                vs.describe()
            );
            report(
                cx,
                sorry.span.as_ref().or(span),
                code::ADJUSTED,
                msg,
                "remove the sorry server's port",
            );
        }
    }
    for entry in &group.addresses {
        for rs in vs
            .real_servers
            .iter()
            .filter(|rs| not_nat(rs.forwarding.lvs_method))
        {
            if rs.port != 0 && rs.port != entry.port {
                let msg = format!(
                    "virtual server {}:[{}] and real server {} ports don't match",
                    vs.describe(),
                    entry.describe(),
                    vs.describe_server(&rs.ip, rs.port)
                );
                report(
                    cx,
                    rs.span.as_ref().or(span),
                    code::ADJUSTED,
                    msg,
                    "DR and TUN real servers must use the virtual server's port",
                );
            }
        }
        if let Some(sorry) = vs
            .sorry_server
            .as_ref()
            .filter(|s| not_nat(s.forwarding.lvs_method) && s.port != 0 && s.port != entry.port)
        {
            let msg = format!(
                "WARNING - virtual server {}, sorry server has port specified - port will be ignored",
                vs.describe()
            );
            report(
                cx,
                sorry.span.as_ref().or(span),
                code::ADJUSTED,
                msg,
                "remove the sorry server's port",
            );
        }
    }
}

/// Ports of a plain virtual server's real and sorry servers: keepalived fixes them.
fn fix_ports(cx: &mut Cx<'_>, vs: &mut VirtualServer, span: Option<&Span>) {
    let vs_port = vs.port();
    let fwmark = vs.fwmark().is_some();
    let vs_name = vs.describe();
    for j in 0..vs.real_servers.len() {
        let rs = &vs.real_servers[j];
        // Named only when reported: formatting every real server's name costs at 37k servers.
        let shown = || vs.describe_server(&rs.ip, rs.port);
        let shown = if rs.port != 0 && (fwmark || rs.port != vs_port) {
            shown()
        } else {
            String::new()
        };
        let rs_span = rs.span.clone();
        let rs = &mut vs.real_servers[j];
        if rs.forwarding.lvs_method == Some(LbKind::Nat) {
            if !fwmark && rs.port == 0 {
                rs.port = vs_port;
            }
            continue;
        }
        if fwmark {
            if rs.port != 0 {
                let msg = format!("WARNING - fwmark virtual server {vs_name}, real server {shown} has port specified - clearing");
                report(
                    cx,
                    rs_span.as_ref().or(span),
                    code::ADJUSTED,
                    msg,
                    "remove the real server's port",
                );
                rs.port = 0;
            }
        } else if rs.port == 0 {
            rs.port = vs_port;
        } else if rs.port != vs_port {
            let msg = format!(
                "WARNING - virtual server {vs_name} and real server {shown} ports don't match - resetting"
            );
            report(
                cx,
                rs_span.as_ref().or(span),
                code::ADJUSTED,
                msg,
                "DR and TUN real servers must use the virtual server's port",
            );
            rs.port = vs_port;
        }
    }
    if let Some(sorry) = vs
        .sorry_server
        .as_mut()
        .filter(|s| s.forwarding.lvs_method != Some(LbKind::Nat))
    {
        let sorry_span = sorry.span.clone();
        if fwmark {
            if sorry.port != 0 {
                let msg =
                    format!("WARNING - virtual server {vs_name}, sorry server has port specified - clearing");
                report(
                    cx,
                    sorry_span.as_ref().or(span),
                    code::ADJUSTED,
                    msg,
                    "remove the sorry server's port",
                );
                sorry.port = 0;
            }
        } else if sorry.port == 0 {
            sorry.port = vs_port;
        } else if sorry.port != vs_port {
            let msg =
                format!("WARNING - virtual server {vs_name} and sorry server ports don't match - resetting");
            report(
                cx,
                sorry_span.as_ref().or(span),
                code::ADJUSTED,
                msg,
                "DR and TUN sorry servers must use the virtual server's port",
            );
            sorry.port = vs_port;
        }
    }
}

/// The checker pass: values a checker does not set come from its real server (which already
/// has the virtual server's), then from the checker type's defaults.
fn inherit_checker_settings(vs: &mut VirtualServer) {
    for rs in &mut vs.real_servers {
        for c in &mut rs.checkers {
            // FILE_CHECK checkers are created after this pass in keepalived: nothing inherited.
            if matches!(c.kind, CheckerKind::File(_)) {
                continue;
            }
            let common = &mut c.common;
            if common.alpha.is_none() {
                common.alpha = rs.alpha;
            }
            if !c.kind.has_run_loop() {
                continue;
            }
            common
                .retry
                .get_or_insert(rs.retry.unwrap_or(c.kind.default_retry()));
            if let Some(co) = common.conn.as_mut() {
                if co.connect_timeout.is_none() {
                    co.connect_timeout = rs.connect_timeout;
                }
            }
            if common.delay_loop.is_none() {
                common.delay_loop = rs.delay_loop;
            }
            let delay_loop = common.delay_loop.unwrap_or(vs.delay_loop);
            common.warmup.get_or_insert(rs.warmup.unwrap_or(delay_loop));
            common.delay_before_retry.get_or_insert(
                rs.delay_before_retry
                    .or(c.kind.default_delay_before_retry())
                    .unwrap_or(delay_loop),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::lvs::tests::diags;
    use crate::lvs::{CheckerKind, Family, LbKind, VsKey};
    use ka_units::Micros;

    const HEAD: &str = "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n";

    fn s(n: u64) -> Option<Micros> {
        Some(Micros::from_secs(n))
    }

    #[test]
    fn values_flow_from_virtual_to_real_server_to_checker() {
        let l = crate::load_str(&format!(
            "{HEAD} lb_kind NAT\n retry 4\n delay_before_retry 8\n warmup 9\n connect_timeout 11\n delay_loop 12\n alpha\n inhibit_on_failure\n weight 3\n real_server 10.0.0.2 80 {{\n  TCP_CHECK {{\n  }}\n  MISC_CHECK {{\n   misc_path /bin/true\n  }}\n  DNS_CHECK {{\n   retry 0\n   delay_loop 2\n  }}\n }}\n real_server 10.0.0.3 80 {{\n  weight 0\n  retry 1\n  warmup 0\n  alpha no\n  connect_timeout 1\n  HTTP_GET {{\n   url {{\n    path /\n   }}\n  }}\n }}\n}}\n"
        ));
        assert!(l.diagnostics.is_empty(), "{:?}", diags(&l));
        let vs = &l.config.lvs.virtual_servers[0];
        let (a, b) = (&vs.real_servers[0], &vs.real_servers[1]);
        assert_eq!((a.retry, a.delay_before_retry, a.warmup), (Some(4), s(8), s(9)));
        assert_eq!(
            (a.connect_timeout, a.delay_loop, a.weight),
            (s(11), s(12), Some(3))
        );
        assert_eq!((a.alpha, a.inhibit_on_failure), (Some(true), Some(true)));
        assert_eq!(
            (b.weight, b.retry, b.warmup, b.alpha),
            (Some(0), Some(1), s(0), Some(false))
        );
        for c in &a.checkers {
            assert_eq!(c.common.alpha, Some(true), "{c:?}");
            assert_eq!(c.common.delay_before_retry, s(8), "{c:?}");
            assert_eq!(c.common.warmup, s(9), "{c:?}");
        }
        // The virtual server's retry wins over the type defaults, a checker's own over both.
        assert_eq!(
            a.checkers.iter().map(|c| c.common.retry).collect::<Vec<_>>(),
            [Some(4), Some(4), Some(0)]
        );
        assert_eq!(a.checkers[2].common.delay_loop, s(2));
        assert_eq!(a.checkers[0].common.conn.as_ref().unwrap().connect_timeout, s(11));
        let http = &b.checkers[0];
        assert_eq!(
            (http.common.retry, http.common.warmup, http.common.alpha),
            (Some(1), s(0), Some(false))
        );
        assert_eq!(http.common.conn.as_ref().unwrap().connect_timeout, s(1));
        assert_eq!(vs.quorum, 1, "weights 3 + 0 cover quorum 1");
    }

    #[test]
    fn smtp_alert_defaults_come_from_global_defs() {
        let body = format!("{HEAD} lb_kind NAT\n real_server 10.0.0.2 80 {{\n }}\n}}\n");
        for (globals, vs_want, rs_want) in [
            ("", false, true),
            ("global_defs {\n smtp_alert true\n}\n", true, true),
            (
                "global_defs {\n smtp_alert true\n smtp_alert_checker false\n}\n",
                false,
                false,
            ),
        ] {
            let l = crate::load_str(&format!("{globals}{body}"));
            let vs = &l.config.lvs.virtual_servers[0];
            assert_eq!(
                (vs.smtp_alert, vs.real_servers[0].smtp_alert),
                (Some(vs_want), Some(rs_want)),
                "{globals}"
            );
        }
    }

    #[test]
    fn forwarding_method_set_late_reaches_earlier_real_servers() {
        let l = crate::load_str(&format!(
            "{HEAD} real_server 10.0.0.2 80 {{\n }}\n lb_kind DR\n real_server 10.0.0.3 {{\n }}\n sorry_server 10.0.0.9\n real_server 10.0.0.4 8080 {{\n }}\n}}\n"
        ));
        assert_eq!(
            diags(&l),
            ["10:2 General WARNING - virtual server [10.0.0.1]:tcp:80 and real server [10.0.0.4]:tcp:8080 ports don't match - resetting"]
        );
        let vs = &l.config.lvs.virtual_servers[0];
        let methods: Vec<_> = vs.real_servers.iter().map(|r| r.forwarding.lvs_method).collect();
        assert_eq!(methods, [Some(LbKind::Dr); 3]);
        // DR servers get the virtual server's port; the sorry server too.
        let ports: Vec<_> = vs.real_servers.iter().map(|r| r.port).collect();
        assert_eq!(ports, [80, 80, 80]);
        assert_eq!(vs.sorry_server.as_ref().map(|s| s.port), Some(80));
    }

    #[test]
    fn nat_ports_and_sorry_server() {
        let l = crate::load_str(&format!(
            "{HEAD} lb_kind NAT\n sorry_server 10.0.0.9\n sorry_server_inhibit\n real_server 10.0.0.2 {{\n }}\n real_server 10.0.0.3 8080 {{\n }}\n}}\n"
        ));
        assert!(l.diagnostics.is_empty(), "{:?}", diags(&l));
        let vs = &l.config.lvs.virtual_servers[0];
        assert_eq!(
            vs.real_servers.iter().map(|r| r.port).collect::<Vec<_>>(),
            [80, 8080]
        );
        // A NAT sorry server keeps port 0 (keepalived does not fill it in).
        let sorry = vs.sorry_server.as_ref().unwrap();
        assert_eq!(
            (sorry.port, sorry.inhibit, sorry.forwarding.lvs_method),
            (0, true, Some(LbKind::Nat))
        );
    }

    #[test]
    fn zero_quorum_wraps_hysteresis() {
        let l = crate::load_str(&format!(
            "{HEAD} lb_kind NAT\n real_server 10.0.0.2 80 {{\n  weight 0\n }}\n}}\n"
        ));
        assert_eq!(
            diags(&l),
            [
                "1:1 General Warning - quorum 1 for [10.0.0.1]:tcp:80 exceeds total weight of real servers 0, reducing quorum to 0",
                "1:1 General Virtual server [10.0.0.1]:tcp:80: hysteresis 0 >= quorum 0; setting hysteresis to 4294967295",
            ]
        );
        let vs = &l.config.lvs.virtual_servers[0];
        assert_eq!((vs.quorum, vs.hysteresis), (0, u32::MAX));
    }

    #[test]
    fn families_at_the_end_of_blocks() {
        let l = crate::load_str(
            "virtual_server fwmark 5 {\n lb_algo rr\n lb_kind TUN\n sorry_server ::9\n sorry_server_lvs_method DR\n real_server 10.0.0.2 {\n }\n real_server ::2 {\n }\n}\nvirtual_server fwmark 6 {\n lb_algo rr\n lb_kind TUN\n real_server 10.0.0.2 {\n }\n real_server ::2 {\n }\n}\n",
        );
        assert!(l.diagnostics.is_empty(), "{:?}", diags(&l));
        let vss = &l.config.lvs.virtual_servers;
        // A DR sorry server fixes the family; mixed tunnelled real servers fall back to IPv4.
        assert_eq!(
            (vss[0].ip_family, vss[1].ip_family),
            (Some(Family::Inet6), Some(Family::Inet))
        );
        let l = crate::load_str(&format!(
            "{HEAD} lb_kind NAT\n sorry_server ::9\n real_server 10.0.0.2 80 {{\n }}\n}}\n"
        ));
        assert_eq!(
            diags(&l),
            ["8:1 General Address family of virtual server and sorry server ::9 don't match - skipping sorry server."]
        );
    }

    #[test]
    fn groups_are_linked_and_numbered() {
        let l = crate::load_str(
            "virtual_server_group G {\n 10.1.1.1 80\n}\nvirtual_server_group F {\n fwmark 9\n}\nvirtual_server group G {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n }\n}\nvirtual_server group F {\n lb_algo rr\n lb_kind TUN\n real_server 10.0.0.2 {\n }\n}\nvirtual_server group G {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.3 80 {\n }\n}\n",
        );
        // F is fwmark-only without family and its server is tunnelled: keepalived logs it.
        assert_eq!(
            diags(&l),
            ["14:1 Info F: Virtual server [F]:0 address family cannot be determined, defaulting to IPv4"]
        );
        let keys: Vec<_> = l
            .config
            .lvs
            .virtual_servers
            .iter()
            .map(|v| v.key.clone())
            .collect();
        assert_eq!(
            keys,
            [
                VsKey::Group {
                    name: "G".into(),
                    seq: 0
                },
                VsKey::Group {
                    name: "F".into(),
                    seq: 0
                },
                VsKey::Group {
                    name: "G".into(),
                    seq: 1
                },
            ]
        );
        assert_eq!(l.config.lvs.virtual_servers[2].describe(), "[G]:1");
        assert_eq!(
            l.config.lvs.virtual_server_groups[0].addresses[0].describe(),
            "10.1.1.1,80"
        );
        // With a family on the fwmark, the group gives it.
        let l = crate::load_str(
            "virtual_server_group F {\n fwmark 9 inet6\n}\nvirtual_server group F {\n lb_algo rr\n lb_kind TUN\n real_server 10.0.0.2 {\n }\n}\n",
        );
        assert!(l.diagnostics.is_empty(), "{:?}", diags(&l));
        assert_eq!(l.config.lvs.virtual_servers[0].ip_family, Some(Family::Inet6));
    }

    #[test]
    fn checkers_without_run_loop_get_no_timers() {
        let l = crate::load_str(&format!(
            "bfd_instance b {{\n}}\n{HEAD} lb_kind NAT\n alpha\n real_server 10.0.0.2 80 {{\n  BFD_CHECK {{\n   name b\n  }}\n }}\n}}\n"
        ));
        let c = &l.config.lvs.virtual_servers[0].real_servers[0].checkers[0];
        assert!(matches!(c.kind, CheckerKind::Bfd(_)));
        // BFD_CHECK inherits alpha but has no timers.
        assert_eq!(
            (c.common.alpha, c.common.retry, c.common.delay_loop),
            (Some(true), None, None)
        );
    }
}
