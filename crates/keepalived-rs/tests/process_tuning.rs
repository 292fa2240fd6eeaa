//! keepalived's process-tuning keywords reach the threads they are about: `vrrp_rt_priority`
//! and `vrrp_cpu_affinity` the VRRP thread, `checker_priority` the checker thread, and a
//! notify script started by the real-time VRRP thread runs with normal scheduling (as
//! keepalived's SCHED_RESET_ON_FORK gives).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::time::Duration;
use support::topology::{wait_for, Impl, Lan};

/// (policy, nice) from /proc/<pid>/task/<tid>/stat: fields 19 (nice) and 41 (policy).
fn sched_of(pid: u32, tid: &str) -> (u32, i32) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap();
    // The command name may hold spaces: fields count from after its closing parenthesis.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    (f[38].parse().unwrap(), f[16].parse().unwrap())
}

fn cpus_allowed(pid: u32, tid: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .unwrap()
        .trim()
        .to_string()
}

/// The thread of `pid` named `name`.
fn thread(pid: u32, name: &str) -> Option<String> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .ok()?
        .flatten()
        .find_map(|e| {
            let comm = std::fs::read_to_string(e.path().join("comm")).ok()?;
            (comm.trim() == name).then(|| e.file_name().to_string_lossy().into_owned())
        })
}

const SCHED_OTHER: u32 = 0;
const SCHED_RR: u32 = 2;

#[test]
fn tuning_keywords_reach_their_threads_and_scripts_run_normally() {
    if !support::can_run("process_tuning", &["ip"]) {
        return;
    }
    let mut lan = Lan::new(1);
    let seen = lan.dir.join("script-sched");
    let script = lan.dir.join("notify.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nsed -e 's/^.*) //' /proc/$$/stat | cut -d' ' -f39 > {}.tmp && mv {0}.tmp {0}\n",
            seen.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let config = format!(
        "global_defs {{\n    vrrp_rt_priority 30\n    vrrp_cpu_affinity 0\n    checker_priority 5\n}}\n\
         vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 71\n    priority 150\n    advert_int 1\n\
         \x20   notify_master {}\n    virtual_ipaddress {{\n        192.0.2.71/24\n    }}\n}}\n\
         virtual_server 192.0.2.71 80 {{\n    delay_loop 5\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         \x20   real_server 192.0.2.11 80 {{\n        TCP_CHECK {{\n            connect_timeout 1\n        }}\n    }}\n}}\n",
        script.display()
    );
    let pid = lan.start(0, Impl::Ours, &config);
    assert!(
        wait_for(Duration::from_secs(8), || lan.holds(0, "192.0.2.71")
            && seen.exists()),
        "{}",
        lan.logs()
    );
    let main = pid.to_string();
    assert_eq!(
        sched_of(pid, &main).0,
        SCHED_RR,
        "VRRP thread real-time; {}",
        lan.logs()
    );
    assert_eq!(cpus_allowed(pid, &main), "0", "VRRP thread pinned");
    let checker = thread(pid, "checker").unwrap_or_else(|| panic!("no checker thread; {}", lan.logs()));
    assert_eq!(
        sched_of(pid, &checker),
        (SCHED_OTHER, 5),
        "checker: normal, nice 5"
    );
    if std::thread::available_parallelism().map_or(1, |n| n.get()) > 1 {
        assert_ne!(
            cpus_allowed(pid, &checker),
            "0",
            "the checker is not pinned with VRRP"
        );
    }
    let script_policy: u32 = std::fs::read_to_string(&seen).unwrap().trim().parse().unwrap();
    assert_eq!(script_policy, SCHED_OTHER, "notify script runs normally");
    // A reload (parsed with normal scheduling) leaves the VRRP thread real-time.
    lan.signal(pid, "HUP");
    assert!(
        wait_for(Duration::from_secs(5), || lan.logs().contains("Reload finished")),
        "{}",
        lan.logs()
    );
    assert_eq!(sched_of(pid, &main).0, SCHED_RR, "{}", lan.logs());
    assert!(lan.holds(0, "192.0.2.71"));
}

/// Without vrrp_priority or vrrp_rt_priority, keepalived-rs runs its VRRP thread SCHED_RR at
/// priority 1 (adverts on time under CPU load); the scripts it starts run normally at nice 0.
/// `vrrp_priority 0` gives keepalived's scheduling back.
#[test]
fn the_vrrp_thread_runs_real_time_by_default_and_scripts_normally() {
    if !support::can_run("process_tuning_default", &["ip"]) {
        return;
    }
    let mut lan = Lan::new(2);
    let seen = lan.dir.join("script-sched");
    let script = lan.dir.join("notify.sh");
    // The script's policy (field 41) and nice value (field 19), then its RLIMIT_RTTIME.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{{ sed -e 's/^.*) //' /proc/$$/stat | cut -d' ' -f39,17; grep 'Max realtime timeout' /proc/$$/limits; }} > {}.tmp && mv {0}.tmp {0}\n",
            seen.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let instance = |vrid: u32, notify: &str| {
        format!(
            "vrrp_instance VI_{vrid} {{\n    interface eth0\n    virtual_router_id {vrid}\n    priority 150\n    advert_int 1\n\
             {notify}    virtual_ipaddress {{\n        192.0.2.{vrid}/24\n    }}\n}}\n"
        )
    };
    let by_default = lan.start(
        0,
        Impl::Ours,
        &instance(72, &format!("    notify_master {}\n", script.display())),
    );
    let keepalived_like = lan.start(
        1,
        Impl::Ours,
        &format!("global_defs {{\n    vrrp_priority 0\n}}\n{}", instance(73, "")),
    );
    assert!(
        wait_for(Duration::from_secs(8), || lan.holds(0, "192.0.2.72")
            && lan.holds(1, "192.0.2.73")
            && seen.exists()),
        "{}",
        lan.logs()
    );
    assert_eq!(
        sched_of(by_default, &by_default.to_string()),
        (SCHED_RR, 0),
        "{}",
        lan.logs()
    );
    assert_eq!(rt_priority_of(by_default, &by_default.to_string()), 1);
    assert_eq!(
        sched_of(keepalived_like, &keepalived_like.to_string()),
        (SCHED_OTHER, 0),
        "vrrp_priority 0: keepalived's scheduling; {}",
        lan.logs()
    );
    let script_sched = std::fs::read_to_string(&seen).unwrap();
    let mut lines = script_sched.lines();
    assert_eq!(
        lines.next().unwrap_or("").split_whitespace().collect::<Vec<_>>(),
        ["0", "0"],
        "the notify script inherits nothing (nice, policy)"
    );
    // The daemon's soft real-time limit (no hard one); the script gets the original back.
    assert_eq!(rttime_limit_of(by_default), ["500000", "unlimited"]);
    assert_eq!(
        rttime_fields(lines.next().unwrap_or("")),
        rttime_fields(&std::fs::read_to_string("/proc/self/limits").unwrap()),
        "the notify script's RLIMIT_RTTIME is the one the daemon started with"
    );
    // SIGXCPU (the soft limit reached: 0.5 s at real-time without sleeping) puts the
    // default real-time VRRP thread back to normal scheduling at nice -10.
    lan.signal(by_default, "XCPU");
    // The policy changes just before the warning is written: wait for both.
    assert!(
        wait_for(Duration::from_secs(5), || sched_of(
            by_default,
            &by_default.to_string()
        ) == (SCHED_OTHER, -10)
            && lan.logs().contains("SIGXCPU: the VRRP thread")),
        "{}",
        lan.logs()
    );
}

/// Soft and hard "Max realtime timeout" of a /proc/<pid>/limits text.
fn rttime_fields(limits: &str) -> Vec<String> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max realtime timeout"))
        .map(|rest| rest.split_whitespace().take(2).map(str::to_string).collect())
        .unwrap_or_default()
}

fn rttime_limit_of(pid: u32) -> Vec<String> {
    rttime_fields(&std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap())
}

/// The real-time priority, field 40 of /proc/<pid>/task/<tid>/stat.
fn rt_priority_of(pid: u32, tid: &str) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    rest.split(' ').nth(37).unwrap().parse().unwrap()
}
