//! `keepalived-rs realserver --vip ADDR [--dev lo] up|down|status`: prepares a machine as an
//! LVS-DR (or TUN) real server, the steps the seed article does by hand: the VIP on a
//! non-ARPing interface (lo by default), and for IPv4 `arp_ignore 1` / `arp_announce 2` so
//! that the real server never answers ARP for the VIP nor announces it — only the director
//! that holds the VIP does.
//!
//! Idempotent (running `up` twice changes nothing the second time) and reversible: `up`
//! records what it changed in /run/keepalived-rs/realserver/ and `down` puts it back.

use ka_net::netlink::{AddressSpec, Netlink};
use std::net::IpAddr;
use std::path::PathBuf;

/// The sysctls the seed sets (`all`: the kernel takes the larger of `all` and the
/// interface's own value, so `all` covers every interface).
const ARP_SYSCTLS: [(&str, &str); 2] = [
    ("net.ipv4.conf.all.arp_ignore", "1"),
    ("net.ipv4.conf.all.arp_announce", "2"),
];

/// What `up` changed for one VIP, to undo.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
struct Record {
    vip: Option<IpAddr>,
    dev: String,
    /// The address was added by us (not there before).
    added_address: bool,
}

/// Where the records are: one directory per network namespace, since addresses and the
/// ARP sysctls belong to the namespace.
fn state_dir() -> PathBuf {
    let netns = std::fs::read_link("/proc/self/ns/net")
        .ok()
        .map(|l| l.to_string_lossy().replace(['[', ']', ':'], ""))
        .unwrap_or_else(|| "net-unknown".into());
    PathBuf::from("/run/keepalived-rs/realserver").join(netns)
}

fn record_path(vip: &IpAddr) -> PathBuf {
    state_dir().join(format!("vip-{vip}.json"))
}

/// The ARP sysctls as they were before the first `up` (shared by every VIP: restored when
/// the last one goes down).
fn sysctl_path() -> PathBuf {
    state_dir().join("arp-sysctls.json")
}

fn vips_up() -> usize {
    std::fs::read_dir(state_dir())
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("vip-"))
                .count()
        })
        .unwrap_or(0)
}

/// Runs the subcommand; returns the exit code (status: 0 when fully up, 3 when not).
pub fn run(vip: IpAddr, dev: &str, action: &str) -> i32 {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("keepalived-rs realserver: {e}");
            return 1;
        }
    };
    let result = runtime.block_on(async {
        let netlink = Netlink::connect().map_err(|e| e.to_string())?;
        match action {
            "up" => up(&netlink, vip, dev).await,
            "down" => down(&netlink, vip, dev).await,
            "status" => status(&netlink, vip, dev).await,
            other => Err(format!("unknown action '{other}' (expected up, down or status)")),
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keepalived-rs realserver: {e}");
            1
        }
    }
}

fn spec(index: u32, vip: IpAddr) -> AddressSpec {
    let v6 = vip.is_ipv6();
    AddressSpec {
        index,
        addr: vip,
        prefix_len: if v6 { 128 } else { 32 },
        broadcast: None,
        label: None,
        scope: 0,
        peer: None,
        // No duplicate-address detection: the VIP is meant to exist on several machines.
        flags: if v6 { ka_net::netlink::IFA_F_NODAD } else { 0 },
        preferred_lft: None,
    }
}

async fn index_of(netlink: &Netlink, dev: &str) -> Result<u32, String> {
    let links = netlink.links().await.map_err(|e| e.to_string())?;
    links
        .iter()
        .find(|l| l.name == dev)
        .map(|l| l.index)
        .ok_or_else(|| format!("no interface named {dev}"))
}

async fn has_address(netlink: &Netlink, index: u32, vip: IpAddr) -> Result<bool, String> {
    let addrs = netlink.addresses().await.map_err(|e| e.to_string())?;
    Ok(addrs.iter().any(|a| a.index == index && a.addr == vip))
}

async fn up(netlink: &Netlink, vip: IpAddr, dev: &str) -> Result<i32, String> {
    let index = index_of(netlink, dev).await?;
    let path = record_path(&vip);
    let mut record: Record = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    record.vip = Some(vip);
    record.dev = dev.to_string();
    let dir = state_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if vip.is_ipv4() {
        let mut saved: Vec<(String, String)> = std::fs::read(sysctl_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        for (name, value) in ARP_SYSCTLS {
            let old = ka_net::sysctl::read(name).map_err(|e| e.to_string())?;
            if old != value {
                if !saved.iter().any(|(n, _)| n == name) {
                    saved.push((name.to_string(), old.clone()));
                }
                ka_net::sysctl::write(name, value).map_err(|e| e.to_string())?;
                println!("{name}: {old} -> {value}");
            }
        }
        let json = serde_json::to_vec_pretty(&saved).map_err(|e| e.to_string())?;
        std::fs::write(sysctl_path(), json).map_err(|e| format!("{}: {e}", sysctl_path().display()))?;
    }
    if !has_address(netlink, index, vip).await? {
        netlink
            .add_address(&spec(index, vip))
            .await
            .map_err(|e| e.to_string())?;
        record.added_address = true;
        println!("{vip} added to {dev}");
    }
    let json = serde_json::to_vec_pretty(&record).map_err(|e| e.to_string())?;
    std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("real server ready for VIP {vip} on {dev}");
    Ok(0)
}

async fn down(netlink: &Netlink, vip: IpAddr, dev: &str) -> Result<i32, String> {
    let path = record_path(&vip);
    let record: Option<Record> = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    let Some(record) = record else {
        println!("VIP {vip}: nothing recorded by 'up' (already down)");
        return Ok(0);
    };
    let dev = if record.dev.is_empty() { dev } else { &record.dev };
    if record.added_address {
        if let Ok(index) = index_of(netlink, dev).await {
            if has_address(netlink, index, vip).await? {
                netlink
                    .del_address(&spec(index, vip))
                    .await
                    .map_err(|e| e.to_string())?;
                println!("{vip} removed from {dev}");
            }
        }
    }
    let _ = std::fs::remove_file(&path);
    if vips_up() == 0 {
        let saved: Vec<(String, String)> = std::fs::read(sysctl_path())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        for (name, old) in &saved {
            ka_net::sysctl::write(name, old).map_err(|e| e.to_string())?;
            println!("{name}: restored to {old}");
        }
        let _ = std::fs::remove_file(sysctl_path());
        let _ = std::fs::remove_dir(state_dir());
    }
    Ok(0)
}

async fn status(netlink: &Netlink, vip: IpAddr, dev: &str) -> Result<i32, String> {
    let index = index_of(netlink, dev).await?;
    let present = has_address(netlink, index, vip).await?;
    let mut ok = present;
    println!(
        "VIP {vip} on {dev}: {}",
        if present { "present" } else { "absent" }
    );
    if vip.is_ipv4() {
        for (name, want) in ARP_SYSCTLS {
            let have = ka_net::sysctl::read(name).unwrap_or_else(|_| "?".into());
            // Larger values are at least as strict.
            let good = have
                .parse::<u32>()
                .ok()
                .zip(want.parse::<u32>().ok())
                .is_some_and(|(h, w)| h >= w);
            ok &= good;
            let note = if good {
                String::new()
            } else {
                format!(" (needs {want})")
            };
            println!("{name} = {have}{note}");
        }
    }
    println!("{}", if ok { "up" } else { "down" });
    Ok(if ok { 0 } else { 3 })
}
