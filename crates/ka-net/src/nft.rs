//! The nftables load-balancer data plane: [`ka_lb::Dataplane`] over the `nft` program, for
//! kernels without IPVS. The rules are decided by `ka_nft` (pure); this module runs
//! `nft -f -` (one transaction per apply: all or nothing) and `nft -j list table` (read),
//! and turns failures into [`DataplaneError`]s carrying nft's own message.
//!
//! Blocking (child processes): the daemon runs it on its data-plane thread, like IPVS.

use ka_lb::{Change, Dataplane, DataplaneError, LbState};
use ka_nft::{Env, Mac};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What the data plane believes its tables hold, from the last read or successful write.
#[derive(Debug, Clone)]
struct Known {
    state: LbState,
    /// Both tables exist and every service in them was consistent: changes can be applied
    /// as deltas. Otherwise the next apply rewrites the tables whole.
    deltas_ok: bool,
}

/// The nftables data plane (see the module documentation).
#[derive(Debug)]
pub struct NftDataplane {
    env: Env,
    nft: PathBuf,
    known: Option<Known>,
    /// Problems found by the last read (services that did not match their settings).
    pub last_problems: Vec<String>,
}

impl NftDataplane {
    /// A data plane programming `env.table` with the `nft` found in `PATH`.
    pub fn new(env: Env) -> NftDataplane {
        NftDataplane::with_binary(env, "nft")
    }

    pub fn with_binary(env: Env, nft: impl Into<PathBuf>) -> NftDataplane {
        NftDataplane {
            env,
            nft: nft.into(),
            known: None,
            last_problems: Vec::new(),
        }
    }

    pub fn env(&self) -> &Env {
        &self.env
    }

    /// Changes the environment (e.g. a real server's MAC was learned): the next apply
    /// rewrites the tables, since slot values may change with it.
    pub fn set_env(&mut self, env: Env) {
        if env != self.env {
            self.env = env;
            if let Some(k) = self.known.as_mut() {
                k.deltas_ok = false;
            }
        }
    }

    /// Runs `nft` with `args`, feeding `input` on stdin; stdout on success, stderr as the
    /// error otherwise.
    fn run(&self, args: &[&str], input: Option<&str>) -> Result<String, NftError> {
        let mut cmd = Command::new(&self.nft);
        cmd.args(args)
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                NftError::Missing(self.nft.clone())
            } else {
                NftError::Spawn(e.to_string())
            }
        })?;
        // Write stdin from another thread: a large batch must not deadlock against a full
        // stderr pipe.
        let output = std::thread::scope(|s| {
            if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
                s.spawn(move || {
                    // A write error shows up as nft's own failure below.
                    let _ = stdin.write_all(text.as_bytes());
                });
            }
            child.wait_with_output()
        })
        .map_err(|e| NftError::Spawn(e.to_string()))?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(NftError::Failed(
                String::from_utf8_lossy(&output.stderr).trim().to_string(),
            ))
        }
    }

    /// `nft -j list table <family> <name>`; `None` when the table does not exist.
    fn list(&self, family: &str) -> Result<Option<String>, DataplaneError> {
        match self.run(&["-j", "list", "table", family, &self.env.table], None) {
            Ok(out) => Ok(Some(out)),
            Err(NftError::Failed(msg)) if msg.contains("No such file or directory") => Ok(None),
            Err(e) => Err(DataplaneError::new(format!(
                "nft list table {family} {}: {e}",
                self.env.table
            ))),
        }
    }

    /// Runs one `nft -f -` transaction.
    pub fn transaction(&self, text: &str) -> Result<(), DataplaneError> {
        self.run(&["-f", "-"], Some(text))
            .map(|_| ())
            .map_err(|e| DataplaneError::new(format!("nft -f: {e}")))
    }

    /// Removes our tables (daemon stop).
    pub fn remove_tables(&mut self) -> Result<(), DataplaneError> {
        self.known = None;
        self.transaction(&ka_nft::delete_tables(&self.env))
    }

    /// Forgets the persistence entries that send clients to a removed real server. A
    /// separate transaction: an entry that expired meanwhile must not fail the change.
    fn purge_persistence(&self, state: &LbState, purge: &[(ka_lb::ServiceKey, ka_nft::Target)]) {
        for (key, target) in purge {
            let Some((family, map)) = ka_nft::persistence_map(state, key, &self.env) else {
                continue;
            };
            let listed = self.run(&["-j", "list", "map", family, &self.env.table, &map], None);
            let keys = match listed.map(|json| ka_nft::parse::persistence_keys_for(&json, target)) {
                Ok(Ok(keys)) => keys,
                Ok(Err(e)) => {
                    tracing::warn!("persistence entries of {key}: {e}");
                    continue;
                }
                Err(e) => {
                    tracing::warn!("persistence entries of {key}: {e}");
                    continue;
                }
            };
            let text = ka_nft::purge_persistence(family, &map, &keys, &self.env);
            if !text.is_empty() {
                if let Err(e) = self.transaction(&text) {
                    tracing::warn!("forgetting persistent clients of a removed real server in {key}: {e}");
                }
            }
        }
    }
}

impl Dataplane for NftDataplane {
    fn name(&self) -> &'static str {
        "nftables"
    }

    fn read(&mut self) -> Result<LbState, DataplaneError> {
        let nat = self.list("inet")?;
        let dr = match self.env.dr {
            Some(_) => self.list("netdev")?,
            None => None,
        };
        let parsed = ka_nft::parse(nat.as_deref(), dr.as_deref(), &self.env)
            .map_err(|e| DataplaneError::new(e.to_string()))?;
        for p in &parsed.problems {
            tracing::warn!("nftables data plane: {p}; it will be rewritten");
        }
        let tables_present = nat.is_some() && (self.env.dr.is_none() || dr.is_some());
        self.known = Some(Known {
            state: parsed.state.clone(),
            deltas_ok: tables_present && parsed.problems.is_empty(),
        });
        self.last_problems = parsed.problems;
        Ok(parsed.state)
    }

    fn apply(&mut self, changes: &[Change]) -> Result<(), DataplaneError> {
        let known = match self.known.take() {
            Some(k) => k,
            None => {
                self.read()?;
                self.known
                    .take()
                    .ok_or_else(|| DataplaneError::new("nftables state unknown after a read"))?
            }
        };
        let batch = ka_nft::change_batch(&known.state, changes, &self.env).map_err(|e| match &e {
            ka_nft::BatchError::Change { index, .. } => DataplaneError {
                message: e.to_string(),
                change: Some(*index),
            },
            ka_nft::BatchError::Render(_) => DataplaneError::new(e.to_string()),
        })?;
        let text = if known.deltas_ok {
            batch.text
        } else {
            // Missing or inconsistent tables: replace them whole (one transaction).
            ka_nft::full_ruleset(&batch.after, &self.env).map_err(|e| DataplaneError::new(e.to_string()))?
        };
        if !text.is_empty() {
            // On failure `known` stays empty: the next apply reads first.
            self.transaction(&text)?;
        }
        if known.deltas_ok {
            self.purge_persistence(&batch.after, &batch.purge);
        }
        self.known = Some(Known {
            state: batch.after,
            deltas_ok: true,
        });
        Ok(())
    }
}

/// Why running nft failed.
#[derive(Debug)]
enum NftError {
    Missing(PathBuf),
    Spawn(String),
    Failed(String),
}

impl std::fmt::Display for NftError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NftError::Missing(p) => write!(
                f,
                "{} not found: the nftables data plane needs the nft program (Debian package nftables)",
                p.display()
            ),
            NftError::Spawn(e) => write!(f, "cannot run nft: {e}"),
            NftError::Failed(stderr) => f.write_str(stderr),
        }
    }
}

/// Whether this kernel offers IPVS, for choosing a backend automatically: loaded
/// (`/proc/net/ip_vs`) or loadable (the module is installed for the running kernel; the
/// generic netlink request loads it).
pub fn kernel_has_ipvs() -> bool {
    if Path::new("/proc/net/ip_vs").exists() || Path::new("/sys/module/ip_vs").exists() {
        return true;
    }
    let Ok(release) = std::fs::read_to_string("/proc/sys/kernel/osrelease") else {
        return false;
    };
    let dir = PathBuf::from("/lib/modules")
        .join(release.trim())
        .join("kernel/net/netfilter/ipvs");
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("ip_vs.ko"))
        })
        .unwrap_or(false)
}

/// The MAC address of an interface of the calling thread's network namespace.
pub fn link_mac(device: &str) -> Result<Mac, DataplaneError> {
    let out = Command::new("ip")
        .args(["-j", "link", "show", "dev", device])
        .output()
        .map_err(|e| DataplaneError::new(format!("ip link show {device}: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| DataplaneError::new(format!("ip link show {device}: {e}")))?;
    v.get(0)
        .and_then(|l| l.get("address"))
        .and_then(|a| a.as_str())
        .and_then(|a| a.parse().ok())
        .ok_or_else(|| DataplaneError::new(format!("no MAC address for {device}")))
}

/// The neighbours resolved on `device` (for DR's real-server MACs): `ip -j neigh show dev`.
pub fn neighbour_macs(device: &str) -> Result<BTreeMap<IpAddr, Mac>, DataplaneError> {
    let out = Command::new("ip")
        .args(["-j", "neigh", "show", "dev", device])
        .output()
        .map_err(|e| DataplaneError::new(format!("ip neigh show dev {device}: {e}")))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| DataplaneError::new(format!("ip neigh show dev {device}: {e}")))?;
    let mut macs = BTreeMap::new();
    for n in v.as_array().into_iter().flatten() {
        let addr = n
            .get("dst")
            .and_then(|d| d.as_str())
            .and_then(|d| d.parse::<IpAddr>().ok());
        let mac = n
            .get("lladdr")
            .and_then(|m| m.as_str())
            .and_then(|m| m.parse::<Mac>().ok());
        if let (Some(addr), Some(mac)) = (addr, mac) {
            macs.insert(addr, mac);
        }
    }
    Ok(macs)
}
