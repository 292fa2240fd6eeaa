//! Destinations (real servers) on the wire (`IPVS_CMD_ATTR_DEST`): the full entry NEW/SET_DEST
//! carry, the identity DEL_DEST carries, and the entries a GET_DEST dump returns.

use crate::netlink::{attributes, GenlMessage, MessageBuilder};
use crate::service::{addr_bytes, addr_from, af_of, family_of};
use crate::stats::{self, Stats};
use crate::uapi::{cmd, cmd_attr, dest_attr, tunnel_type};
use crate::DecodeError;
use ka_lb::model::TunnelSpec;
use ka_lb::{Dest, DestKey, Family, Forward};
use serde::Serialize;

/// ADDR_FAMILY, ADDR, PORT: what names a destination within its service.
fn put_key(m: &mut MessageBuilder, key: &DestKey) {
    m.put_u16(dest_attr::ADDR_FAMILY, af_of(Family::of(&key.addr)));
    m.put(dest_attr::ADDR, &addr_bytes(&key.addr));
    m.put_be16(dest_attr::PORT, key.port);
}

/// `IPVS_CMD_ATTR_DEST` with only the destination's identity (DEL_DEST).
pub(crate) fn put_dest_key(m: &mut MessageBuilder, key: &DestKey) {
    let nest = m.begin_nest(cmd_attr::DEST);
    put_key(m, key);
    m.end_nest(nest);
}

/// `IPVS_CMD_ATTR_DEST` in full (NEW/SET_DEST), as keepalived 2.2.7 writes it: identity,
/// FWD_METHOD, WEIGHT, the tunnel settings for a tunnel destination, U_THRESH, L_THRESH.
pub(crate) fn put_dest(m: &mut MessageBuilder, dest: &Dest) {
    let nest = m.begin_nest(cmd_attr::DEST);
    put_key(m, &dest.key);
    m.put_u32(dest_attr::FWD_METHOD, dest.forward.code());
    m.put_u32(dest_attr::WEIGHT, dest.weight);
    if dest.forward == Forward::Tunnel {
        // As keepalived: the type for every tunnel destination (IPIP when none is given), the
        // port for GUE, the flags for GUE and GRE. A port or flags set anyway are sent too,
        // so that what is read back is what was asked for.
        let t = dest.tunnel.unwrap_or(TunnelSpec {
            kind: tunnel_type::IPIP,
            port: 0,
            flags: 0,
        });
        m.put_u8(dest_attr::TUN_TYPE, t.kind);
        if t.kind == tunnel_type::GUE || t.port != 0 {
            m.put_be16(dest_attr::TUN_PORT, t.port);
        }
        if t.kind != tunnel_type::IPIP || t.flags != 0 {
            m.put_u16(dest_attr::TUN_FLAGS, t.flags);
        }
    }
    m.put_u32(dest_attr::U_THRESH, dest.upper_threshold);
    m.put_u32(dest_attr::L_THRESH, dest.lower_threshold);
    m.end_nest(nest);
}

/// The attributes of a destination nest, before interpretation.
#[derive(Default)]
pub(crate) struct RawDest<'a> {
    addr: Option<&'a [u8]>,
    port: Option<u16>,
    addr_family: Option<u16>,
    fwd_method: Option<u32>,
    weight: Option<u32>,
    u_thresh: Option<u32>,
    l_thresh: Option<u32>,
    active_conns: Option<u32>,
    inact_conns: Option<u32>,
    persist_conns: Option<u32>,
    tun_type: Option<u8>,
    tun_port: Option<u16>,
    tun_flags: Option<u16>,
    stats: Option<&'a [u8]>,
    stats64: Option<&'a [u8]>,
}

impl<'a> RawDest<'a> {
    pub(crate) fn parse(nested: &'a [u8]) -> Result<RawDest<'a>, DecodeError> {
        let mut d = RawDest::default();
        for attr in attributes(nested) {
            let attr = attr?;
            match attr.kind {
                dest_attr::ADDR => d.addr = Some(attr.payload),
                dest_attr::PORT => d.port = Some(attr.be16("dest port")?),
                dest_attr::ADDR_FAMILY => d.addr_family = Some(attr.u16("dest address family")?),
                dest_attr::FWD_METHOD => d.fwd_method = Some(attr.u32("dest forwarding method")?),
                dest_attr::WEIGHT => d.weight = Some(attr.u32("dest weight")?),
                dest_attr::U_THRESH => d.u_thresh = Some(attr.u32("dest upper threshold")?),
                dest_attr::L_THRESH => d.l_thresh = Some(attr.u32("dest lower threshold")?),
                dest_attr::ACTIVE_CONNS => d.active_conns = Some(attr.u32("dest active conns")?),
                dest_attr::INACT_CONNS => d.inact_conns = Some(attr.u32("dest inactive conns")?),
                dest_attr::PERSIST_CONNS => d.persist_conns = Some(attr.u32("dest persistent conns")?),
                dest_attr::TUN_TYPE => d.tun_type = Some(attr.u8("dest tunnel type")?),
                dest_attr::TUN_PORT => d.tun_port = Some(attr.be16("dest tunnel port")?),
                dest_attr::TUN_FLAGS => d.tun_flags = Some(attr.u16("dest tunnel flags")?),
                dest_attr::STATS => d.stats = Some(attr.payload),
                dest_attr::STATS64 => d.stats64 = Some(attr.payload),
                _ => {}
            }
        }
        Ok(d)
    }

    /// The destination's identity; its family is ADDR_FAMILY, or the service's when absent
    /// (kernels before 3.18, and requests that leave it out).
    pub(crate) fn key(&self, service_family: Family) -> Result<(Family, DestKey), DecodeError> {
        let family = match self.addr_family {
            Some(af) => family_of(af)?,
            None => service_family,
        };
        let addr = addr_from(
            family,
            self.addr.ok_or(DecodeError::Missing("dest address"))?,
            "dest address",
        )?;
        let port = self.port.ok_or(DecodeError::Missing("dest port"))?;
        Ok((family, DestKey { addr, port }))
    }

    pub(crate) fn dest(&self, service_family: Family) -> Result<(Family, Dest), DecodeError> {
        let (family, key) = self.key(service_family)?;
        let code = self
            .fwd_method
            .ok_or(DecodeError::Missing("dest forwarding method"))?;
        let forward = Forward::from_code(code).ok_or_else(|| DecodeError::Invalid {
            what: "dest forwarding method",
            why: format!("{code} is not masq, local, tunnel or route"),
        })?;
        // The kernel reports the tunnel settings of every destination (zeros when unused).
        // Plain IPIP without options is what a tunnel destination gets when none are given,
        // so it reads back as `None`.
        let tunnel = TunnelSpec {
            kind: self.tun_type.unwrap_or(tunnel_type::IPIP),
            port: self.tun_port.unwrap_or(0),
            flags: self.tun_flags.unwrap_or(0),
        };
        let plain_ipip = TunnelSpec {
            kind: tunnel_type::IPIP,
            port: 0,
            flags: 0,
        };
        Ok((
            family,
            Dest {
                key,
                forward,
                weight: self.weight.ok_or(DecodeError::Missing("dest weight"))?,
                upper_threshold: self
                    .u_thresh
                    .ok_or(DecodeError::Missing("dest upper threshold"))?,
                lower_threshold: self
                    .l_thresh
                    .ok_or(DecodeError::Missing("dest lower threshold"))?,
                tunnel: (forward == Forward::Tunnel && tunnel != plain_ipip).then_some(tunnel),
            },
        ))
    }
}

/// A destination as the kernel lists it: its settings, connection counts and counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DestEntry {
    pub dest: Dest,
    /// The destination's address family (it differs from the service's only with tunnels).
    pub family: Family,
    /// TCP connections in ESTABLISHED.
    pub active_conns: u32,
    /// Every other connection entry (UDP ones included).
    pub inactive_conns: u32,
    /// Persistence templates.
    pub persist_conns: u32,
    pub stats: Stats,
}

/// One entry of a GET_DEST dump (a NEW_DEST message) of a service of `service_family`.
pub fn decode_dest(msg: &GenlMessage<'_>, service_family: Family) -> Result<DestEntry, DecodeError> {
    if msg.cmd != cmd::NEW_DEST {
        return Err(DecodeError::UnexpectedMessage {
            expected: "IPVS NEW_DEST",
            family_id: msg.family_id,
            cmd: msg.cmd,
        });
    }
    let nest = dest_nest(msg.attrs)?;
    let raw = RawDest::parse(nest)?;
    let (family, dest) = raw.dest(service_family)?;
    Ok(DestEntry {
        dest,
        family,
        active_conns: raw.active_conns.unwrap_or(0),
        inactive_conns: raw.inact_conns.unwrap_or(0),
        persist_conns: raw.persist_conns.unwrap_or(0),
        stats: stats::best(raw.stats, raw.stats64)?,
    })
}

/// The nested DEST attribute of a message (required).
pub(crate) fn dest_nest(attrs: &[u8]) -> Result<&[u8], DecodeError> {
    for attr in attributes(attrs) {
        let attr = attr?;
        if attr.kind == cmd_attr::DEST {
            return Ok(attr.payload);
        }
    }
    Err(DecodeError::Missing("dest attribute"))
}
