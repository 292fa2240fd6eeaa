//! The checker engine in virtual time: every transition of keepalived's checker policy and
//! virtual-server logic, with probes answered by a script (each probe completes at once, so
//! times are the policy's own).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_check::engine::{CheckerId, Engine, Event};
use ka_check::plan::{self, CheckPlan};
use ka_check::policy::{MiscExit, Outcome};
use ka_lb::model::LbState;
use ka_units::{Instant, Micros};
use std::collections::BTreeMap;

const S: u64 = 1_000_000;

fn load(text: &str) -> CheckPlan {
    let loaded = ka_config::load_str(text);
    plan::build(&loaded.config)
}

/// What a real server answers, by checker, from a given time on.
type Answer = Box<dyn FnMut(CheckerId, usize, Instant) -> Outcome>;

struct Sim {
    engine: Engine,
    now: Instant,
    answer: Answer,
    /// Every probe: (time, checker, url).
    probes: Vec<(Instant, CheckerId, usize)>,
    events: Vec<(Instant, Event)>,
    /// The desired state after each change, with its time.
    states: Vec<(Instant, LbState)>,
    generation: u64,
}

impl Sim {
    fn new(text: &str, answer: Answer) -> Sim {
        Sim::with_files(text, answer, &|_| None)
    }

    fn with_files(text: &str, answer: Answer, files: &dyn Fn(&str) -> Option<i64>) -> Sim {
        let engine = Engine::start(load(text), Instant(0), 7, files);
        let mut sim = Sim {
            generation: engine.generation(),
            states: vec![(Instant(0), engine.desired())],
            engine,
            now: Instant(0),
            answer,
            probes: Vec::new(),
            events: Vec::new(),
        };
        sim.drain();
        sim
    }

    fn drain(&mut self) {
        while let Some(e) = self.engine.poll_event() {
            self.events.push((self.now, e));
        }
        if self.engine.generation() != self.generation {
            self.generation = self.engine.generation();
            self.states.push((self.now, self.engine.desired()));
        }
    }

    fn run_until(&mut self, until: Instant) {
        loop {
            if let Some(req) = self.engine.poll_probe(self.now) {
                self.probes.push((self.now, req.id, req.url));
                let outcome = (self.answer)(req.id, req.url, self.now);
                self.engine.probe_done(self.now, req.id, outcome);
                self.drain();
                continue;
            }
            match self.engine.deadline() {
                Some(t) if t <= until => self.now = t,
                _ => break,
            }
        }
        self.now = until;
    }

    fn logs(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Log(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    fn fifo(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Fifo(l) => Some(l.trim_end().to_string()),
                _ => None,
            })
            .collect()
    }

    fn scripts(&self) -> Vec<String> {
        self.events
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Script(s) => Some(s.command.clone()),
                _ => None,
            })
            .collect()
    }

    /// When the log line containing `needle` was first emitted.
    fn logged_at(&self, needle: &str) -> Option<Instant> {
        self.events.iter().find_map(|(t, e)| match e {
            Event::Log(l) if l.contains(needle) => Some(*t),
            _ => None,
        })
    }

    /// When the log line containing `needle` was last emitted.
    fn logged_last(&self, needle: &str) -> Option<Instant> {
        self.events.iter().rev().find_map(|(t, e)| match e {
            Event::Log(l) if l.contains(needle) => Some(*t),
            _ => None,
        })
    }

    /// The weights of the destinations of the first service, by last address octet.
    fn weights(&self) -> BTreeMap<String, u32> {
        let state = self.engine.desired();
        let svc = state.services.values().next().expect("a service");
        svc.dests
            .values()
            .map(|d| (d.key.addr.to_string(), d.weight))
            .collect()
    }
}

fn vs(body: &str) -> String {
    format!("virtual_server 192.0.2.10 80 {{\n protocol TCP\n lb_algo rr\n lb_kind NAT\n{body}\n}}\n")
}

fn tcp_rs(addr: &str, extra: &str, check: &str) -> String {
    format!(" real_server {addr} 80 {{\n  weight 2\n{extra}\n  TCP_CHECK {{\n{check}\n  }}\n }}\n")
}

fn ok() -> Outcome {
    Outcome::Success
}

fn fail() -> Outcome {
    Outcome::Failure {
        message: "TCP connection to [198.51.100.1]:tcp:80 failed.".into(),
    }
}

/// One real server that answers `up(now)`.
fn single(up: impl Fn(Instant) -> bool + 'static) -> Answer {
    Box::new(move |_, _, now| if up(now) { ok() } else { fail() })
}

#[test]
fn non_alpha_servers_are_in_the_pool_before_any_check_and_first_failure_removes() {
    let conf = vs(&tcp_rs(
        "198.51.100.1",
        "",
        "   delay_loop 5\n   warmup 0\n   retry 2\n   delay_before_retry 1",
    ));
    let mut sim = Sim::new(&conf, single(|_| false));
    assert_eq!(
        sim.weights().get("198.51.100.1"),
        Some(&2),
        "in the pool at start"
    );
    sim.run_until(Instant(10 * S));
    // warmup 0: first probe exactly 1 s after start; one failure is enough at start-up.
    assert_eq!(sim.probes[0].0, Instant(S));
    assert_eq!(
        sim.logged_at("Removing service [198.51.100.1]:tcp:80 from VS [192.0.2.10]:tcp:80"),
        Some(Instant(S))
    );
    // The first result says "failed." (keepalived's wording before a checker has run).
    assert!(sim
        .logs()
        .contains(&"TCP_CHECK on service [198.51.100.1]:tcp:80 failed.".to_string()));
    assert!(sim.weights().is_empty());
    assert_eq!(
        sim.fifo(),
        vec![
            "VS [192.0.2.10]:tcp:80 UP",
            "RS [198.51.100.1]:tcp:80 [192.0.2.10]:tcp:80 DOWN",
            "VS [192.0.2.10]:tcp:80 DOWN"
        ]
    );
    // TCP keeps retrying while down: 1 s, then 1+5, retries at D=1 s: 6,7,8, then 8+5=13.
    let times: Vec<u64> = sim.probes.iter().map(|p| p.0 .0 / S).collect();
    assert_eq!(times, vec![1, 6, 7, 8]);
}

#[test]
fn an_up_server_goes_down_after_retry_plus_one_failures_spaced_by_delay_before_retry() {
    let conf = vs(&tcp_rs(
        "198.51.100.1",
        "",
        "   delay_loop 5\n   warmup 0\n   retry 2\n   delay_before_retry 1",
    ));
    // Up until 20 s, then down.
    let mut sim = Sim::new(&conf, single(|now| now.0 < 20 * S));
    sim.run_until(Instant(40 * S));
    // Probes at 1, 6, 11, 16, 21 (fail), 22 (fail), 23 (fail → down).
    assert_eq!(
        sim.logged_at("Removing service"),
        Some(Instant(23 * S)),
        "{:?}",
        sim.probes.iter().map(|p| p.0 .0 / S).collect::<Vec<_>>()
    );
    // Detection bound: the last good probe + delay_loop + retry × delay_before_retry.
    assert!(sim.logged_at("Removing service").unwrap().0 <= 16 * S + 5 * S + 2 * S);
    assert_eq!(
        sim.logged_at("TCP connection to"),
        Some(Instant(S)),
        "first success is logged"
    );
}

#[test]
fn alpha_servers_start_out_of_the_pool_and_one_success_adds_them() {
    let conf = vs(&tcp_rs("198.51.100.1", "  alpha", "   delay_loop 5\n   warmup 0"));
    let mut sim = Sim::new(&conf, single(|now| now.0 >= 5 * S));
    assert!(sim.weights().is_empty(), "alpha: out of the pool at start");
    sim.run_until(Instant(12 * S));
    // First result (1 s) a failure: no transition, but the RS DOWN notification (keepalived).
    assert_eq!(sim.fifo()[0], "RS [198.51.100.1]:tcp:80 [192.0.2.10]:tcp:80 DOWN");
    assert_eq!(
        sim.logged_at("Adding service [198.51.100.1]:tcp:80 to VS"),
        Some(Instant(6 * S))
    );
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&2));
}

#[test]
fn inhibit_on_failure_keeps_the_server_with_weight_zero() {
    let conf = vs(&tcp_rs(
        "198.51.100.1",
        "  inhibit_on_failure",
        "   delay_loop 5\n   warmup 0",
    ));
    let mut sim = Sim::new(&conf, single(|now| now.0 >= 5 * S));
    sim.run_until(Instant(2 * S));
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&0));
    assert!(sim
        .logs()
        .iter()
        .any(|l| l.starts_with("Disabling service [198.51.100.1]:tcp:80 of VS")));
    sim.run_until(Instant(7 * S));
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&2));
    assert!(sim
        .logs()
        .iter()
        .any(|l| l.starts_with("Enabling service [198.51.100.1]:tcp:80 of VS")));
}

#[test]
fn quorum_with_hysteresis_swaps_in_the_sorry_server_and_back() {
    let body = format!(
        " quorum 4\n hysteresis 1\n sorry_server 203.0.113.9 80\n quorum_up /bin/qup\n quorum_down /bin/qdown\n{}{}{}",
        tcp_rs("198.51.100.1", "", "   delay_loop 1\n   warmup 0\n   retry 0"),
        tcp_rs("198.51.100.2", "", "   delay_loop 1\n   warmup 0\n   retry 0"),
        tcp_rs("198.51.100.3", "", "   delay_loop 1\n   warmup 0\n   retry 0"),
    );
    // RS 2 and 3 fail from 10 s, RS 3 comes back at 20 s, RS 2 at 30 s.
    let answer: Answer = Box::new(|id, _, now| {
        let t = now.0 / S;
        let up = match id.0 {
            0 => true,
            1 => !(10..30).contains(&t),
            _ => !(10..20).contains(&t),
        };
        if up {
            ok()
        } else {
            fail()
        }
    });
    let mut sim = Sim::new(&vs(&body), answer);
    // Start: weight 6 ≥ 4+1: quorum gained at once.
    assert!(sim
        .logs()
        .contains(&"Gained quorum 4+1=5 <= 6 for VS [192.0.2.10]:tcp:80".to_string()));
    sim.run_until(Instant(9 * S));
    assert_eq!(sim.weights().len(), 3);
    sim.run_until(Instant(11 * S));
    // RS 2 down: 4 ≥ 4-1 keeps quorum; RS 3 down: 2 < 3 loses it.
    assert!(sim
        .logs()
        .contains(&"Lost quorum 4-1=3 > 2 for VS [192.0.2.10]:tcp:80".to_string()));
    assert!(sim
        .logs()
        .contains(&"Adding sorry server [203.0.113.9]:tcp:80 to VS [192.0.2.10]:tcp:80".to_string()));
    assert_eq!(sim.weights(), BTreeMap::from([("203.0.113.9".to_string(), 1)]));
    // RS 3 back: 4 < 4+1: still down (hysteresis).
    sim.run_until(Instant(25 * S));
    assert_eq!(sim.weights(), BTreeMap::from([("203.0.113.9".to_string(), 1)]));
    sim.run_until(Instant(31 * S));
    assert!(sim
        .logs()
        .contains(&"Gained quorum 4+1=5 <= 6 for VS [192.0.2.10]:tcp:80".to_string()));
    assert!(sim
        .logs()
        .contains(&"Removing sorry server [203.0.113.9]:tcp:80 from VS [192.0.2.10]:tcp:80".to_string()));
    assert_eq!(sim.weights().len(), 3);
    assert_eq!(sim.scripts(), vec!["/bin/qup", "/bin/qdown", "/bin/qup"]);
    let vs_lines: Vec<String> = sim.fifo().into_iter().filter(|l| l.starts_with("VS ")).collect();
    assert_eq!(
        vs_lines,
        vec![
            "VS [192.0.2.10]:tcp:80 UP",
            "VS [192.0.2.10]:tcp:80 DOWN",
            "VS [192.0.2.10]:tcp:80 UP"
        ]
    );
}

#[test]
fn misc_dynamic_exit_codes_set_the_weight() {
    let conf = vs(" real_server 198.51.100.1 80 {\n  weight 10\n  MISC_CHECK {\n   misc_path /bin/check\n   misc_dynamic\n   delay_loop 2\n   warmup 0\n  }\n }");
    let answer: Answer = Box::new(|_, _, now| {
        Outcome::Misc(MiscExit::Exited(match now.0 / S {
            0..=2 => 0,
            3..=6 => 7,  // weight 5
            7..=10 => 1, // failure (retry 0 for MISC)
            _ => 0,
        }))
    });
    let mut sim = Sim::new(&conf, answer);
    sim.run_until(Instant(2 * S));
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&10));
    sim.run_until(Instant(4 * S));
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&5));
    assert!(sim.logs().contains(
        &"Changing weight from 10 to 5 for active service [198.51.100.1]:tcp:80 of VS [192.0.2.10]:tcp:80"
            .to_string()
    ));
    sim.run_until(Instant(8 * S));
    assert!(sim.weights().is_empty());
    assert!(sim.logs().contains(
        &"Misc check for [[198.51.100.1]:tcp:80 VS [192.0.2.10]:tcp:80] by [/bin/check] failed with retry disabled (exited with status 1).".to_string()
    ));
    sim.run_until(Instant(12 * S));
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&10));
}

#[test]
fn misc_timing_counts_from_the_script_start() {
    let conf = vs(" real_server 198.51.100.1 80 {\n  MISC_CHECK {\n   misc_path /bin/check\n   delay_loop 3\n   warmup 0\n  }\n }");
    let mut sim = Sim::new(&conf, Box::new(|_, _, _| Outcome::Misc(MiscExit::Exited(0))));
    sim.run_until(Instant(10 * S));
    let times: Vec<u64> = sim.probes.iter().map(|p| p.0 .0 / S).collect();
    assert_eq!(times, vec![1, 4, 7, 10]);
}

#[test]
fn http_probes_one_url_per_delay_loop_and_retries_the_failing_one() {
    let conf = vs(" real_server 198.51.100.1 80 {\n  HTTP_GET {\n   url {\n    path /a\n   }\n   url {\n    path /b\n   }\n   delay_loop 10\n   warmup 0\n   retry 1\n   delay_before_retry 2\n  }\n }");
    // /b fails from 25 s on; everything passes again from 60 s.
    let answer: Answer = Box::new(|_, url, now| {
        if url == 1 && (25 * S..60 * S).contains(&now.0) {
            Outcome::Failure {
                message: "HTTP status code error to".into(),
            }
        } else {
            ok()
        }
    });
    let mut sim = Sim::new(&conf, answer);
    sim.run_until(Instant(100 * S));
    let probes: Vec<(u64, usize)> = sim.probes.iter().map(|p| (p.0 .0 / S, p.2)).collect();
    // 1:/a 11:/b 21:/a 31:/b fails, retry at 33 fails → down, then /b every max(2,10)=10 s
    // until it passes (63), then the whole list again from /a (73), /b (83) → up.
    assert_eq!(
        &probes[..9],
        &[
            (1, 0),
            (11, 1),
            (21, 0),
            (31, 1),
            (33, 1),
            (43, 1),
            (53, 1),
            (63, 1),
            (73, 0)
        ]
    );
    assert_eq!(
        sim.logged_at("HTTP_CHECK on service [198.51.100.1]:tcp:80 failed after 1 retries."),
        Some(Instant(33 * S))
    );
    // Logged after the first pass (11 s) and after the recovery pass (83 s).
    assert_eq!(
        sim.logged_last("Remote Web server [198.51.100.1]:tcp:80 succeed on service."),
        Some(Instant(83 * S))
    );
    assert!(sim
        .logs()
        .contains(&"HTTP status code success to [198.51.100.1]:tcp:80 url(/b)".to_string()));
}

#[test]
fn smtp_uses_its_whole_retry_budget_every_cycle() {
    let conf = vs(" real_server 198.51.100.1 25 {\n  SMTP_CHECK {\n   delay_loop 10\n   warmup 0\n   retry 2\n   delay_before_retry 1\n  }\n }");
    let mut sim = Sim::new(
        &conf,
        Box::new(|_, _, _| Outcome::Failure {
            message: "Bad greeting banner from server [198.51.100.1]:25".into(),
        }),
    );
    sim.run_until(Instant(15 * S));
    let times: Vec<u64> = sim.probes.iter().map(|p| p.0 .0 / S).collect();
    // 3 attempts (retry 2) at 1 s spacing even at start-up, then a delay_loop.
    assert_eq!(times, vec![1, 2, 3, 13, 14, 15]);
    assert_eq!(sim.logged_at("Removing service"), Some(Instant(3 * S)));
    assert!(sim
        .logs()
        .contains(&"SMTP_CHECK Bad greeting banner from server [198.51.100.1]:25".to_string()));
}

#[test]
fn dns_logs_only_the_last_retry_and_udp_stops_retrying_once_down() {
    let conf = vs(" real_server 198.51.100.1 53 {\n  DNS_CHECK {\n   delay_loop 10\n   warmup 0\n   retry 2\n   delay_before_retry 1\n  }\n  UDP_CHECK {\n   delay_loop 10\n   warmup 0\n   retry 2\n   delay_before_retry 1\n  }\n }");
    let mut sim = Sim::new(
        &conf,
        Box::new(|_, _, _| Outcome::Failure {
            message: "read timeout from socket".into(),
        }),
    );
    sim.run_until(Instant(25 * S));
    let dns: Vec<u64> = sim
        .probes
        .iter()
        .filter(|p| p.1 .0 == 0)
        .map(|p| p.0 .0 / S)
        .collect();
    let udp: Vec<u64> = sim
        .probes
        .iter()
        .filter(|p| p.1 .0 == 1)
        .map(|p| p.0 .0 / S)
        .collect();
    // DNS: one failure at start (budget used up), then down: every delay_loop.
    assert_eq!(dns, vec![1, 11, 21]);
    // UDP: same at start; no retries while down.
    assert_eq!(udp, vec![1, 11, 21]);
    assert_eq!(
        sim.logs()
            .iter()
            .filter(|l| l.starts_with("DNS_CHECK ([198.51.100.1]:tcp:53) read timeout from socket"))
            .count(),
        1
    );
}

#[test]
fn file_check_weights_and_faults_follow_the_file() {
    let conf = format!(
        "track_file f1 {{\n file /run/w\n weight 3\n}}\n{}",
        vs(" real_server 198.51.100.1 80 {\n  weight 1\n  FILE_CHECK {\n   track_file f1\n  }\n }")
    );
    let mut sim = Sim::with_files(&conf, Box::new(|_, _, _| ok()), &|name| {
        (name == "f1").then_some(2)
    });
    // 1 + 2 × 3.
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&7));
    sim.engine.file_changed("f1", Some(5));
    sim.drain();
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&16));
    // Negative products lower the weight (clamped at 0) without a fault.
    sim.engine.file_changed("f1", Some(-10));
    sim.drain();
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&0));
    // Saturating at the 32-bit minimum is a fault.
    sim.engine.file_changed("f1", Some(-1_000_000_000));
    sim.drain();
    assert!(sim.weights().is_empty());
    sim.engine.file_changed("f1", Some(1));
    sim.drain();
    assert_eq!(sim.weights().get("198.51.100.1"), Some(&4));
}

#[test]
fn several_checkers_must_all_pass() {
    let conf = vs(" real_server 198.51.100.1 80 {\n  TCP_CHECK {\n   delay_loop 2\n   warmup 0\n   connect_port 80\n  }\n  TCP_CHECK {\n   delay_loop 2\n   warmup 0\n   connect_port 443\n  }\n }");
    // The second checker fails between 5 and 9 s.
    let answer: Answer = Box::new(|id, _, now| {
        if id.0 == 1 && (5 * S..9 * S).contains(&now.0) {
            fail()
        } else {
            ok()
        }
    });
    let mut sim = Sim::new(&conf, answer);
    sim.run_until(Instant(6 * S));
    assert!(sim.weights().is_empty(), "one failing checker is enough");
    sim.run_until(Instant(12 * S));
    assert_eq!(sim.weights().len(), 1);
    assert_eq!(
        sim.logs()
            .iter()
            .filter(|l| l.starts_with("Adding service"))
            .count(),
        1
    );
}

#[test]
fn locate_names_each_checkers_place_in_the_plan() {
    // Two virtual servers, real servers with one, two and three checkers: every checker id
    // locates to (virtual server, real server, position) of the very checker it is.
    let rs = |addr: &str, ports: &[u16]| {
        let checks: String = ports
            .iter()
            .map(|p| format!("  TCP_CHECK {{\n   connect_port {p}\n  }}\n"))
            .collect();
        format!(" real_server {addr} 80 {{\n{checks} }}\n")
    };
    let conf = vs(&rs("198.51.100.1", &[81]))
        + &format!(
            "virtual_server 192.0.2.11 80 {{\n protocol TCP\n{}{}}}\n",
            rs("198.51.100.2", &[82, 83]),
            rs("198.51.100.3", &[84, 85, 86])
        );
    let engine = Engine::start(load(&conf), Instant(0), 1, &|_| None);
    assert_eq!(engine.checker_count(), 6);
    let mut seen = Vec::new();
    for id in 0..engine.checker_count() {
        let id = CheckerId(u32::try_from(id).unwrap());
        let (vs, rs, k) = engine.locate(id).unwrap();
        let (checker, rs_plan, vs_plan) = engine.checker(id).unwrap();
        let planned = &engine.plan().virtual_servers[vs].real_servers[rs];
        assert_eq!(planned.name, rs_plan.name);
        assert_eq!(engine.plan().virtual_servers[vs].name, vs_plan.name);
        assert_eq!(
            format!("{:?}", planned.checkers[k].config),
            format!("{:?}", checker.config)
        );
        seen.push((vs, rs, k));
    }
    assert_eq!(
        seen,
        [(0, 0, 0), (1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1), (1, 1, 2)]
    );
    assert_eq!(engine.locate(CheckerId(6)), None);
}

#[test]
fn shutdown_with_omega_notifies_and_empties_the_table() {
    let conf = vs(&format!(
        " omega\n quorum_down /bin/qdown\n{}",
        tcp_rs(
            "198.51.100.1",
            "  notify_down /bin/rsdown",
            "   delay_loop 2\n   warmup 0"
        )
    ));
    let mut sim = Sim::new(&conf, single(|_| true));
    sim.run_until(Instant(3 * S));
    sim.engine.shutdown();
    sim.drain();
    assert_eq!(sim.engine.desired(), LbState::default());
    assert!(sim
        .logs()
        .contains(&"Shutting down service [198.51.100.1]:tcp:80 from VS [192.0.2.10]:tcp:80".to_string()));
    assert_eq!(sim.scripts(), vec!["/bin/rsdown", "/bin/qdown"]);
    assert_eq!(sim.engine.poll_probe(Instant(100 * S)), None);
}

#[test]
fn warmup_spreads_first_probes_within_one_second_plus_warmup() {
    let mut rs = String::new();
    for i in 1..=50 {
        rs.push_str(&tcp_rs(
            &format!("198.51.100.{i}"),
            "",
            "   delay_loop 60\n   warmup 10",
        ));
    }
    let mut sim = Sim::new(&vs(&rs), single(|_| true));
    sim.run_until(Instant(12 * S));
    assert_eq!(sim.probes.len(), 50);
    let first = sim.probes.iter().map(|p| p.0 .0).min().unwrap();
    let last = sim.probes.iter().map(|p| p.0 .0).max().unwrap();
    assert!(first >= S && last <= 11 * S);
    assert!(last - first > 5 * S, "spread over the warm-up, not bunched");
}

#[test]
fn reload_keeps_the_state_of_unchanged_servers() {
    let two = vs(&format!(
        "{}{}",
        tcp_rs("198.51.100.1", "", "   delay_loop 2\n   warmup 0"),
        tcp_rs("198.51.100.2", "", "   delay_loop 2\n   warmup 0")
    ));
    // RS 2 is down.
    let mut sim = Sim::new(&two, Box::new(|id, _, _| if id.0 == 1 { fail() } else { ok() }));
    sim.run_until(Instant(5 * S));
    assert_eq!(sim.weights().len(), 1);
    // Reload: RS 1 weight changed, RS 2 kept (and stays down), RS 3 new.
    let three = vs(&format!(
        "{}{}{}",
        tcp_rs("198.51.100.1", "", "   delay_loop 2\n   warmup 0").replace("weight 2", "weight 4"),
        tcp_rs("198.51.100.2", "", "   delay_loop 2\n   warmup 0"),
        tcp_rs("198.51.100.3", "", "   delay_loop 2\n   warmup 0")
    ));
    let before = sim.events.len();
    sim.engine.reload(load(&three), sim.now);
    sim.drain();
    let w = sim.weights();
    assert_eq!(w.get("198.51.100.1"), Some(&4));
    assert_eq!(
        w.get("198.51.100.2"),
        None,
        "a down server stays down over a reload"
    );
    assert_eq!(w.get("198.51.100.3"), Some(&2));
    let new_logs: Vec<String> = sim.events[before..]
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Log(l) if !l.starts_with("Activating") => Some(l.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        new_logs,
        vec![
            "Changing weight from 2 to 4 for active service [198.51.100.1]:tcp:80 of VS [192.0.2.10]:tcp:80",
            "Adding service [198.51.100.3]:tcp:80 to VS [192.0.2.10]:tcp:80",
        ]
    );
    // Removing RS 1 announces it.
    sim.engine
        .reload(load(&two.replace("198.51.100.1", "198.51.100.9")), sim.now);
    sim.drain();
    assert!(sim
        .logs()
        .contains(&"service [198.51.100.1]:tcp:80 no longer exist".to_string()));
}

#[test]
fn probes_in_flight_are_bounded_and_results_out_of_turn_ignored() {
    let conf = vs(&tcp_rs("198.51.100.1", "", "   delay_loop 2\n   warmup 0"));
    let mut engine = Engine::start(load(&conf), Instant(0), 1, &|_| None);
    // Not due yet.
    assert_eq!(engine.poll_probe(Instant(0)), None);
    let req = engine.poll_probe(Instant(S)).expect("due at 1 s");
    // While in flight, the checker is not due again.
    assert_eq!(engine.poll_probe(Instant(100 * S)), None);
    engine.probe_done(Instant(S), req.id, fail());
    // A second result for the same probe changes nothing.
    let generation = engine.generation();
    engine.probe_done(Instant(S), req.id, ok());
    assert_eq!(engine.generation(), generation);
    assert_eq!(engine.deadline(), Some(Instant(3 * S)));
    let _ = Micros(0);
}
