//! Kernel parameters under /proc/sys, set with their previous value remembered so that they
//! can be restored on exit (keepalived does this for VMAC interfaces: arp_ignore,
//! arp_filter, accept_local, rp_filter).

use crate::{Context, Result};
use std::path::PathBuf;

/// `net.ipv4.ip_forward` or, when a component (an interface name) contains dots,
/// `net/ipv4/conf/vrrp.51/arp_ignore`.
fn path(name: &str) -> PathBuf {
    if name.contains('/') {
        PathBuf::from("/proc/sys").join(name)
    } else {
        PathBuf::from("/proc/sys").join(name.replace('.', "/"))
    }
}

pub fn read(name: &str) -> Result<String> {
    std::fs::read_to_string(path(name))
        .map(|s| s.trim().to_string())
        .context(|| format!("read sysctl {name}"))
}

pub fn write(name: &str, value: &str) -> Result<()> {
    std::fs::write(path(name), value).context(|| format!("set sysctl {name}={value}"))
}

/// Values changed by us, to restore on exit.
#[derive(Debug, Default)]
pub struct Changes {
    saved: Vec<(String, String)>,
}

impl Changes {
    /// Sets `name` to `value`, remembering the old value the first time.
    pub fn set(&mut self, name: &str, value: &str) -> Result<()> {
        let old = read(name)?;
        if old == value {
            return Ok(());
        }
        write(name, value)?;
        if !self.saved.iter().any(|(n, _)| n == name) {
            self.saved.push((name.to_string(), old));
        }
        Ok(())
    }

    /// Puts every changed value back, newest first; returns the failures.
    pub fn restore(&mut self) -> Vec<crate::NetError> {
        let mut errors = Vec::new();
        while let Some((name, old)) = self.saved.pop() {
            if let Err(e) = write(&name, &old) {
                errors.push(e);
            }
        }
        errors
    }

    pub fn saved(&self) -> &[(String, String)] {
        &self.saved
    }
}
