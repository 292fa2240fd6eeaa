//! Crash safety: a small state file listing every kernel object we added (addresses,
//! routes, rules) and have not removed yet. A run killed with SIGKILL leaves it behind; the
//! next start removes everything it lists before doing anything else, so no stale VIP,
//! route or rule survives a crash (keepalived's users hit exactly that: VIPs left after
//! `kill -9`, in containers especially). The file lives in /run, which a reboot clears, so
//! interface indexes in it are still valid when it is read.

use ka_net::netlink::{AddressSpec, Netlink, RouteSpec, RuleSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
struct Entries {
    /// Interface names by index when the file was written: a stale file whose namespace
    /// number was reused must not touch interfaces that merely share an index.
    #[serde(default)]
    links: BTreeMap<u32, String>,
    addresses: Vec<AddressSpec>,
    routes: Vec<RouteSpec>,
    rules: Vec<RuleSpec>,
    /// VMAC interfaces (`use_vmac`) we created.
    #[serde(default)]
    vmacs: Vec<String>,
}

pub struct Journal {
    path: Option<PathBuf>,
    entries: Entries,
}

impl Journal {
    /// A journal at `path` (None: keep nothing on disk) for a machine whose interfaces
    /// have these names.
    pub fn new(path: Option<PathBuf>, links: BTreeMap<u32, String>) -> Journal {
        Journal {
            path,
            entries: Entries {
                links,
                ..Entries::default()
            },
        }
    }

    /// Keeps the interface names current.
    pub fn set_link_name(&mut self, index: u32, name: &str) {
        self.entries.links.insert(index, name.to_string());
    }

    /// /run/keepalived-rs/state-net<NETNS>[-<INSTANCE>].json: one file per network
    /// namespace (daemons in different namespaces share /run but not interfaces) and per
    /// keepalived `instance`, so two daemons never share one.
    pub fn default_path(instance: Option<&str>) -> PathBuf {
        let netns = std::fs::read_link("/proc/self/ns/net")
            .ok()
            .and_then(|l| {
                let text = l.to_string_lossy().into_owned();
                text.strip_prefix("net:[")
                    .and_then(|r| r.strip_suffix(']'))
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "unknown".to_string());
        let name = match instance {
            Some(i) => format!("state-net{netns}-{i}.json"),
            None => format!("state-net{netns}.json"),
        };
        PathBuf::from("/run/keepalived-rs").join(name)
    }

    pub fn record_address(&mut self, spec: &AddressSpec) {
        if !self.entries.addresses.contains(spec) {
            self.entries.addresses.push(spec.clone());
        }
    }

    pub fn forget_address(&mut self, spec: &AddressSpec) {
        self.entries
            .addresses
            .retain(|e| !(e.index == spec.index && e.addr == spec.addr));
    }

    pub fn record_route(&mut self, spec: &RouteSpec) {
        if !self.entries.routes.contains(spec) {
            self.entries.routes.push(spec.clone());
        }
    }

    pub fn forget_route(&mut self, spec: &RouteSpec) {
        self.entries.routes.retain(|r| r != spec);
    }

    pub fn record_rule(&mut self, spec: &RuleSpec) {
        if !self.entries.rules.contains(spec) {
            self.entries.rules.push(spec.clone());
        }
    }

    pub fn forget_rule(&mut self, spec: &RuleSpec) {
        self.entries.rules.retain(|r| r != spec);
    }

    pub fn record_vmac(&mut self, name: &str) {
        if !self.entries.vmacs.iter().any(|v| v == name) {
            self.entries.vmacs.push(name.to_string());
        }
    }

    pub fn forget_vmacs(&mut self) {
        self.entries.vmacs.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.entries.addresses.is_empty()
            && self.entries.routes.is_empty()
            && self.entries.rules.is_empty()
            && self.entries.vmacs.is_empty()
    }

    /// Writes the journal atomically (write, then rename over); a failure is logged.
    pub fn save(&self) {
        let Some(path) = &self.path else { return };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string(&self.entries).unwrap_or_default();
        if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)) {
            crate::warn!("cannot write state file {}: {e}", path.display());
        }
    }

    /// Removes the state file (clean shutdown, nothing left installed).
    pub fn remove_file(&self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Removes from the kernel everything a previous run recorded and did not remove;
    /// returns how many objects were removed.
    pub async fn clean_up_previous_run(&self, netlink: &Netlink, links: &[ka_net::netlink::Link]) -> usize {
        let Some(path) = &self.path else { return 0 };
        let Ok(text) = std::fs::read_to_string(path) else {
            return 0;
        };
        let _ = std::fs::remove_file(path);
        let Ok(old) = serde_json::from_str::<Entries>(&text) else {
            crate::warn!("ignoring unreadable state file {}", path.display());
            return 0;
        };
        // Only touch interfaces that are still the ones the file names.
        let same_link = |index: u32| {
            let then = old.links.get(&index);
            then.is_none() || links.iter().any(|l| l.index == index && Some(&l.name) == then)
        };
        let mut removed = 0;
        for rule in &old.rules {
            if netlink.del_rule(rule).await.is_ok() {
                removed += 1;
            }
        }
        for route in old.routes.iter().filter(|r| r.oif.is_none_or(same_link)) {
            if netlink.del_route(route).await.is_ok() {
                removed += 1;
            }
        }
        super::vmac::remove_leftovers(netlink, &old.vmacs).await;
        for a in old.addresses.iter().filter(|a| same_link(a.index)) {
            if netlink.del_address(a).await.is_ok() {
                crate::info!(
                    "removed {}/{} left behind by a previous run",
                    a.addr,
                    a.prefix_len
                );
                removed += 1;
            }
        }
        removed
    }
}
