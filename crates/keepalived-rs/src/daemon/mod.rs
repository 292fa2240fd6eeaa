//! The daemon: reads the configuration, cleans up after a crashed predecessor, opens the
//! sockets, and runs the VRRP loop with its helpers (address worker, notifier, script
//! trackers, link monitor) on one tokio thread until SIGTERM/SIGINT.

pub mod addresses;
pub mod announce;
pub mod checker_service;
pub mod clock;
pub mod control;
pub mod dataplane;
pub mod dumps;
pub mod firewall;
pub mod journal;
pub mod metrics;
pub mod notifier;
pub mod plan;
pub mod probes;
pub mod process_tuning;
pub mod sd_notify;
pub mod sockets;
pub mod status;
pub mod trackers;
pub mod vmac;
pub mod vrrp_service;

use crate::cli::DaemonArgs;
use ka_config::Loaded;
use ka_net::netlink::Netlink;
use ka_vrrp::{LinkId, Router};
use std::collections::{BTreeMap, HashMap};
use tokio::sync::mpsc;
use vrrp_service::{Input, VrrpService};

/// keepalived's exit codes for the daemon.
pub mod exit {
    pub const OK: i32 = 0;
    pub const FATAL: i32 = 1;
    pub const CONFIG: i32 = 2;
}

/// Runs the daemon in the foreground; returns the exit code.
pub fn run(args: &DaemonArgs) -> i32 {
    // First, while the process has one thread: this takes systemd's variables out of the
    // environment the scripts inherit.
    sd_notify::init_from_environment();
    let loaded = crate::config_test::load(&args.use_file, args.config_id.clone());
    for d in &loaded.diagnostics {
        match d.severity() {
            ka_config::diag::Severity::Note => crate::debug!("{d}"),
            ka_config::diag::Severity::Warning => crate::warn!("{d}"),
            _ => crate::error!("{d}"),
        }
    }
    if loaded.cannot_run() {
        crate::error!("configuration cannot be run - exiting");
        return exit::CONFIG;
    }
    let pid_files: Vec<std::path::PathBuf> = [&args.pid_file, &args.vrrp_pid_file]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    for f in &pid_files {
        if let Err(e) = std::fs::write(f, format!("{}\n", std::process::id())) {
            crate::warn!("cannot write pid file {}: {e}", f.display());
        }
    }
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            crate::error!("cannot start the runtime: {e}");
            return exit::FATAL;
        }
    };
    let code = runtime.block_on(serve(loaded, args));
    for f in &pid_files {
        let _ = std::fs::remove_file(f);
    }
    code
}

async fn serve(loaded: Loaded, args: &DaemonArgs) -> i32 {
    let config = loaded.config;
    // Before any thread's tuning changes it: scripts get the original back.
    ka_process::remember_original_rttime_limit();
    // One place receives the signals and tells every subsystem.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        sd_notify::systemd().notify_stopping();
        let _ = stop_tx.send(true);
    });
    let (to_notifier, notifier_done) = notifier::spawn(plan::notify_fifos(&config));
    let status = status::shared();
    if let Ok(mut s) = status.write() {
        s.config.last_reload_successful = true;
        s.config.last_success_unix = status::unix_now();
    }
    let reload = vrrp_service::ReloadSource {
        path: args.use_file.clone(),
        config_id: args.config_id.clone(),
    };
    if args.vrrp_only && !config.bgp_announce.is_empty() {
        crate::warn!(
            "bgp_announce: -V runs VRRP only; nothing is announced without the checkers and the data plane"
        );
    }
    let checker = if config.lvs.have_checker_config && !args.vrrp_only {
        match start_checker(&config, &reload, args, &to_notifier, &status) {
            Ok(c) => Some(c),
            Err(why) => {
                // As when keepalived's checker process cannot start: VRRP goes on.
                crate::error!("health checkers not started: {why}");
                None
            }
        }
    } else {
        None
    };
    let mut checker = checker;
    if let Some(c) = checker.as_mut() {
        // systemd's READY=1 carries the real servers as well as the VRRP states: the
        // checker thread's first status (before any probe, milliseconds after its start)
        // comes before the VRRP side says READY. Bounded: a checker thread that never
        // publishes delays nothing for long.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), &mut c.first_status).await;
        if let Ok(s) = status.read() {
            sd_notify::systemd().report_real_servers(&s);
        }
    }
    let checker_commands = checker.as_ref().map(|c| c.commands.clone());
    // bgp_announce: the addresses are withdrawn the moment a stop is asked for, before VRRP
    // and the data plane wind down.
    if let Some(c) = checker_commands.clone() {
        let stop = stop_rx.clone();
        tokio::spawn(async move {
            wait_for_stop(stop).await;
            let _ = c.send(checker_service::Command::Withdraw);
        });
    }
    if checker.is_some() {
        tokio::spawn(sd_notify::systemd().follow_real_servers(status.clone()));
    }
    let dump_task = tokio::spawn(write_dumps_on_signals(status.clone()));
    // The control socket and the metrics listener (status for reporting, reload requests).
    let (control_tx, control_rx) = mpsc::unbounded_channel();
    let control_path = args
        .control_socket
        .clone()
        .unwrap_or_else(control::default_socket);
    let control = match control::serve_socket(control_path.clone(), status.clone(), control_tx) {
        Ok(task) => Some(task),
        Err(e) => {
            crate::warn!(
                "control socket {}: {e} (keepalived-rs ctl will not reach this daemon)",
                control_path.display()
            );
            None
        }
    };
    // The flag wins over global_defs' `metrics_listen`; both are read once, at start.
    let metrics_listen = args
        .metrics_listen
        .map(|a| (a, "--metrics-listen"))
        .or(config.global_defs.metrics_listen.map(|a| (a, "metrics_listen")));
    let metrics = match metrics_listen {
        Some((addr, from)) => match control::serve_metrics(addr, status.clone()).await {
            Ok(task) => {
                crate::info!("metrics at http://{addr}/metrics ({from})");
                Some(task)
            }
            Err(e) => {
                crate::error!("{from} {addr}: {e}");
                None
            }
        },
        None => None,
    };
    let code = if args.check_only {
        // Without the VRRP loop, systemd hears of readiness, reloads and liveness from here.
        sd_notify::systemd().notify_ready();
        tokio::spawn(sd_notify::systemd().announce_reloads());
        tokio::spawn(sd_notify::systemd().keep_alive_forever());
        crate::info!("-C given: the VRRP subsystem is not started");
        tokio::spawn(forward_sighup(None, checker_commands.clone(), control_rx));
        wait_for_stop(stop_rx).await;
        exit::OK
    } else {
        // Last, so that the threads started above (checkers, data plane, notifier) keep
        // their own settings; SCHED_RESET_ON_FORK keeps later ones normal.
        let tuning = process_tuning::Tuning::vrrp(&config.global_defs);
        if tuning.rt_priority > 0 || process_tuning::Tuning::checker(&config.global_defs).rt_priority > 0 {
            tokio::spawn(log_cpu_limit_warnings(tuning.by_default));
        }
        for line in tuning.apply_to_this_thread() {
            crate::info!("{line}");
        }
        serve_vrrp(
            config,
            reload,
            stop_rx,
            to_notifier.vrrp.clone(),
            checker_commands.clone(),
            status.clone(),
            control_rx,
        )
        .await
    };
    if let Some(c) = checker {
        let _ = c.commands.send(checker_service::Command::Stop);
        let _ = tokio::task::spawn_blocking(move || c.thread.join()).await;
    }
    dump_task.abort();
    for task in [control, metrics].into_iter().flatten() {
        task.abort();
    }
    let _ = std::fs::remove_file(&control_path);
    drop(to_notifier);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(3), notifier_done).await;
    crate::info!("Stopped keepalived-rs");
    code
}

fn start_checker(
    config: &ka_config::config::Config,
    reload: &vrrp_service::ReloadSource,
    args: &DaemonArgs,
    notifier: &notifier::NotifierHandle,
    status: &status::Shared,
) -> Result<checker_service::CheckerHandle, String> {
    if !config.bgp_announce.is_empty() && args.dataplane == "none" {
        return Err(
            "bgp_announce needs a data plane (--dataplane none given): a director announcing an address it does not forward would draw traffic into nothing".into(),
        );
    }
    let plan = ka_check::plan::build(config);
    let choice = dataplane::Choice {
        kind: &args.dataplane,
        nft_fallback: args.nft_scheduler_fallback,
    };
    let dataplane = dataplane::choose(&choice, &plan)?;
    let prober = probes::prober(config, &plan)?;
    checker_service::spawn(checker_service::Setup {
        tuning: process_tuning::Tuning::checker(&config.global_defs),
        announce: config.bgp_announce.clone(),
        plan,
        reload: reload.clone(),
        dataplane,
        prober,
        fifo: notifier.lvs.clone(),
        track_files: checker_service::track_files(config),
        status: status.clone(),
    })
    .map_err(|e| format!("cannot start the health checkers: {e}"))
}

/// keepalived's SIGXCPU handler: a real-time thread neared its `*_rlimit_rttime` (the soft
/// limit, half the configured one). Without a handler the signal would end the daemon. With
/// the VRRP thread real-time by keepalived-rs's default (no hard limit), the thread, which
/// runs this task, leaves real-time scheduling: a flood or a bug keeping the loop busy must
/// not hold a CPU above every normal process, nor get a master killed.
async fn log_cpu_limit_warnings(vrrp_real_time_by_default: bool) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut xcpu) = signal(SignalKind::from_raw(libc::SIGXCPU)) else {
        return;
    };
    while xcpu.recv().await.is_some() {
        if vrrp_real_time_by_default && process_tuning::leave_real_time(process_tuning::DEFAULT_VRRP_NICE) {
            crate::warn!(
                "SIGXCPU: the VRRP thread ran {} ms at real-time priority without sleeping; it runs at nice {} from now on",
                process_tuning::DEFAULT_RTTIME_SOFT_US / 1000,
                process_tuning::DEFAULT_VRRP_NICE
            );
        } else {
            crate::warn!("SIGXCPU: a real-time thread ran for half its rlimit_rttime without blocking");
        }
    }
}

async fn wait_for_stop(mut stop: tokio::sync::watch::Receiver<bool>) {
    while !*stop.borrow() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}

async fn serve_vrrp(
    config: ka_config::config::Config,
    reload: vrrp_service::ReloadSource,
    stop: tokio::sync::watch::Receiver<bool>,
    to_notifier: mpsc::UnboundedSender<notifier::Notification>,
    checker_commands: Option<mpsc::UnboundedSender<checker_service::Command>>,
    status: status::Shared,
    control_rx: mpsc::UnboundedReceiver<control::Request>,
) -> i32 {
    let netlink = match Netlink::connect() {
        Ok(n) => n,
        Err(e) => {
            crate::error!("{e}");
            return exit::FATAL;
        }
    };
    let links = match netlink.links().await {
        Ok(l) => l,
        Err(e) => {
            crate::error!("{e}");
            return exit::FATAL;
        }
    };
    let names = links.iter().map(|l| (l.index, l.name.clone())).collect();
    let journal = journal::Journal::new(
        Some(journal::Journal::default_path(config.process.instance.as_deref())),
        names,
    );
    let cleaned = journal.clean_up_previous_run(&netlink, &links).await;
    if cleaned > 0 {
        crate::info!("cleaned up {cleaned} objects a previous run left behind");
    }
    let addrs = match netlink.addresses().await {
        Ok(a) => a,
        Err(e) => {
            crate::error!("{e}");
            return exit::FATAL;
        }
    };
    let machine = plan::Machine {
        links: &links,
        addresses: &addrs,
    };
    let mut vrrp_plan = match plan::build(&config, &machine) {
        Ok(p) => p,
        Err(plan::PlanError(problems)) => {
            for p in problems {
                crate::error!("{p}");
            }
            return exit::CONFIG;
        }
    };
    // keepalived starts every instance as backup: addresses it would own that are already
    // present (from a crashed run, or added by hand) are removed first.
    for p in &vrrp_plan.instances {
        for spec in p.all_vips() {
            if addrs.iter().any(|a| a.index == spec.index && a.addr == spec.addr) {
                match netlink.del_address(spec).await {
                    Ok(()) => crate::info!("({}) removed residual VIP {}", p.engine.name, spec.addr),
                    Err(e) => crate::warn!("({}) {e}", p.engine.name),
                }
            }
        }
    }

    // VMACs first: instances using one advertise and hold their VIPs on it.
    let mut journal = journal;
    let mut vmacs = vmac::Vmacs::default();
    let wanted: Vec<vmac::VmacPlan> = vrrp_plan
        .instances
        .iter()
        .filter_map(|p| p.vmac.clone())
        .collect();
    let (links, addrs) = if wanted.is_empty() {
        (links, addrs)
    } else {
        match vmacs.create(&netlink, &wanted).await {
            Ok(created) => vrrp_plan.attach_vmacs(&created),
            Err(e) => {
                crate::error!("use_vmac: {e}");
                vmacs.remove(&netlink).await;
                return exit::FATAL;
            }
        }
        for name in vmacs.created() {
            journal.record_vmac(name);
        }
        journal.save();
        match (netlink.links().await, netlink.addresses().await) {
            (Ok(l), Ok(a)) => (l, a),
            (Err(e), _) | (_, Err(e)) => {
                crate::error!("{e}");
                vmacs.remove(&netlink).await;
                return exit::FATAL;
            }
        }
    };
    let machine = plan::Machine {
        links: &links,
        addresses: &addrs,
    };
    let sockets = match sockets::Sockets::for_plan(&vrrp_plan, &machine, None) {
        Ok(s) => s,
        Err(e) => {
            crate::error!("{e}");
            return exit::FATAL;
        }
    };
    let mut link_states: BTreeMap<u32, bool> = BTreeMap::new();
    for p in &vrrp_plan.instances {
        for l in links
            .iter()
            .filter(|l| l.index == p.ifindex || p.engine.track_links.iter().any(|(t, _)| t.0 == l.index))
        {
            link_states.insert(l.index, l.is_up());
        }
    }

    let mut router = Router::new(
        vrrp_plan.instances.iter().map(|p| p.engine.clone()).collect(),
        vrrp_plan.groups.iter().map(|g| g.engine.clone()).collect(),
    );
    let clock = clock::Clock::new();
    let start = clock.now();
    for (id, state) in trackers::initial_file_values(&vrrp_plan.files)
        .into_iter()
        .chain(trackers::initial_process_states(&vrrp_plan.processes))
    {
        router.set_tracker(start, id, state);
    }
    for (index, up) in &link_states {
        router.set_link(start, LinkId(*index), *up);
    }
    for (i, (source, sender)) in sockets.sources.iter().zip(&sockets.senders).enumerate() {
        router.set_source_address(i, *source);
        if sender.is_none() {
            // Without a source address the instance cannot advertise: hold it in FAULT.
            router.set_link(start, LinkId(vrrp_plan.instances[i].ifindex), false);
        }
    }

    let macs: HashMap<u32, ka_wire::MacAddr> =
        links.iter().filter_map(|l| l.mac.map(|m| (l.index, m))).collect();
    let firewall = firewall::Firewall::setup(vrrp_plan.instances.iter().any(|p| p.no_accept)).await;
    let worker = addresses::Worker::new(
        netlink.clone(),
        vrrp_plan.instances.clone(),
        macs,
        journal,
        firewall,
        vrrp_plan.garp_interval,
        vrrp_plan.gna_interval,
    );
    let own_deletions = worker.own_deletions();
    let (to_worker, worker_done) = worker.spawn();
    let (to_vrrp, inputs) = mpsc::channel::<Input>(1024);
    let mut script_tasks = trackers::spawn_all(&vrrp_plan.scripts, to_vrrp.clone());
    script_tasks.extend(trackers::spawn_file_watchers(&vrrp_plan.files, to_vrrp.clone()));
    script_tasks.extend(trackers::spawn_process_watchers(
        &vrrp_plan.processes,
        to_vrrp.clone(),
    ));
    match ka_net::monitor::subscribe() {
        Ok(mut events) => {
            let forward = to_vrrp.clone();
            tokio::spawn(async move {
                while let Some(e) = events.recv().await {
                    if forward.send(Input::Net(e)).await.is_err() {
                        break;
                    }
                }
            });
        }
        Err(e) => crate::warn!("interface changes will not be followed: {e}"),
    }
    tokio::spawn(forward_sighup(
        Some(to_vrrp.clone()),
        checker_commands,
        control_rx,
    ));
    drop(to_vrrp);

    crate::info!(
        "keepalived-rs {} started: {} VRRP instance(s)",
        env!("CARGO_PKG_VERSION"),
        vrrp_plan.instances.len()
    );
    let mut service = VrrpService::new(
        clock,
        router,
        vrrp_plan,
        sockets,
        netlink.clone(),
        reload,
        to_worker.clone(),
        own_deletions,
        to_notifier,
        link_states,
        vmacs,
        status,
    );
    service.run(inputs, wait_for_stop(stop)).await;
    for t in script_tasks {
        t.abort();
    }
    // Let the address worker remove what the shutdown released, then finish.
    let (done_tx, done_rx) = tokio::sync::oneshot::channel();
    let _ = to_worker.send(addresses::Command::Flush(done_tx));
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), done_rx).await;
    drop(to_worker);
    let mut vmacs = std::mem::take(&mut service.vmacs);
    drop(service);
    if let Ok(Ok(mut journal)) = tokio::time::timeout(std::time::Duration::from_secs(5), worker_done).await {
        vmacs.remove(&netlink).await;
        journal.forget_vmacs();
        if journal.is_empty() {
            journal.remove_file();
        } else {
            journal.save();
        }
    }
    exit::OK
}

/// Turns each SIGHUP (and each reload asked for on the control socket) into a reload request
/// for each running subsystem.
async fn forward_sighup(
    to_vrrp: Option<mpsc::Sender<Input>>,
    to_checker: Option<mpsc::UnboundedSender<checker_service::Command>>,
    mut control: mpsc::UnboundedReceiver<control::Request>,
) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        crate::error!("cannot install the SIGHUP handler: reload disabled");
        return;
    };
    loop {
        tokio::select! {
            h = hup.recv() => if h.is_none() { break },
            r = control.recv() => match r {
                Some(control::Request::Reload) => crate::info!("reload requested on the control socket"),
                Some(control::Request::Drain(on)) => {
                    crate::info!("{} requested on the control socket", if on { "drain" } else { "resume" });
                    match &to_checker {
                        Some(c) => {
                            let _ = c.send(checker_service::Command::Drain(on));
                        }
                        None => crate::warn!("drain: no health checkers run here, nothing is announced"),
                    }
                    continue;
                }
                // The control socket is gone; SIGHUP still works.
                None => {
                    if hup.recv().await.is_none() {
                        break;
                    }
                }
            },
        }
        if let Some(c) = &to_checker {
            let _ = c.send(checker_service::Command::Reload);
        }
        if let Some(v) = &to_vrrp {
            if v.send(Input::Reload).await.is_err() {
                break;
            }
        }
    }
}

/// keepalived's dump signals: SIGUSR1 writes /tmp/keepalived.data, SIGUSR2
/// /tmp/keepalived.stats, the JSON signal
/// (SIGRTMIN+2, what `keepalived --signum=JSON` prints) /tmp/keepalived.json.
async fn write_dumps_on_signals(status: status::Shared) {
    use tokio::signal::unix::{signal, SignalKind};
    let json_signal = libc::SIGRTMIN() + 2;
    let (Ok(mut usr1), Ok(mut usr2), Ok(mut json)) = (
        signal(SignalKind::user_defined1()),
        signal(SignalKind::user_defined2()),
        signal(SignalKind::from_raw(json_signal)),
    ) else {
        crate::warn!("cannot install the dump signal handlers");
        return;
    };
    loop {
        let (path, text) = tokio::select! {
            _ = usr1.recv() => {
                let text = status::read_when_free(&status, dumps::data_text).await.unwrap_or_default();
                (dumps::DATA_FILE, text)
            }
            _ = usr2.recv() => {
                let text = status::read_when_free(&status, dumps::stats_text).await.unwrap_or_default();
                (dumps::STATS_FILE, text)
            }
            _ = json.recv() => {
                let text = status::read_when_free(&status, dumps::json_text).await.unwrap_or_default();
                (dumps::JSON_FILE, text)
            }
        };
        let path = dumps::dump_path(path, std::env::var_os("TMPDIR").as_deref());
        if let Err(e) = dumps::write_atomically(&path, &text) {
            crate::warn!("cannot write {}: {e}", path.display());
        }
    }
}

/// Resolves on SIGTERM or SIGINT.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()))
    else {
        crate::error!("cannot install signal handlers");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => crate::info!("Stopping (SIGTERM)"),
        _ = int.recv() => crate::info!("Stopping (SIGINT)"),
    }
}
