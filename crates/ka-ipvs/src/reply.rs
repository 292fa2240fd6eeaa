//! Replies that are neither services nor destinations: GET_INFO's and GET_CONFIG's.

use crate::netlink::{attributes, GenlMessage};
use crate::uapi::{cmd, cmd_attr, info_attr};
use crate::DecodeError;
use serde::Serialize;

/// What GET_INFO says: IPVS's version and the size of its connection hash table, the
/// first line of `ipvsadm -Ln`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Info {
    /// `IP_VS_VERSION_CODE`: 0x010201 is 1.2.1.
    pub version: u32,
    pub conn_tab_size: u32,
}

impl Info {
    /// `ipvsadm -Ln`'s first line: "IP Virtual Server version 1.2.1 (size=4096)".
    pub fn banner(&self) -> String {
        let v = self.version;
        format!(
            "IP Virtual Server version {}.{}.{} (size={})",
            (v >> 16) & 0xff,
            (v >> 8) & 0xff,
            v & 0xff,
            self.conn_tab_size
        )
    }
}

/// Connection timeouts in seconds (`ipvsadm --set tcp tcpfin udp`); in a SET_CONFIG request
/// 0 leaves a timeout unchanged.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Timeouts {
    pub tcp: u32,
    pub tcp_fin: u32,
    pub udp: u32,
}

/// A top-level u32 attribute; absent means 0.
pub(crate) fn optional_u32(attrs: &[u8], kind: u16, what: &'static str) -> Result<u32, DecodeError> {
    let mut value = 0;
    for attr in attributes(attrs) {
        let attr = attr?;
        if attr.kind == kind {
            value = attr.u32(what)?;
        }
    }
    Ok(value)
}

fn expect(msg: &GenlMessage<'_>, want: u8, expected: &'static str) -> Result<(), DecodeError> {
    if msg.cmd == want {
        Ok(())
    } else {
        Err(DecodeError::UnexpectedMessage {
            expected,
            family_id: msg.family_id,
            cmd: msg.cmd,
        })
    }
}

/// GET_INFO's reply (a SET_INFO message).
pub fn decode_info(msg: &GenlMessage<'_>) -> Result<Info, DecodeError> {
    expect(msg, cmd::SET_INFO, "IPVS SET_INFO")?;
    let mut version = None;
    let mut conn_tab_size = None;
    for attr in attributes(msg.attrs) {
        let attr = attr?;
        match attr.kind {
            info_attr::VERSION => version = Some(attr.u32("IPVS version")?),
            info_attr::CONN_TAB_SIZE => conn_tab_size = Some(attr.u32("connection table size")?),
            _ => {}
        }
    }
    Ok(Info {
        version: version.ok_or(DecodeError::Missing("IPVS version"))?,
        conn_tab_size: conn_tab_size.ok_or(DecodeError::Missing("connection table size"))?,
    })
}

/// GET_CONFIG's reply (a SET_CONFIG message). A kernel without TCP support leaves the TCP
/// timeouts out; they read as 0.
pub fn decode_timeouts(msg: &GenlMessage<'_>) -> Result<Timeouts, DecodeError> {
    expect(msg, cmd::SET_CONFIG, "IPVS SET_CONFIG")?;
    Ok(Timeouts {
        tcp: optional_u32(msg.attrs, cmd_attr::TIMEOUT_TCP, "tcp timeout")?,
        tcp_fin: optional_u32(msg.attrs, cmd_attr::TIMEOUT_TCP_FIN, "tcp fin timeout")?,
        udp: optional_u32(msg.attrs, cmd_attr::TIMEOUT_UDP, "udp timeout")?,
    })
}
