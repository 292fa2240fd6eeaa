//! The daemon on a LAN of network namespaces, against itself and against real keepalived
//! 2.2.7 in both roles: who holds the VIP after start, SIGKILL of the master, restart
//! (preemption), SIGTERM (priority 0); every VRRP frame checked with tshark.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::time::Duration;
use support::topology::{host_v4, tshark_announcements, tshark_vrrp, wait_for, Impl, Lan};

#[derive(Clone, Copy, Debug)]
struct Scenario {
    name: &'static str,
    vrid: u8,
    version: u8,
    ipv6: bool,
    unicast: bool,
    /// advert_int as written.
    advert: &'static str,
    /// Master_Down plus a margin for process start and scheduling, in ms.
    takeover_ms: u64,
}

const V2_SEED: Scenario = Scenario {
    name: "v2-pass",
    vrid: 51,
    version: 2,
    ipv6: false,
    unicast: false,
    advert: "1",
    takeover_ms: 6000,
};
const V3_V4: Scenario = Scenario {
    name: "v3-ipv4",
    vrid: 52,
    version: 3,
    ipv6: false,
    unicast: false,
    advert: "0.1",
    takeover_ms: 2500,
};
const V3_V6: Scenario = Scenario {
    name: "v3-ipv6",
    vrid: 53,
    version: 3,
    ipv6: true,
    unicast: false,
    advert: "0.1",
    takeover_ms: 2500,
};
const V3_UNICAST: Scenario = Scenario {
    name: "v3-unicast",
    vrid: 54,
    version: 3,
    ipv6: false,
    unicast: true,
    advert: "0.1",
    takeover_ms: 2500,
};

impl Scenario {
    fn vip(&self) -> &'static str {
        if self.ipv6 {
            "2001:db8::99"
        } else {
            "192.0.2.99"
        }
    }

    /// A configuration for host `me` with `priority`, peering with host `peer`.
    fn config(&self, me: usize, peer: usize, priority: u8, extra: &str) -> String {
        let state = if priority > 100 { "MASTER" } else { "BACKUP" };
        let auth = if self.version == 2 {
            // The seed's authentication block.
            "    authentication {\n        auth_type PASS\n        auth_pass keepsync\n    }\n"
        } else {
            ""
        };
        let unicast = if self.unicast {
            format!(
                "    unicast_src_ip {}\n    unicast_peer {{\n        {}\n    }}\n",
                host_v4(me),
                host_v4(peer)
            )
        } else {
            String::new()
        };
        let prefix = if self.ipv6 { 64 } else { 24 };
        format!(
            "global_defs {{\n    router_id host{me}\n}}\nvrrp_instance VI_1 {{\n    state {state}\n    interface eth0\n    virtual_router_id {}\n    version {}\n    priority {priority}\n    advert_int {}\n{auth}{unicast}{extra}    virtual_ipaddress {{\n        {}/{prefix}\n    }}\n}}\n",
            self.vrid,
            self.version,
            self.advert,
            self.vip()
        )
    }
}

fn pid_to_kill(lan: &Lan, pid: u32, which: Impl) -> Vec<u32> {
    match which {
        // A crash of keepalived is its VRRP child dying, then the parent: killing only the
        // parent makes the child stop gracefully (it gets SIGTERM from PDEATHSIG).
        Impl::Keepalived => vec![lan.vrrp_pid(pid, which), pid],
        Impl::Ours => vec![pid],
    }
}

/// The whole story for one scenario and pair of implementations: `first` runs the
/// higher-priority node on host 0, `second` the lower one on host 1.
fn failover_story(s: Scenario, first: Impl, second: Impl) {
    let label = format!("{} {first:?}(master) vs {second:?}(backup)", s.name);
    let mut lan = Lan::new(2);
    let pcap = lan.start_capture(s.name);
    let vip = s.vip();
    let take = Duration::from_millis(s.takeover_ms);
    let a = lan.start(0, first, &s.config(0, 1, 150, ""));
    let _b = lan.start(1, second, &s.config(1, 0, 100, ""));

    // 1. After start exactly one node holds the VIP: the higher priority.
    assert!(
        wait_for(take, || lan.holders(vip) == vec![0]),
        "{label}: start: holders {:?}\n{}",
        lan.holders(vip),
        lan.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        lan.holders(vip),
        vec![0],
        "{label}: still one master after settling\n{}",
        lan.logs()
    );

    // 2. SIGKILL of the master: the backup takes the VIP (the dead node keeps its copy).
    for pid in pid_to_kill(&lan, a, first) {
        lan.signal(pid, "KILL");
    }
    assert!(
        wait_for(take, || lan.holds(1, vip)),
        "{label}: after SIGKILL the backup should hold the VIP\n{}",
        lan.logs()
    );

    // 3. The master comes back: it cleans up what its crash left and preempts.
    let a = lan.start(0, first, &s.config(0, 1, 150, ""));
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![0]),
        "{label}: restart should preempt: holders {:?}\n{}",
        lan.holders(vip),
        lan.logs()
    );

    // 4. SIGTERM: priority 0, the backup takes over after its skew, the master releases.
    lan.signal(a, "TERM");
    assert!(
        wait_for(take, || lan.holders(vip) == vec![1]),
        "{label}: SIGTERM: holders {:?}\n{}",
        lan.holders(vip),
        lan.logs()
    );
    assert!(
        lan.wait_exit(a, Duration::from_secs(5)),
        "{label}: SIGTERM should end the master"
    );
    std::thread::sleep(Duration::from_millis(300));
    lan.stop_capture();

    // Every VRRP frame decodes with a good checksum, nothing malformed, and the new master
    // announced the VIP (gratuitous ARP / unsolicited NA from host 1's MAC).
    let frames = tshark_vrrp(&pcap);
    assert!(
        frames.len() >= 5,
        "{label}: only {} VRRP frames captured",
        frames.len()
    );
    for f in &frames {
        assert_eq!(f.2, "1", "{label}: checksum status of {f:?}");
        assert!(!f.3, "{label}: malformed frame {f:?}");
    }
    assert!(
        frames.iter().any(|f| f.1 == 0),
        "{label}: a priority-0 advert was sent on SIGTERM"
    );
    let announcements = tshark_announcements(&pcap);
    assert!(
        announcements.iter().any(|m| m == "02:00:00:00:00:12"),
        "{label}: no GARP/NA from the new master: {announcements:?}"
    );
}

fn can_run(name: &str) -> bool {
    support::can_run(name, &["ip", "keepalived", "tcpdump", "tshark"])
}

#[test]
fn v2_pass_seed_instance() {
    if !can_run("v2_pass_seed_instance") {
        return;
    }
    failover_story(V2_SEED, Impl::Ours, Impl::Ours);
    failover_story(V2_SEED, Impl::Ours, Impl::Keepalived);
    failover_story(V2_SEED, Impl::Keepalived, Impl::Ours);
}

#[test]
fn v3_ipv4() {
    if !can_run("v3_ipv4") {
        return;
    }
    failover_story(V3_V4, Impl::Ours, Impl::Ours);
    failover_story(V3_V4, Impl::Ours, Impl::Keepalived);
    failover_story(V3_V4, Impl::Keepalived, Impl::Ours);
}

#[test]
fn v3_ipv6() {
    if !can_run("v3_ipv6") {
        return;
    }
    failover_story(V3_V6, Impl::Ours, Impl::Ours);
    failover_story(V3_V6, Impl::Ours, Impl::Keepalived);
    failover_story(V3_V6, Impl::Keepalived, Impl::Ours);
}

#[test]
fn v3_unicast() {
    if !can_run("v3_unicast") {
        return;
    }
    failover_story(V3_UNICAST, Impl::Ours, Impl::Ours);
    failover_story(V3_UNICAST, Impl::Ours, Impl::Keepalived);
    failover_story(V3_UNICAST, Impl::Keepalived, Impl::Ours);
}

#[test]
fn nopreempt_keeps_the_running_master() {
    if !can_run("nopreempt_keeps_the_running_master") {
        return;
    }
    for (first, second) in [(Impl::Ours, Impl::Keepalived), (Impl::Keepalived, Impl::Ours)] {
        let s = V3_V4;
        let mut lan = Lan::new(2);
        let vip = s.vip();
        let take = Duration::from_millis(s.takeover_ms);
        // Host 1 starts alone and becomes master.
        lan.start(1, second, &s.config(1, 0, 100, ""));
        assert!(
            wait_for(take, || lan.holders(vip) == vec![1]),
            "{first:?}/{second:?}\n{}",
            lan.logs()
        );
        // Host 0 has a higher priority but nopreempt (which needs state BACKUP).
        let cfg = s
            .config(0, 1, 150, "    nopreempt\n")
            .replace("state MASTER", "state BACKUP");
        lan.start(0, first, &cfg);
        std::thread::sleep(take);
        assert_eq!(
            lan.holders(vip),
            vec![1],
            "{first:?} with nopreempt must not preempt\n{}",
            lan.logs()
        );
    }
}

#[test]
fn track_script_failure_hands_over_and_interface_down_means_fault() {
    if !can_run("track_script_failure_hands_over") {
        return;
    }
    let s = V3_V4;
    let mut lan = Lan::new(2);
    let vip = s.vip();
    let take = Duration::from_millis(s.takeover_ms);
    let flag = lan.dir.join("healthy");
    std::fs::write(&flag, "ok").unwrap();
    let script = format!(
        "vrrp_script chk {{\n    script \"/bin/test -e {}\"\n    interval 0.2\n    weight -60\n}}\n",
        flag.display()
    );
    let cfg = s.config(0, 1, 150, "    track_script {\n        chk\n    }\n");
    let cfg = cfg.replacen("vrrp_instance", &format!("{script}vrrp_instance"), 1);
    lan.start(0, Impl::Ours, &cfg);
    lan.start(1, Impl::Keepalived, &s.config(1, 0, 100, ""));
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![0]),
        "{}",
        lan.logs()
    );
    // The script fails: priority 150 - 60 = 90 < 100, the peer preempts.
    std::fs::remove_file(&flag).unwrap();
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![1]),
        "script failure should hand over\n{}",
        lan.logs()
    );
    // It recovers: back to 150, we preempt again.
    std::fs::write(&flag, "ok").unwrap();
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![0]),
        "script recovery should take back\n{}",
        lan.logs()
    );
    // Our interface goes down: FAULT, the VIP leaves us, the peer takes over.
    lan.hosts[0].exec_ok(&["ip", "link", "set", "eth0", "down"]);
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![1]),
        "interface down should mean FAULT\n{}",
        lan.logs()
    );
    assert!(lan.logs().contains("Entering FAULT STATE"), "{}", lan.logs());
}

#[test]
fn reload_keeps_state_and_refuses_a_broken_file() {
    if !can_run("reload_keeps_state") {
        return;
    }
    let s = V3_V4;
    let mut lan = Lan::new(2);
    let vip = s.vip();
    let take = Duration::from_millis(s.takeover_ms);
    let cfg = s.config(0, 1, 150, "");
    let a = lan.start(0, Impl::Ours, &cfg);
    lan.start(1, Impl::Keepalived, &s.config(1, 0, 100, ""));
    assert!(wait_for(take, || lan.holders(vip) == vec![0]), "{}", lan.logs());
    let log = lan.dir.join("h0-0.log");
    let entered = |l: &str| l.matches("Entering").count();
    let before = entered(&std::fs::read_to_string(&log).unwrap());
    // Same file: no transition.
    lan.signal(a, "HUP");
    assert!(wait_for(Duration::from_secs(5), || std::fs::read_to_string(&log)
        .unwrap()
        .contains("Reload finished")));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        entered(&std::fs::read_to_string(&log).unwrap()),
        before,
        "unchanged reload: no transition"
    );
    assert_eq!(lan.holders(vip), vec![0]);
    // A broken file: refused, nothing changes.
    std::fs::write(
        lan.dir.join("h0-0.conf"),
        format!("{cfg}vrrp_instance BROKEN {{\n    virtual_router_id\n"),
    )
    .unwrap();
    lan.signal(a, "HUP");
    assert!(
        wait_for(Duration::from_secs(5), || std::fs::read_to_string(&log)
            .unwrap()
            .contains("Reload refused")),
        "{}",
        lan.logs()
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(entered(&std::fs::read_to_string(&log).unwrap()), before);
    assert_eq!(lan.holders(vip), vec![0]);
}

#[test]
fn use_vmac_interoperates_and_is_removed_on_stop() {
    if !can_run("use_vmac_interoperates") {
        return;
    }
    let s = V3_V4;
    let mut lan = Lan::new(2);
    let pcap = lan.start_capture("vmac");
    let vip = s.vip();
    let take = Duration::from_millis(s.takeover_ms);
    let vmac = "    use_vmac\n";
    let a = lan.start(0, Impl::Ours, &s.config(0, 1, 150, vmac));
    lan.start(1, Impl::Keepalived, &s.config(1, 0, 100, vmac));
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![0]),
        "{}",
        lan.logs()
    );
    // The VIP sits on vrrp.52, whose MAC is the VRRP virtual MAC for VRID 52.
    let link = lan.hosts[0].exec_ok(&["ip", "-o", "link", "show", "vrrp.52"]);
    assert!(link.contains("00:00:5e:00:01:34"), "{link}");
    let addrs = lan.hosts[0].exec_ok(&["ip", "-o", "addr", "show", "dev", "vrrp.52"]);
    assert!(addrs.contains(vip), "{addrs}");
    let arp_ignore = lan.hosts[0].exec_ok(&["cat", "/proc/sys/net/ipv4/conf/vrrp.52/arp_ignore"]);
    assert_eq!(arp_ignore.trim(), "1");
    lan.signal(a, "TERM");
    assert!(wait_for(take, || lan.holders(vip) == vec![1]), "{}", lan.logs());
    assert!(lan.wait_exit(a, Duration::from_secs(5)));
    // Our VMAC is gone and the parent's sysctls are back to what they were.
    let links = lan.hosts[0].exec_ok(&["ip", "-o", "link", "show"]);
    assert!(!links.contains("vrrp.52"), "{links}");
    let arp_filter = lan.hosts[0].exec_ok(&["cat", "/proc/sys/net/ipv4/conf/eth0/arp_filter"]);
    assert_eq!(arp_filter.trim(), "0");
    std::thread::sleep(Duration::from_millis(300));
    lan.stop_capture();
    // Adverts and gratuitous ARPs of both nodes came from the virtual MAC.
    let announcements = tshark_announcements(&pcap);
    assert!(
        !announcements.is_empty() && announcements.iter().all(|m| m == "00:00:5e:00:01:34"),
        "{announcements:?}"
    );
}

#[test]
fn seed_configs_fail_over_as_the_article_describes() {
    if !can_run("seed_configs_fail_over") {
        return;
    }
    // The seed cluster's two configurations as shipped in examples/seed (addresses moved to
    // 192.0.2.0/24), on hosts whose interface is enp0s3 as in the article.
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/seed");
    let master = std::fs::read_to_string(examples.join("master.conf")).unwrap();
    let backup = std::fs::read_to_string(examples.join("backup.conf")).unwrap();
    let mut lan = Lan::with_ifname(2, "enp0s3");
    let vip = "192.0.2.99";
    // advert_int 1 s, priorities 101/100: Master_Down 3.6 s plus start-up.
    let take = Duration::from_secs(6);
    let a = lan.start(0, Impl::Ours, &master);
    lan.start(1, Impl::Ours, &backup);
    assert!(
        wait_for(take, || lan.holders(vip) == vec![0]),
        "the master holds the VIP\n{}",
        lan.logs()
    );
    lan.signal(a, "KILL");
    assert!(
        wait_for(take, || lan.holds(1, vip)),
        "the backup takes over when the master dies\n{}",
        lan.logs()
    );
    lan.start(0, Impl::Ours, &master);
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![0]),
        "the master takes it back\n{}",
        lan.logs()
    );
    // vrrp_strict: the master is not the address owner, so the VIP is in no_accept mode.
    let rules = lan.hosts[0].exec_ok(&["nft", "list", "set", "ip", "keepalived_rs", "vips"]);
    assert!(rules.contains(vip), "{rules}");
}

#[test]
fn track_file_and_track_process_drive_priority_and_fault() {
    if !can_run("track_file_and_track_process") {
        return;
    }
    let s = V3_V4;
    let mut lan = Lan::new(2);
    let vip = s.vip();
    let take = Duration::from_millis(s.takeover_ms);
    let file = lan.dir.join("weight");
    // A process of our own with a unique name (process names are visible across network
    // namespaces, so `sleep` would match anything).
    let prog = lan.dir.join("kars-trk-proc");
    std::fs::copy("/bin/sleep", &prog).unwrap();
    // Another test thread may fork while the copy's write descriptor is open, and its child
    // holds it until exec: ETXTBSY for a moment.
    let spawn = || std::process::Command::new(&prog).arg("600").spawn();
    let mut proc_child = (0..50)
        .map(|_| spawn())
        .find(|r| match r {
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(Duration::from_millis(20));
                false
            }
            _ => true,
        })
        .unwrap_or_else(spawn)
        .unwrap();
    let trackers = format!(
        "track_file tf {{\n    file \"{}\"\n    weight 1\n    init_file 0 overwrite\n}}\nvrrp_track_process tp {{\n    process kars-trk-proc\n    quorum 1\n}}\n",
        file.display()
    );
    let cfg = s.config(
        0,
        1,
        150,
        "    track_file {\n        tf\n    }\n    track_process {\n        tp\n    }\n",
    );
    let cfg = cfg.replacen("vrrp_instance", &format!("{trackers}vrrp_instance"), 1);
    lan.start(0, Impl::Ours, &cfg);
    lan.start(1, Impl::Keepalived, &s.config(1, 0, 100, ""));
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![0]),
        "{}",
        lan.logs()
    );
    // The file's number is added to the priority: 150 - 60 = 90 < 100, the peer preempts.
    std::fs::write(&file, "-60\n").unwrap();
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![1]),
        "track_file -60 should hand over\n{}",
        lan.logs()
    );
    std::fs::write(&file, "0\n").unwrap();
    assert!(
        wait_for(take * 2, || lan.holders(vip) == vec![0]),
        "track_file 0 should take back\n{}",
        lan.logs()
    );
    // The tracked process goes away: weight 0 means FAULT.
    proc_child.kill().unwrap();
    let _ = proc_child.wait();
    assert!(
        wait_for(take * 3, || lan.holders(vip) == vec![1]),
        "process gone should mean FAULT\n{}",
        lan.logs()
    );
    assert!(lan.logs().contains("Entering FAULT STATE"), "{}", lan.logs());
}

/// A root-owned 0755 directory under /run holding a notify script: keepalived (and we, with
/// `enable_script_security`) refuse scripts in paths others can write, which rules out /tmp.
/// The script appends "USER ARGS" to `out/events`; `out` is writable by the script user.
struct ScriptDir {
    dir: std::path::PathBuf,
}

impl ScriptDir {
    fn new() -> ScriptDir {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::path::PathBuf::from("/run").join(support::unique("kars-scripts"));
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let out = dir.join("out");
        std::fs::create_dir(&out).unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o777)).unwrap();
        let script = dir.join("notify.sh");
        std::fs::write(
            &script,
            format!("#!/bin/sh\necho \"$(id -un) $*\" >> {}/events\n", out.display()),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        // The FIFO's reader: keepalived starts it with the FIFO's path appended.
        let reader = dir.join("fifo.sh");
        std::fs::write(
            &reader,
            format!("#!/bin/sh\nexec cat \"$1\" >> {}/fifo.log\n", out.display()),
        )
        .unwrap();
        std::fs::set_permissions(&reader, std::fs::Permissions::from_mode(0o755)).unwrap();
        ScriptDir { dir }
    }

    fn script(&self) -> String {
        self.dir.join("notify.sh").display().to_string()
    }

    fn events(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("out/events"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn fifo(&self) -> String {
        self.dir.join("out/fifo").display().to_string()
    }

    fn fifo_lines(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.join("out/fifo.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }
}

impl Drop for ScriptDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs one node through BACKUP (start) → MASTER (alone) → BACKUP (a higher-priority peer
/// appears) → STOP (SIGTERM), and returns what its notify scripts and FIFO saw:
/// (per-state script lines, `notify` script lines, FIFO lines, FIFO removed at exit).
fn notify_story(which: Impl) -> (Vec<String>, Vec<String>, Vec<String>, bool) {
    let s = V3_V4;
    let mut lan = Lan::new(2);
    let scripts = ScriptDir::new();
    let take = Duration::from_millis(s.takeover_ms);
    let sh = scripts.script();
    let extra = format!(
        "    notify_master \"{sh} master\"\n    notify_backup \"{sh} backup\"\n    notify_fault \"{sh} fault\"\n    notify_stop \"{sh} stop\"\n    notify \"{sh} notify\"\n"
    );
    let global = format!(
        "global_defs {{\n    router_id host0\n    enable_script_security\n    script_user nobody\n    notify_fifo {}\n    notify_fifo_script {}/fifo.sh\n}}\n",
        scripts.fifo(),
        scripts.dir.display()
    );
    let cfg = s.config(0, 1, 100, &extra);
    let cfg = cfg.replacen("global_defs {\n    router_id host0\n}\n", &global, 1);
    let node = lan.start(0, which, &cfg);
    assert!(
        wait_for(take * 2, || lan.holders(s.vip()) == vec![0]),
        "{which:?}: alone it becomes master\n{}",
        lan.logs()
    );
    lan.start(1, Impl::Ours, &s.config(1, 0, 200, ""));
    assert!(
        wait_for(take * 2, || lan.holders(s.vip()) == vec![1]),
        "{which:?}: the higher priority preempts\n{}",
        lan.logs()
    );
    std::thread::sleep(Duration::from_millis(300));
    lan.signal(node, "TERM");
    assert!(
        lan.wait_exit(node, Duration::from_secs(5)),
        "{which:?}: SIGTERM ends it"
    );
    // Scripts run detached; give the last ones a moment to append.
    std::thread::sleep(Duration::from_millis(500));
    let events = scripts.events();
    let (notify, specific): (Vec<String>, Vec<String>) = events
        .into_iter()
        .partition(|l| l.split_whitespace().nth(1) == Some("notify"));
    let fifo_gone = !std::path::Path::new(&scripts.fifo()).exists();
    (specific, notify, scripts.fifo_lines(), fifo_gone)
}

#[test]
fn notify_scripts_and_fifo_match_keepalived() {
    if !can_run("notify_scripts_and_fifo_match_keepalived") {
        return;
    }
    if !std::process::Command::new("id")
        .arg("nobody")
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("SKIP notify_scripts_and_fifo_match_keepalived: no user 'nobody'");
        return;
    }
    let theirs = notify_story(Impl::Keepalived);
    let ours = notify_story(Impl::Ours);
    // What keepalived 2.2.7 does, written out so the test says it, then ours must equal it.
    let expected_notify: Vec<String> = ["BACKUP", "MASTER", "BACKUP", "STOP"]
        .iter()
        .map(|st| format!("nobody notify INSTANCE VI_1 {st} 100"))
        .collect();
    assert_eq!(
        theirs.1, expected_notify,
        "keepalived's notify lines (test assumption)"
    );
    assert_eq!(ours.1, theirs.1, "notify script: ours vs keepalived");
    let mut ours_specific = ours.0.clone();
    let mut theirs_specific = theirs.0.clone();
    // Per-state scripts race with the notify script only across files, not among
    // themselves: transitions are hundreds of milliseconds apart.
    assert_eq!(
        theirs_specific,
        vec!["nobody backup", "nobody master", "nobody backup", "nobody stop"],
        "keepalived's per-state lines (test assumption)"
    );
    ours_specific.sort();
    theirs_specific.sort();
    assert_eq!(
        ours_specific, theirs_specific,
        "per-state scripts: ours vs keepalived"
    );
    assert_eq!(ours.0, theirs.0, "per-state scripts in order");
    let expected_fifo: Vec<String> = ["BACKUP", "MASTER", "BACKUP", "STOP"]
        .iter()
        .map(|st| format!("INSTANCE \"VI_1\" {st} 100"))
        .collect();
    // keepalived terminates its FIFO script before it writes the STOP lines, so the script
    // never reads them; we write them first, then end the script (README: differences).
    assert_eq!(
        theirs.2,
        expected_fifo[..3],
        "keepalived's FIFO lines (test assumption)"
    );
    assert_eq!(ours.2, expected_fifo, "FIFO lines: keepalived's, plus STOP");
    // keepalived 2.2.7 leaves the FIFO it created behind; we remove ours.
    let _ = theirs.3;
    assert!(ours.3, "the FIFO we created is removed at exit");
}

#[test]
fn vip_removed_by_someone_else_is_reclaimed_like_keepalived() {
    if !can_run("vip_removed_by_someone_else") {
        return;
    }
    let s = V3_V4;
    let take = Duration::from_millis(s.takeover_ms);
    for master in [Impl::Keepalived, Impl::Ours] {
        let mut lan = Lan::new(2);
        let pcap = lan.start_capture("vip-removed");
        lan.start(0, master, &s.config(0, 1, 150, ""));
        lan.start(1, Impl::Ours, &s.config(1, 0, 100, ""));
        assert!(
            wait_for(take * 2, || lan.holders(s.vip()) == vec![0]),
            "{master:?}: start\n{}",
            lan.logs()
        );
        std::thread::sleep(Duration::from_millis(300));
        lan.hosts[0].exec_ok(&["ip", "addr", "del", &format!("{}/24", s.vip()), "dev", "eth0"]);
        // keepalived's set_vrrp_backup: priority 0, BACKUP, and master again after the skew
        // time (150 beats the peer's skew), with the VIP reinstalled.
        assert!(
            wait_for(take, || lan.holders(s.vip()) == vec![0]),
            "{master:?}: the master reclaims its VIP: holders {:?}\n{}",
            lan.holders(s.vip()),
            lan.logs()
        );
        std::thread::sleep(Duration::from_millis(500));
        assert_eq!(lan.holders(s.vip()), vec![0], "{master:?}: settled");
        lan.stop_capture();
        // The hand-back is visible on the wire: a priority-0 advert from host 0, then
        let frames = tshark_vrrp(&pcap);
        assert!(
            frames.iter().any(|f| f.0 == host_v4(0) && f.1 == 0),
            "{master:?}: no priority-0 advert after the VIP was removed: {frames:?}"
        );
        // host 0's gratuitous ARPs again: a second burst of garp_master_repeat (5). A slow
        // machine may also see the garp_master_delay refresh (5 s after each burst).
        let announcements = tshark_announcements(&pcap);
        let from_host0 = announcements.iter().filter(|m| *m == "02:00:00:00:00:11").count();
        assert!(
            (10..=20).contains(&from_host0),
            "{master:?}: the VIP is announced again: {announcements:?}"
        );
    }
}
