//! The VRRP engine for all instances of one node: dispatches received adverts to instances,
//! runs their timers, keeps sync groups together and queues the [`Action`]s the driver must
//! carry out. It never reads a clock or touches a socket: every call takes `now`.
//!
//! The state machine is RFC 5798 §6 as keepalived 2.2.7 implements it (vrrp/vrrp.c,
//! vrrp_scheduler.c, vrrp_sync.c, vrrp_track.c), with two deliberate improvements:
//! - a master resets its advert timer only when it actually sends an advert (keepalived
//!   also resets it on every packet it receives, so a flood of bad packets could delay the
//!   master's adverts until backups time out);
//! - an advert whose VIP list differs from ours is counted but still accepted.

use crate::config::{InitialState, InstanceConfig, LinkId, SyncGroupConfig, TrackerId};
use crate::event::{Action, Reason, State, TrackerState};
use crate::priority::{self, Evaluation};
use crate::stats::Stats;
use crate::timing;
use ka_units::{Centiseconds, Instant, Micros};
use ka_wire::rx::{self, DropReason, Expectations, Received};
use ka_wire::vrrp::{self, Addresses, ChecksumMode, Family, Repr, Version};
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;

/// What happened to a received packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PacketOutcome {
    /// Valid advert processed by an instance.
    Accepted { instance: usize },
    /// Dropped; counted under the reason (per instance when one was found).
    Dropped {
        instance: Option<usize>,
        reason: DropReason,
    },
    /// For an instance that is in FAULT or not started: ignored, as keepalived does.
    Ignored { instance: usize },
}

/// The run-time state of one instance.
#[derive(Clone, Debug)]
pub struct Instance {
    pub config: InstanceConfig,
    encoded_vips: Vec<u8>,
    state: State,
    /// The state the instance would be in, disregarding its sync group.
    want: State,
    /// Configured priority, lowered to 254 if another owner shows up.
    base_priority: u8,
    effective_priority: u8,
    master_adver_int: Centiseconds,
    /// Master_Down (backup) remembered as keepalived's `ms_down_timer`.
    down_timer: Micros,
    /// Next advert (master) or Master_Down expiry (backup).
    deadline: Option<Instant>,
    /// Until when lower-priority adverts are still accepted (`preempt_delay`).
    preempt_until: Option<Instant>,
    garp_burst_at: Option<Instant>,
    garp_refresh_at: Option<Instant>,
    lower_prio_garp_at: Option<Instant>,
    addresses_installed: bool,
    /// Address and priority of the master we last accepted an advert from.
    master_addr: Option<IpAddr>,
    master_priority: u8,
    /// Our source address for equal-priority elections (configured or interface primary).
    source: Option<IpAddr>,
    faulty: bool,
    waiting: bool,
    group: Option<usize>,
    last_transition: Option<Instant>,
    stats: Stats,
}

impl Instance {
    fn new(config: InstanceConfig) -> Instance {
        let encoded_vips = vrrp::encode_addresses(config.family, &config.vips);
        let priority = config.priority;
        let interval = config.advert_interval;
        let want = match config.initial_state {
            InitialState::Master => State::Master,
            InitialState::Backup => State::Backup,
        };
        let down = timing::master_down(config.version, priority, interval, config.down_timer_adverts);
        Instance {
            config,
            encoded_vips,
            state: State::Init,
            want,
            base_priority: priority,
            effective_priority: priority,
            master_adver_int: interval,
            down_timer: down,
            deadline: None,
            preempt_until: None,
            garp_burst_at: None,
            garp_refresh_at: None,
            lower_prio_garp_at: None,
            addresses_installed: false,
            master_addr: None,
            master_priority: 0,
            source: None,
            faulty: false,
            waiting: false,
            group: None,
            last_transition: None,
            stats: Stats::default(),
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    pub fn base_priority(&self) -> u8 {
        self.base_priority
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// The interval the current master advertises (v3 backups adopt it).
    pub fn master_adver_int(&self) -> Centiseconds {
        self.master_adver_int
    }

    pub fn master_address(&self) -> Option<IpAddr> {
        self.master_addr
    }

    pub fn master_priority(&self) -> u8 {
        self.master_priority
    }

    pub fn addresses_installed(&self) -> bool {
        self.addresses_installed
    }

    pub fn last_transition(&self) -> Option<Instant> {
        self.last_transition
    }

    /// Master_Down_Interval for the current master interval and our priority.
    pub fn master_down_interval(&self) -> Micros {
        timing::master_down(
            self.config.version,
            self.effective_priority,
            self.master_adver_int,
            self.config.down_timer_adverts,
        )
    }

    pub fn skew(&self) -> Micros {
        timing::skew(
            self.config.version,
            self.effective_priority,
            self.master_adver_int,
        )
    }

    /// The VIPs as they appear in adverts.
    pub fn encoded_vips(&self) -> &[u8] {
        &self.encoded_vips
    }

    /// The advert this instance sends with `priority`, ready to emit.
    pub fn advert(&self, priority: u8) -> Repr<'_> {
        Repr {
            version: self.config.version,
            vrid: self.config.vrid,
            priority,
            interval: self.config.advert_interval,
            auth_type: if self.config.version == Version::V2 {
                self.config.auth_type
            } else {
                vrrp::AuthType::None
            },
            auth_data: if self.config.version == Version::V2 {
                self.config.auth_data
            } else {
                [0; vrrp::AUTH_DATA_LEN]
            },
            addresses: Addresses::new(self.config.family, &self.encoded_vips)
                .unwrap_or(Addresses::new(self.config.family, &[]).unwrap_or_else(|_| unreachable_empty())),
        }
    }

    /// Writes the VRRP message of an advert (no IP header) into `buf`, for the given IP
    /// source and destination (they enter the v3 checksum); returns its length.
    pub fn encode_advert(
        &self,
        priority: u8,
        buf: &mut [u8],
        src: IpAddr,
        dst: IpAddr,
    ) -> ka_wire::Result<usize> {
        let repr = self.advert(priority);
        let mode = match (self.config.version, self.config.family) {
            (Version::V2, Family::Ipv4) => ChecksumMode::Plain,
            (Version::V3, Family::Ipv4) if self.config.v3_checksum_as_v2 => ChecksumMode::Plain,
            _ => ChecksumMode::PseudoHeader { src, dst },
        };
        repr.emit(buf, mode)
    }

    fn expectations<'a>(&'a self, check_addresses: bool) -> Expectations<'a> {
        Expectations {
            family: self.config.family,
            version: self.config.version,
            auth_type: self.config.auth_type,
            auth_data: self.config.auth_data,
            interval: self.config.advert_interval,
            v3_checksum_as_v2: self.config.v3_checksum_as_v2,
            unicast: self.config.is_unicast(),
            peers: &self.config.unicast_peers,
            check_unicast_src: self.config.check_unicast_src,
            vips: Addresses::new(self.config.family, &self.encoded_vips)
                .unwrap_or(Addresses::new(self.config.family, &[]).unwrap_or_else(|_| unreachable_empty())),
            check_addresses,
        }
    }
}

/// `Addresses::new` on an empty slice cannot fail; this keeps the type checker satisfied
/// without an `unwrap`.
fn unreachable_empty() -> Addresses<'static> {
    match Addresses::new(Family::Ipv4, &[]) {
        Ok(a) => a,
        Err(_) => unreachable!("an empty address list is always valid"),
    }
}

#[derive(Clone, Debug)]
struct Group {
    config: SyncGroupConfig,
    state: State,
    /// Members currently in FAULT because of their own trackers.
    faulty_members: usize,
}

/// All VRRP instances of a node.
pub struct Router {
    instances: Vec<Instance>,
    groups: Vec<Group>,
    links: BTreeMap<LinkId, bool>,
    trackers: BTreeMap<TrackerId, TrackerState>,
    actions: VecDeque<Action>,
    /// Drops that could not be attributed to an instance (malformed, unknown VRID).
    unattributed: Stats,
    started: bool,
}

impl Router {
    /// Builds the engine. Members named by groups must be valid instance indexes; invalid
    /// ones are ignored (the configuration layer reports them).
    pub fn new(instances: Vec<InstanceConfig>, groups: Vec<SyncGroupConfig>) -> Router {
        let mut instances: Vec<Instance> = instances.into_iter().map(Instance::new).collect();
        let mut out_groups = Vec::new();
        for (g, config) in groups.into_iter().enumerate() {
            for &m in &config.members {
                if let Some(inst) = instances.get_mut(m) {
                    inst.group = Some(g);
                }
            }
            out_groups.push(Group {
                config,
                state: State::Init,
                faulty_members: 0,
            });
        }
        Router {
            instances,
            groups: out_groups,
            links: BTreeMap::new(),
            trackers: BTreeMap::new(),
            actions: VecDeque::with_capacity(64),
            unattributed: Stats::default(),
            started: false,
        }
    }

    pub fn instances(&self) -> &[Instance] {
        &self.instances
    }

    pub fn instance(&self, i: usize) -> Option<&Instance> {
        self.instances.get(i)
    }

    pub fn group_state(&self, g: usize) -> Option<State> {
        self.groups.get(g).map(|g| g.state)
    }

    pub fn unattributed_drops(&self) -> &Stats {
        &self.unattributed
    }

    /// Sets the source address an instance uses in elections (its `unicast_src_ip` /
    /// `mcast_src_ip`, else the interface's primary address).
    pub fn set_source_address(&mut self, instance: usize, addr: Option<IpAddr>) {
        if let Some(inst) = self.instances.get_mut(instance) {
            inst.source = addr;
        }
    }

    /// The next action to carry out, in order.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// When [`Router::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.instances
            .iter()
            .flat_map(|i| [i.deadline, i.garp_burst_at, i.lower_prio_garp_at])
            .flatten()
            .min()
    }

    fn link_up(&self, link: LinkId) -> bool {
        self.links.get(&link).copied().unwrap_or(true)
    }

    fn tracker(&self, id: TrackerId) -> TrackerState {
        self.trackers.get(&id).copied().unwrap_or(TrackerState::Unknown)
    }

    fn evaluate(&self, i: usize) -> Evaluation {
        let inst = &self.instances[i];
        let own_link = (!inst.config.dont_track_primary).then(|| {
            (
                self.link_up(inst.config.link),
                crate::config::TrackWeight {
                    weight: 0,
                    reverse: false,
                },
            )
        });
        let links = own_link.into_iter().chain(
            inst.config
                .track_links
                .iter()
                .map(|(l, w)| (self.link_up(*l), *w)),
        );
        let flags = inst
            .config
            .track_flags
            .iter()
            .map(|(t, w)| (self.tracker(*t), *w));
        let values = inst
            .config
            .track_values
            .iter()
            .map(|(t, w)| (self.tracker(*t), *w));
        priority::evaluate(inst.base_priority, links, flags, values)
    }

    /// Starts every instance (keepalived's `vrrp_init_state`). Set link states, tracker
    /// states and source addresses first.
    pub fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        for i in 0..self.instances.len() {
            let e = self.evaluate(i);
            let inst = &mut self.instances[i];
            inst.effective_priority = e.effective;
            inst.faulty = e.fault;
            inst.waiting = e.waiting;
            inst.down_timer = inst.master_down_interval();
        }
        for g in 0..self.groups.len() {
            let faulty = self.groups[g]
                .config
                .members
                .iter()
                .filter(|&&m| self.instances.get(m).is_some_and(|i| i.faulty))
                .count();
            self.groups[g].faulty_members = faulty;
            self.groups[g].state = if faulty > 0 { State::Fault } else { State::Backup };
            let to = self.groups[g].state;
            self.actions.push_back(Action::GroupStateChanged { group: g, to });
        }
        for i in 0..self.instances.len() {
            self.init_instance(i, now);
        }
    }

    fn init_instance(&mut self, i: usize, now: Instant) {
        let group_state = self.instances[i]
            .group
            .and_then(|g| self.groups.get(g))
            .map(|g| g.state);
        let inst = &mut self.instances[i];
        if inst.faulty {
            inst.want = State::Fault;
        }
        let new_state = group_state.unwrap_or(inst.want);
        let is_up = !inst.faulty;
        let begin = inst.state;
        if is_up
            && new_state == State::Master
            && !inst.waiting
            && inst.base_priority == 255
            && inst.want == State::Master
        {
            // The owner becomes master almost at once: time out from BACKUP after 1 µs.
            inst.state = State::Backup;
            inst.down_timer = Micros(1);
        } else {
            inst.down_timer = if new_state == State::Backup && inst.want == State::Master {
                // Allow one advert interval to pass to be sure there is no other master.
                inst.master_adver_int.to_micros()
                    + timing::skew_min(inst.config.version, inst.master_adver_int)
            } else {
                inst.master_down_interval()
            };
            inst.state = if is_up && new_state != State::Fault && !inst.waiting {
                State::Backup
            } else if inst.waiting && !inst.faulty {
                State::Init
            } else {
                State::Fault
            };
        }
        if inst.state != begin {
            inst.last_transition = Some(now);
            if inst.state != State::Init {
                let (to, priority) = (inst.state, inst.effective_priority);
                self.actions.push_back(Action::StateChanged {
                    instance: i,
                    from: begin,
                    to,
                    priority,
                    reason: Reason::Startup,
                });
            }
        }
        self.reset_deadline(i, now);
    }

    /// keepalived's `vrrp_init_instance_sands`.
    fn reset_deadline(&mut self, i: usize, now: Instant) {
        let inst = &mut self.instances[i];
        inst.deadline = match inst.state {
            State::Master => Some(now + inst.config.advert_interval.to_micros()),
            State::Backup => Some(now + inst.down_timer),
            _ => None,
        };
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            if let Some(at) = self.instances[i].garp_burst_at {
                if at <= now {
                    self.instances[i].garp_burst_at = None;
                    let repeats = self.instances[i].config.garp.master_repeat;
                    self.send_gratuitous(i, repeats);
                }
            }
            if let Some(at) = self.instances[i].lower_prio_garp_at {
                if at <= now {
                    self.instances[i].lower_prio_garp_at = None;
                    let repeats = self.instances[i].config.garp.lower_prio_repeat;
                    self.send_gratuitous(i, repeats);
                }
            }
            let Some(deadline) = self.instances[i].deadline else {
                continue;
            };
            if deadline > now {
                continue;
            }
            let prev = self.instances[i].state;
            match prev {
                State::Backup => self.goto_master(i, now, Reason::MasterDown),
                State::Master => self.master_tx(i, now),
                _ => {}
            }
            self.sync_transition(prev, i, now);
            self.reset_deadline(i, now);
        }
    }

    fn send_gratuitous(&mut self, i: usize, repeats: u32) {
        if repeats > 0 && self.instances[i].addresses_installed && !self.instances[i].config.vips.is_empty() {
            self.actions
                .push_back(Action::SendGratuitous { instance: i, repeats });
        }
    }

    fn send_advert(&mut self, i: usize, priority: u8) {
        let inst = &mut self.instances[i];
        inst.stats.advert_sent += 1;
        if priority == 0 {
            inst.stats.pri_zero_sent += 1;
        }
        self.actions.push_back(Action::SendAdvert {
            instance: i,
            priority,
        });
    }

    /// keepalived's `vrrp_goto_master` / `vrrp_state_goto_master`.
    fn goto_master(&mut self, i: usize, now: Instant, reason: Reason) {
        self.instances[i].want = State::Master;
        self.state_goto_master(i, now, reason);
    }

    fn state_goto_master(&mut self, i: usize, now: Instant, reason: Reason) {
        if self.instances[i].group.is_some() && !self.sync_can_goto_master(i, now) {
            self.instances[i].want = State::Master;
            return;
        }
        let inst = &mut self.instances[i];
        let from = inst.state;
        inst.state = State::Master;
        inst.deadline = Some(now + inst.config.advert_interval.to_micros());
        self.master_tx_with(i, now, from, reason);
    }

    fn master_tx(&mut self, i: usize, now: Instant) {
        self.master_tx_with(i, now, State::Master, Reason::MasterDown);
    }

    /// keepalived's `vrrp_state_master_tx`: advert first (so the old master drops the VIPs
    /// before our GARPs), then on the first call the transition to master.
    fn master_tx_with(&mut self, i: usize, now: Instant, from: State, reason: Reason) {
        let priority = self.instances[i].effective_priority;
        self.send_advert(i, priority);
        if !self.instances[i].addresses_installed {
            self.become_master(i, now, from, reason);
            let delay = self.instances[i].config.garp.master_delay;
            if delay > Micros::ZERO {
                self.instances[i].garp_burst_at = Some(now + delay);
            }
        } else {
            let refresh = self.instances[i].config.garp.master_refresh;
            if refresh > Micros::ZERO && self.instances[i].garp_refresh_at.is_some_and(|t| now > t) {
                let repeats = self.instances[i].config.garp.master_refresh_repeat;
                self.send_gratuitous(i, repeats);
                self.instances[i].garp_refresh_at = Some(now + refresh);
            }
        }
    }

    fn become_master(&mut self, i: usize, now: Instant, from: State, reason: Reason) {
        let inst = &mut self.instances[i];
        inst.stats.become_master += 1;
        // A new master advertises its own interval.
        inst.master_adver_int = inst.config.advert_interval;
        inst.addresses_installed = true;
        inst.last_transition = Some(now);
        let refresh = inst.config.garp.master_refresh;
        inst.garp_refresh_at = (refresh > Micros::ZERO).then(|| now + refresh);
        let repeats = inst.config.garp.master_repeat;
        let priority = inst.effective_priority;
        self.actions.push_back(Action::InstallAddresses { instance: i });
        self.send_gratuitous(i, repeats);
        self.actions.push_back(Action::StateChanged {
            instance: i,
            from,
            to: State::Master,
            priority,
            reason,
        });
    }

    /// keepalived's `vrrp_restore_interface`.
    fn restore_interface(&mut self, i: usize, send_priority_zero: bool) {
        if send_priority_zero {
            self.send_advert(i, 0);
        }
        let inst = &mut self.instances[i];
        inst.garp_burst_at = None;
        inst.lower_prio_garp_at = None;
        inst.garp_refresh_at = None;
        if inst.addresses_installed {
            inst.addresses_installed = false;
            self.actions.push_back(Action::RemoveAddresses { instance: i });
        }
    }

    /// keepalived's `vrrp_state_leave_master`: to BACKUP or FAULT as `want` says.
    fn leave_master(&mut self, i: usize, now: Instant, send_priority_zero: bool, reason: Reason) {
        let want = self.instances[i].want;
        match want {
            State::Backup => self.instances[i].preempt_until = None,
            State::Fault => {
                if !send_priority_zero {
                    self.send_advert(i, 0);
                }
            }
            _ => return,
        }
        self.restore_interface(i, send_priority_zero);
        let inst = &mut self.instances[i];
        let from = inst.state;
        inst.state = want;
        inst.stats.release_master += 1;
        inst.last_transition = Some(now);
        inst.down_timer = inst.master_down_interval();
        let priority = inst.effective_priority;
        self.actions.push_back(Action::StateChanged {
            instance: i,
            from,
            to: want,
            priority,
            reason,
        });
        self.reset_deadline(i, now);
    }

    /// keepalived's `vrrp_state_leave_fault`: out of FAULT/INIT to what `want` says.
    fn leave_fault(&mut self, i: usize, now: Instant, reason: Reason) {
        if self.instances[i].want == State::Master {
            self.state_goto_master(i, now, reason);
        } else {
            let want = self.instances[i].want;
            if want == State::Fault && self.instances[i].state == State::Master {
                self.send_advert(i, 0);
                self.restore_interface(i, false);
            }
            let inst = &mut self.instances[i];
            let from = inst.state;
            if from != want {
                inst.state = want;
                inst.last_transition = Some(now);
                if want == State::Backup {
                    inst.preempt_until = None;
                }
                let priority = inst.effective_priority;
                self.actions.push_back(Action::StateChanged {
                    instance: i,
                    from,
                    to: want,
                    priority,
                    reason,
                });
            }
        }
        let inst = &mut self.instances[i];
        inst.master_adver_int = inst.config.advert_interval;
        inst.down_timer = inst.master_down_interval();
        self.reset_deadline(i, now);
    }

    /// A received packet on `link`. `rx` carries the bytes as the socket gave them.
    pub fn handle_packet(&mut self, now: Instant, link: LinkId, packet: &Received<'_>) -> PacketOutcome {
        let located = match rx::locate(packet) {
            Ok(l) => l,
            Err(reason) => {
                self.unattributed.count_drop(reason);
                return PacketOutcome::Dropped {
                    instance: None,
                    reason,
                };
            }
        };
        let Some(i) = self.find_instance(link, packet.family, located.vrid, located.src) else {
            self.unattributed.count_drop(DropReason::UnknownVrid);
            return PacketOutcome::Dropped {
                instance: None,
                reason: DropReason::UnknownVrid,
            };
        };
        let state = self.instances[i].state;
        if !matches!(state, State::Backup | State::Master) {
            return PacketOutcome::Ignored { instance: i };
        }
        let inst = &self.instances[i];
        if inst.config.owner_ignore_adverts && state == State::Master && inst.base_priority == 255 {
            return PacketOutcome::Ignored { instance: i };
        }
        let check_addresses = state == State::Master
            || !inst.config.skip_check_adv_addr
            || inst.master_addr != Some(located.src);
        let accepted = match rx::validate(&located, &inst.expectations(check_addresses)) {
            Ok(a) => (a.repr.priority, a.repr.interval, a.src, a.address_mismatch),
            Err(reason) => {
                self.instances[i].stats.count_drop(reason);
                return PacketOutcome::Dropped {
                    instance: Some(i),
                    reason,
                };
            }
        };
        let (priority, interval, src, address_mismatch) = accepted;
        let inst = &mut self.instances[i];
        inst.stats.advert_rcvd += 1;
        if priority == 0 {
            inst.stats.pri_zero_rcvd += 1;
        }
        if address_mismatch {
            inst.stats.addr_list_mismatch += 1;
        }
        match state {
            State::Backup => self.backup_rx(i, now, priority, interval, src),
            State::Master if self.master_rx(i, now, priority, interval, src) => {
                self.leave_master(i, now, false, Reason::Preempted);
            }
            _ => {}
        }
        self.sync_transition(state, i, now);
        PacketOutcome::Accepted { instance: i }
    }

    fn find_instance(&self, link: LinkId, family: Family, vrid: u8, src: IpAddr) -> Option<usize> {
        let mut candidates = self.instances.iter().enumerate().filter(|(_, inst)| {
            inst.config.link == link && inst.config.family == family && inst.config.vrid == vrid
        });
        let first = candidates.next()?;
        let Some(second) = candidates.next() else {
            return Some(first.0);
        };
        // Several unicast instances may share a VRID: the sender picks the instance.
        [first, second]
            .into_iter()
            .chain(candidates)
            .find(|(_, inst)| inst.config.unicast_peers.iter().any(|p| p.addr == src))
            .map(|(i, _)| i)
    }

    /// keepalived's `vrrp_state_backup`.
    fn backup_rx(&mut self, i: usize, now: Instant, priority: u8, interval: Centiseconds, src: IpAddr) {
        let inst = &mut self.instances[i];
        if priority == 0 {
            // The master is leaving: take over after Skew_Time.
            inst.down_timer = inst.skew();
            inst.deadline = Some(now + inst.down_timer);
            return;
        }
        let preempt_delay = inst.config.preempt_delay;
        let in_preempt_delay =
            preempt_delay > Micros::ZERO && inst.preempt_until.is_none_or(|until| until > now);
        if inst.config.nopreempt || priority >= inst.effective_priority || in_preempt_delay {
            if inst.config.version == Version::V3 {
                // RFC 5798: adopt the master's advertised interval.
                inst.master_adver_int = interval;
            }
            inst.down_timer = inst.master_down_interval();
            inst.master_addr = Some(src);
            inst.master_priority = priority;
            if preempt_delay > Micros::ZERO {
                if priority >= inst.effective_priority {
                    inst.preempt_until = None;
                } else if inst.preempt_until.is_none() {
                    inst.preempt_until = Some(now + preempt_delay);
                }
            }
            inst.want = State::Backup;
            inst.deadline = Some(now + inst.down_timer);
        } else {
            // A lower-priority master: ignore it so that our timer expires and we preempt.
            inst.master_addr = Some(src);
        }
    }

    /// Compares an advert's source with ours: positive if theirs is higher.
    fn compare_source(&self, i: usize, src: IpAddr) -> std::cmp::Ordering {
        match self.instances[i].source {
            Some(ours) => ip_order(src).cmp(&ip_order(ours)),
            None => std::cmp::Ordering::Greater,
        }
    }

    /// keepalived's `vrrp_state_master_rx`; true means "leave master".
    fn master_rx(
        &mut self,
        i: usize,
        now: Instant,
        priority: u8,
        interval: Centiseconds,
        src: IpAddr,
    ) -> bool {
        use std::cmp::Ordering::*;
        let order = self.compare_source(i, src);
        let ours = self.instances[i].effective_priority;
        let higher = priority > ours || (priority == ours && order == Greater);
        if priority == 0 || (self.instances[i].config.higher_prio_send_advert && higher) {
            self.send_advert(i, ours);
            self.reset_deadline(i, now);
            if priority == 0 {
                return false;
            }
        }
        if priority == ours && order != Equal && ours == 255 {
            // Two address owners: keepalived's workaround is to stop claiming ownership.
            let inst = &mut self.instances[i];
            inst.base_priority = 254;
            inst.effective_priority = 254;
            self.actions.push_back(Action::OwnerConflict { instance: i });
        }
        let ours = self.instances[i].effective_priority;
        if priority < ours || (priority == ours && order == Less) {
            if !self.instances[i].config.lower_prio_no_advert {
                self.send_advert(i, ours);
                self.reset_deadline(i, now);
            }
            let garp = self.instances[i].config.garp;
            if garp.lower_prio_repeat > 0 {
                self.send_gratuitous(i, garp.lower_prio_repeat);
                if garp.lower_prio_delay > Micros::ZERO {
                    self.instances[i].lower_prio_garp_at = Some(now + garp.lower_prio_delay);
                }
            }
            if let Some(g) = self.instances[i].group {
                for m in self.groups[g].config.members.clone() {
                    if m != i && m < self.instances.len() {
                        let repeats = self.instances[m].config.garp.lower_prio_repeat;
                        self.send_gratuitous(m, repeats);
                    }
                }
            }
            self.actions.push_back(Action::MasterHeardLowerPriority {
                instance: i,
                priority,
            });
            return false;
        }
        if priority > ours || (priority == ours && order == Greater) {
            let inst = &mut self.instances[i];
            if inst.config.version == Version::V3 {
                inst.master_adver_int = interval;
            }
            inst.down_timer = inst.master_down_interval();
            inst.master_priority = priority;
            inst.master_addr = Some(src);
            inst.want = State::Backup;
            return true;
        }
        false
    }

    // ===== sync groups (keepalived's vrrp_sync.c) =====

    /// keepalived's `VRRP_TSM_HANDLE`: after an instance moved, move its group.
    fn sync_transition(&mut self, prev: State, i: usize, now: Instant) {
        if self.instances[i].group.is_none() {
            return;
        }
        match (prev, self.instances[i].state) {
            (State::Backup | State::Master | State::Fault, State::Master) => self.sync_master(i, now),
            (State::Master, State::Backup) => self.sync_backup(i, now),
            _ => {}
        }
    }

    fn sync_can_goto_master(&mut self, i: usize, now: Instant) -> bool {
        let Some(g) = self.instances[i].group else {
            return true;
        };
        if self.groups[g].state == State::Master {
            return true;
        }
        let others_ready = self.groups[g]
            .config
            .members
            .iter()
            .all(|&m| m == i || self.instances.get(m).is_none_or(|x| x.want == State::Master));
        if !others_ready {
            // Give the others time to want MASTER too.
            let inst = &mut self.instances[i];
            inst.down_timer = inst.master_down_interval();
            self.reset_deadline(i, now);
        }
        others_ready
    }

    fn sync_master(&mut self, i: usize, now: Instant) {
        let Some(g) = self.instances[i].group else { return };
        if self.groups[g].state == State::Master || !self.sync_can_goto_master(i, now) {
            return;
        }
        for m in self.groups[g].config.members.clone() {
            if m != i && m < self.instances.len() && self.instances[m].state != State::Master {
                self.instances[m].want = State::Master;
                self.state_goto_master(m, now, Reason::SyncGroup);
            }
        }
        self.groups[g].state = State::Master;
        self.actions.push_back(Action::GroupStateChanged {
            group: g,
            to: State::Master,
        });
    }

    fn sync_backup(&mut self, i: usize, now: Instant) {
        let Some(g) = self.instances[i].group else { return };
        if self.groups[g].state == State::Backup {
            return;
        }
        for m in self.groups[g].config.members.clone() {
            if m == i || m >= self.instances.len() || self.instances[m].state == State::Backup {
                continue;
            }
            self.instances[m].want = State::Backup;
            match self.instances[m].state {
                State::Fault | State::Init => self.leave_fault(m, now, Reason::SyncGroup),
                _ => self.leave_master(m, now, false, Reason::SyncGroup),
            }
        }
        self.groups[g].state = State::Backup;
        self.actions.push_back(Action::GroupStateChanged {
            group: g,
            to: State::Backup,
        });
    }

    fn sync_fault(&mut self, i: usize, now: Instant) {
        let Some(g) = self.instances[i].group else { return };
        if self.groups[g].state == State::Fault {
            return;
        }
        for m in self.groups[g].config.members.clone() {
            if m == i || m >= self.instances.len() || self.instances[m].state == State::Fault {
                continue;
            }
            self.instances[m].want = State::Fault;
            match self.instances[m].state {
                State::Master => self.leave_master(m, now, false, Reason::SyncGroup),
                _ => self.leave_fault(m, now, Reason::SyncGroup),
            }
        }
        self.groups[g].state = State::Fault;
        self.actions.push_back(Action::GroupStateChanged {
            group: g,
            to: State::Fault,
        });
    }

    // ===== interfaces and trackers =====

    /// An interface went up or down.
    pub fn set_link(&mut self, now: Instant, link: LinkId, up: bool) {
        if self.links.insert(link, up) == Some(up) {
            return;
        }
        self.reevaluate(now);
    }

    /// A tracked object changed.
    pub fn set_tracker(&mut self, now: Instant, tracker: TrackerId, state: TrackerState) {
        if self.trackers.insert(tracker, state) == Some(state) {
            return;
        }
        self.reevaluate(now);
    }

    fn reevaluate(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            let e = self.evaluate(i);
            if !self.started {
                let inst = &mut self.instances[i];
                inst.effective_priority = e.effective;
                inst.faulty = e.fault;
                inst.waiting = e.waiting;
                continue;
            }
            self.set_effective_priority(i, e.effective, now);
            let inst = &mut self.instances[i];
            let (was_faulty, was_waiting) = (inst.faulty, inst.waiting);
            inst.faulty = e.fault;
            inst.waiting = e.waiting;
            if e.fault && !was_faulty {
                self.down_instance(i, now);
            } else if !e.fault && !e.waiting && (was_faulty || was_waiting) {
                self.try_up_instance(i, now, was_waiting && !was_faulty);
            }
        }
    }

    /// keepalived's `vrrp_set_effective_priority`.
    fn set_effective_priority(&mut self, i: usize, new: u8, now: Instant) {
        let inst = &mut self.instances[i];
        if inst.base_priority == 255 || inst.effective_priority == new {
            return;
        }
        let from = inst.effective_priority;
        let old_down = inst.down_timer;
        inst.effective_priority = new;
        inst.down_timer = inst.master_down_interval();
        if inst.state == State::Backup {
            // Move the pending Master_Down expiry by the change in the interval.
            if let Some(d) = inst.deadline {
                inst.deadline = Some(if inst.down_timer >= old_down {
                    d + Micros(inst.down_timer.0 - old_down.0)
                } else {
                    Instant(d.0.saturating_sub(old_down.0 - inst.down_timer.0).max(now.0))
                });
            }
        }
        self.actions.push_back(Action::PriorityChanged {
            instance: i,
            from,
            to: new,
        });
    }

    /// keepalived's `down_instance`.
    fn down_instance(&mut self, i: usize, now: Instant) {
        self.instances[i].want = State::Fault;
        if self.instances[i].state == State::Master {
            self.leave_master(i, now, true, Reason::Fault);
        } else {
            self.leave_fault(i, now, Reason::Fault);
        }
        if let Some(g) = self.instances[i].group {
            self.groups[g].faulty_members += 1;
            if self.groups[g].faulty_members == 1 {
                self.sync_fault(i, now);
            }
        }
    }

    /// keepalived's `try_up_instance`.
    fn try_up_instance(&mut self, i: usize, now: Instant, leaving_init: bool) {
        let inst = &mut self.instances[i];
        let owner_master =
            inst.config.initial_state == InitialState::Master && inst.base_priority == 255 && leaving_init;
        inst.want = if owner_master {
            State::Master
        } else {
            State::Backup
        };
        inst.master_adver_int = inst.config.advert_interval;
        inst.down_timer = if owner_master {
            inst.master_adver_int.to_micros() + inst.skew()
        } else {
            inst.master_down_interval()
        };
        if let Some(g) = inst.group {
            if !leaving_init {
                self.groups[g].faulty_members = self.groups[g].faulty_members.saturating_sub(1);
            }
            if self.groups[g].faulty_members > 0 {
                return;
            }
        }
        let want = self.instances[i].want;
        if self.instances[i].group.is_some() && want == State::Master && !self.sync_can_goto_master(i, now) {
            self.instances[i].want = State::Backup;
        }
        self.leave_fault(i, now, Reason::Recovered);
        self.instances[i].want = want;
        if self.instances[i].group.is_some() {
            if self.instances[i].state == State::Master {
                self.sync_master(i, now);
            } else {
                self.sync_backup(i, now);
            }
        }
    }

    /// Someone else removed an address the master instance `i` holds (a VIP, an excluded
    /// VIP or a virtual route without `no_track`): keepalived's `set_vrrp_backup`. The
    /// instance (and every master of its sync group) leaves MASTER with a priority-0 advert
    /// and removes its remaining addresses, then waits only its skew time: a peer takes over
    /// at once, and with no peer the instance becomes master again and reinstalls everything
    /// with fresh gratuitous ARPs. Not master: nothing to do.
    pub fn address_removed(&mut self, now: Instant, i: usize) {
        if self.instances.get(i).map(|x| x.state) != Some(State::Master) {
            return;
        }
        let mut affected = vec![i];
        if let Some(g) = self.instances[i].group {
            affected.extend(
                self.groups[g].config.members.iter().copied().filter(|&m| {
                    m != i && m < self.instances.len() && self.instances[m].state == State::Master
                }),
            );
        }
        for m in affected {
            self.instances[m].want = State::Backup;
            self.leave_master(m, now, true, Reason::AddressRemoved);
            // "We want a quick transition back to master".
            let skew = self.instances[m].skew();
            self.instances[m].down_timer = skew;
            self.reset_deadline(m, now);
        }
        if let Some(g) = self.instances[i].group {
            if self.groups[g].state != State::Backup {
                self.groups[g].state = State::Backup;
                self.actions.push_back(Action::GroupStateChanged {
                    group: g,
                    to: State::Backup,
                });
            }
        }
    }

    /// Stops one instance (it disappears in a reload): a master sends priority 0 and drops
    /// its addresses, as keepalived does for an instance removed from the configuration.
    pub fn stop_instance(&mut self, now: Instant, i: usize) {
        let Some(inst) = self.instances.get(i) else { return };
        let from = inst.state;
        if from == State::Master {
            self.restore_interface(i, true);
        }
        let inst = &mut self.instances[i];
        inst.deadline = None;
        inst.garp_burst_at = None;
        inst.lower_prio_garp_at = None;
        inst.state = State::Stop;
        inst.last_transition = Some(now);
        let priority = inst.effective_priority;
        if from != State::Stop {
            self.actions.push_back(Action::StateChanged {
                instance: i,
                from,
                to: State::Stop,
                priority,
                reason: Reason::Shutdown,
            });
        }
    }

    /// Takes over, after a reload, the running state of the instances `previous` already
    /// ran: `kept[new] = Some(old)`. Kept instances keep their state, timers, master and
    /// counters (keepalived matches them by VRID, family and interface, not by name); new
    /// ones start as at startup. Tracker and link states carry over too. Call instead of
    /// [`Router::start`].
    pub fn adopt(&mut self, now: Instant, previous: &Router, kept: &[Option<usize>]) {
        self.links = previous.links.clone();
        self.trackers
            .extend(previous.trackers.iter().map(|(k, v)| (*k, *v)));
        self.started = true;
        for i in 0..self.instances.len() {
            let e = self.evaluate(i);
            let inst = &mut self.instances[i];
            inst.effective_priority = e.effective;
            inst.faulty = e.fault;
            inst.waiting = e.waiting;
            let Some(old) = kept
                .get(i)
                .copied()
                .flatten()
                .and_then(|o| previous.instances.get(o))
            else {
                inst.down_timer = inst.master_down_interval();
                continue;
            };
            inst.state = old.state;
            inst.want = old.want;
            inst.deadline = old.deadline;
            inst.preempt_until = old.preempt_until;
            inst.garp_burst_at = old.garp_burst_at;
            inst.garp_refresh_at = old.garp_refresh_at;
            inst.lower_prio_garp_at = old.lower_prio_garp_at;
            inst.addresses_installed = old.addresses_installed;
            inst.master_addr = old.master_addr;
            inst.master_priority = old.master_priority;
            inst.master_adver_int = if inst.config.version == old.config.version {
                old.master_adver_int
            } else {
                inst.config.advert_interval
            };
            inst.source = inst.source.or(old.source);
            inst.last_transition = old.last_transition;
            inst.stats = old.stats.clone();
            inst.down_timer = inst.master_down_interval();
            if old.base_priority < old.config.priority && old.config.priority == inst.config.priority {
                // An owner that yielded to another owner stays yielded.
                inst.base_priority = old.base_priority;
            }
        }
        for group in self.groups.iter_mut() {
            let states: Vec<State> = group
                .config
                .members
                .iter()
                .filter_map(|&m| self.instances.get(m))
                .map(|i| i.state)
                .collect();
            group.faulty_members = group
                .config
                .members
                .iter()
                .filter(|&&m| self.instances.get(m).is_some_and(|i| i.faulty))
                .count();
            group.state = if states.contains(&State::Fault) || group.faulty_members > 0 {
                State::Fault
            } else if !states.is_empty() && states.iter().all(|s| *s == State::Master) {
                State::Master
            } else {
                State::Backup
            };
        }
        for i in 0..self.instances.len() {
            if kept.get(i).copied().flatten().is_none() {
                self.init_instance(i, now);
            } else {
                // A kept instance whose trackers now say FAULT (or no longer do) moves now.
                let (state, faulty) = (self.instances[i].state, self.instances[i].faulty);
                if faulty && state != State::Fault {
                    self.down_instance(i, now);
                } else if !faulty && state == State::Fault && !self.instances[i].waiting {
                    self.try_up_instance(i, now, false);
                } else if state == State::Backup {
                    // Keep the pending Master_Down expiry, but not beyond the new interval.
                    let limit = now + self.instances[i].down_timer;
                    let inst = &mut self.instances[i];
                    inst.deadline = Some(inst.deadline.map_or(limit, |d| d.min(limit)));
                }
            }
        }
    }

    /// Stops every instance (SIGTERM): masters send priority 0 and drop their addresses.
    pub fn shutdown(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            let inst = &self.instances[i];
            let from = inst.state;
            if from == State::Master {
                self.restore_interface(i, true);
            }
            let inst = &mut self.instances[i];
            inst.deadline = None;
            inst.garp_burst_at = None;
            inst.lower_prio_garp_at = None;
            inst.state = State::Stop;
            inst.last_transition = Some(now);
            let priority = inst.effective_priority;
            if from != State::Stop {
                self.actions.push_back(Action::StateChanged {
                    instance: i,
                    from,
                    to: State::Stop,
                    priority,
                    reason: Reason::Shutdown,
                });
            }
        }
    }
}

/// Numeric order of addresses for elections (big-endian, as keepalived's memcmp).
fn ip_order(addr: IpAddr) -> u128 {
    match addr {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}
