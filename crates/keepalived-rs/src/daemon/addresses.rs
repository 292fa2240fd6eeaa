//! The address worker: installs and removes what a VRRP master owns (VIPs, excluded VIPs,
//! virtual routes and rules) and sends gratuitous ARPs / unsolicited NAs, strictly in the
//! order the engine asked, off the VRRP loop so that a slow netlink answer never delays an
//! advert. Every change is recorded in the journal first, so a crash leaves nothing the
//! next start cannot find and remove.

use super::firewall::Firewall;
use super::journal::Journal;
use super::plan::InstancePlan;
use ka_net::frame_socket::FrameSocket;
use ka_net::netlink::{AddressSpec, Netlink};
use ka_wire::{arp, ndisc, MacAddr};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};

#[derive(Debug)]
pub enum Command {
    Install(usize),
    Remove(usize),
    Gratuitous {
        instance: usize,
        repeats: u32,
    },
    /// An interface's MAC or name changed or became known.
    Link {
        ifindex: u32,
        name: String,
        mac: Option<MacAddr>,
    },
    /// Finish what is queued, then answer.
    Flush(oneshot::Sender<()>),
    /// After a reload: the instances as the new configuration has them.
    SetPlan(Vec<InstancePlan>),
    /// After a reload, for a master kept: remove what `before` had and `after` has not, add
    /// what is new (and announce new addresses).
    Replace {
        before: Box<InstancePlan>,
        after: Box<InstancePlan>,
    },
}

/// The addresses the worker deleted lately, as (address, ifindex) and when. The kernel's
/// deletion events for them are ours, not "someone else's" (an `ip addr del` on a master,
/// which makes it leave MASTER to reclaim the address). The VRRP loop hears the events; the
/// record is kept here because only the worker knows what it deleted, including what a
/// reload dropped (seen in a reload storm: the event for our own deletion arrived after the
/// next reload had put the address back in the plan, and a master left MASTER for it).
#[derive(Clone, Default)]
pub struct OwnDeletions(Arc<Mutex<Vec<OwnDeletion>>>);

/// (address, ifindex) and when it was deleted.
type OwnDeletion = ((IpAddr, u32), Instant);

impl OwnDeletions {
    /// How long a deletion may take to come back as a kernel event.
    const WINDOW: Duration = Duration::from_secs(5);
    /// Bounded: a plan has a bounded number of addresses, and old entries expire.
    const MAX: usize = 4096;

    /// Called before the deletion is asked for, so the event cannot come first.
    fn record(&self, spec: &AddressSpec) {
        if let Ok(mut v) = self.0.lock() {
            let now = Instant::now();
            v.retain(|(_, at)| now.duration_since(*at) < Self::WINDOW);
            if v.len() < Self::MAX {
                v.push(((spec.addr, spec.index), now));
            }
        }
    }

    /// The deletion failed: no event of ours will come for it.
    fn forget(&self, spec: &AddressSpec) {
        self.take(spec.addr, spec.index);
    }

    /// Whether the deletion of `addr` on `index` was ours (each deletion answers once).
    pub fn take(&self, addr: IpAddr, index: u32) -> bool {
        let Ok(mut v) = self.0.lock() else {
            return false;
        };
        let now = Instant::now();
        v.retain(|(_, at)| now.duration_since(*at) < Self::WINDOW);
        match v.iter().position(|(a, _)| *a == (addr, index)) {
            Some(k) => {
                v.remove(k);
                true
            }
            None => false,
        }
    }
}

pub struct Worker {
    netlink: Netlink,
    deleted: OwnDeletions,
    frames: Option<FrameSocket>,
    instances: Vec<InstancePlan>,
    macs: HashMap<u32, MacAddr>,
    journal: Journal,
    firewall: Firewall,
    garp_interval: Duration,
    gna_interval: Duration,
    frame: [u8; ndisc::FRAME_LEN],
    /// The journal has changes not yet on disk: saved when no command is waiting, so that a
    /// takeover's gratuitous ARPs are not held up by file I/O (a crash in between leaves
    /// only addresses of the configuration, which the next start removes anyway).
    journal_dirty: bool,
}

impl Worker {
    pub fn new(
        netlink: Netlink,
        instances: Vec<InstancePlan>,
        macs: HashMap<u32, MacAddr>,
        journal: Journal,
        firewall: Firewall,
        garp_interval: Duration,
        gna_interval: Duration,
    ) -> Worker {
        let frames = match FrameSocket::open() {
            Ok(f) => Some(f),
            Err(e) => {
                crate::error!("gratuitous ARP/NA disabled: {e}");
                None
            }
        };
        Worker {
            netlink,
            deleted: OwnDeletions::default(),
            frames,
            instances,
            macs,
            journal,
            firewall,
            garp_interval,
            gna_interval,
            frame: [0u8; ndisc::FRAME_LEN],
            journal_dirty: false,
        }
    }

    /// What this worker deleted, for the VRRP loop that hears the kernel's events.
    pub fn own_deletions(&self) -> OwnDeletions {
        self.deleted.clone()
    }

    pub fn spawn(mut self) -> (mpsc::UnboundedSender<Command>, tokio::task::JoinHandle<Journal>) {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let handle = tokio::spawn(async move {
            // no_accept: every such VIP is in the drop set from the start. On a backup the VIP
            // is not a local address, so the rules match nothing; a takeover then needs no
            // firewall change (it cost a `nft` process, ~3 ms, before the VIP went up).
            self.firewall.set_all(&self.no_accept_vips()).await;
            while let Some(cmd) = rx.recv().await {
                self.execute(cmd).await;
                if self.journal_dirty && rx.is_empty() {
                    self.journal.save();
                    self.journal_dirty = false;
                }
            }
            if self.journal_dirty {
                self.journal.save();
            }
            self.firewall.teardown().await;
            self.journal
        });
        (tx, handle)
    }

    async fn execute(&mut self, cmd: Command) {
        match cmd {
            Command::Install(i) => self.install(i).await,
            Command::Remove(i) => self.remove(i).await,
            Command::Gratuitous { instance, repeats } => self.gratuitous(instance, repeats).await,
            Command::Link { ifindex, name, mac } => {
                if let Some(mac) = mac {
                    self.macs.insert(ifindex, mac);
                }
                self.journal.set_link_name(ifindex, &name);
            }
            Command::Flush(done) => {
                let _ = done.send(());
            }
            Command::SetPlan(instances) => {
                self.instances = instances;
                self.firewall.set_all(&self.no_accept_vips()).await;
            }
            Command::Replace { before, after } => self.replace(&before, &after).await,
        }
    }

    fn no_accept_vips(&self) -> Vec<IpAddr> {
        self.instances
            .iter()
            .filter(|p| p.no_accept)
            .flat_map(vip_addresses)
            .collect()
    }

    async fn install(&mut self, i: usize) {
        let Some(plan) = self.instances.get(i).cloned() else {
            return;
        };
        for spec in plan.all_vips() {
            self.journal.record_address(spec);
            match self.netlink.add_address(spec).await {
                Ok(()) => crate::debug!("({}) added {}/{}", plan.engine.name, spec.addr, spec.prefix_len),
                Err(e) if e.source.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => crate::error!("({}) {e}", plan.engine.name),
            }
        }
        for route in &plan.routes {
            self.journal.record_route(route);
            if let Err(e) = self.netlink.add_route(route).await {
                if e.source.raw_os_error() != Some(libc::EEXIST) {
                    crate::error!("({}) {e}", plan.engine.name);
                }
            }
        }
        for rule in &plan.rules {
            self.journal.record_rule(rule);
            if let Err(e) = self.netlink.add_rule(rule).await {
                if e.source.raw_os_error() != Some(libc::EEXIST) {
                    crate::error!("({}) {e}", plan.engine.name);
                }
            }
        }
        self.journal_dirty = true;
    }

    async fn replace(&mut self, before: &InstancePlan, after: &InstancePlan) {
        let name = &after.engine.name;
        let old_addrs: Vec<&AddressSpec> = before.all_vips().collect();
        let new_addrs: Vec<&AddressSpec> = after.all_vips().collect();
        for r in before.rules.iter().filter(|r| !after.rules.contains(r)) {
            if let Err(e) = self.netlink.del_rule(r).await {
                log_unless_gone(name, &e);
            }
            self.journal.forget_rule(r);
        }
        for r in before.routes.iter().filter(|r| !after.routes.contains(r)) {
            if let Err(e) = self.netlink.del_route(r).await {
                log_unless_gone(name, &e);
            }
            self.journal.forget_route(r);
        }
        for a in old_addrs.iter().filter(|a| !new_addrs.contains(a)) {
            self.delete_address(name, a).await;
        }
        let mut added = false;
        for a in new_addrs.iter().filter(|a| !old_addrs.contains(a)) {
            self.journal.record_address(a);
            match self.netlink.add_address(a).await {
                Ok(()) => added = true,
                Err(e) if e.source.raw_os_error() == Some(libc::EEXIST) => {}
                Err(e) => crate::error!("({name}) {e}"),
            }
        }
        for r in after.routes.iter().filter(|r| !before.routes.contains(r)) {
            self.journal.record_route(r);
            if let Err(e) = self.netlink.add_route(r).await {
                crate::error!("({name}) {e}");
            }
        }
        for r in after.rules.iter().filter(|r| !before.rules.contains(r)) {
            self.journal.record_rule(r);
            if let Err(e) = self.netlink.add_rule(r).await {
                crate::error!("({name}) {e}");
            }
        }
        self.journal.save();
        if added {
            // keepalived announces only when addresses were added.
            if let Some(i) = self
                .instances
                .iter()
                .position(|p| p.engine.name == after.engine.name)
            {
                let repeats = after.engine.garp.master_repeat;
                self.gratuitous(i, repeats).await;
            }
        }
    }

    async fn remove(&mut self, i: usize) {
        let Some(plan) = self.instances.get(i).cloned() else {
            return;
        };
        for rule in &plan.rules {
            if let Err(e) = self.netlink.del_rule(rule).await {
                log_unless_gone(&plan.engine.name, &e);
            }
            self.journal.forget_rule(rule);
        }
        for route in &plan.routes {
            if let Err(e) = self.netlink.del_route(route).await {
                log_unless_gone(&plan.engine.name, &e);
            }
            self.journal.forget_route(route);
        }
        for spec in plan.all_vips() {
            self.delete_address(&plan.engine.name, spec).await;
        }
        self.journal_dirty = true;
    }

    async fn delete_address(&mut self, name: &str, spec: &AddressSpec) {
        self.deleted.record(spec);
        if let Err(e) = self.netlink.del_address(spec).await {
            self.deleted.forget(spec);
            log_unless_gone(name, &e);
        }
        self.journal.forget_address(spec);
    }

    /// `repeats` rounds of one GARP (IPv4) or NA (IPv6) per VIP, paced by the configured
    /// per-interface intervals.
    async fn gratuitous(&mut self, i: usize, repeats: u32) {
        let Some(frames) = &self.frames else { return };
        let Some(plan) = self.instances.get(i) else { return };
        let vips: Vec<AddressSpec> = plan.all_vips().cloned().collect();
        for round in 0..repeats {
            for spec in &vips {
                let Some(mac) = self.macs.get(&spec.index).copied() else {
                    continue;
                };
                let (len, pause) = match spec.addr {
                    IpAddr::V4(v4) => (
                        arp::Repr::gratuitous(mac, v4).emit_frame(&mut self.frame),
                        self.garp_interval,
                    ),
                    IpAddr::V6(v6) => (
                        ndisc::Repr::unsolicited(v6, mac, false).emit_frame(&mut self.frame, mac),
                        self.gna_interval,
                    ),
                };
                let Ok(len) = len else { continue };
                if let Err(e) = frames.send(spec.index, &self.frame[..len]) {
                    crate::warn!(
                        "({}) gratuitous announcement for {}: {e}",
                        plan.engine.name,
                        spec.addr
                    );
                }
                if !pause.is_zero() {
                    tokio::time::sleep(pause).await;
                }
            }
            if round == 0 {
                crate::debug!(
                    "({}) sending {repeats} gratuitous ARP/NA per VIP",
                    plan.engine.name
                );
            }
        }
    }
}

fn vip_addresses(plan: &InstancePlan) -> Vec<IpAddr> {
    plan.all_vips().map(|v| v.addr).collect()
}

fn log_unless_gone(name: &str, e: &ka_net::NetError) {
    // Already absent (removed by someone else, or never added) is what we wanted.
    if !matches!(
        e.source.raw_os_error(),
        Some(libc::EADDRNOTAVAIL | libc::ENOENT | libc::ESRCH | libc::ENODEV)
    ) {
        crate::error!("({name}) {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(addr: &str, index: u32) -> AddressSpec {
        AddressSpec {
            index,
            addr: addr
                .parse()
                .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED)),
            prefix_len: 24,
            broadcast: None,
            label: None,
            scope: 0,
            peer: None,
            flags: 0,
            preferred_lft: None,
        }
    }

    #[test]
    fn each_own_deletion_answers_once_and_only_for_its_interface() {
        let d = OwnDeletions::default();
        let vip = spec("192.0.2.50", 3);
        d.record(&vip);
        assert!(!d.take(vip.addr, 4), "same address, another interface: not ours");
        assert!(d.take(vip.addr, 3));
        assert!(!d.take(vip.addr, 3), "one deletion, one event");
        // A deletion that failed produces no event: a later one is someone else's.
        d.record(&vip);
        d.forget(&vip);
        assert!(!d.take(vip.addr, 3));
    }
}
