//! What the daemon runs for VRRP, resolved from the configuration and the machine: engine
//! instances, the interfaces and sockets they use, and the kernel objects (addresses,
//! routes, rules) to install when an instance becomes master.

use ka_config::script::Script;
use ka_net::netlink::{AddressSpec, RouteSpec, RuleSpec};
use ka_vrrp::{InstanceConfig, SyncGroupConfig};
use ka_wire::vrrp::Family;
use std::net::IpAddr;

#[derive(Clone, Debug, Default)]
pub struct VrrpPlan {
    pub instances: Vec<InstancePlan>,
    pub groups: Vec<GroupPlan>,
    pub scripts: Vec<ScriptTracker>,
    pub files: Vec<FileTracker>,
    pub processes: Vec<ProcessTracker>,
    /// Interval between gratuitous ARPs / NAs on one interface (`vrrp_garp_interval`,
    /// `vrrp_gna_interval`).
    pub garp_interval: std::time::Duration,
    pub gna_interval: std::time::Duration,
}

/// A notify FIFO: created (mode 0644, owned by its user/group) if missing, its script started
/// with the FIFO's path appended, then held open for writing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FifoPlan {
    /// Which lines it gets.
    pub role: FifoRole,
    pub path: std::path::PathBuf,
    pub user: Option<String>,
    pub group: Option<String>,
    pub script: Option<Script>,
}

/// `notify_fifo` gets every line; `vrrp_notify_fifo` the VRRP ones; `lvs_notify_fifo` the
/// health-checker ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FifoRole {
    Global,
    Vrrp,
    Lvs,
}

#[derive(Clone, Debug)]
pub struct InstancePlan {
    pub engine: InstanceConfig,
    pub ifname: String,
    pub ifindex: u32,
    pub family: Family,
    /// `mcast_src_ip` / `unicast_src_ip`; None means the interface's primary address.
    pub source: Option<IpAddr>,
    /// Multicast destination (224.0.0.18 / ff02::12 or `mcast_dst_ip`).
    pub group: IpAddr,
    /// `unicast_ttl`.
    pub unicast_ttl: u8,
    /// `virtual_ipaddress`.
    pub vips: Vec<AddressSpec>,
    /// `virtual_ipaddress_excluded`.
    pub excluded_vips: Vec<AddressSpec>,
    /// VIPs and excluded VIPs marked `no_track`: their removal by someone else is ignored.
    pub untracked_vips: Vec<IpAddr>,
    pub routes: Vec<RouteSpec>,
    pub rules: Vec<RuleSpec>,
    pub notify: NotifyScripts,
    /// `no_accept` (the default under `vrrp_strict` for non-owners): while master, traffic
    /// to the VIPs is dropped.
    pub no_accept: bool,
    /// `use_vmac`: the macvlan to create; until [`VrrpPlan::attach_vmacs`], VIPs meant for it
    /// carry interface index 0.
    pub vmac: Option<super::vmac::VmacPlan>,
    /// Where the advert source address comes from (the parent for an IPv4 VMAC, which has no
    /// IPv4 address of its own).
    pub source_ifindex: u32,
}

impl InstancePlan {
    /// Every address the instance adds as master: `virtual_ipaddress`, then
    /// `virtual_ipaddress_excluded`.
    pub fn all_vips(&self) -> impl Iterator<Item = &AddressSpec> {
        self.vips.iter().chain(self.excluded_vips.iter())
    }
}

#[derive(Clone, Debug, Default)]
pub struct NotifyScripts {
    pub master: Option<Script>,
    pub backup: Option<Script>,
    pub fault: Option<Script>,
    pub stop: Option<Script>,
    /// `notify`: called with TYPE NAME STATE PRIORITY appended.
    pub any: Option<Script>,
}

#[derive(Clone, Debug)]
pub struct GroupPlan {
    pub engine: SyncGroupConfig,
    pub notify: NotifyScripts,
}

/// A `track_file`: a number read from a file whenever it changes.
#[derive(Clone, Debug)]
pub struct FileTracker {
    pub id: ka_vrrp::TrackerId,
    pub name: String,
    pub path: std::path::PathBuf,
    /// `init_file VALUE [overwrite]`.
    pub init: Option<(i32, bool)>,
}

/// A `vrrp_track_process`: up while enough matching processes run.
#[derive(Clone, Debug)]
pub struct ProcessTracker {
    pub id: ka_vrrp::TrackerId,
    pub name: String,
    pub process: String,
    pub params: Vec<String>,
    /// `param_match partial`: the configured parameters need only start the command line.
    pub partial: bool,
    pub full_command: bool,
    pub quorum: u32,
    pub quorum_max: u32,
    pub fork_delay: std::time::Duration,
    pub terminate_delay: std::time::Duration,
}

/// A `vrrp_script` the daemon runs, reported to the engine as a tracker.
#[derive(Clone, Debug)]
pub struct ScriptTracker {
    pub id: ka_vrrp::TrackerId,
    pub name: String,
    pub script: Script,
    pub interval: std::time::Duration,
    pub timeout: std::time::Duration,
    pub rise: u32,
    pub fall: u32,
    /// `init_fail`: start as failed rather than unknown.
    pub init_fail: bool,
}

// ===== building the plan from the configuration =====

use ka_config::vrrp::address::VirtualAddress;
use ka_config::vrrp::route::{Route, RoutePrefix};
use ka_config::vrrp::rule::{Rule, RuleAction};
use ka_net::netlink::{
    Address, Link, IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_MCAUTOJOIN, IFA_F_NODAD,
    IFA_F_NOPREFIXROUTE,
};
use ka_vrrp::{GarpSchedule, InitialState, LinkId, TrackWeight, TrackerId};
use ka_wire::rx::Peer;
use std::collections::BTreeMap;

/// The notify FIFOs of a configuration: `notify_fifo` (every line), `vrrp_notify_fifo`,
/// `lvs_notify_fifo`, each with its script, owned by the default script user unless given.
pub fn notify_fifos(config: &ka_config::config::Config) -> Vec<FifoPlan> {
    let global = &config.global_defs;
    let default_user = config.vrrp.default_script_user();
    [
        (FifoRole::Global, &global.notify_fifo, &global.notify_fifo_script),
        (
            FifoRole::Vrrp,
            &global.vrrp_notify_fifo,
            &global.vrrp_notify_fifo_script,
        ),
        (
            FifoRole::Lvs,
            &global.lvs_notify_fifo,
            &global.lvs_notify_fifo_script,
        ),
    ]
    .into_iter()
    .filter_map(|(role, fifo, script)| {
        let fifo = fifo.as_ref()?;
        Some(FifoPlan {
            role,
            path: std::path::PathBuf::from(&fifo.path),
            user: fifo.user.clone().or_else(|| default_user.0.map(str::to_string)),
            group: fifo.group.clone().or_else(|| default_user.1.map(str::to_string)),
            script: script.clone().map(|s| with_default_user(s, default_user)),
        })
    })
    .collect()
}

/// A script without its own `USER [GROUP]` runs as the default script user.
fn with_default_user(mut script: Script, default: (Option<&str>, Option<&str>)) -> Script {
    if script.user.is_none() {
        script.user = default.0.map(str::to_string);
        script.group = default.1.map(str::to_string);
    }
    script
}

/// Names the kernel's interfaces for the plan.
pub struct Machine<'a> {
    pub links: &'a [Link],
    pub addresses: &'a [Address],
}

impl Machine<'_> {
    pub fn index(&self, name: &str) -> Option<u32> {
        self.links.iter().find(|l| l.name == name).map(|l| l.index)
    }

    /// The address an instance without `mcast_src_ip`/`unicast_src_ip` sends from: the
    /// interface's primary IPv4 address, or its IPv6 link-local address.
    pub fn primary_address(&self, index: u32, family: Family) -> Option<IpAddr> {
        self.addresses
            .iter()
            .filter(|a| a.index == index && !a.secondary)
            .map(|a| a.addr)
            .find(|a| match (family, a) {
                (Family::Ipv4, IpAddr::V4(_)) => true,
                (Family::Ipv6, IpAddr::V6(v6)) => ka_net::vrrp_socket::is_link_local_v6(v6),
                _ => false,
            })
    }
}

/// Why the daemon cannot run a configuration.
#[derive(Debug)]
pub struct PlanError(pub Vec<String>);

/// Builds what the daemon runs for VRRP. Instances keepalived would not run (left in FAULT
/// by configuration errors) are kept out.
pub fn build(config: &ka_config::config::Config, machine: &Machine<'_>) -> Result<VrrpPlan, PlanError> {
    let vrrp = &config.vrrp;
    let global = &config.global_defs;
    let mut problems = Vec::new();
    if let Some(why) = &vrrp.rejected {
        problems.push(why.clone());
    }
    let default_user = vrrp.default_script_user();
    let mut trackers: BTreeMap<String, TrackerId> = BTreeMap::new();
    let mut scripts = Vec::new();
    for s in &vrrp.vrrp_script {
        let Some(script) = &s.script else { continue };
        let id = TrackerId(scripts.len() as u32);
        trackers.insert(s.name.clone(), id);
        let interval = Duration::from_micros(s.interval.as_micros().max(1));
        let timeout = if s.timeout.as_micros() == 0 {
            interval
        } else {
            Duration::from_micros(s.timeout.as_micros())
        };
        let mut script = script.clone();
        if s.user.is_some() {
            script.user = s.user.clone();
            script.group = s.group.clone();
        }
        let script = with_default_user(script, default_user);
        scripts.push(ScriptTracker {
            id,
            name: s.name.clone(),
            script,
            interval,
            timeout,
            rise: s.rise,
            fall: s.fall,
            init_fail: s.init_fail,
        });
    }

    let mut files = Vec::new();
    let mut file_ids: BTreeMap<String, TrackerId> = BTreeMap::new();
    for f in &vrrp.track_file {
        let id = TrackerId((scripts.len() + files.len()) as u32);
        file_ids.insert(f.name.clone(), id);
        files.push(FileTracker {
            id,
            name: f.name.clone(),
            path: std::path::PathBuf::from(&f.file),
            init: f.init_file.as_ref().map(|i| (i.value, i.overwrite)),
        });
    }
    let mut processes = Vec::new();
    let mut process_ids: BTreeMap<String, TrackerId> = BTreeMap::new();
    for p in &vrrp.vrrp_track_process {
        let id = TrackerId((scripts.len() + files.len() + processes.len()) as u32);
        process_ids.insert(p.name.clone(), id);
        processes.push(ProcessTracker {
            id,
            name: p.name.clone(),
            process: p.process.clone(),
            params: p.process_params.clone(),
            partial: matches!(p.param_match, ka_config::vrrp::track_process::ParamMatch::Partial),
            full_command: p.full_command,
            quorum: p.quorum,
            quorum_max: p.quorum_max,
            fork_delay: Duration::from_micros(p.fork_delay.as_micros()),
            terminate_delay: Duration::from_micros(p.terminate_delay.as_micros()),
        });
    }

    let mut instances = Vec::new();
    let mut names: Vec<&str> = Vec::new();
    for inst in &vrrp.vrrp_instance {
        if inst.config_faults > 0 || inst.virtual_router_id == 0 {
            continue;
        }
        let Some(ifname) = inst.interface.clone() else {
            problems.push(format!("({}) has no usable interface", inst.name));
            continue;
        };
        let Some(ifindex) = machine.index(&ifname) else {
            problems.push(format!("({}) interface {ifname} does not exist", inst.name));
            continue;
        };
        let family = match inst.family {
            Some(ka_config::vrrp::AddressFamily::Ipv6) => Family::Ipv6,
            _ => Family::Ipv4,
        };
        if inst.auth_type == Some(ka_config::vrrp::instance::AuthType::Ah) {
            problems.push(format!(
                "({}) auth_type AH is not supported by keepalived-rs; use PASS or no authentication",
                inst.name
            ));
            continue;
        }
        if inst.use_ipvlan.is_some() {
            problems.push(format!(
                "({}) use_ipvlan is not supported by keepalived-rs yet",
                inst.name
            ));
            continue;
        }
        let vmac =
            inst.use_vmac.as_ref().map(|v| super::vmac::VmacPlan {
                name: v.ifname.clone().unwrap_or_else(|| {
                    vmac_name(
                        global.vmac_prefix.as_deref().unwrap_or("vrrp"),
                        inst.virtual_router_id,
                        family,
                        &instances,
                    )
                }),
                mac: ka_wire::MacAddr(v.mac.unwrap_or(
                    ka_wire::MacAddr::vrrp_virtual(inst.virtual_router_id, family == Family::Ipv6).0,
                )),
                parent: ifindex,
                parent_name: ifname.clone(),
                ipv6: family == Family::Ipv6,
                xmit_base: inst.vmac_xmit_base,
            });
        let mut engine = ka_vrrp::InstanceConfig::new(
            inst.name.clone(),
            inst.virtual_router_id,
            LinkId(ifindex),
            family,
            inst.virtual_ipaddress.iter().map(|v| v.addr).collect(),
        );
        engine.version = if inst.version == 3 {
            ka_wire::vrrp::Version::V3
        } else {
            ka_wire::vrrp::Version::V2
        };
        engine.priority = inst.priority.max(1);
        engine.advert_interval = inst.advert_int;
        engine.initial_state = match inst.state {
            Some(ka_config::vrrp::instance::InitialState::Master) => InitialState::Master,
            _ => InitialState::Backup,
        };
        engine.nopreempt = inst.nopreempt;
        engine.preempt_delay = ka_units::Micros(inst.preempt_delay.as_micros());
        if inst.auth_type == Some(ka_config::vrrp::instance::AuthType::Pass)
            && engine.version == ka_wire::vrrp::Version::V2
        {
            engine.auth_type = ka_wire::vrrp::AuthType::Pass;
            engine.auth_data = inst.auth_pass.0;
        }
        engine.unicast_peers = inst
            .unicast_peer
            .iter()
            .map(|p| Peer {
                addr: p.addr,
                min_ttl: p.min_ttl,
                max_ttl: p.max_ttl,
            })
            .collect();
        engine.check_unicast_src = inst.check_unicast_src;
        engine.skip_check_adv_addr = inst.skip_check_adv_addr;
        engine.lower_prio_no_advert = inst.lower_prio_no_advert.unwrap_or(false);
        engine.higher_prio_send_advert = inst.higher_prio_send_advert.unwrap_or(false);
        // keepalived 2.2.7 has no vrrp_owner_ignore_adverts; strict mode makes an owner ignore adverts.
        engine.owner_ignore_adverts = inst.strict_mode == Some(true);
        engine.down_timer_adverts = inst.down_timer_adverts.max(1);
        engine.v3_checksum_as_v2 = inst.v3_checksum_as_v2;
        engine.garp = GarpSchedule {
            master_repeat: inst.garp_master_repeat,
            master_delay: ka_units::Micros(inst.garp_master_delay.as_micros()),
            master_refresh: ka_units::Micros(inst.garp_master_refresh.as_micros()),
            master_refresh_repeat: inst.garp_master_refresh_repeat,
            lower_prio_repeat: inst.garp_lower_prio_repeat.unwrap_or(0),
            lower_prio_delay: ka_units::Micros(
                inst.garp_lower_prio_delay.map(|d| d.as_micros()).unwrap_or(0),
            ),
        };
        engine.dont_track_primary = inst.dont_track_primary;
        for t in &inst.track_interface {
            if t.weight == 255 {
                continue;
            }
            match machine.index(&t.name) {
                Some(ix) => engine.track_links.push((
                    LinkId(ix),
                    TrackWeight {
                        weight: t.weight,
                        reverse: t.weight_reverse,
                    },
                )),
                None => problems.push(format!(
                    "({}) tracked interface {} does not exist",
                    inst.name, t.name
                )),
            }
        }
        for t in &inst.track_script {
            if let Some(id) = trackers.get(&t.name) {
                engine.track_flags.push((
                    *id,
                    TrackWeight {
                        weight: t.weight,
                        reverse: t.weight_reverse,
                    },
                ));
            }
        }
        for t in &inst.track_process {
            if let Some(id) = process_ids.get(&t.name) {
                engine.track_flags.push((
                    *id,
                    TrackWeight {
                        weight: t.weight,
                        reverse: t.weight_reverse,
                    },
                ));
            }
        }
        for t in &inst.track_file {
            if let Some(id) = file_ids.get(&t.name) {
                engine.track_values.push((
                    *id,
                    TrackWeight {
                        weight: t.weight,
                        reverse: t.weight_reverse,
                    },
                ));
            }
        }
        let vip_specs = |list: &[VirtualAddress], problems: &mut Vec<String>| -> Vec<AddressSpec> {
            list.iter()
                .filter_map(|v| {
                    let index = match &v.dev {
                        Some(dev) => machine.index(dev),
                        // On the VMAC, once it exists.
                        None if vmac.is_some() => Some(0),
                        None => Some(ifindex),
                    };
                    match index {
                        Some(index) => Some(address_spec(v, index)),
                        None => {
                            problems.push(format!(
                                "({}) VIP {} names a missing interface",
                                inst.name, v.text
                            ));
                            None
                        }
                    }
                })
                .collect()
        };
        let vips = vip_specs(&inst.virtual_ipaddress, &mut problems);
        let excluded_vips = vip_specs(&inst.virtual_ipaddress_excluded, &mut problems);
        let untracked_vips = inst
            .virtual_ipaddress
            .iter()
            .chain(&inst.virtual_ipaddress_excluded)
            .filter(|a| a.no_track)
            .map(|a| a.addr)
            .collect();
        let routes = inst
            .virtual_routes
            .iter()
            .filter_map(|r| route_spec(r, machine))
            .collect();
        let rules = inst.virtual_rules.iter().map(rule_spec).collect();
        let group = inst
            .mcast_dst_ip
            .unwrap_or(ka_net::vrrp_socket::default_group(family));
        names.push(&inst.name);
        instances.push(InstancePlan {
            engine,
            ifname,
            ifindex,
            family,
            source: inst.src_ip,
            group,
            unicast_ttl: inst.unicast_ttl.unwrap_or(255),
            vips,
            excluded_vips,
            untracked_vips,
            routes,
            rules,
            notify: NotifyScripts {
                master: inst
                    .notify_master
                    .clone()
                    .map(|s| with_default_user(s, default_user)),
                backup: inst
                    .notify_backup
                    .clone()
                    .map(|s| with_default_user(s, default_user)),
                fault: inst
                    .notify_fault
                    .clone()
                    .map(|s| with_default_user(s, default_user)),
                stop: inst
                    .notify_stop
                    .clone()
                    .map(|s| with_default_user(s, default_user)),
                any: inst.notify.clone().map(|s| with_default_user(s, default_user)),
            },
            no_accept: inst.accept == Some(false) && inst.priority != 255,
            vmac,
            source_ifindex: ifindex,
        });
    }
    let mut groups = Vec::new();
    for g in &vrrp.vrrp_sync_group {
        let members: Vec<usize> = g
            .members
            .iter()
            .filter_map(|m| names.iter().position(|n| n == m))
            .collect();
        if members.is_empty() {
            continue;
        }
        // Objects tracked by the group act on every member (keepalived's group tracking).
        for &m in &members {
            let engine = &mut instances[m].engine;
            for t in &g.track_interface {
                if let Some(ix) = machine.index(&t.name) {
                    engine.track_links.push((
                        LinkId(ix),
                        TrackWeight {
                            weight: t.weight,
                            reverse: t.weight_reverse,
                        },
                    ));
                }
            }
            for t in &g.track_script {
                if let Some(id) = trackers.get(&t.name) {
                    engine.track_flags.push((
                        *id,
                        TrackWeight {
                            weight: t.weight,
                            reverse: t.weight_reverse,
                        },
                    ));
                }
            }
            for t in &g.track_process {
                if let Some(id) = process_ids.get(&t.name) {
                    engine.track_flags.push((
                        *id,
                        TrackWeight {
                            weight: t.weight,
                            reverse: t.weight_reverse,
                        },
                    ));
                }
            }
            for t in &g.track_file {
                if let Some(id) = file_ids.get(&t.name) {
                    engine.track_values.push((
                        *id,
                        TrackWeight {
                            weight: t.weight,
                            reverse: t.weight_reverse,
                        },
                    ));
                }
            }
        }
        groups.push(GroupPlan {
            engine: SyncGroupConfig {
                name: g.name.clone(),
                members,
            },
            notify: NotifyScripts {
                master: g
                    .notify_master
                    .clone()
                    .map(|s| with_default_user(s, default_user)),
                backup: g
                    .notify_backup
                    .clone()
                    .map(|s| with_default_user(s, default_user)),
                fault: g.notify_fault.clone().map(|s| with_default_user(s, default_user)),
                stop: g.notify_stop.clone().map(|s| with_default_user(s, default_user)),
                any: g.notify.clone().map(|s| with_default_user(s, default_user)),
            },
        });
    }
    if !problems.is_empty() && instances.is_empty() && !vrrp.vrrp_instance.is_empty() {
        return Err(PlanError(problems));
    }
    for p in &problems {
        crate::error!("{p}");
    }
    Ok(VrrpPlan {
        instances,
        groups,
        scripts,
        files,
        processes,
        garp_interval: Duration::from_micros(global.vrrp_garp_interval.as_micros()),
        gna_interval: Duration::from_micros(global.vrrp_gna_interval.as_micros()),
    })
}

use std::time::Duration;

/// keepalived's VMAC name: `PREFIX.VRID`, or for a second instance with the same VRID
/// `PREFIX6.VRID` (IPv6 first) / `PREFIX1.VRID`, ... (its `create_vmac_name`).
fn vmac_name(prefix: &str, vrid: u8, family: Family, taken: &[InstancePlan]) -> String {
    let used = |n: &str| taken.iter().any(|p| p.vmac.as_ref().is_some_and(|v| v.name == n));
    let mut name = truncate_ifname(format!("{prefix}.{vrid}"));
    let mut num: u32 = 0;
    while used(&name) {
        num = match (family, num) {
            (Family::Ipv6, 0) => 6,
            (Family::Ipv6, 6) => 1,
            (Family::Ipv6, n) if n + 1 == 6 => 7,
            (_, n) => n + 1,
        };
        name = truncate_ifname(format!("{prefix}{num}.{vrid}"));
    }
    name
}

/// Interface names are at most 15 bytes.
fn truncate_ifname(mut name: String) -> String {
    while name.len() > 15 {
        name.remove(0);
    }
    name
}

impl VrrpPlan {
    /// Puts the instances that use a VMAC on it, now that it exists: adverts, VIPs without
    /// `dev`, and (IPv6) the advert source.
    pub fn attach_vmacs(&mut self, created: &[(String, u32)]) {
        for p in &mut self.instances {
            let Some(v) = &p.vmac else { continue };
            let Some((_, index)) = created.iter().find(|(n, _)| *n == v.name) else {
                continue;
            };
            for spec in p.vips.iter_mut().chain(p.excluded_vips.iter_mut()) {
                if spec.index == 0 {
                    spec.index = *index;
                }
            }
            if !v.xmit_base {
                p.ifindex = *index;
                p.ifname = v.name.clone();
                p.engine.link = ka_vrrp::LinkId(*index);
                if v.ipv6 {
                    p.source_ifindex = *index;
                }
            }
        }
    }
}

/// A `virtual_ipaddress` line as an `ip addr add` request. keepalived adds IPv6 addresses
/// with NODAD unless `-nodad` is given, and makes /128 IPv6 VIPs deprecated (preferred
/// lifetime 0) so that the kernel does not pick them as source addresses.
pub fn address_spec(v: &VirtualAddress, index: u32) -> AddressSpec {
    let mut flags = 0;
    if v.addr.is_ipv6() && !v.nodad {
        flags |= IFA_F_NODAD;
    }
    if v.home {
        flags |= IFA_F_HOMEADDRESS;
    }
    if v.mngtmpaddr {
        flags |= IFA_F_MANAGETEMPADDR;
    }
    if v.noprefixroute {
        flags |= IFA_F_NOPREFIXROUTE;
    }
    if v.autojoin {
        flags |= IFA_F_MCAUTOJOIN;
    }
    let preferred_lft = match v.preferred_lft {
        Some(p) => Some(p),
        None if v.addr.is_ipv6() && v.prefix_len == 128 => Some(0),
        None => None,
    };
    AddressSpec {
        index,
        addr: v.addr,
        prefix_len: v.prefix_len,
        broadcast: v.brd,
        label: v.label.clone(),
        scope: v.scope,
        peer: v.peer,
        flags,
        preferred_lft,
    }
}

fn prefix(p: &RoutePrefix) -> Option<(IpAddr, u8)> {
    p.addr.map(|a| (a, p.prefix_len))
}

pub fn route_spec(r: &Route, machine: &Machine<'_>) -> Option<RouteSpec> {
    let ipv6 = matches!(r.family, ka_config::vrrp::AddressFamily::Ipv6);
    let oif = match &r.dev {
        Some(d) => Some(machine.index(d)?),
        None => None,
    };
    Some(RouteSpec {
        dst: prefix(&r.dst).or(Some((
            if ipv6 {
                IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED)
            } else {
                IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)
            },
            0,
        ))),
        src_prefix: r.from.as_ref().and_then(prefix),
        pref_src: r.src,
        gateway: r.via,
        oif,
        table: Some(r.table),
        metric: r.metric,
        scope: Some(r.scope),
        protocol: r.protocol,
        kind: Some(r.r#type),
        tos: r.tos,
        onlink: r.onlink,
        nexthops: r
            .nexthops
            .iter()
            .map(|n| {
                (
                    n.via,
                    n.dev.as_ref().and_then(|d| machine.index(d)),
                    n.weight.map(|w| w.clamp(1, 256) as u8).unwrap_or(1),
                )
            })
            .collect(),
        ipv6,
    })
}

pub fn rule_spec(r: &Rule) -> RuleSpec {
    let ipv6 = matches!(r.family, ka_config::vrrp::AddressFamily::Ipv6);
    let (action, goto) = match r.action {
        RuleAction::ToTable => (1, None),
        RuleAction::Goto(p) => (2, Some(p)),
        RuleAction::Nop => (3, None),
        RuleAction::Blackhole => (6, None),
        RuleAction::Unreachable => (7, None),
        RuleAction::Prohibit => (8, None),
    };
    RuleSpec {
        ipv6,
        from: r.from.as_ref().and_then(prefix),
        to: r.to.as_ref().and_then(prefix),
        priority: Some(r.preference),
        table: (r.table != 0).then_some(r.table),
        fwmark: r.fwmark,
        iif: r.iif.clone(),
        oif: r.oif.clone(),
        tos: r.tos,
        action: Some(action),
        goto,
        suppress_prefixlen: r.suppress_prefixlength,
        suppress_ifgroup: r.suppress_ifgroup,
        realms: r.realms,
        uidrange: r.uidrange,
        ipproto: r.ipproto,
        sport: r.sport.as_ref().map(|p| (p.start, p.end)),
        dport: r.dport.as_ref().map(|p| (p.start, p.end)),
        l3mdev: r.l3mdev,
        protocol: r.protocol,
        invert: r.invert,
    }
}
