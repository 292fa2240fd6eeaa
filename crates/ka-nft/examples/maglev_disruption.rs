//! Maglev table disruption, for BENCHMARKS.md: when one of N real servers leaves, which
//! share of the table changes? The leaver's own slots must move (the ideal, 1/N of the
//! table); every other slot that changes breaks a flow that need not have broken. The
//! Maglev paper (NSDI '16, fig. 12) reports the extra staying around 1–2 % of the table.
//!
//!     cargo run --release -p ka-nft --example maglev_disruption [N...]
//!
//! Each N runs with every real server leaving in turn (N cases), table size 65521 (IPVS's
//! largest `mh` size under 100k; ours by default is 4093, also shown).

use ka_lb::DestKey;
use ka_nft::maglev::{table, DEFAULT_SIZE};
use std::net::{IpAddr, Ipv4Addr};

fn rs(i: usize) -> DestKey {
    DestKey {
        addr: IpAddr::V4(Ipv4Addr::new(198, 51, (100 + i / 250) as u8, (i % 250 + 1) as u8)),
        port: 80,
    }
}

fn main() {
    let ns: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let ns = if ns.is_empty() { vec![3, 10, 100] } else { ns };
    println!("| real servers N | table size M | leaver's slots (ideal M/N) | other slots moved: mean | max | mean extra as % of M |");
    println!("|---|---|---|---|---|---|");
    for &n in &ns {
        for m in [DEFAULT_SIZE, 16381, 65521] {
            let before: Vec<(DestKey, u32)> = (0..n).map(|i| (rs(i), 1)).collect();
            let tb: Vec<DestKey> = table(&before, m).into_iter().map(|i| before[i].0).collect();
            let (mut own_sum, mut moved_sum, mut moved_max) = (0usize, 0usize, 0usize);
            for leaver in 0..n {
                let gone = rs(leaver);
                let after: Vec<(DestKey, u32)> = before.iter().copied().filter(|(k, _)| *k != gone).collect();
                let ta: Vec<DestKey> = table(&after, m).into_iter().map(|i| after[i].0).collect();
                let mut own = 0;
                let mut moved = 0;
                for (b, a) in tb.iter().zip(&ta) {
                    if *b == gone {
                        own += 1;
                    } else if a != b {
                        moved += 1;
                    }
                }
                own_sum += own;
                moved_sum += moved;
                moved_max = moved_max.max(moved);
            }
            let own_mean = own_sum as f64 / n as f64;
            let moved_mean = moved_sum as f64 / n as f64;
            println!(
                "| {n} | {m} | {own_mean:.0} ({:.0}) | {moved_mean:.1} | {moved_max} | {:.2} % |",
                m as f64 / n as f64,
                moved_mean * 100.0 / m as f64
            );
        }
    }
}
