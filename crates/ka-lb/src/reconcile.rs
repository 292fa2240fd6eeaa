//! Desired state vs actual state → the minimal, ordered change set.
//!
//! Minimal: one change per service or destination that differs, nothing for what is equal, so
//! a reload of 10,000 real servers that changes one weight is one change, and a health flap
//! is one destination change. Ordered so that a service never loses all its destinations on
//! the way: services are created and edited first, new destinations added and edited before
//! old ones are deleted, and services deleted last (their destinations go with them, so they
//! are not deleted one by one).
//!
//! Only what this daemon owns is touched: services in the desired state, and services it
//! created before that are no longer desired (`owned`). An operator's own services in the
//! same kernel table are left alone, as keepalived leaves them.

use crate::model::{Dest, DestKey, LbState, Service, ServiceKey};
use serde::Serialize;
use std::collections::BTreeSet;
use std::fmt;

/// One data-plane operation. Backends carry out a slice of them in order (atomically when
/// they can: nftables does, IPVS cannot).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub enum Change {
    AddService(Service),
    EditService(Service),
    DeleteService(ServiceKey),
    AddDest(ServiceKey, Dest),
    EditDest(ServiceKey, Dest),
    DeleteDest(ServiceKey, DestKey),
}

impl fmt::Display for Change {
    /// keepalived's log words where it has them ("Adding service", "Removing service").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::AddService(s) => write!(f, "add virtual service {}", s.key),
            Change::EditService(s) => write!(f, "edit virtual service {}", s.key),
            Change::DeleteService(k) => write!(f, "remove virtual service {k}"),
            Change::AddDest(k, d) => write!(f, "Adding service {} to VS {k} (weight {})", d.key, d.weight),
            Change::EditDest(k, d) => write!(f, "Setting service {} of VS {k} to weight {}", d.key, d.weight),
            Change::DeleteDest(k, d) => write!(f, "Removing service {d} from VS {k}"),
        }
    }
}

/// The changes that turn `actual` into `desired` for the services this daemon manages:
/// those in `desired` and those in `owned` (created earlier, possibly no longer desired).
pub fn reconcile(desired: &LbState, actual: &LbState, owned: &BTreeSet<ServiceKey>) -> Vec<Change> {
    let mut add_services = Vec::new();
    let mut edit_services = Vec::new();
    let mut add_dests = Vec::new();
    let mut edit_dests = Vec::new();
    let mut delete_dests = Vec::new();
    let mut delete_services = Vec::new();

    for (key, want) in &desired.services {
        match actual.services.get(key) {
            None => {
                add_services.push(Change::AddService(want.service.clone()));
                add_dests.extend(want.dests.values().map(|d| Change::AddDest(*key, d.clone())));
            }
            Some(have) => {
                if have.service != want.service {
                    edit_services.push(Change::EditService(want.service.clone()));
                }
                for (dk, d) in &want.dests {
                    match have.dests.get(dk) {
                        None => add_dests.push(Change::AddDest(*key, d.clone())),
                        Some(h) if h != d => edit_dests.push(Change::EditDest(*key, d.clone())),
                        Some(_) => {}
                    }
                }
                for dk in have.dests.keys() {
                    if !want.dests.contains_key(dk) {
                        delete_dests.push(Change::DeleteDest(*key, *dk));
                    }
                }
            }
        }
    }
    for key in owned {
        if !desired.services.contains_key(key) && actual.services.contains_key(key) {
            delete_services.push(Change::DeleteService(*key));
        }
    }

    let mut out = add_services;
    out.extend(edit_services);
    out.extend(add_dests);
    out.extend(edit_dests);
    out.extend(delete_dests);
    out.extend(delete_services);
    out
}

/// Why a change cannot be applied to a state: the kernel's answers (EEXIST, ENOENT).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    ServiceExists(ServiceKey),
    NoSuchService(ServiceKey),
    DestExists(ServiceKey, DestKey),
    NoSuchDest(ServiceKey, DestKey),
}

impl fmt::Display for ApplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApplyError::ServiceExists(k) => write!(f, "virtual service {k} already exists"),
            ApplyError::NoSuchService(k) => write!(f, "no virtual service {k}"),
            ApplyError::DestExists(k, d) => write!(f, "real server {d} already in {k}"),
            ApplyError::NoSuchDest(k, d) => write!(f, "no real server {d} in {k}"),
        }
    }
}

/// Applies one change to a state with the kernel's rules: what the fake data plane does, and
/// what the reconciler's tests check its change sets against.
pub fn apply(state: &mut LbState, change: &Change) -> Result<(), ApplyError> {
    match change {
        Change::AddService(s) => {
            if state.services.contains_key(&s.key) {
                return Err(ApplyError::ServiceExists(s.key));
            }
            state.upsert_service(s.clone());
        }
        Change::EditService(s) => {
            let have = state
                .services
                .get_mut(&s.key)
                .ok_or(ApplyError::NoSuchService(s.key))?;
            have.service = s.clone();
        }
        Change::DeleteService(k) => {
            state.services.remove(k).ok_or(ApplyError::NoSuchService(*k))?;
        }
        Change::AddDest(k, d) => {
            let have = state.services.get_mut(k).ok_or(ApplyError::NoSuchService(*k))?;
            if have.dests.contains_key(&d.key) {
                return Err(ApplyError::DestExists(*k, d.key));
            }
            have.dests.insert(d.key, d.clone());
        }
        Change::EditDest(k, d) => {
            let have = state.services.get_mut(k).ok_or(ApplyError::NoSuchService(*k))?;
            let slot = have
                .dests
                .get_mut(&d.key)
                .ok_or(ApplyError::NoSuchDest(*k, d.key))?;
            *slot = d.clone();
        }
        Change::DeleteDest(k, dk) => {
            let have = state.services.get_mut(k).ok_or(ApplyError::NoSuchService(*k))?;
            have.dests.remove(dk).ok_or(ApplyError::NoSuchDest(*k, *dk))?;
        }
    }
    Ok(())
}

/// The part of `state` this daemon manages (see [`reconcile`]): what must equal the desired
/// state once the changes are applied and read back.
pub fn managed_part(state: &LbState, desired: &LbState, owned: &BTreeSet<ServiceKey>) -> LbState {
    LbState {
        services: state
            .services
            .iter()
            .filter(|(k, _)| desired.services.contains_key(k) || owned.contains(k))
            .map(|(k, v)| (*k, v.clone()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Forward, Protocol, Scheduler};
    use std::net::{IpAddr, Ipv4Addr};

    fn vs(last: u8) -> ServiceKey {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
            port: 80,
        }
    }

    fn rs(last: u8, weight: u32) -> Dest {
        Dest::new(
            DestKey {
                addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)),
                port: 80,
            },
            Forward::Route,
            weight,
        )
    }

    fn state(services: &[(u8, &[(u8, u32)])]) -> LbState {
        let mut s = LbState::default();
        for (v, dests) in services {
            let entry = s.upsert_service(Service::new(vs(*v), Scheduler::Wrr));
            for (d, w) in *dests {
                let d = rs(*d, *w);
                entry.dests.insert(d.key, d);
            }
        }
        s
    }

    #[test]
    fn equal_states_need_nothing() {
        let s = state(&[(10, &[(1, 1), (2, 1)])]);
        assert_eq!(reconcile(&s, &s, &BTreeSet::new()), vec![]);
    }

    #[test]
    fn a_weight_change_is_one_edit() {
        let have = state(&[(10, &[(1, 1), (2, 1)])]);
        let want = state(&[(10, &[(1, 1), (2, 0)])]);
        assert_eq!(
            reconcile(&want, &have, &BTreeSet::new()),
            vec![Change::EditDest(vs(10), rs(2, 0))]
        );
    }

    #[test]
    fn additions_come_before_removals_and_services_go_last() {
        let have = state(&[(10, &[(1, 1)]), (11, &[(1, 1)])]);
        let want = state(&[(10, &[(2, 1)]), (12, &[(3, 1)])]);
        let owned: BTreeSet<ServiceKey> = [vs(10), vs(11)].into();
        let changes = reconcile(&want, &have, &owned);
        assert_eq!(
            changes,
            vec![
                Change::AddService(Service::new(vs(12), Scheduler::Wrr)),
                Change::AddDest(vs(10), rs(2, 1)),
                Change::AddDest(vs(12), rs(3, 1)),
                Change::DeleteDest(vs(10), rs(1, 1).key),
                Change::DeleteService(vs(11)),
            ]
        );
    }

    #[test]
    fn services_we_do_not_own_are_left_alone() {
        let have = state(&[(10, &[(1, 1)]), (99, &[(9, 1)])]);
        let want = state(&[(10, &[(1, 1)])]);
        assert_eq!(reconcile(&want, &have, &[vs(10)].into()), vec![]);
    }

    #[test]
    fn kernel_rules_refuse_duplicates_and_missing_entries() {
        let mut s = state(&[(10, &[(1, 1)])]);
        assert_eq!(
            apply(&mut s, &Change::AddService(Service::new(vs(10), Scheduler::Rr))),
            Err(ApplyError::ServiceExists(vs(10)))
        );
        assert_eq!(
            apply(&mut s, &Change::DeleteDest(vs(10), rs(2, 1).key)),
            Err(ApplyError::NoSuchDest(vs(10), rs(2, 1).key))
        );
        assert_eq!(
            apply(&mut s, &Change::AddDest(vs(11), rs(2, 1))),
            Err(ApplyError::NoSuchService(vs(11)))
        );
    }
}
