//! The health-checker side of the daemon (keepalived's checker process): the checker engine
//! on a thread and runtime of its own, so that thousands of probes never delay a VRRP advert;
//! probes run concurrently (bounded); the engine's desired state goes to the data-plane
//! thread, which keeps the kernel in step (see [`ka_lb::dataplane::Syncer`]).
//!
//! Lifecycle: started with the daemon when the configuration has virtual servers; SIGHUP
//! reloads (state of unchanged real servers kept); SIGTERM takes every real server out as
//! keepalived does, empties what we own in the data plane, then stops.

use super::clock::Clock;
use super::vrrp_service::ReloadSource;
use ka_check::engine::{Engine, Event, ProbeRequest};
use ka_check::plan::CheckPlan;
use ka_check::policy::{MiscExit, Outcome};
use ka_lb::dataplane::{sync_once, Dataplane, SyncStatus, Syncer};
use ka_lb::model::LbState;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Runs one probe. The daemon's is [`ka_probe`]'s; tests can script one.
pub trait Prober: Send + Sync + 'static {
    /// Probes checker `checker` of real server `rs` of virtual server `vs` of `plan`
    /// (`url`: the url to fetch for HTTP_GET/SSL_GET).
    fn probe(
        &self,
        plan: Arc<CheckPlan>,
        vs: usize,
        rs: usize,
        checker: usize,
        url: usize,
    ) -> Pin<Box<dyn Future<Output = Outcome> + Send>>;
}

/// Most probes in flight at once: a bound on sockets and processes. Probes beyond it wait
/// (their checkers stay due) rather than fail.
pub const MAX_PROBES_IN_FLIGHT: usize = 2048;

/// What the daemon asks of the checker thread.
#[derive(Debug)]
pub enum Command {
    Reload,
    /// `ctl drain` (true) / `ctl resume` (false): withdraw / re-announce bgp_announce addresses.
    Drain(bool),
    /// The daemon is stopping: withdraw announcements now, before anything else stops.
    Withdraw,
    Stop,
}

/// A running checker side.
pub struct CheckerHandle {
    pub commands: mpsc::UnboundedSender<Command>,
    pub thread: std::thread::JoinHandle<()>,
    /// Resolves once the virtual servers are in the shared status for the first time.
    pub first_status: tokio::sync::oneshot::Receiver<()>,
}

/// What the checker thread needs.
pub struct Setup {
    pub plan: CheckPlan,
    pub reload: ReloadSource,
    pub dataplane: Box<dyn Dataplane + Send>,
    pub prober: Arc<dyn Prober>,
    /// Where `RS ... UP` / `VS ... DOWN` lines go (the notifier's LVS channel).
    pub fifo: mpsc::UnboundedSender<String>,
    /// (name, path) of the tracked files FILE_CHECK uses.
    pub track_files: Vec<(String, std::path::PathBuf)>,
    pub status: super::status::Shared,
    /// checker_priority, checker_rt_priority, checker_cpu_affinity, checker_no_swap.
    pub tuning: super::process_tuning::Tuning,
    /// `bgp_announce` addresses.
    pub announce: Vec<ka_config::announce::AnnouncedAddress>,
}

/// Starts the checker thread.
pub fn spawn(setup: Setup) -> std::io::Result<CheckerHandle> {
    let (tx, rx) = mpsc::unbounded_channel();
    let (first_status_tx, first_status) = tokio::sync::oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("checker".into())
        .spawn(move || {
            for line in setup.tuning.apply_to_this_thread() {
                crate::info!("{line}");
            }
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => {
                    crate::error!("checker: cannot start its runtime: {e}");
                    return;
                }
            };
            runtime.block_on(run(setup, rx, first_status_tx));
        })?;
    Ok(CheckerHandle {
        commands: tx,
        thread,
        first_status,
    })
}

fn read_files(track_files: &[(String, std::path::PathBuf)]) -> impl Fn(&str) -> Option<i64> + '_ {
    move |name| {
        track_files
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, p)| super::trackers::read_track_file(p))
    }
}

async fn run(
    setup: Setup,
    mut commands: mpsc::UnboundedReceiver<Command>,
    first_status: tokio::sync::oneshot::Sender<()>,
) {
    let mut first_status = Some(first_status);
    let Setup {
        plan,
        reload,
        dataplane,
        prober,
        fifo,
        track_files,
        status,
        tuning: _,
        announce: announce_list,
    } = setup;
    let mut announcer = super::announce::Announcer::start(&announce_list).await;
    // PING_CHECK uses unprivileged ping sockets: keepalived widens the allowed groups to
    // include its own, and puts the old range back at exit.
    let has_ping = plan
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .flat_map(|r| &r.checkers)
        .any(|c| matches!(c.kind(), ka_config::lvs::checker::CheckerKind::Ping));
    let widened = if has_ping {
        match ka_probe::ping::widen_group_range() {
            Ok(w) => {
                if let Some(w) = &w {
                    crate::info!("{}", w.message());
                }
                w
            }
            Err(e) => {
                crate::warn!("{e} (PING_CHECK falls back to raw sockets)");
                None
            }
        }
    } else {
        None
    };
    let clock = Clock::new();
    let seed =
        u64::from(std::process::id()) ^ clock.now().as_micros().rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15;
    let mut engine = Engine::start(plan, clock.now(), seed, &read_files(&track_files));
    let mut shared = engine.shared_plan();
    let (sync_tx, mut in_sync) = tokio::sync::watch::channel(DataplaneSync::default());
    let mut gate = SettleGate::new(&engine, clock.now());
    let dp = DataplaneThread::spawn(dataplane, clock, status.clone(), sync_tx);
    let (results_tx, mut results) = mpsc::unbounded_channel::<ProbeResult>();
    let mut tally = ProbeTally::default();
    // Results from before a reload are dropped: the epoch says which plan they belong to.
    let mut epoch = 0u64;
    let mut in_flight = 0usize;
    let (file_tx, mut file_changes) = mpsc::unbounded_channel::<(String, i64)>();
    let mut followers = follow_files(&track_files, &file_tx);
    let mut sent_generation = None;
    crate::info!(
        "checker: {} virtual server(s), {} checker(s), data plane {}",
        engine.plan().virtual_servers.len(),
        engine.checker_count(),
        dp.name
    );
    loop {
        // Carry out what the engine said, and push a changed desired state.
        while let Some(e) = engine.poll_event() {
            carry_out(e, &fifo);
        }
        if sent_generation != Some(engine.generation()) {
            sent_generation = Some(engine.generation());
            dp.set_desired(engine.desired(), engine.generation());
            publish(&engine, &status);
            if let Some(tx) = first_status.take() {
                let _ = tx.send(());
            }
            let sync = *in_sync.borrow();
            decide_announcements(&mut announcer, &engine, &mut gate, sync, &status, clock.now()).await;
        }
        // Start every probe that is due, within the in-flight bound.
        let now = clock.now();
        while in_flight < MAX_PROBES_IN_FLIGHT {
            let Some(ProbeRequest { id, url }) = engine.poll_probe(now) else {
                break;
            };
            let Some((vs, rs, k)) = engine.locate(id) else {
                continue;
            };
            in_flight += 1;
            let probe = prober.probe(shared.clone(), vs, rs, k, url);
            let tx = results_tx.clone();
            let this_epoch = epoch;
            let checker_kind = engine.plan().virtual_servers[vs].real_servers[rs].checkers[k].kind();
            let kind = checker_kind.keyword();
            let misc_dynamic =
                matches!(checker_kind, ka_config::lvs::checker::CheckerKind::Misc(m) if m.misc_dynamic);
            tokio::spawn(async move {
                let started = std::time::Instant::now();
                let outcome = probe.await;
                let _ = tx.send(ProbeResult {
                    epoch: this_epoch,
                    id,
                    started_at: now,
                    kind,
                    misc_dynamic,
                    took: started.elapsed(),
                    outcome,
                });
            });
        }
        let sleep = match engine.deadline() {
            Some(at) if in_flight < MAX_PROBES_IN_FLIGHT => tokio::time::sleep_until(clock.deadline(at)),
            _ => tokio::time::sleep(Duration::from_secs(3600)),
        };
        tokio::select! {
            _ = sleep => {}
            Some(first) = results.recv() => {
                // Every result already here is taken before going round: the desired state
                // (all real servers: O(n)) is rebuilt once per batch, not once per change, so
                // thousands of real servers failing together cost a few rebuilds instead of
                // thousands (at 10,000 real servers, 5,000 failing at once took 5 s to log
                // instead of one delay_loop). At most MAX_PROBES_IN_FLIGHT are queued.
                let now = clock.now();
                let mut next = Some(first);
                while let Some(r) = next {
                    in_flight = in_flight.saturating_sub(1);
                    tally.count(&r);
                    if r.epoch == epoch {
                        gate.count(r.id, r.started_at);
                        engine.probe_done(now, r.id, r.outcome);
                    }
                    next = results.try_recv().ok();
                }
                tally.publish(&status);
                if !announcer.is_empty() && sent_generation == Some(engine.generation()) {
                    // Checks that reported may settle an address (a changed desired state
                    // is decided at the top of the loop).
                    let sync = *in_sync.borrow();
                    decide_announcements(&mut announcer, &engine, &mut gate, sync, &status, clock.now()).await;
                }
            }
            Some((name, value)) = file_changes.recv() => engine.file_changed(&name, Some(value)),
            Ok(()) = in_sync.changed() => {
                let sync = *in_sync.borrow_and_update();
                decide_announcements(&mut announcer, &engine, &mut gate, sync, &status, clock.now()).await;
            }
            cmd = commands.recv() => match cmd {
                Some(Command::Drain(on)) => {
                    announcer.set_draining(on);
                    if let Ok(mut s) = status.write() {
                        s.draining = on;
                    }
                    let sync = *in_sync.borrow();
                    decide_announcements(&mut announcer, &engine, &mut gate, sync, &status, clock.now()).await;
                }
                Some(Command::Withdraw) => {
                    announcer.withdraw_all("stopping").await;
                    publish_announcements(&announcer, &status);
                }
                Some(Command::Reload) => {
                    match load_plan(&reload) {
                        Ok((plan, announce_list)) => {
                            announcer.reconfigure(&announce_list).await;
                            crate::info!("checker: Reloading");
                            epoch += 1;
                            engine.reload(plan, clock.now());
                            gate = SettleGate::after_reload(&engine, clock.now(), gate.started);
                            shared = engine.shared_plan();
                            for f in followers.drain(..) {
                                f.abort();
                            }
                            let files = track_files_of(&reload);
                            followers = follow_files(&files, &file_tx);
                        }
                        Err(why) => crate::error!("checker: reload refused, keeping the running configuration: {why}"),
                    }
                }
                Some(Command::Stop) | None => break,
            },
        }
    }
    for f in followers {
        f.abort();
    }
    // The routing daemon moves the flows away while this director still forwards them.
    announcer.withdraw_all("stopping").await;
    publish_announcements(&announcer, &status);
    engine.shutdown();
    while let Some(e) = engine.poll_event() {
        carry_out(e, &fifo);
    }
    dp.stop(engine.desired()).await;
    if let Some(w) = widened {
        if let Err(e) = w.restore() {
            crate::warn!("{e}");
        }
    }
}

/// A probe's result, from the task that ran it.
struct ProbeResult {
    /// Which plan it belongs to (results from before a reload are dropped).
    epoch: u64,
    id: ka_check::CheckerId,
    /// When the probe started (engine time).
    started_at: ka_units::Instant,
    /// The checker's keyword (`TCP_CHECK`, ...), for the metrics.
    kind: &'static str,
    /// MISC_CHECK with `misc_dynamic`: exit codes 2-255 mean up (with a weight).
    misc_dynamic: bool,
    took: Duration,
    outcome: Outcome,
}

/// Results and durations by checker type, kept here and copied to the status once per batch
/// of results (not once per probe: 10,000 probes a second must not fight the scrapes for
/// the status lock).
#[derive(Default)]
struct ProbeTally {
    by_kind: std::collections::BTreeMap<&'static str, super::status::CheckStats>,
    changed: bool,
}

impl ProbeTally {
    fn count(&mut self, r: &ProbeResult) {
        let stats = self.by_kind.entry(r.kind).or_default();
        match &r.outcome {
            Outcome::Success => stats.success += 1,
            Outcome::Failure { .. } => stats.failure += 1,
            Outcome::LocalError { .. } => stats.error += 1,
            // As the policy reads it: 0 is up, 2-255 up with a weight under misc_dynamic,
            // anything else (1, other codes, a signal, a timeout) down.
            Outcome::Misc(MiscExit::Exited(0)) => stats.success += 1,
            Outcome::Misc(MiscExit::Exited(code)) if r.misc_dynamic && (2..=255).contains(code) => {
                stats.success += 1
            }
            Outcome::Misc(_) => stats.failure += 1,
        }
        stats.duration_seconds.observe(r.took.as_secs_f64());
        self.changed = true;
    }

    fn publish(&mut self, status: &super::status::Shared) {
        if !self.changed {
            return;
        }
        if let Ok(mut s) = status.write() {
            for (kind, stats) in &self.by_kind {
                s.checks.insert(kind.to_string(), stats.clone());
            }
            self.changed = false;
        }
    }
}

/// The health checkers' part of the status: every real server in or out of the pool.
fn publish(engine: &Engine, status: &super::status::Shared) {
    use super::status::{RealServer, VirtualServer};
    let vss = engine
        .plan()
        .virtual_servers
        .iter()
        .enumerate()
        .map(|(vi, vs)| VirtualServer {
            name: vs.name.clone(),
            quorum_up: engine.quorum_up(vi).unwrap_or(false),
            real_servers: vs
                .real_servers
                .iter()
                .enumerate()
                .map(|(ri, rs)| RealServer {
                    name: rs.name.clone(),
                    up: engine.rs_alive(vi, ri).unwrap_or(false),
                    weight: engine.rs_weight(vi, ri).unwrap_or(0),
                })
                .collect(),
        })
        .collect();
    if let Ok(mut s) = status.write() {
        s.virtual_servers = vss;
    }
}

fn follow_files(
    files: &[(String, std::path::PathBuf)],
    tx: &mpsc::UnboundedSender<(String, i64)>,
) -> Vec<tokio::task::JoinHandle<()>> {
    files
        .iter()
        .map(|(name, path)| {
            let (vtx, mut values) = mpsc::unbounded_channel();
            let follower = tokio::spawn(super::trackers::follow_track_file(
                name.clone(),
                path.clone(),
                vtx,
            ));
            let tx = tx.clone();
            let name = name.clone();
            tokio::spawn(async move {
                while let Some(v) = values.recv().await {
                    if tx.send((name.clone(), v)).is_err() {
                        break;
                    }
                }
                follower.abort();
            })
        })
        .collect()
}

/// The tracked files FILE_CHECK uses in a configuration: (name, path).
pub fn track_files(config: &ka_config::config::Config) -> Vec<(String, std::path::PathBuf)> {
    let used: std::collections::BTreeSet<&str> = config
        .lvs
        .virtual_servers
        .iter()
        .flat_map(|vs| &vs.real_servers)
        .flat_map(|rs| &rs.checkers)
        .filter_map(|c| match &c.kind {
            ka_config::lvs::checker::CheckerKind::File(f) => Some(f.track_file.as_str()),
            _ => None,
        })
        .collect();
    config
        .vrrp
        .track_file
        .iter()
        .filter(|t| used.contains(t.name.as_str()))
        .map(|t| (t.name.clone(), std::path::PathBuf::from(&t.file)))
        .collect()
}

fn track_files_of(reload: &ReloadSource) -> Vec<(String, std::path::PathBuf)> {
    let loaded = crate::config_test::load(&reload.path, reload.config_id.clone());
    track_files(&loaded.config)
}

fn load_plan(
    reload: &ReloadSource,
) -> Result<(CheckPlan, Vec<ka_config::announce::AnnouncedAddress>), String> {
    let loaded = crate::config_test::load(&reload.path, reload.config_id.clone());
    if loaded.cannot_run() {
        let first = loaded
            .blocking_diagnostics()
            .next()
            .map(|d| d.to_string())
            .unwrap_or_else(|| "the file cannot be read".into());
        return Err(first);
    }
    Ok((ka_check::plan::build(&loaded.config), loaded.config.bgp_announce))
}

/// What the data-plane thread last did: the generation of the desired state it wrote and
/// whether the write was read back as intended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct DataplaneSync {
    generation: Option<u64>,
    ok: bool,
}

/// Per virtual server: has every one of its checkers finished a probe that *started* after
/// the quorum last came back (and after the start)? `bgp_announce` starts announcing only
/// then (see `super::announce`). A probe that started during an outage and failed after it
/// (a connect timing out) says nothing about the real server now: only fresh probes count.
struct SettleGate {
    /// Per checker (CheckerId order): when the latest probe with a result had started.
    last_started: Vec<Option<ka_units::Instant>>,
    /// The checkers of each virtual server.
    by_vs: Vec<Vec<usize>>,
    quorum_was_up: Vec<bool>,
    /// Per virtual server waiting to settle: probes must have started at or after this.
    waiting: Vec<Option<ka_units::Instant>>,
    /// When the checker thread started (kept across reloads).
    started: ka_units::Instant,
}

impl SettleGate {
    /// At start nothing is settled: every checker must report once.
    fn new(engine: &Engine, started: ka_units::Instant) -> SettleGate {
        let n_vs = engine.plan().virtual_servers.len();
        let mut by_vs = vec![Vec::new(); n_vs];
        for c in 0..engine.checker_count() {
            if let Some((vs, _, _)) = engine.locate(ka_check::CheckerId(c as u32)) {
                if let Some(list) = by_vs.get_mut(vs) {
                    list.push(c);
                }
            }
        }
        SettleGate {
            last_started: vec![None; engine.checker_count()],
            by_vs,
            quorum_was_up: vec![false; n_vs],
            waiting: vec![None; n_vs],
            started,
        }
    }

    /// After a reload the engine kept the state of unchanged checkers: a virtual server
    /// whose checkers have all run is settled as it stands; one with new checkers waits for
    /// a probe of each.
    fn after_reload(engine: &Engine, now: ka_units::Instant, started: ka_units::Instant) -> SettleGate {
        let mut g = SettleGate::new(engine, started);
        for vi in 0..g.by_vs.len() {
            let all_run = g.by_vs[vi].iter().all(|&c| {
                engine
                    .checker_state(ka_check::CheckerId(c as u32))
                    .is_some_and(|st| st.run)
            });
            let up = engine.quorum_up(vi).unwrap_or(false);
            g.quorum_was_up[vi] = up;
            if up && !all_run {
                g.waiting[vi] = Some(now);
            }
        }
        g
    }

    fn count(&mut self, id: ka_check::CheckerId, started_at: ka_units::Instant) {
        if let Some(t) = self.last_started.get_mut(id.0 as usize) {
            *t = Some(t.map_or(started_at, |old| old.max(started_at)));
        }
    }

    /// Follows each virtual server's quorum; a regained quorum waits for a fresh probe of
    /// every checker. The start counts as a regained quorum.
    fn observe(&mut self, engine: &Engine, now: ka_units::Instant) {
        for vi in 0..self.by_vs.len() {
            let up = engine.quorum_up(vi).unwrap_or(false);
            if up && !self.quorum_was_up[vi] {
                // At the first look, the start is the moment to beat.
                let first = self.by_vs[vi].iter().all(|&c| self.last_started[c].is_none());
                self.waiting[vi] = Some(if first { self.started } else { now });
            }
            if !up {
                self.waiting[vi] = None;
            }
            self.quorum_was_up[vi] = up;
            if let Some(since) = self.waiting[vi] {
                let fresh = self.by_vs[vi]
                    .iter()
                    .all(|&c| self.last_started[c].is_some_and(|t| t >= since));
                if fresh {
                    self.waiting[vi] = None;
                }
            }
        }
    }

    fn settled(&self, vi: usize) -> bool {
        self.quorum_was_up.get(vi).copied().unwrap_or(false)
            && self.waiting.get(vi).is_some_and(|w| w.is_none())
    }
}

/// The virtual servers (indexes) with this address.
fn servers_of(engine: &Engine, addr: std::net::IpAddr) -> Vec<usize> {
    engine
        .plan()
        .virtual_servers
        .iter()
        .enumerate()
        .filter(|(_, vs)| {
            vs.services
                .iter()
                .any(|s| matches!(s.key, ka_lb::ServiceKey::Addr { addr: a, .. } if a == addr))
        })
        .map(|(vi, _)| vi)
        .collect()
}

/// Decides the bgp_announce addresses again (quorum and settling from the engine, the data
/// plane's last write) and reports them.
async fn decide_announcements(
    announcer: &mut super::announce::Announcer,
    engine: &Engine,
    gate: &mut SettleGate,
    sync: DataplaneSync,
    status: &super::status::Shared,
    now: ka_units::Instant,
) {
    if announcer.is_empty() {
        return;
    }
    gate.observe(engine, now);
    let without_quorum = |addr: std::net::IpAddr| {
        let servers = servers_of(engine, addr);
        (!servers.is_empty()).then(|| {
            servers
                .iter()
                .filter(|&&vi| !engine.quorum_up(vi).unwrap_or(false))
                .map(|&vi| engine.plan().virtual_servers[vi].name.clone())
                .collect()
        })
    };
    let gate_ref = &*gate;
    let unsettled = |addr: std::net::IpAddr| {
        servers_of(engine, addr)
            .into_iter()
            .filter(|&vi| !gate_ref.settled(vi))
            .map(|vi| engine.plan().virtual_servers[vi].name.clone())
            .collect()
    };
    announcer
        .update(&super::announce::Fitness {
            dataplane_ok: sync.ok,
            dataplane_current: sync.ok && sync.generation == Some(engine.generation()),
            without_quorum: &without_quorum,
            unsettled: &unsettled,
        })
        .await;
    publish_announcements(announcer, status);
}

fn publish_announcements(announcer: &super::announce::Announcer, status: &super::status::Shared) {
    if let Ok(mut s) = status.write() {
        s.announce = announcer.report();
    }
}

fn carry_out(e: Event, fifo: &mpsc::UnboundedSender<String>) {
    match e {
        Event::Log(line) => crate::info!("{line}"),
        Event::Fifo(line) => {
            let _ = fifo.send(line);
        }
        Event::Script(script) => {
            match ka_process::command(&script, &[]).and_then(|mut c| c.spawn().map_err(|e| e.to_string())) {
                Ok(mut child) => {
                    tokio::spawn(async move {
                        let _ = child.wait().await;
                    });
                }
                Err(e) => crate::warn!("cannot run script {}: {e}", script.command),
            }
        }
    }
}

// ===== the data-plane thread =====

enum DpMessage {
    /// The desired state and its generation (reported back once written).
    Desired(LbState, u64),
    /// Sync `LbState` (what remains after shutdown), then answer.
    Stop(LbState, tokio::sync::oneshot::Sender<()>),
}

/// The data plane runs on a thread of its own: netlink and `nft` calls block, and a slow
/// kernel must not hold up the probes.
struct DataplaneThread {
    name: &'static str,
    tx: std::sync::mpsc::Sender<DpMessage>,
}

impl DataplaneThread {
    fn spawn(
        mut dp: Box<dyn Dataplane + Send>,
        clock: Clock,
        status: super::status::Shared,
        in_sync: tokio::sync::watch::Sender<DataplaneSync>,
    ) -> DataplaneThread {
        let name = dp.name();
        if let Ok(mut s) = status.write() {
            s.dataplane = Some(super::status::Dataplane {
                backend: name.to_string(),
                ..Default::default()
            });
        }
        let (tx, rx) = std::sync::mpsc::channel::<DpMessage>();
        let spawned = std::thread::Builder::new()
            .name("dataplane".into())
            .spawn(move || dataplane_loop(dp.as_mut(), rx, clock, &status, &in_sync));
        if let Err(e) = spawned {
            crate::error!("cannot start the data-plane thread: {e}");
        }
        DataplaneThread { name, tx }
    }

    fn set_desired(&self, state: LbState, generation: u64) {
        let _ = self.tx.send(DpMessage::Desired(state, generation));
    }

    async fn stop(&self, remaining: LbState) {
        let (done, wait) = tokio::sync::oneshot::channel();
        if self.tx.send(DpMessage::Stop(remaining, done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(10), wait).await;
        }
    }
}

fn dataplane_loop(
    dp: &mut dyn Dataplane,
    rx: std::sync::mpsc::Receiver<DpMessage>,
    clock: Clock,
    status: &super::status::Shared,
    in_sync: &tokio::sync::watch::Sender<DataplaneSync>,
) {
    let mut syncer = Syncer::new();
    let mut generation = None;
    let mut last_ok = false;
    let mut failing = false;
    loop {
        let wait = match syncer.deadline() {
            Some(at) => Duration::from_micros((at - clock.now().min(at)).0),
            None => Duration::from_secs(3600),
        };
        let mut stop = None;
        match rx.recv_timeout(wait) {
            Ok(DpMessage::Desired(s, g)) => {
                syncer.set_desired(s);
                generation = Some(g);
            }
            Ok(DpMessage::Stop(s, done)) => {
                syncer.set_desired(s);
                stop = Some(done);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        // Only the latest desired state matters: skip over any that queued up meanwhile.
        while stop.is_none() {
            match rx.try_recv() {
                Ok(DpMessage::Desired(s, g)) => {
                    syncer.set_desired(s);
                    generation = Some(g);
                }
                Ok(DpMessage::Stop(s, done)) => {
                    syncer.set_desired(s);
                    stop = Some(done);
                }
                Err(_) => break,
            }
        }
        let now = clock.now();
        if !syncer.wants_sync(now) && stop.is_none() {
            // A new generation that asks for nothing new (the same table): what is written is
            // already its state.
            let same = DataplaneSync {
                generation,
                ok: last_ok,
            };
            in_sync.send_if_modified(|v| std::mem::replace(v, same) != same);
        }
        if syncer.wants_sync(now) || stop.is_some() {
            let started = std::time::Instant::now();
            let (changes, result) = sync_once(&mut syncer, dp, now);
            let took = started.elapsed().as_secs_f64();
            for c in &changes {
                crate::debug!("data plane: {c}");
            }
            if let Ok(mut s) = status.write() {
                if let Some(d) = s.dataplane.as_mut() {
                    if !changes.is_empty() {
                        d.applies += 1;
                        d.changes += changes.len() as u64;
                        d.apply_seconds.observe(took);
                    }
                    d.in_sync = result == SyncStatus::InSync;
                    if let SyncStatus::RetryAt { why, .. } = &result {
                        d.failures += 1;
                        d.last_error = Some(why.clone());
                    }
                }
            }
            last_ok = result == SyncStatus::InSync;
            let now_sync = DataplaneSync {
                generation,
                ok: last_ok,
            };
            in_sync.send_if_modified(|v| std::mem::replace(v, now_sync) != now_sync);
            match result {
                SyncStatus::InSync => {
                    if failing {
                        crate::info!("data plane {}: in sync again", dp.name());
                        failing = false;
                    }
                }
                SyncStatus::RetryAt { at, failures, why } => {
                    failing = true;
                    crate::error!(
                        "data plane {}: {why} (attempt {failures}; retrying in {} ms)",
                        dp.name(),
                        (at - now).0 / 1000
                    );
                }
            }
        }
        if let Some(done) = stop {
            // Nothing of ours left to serve: the backend's own structures go too.
            if syncer.desired().services.is_empty() {
                if let Err(e) = dp.release() {
                    crate::warn!("data plane {}: {e}", dp.name());
                }
            }
            let _ = done.send(());
            return;
        }
    }
}
