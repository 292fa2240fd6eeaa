//! The lab's machines, its timed story and its display.

use super::client::{Answer, Client};
use super::topology::{self, in_ns, lab_file, ns_name, State, DIRECTORS, REAL_SERVERS, VIP};
use super::Options;
use std::io::Write;
use std::os::fd::AsFd;
use std::process::Child;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The seed's configurations, as shipped in examples/seed (addresses already moved to
/// 192.0.2.0/24; everything else as the article has it).
const MASTER_CONF: &str = include_str!("../../../../examples/seed/master.conf");
const BACKUP_CONF: &str = include_str!("../../../../examples/seed/backup.conf");

/// Master_Down_Interval of the seed's VRRPv2 instance, advert_int 1 s: 3 s plus the skew
/// time (256 − priority)/256 s, for the master (101) and the backup (100).
const MASTER_DOWN_101: Duration = Duration::from_micros(3_605_469);
const MASTER_DOWN_100: Duration = Duration::from_micros(3_609_375);
/// Process start, first netlink dump, and our 10 ms polling.
const START_SLACK: Duration = Duration::from_millis(1000);
const POLL_SLACK: Duration = Duration::from_millis(300);
/// The seed's health check: delay_loop 6, connect_timeout 3, retry 1 (TCP_CHECK's default)
/// with delay_before_retry 1 (the default; the master's config sets none).
const RS_DOWN_BOUND: Duration = Duration::from_secs(6 + 1 + 3);
const RS_UP_BOUND: Duration = Duration::from_secs(6 + 3);

/// Whether a director holds the VIP, watched from inside its namespace every 10 ms.
struct Holder {
    holds: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl Holder {
    fn watch(host: &str) -> Result<Holder, String> {
        let path = format!("/run/netns/{}", ns_name(host));
        let ns = std::fs::File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        let holds = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (holds.clone(), stop.clone());
        std::thread::Builder::new()
            .name(format!("lab-watch-{host}"))
            .spawn(move || {
                if nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET).is_err() {
                    return;
                }
                while !s.load(Ordering::Relaxed) {
                    let now = nix::ifaddrs::getifaddrs()
                        .map(|mut addrs| {
                            addrs.any(|a| {
                                a.address
                                    .and_then(|x| x.as_sockaddr_in().map(|sin| sin.ip()))
                                    .is_some_and(|ip| ip == VIP)
                            })
                        })
                        .unwrap_or(false);
                    h.store(now, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(10));
                }
            })
            .map_err(|e| e.to_string())?;
        Ok(Holder { holds, stop })
    }

    fn holds(&self) -> bool {
        self.holds.load(Ordering::Relaxed)
    }
}

impl Drop for Holder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// One step's verdict.
#[derive(Clone, Debug)]
struct Outcome {
    title: &'static str,
    ok: bool,
    detail: String,
}

pub struct Lab {
    opts: Options,
    exe: String,
    state: State,
    directors: Vec<Option<Child>>,
    webs: Vec<Option<Child>>,
    holders: Vec<Holder>,
    client: Option<Client>,
    /// Whether each real server's web service runs (for the display).
    web_up: Vec<bool>,
    started: Instant,
    step: String,
    outcomes: Vec<Outcome>,
    events: Vec<String>,
    last_draw: Option<Instant>,
}

impl Lab {
    /// Builds the machines and starts everything.
    pub fn setup(opts: &Options) -> Result<Lab, String> {
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find our own binary: {e}"))?
            .display()
            .to_string();
        let mut lab = Lab {
            opts: opts.clone(),
            exe,
            state: State::default(),
            directors: vec![None, None],
            webs: vec![None, None],
            holders: Vec::new(),
            client: None,
            web_up: vec![false, false],
            started: Instant::now(),
            step: "setting up".into(),
            outcomes: Vec::new(),
            events: Vec::new(),
            last_draw: None,
        };
        lab.say("keepalived-rs lab: the seed cluster (Keepalived + LVS on CentOS 7) in network namespaces");
        lab.say(&format!(
            "addresses (seed -> lab): VIP 192.168.1.99 -> {VIP}; {}; {}; client 192.0.2.{}-{}",
            DIRECTORS
                .iter()
                .map(|(h, a, seed)| format!("{h} {seed} -> {a}"))
                .collect::<Vec<_>>()
                .join("; "),
            REAL_SERVERS
                .iter()
                .map(|(h, a, seed)| format!("{h} {seed} -> {a}"))
                .collect::<Vec<_>>()
                .join("; "),
            topology::CLIENT_FIRST,
            topology::CLIENT_FIRST + topology::CLIENT_ADDRESSES * topology::CLIENT_SETS - 1
        ));
        topology::build(&mut lab.state)?;
        for (i, (host, _, _)) in REAL_SERVERS.iter().enumerate() {
            in_ns(host, &[&lab.exe, "realserver", "--vip", &VIP.to_string(), "up"])?;
            lab.start_web(i)?;
        }
        for (i, (host, _, _)) in DIRECTORS.iter().enumerate() {
            let conf = lab_file(&format!("{host}.conf"));
            let text = if i == 0 { MASTER_CONF } else { BACKUP_CONF };
            std::fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
            lab.holders.push(Holder::watch(host)?);
        }
        lab.say(&format!(
            "directors run the seed's configs ({}/director1.conf, director2.conf) with --dataplane {}{}",
            topology::LAB_DIR,
            lab.opts.dataplane,
            if ka_net::nft::kernel_has_ipvs() {
                " (IPVS: lb_algo lc as configured)".to_string()
            } else {
                " and --nft-scheduler-fallback: this kernel has no IPVS, nftables cannot count connections, so the seed's lb_algo lc runs as rr".to_string()
            }
        ));
        Ok(lab)
    }

    fn start_web(&mut self, i: usize) -> Result<(), String> {
        let (host, _, _) = REAL_SERVERS[i];
        let log = lab_file(&format!("{host}-web.log"));
        let child = if topology::have("nginx") {
            let prefix = lab_file(&format!("{host}-nginx"));
            std::fs::create_dir_all(&prefix).map_err(|e| format!("{}: {e}", prefix.display()))?;
            let conf = prefix.join("nginx.conf");
            let text = format!(
                "worker_processes 1;\ndaemon off;\npid {p}/nginx.pid;\nerror_log {p}/error.log;\nevents {{ worker_connections 512; }}\nhttp {{\n  access_log off;\n  server {{\n    listen 80;\n    location / {{ default_type text/plain; return 200 \"{host}\\n\"; }}\n  }}\n}}\n",
                p = prefix.display()
            );
            std::fs::write(&conf, text).map_err(|e| e.to_string())?;
            let prefix_s = prefix.display().to_string();
            let err = prefix.join("error.log").display().to_string();
            let conf_s = conf.display().to_string();
            topology::spawn(
                &mut self.state,
                &format!("{host}-web"),
                host,
                &["nginx", "-p", &prefix_s, "-e", &err, "-c", &conf_s],
                &log,
            )?
        } else {
            // Without nginx: python3's web server, serving a page with the name.
            let dir = lab_file(&format!("{host}-www"));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            std::fs::write(dir.join("index.html"), format!("{host}\n")).map_err(|e| e.to_string())?;
            let dir_s = dir.display().to_string();
            topology::spawn(
                &mut self.state,
                &format!("{host}-web"),
                host,
                &["python3", "-m", "http.server", "80", "--directory", &dir_s],
                &log,
            )?
        };
        self.webs[i] = Some(child);
        self.web_up[i] = true;
        // Ready when the port listens.
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(5) {
            if in_ns(host, &["ss", "-ltnH", "sport = :80"]).is_ok_and(|o| !o.trim().is_empty()) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "{host}'s web server did not start (see {})",
            log.display()
        ))
    }

    fn stop_web(&mut self, i: usize) {
        if let Some(mut c) = self.webs[i].take() {
            let _ = topology::run("kill", &["-TERM", &c.id().to_string()]);
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
        self.web_up[i] = false;
    }

    fn start_director(&mut self, i: usize) -> Result<(), String> {
        let (host, _, _) = DIRECTORS[i];
        let conf = lab_file(&format!("{host}.conf")).display().to_string();
        let log = lab_file(&format!("{host}.log"));
        // Append, so that a restart keeps the first run's lines.
        let mut args = vec![
            self.exe.as_str(),
            "-n",
            "-l",
            "-D",
            "--dataplane",
            &self.opts.dataplane,
        ];
        args.push("--nft-scheduler-fallback");
        args.extend(["-f", conf.as_str()]);
        let previous = std::fs::read(&log).unwrap_or_default();
        let child = topology::spawn(&mut self.state, host, host, &args, &log)?;
        if !previous.is_empty() {
            // spawn truncated the log; put the first run's lines back in front.
            let now = std::fs::read(&log).unwrap_or_default();
            let mut all = previous;
            all.extend_from_slice(b"---- restarted ----\n");
            all.extend_from_slice(&now);
            let _ = std::fs::write(&log, all);
        }
        self.directors[i] = Some(child);
        Ok(())
    }

    fn director_log(&self, i: usize) -> String {
        std::fs::read_to_string(lab_file(&format!("{}.log", DIRECTORS[i].0))).unwrap_or_default()
    }

    /// The VRRP state a director's log says it is in.
    fn director_state(&self, i: usize) -> &'static str {
        if self.directors[i].is_none() {
            return "down";
        }
        let log = self.director_log(i);
        let last = log
            .lines()
            .rev()
            .find(|l| l.contains("Entering ") && l.contains(" STATE"))
            .unwrap_or("");
        for s in ["MASTER", "BACKUP", "FAULT"] {
            if last.contains(&format!("Entering {s} STATE")) {
                return s;
            }
        }
        "starting"
    }

    fn say(&mut self, line: &str) {
        let stamp = format!("[{:6.2}s] {line}", self.started.elapsed().as_secs_f64());
        if self.opts.plain {
            println!("{stamp}");
        }
        self.events.push(stamp);
    }

    fn interrupted(&self, flag: &AtomicBool) -> bool {
        flag.load(Ordering::Relaxed)
    }

    /// Waits until `done` holds, redrawing meanwhile; the time it held, or None at `limit`.
    fn wait_until(
        &mut self,
        limit: Duration,
        flag: &AtomicBool,
        mut done: impl FnMut(&Lab) -> bool,
    ) -> Option<Instant> {
        let start = Instant::now();
        while start.elapsed() < limit && !self.interrupted(flag) {
            if done(self) {
                return Some(Instant::now());
            }
            self.draw();
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Answers per real server and failures in the last `window`.
    fn recent(&self, window: Duration) -> (Vec<(String, usize)>, usize) {
        self.counts_since(Instant::now().checked_sub(window).unwrap_or(self.started))
    }

    /// Answers per real server and failures since `since`.
    fn counts_since(&self, since: Instant) -> (Vec<(String, usize)>, usize) {
        self.client
            .as_ref()
            .and_then(|c| c.record.lock().ok().map(|r| r.counts_since(since)))
            .unwrap_or_default()
    }

    /// Why the requests since `since` failed, each reason once.
    fn failure_reasons_since(&self, since: Instant) -> Vec<String> {
        let mut reasons: Vec<String> = Vec::new();
        if let Some(rec) = self.client.as_ref().and_then(|c| c.record.lock().ok()) {
            for s in rec.samples.iter().filter(|s| s.at >= since) {
                if let Answer::Failed(why) = &s.answer {
                    if !reasons.contains(why) {
                        reasons.push(why.clone());
                    }
                }
            }
        }
        reasons
    }

    /// Failed requests between two times, and the longest run of failures.
    fn failures_between(&self, from: Instant, to: Instant) -> (usize, Duration) {
        let Some(c) = &self.client else {
            return (0, Duration::ZERO);
        };
        let Ok(rec) = c.record.lock() else {
            return (0, Duration::ZERO);
        };
        let mut failed = 0;
        let mut longest = Duration::ZERO;
        let mut run_start: Option<Instant> = None;
        for s in rec.samples.iter().filter(|s| s.at >= from && s.at <= to) {
            match s.answer {
                Answer::Failed(_) => {
                    failed += 1;
                    run_start.get_or_insert(s.at);
                }
                Answer::From(_) => {
                    if let Some(r) = run_start.take() {
                        longest = longest.max(s.at - r);
                    }
                }
            }
        }
        if let Some(r) = run_start {
            longest = longest.max(to - r);
        }
        (failed, longest)
    }

    fn record(&mut self, title: &'static str, ok: bool, detail: String) {
        let n = self.outcomes.len() + 1;
        self.say(&format!(
            "STEP {n} {} {title}: {detail}",
            if ok { "PASS" } else { "FAIL" }
        ));
        self.outcomes.push(Outcome { title, ok, detail });
    }

    /// Runs the story; returns 0 when every step was within its bound.
    pub fn play(&mut self, flag: &AtomicBool) -> i32 {
        if let Err(e) = self.play_steps(flag) {
            self.say(&format!("stopped: {e}"));
        }
        self.draw_final();
        if self.interrupted(flag) {
            println!("interrupted: cleaning up");
            return 130;
        }
        if self.outcomes.len() == 5 && self.outcomes.iter().all(|o| o.ok) {
            0
        } else {
            1
        }
    }

    fn play_steps(&mut self, flag: &AtomicBool) -> Result<(), String> {
        // 1. Start: the master holds the VIP, traffic reaches both real servers.
        self.step = "1/5 starting the directors; the master takes the VIP".into();
        let t0 = Instant::now();
        self.start_director(0)?;
        self.start_director(1)?;
        self.client = Some(Client::start()?);
        let vip = self.wait_until(
            MASTER_DOWN_101 + START_SLACK + Duration::from_secs(5),
            flag,
            |l| l.holders[0].holds() && !l.holders[1].holds(),
        );
        let spread = self.wait_until(Duration::from_secs(10), flag, |l| {
            let (per, _) = l.recent(Duration::from_secs(2));
            per.len() == 2
        });
        match (vip, spread) {
            (Some(at), Some(_)) => {
                let took = at - t0;
                let bound = MASTER_DOWN_101 + START_SLACK;
                let (per, _) = self.recent(Duration::from_secs(2));
                self.record(
                    "master holds the VIP, traffic on both real servers",
                    took <= bound,
                    format!(
                        "VIP on director1 {:.3} s after start (bound {:.3} s: state MASTER still waits Master_Down, + {:.1} s start); last 2 s: {}",
                        took.as_secs_f64(),
                        MASTER_DOWN_101.as_secs_f64(),
                        START_SLACK.as_secs_f64(),
                        per.iter().map(|(n, c)| format!("{n} {c}")).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
            _ => {
                let detail = format!(
                    "VIP holders: director1 {}, director2 {}; answers in the last 2 s: {:?}",
                    self.holders[0].holds(),
                    self.holders[1].holds(),
                    self.recent(Duration::from_secs(2))
                );
                self.record(
                    "master holds the VIP, traffic on both real servers",
                    false,
                    detail,
                );
                return Err("the cluster did not come up".into());
            }
        }
        self.pause(Duration::from_secs(2), flag);

        // 2. The master dies: daemon killed and its link cut (the machine is gone).
        self.step = "2/5 director1 dies; director2 takes the VIP".into();
        let kill_at = Instant::now();
        if let Some(mut d) = self.directors[0].take() {
            let _ = d.kill();
            let _ = d.wait();
        }
        let _ = topology::run(
            "ip",
            &[
                "-n",
                &ns_name("director1"),
                "link",
                "set",
                topology::IFNAME,
                "down",
            ],
        );
        self.say("director1: keepalived-rs killed (SIGKILL) and its link down");
        let took_over = self.wait_until(MASTER_DOWN_100 + Duration::from_secs(5), flag, |l| {
            l.holders[1].holds()
        });
        let Some(at) = took_over else {
            self.record(
                "master killed: the backup takes the VIP",
                false,
                "director2 never took the VIP".into(),
            );
            return Err("no failover".into());
        };
        let recovered = self
            .wait_until(Duration::from_secs(5), flag, |l| {
                l.client
                    .as_ref()
                    .and_then(|c| {
                        c.record.lock().ok().map(|r| {
                            r.samples
                                .last()
                                .is_some_and(|s| s.at > at && matches!(s.answer, Answer::From(_)))
                        })
                    })
                    .unwrap_or(false)
            })
            .unwrap_or_else(Instant::now);
        let failover = at - kill_at;
        let (failed, outage) = self.failures_between(kill_at, recovered);
        self.record(
            "master killed: the backup takes the VIP",
            failover <= MASTER_DOWN_100 + POLL_SLACK,
            format!(
                "director2 holds the VIP {:.3} s after the kill (bound {:.3} s: its Master_Down after director1's last advert); {failed} requests failed, longest outage {:.2} s",
                failover.as_secs_f64(),
                MASTER_DOWN_100.as_secs_f64(),
                outage.as_secs_f64()
            ),
        );
        self.pause(Duration::from_secs(2), flag);

        // 3. The master comes back and takes the VIP back (preemption).
        self.step = "3/5 director1 comes back and takes the VIP back".into();
        let _ = topology::run(
            "ip",
            &["-n", &ns_name("director1"), "link", "set", topology::IFNAME, "up"],
        );
        let back_at = Instant::now();
        self.start_director(0)?;
        self.say("director1: link up, keepalived-rs started again");
        let preempted = self.wait_until(
            MASTER_DOWN_101 + START_SLACK + Duration::from_secs(5),
            flag,
            |l| l.holders[0].holds() && !l.holders[1].holds(),
        );
        match preempted {
            Some(at) => {
                let took = at - back_at;
                let (failed, outage) = self.failures_between(back_at, at + Duration::from_millis(500));
                self.record(
                    "master back: it takes the VIP back",
                    took <= MASTER_DOWN_101 + START_SLACK,
                    format!(
                        "VIP back on director1 {:.3} s after its restart (bound {:.3} s + {:.1} s start); {failed} requests failed, longest outage {:.2} s",
                        took.as_secs_f64(),
                        MASTER_DOWN_101.as_secs_f64(),
                        START_SLACK.as_secs_f64(),
                        outage.as_secs_f64()
                    ),
                );
            }
            None => {
                self.record(
                    "master back: it takes the VIP back",
                    false,
                    "director1 did not take the VIP back".into(),
                );
                return Err("no preemption".into());
            }
        }
        // Let director1's checkers and data plane settle before touching the real servers.
        self.pause(Duration::from_secs(3), flag);

        // 4. A real server's web service stops: removed from the table, traffic goes on.
        self.step = "4/5 rs1's web service stops; the directors take it out".into();
        let stop_at = Instant::now();
        self.stop_web(0);
        self.say("rs1: web service stopped");
        let removed_line = "Removing service [192.0.2.13]:tcp:80 from VS [192.0.2.99]:tcp:80";
        let before = self.director_log(0).matches(removed_line).count();
        let removed = self.wait_until(RS_DOWN_BOUND + Duration::from_secs(5), flag, |l| {
            l.director_log(0).matches(removed_line).count() > before
        });
        match removed {
            Some(at) => {
                let took = at - stop_at;
                // The log line comes before the data-plane write: a request sent to rs1 in
                // between is refused by rs1, rightly. "Traffic goes on" is judged from the
                // moment the master's table no longer lists rs1.
                let in_table = self.wait_until(Duration::from_secs(5), flag, |l| {
                    in_ns(DIRECTORS[0].0, &[&l.exe, "list"])
                        .map(|t| !t.contains("192.0.2.13:80"))
                        .unwrap_or(false)
                });
                let applied = in_table.unwrap_or_else(Instant::now);
                self.pause(Duration::from_secs(2), flag);
                let (per, failed_after) = self.counts_since(applied);
                let reasons = self.failure_reasons_since(applied);
                let (failed, _) = self.failures_between(stop_at, at);
                let only_rs2 = per.iter().all(|(n, _)| n == "rs2") && !per.is_empty();
                self.record(
                    "real server stopped: removed, traffic goes on",
                    took <= RS_DOWN_BOUND + POLL_SLACK
                        && in_table.is_some()
                        && only_rs2
                        && failed_after == 0,
                    format!(
                        "removed from the master's table {:.2} s after the stop (bound {} s: delay_loop 6 + retry 1 x delay_before_retry 1 + connect_timeout 3){}; {failed} requests failed meanwhile; then {}, {failed_after} failed{}",
                        took.as_secs_f64(),
                        RS_DOWN_BOUND.as_secs(),
                        match in_table {
                            Some(t) => format!(", written {:.0} ms after the log line", (t - at).as_secs_f64() * 1000.0),
                            None => ", but the table still lists it".into(),
                        },
                        per.iter().map(|(n, c)| format!("{n} {c}")).collect::<Vec<_>>().join(", "),
                        if reasons.is_empty() { String::new() } else { format!(" ({})", reasons.join(", ")) }
                    ),
                );
            }
            None => {
                self.record(
                    "real server stopped: removed, traffic goes on",
                    false,
                    "rs1 was never removed".into(),
                );
                return Err("no removal".into());
            }
        }

        // 5. It starts again: added back.
        self.step = "5/5 rs1's web service starts again; the directors add it back".into();
        let start_at = Instant::now();
        self.start_web(0)?;
        self.say("rs1: web service started");
        let added_line = "Adding service [192.0.2.13]:tcp:80 to VS [192.0.2.99]:tcp:80";
        let before = self.director_log(0).matches(added_line).count();
        let added = self.wait_until(RS_UP_BOUND + Duration::from_secs(5), flag, |l| {
            l.director_log(0).matches(added_line).count() > before
        });
        match added {
            Some(at) => {
                let took = at - start_at;
                // The seed's persistence keeps each client address where it was; fresh
                // addresses show the real server takes traffic again.
                if let Some(c) = &self.client {
                    c.use_fresh_addresses();
                }
                let back = self.wait_until(Duration::from_secs(5), flag, |l| {
                    l.recent(Duration::from_secs(1)).0.iter().any(|(n, _)| n == "rs1")
                });
                self.record(
                    "real server back: added again",
                    took <= RS_UP_BOUND + POLL_SLACK && back.is_some(),
                    format!(
                        "added back {:.2} s after the start (bound {} s: delay_loop 6 + connect_timeout 3); {}",
                        took.as_secs_f64(),
                        RS_UP_BOUND.as_secs(),
                        if back.is_some() {
                            "new clients reach rs1 again"
                        } else {
                            "but no client reached rs1 afterwards"
                        }
                    ),
                );
            }
            None => {
                self.record(
                    "real server back: added again",
                    false,
                    "rs1 was never added back".into(),
                );
                return Err("no re-add".into());
            }
        }
        Ok(())
    }

    fn pause(&mut self, d: Duration, flag: &AtomicBool) {
        let _ = self.wait_until(d, flag, |_| false);
    }

    /// The live table (terminal only).
    fn draw(&mut self) {
        if self.opts.plain {
            return;
        }
        if self
            .last_draw
            .is_some_and(|t| t.elapsed() < Duration::from_millis(250))
        {
            return;
        }
        self.last_draw = Some(Instant::now());
        let mut out = String::new();
        out.push_str("\x1b[H\x1b[2J");
        out.push_str(
            "keepalived-rs lab: the seed cluster (Keepalived + LVS, CentOS 7 article) on this machine\n\n",
        );
        out.push_str(&format!("  step {}\n\n", self.step));
        out.push_str(&format!("  VIP {VIP}\n"));
        for (i, (host, addr, seed)) in DIRECTORS.iter().enumerate() {
            out.push_str(&format!(
                "  {host:<10} {addr:<12} seed {seed:<22} VRRP {:<8} {}\n",
                self.director_state(i),
                if self.holders[i].holds() {
                    "holds the VIP"
                } else {
                    ""
                }
            ));
        }
        let (per, failed) = self.recent(Duration::from_secs(2));
        for (i, (host, addr, seed)) in REAL_SERVERS.iter().enumerate() {
            let n = per.iter().find(|(n, _)| n == host).map(|(_, c)| *c).unwrap_or(0);
            out.push_str(&format!(
                "  {host:<10} {addr:<12} seed {seed:<22} web {:<5} answers/s {:>5.1}\n",
                if self.web_up[i] { "up" } else { "down" },
                n as f64 / 2.0
            ));
        }
        out.push_str(&format!(
            "  client     failures/s {:>5.1}\n\n",
            failed as f64 / 2.0
        ));
        let master = (0..2).find(|&i| self.holders[i].holds());
        if let Some(m) = master {
            if let Ok(table) = in_ns(DIRECTORS[m].0, &[&self.exe, "list"]) {
                out.push_str(&format!("  load-balancer table on {}:\n", DIRECTORS[m].0));
                for l in table.lines() {
                    out.push_str(&format!("    {l}\n"));
                }
                out.push('\n');
            }
        }
        for e in self.events.iter().rev().take(8).rev() {
            out.push_str(&format!("  {e}\n"));
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(out.as_bytes());
        let _ = stdout.flush();
    }

    fn draw_final(&mut self) {
        if !self.opts.plain {
            self.last_draw = None;
            self.draw();
        }
        println!("\nsummary: the seed's story, each step against the bound the protocol gives");
        for (i, o) in self.outcomes.iter().enumerate() {
            println!(
                "  {}. {:<52} {}",
                i + 1,
                o.title,
                if o.ok { "PASS" } else { "FAIL" }
            );
            println!("     {}", o.detail);
        }
        let passed = self.outcomes.iter().filter(|o| o.ok).count();
        if self.opts.keep {
            println!(
                "  {passed}/5 steps passed; logs and configs in {}",
                topology::LAB_DIR
            );
        } else {
            println!(
                "  {passed}/5 steps passed (--keep leaves the cluster running, with its logs and configs)"
            );
        }
    }

    /// `--keep`: forget the children so that dropping the lab does not stop them.
    pub fn detach(&mut self) {
        for d in self.directors.iter_mut().chain(self.webs.iter_mut()) {
            if let Some(c) = d.take() {
                std::mem::forget(c);
            }
        }
        if let Some(mut c) = self.client.take() {
            c.stop();
        }
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        if let Some(mut c) = self.client.take() {
            c.stop();
        }
        for d in self.directors.iter_mut().chain(self.webs.iter_mut()) {
            if let Some(mut c) = d.take() {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
