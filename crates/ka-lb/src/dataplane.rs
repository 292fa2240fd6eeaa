//! The data-plane boundary: one trait for IPVS, nftables and the in-memory fake, and the
//! synchronisation policy that drives any of them.
//!
//! The policy ([`Syncer`]) is sans-IO: the driver reads the data plane, asks the syncer for
//! the changes, applies them, reads back and reports; the syncer decides whether the data
//! plane now holds what is desired and, if not, when to try again. The daemon never believes
//! a state it has not read back: a write that "succeeded" but left something else behind is
//! retried like a failed one.

use crate::model::{LbState, ServiceKey};
use crate::reconcile::{self, Change};
use ka_units::{Instant, Micros};
use std::collections::BTreeSet;
use std::fmt;

/// A data-plane failure, with the change it happened at when known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataplaneError {
    pub message: String,
    /// Index in the applied slice of the change that failed.
    pub change: Option<usize>,
}

impl DataplaneError {
    pub fn new(message: impl Into<String>) -> DataplaneError {
        DataplaneError {
            message: message.into(),
            change: None,
        }
    }
}

impl fmt::Display for DataplaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.change {
            Some(i) => write!(f, "change {}: {}", i + 1, self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// A load-balancer data plane. Calls may block (netlink, a child process); the daemon runs
/// them on a thread of their own.
pub trait Dataplane {
    /// "ipvs", "nftables", "fake".
    fn name(&self) -> &'static str;
    /// Every service and destination the data plane holds now.
    fn read(&mut self) -> Result<LbState, DataplaneError>;
    /// Carries out `changes` in order. Atomic where the backend can be (all or nothing).
    fn apply(&mut self, changes: &[Change]) -> Result<(), DataplaneError>;
    /// At stop, once none of our services remain: removes whatever else the backend made
    /// (nftables: our now empty tables), so that a stopped daemon leaves nothing behind.
    fn release(&mut self) -> Result<(), DataplaneError> {
        Ok(())
    }
}

/// The in-memory data plane for tests: the kernel's rules (no duplicate, no missing entry),
/// with failures that can be injected.
#[derive(Debug, Default)]
pub struct FakeDataplane {
    pub state: LbState,
    /// Every successful `apply`, in order.
    pub batches: Vec<Vec<Change>>,
    /// The next this-many `apply` calls fail before changing anything.
    pub fail_next: u32,
    /// The next this-many `apply` calls report success but change nothing (a lying backend).
    pub drop_next: u32,
    pub reads: u32,
}

impl Dataplane for FakeDataplane {
    fn name(&self) -> &'static str {
        "fake"
    }

    fn read(&mut self) -> Result<LbState, DataplaneError> {
        self.reads += 1;
        Ok(self.state.clone())
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), DataplaneError> {
        if self.fail_next > 0 {
            self.fail_next -= 1;
            return Err(DataplaneError::new("injected failure"));
        }
        if self.drop_next > 0 {
            self.drop_next -= 1;
            return Ok(());
        }
        // All or nothing, like an nftables transaction.
        let mut next = self.state.clone();
        for (i, c) in changes.iter().enumerate() {
            reconcile::apply(&mut next, c).map_err(|e| DataplaneError {
                message: e.to_string(),
                change: Some(i),
            })?;
        }
        self.state = next;
        self.batches.push(changes.to_vec());
        Ok(())
    }
}

/// What the syncer concluded from a read-back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncStatus {
    /// The data plane holds the desired state.
    InSync,
    /// It does not (the write failed or did not stick): try again at this time.
    RetryAt { at: Instant, failures: u32, why: String },
}

/// First retry after a failure; doubled per consecutive failure up to [`MAX_RETRY`].
pub const FIRST_RETRY: Micros = Micros(100_000);
pub const MAX_RETRY: Micros = Micros(10_000_000);

/// Keeps a data plane at the desired state: see the module documentation.
#[derive(Debug, Default)]
pub struct Syncer {
    desired: LbState,
    /// Services this daemon created or manages (so removed ones are deleted, and only them).
    owned: BTreeSet<ServiceKey>,
    /// The last state read back from the data plane.
    believed: Option<LbState>,
    failures: u32,
    retry_at: Option<Instant>,
    dirty: bool,
}

impl Syncer {
    pub fn new() -> Syncer {
        Syncer::default()
    }

    /// A new desired state (configuration loaded or a health verdict changed).
    pub fn set_desired(&mut self, desired: LbState) {
        self.owned.extend(desired.services.keys().copied());
        if desired != self.desired {
            self.desired = desired;
            self.dirty = true;
        }
    }

    pub fn desired(&self) -> &LbState {
        &self.desired
    }

    /// Services this daemon manages, including removed ones not yet deleted.
    pub fn owned(&self) -> &BTreeSet<ServiceKey> {
        &self.owned
    }

    /// Whether the driver should sync now: the desired state changed, or a retry is due.
    pub fn wants_sync(&self, now: Instant) -> bool {
        self.dirty || self.retry_at.is_some_and(|t| t <= now)
    }

    /// When a retry is due, for the driver's timer.
    pub fn deadline(&self) -> Option<Instant> {
        self.retry_at
    }

    /// The changes to make, from the last read-back (`None`: read the data plane first and
    /// call [`Syncer::plan_from`]).
    pub fn plan(&self) -> Option<Vec<Change>> {
        self.believed
            .as_ref()
            .map(|actual| reconcile::reconcile(&self.desired, actual, &self.owned))
    }

    /// The changes to make from a fresh read of the data plane.
    pub fn plan_from(&mut self, mut actual: LbState) -> Vec<Change> {
        normalize(&mut actual, &self.desired);
        let changes = reconcile::reconcile(&self.desired, &actual, &self.owned);
        self.believed = Some(actual);
        changes
    }

    /// Reports how the apply went and what was read back afterwards (`None` if the read
    /// failed). Services deleted and confirmed gone stop being owned.
    pub fn applied(
        &mut self,
        result: Result<(), DataplaneError>,
        read_back: Option<LbState>,
        now: Instant,
    ) -> SyncStatus {
        self.dirty = false;
        let mut read_back = read_back;
        if let Some(actual) = read_back.as_mut() {
            normalize(actual, &self.desired);
        }
        let why = match (&result, &read_back) {
            (Err(e), _) => Some(format!("data plane write failed: {e}")),
            (Ok(()), None) => Some("data plane could not be read back".to_string()),
            (Ok(()), Some(actual)) => {
                let have = reconcile::managed_part(actual, &self.desired, &self.owned);
                let want = reconcile::managed_part(&self.desired, &self.desired, &self.owned);
                if have == want {
                    None
                } else {
                    let left = reconcile::reconcile(&self.desired, actual, &self.owned);
                    Some(format!(
                        "data plane read back differs from what was written ({} change(s) missing, first: {})",
                        left.len(),
                        left.first().map(|c| c.to_string()).unwrap_or_default()
                    ))
                }
            }
        };
        if let Some(actual) = read_back {
            self.owned
                .retain(|k| self.desired.services.contains_key(k) || actual.services.contains_key(k));
            self.believed = Some(actual);
        } else {
            self.believed = None;
        }
        match why {
            None => {
                self.failures = 0;
                self.retry_at = None;
                SyncStatus::InSync
            }
            Some(why) => {
                self.failures = self.failures.saturating_add(1);
                let shift = (self.failures - 1).min(20);
                let wait = Micros(FIRST_RETRY.0.saturating_mul(1 << shift).min(MAX_RETRY.0));
                let at = now + wait;
                self.retry_at = Some(at);
                // A failed write leaves the state unknown: read it again before planning.
                if result.is_err() {
                    self.believed = None;
                }
                SyncStatus::RetryAt {
                    at,
                    failures: self.failures,
                    why,
                }
            }
        }
    }
}

/// What the kernel reports differently from what it was given, for reasons of its own, is
/// read as what was given: IPVS turns the forwarding method of a real server whose address
/// is on this machine into `Local` (the packets are delivered locally whatever the method).
/// Without this the syncer would "correct" it forever.
fn normalize(actual: &mut LbState, desired: &LbState) {
    for (key, have) in actual.services.iter_mut() {
        let Some(want) = desired.services.get(key) else {
            continue;
        };
        for (dk, d) in have.dests.iter_mut() {
            if d.forward == crate::model::Forward::Local {
                if let Some(w) = want.dests.get(dk) {
                    d.forward = w.forward;
                }
            }
        }
    }
}

/// Runs one synchronisation round against a data plane (the driver's loop body, shared by
/// the daemon's data-plane thread and the tests): plan from the last read-back or a fresh
/// read, apply, read back, report.
pub fn sync_once(syncer: &mut Syncer, dp: &mut dyn Dataplane, now: Instant) -> (Vec<Change>, SyncStatus) {
    let changes = match syncer.plan() {
        Some(c) => c,
        None => match dp.read() {
            Ok(actual) => syncer.plan_from(actual),
            Err(e) => {
                let status = syncer.applied(Err(e), None, now);
                return (Vec::new(), status);
            }
        },
    };
    let result = if changes.is_empty() {
        Ok(())
    } else {
        dp.apply(&changes)
    };
    let read_back = dp.read().ok();
    let status = syncer.applied(result, read_back, now);
    (changes, status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Dest, DestKey, Forward, Protocol, Scheduler, Service};
    use std::net::{IpAddr, Ipv4Addr};

    fn desired(weights: &[u32]) -> LbState {
        let mut s = LbState::default();
        let key = ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10)),
            port: 80,
        };
        let svc = s.upsert_service(Service::new(key, Scheduler::Rr));
        for (i, w) in weights.iter().enumerate() {
            let d = Dest::new(
                DestKey {
                    addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, i as u8 + 1)),
                    port: 80,
                },
                Forward::Masq,
                *w,
            );
            svc.dests.insert(d.key, d);
        }
        s
    }

    #[test]
    fn first_sync_reads_applies_and_confirms() {
        let mut dp = FakeDataplane::default();
        let mut s = Syncer::new();
        s.set_desired(desired(&[1, 1]));
        assert!(s.wants_sync(Instant(0)));
        let (changes, status) = sync_once(&mut s, &mut dp, Instant(0));
        assert_eq!(changes.len(), 3, "one service, two real servers");
        assert_eq!(status, SyncStatus::InSync);
        assert_eq!(dp.state, desired(&[1, 1]));
        assert!(!s.wants_sync(Instant(0)));
        // A flap is one change, planned from the read-back without reading again.
        s.set_desired(desired(&[1, 0]));
        let reads = dp.reads;
        let (changes, status) = sync_once(&mut s, &mut dp, Instant(1));
        assert_eq!(changes.len(), 1);
        assert_eq!(status, SyncStatus::InSync);
        assert_eq!(dp.reads, reads + 1, "only the read-back");
    }

    #[test]
    fn failures_are_retried_with_backoff_until_the_state_sticks() {
        let mut dp = FakeDataplane {
            fail_next: 2,
            drop_next: 1,
            ..FakeDataplane::default()
        };
        let mut s = Syncer::new();
        s.set_desired(desired(&[1]));
        let mut now = Instant(0);
        let mut waits = Vec::new();
        for _ in 0..10 {
            if !s.wants_sync(now) {
                now = s.deadline().expect("a retry is scheduled");
            }
            match sync_once(&mut s, &mut dp, now).1 {
                SyncStatus::InSync => break,
                SyncStatus::RetryAt { at, .. } => waits.push(at - now),
            }
        }
        // Two failed writes, one that did not stick, then success.
        assert_eq!(waits, vec![Micros(100_000), Micros(200_000), Micros(400_000)]);
        assert_eq!(dp.state, desired(&[1]));
        assert_eq!(s.deadline(), None);
    }

    #[test]
    fn a_local_real_server_is_not_corrected_forever() {
        let mut dp = FakeDataplane::default();
        let mut s = Syncer::new();
        s.set_desired(desired(&[1]));
        sync_once(&mut s, &mut dp, Instant(0));
        // The kernel reports the real server as Local (its address is ours).
        for svc in dp.state.services.values_mut() {
            for d in svc.dests.values_mut() {
                d.forward = Forward::Local;
            }
        }
        s.set_desired(desired(&[2]));
        let (changes, status) = sync_once(&mut s, &mut dp, Instant(1));
        assert_eq!(status, SyncStatus::InSync);
        assert_eq!(changes.len(), 1, "only the weight: {changes:?}");
    }

    #[test]
    fn removed_services_are_deleted_then_forgotten() {
        let mut dp = FakeDataplane::default();
        let mut s = Syncer::new();
        s.set_desired(desired(&[1]));
        sync_once(&mut s, &mut dp, Instant(0));
        s.set_desired(LbState::default());
        let (changes, status) = sync_once(&mut s, &mut dp, Instant(1));
        assert!(matches!(changes.as_slice(), [Change::DeleteService(_)]));
        assert_eq!(status, SyncStatus::InSync);
        assert!(s.owned().is_empty());
        assert_eq!(dp.state, LbState::default());
    }
}
