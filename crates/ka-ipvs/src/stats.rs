//! Traffic counters of a service or destination (`IPVS_SVC_ATTR_STATS64`, or the older
//! 32-bit `STATS` when a kernel has no 64-bit ones), for listings (`ipvsadm -Ln --stats`).

use crate::netlink::attributes;
use crate::uapi::stats_attr;
use crate::DecodeError;
use serde::Serialize;

/// Counters since the service or destination was created (or zeroed), and the rates the
/// kernel estimates every two seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    pub in_packets: u64,
    pub out_packets: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    pub in_pps: u64,
    pub out_pps: u64,
    /// Bytes per second.
    pub in_bps: u64,
    pub out_bps: u64,
}

/// Which encoding a STATS attribute uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Width {
    /// `STATS`: u32 counters, except the byte counters which are u64.
    Narrow,
    /// `STATS64`: every counter u64.
    Wide,
}

pub(crate) fn parse(nested: &[u8], width: Width) -> Result<Stats, DecodeError> {
    let mut s = Stats::default();
    for attr in attributes(nested) {
        let attr = attr?;
        let counter = |what| match (width, attr.kind) {
            (Width::Wide, _) | (_, stats_attr::INBYTES | stats_attr::OUTBYTES) => attr.u64(what),
            (Width::Narrow, _) => attr.u32(what).map(u64::from),
        };
        match attr.kind {
            stats_attr::CONNS => s.conns = counter("stats conns")?,
            stats_attr::INPKTS => s.in_packets = counter("stats inpkts")?,
            stats_attr::OUTPKTS => s.out_packets = counter("stats outpkts")?,
            stats_attr::INBYTES => s.in_bytes = counter("stats inbytes")?,
            stats_attr::OUTBYTES => s.out_bytes = counter("stats outbytes")?,
            stats_attr::CPS => s.cps = counter("stats cps")?,
            stats_attr::INPPS => s.in_pps = counter("stats inpps")?,
            stats_attr::OUTPPS => s.out_pps = counter("stats outpps")?,
            stats_attr::INBPS => s.in_bps = counter("stats inbps")?,
            stats_attr::OUTBPS => s.out_bps = counter("stats outbps")?,
            // PAD (64-bit alignment) and counters newer than this code.
            _ => {}
        }
    }
    Ok(s)
}

/// The 64-bit counters when the kernel sent them, else the 32-bit ones, else zeros.
pub(crate) fn best(narrow: Option<&[u8]>, wide: Option<&[u8]>) -> Result<Stats, DecodeError> {
    match (wide, narrow) {
        (Some(w), _) => parse(w, Width::Wide),
        (None, Some(n)) => parse(n, Width::Narrow),
        (None, None) => Ok(Stats::default()),
    }
}
