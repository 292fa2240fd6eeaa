//! IPVS schedulers that depend only on the configuration and health (not on connection
//! counts), computed in user space as slot tables: the data plane then only maps a number
//! (a round-robin counter or a hash of the packet) to a slot.
//!
//! Every function takes the weights of a service's destinations in the service's order
//! (`DestKey` order: IPVS uses insertion order, which a reconciler cannot know, so we use one
//! that every director computes identically) and returns indices into that slice. Weight 0
//! is a quiescent destination: it is never chosen for a new connection.

/// Greatest common divisor of the non-zero weights (1 if there are none).
pub fn weight_gcd(weights: &[u32]) -> u32 {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }
    weights.iter().copied().filter(|w| *w > 0).fold(0, gcd).max(1)
}

/// Length of IPVS's weighted round-robin cycle: Σ(weight / gcd).
pub fn wrr_period(weights: &[u32]) -> u64 {
    let g = weight_gcd(weights);
    weights.iter().map(|w| u64::from(*w / g)).sum()
}

/// Round robin (`rr`): every active destination once, in order.
pub fn rr_sequence(weights: &[u32]) -> Vec<usize> {
    (0..weights.len()).filter(|i| weights[*i] > 0).collect()
}

/// One cycle of IPVS's weighted round robin (`ip_vs_wrr_schedule`), in its exact order: the
/// current weight starts at the maximum and steps down by the gcd; each pass over the list
/// picks every destination whose weight is at least the current weight. Weights 3, 2, 1 give
/// A A B A B C. The cycle has [`wrr_period`] entries; the caller caps it.
pub fn wrr_sequence(weights: &[u32]) -> Vec<usize> {
    let g = weight_gcd(weights);
    let max = weights.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return Vec::new();
    }
    // IPVS: mw = max - (gcd - 1), cw starts at mw and drops by gcd at each wrap.
    let mw = i64::from(max) - (i64::from(g) - 1);
    let period = wrr_period(weights);
    let mut out = Vec::with_capacity(usize::try_from(period).unwrap_or(0));
    let mut cw = mw;
    while (out.len() as u64) < period {
        for (i, w) in weights.iter().enumerate() {
            if *w > 0 && i64::from(*w) >= cw {
                out.push(i);
            }
        }
        cw -= i64::from(g);
        if cw <= 0 {
            cw = mw;
        }
    }
    out.truncate(usize::try_from(period).unwrap_or(usize::MAX));
    out
}

/// Weighted intervals over `0..Σ(weight/gcd)`: the same long-run proportions as
/// [`wrr_sequence`] in blocks (A A A B B C) with one interval per destination. Used when the
/// exact cycle is too long to install.
pub fn weighted_blocks(weights: &[u32]) -> Vec<(u32, u32, usize)> {
    let g = weight_gcd(weights);
    let mut start = 0u32;
    let mut out = Vec::new();
    for (i, w) in weights.iter().enumerate() {
        let w = *w / g;
        if w > 0 {
            let end = start.saturating_add(w - 1);
            out.push((start, end, i));
            start = end.saturating_add(1);
        }
    }
    out
}

/// Buckets of IPVS's source- and destination-hashing tables (`IP_VS_SH_TAB_BITS` = 8).
pub const HASH_BUCKETS: usize = 256;

/// The source-hashing table (`ip_vs_sh_reassign`): buckets are dealt to the destinations in
/// order, each taking `weight` consecutive buckets per turn. Quiescent destinations get none
/// (IPVS deals them a bucket and refuses the clients hashed there, or skips it with
/// sh-fallback; we always skip). Empty when no destination is active.
pub fn sh_table(weights: &[u32]) -> Vec<usize> {
    let active = rr_sequence(weights);
    if active.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(HASH_BUCKETS);
    let (mut at, mut taken) = (0usize, 0u32);
    while out.len() < HASH_BUCKETS {
        let dest = active[at];
        out.push(dest);
        taken += 1;
        if taken >= weights[dest] {
            taken = 0;
            at = (at + 1) % active.len();
        }
    }
    out
}

/// The destination-hashing table (`ip_vs_dh_reassign`): one bucket per destination in turn,
/// weights ignored (IPVS's dh only uses them to exclude weight 0).
pub fn dh_table(weights: &[u32]) -> Vec<usize> {
    let active = rr_sequence(weights);
    if active.is_empty() {
        return Vec::new();
    }
    (0..HASH_BUCKETS).map(|b| active[b % active.len()]).collect()
}

/// Weighted failover (`fo`): the first destination with the highest weight.
pub fn fo_pick(weights: &[u32]) -> Option<usize> {
    let mut best: Option<usize> = None;
    for (i, w) in weights.iter().enumerate() {
        // Strictly greater, as ip_vs_fo_schedule: the first of equal weights wins.
        if *w > 0 && best.is_none_or(|b| *w > weights[b]) {
            best = Some(i);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrr_follows_ipvs_order() {
        // The example from ip_vs_wrr.c's comment and the kernel's behaviour.
        assert_eq!(wrr_sequence(&[3, 2, 1]), vec![0, 0, 1, 0, 1, 2]);
        assert_eq!(wrr_sequence(&[4, 3, 2]), vec![0, 0, 1, 0, 1, 2, 0, 1, 2]);
        // gcd is divided out: 4/2 = 2, 2/2 = 1.
        assert_eq!(wrr_sequence(&[4, 2]), vec![0, 0, 1]);
        // Quiescent destinations never appear.
        assert_eq!(wrr_sequence(&[1, 0, 1]), vec![0, 2]);
        assert_eq!(wrr_sequence(&[0, 0]), Vec::<usize>::new());
        assert_eq!(wrr_period(&[3, 2, 1]), 6);
    }

    #[test]
    fn wrr_proportions_hold_for_uneven_weights() {
        let w = [5, 3, 7, 0, 1];
        let seq = wrr_sequence(&w);
        assert_eq!(seq.len() as u64, wrr_period(&w));
        for (i, wi) in w.iter().enumerate() {
            assert_eq!(seq.iter().filter(|d| **d == i).count() as u32, *wi, "dest {i}");
        }
    }

    #[test]
    fn blocks_cover_the_period_once() {
        assert_eq!(weighted_blocks(&[3, 0, 6]), vec![(0, 0, 0), (1, 2, 2)]);
        assert_eq!(weighted_blocks(&[2, 3]), vec![(0, 1, 0), (2, 4, 1)]);
    }

    #[test]
    fn sh_deals_weighted_runs_and_dh_single_buckets() {
        let t = sh_table(&[2, 0, 1]);
        assert_eq!(t.len(), HASH_BUCKETS);
        assert_eq!(&t[..6], &[0, 0, 2, 0, 0, 2]);
        let d = dh_table(&[5, 1, 0, 1]);
        assert_eq!(&d[..4], &[0, 1, 3, 0]);
        assert!(sh_table(&[0]).is_empty());
    }

    #[test]
    fn fo_takes_the_first_highest_weight() {
        assert_eq!(fo_pick(&[1, 3, 3, 2]), Some(1));
        assert_eq!(fo_pick(&[0, 0]), None);
    }
}
