//! `bgp_announce` (keepalived-rs extension) from outside, in a namespace: the address is on
//! `lo` exactly while the director can serve it (data plane programmed, quorum), is taken
//! away when the real server fails, on `ctl drain`, and on SIGTERM, comes back on `ctl
//! resume` and when the real server returns, is removed at start after a crash; a file that
//! announces an address no virtual server has is refused. The BGP side (BIRD with ECMP, three
//! directors) is tools/active-active.sh.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Netns;

const VIP: &str = "203.0.113.10";
const RS: &str = "198.51.100.21";

const SERVER: &str = "import socket, sys, time\ns = socket.socket()\ns.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\ns.bind((sys.argv[1], 80)); s.listen(64)\nwhile True:\n    c, _ = s.accept(); c.close()\n";

fn config() -> String {
    format!(
        "virtual_server {VIP} 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
         \x20   real_server {RS} 80 {{\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n            alpha\n        }}\n    }}\n}}\n\
         bgp_announce {{\n    {VIP}\n}}\n"
    )
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(ns: &Netns, conf: &Path, log: &Path) -> Daemon {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)
        .unwrap();
    let bin = support::our_binary();
    Daemon(
        ns.command(bin.to_str().unwrap())
            .args(["-n", "-l", "--dataplane", "nftables", "-f"])
            .arg(conf)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap(),
    )
}

fn on_lo(ns: &Netns) -> bool {
    ns.exec_ok(&["ip", "-o", "addr", "show", "dev", "lo"])
        .contains(&format!("{VIP}/32"))
}

fn ctl(ns: &Netns, action: &str) -> String {
    let bin = support::our_binary();
    let out = ns.exec(&[bin.to_str().unwrap(), "ctl", action]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn reason(ns: &Netns) -> String {
    let status: serde_json::Value = serde_json::from_str(&ctl(ns, "status")).unwrap_or_default();
    status["announce"][0]["reason"].as_str().unwrap_or("").to_string()
}

/// Waits until the address is (or is not) on lo; the time it took.
fn until_on_lo(ns: &Netns, want: bool, limit: Duration, log: &Path) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if on_lo(ns) == want {
            return started.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!(
        "{VIP} {} lo after {limit:?}; status reason {:?}\n{}",
        if want { "never on" } else { "still on" },
        reason(ns),
        std::fs::read_to_string(log).unwrap_or_default()
    );
}

#[test]
fn announced_only_while_fit_to_serve() {
    if !support::can_run("bgp_announce", &["ip", "nft", "python3"]) {
        return;
    }
    let mut ns = Netns::new("kann");
    ns.exec_ok(&["ip", "addr", "add", &format!("{RS}/32"), "dev", "lo"]);
    let dir: PathBuf = std::env::temp_dir().join(support::unique("ka-announce"));
    std::fs::create_dir_all(&dir).unwrap();
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, config()).unwrap();
    let log = dir.join("daemon.log");

    // A crashed run left the address: it goes at start. With the real server down (and
    // `alpha`: down until a check passes) it stays away; once the server answers, it comes.
    ns.exec_ok(&["ip", "addr", "add", &format!("{VIP}/32"), "dev", "lo"]);
    let daemon = start(&ns, &conf, &log);
    until_on_lo(&ns, false, Duration::from_secs(5), &log);
    std::thread::sleep(Duration::from_millis(1500));
    assert!(!on_lo(&ns), "announced without a real server");
    assert!(reason(&ns).starts_with("no quorum"), "{}", reason(&ns));
    let server = ns.spawn(&["python3", "-c", SERVER, RS]);
    until_on_lo(&ns, true, Duration::from_secs(10), &log);
    assert_eq!(reason(&ns), "fit to serve");
    let status: serde_json::Value = serde_json::from_str(&ctl(&ns, "status")).unwrap();
    support::check_schema(&status.to_string());
    assert_eq!(status["announce"][0]["announced"], true);
    assert!(ctl(&ns, "metrics").contains(&format!("keepalived_bgp_announced{{address=\"{VIP}\"}} 1\n")));
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.find("Adding service").unwrap_or(usize::MAX) < log_text.find("announcing").unwrap_or(0)
            || !log_text.contains("Adding service"),
        "announced before the data plane held the service:\n{log_text}"
    );

    // The only real server fails: no quorum, withdrawn.
    Command::new("kill").arg(server.to_string()).status().unwrap();
    until_on_lo(&ns, false, Duration::from_secs(10), &log);
    assert!(
        reason(&ns).starts_with("no quorum on [203.0.113.10]:tcp:80"),
        "{}",
        reason(&ns)
    );
    // It comes back: announced again.
    ns.spawn(&["python3", "-c", SERVER, RS]);
    until_on_lo(&ns, true, Duration::from_secs(10), &log);

    // Drain and resume.
    assert!(ctl(&ns, "drain").starts_with("draining"));
    until_on_lo(&ns, false, Duration::from_secs(3), &log);
    assert!(reason(&ns).starts_with("draining"), "{}", reason(&ns));
    let status: serde_json::Value = serde_json::from_str(&ctl(&ns, "status")).unwrap();
    assert_eq!(status["draining"], true);
    ctl(&ns, "resume");
    until_on_lo(&ns, true, Duration::from_secs(3), &log);

    // SIGTERM: withdrawn before the daemon exits (cleanly).
    let mut daemon = daemon;
    Command::new("kill")
        .arg(daemon.0.id().to_string())
        .status()
        .unwrap();
    let exited = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(50));
        daemon.0.try_wait().unwrap()
    });
    assert_eq!(
        exited.map(|s| s.code()),
        Some(Some(0)),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert!(!on_lo(&ns), "still announced after the stop");
    // A clean stop leaves no nftables table behind either.
    let tables = ns.exec_ok(&["nft", "list", "tables"]);
    assert!(!tables.contains("keepalived_rs"), "left after the stop: {tables}");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(
        log_text.contains(&format!("bgp_announce: withdrawing {VIP}: stopping")),
        "{log_text}"
    );

    // An address nothing serves is refused.
    let bad = dir.join("bad.conf");
    std::fs::write(
        &bad,
        config().replace(&format!("    {VIP}\n}}"), "    203.0.113.99\n}"),
    )
    .unwrap();
    let bin = support::our_binary();
    let out = ns.exec(&[bin.to_str().unwrap(), "-t", "-f", bad.to_str().unwrap()]);
    let said = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert_ne!(out.status.code(), Some(0), "{said}");
    assert!(
        said.contains("bgp_announce 203.0.113.99: no virtual_server has this address"),
        "{said}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
