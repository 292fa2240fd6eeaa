//! The daemon under a stand-in for systemd: `$NOTIFY_SOCKET` points at a datagram socket
//! this test binds, `$WATCHDOG_USEC` asks for keep-alives, and the daemon runs in a network
//! namespace with one VRRP instance and one virtual server. Checks what systemd would see:
//! READY=1 once running, RELOADING=1 (with MONOTONIC_USEC) then READY=1 for a good and for a
//! refused reload, STOPPING=1 on SIGTERM, in that order; STATUS= lines following the
//! instance's state and the real servers; WATCHDOG=1 at half the period; and that scripts
//! do not inherit the variables. Then the same protocol with `-C` (no VRRP loop).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::Netns;

/// The notification socket, with every datagram received kept in order.
struct FakeSystemd {
    received: Arc<Mutex<Vec<String>>>,
    path: PathBuf,
}

impl FakeSystemd {
    fn bind(path: PathBuf) -> FakeSystemd {
        let socket = UnixDatagram::bind(&path).unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 4096];
            while let Ok(n) = socket.recv(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        });
        FakeSystemd { received, path }
    }

    fn messages(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    /// Waits for a message with a line satisfying `wanted` after the first `after` messages;
    /// returns its index.
    fn wait_for(&self, after: usize, limit: Duration, wanted: impl Fn(&str) -> bool) -> Option<usize> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let found = self
                .messages()
                .iter()
                .enumerate()
                .skip(after)
                .find(|(_, m)| m.lines().any(&wanted))
                .map(|(i, _)| i);
            if found.is_some() {
                return found;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    fn wait_for_line(&self, after: usize, line: &str) -> Option<usize> {
        self.wait_for(after, Duration::from_secs(15), |l| l == line)
    }

    /// The lifecycle messages only (READY, RELOADING, STOPPING), in order.
    fn lifecycle(&self) -> Vec<&'static str> {
        self.messages()
            .iter()
            .filter_map(|m| {
                m.lines().find_map(|l| match l {
                    "READY=1" => Some("READY"),
                    "RELOADING=1" => Some("RELOADING"),
                    "STOPPING=1" => Some("STOPPING"),
                    _ => None,
                })
            })
            .collect()
    }
}

impl Drop for FakeSystemd {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(ns: &Netns, conf: &Path, notify_socket: &Path, extra: &[&str], log: PathBuf) -> Daemon {
        let file = std::fs::File::create(&log).unwrap();
        let child = ns
            .command(support::our_binary().to_str().unwrap())
            .args(["-n", "-l", "--dataplane", "none"])
            .args(extra)
            .arg("-f")
            .arg(conf)
            .env("NOTIFY_SOCKET", notify_socket)
            .env("WATCHDOG_USEC", "400000")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Daemon { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status();
    }

    /// SIGTERM, then the exit status (within 15 s).
    fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "SIGTERM did not stop the daemon\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn monotonic_usec() -> u64 {
    let t = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC).unwrap();
    t.tv_sec() as u64 * 1_000_000 + t.tv_nsec() as u64 / 1000
}

/// The MONOTONIC_USEC= of message `index`.
fn monotonic_of(systemd: &FakeSystemd, index: usize) -> u64 {
    let m = &systemd.messages()[index];
    m.lines()
        .find_map(|l| l.strip_prefix("MONOTONIC_USEC="))
        .unwrap_or_else(|| panic!("RELOADING=1 without MONOTONIC_USEC: {m:?}"))
        .parse()
        .unwrap()
}

/// SIGHUP; returns the indexes of the RELOADING=1 and of the READY=1 after it, and checks
/// that MONOTONIC_USEC is the time the daemon took the signal up.
fn reload(d: &Daemon, systemd: &FakeSystemd) -> (usize, usize) {
    let after = systemd.messages().len();
    let before = monotonic_usec();
    d.signal("HUP");
    let reloading = systemd
        .wait_for_line(after, "RELOADING=1")
        .unwrap_or_else(|| panic!("no RELOADING=1 after SIGHUP\n{}", d.log()));
    let ready = systemd
        .wait_for_line(reloading + 1, "READY=1")
        .unwrap_or_else(|| panic!("no READY=1 after RELOADING=1\n{}", d.log()));
    let at = monotonic_of(systemd, reloading);
    assert!(
        before <= at && at <= monotonic_usec(),
        "MONOTONIC_USEC={at} not between {before} and now"
    );
    (reloading, ready)
}

fn wait_for_log(d: &Daemon, needle: &str) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        if d.log().contains(needle) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn status_lines(systemd: &FakeSystemd) -> Vec<String> {
    systemd
        .messages()
        .iter()
        .flat_map(|m| m.lines().map(str::to_string).collect::<Vec<_>>())
        .filter_map(|l| l.strip_prefix("STATUS=").map(str::to_string))
        .collect()
}

/// A virtual server whose one real server nobody answers for: it starts in the pool and
/// leaves it after the first check.
const VIRTUAL_SERVER: &str = "virtual_server 127.0.0.1 80 {\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n    real_server 127.0.0.1 18091 {\n        TCP_CHECK {\n            connect_timeout 1\n            retry 0\n        }\n    }\n}\n";

#[test]
fn systemd_hears_ready_reloading_stopping_status_and_keep_alives() {
    if !support::can_run("systemd_notify", &["ip"]) {
        return;
    }
    let dir = std::env::temp_dir().join(support::unique("kars-sdn"));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = RemoveDir(dir.clone());
    let ns = Netns::new("ksd");
    ns.add_dummy_like("eth0");
    ns.exec_ok(&["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"]);

    let env_file = dir.join("script-env");
    let script = dir.join("notify-master.sh");
    std::fs::write(&script, format!("#!/bin/sh\nenv > {}\n", env_file.display())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = format!(
        "global_defs {{\n    router_id sd_notify_test\n}}\nvrrp_instance VI_1 {{\n    state MASTER\n    interface eth0\n    virtual_router_id 61\n    version 3\n    priority 150\n    advert_int 0.1\n    notify_master {}\n    virtual_ipaddress {{\n        192.0.2.99/24\n    }}\n}}\n{VIRTUAL_SERVER}",
        script.display()
    );
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, &config).unwrap();
    let systemd = FakeSystemd::bind(dir.join("notify"));
    let mut d = Daemon::start(&ns, &conf, &systemd.path, &[], dir.join("daemon.log"));

    // Running: READY=1, then the instance becomes master and the real server leaves.
    let ready = systemd
        .wait_for_line(0, "READY=1")
        .unwrap_or_else(|| panic!("no READY=1\n{}", d.log()));
    assert!(
        systemd.messages()[ready].contains("STATUS=VI_1 "),
        "READY=1 carries the status: {:?}",
        systemd.messages()[ready]
    );
    let master_and_down = "STATUS=VI_1 MASTER; 1 virtual server, 0/1 real server up";
    assert!(
        systemd.wait_for_line(ready, master_and_down).is_some(),
        "statuses: {:?}\n{}",
        status_lines(&systemd),
        d.log()
    );
    assert!(
        systemd.messages()[ready].ends_with("1 virtual server, 1/1 real server up"),
        "the real server starts in the pool: {:?}",
        systemd.messages()[ready]
    );

    // Keep-alives at half of WATCHDOG_USEC (200 ms): a few within a second.
    let count_keep_alives = || systemd.messages().iter().filter(|m| *m == "WATCHDOG=1").count();
    let before = count_keep_alives();
    std::thread::sleep(Duration::from_millis(1100));
    let sent = count_keep_alives() - before;
    assert!((3..=8).contains(&sent), "{sent} keep-alives in 1.1 s");

    // notify_master ran without systemd's variables.
    assert!(wait_for_log(&d, "Entering MASTER STATE"), "{}", d.log());
    let start = Instant::now();
    while !env_file.exists() && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let env = std::fs::read_to_string(&env_file).unwrap_or_default();
    assert!(env.contains("PATH="), "the script's environment: {env}");
    for var in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
        assert!(!env.contains(var), "{var} leaked to a script: {env}");
    }

    // A good reload, then a refused one: each RELOADING=1 is answered by READY=1.
    let (_, ready_again) = reload(&d, &systemd);
    assert!(
        systemd.messages()[ready_again].contains("STATUS=VI_1 MASTER"),
        "state kept across the reload: {:?}",
        systemd.messages()[ready_again]
    );
    std::fs::write(&conf, "vrrp_instance VI_1 {\n    interface\n}\n").unwrap();
    reload(&d, &systemd);
    assert!(wait_for_log(&d, "Reload refused"), "{}", d.log());

    // SIGTERM: STOPPING=1, and a clean exit.
    let status = d.stop();
    assert!(status.success(), "exit {status:?}\n{}", d.log());
    assert_eq!(
        systemd.lifecycle(),
        ["READY", "RELOADING", "READY", "RELOADING", "READY", "STOPPING"],
        "{:?}",
        systemd.messages()
    );
    let stopping = systemd.wait_for_line(0, "STOPPING=1").unwrap();
    assert!(
        systemd.messages()[stopping + 1..]
            .iter()
            .all(|m| !m.contains("STATUS=")),
        "the status stays 'Stopping': {:?}",
        &systemd.messages()[stopping..]
    );
    // Every datagram is made of KEY=VALUE lines.
    for m in systemd.messages() {
        assert!(
            m.lines()
                .all(|l| l.split_once('=').is_some_and(|(k, _)| !k.is_empty())),
            "{m:?}"
        );
    }
}

#[test]
fn with_dash_c_the_checker_side_speaks_for_itself() {
    if !support::can_run("systemd_notify", &["ip"]) {
        return;
    }
    let dir = std::env::temp_dir().join(support::unique("kars-sdc"));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = RemoveDir(dir.clone());
    let ns = Netns::new("ksc");
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, VIRTUAL_SERVER).unwrap();
    let systemd = FakeSystemd::bind(dir.join("notify"));
    let mut d = Daemon::start(&ns, &conf, &systemd.path, &["-C"], dir.join("daemon.log"));

    let ready = systemd
        .wait_for_line(0, "READY=1")
        .unwrap_or_else(|| panic!("no READY=1\n{}", d.log()));
    assert!(
        systemd
            .wait_for_line(ready, "STATUS=1 virtual server, 0/1 real server up")
            .is_some(),
        "statuses: {:?}\n{}",
        status_lines(&systemd),
        d.log()
    );
    let before = systemd.messages().iter().filter(|m| *m == "WATCHDOG=1").count();
    std::thread::sleep(Duration::from_millis(700));
    let after = systemd.messages().iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(after >= before + 2, "keep-alives with -C: {before} then {after}");

    reload(&d, &systemd);
    let status = d.stop();
    assert!(status.success(), "exit {status:?}\n{}", d.log());
    assert_eq!(
        systemd.lifecycle(),
        ["READY", "RELOADING", "READY", "STOPPING"],
        "{:?}",
        systemd.messages()
    );
}
