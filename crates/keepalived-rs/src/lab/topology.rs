//! The lab's network: network namespaces on this machine standing in for the seed article's
//! machines, all on one bridge (the article's 192.168.1.0/24 LAN, moved to the documentation
//! range 192.0.2.0/24), plus the processes that run in them. Everything created is recorded
//! in a state file so that `lab down` (or the next `lab`) can remove it, processes by PID.

use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where the lab keeps its configs, logs and state.
pub const LAB_DIR: &str = "/run/keepalived-rs/lab";
/// Every namespace name starts with this.
pub const PREFIX: &str = "karslab-";

/// The address plan: the seed's hosts moved from 192.168.1.0/24 to 192.0.2.0/24.
pub const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 99);
pub const DIRECTORS: [(&str, Ipv4Addr, &str); 2] = [
    ("director1", Ipv4Addr::new(192, 0, 2, 11), "192.168.1.11 (MASTER)"),
    ("director2", Ipv4Addr::new(192, 0, 2, 12), "192.168.1.12 (BACKUP)"),
];
pub const REAL_SERVERS: [(&str, Ipv4Addr, &str); 2] = [
    ("rs1", Ipv4Addr::new(192, 0, 2, 13), "192.168.1.13"),
    ("rs2", Ipv4Addr::new(192, 0, 2, 14), "192.168.1.14"),
];
/// The client gets several addresses: the seed's `persistence_timeout 50` pins each client
/// address to one real server, so traffic from one address would never spread.
pub const CLIENT_FIRST: u8 = 100;
/// Addresses used at a time.
pub const CLIENT_ADDRESSES: u8 = 16;
/// Sets of addresses: the client moves to a fresh set when the story needs new clients.
pub const CLIENT_SETS: u8 = 2;
/// The interface name the seed's configs use on every machine.
pub const IFNAME: &str = "enp0s3";

pub fn ns_name(host: &str) -> String {
    format!("{PREFIX}{host}")
}

pub fn client_addr(i: u8) -> Ipv4Addr {
    Ipv4Addr::new(192, 0, 2, CLIENT_FIRST + i)
}

/// What was created, for removal.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub namespaces: Vec<String>,
    /// (what, pid).
    pub processes: Vec<(String, u32)>,
}

fn state_path() -> PathBuf {
    Path::new(LAB_DIR).join("state.json")
}

impl State {
    pub fn load() -> State {
        std::fs::read(state_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    pub fn save(&self) {
        if let Ok(json) = serde_json::to_vec_pretty(self) {
            let _ = std::fs::create_dir_all(LAB_DIR);
            let _ = std::fs::write(state_path(), json);
        }
    }
}

/// Runs a command, failing with its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs a command inside a lab namespace.
pub fn in_ns(host: &str, args: &[&str]) -> Result<String, String> {
    let ns = ns_name(host);
    let mut full = vec!["netns", "exec", ns.as_str()];
    full.extend_from_slice(args);
    run("ip", &full)
}

/// Removes everything a lab left: its processes (by PID, then whatever is left in its
/// namespaces), its namespaces, and its directory.
pub fn tear_down() -> Vec<String> {
    let state = State::load();
    let mut removed = Vec::new();
    for (what, pid) in &state.processes {
        if pid_alive(*pid) {
            let _ = run("kill", &["-KILL", &pid.to_string()]);
            removed.push(format!("stopped {what} (pid {pid})"));
        }
    }
    // Namespaces from the state file and any left by an interrupted setup.
    let mut names = state.namespaces.clone();
    if let Ok(list) = run("ip", &["netns", "list"]) {
        for line in list.lines() {
            if let Some(name) = line.split_whitespace().next() {
                if name.starts_with(PREFIX) && !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
    }
    for name in &names {
        if let Ok(pids) = run("ip", &["netns", "pids", name]) {
            for pid in pids.split_whitespace() {
                let _ = run("kill", &["-KILL", pid]);
            }
        }
        remove_run_files_of(name);
        if run("ip", &["netns", "del", name]).is_ok() {
            removed.push(format!("removed namespace {name}"));
        }
    }
    let _ = std::fs::remove_dir_all(LAB_DIR);
    removed
}

/// What keepalived-rs keeps in /run/keepalived-rs for namespace `name` (files named after its
/// inode): a killed daemon's control socket and crash journal, and `realserver up`'s records,
/// which the namespace's deletion makes stale.
fn remove_run_files_of(name: &str) {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(format!("/run/netns/{name}")) else {
        return;
    };
    let _ = std::fs::remove_dir_all(format!("/run/keepalived-rs/realserver/net{}", meta.ino()));
    // `-net<inode>.` and, with `-i`, `-net<inode>-<instance>.`.
    let tags = [format!("-net{}.", meta.ino()), format!("-net{}-", meta.ino())];
    if let Ok(entries) = std::fs::read_dir("/run/keepalived-rs") {
        for e in entries.flatten() {
            if tags
                .iter()
                .any(|t| e.file_name().to_string_lossy().contains(t.as_str()))
            {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

pub fn pid_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// Builds the LAN: a bridge in its own namespace and every host attached by a veth pair.
pub fn build(state: &mut State) -> Result<(), String> {
    std::fs::create_dir_all(LAB_DIR).map_err(|e| format!("{LAB_DIR}: {e}"))?;
    let lan = ns_name("lan");
    add_ns(state, &lan)?;
    run(
        "ip",
        &[
            "-n",
            &lan,
            "link",
            "add",
            "br0",
            "type",
            "bridge",
            "stp_state",
            "0",
            "forward_delay",
            "0",
        ],
    )?;
    run("ip", &["-n", &lan, "link", "set", "br0", "up"])?;
    let hosts: Vec<(&str, Vec<String>, &str)> = DIRECTORS
        .iter()
        .chain(REAL_SERVERS.iter())
        .map(|(h, a, _)| (*h, vec![format!("{a}/24")], IFNAME))
        .chain(std::iter::once((
            "client",
            (0..CLIENT_ADDRESSES * CLIENT_SETS)
                .map(|i| format!("{}/24", client_addr(i)))
                .collect(),
            "eth0",
        )))
        .collect();
    for (i, (host, addrs, ifname)) in hosts.iter().enumerate() {
        let ns = ns_name(host);
        add_ns(state, &ns)?;
        let port = format!("p-{host}");
        run(
            "ip",
            &[
                "link", "add", &port, "netns", &lan, "type", "veth", "peer", "name", ifname, "netns", &ns,
            ],
        )?;
        run("ip", &["-n", &lan, "link", "set", &port, "master", "br0", "up"])?;
        // Readable, stable MACs: 02:00:00:00:00:<last octet of the host's address>.
        let mac = format!("02:00:00:00:{:02x}:{:02x}", i, 0x10 + i);
        run("ip", &["-n", &ns, "link", "set", ifname, "address", &mac])?;
        for a in addrs {
            run("ip", &["-n", &ns, "addr", "add", a, "dev", ifname])?;
        }
        run("ip", &["-n", &ns, "link", "set", ifname, "up"])?;
    }
    // The seed enables forwarding on the directors (step 5 of the article).
    for (d, _, _) in DIRECTORS {
        in_ns(d, &["sysctl", "-qw", "net.ipv4.ip_forward=1"])?;
    }
    state.save();
    Ok(())
}

fn add_ns(state: &mut State, name: &str) -> Result<(), String> {
    run("ip", &["netns", "add", name])?;
    state.namespaces.push(name.to_string());
    state.save();
    run("ip", &["-n", name, "link", "set", "lo", "up"])?;
    Ok(())
}

/// Starts a long-running process in a namespace, stdout and stderr to `log`; recorded for
/// removal.
pub fn spawn(state: &mut State, what: &str, host: &str, args: &[&str], log: &Path) -> Result<Child, String> {
    let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let ns = ns_name(host);
    let child = Command::new("ip")
        .args(["netns", "exec", &ns])
        .args(args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("start {what}: {e}"))?;
    // `ip netns exec` execs the program: the PID is the program's.
    state.processes.retain(|(w, _)| w != what);
    state.processes.push((what.to_string(), child.id()));
    state.save();
    Ok(child)
}

/// A file in the lab directory.
pub fn lab_file(name: &str) -> PathBuf {
    Path::new(LAB_DIR).join(name)
}

/// Whether a program is installed.
pub fn have(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false)
        || Path::new("/usr/sbin").join(program).is_file()
}
