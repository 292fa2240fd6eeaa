//! Shared helpers for the integration tests: tool checks, network namespaces that clean up
//! after themselves (even when a test panics), and running commands with a time limit.

#![allow(dead_code)]

pub mod topology;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// True when the test can run: root and every tool present. Otherwise prints a loud skip
/// message, or panics when KA_REQUIRE_TOOLS is set (as in CI).
pub fn can_run(test: &str, tools: &[&str]) -> bool {
    let mut missing: Vec<String> = Vec::new();
    if !is_root() {
        missing.push("root privileges".into());
    }
    for t in tools {
        if !tool_exists(t) {
            missing.push(format!("the `{t}` command"));
        }
    }
    if missing.is_empty() {
        return true;
    }
    let msg = format!("{test}: needs {}", missing.join(", "));
    if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
        panic!("{msg} (KA_REQUIRE_TOOLS is set, so this is a failure)");
    }
    eprintln!("\n*** SKIPPED {msg} — run tools/test-all.sh as root to install and run everything ***\n");
    false
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

pub fn tool_exists(name: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|d| d.join(name).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(name).is_file()
        || Path::new("/sbin").join(name).is_file()
}

/// The keepalived-rs binary built for this test run.
pub fn our_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_keepalived-rs"))
}

/// ../shared beside the checkout (CI has it); None with a loud message when missing.
pub fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared");
    if dir.is_dir() {
        return Some(dir.canonicalize().unwrap_or(dir));
    }
    let msg = format!("{test}: ../shared (seed cluster and keepalived samples) is not beside the checkout");
    if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
        panic!("{msg}");
    }
    eprintln!("\n*** SKIPPED {msg} ***\n");
    None
}

/// Runs a command to completion with a time limit; kills it if it overruns.
pub fn run_with_timeout(cmd: &mut Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => return child.wait_with_output().expect("collect output"),
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let out = child.wait_with_output().expect("collect output");
                panic!(
                    "command {cmd:?} ran over {limit:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("wait: {e}"),
        }
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A short name unique to this process and call, usable for namespaces and links (≤ 15).
pub fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}{n}", std::process::id() % 100_000)
}

/// A network namespace owned by the test: deleted, with every process in it killed, on drop.
pub struct Netns {
    pub name: String,
    children: Vec<Child>,
}

impl Netns {
    pub fn new(prefix: &str) -> Netns {
        let name = unique(prefix);
        ip(&["netns", "add", &name]);
        let ns = Netns {
            name,
            children: Vec::new(),
        };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    /// Adds an interface named `ifname` (one end of a veth pair; the other end stays in the
    /// namespace too, under a generated name) and brings it up.
    pub fn add_dummy_like(&self, ifname: &str) {
        let peer = unique("pv");
        ip(&[
            "link", "add", ifname, "netns", &self.name, "type", "veth", "peer", "name", &peer, "netns",
            &self.name,
        ]);
        self.exec_ok(&["ip", "link", "set", ifname, "up"]);
        self.exec_ok(&["ip", "link", "set", &peer, "up"]);
    }

    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name, program]);
        c
    }

    pub fn exec(&self, args: &[&str]) -> Output {
        let mut c = self.command(args[0]);
        c.args(&args[1..]);
        run_with_timeout(&mut c, Duration::from_secs(60))
    }

    pub fn exec_ok(&self, args: &[&str]) -> String {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "{args:?} in {}: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a long-running process in the namespace; it is killed when the namespace drops.
    pub fn spawn(&mut self, args: &[&str]) -> u32 {
        let mut c = self.command(args[0]);
        c.args(&args[1..])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = c.spawn().expect("spawn in netns");
        let pid = child.id();
        self.children.push(child);
        pid
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        if let Ok(out) = Command::new("ip").args(["netns", "pids", &self.name]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-KILL", pid]).status();
            }
        }
        remove_daemon_files_of(&self.name);
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

/// Removes what was left in /run/keepalived-rs for namespace `name`, named after its inode:
/// a SIGKILLed daemon's `control-net<inode>.sock` and `state-net<inode>.json`, and the
/// `realserver/net<inode>` records of `keepalived-rs realserver up` (the namespace's
/// deletion undoes what they record).
fn remove_daemon_files_of(name: &str) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(format!("/run/netns/{name}")) else {
        return;
    };
    let _ = std::fs::remove_dir_all(format!("/run/keepalived-rs/realserver/net{}", meta.ino()));
    // `-net<inode>.` and, with `-i`, `-net<inode>-<instance>.`.
    let tags = [format!("-net{}.", meta.ino()), format!("-net{}-", meta.ino())];
    let Ok(entries) = std::fs::read_dir("/run/keepalived-rs") else {
        return;
    };
    for e in entries.flatten() {
        if tags
            .iter()
            .any(|t| e.file_name().to_string_lossy().contains(t.as_str()))
        {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Validates a status answer against docs/status.schema.json (python3's jsonschema: Debian's
/// python3-jsonschema).
pub fn check_schema(status: &str) {
    let schema = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/status.schema.json");
    let dir = std::env::temp_dir().join(unique("kars-schema"));
    std::fs::create_dir_all(&dir).unwrap();
    let doc = dir.join("status.json");
    std::fs::write(&doc, status).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema; jsonschema.Draft202012Validator(json.load(open(sys.argv[2]))).validate(json.load(open(sys.argv[1])))",
        ])
        .arg(&doc)
        .arg(&schema)
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    let out = out.expect("python3");
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    if said.contains("No module named 'jsonschema'") {
        if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
            panic!("python3-jsonschema is missing");
        }
        eprintln!("*** python3-jsonschema missing: the status schema was not checked");
        return;
    }
    assert!(
        out.status.success(),
        "status does not follow docs/status.schema.json: {said}"
    );
}

/// The control socket a daemon running in `ns` listens on by default
/// (`/run/keepalived-rs/control-net<inode>.sock`, the namespace's inode).
pub fn control_socket_of(ns: &Netns) -> PathBuf {
    use std::os::unix::fs::MetadataExt;
    let ino = std::fs::metadata(format!("/run/netns/{}", ns.name))
        .expect("the namespace's mount")
        .ino();
    PathBuf::from(format!("/run/keepalived-rs/control-net{ino}.sock"))
}

/// `promtool check metrics` (Debian's prometheus package) on Prometheus text: no complaint.
/// Without promtool: a loud skip, or a failure under KA_REQUIRE_TOOLS.
pub fn check_prometheus_text(metrics: &str) {
    if !tool_exists("promtool") {
        if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
            panic!("promtool (Debian package prometheus) is missing");
        }
        eprintln!("*** promtool missing: metrics format not checked");
        return;
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    std::io::Write::write_all(child.stdin.as_mut().expect("promtool stdin"), metrics.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool result");
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "promtool: {said}");
}

/// A copy of `src` at `dst` without debug information (a debug build is >100 MB, and a VM
/// holds its initramfs in memory); a plain copy where `strip` fails.
pub fn stripped(src: &Path, dst: &Path) -> PathBuf {
    let ok = Command::new("strip")
        .arg("-o")
        .arg(dst)
        .arg(src)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        std::fs::copy(src, dst).unwrap();
    }
    dst.to_path_buf()
}

/// Runs `cmd` in a process group of its own, output into `log`; the group is killed past
/// `limit`. The exit code (None if killed) and the output.
pub fn run_bounded(cmd: &mut Command, log: &Path, limit: Duration) -> (Option<i32>, String) {
    let file = std::fs::File::create(log).unwrap();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .process_group(0)
        .spawn()
        .expect("spawn a bounded command");
    let started = Instant::now();
    let code = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.code(),
            Ok(None) if started.elapsed() > limit => {
                if let Ok(pgid) = i32::try_from(child.id()) {
                    let _ = nix::sys::signal::killpg(
                        nix::unistd::Pid::from_raw(pgid),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                }
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(e) => panic!("waiting for a bounded command: {e}"),
        }
    };
    let output = std::fs::read(log).map(|b| String::from_utf8_lossy(&b).into_owned());
    (code, output.unwrap_or_default())
}
