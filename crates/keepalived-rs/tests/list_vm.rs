//! `keepalived-rs list` against `ipvsadm -Ln` on a real kernel's IPVS table.
//!
//! This machine's kernel has no IPVS, so the test boots Debian's kernel under qemu
//! (`tools/ipvs-vm/run.sh`) with our binary, ipvsadm and this test binary inside.
//! `list_vm_guest.sh` builds a table with every kind of service (TCP, UDP with ops, SCTP,
//! fwmark IPv4/IPv6 and one of 2^31 + 2, IPv6 with a prefix mask, persistence with a mask and
//! a pe, sh/mh flags, NAT/DR/tunnels of each type, thresholds, weight 0, one service per
//! scheduler module) and sends traffic through it (connections held open, closed ones in
//! TIME_WAIT, persistence templates, UDP, 100 MiB so that the byte counters scale to K).
//! Then `guest_side` runs, for each set of options below, ipvsadm, our binary, and ipvsadm
//! again: when the two ipvsadm outputs agree (the kernel's rate estimates change every two
//! seconds), ours must be identical to them, byte for byte, exit status and error text
//! included. Nothing is normalized.
//!
//! The guest also writes the table as read by `ka_net::listing` (JSON) with ipvsadm's output
//! of each view taken around it; `KA_LIST_VM_CAPTURE=DIR` copies them to DIR: that is how
//! `crates/ka-lb/tests/listing/` was captured.
//!
//! Needs root (qemu, the kernel package cache); skips with a loud message otherwise, or
//! fails with `KA_REQUIRE_TOOLS=1`. Bounded: the VM gets `VM_TIMEOUT`.
#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The bound on the VM (boot, setup with the 100 MiB transfer, the comparisons, power-off).
const VM_TIMEOUT: Duration = Duration::from_secs(150);
/// The bound on run.sh as a whole (plus the initramfs, and on a fresh machine installing
/// qemu and fetching the kernel once).
const RUN_TIMEOUT: Duration = Duration::from_secs(400);

/// Options given to both `ipvsadm -Ln` and `keepalived-rs list`.
const OPTION_SETS: &[&[&str]] = &[
    &[],
    &["--stats"],
    &["--rate"],
    &["--thresholds"],
    &["--persistent-conn"],
    &["--tun-info"],
    &["--stats", "--exact"],
    &["--rate", "--exact"],
    &["--nosort"],
    &["--sort", "--persistent-conn"],
    // Several views: ipvsadm's precedence decides.
    &["--stats", "--rate"],
    &["--rate", "--thresholds"],
    &["--thresholds", "--persistent-conn", "--tun-info"],
    // One service.
    &["-t", "192.0.2.10:80"],
    &["-t", "192.0.2.10:81", "--stats"],
    &["-t", "192.0.2.10:81", "--rate", "--exact"],
    &["-t", "192.0.2.10:83", "--persistent-conn"],
    &["-u", "192.0.2.10:53", "--stats"],
    &["--sctp-service", "192.0.2.12:3868"],
    &["-t", "192.0.2.11:443", "--tun-info"],
    &["-u", "192.0.2.13:5060"],
    &["-t", "[2001:db8::10]:80", "--persistent-conn"],
    &["-f", "1", "--thresholds"],
    &["-f", "2", "-6"],
    &["-f", "2147483650"],
    // Not there: "No such service", exit 1.
    &["-t", "203.0.113.250:1"],
    &["-f", "2"],
];

/// The views captured with the model for `ka-lb`'s golden test: file name, options.
const CAPTURED_VIEWS: &[(&str, &[&str])] = &[
    ("plain", &[]),
    ("stats", &["--stats"]),
    ("rate", &["--rate"]),
    ("thresholds", &["--thresholds"]),
    ("persistent-conn", &["--persistent-conn"]),
    ("tun-info", &["--tun-info"]),
    ("stats-exact", &["--stats", "--exact"]),
    ("rate-exact", &["--rate", "--exact"]),
    ("nosort", &["--nosort"]),
];

/// Set by the guest script: `guest_side` only makes sense inside the VM.
const GUEST_MARKER: &str = "KA_LIST_GUEST";

fn skip_or_fail(why: &str) {
    if std::env::var_os("KA_REQUIRE_TOOLS").is_some_and(|v| v == "1") {
        panic!("list_matches_ipvsadm_on_a_real_kernel: {why} (KA_REQUIRE_TOOLS=1)");
    }
    eprintln!("\n!!!!! SKIPPED list_matches_ipvsadm_on_a_real_kernel: {why} !!!!!\n");
}

#[test]
fn list_matches_ipvsadm_on_a_real_kernel() {
    if !support::can_run("list_matches_ipvsadm_on_a_real_kernel", &["ipvsadm", "strip"]) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("ka-list-vm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ours = support::stripped(&support::our_binary(), &dir.join("keepalived-rs"));
    let test_bin = support::stripped(&std::env::current_exe().unwrap(), &dir.join("list_vm"));
    let ipvsadm = ["/usr/sbin/ipvsadm", "/sbin/ipvsadm"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("ipvsadm in /usr/sbin or /sbin");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = dir.join("out");
    let mut cmd = Command::new(repo.join("tools/ipvs-vm/run.sh"));
    cmd.arg("-t")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/list_vm_guest.sh"))
        .arg("-b")
        .arg(format!("{} {}", ours.display(), test_bin.display()))
        .arg("-e")
        .arg(format!("TEST_BIN={}", test_bin.display()))
        .arg("-e")
        .arg(format!("KA_RS={}", ours.display()))
        .arg("-e")
        .arg(format!("IPVSADM={ipvsadm}"))
        .arg("-o")
        .arg(&out)
        .arg("-T")
        .arg(VM_TIMEOUT.as_secs().to_string());
    let started = Instant::now();
    let (code, console) = support::run_bounded(&mut cmd, &dir.join("run.log"), RUN_TIMEOUT);
    println!("{console}");
    println!("VM test took {:.1} s", started.elapsed().as_secs_f64());
    if let Some(capture) = std::env::var_os("KA_LIST_VM_CAPTURE") {
        let _ = std::fs::create_dir_all(&capture);
        let _ = Command::new("sh")
            .arg("-c")
            .arg("cp -a \"$0\"/. \"$1\"/")
            .arg(&out)
            .arg(&capture)
            .status();
        eprintln!("guest files copied to {}", PathBuf::from(capture).display());
    }
    let _ = std::fs::remove_dir_all(&dir);
    match code {
        Some(0) => assert!(
            console.contains("guest_side: all listings identical"),
            "the guest exited 0 without finishing its comparisons"
        ),
        // run.sh's own setup failed (packages, kernel download): no VM to test in.
        Some(126) => skip_or_fail("tools/ipvs-vm/run.sh could not set up qemu or the kernel (see above)"),
        None => panic!("tools/ipvs-vm/run.sh ran over {RUN_TIMEOUT:?}"),
        other => panic!("the listing comparison in the VM failed (exit {other:?}); its output is above"),
    }
}

/// What a command printed and how it ended.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Printed {
    stdout: String,
    stderr: String,
    code: Option<i32>,
}

fn run(program: &str, args: &[&str]) -> Printed {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {program}: {e}"));
    Printed {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code(),
    }
}

/// ipvsadm with `options`, then `between`, then ipvsadm again, until the two ipvsadm runs
/// agree (the table did not change meanwhile: rates are re-estimated every two seconds).
fn between_stable_ipvsadm<T>(options: &[&str], mut between: impl FnMut() -> T) -> (Printed, T) {
    let ipvsadm = std::env::var("IPVSADM").unwrap_or_else(|_| "ipvsadm".into());
    let mut args = vec!["-Ln"];
    args.extend_from_slice(options);
    for _ in 0..10 {
        let before = run(&ipvsadm, &args);
        let value = between();
        let after = run(&ipvsadm, &args);
        if before == after {
            return (before, value);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    panic!("ipvsadm {args:?} never gave the same output twice in a row");
}

/// The lines of `a` and `b` side by side, `!` where they differ.
fn side_by_side(a: &str, b: &str) -> String {
    let (la, lb): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let width = la.iter().map(|l| l.len()).max().unwrap_or(0).max(10);
    (0..la.len().max(lb.len()))
        .map(|i| {
            let (x, y) = (la.get(i).copied().unwrap_or(""), lb.get(i).copied().unwrap_or(""));
            let mark = if x == y { ' ' } else { '!' };
            format!("{mark} {x:<width$} | {y}\n")
        })
        .collect()
}

#[test]
#[ignore = "runs inside the VM, started by list_matches_ipvsadm_on_a_real_kernel"]
fn guest_side() {
    assert!(
        std::env::var_os(GUEST_MARKER).is_some(),
        "guest_side expects the VM's table: it runs only inside the test VM"
    );
    let ours = std::env::var("KA_RS").expect("KA_RS: our binary");
    let out = Path::new("/out");

    // 1. The table as ka_net::listing reads it, with ipvsadm's views around it, for
    // ka-lb's golden test (first, while the bulk transfer's rates are still high).
    let (views, table) = {
        let ipvsadm = std::env::var("IPVSADM").unwrap_or_else(|_| "ipvsadm".into());
        let views = || -> Vec<Printed> {
            CAPTURED_VIEWS
                .iter()
                .map(|(_, options)| {
                    let mut args = vec!["-Ln"];
                    args.extend_from_slice(options);
                    run(&ipvsadm, &args)
                })
                .collect()
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            // Start right after the kernel's rate estimator ticked (every two seconds), so
            // that the capture fits between two ticks.
            let rates = run(&ipvsadm, &["-Ln", "--rate", "--exact"]);
            let waited = Instant::now();
            while run(&ipvsadm, &["-Ln", "--rate", "--exact"]) == rates
                && waited.elapsed() < Duration::from_secs(3)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let before = views();
            let table = ka_net::listing::ipvs_table().expect("read the IPVS table");
            if before == views() {
                break (before, table);
            }
            assert!(attempt < 10, "the table kept changing while it was captured");
        }
    };
    let json = serde_json::json!({ "header": table.header, "services": table.services });
    std::fs::write(
        out.join("table.json"),
        serde_json::to_string_pretty(&json).unwrap() + "\n",
    )
    .unwrap();
    for ((name, _), printed) in CAPTURED_VIEWS.iter().zip(&views) {
        std::fs::write(out.join(format!("ipvsadm-{name}.txt")), &printed.stdout).unwrap();
    }
    // The capture must show what the comparisons were about.
    let stats = &views[1].stdout;
    assert!(
        stats.contains('K'),
        "no counter reached ipvsadm's K scaling:\n{stats}"
    );
    let plain = &views[0].stdout;
    assert!(
        plain
            .lines()
            .any(|l| l.starts_with("  ->") && l.split_whitespace().nth(4).is_some_and(|a| a != "0")),
        "no real server has an active connection:\n{plain}"
    );

    let mut failures = Vec::new();
    // 2. Every set of options: ours between two identical ipvsadm runs.
    for options in OPTION_SETS {
        let (theirs, mine) = between_stable_ipvsadm(options, || {
            let mut args = vec!["list", "--dataplane", "ipvs"];
            args.extend_from_slice(options);
            run(&ours, &args)
        });
        if theirs == mine {
            println!(
                "guest_side: identical: {options:?} ({} lines)",
                theirs.stdout.lines().count()
            );
        } else {
            println!(
                "guest_side: DIFFERENT: {options:?}\n  ipvsadm | ours\n{}  stderr {:?} | {:?}\n  exit {:?} | {:?}",
                side_by_side(&theirs.stdout, &mine.stdout),
                theirs.stderr,
                mine.stderr,
                theirs.code,
                mine.code
            );
            failures.push(format!("{options:?}"));
        }
    }

    // 3. ipvsadm's own spellings, on the default data plane choice (IPVS here).
    for (spelling, options) in [
        (&["-Ln"][..], &[][..]),
        (&["--list", "--stats"], &["--stats"]),
        (&["-L", "-n", "--exact", "--rate"], &["--exact", "--rate"]),
        (&["-LnX", "--stats"], &["--exact", "--stats"]),
    ] {
        let (theirs, mine) = between_stable_ipvsadm(options, || run(&ours, spelling));
        if theirs != mine {
            println!(
                "guest_side: DIFFERENT: keepalived-rs {spelling:?}\n{}",
                side_by_side(&theirs.stdout, &mine.stdout)
            );
            failures.push(format!("keepalived-rs {spelling:?}"));
        }
    }

    assert!(failures.is_empty(), "listings differ for: {failures:?}");
    println!(
        "guest_side: all listings identical ({} option sets)",
        OPTION_SETS.len() + 4
    );
}
