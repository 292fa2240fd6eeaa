//! The systemd unit's `CapabilityBoundingSet=` (packaging/keepalived-rs.service), checked
//! against the daemon: with exactly those capabilities (`setpriv --bounding-set`, as systemd
//! applies them to a root service) every feature that needs one works — VIPs on a VMAC,
//! nftables load balancing, notify scripts run as another user, a notify FIFO handed to its
//! reader's user, MISC_CHECK scripts of another user killed at their timeout, a TCP_CHECK
//! bound to a port below 1024, the VRRP thread at its default real-time priority — and
//! without any one of them something breaks, so none is there for nothing. (CAP_SYS_MODULE is for `modprobe ip_vs`, which this kernel has no
//! module for: it is kept on keepalived's word and not checked here.)
//!
//! Every run has its own network namespace and directory; the runs go in parallel.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use support::Netns;

/// What one run achieved.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Feature {
    VipOnVmac,
    NftablesTable,
    NotifyScriptAsNobody,
    FifoGivenToReader,
    FifoLinesWritten,
    ForeignScriptKilled,
    LowPortBind,
    VrrpThreadRealTime,
}

use Feature::*;

const ALL: [Feature; 8] = [
    VipOnVmac,
    NftablesTable,
    NotifyScriptAsNobody,
    FifoGivenToReader,
    FifoLinesWritten,
    ForeignScriptKilled,
    LowPortBind,
    VrrpThreadRealTime,
];

/// The capabilities the unit grants, from the unit file itself.
fn unit_capabilities() -> Vec<String> {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../packaging/keepalived-rs.service");
    let text = std::fs::read_to_string(&unit).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("CapabilityBoundingSet="))
        .expect("the unit sets CapabilityBoundingSet=");
    line.split_whitespace()
        .map(|c| c.trim_start_matches("CAP_").to_ascii_lowercase())
        .collect()
}

fn config(dir: &Path) -> String {
    let d = dir.display();
    format!(
        "global_defs {{\n    router_id unit_caps\n    script_user nobody\n    enable_script_security\n\
         \x20   vrrp_notify_fifo {d}/vrrp.fifo\n    vrrp_notify_fifo_script {d}/fifo.sh nobody\n}}\n\
         vrrp_instance VI_1 {{\n    state MASTER\n    interface eth0\n    use_vmac vrrp.61\n\
         \x20   virtual_router_id 61\n    version 3\n    priority 150\n    advert_int 0.1\n\
         \x20   notify_master {d}/notify.sh\n    virtual_ipaddress {{\n        192.0.2.99/24\n    }}\n}}\n\
         virtual_server 127.0.0.1 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         \x20   real_server 127.0.0.2 18092 {{\n        TCP_CHECK {{\n            connect_timeout 1\n\
         \x20           bindto 127.0.0.1\n            bind_port 999\n            retry 0\n        }}\n    }}\n\
         \x20   real_server 127.0.0.3 18092 {{\n        MISC_CHECK {{\n            misc_path {d}/slow.sh\n\
         \x20           misc_timeout 1\n            user nobody\n        }}\n    }}\n}}\n"
    )
}

fn script(path: &Path, body: &str) {
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// Runs the daemon for a few seconds with the bounding set `caps`; returns what worked and
/// its log.
fn run_with(caps: &[String], tag: &str) -> (BTreeSet<Feature>, String) {
    let dir = std::env::temp_dir().join(support::unique(&format!("kars-cap-{tag}-")));
    std::fs::create_dir_all(&dir).unwrap();
    // The scripts run as nobody and write here.
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
    let _cleanup = RemoveDir(dir.clone());
    let ns = Netns::new("kcap");
    ns.add_dummy_like("eth0");
    ns.exec_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    let d = dir.display();
    script(&dir.join("notify.sh"), &format!("id -u > {d}/notify-ran-as"));
    script(
        &dir.join("slow.sh"),
        &format!("echo $$ >> {d}/misc-pids\nexec sleep 30"),
    );
    script(&dir.join("fifo.sh"), &format!("exec cat \"$1\" >> {d}/fifo.log"));
    std::fs::write(dir.join("k.conf"), config(&dir)).unwrap();

    let bounding: String = std::iter::once("-all".to_string())
        .chain(caps.iter().map(|c| format!("+{c}")))
        .collect::<Vec<_>>()
        .join(",");
    let log_path = dir.join("log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = ns
        .command("setpriv")
        .arg(format!("--bounding-set={bounding}"))
        .arg("--inh-caps=-all")
        .arg(support::our_binary())
        .args(["-n", "-l", "--dataplane", "nftables", "-f"])
        .arg(dir.join("k.conf"))
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap();
    // Long enough for mastership (~0.4 s), the FIFO lines, and two MISC_CHECK timeouts.
    std::thread::sleep(Duration::from_millis(6500));

    let mut worked = BTreeSet::new();
    // setpriv execs the daemon: the child's pid is the daemon's, and its main thread runs VRRP.
    if vrrp_thread_is_real_time(child.id()) {
        worked.insert(VrrpThreadRealTime);
    }
    let addresses = ns.exec_ok(&["ip", "-br", "addr"]);
    if addresses
        .lines()
        .any(|l| l.starts_with("vrrp.61") && l.contains("192.0.2.99"))
    {
        worked.insert(VipOnVmac);
    }
    if ns
        .exec(&["nft", "list", "tables"])
        .stdout
        .windows(16)
        .any(|w| w == b"keepalived_rs_lb")
    {
        worked.insert(NftablesTable);
    }
    if std::fs::read_to_string(dir.join("notify-ran-as")).is_ok_and(|u| u.trim() == "65534") {
        worked.insert(NotifyScriptAsNobody);
    }
    let fifo_owner =
        std::fs::metadata(dir.join("vrrp.fifo")).map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    if fifo_owner.is_ok_and(|uid| uid == 65534) {
        worked.insert(FifoGivenToReader);
    }
    if std::fs::read_to_string(dir.join("fifo.log")).is_ok_and(|l| l.contains("INSTANCE \"VI_1\" MASTER")) {
        worked.insert(FifoLinesWritten);
    }
    if timed_out_scripts_were_killed(&dir.join("misc-pids")) {
        worked.insert(ForeignScriptKilled);
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = std::fs::read_to_string(&log_path).unwrap_or_default();
    if !text.contains("TCP socket bind failed") && text.contains("[127.0.0.2]:tcp:18092") {
        worked.insert(LowPortBind);
    }
    (worked, text)
}

/// The daemon's main (VRRP) thread runs SCHED_RR: the policy, field 41 of its stat.
fn vrrp_thread_is_real_time(pid: u32) -> bool {
    const SCHED_RR: &str = "2";
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rfind(')')
        .and_then(|k| stat.get(k + 2..))
        .and_then(|rest| rest.split(' ').nth(38))
        .is_some_and(|policy| policy == SCHED_RR)
}

/// Every MISC_CHECK run but the last has timed out (it sleeps 30 s, the timeout is 1 s):
/// true when at least one such run was seen and none of them is still alive.
fn timed_out_scripts_were_killed(pid_file: &Path) -> bool {
    let pids = std::fs::read_to_string(pid_file).unwrap_or_default();
    let pids: Vec<&str> = pids.lines().collect();
    let Some((_last, timed_out)) = pids.split_last() else {
        return false;
    };
    !timed_out.is_empty()
        && timed_out.iter().all(|pid| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            !status
                .lines()
                .any(|l| l.split_whitespace().eq(["Name:", "sleep"]))
        })
}

struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn the_units_capabilities_are_all_needed_and_enough() {
    if !support::can_run("unit_capabilities", &["ip", "nft", "setpriv"]) {
        return;
    }
    if Command::new("id")
        .arg("nobody")
        .output()
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        panic!("unit_capabilities: the user nobody is needed");
    }
    let granted = unit_capabilities();
    // What each capability is checked by: removing it must break that feature.
    let breaks: &[(&str, &[Feature])] = &[
        ("net_admin", &[VipOnVmac, NftablesTable]),
        ("net_raw", &[VipOnVmac]),
        ("net_bind_service", &[LowPortBind]),
        ("setuid", &[NotifyScriptAsNobody]),
        ("setgid", &[NotifyScriptAsNobody]),
        ("kill", &[ForeignScriptKilled]),
        ("chown", &[FifoGivenToReader]),
        ("dac_override", &[FifoLinesWritten]),
        ("sys_nice", &[VrrpThreadRealTime]),
    ];
    for (cap, _) in breaks {
        assert!(
            granted.iter().any(|g| g == cap),
            "the unit no longer grants {cap}: {granted:?}"
        );
    }
    let unchecked: Vec<&String> = granted
        .iter()
        .filter(|g| *g != "sys_module" && !breaks.iter().any(|(c, _)| c == g))
        .collect();
    assert!(
        unchecked.is_empty(),
        "capabilities in the unit that this test does not show to be needed: {unchecked:?}"
    );

    // Every run at once: each has its own namespace.
    let full = std::thread::spawn({
        let granted = granted.clone();
        move || run_with(&granted, "all")
    });
    let without: Vec<_> = breaks
        .iter()
        .map(|(cap, expected)| {
            let caps: Vec<String> = granted.iter().filter(|g| g != cap).cloned().collect();
            let tag = cap.replace('_', "");
            (cap, *expected, std::thread::spawn(move || run_with(&caps, &tag)))
        })
        .collect();

    let (worked, log) = full.join().unwrap();
    let missing: Vec<&Feature> = ALL.iter().filter(|f| !worked.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "with the unit's capabilities {granted:?}, these did not work: {missing:?}\n{log}"
    );
    for (cap, expected, run) in without {
        let (worked, log) = run.join().unwrap();
        for f in expected {
            assert!(
                !worked.contains(f),
                "without {cap}, {f:?} still worked: the capability looks unneeded\n{log}"
            );
        }
    }
}
