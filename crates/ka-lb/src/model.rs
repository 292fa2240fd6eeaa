//! What a load balancer holds, in the terms IPVS uses: virtual services (a VIP, protocol and
//! port, or a firewall mark) and their destinations (real servers), each with the settings
//! `ipvsadm` shows. Both backends (IPVS, nftables) and the fake program exactly this; the
//! configuration and the health checkers produce it as the *desired* state.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

/// Address family of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Family {
    Ipv4,
    Ipv6,
}

impl Family {
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Ipv4,
            IpAddr::V6(_) => Family::Ipv6,
        }
    }
}

/// Transport protocol of an address-based service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Protocol {
    Tcp,
    Udp,
    Sctp,
}

impl Protocol {
    /// The IP protocol number (what IPVS is given).
    pub fn number(self) -> u8 {
        match self {
            Protocol::Tcp => 6,
            Protocol::Udp => 17,
            Protocol::Sctp => 132,
        }
    }

    pub fn from_number(n: u8) -> Option<Protocol> {
        match n {
            6 => Some(Protocol::Tcp),
            17 => Some(Protocol::Udp),
            132 => Some(Protocol::Sctp),
            _ => None,
        }
    }

    /// As `ipvsadm -L` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// What identifies a virtual service. The order is `ipvsadm -Ln`'s: by firewall mark first
/// (address services have none, so they come first), then family, protocol, address, port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ServiceKey {
    /// `virtual_server IP PORT` with `protocol`.
    Addr {
        protocol: Protocol,
        addr: IpAddr,
        port: u16,
    },
    /// `virtual_server fwmark N` (family from the real servers or `inet6`).
    Fwmark { family: Family, mark: u32 },
}

impl ServiceKey {
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    fn sort_key(&self) -> (u32, Family, u8, IpAddr, u16) {
        let unspecified = IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED);
        match *self {
            ServiceKey::Addr { protocol, addr, port } => {
                (0, Family::of(&addr), protocol.number(), addr, port)
            }
            ServiceKey::Fwmark { family, mark } => (mark, family, 0, unspecified, 0),
        }
    }
}

impl PartialOrd for ServiceKey {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ServiceKey {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.sort_key().cmp(&other.sort_key())
    }
}

impl fmt::Display for ServiceKey {
    /// keepalived's way of naming a service in logs: `[192.0.2.10]:tcp:80`, `FWM 3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr, port } => {
                write!(f, "[{addr}]:{}:{port}", protocol.name().to_ascii_lowercase())
            }
            ServiceKey::Fwmark { family, mark } => match family {
                Family::Ipv4 => write!(f, "FWM {mark}"),
                Family::Ipv6 => write!(f, "FWM {mark} IPv6"),
            },
        }
    }
}

/// IPVS schedulers (`lb_algo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Scheduler {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Lblcr,
    Dh,
    Sh,
    Sed,
    Nq,
    Fo,
    Ovf,
    Mh,
    Twos,
}

impl Scheduler {
    pub const ALL: [Scheduler; 14] = [
        Scheduler::Rr,
        Scheduler::Wrr,
        Scheduler::Lc,
        Scheduler::Wlc,
        Scheduler::Lblc,
        Scheduler::Lblcr,
        Scheduler::Dh,
        Scheduler::Sh,
        Scheduler::Sed,
        Scheduler::Nq,
        Scheduler::Fo,
        Scheduler::Ovf,
        Scheduler::Mh,
        Scheduler::Twos,
    ];

    /// The kernel's module suffix, as `lb_algo` and `ipvsadm` write it.
    pub fn name(self) -> &'static str {
        match self {
            Scheduler::Rr => "rr",
            Scheduler::Wrr => "wrr",
            Scheduler::Lc => "lc",
            Scheduler::Wlc => "wlc",
            Scheduler::Lblc => "lblc",
            Scheduler::Lblcr => "lblcr",
            Scheduler::Dh => "dh",
            Scheduler::Sh => "sh",
            Scheduler::Sed => "sed",
            Scheduler::Nq => "nq",
            Scheduler::Fo => "fo",
            Scheduler::Ovf => "ovf",
            Scheduler::Mh => "mh",
            Scheduler::Twos => "twos",
        }
    }

    pub fn from_name(name: &str) -> Option<Scheduler> {
        Scheduler::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// Service flags as IPVS defines them (`IP_VS_SVC_F_*`), without the kernel's HASHED bit.
pub mod service_flags {
    pub const PERSISTENT: u32 = 0x1;
    /// Kernel-internal: always set in dumps, never compared.
    pub const HASHED: u32 = 0x2;
    /// `ops`: one-packet scheduling (UDP).
    pub const ONE_PACKET: u32 = 0x4;
    /// `sh-fallback` / `mh-fallback` / `flag-1`.
    pub const SCHED1: u32 = 0x8;
    /// `sh-port` / `mh-port` / `flag-2`.
    pub const SCHED2: u32 = 0x10;
    /// `flag-3`.
    pub const SCHED3: u32 = 0x20;
    /// The bits a configuration controls.
    pub const CONFIGURABLE: u32 = PERSISTENT | ONE_PACKET | SCHED1 | SCHED2 | SCHED3;
}

/// A virtual service's settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Service {
    pub key: ServiceKey,
    pub scheduler: Scheduler,
    /// [`service_flags`], HASHED excluded.
    pub flags: u32,
    /// `persistence_timeout` in seconds (0 = not persistent).
    pub timeout: u32,
    /// `persistence_granularity`: an IPv4 mask (255.255.255.255 = per client) as a host-order
    /// u32, or an IPv6 prefix length — IPVS's NETMASK attribute.
    pub netmask: u32,
    /// `persistence_engine` (e.g. "sip").
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with IPVS's defaults for everything but the key and scheduler.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Service {
        let netmask = match key.family() {
            Family::Ipv4 => u32::MAX,
            Family::Ipv6 => 128,
        };
        Service {
            key,
            scheduler,
            flags: 0,
            timeout: 0,
            netmask,
            pe_name: None,
        }
    }
}

/// How packets reach a real server (`lb_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Forward {
    /// NAT.
    Masq,
    /// The real server is this machine (the kernel chooses it).
    Local,
    /// TUN.
    Tunnel,
    /// DR ("gatewaying").
    Route,
}

impl Forward {
    /// IPVS's FWD_METHOD value.
    pub fn code(self) -> u32 {
        match self {
            Forward::Masq => 0,
            Forward::Local => 1,
            Forward::Tunnel => 2,
            Forward::Route => 3,
        }
    }

    pub fn from_code(code: u32) -> Option<Forward> {
        match code & 0x7 {
            0 => Some(Forward::Masq),
            1 => Some(Forward::Local),
            2 => Some(Forward::Tunnel),
            3 => Some(Forward::Route),
            _ => None,
        }
    }

    /// As `ipvsadm -L` prints it.
    pub fn name(self) -> &'static str {
        match self {
            Forward::Masq => "Masq",
            Forward::Local => "Local",
            Forward::Tunnel => "Tunnel",
            Forward::Route => "Route",
        }
    }
}

/// Tunnel encapsulation for `Forward::Tunnel` (`tunnel_type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TunnelSpec {
    /// IPIP 0, GUE 1, GRE 2.
    pub kind: u8,
    /// GUE destination port.
    pub port: u16,
    /// NOCSUM 0, CSUM 1, REMCSUM 2.
    pub flags: u16,
}

/// A real server of a service.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DestKey {
    pub addr: IpAddr,
    pub port: u16,
}

impl fmt::Display for DestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]:{}", self.addr, self.port)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dest {
    pub key: DestKey,
    pub forward: Forward,
    /// 0 = quiescent: no new connections, existing ones go on (`inhibit_on_failure`).
    pub weight: u32,
    /// `uthreshold` (0 = no limit).
    pub upper_threshold: u32,
    /// `lthreshold`.
    pub lower_threshold: u32,
    pub tunnel: Option<TunnelSpec>,
}

impl Dest {
    pub fn new(key: DestKey, forward: Forward, weight: u32) -> Dest {
        Dest {
            key,
            forward,
            weight,
            upper_threshold: 0,
            lower_threshold: 0,
            tunnel: None,
        }
    }
}

/// A service with its destinations.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceState {
    pub service: Service,
    pub dests: BTreeMap<DestKey, Dest>,
}

/// Everything a load balancer holds (or should hold).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LbState {
    pub services: BTreeMap<ServiceKey, ServiceState>,
}

impl LbState {
    /// Adds (or replaces) a service, keeping its destinations if it existed.
    pub fn upsert_service(&mut self, service: Service) -> &mut ServiceState {
        let entry = self.services.entry(service.key).or_insert_with(|| ServiceState {
            service: service.clone(),
            dests: BTreeMap::new(),
        });
        entry.service = service;
        entry
    }

    /// Number of destinations over all services.
    pub fn dest_count(&self) -> usize {
        self.services.values().map(|s| s.dests.len()).sum()
    }
}
