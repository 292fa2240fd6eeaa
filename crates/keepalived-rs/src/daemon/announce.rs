//! `bgp_announce` (a keepalived-rs extension): active-active directors over BGP/ECMP. Each
//! announced address is put on its interface (default `lo`) while this director can serve
//! it, and taken away the moment it cannot; the routing daemon (BIRD's `protocol direct`,
//! FRR's `redistribute connected`) turns the address into a BGP announcement and its removal
//! into a withdrawal (measured here: the upstream router's route changes 1–3 ms later).
//! keepalived-rs never speaks BGP itself.
//!
//! Fit to serve an address means all of:
//! - not draining (`keepalived-rs ctl drain`, undone by `ctl resume`);
//! - the data plane holds what the checkers want (the last write was read back; to start
//!   announcing, the write of the current desired state);
//! - every virtual server with that address has its quorum (keepalived's `quorum`, default
//!   one real server up);
//! - to start announcing: every checker of those virtual servers has reported since the
//!   start, and since the quorum last came back. Until then real servers count as up
//!   unchecked (or are missing), and this director's Maglev table would differ from its
//!   peers': flows the router sends here would reach other real servers than on the
//!   director they came from (measured: 2–14 of 60 connections reset when a director came
//!   back and announced on quorum alone).
//!
//! On stop the addresses go first, before the data plane is torn down, so the router moves
//! the flows while this director still forwards them. An address left by a crashed run is
//! removed at start: nothing is announced before the first fit state.

use ka_config::announce::AnnouncedAddress;
use ka_net::netlink::{AddressSpec, Netlink};
use std::net::IpAddr;

/// One address and what was last done with it.
struct Entry {
    config: AnnouncedAddress,
    announced: bool,
    /// Why it is (not) announced, for the status.
    reason: String,
}

pub struct Announcer {
    netlink: Option<Netlink>,
    entries: Vec<Entry>,
    draining: bool,
}

/// What decides whether an address can be served (from the checker engine and the data
/// plane thread). Starting to announce asks more than going on announcing: a director that
/// announces draws flows at once, so it must hold exactly what its peers hold; one that
/// already announces must not withdraw (a BGP flap) for every real-server change it has not
/// written yet.
pub struct Fitness<'a> {
    /// The last write to the data plane was read back as intended (false: failing, retried).
    pub dataplane_ok: bool,
    /// ... and it was the write of the current desired state.
    pub dataplane_current: bool,
    /// For an address: the names of its virtual servers without quorum (empty: all have
    /// quorum), or None when no virtual server has it.
    pub without_quorum: &'a dyn Fn(IpAddr) -> Option<Vec<String>>,
    /// For an address: its virtual servers whose checkers have not all reported since the
    /// start or since quorum came back (real servers count as up until checked, so the
    /// table could differ from the peers' Maglev table).
    pub unsettled: &'a dyn Fn(IpAddr) -> Vec<String>,
}

impl Announcer {
    /// Connects to rtnetlink and removes whatever a previous run left announced.
    pub async fn start(addresses: &[AnnouncedAddress]) -> Announcer {
        let netlink = match Netlink::connect() {
            Ok(n) => Some(n),
            Err(e) => {
                if !addresses.is_empty() {
                    crate::error!("bgp_announce: {e}: nothing will be announced");
                }
                None
            }
        };
        let mut a = Announcer {
            netlink,
            entries: addresses
                .iter()
                .map(|c| Entry {
                    config: c.clone(),
                    announced: false,
                    reason: "starting".into(),
                })
                .collect(),
            draining: false,
        };
        for i in 0..a.entries.len() {
            // Whatever state it was in, it is not announced until the first decision.
            a.remove(i, false).await;
        }
        a
    }

    /// A reload's list: addresses no longer listed (or moved to another interface) are
    /// withdrawn; the others keep their state until the next decision.
    pub async fn reconfigure(&mut self, addresses: &[AnnouncedAddress]) {
        let mut kept = Vec::new();
        let old = std::mem::take(&mut self.entries);
        for e in old {
            if addresses
                .iter()
                .any(|a| a.addr == e.config.addr && a.dev == e.config.dev)
            {
                kept.push(e);
            } else {
                self.entries.push(e);
                let last = self.entries.len() - 1;
                if self.entries[last].announced {
                    crate::info!(
                        "bgp_announce: withdrawing {}: no longer configured",
                        self.entries[last].config.addr
                    );
                }
                self.remove(last, true).await;
                self.entries.pop();
            }
        }
        for a in addresses {
            if !kept
                .iter()
                .any(|e| e.config.addr == a.addr && e.config.dev == a.dev)
            {
                kept.push(Entry {
                    config: a.clone(),
                    announced: false,
                    reason: "new".into(),
                });
            }
        }
        self.entries = kept;
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn set_draining(&mut self, draining: bool) {
        if self.draining != draining {
            crate::info!(
                "bgp_announce: {}",
                if draining {
                    "draining: withdrawing every announced address"
                } else {
                    "resumed"
                }
            );
        }
        self.draining = draining;
    }

    /// Decides every address again and carries out the changes.
    pub async fn update(&mut self, fit: &Fitness<'_>) {
        for i in 0..self.entries.len() {
            let addr = self.entries[i].config.addr;
            let announced = self.entries[i].announced;
            let quorum = (fit.without_quorum)(addr);
            // Reasons to withdraw (or not to announce).
            let mut against = if self.draining {
                Some("draining (keepalived-rs ctl drain)".to_string())
            } else if !fit.dataplane_ok {
                Some("the data plane write failed (retrying)".to_string())
            } else {
                match &quorum {
                    None => Some("no virtual server has this address".to_string()),
                    Some(missing) if !missing.is_empty() => {
                        Some(format!("no quorum on {}", missing.join(", ")))
                    }
                    Some(_) => None,
                }
            };
            // Further reasons not to start.
            if against.is_none() && !announced {
                if !fit.dataplane_current {
                    against = Some("the data plane does not hold the desired state yet".to_string());
                } else {
                    let unsettled = (fit.unsettled)(addr);
                    if !unsettled.is_empty() {
                        against = Some(format!(
                            "waiting for every check of {} to report",
                            unsettled.join(", ")
                        ));
                    }
                }
            }
            match against {
                None => {
                    self.entries[i].reason = "fit to serve".into();
                    if !announced {
                        self.add(i).await;
                    }
                }
                Some(why) => {
                    if announced {
                        crate::info!("bgp_announce: withdrawing {addr}: {why}");
                        self.remove(i, true).await;
                    }
                    self.entries[i].reason = why;
                }
            }
        }
    }

    /// Withdraws everything (on stop).
    pub async fn withdraw_all(&mut self, why: &str) {
        for i in 0..self.entries.len() {
            if self.entries[i].announced {
                crate::info!("bgp_announce: withdrawing {}: {why}", self.entries[i].config.addr);
                self.remove(i, true).await;
            }
            self.entries[i].reason = why.to_string();
        }
    }

    /// The status lines: (address, announced, reason).
    pub fn report(&self) -> Vec<super::status::Announcement> {
        self.entries
            .iter()
            .map(|e| super::status::Announcement {
                address: e.config.addr.to_string(),
                device: e.config.dev.clone(),
                announced: e.announced,
                reason: e.reason.clone(),
            })
            .collect()
    }

    async fn spec(&self, i: usize) -> Option<AddressSpec> {
        let netlink = self.netlink.as_ref()?;
        let e = &self.entries[i];
        let links = netlink.links().await.ok()?;
        let index = links.iter().find(|l| l.name == e.config.dev)?.index;
        Some(AddressSpec {
            index,
            addr: e.config.addr,
            prefix_len: e.config.prefix_len,
            broadcast: None,
            label: None,
            // Host scope would keep BIRD's direct protocol from exporting it; global it is.
            scope: 0,
            peer: None,
            flags: if e.config.addr.is_ipv6() {
                ka_net::netlink::IFA_F_NODAD
            } else {
                0
            },
            preferred_lft: None,
        })
    }

    async fn add(&mut self, i: usize) {
        let addr = self.entries[i].config.addr;
        let dev = self.entries[i].config.dev.clone();
        let (Some(spec), Some(netlink)) = (self.spec(i).await, self.netlink.as_ref()) else {
            self.entries[i].reason = format!("interface {dev} not found");
            crate::error!("bgp_announce: cannot announce {addr}: interface {dev} not found");
            return;
        };
        match netlink.add_address(&spec).await {
            Ok(()) => {
                crate::info!("bgp_announce: announcing {addr} (on {dev})");
                self.entries[i].announced = true;
            }
            // Already there (added by hand, or a race with a previous run): announced.
            Err(e) if e.source.raw_os_error() == Some(libc::EEXIST) => self.entries[i].announced = true,
            Err(e) => {
                crate::error!("bgp_announce: cannot announce {addr}: {e}");
                self.entries[i].reason = format!("cannot add it: {e}");
            }
        }
    }

    /// Takes the address away. `loud`: report a failure (at start, absence is expected).
    async fn remove(&mut self, i: usize, loud: bool) {
        self.entries[i].announced = false;
        let (Some(spec), Some(netlink)) = (self.spec(i).await, self.netlink.as_ref()) else {
            return;
        };
        if let Err(e) = netlink.del_address(&spec).await {
            let absent = matches!(
                e.source.raw_os_error(),
                Some(libc::EADDRNOTAVAIL) | Some(libc::ENOENT) | Some(libc::ESRCH)
            );
            if loud && !absent {
                crate::error!("bgp_announce: cannot withdraw {}: {e}", spec.addr);
            }
        }
    }
}
