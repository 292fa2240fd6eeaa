//! The checker engine: every checker's timer and state, and the real- and virtual-server
//! logic of keepalived's ipwrapper.c on top (all checkers of a real server must pass;
//! `inhibit_on_failure`; weights; quorum with hysteresis; the sorry server; notify scripts
//! and FIFO lines), yielding the desired load-balancer state.
//!
//! Sans-IO like the VRRP engine: the driver calls [`Engine::poll_probe`] for probes that are
//! due, runs them, reports with [`Engine::probe_done`], drains [`Engine::poll_event`] (logs,
//! scripts, FIFO lines) and pushes [`Engine::desired`] to the data plane whenever
//! [`Engine::generation`] moves. Time is passed in; randomness (the warm-up spread) comes from
//! a seeded generator.
//!
//! One deliberate difference from keepalived: a failed data-plane write does not hold the
//! health state back (keepalived keeps the checker's old state and tries again on the next
//! result); here health is recorded at once and the data-plane syncer retries the write.

use crate::http;
use crate::plan::{CheckPlan, CheckerPlan, RsPlan, VsPlan};
use crate::policy::{self, CheckerState, FileStatus, Names, Next, Outcome, Verdict};
use ka_config::lvs::checker::CheckerKind;
use ka_config::script::Script;
use ka_lb::model::LbState;
use ka_units::{Instant, Micros};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

/// A checker, by its position in the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CheckerId(pub u32);

/// A probe to run now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeRequest {
    pub id: CheckerId,
    /// HTTP_GET/SSL_GET: the url to fetch (index in the checker's `url` list).
    pub url: usize,
}

/// Something the driver must do or say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A log line (keepalived's wording).
    Log(String),
    /// Run a notify or quorum script with its configured arguments.
    Script(Script),
    /// A line for the notify FIFOs (`notify_fifo`, `lvs_notify_fifo`), newline included.
    Fifo(String),
}

#[derive(Clone, Debug)]
struct CheckerSlot {
    vs: usize,
    rs: usize,
    /// Position among its real server's checkers (what [`Engine::locate`] answers, once
    /// per probe: kept here rather than searched for).
    k: usize,
    plan: CheckerPlan,
    st: CheckerState,
    due: Option<Instant>,
    in_flight: bool,
    started: Instant,
}

#[derive(Clone, Debug, Default)]
struct RsSlot {
    /// In the pool (keepalived's `alive`).
    alive: bool,
    /// Checkers currently down.
    num_failed: u32,
    /// Configured weight plus the checkers' contributions.
    effective: i64,
    /// Index of each of its checkers.
    checkers: Vec<usize>,
}

#[derive(Clone, Debug, Default)]
struct VsSlot {
    quorum_up: bool,
    sorry_alive: bool,
}

/// keepalived's `real_weight`: what IPVS is given for an effective weight.
pub fn real_weight(effective: i64) -> u32 {
    u32::try_from(effective.clamp(0, i64::from(i32::MAX))).unwrap_or(0)
}

/// A small deterministic generator (xorshift64*) for the warm-up spread.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, max].
    fn up_to(&mut self, max: Micros) -> Micros {
        Micros(self.next() % max.0.saturating_add(1))
    }
}

/// How long after start (or reload) a checker first fires, before its warm-up spread.
pub const FIRST_RUN: Micros = Micros(1_000_000);

pub struct Engine {
    /// Shared with the driver's probes ([`Engine::shared_plan`]) rather than copied: at
    /// 10,000 real servers a copy is about 7 MB.
    plan: Arc<CheckPlan>,
    vss: Vec<VsSlot>,
    rss: Vec<Vec<RsSlot>>,
    checkers: Vec<CheckerSlot>,
    timers: BTreeSet<(Instant, u32)>,
    events: VecDeque<Event>,
    rng: Rng,
    generation: u64,
    stopped: bool,
}

impl Engine {
    /// A fresh start (keepalived's `start_check`): alpha checkers down, every retry budget
    /// used up, real servers without a failed checker in the pool before any probe, quorum
    /// evaluated, every checker armed at 1 s plus a random share of its warm-up.
    /// `file_value` gives the current value of each tracked file (FILE_CHECK).
    pub fn start(
        plan: CheckPlan,
        now: Instant,
        seed: u64,
        file_value: &dyn Fn(&str) -> Option<i64>,
    ) -> Engine {
        let mut e = Engine::empty(plan, seed);
        for ci in 0..e.checkers.len() {
            let c = &mut e.checkers[ci];
            c.st = CheckerState::initial(&c.plan);
            if let CheckerKind::File(f) = &c.plan.config.kind {
                match policy::file_status(file_value(&f.track_file).unwrap_or(0), f.weight, f.reverse) {
                    FileStatus::Fault => c.st.up = false,
                    FileStatus::Weight(w) => c.st.cur_weight = w,
                }
                c.st.run = true;
            }
        }
        for vi in 0..e.vss.len() {
            for ri in 0..e.rss[vi].len() {
                let failed = e.rss[vi][ri]
                    .checkers
                    .iter()
                    .filter(|&&c| !e.checkers[c].st.up)
                    .count();
                let contributions: i64 = e.rss[vi][ri]
                    .checkers
                    .iter()
                    .map(|&c| e.checkers[c].st.cur_weight)
                    .sum();
                let rs = &mut e.rss[vi][ri];
                rs.num_failed = u32::try_from(failed).unwrap_or(u32::MAX);
                rs.effective = i64::from(e.plan.virtual_servers[vi].real_servers[ri].weight) + contributions;
                if rs.num_failed == 0 {
                    rs.alive = true;
                    if e.plan.rs_init_notifies {
                        e.rs_notifies(vi, ri);
                    }
                }
            }
            e.update_quorum(vi, true);
        }
        e.arm_all(now);
        e.generation += 1;
        e
    }

    fn empty(plan: CheckPlan, seed: u64) -> Engine {
        let mut checkers = Vec::new();
        let mut rss = Vec::new();
        for (vi, vs) in plan.virtual_servers.iter().enumerate() {
            let mut slots = Vec::new();
            for (ri, rs) in vs.real_servers.iter().enumerate() {
                let mut slot = RsSlot::default();
                for (k, c) in rs.checkers.iter().enumerate() {
                    slot.checkers.push(checkers.len());
                    checkers.push(CheckerSlot {
                        vs: vi,
                        rs: ri,
                        k,
                        st: CheckerState::initial(c),
                        plan: c.clone(),
                        due: None,
                        in_flight: false,
                        started: Instant(0),
                    });
                }
                slots.push(slot);
            }
            rss.push(slots);
        }
        Engine {
            vss: vec![VsSlot::default(); plan.virtual_servers.len()],
            plan: Arc::new(plan),
            rss,
            checkers,
            timers: BTreeSet::new(),
            events: VecDeque::new(),
            // xorshift must not start at 0.
            rng: Rng(seed | 1),
            generation: 0,
            stopped: false,
        }
    }

    fn arm_all(&mut self, now: Instant) {
        self.timers.clear();
        for ci in 0..self.checkers.len() {
            let c = &mut self.checkers[ci];
            c.in_flight = false;
            c.due = None;
            if !c.plan.config.kind.has_run_loop() {
                continue;
            }
            let spread = if c.plan.warmup.0 > 0 {
                self.rng.up_to(c.plan.warmup)
            } else {
                Micros(0)
            };
            let vs = &self.plan.virtual_servers[c.vs];
            let rs = &vs.real_servers[c.rs];
            self.events.push_back(Event::Log(format!(
                "Activating healthchecker for service {} for VS {}",
                rs.name, vs.name
            )));
            self.schedule(ci, now + FIRST_RUN + spread);
        }
    }

    fn schedule(&mut self, ci: usize, at: Instant) {
        let c = &mut self.checkers[ci];
        if let Some(old) = c.due.take() {
            self.timers.remove(&(old, ci as u32));
        }
        c.due = Some(at);
        self.timers.insert((at, ci as u32));
    }

    // ===== the driver's interface =====

    pub fn plan(&self) -> &CheckPlan {
        &self.plan
    }

    /// The plan, for probes running outside the engine (it changes only on reload).
    pub fn shared_plan(&self) -> Arc<CheckPlan> {
        Arc::clone(&self.plan)
    }

    /// The checker, its real server and its virtual server.
    pub fn checker(&self, id: CheckerId) -> Option<(&CheckerPlan, &RsPlan, &VsPlan)> {
        let c = self.checkers.get(id.0 as usize)?;
        let vs = self.plan.virtual_servers.get(c.vs)?;
        let rs = vs.real_servers.get(c.rs)?;
        Some((&c.plan, rs, vs))
    }

    /// Where a checker is: (virtual server, real server, checker within the real server),
    /// indexes into [`Engine::plan`].
    pub fn locate(&self, id: CheckerId) -> Option<(usize, usize, usize)> {
        let c = self.checkers.get(id.0 as usize)?;
        Some((c.vs, c.rs, c.k))
    }

    /// The state of a checker (for status output and tests).
    pub fn checker_state(&self, id: CheckerId) -> Option<&CheckerState> {
        self.checkers.get(id.0 as usize).map(|c| &c.st)
    }

    /// Number of checkers.
    pub fn checker_count(&self) -> usize {
        self.checkers.len()
    }

    /// Whether real server `rs` of virtual server `vs` is in the pool.
    pub fn rs_alive(&self, vs: usize, rs: usize) -> Option<bool> {
        self.rss.get(vs)?.get(rs).map(|r| r.alive)
    }

    /// The weight real server `rs` of virtual server `vs` has in the data plane when up.
    pub fn rs_weight(&self, vs: usize, rs: usize) -> Option<u32> {
        self.rss.get(vs)?.get(rs).map(|r| real_weight(r.effective))
    }

    pub fn quorum_up(&self, vs: usize) -> Option<bool> {
        self.vss.get(vs).map(|v| v.quorum_up)
    }

    /// When the next probe is due.
    pub fn deadline(&self) -> Option<Instant> {
        self.timers.iter().next().map(|(t, _)| *t)
    }

    /// The next probe due at `now`, if any. Its timer is consumed; the probe is in flight
    /// until [`Engine::probe_done`].
    pub fn poll_probe(&mut self, now: Instant) -> Option<ProbeRequest> {
        if self.stopped {
            return None;
        }
        let &(at, ci) = self.timers.iter().next()?;
        if at > now {
            return None;
        }
        self.timers.remove(&(at, ci));
        let c = &mut self.checkers[ci as usize];
        c.due = None;
        c.in_flight = true;
        c.started = now;
        if matches!(c.plan.config.kind, CheckerKind::Smtp(_)) && !c.st.smtp_retrying {
            // Every SMTP cycle starts with the whole retry budget.
            c.st.it = 0;
        }
        Some(ProbeRequest {
            id: CheckerId(ci),
            url: c.st.url_it,
        })
    }

    /// A probe's result. Results for checkers not in flight (e.g. from before a reload) are
    /// ignored.
    pub fn probe_done(&mut self, now: Instant, id: CheckerId, outcome: Outcome) {
        let ci = id.0 as usize;
        let Some(c) = self.checkers.get_mut(ci) else {
            return;
        };
        if !c.in_flight || self.stopped {
            return;
        }
        c.in_flight = false;
        let (vi, ri) = (c.vs, c.rs);
        let vs = &self.plan.virtual_servers[vi];
        let rs = &vs.real_servers[ri];
        let names = Names {
            rs: &rs.name,
            vs: &vs.name,
        };
        let verdict: Verdict = match c.plan.config.kind {
            CheckerKind::Http(_) | CheckerKind::Ssl(_) => {
                http::on_outcome(&c.plan, &mut c.st, &outcome, names, self.plan.log_all_failures)
            }
            _ => policy::on_outcome(
                &c.plan,
                &mut c.st,
                &outcome,
                names,
                rs.weight,
                self.plan.log_all_failures,
            ),
        };
        let started = c.started;
        for line in verdict.logs {
            self.events.push_back(Event::Log(line));
        }
        if let Some(w) = verdict.cur_weight {
            self.set_contribution(ci, w);
        }
        if let Some(alive) = verdict.event {
            self.checker_event(ci, alive, verdict.first);
        }
        let at = match verdict.next {
            Next::After(d) => now + d,
            Next::AfterStart(d) => {
                let t = started + d;
                if t > now {
                    t
                } else {
                    now + Micros(1)
                }
            }
        };
        self.schedule(ci, at);
    }

    /// A tracked file's value changed (FILE_CHECK). `None`: the file is gone (value 0).
    pub fn file_changed(&mut self, track_file: &str, value: Option<i64>) {
        if self.stopped {
            return;
        }
        for ci in 0..self.checkers.len() {
            let CheckerKind::File(f) = &self.checkers[ci].plan.config.kind else {
                continue;
            };
            if f.track_file != track_file {
                continue;
            }
            let new = policy::file_status(value.unwrap_or(0), f.weight, f.reverse);
            let was_fault = !self.checkers[ci].st.up;
            match new {
                FileStatus::Fault if !was_fault => {
                    self.set_contribution(ci, 0);
                    self.checker_event(ci, false, false);
                }
                FileStatus::Fault => {}
                FileStatus::Weight(w) if was_fault => {
                    self.set_contribution(ci, w);
                    self.checker_event(ci, true, false);
                }
                FileStatus::Weight(w) => self.set_contribution(ci, w),
            }
        }
    }

    /// The next event to carry out.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Moves when the desired state may have changed.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// What the data plane should hold now.
    pub fn desired(&self) -> LbState {
        let mut out = LbState::default();
        if self.stopped {
            return out;
        }
        for (vi, vs) in self.plan.virtual_servers.iter().enumerate() {
            let slot = &self.vss[vi];
            let sorry_active = vs.sorry.is_some() && slot.sorry_alive;
            for service in &vs.services {
                let entry = out.upsert_service(service.clone());
                for (ri, rs) in vs.real_servers.iter().enumerate() {
                    let state = &self.rss[vi][ri];
                    let weight = if state.alive && !sorry_active {
                        Some(real_weight(state.effective))
                    } else if rs.inhibit {
                        // inhibit_on_failure: kept with weight 0 (also while the sorry
                        // server stands in).
                        Some(0)
                    } else {
                        None
                    };
                    if let Some(w) = weight {
                        let d = rs.dest_in(&service.key, w);
                        entry.dests.insert(d.key, d);
                    }
                }
                if let Some(sorry) = &vs.sorry {
                    let weight = if sorry_active {
                        Some(1)
                    } else if sorry.inhibit {
                        Some(0)
                    } else {
                        None
                    };
                    if let Some(w) = weight {
                        let d = sorry.dest_in(&service.key, w);
                        entry.dests.insert(d.key, d);
                    }
                }
            }
        }
        out
    }

    // ===== keepalived's ipwrapper.c =====

    /// `update_svr_checker_state`: a checker reports up (`alive`) or down; `first` when it is
    /// the checker's first result.
    fn checker_event(&mut self, ci: usize, alive: bool, first: bool) {
        let (vi, ri) = (self.checkers[ci].vs, self.checkers[ci].rs);
        let c = &mut self.checkers[ci];
        if c.st.up == alive {
            if first {
                let notify = c.plan.alpha || !alive;
                c.st.run = true;
                if notify {
                    self.rs_notifies_as(vi, ri, alive);
                }
            }
            return;
        }
        c.st.run = true;
        let failed = self.rss[vi][ri].num_failed;
        if alive && failed <= 1 {
            self.set_rs_alive(vi, ri, true);
        }
        if !alive && failed == 0 {
            self.set_rs_alive(vi, ri, false);
        }
        self.checkers[ci].st.up = alive;
        let rs = &mut self.rss[vi][ri];
        if alive {
            rs.num_failed = rs.num_failed.saturating_sub(1);
        } else {
            rs.num_failed += 1;
        }
    }

    /// `perform_svr_state`: the real server enters or leaves the pool.
    fn set_rs_alive(&mut self, vi: usize, ri: usize, alive: bool) {
        if self.rss[vi][ri].alive == alive {
            return;
        }
        let vs = &self.plan.virtual_servers[vi];
        let rs = &vs.real_servers[ri];
        let line = match (alive, rs.inhibit) {
            (true, false) => format!("Adding service {} to VS {}", rs.name, vs.name),
            (true, true) => format!("Enabling service {} of VS {}", rs.name, vs.name),
            (false, false) => format!("Removing service {} from VS {}", rs.name, vs.name),
            (false, true) => format!("Disabling service {} of VS {}", rs.name, vs.name),
        };
        self.events.push_back(Event::Log(line));
        self.rss[vi][ri].alive = alive;
        self.generation += 1;
        self.rs_notifies(vi, ri);
        self.update_quorum(vi, false);
    }

    /// A checker's weight contribution changed (MISC dynamic, FILE): keepalived's
    /// `update_svr_wgt` on the real server.
    fn set_contribution(&mut self, ci: usize, new: i64) {
        let (vi, ri) = (self.checkers[ci].vs, self.checkers[ci].rs);
        let old = std::mem::replace(&mut self.checkers[ci].st.cur_weight, new);
        if old == new {
            return;
        }
        let before = self.rss[vi][ri].effective;
        let after = before - old + new;
        self.rss[vi][ri].effective = after;
        let (o, n) = (real_weight(before), real_weight(after));
        if o != n {
            let vs = &self.plan.virtual_servers[vi];
            let rs = &vs.real_servers[ri];
            let active = if self.rss[vi][ri].alive { "" } else { "in" };
            self.events.push_back(Event::Log(format!(
                "Changing weight from {o} to {n} for {active}active service {} of VS {}",
                rs.name, vs.name
            )));
            self.generation += 1;
            self.update_quorum(vi, false);
        }
    }

    /// `do_rs_notifies` for the real server's current state.
    fn rs_notifies(&mut self, vi: usize, ri: usize) {
        let alive = self.rss[vi][ri].alive;
        self.rs_notifies_as(vi, ri, alive);
    }

    fn rs_notifies_as(&mut self, vi: usize, ri: usize, alive: bool) {
        let vs = &self.plan.virtual_servers[vi];
        let rs = &vs.real_servers[ri];
        let script = if alive { &rs.notify_up } else { &rs.notify_down };
        if let Some(s) = script {
            self.events.push_back(Event::Script(s.clone()));
        }
        let word = if alive { "UP" } else { "DOWN" };
        self.events
            .push_back(Event::Fifo(format!("RS {} {} {word}\n", rs.name, vs.name)));
    }

    fn vs_notifies(&mut self, vi: usize) {
        let up = self.vss[vi].quorum_up;
        let vs = &self.plan.virtual_servers[vi];
        let script = if up { &vs.quorum_up } else { &vs.quorum_down };
        if let Some(s) = script {
            self.events.push_back(Event::Script(s.clone()));
        }
        let word = if up { "UP" } else { "DOWN" };
        self.events
            .push_back(Event::Fifo(format!("VS {} {word}\n", vs.name)));
    }

    /// `update_quorum_state`, exactly: quorum Q with hysteresis H over the weights of the
    /// real servers in the pool.
    fn update_quorum(&mut self, vi: usize, init: bool) {
        let vs = &self.plan.virtual_servers[vi];
        let sum: i64 = self.rss[vi]
            .iter()
            .filter(|r| r.alive)
            .map(|r| i64::from(real_weight(r.effective)))
            .sum();
        let (q, h) = (i64::from(vs.quorum), i64::from(vs.hysteresis));
        let up = self.vss[vi].quorum_up;
        let threshold = if up { q - h } else { q + h };
        let has_sorry = vs.sorry.is_some();
        let sorry_alive = self.vss[vi].sorry_alive;
        if !up && sum >= q + h {
            self.vss[vi].quorum_up = true;
            let mut lines = vec![format!(
                "Gained quorum {}+{}={} <= {} for VS {}",
                vs.quorum, vs.hysteresis, threshold, sum, vs.name
            )];
            if let (Some(sorry), true) = (&vs.sorry, sorry_alive) {
                let verb = if sorry.inhibit { "Disabling" } else { "Removing" };
                lines.push(format!("{verb} sorry server {} from VS {}", sorry.name, vs.name));
                lines.push(format!("Adding alive servers to the pool for VS {}", vs.name));
                self.vss[vi].sorry_alive = false;
            }
            self.events.extend(lines.into_iter().map(Event::Log));
            self.generation += 1;
            self.vs_notifies(vi);
        } else if (up && (sum == 0 || sum < threshold)) || (init && !up && has_sorry && !sorry_alive) {
            self.vss[vi].quorum_up = false;
            let what = if init && !up {
                "Starting with quorum down"
            } else {
                "Lost quorum"
            };
            let mut lines = vec![format!(
                "{what} {}-{}={} > {} for VS {}",
                vs.quorum, vs.hysteresis, threshold, sum, vs.name
            )];
            if let (Some(sorry), false) = (&vs.sorry, sorry_alive) {
                let verb = if sorry.inhibit { "Enabling" } else { "Adding" };
                let prep = if sorry.inhibit { "of" } else { "to" };
                lines.push(format!(
                    "{verb} sorry server {} {prep} VS {}",
                    sorry.name, vs.name
                ));
                lines.push(format!("Removing alive servers from the pool for VS {}", vs.name));
                self.vss[vi].sorry_alive = true;
            }
            self.events.extend(lines.into_iter().map(Event::Log));
            self.generation += 1;
            self.vs_notifies(vi);
        }
    }

    // ===== stop and reload =====

    /// SIGTERM (keepalived's `clear_services` without `lvs_flush_on_stop`): every real server
    /// is taken out, with notifications under `omega`, and the data plane is emptied of
    /// what we own ([`Engine::desired`] is empty from now on).
    pub fn shutdown(&mut self) {
        if self.stopped {
            return;
        }
        for vi in 0..self.vss.len() {
            let omega = self.plan.virtual_servers[vi].omega;
            for ri in 0..self.rss[vi].len() {
                let vs = &self.plan.virtual_servers[vi];
                let rs = &vs.real_servers[ri];
                let alive = self.rss[vi][ri].alive;
                let inhibited = if rs.inhibit && !alive { "(inhibited) " } else { "" };
                self.events.push_back(Event::Log(format!(
                    "Shutting down {inhibited}service {} from VS {}",
                    rs.name, vs.name
                )));
                if alive {
                    self.rss[vi][ri].alive = false;
                    if omega {
                        self.rs_notifies(vi, ri);
                    }
                }
            }
            self.vss[vi].quorum_up = false;
            self.vss[vi].sorry_alive = false;
            if omega {
                self.vs_notifies(vi);
            }
        }
        self.stopped = true;
        self.timers.clear();
        self.generation += 1;
    }

    /// SIGHUP with a new plan (keepalived's `clear_diff_services` and `migrate_checkers`):
    /// virtual servers match by identity, real servers by address and port, checkers by
    /// position and identical settings. What matches keeps its state; removed real servers
    /// are announced down; new real servers need `retry`+1 failures to go down; every
    /// checker is re-armed at 1 s plus its warm-up spread.
    pub fn reload(&mut self, plan: CheckPlan, now: Instant) {
        let old_plan = std::mem::take(&mut self.plan);
        let old_vss = std::mem::take(&mut self.vss);
        let old_rss = std::mem::take(&mut self.rss);
        let old_checkers = std::mem::take(&mut self.checkers);
        let seed = self.rng.next();
        let events = std::mem::take(&mut self.events);
        let generation = self.generation;
        *self = Engine::empty(plan, seed);
        self.events = events;
        self.generation = generation + 1;

        let mut old_vs_by_identity: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, vs) in old_plan.virtual_servers.iter().enumerate() {
            old_vs_by_identity.insert(vs.identity.as_str(), i);
        }
        let mut kept_vs = vec![false; old_plan.virtual_servers.len()];
        for vi in 0..self.plan.virtual_servers.len() {
            let old_vi = old_vs_by_identity
                .get(self.plan.virtual_servers[vi].identity.as_str())
                .copied();
            let Some(ovi) = old_vi else {
                // A new virtual server starts as at start-up.
                self.init_new_vs(vi);
                continue;
            };
            kept_vs[ovi] = true;
            self.vss[vi] = old_vss[ovi].clone();
            let old_vs = &old_plan.virtual_servers[ovi];
            let mut kept_rs = vec![false; old_vs.real_servers.len()];
            for ri in 0..self.plan.virtual_servers[vi].real_servers.len() {
                let (addr, port) = {
                    let rs = &self.plan.virtual_servers[vi].real_servers[ri];
                    (rs.addr, rs.port)
                };
                let old_ri = old_vs
                    .real_servers
                    .iter()
                    .position(|r| r.addr == addr && r.port == port);
                match old_ri {
                    Some(ori) => {
                        kept_rs[ori] = true;
                        self.migrate_rs(
                            vi,
                            ri,
                            &old_rss[ovi][ori],
                            &old_checkers,
                            &old_vs.real_servers[ori],
                        );
                    }
                    None => self.init_new_rs(vi, ri),
                }
            }
            for (ori, kept) in kept_rs.iter().enumerate() {
                if !kept {
                    let rs = &old_vs.real_servers[ori];
                    self.events
                        .push_back(Event::Log(format!("service {} no longer exist", rs.name)));
                    if old_rss[ovi][ori].alive {
                        announce_rs_down(&mut self.events, old_vs, rs);
                    }
                }
            }
        }
        for (ovi, kept) in kept_vs.iter().enumerate() {
            if !kept {
                let vs = &old_plan.virtual_servers[ovi];
                self.events
                    .push_back(Event::Log(format!("Removing Virtual Server {}", vs.name)));
                for (ori, rs) in vs.real_servers.iter().enumerate() {
                    if old_rss[ovi][ori].alive {
                        self.events.push_back(Event::Log(format!(
                            "Removing service {} from VS {}",
                            rs.name, vs.name
                        )));
                        announce_rs_down(&mut self.events, vs, rs);
                    }
                }
            }
        }
        for vi in 0..self.vss.len() {
            self.update_quorum(vi, true);
        }
        self.arm_all(now);
    }

    fn init_new_vs(&mut self, vi: usize) {
        for ri in 0..self.rss[vi].len() {
            let mut failed = 0;
            let mut contributions = 0;
            for &ci in &self.rss[vi][ri].checkers {
                let c = &self.checkers[ci];
                if !c.st.up {
                    failed += 1;
                }
                contributions += c.st.cur_weight;
            }
            let rs = &mut self.rss[vi][ri];
            rs.num_failed = failed;
            rs.effective = i64::from(self.plan.virtual_servers[vi].real_servers[ri].weight) + contributions;
            rs.alive = failed == 0;
        }
    }

    /// A real server new in a reload: alpha checkers down, others with a full retry budget.
    fn init_new_rs(&mut self, vi: usize, ri: usize) {
        let mut failed = 0;
        for &ci in &self.rss[vi][ri].checkers {
            let c = &mut self.checkers[ci];
            c.st.it = 0;
            if !c.st.up {
                failed += 1;
            }
        }
        let rs = &mut self.rss[vi][ri];
        rs.num_failed = failed;
        rs.effective = i64::from(self.plan.virtual_servers[vi].real_servers[ri].weight);
        if failed == 0 {
            rs.alive = true;
            let vs = &self.plan.virtual_servers[vi];
            let line = format!("Adding service {} to VS {}", vs.real_servers[ri].name, vs.name);
            self.events.push_back(Event::Log(line));
        }
    }

    fn migrate_rs(
        &mut self,
        vi: usize,
        ri: usize,
        old: &RsSlot,
        old_checkers: &[CheckerSlot],
        old_plan: &RsPlan,
    ) {
        let new_plan = self.plan.virtual_servers[vi].real_servers[ri].clone();
        let mut failed = 0;
        let mut contributions = 0;
        let mut any_ran = false;
        for (k, &ci) in self.rss[vi][ri].checkers.clone().iter().enumerate() {
            let matched = old.checkers.get(k).and_then(|&oci| {
                let o = &old_checkers[oci];
                let same = format!("{:?}", o.plan.config) == format!("{:?}", self.checkers[ci].plan.config);
                same.then_some(o)
            });
            let c = &mut self.checkers[ci];
            match matched {
                Some(o) => {
                    let retry = c.plan.retry;
                    c.st = o.st.clone();
                    if o.st.it > 0 && retry > 0 {
                        c.st.it = o.st.it.min(retry - 1);
                    }
                    any_ran |= c.st.run;
                }
                None => c.st.it = 0,
            }
            if c.st.run && !c.st.up {
                failed += 1;
            }
            contributions += c.st.cur_weight;
        }
        // A real server that is down (or with a failed checker) gives its fresh checkers the
        // start-up rule: one failure is enough.
        if failed > 0 || (!old.alive && !any_ran) {
            for &ci in &self.rss[vi][ri].checkers {
                let c = &mut self.checkers[ci];
                if !c.st.run {
                    c.st.it = c.plan.retry;
                    if c.plan.alpha && c.st.up {
                        c.st.up = false;
                        failed += 1;
                    }
                }
            }
        }
        let rs = &mut self.rss[vi][ri];
        rs.num_failed = failed;
        rs.alive = old.alive;
        let effective = i64::from(new_plan.weight) + contributions;
        let before = old.effective;
        rs.effective = effective;
        if failed == 0 && !rs.alive {
            rs.alive = true;
            let vs = &self.plan.virtual_servers[vi];
            self.events.push_back(Event::Log(format!(
                "Adding service {} to VS {}",
                new_plan.name, vs.name
            )));
        }
        if real_weight(before) != real_weight(effective) && new_plan.weight != old_plan.weight {
            let vs = &self.plan.virtual_servers[vi];
            let active = if self.rss[vi][ri].alive { "" } else { "in" };
            self.events.push_back(Event::Log(format!(
                "Changing weight from {} to {} for {active}active service {} of VS {}",
                real_weight(before),
                real_weight(effective),
                new_plan.name,
                vs.name
            )));
        }
    }
}

/// The notifications of a real server leaving with its virtual server or a reload.
fn announce_rs_down(events: &mut VecDeque<Event>, vs: &VsPlan, rs: &RsPlan) {
    if let Some(s) = &rs.notify_down {
        events.push_back(Event::Script(s.clone()));
    }
    events.push_back(Event::Fifo(format!("RS {} {} DOWN\n", rs.name, vs.name)));
}
