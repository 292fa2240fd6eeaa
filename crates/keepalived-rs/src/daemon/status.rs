//! What the daemon is doing, for everything that reports it (the control socket's JSON,
//! `/metrics`, keepalived's dump files): one snapshot, published by the VRRP loop (at every
//! transition and once a second) and by the health checkers (at every change), read by the
//! reporters. The VRRP part carries keepalived's own JSON keys (`data`/`stats`, as
//! `/tmp/keepalived.json` has them) so that existing scripts and exporters map one to one;
//! what keepalived does not have goes in `extra`. Secrets are never in it: the PASS password
//! is shown masked.

use serde::Serialize;
use std::sync::{Arc, RwLock};

/// The snapshot all reporters read.
pub type Shared = Arc<RwLock<Status>>;

/// Reads the status without blocking the calling thread, which is the VRRP loop's for the
/// control socket, metrics, dumps and systemd: a checker or data-plane thread holding the
/// lock, preempted under CPU load, must not stall adverts. Tries again every millisecond,
/// for at most a second (None then, or when a writer panicked).
pub async fn read_when_free<T>(status: &Shared, f: impl FnOnce(&Status) -> T) -> Option<T> {
    for _ in 0..1000 {
        // The guard must be gone before the await (a task holding it would not be Send).
        match status.try_read() {
            Ok(s) => return Some(f(&s)),
            Err(std::sync::TryLockError::WouldBlock) => {}
            Err(std::sync::TryLockError::Poisoned(_)) => return None,
        };
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    None
}

pub fn shared() -> Shared {
    Arc::new(RwLock::new(Status {
        version: env!("CARGO_PKG_VERSION"),
        ..Status::default()
    }))
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Status {
    pub version: &'static str,
    /// keepalived's JSON dump (version 1): one entry per VRRP instance.
    pub vrrp: Vec<VrrpInstance>,
    pub vrrp_scripts: Vec<VrrpScript>,
    /// VRRP packets dropped before they could be matched to an instance (unknown VRID,
    /// truncated, bad IP header...), by reason; reasons with no drop are left out.
    pub vrrp_unattributed_drops: Vec<(String, u64)>,
    pub virtual_servers: Vec<VirtualServer>,
    pub dataplane: Option<Dataplane>,
    pub config: ConfigStatus,
    /// Health-check probes by checker type (`TCP_CHECK`, `HTTP_GET`, ...).
    pub checks: std::collections::BTreeMap<String, CheckStats>,
    /// `bgp_announce` addresses and whether they are announced now.
    pub announce: Vec<Announcement>,
    /// `keepalived-rs ctl drain` is in effect.
    pub draining: bool,
}

/// A `bgp_announce` address.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Announcement {
    pub address: String,
    pub device: String,
    pub announced: bool,
    /// Why it is or is not announced ("fit to serve", "draining ...", "no quorum on ...").
    pub reason: String,
}

/// What the probes of one checker type did.
#[derive(Clone, Debug, Serialize)]
pub struct CheckStats {
    /// The real server passed.
    pub success: u64,
    /// The real server failed (refused, timeout, wrong status, MISC_CHECK exit 1, ...).
    pub failure: u64,
    /// The probe could not be attempted here (socket, bind): not held against the server.
    pub error: u64,
    /// From the probe's start to its result, in seconds.
    pub duration_seconds: Histogram,
}

impl Default for CheckStats {
    fn default() -> Self {
        CheckStats {
            success: 0,
            failure: 0,
            error: 0,
            // From a loopback connect to connect_timeout's default (5 s) and past it.
            duration_seconds: Histogram::new(&[
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
        }
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VrrpInstance {
    pub data: InstanceData,
    pub stats: InstanceStats,
    pub extra: InstanceExtra,
}

/// keepalived's `data` keys (vrrp_json.c), those keepalived-rs has.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InstanceData {
    pub iname: String,
    pub dont_track_primary: u8,
    pub skip_check_adv_addr: u8,
    pub strict_mode: u8,
    pub vmac_ifname: String,
    pub ifp_ifname: String,
    pub master_priority: u8,
    /// Seconds since the epoch (keepalived's float).
    pub last_transition: f64,
    pub garp_delay: u64,
    pub garp_refresh: u64,
    pub garp_rep: u32,
    pub garp_refresh_rep: u32,
    pub garp_lower_prio_delay: u64,
    pub garp_lower_prio_rep: u32,
    pub lower_prio_no_advert: u8,
    pub higher_prio_send_advert: u8,
    pub vrid: u8,
    pub base_priority: u8,
    pub effective_priority: u8,
    pub vipset: bool,
    pub promote_secondaries: bool,
    pub adver_int: f64,
    pub master_adver_int: f64,
    pub accept: u8,
    pub nopreempt: bool,
    pub preempt_delay: u64,
    /// 0 INIT, 1 BACKUP, 2 MASTER, 3 FAULT (keepalived's numbers).
    pub state: u8,
    pub wantstate: u8,
    pub version: u8,
    pub smtp_alert: bool,
    pub notify_deleted: bool,
    /// keepalived's text for each VIP: `192.0.2.99/24 dev eth0 scope global`, plus ` set`
    /// while installed.
    pub vips: Vec<String>,
    pub evips: Vec<String>,
    pub track_script: Vec<String>,
    pub auth_type: u8,
    /// Never the password: `********` when there is one (keepalived 2.2.7 prints it in clear).
    pub auth_data: String,
}

/// keepalived's `stats` keys.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InstanceStats {
    pub advert_rcvd: u64,
    pub advert_sent: u64,
    pub become_master: u64,
    pub release_master: u64,
    pub packet_len_err: u64,
    pub advert_interval_err: u64,
    pub ip_ttl_err: u64,
    pub invalid_type_rcvd: u64,
    pub addr_list_err: u64,
    pub invalid_authtype: u64,
    pub authtype_mismatch: u64,
    pub auth_failure: u64,
    pub pri_zero_rcvd: u64,
    pub pri_zero_sent: u64,
}

/// What keepalived-rs adds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct InstanceExtra {
    /// MASTER, BACKUP, FAULT, INIT, STOP.
    pub state_name: String,
    pub family: String,
    /// Transitions so far, by (from, to).
    pub transitions: Vec<Transition>,
    /// Dropped adverts by reason (every reason, zeros included).
    pub dropped: Vec<(String, u64)>,
    /// The advertisers heard, with the age of their last advert.
    pub peers: Vec<PeerHeard>,
    /// Gratuitous ARPs / unsolicited NAs sent.
    pub garp_sent: u64,
    pub unsolicited_na_sent: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Transition {
    pub from: String,
    pub to: String,
    pub count: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct PeerHeard {
    pub address: String,
    pub last_advert_age_seconds: f64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VrrpScript {
    pub name: String,
    /// The command as configured.
    pub command: String,
    pub interval_seconds: f64,
    pub timeout_seconds: f64,
    pub rise: u32,
    pub fall: u32,
    /// GOOD / BAD (keepalived's words), INIT before the first result.
    pub status: String,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct VirtualServer {
    /// keepalived's FMT_VS.
    pub name: String,
    pub quorum_up: bool,
    pub real_servers: Vec<RealServer>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RealServer {
    /// keepalived's FMT_RS.
    pub name: String,
    pub up: bool,
    pub weight: u32,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Dataplane {
    pub backend: String,
    pub in_sync: bool,
    pub applies: u64,
    pub failures: u64,
    /// Changes applied so far.
    pub changes: u64,
    pub last_error: Option<String>,
    /// Latency of applies in seconds, as histogram buckets (upper bound, count) plus sum and
    /// count.
    pub apply_seconds: Histogram,
}

#[derive(Clone, Debug, Serialize)]
pub struct Histogram {
    pub buckets: Vec<(f64, u64)>,
    pub sum: f64,
    pub count: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram::new(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
        ])
    }
}

impl Histogram {
    pub fn new(bounds: &[f64]) -> Histogram {
        Histogram {
            buckets: bounds.iter().map(|b| (*b, 0)).collect(),
            sum: 0.0,
            count: 0,
        }
    }

    /// Counts one observation (cumulative buckets, as Prometheus wants them).
    pub fn observe(&mut self, value: f64) {
        for (bound, n) in self.buckets.iter_mut() {
            if value <= *bound {
                *n += 1;
            }
        }
        self.sum += value;
        self.count += 1;
    }
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ConfigStatus {
    pub reloads: u64,
    pub failed_reloads: u64,
    pub last_reload_successful: bool,
    /// Seconds since the epoch of the last successful load (start or reload).
    pub last_success_unix: f64,
}

/// Seconds since the epoch, for timestamps shown to people and exporters (keepalived's
/// `last_transition`), never for timing.
#[allow(clippy::disallowed_methods)]
pub fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// keepalived's state numbers.
pub fn state_number(s: ka_vrrp::State) -> u8 {
    match s {
        ka_vrrp::State::Init | ka_vrrp::State::Stop => 0,
        ka_vrrp::State::Backup => 1,
        ka_vrrp::State::Master => 2,
        ka_vrrp::State::Fault => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let mut h = Histogram::new(&[0.001, 0.01]);
        h.observe(0.0005);
        h.observe(0.005);
        h.observe(0.5);
        assert_eq!(h.buckets, vec![(0.001, 1), (0.01, 2)]);
        assert_eq!(h.count, 3);
    }

    #[test]
    fn the_password_never_appears() {
        let mut s = Status::default();
        s.vrrp.push(VrrpInstance {
            data: InstanceData {
                auth_data: "********".into(),
                ..InstanceData::default()
            },
            ..VrrpInstance::default()
        });
        let json = serde_json::to_string(&s).unwrap_or_default();
        assert!(json.contains("\"auth_data\":\"********\""));
    }
}
