//! The load-balancer table of either data plane, read for `keepalived-rs list` and handed to
//! `ka_lb::listing` to print as `ipvsadm -Ln` does.
//!
//! - IPVS: exactly what ipvsadm reads (GET_INFO for the header line, the service and
//!   destination dumps with their counters and connection counts), in the kernel's order.
//! - nftables: the state our daemon programmed, read back with [`NftDataplane::read`] (so a
//!   service whose rules do not match its settings is left out and reported, as the daemon
//!   would), the scheduler nftables actually runs (the fallback's, when one was programmed),
//!   ActiveConn/InActConn from conntrack ([`crate::conntrack`]), PersistConn from the
//!   persistence maps. Our ruleset keeps no per-service counters, so the `--stats` and
//!   `--rate` columns are 0; DR on nftables forwards at ingress, before conntrack, so its
//!   connection counts are 0 too.

use crate::conntrack;
use crate::ipvs::{IpvsDataplane, ListedService as IpvsService};
use crate::nft::{link_mac, neighbour_macs, NftDataplane};
use ka_lb::listing::connections::ConnectionCounter;
use ka_lb::listing::{Counters, ListedDest, ListedService};
use ka_lb::{Dataplane, DataplaneError, LbState, ServiceKey};
use ka_nft::render::{placement, Placement};
use ka_nft::{DrLink, Env, Target, UnsupportedPolicy};
use std::process::Command;

/// A table ready to print: its first line and its services (in the data plane's order;
/// the formatter sorts them as ipvsadm does).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Table {
    pub header: String,
    pub services: Vec<ListedService>,
    /// What could not be read (printed to stderr; the table is still printed).
    pub warnings: Vec<String>,
}

fn counters(s: &ka_ipvs::Stats) -> Counters {
    Counters {
        conns: s.conns,
        in_packets: s.in_packets,
        out_packets: s.out_packets,
        in_bytes: s.in_bytes,
        out_bytes: s.out_bytes,
        cps: s.cps,
        in_pps: s.in_pps,
        out_pps: s.out_pps,
        in_bps: s.in_bps,
        out_bps: s.out_bps,
    }
}

/// A service of an IPVS dump in the listing's terms (nothing dropped: an unknown scheduler
/// or flag is printed as ipvsadm would).
pub fn from_ipvs(listed: IpvsService) -> ListedService {
    let s = listed.service;
    ListedService {
        key: s.key,
        scheduler: s.scheduler,
        flags: s.flags,
        timeout: s.timeout,
        netmask: s.netmask,
        pe_name: s.pe_name,
        stats: counters(&s.stats),
        dests: listed
            .dests
            .into_iter()
            .map(|d| ListedDest {
                dest: d.dest,
                active_conns: d.active_conns,
                inactive_conns: d.inactive_conns,
                persist_conns: d.persist_conns,
                stats: counters(&d.stats),
            })
            .collect(),
    }
}

/// The IPVS table of this network namespace, headed "IP Virtual Server version X.Y.Z
/// (size=N)".
pub fn ipvs_table() -> Result<Table, DataplaneError> {
    let mut dp = IpvsDataplane::open()?;
    let header = dp.info()?.banner();
    let services = dp.list()?.into_iter().map(from_ipvs).collect();
    Ok(Table {
        header,
        services,
        warnings: Vec::new(),
    })
}

/// Runs `nft` with `args`: its stdout, `None` when the object does not exist.
fn nft_list(args: &[&str]) -> Result<Option<String>, DataplaneError> {
    let out = Command::new("nft").args(args).output().map_err(|e| {
        DataplaneError::new(format!(
            "nft {}: {e} (the nftables data plane needs the nft program)",
            args.join(" ")
        ))
    })?;
    if out.status.success() {
        return Ok(Some(String::from_utf8_lossy(&out.stdout).into_owned()));
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    if stderr.contains("No such file or directory") {
        return Ok(None);
    }
    Err(DataplaneError::new(format!(
        "nft {}: {}",
        args.join(" "),
        stderr.trim()
    )))
}

/// Whether our nftables table exists in this network namespace (the daemon creates it only
/// when it runs the nftables data plane).
pub fn nft_table_exists(table: &str) -> Result<bool, DataplaneError> {
    Ok(nft_list(&["-j", "list", "table", "inet", table])?.is_some())
}

/// The interface of our DR table's ingress chain, if the table exists. Read from nft's text
/// listing (`type filter hook ingress device "eth0" priority ...`): nft 1.0.6's JSON leaves
/// the device of netdev chains out.
fn dr_device(table: &str) -> Result<Option<String>, DataplaneError> {
    let Some(text) = nft_list(&["list", "table", "netdev", table])? else {
        return Ok(None);
    };
    Ok(ingress_device(&text))
}

/// The first device named by a `hook ingress device NAME` (or `devices = { NAME, ... }`)
/// in a listing.
fn ingress_device(listing: &str) -> Option<String> {
    listing.lines().find_map(|line| {
        let (_, rest) = line.split_once("hook ingress ")?;
        let rest = rest
            .strip_prefix("device ")
            .or_else(|| rest.strip_prefix("devices = {"))?;
        let name = rest
            .trim_start()
            .split([' ', ',', ';', '}'])
            .next()?
            .trim_matches('"');
        (!name.is_empty()).then(|| name.to_string())
    })
}

/// The environment our daemon programmed `table` with, as far as reading it back needs:
/// the fallback policy (a service programmed with the nearest scheduler is checked against
/// that one) and, when there is a DR table, its interface and the real servers' MACs.
fn read_env(table: &str) -> Result<Env, DataplaneError> {
    let mut env = Env {
        table: table.to_string(),
        policy: UnsupportedPolicy::Nearest,
        ..Env::default()
    };
    if let Some(device) = dr_device(table)? {
        env.dr = Some(DrLink {
            mac: link_mac(&device)?,
            neighbours: neighbour_macs(&device)?,
            device,
        });
    }
    Ok(env)
}

/// Where a real server's persistence entries point (as the rules record them).
fn persistence_target(state: &LbState, key: &ServiceKey, dest: &ka_lb::Dest, env: &Env) -> Option<Target> {
    let svc = state.services.get(key)?;
    match placement(svc) {
        Placement::Dr => env
            .dr
            .as_ref()
            .and_then(|l| l.neighbours.get(&dest.key.addr))
            .map(|m| Target::Mac(*m)),
        Placement::Nat if matches!(key, ServiceKey::Fwmark { .. }) => Some(Target::Addr(dest.key.addr)),
        Placement::Nat => Some(Target::AddrPort(dest.key.addr, dest.key.port)),
    }
}

/// Persistence entries per real server (PersistConn), for services with persistence.
fn count_persistence(state: &LbState, env: &Env, services: &mut [ListedService], warnings: &mut Vec<String>) {
    for listed in services.iter_mut() {
        let Some((family, map)) = ka_nft::persistence_map(state, &listed.key, env) else {
            continue;
        };
        let json = match nft_list(&["-j", "list", "map", family, &env.table, &map]) {
            Ok(Some(json)) => json,
            Ok(None) => continue,
            Err(e) => {
                warnings.push(format!("persistence entries of {}: {e}", listed.key));
                continue;
            }
        };
        for d in listed.dests.iter_mut() {
            let Some(target) = persistence_target(state, &listed.key, &d.dest, env) else {
                continue;
            };
            match ka_nft::parse::persistence_keys_for(&json, &target) {
                Ok(keys) => d.persist_conns = u32::try_from(keys.len()).unwrap_or(u32::MAX),
                Err(e) => warnings.push(format!("persistence entries of {}: {e}", listed.key)),
            }
        }
    }
}

/// Our nftables table `table` of this network namespace, headed by `header`, with
/// connection counts from conntrack and, when `persistence` is asked for, PersistConn.
pub fn nft_table(table: &str, header: String, persistence: bool) -> Result<Table, DataplaneError> {
    let env = read_env(table)?;
    let mut dp = NftDataplane::new(env.clone());
    let state = dp.read()?;
    let mut warnings: Vec<String> = dp
        .last_problems
        .iter()
        .map(|p| format!("not listed: {p}"))
        .collect();
    let mut services: Vec<ListedService> = state
        .services
        .values()
        .map(|s| {
            let mut listed = ListedService::idle(s);
            // What nftables runs: the fallback's scheduler where one was programmed.
            let running =
                ka_nft::caps::effective_scheduler(&s.service, env.policy).unwrap_or(s.service.scheduler);
            listed.scheduler = running.name().to_string();
            listed
        })
        .collect();
    let mut counter = ConnectionCounter::new(&services);
    match conntrack::for_each_connection(|c| counter.add(c)) {
        Ok(summary) => {
            counter.finish(&mut services);
            if let Some(e) = summary.first_error {
                warnings.push(format!(
                    "{} conntrack entries could not be read and are not counted (first: {e})",
                    summary.undecodable
                ));
            }
        }
        Err(e) => warnings.push(format!("connection counts are 0: {e}")),
    }
    if persistence {
        count_persistence(&state, &env, &mut services, &mut warnings);
    }
    Ok(Table {
        header,
        services,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ingress_device_is_read_from_nfts_text() {
        let one = "table netdev keepalived_rs_lb {\n\tchain ingress {\n\t\ttype filter hook ingress device \"eth0\" priority filter; policy accept;\n\t}\n}\n";
        assert_eq!(ingress_device(one), Some("eth0".into()));
        let several =
            "\t\ttype filter hook ingress devices = { \"dr0\", \"dr1\" } priority filter; policy accept;\n";
        assert_eq!(ingress_device(several), Some("dr0".into()));
        assert_eq!(ingress_device("table netdev t {\n}\n"), None);
    }
}
