//! What the nftables data plane can reproduce, and the documented fallback for what it
//! cannot.
//!
//! nftables decides statelessly: a counter or a hash of the packet indexes a table we
//! computed. Schedulers that look at live connection counts (lc, wlc, sed, nq, ovf, twos,
//! lblc, lblcr) cannot be reproduced. `-t` and the daemon call [`supports`] and refuse such a
//! service on this backend, naming the nearest scheduler that works; an operator who accepts
//! the difference opts into [`UnsupportedPolicy::Nearest`], which programs that nearest
//! scheduler instead (the configured one is still what is read back).

use ka_lb::model::ServiceState;
use ka_lb::{Dest, Forward, LbState, Scheduler, Service, ServiceKey};
use std::fmt;

use ka_lb::model::service_flags;

/// Why a service (or one of its real servers) cannot be programmed on nftables.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub service: ServiceKey,
    /// What cannot be done, in the operator's terms.
    pub message: String,
    /// The nearest supported scheduler, when the problem is the scheduler.
    pub nearest: Option<Scheduler>,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "virtual server {}: {}", self.service, self.message)
    }
}

impl std::error::Error for Unsupported {}

/// What to do with a scheduler nftables cannot reproduce.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnsupportedPolicy {
    /// Refuse the service (the default: a silent change of scheduling is a surprise).
    #[default]
    Refuse,
    /// Program [`nearest`]'s scheduler instead (stateless), and read back the configured one.
    Nearest,
}

/// The supported scheduler closest to an unsupported one (`None` if it is supported):
/// lc ignores weights (but 0) → rr; the weighted least-connection family → wrr; ovf
/// (highest weight until overloaded) → fo; the locality-based ones → dh (same destination
/// address, same server).
pub fn nearest(s: Scheduler) -> Option<Scheduler> {
    match s {
        Scheduler::Rr | Scheduler::Wrr | Scheduler::Sh | Scheduler::Dh | Scheduler::Mh | Scheduler::Fo => {
            None
        }
        Scheduler::Lc => Some(Scheduler::Rr),
        Scheduler::Wlc | Scheduler::Sed | Scheduler::Nq | Scheduler::Twos => Some(Scheduler::Wrr),
        Scheduler::Ovf => Some(Scheduler::Fo),
        Scheduler::Lblc | Scheduler::Lblcr => Some(Scheduler::Dh),
    }
}

/// Whether the nftables backend can program this service as IPVS would (see the crate
/// documentation's table). Schedulers, flags and the persistence engine are checked here;
/// [`supports_dest`] checks real servers.
pub fn supports(service: &Service) -> Result<(), Unsupported> {
    let refuse = |message: String, nearest: Option<Scheduler>| {
        Err(Unsupported {
            service: service.key,
            message,
            nearest,
        })
    };
    if let Some(alt) = nearest(service.scheduler) {
        return refuse(
            format!(
                "lb_algo {} needs live connection counts, which the nftables data plane does not have; \
                 use lb_algo {} (nearest stateless equivalent), or allow the fallback to it",
                service.scheduler.name(),
                alt.name()
            ),
            Some(alt),
        );
    }
    if let Some(pe) = &service.pe_name {
        return refuse(
            format!(
                "persistence_engine {pe} is not available on nftables; remove it (plain persistence works)"
            ),
            None,
        );
    }
    if service.flags & service_flags::ONE_PACKET != 0 {
        return refuse(
            "one-packet scheduling (ops) is not available on nftables; remove `ops`".to_string(),
            None,
        );
    }
    Ok(())
}

/// Whether a real server can be programmed: NAT (masq) and DR (route) can; tunnelling needs
/// IPIP/GUE (not done yet), and thresholds need connection counts.
pub fn supports_dest(service: &ServiceKey, dest: &Dest) -> Result<(), Unsupported> {
    let refuse = |message: String| {
        Err(Unsupported {
            service: *service,
            message,
            nearest: None,
        })
    };
    match dest.forward {
        Forward::Masq | Forward::Route => {}
        Forward::Tunnel => {
            return refuse(format!(
                "real server {}: lb_kind TUN is not available on nftables; use NAT or DR",
                dest.key
            ))
        }
        Forward::Local => {
            return refuse(format!(
                "real server {}: a local real server is not available on nftables",
                dest.key
            ))
        }
    }
    if dest.upper_threshold != 0 || dest.lower_threshold != 0 {
        return refuse(format!(
            "real server {}: uthreshold/lthreshold need connection counts, which nftables does not have; remove them",
            dest.key
        ));
    }
    if dest.forward == Forward::Masq && dest.key.port == 0 && matches!(service, ServiceKey::Addr { .. }) {
        return refuse(format!("real server {}: NAT needs a port", dest.key));
    }
    if let ServiceKey::Fwmark { .. } = service {
        if dest.forward == Forward::Route {
            return refuse(format!(
                "real server {}: fwmark services cannot use DR on nftables (the netdev hook sees no mark); use NAT",
                dest.key
            ));
        }
        if dest.key.port != 0 {
            return refuse(format!(
                "real server {}: a fwmark service keeps each packet's port on nftables; give the real server port 0",
                dest.key
            ));
        }
    }
    Ok(())
}

/// Every problem of one service under `policy` (a scheduler covered by the fallback is not
/// a problem), including a mix of NAT and DR real servers.
pub fn check_service(svc: &ServiceState, policy: UnsupportedPolicy) -> Vec<Unsupported> {
    let mut out = Vec::new();
    if let Err(e) = supports(&svc.service) {
        if !(policy == UnsupportedPolicy::Nearest && e.nearest.is_some()) {
            out.push(e);
        }
    }
    let mut forwards: Vec<Forward> = svc.dests.values().map(|d| d.forward).collect();
    forwards.sort();
    forwards.dedup();
    if forwards.len() > 1 {
        out.push(Unsupported {
            service: svc.service.key,
            message: "real servers of one virtual server must all use NAT or all use DR on nftables"
                .to_string(),
            nearest: None,
        });
    }
    for d in svc.dests.values() {
        if let Err(e) = supports_dest(&svc.service.key, d) {
            out.push(e);
        }
    }
    out
}

/// Every problem in a whole state under `policy`.
pub fn check_state(state: &LbState, policy: UnsupportedPolicy) -> Vec<Unsupported> {
    state
        .services
        .values()
        .flat_map(|svc| check_service(svc, policy))
        .collect()
}

/// The scheduler programmed for a service under `policy`.
pub fn effective_scheduler(service: &Service, policy: UnsupportedPolicy) -> Result<Scheduler, Unsupported> {
    match supports(service) {
        Ok(()) => Ok(service.scheduler),
        Err(e) => match (policy, e.nearest) {
            (UnsupportedPolicy::Nearest, Some(alt)) => Ok(alt),
            _ => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ka_lb::{DestKey, Protocol};
    use std::net::{IpAddr, Ipv4Addr};

    fn svc(s: Scheduler) -> Service {
        Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Tcp,
                addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)),
                port: 80,
            },
            s,
        )
    }

    #[test]
    fn stateless_schedulers_are_supported_and_the_others_name_an_alternative() {
        for s in Scheduler::ALL {
            let r = supports(&svc(s));
            assert_eq!(r.is_ok(), nearest(s).is_none(), "{}", s.name());
        }
        let e = supports(&svc(Scheduler::Wlc)).unwrap_err();
        assert_eq!(e.nearest, Some(Scheduler::Wrr));
        assert!(e.to_string().contains("use lb_algo wrr"), "{e}");
        assert_eq!(
            effective_scheduler(&svc(Scheduler::Lblc), UnsupportedPolicy::Nearest),
            Ok(Scheduler::Dh)
        );
        assert!(effective_scheduler(&svc(Scheduler::Lc), UnsupportedPolicy::Refuse).is_err());
    }

    #[test]
    fn tunnels_thresholds_and_mixed_forwarding_are_refused() {
        let mut st = LbState::default();
        let s = st.upsert_service(svc(Scheduler::Rr));
        let mut a = Dest::new(
            DestKey {
                addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1)),
                port: 80,
            },
            Forward::Masq,
            1,
        );
        s.dests.insert(a.key, a.clone());
        assert!(check_state(&st, UnsupportedPolicy::Refuse).is_empty());
        a.key.addr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));
        a.forward = Forward::Route;
        a.upper_threshold = 10;
        st.services.values_mut().for_each(|s| {
            s.dests.insert(a.key, a.clone());
        });
        let problems = check_state(&st, UnsupportedPolicy::Refuse);
        assert_eq!(problems.len(), 2, "{problems:?}");
    }
}
