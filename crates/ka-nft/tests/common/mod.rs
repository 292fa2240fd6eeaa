//! Shared fixtures: a state with one service of each kind the nftables backend programs.

#![allow(dead_code)]

use ka_lb::model::service_flags;
use ka_lb::{Dest, DestKey, Family, Forward, LbState, Protocol, Scheduler, Service, ServiceKey};
use ka_nft::{DrLink, Env, Mac};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub fn vip(last: u8, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)),
        port,
    }
}

pub fn rs(last: u8, port: u16, forward: Forward, weight: u32) -> Dest {
    Dest::new(
        DestKey {
            addr: IpAddr::V4(Ipv4Addr::new(198, 51, 100, last)),
            port,
        },
        forward,
        weight,
    )
}

pub fn mac(last: u8) -> Mac {
    Mac([0x02, 0, 0, 0, 0, last])
}

/// Small tables keep golden files readable: Maglev size 13.
pub fn env() -> Env {
    let neighbours: BTreeMap<IpAddr, Mac> = (1..=9)
        .map(|n| (IpAddr::V4(Ipv4Addr::new(198, 51, 100, n)), mac(n)))
        .collect();
    Env {
        maglev_size: 13,
        dr: Some(DrLink {
            device: "eth0".to_string(),
            mac: mac(0xfe),
            neighbours,
        }),
        ..Env::default()
    }
}

pub fn add(state: &mut LbState, service: Service, dests: &[Dest]) {
    let s = state.upsert_service(service);
    for d in dests {
        s.dests.insert(d.key, d.clone());
    }
}

/// One service per scheduler and mode.
pub fn sample() -> LbState {
    let mut st = LbState::default();
    let masq = Forward::Masq;
    add(
        &mut st,
        Service::new(vip(80, 80), Scheduler::Wrr),
        &[
            rs(1, 80, masq, 3),
            rs(2, 80, masq, 2),
            rs(3, 8080, masq, 1),
            rs(4, 80, masq, 0),
        ],
    );
    add(
        &mut st,
        Service::new(vip(80, 81), Scheduler::Rr),
        &[rs(1, 81, masq, 1), rs(2, 81, masq, 1)],
    );
    let mut sh = Service::new(vip(80, 82), Scheduler::Sh);
    sh.flags = service_flags::SCHED2; // sh-port
    add(&mut st, sh, &[rs(1, 82, masq, 1), rs(2, 82, masq, 1)]);
    add(
        &mut st,
        Service::new(vip(80, 83), Scheduler::Mh),
        &[rs(1, 83, masq, 1), rs(2, 83, masq, 2)],
    );
    add(
        &mut st,
        Service::new(vip(80, 84), Scheduler::Fo),
        &[rs(1, 84, masq, 1), rs(2, 84, masq, 5)],
    );
    let mut persistent = Service::new(vip(80, 443), Scheduler::Rr);
    persistent.flags = service_flags::PERSISTENT;
    persistent.timeout = 50;
    persistent.netmask = 0xffff_ff00;
    add(&mut st, persistent, &[rs(1, 443, masq, 1), rs(2, 443, masq, 1)]);
    add(
        &mut st,
        Service::new(
            ServiceKey::Fwmark {
                family: Family::Ipv4,
                mark: 7,
            },
            Scheduler::Dh,
        ),
        &[rs(5, 0, masq, 1), rs(6, 0, masq, 1)],
    );
    let v6 = ServiceKey::Addr {
        protocol: Protocol::Udp,
        addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x80)),
        port: 53,
    };
    add(
        &mut st,
        Service::new(v6, Scheduler::Rr),
        &[Dest::new(
            DestKey {
                addr: IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 1)),
                port: 53,
            },
            masq,
            1,
        )],
    );
    // DR, as the seed cluster (persistence 50 s; lc is the seed's, wrr here).
    let mut dr = Service::new(vip(90, 80), Scheduler::Wrr);
    dr.flags = service_flags::PERSISTENT;
    dr.timeout = 50;
    add(
        &mut st,
        dr,
        &[rs(7, 80, Forward::Route, 1), rs(8, 80, Forward::Route, 1)],
    );
    st
}
