//! keepalived's post-parse pass over the VRRP configuration (`vrrp_complete_init` and
//! `vrrp_complete_instance` in its vrrp.c), in keepalived's order, with its messages.
//!
//! keepalived prints these messages without a line number; we place each at the statement
//! it is about (the `vrrp_instance NAME` line, the sync group, the member name...).
//!
//! What keepalived reads from the running system (interface MTU, multicast and Ethernet
//! capability, existing VMACs, interface addresses) is not available here: interfaces are
//! taken as Ethernet, multicast-capable, with an MTU of 1500 and no VMAC left over.

use crate::cx::Cx;
use crate::diag::{Class, Span};
use ka_units::{Centiseconds, Micros};
use std::net::IpAddr;

use super::common::{general, secs_2f, secs_f, AddressFamily, IFNAMSIZ};
use super::globals::VrrpGlobals;
use super::instance::{AuthType, InitialState, VrrpInstance};
use super::{script_security, VrrpConfig};

/// An MTU keepalived uses when it knows no interface MTU (`DEFAULT_MTU`).
const DEFAULT_MTU: usize = 1500;
/// keepalived's default `down_timer_adverts`.
const DOWN_TIMER_ADVERTS: u32 = 3;

/// Where to report something about instance `i`.
fn at(v: &VrrpInstance) -> Span {
    v.span.clone().unwrap_or_else(|| Span {
        file: "".into(),
        line: 0,
        column: 0,
    })
}

/// Records that keepalived's VRRP process would stop on this configuration.
fn reject(cx: &mut Cx<'_>, vrrp: &mut VrrpConfig, span: &Span, reason: String) {
    cx.report(
        Class::Lint,
        "vrrp-config-rejected",
        span,
        "keepalived would not start VRRP with this configuration: its VRRP process exits (status 2) and keepalived stops",
    )
    .help = Some(format!("fix: {reason}"));
    vrrp.rejected = Some(reason);
}

/// keepalived's `vrrp_complete_init`, as far as it runs under `-t`, plus the adjustments
/// of the run-time part that change what the daemon runs.
pub(crate) fn complete_init(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig) {
    // A missing interface stops the VRRP process before anything else is checked.
    if vrrp.state.nonexistent_interface {
        let span = vrrp
            .state
            .first_missing_interface
            .clone()
            .unwrap_or_else(|| Span {
                file: "".into(),
                line: 0,
                column: 0,
            });
        let msg = "Non-existent interface specified in configuration";
        cx.report(Class::BadInterface, "nonexistent-interface", &span, msg)
            .help = Some(
            "keepalived's VRRP process stops here; create the interface or set 'dynamic_interfaces'".into(),
        );
        vrrp.rejected = Some(msg.into());
        return;
    }

    script_security::check(cx, g, vrrp);

    // Minimal configuration: the first failure stops everything.
    for i in 0..vrrp.vrrp_instance.len() {
        let v = &vrrp.vrrp_instance[i];
        let span = at(v);
        let msg = if v.virtual_router_id == 0 {
            Some((
                format!("({}) the virtual router id must be set", v.name),
                "add 'virtual_router_id N' (1-255)",
            ))
        } else if v.interface.is_none() {
            Some((
                format!("({}) Unknown interface!", v.name),
                "add 'interface IFNAME' (keepalived 2.2.7 requires it even for unicast)",
            ))
        } else {
            None
        };
        if let Some((msg, help)) = msg {
            general(cx, "instance-incomplete", &span, msg.clone()).help = Some(help.into());
            reject(cx, vrrp, &span, msg);
            return;
        }
    }

    sync_groups(cx, vrrp);

    for i in 0..vrrp.vrrp_instance.len() {
        if let Err(msg) = complete_instance(cx, g, vrrp, i) {
            let span = at(&vrrp.vrrp_instance[i]);
            reject(cx, vrrp, &span, msg);
            return;
        }
    }

    if let Some(msg) = check_vrid_conflicts(cx, g, vrrp) {
        let span = vrrp.vrrp_instance.first().map(at).unwrap_or_else(|| Span {
            file: "".into(),
            line: 0,
            column: 0,
        });
        reject(cx, vrrp, &span, msg);
        return;
    }

    static_track_groups(cx, vrrp);
    sync_group_tracking(cx, g, vrrp);

    // `keepalived -t` stops here. What follows changes what the daemon runs, silently.
    harmonise_sync_group_states(vrrp);
    lvs_sync_daemon_instance(cx, g, vrrp);
    unused_scripts(cx, vrrp);
}

/// Step 8: resolve sync group members; drop groups without any.
fn sync_groups(cx: &mut Cx<'_>, vrrp: &mut VrrpConfig) {
    let groups = std::mem::take(&mut vrrp.vrrp_sync_group);
    for mut sg in groups {
        let span = sg.span.clone().unwrap_or_else(|| at_first(vrrp));
        let Some(names) = sg.group.clone() else {
            general(
                cx,
                "sync-group-empty",
                &span,
                format!("Sync group {} has no virtual router(s). removing", sg.name),
            )
            .help = Some("list the member instances in a 'group { VI_1 VI_2 }' block".into());
            continue;
        };
        // The group's provisional state, as keepalived derives it from raw settings.
        let mut state: Option<InitialState> = None;
        for (k, name) in names.iter().enumerate() {
            let mspan = sg.group_spans.get(k).cloned().unwrap_or_else(|| span.clone());
            let Some(v) = vrrp.vrrp_instance.iter_mut().find(|v| &v.name == name) else {
                general(
                    cx,
                    "sync-group-member",
                    &mspan,
                    format!(
                        "Virtual router {name} specified in sync group {} doesn't exist - ignoring",
                        sg.name
                    ),
                )
                .with_token_mut(name)
                .help = Some("name a vrrp_instance defined in this configuration".into());
                continue;
            };
            if v.sync_group.is_some() {
                general(
                    cx,
                    "sync-group-member",
                    &mspan,
                    format!(
                        "Virtual router {name} cannot exist in more than one sync group; ignoring {}",
                        sg.name
                    ),
                );
                continue;
            }
            v.sync_group = Some(sg.name.clone());
            sg.members.push(name.clone());
            if state == Some(InitialState::Master) && v.state == Some(InitialState::Backup) {
                general(
                    cx,
                    "sync-group-owner",
                    &span,
                    format!(
                        "Sync group {} has some member(s) as address owner and some not as address owner. This won't work.",
                        sg.name
                    ),
                );
            }
            if state != Some(InitialState::Backup) {
                state = Some(if v.state == Some(InitialState::Master) && v.priority == 255 {
                    InitialState::Master
                } else {
                    InitialState::Backup
                });
            }
        }
        if sg.members.is_empty() {
            general(
                cx,
                "sync-group-no-member",
                &span,
                format!(
                    "Sync group {}, no matching virtual router found in group declaration - removing",
                    sg.name
                ),
            );
            continue;
        }
        if sg.members.len() == 1 {
            general(
                cx,
                "sync-group-one-member",
                &span,
                format!(
                    "Sync group {} has only 1 virtual router(s) - this probably isn't what you want",
                    sg.name
                ),
            )
            .help = Some("a sync group keeps several instances in the same state".into());
        }
        vrrp.vrrp_sync_group.push(sg);
    }
}

fn at_first(vrrp: &VrrpConfig) -> Span {
    vrrp.vrrp_instance.first().map(at).unwrap_or_else(|| Span {
        file: "".into(),
        line: 0,
        column: 0,
    })
}

/// keepalived's `vrrp_complete_instance` for instance `i`. Err: the configuration is refused.
fn complete_instance(
    cx: &mut Cx<'_>,
    g: &VrrpGlobals,
    vrrp: &mut VrrpConfig,
    i: usize,
) -> Result<(), String> {
    // Sync group settings the instance inherits.
    let (sync_tracking_weight, sync_npc) = match vrrp.vrrp_instance[i].sync_group.as_deref() {
        Some(name) => vrrp
            .vrrp_sync_group
            .iter()
            .find(|s| s.name == name)
            .map(|s| (Some(s.sync_group_tracking_weight), s.notify_priority_changes))
            .unwrap_or((None, None)),
        None => (None, None),
    };
    let other_vmac_names: Vec<String> = vrrp
        .vrrp_instance
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != i)
        .filter_map(|(_, o)| vmac_ifname(o).map(str::to_string))
        .collect();
    let debounce = &mut vrrp.interface_up_down_delays;
    let v = &mut vrrp.vrrp_instance[i];
    let span = at(v);
    let name = v.name.clone();
    let p = format!("({name})");
    let msg = |cx: &mut Cx<'_>, text: String| {
        general(cx, "instance-adjusted", &span, text);
    };

    // 1-6: strict mode, family, version, TTL.
    let strict = *v.strict_mode.get_or_insert(g.vrrp_strict);
    if v.family == Some(AddressFamily::Ipv6) {
        if v.version == 2 && strict {
            msg(
                cx,
                format!("{p} cannot use IPv6 with VRRP version 2; setting version 3"),
            );
            v.version = 3;
        } else if v.version == 0 {
            v.version = 3;
        }
    }
    let family = *v.family.get_or_insert(AddressFamily::Ipv4);
    if v.version == 0 {
        v.version = if family == AddressFamily::Ipv6 {
            3
        } else {
            g.vrrp_version
        };
    }
    if family == AddressFamily::Ipv4 && v.unicast_ttl.is_none() {
        v.unicast_ttl = Some(255);
    }

    // 7: addresses.
    if v.virtual_ipaddress.is_empty() {
        if v.version == 3 || strict {
            let m = format!("{p} No VIP specified; at least one is required");
            general(cx, "instance-no-vip", &span, m.clone()).help =
                Some("add a 'virtual_ipaddress { ... }' block (VRRPv3 and strict mode need one)".into());
            return Err(m);
        }
        general(
            cx,
            "instance-no-vip",
            &span,
            format!("{p} No VIP specified; at least one is sensible"),
        );
    }

    // 8-9: priority and initial state.
    if v.priority == 0 {
        v.priority = if v.state == Some(InitialState::Master) {
            255
        } else {
            100
        };
    }
    let owner_state = if v.priority == 255 {
        InitialState::Master
    } else {
        InitialState::Backup
    };
    match v.state {
        None => v.state = Some(owner_state),
        Some(s) if strict && (s == InitialState::Master) != (v.priority == 255) => {
            general(
                cx,
                "strict-state",
                &span,
                format!("{p} State MASTER must match being address owner"),
            )
            .help = Some("in strict mode only the address owner (priority 255) may start as MASTER".into());
            v.state = Some(owner_state);
        }
        _ => {}
    }

    // 10: authentication.
    if let Some(auth) = v.auth_type {
        let cleared = if strict {
            msg(
                cx,
                format!("{p} Strict mode does not support authentication. Ignoring."),
            );
            true
        } else if v.version == 3 {
            msg(
                cx,
                format!("{p} VRRP version 3 does not support authentication. Ignoring."),
            );
            true
        } else if v.auth_pass.is_empty() {
            msg(
                cx,
                format!("{p} Authentication specified but no password given. Ignoring"),
            );
            true
        } else if family == AddressFamily::Ipv6 && auth == AuthType::Ah {
            msg(
                cx,
                format!("{p} Cannot use AH authentication with IPv6. ignoring"),
            );
            true
        } else {
            if auth == AuthType::Ah && v.state == Some(InitialState::Master) && v.priority != 255 {
                msg(
                    cx,
                    format!("{p} Initial state master is incompatible with AH authentication - clearing"),
                );
                v.state = Some(InitialState::Backup);
            }
            false
        };
        if cleared {
            v.auth_type = None;
        }
    }

    // 13: unicast.
    if v.flags.unicast_configured {
        if !v.unicast_peer.is_empty() {
            v.unicast = true;
        } else if v.unicast_fault_no_peer {
            cx.report(
                Class::Info,
                "unicast-no-peer",
                &span,
                format!("{p} Cannot use unicast without any peers - going to fault state"),
            );
            v.config_faults += 1;
        } else {
            cx.report(
                Class::Deprecated,
                "unicast-without-peers",
                &span,
                format!(
                    "{p} A unicast keyword has been specified without any unicast peers. Defaulting to multicast. This usage is deprecated - please update your configuration."
                ),
            )
            .help = Some("add a 'unicast_peer { ... }' block, or remove the unicast keywords".into());
        }
    }
    if v.check_unicast_src || g.check_unicast_src {
        v.check_unicast_src = true;
    }

    // 14: VMAC MAC.
    if let Some(vmac) = &mut v.use_vmac {
        if strict && vmac.mac.is_some() {
            general(
                cx,
                "instance-adjusted",
                &span,
                format!("{p}: cannot specify MAC address with strict mode - clearing"),
            );
            vmac.mac = None;
        }
        if v.flags.vmac_mac_use_vrid {
            if let Some(mac) = &mut vmac.mac {
                mac[5] = v.virtual_router_id;
            }
        }
    }

    // 17: the first IPv6 VIP of a multicast instance should be link local.
    if family == AddressFamily::Ipv6 && !v.unicast {
        if let Some(IpAddr::V6(a)) = v.virtual_ipaddress.first().map(|a| a.addr) {
            if a.segments()[0] & 0xffc0 != 0xfe80 {
                if strict {
                    msg(cx, format!("{p} the first IPv6 VIP address must be link local"));
                } else {
                    cx.report(
                        Class::Info,
                        "ipv6-first-vip",
                        &span,
                        format!("{p} the first IPv6 VIP address should be link local"),
                    );
                }
            }
        }
    }

    // 18: vrf only with unicast and no interface.
    if v.vrf.is_some() && (v.interface.is_some() || !v.unicast) {
        let with = if v.interface.is_some() {
            "out interface"
        } else {
            " unicast"
        };
        msg(cx, format!("{p} vrf can only be specified with{with} - clearing"));
        v.vrf = None;
    }

    // 19: as many VIPs as fit in an advert; the rest become eVIPs.
    let max_addr = {
        let (hdr, size) = if family == AddressFamily::Ipv4 {
            let mut h = 14 + 20 + 8;
            if v.version == 2 {
                h += 8;
                if v.auth_type == Some(AuthType::Ah) {
                    h += 24;
                }
            }
            (h, 4)
        } else {
            (14 + 40 + 8, 16)
        };
        ((DEFAULT_MTU - hdr) / size).min(255)
    };
    if v.virtual_ipaddress.len() > max_addr {
        msg(
            cx,
            format!(
                "{p} Number of VIPs ({}) exceeds maximum/space available in packet (max {max_addr} addresses) - excess moved to eVIPs",
                v.virtual_ipaddress.len()
            ),
        );
        let excess = v.virtual_ipaddress.split_off(max_addr);
        v.virtual_ipaddress_excluded.extend(excess);
    }

    // 20-24: preemption and timers.
    if v.priority == 255 && v.nopreempt {
        msg(
            cx,
            format!("{p} nopreempt is incompatible with priority 255. resetting nopreempt"),
        );
        v.nopreempt = false;
    }
    if v.state == Some(InitialState::Master) {
        if v.nopreempt {
            msg(
                cx,
                format!("{p} Warning - nopreempt will not work with initial state MASTER - clearing"),
            );
            v.nopreempt = false;
        }
        if v.preempt_delay != Micros::ZERO {
            msg(
                cx,
                format!("{p} Warning - preempt delay will not work with initial state MASTER - clearing"),
            );
            v.preempt_delay = Micros::ZERO;
        }
    }
    if v.preempt_delay != Micros::ZERO {
        if strict {
            msg(
                cx,
                format!("{p} preempt_delay is incompatible with strict mode - resetting"),
            );
            v.preempt_delay = Micros::ZERO;
        }
        if v.nopreempt {
            msg(
                cx,
                format!("{p} preempt_delay is incompatible with nopreempt mode - resetting"),
            );
            v.preempt_delay = Micros::ZERO;
        }
    }
    if v.down_timer_adverts != DOWN_TIMER_ADVERTS && strict {
        msg(
            cx,
            format!("{p} down_timer_adverts is incompatible with strict mode - resetting"),
        );
        v.down_timer_adverts = DOWN_TIMER_ADVERTS;
    }

    // 26: accept mode.
    let accept = *v.accept.get_or_insert(v.priority == 255 || !strict);
    if accept && v.priority != 255 && strict && v.version == 2 {
        msg(
            cx,
            format!("{p} warning - accept mode for VRRP version 2 does not comply with RFC3768 - resetting"),
        );
        v.accept = Some(false);
    }

    // 27: multicast destination.
    if !v.unicast && v.mcast_dst_ip.is_none() {
        v.mcast_dst_ip = Some(match family {
            AddressFamily::Ipv4 => IpAddr::V4(g.mcast_group4),
            AddressFamily::Ipv6 => IpAddr::V6(g.mcast_group6),
        });
    } else if v.unicast && v.mcast_dst_ip.is_some() {
        msg(
            cx,
            format!("{p} multicast destination specified with unicast - ignoring"),
        );
        v.mcast_dst_ip = None;
    }

    // 28: GARP and advert policy, strict mode's compliant defaults.
    let global_lp_rep = g.garp_lower_prio_repeat.unwrap_or(g.garp_master_repeat);
    let global_lp_delay = g.garp_lower_prio_delay_us.unwrap_or(g.garp_master_delay_us);
    match v.garp_lower_prio_repeat {
        None => v.garp_lower_prio_repeat = Some(if strict { 0 } else { global_lp_rep }),
        Some(n) if strict && n != 0 => {
            msg(cx, format!("{p} Strict mode requires no repeat garps. resetting"));
            v.garp_lower_prio_repeat = Some(0);
        }
        _ => {}
    }
    match v.garp_lower_prio_delay {
        None => {
            v.garp_lower_prio_delay = Some(if strict {
                Micros::ZERO
            } else {
                Micros(global_lp_delay)
            })
        }
        Some(d) if strict && d != Micros::ZERO => {
            msg(
                cx,
                format!("{p} Strict mode requires no repeat garp delay. resetting"),
            );
            v.garp_lower_prio_delay = Some(Micros::ZERO);
        }
        _ => {}
    }
    match v.lower_prio_no_advert {
        None => v.lower_prio_no_advert = Some(strict || g.lower_prio_no_advert),
        Some(false) if strict => {
            msg(
                cx,
                format!("{p} Strict mode requires no lower priority advert. resetting"),
            );
            v.lower_prio_no_advert = Some(true);
        }
        _ => {}
    }
    match v.higher_prio_send_advert {
        None => v.higher_prio_send_advert = Some(!strict && g.higher_prio_send_advert),
        Some(true) if strict => {
            msg(
                cx,
                format!("{p} strict mode requires higher_prio_send_advert to be clear. resetting"),
            );
            v.higher_prio_send_advert = Some(false);
        }
        _ => {}
    }

    // 29: alerts and notifications.
    if v.smtp_alert.is_none() {
        v.smtp_alert = Some(g.smtp_alert_vrrp.or(g.smtp_alert).unwrap_or(false));
    }
    if v.notify_priority_changes.is_none() {
        v.notify_priority_changes = Some(sync_npc.unwrap_or(g.notify_priority_changes));
    }

    // 30: advert interval, in the units each version can carry.
    let mut adv = v.advert_int_configured.map_or(1_000_000, |m| m.0);
    if v.version == 2 {
        if adv >= 256 * 1_000_000 {
            msg(
                cx,
                format!(
                    "{p} VRRPv2 advertisement interval {}s is out of range. Must be less than 256s. Setting to 255s",
                    secs_2f(adv)
                ),
            );
            adv = 255 * 1_000_000;
        } else if !adv.is_multiple_of(1_000_000) {
            general(
                cx,
                "advert-int-rounded",
                &span,
                format!(
                    "{p} VRRPv2 advertisement interval {}s must be an integer. rounding",
                    secs_f(adv)
                ),
            )
            .help = Some("VRRPv2 adverts carry whole seconds".into());
            adv += 500_000;
            adv -= adv % 1_000_000;
            if adv == 0 {
                adv = 1_000_000;
            }
        }
    } else if adv >= 4096 * 10_000 {
        msg(
            cx,
            format!(
                "{p} VRRPv3 advertisement interval {}s is out of range. Must be less than 40.96s. Setting to 40.95s",
                secs_2f(adv)
            ),
        );
        adv = 4095 * 10_000;
    } else if !adv.is_multiple_of(10_000) {
        general(
            cx,
            "advert-int-rounded",
            &span,
            format!(
                "{p} VRRPv3 advertisement interval {}s must be in units of 10ms - rounding",
                secs_f(adv)
            ),
        )
        .help = Some("VRRPv3 adverts carry centiseconds".into());
        adv += 5_000;
        adv -= adv % 10_000;
        if adv == 0 {
            adv = 10_000;
        }
    }
    v.advert_int = Centiseconds::new(u16::try_from(adv / 10_000).unwrap_or(u16::MAX));

    // 32: interface debounce timers must stay below (down_timer_adverts - 1) adverts.
    if let Some(ifname) = v.interface.clone() {
        if let Some(d) = debounce.iter_mut().find(|d| d.interface == ifname) {
            if v.down_timer_adverts == 1 {
                if d.up != Micros::ZERO || d.down != Micros::ZERO {
                    cx.report(
                        Class::Info,
                        "debounce-reset",
                        &span,
                        format!("{name}: cannot use debounce timers with down_timer_adverts = 1 - resetting"),
                    );
                    d.up = Micros::ZERO;
                    d.down = Micros::ZERO;
                }
            } else {
                let limit = u64::from(v.down_timer_adverts.saturating_sub(1)) * adv;
                if d.up.0 >= limit || d.down.0 >= limit {
                    let lowered = Micros(limit.saturating_sub(adv / 256));
                    if d.up.0 >= limit {
                        d.up = lowered;
                    }
                    if d.down.0 >= limit {
                        d.down = lowered;
                    }
                    cx.report(
                        Class::Info,
                        "debounce-reset",
                        &span,
                        format!(
                            "{name}: interface {ifname} debounce timer(s) not less that {} * advert_int - resetting",
                            v.down_timer_adverts.saturating_sub(1)
                        ),
                    );
                }
            }
        }
    }

    // 33.
    if !v.flags.saddr_from_config {
        v.track_src_ip = false;
    }

    // 34: the VMAC / ipvlan interface name.
    let uses_vmac = v.use_vmac.is_some();
    if uses_vmac || v.use_ipvlan.is_some() {
        if vmac_ifname(v).is_none() {
            let prefix = g.vmac_prefix.as_deref().unwrap_or("vrrp");
            let generated = create_vmac_name(prefix, v.virtual_router_id, family, &other_vmac_names);
            if let Some(m) = &mut v.use_vmac {
                m.ifname = Some(generated);
            } else if let Some(ipv) = &mut v.use_ipvlan {
                ipv.ifname = Some(generated);
            }
        }
        if uses_vmac && strict && v.vmac_xmit_base {
            msg(
                cx,
                format!("{p} xmit_base is incompatible with strict mode - resetting"),
            );
            v.vmac_xmit_base = false;
        }
        if v.promote_secondaries {
            msg(
                cx,
                format!("{p} promote_secondaries is automatically set for vmacs - ignoring"),
            );
            v.promote_secondaries = false;
        }
    }

    // 35: ipvlan source address.
    if let Some(ipv) = &v.use_ipvlan {
        match ipv.addr {
            None if family == AddressFamily::Ipv4 => {
                msg(
                    cx,
                    format!("{p} IPv4 ipvlan requires a source ip address to be configured. setting instance to fault state"),
                );
                v.config_faults += 1;
            }
            Some((a, _)) if AddressFamily::of(&a) != family => {
                msg(
                    cx,
                    format!("{p} IPv4 ipvlan address family does not match instance. setting instance to fault state"),
                );
                v.config_faults += 1;
            }
            _ => {}
        }
    }

    // 36: the own interface is always tracked.
    if let Some(own) = v.interface.clone() {
        let before = v.track_interface.len();
        v.track_interface.retain(|t| t.name != own);
        if v.track_interface.len() != before {
            msg(
                cx,
                format!("{p} Ignoring track_interface {own} since own interface"),
            );
        }
    }

    // 37.
    if v.vmac_xmit_base && !uses_vmac {
        msg(cx, format!("{p} vmac_xmit_base is only valid with a vmac"));
        v.vmac_xmit_base = false;
    }

    // 40: addresses asking for a VMAC of their own.
    let own_if = v.interface.clone();
    let mut extra_if = false;
    let mut extra_vmac = false;
    let use_vmac_addr = v.use_vmac_addr;
    let mut addr_msgs = Vec::new();
    for (list, _excluded) in [
        (&mut v.virtual_ipaddress, false),
        (&mut v.virtual_ipaddress_excluded, true),
    ] {
        for a in list.iter_mut() {
            let on_own = a.dev.is_none() || a.dev == own_if;
            let same_family = a.family() == family;
            if a.use_vmac {
                a.use_vmac = false;
                if on_own && uses_vmac && same_family {
                    addr_msgs.push(format!(
                        "{p} use_vmac specified for VIP/eVIP {} and vrrp instance",
                        a.display()
                    ));
                } else if (!on_own || !same_family) && use_vmac_addr {
                    addr_msgs.push(format!(
                        "{p} use_vmac_addr specified and use_vmac specified for VIP/eVIP {}",
                        a.display()
                    ));
                } else {
                    a.use_vmac = true;
                }
            }
            let own_vmac = on_own && uses_vmac && same_family;
            let needs_vmac = if on_own {
                !own_vmac && (a.use_vmac || (use_vmac_addr && !same_family))
            } else {
                a.use_vmac || use_vmac_addr
            };
            if needs_vmac {
                extra_vmac = true;
            } else if !own_vmac && (!on_own || uses_vmac) {
                extra_if = true;
            }
        }
    }
    for m in addr_msgs {
        msg(cx, m);
    }

    // 41: GARPs on other interfaces.
    if v.garp_extra_if.is_none() {
        v.garp_extra_if = Some(g.garp_extra_if_secs);
        if g.garp_extra_if_all {
            v.garp_extra_if_all = true;
        }
    }
    if v.garp_extra_if.is_some_and(|s| s != 0) && !extra_vmac && (!extra_if || !v.garp_extra_if_all) {
        v.garp_extra_if = Some(0);
    }

    // 42: addresses again, with IPv6 now counted.
    if v.virtual_ipaddress.is_empty() {
        if v.version == 3 || family == AddressFamily::Ipv6 || strict {
            let m = format!("{p} No VIP specified; at least one is required");
            general(cx, "instance-no-vip", &span, m.clone());
            return Err(m);
        }
        cx.report(
            Class::Warning,
            "instance-no-vip",
            &span,
            format!("{p} No VIP specified; at least one is sensible"),
        )
        .help = Some("an instance without virtual_ipaddress only elects a master".into());
    }

    // 43: weights of the instance's own tracked objects are ignored in a sync group (unless
    // sync_group_tracking_weight) and for the address owner.
    let sync_no_weight = sync_tracking_weight == Some(false);
    if sync_no_weight || v.priority == 255 {
        let why = if sync_no_weight {
            "SYNC group"
        } else {
            "address owner"
        };
        let why_ = if sync_no_weight {
            "SYNC group"
        } else {
            "address_owner"
        };
        let mut keep = Vec::new();
        for mut t in std::mem::take(&mut v.track_interface) {
            if t.weight != 0 && t.weight != 255 {
                let w = if sync_no_weight { "weight " } else { "" };
                msg(
                    cx,
                    format!("{p} ignoring {} tracked interface {w}due to {why}", t.name),
                );
                if sync_no_weight {
                    t.weight = 0;
                } else {
                    continue;
                }
            }
            keep.push(t);
        }
        v.track_interface = keep;
        let mut scripts = Vec::new();
        for t in std::mem::take(&mut v.track_script) {
            if t.weight != 0 {
                msg(
                    cx,
                    format!(
                        "{p} ignoring tracked script {} with weights due to {why_}",
                        t.name
                    ),
                );
                continue;
            }
            scripts.push(t);
        }
        v.track_script = scripts;
        let mut files = Vec::new();
        for mut t in std::mem::take(&mut v.track_file) {
            if t.weight == 1 {
                msg(
                    cx,
                    format!(
                        "{p} ignoring weight from tracked file {} due to {why_}. specify weight 0",
                        t.name
                    ),
                );
                t.weight = 0;
            } else if t.weight != 0 {
                msg(
                    cx,
                    format!(
                        "{p} ignoring tracked file {} with weight {} due to {why_}",
                        t.name, t.weight
                    ),
                );
                continue;
            }
            files.push(t);
        }
        v.track_file = files;
        let mut bfds = Vec::new();
        for t in std::mem::take(&mut v.track_bfd) {
            if t.weight != 0 {
                msg(
                    cx,
                    format!(
                        "{p} ignoring tracked bfd {} with weight {} due to {why_}",
                        t.name, t.weight
                    ),
                );
                continue;
            }
            bfds.push(t);
        }
        v.track_bfd = bfds;
    }
    Ok(())
}

/// The VMAC or ipvlan interface name of an instance, if it has one.
fn vmac_ifname(v: &VrrpInstance) -> Option<&str> {
    v.use_vmac
        .as_ref()
        .and_then(|m| m.ifname.as_deref())
        .or_else(|| v.use_ipvlan.as_ref().and_then(|i| i.ifname.as_deref()))
}

/// keepalived's `create_vmac_name`: `PREFIX.VRID`, then `PREFIXn.VRID` (n = 1, 2, ... for
/// IPv4; 6, 1, 2, 3, 4, 5, 7, ... for IPv6) until no other instance uses the name, the
/// prefix shortened so that the name fits an interface name.
fn create_vmac_name(prefix: &str, vrid: u8, family: AddressFamily, taken: &[String]) -> String {
    let fit = |num: Option<u32>| -> String {
        let num_text = num.map(|n| n.to_string()).unwrap_or_default();
        let suffix = format!("{num_text}.{vrid}");
        let room = (IFNAMSIZ - 1).saturating_sub(suffix.len());
        let p: String = prefix.chars().take(room).collect();
        format!("{p}{suffix}")
    };
    let mut name = fit(None);
    let mut num: u32 = 0;
    // Bounded: there are far fewer instances than candidate names.
    for _ in 0..=taken.len() + 8 {
        if !taken.contains(&name) {
            return name;
        }
        num = if family == AddressFamily::Ipv6 {
            match num {
                0 => 6,
                6 => 1,
                n if n + 1 == 6 => 7,
                n => n + 1,
            }
        } else {
            num + 1
        };
        name = fit(Some(num));
    }
    name
}

/// keepalived's `check_vrid_conflicts`. Some(reason) when the configuration is refused.
fn check_vrid_conflicts(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig) -> Option<String> {
    let mut first: Option<String> = None;
    let n = vrrp.vrrp_instance.len();
    for a in 0..n {
        for b in a + 1..n {
            let (x, y) = (&vrrp.vrrp_instance[a], &vrrp.vrrp_instance[b]);
            if x.family != y.family || x.virtual_router_id != y.virtual_router_id || x.unicast != y.unicast {
                continue;
            }
            let vrid = x.virtual_router_id;
            if x.unicast {
                if x.interface.is_some() && y.interface.is_some() && x.interface != y.interface {
                    continue;
                }
                // Only configured source addresses are known here (not interface addresses).
                let (Some(sx), Some(sy)) = (
                    x.flags.saddr_from_config.then_some(x.src_ip).flatten(),
                    y.flags.saddr_from_config.then_some(y.src_ip).flatten(),
                ) else {
                    continue;
                };
                if sx != sy {
                    continue;
                }
                if !x
                    .unicast_peer
                    .iter()
                    .any(|p| y.unicast_peer.iter().any(|q| q.addr == p.addr))
                {
                    continue;
                }
                let m = format!("({}) duplicate VRID conflict with {} VRID {vrid}", x.name, y.name);
                let span = at(x);
                general(cx, "duplicate-vrid", &span, m.clone()).help = Some(
                    "two unicast instances with the same VRID, source and peer cannot be told apart".into(),
                );
                first.get_or_insert(m);
                continue;
            }
            if x.interface != y.interface {
                continue;
            }
            let group = |v: &VrrpInstance| {
                v.mcast_dst_ip.unwrap_or(match v.family {
                    Some(AddressFamily::Ipv6) => IpAddr::V6(g.mcast_group6),
                    _ => IpAddr::V4(g.mcast_group4),
                })
            };
            if group(x) != group(y) {
                continue;
            }
            let ifname = x.interface.clone().unwrap_or_default();
            // keepalived reports the conflict only when the interface exists right now.
            if cx.host.interface_exists(&ifname) == Some(false) {
                continue;
            }
            let fam = x.family.unwrap_or(AddressFamily::Ipv4).number();
            let m = format!(
                "{} and {} both use VRID {vrid} with IPv{fam} on interface {ifname}",
                x.name, y.name
            );
            let span = at(y);
            general(cx, "duplicate-vrid", &span, m.clone()).help = Some(format!(
                "give one of them another virtual_router_id (VRID {vrid} is taken on {ifname})"
            ));
            first.get_or_insert(m);
        }
    }
    first
}

/// Step 15: static track groups (keepalived only logs here).
fn static_track_groups(cx: &mut Cx<'_>, vrrp: &mut VrrpConfig) {
    let names: Vec<String> = vrrp.vrrp_instance.iter().map(|v| v.name.clone()).collect();
    let mut removed = Vec::new();
    for tg in &mut vrrp.track_group {
        let span = tg.span.clone().unwrap_or_else(|| Span {
            file: "".into(),
            line: 0,
            column: 0,
        });
        let mut ok = true;
        match &tg.group {
            None => {
                cx.report(
                    Class::Info,
                    "track-group",
                    &span,
                    format!("Static track group {} has no virtual router(s)", tg.name),
                );
                ok = false;
            }
            Some(list) => {
                for m in list {
                    if names.contains(m) {
                        tg.members.push(m.clone());
                    } else {
                        cx.report(
                            Class::Info,
                            "track-group",
                            &span,
                            format!(
                                "vrrp instance {m} specified in track group {} doesn't exist - ignoring",
                                tg.name
                            ),
                        );
                    }
                }
                if tg.members.is_empty() {
                    cx.report(
                        Class::Info,
                        "track-group",
                        &span,
                        format!("Static track group {} has no VRRP instance(s)", tg.name),
                    );
                    ok = false;
                }
            }
        }
        if !ok {
            cx.report(
                Class::Info,
                "track-group",
                &span,
                format!("Static track group {} init fails - removing", tg.name),
            );
            removed.push(tg.name.clone());
        }
    }
    vrrp.track_group.retain(|t| !removed.contains(&t.name));
    // Static entries naming a removed group are simply not tracked.
    let forget = |tg: &mut Option<String>| {
        if tg.as_ref().is_some_and(|n| removed.contains(n)) {
            *tg = None;
        }
    };
    vrrp.static_ipaddress
        .iter_mut()
        .for_each(|a| forget(&mut a.track_group));
    vrrp.static_routes
        .iter_mut()
        .for_each(|r| forget(&mut r.track_group));
    vrrp.static_rules
        .iter_mut()
        .for_each(|r| forget(&mut r.track_group));
    let at_first = at_first(vrrp);
    for (what, tracked) in [
        (
            "address",
            vrrp.static_ipaddress
                .iter()
                .map(|a| (a.track_group.is_some(), a.no_track, a.span.clone()))
                .collect::<Vec<_>>(),
        ),
        (
            "route",
            vrrp.static_routes
                .iter()
                .map(|r| (r.track_group.is_some(), r.no_track, r.span.clone()))
                .collect(),
        ),
        (
            "rule",
            vrrp.static_rules
                .iter()
                .map(|r| (r.track_group.is_some(), r.no_track, r.span.clone()))
                .collect(),
        ),
    ] {
        for (has_group, no_track, span) in tracked {
            if has_group && no_track {
                cx.report(
                    Class::Info,
                    "track-group-no-track",
                    &span.unwrap_or_else(|| at_first.clone()),
                    format!("Static {what} has both track_group and no_track set - not tracking"),
                );
            }
        }
    }
}

/// Step 16: the sync groups' own tracked objects apply to every member.
fn sync_group_tracking(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig) {
    for si in 0..vrrp.vrrp_sync_group.len() {
        let members = vrrp.vrrp_sync_group[si].members.clone();
        if members.is_empty() {
            continue;
        }
        let has_owner = vrrp
            .vrrp_instance
            .iter()
            .any(|v| members.contains(&v.name) && v.priority == 255);
        let sg = &mut vrrp.vrrp_sync_group[si];
        let span = sg.span.clone().unwrap_or_else(|| Span {
            file: "".into(),
            line: 0,
            column: 0,
        });
        let gname = sg.name.clone();
        let report = |cx: &mut Cx<'_>, kind: &str, name: &str, tail: &str| {
            general(
                cx,
                "sync-group-weight",
                &span,
                format!("({gname}) Cannot have weighted track {kind} '{name}' with member having priority 255 - {tail}"),
            )
            .help = Some("a sync group with an address owner cannot use weights".into());
        };
        if has_owner {
            for t in sg.track_script.iter_mut().filter(|t| t.weight != 0) {
                report(cx, "script", &t.name, "clearing weight");
                t.weight = 0;
            }
            for t in sg.track_file.iter_mut().filter(|t| t.weight != 0) {
                report(cx, "file", &t.name, "setting weight 0");
                t.weight = 0;
            }
            for t in sg.track_process.iter_mut().filter(|t| t.weight != 0) {
                report(cx, "process", &t.name, "setting weight 0");
                t.weight = 0;
            }
            for t in sg.track_bfd.iter_mut().filter(|t| t.weight != 0) {
                report(cx, "bfd", &t.name, "setting weight 0");
                t.weight = 0;
            }
            for t in sg.track_interface.iter_mut().filter(|t| t.weight != 0) {
                report(cx, "interface", &t.name, "clearing weight");
                t.weight = 0;
            }
        }
        let sg = vrrp.vrrp_sync_group[si].clone();
        for v in vrrp
            .vrrp_instance
            .iter_mut()
            .filter(|v| members.contains(&v.name))
        {
            let vspan = at(v);
            let p = format!("({})", v.name);
            for (kind, group_list, own) in [
                ("track_script", &sg.track_script, &mut v.track_script),
                ("track_file", &sg.track_file, &mut v.track_file),
                ("track_process", &sg.track_process, &mut v.track_process),
                ("track_bfd", &sg.track_bfd, &mut v.track_bfd),
            ] {
                for t in group_list {
                    if let Some(existing) = own.iter_mut().find(|e| e.name == t.name) {
                        cx.report(
                            Class::Info,
                            "tracked-twice",
                            &vspan,
                            format!("{p} {kind} {} is configured on VRRP instance and sync group. Remove vrrp instance config", t.name),
                        );
                        if existing.weight != 0 {
                            existing.weight = t.weight;
                            if kind != "track_process" {
                                existing.weight_reverse = t.weight_reverse;
                            }
                        }
                    } else {
                        own.push(t.clone());
                    }
                }
            }
            for t in &sg.track_interface {
                let own_if = v.interface.as_deref() == Some(t.name.as_str());
                let own_weight = if v.dont_track_primary { 255 } else { 0 };
                let existing = v.track_interface.iter_mut().find(|e| e.name == t.name);
                match existing {
                    Some(e) => {
                        if e.weight != 255 && t.weight != 255 {
                            general(
                                cx,
                                "tracked-twice",
                                &vspan,
                                format!(
                                    "{p} track_interface {} is configured on VRRP instance and sync group. Remove vrrp instance or sync group config",
                                    t.name
                                ),
                            );
                        }
                        if e.weight != 0 && t.weight != 255 {
                            e.weight = t.weight;
                            e.weight_reverse = t.weight_reverse;
                        }
                    }
                    None if own_if => {
                        if own_weight != 255 && t.weight != 255 {
                            general(
                                cx,
                                "tracked-twice",
                                &vspan,
                                format!(
                                    "{p} track_interface {} is configured on VRRP instance and sync group. Remove vrrp instance or sync group config",
                                    t.name
                                ),
                            );
                        }
                    }
                    None => v.track_interface.push(t.clone()),
                }
            }
        }
        let sg = &mut vrrp.vrrp_sync_group[si];
        if sg.smtp_alert.is_none() {
            sg.smtp_alert = Some(g.smtp_alert_vrrp.or(g.smtp_alert).unwrap_or(false));
        }
    }
}

/// Run-time step: in a sync group that has members wanting MASTER and members that cannot
/// (BACKUP or not the address owner), every member starts as BACKUP.
fn harmonise_sync_group_states(vrrp: &mut VrrpConfig) {
    for sg in &vrrp.vrrp_sync_group {
        let members = || vrrp.vrrp_instance.iter().filter(|v| sg.members.contains(&v.name));
        let have_master = members().any(|v| v.state == Some(InitialState::Master));
        let have_backup = members().any(|v| v.state == Some(InitialState::Backup) || v.priority != 255);
        if !(have_master && have_backup) {
            continue;
        }
        let names = sg.members.clone();
        for v in vrrp.vrrp_instance.iter_mut().filter(|v| names.contains(&v.name)) {
            if v.state == Some(InitialState::Master) {
                v.state = Some(InitialState::Backup);
            }
        }
    }
}

/// Run-time step: keepalived deletes the `vrrp_script`s nothing tracks (it logs "Warning -
/// script %s is not used" when it starts, not under `-t`). We drop them too, and say so in
/// our own words.
fn unused_scripts(cx: &mut Cx<'_>, vrrp: &mut VrrpConfig) {
    let used = |name: &str| {
        vrrp.vrrp_instance
            .iter()
            .any(|v| v.track_script.iter().any(|t| t.name == name))
            || vrrp
                .vrrp_sync_group
                .iter()
                .any(|s| s.track_script.iter().any(|t| t.name == name))
    };
    let unused: Vec<(String, Option<Span>)> = vrrp
        .vrrp_script
        .iter()
        .filter(|s| !used(&s.name))
        .map(|s| (s.name.clone(), s.span.clone()))
        .collect();
    for (name, span) in &unused {
        if let Some(span) = span {
            cx.report(
                Class::Lint,
                "script-not-used",
                span,
                format!("vrrp_script {name} is not tracked by any vrrp_instance or vrrp_sync_group"),
            )
            .help = Some(format!(
                "keepalived deletes it when it starts (\"Warning - script {name} is not used\"); track it or remove it"
            ));
        }
    }
    vrrp.vrrp_script
        .retain(|s| !unused.iter().any(|(n, _)| *n == s.name));
}

/// Run-time step: a global `lvs_sync_daemon` naming an instance that does not exist is
/// cleared when keepalived starts (not reported by `-t`); we point it out.
fn lvs_sync_daemon_instance(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &VrrpConfig) {
    let Some(name) = &g.lvs_sync_daemon_instance else {
        return;
    };
    if vrrp.vrrp_instance.iter().any(|v| &v.name == name) {
        return;
    }
    let span = at_first(vrrp);
    cx.report(
        Class::Lint,
        "lvs-sync-daemon-instance",
        &span,
        format!("lvs_sync_daemon names vrrp instance {name}, which is not defined"),
    )
    .help = Some(format!(
        "keepalived clears the lvs_sync_daemon setting when it starts (\"Unable to find vrrp instance {name} for lvs_syncd\")"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vmac_names_follow_keepalived() {
        assert_eq!(create_vmac_name("vrrp", 51, AddressFamily::Ipv4, &[]), "vrrp.51");
        assert_eq!(
            create_vmac_name("vrrp", 51, AddressFamily::Ipv4, &["vrrp.51".into()]),
            "vrrp1.51"
        );
        assert_eq!(
            create_vmac_name("vrrp", 51, AddressFamily::Ipv6, &["vrrp.51".into()]),
            "vrrp6.51"
        );
        assert_eq!(
            create_vmac_name("averyveryverylongprefix", 200, AddressFamily::Ipv4, &[]),
            "averyveryve.200"
        );
    }
}
