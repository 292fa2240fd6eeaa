//! keepalived-rs's own codec for IPVS, the kernel's load balancer, over generic netlink —
//! pure: it builds and reads bytes, the I/O edge (`ka-net`) sends them.
//!
//! - [`netlink`]: message and attribute framing, the kernel's ACK/error/done answers;
//! - [`ctrl`]: resolving the "IPVS" family's id through nlctrl;
//! - [`Request`]: every request the data plane sends (services, destinations, dumps, info,
//!   timeouts, zero, flush), encoded byte for byte as ipvsadm and keepalived encode them, and
//!   decoded back;
//! - [`decode_service`], [`decode_dest`], [`decode_info`], [`decode_timeouts`]: the replies,
//!   with connection counts and [`Stats`] for listings, convertible to the `ka_lb` model.
//!
//! Byte order: netlink integers are the host's; ports and the IPv4 persistence mask are
//! big-endian, as the kernel reads them. Bad input is an error, never a panic
//! (`fuzz/fuzz_targets/ipvs_replies.rs`).

pub mod ctrl;
mod dest;
pub mod netlink;
mod reply;
mod request;
mod service;
mod stats;
pub mod uapi;

pub use dest::{decode_dest, DestEntry};
pub use reply::{decode_info, decode_timeouts, Info, Timeouts};
pub use request::{decode_request, Request};
pub use service::{decode_service, ServiceEntry};
pub use stats::Stats;

use std::fmt;

/// Why bytes could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the structure needs.
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// A length field or an attribute's size that does not fit.
    BadLength { what: &'static str, len: usize },
    /// A required attribute is absent.
    Missing(&'static str),
    /// A value outside what the field allows.
    Invalid { what: &'static str, why: String },
    /// A message of another family or command than the one expected.
    UnexpectedMessage {
        expected: &'static str,
        family_id: u16,
        cmd: u8,
    },
}

impl DecodeError {
    pub(crate) fn truncated(what: &'static str, need: usize, have: usize) -> DecodeError {
        DecodeError::Truncated { what, need, have }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { what, need, have } => {
                write!(f, "{what}: truncated ({have} bytes, need {need})")
            }
            DecodeError::BadLength { what, len } => write!(f, "{what}: bad length {len}"),
            DecodeError::Missing(what) => write!(f, "{what}: missing"),
            DecodeError::Invalid { what, why } => write!(f, "{what}: {why}"),
            DecodeError::UnexpectedMessage {
                expected,
                family_id,
                cmd,
            } => write!(f, "expected {expected}, got family {family_id} command {cmd}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a request cannot be encoded (a value the wire format cannot carry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodeError {
    pub what: &'static str,
    pub why: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.what, self.why)
    }
}

impl std::error::Error for EncodeError {}

/// Entry points shared by the cargo-fuzz target (`fuzz/fuzz_targets/ipvs_replies.rs`) and the
/// test that replays its corpus, so that both exercise exactly the same code.
pub mod fuzzing {
    use crate::netlink::{messages, Addressing, Payload};
    use crate::{ctrl, decode_dest, decode_info, decode_request, decode_service, decode_timeouts};
    use ka_lb::Family;

    /// Feeds arbitrary bytes to every decoder. Must never panic. What decodes as a request
    /// must encode back to a message that decodes to the same request.
    pub fn decode_everything(data: &[u8]) {
        for message in messages(data) {
            let Ok(message) = message else { break };
            if let Payload::Data(msg) = message.payload {
                if let Ok(entry) = decode_service(&msg) {
                    let _ = entry.to_service();
                }
                let _ = decode_dest(&msg, Family::Ipv4);
                let _ = decode_dest(&msg, Family::Ipv6);
                let _ = decode_info(&msg).map(|i| i.banner());
                let _ = decode_timeouts(&msg);
                let _ = ctrl::parse_family(&msg);
            }
        }
        if let Ok((header, request)) = decode_request(data) {
            let to = Addressing {
                family_id: header.kind,
                seq: header.seq,
                port: header.port,
            };
            if let Ok(bytes) = request.encode(to) {
                let again = decode_request(&bytes).map(|(_, r)| r);
                assert_eq!(
                    again.as_ref(),
                    Ok(&request),
                    "request does not survive encode/decode"
                );
            }
        }
    }
}
