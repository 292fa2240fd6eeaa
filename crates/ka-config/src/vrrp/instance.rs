//! `vrrp_instance NAME { ... }`: the model of one VRRP router and keepalived's reading of its
//! block (`vrrp_handler`, the keyword handlers, `vrrp_end_handler`). The post-parse
//! completion (defaults from `global_defs`, strict mode, ...) is in `validate.rs`.

use crate::cx::{check_true_false, Cx};
use crate::diag::{Class, Span};
use crate::script::{self, Script};
use crate::syntax::{Statement, Word};
use ka_units::{Centiseconds, Micros};
use serde::Serialize;
use std::fmt;
use std::net::IpAddr;

use super::address::{self, AddressKind, VirtualAddress};
use super::common::{self, general, AddressFamily, IfLookup, IFNAMSIZ};
use super::globals::VrrpGlobals;
use super::route::{self, Route, RouteLine};
use super::rule::{self, Rule, RuleLine};
use super::track_refs::{self, RefKind, TrackedInterface, TrackedRef};
use super::walk::{self, Ev, Step};
use super::{aborted, env, VrrpConfig};
use std::collections::VecDeque;

/// Keywords of `vrrp_instance` (keepalived's order, Debian build), for hints.
pub const KEYWORDS: &[&str] = &[
    "use_vmac",
    "use_vmac_addr",
    "vmac_xmit_base",
    "use_ipvlan",
    "unicast_peer",
    "unicast_fault_no_peer",
    "check_unicast_src",
    "old_unicast_checksum",
    "native_ipv6",
    "state",
    "interface",
    "vrf",
    "dont_track_primary",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "mcast_src_ip",
    "unicast_src_ip",
    "mcast_dst_ip",
    "track_src_ip",
    "virtual_router_id",
    "unicast_ttl",
    "version",
    "priority",
    "advert_int",
    "virtual_ipaddress",
    "virtual_ipaddress_excluded",
    "promote_secondaries",
    "linkbeat_use_polling",
    "virtual_routes",
    "virtual_rules",
    "accept",
    "no_accept",
    "skip_check_adv_addr",
    "strict_mode",
    "preempt",
    "nopreempt",
    "preempt_delay",
    "debug",
    "notify_backup",
    "notify_master",
    "notify_fault",
    "notify_stop",
    "notify_deleted",
    "notify",
    "notify_master_rx_lower_pri",
    "smtp_alert",
    "notify_priority_changes",
    "lvs_sync_daemon_interface",
    "garp_master_delay",
    "garp_master_refresh",
    "garp_master_repeat",
    "garp_master_refresh_repeat",
    "garp_lower_prio_delay",
    "garp_lower_prio_repeat",
    "down_timer_adverts",
    "garp_extra_if",
    "vmac_garp_intvl",
    "lower_prio_no_advert",
    "higher_prio_send_advert",
    "kernel_rx_buf_size",
    "authentication",
    "v3_checksum_as_v2",
];

/// Keywords of the `authentication` block.
pub const AUTH_KEYWORDS: &[&str] = &["auth_type", "auth_pass"];

/// The state `state` asks for at start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum InitialState {
    Backup,
    Master,
}

/// `auth_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AuthType {
    /// Simple password (`PASS`).
    Pass,
    /// IPsec AH (`AH`).
    Ah,
}

/// The 8-byte VRRPv2 authentication field (`auth_pass`, zero-padded, truncated to 8).
/// Never serialized, and shown redacted by `Debug`, so that dumps and logs cannot leak it.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
pub struct AuthPass(pub [u8; 8]);

impl AuthPass {
    /// keepalived treats a password whose first byte is NUL as no password.
    pub fn is_empty(&self) -> bool {
        self.0[0] == 0
    }
}

impl fmt::Debug for AuthPass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_empty() {
            "AuthPass(<empty>)"
        } else {
            "AuthPass(<redacted>)"
        })
    }
}

/// `use_vmac [IFNAME] [MAC]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UseVmac {
    /// The VMAC interface name; `None`: keepalived makes one up (`vrrp.<vrid>`, ...).
    pub ifname: Option<String>,
    /// The MAC address given (`None`: 00:00:5e:00:01|02:<vrid>). Five octets given means the
    /// sixth is the VRID.
    pub mac: Option<[u8; 6]>,
}

/// `use_ipvlan` mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IpvlanMode {
    #[default]
    Bridge,
    Private,
    Vepa,
}

/// `use_ipvlan [IFNAME] [ADDR[/LEN]] [bridge|private|vepa]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UseIpvlan {
    pub ifname: Option<String>,
    pub addr: Option<(IpAddr, u8)>,
    pub mode: IpvlanMode,
}

/// `old_unicast_checksum [never]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OldUnicastChecksum {
    /// No argument: use the pre-1.3.6 (wrong) unicast checksum.
    Config,
    /// `never`: never use it, even if a peer does.
    Never,
}

/// A `unicast_peer` line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnicastPeer {
    pub addr: IpAddr,
    /// `min_ttl N` (default 0).
    pub min_ttl: u8,
    /// `max_ttl N` (default 255).
    pub max_ttl: u8,
}

/// One `vrrp_instance`. Fields are named after their keywords. After validation the
/// `Option` fields that keepalived resolves (family, state, accept, ...) are `Some` with the
/// value keepalived runs, and the adjustments it made are in the diagnostics.
#[derive(Clone, Debug, Serialize)]
pub struct VrrpInstance {
    pub name: String,
    /// Address family: from the first address-bearing keyword, IPv4 when none.
    pub family: Option<AddressFamily>,
    /// `version 2|3`: 0 until resolved (IPv6 → 3, else global `vrrp_version`, default 2).
    pub version: u8,
    /// `virtual_router_id` (1-255; 0 = not given, which keepalived refuses).
    pub virtual_router_id: u8,
    /// `priority` (1-255): 0 until resolved (255 with `state MASTER`, else 100).
    pub priority: u8,
    /// `state MASTER|BACKUP`. Resolved: MASTER iff address owner under strict mode.
    pub state: Option<InitialState>,
    /// `advert_int` as configured, in µs (None: not given).
    pub advert_int_configured: Option<Micros>,
    /// The advert interval keepalived runs (default 1 s; whole seconds for VRRPv2, 10 ms
    /// steps up to 40.95 s for VRRPv3).
    pub advert_int: Centiseconds,
    /// `interface IFNAME`: adverts go out and come in here (None: missing or refused).
    pub interface: Option<String>,
    /// `vrf IFNAME`.
    pub vrf: Option<String>,
    pub use_vmac: Option<UseVmac>,
    pub use_vmac_addr: bool,
    pub vmac_xmit_base: bool,
    pub use_ipvlan: Option<UseIpvlan>,
    /// `dont_track_primary`: the own interface going down does not mean FAULT.
    pub dont_track_primary: bool,
    pub track_interface: Vec<TrackedInterface>,
    pub track_script: Vec<TrackedRef>,
    pub track_file: Vec<TrackedRef>,
    pub track_process: Vec<TrackedRef>,
    pub track_bfd: Vec<TrackedRef>,
    /// `mcast_src_ip` / `unicast_src_ip` (also the `use_ipvlan` address): the advert source.
    pub src_ip: Option<IpAddr>,
    /// `mcast_dst_ip`; resolved to global `vrrp_mcast_group4`/`6` for multicast instances.
    pub mcast_dst_ip: Option<IpAddr>,
    /// `track_src_ip` (cleared when there is no configured source address).
    pub track_src_ip: bool,
    /// `unicast_ttl` (None: the kernel default; IPv4 resolves to 255).
    pub unicast_ttl: Option<u8>,
    pub unicast_peer: Vec<UnicastPeer>,
    pub unicast_fault_no_peer: bool,
    /// `check_unicast_src` (also set by `min_ttl`/`max_ttl` and global `vrrp_check_unicast_src`).
    pub check_unicast_src: bool,
    pub old_unicast_checksum: Option<OldUnicastChecksum>,
    /// Resolved: the instance sends unicast adverts (it has peers).
    pub unicast: bool,
    /// `virtual_ipaddress`: the advertised addresses (VIPs).
    pub virtual_ipaddress: Vec<VirtualAddress>,
    /// `virtual_ipaddress_excluded`: addresses managed but not advertised (eVIPs).
    pub virtual_ipaddress_excluded: Vec<VirtualAddress>,
    pub virtual_routes: Vec<Route>,
    pub virtual_rules: Vec<Rule>,
    pub promote_secondaries: bool,
    /// `linkbeat_use_polling` (deprecated here).
    pub linkbeat_use_polling: bool,
    /// `accept` / `no_accept`: resolved to owner ? true : !strict.
    pub accept: Option<bool>,
    /// `skip_check_adv_addr` (or global `vrrp_skip_check_adv_addr`).
    pub skip_check_adv_addr: bool,
    /// `strict_mode`: resolved from global `vrrp_strict`.
    pub strict_mode: Option<bool>,
    /// `nopreempt` (`preempt` clears it).
    pub nopreempt: bool,
    /// `preempt_delay` (0 = none).
    pub preempt_delay: Micros,
    /// `debug` (0-4).
    pub debug: u32,
    pub notify_backup: Option<Script>,
    pub notify_master: Option<Script>,
    pub notify_fault: Option<Script>,
    pub notify_stop: Option<Script>,
    /// `notify SCRIPT`: run with GROUP|INSTANCE, name, state, priority appended.
    pub notify: Option<Script>,
    pub notify_master_rx_lower_pri: Option<Script>,
    /// `notify_deleted`: report DELETED rather than FAULT when removed on reload.
    pub notify_deleted: bool,
    pub notify_deleted_script: Option<Script>,
    /// `smtp_alert`: resolved from `smtp_alert_vrrp`, then `smtp_alert`, else false.
    pub smtp_alert: Option<bool>,
    /// `notify_priority_changes`: resolved from the sync group, then the global.
    pub notify_priority_changes: Option<bool>,
    /// `lvs_sync_daemon_interface` (deprecated): taken when accepted.
    pub lvs_sync_daemon_interface: Option<String>,
    /// `garp_master_delay` (default global `vrrp_garp_master_delay`, 5 s).
    pub garp_master_delay: Micros,
    /// `garp_master_refresh` (whole seconds; default global, 0 = none).
    pub garp_master_refresh: Micros,
    /// `garp_master_repeat` (default global, 5).
    pub garp_master_repeat: u32,
    /// `garp_master_refresh_repeat` (default global, 1).
    pub garp_master_refresh_repeat: u32,
    /// `garp_lower_prio_delay`: resolved (strict → 0, else the global).
    pub garp_lower_prio_delay: Option<Micros>,
    /// `garp_lower_prio_repeat`: resolved (strict → 0, else the global).
    pub garp_lower_prio_repeat: Option<u32>,
    /// `down_timer_adverts` (default global, 3).
    pub down_timer_adverts: u32,
    /// `garp_extra_if [all] SECS` (deprecated `vmac_garp_intvl`), in seconds.
    pub garp_extra_if: Option<u32>,
    pub garp_extra_if_all: bool,
    /// `lower_prio_no_advert`: resolved (strict → true, else the global).
    pub lower_prio_no_advert: Option<bool>,
    /// `higher_prio_send_advert`: resolved (strict → false, else the global).
    pub higher_prio_send_advert: Option<bool>,
    /// `kernel_rx_buf_size` (0 = default).
    pub kernel_rx_buf_size: u32,
    /// `authentication { auth_type }` (None: no authentication).
    pub auth_type: Option<AuthType>,
    /// `authentication { auth_pass }`: never serialized.
    #[serde(skip)]
    pub auth_pass: AuthPass,
    /// Whether an `auth_pass` is set (the password itself is never exposed).
    pub has_auth_pass: bool,
    /// `v3_checksum_as_v2`: a keepalived 2.2.8 keyword (VRRPv3 IPv4 checksum without the
    /// pseudo-header, for interworking with some other implementations). keepalived 2.2.7
    /// reports it as an unknown keyword; keepalived-rs accepts it (with a lint).
    pub v3_checksum_as_v2: bool,
    /// The sync group the instance belongs to (resolved).
    pub sync_group: Option<String>,
    /// Configuration faults: the instance stays in FAULT state while this is non-zero.
    pub config_faults: u32,
    #[serde(skip)]
    pub span: Option<Span>,
    /// Parse-time flags keepalived keeps on the instance.
    #[serde(skip)]
    pub(crate) flags: InstanceFlags,
}

/// keepalived's parse-time flags that only the completion pass needs.
#[derive(Clone, Debug, Default)]
pub(crate) struct InstanceFlags {
    /// A unicast keyword was used (`unicast_peer`, `unicast_src_ip`, ...).
    pub unicast_configured: bool,
    /// The source address came from the configuration.
    pub saddr_from_config: bool,
    /// `use_vmac` with a 5-octet MAC: the sixth is the VRID.
    pub vmac_mac_use_vrid: bool,
}

impl VrrpInstance {
    pub(crate) fn new(name: &str, span: &Span, g: &VrrpGlobals) -> VrrpInstance {
        VrrpInstance {
            name: name.to_string(),
            family: None,
            version: 0,
            virtual_router_id: 0,
            priority: 0,
            state: None,
            advert_int_configured: None,
            advert_int: Centiseconds::ONE_SECOND,
            interface: None,
            vrf: None,
            use_vmac: None,
            use_vmac_addr: false,
            vmac_xmit_base: false,
            use_ipvlan: None,
            dont_track_primary: false,
            track_interface: Vec::new(),
            track_script: Vec::new(),
            track_file: Vec::new(),
            track_process: Vec::new(),
            track_bfd: Vec::new(),
            src_ip: None,
            mcast_dst_ip: None,
            track_src_ip: false,
            unicast_ttl: None,
            unicast_peer: Vec::new(),
            unicast_fault_no_peer: false,
            check_unicast_src: false,
            old_unicast_checksum: None,
            unicast: false,
            virtual_ipaddress: Vec::new(),
            virtual_ipaddress_excluded: Vec::new(),
            virtual_routes: Vec::new(),
            virtual_rules: Vec::new(),
            promote_secondaries: false,
            linkbeat_use_polling: false,
            accept: None,
            skip_check_adv_addr: g.skip_check_adv_addr,
            strict_mode: None,
            nopreempt: false,
            preempt_delay: Micros::ZERO,
            debug: 0,
            notify_backup: None,
            notify_master: None,
            notify_fault: None,
            notify_stop: None,
            notify: None,
            notify_master_rx_lower_pri: None,
            notify_deleted: false,
            notify_deleted_script: None,
            smtp_alert: None,
            notify_priority_changes: None,
            lvs_sync_daemon_interface: None,
            garp_master_delay: Micros(g.garp_master_delay_us),
            garp_master_refresh: Micros::from_secs(u64::from(g.garp_master_refresh_secs)),
            garp_master_repeat: g.garp_master_repeat,
            garp_master_refresh_repeat: g.garp_master_refresh_repeat,
            garp_lower_prio_delay: None,
            garp_lower_prio_repeat: None,
            down_timer_adverts: g.down_timer_adverts,
            garp_extra_if: None,
            garp_extra_if_all: false,
            lower_prio_no_advert: None,
            higher_prio_send_advert: None,
            kernel_rx_buf_size: 0,
            auth_type: None,
            auth_pass: AuthPass::default(),
            has_auth_pass: false,
            v3_checksum_as_v2: false,
            sync_group: None,
            config_faults: 0,
            span: Some(span.clone()),
            flags: InstanceFlags::default(),
        }
    }

    /// The instance is the address owner (priority 255).
    pub fn is_owner(&self) -> bool {
        self.priority == 255
    }

    /// The advert interval in µs as keepalived holds it.
    pub fn advert_int_us(&self) -> u64 {
        self.advert_int.to_micros().0
    }
}

/// The `(NAME)` prefix of most instance messages.
fn p(v: &VrrpInstance) -> String {
    format!("({})", v.name)
}

/// Sets the family from an address, or says it differs.
fn family_matches(v: &mut VrrpInstance, f: AddressFamily) -> bool {
    match v.family {
        None => {
            v.family = Some(f);
            true
        }
        Some(cur) => cur == f,
    }
}

/// `vrrp_instance NAME { ... }`.
pub(crate) fn parse(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, stmt: &Statement) {
    if stmt.words.len() != 2 {
        general(cx, "instance-name", stmt.span(), "vrrp_instance must have a name").help =
            Some("write 'vrrp_instance NAME {' with a single name".into());
        return;
    }
    let name = stmt.words[1].text.clone();
    if vrrp.vrrp_instance.iter().any(|i| i.name == name) {
        general(
            cx,
            "instance-duplicate",
            &stmt.words[1].span,
            format!("vrrp instance {name} already defined"),
        )
        .with_token_mut(&name)
        .help = Some("instance names must be unique; keepalived keeps the first and skips this block".into());
        return;
    }
    let Some(block) = cx.block(stmt) else { return };
    let mut v = VrrpInstance::new(&name, stmt.span(), g);
    let walked = walk::walk(cx, walk::events(block), "vrrp_instance", &mut |cx, st, queue| {
        if st.keyword() == "authentication" {
            authentication(cx, &mut v, st, queue);
            return Step::Known;
        }
        if !keyword(cx, g, vrrp, &mut v, st) {
            return Step::Unknown;
        }
        if !takes_block(st.keyword()) {
            walk::stray_block(cx, st, queue);
        }
        Step::Known
    });
    if aborted(cx) {
        return;
    }
    let end = walked.end.unwrap_or_else(|| block.end_span()).clone();
    end_of_block(cx, &mut v, &end);
    vrrp.vrrp_instance.push(v);
    walk::finish_at_top_level(cx, walked.rest);
}

/// The `vrrp_instance` keywords followed by a block of their own.
fn takes_block(kw: &str) -> bool {
    matches!(
        kw,
        "unicast_peer"
            | "track_interface"
            | "track_script"
            | "track_file"
            | "track_process"
            | "track_bfd"
            | "virtual_ipaddress"
            | "virtual_ipaddress_excluded"
            | "virtual_routes"
            | "virtual_rules"
            | "authentication"
    )
}

/// One keyword of the block; false if it is not a `vrrp_instance` keyword.
fn keyword(
    cx: &mut Cx<'_>,
    g: &VrrpGlobals,
    vrrp: &mut VrrpConfig,
    v: &mut VrrpInstance,
    st: &Statement,
) -> bool {
    let kw = st.keyword();
    match kw {
        "use_vmac" => use_vmac(cx, vrrp, v, st),
        "use_vmac_addr" => v.use_vmac_addr = true,
        "vmac_xmit_base" => v.vmac_xmit_base = true,
        "use_ipvlan" => use_ipvlan(cx, vrrp, v, st),
        "unicast_peer" => {
            v.flags.unicast_configured = true;
            for line in common::value_lines(cx, st) {
                unicast_peer(cx, v, line);
            }
        }
        "unicast_fault_no_peer" => {
            v.flags.unicast_configured = true;
            v.unicast_fault_no_peer = true;
        }
        "check_unicast_src" => {
            v.flags.unicast_configured = true;
            v.check_unicast_src = true;
        }
        "old_unicast_checksum" => {
            v.flags.unicast_configured = true;
            match st.words.get(1) {
                None => v.old_unicast_checksum = Some(OldUnicastChecksum::Config),
                Some(w) if w.text == "never" => v.old_unicast_checksum = Some(OldUnicastChecksum::Never),
                Some(w) => {
                    general(
                        cx,
                        "instance-option",
                        &w.span,
                        format!("{} Unknown old_unicast_chksum mode {} - ignoring", p(v), w.text),
                    )
                    .help = Some("expected nothing or 'never'".into());
                }
            }
        }
        "native_ipv6" => {
            if v.family == Some(AddressFamily::Ipv4) {
                general(
                    cx,
                    "instance-family",
                    st.span(),
                    format!("{} Cannot specify native_ipv6 with IPv4 addresses", p(v)),
                );
            } else {
                v.family = Some(AddressFamily::Ipv6);
                v.version = 3;
            }
        }
        "state" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match w.text.as_str() {
                "MASTER" => v.state = Some(InitialState::Master),
                "BACKUP" if v.state == Some(InitialState::Master) => {
                    general(
                        cx,
                        "instance-state",
                        &w.span,
                        format!("{} state previously set as MASTER - ignoring BACKUP", p(v)),
                    );
                }
                "BACKUP" => v.state = Some(InitialState::Backup),
                other => {
                    general(
                        cx,
                        "instance-state",
                        &w.span,
                        format!("{} unknown state '{other}', defaulting to BACKUP", p(v)),
                    )
                    .with_token_mut(other)
                    .help = Some("expected MASTER or BACKUP (upper case)".into());
                    v.state = Some(InitialState::Backup);
                }
            }
        }
        "interface" => interface(cx, g, vrrp, v, st),
        "vrf" => vrf(cx, g, vrrp, v, st),
        "dont_track_primary" => v.dont_track_primary = true,
        "track_interface" => {
            let mut list = std::mem::take(&mut v.track_interface);
            let mut e = env(vrrp, g);
            for line in common::value_lines(cx, st) {
                track_refs::track_interface_line(cx, &mut e, &v.name, line, &mut list);
            }
            v.track_interface = list;
        }
        "track_script" | "track_file" | "track_process" | "track_bfd" => {
            let (kind, list) = match kw {
                "track_script" => (RefKind::Script, &mut v.track_script),
                "track_file" => (RefKind::File, &mut v.track_file),
                "track_process" => (RefKind::Process, &mut v.track_process),
                _ => (RefKind::Bfd, &mut v.track_bfd),
            };
            let mut taken = std::mem::take(list);
            track_refs::parse_track_block(cx, &mut env(vrrp, g), kind, &v.name, st, &mut taken);
            match kind {
                RefKind::Script => v.track_script = taken,
                RefKind::File => v.track_file = taken,
                RefKind::Process => v.track_process = taken,
                RefKind::Bfd => v.track_bfd = taken,
            }
        }
        "mcast_src_ip" | "unicast_src_ip" => {
            if kw == "unicast_src_ip" {
                v.flags.unicast_configured = true;
            }
            let Some(w) = cx.word(st, 1) else { return true };
            src_ip(cx, v, w);
        }
        "mcast_dst_ip" => {
            let Some(w) = cx.word(st, 1) else { return true };
            mcast_dst_ip(cx, v, w);
        }
        "track_src_ip" => v.track_src_ip = true,
        "virtual_router_id" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_unsigned(cx, w, 1, 255) {
                Some(n) => v.virtual_router_id = n as u8,
                None => {
                    general(
                        cx,
                        "instance-vrid",
                        &w.span,
                        format!("{}: VRID '{}' not valid - must be between 1 & 255", p(v), w.text),
                    )
                    .help =
                        Some("virtual_router_id is 1 to 255, the same on every router of the group".into());
                }
            }
        }
        "unicast_ttl" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_unsigned(cx, w, 0, 255) {
                Some(n) => v.unicast_ttl = Some(n as u8),
                None => {
                    general(
                        cx,
                        "instance-ttl",
                        &w.span,
                        format!("{}: TTL '{}' not valid - must be between 0 & 255", p(v), w.text),
                    );
                }
            }
        }
        "version" => {
            let Some(w) = cx.word(st, 1) else { return true };
            let Some(ver) = common::read_int(cx, w, 2, 3) else {
                general(
                    cx,
                    "instance-version",
                    &w.span,
                    format!("{}: Version must be either 2 or 3", p(v)),
                );
                return true;
            };
            if (v.version != 0 && i32::from(v.version) != ver)
                || (ver == 2 && v.family == Some(AddressFamily::Ipv6))
            {
                general(
                    cx,
                    "instance-version",
                    &w.span,
                    format!(
                        "{} vrrp_version {ver} conflicts with configured or deduced version {}; ignoring.",
                        p(v),
                        v.version
                    ),
                )
                .help = Some("IPv6 instances use VRRP version 3".into());
                return true;
            }
            v.version = ver as u8;
        }
        "priority" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_unsigned(cx, w, 1, 255) {
                Some(n) => v.priority = n as u8,
                None => {
                    general(
                        cx,
                        "instance-priority",
                        &w.span,
                        format!(
                            "{} Priority not valid! must be between 1 & 255. Using default 100",
                            p(v)
                        ),
                    )
                    .help = Some("priority is 1 to 255 (255 = address owner)".into());
                    v.priority = 100;
                }
            }
        }
        "advert_int" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_decimal(cx, w, 10_000, 255_000_000, 6) {
                Some(us) if us > 0 => v.advert_int_configured = Some(Micros(us)),
                _ => {
                    general(
                        cx,
                        "instance-advert-int",
                        &w.span,
                        format!(
                            "{} Advert interval ({}) not valid! Must be > 0 - ignoring",
                            p(v),
                            w.text
                        ),
                    )
                    .help = Some("advert_int is 0.01 to 255 seconds".into());
                }
            }
        }
        "virtual_ipaddress" => {
            let mut e = env(vrrp, g);
            for line in common::value_lines(cx, st) {
                let Some(a) = address::parse_address_line(cx, &mut e, line, AddressKind::Virtual) else {
                    continue;
                };
                if !family_matches(v, a.family()) {
                    general(
                        cx,
                        "vip-family",
                        line.span(),
                        format!(
                            "{}: address family must match VRRP instance [{}] - ignoring",
                            p(v),
                            a.text
                        ),
                    )
                    .help = Some(
                        "an instance advertises addresses of one family; use another instance for the other"
                            .into(),
                    );
                    continue;
                }
                v.virtual_ipaddress.push(a);
            }
        }
        "virtual_ipaddress_excluded" => {
            let mut e = env(vrrp, g);
            for line in common::value_lines(cx, st) {
                if let Some(a) = address::parse_address_line(cx, &mut e, line, AddressKind::Virtual) {
                    v.virtual_ipaddress_excluded.push(a);
                }
            }
        }
        "promote_secondaries" => v.promote_secondaries = true,
        "linkbeat_use_polling" => {
            v.linkbeat_use_polling = true;
            general(
                cx,
                "linkbeat-deprecated",
                st.span(),
                format!(
                    "{} 'linkbeat_use_polling' in vrrp instance deprecated - use linkbeat_interfaces block",
                    p(v)
                ),
            )
            .help = Some("list the interface in a top-level 'linkbeat_interfaces { }' block".into());
        }
        "virtual_routes" => {
            let mut e = env(vrrp, g);
            for line in common::value_lines(cx, st) {
                match route::parse_route_line(cx, &mut e, line, false) {
                    RouteLine::Route(r) => v.virtual_routes.push(*r),
                    RouteLine::Dropped => {}
                    RouteLine::Abort => return true,
                }
            }
        }
        "virtual_rules" => {
            let mut e = env(vrrp, g);
            for line in common::value_lines(cx, st) {
                match rule::parse_rule_line(cx, &mut e, line, false) {
                    RuleLine::Rule(r) => v.virtual_rules.push(*r),
                    RuleLine::Dropped => {}
                    RuleLine::Abort => return true,
                }
            }
        }
        "accept" => v.accept = Some(true),
        "no_accept" => v.accept = Some(false),
        "skip_check_adv_addr" => match st.words.get(1) {
            // keepalived 2.2.7 sets the flag for any valid boolean, `off` included.
            Some(w) if check_true_false(&w.text).is_none() => {
                general(
                    cx,
                    "instance-bool",
                    &w.span,
                    format!("{} invalid skip_check_adv_addr {} specified", p(v), w.text),
                );
            }
            _ => v.skip_check_adv_addr = true,
        },
        "strict_mode" => bool_keyword(cx, v, st, "strict_mode", |v, b| v.strict_mode = Some(b)),
        "lower_prio_no_advert" => bool_keyword(cx, v, st, "lower_prio_no_advert", |v, b| {
            v.lower_prio_no_advert = Some(b)
        }),
        "higher_prio_send_advert" => bool_keyword(cx, v, st, "higher_prio_send_advert", |v, b| {
            v.higher_prio_send_advert = Some(b)
        }),
        "preempt" => v.nopreempt = false,
        "nopreempt" => v.nopreempt = true,
        "preempt_delay" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_decimal(cx, w, 0, 1_000 * 1_000_000, 6) {
                Some(us) => v.preempt_delay = Micros(us),
                None => {
                    general(
                        cx,
                        "instance-preempt-delay",
                        &w.span,
                        format!("{} Preempt_delay not valid! must be between 0-1000", p(v)),
                    );
                    v.preempt_delay = Micros::ZERO;
                }
            }
        }
        "debug" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_unsigned(cx, w, 0, 4) {
                Some(n) => v.debug = n,
                None => {
                    general(
                        cx,
                        "instance-debug",
                        &w.span,
                        format!("{} Debug value '{}' not valid; must be between 0-4", p(v), w.text),
                    );
                }
            }
        }
        "notify_backup"
        | "notify_master"
        | "notify_fault"
        | "notify_stop"
        | "notify"
        | "notify_master_rx_lower_pri" => {
            notify(cx, g, vrrp, v, st);
        }
        "notify_deleted" => {
            if v.notify_deleted {
                let word = st.words.get(1).map_or("", |w| w.text.as_str());
                general(
                    cx,
                    "notify-twice",
                    st.span(),
                    format!("{} notify_deleted already specified - ignoring {word}", p(v)),
                );
                return true;
            }
            if st.words.len() > 1 {
                let sec = g.script_security;
                v.notify_deleted_script =
                    script::notify_script_init(cx, st, "notify", &mut vrrp.state.script_users, sec);
            }
            v.notify_deleted = true;
        }
        "smtp_alert" => match st.words.get(1) {
            None => v.smtp_alert = Some(true),
            Some(w) => match check_true_false(&w.text) {
                Some(b) => v.smtp_alert = Some(b),
                None => {
                    general(
                        cx,
                        "instance-bool",
                        &w.span,
                        format!("Invalid vrrp_instance smtp_alert parameter {}", w.text),
                    );
                }
            },
        },
        "notify_priority_changes" => match st.words.get(1) {
            None => v.notify_priority_changes = Some(true),
            Some(w) => match check_true_false(&w.text) {
                Some(b) => v.notify_priority_changes = Some(b),
                None => {
                    general(
                        cx,
                        "instance-bool",
                        &w.span,
                        format!(
                            "{} Invalid value '{}' for notify_priority_changes specified",
                            p(v),
                            w.text
                        ),
                    );
                }
            },
        },
        "lvs_sync_daemon_interface" => lvs_sync_daemon_interface(cx, g, vrrp, v, st),
        "garp_master_delay" | "garp_lower_prio_delay" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_unsigned(cx, w, 0, u32::MAX / 1_000_000) {
                Some(secs) => {
                    let value = Micros::from_secs(u64::from(secs));
                    if kw == "garp_master_delay" {
                        v.garp_master_delay = value;
                    } else {
                        v.garp_lower_prio_delay = Some(value);
                    }
                }
                None => {
                    general(
                        cx,
                        "instance-garp",
                        &w.span,
                        format!("{}: {kw} '{}' invalid - ignoring", p(v), w.text),
                    );
                }
            }
        }
        "garp_master_refresh" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_unsigned(cx, w, 0, u32::MAX) {
                Some(secs) => v.garp_master_refresh = Micros::from_secs(u64::from(secs)),
                None => {
                    general(
                        cx,
                        "instance-garp",
                        &w.span,
                        format!("{}: Invalid garp_master_refresh '{}' - ignoring", p(v), w.text),
                    )
                    .help = Some("keepalived turns the refresh off when the value is invalid".into());
                    v.garp_master_refresh = Micros::ZERO;
                }
            }
        }
        "garp_master_repeat" | "garp_master_refresh_repeat" => {
            let Some(w) = cx.word(st, 1) else { return true };
            let Some(mut n) = common::read_unsigned(cx, w, 0, u32::MAX) else {
                general(
                    cx,
                    "instance-garp",
                    &w.span,
                    format!("{}: {kw} '{}' invalid - ignoring", p(v), w.text),
                );
                return true;
            };
            if n == 0 {
                general(
                    cx,
                    "instance-garp",
                    &w.span,
                    format!("{}: {kw} must be greater than 0, setting to 1", p(v)),
                );
                n = 1;
            }
            if kw == "garp_master_repeat" {
                v.garp_master_repeat = n;
            } else {
                v.garp_master_refresh_repeat = n;
            }
        }
        "garp_lower_prio_repeat" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_unsigned(cx, w, 0, i32::MAX as u32) {
                Some(n) => v.garp_lower_prio_repeat = Some(n),
                None => {
                    general(
                        cx,
                        "instance-garp",
                        &w.span,
                        format!("{}: Invalid garp_lower_prio_repeat '{}'", p(v), w.text),
                    );
                }
            }
        }
        "down_timer_adverts" => {
            let Some(w) = cx.word(st, 1) else { return true };
            match common::read_unsigned(cx, w, 1, 100) {
                Some(n) => v.down_timer_adverts = n,
                None => {
                    general(
                        cx,
                        "instance-down-timer",
                        &w.span,
                        format!("{}: Invalid down_timer_adverts [1:100] '{}'", p(v), w.text),
                    );
                }
            }
        }
        "garp_extra_if" | "vmac_garp_intvl" => garp_extra_if(cx, v, st),
        "kernel_rx_buf_size" => {
            let ok = st.words.len() == 2
                && st
                    .words
                    .get(1)
                    .and_then(|w| common::read_unsigned(cx, w, 0, u32::MAX))
                    .map(|n| v.kernel_rx_buf_size = n)
                    .is_some();
            if !ok {
                general(
                    cx,
                    "instance-rx-buf",
                    st.span(),
                    format!("{} invalid kernel_rx_buf_size specified", p(v)),
                )
                .help = Some("expected 'kernel_rx_buf_size BYTES'".into());
            }
        }
        "v3_checksum_as_v2" => {
            v.v3_checksum_as_v2 = true;
            cx.report(
                Class::Lint,
                "keepalived-2-2-8-keyword",
                st.span(),
                "'v3_checksum_as_v2' is a keepalived 2.2.8 keyword: keepalived 2.2.7 reports it as an unknown keyword",
            )
            .help = Some("keepalived-rs honours it; remove it if the configuration must also load in keepalived 2.2.7".into());
        }
        _ => return false,
    }
    true
}

/// `KEYWORD [BOOL]`: no argument means true.
fn bool_keyword(
    cx: &mut Cx<'_>,
    v: &mut VrrpInstance,
    st: &Statement,
    kw: &str,
    set: impl FnOnce(&mut VrrpInstance, bool),
) {
    match st.words.get(1) {
        None => set(v, true),
        Some(w) => match check_true_false(&w.text) {
            Some(b) => set(v, b),
            None => {
                general(
                    cx,
                    "instance-bool",
                    &w.span,
                    format!("{} invalid {kw} {} specified", p(v), w.text),
                )
                .with_token_mut(&w.text)
                .help = Some("expected true, on, yes, false, off or no".into());
            }
        },
    }
}

/// `interface IFNAME`.
fn interface(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, v: &mut VrrpInstance, st: &Statement) {
    let Some(w) = cx.word(st, 1) else { return };
    let name = w.text.as_str();
    if name.len() >= IFNAMSIZ {
        general(
            cx,
            "interface-name",
            &w.span,
            format!("Interface name '{name}' too long - ignoring"),
        )
        .help = Some("interface names have at most 15 characters".into());
        return;
    }
    v.interface = None;
    if common::lookup_interface(cx, &mut vrrp.state, g, name, &w.span) == IfLookup::Missing {
        general(
            cx,
            "interface-missing",
            &w.span,
            format!(
                "WARNING - interface {name} for vrrp_instance {} doesn't exist",
                v.name
            ),
        )
        .with_token_mut(name)
        .help = Some("name an existing interface, or set 'dynamic_interfaces' in global_defs".into());
    } else if cx.host.interface_is_loopback(name) {
        general(
            cx,
            "interface-loopback",
            &w.span,
            format!(
                "{} cannot use a loopback interface ({name}) for vrrp - ignoring",
                p(v)
            ),
        );
    } else {
        v.interface = Some(name.to_string());
    }
}

/// `vrf IFNAME`.
fn vrf(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, v: &mut VrrpInstance, st: &Statement) {
    let Some(w) = cx.word(st, 1) else { return };
    let name = w.text.as_str();
    if name.len() >= IFNAMSIZ {
        general(
            cx,
            "vrf-name",
            &w.span,
            format!("{} VRF interface name '{name}' too long - ignoring", p(v)),
        );
        return;
    }
    if v.interface.is_some() {
        general(
            cx,
            "vrf-and-interface",
            &w.span,
            format!("{} Cannot specify VRF interface and interface - ignoring", p(v)),
        );
        return;
    }
    if let Some(cur) = &v.vrf {
        let msg = format!("{} VRF interface already specified as '{cur}' - ignoring", p(v));
        general(cx, "vrf-twice", &w.span, msg);
        return;
    }
    if common::lookup_interface(cx, &mut vrrp.state, g, name, &w.span) == IfLookup::Missing {
        general(
            cx,
            "interface-missing",
            &w.span,
            format!("{} WARNING - VRF interface {name} doesn't exist", p(v)),
        );
    } else if cx.host.interface_is_loopback(name) {
        general(
            cx,
            "interface-loopback",
            &w.span,
            format!(
                "{} cannot use a loopback interface ({name}) for VRF - ignoring",
                p(v)
            ),
        );
    } else {
        v.vrf = Some(name.to_string());
    }
}

/// `mcast_src_ip` / `unicast_src_ip`.
fn src_ip(cx: &mut Cx<'_>, v: &mut VrrpInstance, w: &Word) {
    let Some(addr) = common::inet_stosockaddr(&w.text) else {
        general(
            cx,
            "instance-src-ip",
            &w.span,
            format!(
                "Configuration error: VRRP instance[{}] malformed src address[{}]. Skipping...",
                v.name, w.text
            ),
        )
        .help = Some("expected an IPv4 or IPv6 address".into());
        // keepalived has already overwritten its source address with the failed parse.
        v.src_ip = None;
        return;
    };
    v.flags.saddr_from_config = true;
    if family_matches(v, AddressFamily::of(&addr)) {
        v.src_ip = Some(addr);
    } else {
        general(
            cx,
            "instance-family",
            &w.span,
            format!(
                "Configuration error: VRRP instance[{}] and src address[{}] MUST be of the same family !!! Skipping...",
                v.name, w.text
            ),
        );
        v.src_ip = None;
        v.flags.saddr_from_config = false;
    }
}

/// `mcast_dst_ip`.
fn mcast_dst_ip(cx: &mut Cx<'_>, v: &mut VrrpInstance, w: &Word) {
    let Some(addr) = common::inet_stosockaddr(&w.text) else {
        general(
            cx,
            "instance-mcast-dst",
            &w.span,
            format!("{} malformed mcast dest address {}. Skipping...", p(v), w.text),
        );
        return;
    };
    if !family_matches(v, AddressFamily::of(&addr)) {
        general(
            cx,
            "instance-family",
            &w.span,
            format!(
                "{} mcast dest address {} MUST match VRRP instance family. Skipping...",
                p(v),
                w.text
            ),
        );
        v.mcast_dst_ip = None;
        return;
    }
    let ok = match addr {
        IpAddr::V4(a) => a.is_multicast(),
        // IN6_IS_ADDR_MC_LINKLOCAL: ff?2::/16.
        IpAddr::V6(a) => a.segments()[0] & 0xff0f == 0xff02,
    };
    if ok {
        v.mcast_dst_ip = Some(addr);
    } else {
        let ll = if addr.is_ipv6() { " link-local" } else { "" };
        general(
            cx,
            "instance-mcast-dst",
            &w.span,
            format!("{} mcast_dst_ip {} not{ll} multicast. Skipping...", p(v), w.text),
        );
        v.mcast_dst_ip = None;
    }
}

/// One `unicast_peer` line: `ADDR [min_ttl N] [max_ttl N]`.
fn unicast_peer(cx: &mut Cx<'_>, v: &mut VrrpInstance, line: &Statement) {
    let Some(first) = line.words.first() else { return };
    let Some(addr) = common::inet_stosockaddr(&first.text) else {
        general(
            cx,
            "unicast-peer",
            &first.span,
            format!(
                "Configuration error: VRRP instance[{}] malformed unicast peer address[{}]. Skipping...",
                v.name, first.text
            ),
        )
        .help = Some("expected 'ADDRESS [min_ttl N] [max_ttl N]'".into());
        return;
    };
    if !family_matches(v, AddressFamily::of(&addr)) {
        general(
            cx,
            "instance-family",
            &first.span,
            format!(
                "Configuration error: VRRP instance[{}] and unicast peer address[{}] MUST be of the same family !!! Skipping...",
                v.name, first.text
            ),
        );
        return;
    }
    let mut peer = UnicastPeer {
        addr,
        min_ttl: 0,
        max_ttl: 255,
    };
    let mut i = 1;
    while i < line.words.len() {
        let name = &line.words[i];
        let Some(value) = line.words.get(i + 1) else {
            general(
                cx,
                "unicast-peer",
                &name.span,
                format!("{} {} is missing a value", p(v), name.text),
            );
            break;
        };
        if let Some(ttl) = common::read_unsigned(cx, value, 0, 255) {
            match name.text.as_str() {
                "min_ttl" => peer.min_ttl = ttl as u8,
                "max_ttl" => peer.max_ttl = ttl as u8,
                other => {
                    general(
                        cx,
                        "unicast-peer",
                        &name.span,
                        format!("{} unknown unicast_peer option {other}", p(v)),
                    )
                    .help = Some("options are min_ttl and max_ttl".into());
                    break;
                }
            }
            v.check_unicast_src = true;
        }
        i += 2;
    }
    if peer.min_ttl > peer.max_ttl {
        general(
            cx,
            "unicast-peer",
            &first.span,
            format!(
                "{} min_ttl {} > max_ttl {} - all packets will be discarded",
                p(v),
                peer.min_ttl,
                peer.max_ttl
            ),
        );
    }
    v.unicast_peer.push(peer);
}

/// `use_vmac [IFNAME] [MAC]`.
fn use_vmac(cx: &mut Cx<'_>, vrrp: &VrrpConfig, v: &mut VrrpInstance, st: &Statement) {
    let mut vmac = v.use_vmac.take().unwrap_or_default();
    for w in st.words.iter().skip(1).take(2) {
        let text = w.text.as_str();
        if text.contains(':') {
            if vmac.mac.is_some() {
                general(cx, "vmac", &w.span, "VMAC interface address already specified");
                continue;
            }
            if text.chars().any(|c| !c.is_ascii_hexdigit() && c != ':') {
                general(cx, "vmac", &w.span, format!("VMAC invalid MAC address {text}"));
                continue;
            }
            let Some((mac, use_vrid)) = parse_vmac_mac(text) else {
                general(
                    cx,
                    "vmac",
                    &w.span,
                    format!("VMAC invalid MAC address {text} - ignored"),
                )
                .help = Some("expected 6 (or 5, the sixth being the VRID) colon-separated hex octets".into());
                continue;
            };
            if use_vrid {
                v.flags.vmac_mac_use_vrid = true;
            }
            if mac[0] & 1 != 0 {
                general(
                    cx,
                    "vmac",
                    &w.span,
                    format!("VMAC MAC address is multicast {text} - ignoring"),
                );
            } else if mac[..4] == [0, 0, 0x5e, 0] && (mac[4] == 1 || mac[4] == 2) {
                general(
                    cx,
                    "vmac",
                    &w.span,
                    format!("VMAC MAC address not allowed to be RFC5798 address ({text}) - ignoring"),
                );
            } else {
                vmac.mac = Some(mac);
            }
        } else {
            if vmac.ifname.is_some() {
                general(cx, "vmac", &w.span, "VMAC interface name already specified");
                continue;
            }
            if !common::valid_ifname(text) {
                general(
                    cx,
                    "vmac",
                    &w.span,
                    format!("VMAC interface name '{text}' too long or invalid characters - ignoring"),
                );
                continue;
            }
            if let Some(other) = vrrp.vrrp_instance.iter().find(|o| vmac_name(o) == Some(text)) {
                general(
                    cx,
                    "vmac",
                    &w.span,
                    format!(
                        "{} VRRP instance {} is already using {text} - ignoring name",
                        p(v),
                        other.name
                    ),
                );
                continue;
            }
            vmac.ifname = Some(text.to_string());
        }
    }
    v.use_vmac = Some(vmac);
}

/// The VMAC or IPVLAN interface name an instance configured.
fn vmac_name(v: &VrrpInstance) -> Option<&str> {
    v.use_vmac
        .as_ref()
        .and_then(|m| m.ifname.as_deref())
        .or_else(|| v.use_ipvlan.as_ref().and_then(|i| i.ifname.as_deref()))
}

/// A `use_vmac` MAC: 6 octets, or 5 (the sixth will be the VRID). Anything after a sixth
/// octet is ignored, as keepalived does.
fn parse_vmac_mac(text: &str) -> Option<([u8; 6], bool)> {
    let mut mac = [0u8; 6];
    let mut rest = text;
    for (j, slot) in mac.iter_mut().enumerate() {
        let end = rest.find(':').unwrap_or(rest.len());
        let octet = &rest[..end];
        if octet.is_empty() || octet.len() > 2 {
            return None;
        }
        let after = &rest[end..];
        if !after.starts_with(':') && (!after.is_empty() || j < 4) {
            return None;
        }
        *slot = u8::from_str_radix(octet, 16).ok()?;
        if j == 4 && (after.is_empty() || after == ":") {
            return Some((mac, true));
        }
        if after.is_empty() {
            // Six octets read.
            return Some((mac, false));
        }
        rest = &after[1..];
        if rest.is_empty() && j < 5 {
            return None;
        }
    }
    Some((mac, false))
}

/// `use_ipvlan [IFNAME] [ADDR[/LEN]] [bridge|private|vepa]`.
fn use_ipvlan(cx: &mut Cx<'_>, vrrp: &VrrpConfig, v: &mut VrrpInstance, st: &Statement) {
    if v.use_ipvlan.is_some() {
        general(
            cx,
            "ipvlan",
            st.span(),
            format!("{} use_ipvlan already specified", p(v)),
        );
        return;
    }
    let mut ipv = UseIpvlan::default();
    let mut had_mode = false;
    for w in st.words.iter().skip(1) {
        let text = w.text.as_str();
        let mode = match text {
            "bridge" => Some(IpvlanMode::Bridge),
            "private" => Some(IpvlanMode::Private),
            "vepa" => Some(IpvlanMode::Vepa),
            _ => None,
        };
        if let Some(mode) = mode {
            if had_mode {
                general(
                    cx,
                    "ipvlan",
                    &w.span,
                    format!("{} ipvlan type already specified - ignoring '{text}'", p(v)),
                );
            } else {
                ipv.mode = mode;
                had_mode = true;
            }
            continue;
        }
        if looks_like_address(text) {
            let Some(a) = common::parse_ipaddress(cx, w, true) else {
                continue;
            };
            if ipv.addr.is_some() {
                general(
                    cx,
                    "ipvlan",
                    &w.span,
                    format!("{} ipvlan address already specified - ignoring '{text}'", p(v)),
                );
                continue;
            }
            if !family_matches(v, AddressFamily::of(&a.addr)) {
                general(
                    cx,
                    "instance-family",
                    &w.span,
                    format!(
                        "{} ipvlan address[{text}] MUST match vrrp instance family !!! Skipping...",
                        p(v)
                    ),
                );
                continue;
            }
            ipv.addr = Some((a.addr, a.prefix_len));
            if v.src_ip.is_none() {
                v.src_ip = Some(a.addr);
                v.flags.saddr_from_config = true;
            }
            continue;
        }
        if ipv.ifname.is_some() || v.use_vmac.as_ref().is_some_and(|m| m.ifname.is_some()) {
            general(
                cx,
                "ipvlan",
                &w.span,
                format!("{} IPVLAN interface already specified - ignoring '{text}'", p(v)),
            );
            continue;
        }
        if text.len() >= IFNAMSIZ {
            general(
                cx,
                "ipvlan",
                &w.span,
                format!("{} IPVLAN interface name '{text}' too long - ignoring", p(v)),
            );
            continue;
        }
        if let Some(other) = vrrp.vrrp_instance.iter().find(|o| vmac_name(o) == Some(text)) {
            general(
                cx,
                "ipvlan",
                &w.span,
                format!(
                    "{} VRRP instance {} is already using {text} - ignoring name",
                    p(v),
                    other.name
                ),
            );
            continue;
        }
        ipv.ifname = Some(text.to_string());
    }
    v.use_ipvlan = Some(ipv);
}

/// keepalived's `check_valid_ipaddress(text, true)`.
fn looks_like_address(text: &str) -> bool {
    if !text.contains(['.', ':']) {
        return false;
    }
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => (a, Some(l)),
        None => (text, None),
    };
    let v6 = text.contains(':');
    if let Some(l) = len {
        let max = if v6 { 128 } else { 32 };
        if l.is_empty()
            || !l.chars().all(|c| c.is_ascii_digit())
            || l.parse::<u32>().map_or(true, |n| n > max)
        {
            return false;
        }
    }
    common::inet_pton(addr).is_some_and(|a| a.is_ipv6() == v6)
}

/// `notify_*` scripts.
fn notify(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, v: &mut VrrpInstance, st: &Statement) {
    let kw = st.keyword().to_string();
    let slot = match kw.as_str() {
        "notify_backup" => &mut v.notify_backup,
        "notify_master" => &mut v.notify_master,
        "notify_fault" => &mut v.notify_fault,
        "notify_stop" => &mut v.notify_stop,
        "notify" => &mut v.notify,
        _ => &mut v.notify_master_rx_lower_pri,
    };
    if slot.is_some() {
        // keepalived reads word 1 only to name the ignored script; only then can it be missing.
        let Some(w) = cx.word(st, 1) else { return };
        let what = if kw == "notify" {
            "notify script".to_string()
        } else {
            format!("{kw} script")
        };
        general(
            cx,
            "notify-twice",
            &w.span,
            format!("({}) {what} already specified - ignoring {}", v.name, w.text),
        )
        .help = Some(format!("give '{kw}' once per instance"));
        return;
    }
    *slot = script::notify_script_init(cx, st, "notify", &mut vrrp.state.script_users, g.script_security);
}

/// `lvs_sync_daemon_interface IFNAME` (deprecated).
fn lvs_sync_daemon_interface(
    cx: &mut Cx<'_>,
    g: &VrrpGlobals,
    vrrp: &mut VrrpConfig,
    v: &mut VrrpInstance,
    st: &Statement,
) {
    general(
        cx,
        "lvs-syncd-deprecated",
        st.span(),
        format!(
            "{} Specifying lvs_sync_daemon_interface against a vrrp is deprecated.",
            p(v)
        ),
    )
    .help = Some("use 'lvs_sync_daemon IFNAME INSTANCE' in global_defs".into());
    // keepalived pads with strlen(name) - 2 spaces; a negative width left-justifies.
    let pad = (v.name.len() as i64 - 2).unsigned_abs() as usize;
    general(
        cx,
        "lvs-syncd-deprecated",
        st.span(),
        format!("      {:pad$}Please use global lvs_sync_daemon", ""),
    );
    let current = g
        .lvs_sync_daemon_interface
        .clone()
        .or_else(|| vrrp.lvs_sync_daemon_interface.as_ref().map(|(i, _)| i.clone()));
    if let Some(cur) = current {
        general(
            cx,
            "lvs-syncd",
            st.span(),
            format!(
                "{} lvs_sync_daemon_interface has already been specified as {cur} - ignoring",
                p(v)
            ),
        );
        return;
    }
    let Some(w) = cx.word(st, 1) else { return };
    vrrp.lvs_sync_daemon_interface = Some((w.text.clone(), v.name.clone()));
    v.lvs_sync_daemon_interface = Some(w.text.clone());
}

/// `garp_extra_if [all] SECS` / `vmac_garp_intvl`.
fn garp_extra_if(cx: &mut Cx<'_>, v: &mut VrrpInstance, st: &Statement) {
    let kw = st.keyword().to_string();
    if kw == "vmac_garp_intvl" {
        cx.report(
            Class::Deprecated,
            "vmac-garp-intvl-deprecated",
            st.span(),
            "Keyword \"vmac_garp_intvl\" is deprecated - please use \"garp_extra_if\"",
        )
        .help = Some("rename it to 'garp_extra_if'".into());
    }
    let mut delay: Option<u32> = None;
    for w in st.words.iter().skip(1) {
        if w.text == "all" {
            v.garp_extra_if_all = true;
        } else if let Some(n) = common::read_unsigned(cx, w, 0, 86_400) {
            delay = Some(n);
        } else {
            general(
                cx,
                "instance-garp",
                &w.span,
                format!("{}: {kw} '{}' invalid - ignoring", p(v), w.text),
            );
            return;
        }
    }
    match delay {
        None => {
            general(
                cx,
                "instance-garp",
                st.span(),
                format!("{}: {kw} specified without time - ignoring", p(v)),
            )
            .help = Some(format!("expected '{kw} [all] SECONDS'"));
        }
        Some(d) => v.garp_extra_if = Some(d),
    }
}

/// `authentication { auth_type PASS|AH  auth_pass SECRET }`. What keepalived reads after an
/// early end of the block goes back to the instance level.
fn authentication<'s>(
    cx: &mut Cx<'_>,
    v: &mut VrrpInstance,
    st: &'s Statement,
    queue: &mut VecDeque<Ev<'s>>,
) {
    let Some(block) = cx.block(st) else { return };
    let walked = walk::walk(cx, walk::events(block), "authentication", &mut |cx, a, inner| {
        match a.keyword() {
            "auth_type" => {
                let Some(w) = cx.word(a, 1) else {
                    return Step::Known;
                };
                match w.text.as_str() {
                    "AH" => v.auth_type = Some(AuthType::Ah),
                    "PASS" => v.auth_type = Some(AuthType::Pass),
                    other => {
                        general(
                            cx,
                            "auth-type",
                            &w.span,
                            format!("{} unknown authentication type '{other}'", p(v)),
                        )
                        .with_token_mut(other)
                        .help = Some("expected PASS or AH".into());
                    }
                }
            }
            "auth_pass" => {
                let Some(w) = cx.word(a, 1) else {
                    return Step::Known;
                };
                let bytes = w.text.as_bytes();
                if bytes.len() > 8 {
                    general(
                        cx,
                        "auth-pass-truncated",
                        &w.span,
                        "Truncating auth_pass to 8 characters",
                    )
                    .help = Some("VRRPv2 passwords are at most 8 characters".into());
                }
                let mut pass = [0u8; 8];
                for (d, s) in pass.iter_mut().zip(bytes) {
                    *d = *s;
                }
                v.auth_pass = AuthPass(pass);
                v.has_auth_pass = !v.auth_pass.is_empty();
            }
            _ => return Step::Unknown,
        }
        walk::stray_block(cx, a, inner);
        Step::Known
    });
    walk::give_back(queue, walked.rest);
}

/// keepalived's `vrrp_end_handler`, at the block's closing brace.
fn end_of_block(cx: &mut Cx<'_>, v: &mut VrrpInstance, end: &Span) {
    if v.flags.unicast_configured && (v.use_vmac.is_some() || v.use_ipvlan.is_some()) {
        if v.interface.is_none() {
            general(
                cx,
                "vmac-unicast",
                end,
                format!(
                    "{}: Cannot use VMAC/ipvlan with unicast and no interface - clearing use_vmac",
                    p(v)
                ),
            );
            v.use_vmac = None;
            v.use_ipvlan = None;
        } else if !v.vmac_xmit_base {
            general(
                cx,
                "vmac-unicast",
                end,
                format!("{} unicast with use_vmac requires vmac_xmit_base - setting", p(v)),
            )
            .help = Some("add 'vmac_xmit_base' to the instance".into());
            v.vmac_xmit_base = true;
        }
    }
    if v.unicast_peer.is_empty() && v.unicast_ttl.is_some() {
        general(
            cx,
            "unicast-ttl",
            end,
            format!(
                "{}: Cannot use unicast_ttl without unicast peers - resetting",
                p(v)
            ),
        )
        .help = Some("unicast_ttl only applies to unicast peers".into());
        v.unicast_ttl = Some(0);
    }
    if v.interface.is_none() {
        v.linkbeat_use_polling = false;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn vmac_mac_forms() {
        assert_eq!(
            super::parse_vmac_mac("02:11:22:33:44:55"),
            Some(([2, 0x11, 0x22, 0x33, 0x44, 0x55], false))
        );
        assert_eq!(
            super::parse_vmac_mac("02:11:22:33:44"),
            Some(([2, 0x11, 0x22, 0x33, 0x44, 0], true))
        );
        assert_eq!(
            super::parse_vmac_mac("02:11:22:33:44:"),
            Some(([2, 0x11, 0x22, 0x33, 0x44, 0], true))
        );
        assert_eq!(
            super::parse_vmac_mac("02:11:22:33:44:55:66").map(|m| m.1),
            Some(false)
        );
        assert_eq!(super::parse_vmac_mac("02:11:22:33"), None);
        assert_eq!(super::parse_vmac_mac("02:111:22:33:44:55"), None);
        assert!(super::looks_like_address("10.0.0.1/24"));
        assert!(!super::looks_like_address("eth0"));
        assert!(!super::looks_like_address("10.0.0.1/"));
    }

    #[test]
    fn auth_pass_is_never_shown() {
        let l = crate::load_str(
            "vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n authentication {\n  auth_type PASS\n  auth_pass s3cr3tpw\n }\n virtual_ipaddress {\n  10.0.0.1\n }\n}\n",
        );
        let v = &l.config.vrrp.vrrp_instance[0];
        assert_eq!(&v.auth_pass.0, b"s3cr3tpw");
        assert!(v.has_auth_pass);
        let json = serde_json::to_string(&l.config).unwrap();
        assert!(!json.contains("s3cr3tpw"));
        assert!(!format!("{:?}", l.config).contains("s3cr3tpw"));
    }
}
