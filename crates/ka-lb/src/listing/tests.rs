//! The formatter's corners that a kernel table rarely shows: numbers past the K range, the
//! comparators' wrap-around, glibc's IPv6 text, flags without names. The expected text
//! follows ipvsadm 1.31's printf formats (quoted beside each case); whole tables captured
//! from ipvsadm in the IPVS VM are compared in `tests/listing_golden.rs`.

use super::*;
use crate::model::{DestKey, Protocol, Scheduler, Service, TunnelSpec};
use std::collections::BTreeMap;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn number(n: u64, exact: bool) -> String {
    let mut s = String::new();
    push_number(&mut s, n, exact);
    s
}

#[test]
fn numbers_scale_as_print_largenum() {
    // "%9llu" below 10^8, then "%8lluK" / "%8lluM" / "%8lluG" / "%8lluT" of the quotient.
    // (Expected text from Python's %-formatting of the same formats.)
    let cases = [
        (0, "        0"),
        (99_999_999, " 99999999"),
        (100_000_000, "  100000K"),
        (999_999_999, "  999999K"),
        (1_000_000_000, "    1000M"),
        (99_999_999_999, "   99999M"),
        (100_000_000_000, "     100G"),
        (99_999_999_999_999, "   99999G"),
        (100_000_000_000_000, "     100T"),
        // Eight digits of T: no space left before it, as in ipvsadm.
        (u64::MAX, "18446744T"),
    ];
    for (n, want) in cases {
        assert_eq!(number(n, false), want, "{n}");
    }
}

#[test]
fn exact_numbers_keep_a_space_before_them() {
    // printf("%*llu", len <= 8 ? 9 : len + 1, n)
    let cases = [
        (0, "        0"),
        (12_345_678, " 12345678"),
        (123_456_789, " 123456789"),
        (u64::MAX, " 18446744073709551615"),
    ];
    for (n, want) in cases {
        assert_eq!(number(n, true), want, "{n}");
    }
}

#[test]
fn ipv6_text_is_glibcs() {
    // Expected values from glibc's inet_ntop (python3's socket.inet_ntop on Debian 12).
    let cases = [
        ("::", "::"),
        ("::1", "::1"),
        ("::2", "::2"),
        ("::192.0.2.1", "::192.0.2.1"),
        ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ("::ffff:0:192.0.2.1", "::ffff:0:c000:201"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:db8:0:1:0:0:0:1", "2001:db8:0:1::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:0:0:1::", "2001:0:0:1::"),
        ("1::", "1::"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2:3:4:5:6"),
        ("0:0:1::", "0:0:1::"),
        ("::1:0:0:c000:201", "::1:0:0:c000:201"),
        ("fe80::ffff:c000:201", "fe80::ffff:c000:201"),
        ("::ffff:1:c000:201", "::ffff:1:c000:201"),
        ("0:0:0:0:0:1:c000:201", "::1:c000:201"),
    ];
    for (addr, want) in cases {
        let a: Ipv6Addr = addr.parse().unwrap();
        assert_eq!(inet_ntop6(&a), want, "{addr}");
    }
}

fn listed(key: ServiceKey, scheduler: &str, dests: Vec<Dest>) -> ListedService {
    ListedService {
        key,
        scheduler: scheduler.into(),
        flags: 0,
        timeout: 0,
        netmask: match key.family() {
            Family::Ipv4 => u32::MAX,
            Family::Ipv6 => 128,
        },
        pe_name: None,
        stats: Counters::default(),
        dests: dests.into_iter().map(ListedDest::idle).collect(),
    }
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip(addr),
        port,
    }
}

fn fwm(mark: u32) -> ServiceKey {
    ServiceKey::Fwmark {
        family: Family::Ipv4,
        mark,
    }
}

fn dest(addr: &str, port: u16) -> Dest {
    Dest::new(DestKey { addr: ip(addr), port }, Forward::Route, 1)
}

fn service_lines(table: &str) -> Vec<&str> {
    table.lines().skip(3).filter(|l| !l.starts_with("  ->")).collect()
}

#[test]
fn marks_two_to_the_31_apart_sort_as_libipvs_and_glibc_do() {
    // ipvs_cmp_services: `r = s1->fwmark - s2->fwmark` into an int. 0x80000002 - 2 is
    // negative, so mark 2147483650 sorts before mark 2, and 0 - 0x80000002 being positive,
    // before the address services too; 1 - 0x80000002 is positive as well. Not a total
    // order: glibc's merge sort settles it, and the kernel's order matters. ("FWM  %d": the
    // big mark prints negative.) Both orders below were checked with glibc's qsort and
    // this comparator in C.
    let services = vec![
        listed(fwm(1), "rr", vec![]),
        listed(tcp("192.0.2.10", 80), "rr", vec![]),
        listed(fwm(0x8000_0002), "rr", vec![]),
        listed(fwm(2), "rr", vec![]),
    ];
    let text = render_table("H", &services, Format::default());
    assert_eq!(
        service_lines(&text),
        vec![
            "FWM  -2147483646 rr",
            "TCP  192.0.2.10:80 rr",
            "FWM  1 rr",
            "FWM  2 rr"
        ]
    );
    let reordered = vec![
        services[3].clone(),
        services[2].clone(),
        services[0].clone(),
        services[1].clone(),
    ];
    let text = render_table("H", &reordered, Format::default());
    assert_eq!(
        service_lines(&text),
        vec![
            "TCP  192.0.2.10:80 rr",
            "FWM  1 rr",
            "FWM  2 rr",
            "FWM  -2147483646 rr"
        ]
    );
    let kept = render_table(
        "H",
        &services,
        Format {
            no_sort: true,
            ..Format::default()
        },
    );
    assert_eq!(
        service_lines(&kept),
        vec![
            "FWM  1 rr",
            "TCP  192.0.2.10:80 rr",
            "FWM  -2147483646 rr",
            "FWM  2 rr"
        ]
    );
}

#[test]
fn addresses_two_to_the_31_apart_sort_the_wrong_way_round() {
    // ipvs_cmp_dests: `ntohl(d1->addr.ip) - ntohl(d2->addr.ip)` into an int: 10.0.0.1 -
    // 192.0.2.1 wraps to a positive number, so 192.0.2.1 comes first (checked with glibc's
    // qsort in C; the addresses only exercise the comparator, nothing is sent to them).
    let s = listed(
        tcp("192.0.2.10", 80),
        "rr",
        vec![dest("10.0.0.1", 80), dest("192.0.2.1", 80), dest("192.0.2.1", 79)],
    );
    let text = render_service(&s, Format::default());
    let dests: Vec<&str> = text
        .lines()
        .skip(3)
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(dests, vec!["192.0.2.1:79", "192.0.2.1:80", "10.0.0.1:80"]);
}

#[test]
fn ipv6_names_are_never_cut_and_push_the_columns_right() {
    let mut s = listed(
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr: ip("2001:db8:1:2:3:4:5:6"),
            port: 65535,
        },
        "wlc",
        vec![Dest::new(
            DestKey {
                addr: ip("2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff"),
                port: 65535,
            },
            Forward::Masq,
            7,
        )],
    );
    s.dests[0].active_conns = 3;
    let text = render_service(&s, Format::default());
    assert_eq!(
        text,
        "Prot LocalAddress:Port Scheduler Flags\n\
         \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
         SCTP [2001:db8:1:2:3:4:5:6]:65535 wlc\n\
         \x20 -> [2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff]:65535 Masq    7      3          0         \n"
    );
}

#[test]
fn scheduler_flags_persistence_and_ops_as_ipvsadm_prints_them() {
    let mut sh = listed(tcp("192.0.2.10", 443), "sh", vec![]);
    sh.flags = service_flags::PERSISTENT | service_flags::SCHED1 | service_flags::SCHED2 | 0x2;
    sh.timeout = 300;
    sh.netmask = 0xffff_ff00;
    sh.pe_name = Some("sip".into());
    // flag-3 has no name for sh: the brackets stay, empty.
    let mut sh3 = listed(tcp("192.0.2.10", 444), "sh", vec![]);
    sh3.flags = service_flags::SCHED3;
    let mut rr = listed(
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr: ip("2001:db8::10"),
            port: 53,
        },
        "rr",
        vec![],
    );
    rr.flags =
        service_flags::PERSISTENT | service_flags::ONE_PACKET | service_flags::SCHED1 | service_flags::SCHED3;
    rr.timeout = 60;
    rr.netmask = 64;
    // Not persistent: the pe is not printed (ipvsadm prints it under persistent only).
    let mut mh = listed(tcp("192.0.2.10", 445), "mh", vec![]);
    mh.flags = service_flags::SCHED2;
    mh.pe_name = Some("sip".into());
    let text = render_table("H", &[sh, sh3, rr, mh], Format::default());
    assert_eq!(
        service_lines(&text),
        vec![
            "TCP  192.0.2.10:443 sh (sh-fallback,sh-port) persistent 300 mask 255.255.255.0 pe sip",
            "TCP  192.0.2.10:444 sh ()",
            "TCP  192.0.2.10:445 mh (mh-port)",
            "UDP  [2001:db8::10]:53 rr (flag-1,flag-3) persistent 60 mask 64 ops",
        ]
    );
}

#[test]
fn every_view_of_one_service() {
    let mut gue = Dest::new(
        DestKey {
            addr: ip("198.51.100.7"),
            port: 443,
        },
        Forward::Tunnel,
        2,
    );
    gue.tunnel = Some(TunnelSpec {
        kind: 1,
        port: 6080,
        flags: 2,
    });
    gue.upper_threshold = 100;
    gue.lower_threshold = 50;
    let mut s = listed(
        tcp("192.0.2.11", 443),
        "wrr",
        vec![
            gue,
            Dest::new(
                DestKey {
                    addr: ip("198.51.100.6"),
                    port: 443,
                },
                Forward::Masq,
                1,
            ),
        ],
    );
    s.stats = Counters {
        conns: 5,
        in_packets: 123_456_789,
        out_packets: 1_234_567_890,
        in_bytes: 123_456_789_012,
        out_bytes: 1,
        cps: 1,
        in_pps: 123_456_789,
        out_pps: 2,
        in_bps: 300_000_000,
        out_bps: 4,
    };
    s.dests[0].stats = s.stats;
    s.dests[0].persist_conns = 4;
    s.dests[0].active_conns = 2;
    s.dests[0].inactive_conns = 9;
    let view = |view, exact| {
        render_service(
            &s,
            Format {
                view,
                exact,
                no_sort: false,
            },
        )
    };
    assert_eq!(
        view(View::Stats, false),
        concat!(
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
            "  -> RemoteAddress:Port\n",
            "TCP  192.0.2.11:443                      5  123456K    1234M     123G        1\n",
            "  -> 198.51.100.6:443                    0        0        0        0        0\n",
            "  -> 198.51.100.7:443                    5  123456K    1234M     123G        1\n",
        )
    );
    assert_eq!(
        view(View::Stats, true),
        concat!(
            "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes\n",
            "  -> RemoteAddress:Port\n",
            "TCP  192.0.2.11:443                      5 123456789 1234567890 123456789012        1\n",
            "  -> 198.51.100.6:443                    0        0        0        0        0\n",
            "  -> 198.51.100.7:443                    5 123456789 1234567890 123456789012        1\n",
        )
    );
    // The real servers' CPS, InPPS and OutPPS are "%8llu", never scaled.
    assert_eq!(
        view(View::Rate, false),
        concat!(
            "Prot LocalAddress:Port                 CPS    InPPS   OutPPS    InBPS   OutBPS\n",
            "  -> RemoteAddress:Port\n",
            "TCP  192.0.2.11:443                      1  123456K        2  300000K        4\n",
            "  -> 198.51.100.6:443                    0        0        0        0        0\n",
            "  -> 198.51.100.7:443                    1 123456789        2  300000K        4\n",
        )
    );
    assert_eq!(
        view(View::Thresholds, false),
        concat!(
            "Prot LocalAddress:Port            Uthreshold Lthreshold ActiveConn InActConn \n",
            "  -> RemoteAddress:Port\n",
            "TCP  192.0.2.11:443 wrr\n",
            "  -> 198.51.100.6:443             0          0          0          0         \n",
            "  -> 198.51.100.7:443             100        50         2          9         \n",
        )
    );
    assert_eq!(
        view(View::PersistentConn, false),
        concat!(
            "Prot LocalAddress:Port            Weight    PersistConn ActiveConn InActConn \n",
            "  -> RemoteAddress:Port\n",
            "TCP  192.0.2.11:443 wrr\n",
            "  -> 198.51.100.6:443             1         0           0          0         \n",
            "  -> 198.51.100.7:443             2         4           2          9         \n",
        )
    );
    assert_eq!(
        view(View::TunInfo, false),
        concat!(
            "Prot LocalAddress:Port Scheduler Flags\n",
            "  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
            "TCP  192.0.2.11:443 wrr\n",
            "  -> 198.51.100.6:443             Masq    n/a           1      0          0         \n",
            "  -> 198.51.100.7:443             Tunnel  gue:6080:r+c  2      2          9         \n",
        )
    );
}

#[test]
fn view_options_take_ipvsadms_precedence() {
    let all = ViewOptions {
        stats: true,
        rate: true,
        thresholds: true,
        persistent_conn: true,
        tun_info: true,
    };
    assert_eq!(all.view(), View::Stats);
    assert_eq!(ViewOptions { stats: false, ..all }.view(), View::Rate);
    assert_eq!(
        ViewOptions {
            thresholds: false,
            persistent_conn: true,
            tun_info: true,
            ..ViewOptions::default()
        }
        .view(),
        View::PersistentConn
    );
    assert_eq!(ViewOptions::default().view(), View::Plain);
}

#[test]
fn an_idle_service_of_the_model_lists_with_zero_counts() {
    let mut state = ServiceState {
        service: Service::new(tcp("192.0.2.10", 80), Scheduler::Wrr),
        dests: BTreeMap::new(),
    };
    let d = dest("198.51.100.1", 80);
    state.dests.insert(d.key, d);
    let s = ListedService::idle(&state);
    assert_eq!(s.scheduler, "wrr");
    assert_eq!(
        render_table(
            "IP Virtual Server version 1.2.1 (size=4096)",
            &[s],
            Format::default()
        ),
        "IP Virtual Server version 1.2.1 (size=4096)\n\
         Prot LocalAddress:Port Scheduler Flags\n\
         \x20 -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n\
         TCP  192.0.2.10:80 wrr\n\
         \x20 -> 198.51.100.1:80              Route   1      0          0         \n"
    );
}
