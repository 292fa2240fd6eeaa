//! `use_vmac`: a macvlan interface per instance carrying the VRRP virtual MAC
//! (00:00:5e:00:01:VRID for IPv4, 00:00:5e:00:02:VRID for IPv6), as keepalived creates it:
//! private mode, named `vrrp.VRID` (keepalived's `vmac_prefix`), with the sysctls keepalived
//! sets (on the VMAC: arp_ignore=1, accept_local=1, rp_filter=0; on the parent:
//! arp_ignore=1, arp_filter=1) and, for IPv6, a link-local address derived from the parent's
//! MAC instead of the virtual MAC's (which would be the same on every router). Everything is
//! undone on exit, and the crash journal lists the VMACs so a restart removes leftovers.

use ka_net::netlink::{AddressSpec, Link, Netlink, IFA_F_NODAD};
use ka_net::sysctl;
use ka_wire::MacAddr;
use std::net::{IpAddr, Ipv6Addr};

/// A VMAC the plan asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VmacPlan {
    pub name: String,
    pub mac: MacAddr,
    pub parent: u32,
    pub parent_name: String,
    pub ipv6: bool,
    /// `vmac_xmit_base`: adverts go out (and come in) on the parent.
    pub xmit_base: bool,
}

/// VMACs created by this run and the sysctls changed for them.
#[derive(Default)]
pub struct Vmacs {
    created: Vec<String>,
    sysctls: sysctl::Changes,
}

/// The EUI-64 link-local address of a MAC (RFC 4291 appendix A).
pub fn link_local_from_mac(mac: MacAddr) -> Ipv6Addr {
    let m = mac.0;
    Ipv6Addr::new(
        0xfe80,
        0,
        0,
        0,
        u16::from_be_bytes([m[0] ^ 0x02, m[1]]),
        u16::from_be_bytes([m[2], 0xff]),
        u16::from_be_bytes([0xfe, m[3]]),
        u16::from_be_bytes([m[4], m[5]]),
    )
}

impl Vmacs {
    /// Creates (or takes over from a crashed run) each VMAC; returns its ifindex by name.
    pub async fn create(
        &mut self,
        netlink: &Netlink,
        wanted: &[VmacPlan],
    ) -> Result<Vec<(String, u32)>, String> {
        let mut out = Vec::new();
        for v in wanted {
            let links = netlink.links().await.map_err(|e| e.to_string())?;
            let existing = links.iter().find(|l| l.name == v.name);
            match existing {
                Some(l) if is_our_vmac(l, v) => {}
                Some(l) => {
                    return Err(format!(
                        "interface {} exists and is not a VMAC on {} with {}: cannot use it for use_vmac",
                        l.name, v.parent_name, v.mac
                    ))
                }
                None => {
                    netlink
                        .add_macvlan(&v.name, v.parent, v.mac, ka_net::netlink::MacVlanMode::Private)
                        .await
                        .map_err(|e| e.to_string())?;
                    self.created.push(v.name.clone());
                }
            }
            let links = netlink.links().await.map_err(|e| e.to_string())?;
            let Some(index) = links.iter().find(|l| l.name == v.name).map(|l| l.index) else {
                return Err(format!("VMAC {} vanished after creation", v.name));
            };
            let parent_mac = links.iter().find(|l| l.index == v.parent).and_then(|l| l.mac);
            self.configure(v, index, parent_mac, netlink).await?;
            out.push((v.name.clone(), index));
        }
        Ok(out)
    }

    async fn configure(
        &mut self,
        v: &VmacPlan,
        index: u32,
        parent_mac: Option<MacAddr>,
        netlink: &Netlink,
    ) -> Result<(), String> {
        let set = |changes: &mut sysctl::Changes, name: String, value: &str| {
            if let Err(e) = changes.set(&name, value) {
                crate::warn!("{e}");
            }
        };
        // No IPv6 address from the virtual MAC: every router would get the same one.
        set(
            &mut self.sysctls,
            format!("net/ipv6/conf/{}/addr_gen_mode", v.name),
            "1",
        );
        if !v.ipv6 {
            set(
                &mut self.sysctls,
                format!("net/ipv4/conf/{}/arp_ignore", v.name),
                "1",
            );
            set(
                &mut self.sysctls,
                format!("net/ipv4/conf/{}/accept_local", v.name),
                "1",
            );
            set(
                &mut self.sysctls,
                format!("net/ipv4/conf/{}/rp_filter", v.name),
                "0",
            );
            set(
                &mut self.sysctls,
                format!("net/ipv4/conf/{}/arp_ignore", v.parent_name),
                "1",
            );
            set(
                &mut self.sysctls,
                format!("net/ipv4/conf/{}/arp_filter", v.parent_name),
                "1",
            );
            // rp_filter takes the larger of "all" and the interface's value.
            if sysctl::read("net.ipv4.conf.all.rp_filter").is_ok_and(|x| x != "0") {
                set(&mut self.sysctls, "net.ipv4.conf.all.rp_filter".to_string(), "0");
            }
        }
        netlink
            .set_link_up(index, true)
            .await
            .map_err(|e| e.to_string())?;
        if v.ipv6 {
            if let Some(mac) = parent_mac {
                let spec = AddressSpec {
                    index,
                    addr: IpAddr::V6(link_local_from_mac(mac)),
                    prefix_len: 64,
                    broadcast: None,
                    label: None,
                    scope: 253,
                    peer: None,
                    flags: IFA_F_NODAD,
                    preferred_lft: None,
                };
                if let Err(e) = netlink.add_address(&spec).await {
                    if e.source.raw_os_error() != Some(libc::EEXIST) {
                        return Err(e.to_string());
                    }
                }
            }
        }
        Ok(())
    }

    pub fn created(&self) -> &[String] {
        &self.created
    }

    /// Deletes the VMACs this run created and restores the sysctls.
    pub async fn remove(&mut self, netlink: &Netlink) {
        if let Ok(links) = netlink.links().await {
            for name in self.created.drain(..) {
                if let Some(l) = links.iter().find(|l| l.name == name) {
                    if let Err(e) = netlink.delete_link(l.index).await {
                        crate::warn!("cannot delete VMAC {name}: {e}");
                    }
                }
            }
        }
        for e in self.sysctls.restore() {
            crate::warn!("{e}");
        }
    }
}

fn is_our_vmac(l: &Link, v: &VmacPlan) -> bool {
    l.kind.as_deref() == Some("macvlan") && l.mac == Some(v.mac) && l.parent == Some(v.parent)
}

/// Removes VMACs a crashed run left (named in its journal), if they still look like ours.
pub async fn remove_leftovers(netlink: &Netlink, names: &[String]) {
    let Ok(links) = netlink.links().await else { return };
    for name in names {
        if let Some(l) = links
            .iter()
            .find(|l| &l.name == name && l.kind.as_deref() == Some("macvlan"))
        {
            if l.mac.is_some_and(|m| m.0[..4] == [0, 0, 0x5e, 0])
                && netlink.delete_link(l.index).await.is_ok()
            {
                crate::info!("removed VMAC {name} left behind by a previous run");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eui64_link_local() {
        let mac = MacAddr([0x02, 0x00, 0x00, 0x00, 0x00, 0x11]);
        assert_eq!(
            link_local_from_mac(mac),
            "fe80::ff:fe00:11".parse::<Ipv6Addr>().unwrap()
        );
        let mac = MacAddr([0x52, 0x54, 0x00, 0x12, 0x34, 0x56]);
        assert_eq!(
            link_local_from_mac(mac),
            "fe80::5054:ff:fe12:3456".parse::<Ipv6Addr>().unwrap()
        );
    }
}
