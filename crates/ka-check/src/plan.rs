//! What the checker engine runs, resolved from the configuration: each virtual server
//! expanded into its IPVS services (groups give several), each real server with the
//! destination settings and weights it gets, each checker with its final timing values.
//! Names used in log lines are computed here once, in keepalived's formats (`FMT_VS`,
//! `FMT_RS`).

use ka_config::lvs::checker::{Checker, CheckerKind};
use ka_config::lvs::forwarding::{Forwarding, LbKind, TunnelCsum, TunnelType};
use ka_config::lvs::group::VirtualServerGroup;
use ka_config::lvs::real_server::RealServer;
use ka_config::lvs::scheduler::LbAlgo;
use ka_config::lvs::virtual_server::{Granularity, Protocol as CfgProtocol, VirtualServer, VsKey};
use ka_config::script::Script;
use ka_lb::model::{
    service_flags, Dest, DestKey, Family, Forward, Protocol, Scheduler, Service, ServiceKey, TunnelSpec,
};
use ka_units::Micros;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The whole checker side of a configuration.
#[derive(Clone, Debug, Default)]
pub struct CheckPlan {
    pub virtual_servers: Vec<VsPlan>,
    /// `checker_log_all_failures`.
    pub log_all_failures: bool,
    /// `rs_init_notifies`: announce real servers that start up (notify_up, FIFO).
    pub rs_init_notifies: bool,
}

#[derive(Clone, Debug)]
pub struct VsPlan {
    /// keepalived's FMT_VS: `[192.0.2.10]:tcp:80`, `FWM 3`, `[group]:0`.
    pub name: String,
    /// Where the `virtual_server` block is, for messages about it.
    pub span: Option<ka_config::diag::Span>,
    /// Identity across reloads: group name + index, family + mark, or protocol + address + port.
    pub identity: String,
    /// The IPVS services this virtual server is (several for a group), with their settings.
    pub services: Vec<Service>,
    pub quorum: u32,
    pub hysteresis: u32,
    pub quorum_up: Option<Script>,
    pub quorum_down: Option<Script>,
    /// `omega`: notify scripts and FIFO lines at shutdown too.
    pub omega: bool,
    pub sorry: Option<SorryPlan>,
    pub real_servers: Vec<RsPlan>,
    /// `delay_loop` of the virtual server (MISC_CHECK's default timeout).
    pub delay_loop: Micros,
    /// `virtualhost` of the virtual server: the last fallback for HTTP's Host header and
    /// SSL_GET's SNI.
    pub virtualhost: Option<String>,
}

#[derive(Clone, Debug)]
pub struct SorryPlan {
    pub name: String,
    pub addr: IpAddr,
    pub port: u16,
    pub forward: Forward,
    pub tunnel: Option<TunnelSpec>,
    /// `sorry_server_inhibit`: kept in the table with weight 0 while not in use.
    pub inhibit: bool,
}

#[derive(Clone, Debug)]
pub struct RsPlan {
    /// keepalived's FMT_RS: `[198.51.100.1]:tcp:80` (the virtual server's protocol).
    pub name: String,
    pub addr: IpAddr,
    pub port: u16,
    pub forward: Forward,
    pub tunnel: Option<TunnelSpec>,
    /// The configured weight (keepalived's `iweight`).
    pub weight: u32,
    pub upper_threshold: u32,
    pub lower_threshold: u32,
    /// `inhibit_on_failure`: weight 0 instead of removal.
    pub inhibit: bool,
    pub notify_up: Option<Script>,
    pub notify_down: Option<Script>,
    pub checkers: Vec<CheckerPlan>,
    /// `virtualhost` of the real server: HTTP's Host header when neither the url nor the
    /// checker sets one (never SNI, as in keepalived).
    pub virtualhost: Option<String>,
}

/// One checker with everything resolved.
#[derive(Clone, Debug)]
pub struct CheckerPlan {
    pub config: Checker,
    pub retry: u32,
    pub delay_before_retry: Micros,
    pub delay_loop: Micros,
    pub warmup: Micros,
    pub connect_timeout: Micros,
    pub alpha: bool,
    pub log_all_failures: bool,
}

impl CheckerPlan {
    pub fn kind(&self) -> &CheckerKind {
        &self.config.kind
    }
}

/// IPVS's default persistence granularity.
const HOST_MASK_V4: u32 = u32::MAX;
const HOST_PREFIX_V6: u32 = 128;

/// Builds the plan from a loaded configuration.
pub fn build(config: &ka_config::config::Config) -> CheckPlan {
    let lvs = &config.lvs;
    let mut out = CheckPlan {
        virtual_servers: Vec::new(),
        log_all_failures: config.global_defs.checker_log_all_failures,
        rs_init_notifies: config.global_defs.rs_init_notifies,
    };
    for vs in &lvs.virtual_servers {
        out.virtual_servers.push(vs_plan(vs, &lvs.virtual_server_groups));
    }
    out
}

fn scheduler(algo: Option<LbAlgo>) -> Scheduler {
    algo.and_then(|a| Scheduler::from_name(a.name()))
        .unwrap_or(Scheduler::Wlc)
}

fn protocol(p: Option<CfgProtocol>) -> Protocol {
    match p {
        Some(CfgProtocol::Tcp) => Protocol::Tcp,
        Some(CfgProtocol::Sctp) => Protocol::Sctp,
        // keepalived's kernel default for address services without `protocol`.
        Some(CfgProtocol::Udp) | None => Protocol::Udp,
    }
}

fn forward(f: &Forwarding) -> (Forward, Option<TunnelSpec>) {
    match f.lvs_method {
        Some(LbKind::Dr) => (Forward::Route, None),
        Some(LbKind::Tun) => (
            Forward::Tunnel,
            Some(TunnelSpec {
                kind: match f.tunnel.tun_type {
                    TunnelType::Ipip => 0,
                    TunnelType::Gue => 1,
                    TunnelType::Gre => 2,
                },
                port: f.tunnel.port,
                flags: match f.tunnel.csum {
                    TunnelCsum::Nocsum => 0,
                    TunnelCsum::Csum => 1,
                    TunnelCsum::Remcsum => 2,
                },
            }),
        ),
        Some(LbKind::Nat) | None => (Forward::Masq, None),
    }
}

fn family_of(vs: &VirtualServer) -> Family {
    match vs.ip_family {
        Some(ka_config::lvs::addr::Family::Inet6) => Family::Ipv6,
        _ => Family::Ipv4,
    }
}

/// The IPVS settings shared by every service of a virtual server.
fn service_settings(vs: &VirtualServer, key: ServiceKey) -> Service {
    let mut s = Service::new(key, scheduler(vs.lvs_sched));
    let mut flags = 0;
    if vs.persistence_timeout_secs > 0 {
        flags |= service_flags::PERSISTENT;
    }
    if vs.ops {
        flags |= service_flags::ONE_PACKET;
    }
    if vs.sched_flags.flag_1 {
        flags |= service_flags::SCHED1;
    }
    if vs.sched_flags.flag_2 {
        flags |= service_flags::SCHED2;
    }
    if vs.sched_flags.flag_3 {
        flags |= service_flags::SCHED3;
    }
    s.flags = flags;
    s.timeout = vs.persistence_timeout_secs;
    s.netmask = match (vs.persistence_granularity, key.family()) {
        (Some(Granularity::Ipv4Mask(m)), Family::Ipv4) => u32::from(m),
        (Some(Granularity::Ipv6Prefix(p)), Family::Ipv6) => u32::from(p),
        (_, Family::Ipv4) => HOST_MASK_V4,
        (_, Family::Ipv6) => HOST_PREFIX_V6,
    };
    s.pe_name = vs.persistence_engine.clone();
    s
}

/// Every address of a group range, stepping the last octet (IPv4) or the last 16-bit group
/// (IPv6), inclusive. Bounded by the range's own width (at most 256 or 65,536 addresses).
fn range_addresses(start: IpAddr, end: IpAddr) -> Vec<IpAddr> {
    match (start, end) {
        (IpAddr::V4(s), IpAddr::V4(e)) => {
            let [a, b, c, first] = s.octets();
            let last = e.octets()[3].max(first);
            (first..=last)
                .map(|d| IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
                .collect()
        }
        (IpAddr::V6(s), IpAddr::V6(e)) => {
            let seg = s.segments();
            let last = e.segments()[7].max(seg[7]);
            (seg[7]..=last)
                .map(|x| {
                    let mut g = seg;
                    g[7] = x;
                    IpAddr::V6(Ipv6Addr::from(g))
                })
                .collect()
        }
        _ => vec![start],
    }
}

fn services_of(vs: &VirtualServer, groups: &[VirtualServerGroup]) -> Vec<Service> {
    let proto = protocol(vs.protocol);
    match &vs.key {
        VsKey::Addr { ip, port } => vec![service_settings(
            vs,
            ServiceKey::Addr {
                protocol: proto,
                addr: *ip,
                port: *port,
            },
        )],
        VsKey::Fwmark { mark } => vec![service_settings(
            vs,
            ServiceKey::Fwmark {
                family: family_of(vs),
                mark: *mark,
            },
        )],
        VsKey::Group { name, .. } => {
            let Some(g) = groups.iter().find(|g| &g.name == name) else {
                return Vec::new();
            };
            let mut out = Vec::new();
            for r in &g.addresses {
                for addr in range_addresses(r.start, r.end) {
                    out.push(service_settings(
                        vs,
                        ServiceKey::Addr {
                            protocol: proto,
                            addr,
                            port: r.port,
                        },
                    ));
                }
            }
            for m in &g.fwmarks {
                let family = match m.family {
                    Some(ka_config::lvs::addr::Family::Inet6) => Family::Ipv6,
                    Some(ka_config::lvs::addr::Family::Inet) => Family::Ipv4,
                    None => family_of(vs),
                };
                out.push(service_settings(
                    vs,
                    ServiceKey::Fwmark {
                        family,
                        mark: m.fwmark,
                    },
                ));
            }
            out
        }
    }
}

fn vs_plan(vs: &VirtualServer, groups: &[VirtualServerGroup]) -> VsPlan {
    let identity = match &vs.key {
        VsKey::Group { name, seq } => format!("group {name} {seq}"),
        VsKey::Fwmark { mark } => format!("fwmark {:?} {mark}", family_of(vs)),
        VsKey::Addr { ip, port } => format!("{:?} {ip} {port}", protocol(vs.protocol)),
    };
    let sorry = vs.sorry_server.as_ref().map(|s| {
        let (forward, tunnel) = forward(&s.forwarding);
        SorryPlan {
            name: vs.describe_server(&s.ip, s.port),
            addr: s.ip,
            port: s.port,
            forward,
            tunnel,
            inhibit: s.inhibit,
        }
    });
    VsPlan {
        name: vs.describe(),
        span: vs.span.clone(),
        identity,
        services: services_of(vs, groups),
        quorum: vs.quorum,
        hysteresis: vs.hysteresis,
        quorum_up: vs.quorum_up.clone(),
        quorum_down: vs.quorum_down.clone(),
        omega: vs.omega,
        sorry,
        real_servers: vs.real_servers.iter().map(|rs| rs_plan(vs, rs)).collect(),
        delay_loop: vs.delay_loop,
        virtualhost: vs.virtualhost.clone(),
    }
}

fn rs_plan(vs: &VirtualServer, rs: &RealServer) -> RsPlan {
    let (forward, tunnel) = forward(&rs.forwarding);
    let rs_delay_loop = rs.delay_loop.unwrap_or(vs.delay_loop);
    let checkers = rs
        .checkers
        .iter()
        .map(|c| {
            let delay_loop = c.common.delay_loop.unwrap_or(rs_delay_loop);
            let retry = c
                .common
                .retry
                .or(rs.retry)
                .or(vs.retry)
                .unwrap_or_else(|| c.kind.default_retry());
            let delay_before_retry = c
                .common
                .delay_before_retry
                .or(rs.delay_before_retry)
                .or(vs.delay_before_retry)
                .or_else(|| c.kind.default_delay_before_retry())
                .unwrap_or(delay_loop);
            let warmup = c.common.warmup.or(rs.warmup).or(vs.warmup).unwrap_or(delay_loop);
            let connect_timeout = c
                .common
                .conn
                .as_ref()
                .and_then(|o| o.connect_timeout)
                .or(rs.connect_timeout)
                .unwrap_or(vs.connect_timeout);
            let alpha = match c.kind {
                CheckerKind::File(_) => false,
                _ => c.common.alpha.or(rs.alpha).unwrap_or(vs.alpha),
            };
            CheckerPlan {
                config: c.clone(),
                retry,
                delay_before_retry,
                delay_loop,
                warmup,
                connect_timeout,
                alpha,
                log_all_failures: c.common.log_all_failures,
            }
        })
        .collect();
    RsPlan {
        name: vs.describe_server(&rs.ip, rs.port),
        addr: rs.ip,
        port: rs.port,
        forward,
        tunnel,
        weight: rs.weight.unwrap_or(vs.weight),
        upper_threshold: rs.uthreshold,
        lower_threshold: rs.lthreshold,
        inhibit: rs.inhibit_on_failure.unwrap_or(vs.inhibit_on_failure),
        notify_up: rs.notify_up.clone(),
        notify_down: rs.notify_down.clone(),
        checkers,
        virtualhost: rs.virtualhost.clone(),
    }
}

impl RsPlan {
    /// The destination this real server is in `service` with `weight`: NAT keeps the real
    /// server's port, DR and TUN use the service's (0 for a firewall-mark service).
    pub fn dest_in(&self, service: &ServiceKey, weight: u32) -> Dest {
        let port = dest_port(self.forward, self.port, service);
        let mut d = Dest::new(
            DestKey {
                addr: self.addr,
                port,
            },
            self.forward,
            weight,
        );
        d.upper_threshold = self.upper_threshold;
        d.lower_threshold = self.lower_threshold;
        d.tunnel = self.tunnel;
        d
    }
}

impl SorryPlan {
    pub fn dest_in(&self, service: &ServiceKey, weight: u32) -> Dest {
        let port = dest_port(self.forward, self.port, service);
        let mut d = Dest::new(
            DestKey {
                addr: self.addr,
                port,
            },
            self.forward,
            weight,
        );
        d.tunnel = self.tunnel;
        d
    }
}

fn dest_port(forward: Forward, own_port: u16, service: &ServiceKey) -> u16 {
    match (forward, service) {
        (Forward::Masq, _) => own_port,
        (_, ServiceKey::Addr { port, .. }) => *port,
        (_, ServiceKey::Fwmark { .. }) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> CheckPlan {
        build(&ka_config::load_str(text).config)
    }

    #[test]
    fn the_seed_virtual_server_resolves_with_keepalived_defaults() {
        let p = plan(
            "virtual_server 192.0.2.100 80 {\n delay_loop 6\n lb_algo lc\n lb_kind DR\n persistence_timeout 50\n protocol TCP\n real_server 198.51.100.21 80 {\n  weight 1\n  TCP_CHECK {\n   connect_timeout 3\n   nb_get_retry 3\n   delay_before_retry 3\n   connect_port 80\n  }\n }\n}\n",
        );
        let vs = &p.virtual_servers[0];
        assert_eq!(vs.name, "[192.0.2.100]:tcp:80");
        let svc = &vs.services[0];
        assert_eq!(svc.scheduler, Scheduler::Lc);
        assert_eq!(svc.timeout, 50);
        assert_eq!(svc.flags, service_flags::PERSISTENT);
        assert_eq!(svc.netmask, u32::MAX);
        let rs = &vs.real_servers[0];
        assert_eq!(rs.forward, Forward::Route);
        let c = &rs.checkers[0];
        assert_eq!(c.delay_loop, Micros::from_secs(6));
        assert_eq!(c.connect_timeout, Micros::from_secs(3));
        assert_eq!(c.delay_before_retry, Micros::from_secs(3));
        // `nb_get_retry` is not a TCP_CHECK keyword in 2.2.7 (reported, ignored): default 1.
        assert_eq!(c.retry, 1);
        assert_eq!(c.warmup, Micros::from_secs(6));
        assert_eq!(rs.dest_in(&svc.key, 1).key.port, 80);
    }

    #[test]
    fn groups_expand_ranges_and_fwmarks() {
        let p = plan(
            "virtual_server_group G {\n 192.0.2.1-3 80\n fwmark 7\n}\nvirtual_server group G {\n protocol TCP\n lb_kind DR\n real_server 198.51.100.1 8080 {\n  TCP_CHECK {\n  }\n }\n}\n",
        );
        let vs = &p.virtual_servers[0];
        assert_eq!(vs.services.len(), 4);
        assert_eq!(vs.name, "[G]:0");
        // DR: the destination port is the service's, 0 for the fwmark service.
        let rs = &vs.real_servers[0];
        assert_eq!(rs.dest_in(&vs.services[0].key, 1).key.port, 80);
        assert_eq!(rs.dest_in(&vs.services[3].key, 1).key.port, 0);
    }
}
