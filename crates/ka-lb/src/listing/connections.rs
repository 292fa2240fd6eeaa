//! ActiveConn and InActConn for a data plane without IPVS (nftables NAT), from the
//! kernel's connection tracking: the counts IPVS keeps per real server, recomputed from the
//! connections conntrack holds.
//!
//! A connection belongs to a real server of an address service when the client asked for
//! the service's VIP, protocol and port (the original direction's destination) and the real
//! server answers (the reply direction's source). Firewall-mark services have no VIP: a
//! connection whose destination was translated to one of their real servers belongs to the
//! service whose mark the connection carries (when the marking rules save it in `ct mark`),
//! else to the first such service in listing order. IPVS's split is kept: ESTABLISHED TCP
//! (and SCTP) connections are active, every other one (opening, closing, TIME_WAIT, UDP) is
//! inactive.

use super::ListedService;
use crate::model::{Family, Protocol, ServiceKey};
use std::collections::HashMap;
use std::net::IpAddr;

/// What a listing needs of one tracked connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrackedConnection {
    pub protocol: Protocol,
    /// Where the client sent it (a VIP and port, before translation).
    pub original_dst: (IpAddr, u16),
    /// Who answers it (the real server, after translation).
    pub reply_src: (IpAddr, u16),
    /// The connection's mark (`ct mark`); 0 when none was set.
    pub mark: u32,
    /// TCP or SCTP in the ESTABLISHED state.
    pub established: bool,
}

/// Counts connections into the real servers of a listing. Built once (indexes over the
/// services), fed every tracked connection, then [`ConnectionCounter::finish`]ed.
#[derive(Debug)]
pub struct ConnectionCounter {
    /// (protocol, VIP, port) → index of the address service.
    by_vip: HashMap<(Protocol, IpAddr, u16), usize>,
    /// (service index, real server address, port) → index of the real server.
    by_dest: HashMap<(usize, IpAddr, u16), usize>,
    /// Firewall-mark services in listing order: (index, family, mark).
    fwmark_services: Vec<(usize, Family, u32)>,
    /// (service index, real server index) → (active, inactive).
    counts: HashMap<(usize, usize), (u32, u32)>,
}

impl ConnectionCounter {
    pub fn new(services: &[ListedService]) -> ConnectionCounter {
        let mut by_vip = HashMap::new();
        let mut by_dest = HashMap::new();
        let mut fwmark_services = Vec::new();
        for (si, s) in services.iter().enumerate() {
            match s.key {
                ServiceKey::Addr { protocol, addr, port } => {
                    by_vip.insert((protocol, addr, port), si);
                }
                ServiceKey::Fwmark { family, mark } => fwmark_services.push((si, family, mark)),
            }
            for (di, d) in s.dests.iter().enumerate() {
                by_dest.insert((si, d.dest.key.addr, d.dest.key.port), di);
            }
        }
        ConnectionCounter {
            by_vip,
            by_dest,
            fwmark_services,
            counts: HashMap::new(),
        }
    }

    /// The real server (service index, real server index) a connection belongs to.
    fn owner(&self, c: &TrackedConnection) -> Option<(usize, usize)> {
        let (rs_addr, rs_port) = c.reply_src;
        if let Some(&si) = self.by_vip.get(&(c.protocol, c.original_dst.0, c.original_dst.1)) {
            if let Some(&di) = self.by_dest.get(&(si, rs_addr, rs_port)) {
                return Some((si, di));
            }
        }
        // Not translated: a connection to the real server itself (a health check), which
        // IPVS would not see either.
        if c.original_dst == c.reply_src {
            return None;
        }
        let family = Family::of(&rs_addr);
        // A firewall-mark real server has port 0 (the client's port is kept) or a port.
        let dest_in = |si: usize| {
            self.by_dest
                .get(&(si, rs_addr, 0))
                .or_else(|| self.by_dest.get(&(si, rs_addr, rs_port)))
                .map(|&di| (si, di))
        };
        let candidates = self.fwmark_services.iter().filter(|(_, f, _)| *f == family);
        let marked = candidates
            .clone()
            .filter(|(_, _, mark)| c.mark != 0 && *mark == c.mark)
            .find_map(|(si, _, _)| dest_in(*si));
        marked.or_else(|| candidates.clone().find_map(|(si, _, _)| dest_in(*si)))
    }

    pub fn add(&mut self, c: &TrackedConnection) {
        if let Some(owner) = self.owner(c) {
            let entry = self.counts.entry(owner).or_insert((0, 0));
            if c.established {
                entry.0 = entry.0.saturating_add(1);
            } else {
                entry.1 = entry.1.saturating_add(1);
            }
        }
    }

    /// Writes the counts into the listing the counter was built from.
    pub fn finish(self, services: &mut [ListedService]) {
        for ((si, di), (active, inactive)) in self.counts {
            if let Some(d) = services.get_mut(si).and_then(|s| s.dests.get_mut(di)) {
                d.active_conns = active;
                d.inactive_conns = inactive;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listing::ListedDest;
    use crate::model::{Dest, DestKey, Forward, Scheduler, Service, ServiceState};
    use std::collections::BTreeMap;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn service(key: ServiceKey, dests: &[(&str, u16)]) -> ListedService {
        let state = ServiceState {
            service: Service::new(key, Scheduler::Rr),
            dests: BTreeMap::new(),
        };
        let mut s = ListedService::idle(&state);
        s.dests = dests
            .iter()
            .map(|(a, p)| {
                ListedDest::idle(Dest::new(
                    DestKey {
                        addr: ip(a),
                        port: *p,
                    },
                    Forward::Masq,
                    1,
                ))
            })
            .collect();
        s
    }

    fn conn(
        proto: Protocol,
        dst: (&str, u16),
        rs: (&str, u16),
        mark: u32,
        established: bool,
    ) -> TrackedConnection {
        TrackedConnection {
            protocol: proto,
            original_dst: (ip(dst.0), dst.1),
            reply_src: (ip(rs.0), rs.1),
            mark,
            established,
        }
    }

    fn counts(services: &[ListedService]) -> Vec<Vec<(u32, u32)>> {
        services
            .iter()
            .map(|s| {
                s.dests
                    .iter()
                    .map(|d| (d.active_conns, d.inactive_conns))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn address_services_count_by_vip_and_real_server() {
        let web = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: ip("192.0.2.10"),
            port: 80,
        };
        let dns = ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: ip("192.0.2.10"),
            port: 53,
        };
        let mut services = vec![
            service(web, &[("198.51.100.1", 80), ("198.51.100.2", 8080)]),
            service(dns, &[("198.51.100.1", 53)]),
        ];
        let mut counter = ConnectionCounter::new(&services);
        for c in [
            conn(Protocol::Tcp, ("192.0.2.10", 80), ("198.51.100.1", 80), 0, true),
            conn(Protocol::Tcp, ("192.0.2.10", 80), ("198.51.100.1", 80), 0, true),
            conn(Protocol::Tcp, ("192.0.2.10", 80), ("198.51.100.1", 80), 0, false),
            conn(
                Protocol::Tcp,
                ("192.0.2.10", 80),
                ("198.51.100.2", 8080),
                0,
                false,
            ),
            conn(Protocol::Udp, ("192.0.2.10", 53), ("198.51.100.1", 53), 0, false),
            // A health check straight to the real server: not through the service.
            conn(Protocol::Tcp, ("198.51.100.1", 80), ("198.51.100.1", 80), 0, true),
            // Another VIP, another protocol: not ours.
            conn(Protocol::Tcp, ("192.0.2.11", 80), ("198.51.100.1", 80), 0, true),
            conn(Protocol::Udp, ("192.0.2.10", 80), ("198.51.100.1", 80), 0, false),
        ] {
            counter.add(&c);
        }
        counter.finish(&mut services);
        assert_eq!(counts(&services), vec![vec![(2, 1), (0, 1)], vec![(0, 1)]]);
    }

    #[test]
    fn firewall_mark_services_by_mark_then_by_real_server() {
        let fwm = |mark| ServiceKey::Fwmark {
            family: Family::Ipv4,
            mark,
        };
        let mut services = vec![
            service(fwm(1), &[("198.51.100.1", 0)]),
            service(fwm(2), &[("198.51.100.1", 0), ("198.51.100.2", 0)]),
            service(
                ServiceKey::Fwmark {
                    family: Family::Ipv6,
                    mark: 1,
                },
                &[("2001:db8::1", 0)],
            ),
        ];
        let mut counter = ConnectionCounter::new(&services);
        for c in [
            // Unmarked: the first service with that real server.
            conn(Protocol::Tcp, ("192.0.2.20", 443), ("198.51.100.1", 443), 0, true),
            // Marked 2: that service.
            conn(Protocol::Tcp, ("192.0.2.20", 443), ("198.51.100.1", 443), 2, true),
            conn(Protocol::Udp, ("192.0.2.21", 53), ("198.51.100.2", 53), 0, false),
            conn(Protocol::Tcp, ("2001:db8::20", 80), ("2001:db8::1", 80), 0, false),
            // Not translated.
            conn(
                Protocol::Tcp,
                ("198.51.100.1", 443),
                ("198.51.100.1", 443),
                1,
                true,
            ),
        ] {
            counter.add(&c);
        }
        counter.finish(&mut services);
        assert_eq!(
            counts(&services),
            vec![vec![(1, 0)], vec![(1, 0), (0, 1)], vec![(0, 1)]]
        );
    }
}
