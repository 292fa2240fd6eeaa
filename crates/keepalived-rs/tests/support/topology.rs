//! A LAN in network namespaces: a bridge in its own namespace and host namespaces attached
//! by veth (eth0 in each host, 192.0.2.1N/24 and 2001:db8::1N/64). Daemons (ours or real
//! keepalived) run inside hosts; tcpdump captures on the bridge. Everything is removed on
//! drop, processes killed by PID first.

#![allow(dead_code)]

use super::{unique, Netns};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Lan {
    pub lan: Netns,
    pub hosts: Vec<Netns>,
    pub dir: PathBuf,
    daemons: Vec<Child>,
    capture: Option<Child>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Impl {
    Ours,
    Keepalived,
}

pub fn host_v4(i: usize) -> String {
    format!("192.0.2.{}", 11 + i)
}

pub fn host_v6(i: usize) -> String {
    format!("2001:db8::{}", 11 + i)
}

impl Lan {
    pub fn new(hosts: usize) -> Lan {
        Lan::with_ifname(hosts, "eth0")
    }

    /// A LAN whose hosts call their interface `ifname` (the seed cluster's configs say
    /// `enp0s3`).
    pub fn with_ifname(hosts: usize, ifname: &str) -> Lan {
        let lan = Netns::new("kl");
        lan.exec_ok(&["ip", "link", "add", "br0", "type", "bridge"]);
        lan.exec_ok(&[
            "ip",
            "link",
            "set",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ]);
        lan.exec_ok(&["ip", "link", "set", "br0", "up"]);
        let dir = std::env::temp_dir().join(unique("kars-lan"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let mut out = Lan {
            lan,
            hosts: Vec::new(),
            dir,
            daemons: Vec::new(),
            capture: None,
        };
        for i in 0..hosts {
            let h = Netns::new("kh");
            h.exec_ok(&[
                "sysctl",
                "-qw",
                "net.ipv6.conf.all.accept_dad=0",
                "net.ipv6.conf.default.accept_dad=0",
            ]);
            let port = unique("vp");
            let st = Command::new("ip")
                .args([
                    "link",
                    "add",
                    &port,
                    "netns",
                    &out.lan.name,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    ifname,
                    "netns",
                    &h.name,
                ])
                .status()
                .expect("ip link add");
            assert!(st.success());
            out.lan
                .exec_ok(&["ip", "link", "set", &port, "master", "br0", "up"]);
            h.exec_ok(&[
                "ip",
                "link",
                "set",
                ifname,
                "address",
                &format!("02:00:00:00:00:{:02x}", 0x11 + i),
            ]);
            h.exec_ok(&["ip", "addr", "add", &format!("{}/24", host_v4(i)), "dev", ifname]);
            h.exec_ok(&["ip", "addr", "add", &format!("{}/64", host_v6(i)), "dev", ifname]);
            h.exec_ok(&["ip", "link", "set", ifname, "up"]);
            out.hosts.push(h);
        }
        // Link-local addresses come up without DAD, but give the kernel a moment.
        std::thread::sleep(Duration::from_millis(200));
        out
    }

    /// Starts tcpdump on the bridge, writing `name`.pcap in the test directory.
    pub fn start_capture(&mut self, name: &str) -> PathBuf {
        let path = self.dir.join(format!("{name}.pcap"));
        let child = self
            .lan
            .command("tcpdump")
            .args(["-i", "br0", "--immediate-mode", "-U", "-s", "0", "-w"])
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tcpdump");
        self.capture = Some(child);
        // tcpdump needs a moment before it captures.
        wait_for(Duration::from_secs(5), || path.exists());
        std::thread::sleep(Duration::from_millis(300));
        path
    }

    /// Stops the capture so the file is complete.
    pub fn stop_capture(&mut self) {
        if let Some(mut c) = self.capture.take() {
            let _ = Command::new("kill").args(["-INT", &c.id().to_string()]).status();
            let _ = c.wait();
        }
    }

    /// Writes `config` and starts a daemon on host `i`; returns its PID.
    pub fn start(&mut self, i: usize, which: Impl, config: &str) -> u32 {
        let n = self.daemons.len();
        let conf = self.dir.join(format!("h{i}-{n}.conf"));
        std::fs::write(&conf, config).expect("write config");
        let log = std::fs::File::create(self.dir.join(format!("h{i}-{n}.log"))).expect("log file");
        let mut cmd = match which {
            Impl::Ours => {
                let mut c = self.hosts[i].command(super::our_binary().to_str().expect("utf-8 path"));
                c.args(["-n", "-l", "-D", "-f"]).arg(&conf);
                c
            }
            Impl::Keepalived => {
                let mut c = self.hosts[i].command("keepalived");
                c.args(["-n", "-l", "-D", "-P", "-f"]).arg(&conf);
                c.arg("-p").arg(self.dir.join(format!("h{i}-{n}.pid")));
                c.arg("-r").arg(self.dir.join(format!("h{i}-{n}.vrrp.pid")));
                c
            }
        };
        let err = log.try_clone().expect("log file");
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("start daemon");
        let pid = child.id();
        self.daemons.push(child);
        pid
    }

    /// The PID of the process doing VRRP for the daemon started as `pid` (keepalived runs
    /// VRRP in a child process; `ip netns exec` execs, so ours is the PID itself).
    pub fn vrrp_pid(&self, pid: u32, which: Impl) -> u32 {
        match which {
            Impl::Ours => pid,
            Impl::Keepalived => {
                let deadline = Instant::now() + Duration::from_secs(5);
                loop {
                    let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                        .unwrap_or_default();
                    if let Some(c) = children.split_whitespace().next().and_then(|c| c.parse().ok()) {
                        return c;
                    }
                    assert!(Instant::now() < deadline, "keepalived's VRRP child did not start");
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    pub fn signal(&self, pid: u32, signal: &str) {
        let _ = Command::new("kill")
            .args([&format!("-{signal}"), &pid.to_string()])
            .status();
    }

    /// Waits for a daemon to exit (after SIGTERM), at most `limit`.
    pub fn wait_exit(&mut self, pid: u32, limit: Duration) -> bool {
        let Some(child) = self.daemons.iter_mut().find(|c| c.id() == pid) else {
            return true;
        };
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// True if host `i` has `addr` on an interface.
    pub fn holds(&self, i: usize, addr: &str) -> bool {
        let out = self.hosts[i].exec(&["ip", "-o", "addr", "show"]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .any(|w| w.split('/').next() == Some(addr))
    }

    /// Which hosts hold `addr`.
    pub fn holders(&self, addr: &str) -> Vec<usize> {
        (0..self.hosts.len()).filter(|&i| self.holds(i, addr)).collect()
    }

    /// Every log written so far, for failure messages.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        if let Ok(dir) = std::fs::read_dir(&self.dir) {
            let mut files: Vec<PathBuf> = dir
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "log"))
                .collect();
            files.sort();
            for f in files {
                out.push_str(&format!(
                    "--- {}\n{}\n",
                    f.display(),
                    std::fs::read_to_string(&f).unwrap_or_default()
                ));
            }
        }
        out
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        self.stop_capture();
        for c in &mut self.daemons {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Netns::drop kills anything left in each namespace, removes the files the daemons
        // killed here leave (crash journal, control socket) and deletes it.
        if std::env::var_os("KA_KEEP_TEST_FILES").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Polls `check` every 10 ms until it holds or `limit` passes; returns whether it held.
pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// VRRP frames in a capture as tshark decodes them: (source, priority, checksum status,
/// malformed?).
pub fn tshark_vrrp(pcap: &Path) -> Vec<(String, u8, String, bool)> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "vrrp",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ipv6.src",
            "-e",
            "vrrp.prio",
            "-e",
            "vrrp.checksum.status",
            "-e",
            "_ws.malformed",
        ])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let src = if f.first().is_some_and(|s| !s.is_empty()) {
                f[0]
            } else {
                f.get(1).copied().unwrap_or("")
            };
            (
                src.to_string(),
                f.get(2).and_then(|p| p.parse().ok()).unwrap_or(0),
                f.get(3).copied().unwrap_or("").to_string(),
                f.get(4).is_some_and(|m| !m.is_empty()),
            )
        })
        .collect()
}

/// Gratuitous ARPs (sender MAC) and unsolicited NAs (source MAC) in a capture.
pub fn tshark_announcements(pcap: &Path) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "arp.isgratuitous == 1 || icmpv6.type == 136",
            "-T",
            "fields",
            "-e",
            "eth.src",
        ])
        .output()
        .expect("tshark");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}
