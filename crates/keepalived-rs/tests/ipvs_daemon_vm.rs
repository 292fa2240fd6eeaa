//! The daemon programs IPVS exactly as keepalived 2.2.7 does, on a real kernel.
//!
//! This machine's kernel has no IPVS, so the test boots Debian's kernel under qemu
//! (`tools/ipvs-vm/run.sh`) with real keepalived and our binary inside, and runs
//! `ipvs_daemon_vm_guest.sh` there (topology and steps are described at its top). For each
//! configuration written below, keepalived (`-C -n -l -f`) and then keepalived-rs
//! (`-C -n -l --dataplane ipvs -f`) start on an empty table; once every checker has reported
//! and the table is still, `ipvsadm -Ln` (also `--thresholds`, `--persistent-conn`,
//! `--tun-info`) must be identical for the two, and so must the table after SIGTERM (empty).
//! Nothing is normalized: the listings are taken before any traffic, so every counter is 0 in
//! both. Then:
//! - traffic from two clients through the seed's DR and NAT VIPs reaches both real servers
//!   (with our daemon);
//! - a real server's httpd killed is removed (and kept at weight 0 where inhibit_on_failure)
//!   within delay_loop + retry × delay_before_retry + connect_timeout, and re-added once
//!   restarted; keepalived's delays in the same VM are printed beside ours.
//!
//! Needs root (qemu, the kernel package cache) and keepalived; skips with a loud message
//! otherwise, or fails with `KA_REQUIRE_TOOLS=1`. Bounded: the VM gets `VM_TIMEOUT` seconds.
//! `KA_VM_KEEP=DIR` keeps the guest's files (logs, listings) in DIR.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The bound on the VM (boot, both daemons on three configurations, power-off).
const VM_TIMEOUT: Duration = Duration::from_secs(110);
/// The bound on run.sh as a whole: the VM plus building its initramfs (and, on a fresh
/// machine, installing qemu and fetching the kernel package once).
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// The seed cluster's virtual_server (../shared/seed-cluster/master.conf; backup.conf adds
/// `nb_get_retry 3` and `delay_before_retry 3`), its addresses mapped to documentation ranges:
/// VIP 192.168.1.99 → 192.0.2.10, real servers 192.168.1.13/.14 → 198.51.100.11/.12. Then the
/// same as NAT on VIP 192.0.2.20.
const SEED_CONF: &str = r#"global_defs {
    router_id vm_seed
}

virtual_server 192.0.2.10 80 {
    delay_loop 6
    lb_algo lc
    lb_kind DR
    persistence_timeout 50
    protocol TCP

    real_server 198.51.100.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 3
            delay_before_retry 3
            connect_port 80
        }
    }
    real_server 198.51.100.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 3
            delay_before_retry 3
            connect_port 80
        }
    }
}

virtual_server 192.0.2.20 80 {
    delay_loop 6
    lb_algo lc
    lb_kind NAT
    persistence_timeout 50
    protocol TCP

    real_server 198.51.100.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 3
            delay_before_retry 3
            connect_port 80
        }
    }
    real_server 198.51.100.12 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 3
            retry 3
            delay_before_retry 3
            connect_port 80
        }
    }
}
"#;
/// Checker result lines SEED_CONF logs once settled: one per checker.
const SEED_LINES: usize = 4;

/// Every scheduler (the 6.1 kernel has no twos) and forwarding method (NAT, DR, TUN with
/// IPIP, GUE and GRE), TCP/UDP/SCTP, ops, the sh/mh flags, a persistence engine, fwmark
/// services (IPv4, IPv6, in a group), an IPv6 service, persistence granularity (mask and
/// prefix), thresholds, a group with an address range, quorum with and without hysteresis and
/// sorry servers (plain and inhibit), inhibit_on_failure (real server and virtual server
/// level), alpha. Checks pass against httpd on port 80 and are refused on port 8081; real
/// servers without a checker are always up.
const FULL_CONF: &str = r#"global_defs {
    router_id vm_full
}

virtual_server_group web_group {
    192.0.2.50-51 80
    fwmark 3
}

virtual_server 192.0.2.40 80 {
    delay_loop 2
    warmup 0
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 80 {
        weight 1
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.12 80 {
        weight 2
        uthreshold 100
        lthreshold 50
    }
}

virtual_server 192.0.2.40 81 {
    lb_algo wrr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 81 {
        weight 3
    }
    real_server 198.51.100.12 81 {
        weight 1
    }
}

virtual_server 192.0.2.40 82 {
    lb_algo lc
    lb_kind TUN
    protocol TCP
    real_server 198.51.100.11 82 {
    }
    real_server 198.51.100.12 82 {
    }
}

virtual_server 192.0.2.40 83 {
    lb_algo wlc
    lb_kind TUN
    protocol TCP
    real_server 198.51.100.11 83 {
        lvs_method TUN type gue port 6080 csum
    }
    real_server 198.51.100.12 83 {
        lvs_method TUN type gre
    }
    real_server 198.51.100.13 83 {
        lvs_method TUN type gue port 6081 remcsum
    }
}

virtual_server 192.0.2.40 53 {
    lb_algo lblc
    lb_kind DR
    protocol UDP
    ops
    real_server 198.51.100.11 53 {
    }
    real_server 198.51.100.12 53 {
    }
}

virtual_server 192.0.2.40 84 {
    lb_algo lblcr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 84 {
    }
}

virtual_server 192.0.2.40 85 {
    lb_algo dh
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 85 {
    }
}

virtual_server 192.0.2.40 86 {
    lb_algo sh
    sh-port
    sh-fallback
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 86 {
        weight 4
    }
}

virtual_server 192.0.2.40 87 {
    lb_algo sed
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 87 {
    }
}

virtual_server 192.0.2.40 88 {
    lb_algo nq
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 88 {
    }
}

virtual_server 192.0.2.40 89 {
    lb_algo fo
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 89 {
        weight 5
    }
    real_server 198.51.100.12 89 {
        weight 9
    }
}

virtual_server 192.0.2.40 90 {
    lb_algo ovf
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 90 {
        weight 2
    }
}

virtual_server 192.0.2.40 91 {
    lb_algo mh
    mh-port
    mh-fallback
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 91 {
    }
    real_server 198.51.100.12 91 {
    }
}

virtual_server 192.0.2.40 92 {
    lb_algo rr
    lb_kind NAT
    protocol SCTP
    real_server 198.51.100.11 92 {
    }
}

virtual_server 192.0.2.40 5060 {
    lb_algo rr
    lb_kind DR
    protocol UDP
    persistence_timeout 60
    persistence_engine sip
    real_server 198.51.100.11 5060 {
    }
}

virtual_server fwmark 1 {
    lb_algo wlc
    lb_kind DR
    persistence_timeout 300
    persistence_granularity 255.255.255.0
    real_server 198.51.100.11 80 {
        weight 2
    }
    real_server 198.51.100.12 80 {
    }
}

virtual_server fwmark 2 {
    ip_family inet6
    lb_algo sh
    lb_kind TUN
    real_server 2001:db8:100::11 80 {
    }
    real_server 2001:db8:100::12 80 {
    }
}

virtual_server 2001:db8:2::40 80 {
    delay_loop 2
    warmup 0
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    persistence_timeout 120
    persistence_granularity 64
    real_server 2001:db8:100::11 80 {
        weight 2
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 2001:db8:100::12 8081 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
        }
    }
}

virtual_server 192.0.2.41 80 {
    delay_loop 2
    warmup 0
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 198.51.100.13 80
    real_server 198.51.100.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.12 8081 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}

virtual_server 192.0.2.41 81 {
    delay_loop 2
    warmup 0
    lb_algo rr
    lb_kind NAT
    protocol TCP
    quorum 2
    hysteresis 1
    sorry_server 198.51.100.13 81
    sorry_server_inhibit
    real_server 198.51.100.11 81 {
        TCP_CHECK {
            connect_timeout 1
            connect_port 80
        }
    }
    real_server 198.51.100.12 81 {
        TCP_CHECK {
            connect_timeout 1
            connect_port 80
        }
    }
    real_server 198.51.100.11 8081 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
        }
    }
}

virtual_server 192.0.2.41 82 {
    delay_loop 2
    warmup 0
    lb_algo wrr
    lb_kind NAT
    protocol TCP
    quorum 2
    sorry_server 198.51.100.13 82
    real_server 198.51.100.11 82 {
        TCP_CHECK {
            connect_timeout 1
            connect_port 80
        }
    }
    real_server 198.51.100.12 82 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            connect_port 8081
        }
    }
}

virtual_server 192.0.2.41 83 {
    delay_loop 2
    warmup 0
    lb_algo rr
    lb_kind NAT
    protocol TCP
    inhibit_on_failure
    real_server 198.51.100.11 83 {
        TCP_CHECK {
            connect_timeout 1
            connect_port 8081
        }
    }
    real_server 198.51.100.12 83 {
        weight 3
        TCP_CHECK {
            connect_timeout 1
            connect_port 80
        }
    }
}

virtual_server 192.0.2.41 84 {
    delay_loop 2
    warmup 0
    lb_algo rr
    lb_kind NAT
    protocol TCP
    alpha
    real_server 198.51.100.11 84 {
        TCP_CHECK {
            connect_timeout 1
            connect_port 80
        }
    }
    real_server 198.51.100.12 84 {
        TCP_CHECK {
            connect_timeout 1
            connect_port 8081
        }
    }
}

virtual_server group web_group {
    delay_loop 2
    warmup 0
    lb_algo rr
    lb_kind DR
    protocol TCP
    real_server 198.51.100.11 80 {
        TCP_CHECK {
            connect_timeout 1
        }
    }
    real_server 198.51.100.12 80 {
    }
}
"#;
/// Checker result lines FULL_CONF logs once settled: one per checker (14), except the alpha
/// checker that fails (keepalived logs nothing when an alpha checker's first result is a
/// failure: it is down already).
const FULL_LINES: usize = 13;

/// A real server killed and restarted: small timers, one virtual server that removes the
/// failed real server and one that keeps it at weight 0 (inhibit_on_failure).
const FLAP_CONF: &str = r#"global_defs {
    router_id vm_flap
}

virtual_server 192.0.2.30 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 198.51.100.12 80 {
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}

virtual_server 192.0.2.31 80 {
    delay_loop 2
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 198.51.100.11 80 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
    real_server 198.51.100.12 80 {
        inhibit_on_failure
        TCP_CHECK {
            connect_timeout 1
            retry 1
            delay_before_retry 1
        }
    }
}
"#;
const FLAP_LINES: usize = 4;
/// FLAP_CONF's timers (seconds).
const FLAP_DELAY_LOOP: f64 = 2.0;
const FLAP_RETRY: f64 = 1.0;
const FLAP_DELAY_BEFORE_RETRY: f64 = 1.0;
const FLAP_CONNECT_TIMEOUT: f64 = 1.0;
/// What the guest's polling adds to a measured delay: one `ipvsadm -Ln` per 50 ms, slow
/// under TCG.
const POLL_SLACK: f64 = 0.3;

/// Where a test keeps its files; removed on drop unless `KA_VM_KEEP` names a directory to
/// copy the guest's files to.
struct WorkDir(PathBuf);

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Some(keep) = std::env::var_os("KA_VM_KEEP") {
            let _ = Command::new("cp")
                .arg("-a")
                .arg(self.0.join("out"))
                .arg(&keep)
                .status();
            eprintln!("guest files kept in {}", PathBuf::from(keep).display());
        }
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn skip_or_fail(why: &str) {
    if std::env::var_os("KA_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
        panic!("daemon_programs_ipvs_as_keepalived_does: {why} (KA_REQUIRE_TOOLS=1)");
    }
    eprintln!("\n!!!!! SKIPPED daemon_programs_ipvs_as_keepalived_does: {why} !!!!!\n");
}

fn read(out: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(out.join(name)).ok()
}

/// The lines of `a` and `b` side by side, marking those that differ.
fn side_by_side(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let width = la.iter().map(|l| l.len()).max().unwrap_or(0).max(10);
    let mut s = format!("  {:width$} | keepalived-rs\n", "keepalived 2.2.7");
    for i in 0..la.len().max(lb.len()) {
        let (x, y) = (la.get(i).copied().unwrap_or(""), lb.get(i).copied().unwrap_or(""));
        s += &format!("{} {x:width$} | {y}\n", if x == y { ' ' } else { '!' });
    }
    s
}

/// The services in a listing (lines that are not headers nor destinations).
fn service_count(listing: &str) -> usize {
    listing
        .lines()
        .filter(|l| ["TCP ", "UDP ", "SCTP ", "FWM "].iter().any(|p| l.starts_with(p)))
        .count()
}

fn dest_count(listing: &str) -> usize {
    listing
        .lines()
        .filter(|l| l.starts_with("  -> ") && !l.contains("RemoteAddress"))
        .count()
}

/// The log lines about IPVS changes (real servers and sorry servers added, removed, enabled,
/// disabled; quorum; shutdown), without the timestamp, sorted.
fn ipvs_log_lines(log: &str) -> Vec<String> {
    const WORDS: [&str; 7] = [
        "Adding ",
        "Removing ",
        "Enabling ",
        "Disabling ",
        "quorum",
        "sorry server",
        "Shutting down ",
    ];
    let mut lines: Vec<String> = log
        .lines()
        .filter(|l| WORDS.iter().any(|w| l.contains(w)))
        .map(|l| {
            // ours: "2026-11-25T17:41:37.219Z message"; keepalived's: "Wed Nov 25 17:41:34 2026: message"
            let message = if l.starts_with(|c: char| c.is_ascii_digit()) {
                l.split_once(' ').map(|(_, m)| m)
            } else {
                l.split_once(": ").map(|(_, m)| m)
            };
            message.unwrap_or(l).to_string()
        })
        .collect();
    lines.sort();
    lines
}

fn timings(out: &Path, daemon: &str) -> BTreeMap<String, Option<f64>> {
    read(out, &format!("flap.{daemon}.timings.txt"))
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.trim().parse::<f64>().ok()))
        .collect()
}

#[test]
fn daemon_programs_ipvs_as_keepalived_does() {
    if !support::can_run("daemon_programs_ipvs_as_keepalived_does", &["keepalived"]) {
        return;
    }
    let Some(keepalived) = ["/usr/sbin/keepalived", "/usr/bin/keepalived", "/sbin/keepalived"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
    else {
        panic!("keepalived is on PATH but not in /usr/sbin, /usr/bin or /sbin");
    };
    let dir = std::env::temp_dir().join(format!("ka-ipvs-daemon-vm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let work = WorkDir(dir.clone());
    let ours = support::stripped(&support::our_binary(), &dir.join("keepalived-rs"));
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let guest = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ipvs_daemon_vm_guest.sh");
    let mut cmd = Command::new(repo.join("tools/ipvs-vm/run.sh"));
    cmd.arg("-t").arg(&guest);
    cmd.arg("-b").arg(format!("{keepalived} {}", ours.display()));
    for (name, text) in [("seed", SEED_CONF), ("full", FULL_CONF), ("flap", FLAP_CONF)] {
        let path = dir.join(format!("{name}.conf"));
        std::fs::write(&path, text).unwrap();
        cmd.arg("-f")
            .arg(format!("{}=/etc/ka/{name}.conf", path.display()));
    }
    cmd.arg("-e").arg(format!("KA_RS={}", ours.display()));
    for (var, n) in [
        ("SEED_LINES", SEED_LINES),
        ("FULL_LINES", FULL_LINES),
        ("FLAP_LINES", FLAP_LINES),
    ] {
        cmd.arg("-e").arg(format!("{var}={n}"));
    }
    let out = dir.join("out");
    cmd.arg("-o")
        .arg(&out)
        .arg("-T")
        .arg(VM_TIMEOUT.as_secs().to_string());

    let started = Instant::now();
    let (code, console) = support::run_bounded(&mut cmd, &dir.join("run.log"), RUN_TIMEOUT);
    println!("{console}");
    println!("VM test took {:.1} s", started.elapsed().as_secs_f64());
    match code {
        // run.sh's own setup failed (packages, kernel download): no VM to test in.
        Some(126) => {
            return skip_or_fail("tools/ipvs-vm/run.sh could not set up qemu or the kernel (see above)");
        }
        None => panic!("tools/ipvs-vm/run.sh ran over {RUN_TIMEOUT:?}"),
        Some(124) | Some(125) => {
            panic!("the VM timed out or did not report (exit {code:?}); its output is above")
        }
        _ => {}
    }

    let mut problems = Vec::new();
    if let Some(f) = read(&out, "failures.txt").filter(|f| !f.trim().is_empty()) {
        problems.push(format!("in the guest:\n{f}"));
    }

    // 1. identical listings, after the checks settled and after SIGTERM. keepalived's must
    // hold what the configuration asks for (two empty tables would be identical too).
    let mut compared = 0;
    for (config, services, dests) in [
        ("seed", 2, 4),
        ("full", 26, 45),
        ("flap", 2, 4),
        ("flap.down", 2, 3),
        ("flap.up", 2, 4),
    ] {
        let reference = read(&out, &config_file(config, "ka", "Ln")).unwrap_or_default();
        if (service_count(&reference), dest_count(&reference)) != (services, dests) {
            problems.push(format!(
                "{config}: keepalived's table has {} services and {} destinations, expected {services} and {dests}",
                service_count(&reference),
                dest_count(&reference)
            ));
        }
        for (view, args) in [
            ("Ln", "-Ln"),
            ("thresholds", "-Ln --thresholds"),
            ("persistent", "-Ln --persistent-conn"),
            ("tun", "-Ln --tun-info"),
        ] {
            let (ka, rs) = (config_file(config, "ka", view), config_file(config, "rs", view));
            let (Some(a), Some(b)) = (read(&out, &ka), read(&out, &rs)) else {
                problems.push(format!("{ka} or {rs} is missing"));
                continue;
            };
            compared += 1;
            if view == "Ln" {
                println!(
                    "== {config}: ipvsadm -Ln ({} services)\n{}",
                    service_count(&a),
                    side_by_side(&a, &b)
                );
            }
            if a != b {
                problems.push(format!(
                    "{config}: ipvsadm {args} differs:\n{}",
                    side_by_side(&a, &b)
                ));
            }
        }
    }
    for config in ["seed", "full", "flap"] {
        let (ka, rs) = (
            read(&out, &format!("{config}.ka.after-stop.txt")),
            read(&out, &format!("{config}.rs.after-stop.txt")),
        );
        match (ka, rs) {
            (Some(a), Some(b)) => {
                if service_count(&a) != 0 || a != b {
                    problems.push(format!(
                        "{config}: the table after SIGTERM:\n{}",
                        side_by_side(&a, &b)
                    ));
                }
            }
            _ => problems.push(format!("{config}: a listing after SIGTERM is missing")),
        }
        // The same IPVS changes logged, in keepalived's words (in any order: probes that
        // finish together may report in either order).
        let (ka, rs) = (
            ipvs_log_lines(&read(&out, &format!("{config}.ka.log")).unwrap_or_default()),
            ipvs_log_lines(&read(&out, &format!("{config}.rs.log")).unwrap_or_default()),
        );
        if ka.is_empty() || ka != rs {
            problems.push(format!(
                "{config}: the IPVS changes logged differ:\n{}",
                side_by_side(&ka.join("\n"), &rs.join("\n"))
            ));
        }
    }

    // 2. traffic through the seed's DR and NAT VIPs reached both real servers.
    let traffic = read(&out, "seed.traffic.txt").unwrap_or_default();
    println!(
        "== traffic with keepalived-rs (VIP: what each client got)\n{traffic}\n{}",
        read(&out, "seed.rs.after-traffic.txt").unwrap_or_default()
    );
    for vip in ["192.0.2.10", "192.0.2.20"] {
        let line = traffic.lines().find(|l| l.starts_with(&format!("{vip}:")));
        let reached = |rs: &str| line.is_some_and(|l| l.split_whitespace().any(|w| w == rs));
        if !(reached("rs1") && reached("rs2")) {
            problems.push(format!(
                "traffic through {vip} did not reach both real servers: {line:?}"
            ));
        }
    }

    // 3. flap timing against the formula's bounds; keepalived's beside ours.
    let remove_bound =
        FLAP_DELAY_LOOP + FLAP_RETRY * FLAP_DELAY_BEFORE_RETRY + FLAP_CONNECT_TIMEOUT + POLL_SLACK;
    // A checker that is down keeps probing, every delay_loop or delay_before_retry.
    let readd_bound = FLAP_DELAY_LOOP.max(FLAP_DELAY_BEFORE_RETRY) + FLAP_CONNECT_TIMEOUT + POLL_SLACK;
    let (ka_t, rs_t) = (timings(&out, "ka"), timings(&out, "rs"));
    println!("== flap: seconds from kill/restart of rs2's httpd to the table change (bound incl. {POLL_SLACK} s polling)");
    for (what, bound) in [
        ("removed", remove_bound),
        ("inhibited", remove_bound),
        ("readded", readd_bound),
        ("reenabled", readd_bound),
    ] {
        let show = |t: &BTreeMap<String, Option<f64>>| match t.get(what) {
            Some(Some(s)) => format!("{s:.2}"),
            _ => "never".into(),
        };
        println!(
            "  {what:10} keepalived {:>6}  keepalived-rs {:>6}  bound {bound:.2}",
            show(&ka_t),
            show(&rs_t)
        );
        match rs_t.get(what) {
            Some(Some(s)) if *s <= bound => {}
            other => problems.push(format!("flap: {what} after {other:?} s, bound {bound:.2} s")),
        }
    }
    println!("compared {compared} listings");
    drop(work);
    assert!(
        problems.is_empty(),
        "{} problem(s):\n{}",
        problems.len(),
        problems.join("\n")
    );
}

fn config_file(config: &str, daemon: &str, view: &str) -> String {
    match config.split_once('.') {
        // flap.down → flap.<daemon>.down.<view>.txt
        Some((base, stage)) => format!("{base}.{daemon}.{stage}.{view}.txt"),
        None => format!("{config}.{daemon}.{view}.txt"),
    }
}
