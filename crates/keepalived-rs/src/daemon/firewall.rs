//! keepalived's accept mode (`accept` / `no_accept`, forced to no_accept by `vrrp_strict`
//! except for the address owner): while a non-owner is master, traffic to and from its VIPs
//! is dropped, as RFC 5798 §6.4.3 says. Like keepalived, we do it with an nftables table of
//! our own (keepalived's is `ip keepalived`; ours is `keepalived_rs` in the `ip` and `ip6`
//! families, so both can coexist): a set of VIPs and two chains at priority filter-1.
//! IPv6 neighbour discovery for the VIPs still passes, so the VIP stays resolvable.

use std::net::IpAddr;
use tokio::io::AsyncWriteExt;

pub const TABLE: &str = "keepalived_rs";

/// Whether `nft` is there to use.
#[derive(Clone, Copy, Debug)]
pub struct Firewall {
    enabled: bool,
}

impl Firewall {
    /// Creates the tables (removing any a crashed run left). `needed` is false when no
    /// instance uses no_accept: then nothing is created.
    pub async fn setup(needed: bool) -> Firewall {
        // Leftovers from a crash go first, needed or not.
        let _ = nft(&format!("delete table ip {TABLE}\n")).await;
        let _ = nft(&format!("delete table ip6 {TABLE}\n")).await;
        if !needed {
            return Firewall { enabled: false };
        }
        let script = format!(
            "table ip {TABLE} {{\n\
             \tset vips {{ type ipv4_addr; }}\n\
             \tchain in {{ type filter hook input priority filter - 1; policy accept; ip daddr @vips drop; }}\n\
             \tchain out {{ type filter hook output priority filter - 1; policy accept; ip saddr @vips drop; }}\n\
             }}\n\
             table ip6 {TABLE} {{\n\
             \tset vips {{ type ipv6_addr; }}\n\
             \tchain in {{ type filter hook input priority filter - 1; policy accept; ip6 daddr @vips icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept; ip6 daddr @vips drop; }}\n\
             \tchain out {{ type filter hook output priority filter - 1; policy accept; ip6 saddr @vips icmpv6 type {{ nd-neighbor-solicit, nd-neighbor-advert }} accept; ip6 saddr @vips drop; }}\n\
             }}\n"
        );
        match nft(&script).await {
            Ok(()) => Firewall { enabled: true },
            Err(e) => {
                crate::error!("no_accept: cannot create the nftables table ({e}); VIPs will accept traffic");
                Firewall { enabled: false }
            }
        }
    }

    /// Drops traffic for exactly these addresses (every no_accept VIP): one transaction.
    /// Only the master holds a VIP as a local address, so the rules act only there.
    pub async fn set_all(&self, addrs: &[IpAddr]) {
        if !self.enabled {
            return;
        }
        let mut script = format!("flush set ip {TABLE} vips\nflush set ip6 {TABLE} vips\n");
        for a in addrs {
            let family = if a.is_ipv4() { "ip" } else { "ip6" };
            script.push_str(&format!("add element {family} {TABLE} vips {{ {a} }}\n"));
        }
        if let Err(e) = nft(&script).await {
            crate::error!("no_accept: {e}");
        }
    }

    /// Removes the tables (shutdown).
    pub async fn teardown(&self) {
        if self.enabled {
            let _ = nft(&format!("delete table ip {TABLE}\ndelete table ip6 {TABLE}\n")).await;
        }
    }
}

/// Runs `nft -f -` with `script` as one atomic transaction.
async fn nft(script: &str) -> Result<(), String> {
    let mut child = tokio::process::Command::new("nft")
        .args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .await
            .map_err(|e| format!("nft: {e}"))?;
    }
    let out = child.wait_with_output().await.map_err(|e| format!("nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}
