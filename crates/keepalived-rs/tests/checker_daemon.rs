//! The daemon's health-checker side, whole: a configuration with HTTP_GET and TCP_CHECK real
//! servers in a network namespace (this kernel has no IPVS, so `--dataplane none`), real
//! servers stopped and started, a reload, SIGTERM. Asserts keepalived's log lines, the
//! `lvs_notify_fifo` lines in order, notify_up/notify_down scripts, and the timing bounds.
//! (The same against real IPVS and keepalived runs in the VM test.)

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::Netns;

struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    fn start(ns: &Netns, conf: &Path, log: PathBuf) -> Daemon {
        let file = std::fs::File::create(&log).unwrap();
        let child = ns
            .command(support::our_binary().to_str().unwrap())
            .args(["-n", "-l", "-C", "--dataplane", "none", "-f"])
            .arg(conf)
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

    /// Waits until the log contains `needle` `times` times; returns when it did.
    fn wait_for(&self, needle: &str, times: usize, limit: Duration) -> Option<Instant> {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.log().matches(needle).count() >= times {
                return Some(Instant::now());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A web server in the namespace answering on `port` (python3's http.server).
fn web(ns: &mut Netns, dir: &Path, port: u16) -> u32 {
    ns.spawn(&[
        "python3",
        "-m",
        "http.server",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--directory",
        dir.to_str().unwrap(),
    ])
}

fn kill(pid: u32) {
    let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
}

fn wait_listening(ns: &Netns, port: u16) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        let out = ns.exec(&["ss", "-ltnH", &format!("sport = :{port}")]);
        if !String::from_utf8_lossy(&out.stdout).trim().is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("port {port} never listened");
}

#[test]
fn checkers_follow_real_servers_with_keepalived_lines_fifo_and_scripts() {
    if !support::can_run("checker_daemon", &["ip", "python3", "ss"]) {
        return;
    }
    let mut ns = Netns::new("kc");
    let dir = std::env::temp_dir().join(support::unique("kars-chk"));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = RemoveDir(dir.clone());
    std::fs::write(dir.join("index.html"), "real server\n").unwrap();
    let events = dir.join("events");
    let script = dir.join("notify.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho \"$*\" >> {}\n", events.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let fifo_log = dir.join("fifo.log");
    let reader = dir.join("fifo.sh");
    std::fs::write(
        &reader,
        format!("#!/bin/sh\nexec cat \"$1\" >> {}\n", fifo_log.display()),
    )
    .unwrap();
    std::fs::set_permissions(&reader, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = |weight: u32| {
        format!(
            "global_defs {{\n    lvs_notify_fifo {fifo}\n    lvs_notify_fifo_script {reader}\n}}\n\
             virtual_server 127.0.0.1 80 {{\n    delay_loop 1\n    lb_algo rr\n    lb_kind NAT\n    protocol TCP\n\
             \x20   real_server 127.0.0.1 18081 {{\n        weight {weight}\n        notify_up \"{s} up web\"\n        notify_down \"{s} down web\"\n\
             \x20       HTTP_GET {{\n            url {{\n                path /index.html\n                status_code 200\n            }}\n\
             \x20           connect_timeout 1\n            retry 1\n            delay_before_retry 1\n        }}\n    }}\n\
             \x20   real_server 127.0.0.1 18082 {{\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n}}\n",
            fifo = dir.join("lvs.fifo").display(),
            reader = reader.display(),
            s = script.display(),
        )
    };
    let conf = dir.join("keepalived.conf");
    std::fs::write(&conf, config(1)).unwrap();

    let web1 = web(&mut ns, &dir, 18081);
    wait_listening(&ns, 18081);
    // 18082 is down from the start: one failure is enough at start-up.
    let d = Daemon::start(&ns, &conf, dir.join("daemon.log"));
    assert!(
        d.wait_for(
            "Removing service [127.0.0.1]:tcp:18082 from VS [127.0.0.1]:tcp:80",
            1,
            Duration::from_secs(15)
        )
        .is_some(),
        "{}",
        d.log()
    );
    assert!(
        d.log()
            .contains("TCP_CHECK on service [127.0.0.1]:tcp:18082 failed."),
        "{}",
        d.log()
    );
    assert!(
        d.wait_for("succeed on service", 1, Duration::from_secs(10))
            .is_some(),
        "{}",
        d.log()
    );

    // The web server dies: removed within delay_loop + retry × delay_before_retry +
    // connect_timeout (+ scheduling slack).
    std::thread::sleep(Duration::from_millis(500));
    let killed = Instant::now();
    kill(web1);
    let removed = d
        .wait_for(
            "Removing service [127.0.0.1]:tcp:18081 from VS [127.0.0.1]:tcp:80",
            1,
            Duration::from_secs(10),
        )
        .unwrap_or_else(|| panic!("web server not removed\n{}", d.log()));
    let took = removed - killed;
    assert!(
        took <= Duration::from_millis(3500),
        "removed after {took:?}\n{}",
        d.log()
    );
    assert!(
        d.log()
            .contains("HTTP_CHECK on service [127.0.0.1]:tcp:18081 failed after 1 retries."),
        "{}",
        d.log()
    );

    // Back: added again after one clean pass.
    let _web1 = web(&mut ns, &dir, 18081);
    wait_listening(&ns, 18081);
    assert!(
        d.wait_for(
            "Adding service [127.0.0.1]:tcp:18081 to VS [127.0.0.1]:tcp:80",
            1,
            Duration::from_secs(10)
        )
        .is_some(),
        "{}",
        d.log()
    );

    // Reload with a new weight: the state is kept, the weight changes.
    std::fs::write(&conf, config(5)).unwrap();
    d.signal("HUP");
    assert!(
        d.wait_for(
            "Changing weight from 1 to 5 for active service [127.0.0.1]:tcp:18081 of VS [127.0.0.1]:tcp:80",
            1,
            Duration::from_secs(10)
        )
        .is_some(),
        "{}",
        d.log()
    );
    // A broken file is refused; the checkers go on.
    std::fs::write(&conf, "virtual_server 127.0.0.1 80 {\n    delay_loop\n}\n").unwrap();
    d.signal("HUP");
    assert!(
        d.wait_for("reload refused", 1, Duration::from_secs(10)).is_some(),
        "{}",
        d.log()
    );

    d.signal("TERM");
    let start = Instant::now();
    let mut d = d;
    while d.child.try_wait().unwrap().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "SIGTERM did not stop the daemon"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let log = d.log();
    assert!(
        log.contains("Shutting down service [127.0.0.1]:tcp:18081 from VS [127.0.0.1]:tcp:80"),
        "{log}"
    );
    assert!(
        log.contains("Shutting down service [127.0.0.1]:tcp:18082 from VS [127.0.0.1]:tcp:80"),
        "{log}"
    );
    std::thread::sleep(Duration::from_millis(300));

    let fifo: Vec<String> = std::fs::read_to_string(&fifo_log)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(
        fifo,
        vec![
            "VS [127.0.0.1]:tcp:80 UP",
            "RS [127.0.0.1]:tcp:18082 [127.0.0.1]:tcp:80 DOWN",
            "RS [127.0.0.1]:tcp:18081 [127.0.0.1]:tcp:80 DOWN",
            "VS [127.0.0.1]:tcp:80 DOWN",
            "RS [127.0.0.1]:tcp:18081 [127.0.0.1]:tcp:80 UP",
            "VS [127.0.0.1]:tcp:80 UP",
        ],
        "FIFO lines\n{log}"
    );
    let scripts = std::fs::read_to_string(&events).unwrap_or_default();
    assert_eq!(
        scripts.lines().collect::<Vec<_>>(),
        vec!["down web", "up web"],
        "{log}"
    );
}

struct RemoveDir(PathBuf);

impl Drop for RemoveDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
