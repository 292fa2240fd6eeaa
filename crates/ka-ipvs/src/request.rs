//! IPVS requests: what the data plane asks the kernel, encoded as libnl-based clients
//! (ipvsadm, keepalived) encode it, and decoded back (for tests, captures and fuzzing).

use crate::dest::{dest_nest, put_dest, put_dest_key, RawDest};
use crate::netlink::{
    attributes, messages, Addressing, Header, MessageBuilder, Payload, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST,
};
use crate::reply::{optional_u32, Timeouts};
use crate::service::{put_service, put_service_key, service_nest, RawService};
use crate::uapi::{cmd, cmd_attr, IPVS_GENL_VERSION};
use crate::{DecodeError, EncodeError};
use ka_lb::{Change, Dest, DestKey, Service, ServiceKey};
use std::fmt;

/// One request to the IPVS family.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    NewService(Service),
    SetService(Service),
    DelService(ServiceKey),
    NewDest(ServiceKey, Dest),
    SetDest(ServiceKey, Dest),
    DelDest(ServiceKey, DestKey),
    /// GET_SERVICE dump: every service of the network namespace.
    GetServices,
    /// GET_DEST dump: the destinations of one service.
    GetDests(ServiceKey),
    GetInfo,
    /// The connection timeouts (`ipvsadm --set` shows them with `-L --timeout`).
    GetConfig,
    /// Sets the connection timeouts; 0 leaves one unchanged.
    SetConfig(Timeouts),
    /// Zeroes the counters of one service, or of all.
    Zero(Option<ServiceKey>),
    /// Removes every service (and its destinations).
    Flush,
}

impl From<&Change> for Request {
    fn from(change: &Change) -> Request {
        match change {
            Change::AddService(s) => Request::NewService(s.clone()),
            Change::EditService(s) => Request::SetService(s.clone()),
            Change::DeleteService(k) => Request::DelService(*k),
            Change::AddDest(k, d) => Request::NewDest(*k, d.clone()),
            Change::EditDest(k, d) => Request::SetDest(*k, d.clone()),
            Change::DeleteDest(k, d) => Request::DelDest(*k, *d),
        }
    }
}

impl Request {
    /// The `IPVS_CMD_*` this request is sent as.
    pub fn command(&self) -> u8 {
        match self {
            Request::NewService(_) => cmd::NEW_SERVICE,
            Request::SetService(_) => cmd::SET_SERVICE,
            Request::DelService(_) => cmd::DEL_SERVICE,
            Request::NewDest(..) => cmd::NEW_DEST,
            Request::SetDest(..) => cmd::SET_DEST,
            Request::DelDest(..) => cmd::DEL_DEST,
            Request::GetServices => cmd::GET_SERVICE,
            Request::GetDests(_) => cmd::GET_DEST,
            Request::GetInfo => cmd::GET_INFO,
            Request::GetConfig => cmd::GET_CONFIG,
            Request::SetConfig(_) => cmd::SET_CONFIG,
            Request::Zero(_) => cmd::ZERO,
            Request::Flush => cmd::FLUSH,
        }
    }

    /// Whether the kernel answers with a dump (data messages, then NLMSG_DONE) rather than
    /// at most one data message and an ACK.
    pub fn is_dump(&self) -> bool {
        matches!(self, Request::GetServices | Request::GetDests(_))
    }

    /// The netlink flags: REQUEST and ACK always (libnl's default, so every request is
    /// answered even when it carries no data), DUMP for dumps.
    pub fn flags(&self) -> u16 {
        let base = NLM_F_REQUEST | NLM_F_ACK;
        if self.is_dump() {
            base | NLM_F_DUMP
        } else {
            base
        }
    }

    /// The request as one netlink message.
    pub fn encode(&self, to: Addressing) -> Result<Vec<u8>, EncodeError> {
        let mut m = MessageBuilder::genl(to, self.flags(), self.command(), IPVS_GENL_VERSION);
        match self {
            Request::NewService(s) | Request::SetService(s) => put_service(&mut m, s)?,
            Request::DelService(k) | Request::GetDests(k) | Request::Zero(Some(k)) => {
                put_service_key(&mut m, k)
            }
            Request::NewDest(k, d) | Request::SetDest(k, d) => {
                put_service_key(&mut m, k);
                put_dest(&mut m, d);
            }
            Request::DelDest(k, d) => {
                put_service_key(&mut m, k);
                put_dest_key(&mut m, d);
            }
            Request::SetConfig(t) => {
                m.put_u32(cmd_attr::TIMEOUT_TCP, t.tcp);
                m.put_u32(cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin);
                m.put_u32(cmd_attr::TIMEOUT_UDP, t.udp);
            }
            Request::GetServices
            | Request::GetInfo
            | Request::GetConfig
            | Request::Zero(None)
            | Request::Flush => {}
        }
        Ok(m.finish())
    }

    /// What an errno means for this request, in IPVS's terms (the kernel reuses generic
    /// errnos: ESRCH is "no such service", ENOENT a missing scheduler or destination).
    pub fn explain(&self, errno: i32) -> Option<&'static str> {
        const EPERM: i32 = 1;
        const ENOENT: i32 = 2;
        const ESRCH: i32 = 3;
        const ENOMEM: i32 = 12;
        const EEXIST: i32 = 17;
        const EINVAL: i32 = 22;
        const ERANGE: i32 = 34;
        const EAFNOSUPPORT: i32 = 97;
        let service_op = matches!(
            self,
            Request::NewService(_) | Request::SetService(_) | Request::DelService(_) | Request::Zero(_)
        );
        let dest_op = matches!(
            self,
            Request::NewDest(..) | Request::SetDest(..) | Request::DelDest(..)
        );
        Some(match errno {
            EEXIST if matches!(self, Request::NewService(_)) => "the virtual service already exists",
            EEXIST if matches!(self, Request::NewDest(..)) => {
                "the real server is already in the virtual service"
            }
            ENOENT if matches!(self, Request::NewService(_) | Request::SetService(_)) => {
                "scheduler or persistence engine not found (is its ip_vs_* module available?)"
            }
            ENOENT if dest_op => "no such real server in the virtual service",
            ESRCH if service_op || dest_op || self.is_dump() => "no such virtual service",
            ERANGE if dest_op => {
                "weight or thresholds out of range (negative weight, or lower threshold above upper)"
            }
            EINVAL => {
                "invalid argument: an attribute is missing or out of range (netmask, ports, tunnel settings)"
            }
            EAFNOSUPPORT => {
                "address family not supported here (a real server of another family needs tunnelling)"
            }
            EPERM => "permission denied: IPVS needs CAP_NET_ADMIN",
            ENOMEM => "the kernel is out of memory",
            _ => return None,
        })
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::NewService(s) => write!(f, "add virtual service {}", s.key),
            Request::SetService(s) => write!(f, "edit virtual service {}", s.key),
            Request::DelService(k) => write!(f, "remove virtual service {k}"),
            Request::NewDest(k, d) => write!(f, "add real server {} to {k}", d.key),
            Request::SetDest(k, d) => write!(f, "edit real server {} of {k}", d.key),
            Request::DelDest(k, d) => write!(f, "remove real server {d} from {k}"),
            Request::GetServices => f.write_str("list virtual services"),
            Request::GetDests(k) => write!(f, "list real servers of {k}"),
            Request::GetInfo => f.write_str("get IPVS info"),
            Request::GetConfig => f.write_str("get IPVS timeouts"),
            Request::SetConfig(t) => write!(f, "set IPVS timeouts {} {} {}", t.tcp, t.tcp_fin, t.udp),
            Request::Zero(Some(k)) => write!(f, "zero counters of {k}"),
            Request::Zero(None) => f.write_str("zero all counters"),
            Request::Flush => f.write_str("flush IPVS"),
        }
    }
}

fn has_attr(attrs: &[u8], kind: u16) -> Result<bool, DecodeError> {
    for attr in attributes(attrs) {
        if attr?.kind == kind {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Reads a request message (one IPVS request as a client sent it: a capture, a fuzz input).
/// The family id is not checked; attributes a request does not need (ipvsadm sends the full
/// service with destination requests) are ignored.
pub fn decode_request(bytes: &[u8]) -> Result<(Header, Request), DecodeError> {
    let message = messages(bytes)
        .next()
        .ok_or_else(|| DecodeError::truncated("netlink message header", 16, 0))??;
    let Payload::Data(msg) = message.payload else {
        return Err(DecodeError::Invalid {
            what: "request",
            why: "not a generic netlink data message".into(),
        });
    };
    let service_key = || RawService::parse(service_nest(msg.attrs)?)?.key();
    let request = match msg.cmd {
        cmd::NEW_SERVICE | cmd::SET_SERVICE => {
            let service = RawService::parse(service_nest(msg.attrs)?)?
                .entry()?
                .to_service()?;
            if msg.cmd == cmd::NEW_SERVICE {
                Request::NewService(service)
            } else {
                Request::SetService(service)
            }
        }
        cmd::DEL_SERVICE => Request::DelService(service_key()?),
        cmd::NEW_DEST | cmd::SET_DEST | cmd::DEL_DEST => {
            let key = service_key()?;
            let raw = RawDest::parse(dest_nest(msg.attrs)?)?;
            match msg.cmd {
                cmd::NEW_DEST => Request::NewDest(key, raw.dest(key.family())?.1),
                cmd::SET_DEST => Request::SetDest(key, raw.dest(key.family())?.1),
                _ => Request::DelDest(key, raw.key(key.family())?.1),
            }
        }
        cmd::GET_SERVICE if message.header.flags & NLM_F_DUMP == NLM_F_DUMP => Request::GetServices,
        cmd::GET_DEST => Request::GetDests(service_key()?),
        cmd::GET_INFO => Request::GetInfo,
        cmd::GET_CONFIG => Request::GetConfig,
        cmd::SET_CONFIG => Request::SetConfig(Timeouts {
            tcp: optional_u32(msg.attrs, cmd_attr::TIMEOUT_TCP, "tcp timeout")?,
            tcp_fin: optional_u32(msg.attrs, cmd_attr::TIMEOUT_TCP_FIN, "tcp fin timeout")?,
            udp: optional_u32(msg.attrs, cmd_attr::TIMEOUT_UDP, "udp timeout")?,
        }),
        cmd::ZERO => {
            if has_attr(msg.attrs, cmd_attr::SERVICE)? {
                Request::Zero(Some(service_key()?))
            } else {
                Request::Zero(None)
            }
        }
        cmd::FLUSH => Request::Flush,
        other => {
            return Err(DecodeError::Invalid {
                what: "request command",
                why: format!("IPVS command {other} is not one this codec sends"),
            })
        }
    };
    Ok((message.header, request))
}
