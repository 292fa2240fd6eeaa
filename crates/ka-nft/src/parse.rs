//! `nft -j list table ...` back into an [`LbState`], so that the daemon believes only what
//! the kernel holds.
//!
//! Services come from the dispatch maps (their keys, and the settings in the element
//! comments), real servers from the `rs_<id>` registries (address and port, weight and
//! forwarding in the comments). Then each service is checked against what the kernel does
//! with packets: its slot table and the modulus of its scheduling rule must be exactly what
//! we would program for the settings read. A service that fails the check is left out of
//! the state (so the reconciler re-adds it) and reported in [`Parsed::problems`].

use crate::render::{self, Env, Mac, SlotKey, Target};
use ka_lb::model::ServiceState;
use ka_lb::{Dest, DestKey, Family, Forward, LbState, Protocol, Scheduler, Service, ServiceKey};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

/// What was read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Parsed {
    pub state: LbState,
    /// Services left out because the kernel's tables do not match their settings.
    pub problems: Vec<String>,
}

/// The listing is not nft's JSON, or not our layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot read the nftables listing: {}", self.0)
    }
}

impl std::error::Error for ParseError {}

/// The objects of one listed table.
#[derive(Default)]
struct Listing {
    /// set/map name → its `elem` array.
    sets: BTreeMap<String, Vec<Value>>,
    /// chain name → its rules' `expr` arrays.
    rules: BTreeMap<String, Vec<Value>>,
}

fn listing(json: &str) -> Result<Listing, ParseError> {
    let root: Value = serde_json::from_str(json).map_err(|e| ParseError(e.to_string()))?;
    let items = root
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| ParseError("no \"nftables\" array".into()))?;
    let mut out = Listing::default();
    for item in items {
        for kind in ["set", "map"] {
            if let Some(s) = item.get(kind) {
                let name = s
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let elems = s
                    .get("elem")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                out.sets.insert(name, elems);
            }
        }
        if let Some(c) = item.get("chain") {
            let name = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            out.rules.entry(name).or_default();
        }
        if let Some(r) = item.get("rule") {
            let chain = r
                .get("chain")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let expr = r.get("expr").cloned().unwrap_or(Value::Null);
            out.rules.entry(chain).or_default().push(expr);
        }
    }
    Ok(out)
}

/// A set element: its key and comment (`{"elem": {"val": k, "comment": c}}` or plain `k`).
fn key_and_comment(v: &Value) -> (&Value, Option<&str>) {
    match v.get("elem") {
        Some(e) => (
            e.get("val").unwrap_or(&Value::Null),
            e.get("comment").and_then(Value::as_str),
        ),
        None => (v, None),
    }
}

/// A map element: key, comment, value.
fn map_entry(v: &Value) -> Option<(&Value, Option<&str>, &Value)> {
    let pair = v.as_array()?;
    let (k, c) = key_and_comment(pair.first()?);
    Some((k, c, pair.get(1)?))
}

fn ip(v: &Value) -> Option<IpAddr> {
    v.as_str()?.parse().ok()
}

fn number(v: &Value) -> Option<u64> {
    v.as_u64().or_else(|| v.as_str()?.parse().ok())
}

fn port(v: &Value) -> Option<u16> {
    number(v).and_then(|n| u16::try_from(n).ok())
}

fn concat(v: &Value) -> Option<&Vec<Value>> {
    v.get("concat")?.as_array()
}

fn settings(comment: &str) -> BTreeMap<&str, &str> {
    comment
        .split_whitespace()
        .filter_map(|w| w.split_once('='))
        .collect()
}

fn hex_or_dec(s: &str) -> Option<u32> {
    match s.strip_prefix("0x") {
        Some(h) => u32::from_str_radix(h, 16).ok(),
        None => s.parse().ok(),
    }
}

fn service_from(key: ServiceKey, comment: Option<&str>) -> Result<Service, String> {
    let c = settings(comment.ok_or("no settings comment")?);
    let sched = c
        .get("sched")
        .and_then(|s| Scheduler::from_name(s))
        .ok_or("no scheduler")?;
    let mut s = Service::new(key, sched);
    s.flags = c.get("flags").and_then(|v| hex_or_dec(v)).ok_or("no flags")?;
    s.timeout = c.get("timeout").and_then(|v| hex_or_dec(v)).ok_or("no timeout")?;
    s.netmask = c.get("netmask").and_then(|v| hex_or_dec(v)).ok_or("no netmask")?;
    Ok(s)
}

fn dest_from(v: &Value) -> Result<Dest, String> {
    let (k, comment) = key_and_comment(v);
    let parts = concat(k).ok_or("registry key is not address . port")?;
    let addr = parts.first().and_then(ip).ok_or("bad address")?;
    let port = parts.get(1).and_then(port).ok_or("bad port")?;
    let c = settings(comment.ok_or("no weight comment")?);
    let weight = c.get("w").and_then(|w| w.parse().ok()).ok_or("no weight")?;
    let forward = match c.get("fwd") {
        Some(&"route") => Forward::Route,
        Some(&"masq") => Forward::Masq,
        _ => return Err("no forwarding method".into()),
    };
    Ok(Dest::new(DestKey { addr, port }, forward, weight))
}

fn slot_key(v: &Value) -> Option<SlotKey> {
    if let Some(r) = v.get("range").and_then(Value::as_array) {
        let a = u32::try_from(number(r.first()?)?).ok()?;
        let b = u32::try_from(number(r.get(1)?)?).ok()?;
        return Some(SlotKey::Range(a, b));
    }
    Some(SlotKey::One(u32::try_from(number(v)?).ok()?))
}

fn target(v: &Value) -> Option<Target> {
    if let Some(parts) = concat(v) {
        return Some(Target::AddrPort(ip(parts.first()?)?, port(parts.get(1)?)?));
    }
    let s = v.as_str()?;
    if let Ok(a) = s.parse::<IpAddr>() {
        return Some(Target::Addr(a));
    }
    s.parse::<Mac>().ok().map(Target::Mac)
}

/// Every `mod` of a numgen or jhash expression in a chain's rules.
fn moduli(v: &Value, out: &mut BTreeSet<u64>) {
    match v {
        Value::Object(m) => {
            for (k, inner) in m {
                if k == "numgen" || k == "jhash" {
                    if let Some(n) = inner.get("mod").and_then(Value::as_u64) {
                        out.insert(n);
                    }
                }
                moduli(inner, out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| moduli(x, out)),
        _ => {}
    }
}

/// Reads the services of one listed table into `parsed`.
fn read_table(t: &Listing, env: &Env, parsed: &mut Parsed) {
    for (map, family, fwmark) in [
        ("services4", Family::Ipv4, false),
        ("services6", Family::Ipv6, false),
        ("fwmarks4", Family::Ipv4, true),
        ("fwmarks6", Family::Ipv6, true),
    ] {
        let Some(elems) = t.sets.get(map) else { continue };
        for e in elems {
            let Some((k, comment, verdict)) = map_entry(e) else {
                parsed.problems.push(format!("{map}: unreadable element {e}"));
                continue;
            };
            let key = if fwmark {
                number(k)
                    .and_then(|m| u32::try_from(m).ok())
                    .map(|mark| ServiceKey::Fwmark { family, mark })
            } else {
                concat(k).and_then(|p| {
                    let addr = ip(p.first()?)?;
                    let protocol = match p.get(1)?.as_str()? {
                        "tcp" => Protocol::Tcp,
                        "udp" => Protocol::Udp,
                        "sctp" => Protocol::Sctp,
                        other => Protocol::from_number(other.parse().ok()?)?,
                    };
                    Some(ServiceKey::Addr {
                        protocol,
                        addr,
                        port: port(p.get(2)?)?,
                    })
                })
            };
            let Some(key) = key else {
                parsed.problems.push(format!("{map}: unreadable service key {k}"));
                continue;
            };
            if let Err(why) = read_service(t, env, key, comment, verdict, parsed) {
                parsed.problems.push(format!("virtual server {key}: {why}"));
            }
        }
    }
}

fn read_service(
    t: &Listing,
    env: &Env,
    key: ServiceKey,
    comment: Option<&str>,
    verdict: &Value,
    parsed: &mut Parsed,
) -> Result<(), String> {
    let id = render::service_id(&key);
    let chain = verdict
        .get("goto")
        .and_then(|g| g.get("target"))
        .and_then(Value::as_str)
        .ok_or("dispatch element is not a goto")?;
    if chain != format!("svc_{id}") {
        return Err(format!("dispatch goes to {chain}, expected svc_{id}"));
    }
    let service = service_from(key, comment)?;
    let mut svc = ServiceState {
        service,
        dests: BTreeMap::new(),
    };
    for e in t.sets.get(&format!("rs_{id}")).ok_or("no real-server registry")? {
        let d = dest_from(e)?;
        svc.dests.insert(d.key, d);
    }
    // What we would program for these settings must be what the kernel has.
    let plan = render::plan(&svc, env).map_err(|e| e.to_string())?;
    let have: Option<Vec<(SlotKey, Target)>> = t.sets.get(&plan.sched_map()).map(|elems| {
        elems
            .iter()
            .filter_map(|e| {
                let (k, _, v) = map_entry(e)?;
                Some((slot_key(k)?, target(v)?))
            })
            .collect()
    });
    let mut have = have.ok_or_else(|| format!("no slot table {}", plan.sched_map()))?;
    have.sort();
    let mut want = plan.slots.clone();
    want.sort();
    if have != want {
        return Err(format!(
            "slot table {} differs from the one its settings give ({} slots, {} expected)",
            plan.sched_map(),
            have.len(),
            want.len()
        ));
    }
    let rules = t.rules.get(&format!("svc_{id}")).ok_or("no service chain")?;
    let mut found = BTreeSet::new();
    rules.iter().for_each(|r| moduli(r, &mut found));
    let expected: BTreeSet<u64> = (plan.modulus > 0)
        .then_some(u64::from(plan.modulus))
        .into_iter()
        .collect();
    if found != expected {
        return Err(format!(
            "scheduling rule has modulus {found:?}, expected {expected:?}"
        ));
    }
    let persistent = svc.service.timeout > 0;
    if persistent != t.sets.contains_key(&format!("persist_{id}")) {
        return Err("persistence map does not match the timeout".into());
    }
    parsed.state.services.insert(key, svc);
    Ok(())
}

/// Parses the listings of our NAT table (`nft -j list table inet <name>`) and DR table
/// (`netdev`), either absent (`None`: the table does not exist).
pub fn parse(nat: Option<&str>, dr: Option<&str>, env: &Env) -> Result<Parsed, ParseError> {
    let mut parsed = Parsed::default();
    for json in [nat, dr].into_iter().flatten() {
        let t = listing(json)?;
        read_table(&t, env, &mut parsed);
    }
    Ok(parsed)
}

/// Entries of a persistence map (`nft -j list map ...`) whose target is `target`: what to
/// delete when that real server is removed, so its clients are scheduled anew (IPVS
/// invalidates the templates of a removed destination).
pub fn persistence_keys_for(json: &str, target: &Target) -> Result<Vec<String>, ParseError> {
    let t = listing(json)?;
    let mut out = Vec::new();
    for elems in t.sets.values() {
        for e in elems {
            let Some((k, _, v)) = map_entry(e) else { continue };
            if self::target(v).as_ref() == Some(target) {
                if let Some(s) = k.as_str() {
                    out.push(s.to_string());
                }
            }
        }
    }
    Ok(out)
}
