//! An [`LbState`] as nftables objects.
//!
//! Layout (table `inet <name>` for NAT, `netdev <name>` for DR; names are derived from the
//! service key, so they are the same on every director and need no allocation):
//!
//! - `services4`/`services6` (`daddr . l4proto . dport : verdict`) and `fwmarks4`/`fwmarks6`
//!   (`mark : verdict`): one element per virtual service, `goto svc_<id>`. The element's
//!   comment carries what the rules cannot show: `sched=wrr flags=0x0 timeout=50
//!   netmask=0xffffffff` (plus `via=rr` when a fallback scheduler is programmed).
//! - `rs_<id>`: the real servers (`addr . port`), each with a comment `w=<weight>
//!   fwd=<masq|route>`, quiescent ones included: the registry read back.
//! - `sched_<id>` (`slot : target`): the scheduler's slot table (round-robin cycle, IPVS's
//!   wrr cycle, the sh/dh buckets, the Maglev table, or fo's single slot); `schedi_<id>` holds
//!   weighted intervals instead when the exact wrr cycle would be too long.
//! - `svc_<id>`: `dnat` (NAT) or `ether daddr set ... fwd` (DR) to `<selector> map @sched_<id>`,
//!   where the selector is `numgen inc mod N` (one counter: per-connection round robin, as
//!   the nat hook only sees a connection's first packet) or `jhash <fields> mod N seed S`.
//! - Persistence: `persist_<id>` (client [& mask] → target, dynamic, with timeout) consulted
//!   first. In NAT the choice is only known after `dnat`, so a filter chain right after the
//!   nat priority (`record` → `rec_<id>`) records it from the translated packet for new
//!   connections, refreshing the timeout; in DR one rule looks up, sets and refreshes.

use crate::caps::{self, Unsupported, UnsupportedPolicy};
use crate::maglev;
use crate::schedule;
use crate::table::{ChainDef, Element, SetDef, SetKind, TableDef};
use ka_lb::model::service_flags;
use ka_lb::model::ServiceState;
use ka_lb::{Dest, Family, Forward, LbState, Protocol, Scheduler, Service, ServiceKey};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Our table's default name (both families).
pub const DEFAULT_TABLE: &str = "keepalived_rs_lb";

/// Longest exact wrr cycle installed as slots; beyond it, weighted intervals (same
/// proportions, in blocks).
pub const DEFAULT_WRR_CYCLE_CAP: u32 = 65_536;

/// An Ethernet address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl std::str::FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Mac, String> {
        let mut out = [0u8; 6];
        let mut parts = s.trim().split(':');
        for b in out.iter_mut() {
            let p = parts.next().ok_or_else(|| format!("bad MAC address {s:?}"))?;
            *b = u8::from_str_radix(p, 16).map_err(|_| format!("bad MAC address {s:?}"))?;
        }
        if parts.next().is_some() {
            return Err(format!("bad MAC address {s:?}"));
        }
        Ok(Mac(out))
    }
}

/// What DR needs from the caller: the director's interface towards the real servers (the
/// VIP's interface: frames come in and go back out there), its MAC, and each real server's
/// MAC on that link (the daemon resolves them; nftables rewrites frames, it does not ARP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DrLink {
    pub device: String,
    pub mac: Mac,
    pub neighbours: BTreeMap<IpAddr, Mac>,
}

/// Everything besides the LbState that decides the ruleset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    pub table: String,
    /// jhash seed for sh/dh/mh and DR flow hashing: keep it the same on every director so
    /// that a failover sends each client to the same real server.
    pub hash_seed: u32,
    /// Maglev table size (prime).
    pub maglev_size: u32,
    pub wrr_cycle_cap: u32,
    pub policy: UnsupportedPolicy,
    /// DR configuration; without it DR services are refused.
    pub dr: Option<DrLink>,
}

impl Default for Env {
    fn default() -> Env {
        Env {
            table: DEFAULT_TABLE.to_string(),
            hash_seed: 0x6b61_6c62,
            maglev_size: maglev::DEFAULT_SIZE,
            wrr_cycle_cap: DEFAULT_WRR_CYCLE_CAP,
            policy: UnsupportedPolicy::Refuse,
            dr: None,
        }
    }
}

/// Why a state cannot be rendered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RenderError {
    Unsupported(Unsupported),
    /// A DR service, but no [`DrLink`] in the environment.
    NoDrLink(ServiceKey),
    /// A DR real server whose MAC the caller did not supply.
    NoMac(ServiceKey, IpAddr),
    /// The Maglev size is not a prime.
    BadMaglevSize(u32),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Unsupported(u) => u.fmt(f),
            RenderError::NoDrLink(k) => {
                write!(
                    f,
                    "virtual server {k}: DR on nftables needs the director's interface (none configured)"
                )
            }
            RenderError::NoMac(k, a) => {
                write!(f, "virtual server {k}: no MAC address known for real server {a}")
            }
            RenderError::BadMaglevSize(m) => write!(f, "Maglev table size {m} is not a prime"),
        }
    }
}

impl std::error::Error for RenderError {}

impl From<Unsupported> for RenderError {
    fn from(u: Unsupported) -> RenderError {
        RenderError::Unsupported(u)
    }
}

/// Which table a service lives in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    Nat,
    Dr,
}

pub fn placement(svc: &ServiceState) -> Placement {
    if svc.dests.values().any(|d| d.forward == Forward::Route) {
        Placement::Dr
    } else {
        Placement::Nat
    }
}

/// A stable identifier for a service, usable in nft object names: `tcp4_192_0_2_80_80`,
/// `udp6_2001_0db8_..._0001_53`, `fwm4_3`.
pub fn service_id(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            let proto = protocol.name().to_ascii_lowercase();
            match addr {
                IpAddr::V4(a) => {
                    let o = a.octets();
                    format!("{proto}4_{}_{}_{}_{}_{port}", o[0], o[1], o[2], o[3])
                }
                IpAddr::V6(a) => {
                    let g: Vec<String> = a.segments().iter().map(|s| format!("{s:04x}")).collect();
                    format!("{proto}6_{}_{port}", g.join("_"))
                }
            }
        }
        ServiceKey::Fwmark { family, mark } => match family {
            Family::Ipv4 => format!("fwm4_{mark}"),
            Family::Ipv6 => format!("fwm6_{mark}"),
        },
    }
}

/// Where a slot sends a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Target {
    /// NAT to address and port.
    AddrPort(IpAddr, u16),
    /// NAT to an address, keeping the port (fwmark services).
    Addr(IpAddr),
    /// DR: the real server's MAC.
    Mac(Mac),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::AddrPort(a, p) => write!(f, "{a} . {p}"),
            Target::Addr(a) => write!(f, "{a}"),
            Target::Mac(m) => m.fmt(f),
        }
    }
}

/// A slot key: one number, or an interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum SlotKey {
    One(u32),
    Range(u32, u32),
}

impl fmt::Display for SlotKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotKey::One(n) => write!(f, "{n}"),
            SlotKey::Range(a, b) => write!(f, "{a}-{b}"),
        }
    }
}

/// What selects a slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// `numgen inc mod N`: a counter, per connection in NAT.
    Counter,
    /// `jhash <fields> mod N seed S`.
    Hash(&'static str),
}

/// How one service is programmed, before it becomes text: also what the parser checks the
/// kernel's maps against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServicePlan {
    pub id: String,
    pub placement: Placement,
    pub scheduler: Scheduler,
    pub selector: Selector,
    /// 0 when no real server is active (no scheduling rule then).
    pub modulus: u32,
    /// The slot table (`sched_<id>`), or intervals (`schedi_<id>`) when `intervals`.
    pub slots: Vec<(SlotKey, Target)>,
    pub intervals: bool,
}

impl ServicePlan {
    pub fn sched_map(&self) -> String {
        if self.intervals {
            format!("schedi_{}", self.id)
        } else {
            format!("sched_{}", self.id)
        }
    }
}

fn ip_word(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "ip",
        Family::Ipv6 => "ip6",
    }
}

fn addr_type(f: Family) -> &'static str {
    match f {
        Family::Ipv4 => "ipv4_addr",
        Family::Ipv6 => "ipv6_addr",
    }
}

fn is_fwmark(key: &ServiceKey) -> bool {
    matches!(key, ServiceKey::Fwmark { .. })
}

fn target_of(svc: &Service, d: &Dest, placement: Placement, env: &Env) -> Result<Target, RenderError> {
    match placement {
        Placement::Dr => {
            let link = env.dr.as_ref().ok_or(RenderError::NoDrLink(svc.key))?;
            link.neighbours
                .get(&d.key.addr)
                .map(|m| Target::Mac(*m))
                .ok_or(RenderError::NoMac(svc.key, d.key.addr))
        }
        Placement::Nat if is_fwmark(&svc.key) => Ok(Target::Addr(d.key.addr)),
        Placement::Nat => Ok(Target::AddrPort(d.key.addr, d.key.port)),
    }
}

/// Compresses a slot table into keys (single slots; runs of one destination stay single
/// slots so that a one-destination change is a one-element delta).
fn exact_slots(table: &[usize], targets: &[Target]) -> Vec<(SlotKey, Target)> {
    table
        .iter()
        .enumerate()
        .map(|(i, d)| (SlotKey::One(i as u32), targets[*d]))
        .collect()
}

/// Weighted intervals: (first slot, last slot, destination index).
type Blocks = Vec<(u32, u32, usize)>;

/// Plans one service: scheduler, selector, slot table.
pub fn plan(svc: &ServiceState, env: &Env) -> Result<ServicePlan, RenderError> {
    let service = &svc.service;
    let scheduler = caps::effective_scheduler(service, env.policy)?;
    if let Some(p) = caps::check_service(svc, env.policy).into_iter().next() {
        return Err(p.into());
    }
    let placement = placement(svc);
    let dests: Vec<&Dest> = svc.dests.values().collect();
    let weights: Vec<u32> = dests.iter().map(|d| d.weight).collect();
    let targets: Vec<Target> = dests
        .iter()
        .map(|d| target_of(service, d, placement, env))
        .collect::<Result<_, _>>()?;
    let with_port = service.flags & service_flags::SCHED2 != 0;
    let v6 = service.key.family() == Family::Ipv6;
    // Field lists for jhash (static strings keep the plan comparable and cheap).
    let saddr = match (v6, with_port) {
        (false, false) => "ip saddr",
        (false, true) => "ip saddr . th sport",
        (true, false) => "ip6 saddr",
        (true, true) => "ip6 saddr . th sport",
    };
    let daddr = if v6 { "ip6 daddr" } else { "ip daddr" };
    // DR has no conntrack: a counter would send each packet of a flow elsewhere, so the
    // round-robin family hashes the flow instead.
    let flow = if v6 {
        "ip6 saddr . th sport"
    } else {
        "ip saddr . th sport"
    };
    let counter_or_flow = match placement {
        Placement::Nat => Selector::Counter,
        Placement::Dr => Selector::Hash(flow),
    };
    let (selector, table, blocks): (Selector, Vec<usize>, Option<Blocks>) = match scheduler {
        Scheduler::Rr => (counter_or_flow, schedule::rr_sequence(&weights), None),
        Scheduler::Wrr => {
            if schedule::wrr_period(&weights) <= u64::from(env.wrr_cycle_cap) {
                (counter_or_flow, schedule::wrr_sequence(&weights), None)
            } else {
                (
                    counter_or_flow,
                    Vec::new(),
                    Some(schedule::weighted_blocks(&weights)),
                )
            }
        }
        Scheduler::Fo => (
            counter_or_flow,
            schedule::fo_pick(&weights).into_iter().collect(),
            None,
        ),
        Scheduler::Sh => (Selector::Hash(saddr), schedule::sh_table(&weights), None),
        Scheduler::Dh => (Selector::Hash(daddr), schedule::dh_table(&weights), None),
        Scheduler::Mh => {
            if !maglev::is_prime(env.maglev_size) {
                return Err(RenderError::BadMaglevSize(env.maglev_size));
            }
            let keyed: Vec<_> = dests.iter().map(|d| (d.key, d.weight)).collect();
            (
                Selector::Hash(saddr),
                maglev::table(&keyed, env.maglev_size),
                None,
            )
        }
        // effective_scheduler only returns the six above.
        other => {
            return Err(RenderError::Unsupported(Unsupported {
                service: service.key,
                message: format!("lb_algo {} has no nftables rendering", other.name()),
                nearest: caps::nearest(other),
            }))
        }
    };
    let id = service_id(&service.key);
    Ok(match blocks {
        Some(b) => ServicePlan {
            id,
            placement,
            scheduler,
            selector,
            modulus: b.last().map(|x| x.1 + 1).unwrap_or(0),
            slots: b
                .iter()
                .map(|(s, e, d)| {
                    (
                        if s == e {
                            SlotKey::One(*s)
                        } else {
                            SlotKey::Range(*s, *e)
                        },
                        targets[*d],
                    )
                })
                .collect(),
            intervals: true,
        },
        None => ServicePlan {
            id,
            placement,
            scheduler,
            selector,
            modulus: table.len() as u32,
            slots: exact_slots(&table, &targets),
            intervals: false,
        },
    })
}

/// The dispatch element's comment: the service settings the rules cannot show.
pub fn service_comment(service: &Service, programmed: Scheduler) -> String {
    let mut c = format!(
        "sched={} flags={:#x} timeout={} netmask={:#x}",
        service.scheduler.name(),
        service.flags & service_flags::CONFIGURABLE,
        service.timeout,
        service.netmask
    );
    if programmed != service.scheduler {
        c.push_str(&format!(" via={}", programmed.name()));
    }
    c
}

/// A real server's registry comment.
pub fn dest_comment(d: &Dest) -> String {
    let fwd = match d.forward {
        Forward::Route => "route",
        _ => "masq",
    };
    format!("w={} fwd={fwd}", d.weight)
}

fn dispatch_key(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            let proto = match protocol {
                Protocol::Tcp => "tcp",
                Protocol::Udp => "udp",
                Protocol::Sctp => "sctp",
            };
            format!("{addr} . {proto} . {port}")
        }
        ServiceKey::Fwmark { mark, .. } => format!("{mark}"),
    }
}

/// The map that dispatches to a service.
pub fn dispatch_map(key: &ServiceKey) -> &'static str {
    match (key, key.family()) {
        (ServiceKey::Addr { .. }, Family::Ipv4) => "services4",
        (ServiceKey::Addr { .. }, Family::Ipv6) => "services6",
        (ServiceKey::Fwmark { .. }, Family::Ipv4) => "fwmarks4",
        (ServiceKey::Fwmark { .. }, Family::Ipv6) => "fwmarks6",
    }
}

/// `ip saddr` or `ip saddr & 255.255.255.0`: the persistence key (`persistence_granularity`).
fn client_expr(service: &Service) -> String {
    match service.key.family() {
        Family::Ipv4 => {
            if service.netmask == u32::MAX {
                "ip saddr".to_string()
            } else {
                format!("ip saddr & {}", Ipv4Addr::from(service.netmask))
            }
        }
        Family::Ipv6 => {
            let plen = service.netmask.min(128);
            if plen == 128 {
                "ip6 saddr".to_string()
            } else {
                let mask = if plen == 0 { 0 } else { u128::MAX << (128 - plen) };
                format!("ip6 saddr & {}", Ipv6Addr::from(mask))
            }
        }
    }
}

fn selector_text(plan: &ServicePlan, env: &Env) -> String {
    match plan.selector {
        Selector::Counter => format!("numgen inc mod {}", plan.modulus),
        Selector::Hash(fields) => format!("jhash {fields} mod {} seed {:#x}", plan.modulus, env.hash_seed),
    }
}

/// The two tables' skeletons: dispatch maps and base chains (all `fixed`).
fn skeleton(env: &Env) -> (TableDef, Option<TableDef>) {
    let mut nat = TableDef::new("inet", &env.table);
    nat.comment = Some("keepalived-rs load balancer (NAT); managed, do not edit".to_string());
    let dispatch = |t: &mut TableDef, name: &str, key: &str| {
        let mut s = SetDef::new(SetKind::Map, vec![format!("type {key} : verdict")]);
        s.fixed = true;
        t.sets.insert(name.to_string(), s);
    };
    dispatch(&mut nat, "services4", "ipv4_addr . inet_proto . inet_service");
    dispatch(&mut nat, "services6", "ipv6_addr . inet_proto . inet_service");
    dispatch(&mut nat, "fwmarks4", "mark");
    dispatch(&mut nat, "fwmarks6", "mark");
    let dispatch_rules = vec![
        "ip daddr . meta l4proto . th dport vmap @services4".to_string(),
        "ip6 daddr . meta l4proto . th dport vmap @services6".to_string(),
        "meta nfproto ipv4 meta mark vmap @fwmarks4".to_string(),
        "meta nfproto ipv6 meta mark vmap @fwmarks6".to_string(),
    ];
    let base = |header: &str, rules: Vec<String>| ChainDef {
        header: Some(header.to_string()),
        rules,
        fixed: true,
    };
    nat.chains.insert(
        "prerouting".into(),
        base(
            "type nat hook prerouting priority dstnat; policy accept;",
            dispatch_rules.clone(),
        ),
    );
    nat.chains.insert(
        "output".into(),
        // `dstnat` names -100 only on prerouting.
        base(
            "type nat hook output priority -100; policy accept;",
            dispatch_rules,
        ),
    );
    // Right after the nat hooks: new connections that were translated, to record their
    // persistence choice.
    let record = vec!["ct state new ct status dnat jump record".to_string()];
    nat.chains.insert(
        "record_in".into(),
        base(
            "type filter hook prerouting priority dstnat + 1; policy accept;",
            record.clone(),
        ),
    );
    nat.chains.insert(
        "record_out".into(),
        base("type filter hook output priority -99; policy accept;", record),
    );
    nat.chains.insert(
        "record".into(),
        ChainDef {
            header: None,
            rules: Vec::new(),
            fixed: true,
        },
    );
    let dr = env.dr.as_ref().map(|link| {
        let mut t = TableDef::new("netdev", &env.table);
        t.comment = Some("keepalived-rs load balancer (DR); managed, do not edit".to_string());
        dispatch(&mut t, "services4", "ipv4_addr . inet_proto . inet_service");
        dispatch(&mut t, "services6", "ipv6_addr . inet_proto . inet_service");
        t.chains.insert(
            "ingress".into(),
            base(
                &format!(
                    "type filter hook ingress device \"{}\" priority 0; policy accept;",
                    link.device
                ),
                // Only frames addressed to this director: a bridge or switch floods unknown
                // unicast, and the backup director would otherwise forward the master's
                // traffic too (IPVS never sees such frames: the IP stack drops them).
                vec![
                    "meta pkttype host ip daddr . meta l4proto . th dport vmap @services4".to_string(),
                    "meta pkttype host ip6 daddr . meta l4proto . th dport vmap @services6".to_string(),
                ],
            ),
        );
        t
    });
    (nat, dr)
}

/// The rule in `record` that sends a persistent NAT service's new connections to `rec_<id>`.
fn record_rule(key: &ServiceKey, id: &str) -> String {
    match key {
        ServiceKey::Addr { protocol, addr, port } => format!(
            "ct original {} daddr {addr} meta l4proto {} ct original proto-dst {port} goto rec_{id}",
            ip_word(Family::of(addr)),
            protocol.name().to_ascii_lowercase()
        ),
        ServiceKey::Fwmark { family, mark } => {
            let nf = match family {
                Family::Ipv4 => "ipv4",
                Family::Ipv6 => "ipv6",
            };
            format!("meta nfproto {nf} meta mark {mark:#x} goto rec_{id}")
        }
    }
}

/// Adds one service's objects to the tables.
fn render_service(
    svc: &ServiceState,
    env: &Env,
    nat: &mut TableDef,
    dr: &mut Option<TableDef>,
) -> Result<(), RenderError> {
    let service = &svc.service;
    let plan = plan(svc, env)?;
    let id = &plan.id;
    let fam = service.key.family();
    let ip = ip_word(fam);
    let fwmark = is_fwmark(&service.key);
    let table = match plan.placement {
        Placement::Nat => nat,
        Placement::Dr => dr.as_mut().ok_or(RenderError::NoDrLink(service.key))?,
    };
    // Dispatch.
    if let Some(m) = table.sets.get_mut(dispatch_map(&service.key)) {
        m.insert(Element {
            key: dispatch_key(&service.key),
            comment: Some(service_comment(service, plan.scheduler)),
            value: Some(format!("goto svc_{id}")),
        });
    }
    // Registry.
    let mut rs = SetDef::new(
        SetKind::Set,
        vec![format!("type {} . inet_service", addr_type(fam))],
    );
    rs.registry = svc.dests.clone();
    table.sets.insert(format!("rs_{id}"), rs);
    // Slot table.
    let value_type = match plan.placement {
        Placement::Dr => "ether daddr".to_string(),
        Placement::Nat if fwmark => format!("{ip} daddr"),
        // The transport word must be the service's own: nft refuses `tcp dport` in a map
        // used by a `meta l4proto udp` rule.
        Placement::Nat => match service.key {
            ServiceKey::Addr { protocol, .. } => {
                format!("{ip} daddr . {} dport", protocol.name().to_ascii_lowercase())
            }
            ServiceKey::Fwmark { .. } => format!("{ip} daddr"),
        },
    };
    // `typeof numgen`: a plain `type mark` key refuses numgen/jhash values on nft 1.0.6,
    // and a `typeof jhash ...` map crashes `nft list`. The modulus in it is only a label.
    let mut decl = vec![format!("typeof numgen inc mod 1 : {value_type}")];
    if plan.intervals {
        decl.push("flags interval".to_string());
    }
    let mut sched = SetDef::new(SetKind::Map, decl);
    sched.slots = plan.slots.iter().copied().collect();
    table.sets.insert(plan.sched_map(), sched);
    // Persistence.
    let persistent = service.timeout > 0;
    let client = client_expr(service);
    let persist = format!("persist_{id}");
    if persistent {
        let value = match plan.placement {
            Placement::Dr => "ether_addr".to_string(),
            Placement::Nat if fwmark => addr_type(fam).to_string(),
            Placement::Nat => format!("{} . inet_service", addr_type(fam)),
        };
        table.sets.insert(
            persist.clone(),
            SetDef::new(
                SetKind::Map,
                vec![
                    format!("type {} : {value}", addr_type(fam)),
                    "size 1048576".to_string(),
                    "flags dynamic,timeout".to_string(),
                ],
            ),
        );
    }
    let mut rules = Vec::new();
    match plan.placement {
        Placement::Nat => {
            let l4 = match service.key {
                ServiceKey::Addr { protocol, .. } => {
                    format!("meta l4proto {} ", protocol.name().to_ascii_lowercase())
                }
                ServiceKey::Fwmark { .. } => String::new(),
            };
            if persistent {
                rules.push(format!("{l4}dnat {ip} to {client} map @{persist}"));
            }
            if plan.modulus > 0 {
                rules.push(format!(
                    "{l4}dnat {ip} to {} map @{}",
                    selector_text(&plan, env),
                    plan.sched_map()
                ));
            }
            if persistent {
                let value = if fwmark {
                    format!("{ip} daddr")
                } else {
                    format!("{ip} daddr . th dport")
                };
                nat_record(table, id, &persist, &client, service.timeout, &value);
            }
        }
        Placement::Dr => {
            let link = env.dr.as_ref().ok_or(RenderError::NoDrLink(service.key))?;
            let out = format!("ether saddr set {} fwd to \"{}\"", link.mac, link.device);
            let refresh = if persistent {
                format!(
                    "update @{persist} {{ {client} timeout {}s : ether daddr }} ",
                    service.timeout
                )
            } else {
                String::new()
            };
            if persistent {
                rules.push(format!("ether daddr set {client} map @{persist} {refresh}{out}"));
            }
            if plan.modulus > 0 {
                rules.push(format!(
                    "ether daddr set {} map @{} {refresh}{out}",
                    selector_text(&plan, env),
                    plan.sched_map()
                ));
            }
        }
    }
    table.chains.insert(
        format!("svc_{id}"),
        ChainDef {
            header: None,
            rules,
            fixed: false,
        },
    );
    Ok(())
}

fn nat_record(table: &mut TableDef, id: &str, persist: &str, client: &str, timeout: u32, value: &str) {
    table.chains.insert(
        format!("rec_{id}"),
        ChainDef {
            header: None,
            rules: vec![format!(
                "update @{persist} {{ {client} timeout {timeout}s : {value} }}"
            )],
            fixed: false,
        },
    );
}

/// The record chain's rules: one per persistent NAT service (all services, even in a
/// partial rendering, since the chain is rewritten as a whole).
fn record_rules(state: &LbState) -> Vec<String> {
    state
        .services
        .values()
        .filter(|s| s.service.timeout > 0 && placement(s) == Placement::Nat)
        .map(|s| record_rule(&s.service.key, &service_id(&s.service.key)))
        .collect()
}

/// Both tables (NAT; DR when configured) for the services in `only` (all when `None`).
pub fn render_tables(
    state: &LbState,
    env: &Env,
    only: Option<&BTreeSet<ServiceKey>>,
) -> Result<(TableDef, Option<TableDef>), RenderError> {
    let (mut nat, mut dr) = skeleton(env);
    for (key, svc) in &state.services {
        if only.is_none_or(|o| o.contains(key)) {
            render_service(svc, env, &mut nat, &mut dr)?;
        }
    }
    if let Some(c) = nat.chains.get_mut("record") {
        c.rules = record_rules(state);
    }
    Ok((nat, dr))
}
