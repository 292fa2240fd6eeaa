//! The `global_defs` settings the VRRP side reads, in one place.
//!
//! keepalived copies some of them into each `vrrp_instance` when the instance is allocated
//! (so a `global_defs` block after the instance does not affect it) and applies the others
//! after parsing. Parsers take a snapshot with [`VrrpGlobals::from_global_defs`] at the
//! moment keepalived would read the value.

use crate::global_defs::GlobalDefs;
use crate::script::{Script, ScriptUserState};
use std::net::{Ipv4Addr, Ipv6Addr};

/// What the VRRP side needs from `global_defs`, with keepalived's defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct VrrpGlobals {
    /// `vrrp_strict` (default off).
    pub vrrp_strict: bool,
    /// `vrrp_version` (default 2).
    pub vrrp_version: u8,
    /// `vrrp_garp_master_delay`, µs (default 5 s).
    pub garp_master_delay_us: u64,
    /// `vrrp_garp_master_repeat` (default 5).
    pub garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh`, whole seconds (default 0 = none).
    pub garp_master_refresh_secs: u32,
    /// `vrrp_garp_master_refresh_repeat` (default 1).
    pub garp_master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay`, µs; unset means "= vrrp_garp_master_delay".
    pub garp_lower_prio_delay_us: Option<u64>,
    /// `vrrp_garp_lower_prio_repeat`; unset means "= vrrp_garp_master_repeat".
    pub garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_down_timer_adverts` (default 3).
    pub down_timer_adverts: u32,
    /// `vrrp_lower_prio_no_advert` (default false).
    pub lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert` (default false).
    pub higher_prio_send_advert: bool,
    /// `vrrp_skip_check_adv_addr` (default false).
    pub skip_check_adv_addr: bool,
    /// `vrrp_check_unicast_src` (default false).
    pub check_unicast_src: bool,
    /// `vrrp_mcast_group4` (default 224.0.0.18).
    pub mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6` (default ff02::12).
    pub mcast_group6: Ipv6Addr,
    /// `vrrp_garp_extra_if SECS` (default 0 = off).
    pub garp_extra_if_secs: u32,
    /// `vrrp_garp_extra_if all`.
    pub garp_extra_if_all: bool,
    /// `smtp_alert` (unset by default).
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp` (unset by default).
    pub smtp_alert_vrrp: Option<bool>,
    /// `vrrp_notify_priority_changes` (default false).
    pub notify_priority_changes: bool,
    /// `default_interface` (default eth0): the interface of static addresses without `dev`.
    pub default_interface: String,
    /// `dynamic_interfaces`: missing interfaces are waited for instead of refused.
    pub dynamic_interfaces: bool,
    /// `dynamic_interfaces allow_if_changes`.
    pub allow_if_changes: bool,
    /// `enable_script_security`.
    pub script_security: bool,
    /// `lvs_sync_daemon IFNAME [inst] VI`: the interface, if set.
    pub lvs_sync_daemon_interface: Option<String>,
    /// `lvs_sync_daemon ... [inst] VI`: the instance named.
    pub lvs_sync_daemon_instance: Option<String>,
    /// `script_user` and the default script user as resolved by `global_defs`.
    pub script_user: ScriptUserState,
    /// `notify_fifo_script` and `vrrp_notify_fifo_script`, which the VRRP side checks.
    pub fifo_scripts: Vec<Script>,
    /// `vmac_prefix` (None: `vrrp`).
    pub vmac_prefix: Option<String>,
}

impl Default for VrrpGlobals {
    fn default() -> Self {
        VrrpGlobals {
            vrrp_strict: false,
            vrrp_version: 2,
            garp_master_delay_us: 5_000_000,
            garp_master_repeat: 5,
            garp_master_refresh_secs: 0,
            garp_master_refresh_repeat: 1,
            garp_lower_prio_delay_us: None,
            garp_lower_prio_repeat: None,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            skip_check_adv_addr: false,
            check_unicast_src: false,
            mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            garp_extra_if_secs: 0,
            garp_extra_if_all: false,
            smtp_alert: None,
            smtp_alert_vrrp: None,
            notify_priority_changes: false,
            default_interface: "eth0".into(),
            dynamic_interfaces: false,
            allow_if_changes: false,
            script_security: false,
            lvs_sync_daemon_interface: None,
            lvs_sync_daemon_instance: None,
            script_user: ScriptUserState::default(),
            fifo_scripts: Vec::new(),
            vmac_prefix: None,
        }
    }
}

impl VrrpGlobals {
    /// The settings `global_defs` has given so far.
    ///
    /// keepalived's VRRP process reads the configuration after the parent has read all of
    /// `global_defs`, so these are the final values wherever the blocks stand.
    pub(crate) fn from_global_defs(g: &GlobalDefs) -> VrrpGlobals {
        let secs = |m: ka_units::Micros| u32::try_from(m.0 / 1_000_000).unwrap_or(u32::MAX);
        VrrpGlobals {
            vrrp_strict: g.vrrp_strict,
            vrrp_version: g.vrrp_version,
            garp_master_delay_us: g.vrrp_garp_master_delay.0,
            garp_master_repeat: g.vrrp_garp_master_repeat,
            garp_master_refresh_secs: secs(g.vrrp_garp_master_refresh),
            garp_master_refresh_repeat: g.vrrp_garp_master_refresh_repeat,
            garp_lower_prio_delay_us: g.vrrp_garp_lower_prio_delay.map(|m| m.0),
            garp_lower_prio_repeat: g.vrrp_garp_lower_prio_repeat,
            down_timer_adverts: g.vrrp_down_timer_adverts,
            lower_prio_no_advert: g.vrrp_lower_prio_no_advert,
            higher_prio_send_advert: g.vrrp_higher_prio_send_advert,
            skip_check_adv_addr: g.vrrp_skip_check_adv_addr,
            check_unicast_src: g.vrrp_check_unicast_src,
            mcast_group4: g.vrrp_mcast_group4,
            mcast_group6: g.vrrp_mcast_group6,
            garp_extra_if_secs: secs(g.vrrp_garp_extra_if),
            garp_extra_if_all: g.vrrp_garp_extra_if_all,
            smtp_alert: g.smtp_alert,
            smtp_alert_vrrp: g.smtp_alert_vrrp,
            notify_priority_changes: g.vrrp_notify_priority_changes,
            default_interface: g.default_interface.clone(),
            dynamic_interfaces: g.dynamic_interfaces,
            allow_if_changes: g.dynamic_interfaces_allow_if_changes,
            script_security: g.enable_script_security,
            lvs_sync_daemon_interface: g.lvs_sync_daemon.as_ref().map(|l| l.interface.clone()),
            lvs_sync_daemon_instance: g.lvs_sync_daemon.as_ref().and_then(|l| l.vrrp_instance.clone()),
            script_user: g.script_user.clone(),
            fifo_scripts: g
                .notify_fifo_script
                .iter()
                .chain(g.vrrp_notify_fifo_script.iter())
                .cloned()
                .collect(),
            vmac_prefix: g.vmac_prefix.clone(),
        }
    }
}
