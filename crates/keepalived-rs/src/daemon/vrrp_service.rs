//! The VRRP loop: owns the engine and the sockets, feeds the engine packets, timer expiries,
//! interface and tracker changes, and carries out its actions. Adverts go out from here
//! directly; address changes and gratuitous ARPs go to the address worker in order;
//! notifications to the notifier.
//!
//! Nothing on the packet path allocates: one receive buffer and one send buffer serve every
//! packet, and waiting on all sockets at once polls them in place.

use super::addresses;
use super::clock::Clock;
use super::notifier::Notification;
use super::plan::VrrpPlan;
use super::plan::{self, Machine};
use super::sd_notify::systemd;
use super::sockets::Sockets;
use ka_net::monitor::NetEvent;
use ka_net::netlink::Netlink;
use ka_net::vrrp_socket::RecvSocket;
use ka_vrrp::{Action, LinkId, PacketOutcome, Router, State, TrackerId, TrackerState};
use ka_wire::rx::{emit_ipv4_advert, Received};
use ka_wire::vrrp::Family;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::task::Poll;
use tokio::sync::mpsc;

/// Largest datagram we read: anything longer is truncated and then fails validation.
const RECV_BUFFER: usize = 65_536;
/// Packets read per socket wakeup before looking at timers and other sockets again.
const BURST: usize = 64;

/// Inputs from other tasks.
#[derive(Debug)]
pub enum Input {
    Tracker(TrackerId, TrackerState),
    Net(NetEvent),
    /// SIGHUP: read the configuration again.
    Reload,
}

/// How to read the configuration again.
#[derive(Clone, Debug)]
pub struct ReloadSource {
    pub path: std::path::PathBuf,
    pub config_id: Option<String>,
}

pub struct VrrpService {
    clock: Clock,
    pub router: Router,
    plan: VrrpPlan,
    sockets: Sockets,
    netlink: Netlink,
    /// Where to read the configuration again on SIGHUP.
    reload: ReloadSource,
    recv_buf: Box<[u8]>,
    send_buf: [u8; 4096],
    addresses: mpsc::UnboundedSender<addresses::Command>,
    notify: mpsc::UnboundedSender<Notification>,
    /// Interfaces we care about (instance and tracked), by index.
    links: BTreeMap<u32, bool>,
    /// The VMACs (`use_vmac`) in use; handed back for removal after the run.
    pub vmacs: super::vmac::Vmacs,
    /// What the reporters (control socket, metrics, dumps) read.
    status: super::status::Shared,
    /// Per instance: transitions by (from, to), the advertisers heard and when, gratuitous
    /// announcements sent. Kept here: the engine does not need them.
    history: Vec<InstanceHistory>,
    last_publish: Option<ka_units::Instant>,
    /// The latest state each tracker reported (for the status).
    tracker_states: BTreeMap<TrackerId, TrackerState>,
    /// What the address worker deleted lately: the kernel's events for those are ours.
    own_deletions: addresses::OwnDeletions,
}

/// What the status reports about an instance beyond the engine's own counters.
#[derive(Clone, Debug, Default)]
struct InstanceHistory {
    transitions: BTreeMap<(&'static str, &'static str), u64>,
    /// (advertiser, when its last advert was accepted); a handful per instance.
    peers: Vec<(IpAddr, ka_units::Instant)>,
    gratuitous: u64,
    /// Wall-clock time of the last transition, for display.
    last_transition_unix: f64,
}

/// How often the status is refreshed besides at transitions.
const PUBLISH_EVERY: ka_units::Micros = ka_units::Micros(1_000_000);

impl VrrpService {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        clock: Clock,
        router: Router,
        plan: VrrpPlan,
        sockets: Sockets,
        netlink: Netlink,
        reload: ReloadSource,
        addresses: mpsc::UnboundedSender<addresses::Command>,
        own_deletions: addresses::OwnDeletions,
        notify: mpsc::UnboundedSender<Notification>,
        links: BTreeMap<u32, bool>,
        vmacs: super::vmac::Vmacs,
        status: super::status::Shared,
    ) -> VrrpService {
        let history = vec![InstanceHistory::default(); plan.instances.len()];
        VrrpService {
            status,
            history,
            last_publish: None,
            tracker_states: BTreeMap::new(),
            own_deletions,
            clock,
            router,
            plan,
            sockets,
            netlink,
            reload,
            recv_buf: vec![0u8; RECV_BUFFER].into_boxed_slice(),
            send_buf: [0u8; 4096],
            addresses,
            notify,
            links,
            vmacs,
        }
    }

    /// Starts the engine and runs until `shutdown` resolves; then stops every instance
    /// (priority-0 adverts, addresses removed) before returning.
    pub async fn run(
        &mut self,
        mut inputs: mpsc::Receiver<Input>,
        shutdown: impl std::future::Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        let now = self.clock.now();
        self.router.start(now);
        self.drain_actions();
        let timer = match super::clock::PreciseTimer::new() {
            Ok(t) => t,
            Err(e) => {
                crate::error!("cannot create the VRRP timer: {e}");
                return;
            }
        };
        // Sockets open, first plan running: systemd may start what comes after us.
        self.publish_systemd_status();
        systemd().notify_ready();
        // Watchdog keep-alives come from this loop, so that a loop stuck anywhere stops them.
        let keep_alive_period = systemd().keep_alive_period();
        let idle = std::time::Duration::from_secs(3600);
        let mut keep_alive = tokio::time::interval(keep_alive_period.unwrap_or(idle));
        keep_alive.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let deadline = self.router.poll_timeout();
            if let Some(d) = deadline {
                let now = self.clock.now();
                let wait = std::time::Duration::from_micros(if d > now { (d - now).0 } else { 0 });
                if let Err(e) = timer.arm(wait) {
                    crate::error!("cannot arm the VRRP timer: {e}");
                }
            }
            self.publish_if_due();
            tokio::select! {
                biased;
                _ = &mut shutdown => break,
                // Adverts before timers: when the daemon was not scheduled for a while (a
                // stopped or starved process), the master's adverts that queued meanwhile
                // must count before Master_Down is judged, or a backup that merely slept
                // takes over from a live master.
                ready = std::future::poll_fn(|cx| poll_any(&self.sockets.recv, cx)) => {
                    self.read_socket(ready);
                }
                _ = timer.expired(), if deadline.is_some() => {
                    // Whatever arrived up to now, on every socket, first (see above).
                    for k in 0..self.sockets.recv.len() {
                        self.read_socket(k);
                    }
                    let now = self.clock.now();
                    self.router.handle_timeout(now);
                    self.drain_actions();
                }
                _ = keep_alive.tick(), if keep_alive_period.is_some() => systemd().keep_alive(),
                Some(input) = inputs.recv() => {
                    if matches!(input, Input::Reload) {
                        systemd().notify_reloading();
                        self.reload().await;
                        // Done or refused, the daemon runs a configuration again.
                        self.publish_systemd_status();
                        systemd().notify_ready();
                    } else {
                        self.handle_input(input);
                    }
                }
            }
        }
        let now = self.clock.now();
        self.router.shutdown(now);
        self.drain_actions();
        self.publish();
    }

    /// SIGHUP: reads the configuration again and, if it can run, switches to it. Instances
    /// are matched as keepalived matches them (VRID, family, interface, unicast or not);
    /// matched ones keep their state, masters keep their addresses (only what changed is
    /// added or removed), removed masters send priority 0. A configuration that cannot run
    /// is refused and the running one stays.
    async fn reload(&mut self) {
        let ok = self.reload_inner().await;
        if let Ok(mut st) = self.status.write() {
            st.config.last_reload_successful = ok;
            if ok {
                st.config.reloads += 1;
                st.config.last_success_unix = super::status::unix_now();
            } else {
                st.config.failed_reloads += 1;
            }
        }
        // The new plan's instances are reported at once.
        self.last_publish = None;
    }

    /// The reload itself; false when it was refused.
    async fn reload_inner(&mut self) -> bool {
        crate::info!("Reloading ...");
        // Parsing a big file must not run under a real-time priority (vrrp_rt_priority, or
        // keepalived-rs's default): it would hold a CPU and could reach RLIMIT_RTTIME.
        let loaded = {
            let _normal = super::process_tuning::NormalSchedulingWhile::begin();
            crate::config_test::load(&self.reload.path, self.reload.config_id.clone())
        };
        if loaded.cannot_run() {
            for d in loaded.blocking_diagnostics() {
                crate::error!("{d}");
            }
            crate::error!("Reload refused: the new configuration cannot be run; keeping the running one");
            return false;
        }
        let (links, addrs) = match (self.netlink.links().await, self.netlink.addresses().await) {
            (Ok(l), Ok(a)) => (l, a),
            (Err(e), _) | (_, Err(e)) => {
                crate::error!("Reload refused: {e}");
                return false;
            }
        };
        let machine = Machine {
            links: &links,
            addresses: &addrs,
        };
        let mut new_plan = match plan::build(&loaded.config, &machine) {
            Ok(p) => p,
            Err(plan::PlanError(problems)) => {
                for p in problems {
                    crate::error!("{p}");
                }
                crate::error!("Reload refused: keeping the running configuration");
                return false;
            }
        };
        let wanted: Vec<super::vmac::VmacPlan> =
            new_plan.instances.iter().filter_map(|p| p.vmac.clone()).collect();
        let (links, addrs) = if wanted.is_empty() {
            (links, addrs)
        } else {
            match self.vmacs.create(&self.netlink, &wanted).await {
                Ok(created) => new_plan.attach_vmacs(&created),
                Err(e) => {
                    crate::error!("Reload refused: use_vmac: {e}");
                    return false;
                }
            }
            match (self.netlink.links().await, self.netlink.addresses().await) {
                (Ok(l), Ok(a)) => (l, a),
                (Err(e), _) | (_, Err(e)) => {
                    crate::error!("Reload refused: {e}");
                    return false;
                }
            }
        };
        let machine = Machine {
            links: &links,
            addresses: &addrs,
        };
        let key = |p: &plan::InstancePlan| (p.engine.vrid, p.family, p.ifindex, p.engine.is_unicast());
        let kept: Vec<Option<usize>> = new_plan
            .instances
            .iter()
            .map(|n| self.plan.instances.iter().position(|o| key(o) == key(n)))
            .collect();
        let now = self.clock.now();
        for old in 0..self.plan.instances.len() {
            if !kept.contains(&Some(old)) {
                crate::info!(
                    "({}) removed by the new configuration",
                    self.plan.instances[old].engine.name
                );
                self.router.stop_instance(now, old);
            }
        }
        self.drain_actions();
        // Removals for the old plan are queued; from here the worker uses the new one.
        let _ = self
            .addresses
            .send(addresses::Command::SetPlan(new_plan.instances.clone()));
        // Masters kept: add and remove only what changed.
        for (new, old) in kept.iter().enumerate() {
            let Some(old) = *old else { continue };
            if self.router.instance(old).is_some_and(|x| x.addresses_installed()) {
                let _ = self.addresses.send(addresses::Command::Replace {
                    before: Box::new(self.plan.instances[old].clone()),
                    after: Box::new(new_plan.instances[new].clone()),
                });
            }
        }
        let sockets = match Sockets::for_plan(&new_plan, &machine, Some(std::mem::take(&mut self.sockets))) {
            Ok(s) => s,
            Err(e) => {
                crate::error!("Reload incomplete: {e}");
                return false;
            }
        };
        let mut router = Router::new(
            new_plan.instances.iter().map(|p| p.engine.clone()).collect(),
            new_plan.groups.iter().map(|g| g.engine.clone()).collect(),
        );
        for (i, source) in sockets.sources.iter().enumerate() {
            router.set_source_address(i, *source);
        }
        for p in &new_plan.instances {
            for l in links
                .iter()
                .filter(|l| l.index == p.ifindex || p.engine.track_links.iter().any(|(t, _)| t.0 == l.index))
            {
                self.links.entry(l.index).or_insert(l.is_up());
            }
        }
        router.adopt(now, &self.router, &kept);
        for (i, sender) in sockets.senders.iter().enumerate() {
            if sender.is_none() {
                router.set_link(now, LinkId(new_plan.instances[i].ifindex), false);
            }
        }
        self.router = router;
        self.plan = new_plan;
        self.sockets = sockets;
        // Kept instances keep their history; new ones start empty.
        self.history = kept
            .iter()
            .map(|old| old.and_then(|o| self.history.get(o).cloned()).unwrap_or_default())
            .collect();
        self.drain_actions();
        crate::info!("Reload finished: {} VRRP instance(s)", self.plan.instances.len());
        true
    }

    fn handle_input(&mut self, input: Input) {
        let now = self.clock.now();
        match input {
            Input::Tracker(id, state) => {
                self.tracker_states.insert(id, state);
                self.router.set_tracker(now, id, state);
            }
            Input::Net(NetEvent::Link(link)) => {
                let _ = self.addresses.send(addresses::Command::Link {
                    ifindex: link.index,
                    name: link.name.clone(),
                    mac: link.mac,
                });
                if let Some(up) = self.links.get_mut(&link.index) {
                    if *up != link.is_up() {
                        *up = link.is_up();
                        crate::info!("Interface {} {}", link.name, if *up { "up" } else { "down" });
                        self.router.set_link(now, LinkId(link.index), link.is_up());
                    }
                }
            }
            Input::Net(NetEvent::LinkRemoved { index }) => {
                if self.links.insert(index, false) == Some(true) {
                    self.router.set_link(now, LinkId(index), false);
                }
            }
            Input::Net(NetEvent::AddressRemoved(addr)) => self.address_removed(addr),
            Input::Net(_) | Input::Reload => {}
        }
        self.drain_actions();
    }

    /// An address of a master removed by someone else (`ip addr del`): keepalived's
    /// `set_vrrp_backup` — the instance leaves MASTER with a priority-0 advert and comes back
    /// after its skew time unless a peer claims the VIPs first (see
    /// [`Router::address_removed`](ka_vrrp::Router::address_removed)). `no_track` addresses
    /// are left alone, as in keepalived.
    fn address_removed(&mut self, addr: ka_net::netlink::Address) {
        if self.own_deletions.take(addr.addr, addr.index) {
            // Our own deletion coming back from the kernel.
            return;
        }
        let now = self.clock.now();
        for i in 0..self.plan.instances.len() {
            let p = &self.plan.instances[i];
            let owned = p.all_vips().any(|v| v.addr == addr.addr && v.index == addr.index);
            if !owned || p.untracked_vips.contains(&addr.addr) {
                continue;
            }
            let master = self
                .router
                .instance(i)
                .is_some_and(|x| x.state() == State::Master);
            if master {
                crate::warn!(
                    "({}) VIP {} was removed by someone else - leaving MASTER to reclaim it",
                    p.engine.name,
                    addr.addr
                );
                self.router.address_removed(now, i);
            }
        }
    }

    fn read_socket(&mut self, k: usize) {
        let Some(sock) = self.sockets.recv.get(k) else {
            return;
        };
        let family = sock.family();
        let link = LinkId(sock.ifindex());
        let unspecified = match family {
            Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        for _ in 0..BURST {
            let meta = match self.sockets.recv[k].try_recv(&mut self.recv_buf) {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(e) => {
                    crate::warn!("{e}");
                    break;
                }
            };
            let len = meta.len.min(self.recv_buf.len());
            let rx = Received {
                family,
                bytes: &self.recv_buf[..len],
                src: meta.src.unwrap_or(unspecified),
                dst: meta.dst.unwrap_or(unspecified),
                hop_limit: meta.hop_limit,
            };
            let now = self.clock.now();
            let outcome = self.router.handle_packet(now, link, &rx);
            if let PacketOutcome::Accepted { instance } = outcome {
                if let Some(h) = self.history.get_mut(instance) {
                    // IPv4 adverts are read with their IP header, where the source is.
                    let src = match (rx.src, rx.bytes.get(12..16)) {
                        (a, Some(b)) if a.is_unspecified() && family == Family::Ipv4 => {
                            IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
                        }
                        (a, _) => a,
                    };
                    if let Some(entry) = h.peers.iter_mut().find(|(a, _)| *a == src) {
                        entry.1 = now;
                    } else if h.peers.len() < 16 {
                        // Bounded: a flood of forged sources must not grow it without end.
                        h.peers.push((src, now));
                    }
                }
            }
            if let PacketOutcome::Dropped {
                instance: Some(i),
                reason,
            } = outcome
            {
                if crate::logging::detail() {
                    let name = self
                        .router
                        .instance(i)
                        .map(|x| x.config.name.as_str())
                        .unwrap_or("?");
                    crate::debug!("({name}) advert dropped: {}", reason.as_str());
                }
            }
            self.drain_actions();
        }
    }

    fn drain_actions(&mut self) {
        while let Some(action) = self.router.poll_action() {
            match action {
                Action::SendAdvert { instance, priority } => self.send_advert(instance, priority),
                Action::InstallAddresses { instance } => {
                    let _ = self.addresses.send(addresses::Command::Install(instance));
                }
                Action::RemoveAddresses { instance } => {
                    let _ = self.addresses.send(addresses::Command::Remove(instance));
                }
                Action::SendGratuitous { instance, repeats } => {
                    if let Some(h) = self.history.get_mut(instance) {
                        h.gratuitous += u64::from(repeats);
                    }
                    let _ = self
                        .addresses
                        .send(addresses::Command::Gratuitous { instance, repeats });
                }
                Action::StateChanged {
                    instance,
                    from,
                    to,
                    priority,
                    ..
                } => {
                    if let Some(h) = self.history.get_mut(instance) {
                        *h.transitions
                            .entry((from.keepalived_name(), to.keepalived_name()))
                            .or_insert(0) += 1;
                        h.last_transition_unix = super::status::unix_now();
                    }
                    self.state_changed(instance, to, priority);
                    // Reporters see a transition at once.
                    self.last_publish = None;
                }
                Action::GroupStateChanged { group, to } => {
                    if let Some(g) = self.plan.groups.get(group) {
                        crate::info!(
                            "VRRP_Group({}) Syncing instances to {} state",
                            g.engine.name,
                            to.keepalived_name()
                        );
                        let _ = self.notify.send(Notification {
                            kind: "GROUP",
                            name: g.engine.name.clone(),
                            state: to,
                            priority: 0,
                            scripts: g.notify.clone(),
                        });
                    }
                }
                Action::PriorityChanged { instance, from, to } => {
                    crate::info!(
                        "({}) Changing effective priority from {from} to {to}",
                        self.name(instance)
                    );
                }
                Action::MasterHeardLowerPriority { instance, priority } => {
                    crate::info!(
                        "({}) Received advert with lower priority {priority}, forcing new election",
                        self.name(instance)
                    );
                }
                Action::OwnerConflict { instance } => {
                    crate::error!(
                        "({}) CONFIGURATION ERROR: local instance and a remote instance are both configured as address owner, please fix - reducing local priority",
                        self.name(instance)
                    );
                }
            }
        }
    }

    fn publish_if_due(&mut self) {
        let now = self.clock.now();
        if self.last_publish.is_some_and(|t| now - t < PUBLISH_EVERY) {
            return;
        }
        self.last_publish = Some(now);
        self.publish();
    }

    /// Writes the VRRP part of the status.
    fn publish(&mut self) {
        use super::status::{
            InstanceData, InstanceExtra, InstanceStats, PeerHeard, Transition, VrrpInstance,
        };
        use ka_wire::rx::DropReason;
        let now = self.clock.now();
        let mut out = Vec::with_capacity(self.plan.instances.len());
        for (i, p) in self.plan.instances.iter().enumerate() {
            let Some(inst) = self.router.instance(i) else {
                continue;
            };
            let c = &p.engine;
            let st = inst.stats();
            let h = self.history.get(i).cloned().unwrap_or_default();
            let installed = inst.addresses_installed();
            let vip_text = |spec: &ka_net::netlink::AddressSpec| {
                let dev = if p.ifname.is_empty() {
                    "?"
                } else {
                    p.ifname.as_str()
                };
                format!(
                    "{}/{} dev {dev} scope global{}",
                    spec.addr,
                    spec.prefix_len,
                    if installed { " set" } else { "" }
                )
            };
            let secs = |cs: ka_units::Centiseconds| f64::from(cs.get()) / 100.0;
            let data = InstanceData {
                iname: c.name.clone(),
                dont_track_primary: u8::from(c.dont_track_primary),
                skip_check_adv_addr: u8::from(c.skip_check_adv_addr),
                strict_mode: 0,
                vmac_ifname: p.vmac.as_ref().map(|v| v.name.clone()).unwrap_or_default(),
                ifp_ifname: p.ifname.clone(),
                master_priority: inst.master_priority(),
                last_transition: h.last_transition_unix,
                garp_delay: c.garp.master_delay.0 / 1_000_000,
                garp_refresh: c.garp.master_refresh.0 / 1_000_000,
                garp_rep: c.garp.master_repeat,
                garp_refresh_rep: c.garp.master_refresh_repeat,
                garp_lower_prio_delay: c.garp.lower_prio_delay.0 / 1_000_000,
                garp_lower_prio_rep: c.garp.lower_prio_repeat,
                lower_prio_no_advert: u8::from(c.lower_prio_no_advert),
                higher_prio_send_advert: u8::from(c.higher_prio_send_advert),
                vrid: c.vrid,
                base_priority: inst.base_priority(),
                effective_priority: inst.effective_priority(),
                vipset: installed,
                promote_secondaries: false,
                adver_int: secs(c.advert_interval),
                master_adver_int: secs(inst.master_adver_int()),
                accept: u8::from(!p.no_accept),
                nopreempt: c.nopreempt,
                preempt_delay: c.preempt_delay.0 / 1_000_000,
                state: super::status::state_number(inst.state()),
                wantstate: super::status::state_number(inst.state()),
                version: match c.version {
                    ka_wire::vrrp::Version::V2 => 2,
                    ka_wire::vrrp::Version::V3 => 3,
                },
                smtp_alert: false,
                notify_deleted: false,
                vips: p.vips.iter().map(vip_text).collect(),
                evips: p.excluded_vips.iter().map(vip_text).collect(),
                track_script: Vec::new(),
                auth_type: match c.auth_type {
                    ka_wire::vrrp::AuthType::None => 0,
                    ka_wire::vrrp::AuthType::Pass => 1,
                    ka_wire::vrrp::AuthType::Ah => 2,
                },
                auth_data: if c.auth_type == ka_wire::vrrp::AuthType::None {
                    String::new()
                } else {
                    "********".into()
                },
            };
            let drops = |r: DropReason| st.drops(r);
            let stats = InstanceStats {
                advert_rcvd: st.advert_rcvd,
                advert_sent: st.advert_sent,
                become_master: st.become_master,
                release_master: st.release_master,
                packet_len_err: drops(DropReason::Length)
                    + drops(DropReason::Truncated)
                    + drops(DropReason::IpLength),
                advert_interval_err: drops(DropReason::IntervalMismatch),
                ip_ttl_err: drops(DropReason::Ttl),
                invalid_type_rcvd: drops(DropReason::Type),
                addr_list_err: st.addr_list_mismatch,
                invalid_authtype: drops(DropReason::InvalidAuthType),
                authtype_mismatch: drops(DropReason::AuthTypeMismatch),
                auth_failure: drops(DropReason::AuthFailure),
                pri_zero_rcvd: st.pri_zero_rcvd,
                pri_zero_sent: st.pri_zero_sent,
            };
            let v6 = p.family == Family::Ipv6;
            let extra = InstanceExtra {
                state_name: inst.state().keepalived_name().to_string(),
                family: if v6 { "inet6" } else { "inet" }.to_string(),
                transitions: h
                    .transitions
                    .iter()
                    .map(|((from, to), count)| Transition {
                        from: from.to_string(),
                        to: to.to_string(),
                        count: *count,
                    })
                    .collect(),
                dropped: DropReason::ALL
                    .iter()
                    .map(|r| (r.as_str().to_string(), st.drops(*r)))
                    .collect(),
                peers: h
                    .peers
                    .iter()
                    .map(|(a, t)| PeerHeard {
                        address: a.to_string(),
                        last_advert_age_seconds: (now - *t).0 as f64 / 1e6,
                    })
                    .collect(),
                garp_sent: if v6 { 0 } else { h.gratuitous },
                unsolicited_na_sent: if v6 { h.gratuitous } else { 0 },
            };
            out.push(VrrpInstance { data, stats, extra });
        }
        let scripts = self
            .plan
            .scripts
            .iter()
            .map(|t| super::status::VrrpScript {
                name: t.name.clone(),
                command: t.script.command.clone(),
                interval_seconds: t.interval.as_secs_f64(),
                timeout_seconds: t.timeout.as_secs_f64(),
                rise: t.rise,
                fall: t.fall,
                status: match self.tracker_states.get(&t.id) {
                    Some(TrackerState::Up) => "GOOD",
                    Some(TrackerState::Down) => "BAD",
                    _ if t.init_fail => "BAD",
                    _ => "INIT",
                }
                .to_string(),
            })
            .collect();
        let unattributed = self.router.unattributed_drops();
        let unattributed: Vec<(String, u64)> = DropReason::ALL
            .iter()
            .map(|r| (r.as_str().to_string(), unattributed.drops(*r)))
            .filter(|(_, n)| *n > 0)
            .collect();
        // Never waits for the lock: a checker or data-plane thread holding it, preempted under
        // CPU load, would hold up adverts. Busy: published again at the next turn of the loop.
        match self.status.try_write() {
            Ok(mut status) => {
                status.vrrp = out;
                status.vrrp_scripts = scripts;
                status.vrrp_unattributed_drops = unattributed;
            }
            Err(std::sync::TryLockError::WouldBlock) => self.last_publish = None,
            Err(std::sync::TryLockError::Poisoned(_)) => {}
        }
    }

    fn name(&self, i: usize) -> &str {
        self.plan
            .instances
            .get(i)
            .map(|p| p.engine.name.as_str())
            .unwrap_or("?")
    }

    fn state_changed(&mut self, i: usize, to: State, priority: u8) {
        let Some(p) = self.plan.instances.get(i) else {
            return;
        };
        match to {
            State::Master => crate::info!("({}) Entering MASTER STATE", p.engine.name),
            State::Backup => crate::info!("({}) Entering BACKUP STATE", p.engine.name),
            State::Fault => crate::info!("({}) Entering FAULT STATE", p.engine.name),
            State::Stop => crate::info!("({}) Stopped", p.engine.name),
            State::Init => {}
        }
        let _ = self.notify.send(Notification {
            kind: "INSTANCE",
            name: p.engine.name.clone(),
            state: to,
            priority,
            scripts: p.notify.clone(),
        });
        self.publish_systemd_status();
    }

    /// Each instance's state, for systemd's `STATUS=` line.
    fn publish_systemd_status(&self) {
        systemd().set_vrrp_states(self.plan.instances.iter().enumerate().map(|(i, p)| {
            let state = self.router.instance(i).map_or(State::Init, |x| x.state());
            (p.engine.name.as_str(), state)
        }));
    }

    fn send_advert(&mut self, i: usize, priority: u8) {
        let (Some(Some((sock, src))), Some(plan), Some(inst)) = (
            self.sockets.senders.get(i).copied(),
            self.plan.instances.get(i),
            self.router.instance(i),
        ) else {
            return;
        };
        let Some(socket) = self.sockets.send.get(sock) else {
            return;
        };
        let peers = &inst.config.unicast_peers;
        let unicast = !peers.is_empty();
        // Every unicast peer, or the multicast group (no allocation: a chained iterator).
        let destinations = peers
            .iter()
            .map(|p| p.addr)
            .chain((!unicast).then_some(plan.group));
        for dst in destinations {
            let repr = inst.advert(priority);
            let written = match (src, dst) {
                (IpAddr::V4(s), IpAddr::V4(d)) => {
                    let ttl = if unicast {
                        plan.unicast_ttl
                    } else {
                        ka_wire::vrrp::TTL
                    };
                    emit_ipv4_advert(
                        &mut self.send_buf,
                        &repr,
                        s,
                        d,
                        ttl,
                        0,
                        inst.config.v3_checksum_as_v2,
                    )
                }
                _ => inst.encode_advert(priority, &mut self.send_buf, src, dst),
            };
            match written {
                Ok(n) => {
                    if let Err(e) = socket.send(&self.send_buf[..n], dst) {
                        crate::warn!("({}) send advert error: {e}", plan.engine.name);
                    }
                }
                Err(e) => crate::error!("({}) cannot encode advert: {e}", plan.engine.name),
            }
        }
    }
}

/// Ready when any socket may have a packet; yields its index.
fn poll_any(sockets: &[RecvSocket], cx: &mut std::task::Context<'_>) -> Poll<usize> {
    for (k, s) in sockets.iter().enumerate() {
        match s.poll_readable(cx) {
            Poll::Ready(Ok(())) => return Poll::Ready(k),
            Poll::Ready(Err(e)) => {
                crate::warn!("{e}");
                return Poll::Ready(k);
            }
            Poll::Pending => {}
        }
    }
    Poll::Pending
}
