//! The nftables data plane end to end, as root, in network namespaces this test creates:
//! a client → the director (our `NftDataplane` programs it) → two real servers running
//! nginx, each answering with its own name. Every apply is read back and must equal the
//! state applied. Documentation addresses only: 192.0.2.0/24 on the VIP side,
//! 198.51.100.0/24 for the real servers.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod nft_lb;

use ka_lb::model::service_flags;
use ka_lb::reconcile::{self, reconcile};
use ka_lb::{Change, Dataplane, Dest, DestKey, Forward, LbState, Protocol, Scheduler, Service, ServiceKey};
use ka_net::nft::{link_mac, neighbour_macs, NftDataplane};
use ka_nft::{DrLink, Env};
use nft_lb::{connect, http_get_once, in_ns, request, tools_present, Topo};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 80);
const RS1: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 21);
const RS2: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 22);

fn vip(port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: IpAddr::V4(VIP),
        port,
    }
}

fn rs(addr: Ipv4Addr, forward: Forward, weight: u32) -> Dest {
    Dest::new(
        DestKey {
            addr: IpAddr::V4(addr),
            port: 80,
        },
        forward,
        weight,
    )
}

fn client(n: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 0, 2, 100 + n))
}

fn add(state: &mut LbState, service: Service, dests: &[Dest]) {
    let s = state.upsert_service(service);
    for d in dests {
        s.dests.insert(d.key, d.clone());
    }
}

/// Applies `changes` on the director and checks that reading back gives `expect`.
fn apply(dir: &str, dp: NftDataplane, changes: Vec<Change>, expect: &LbState) -> NftDataplane {
    let expect = expect.clone();
    in_ns(dir, move || {
        let mut dp = dp;
        dp.apply(&changes).unwrap();
        let back = dp.read().unwrap();
        assert_eq!(dp.last_problems, Vec::<String>::new());
        assert_eq!(back, expect, "read back after {changes:?}");
        dp
    })
}

/// Reads, reconciles to `desired`, applies, reads back.
fn converge(dir: &str, dp: NftDataplane, desired: &LbState) -> NftDataplane {
    let d = desired.clone();
    let (dp, changes) = in_ns(dir, move || {
        let mut dp = dp;
        let actual = dp.read().unwrap();
        // Every service in our table is ours.
        let owned: BTreeSet<ServiceKey> = d.services.keys().chain(actual.services.keys()).copied().collect();
        let changes = reconcile(&d, &actual, &owned);
        (dp, changes)
    });
    apply(dir, dp, changes, desired)
}

/// `n` new connections to `port`, from `source`: who answered each.
fn who(cl: &str, port: u16, n: usize, source: Option<IpAddr>) -> Vec<String> {
    let cl = cl.to_string();
    in_ns(&cl, move || {
        (0..n)
            .map(|_| http_get_once(SocketAddr::new(IpAddr::V4(VIP), port), source).unwrap())
            .collect()
    })
}

fn count(answers: &[String], name: &str) -> usize {
    answers.iter().filter(|a| *a == name).count()
}

/// NAT: client 192.0.2.100-120 — br0 — director 192.0.2.1 (+VIP) / 198.51.100.1 — br1 —
/// rs1 198.51.100.21, rs2 198.51.100.22 (default route via the director).
fn nat_topology() -> Topo {
    let mut t = Topo::new("n");
    t.bridge("br0");
    t.bridge("br1");
    t.host("cl", "br0", "192.0.2.100/24", None);
    for n in 1..=20 {
        t.exec("cl", &format!("ip addr add {}/24 dev eth0", client(n)));
    }
    t.host("dir", "br0", "192.0.2.1/24", None);
    t.host("dir", "br1", "198.51.100.1/24", None);
    t.exec(
        "dir",
        &format!("ip addr add {VIP}/32 dev eth0 && sysctl -qw net.ipv4.ip_forward=1"),
    );
    t.exec("cl", "ip route add default via 192.0.2.1");
    for (name, addr) in [("rs1", RS1), ("rs2", RS2)] {
        t.host(name, "br1", &format!("{addr}/24"), None);
        t.exec(name, "ip route add default via 198.51.100.1");
        t.nginx(name, name, IpAddr::V4(addr));
    }
    t
}

#[test]
fn nat_schedulers_weights_persistence_and_real_server_changes() {
    if !tools_present("nftables NAT end-to-end test") {
        return;
    }
    let t = nat_topology();
    let (dir, cl) = (t.ns("dir"), t.ns("cl"));
    let masq = Forward::Masq;
    let mut state = LbState::default();
    add(
        &mut state,
        Service::new(vip(80), Scheduler::Rr),
        &[rs(RS1, masq, 1), rs(RS2, masq, 1)],
    );
    add(
        &mut state,
        Service::new(vip(81), Scheduler::Wrr),
        &[rs(RS1, masq, 3), rs(RS2, masq, 1)],
    );
    add(
        &mut state,
        Service::new(vip(82), Scheduler::Sh),
        &[rs(RS1, masq, 1), rs(RS2, masq, 1)],
    );
    add(
        &mut state,
        Service::new(vip(83), Scheduler::Mh),
        &[rs(RS1, masq, 1), rs(RS2, masq, 1)],
    );
    let mut persistent = Service::new(vip(84), Scheduler::Rr);
    persistent.flags = service_flags::PERSISTENT;
    persistent.timeout = 30;
    add(&mut state, persistent, &[rs(RS1, masq, 1), rs(RS2, masq, 1)]);
    add(
        &mut state,
        Service::new(vip(85), Scheduler::Fo),
        &[rs(RS1, masq, 1), rs(RS2, masq, 2)],
    );
    let env = Env {
        maglev_size: 251,
        ..Env::default()
    };
    let mut dp = converge(&dir, NftDataplane::new(env), &state);

    // rr: alternation over new connections.
    let a = who(&cl, 80, 20, None);
    assert_eq!((count(&a, "rs1"), count(&a, "rs2")), (10, 10), "{a:?}");
    // wrr 3:1 in IPVS's order (the counter starts with the rule).
    let a = who(&cl, 81, 40, None);
    assert_eq!(&a[..4], ["rs1", "rs1", "rs1", "rs2"], "{a:?}");
    assert_eq!((count(&a, "rs1"), count(&a, "rs2")), (30, 10), "{a:?}");
    // sh, mh and persistence: each client address sticks to one server; both are used.
    for port in [82, 83, 84] {
        let mut seen = BTreeMap::new();
        for n in 1..=16 {
            let a = who(&cl, port, 3, Some(client(n)));
            assert!(a.iter().all(|x| *x == a[0]), "port {port} client {n}: {a:?}");
            seen.insert(n, a[0].clone());
        }
        let servers: BTreeSet<&String> = seen.values().collect();
        assert_eq!(servers.len(), 2, "port {port}: {seen:?}");
    }
    // fo: the highest weight takes everything.
    assert!(who(&cl, 85, 6, None).iter().all(|x| x == "rs2"));

    // An established connection to rs2 (the second of a fresh rr pair).
    let established = |cl: &str| {
        in_ns(cl, || {
            let to = SocketAddr::new(IpAddr::V4(VIP), 80);
            let mut conns = Vec::new();
            for _ in 0..2 {
                let mut c = connect(to, None).unwrap();
                let who = request(&mut c).unwrap();
                conns.push((who, c));
            }
            conns
                .into_iter()
                .find(|(w, _)| w == "rs2")
                .map(|(_, c)| c)
                .unwrap()
        })
    };

    // Weight 0: quiescent. The established connection goes on, new ones avoid rs2.
    let mut to_rs2 = established(&cl);
    state
        .services
        .get_mut(&vip(80))
        .unwrap()
        .dests
        .insert(rs(RS2, masq, 0).key, rs(RS2, masq, 0));
    dp = apply(
        &dir,
        dp,
        vec![Change::EditDest(vip(80), rs(RS2, masq, 0))],
        &state,
    );
    assert_eq!(request(&mut to_rs2).unwrap(), "rs2");
    assert!(who(&cl, 80, 10, None).iter().all(|x| x == "rs1"));
    // Back to weight 1.
    state
        .services
        .get_mut(&vip(80))
        .unwrap()
        .dests
        .insert(rs(RS2, masq, 1).key, rs(RS2, masq, 1));
    dp = apply(
        &dir,
        dp,
        vec![Change::EditDest(vip(80), rs(RS2, masq, 1))],
        &state,
    );
    assert_eq!(count(&who(&cl, 80, 10, None), "rs2"), 5);
    assert_eq!(request(&mut to_rs2).unwrap(), "rs2");

    // Removed: no new connections, the established one continues; then re-added.
    let mut to_rs2 = established(&cl);
    state
        .services
        .get_mut(&vip(80))
        .unwrap()
        .dests
        .remove(&rs(RS2, masq, 1).key);
    dp = apply(
        &dir,
        dp,
        vec![Change::DeleteDest(vip(80), rs(RS2, masq, 1).key)],
        &state,
    );
    assert!(who(&cl, 80, 10, None).iter().all(|x| x == "rs1"));
    assert_eq!(request(&mut to_rs2).unwrap(), "rs2");
    state
        .services
        .get_mut(&vip(80))
        .unwrap()
        .dests
        .insert(rs(RS2, masq, 1).key, rs(RS2, masq, 1));
    dp = apply(&dir, dp, vec![Change::AddDest(vip(80), rs(RS2, masq, 1))], &state);
    assert_eq!(count(&who(&cl, 80, 10, None), "rs2"), 5);
    drop(to_rs2);

    // Persistence and removal: clients pinned to the removed server are scheduled anew.
    let pinned: Vec<u8> = (1..=8)
        .filter(|n| who(&cl, 84, 1, Some(client(*n)))[0] == "rs2")
        .collect();
    assert!(!pinned.is_empty());
    state
        .services
        .get_mut(&vip(84))
        .unwrap()
        .dests
        .remove(&rs(RS2, masq, 1).key);
    dp = apply(
        &dir,
        dp,
        vec![Change::DeleteDest(vip(84), rs(RS2, masq, 1).key)],
        &state,
    );
    for n in &pinned {
        assert_eq!(who(&cl, 84, 1, Some(client(*n)))[0], "rs1", "client {n}");
    }

    // A weight change on wrr rewrites the cycle (and its rule) in one transaction.
    let svc = state.services.get_mut(&vip(81)).unwrap();
    svc.dests.insert(rs(RS1, masq, 1).key, rs(RS1, masq, 1));
    dp = apply(
        &dir,
        dp,
        vec![Change::EditDest(vip(81), rs(RS1, masq, 1))],
        &state,
    );
    let a = who(&cl, 81, 10, None);
    assert_eq!((count(&a, "rs1"), count(&a, "rs2")), (5, 5), "{a:?}");

    // Removing everything leaves empty tables.
    let dp = converge(&dir, dp, &LbState::default());
    in_ns(&dir, move || {
        let mut dp = dp;
        dp.remove_tables().unwrap();
        assert_eq!(dp.read().unwrap(), LbState::default());
    });
}

/// DR as in the seed cluster: one L2 segment; the director holds the VIP on eth0, the real
/// servers hold it on lo with arp_ignore 1 / arp_announce 2 and answer the client directly.
fn dr_topology() -> Topo {
    let mut t = Topo::new("d");
    t.bridge("br0");
    t.host("cl", "br0", "192.0.2.100/24", None);
    for n in 1..=20 {
        t.exec("cl", &format!("ip addr add {}/24 dev eth0", client(n)));
    }
    t.host("dir", "br0", "192.0.2.1/24", None);
    t.exec(
        "dir",
        &format!("ip addr add 198.51.100.1/24 dev eth0 && ip addr add {VIP}/32 dev eth0"),
    );
    for (name, addr) in [("rs1", RS1), ("rs2", RS2)] {
        t.host(name, "br0", &format!("{addr}/24"), None);
        t.exec(
            name,
            &format!(
                "ip addr add {VIP}/32 dev lo && ip route add 192.0.2.0/24 dev eth0 && \
                 sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 \
                 net.ipv4.conf.eth0.arp_ignore=1 net.ipv4.conf.eth0.arp_announce=2"
            ),
        );
        t.nginx(name, name, IpAddr::V4(addr));
    }
    t
}

#[test]
fn dr_reaches_both_real_servers_with_and_without_persistence() {
    if !tools_present("nftables DR end-to-end test") {
        return;
    }
    let t = dr_topology();
    let (dir, cl) = (t.ns("dir"), t.ns("cl"));
    // The daemon's part: the director's MAC and the real servers' (resolved by talking to them).
    let link = in_ns(&dir, || {
        for a in [RS1, RS2] {
            http_get_once(SocketAddr::new(IpAddr::V4(a), 80), None).unwrap();
        }
        DrLink {
            device: "eth0".into(),
            mac: link_mac("eth0").unwrap(),
            neighbours: neighbour_macs("eth0").unwrap(),
        }
    });
    assert_eq!(link.neighbours.len(), 2, "{link:?}");
    let env = Env {
        dr: Some(link),
        ..Env::default()
    };
    let route = Forward::Route;
    let mut state = LbState::default();
    add(
        &mut state,
        Service::new(vip(80), Scheduler::Wrr),
        &[rs(RS1, route, 1), rs(RS2, route, 1)],
    );
    let dp = converge(&dir, NftDataplane::new(env), &state);
    // Per-flow hashing: new connections (new source ports) reach both.
    let a = who(&cl, 80, 30, None);
    assert!(count(&a, "rs1") > 0 && count(&a, "rs2") > 0, "{a:?}");
    assert_eq!(count(&a, "rs1") + count(&a, "rs2"), 30);

    // The seed's persistence_timeout 50: each client address sticks, both servers used.
    let mut svc = Service::new(vip(80), Scheduler::Wrr);
    svc.flags = service_flags::PERSISTENT;
    svc.timeout = 50;
    state.services.get_mut(&vip(80)).unwrap().service = svc.clone();
    let dp = apply(&dir, dp, vec![Change::EditService(svc)], &state);
    let mut servers = BTreeSet::new();
    for n in 1..=20 {
        let a = who(&cl, 80, 3, Some(client(n)));
        assert!(a.iter().all(|x| *x == a[0]), "client {n}: {a:?}");
        servers.insert(a[0].clone());
    }
    assert_eq!(servers.len(), 2, "{servers:?}");

    // Quiescent rs2: new clients go to rs1.
    state
        .services
        .get_mut(&vip(80))
        .unwrap()
        .dests
        .insert(rs(RS2, route, 0).key, rs(RS2, route, 0));
    let dp = apply(
        &dir,
        dp,
        vec![Change::EditDest(vip(80), rs(RS2, route, 0))],
        &state,
    );
    assert!(who(&cl, 80, 5, Some(client(0))).iter().all(|x| x == "rs1"));
    in_ns(&dir, move || {
        let mut dp = dp;
        dp.remove_tables().unwrap();
    });
}

/// ka-nft's golden scenario (one service of every kind: wrr/rr/sh-port/mh/fo, persistence
/// with a netmask, fwmark, IPv6/UDP, DR with persistence) loaded into a kernel, then each
/// change step applied as its own transaction and read back.
#[path = "../../ka-nft/tests/common/mod.rs"]
mod golden;

#[test]
fn every_kind_of_service_loads_changes_and_reads_back() {
    if !tools_present("nftables golden scenario in a kernel") {
        return;
    }
    let mut t = Topo::new("g");
    t.bridge("br0");
    t.host("dir", "br0", "192.0.2.1/24", None);
    let dir = t.ns("dir");
    let masq = Forward::Masq;
    let mut state = golden::sample();
    let mut dp = converge(&dir, NftDataplane::new(golden::env()), &state);
    let steps: Vec<Vec<Change>> = vec![
        vec![Change::EditDest(golden::vip(80, 80), golden::rs(1, 80, masq, 0))],
        vec![Change::DeleteDest(
            golden::vip(80, 83),
            golden::rs(1, 83, masq, 1).key,
        )],
        vec![Change::AddDest(golden::vip(80, 443), golden::rs(3, 443, masq, 1))],
        vec![Change::DeleteDest(
            golden::vip(80, 443),
            golden::rs(1, 443, masq, 1).key,
        )],
        vec![Change::EditDest(
            golden::vip(90, 80),
            golden::rs(8, 80, Forward::Route, 0),
        )],
        vec![Change::EditService(Service::new(
            golden::vip(80, 81),
            Scheduler::Mh,
        ))],
        vec![
            Change::DeleteService(golden::vip(80, 443)),
            Change::DeleteService(golden::vip(90, 80)),
        ],
    ];
    for changes in steps {
        for c in &changes {
            reconcile::apply(&mut state, c).unwrap();
        }
        dp = apply(&dir, dp, changes, &state);
    }
    in_ns(&dir, move || {
        let mut dp = dp;
        dp.remove_tables().unwrap();
    });
}

#[test]
fn a_missing_nft_program_is_a_clear_error() {
    let mut dp = NftDataplane::with_binary(Env::default(), "/nonexistent/nft");
    let e = dp.read().unwrap_err();
    assert!(
        e.message.contains("/nonexistent/nft not found") && e.message.contains("nftables"),
        "{e}"
    );
    let e = dp.apply(&[]).unwrap_err();
    assert!(e.message.contains("not found"), "{e}");
}

#[test]
fn nft_refusals_carry_its_message_and_nothing_is_half_applied() {
    if !tools_present("nftables refusal test") {
        return;
    }
    let t = Topo::new("e");
    let dir = t.ns("lan");
    let mut state = LbState::default();
    add(
        &mut state,
        Service::new(vip(80), Scheduler::Rr),
        &[rs(RS1, Forward::Masq, 1)],
    );
    let dp = converge(&dir, NftDataplane::new(Env::default()), &state);
    // A DR link on an interface that does not exist: the kernel refuses the netdev chain, and
    // the NAT change in the same transaction must not happen either.
    let env = Env {
        dr: Some(DrLink {
            device: "nosuchdev0".into(),
            mac: ka_nft::Mac([2, 0, 0, 0, 0, 1]),
            neighbours: [(IpAddr::V4(RS2), ka_nft::Mac([2, 0, 0, 0, 0, 2]))].into(),
        }),
        ..Env::default()
    };
    let before = state.clone();
    in_ns(&dir, move || {
        let mut dp = dp;
        dp.set_env(env);
        let e = dp
            .apply(&[
                Change::AddDest(vip(80), rs(RS2, Forward::Masq, 1)),
                Change::AddService(Service::new(vip(90), Scheduler::Rr)),
                Change::AddDest(vip(90), rs(RS2, Forward::Route, 1)),
            ])
            .unwrap_err();
        assert!(e.message.starts_with("nft -f: "), "{e}");
        assert!(
            e.message.contains("nosuchdev0") || e.message.contains("No such"),
            "{e}"
        );
        // Still exactly the state before the failed transaction.
        let mut nat_only = NftDataplane::new(Env::default());
        assert_eq!(nat_only.read().unwrap(), before);
        nat_only.remove_tables().unwrap();
    });
}
