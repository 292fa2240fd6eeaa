//! Migration lints: traps keepalived accepts silently (or with a terse message), explained
//! for an operator moving to keepalived-rs. They are notes of class
//! [`Class::Lint`](crate::diag::Class::Lint): printed by `-t`, never changing its exit code.

use crate::config::Config;
use crate::cx::Cx;
use crate::diag::Class;
use crate::syntax::Statement;
use crate::vrrp::instance::InitialState;

pub(crate) fn check(cx: &mut Cx<'_>, config: &Config, tree: &[Statement]) {
    zero_garp_intervals(cx, tree);
    for inst in &config.vrrp.vrrp_instance {
        let Some(span) = inst.span.clone() else { continue };
        let strict = inst.strict_mode == Some(true);
        let owner = inst.priority == 255;
        if strict && !owner && inst.accept == Some(false) {
            cx.report(
                Class::Lint,
                "lint-strict-no-accept",
                &span,
                format!(
                    "({}) vrrp_strict puts the VIPs in no_accept mode: while this node is master but not the address owner (priority 255), traffic to {} is dropped by firewall rules",
                    inst.name,
                    inst.virtual_ipaddress.first().map(|v| v.text.as_str()).unwrap_or("its VIPs")
                ),
            )
            .help = Some(
                "this is keepalived's \"VIP not pingable\" trap: remove vrrp_strict, or add `accept` to the instance (VRRPv3), if the VIP must answer (LVS directors need it)"
                    .into(),
            );
        }
        if strict && inst.has_auth_pass {
            cx.report(
                Class::Lint,
                "lint-strict-auth-peers",
                &span,
                format!("({}) vrrp_strict drops the authentication block: adverts go out without a password", inst.name),
            )
            .help = Some(
                "every node of this VRID must be strict too (or drop its authentication): a node still sending PASS adverts is refused by this one and both become master"
                    .into(),
            );
        }
        if strict && inst.unicast {
            cx.report(
                Class::Lint,
                "lint-strict-unicast",
                &span,
                format!("({}) vrrp_strict with unicast_peer: RFC 5798 has no unicast; keepalived keeps it silently", inst.name),
            )
            .help = Some("strict mode is for standard multicast VRRP; drop vrrp_strict or the unicast peers".into());
        }
        if inst.state == Some(InitialState::Master) && !owner {
            cx.report(
                Class::Lint,
                "lint-state-master-waits",
                &span,
                format!(
                    "({}) state MASTER with priority {}: the node still starts as backup and waits Master_Down (about 3 advert intervals) before taking the VIP",
                    inst.name, inst.priority
                ),
            )
            .help = Some("only priority 255 (address owner) takes over at once; priorities decide the master either way".into());
        }
        if inst.auth_type == Some(crate::vrrp::instance::AuthType::Ah) {
            cx.report(
                Class::Lint,
                "lint-unsupported-auth-ah",
                &span,
                format!("({}) auth_type AH (IPsec authentication header) is not implemented by keepalived-rs: the daemon refuses to start with it", inst.name),
            )
            .help = Some("use auth_type PASS on every node of this VRID, or no authentication (RFC 5798 removed it)".into());
        }
        if inst.use_ipvlan.is_some() {
            cx.report(
                Class::Lint,
                "lint-unsupported-use-ipvlan",
                &span,
                format!("({}) use_ipvlan is not implemented by keepalived-rs: the daemon refuses to start with it", inst.name),
            )
            .help = Some("use use_vmac (a macvlan with the VRRP virtual MAC) instead".into());
        }
        if inst.v3_checksum_as_v2 {
            cx.report(
                Class::Lint,
                "lint-v3-checksum-as-v2",
                &span,
                format!("({}) v3_checksum_as_v2 is a keepalived 2.2.8 keyword: keepalived 2.2.7 peers compute the VRRPv3 checksum with the pseudo-header and will drop these adverts", inst.name),
            )
            .help = Some("use it only when every peer does the same (some routers, or keepalived 2.2.8+ with the same setting)".into());
        }
    }
}

/// `vrrp_garp_interval 0` / `vrrp_gna_interval 0`: keepalived 2.2.7 refuses 0 although it is
/// the default (the seed cluster's configuration has both).
fn zero_garp_intervals(cx: &mut Cx<'_>, tree: &[Statement]) {
    for g in tree.iter().filter(|s| s.keyword() == "global_defs") {
        let Some(block) = &g.block else { continue };
        for s in &block.statements {
            if matches!(s.keyword(), "vrrp_garp_interval" | "vrrp_gna_interval")
                && s.arg(0).is_some_and(|w| {
                    w.text
                        .trim_start_matches('0')
                        .trim_start_matches('.')
                        .trim_matches('0')
                        .is_empty()
                })
            {
                let kw = s.keyword().to_string();
                cx.report(Class::Lint, "lint-zero-is-default", s.span(), format!("{kw} 0 is already the default (no gap between announcements)"))
                    .help = Some(format!("delete the `{kw}` line: keepalived 2.2.7 refuses 0 and keepalived-rs reports it the same way"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Class;

    /// The lint codes a VRRP instance with `body` gets, in order.
    fn lints(global: &str, body: &str) -> Vec<&'static str> {
        let text = format!(
            "global_defs {{\n{global}\n}}\nvrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 51\n{body}\n    virtual_ipaddress {{\n        192.0.2.10/24\n    }}\n}}\n"
        );
        crate::load_str(&text)
            .diagnostics
            .iter()
            .filter(|d| d.class == Class::Lint)
            .map(|d| d.code)
            .collect()
    }

    #[test]
    fn a_plain_instance_has_no_lints() {
        assert_eq!(lints("", "    priority 100"), Vec::<&str>::new());
    }

    #[test]
    fn each_trap_has_its_lint() {
        assert_eq!(
            lints("", "    state MASTER\n    priority 100"),
            ["lint-state-master-waits"]
        );
        assert_eq!(
            lints("", "    state MASTER\n    priority 255"),
            Vec::<&str>::new()
        );
        assert_eq!(
            lints("    vrrp_strict", "    priority 100"),
            ["lint-strict-no-accept"]
        );
        assert_eq!(
            lints(
                "    vrrp_strict",
                "    priority 100\n    authentication {\n        auth_type PASS\n        auth_pass secret\n    }"
            ),
            ["lint-strict-no-accept", "lint-strict-auth-peers"]
        );
        assert_eq!(
            lints(
                "",
                "    priority 100\n    authentication {\n        auth_type AH\n        auth_pass secret\n    }"
            ),
            ["lint-unsupported-auth-ah"]
        );
        assert_eq!(
            lints("", "    priority 100\n    use_ipvlan"),
            ["lint-unsupported-use-ipvlan"]
        );
        assert_eq!(
            lints("", "    priority 100\n    version 3\n    v3_checksum_as_v2"),
            // The first is about loading the file in keepalived 2.2.7, ours about its peers.
            ["keepalived-2-2-8-keyword", "lint-v3-checksum-as-v2"]
        );
        assert_eq!(
            lints("    vrrp_garp_interval 0", "    priority 100"),
            ["lint-zero-is-default"]
        );
    }
}
