//! Per-instance counters, named after keepalived's `/tmp/keepalived.stats` fields so the
//! metrics and dumps can use keepalived's names.

use ka_wire::rx::DropReason;
use serde::Serialize;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Adverts that passed validation.
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
    /// Adverts whose VIP list differed from ours (accepted anyway).
    pub addr_list_mismatch: u64,
    /// Dropped adverts, by reason (index = position in [`DropReason::ALL`]).
    pub dropped: [u64; DropReason::ALL.len()],
}

impl Stats {
    pub fn count_drop(&mut self, reason: DropReason) {
        if let Some(i) = DropReason::ALL.iter().position(|r| *r == reason) {
            self.dropped[i] += 1;
        }
    }

    pub fn drops(&self, reason: DropReason) -> u64 {
        DropReason::ALL
            .iter()
            .position(|r| *r == reason)
            .map(|i| self.dropped[i])
            .unwrap_or(0)
    }

    pub fn total_dropped(&self) -> u64 {
        self.dropped.iter().sum()
    }
}
