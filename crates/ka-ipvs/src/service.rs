//! Virtual services on the wire (`IPVS_CMD_ATTR_SERVICE`): the identifying attributes, the
//! full entry NEW/SET_SERVICE carry, and the entries a GET_SERVICE dump returns.

use crate::netlink::{attributes, GenlMessage, MessageBuilder};
use crate::stats::{self, Stats};
use crate::uapi::{cmd, cmd_attr, svc_attr, AF_INET, AF_INET6, NAME_MAXLEN};
use crate::{DecodeError, EncodeError};
use ka_lb::model::service_flags;
use ka_lb::{Family, Protocol, Scheduler, Service, ServiceKey};
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub(crate) fn af_of(family: Family) -> u16 {
    match family {
        Family::Ipv4 => AF_INET,
        Family::Ipv6 => AF_INET6,
    }
}

pub(crate) fn family_of(af: u16) -> Result<Family, DecodeError> {
    match af {
        AF_INET => Ok(Family::Ipv4),
        AF_INET6 => Ok(Family::Ipv6),
        other => Err(DecodeError::Invalid {
            what: "address family",
            why: format!("{other} is neither AF_INET nor AF_INET6"),
        }),
    }
}

/// `union nf_inet_addr` as libipvs and keepalived send it: always 16 bytes.
pub(crate) fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    match addr {
        IpAddr::V4(a) => {
            let mut b = [0; 16];
            b[..4].copy_from_slice(&a.octets());
            b
        }
        IpAddr::V6(a) => a.octets(),
    }
}

/// Reads an address of `family` (4 or 16 bytes for IPv4, the kernel sends 16).
pub(crate) fn addr_from(family: Family, bytes: &[u8], what: &'static str) -> Result<IpAddr, DecodeError> {
    match family {
        Family::Ipv4 => match bytes.get(..4) {
            Some(&[a, b, c, d]) if bytes.len() == 4 || bytes.len() == 16 => {
                Ok(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
            }
            _ => Err(DecodeError::BadLength {
                what,
                len: bytes.len(),
            }),
        },
        Family::Ipv6 => <[u8; 16]>::try_from(bytes)
            .map(|b| IpAddr::V6(Ipv6Addr::from(b)))
            .map_err(|_| DecodeError::BadLength {
                what,
                len: bytes.len(),
            }),
    }
}

/// NETMASK's wire form: an IPv4 mask goes as its bytes (the kernel ANDs it with addresses
/// in network order), an IPv6 prefix length as a plain host-order number.
fn netmask_bytes(family: Family, netmask: u32) -> [u8; 4] {
    match family {
        Family::Ipv4 => netmask.to_be_bytes(),
        Family::Ipv6 => netmask.to_ne_bytes(),
    }
}

fn netmask_from(family: Family, bytes: [u8; 4]) -> u32 {
    match family {
        Family::Ipv4 => u32::from_be_bytes(bytes),
        Family::Ipv6 => u32::from_ne_bytes(bytes),
    }
}

/// AF, then FWMARK or PROTOCOL/ADDR/PORT: what names a service (libipvs's order).
fn put_key(m: &mut MessageBuilder, key: &ServiceKey) {
    m.put_u16(svc_attr::AF, af_of(key.family()));
    match key {
        ServiceKey::Fwmark { mark, .. } => m.put_u32(svc_attr::FWMARK, *mark),
        ServiceKey::Addr { protocol, addr, port } => {
            m.put_u16(svc_attr::PROTOCOL, u16::from(protocol.number()));
            m.put(svc_attr::ADDR, &addr_bytes(addr));
            m.put_be16(svc_attr::PORT, *port);
        }
    }
}

/// `IPVS_CMD_ATTR_SERVICE` with only what identifies the service (DEL_SERVICE, the service
/// of destination requests, GET_DEST, ZERO).
pub(crate) fn put_service_key(m: &mut MessageBuilder, key: &ServiceKey) {
    let nest = m.begin_nest(cmd_attr::SERVICE);
    put_key(m, key);
    m.end_nest(nest);
}

/// `IPVS_CMD_ATTR_SERVICE` in full (NEW/SET_SERVICE), in the order libipvs and keepalived
/// write it: key, SCHED_NAME, PE_NAME if any, FLAGS with an all-ones mask (the flags replace
/// the service's), TIMEOUT, NETMASK.
pub(crate) fn put_service(m: &mut MessageBuilder, svc: &Service) -> Result<(), EncodeError> {
    let nest = m.begin_nest(cmd_attr::SERVICE);
    put_key(m, &svc.key);
    m.put_string(svc_attr::SCHED_NAME, svc.scheduler.name());
    if let Some(pe) = &svc.pe_name {
        if pe.len() >= NAME_MAXLEN || pe.contains('\0') {
            return Err(EncodeError {
                what: "persistence engine name",
                why: format!("{pe:?} must be 1 to {} bytes without NUL", NAME_MAXLEN - 1),
            });
        }
        m.put_string(svc_attr::PE_NAME, pe);
    }
    let mut flags = [0u8; 8];
    flags[..4].copy_from_slice(&svc.flags.to_ne_bytes());
    flags[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
    m.put(svc_attr::FLAGS, &flags);
    m.put_u32(svc_attr::TIMEOUT, svc.timeout);
    m.put(svc_attr::NETMASK, &netmask_bytes(svc.key.family(), svc.netmask));
    m.end_nest(nest);
    Ok(())
}

/// The attributes of a service nest, before interpretation.
#[derive(Default)]
pub(crate) struct RawService<'a> {
    af: Option<u16>,
    protocol: Option<u16>,
    addr: Option<&'a [u8]>,
    port: Option<u16>,
    fwmark: Option<u32>,
    sched_name: Option<&'a str>,
    flags: Option<(u32, u32)>,
    timeout: Option<u32>,
    netmask: Option<[u8; 4]>,
    pe_name: Option<&'a str>,
    stats: Option<&'a [u8]>,
    stats64: Option<&'a [u8]>,
}

impl<'a> RawService<'a> {
    pub(crate) fn parse(nested: &'a [u8]) -> Result<RawService<'a>, DecodeError> {
        let mut s = RawService::default();
        for attr in attributes(nested) {
            let attr = attr?;
            match attr.kind {
                svc_attr::AF => s.af = Some(attr.u16("service af")?),
                svc_attr::PROTOCOL => s.protocol = Some(attr.u16("service protocol")?),
                svc_attr::ADDR => s.addr = Some(attr.payload),
                svc_attr::PORT => s.port = Some(attr.be16("service port")?),
                svc_attr::FWMARK => s.fwmark = Some(attr.u32("service fwmark")?),
                svc_attr::SCHED_NAME => s.sched_name = Some(attr.string()?),
                svc_attr::FLAGS => match attr.payload {
                    [f0, f1, f2, f3, m0, m1, m2, m3] => {
                        s.flags = Some((
                            u32::from_ne_bytes([*f0, *f1, *f2, *f3]),
                            u32::from_ne_bytes([*m0, *m1, *m2, *m3]),
                        ))
                    }
                    other => {
                        return Err(DecodeError::BadLength {
                            what: "service flags",
                            len: other.len(),
                        })
                    }
                },
                svc_attr::TIMEOUT => s.timeout = Some(attr.u32("service timeout")?),
                svc_attr::NETMASK => s.netmask = Some(attr.u32("service netmask")?.to_ne_bytes()),
                svc_attr::PE_NAME => s.pe_name = Some(attr.string()?),
                svc_attr::STATS => s.stats = Some(attr.payload),
                svc_attr::STATS64 => s.stats64 = Some(attr.payload),
                _ => {}
            }
        }
        Ok(s)
    }

    /// The service's identity: AF and FWMARK (non-zero), or AF, PROTOCOL, ADDR and PORT.
    pub(crate) fn key(&self) -> Result<ServiceKey, DecodeError> {
        let family = family_of(self.af.ok_or(DecodeError::Missing("service af"))?)?;
        if let Some(mark) = self.fwmark.filter(|&m| m != 0) {
            return Ok(ServiceKey::Fwmark { family, mark });
        }
        let number = self.protocol.ok_or(DecodeError::Missing("service protocol"))?;
        let protocol = u8::try_from(number)
            .ok()
            .and_then(Protocol::from_number)
            .ok_or_else(|| DecodeError::Invalid {
                what: "service protocol",
                why: format!("IP protocol {number} is not TCP, UDP or SCTP"),
            })?;
        let addr = addr_from(
            family,
            self.addr.ok_or(DecodeError::Missing("service address"))?,
            "service address",
        )?;
        let port = self.port.ok_or(DecodeError::Missing("service port"))?;
        Ok(ServiceKey::Addr { protocol, addr, port })
    }

    /// The full entry (NEW/SET_SERVICE requests, dump replies).
    pub(crate) fn entry(&self) -> Result<ServiceEntry, DecodeError> {
        let key = self.key()?;
        let (flags, mask) = self.flags.ok_or(DecodeError::Missing("service flags"))?;
        let netmask = self.netmask.ok_or(DecodeError::Missing("service netmask"))?;
        Ok(ServiceEntry {
            key,
            scheduler: self
                .sched_name
                .ok_or(DecodeError::Missing("service scheduler"))?
                .to_string(),
            flags: flags & mask,
            timeout: self.timeout.ok_or(DecodeError::Missing("service timeout"))?,
            netmask: netmask_from(key.family(), netmask),
            pe_name: self.pe_name.filter(|n| !n.is_empty()).map(str::to_string),
            stats: stats::best(self.stats, self.stats64)?,
        })
    }
}

/// A service as the kernel lists it: the settings in IPVS's terms (the scheduler by name, the
/// raw flags) and its counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceEntry {
    pub key: ServiceKey,
    /// The scheduler's name, as the kernel has it.
    pub scheduler: String,
    /// `IP_VS_SVC_F_*`, the kernel's HASHED bit included.
    pub flags: u32,
    pub timeout: u32,
    /// As [`Service::netmask`]: an IPv4 mask as a host-order number, or an IPv6 prefix length.
    pub netmask: u32,
    pub pe_name: Option<String>,
    pub stats: Stats,
}

impl ServiceEntry {
    /// The service in the model's terms. Fails for a scheduler this code does not know (a
    /// newer kernel's), which the model cannot hold.
    pub fn to_service(&self) -> Result<Service, DecodeError> {
        let scheduler = Scheduler::from_name(&self.scheduler).ok_or_else(|| DecodeError::Invalid {
            what: "scheduler",
            why: format!("{:?} is not a scheduler keepalived-rs knows", self.scheduler),
        })?;
        Ok(Service {
            key: self.key,
            scheduler,
            // HASHED is the kernel's bookkeeping; the rest is what a configuration sets.
            flags: self.flags & service_flags::CONFIGURABLE,
            timeout: self.timeout,
            netmask: self.netmask,
            pe_name: self.pe_name.clone(),
        })
    }
}

/// The nested SERVICE attribute of a message (required).
pub(crate) fn service_nest(attrs: &[u8]) -> Result<&[u8], DecodeError> {
    for attr in attributes(attrs) {
        let attr = attr?;
        if attr.kind == cmd_attr::SERVICE {
            return Ok(attr.payload);
        }
    }
    Err(DecodeError::Missing("service attribute"))
}

/// One entry of a GET_SERVICE dump (a NEW_SERVICE message).
pub fn decode_service(msg: &GenlMessage<'_>) -> Result<ServiceEntry, DecodeError> {
    if msg.cmd != cmd::NEW_SERVICE {
        return Err(DecodeError::UnexpectedMessage {
            expected: "IPVS NEW_SERVICE",
            family_id: msg.family_id,
            cmd: msg.cmd,
        });
    }
    RawService::parse(service_nest(msg.attrs)?)?.entry()
}
