//! A throw-away load-balancer topology in network namespaces, for the nftables data-plane
//! tests: a `lan` namespace with bridges, and hosts attached to them by veth pairs
//! (`eth0`, `eth1`, ... inside each host). Names carry the test process's PID and a tag, so
//! parallel tests and leftovers of other runs never collide; everything started here is
//! killed by PID and every namespace deleted on drop, also when the test panics.

#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)] // tests may panic on unexpected data

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the tests can run here: root, and the tools they use. Without them they skip
/// loudly, or fail under KA_REQUIRE_TOOLS (tools/test-all.sh).
pub fn tools_present(what: &str) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    let mut missing: Vec<&str> = ["nft", "nginx", "ip"]
        .into_iter()
        .filter(|t| {
            !Command::new("sh")
                .arg("-c")
                .arg(format!("command -v {t} >/dev/null || test -x /usr/sbin/{t}"))
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        })
        .collect();
    if !root {
        missing.push("root");
    }
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
        panic!("{what}: missing {missing:?} (KA_REQUIRE_TOOLS is set)");
    }
    eprintln!("\n*** SKIPPED {what}: missing {missing:?} ***\n");
    false
}

pub fn sh(cmd: &str) {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Topo {
    prefix: String,
    namespaces: Vec<String>,
    children: Vec<Child>,
    pub work: PathBuf,
}

impl Topo {
    pub fn new(tag: &str) -> Topo {
        let prefix = format!("kanft{}{tag}", std::process::id());
        let work = std::env::temp_dir().join(format!("{prefix}-work"));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).unwrap();
        let mut t = Topo {
            prefix,
            namespaces: Vec::new(),
            children: Vec::new(),
            work,
        };
        t.add_ns("lan");
        t
    }

    /// The full name of a namespace.
    pub fn ns(&self, short: &str) -> String {
        format!("{}-{short}", self.prefix)
    }

    fn add_ns(&mut self, short: &str) {
        let ns = self.ns(short);
        sh(&format!("ip netns add {ns}"));
        self.namespaces.push(ns.clone());
        sh(&format!("ip -n {ns} link set lo up"));
    }

    /// Runs a shell command inside a namespace.
    pub fn exec(&self, short: &str, cmd: &str) {
        sh(&format!("ip netns exec {} sh -c '{cmd}'", self.ns(short)));
    }

    pub fn bridge(&mut self, name: &str) {
        let lan = self.ns("lan");
        sh(&format!(
            "ip -n {lan} link add {name} type bridge stp_state 0 forward_delay 0 && ip -n {lan} link set {name} up"
        ));
    }

    /// Attaches host `short` (created if needed) to `bridge` with `addr` (CIDR) on its next
    /// ethN, with `mac` if given. Returns the interface name.
    pub fn host(&mut self, short: &str, bridge: &str, addr: &str, mac: Option<&str>) -> String {
        let ns = self.ns(short);
        if !self.namespaces.contains(&ns) {
            self.add_ns(short);
        }
        let mut i = 0;
        while Command::new("ip")
            .args(["-n", &ns, "link", "show", &format!("eth{i}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap()
            .success()
        {
            i += 1;
        }
        let ifname = format!("eth{i}");
        let lan = self.ns("lan");
        let peer = format!("v{short}{i}");
        sh(&format!(
            "ip link add {peer} netns {lan} type veth peer name {ifname} netns {ns}"
        ));
        sh(&format!("ip -n {lan} link set {peer} master {bridge} up"));
        if let Some(m) = mac {
            sh(&format!("ip -n {ns} link set {ifname} address {m}"));
        }
        sh(&format!(
            "ip -n {ns} addr add {addr} dev {ifname} && ip -n {ns} link set {ifname} up"
        ));
        ifname
    }

    /// Starts nginx in `short`, answering every request with `name`, and waits until it
    /// accepts connections on `addr`:80.
    pub fn nginx(&mut self, short: &str, name: &str, addr: IpAddr) {
        let dir = self.work.join(short);
        std::fs::create_dir_all(dir.join("tmp")).unwrap();
        let d = dir.display();
        let conf = format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 4096; }}\n\
             http {{\n access_log off;\n client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp;\n\
             fastcgi_temp_path {d}/tmp; uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n\
             server {{ listen 80 backlog=4096; keepalive_requests 1000000; keepalive_timeout 60s;\n\
             location / {{ default_type text/plain; return 200 \"{name}\\n\"; }} }}\n}}\n"
        );
        let path = dir.join("nginx.conf");
        std::fs::write(&path, conf).unwrap();
        // `ip netns exec` execs nginx: the child's PID is nginx's master.
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns(short), "nginx", "-c"])
            .arg(&path)
            .arg("-e")
            .arg(dir.join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        let ns = self.ns(short);
        loop {
            let up = in_ns(&ns, move || {
                http_get_once(SocketAddr::new(addr, 80), None).is_ok()
            });
            if up {
                return;
            }
            assert!(Instant::now() < deadline, "nginx in {short} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Topo {
    fn drop(&mut self) {
        // nginx's master stops its worker on SIGTERM; then anything left in our
        // namespaces was started by this test.
        for c in &self.children {
            signal(c.id(), "TERM");
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        for c in &mut self.children {
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in &self.namespaces {
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    if let Ok(pid) = pid.parse::<u32>() {
                        signal(pid, "KILL");
                    }
                }
            }
        }
        for ns in self.namespaces.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// Sends a signal to one process, by PID (`kill(1)`: no unsafe code here).
fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}

/// Runs `f` on a thread that entered network namespace `ns` (child processes it starts and
/// sockets it opens live there).
pub fn in_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = std::fs::File::open(&path).unwrap();
        nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        f()
    })
    .join()
    .unwrap()
}

/// Reads one HTTP/1.1 response (Content-Length bodies, as nginx's `return` sends) and
/// returns its body without the newline.
pub fn read_response(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    let mut length = 0usize;
    reader.read_line(&mut line)?;
    if !line.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::other(format!("bad status line {line:?}")));
    }
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = v.trim().parse().map_err(std::io::Error::other)?;
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    Ok(String::from_utf8_lossy(&body).trim().to_string())
}

pub fn request(stream: &mut TcpStream) -> std::io::Result<String> {
    stream.write_all(b"GET / HTTP/1.1\r\nHost: lb\r\n\r\n")?;
    read_response(stream)
}

/// Opens a keep-alive connection from `source` (any if `None`).
pub fn connect(to: SocketAddr, source: Option<IpAddr>) -> std::io::Result<TcpStream> {
    let domain = socket2::Domain::for_address(to);
    let s = socket2::Socket::new(domain, socket2::Type::STREAM, Some(socket2::Protocol::TCP))?;
    if let Some(src) = source {
        s.bind(&SocketAddr::new(src, 0).into())?;
    }
    s.connect_timeout(&to.into(), Duration::from_secs(2))?;
    let stream: TcpStream = s.into();
    stream.set_read_timeout(Some(Duration::from_secs(2)))?;
    stream.set_write_timeout(Some(Duration::from_secs(2)))?;
    Ok(stream)
}

/// One request on a new connection: which real server answered.
pub fn http_get_once(to: SocketAddr, source: Option<IpAddr>) -> std::io::Result<String> {
    let mut s = connect(to, source)?;
    request(&mut s)
}
