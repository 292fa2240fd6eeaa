//! A simulated LAN for the VRRP engine: N nodes, each a `Router`, on one virtual clock,
//! exchanging real encoded adverts over a bus with delay, loss, duplication and partitions.
//! Everything is deterministic: loss uses a seeded generator, time only moves when the
//! harness moves it.

#![allow(dead_code)]

use ka_units::{Instant, Micros};
use ka_vrrp::{Action, InstanceConfig, LinkId, PacketOutcome, Router, State, SyncGroupConfig};
use ka_wire::rx::{emit_ipv4_advert, Received};
use ka_wire::vrrp::{self, Family};
use serde::Serialize;
use std::collections::{BTreeSet, VecDeque};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const LINK: LinkId = LinkId(1);

/// One line of a step trace.
#[derive(Clone, Debug, Serialize)]
pub struct TraceLine {
    pub t_us: u64,
    pub node: usize,
    pub what: TraceEvent,
}

#[derive(Clone, Debug, Serialize)]
pub enum TraceEvent {
    Start,
    Kill,
    Shutdown,
    Received {
        from: usize,
        outcome: PacketOutcome,
    },
    Action(Action),
    Link {
        up: bool,
    },
    /// Someone else removed one of the node's addresses for this instance.
    AddressRemoved {
        instance: usize,
    },
}

struct InFlight {
    at: Instant,
    from: usize,
    to: usize,
    family: Family,
    bytes: Vec<u8>,
    src: IpAddr,
    dst: IpAddr,
}

pub struct Node {
    pub router: Router,
    pub alive: bool,
    pub address: IpAddr,
    /// Per instance: are the VIPs installed on this node?
    pub holds_vips: Vec<bool>,
    pub garps: Vec<u32>,
    /// Per instance: (time, state) transitions.
    pub transitions: Vec<Vec<(Instant, State)>>,
    configs: Vec<InstanceConfig>,
    groups: Vec<SyncGroupConfig>,
    /// Tracker states the node's trackers report before the engine starts.
    pub initial_trackers: Vec<(ka_vrrp::TrackerId, ka_vrrp::TrackerState)>,
}

pub struct Lan {
    pub now: Instant,
    pub nodes: Vec<Node>,
    in_flight: Vec<InFlight>,
    pub delay: Micros,
    /// Loss probability in 1/1000.
    pub loss_per_mille: u32,
    pub duplicate_per_mille: u32,
    /// Directed pairs (from, to) that cannot hear each other.
    pub blocked: BTreeSet<(usize, usize)>,
    rng: u64,
    pub trace: Vec<TraceLine>,
    pub adverts_sent: u64,
}

pub fn node_address(family: Family, n: usize) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10 + n as u8)),
        Family::Ipv6 => IpAddr::V6(Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 0x10 + n as u16)),
    }
}

impl Lan {
    pub fn new(seed: u64) -> Lan {
        Lan {
            now: Instant::from_micros(1_000_000),
            nodes: Vec::new(),
            in_flight: Vec::new(),
            delay: Micros(100),
            loss_per_mille: 0,
            duplicate_per_mille: 0,
            blocked: BTreeSet::new(),
            rng: seed | 1,
            trace: Vec::new(),
            adverts_sent: 0,
        }
    }

    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    /// Adds a node running these instances (not started).
    pub fn add_node(&mut self, configs: Vec<InstanceConfig>, groups: Vec<SyncGroupConfig>) -> usize {
        let n = self.nodes.len();
        let family = configs.first().map(|c| c.family).unwrap_or(Family::Ipv4);
        let count = configs.len();
        self.nodes.push(Node {
            router: Router::new(configs.clone(), groups.clone()),
            alive: false,
            address: node_address(family, n),
            holds_vips: vec![false; count],
            garps: vec![0; count],
            transitions: vec![Vec::new(); count],
            configs,
            groups,
            initial_trackers: Vec::new(),
        });
        n
    }

    pub fn start(&mut self, n: usize) {
        let node = &mut self.nodes[n];
        node.router = Router::new(node.configs.clone(), node.groups.clone());
        for i in 0..node.configs.len() {
            node.router.set_source_address(i, Some(node.address));
        }
        for (t, state) in node.initial_trackers.clone() {
            node.router.set_tracker(self.now, t, state);
        }
        node.alive = true;
        node.holds_vips.iter_mut().for_each(|h| *h = false);
        self.trace.push(TraceLine {
            t_us: self.now.as_micros(),
            node: n,
            what: TraceEvent::Start,
        });
        node.router.start(self.now);
        self.drain(n);
    }

    /// SIGKILL: the node stops at once, sending nothing (its VIPs would stay, but nobody
    /// hears from it any more).
    pub fn kill(&mut self, n: usize) {
        self.nodes[n].alive = false;
        self.in_flight.retain(|p| p.from != n);
        self.trace.push(TraceLine {
            t_us: self.now.as_micros(),
            node: n,
            what: TraceEvent::Kill,
        });
    }

    /// SIGTERM: priority-0 adverts, then the node is gone.
    pub fn shutdown(&mut self, n: usize) {
        self.trace.push(TraceLine {
            t_us: self.now.as_micros(),
            node: n,
            what: TraceEvent::Shutdown,
        });
        let now = self.now;
        self.nodes[n].router.shutdown(now);
        self.drain(n);
        self.nodes[n].alive = false;
    }

    pub fn set_link(&mut self, n: usize, up: bool) {
        self.trace.push(TraceLine {
            t_us: self.now.as_micros(),
            node: n,
            what: TraceEvent::Link { up },
        });
        let now = self.now;
        self.nodes[n].router.set_link(now, LINK, up);
        self.drain(n);
    }

    /// Someone else removes instance `instance`'s VIP from node `n` (`ip addr del`).
    pub fn remove_vip(&mut self, n: usize, instance: usize) {
        self.trace.push(TraceLine {
            t_us: self.now.as_micros(),
            node: n,
            what: TraceEvent::AddressRemoved { instance },
        });
        self.nodes[n].holds_vips[instance] = false;
        let now = self.now;
        self.nodes[n].router.address_removed(now, instance);
        self.drain(n);
    }

    /// Carries out the actions a node's engine queued.
    pub fn drain(&mut self, n: usize) {
        while let Some(action) = self.nodes[n].router.poll_action() {
            self.trace.push(TraceLine {
                t_us: self.now.as_micros(),
                node: n,
                what: TraceEvent::Action(action),
            });
            match action {
                Action::SendAdvert { instance, priority } => self.transmit(n, instance, priority),
                Action::InstallAddresses { instance } => self.nodes[n].holds_vips[instance] = true,
                Action::RemoveAddresses { instance } => self.nodes[n].holds_vips[instance] = false,
                Action::SendGratuitous { instance, repeats } => self.nodes[n].garps[instance] += repeats,
                Action::StateChanged { instance, to, .. } => {
                    let now = self.now;
                    self.nodes[n].transitions[instance].push((now, to));
                }
                _ => {}
            }
        }
    }

    fn transmit(&mut self, from: usize, instance: usize, priority: u8) {
        if !self.nodes[from].alive {
            return;
        }
        self.adverts_sent += 1;
        let node = &self.nodes[from];
        let Some(inst) = node.router.instance(instance) else {
            return;
        };
        let family = inst.config.family;
        let src = node.address;
        let dests: Vec<(IpAddr, Option<usize>)> = if inst.config.unicast_peers.is_empty() {
            let group = match family {
                Family::Ipv4 => IpAddr::V4(vrrp::MULTICAST_V4),
                Family::Ipv6 => IpAddr::V6(vrrp::MULTICAST_V6),
            };
            vec![(group, None)]
        } else {
            inst.config
                .unicast_peers
                .iter()
                .map(|p| (p.addr, self.nodes.iter().position(|n| n.address == p.addr)))
                .collect()
        };
        let mut packets = Vec::new();
        for (dst, only) in dests {
            let mut vrrp_msg = [0u8; 1100];
            let Ok(len) = inst.encode_advert(priority, &mut vrrp_msg, src, dst) else {
                continue;
            };
            let bytes = match (family, src, dst) {
                (Family::Ipv4, IpAddr::V4(s), IpAddr::V4(d)) => {
                    let mut buf = vec![0u8; 20 + len];
                    let repr = inst.advert(priority);
                    if emit_ipv4_advert(&mut buf, &repr, s, d, 255, 0, inst.config.v3_checksum_as_v2).is_err()
                    {
                        continue;
                    }
                    buf
                }
                _ => vrrp_msg[..len].to_vec(),
            };
            packets.push((dst, only, bytes));
        }
        for (dst, only, bytes) in packets {
            for to in 0..self.nodes.len() {
                if to == from || only.is_some_and(|o| o != to) || self.blocked.contains(&(from, to)) {
                    continue;
                }
                if self.loss_per_mille > 0 && self.random() % 1000 < u64::from(self.loss_per_mille) {
                    continue;
                }
                let copies = if self.duplicate_per_mille > 0
                    && self.random() % 1000 < u64::from(self.duplicate_per_mille)
                {
                    2
                } else {
                    1
                };
                for _ in 0..copies {
                    self.in_flight.push(InFlight {
                        at: self.now + self.delay,
                        from,
                        to,
                        family,
                        bytes: bytes.clone(),
                        src,
                        dst,
                    });
                }
            }
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let deliveries = self.in_flight.iter().map(|p| p.at);
        let timers = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| n.router.poll_timeout());
        deliveries.chain(timers).min()
    }

    /// Runs until `until` (inclusive), processing every event in time order.
    pub fn run_until(&mut self, until: Instant) {
        let mut steps = 0u64;
        while let Some(t) = self.next_event() {
            if t > until {
                break;
            }
            steps += 1;
            assert!(steps < 10_000_000, "simulation does not progress");
            self.now = self.now.max(t);
            let now = self.now;
            // Deliveries first, in send order, then timers.
            let mut due = VecDeque::new();
            let mut i = 0;
            while i < self.in_flight.len() {
                if self.in_flight[i].at <= now {
                    due.push_back(self.in_flight.remove(i));
                } else {
                    i += 1;
                }
            }
            for p in due {
                if !self.nodes[p.to].alive {
                    continue;
                }
                let rx = Received {
                    family: p.family,
                    bytes: &p.bytes,
                    src: p.src,
                    dst: p.dst,
                    hop_limit: Some(255),
                };
                let outcome = self.nodes[p.to].router.handle_packet(now, LINK, &rx);
                self.trace.push(TraceLine {
                    t_us: now.as_micros(),
                    node: p.to,
                    what: TraceEvent::Received {
                        from: p.from,
                        outcome,
                    },
                });
                self.drain(p.to);
            }
            for n in 0..self.nodes.len() {
                if self.nodes[n].alive && self.nodes[n].router.poll_timeout().is_some_and(|d| d <= now) {
                    self.nodes[n].router.handle_timeout(now);
                    self.drain(n);
                }
            }
        }
        self.now = self.now.max(until);
    }

    pub fn run_for(&mut self, d: Micros) {
        let until = self.now + d;
        self.run_until(until);
    }

    /// Live nodes whose instance `i` is MASTER.
    pub fn masters(&self, instance: usize) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&n| {
                self.nodes[n].alive
                    && self.nodes[n]
                        .router
                        .instance(instance)
                        .is_some_and(|x| x.state() == State::Master)
            })
            .collect()
    }

    pub fn state(&self, n: usize, instance: usize) -> State {
        self.nodes[n]
            .router
            .instance(instance)
            .map(|i| i.state())
            .unwrap_or(State::Init)
    }

    /// When node `n`'s instance last entered `state`.
    pub fn entered(&self, n: usize, instance: usize, state: State) -> Option<Instant> {
        self.nodes[n].transitions[instance]
            .iter()
            .rev()
            .find(|(_, s)| *s == state)
            .map(|(t, _)| *t)
    }

    /// The trace as JSON lines.
    pub fn trace_jsonl(&self) -> String {
        self.trace
            .iter()
            .map(|l| serde_json::to_string(l).unwrap_or_default() + "\n")
            .collect()
    }
}

/// Compares a trace with its golden file, or rewrites the file when KA_UPDATE_TRACES is set.
pub fn check_trace(name: &str, jsonl: &str) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/traces")
        .join(format!("{name}.jsonl"));
    if std::env::var_os("KA_UPDATE_TRACES").is_some() {
        std::fs::write(&path, jsonl).unwrap();
        return;
    }
    let golden = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "missing golden trace {}; run with KA_UPDATE_TRACES=1 to create it",
            path.display()
        )
    });
    if golden != jsonl {
        let first = golden.lines().zip(jsonl.lines()).position(|(a, b)| a != b);
        panic!(
            "trace {name} differs from {} (first difference at line {:?}); rerun with KA_UPDATE_TRACES=1 after reviewing",
            path.display(),
            first.map(|l| l + 1)
        );
    }
}

impl Lan {
    pub fn set_tracker(&mut self, n: usize, tracker: ka_vrrp::TrackerId, state: ka_vrrp::TrackerState) {
        let now = self.now;
        self.nodes[n].router.set_tracker(now, tracker, state);
        self.drain(n);
    }

    /// Time node `to` last accepted an advert from node `from`.
    pub fn last_accepted(&self, to: usize, from: usize) -> Option<Instant> {
        self.trace.iter().rev().find_map(|l| match &l.what {
            TraceEvent::Received {
                from: f,
                outcome: PacketOutcome::Accepted { .. },
            } if l.node == to && *f == from => Some(Instant::from_micros(l.t_us)),
            _ => None,
        })
    }
}

impl Lan {
    /// SIGHUP with a new configuration for node `n`: instances of the old configuration
    /// named in `kept` keep their state; the others stop (priority 0 if master).
    pub fn reload(
        &mut self,
        n: usize,
        configs: Vec<InstanceConfig>,
        groups: Vec<SyncGroupConfig>,
        kept: Vec<Option<usize>>,
    ) {
        let now = self.now;
        let old_count = self.nodes[n].configs.len();
        for old in 0..old_count {
            if !kept.contains(&Some(old)) {
                self.nodes[n].router.stop_instance(now, old);
            }
        }
        self.drain(n);
        let mut router = Router::new(configs.clone(), groups.clone());
        for i in 0..configs.len() {
            router.set_source_address(i, Some(self.nodes[n].address));
        }
        router.adopt(now, &self.nodes[n].router, &kept);
        let holds: Vec<bool> = kept
            .iter()
            .map(|k| k.map(|o| self.nodes[n].holds_vips[o]).unwrap_or(false))
            .collect();
        let transitions = kept
            .iter()
            .map(|k| {
                k.map(|o| self.nodes[n].transitions[o].clone())
                    .unwrap_or_default()
            })
            .collect();
        let node = &mut self.nodes[n];
        node.router = router;
        node.configs = configs;
        node.groups = groups;
        node.holds_vips = holds;
        node.garps = vec![0; node.configs.len()];
        node.transitions = transitions;
        self.drain(n);
    }
}
