//! The IPVS data plane against a real kernel. This machine's kernel has no IPVS, so
//! `ipvs_on_a_real_kernel` boots Debian's kernel under qemu (`tools/ipvs-vm/run.sh`) with this
//! very test binary inside, and runs `guest_side` there: it programs IPVS through
//! `IpvsDataplane`, compares `ipvsadm -Ln` with the expected text, reads the table back
//! through our decoder, applies an incremental change and checks that a refused change is
//! reported with its index and leaves the earlier ones applied.
//!
//! Needs root (qemu, the kernel package under /var/cache); skips with a loud message
//! otherwise, or fails with `KA_REQUIRE_TOOLS=1`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_ipvs::Timeouts;
use ka_lb::model::{service_flags, ServiceState, TunnelSpec};
use ka_lb::{
    reconcile, Change, Dataplane, Dest, DestKey, Family, Forward, LbState, Protocol, Scheduler, Service,
    ServiceKey,
};
use ka_net::ipvs::IpvsDataplane;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Set by the guest script: `guest_side` flushes the IPVS table, so it refuses to run anywhere
/// else.
const GUEST_MARKER: &str = "KA_IPVS_GUEST";
/// The bound on the whole VM run (boot, test, power-off).
const VM_TIMEOUT_SECONDS: u32 = 90;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn skip_or_fail(why: &str) {
    if std::env::var_os("KA_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
        panic!("ipvs_on_a_real_kernel: {why} (KA_REQUIRE_TOOLS=1)");
    }
    eprintln!("\n!!!!! SKIPPED ipvs_on_a_real_kernel: {why} !!!!!\n");
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn ipvs_on_a_real_kernel() {
    if !running_as_root() {
        return skip_or_fail("needs root (qemu, the kernel package cache)");
    }
    let exe = std::env::current_exe().expect("own path");
    let dir = std::env::temp_dir().join(format!("ka-ipvs-vm-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = dir.join("guest.sh");
    std::fs::write(
        &script,
        format!(
            "export {GUEST_MARKER}=1 RUST_BACKTRACE=1\n\
             timeout 60 {} --exact guest_side --ignored --nocapture --test-threads=1\n",
            exe.display()
        ),
    )
    .unwrap();
    let started = Instant::now();
    let output = Command::new(repo_root().join("tools/ipvs-vm/run.sh"))
        .arg("-t")
        .arg(&script)
        .arg("-b")
        .arg(&exe)
        .args(["-T", &VM_TIMEOUT_SECONDS.to_string()])
        .output()
        .expect("run tools/ipvs-vm/run.sh");
    let _ = std::fs::remove_dir_all(&dir);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    println!("{text}");
    println!("VM test took {:.1} s", started.elapsed().as_secs_f64());
    match output.status.code() {
        Some(0) => assert!(
            text.contains("guest_side: all checks passed"),
            "the guest exited 0 without finishing its checks"
        ),
        // run.sh's own setup failed (packages, kernel download): no VM to test in.
        Some(126) => skip_or_fail("tools/ipvs-vm/run.sh could not set up qemu or the kernel (see above)"),
        other => panic!("the IPVS test in the VM failed (exit {other:?}); its output is above"),
    }
}

/// On a kernel without IPVS (this machine's), opening the data plane fails with a message that
/// says so, rather than with a bare errno.
#[test]
fn open_says_when_the_kernel_has_no_ipvs() {
    if Path::new("/proc/net/ip_vs").exists() {
        eprintln!("open_says_when_the_kernel_has_no_ipvs: this kernel has IPVS, nothing to check");
        return;
    }
    let err = IpvsDataplane::open().expect_err("no IPVS here");
    assert!(err.message.contains("the kernel has no IPVS"), "{err}");
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn tcp(addr: &str, port: u16) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip(addr),
        port,
    }
}

fn dest(addr: &str, port: u16, forward: Forward, weight: u32) -> Dest {
    Dest::new(DestKey { addr: ip(addr), port }, forward, weight)
}

fn add(state: &mut LbState, service: Service, dests: Vec<Dest>) {
    let entry = state.upsert_service(service);
    for d in dests {
        entry.dests.insert(d.key, d);
    }
}

/// The schedulers whose modules the VM loaded.
fn kernel_schedulers() -> Vec<Scheduler> {
    Scheduler::ALL
        .into_iter()
        .filter(|s| Path::new(&format!("/sys/module/ip_vs_{}", s.name())).exists())
        .collect()
}

/// Every kind of service and destination the model has: TCP, UDP, SCTP, fwmark (IPv4 and
/// IPv6), IPv6; NAT, DR and tunnels (IPIP, GUE, GRE); weights including 0; thresholds;
/// persistence with a netmask (IPv4 mask, IPv6 prefix); one-packet scheduling; the sh flags;
/// a persistence engine; then one service for each other scheduler the kernel has.
fn desired_state(schedulers: &[Scheduler]) -> LbState {
    let mut s = LbState::default();
    add(
        &mut s,
        Service::new(tcp("192.0.2.10", 80), Scheduler::Wrr),
        vec![
            dest("198.51.100.1", 80, Forward::Masq, 3),
            Dest {
                upper_threshold: 100,
                lower_threshold: 50,
                ..dest("198.51.100.2", 80, Forward::Masq, 1)
            },
            dest("198.51.100.3", 80, Forward::Masq, 0),
        ],
    );
    add(
        &mut s,
        Service {
            flags: service_flags::ONE_PACKET,
            ..Service::new(
                ServiceKey::Addr {
                    protocol: Protocol::Udp,
                    addr: ip("192.0.2.10"),
                    port: 53,
                },
                Scheduler::Rr,
            )
        },
        vec![
            dest("198.51.100.4", 53, Forward::Route, 1),
            dest("198.51.100.5", 53, Forward::Route, 2),
        ],
    );
    add(
        &mut s,
        Service {
            flags: service_flags::PERSISTENT | service_flags::SCHED1 | service_flags::SCHED2,
            timeout: 300,
            netmask: 0xffff_ff00,
            ..Service::new(tcp("192.0.2.11", 443), Scheduler::Sh)
        },
        vec![
            dest("198.51.100.6", 443, Forward::Tunnel, 1),
            Dest {
                tunnel: Some(TunnelSpec {
                    kind: 1,
                    port: 6080,
                    flags: 1,
                }),
                ..dest("198.51.100.7", 443, Forward::Tunnel, 1)
            },
            Dest {
                tunnel: Some(TunnelSpec {
                    kind: 2,
                    port: 0,
                    flags: 0,
                }),
                ..dest("198.51.100.8", 443, Forward::Tunnel, 1)
            },
        ],
    );
    add(
        &mut s,
        Service::new(
            ServiceKey::Addr {
                protocol: Protocol::Sctp,
                addr: ip("192.0.2.12"),
                port: 3868,
            },
            Scheduler::Rr,
        ),
        vec![dest("198.51.100.9", 3868, Forward::Masq, 1)],
    );
    add(
        &mut s,
        Service {
            flags: service_flags::PERSISTENT,
            timeout: 60,
            pe_name: Some("sip".into()),
            ..Service::new(
                ServiceKey::Addr {
                    protocol: Protocol::Udp,
                    addr: ip("192.0.2.13"),
                    port: 5060,
                },
                Scheduler::Rr,
            )
        },
        vec![dest("198.51.100.10", 5060, Forward::Masq, 1)],
    );
    add(
        &mut s,
        Service::new(
            ServiceKey::Fwmark {
                family: Family::Ipv4,
                mark: 1,
            },
            Scheduler::Lc,
        ),
        vec![
            dest("198.51.100.11", 0, Forward::Route, 1),
            dest("198.51.100.12", 0, Forward::Route, 1),
        ],
    );
    add(
        &mut s,
        Service::new(
            ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: 2,
            },
            Scheduler::Wlc,
        ),
        vec![dest("2001:db8::21", 0, Forward::Route, 5)],
    );
    add(
        &mut s,
        Service {
            flags: service_flags::PERSISTENT,
            timeout: 600,
            netmask: 64,
            ..Service::new(tcp("2001:db8::10", 80), Scheduler::Wlc)
        },
        vec![
            dest("2001:db8::100", 80, Forward::Masq, 2),
            dest("2001:db8::101", 8080, Forward::Masq, 1),
            dest("2001:db8::102", 80, Forward::Tunnel, 1),
        ],
    );
    let used: BTreeSet<Scheduler> = s.services.values().map(|v| v.service.scheduler).collect();
    for (i, scheduler) in schedulers.iter().filter(|s| !used.contains(s)).enumerate() {
        let flags = if *scheduler == Scheduler::Mh {
            service_flags::SCHED1
        } else {
            0
        };
        add(
            &mut s,
            Service {
                flags,
                ..Service::new(tcp("203.0.113.1", 8000 + i as u16), *scheduler)
            },
            vec![dest("198.51.100.20", 80, Forward::Route, 1)],
        );
    }
    s
}

fn ipvsadm(args: &[&str]) -> String {
    let out = Command::new("ipvsadm").args(args).output().expect("run ipvsadm");
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// ipvsadm's views of the table: the plain list, then the thresholds and the tunnel settings,
/// which the plain list does not show.
fn ipvsadm_views() -> String {
    let mut text = String::new();
    for view in [&["-Ln"][..], &["-Ln", "--thresholds"], &["-Ln", "--tun-info"]] {
        text.push_str(&format!("## ipvsadm {}\n", view.join(" ")));
        text.push_str(&ipvsadm(view));
    }
    text
}

fn check_listing(what: &str, expected: &str) {
    let actual = ipvsadm_views();
    if actual != expected {
        println!("---- ipvsadm {what}, actual ----\n{actual}---- expected ----\n{expected}----");
        panic!("ipvsadm's listing {what} differs from tests/ipvs_vm/*.txt (both printed above)");
    }
}

fn sync(dp: &mut IpvsDataplane, desired: &LbState) -> Vec<Change> {
    let owned: BTreeSet<ServiceKey> = desired.services.keys().copied().collect();
    let actual = dp.read().expect("read");
    let changes = reconcile(desired, &actual, &owned);
    dp.apply(&changes).expect("apply");
    changes
}

#[test]
#[ignore = "runs inside the VM, started by ipvs_on_a_real_kernel"]
fn guest_side() {
    assert!(
        std::env::var_os(GUEST_MARKER).is_some(),
        "guest_side flushes the IPVS table: it runs only inside the test VM"
    );
    let mut dp = IpvsDataplane::open().expect("open IPVS");
    dp.flush().expect("flush");
    let schedulers = kernel_schedulers();
    println!(
        "guest_side: IPVS family id {}, schedulers: {}",
        dp.family_id(),
        schedulers.iter().map(|s| s.name()).collect::<Vec<_>>().join(" ")
    );
    assert!(
        schedulers.contains(&Scheduler::Rr),
        "the VM loaded no scheduler modules"
    );

    // Info and timeouts, as ipvsadm shows them.
    let info = dp.info().unwrap();
    assert_eq!(info.banner(), ipvsadm(&["-Ln"]).lines().next().unwrap());
    let defaults = Timeouts {
        tcp: 900,
        tcp_fin: 120,
        udp: 300,
    };
    assert_eq!(dp.timeouts().unwrap(), defaults);
    let changed = Timeouts {
        tcp: 1000,
        tcp_fin: 60,
        udp: 30,
    };
    dp.set_timeouts(changed).unwrap();
    assert_eq!(dp.timeouts().unwrap(), changed);
    dp.set_timeouts(defaults).unwrap();

    // 1. Everything at once, from an empty table.
    let desired = desired_state(&schedulers);
    let started = Instant::now();
    let changes = sync(&mut dp, &desired);
    println!(
        "guest_side: applied {} changes ({} services, {} real servers) in {:.1} ms",
        changes.len(),
        desired.services.len(),
        desired.dest_count(),
        started.elapsed().as_secs_f64() * 1e3
    );
    assert_eq!(
        dp.read().unwrap(),
        desired,
        "read back differs from what was applied"
    );
    check_listing(
        "after the first apply",
        include_str!("ipvs_vm/ipvsadm-initial.txt"),
    );
    let listed = dp.list().unwrap();
    assert_eq!(listed.len(), desired.services.len());
    assert!(listed
        .iter()
        .all(|l| l.service.flags & service_flags::HASHED != 0));

    // 2. One weight changed, one real server removed: two changes, nothing else touched.
    let mut next = desired.clone();
    let web = tcp("192.0.2.10", 80);
    let web_state: &mut ServiceState = next.services.get_mut(&web).unwrap();
    web_state
        .dests
        .get_mut(&DestKey {
            addr: ip("198.51.100.1"),
            port: 80,
        })
        .unwrap()
        .weight = 7;
    web_state.dests.remove(&DestKey {
        addr: ip("198.51.100.3"),
        port: 80,
    });
    let changes = sync(&mut dp, &next);
    assert!(
        matches!(changes.as_slice(), [Change::EditDest(..), Change::DeleteDest(..)]),
        "{changes:?}"
    );
    assert_eq!(dp.read().unwrap(), next);
    check_listing(
        "after the incremental change",
        include_str!("ipvs_vm/ipvsadm-incremental.txt"),
    );

    // 3. A refused change: reported with its index, the changes before it stay applied.
    let extra = tcp("203.0.113.99", 80);
    let good_dest = dest("198.51.100.30", 80, Forward::Masq, 1);
    let refused = if schedulers.contains(&Scheduler::Twos) {
        // A kernel with every scheduler: refuse a lower threshold above the upper one.
        Change::AddDest(
            extra,
            Dest {
                upper_threshold: 1,
                lower_threshold: 2,
                ..dest("198.51.100.31", 80, Forward::Masq, 1)
            },
        )
    } else {
        Change::AddService(Service::new(tcp("203.0.113.98", 80), Scheduler::Twos))
    };
    let batch = vec![
        Change::AddService(Service::new(extra, Scheduler::Rr)),
        Change::AddDest(extra, good_dest.clone()),
        refused,
        Change::AddDest(extra, dest("198.51.100.32", 80, Forward::Masq, 1)),
    ];
    let err = dp.apply(&batch).expect_err("the third change must be refused");
    println!("guest_side: refused as expected: {err}");
    assert_eq!(err.change, Some(2));
    assert!(
        err.message.contains("ENOENT") || err.message.contains("ERANGE"),
        "{err}"
    );
    let after = dp.read().unwrap();
    let extra_state = after
        .services
        .get(&extra)
        .expect("the service added before the refusal");
    assert_eq!(
        extra_state.dests.values().cloned().collect::<Vec<_>>(),
        vec![good_dest]
    );
    assert!(!after.services.contains_key(&tcp("203.0.113.98", 80)));

    // The kernel's other refusals, worded.
    let err = dp
        .apply(&[Change::AddService(Service::new(web, Scheduler::Rr))])
        .unwrap_err();
    assert_eq!(err.change, Some(0));
    assert!(
        err.message.contains("EEXIST") && err.message.contains("already exists"),
        "{err}"
    );
    let inverted_thresholds = Dest {
        upper_threshold: 1,
        lower_threshold: 2,
        ..dest("198.51.100.33", 80, Forward::Masq, 1)
    };
    let err = dp
        .apply(&[Change::AddDest(extra, inverted_thresholds)])
        .unwrap_err();
    assert!(
        err.message.contains("ERANGE") && err.message.contains("out of range"),
        "{err}"
    );
    let err = dp
        .apply(&[Change::DeleteService(tcp("203.0.113.250", 1))])
        .unwrap_err();
    assert!(
        err.message.contains("ESRCH") && err.message.contains("no such virtual service"),
        "{err}"
    );

    dp.flush().unwrap();
    assert_eq!(dp.read().unwrap(), LbState::default());
    println!("guest_side: all checks passed");
}
