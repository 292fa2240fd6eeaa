//! Shared by the probe tests: tool checks that skip loudly (or fail under
//! KA_REQUIRE_TOOLS=1), processes killed by PID when dropped, checker plans built from real
//! keepalived.conf text, and a timed probe.

#![allow(dead_code)]

use ka_check::{CheckPlan, CheckerPlan, Outcome, RsPlan, VsPlan};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Whether the test can run: root and the tools. Prints a loud SKIPPED line otherwise; with
/// KA_REQUIRE_TOOLS set (CI) a missing requirement fails the test instead.
pub fn can_run(test: &str, need_root: bool, tools: &[&str]) -> bool {
    let mut missing: Vec<String> = tools
        .iter()
        .filter(|t| which(t).is_none())
        .map(|t| t.to_string())
        .collect();
    if need_root && !is_root() {
        missing.push("root".into());
    }
    if missing.is_empty() {
        return true;
    }
    if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
        panic!("{test}: missing {} (KA_REQUIRE_TOOLS is set)", missing.join(", "));
    }
    eprintln!("\n*** SKIPPED {test}: missing {} ***\n", missing.join(", "));
    false
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

pub fn which(tool: &str) -> Option<PathBuf> {
    if tool.contains('/') {
        return Path::new(tool).exists().then(|| PathBuf::from(tool));
    }
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        let p = Path::new(dir).join(tool);
        if p.exists() {
            return Some(p);
        }
    }
    None
}

/// Debian's python3 (its 3.11 still has `smtpd`), whatever else is first on PATH.
pub fn python3() -> &'static str {
    "/usr/bin/python3"
}

/// A process of the test: SIGTERM then SIGKILL by PID when dropped (also on panic).
pub struct Proc {
    pub name: String,
    child: std::process::Child,
}

impl Proc {
    pub fn spawn(name: &str, cmd: &mut Command) -> Proc {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Proc {
            name: name.to_string(),
            child,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the process now (the server goes away).
    pub fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            return;
        }
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let until = Instant::now() + Duration::from_secs(3);
        while Instant::now() < until {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.terminate();
    }
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until something accepts TCP connections at `addr`.
pub fn wait_tcp(addr: SocketAddr, what: &str) {
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("{what} did not start listening on {addr}");
}

/// Polls `check` every 50 ms for up to `limit`.
pub fn wait_for(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if check() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    check()
}

/// The checker plan of a keepalived.conf text, written to `dir` and read from there as the
/// daemon reads it (scripts are checked on disk).
pub fn plan(dir: &Path, text: &str) -> (CheckPlan, ka_config::config::Config) {
    let path = dir.join("keepalived.conf");
    std::fs::write(&path, text).unwrap();
    let loaded = ka_config::load(
        &path,
        &ka_config::LoadOptions::default(),
        &ka_config::host::SystemHost::default(),
    );
    for d in &loaded.diagnostics {
        eprintln!("config: {d:?}");
    }
    (ka_check::plan::build(&loaded.config), loaded.config)
}

/// Checker `n` of real server `r` of virtual server `v`.
pub fn checker(plan: &CheckPlan, v: usize, r: usize, n: usize) -> (&CheckerPlan, &RsPlan, &VsPlan) {
    let vs = &plan.virtual_servers[v];
    let rs = &vs.real_servers[r];
    (&rs.checkers[n], rs, vs)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Runs one probe, timed.
pub fn timed_probe(
    rt: &tokio::runtime::Runtime,
    ctx: &ka_probe::ProbeContext,
    c: (&CheckerPlan, &RsPlan, &VsPlan),
    url: usize,
) -> (Outcome, Duration) {
    let start = Instant::now();
    let out = rt.block_on(ka_probe::probe(ctx, c.0, c.1, c.2, url));
    let took = start.elapsed();
    eprintln!("probe {} url {url}: {out:?} in {took:?}", c.0.kind().keyword());
    (out, took)
}

pub fn failure(message: &str) -> Outcome {
    Outcome::Failure {
        message: message.to_string(),
    }
}

/// Asserts `took` is in [lo, hi].
pub fn assert_within(took: Duration, lo: Duration, hi: Duration, what: &str) {
    assert!(
        took >= lo && took <= hi,
        "{what}: took {took:?}, expected between {lo:?} and {hi:?}"
    );
}

pub fn run_ok(cmd: &str) {
    let st = Command::new("sh").arg("-c").arg(cmd).status().unwrap();
    assert!(st.success(), "failed: {cmd}");
}
