//! The nftables load-balancer data plane, pure: for kernels without IPVS (containers, this
//! project's CI), the same [`ka_lb::LbState`] programmed as one table of our own, written as
//! `nft -f` text and read back from `nft -j list table`. The I/O side (running `nft`) is
//! `ka_net::nft`.
//!
//! - [`full_ruleset`]: the whole table, as one atomic replacement;
//! - [`change_batch`]: for a slice of [`ka_lb::Change`]s, the fewest commands (element
//!   deltas; `flush chain` + `add rule` for the one chain whose modulus changed) as one
//!   transaction — persistence entries, counters and established flows stay;
//! - [`parse::parse`]: the listing back into an `LbState`, checked against what the rules
//!   actually do;
//! - [`caps::supports`]: whether a service can be reproduced, and the nearest alternative.
//!
//! The layout is described in [`render`]. Modes: NAT (`dnat` in an `inet` table; conntrack
//! keeps each connection on its real server) and DR (`netdev` ingress on the director's
//! interface: `ether daddr set` + `fwd`, stateless, per-flow hash).
//!
//! # IPVS features on nftables
//!
//! "exact": same decisions as IPVS; "equivalent": same semantics and proportions, different
//! hash function or placement (so not the same server for the same client as a kernel with
//! IPVS); "not supported": refused by [`caps::supports`] (or, with
//! [`caps::UnsupportedPolicy::Nearest`], programmed as the scheduler named in brackets).
//!
//! | IPVS feature | nftables | how |
//! |---|---|---|
//! | `rr` (NAT) | exact | `numgen inc mod N` over the active real servers |
//! | `wrr` (NAT) | exact | IPVS's cycle (gcd, descending current weight) precomputed as slots; beyond 65,536 slots: same proportions in blocks |
//! | `rr`/`wrr` (DR) | equivalent | per-flow `jhash` over the same slots (no conntrack in netdev, so no counter) |
//! | `sh`, `dh` | equivalent | IPVS's 256-bucket weighted table, `jhash` of source / destination address (`sh-port`: and source port) |
//! | `mh` | equivalent | Maglev table of prime size (default 4093, as IPVS; make it well above the number of real servers) computed by us, weights as turns; `mh-port`; a flap changes about M/N slots |
//! | `fo` | exact | the first highest-weight active server in a one-slot table |
//! | `lc` | not supported [rr] | needs live connection counts |
//! | `wlc`, `sed`, `nq`, `twos` | not supported [wrr] | needs live connection counts |
//! | `ovf` | not supported [fo] | needs live connection counts |
//! | `lblc`, `lblcr` | not supported [dh] | needs live connection counts |
//! | `persistence_timeout` | equivalent | dynamic map client → real server with timeout, refreshed by each new connection (IPVS: counted from the end of the last one) |
//! | `persistence_granularity` | exact | client address masked before the lookup |
//! | `persistence_engine sip`, `ops` | not supported | |
//! | `lb_kind NAT` | exact | `dnat` in the nat hooks (prerouting and output) |
//! | `lb_kind DR` | equivalent | netdev ingress, `ether saddr/daddr set` + `fwd`; stateless: a change of membership can move established flows (least with `mh`) |
//! | `lb_kind TUN` | not supported | |
//! | weight 0 (`inhibit_on_failure`) | exact (NAT) | no new connections; established ones keep their conntrack NAT binding and persistent clients keep their server |
//! | weight 0, removal (DR) | equivalent | no new flows; without persistence the server's established flows are re-hashed to others (no conntrack on netdev ingress), with persistence its clients stay until their entry expires |
//! | real server removed | exact (NAT) | no new connections, established ones go on; its persistence entries are deleted |
//! | `uthreshold`/`lthreshold` | not supported | |
//! | fwmark services | exact (NAT) | `meta mark` dispatch, real server port 0 (ports kept) |
//! | protocols TCP/UDP/SCTP, IPv4/IPv6 | exact | |

pub mod caps;
pub mod maglev;
pub mod parse;
pub mod render;
pub mod schedule;
pub mod table;

pub use caps::{supports, Unsupported, UnsupportedPolicy};
pub use parse::{parse, ParseError, Parsed};
pub use render::{DrLink, Env, Mac, RenderError, Target};

use ka_lb::reconcile::{self, ApplyError};
use ka_lb::{Change, LbState, ServiceKey};
use std::collections::BTreeSet;
use std::fmt;

/// The whole ruleset for `state`: our table(s) replaced in one transaction.
pub fn full_ruleset(state: &LbState, env: &Env) -> Result<String, RenderError> {
    let (nat, dr) = render::render_tables(state, env, None)?;
    let mut out = String::new();
    nat.replace_text(&mut out);
    if let Some(dr) = dr {
        dr.replace_text(&mut out);
    }
    Ok(out)
}

/// Commands that remove our tables (daemon stop without `-C`/keep).
pub fn delete_tables(env: &Env) -> String {
    let mut out = format!("add table inet {0}\ndelete table inet {0}\n", env.table);
    if env.dr.is_some() {
        out.push_str(&format!(
            "add table netdev {0}\ndelete table netdev {0}\n",
            env.table
        ));
    }
    out
}

/// Why a batch could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// A change does not apply to the state it was planned against (index in the slice).
    Change {
        index: usize,
        error: ApplyError,
    },
    Render(RenderError),
}

impl fmt::Display for BatchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchError::Change { index, error } => write!(f, "change {}: {error}", index + 1),
            BatchError::Render(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for BatchError {}

/// A transaction and the state it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Batch {
    /// `nft -f` text; empty when nothing changes in the kernel.
    pub text: String,
    pub after: LbState,
    /// Services whose persistence entries for removed real servers should be purged (see
    /// [`purge_persistence`]).
    pub purge: Vec<(ServiceKey, Target)>,
}

/// The fewest commands that carry `changes` out on a table that holds `before`: only the
/// services the changes touch are rendered and compared.
pub fn change_batch(before: &LbState, changes: &[Change], env: &Env) -> Result<Batch, BatchError> {
    let mut after = before.clone();
    let mut touched = BTreeSet::new();
    let mut purge = Vec::new();
    for (index, c) in changes.iter().enumerate() {
        let key = match c {
            Change::AddService(s) | Change::EditService(s) => s.key,
            Change::DeleteService(k) => *k,
            Change::AddDest(k, _) | Change::EditDest(k, _) => *k,
            Change::DeleteDest(k, d) => {
                // Remember where its persistent clients were sent, to forget them.
                if let Some(svc) = after.services.get(k) {
                    if svc.service.timeout > 0 {
                        if let Some(dest) = svc.dests.get(d) {
                            let target = match render::placement(svc) {
                                render::Placement::Dr => env
                                    .dr
                                    .as_ref()
                                    .and_then(|l| l.neighbours.get(&dest.key.addr))
                                    .map(|m| Target::Mac(*m)),
                                render::Placement::Nat if matches!(k, ServiceKey::Fwmark { .. }) => {
                                    Some(Target::Addr(dest.key.addr))
                                }
                                render::Placement::Nat => {
                                    Some(Target::AddrPort(dest.key.addr, dest.key.port))
                                }
                            };
                            purge.extend(target.map(|t| (*k, t)));
                        }
                    }
                }
                *k
            }
        };
        touched.insert(key);
        reconcile::apply(&mut after, c).map_err(|error| BatchError::Change { index, error })?;
    }
    let (nat_b, dr_b) = render::render_tables(before, env, Some(&touched)).map_err(BatchError::Render)?;
    let (nat_a, dr_a) = render::render_tables(&after, env, Some(&touched)).map_err(BatchError::Render)?;
    let mut text = String::new();
    table::diff(&nat_b, &nat_a, &mut text);
    if let (Some(b), Some(a)) = (dr_b, dr_a) {
        table::diff(&b, &a, &mut text);
    }
    // A service that no longer exists needs no purge (its map went with it).
    purge.retain(|(k, _)| after.services.get(k).is_some_and(|s| s.service.timeout > 0));
    Ok(Batch { text, after, purge })
}

/// Which table and map hold a service's persistence entries (`nft -j list map ...`).
pub fn persistence_map(state: &LbState, key: &ServiceKey, env: &Env) -> Option<(&'static str, String)> {
    let svc = state.services.get(key)?;
    let family = match render::placement(svc) {
        render::Placement::Nat => "inet",
        render::Placement::Dr => "netdev",
    };
    Some((family, format!("persist_{}", render::service_id(key))))
        .filter(|_| svc.service.timeout > 0 && !env.table.is_empty())
}

/// Commands deleting persistence entries (keys as listed) from a service's map.
pub fn purge_persistence(family: &str, map: &str, keys: &[String], env: &Env) -> String {
    if keys.is_empty() {
        return String::new();
    }
    format!(
        "delete element {family} {} {map} {{ {} }}\n",
        env.table,
        keys.join(", ")
    )
}

/// Entry points shared by the cargo-fuzz target (`fuzz/fuzz_targets/nft_readback.rs`) and the
/// test that replays its corpus, so that both exercise exactly the same code.
pub mod fuzzing {
    use crate::{DrLink, Env, Mac, Target};
    use std::collections::BTreeMap;

    /// Feeds arbitrary text to the read-back parsers (`nft -j list table` of the NAT and DR
    /// tables, split at the first NUL; `nft -j list map` for persistence). Must never panic.
    pub fn parse_everything(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let mut parts = text.splitn(2, '\0');
        let nat = parts.next();
        let dr = parts.next();
        let plain = Env::default();
        let with_dr = Env {
            dr: Some(DrLink {
                device: "eth0".into(),
                mac: Mac([2, 0, 0, 0, 0, 1]),
                neighbours: BTreeMap::new(),
            }),
            ..Env::default()
        };
        for env in [&plain, &with_dr] {
            let _ = crate::parse::parse(nat, dr, env);
            let _ = crate::parse::parse(dr, None, env);
        }
        for target in [
            Target::AddrPort(std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1)), 80),
            Target::Mac(Mac([2, 0, 0, 0, 0, 2])),
        ] {
            let _ = crate::parse::persistence_keys_for(&text, &target);
        }
    }
}
