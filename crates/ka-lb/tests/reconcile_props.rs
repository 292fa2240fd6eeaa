//! The reconciler's promises, over random pairs of states: applying its change set to the
//! actual state with the kernel's rules never fails and yields the desired state (for what
//! this daemon owns, leaving the rest alone), and the set is minimal: one change per
//! service or destination that differs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_lb::model::*;
use ka_lb::reconcile::{apply, managed_part, reconcile, Change};
use proptest::prelude::*;
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};

fn key(v: u8) -> ServiceKey {
    if v % 5 == 4 {
        ServiceKey::Fwmark {
            family: Family::Ipv4,
            mark: u32::from(v),
        }
    } else {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, v)),
            port: 80,
        }
    }
}

/// A small universe (8 services × 6 real servers, 3 weights, 2 schedulers) so that random
/// states overlap a lot.
fn lb_state() -> impl Strategy<Value = LbState> {
    proptest::collection::btree_map(
        0u8..8,
        (
            any::<bool>(),
            proptest::collection::btree_map(0u8..6, 0u32..3, 0..6),
        ),
        0..8,
    )
    .prop_map(|services| {
        let mut s = LbState::default();
        for (v, (wrr, dests)) in services {
            let sched = if wrr { Scheduler::Wrr } else { Scheduler::Rr };
            let entry = s.upsert_service(Service::new(key(v), sched));
            for (d, w) in dests {
                let dk = DestKey {
                    addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, d)),
                    port: 80,
                };
                entry.dests.insert(dk, Dest::new(dk, Forward::Route, w));
            }
        }
        s
    })
}

/// How many services and destinations differ between the managed parts.
fn differences(want: &LbState, have: &LbState, owned: &BTreeSet<ServiceKey>) -> usize {
    let mut n = 0;
    for (k, w) in &want.services {
        match have.services.get(k) {
            None => n += 1 + w.dests.len(),
            Some(h) => {
                n += usize::from(h.service != w.service);
                n += w
                    .dests
                    .iter()
                    .filter(|(dk, d)| h.dests.get(dk) != Some(d))
                    .count();
                n += h.dests.keys().filter(|dk| !w.dests.contains_key(dk)).count();
            }
        }
    }
    n + owned
        .iter()
        .filter(|k| !want.services.contains_key(k) && have.services.contains_key(k))
        .count()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn changes_apply_cleanly_reach_the_desired_state_and_are_minimal(
        desired in lb_state(),
        actual in lb_state(),
        owned_bits in any::<u8>(),
    ) {
        let owned: BTreeSet<ServiceKey> = (0u8..8).filter(|v| owned_bits & (1 << v) != 0).map(key).collect();
        let changes = reconcile(&desired, &actual, &owned);
        let mut state = actual.clone();
        for c in &changes {
            apply(&mut state, c).map_err(|e| TestCaseError::fail(format!("{c}: {e}")))?;
        }
        prop_assert_eq!(
            managed_part(&state, &desired, &owned),
            managed_part(&desired, &desired, &owned)
        );
        // What we do not own is untouched.
        for (k, v) in &actual.services {
            if !desired.services.contains_key(k) && !owned.contains(k) {
                prop_assert_eq!(state.services.get(k), Some(v));
            }
        }
        prop_assert_eq!(changes.len(), differences(&desired, &actual, &owned));
        // A service being deleted never has its destinations deleted one by one.
        for c in &changes {
            if let Change::DeleteDest(k, _) = c {
                prop_assert!(desired.services.contains_key(k));
            }
        }
        // And reconciling again finds nothing left to do.
        prop_assert!(reconcile(&desired, &state, &owned).is_empty());
    }
}
