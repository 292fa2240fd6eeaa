//! Maglev consistent hashing (`mh`), computed as IPVS's `ip_vs_mh.c` does: a lookup table
//! of prime size filled by each destination in turn along its own permutation
//! (offset + k·skip mod M), each destination taking `weight/gcd` slots per turn.
//!
//! The table depends only on the destinations and their weights (not on their order or any
//! state), so two directors compute the same table, and a change of membership moves few
//! slots besides those of the destination that left (the "minimal disruption" property,
//! tested below). IPVS hashes the destinations with hsiphash under fixed keys; we use our
//! own fixed hash, so the table is equivalent to the kernel's, not identical.

use ka_lb::DestKey;
use std::net::IpAddr;

/// IPVS's default table size (`CONFIG_IP_VS_MH_TAB_INDEX` 12 → 4093).
pub const DEFAULT_SIZE: u32 = 4093;

/// Table sizes IPVS offers (`CONFIG_IP_VS_MH_TAB_INDEX` 8..=17); any prime works here.
pub const IPVS_SIZES: [u32; 10] = [251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071];

pub fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    let mut d = 2u32;
    while u64::from(d) * u64::from(d) <= u64::from(n) {
        if n.is_multiple_of(d) {
            return false;
        }
        d += 1;
    }
    true
}

/// A fixed 64-bit hash of a destination (FNV-1a, then the splitmix64 finaliser so that
/// nearby addresses spread): the same on every machine and every Rust version.
fn dest_hash(key: &DestKey, salt: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ salt;
    let mut eat = |b: u8| {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    };
    match key.addr {
        IpAddr::V4(a) => {
            eat(4);
            a.octets().into_iter().for_each(&mut eat);
        }
        IpAddr::V6(a) => {
            eat(6);
            a.octets().into_iter().for_each(&mut eat);
        }
    }
    key.port.to_be_bytes().into_iter().for_each(&mut eat);
    let mut z = h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Slots per turn for each destination: weight / gcd, scaled down (keeping at least one)
/// while the sum exceeds the table, as IPVS shifts large weights.
fn turns(weights: &[u32], size: u32) -> Vec<u64> {
    let g = crate::schedule::weight_gcd(weights);
    let mut t: Vec<u64> = weights.iter().map(|w| u64::from(*w / g)).collect();
    while t.iter().sum::<u64>() > u64::from(size) && t.iter().any(|x| *x > 1) {
        for x in t.iter_mut() {
            if *x > 1 {
                *x >>= 1;
            }
        }
    }
    t
}

/// The Maglev lookup table: for each of `size` slots, the index of its destination in
/// `dests`. Empty when no destination has a weight. `size` must be prime (so every skip
/// visits every slot).
///
/// The table depends on the set of destinations and their weights only, not on their order:
/// directors that list the same real servers in another order, or that saw them come and go
/// in another order, build the same table, so a flow that moves between active-active
/// directors reaches the same real server. (IPVS's own `mh` follows the order destinations
/// were added in, which a flap changes.)
pub fn table(dests: &[(DestKey, u32)], size: u32) -> Vec<usize> {
    let mut order: Vec<usize> = (0..dests.len()).collect();
    order.sort_by_key(|&i| dests[i].0);
    let sorted: Vec<(DestKey, u32)> = order.iter().map(|&i| dests[i]).collect();
    table_in_order(&sorted, size)
        .into_iter()
        .map(|slot| order[slot])
        .collect()
}

/// Maglev's population, destinations taking turns in the order given.
fn table_in_order(dests: &[(DestKey, u32)], size: u32) -> Vec<usize> {
    let weights: Vec<u32> = dests.iter().map(|(_, w)| *w).collect();
    if size == 0 || weights.iter().all(|w| *w == 0) {
        return Vec::new();
    }
    let m = u64::from(size);
    let turns = turns(&weights, size);
    // Each destination's permutation: offset + k·skip (mod M), skip in 1..M.
    let mut next: Vec<u64> = Vec::with_capacity(dests.len());
    let mut skip: Vec<u64> = Vec::with_capacity(dests.len());
    for (key, _) in dests {
        next.push(dest_hash(key, 0) % m);
        skip.push(if m > 1 {
            dest_hash(key, 0x6d68) % (m - 1) + 1
        } else {
            1
        });
    }
    let mut slots: Vec<Option<usize>> = vec![None; size as usize];
    let mut filled = 0usize;
    'fill: loop {
        for i in 0..dests.len() {
            for _ in 0..turns[i] {
                // Find this destination's next free preferred slot.
                let mut c = next[i];
                while slots[c as usize].is_some() {
                    c = (c + skip[i]) % m;
                }
                next[i] = c;
                slots[c as usize] = Some(i);
                filled += 1;
                if filled == slots.len() {
                    break 'fill;
                }
            }
        }
    }
    slots.into_iter().map(|s| s.unwrap_or(0)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn rs(n: u8) -> DestKey {
        DestKey {
            addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)),
            port: 80,
        }
    }

    fn counts(t: &[usize], n: usize) -> Vec<usize> {
        let mut c = vec![0; n];
        for d in t {
            c[*d] += 1;
        }
        c
    }

    #[test]
    fn ipvs_sizes_are_prime() {
        assert!(IPVS_SIZES.iter().all(|p| is_prime(*p)));
        assert!(!is_prime(4096));
    }

    #[test]
    fn equal_weights_share_the_table_evenly() {
        let dests: Vec<_> = (1..=10).map(|n| (rs(n), 1)).collect();
        let t = table(&dests, DEFAULT_SIZE);
        assert_eq!(t.len(), DEFAULT_SIZE as usize);
        for c in counts(&t, 10) {
            // Maglev fills round by round: every share is within one slot of M/N.
            assert!((409..=410).contains(&c), "{c}");
        }
    }

    #[test]
    fn weights_scale_the_shares() {
        let dests = vec![(rs(1), 3), (rs(2), 1)];
        let c = counts(&table(&dests, 251), 2);
        assert_eq!(c[0] + c[1], 251);
        assert!((187..=189).contains(&c[0]), "{c:?}");
        // A quiescent destination gets nothing.
        let dests = vec![(rs(1), 1), (rs(2), 0), (rs(3), 1)];
        assert_eq!(counts(&table(&dests, 251), 3)[1], 0);
    }

    #[test]
    fn the_table_does_not_depend_on_the_order_of_destinations() {
        let a: Vec<_> = (1..=5).map(|n| (rs(n), 1)).collect();
        let mut b = a.clone();
        b.reverse();
        let ta: Vec<DestKey> = table(&a, 251).into_iter().map(|i| a[i].0).collect();
        let tb: Vec<DestKey> = table(&b, 251).into_iter().map(|i| b[i].0).collect();
        assert_eq!(ta, tb);
        // Also for a set that came about differently (one destination moved to the end, as
        // after a flap).
        let mut c = a.clone();
        let first = c.remove(0);
        c.push(first);
        let tc: Vec<DestKey> = table(&c, 251).into_iter().map(|i| c[i].0).collect();
        assert_eq!(ta, tc);
    }

    #[test]
    fn removing_one_destination_moves_little_else() {
        // The disruption property: when one of N destinations leaves, its slots are dealt
        // to the others, and only a small fraction of the other slots change.
        for &(n, m) in &[(10u8, DEFAULT_SIZE), (100, 65521), (3, 251)] {
            let before: Vec<_> = (1..=n).map(|i| (rs(i), 1)).collect();
            let gone = rs(n / 2 + 1);
            let after: Vec<_> = before.iter().copied().filter(|(k, _)| *k != gone).collect();
            let tb: Vec<DestKey> = table(&before, m).into_iter().map(|i| before[i].0).collect();
            let ta: Vec<DestKey> = table(&after, m).into_iter().map(|i| after[i].0).collect();
            let mut of_gone = 0;
            let mut moved_others = 0;
            for (b, a) in tb.iter().zip(&ta) {
                if *b == gone {
                    of_gone += 1;
                    assert_ne!(*a, gone);
                } else if a != b {
                    moved_others += 1;
                }
            }
            let ideal = m as usize / n as usize;
            assert!(of_gone >= ideal - 1, "n={n}: the leaver had {of_gone} slots");
            // Maglev's paper and our measurement: a few percent of M at most.
            assert!(
                moved_others * 100 <= m as usize * 3,
                "n={n} m={m}: {moved_others} slots of staying destinations moved"
            );
            // Adding it back restores the original table exactly.
            let again: Vec<DestKey> = table(&before, m).into_iter().map(|i| before[i].0).collect();
            assert_eq!(again, tb);
        }
    }
}
