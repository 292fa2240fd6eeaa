//! Drives the nftables data plane from the command line, for `bench/nft-lb.sh` (run it
//! inside the director's network namespace):
//!
//!     nft_lb apply-bench SCHED N ROUNDS [MAGLEV_SIZE]
//!         full apply of one NAT service with N real servers, read-back, then ROUNDS flaps
//!         of one real server (weight 0 and back); times each apply (ms) and prints them
//!     nft_lb program nat|dr SCHED VIP:PORT RS:PORT... [--dr-device DEV]
//!         programs one service (DR: MACs from the neighbour table) and verifies the read-back
//!     nft_lb clear
//!         removes our tables

#![allow(clippy::unwrap_used, clippy::expect_used)] // a bench driver: fail loudly

use ka_lb::{
    reconcile, Change, Dataplane, Dest, DestKey, Forward, LbState, Protocol, Scheduler, Service, ServiceKey,
};
use ka_net::nft::{link_mac, neighbour_macs, NftDataplane};
use ka_nft::{DrLink, Env};
use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

fn service(vip: SocketAddr, sched: Scheduler) -> Service {
    Service::new(
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: vip.ip(),
            port: vip.port(),
        },
        sched,
    )
}

fn converge(dp: &mut NftDataplane, desired: &LbState) -> f64 {
    let actual = dp.read().unwrap();
    let owned: BTreeSet<ServiceKey> = desired
        .services
        .keys()
        .chain(actual.services.keys())
        .copied()
        .collect();
    let changes = reconcile(desired, &actual, &owned);
    let t = Instant::now();
    dp.apply(&changes).unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    assert_eq!(&dp.read().unwrap(), desired, "read-back differs");
    ms
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn apply_bench(args: &[String]) {
    let sched = Scheduler::from_name(&args[0]).expect("scheduler");
    let n: u32 = args[1].parse().unwrap();
    let rounds: usize = args[2].parse().unwrap();
    let mut env = Env::default();
    if let Some(m) = args.get(3) {
        env.maglev_size = m.parse().unwrap();
    }
    let mut dp = NftDataplane::new(env);
    dp.remove_tables().unwrap();
    let vip = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 80)), 80);
    let key = service(vip, sched).key;
    let dest = |i: u32, w: u32| {
        // 198.18.0.0/15 is the benchmarking range: nothing is sent to these addresses.
        let a = Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + i);
        Dest::new(
            DestKey {
                addr: IpAddr::V4(a),
                port: 80,
            },
            Forward::Masq,
            w,
        )
    };
    let mut state = LbState::default();
    let s = state.upsert_service(service(vip, sched));
    for i in 1..=n {
        let d = dest(i, 1);
        s.dests.insert(d.key, d);
    }
    let full = converge(&mut dp, &state);
    let t = Instant::now();
    dp.read().unwrap();
    let read = t.elapsed().as_secs_f64() * 1e3;
    let mut down = Vec::new();
    let mut up = Vec::new();
    for r in 0..rounds {
        let flapping = dest(1 + (r as u32 * 7919) % n, 0);
        for (w, times) in [(0, &mut down), (1, &mut up)] {
            let mut d = flapping.clone();
            d.weight = w;
            let t = Instant::now();
            dp.apply(&[Change::EditDest(key, d)]).unwrap();
            times.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    // Where a flap's time goes: planning (pure) vs nft.
    let mut d = dest(1, 1);
    d.weight = 0;
    let t = Instant::now();
    let batch = ka_nft::change_batch(&state, &[Change::EditDest(key, d)], dp.env()).unwrap();
    let plan_ms = t.elapsed().as_secs_f64() * 1e3;
    println!(
        "flap batch: {} commands, planned in {plan_ms:.1} ms",
        batch.text.lines().count()
    );
    // The last state must read back exactly.
    assert_eq!(dp.read().unwrap(), state);
    println!(
        "sched={} n={n} full_apply_ms={full:.1} read_ms={read:.1} flap_down_ms_median={:.1} flap_up_ms_median={:.1} flap_down_ms_max={:.1} rounds={rounds}",
        sched.name(),
        median(&mut down.clone()),
        median(&mut up),
        down.iter().copied().fold(0.0, f64::max)
    );
    dp.remove_tables().unwrap();
}

fn program(args: &[String]) {
    let mode = &args[0];
    let sched = Scheduler::from_name(&args[1]).expect("scheduler");
    let vip: SocketAddr = args[2].parse().unwrap();
    let mut env = Env::default();
    let mut rest: Vec<&String> = args[3..].iter().collect();
    let forward = if mode == "dr" {
        Forward::Route
    } else {
        Forward::Masq
    };
    if let Some(i) = rest.iter().position(|a| *a == "--dr-device") {
        let dev = rest[i + 1].clone();
        rest.drain(i..i + 2);
        env.dr = Some(DrLink {
            mac: link_mac(&dev).unwrap(),
            neighbours: neighbour_macs(&dev).unwrap(),
            device: dev,
        });
    }
    let mut state = LbState::default();
    let s = state.upsert_service(service(vip, sched));
    for r in rest {
        let a: SocketAddr = r.parse().unwrap();
        let d = Dest::new(
            DestKey {
                addr: a.ip(),
                port: a.port(),
            },
            forward,
            1,
        );
        s.dests.insert(d.key, d);
    }
    let mut dp = NftDataplane::new(env);
    let ms = converge(&mut dp, &state);
    println!("programmed {mode} {} in {ms:.1} ms", vip);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("apply-bench") => apply_bench(&args[1..]),
        Some("program") => program(&args[1..]),
        Some("clear") => NftDataplane::new(Env::default()).remove_tables().unwrap(),
        _ => {
            eprintln!("usage: see the comment at the top of crates/ka-net/examples/nft_lb.rs");
            std::process::exit(2);
        }
    }
}
