//! Netlink framing, as far as generic netlink needs it: the message header, the generic
//! netlink header, attributes (with nesting), and the kernel's answers (ACK, error with its
//! extended-ACK text, end of dump).
//!
//! Netlink integers are in the host's byte order (`ne`); the few big-endian fields (ports)
//! are the caller's business. Every reader checks lengths before it looks: a short or
//! inconsistent buffer is a [`DecodeError`], never a panic.

use crate::DecodeError;

/// `struct nlmsghdr`: length, type, flags, sequence number, port id.
pub const NLMSG_HDRLEN: usize = 16;
/// `struct genlmsghdr`: command, version, reserved.
pub const GENL_HDRLEN: usize = 4;
/// `struct nlattr`: length, type.
pub const NLA_HDRLEN: usize = 4;

pub const NLMSG_NOOP: u16 = 1;
pub const NLMSG_ERROR: u16 = 2;
pub const NLMSG_DONE: u16 = 3;
pub const NLMSG_OVERRUN: u16 = 4;

pub const NLM_F_REQUEST: u16 = 0x1;
pub const NLM_F_MULTI: u16 = 0x2;
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_ROOT | NLM_F_MATCH`.
pub const NLM_F_DUMP: u16 = 0x300;
/// In an error message: the echoed request was cut to its header (`NETLINK_CAP_ACK`).
pub const NLM_F_CAPPED: u16 = 0x100;
/// In an error message: extended-ACK attributes follow the echoed request.
pub const NLM_F_ACK_TLVS: u16 = 0x200;

/// Extended ACK: the kernel's human-readable reason.
const NLMSGERR_ATTR_MSG: u16 = 1;

/// In an attribute's type: the payload is attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// The attribute type without the NESTED and NET_BYTEORDER bits.
pub const NLA_TYPE_MASK: u16 = 0x3fff;

pub const fn align4(n: usize) -> usize {
    (n + 3) & !3
}

/// A netlink message header as received or sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub kind: u16,
    pub flags: u16,
    pub seq: u32,
    pub port: u32,
}

/// Where a request goes and how the reply is matched: the generic netlink family id (the
/// message type), the sequence number, and the sender's port id (0 lets the kernel fill it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Addressing {
    pub family_id: u16,
    pub seq: u32,
    pub port: u32,
}

/// A generic netlink message: command, version and its attributes (still encoded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GenlMessage<'a> {
    /// The family id the message was sent with (the netlink message type).
    pub family_id: u16,
    pub cmd: u8,
    pub version: u8,
    pub attrs: &'a [u8],
}

/// An error the kernel answered with: a negative errno and, with extended ACKs, its reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelError {
    /// Positive errno (EEXIST = 17, ...).
    pub errno: i32,
    pub message: Option<String>,
}

/// What one received message says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Payload<'a> {
    /// NLMSG_ERROR with error 0: the request was carried out.
    Ack,
    /// NLMSG_ERROR with a negative error, or a dump ended by NLMSG_DONE with one.
    Error(KernelError),
    /// NLMSG_DONE: the end of a dump.
    Done,
    /// A data message of a generic netlink family.
    Data(GenlMessage<'a>),
    /// NLMSG_NOOP: nothing to do.
    Noop,
}

/// One received message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    pub header: Header,
    pub payload: Payload<'a>,
}

fn u16_at(buf: &[u8], at: usize) -> Option<u16> {
    let bytes = buf.get(at..at.checked_add(2)?)?;
    Some(u16::from_ne_bytes([bytes[0], bytes[1]]))
}

fn u32_at(buf: &[u8], at: usize) -> Option<u32> {
    let bytes = buf.get(at..at.checked_add(4)?)?;
    Some(u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Reads a message header at the start of `buf` and checks its length against `buf`.
pub fn parse_header(buf: &[u8]) -> Result<Header, DecodeError> {
    if buf.len() < NLMSG_HDRLEN {
        return Err(DecodeError::truncated(
            "netlink message header",
            NLMSG_HDRLEN,
            buf.len(),
        ));
    }
    let header = Header {
        len: u32_at(buf, 0).unwrap_or(0),
        kind: u16_at(buf, 4).unwrap_or(0),
        flags: u16_at(buf, 6).unwrap_or(0),
        seq: u32_at(buf, 8).unwrap_or(0),
        port: u32_at(buf, 12).unwrap_or(0),
    };
    let len = header.len as usize;
    if len < NLMSG_HDRLEN || len > buf.len() {
        return Err(DecodeError::BadLength {
            what: "netlink message",
            len,
        });
    }
    Ok(header)
}

/// The messages in a received datagram (or any concatenation of messages), in order.
pub fn messages(buf: &[u8]) -> Messages<'_> {
    Messages { rest: buf }
}

/// Iterator returned by [`messages`]. After an error it yields nothing more.
#[derive(Clone, Debug)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let buf = self.rest;
        let header = match parse_header(buf) {
            Ok(h) => h,
            Err(e) => {
                self.rest = &[];
                return Some(Err(e));
            }
        };
        let len = header.len as usize;
        // The last message's padding may be missing; the kernel's NLMSG_NEXT tolerates it.
        self.rest = buf.get(align4(len)..).unwrap_or(&[]);
        let body = &buf[NLMSG_HDRLEN..len];
        let payload = match parse_payload(&header, body) {
            Ok(p) => p,
            Err(e) => {
                self.rest = &[];
                return Some(Err(e));
            }
        };
        Some(Ok(Message { header, payload }))
    }
}

fn errno_of(code: i32) -> i32 {
    // The kernel sends -errno; a positive value would be a broken peer, reported as is.
    code.checked_neg().unwrap_or(i32::MAX)
}

fn parse_payload<'a>(header: &Header, body: &'a [u8]) -> Result<Payload<'a>, DecodeError> {
    match header.kind {
        NLMSG_NOOP => Ok(Payload::Noop),
        NLMSG_ERROR => {
            let code = u32_at(body, 0)
                .ok_or_else(|| DecodeError::truncated("netlink error code", 4, body.len()))?
                as i32;
            if code == 0 {
                return Ok(Payload::Ack);
            }
            Ok(Payload::Error(KernelError {
                errno: errno_of(code),
                message: extended_ack_message(header.flags, body)?,
            }))
        }
        NLMSG_DONE => {
            // The error code of a dump; absent in very old kernels.
            let code = u32_at(body, 0).map(|c| c as i32).unwrap_or(0);
            if code == 0 {
                return Ok(Payload::Done);
            }
            let tlvs = body.get(4..).unwrap_or(&[]);
            let message = if header.flags & NLM_F_ACK_TLVS != 0 {
                find_message(tlvs)?
            } else {
                None
            };
            Ok(Payload::Error(KernelError {
                errno: errno_of(code),
                message,
            }))
        }
        NLMSG_OVERRUN => Err(DecodeError::Invalid {
            what: "netlink message",
            why: "the kernel reported an overrun (messages were lost)".into(),
        }),
        family_id => {
            if body.len() < GENL_HDRLEN {
                return Err(DecodeError::truncated(
                    "generic netlink header",
                    GENL_HDRLEN,
                    body.len(),
                ));
            }
            Ok(Payload::Data(GenlMessage {
                family_id,
                cmd: body[0],
                version: body[1],
                attrs: &body[GENL_HDRLEN..],
            }))
        }
    }
}

/// The extended-ACK text after the echoed request of an NLMSG_ERROR, if the kernel sent one.
fn extended_ack_message(flags: u16, body: &[u8]) -> Result<Option<String>, DecodeError> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return Ok(None);
    }
    let echoed = body.get(4..).unwrap_or(&[]);
    let echoed_len = if flags & NLM_F_CAPPED != 0 {
        NLMSG_HDRLEN
    } else {
        u32_at(echoed, 0)
            .map(|l| align4(l as usize))
            .unwrap_or(NLMSG_HDRLEN)
    };
    match echoed.get(echoed_len..) {
        Some(tlvs) => find_message(tlvs),
        None => Err(DecodeError::truncated("echoed request", echoed_len, echoed.len())),
    }
}

fn find_message(tlvs: &[u8]) -> Result<Option<String>, DecodeError> {
    for attr in attributes(tlvs) {
        let attr = attr?;
        if attr.kind == NLMSGERR_ATTR_MSG {
            return Ok(Some(attr.string()?.to_string()));
        }
    }
    Ok(None)
}

/// One attribute: its type (flags masked off) and payload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attr<'a> {
    pub kind: u16,
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    fn exact<const N: usize>(&self, what: &'static str) -> Result<[u8; N], DecodeError> {
        <[u8; N]>::try_from(self.payload).map_err(|_| DecodeError::BadLength {
            what,
            len: self.payload.len(),
        })
    }

    pub fn u8(&self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.exact::<1>(what)?[0])
    }

    pub fn u16(&self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_ne_bytes(self.exact(what)?))
    }

    pub fn be16(&self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.exact(what)?))
    }

    pub fn u32(&self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_ne_bytes(self.exact(what)?))
    }

    pub fn u64(&self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_ne_bytes(self.exact(what)?))
    }

    /// A NUL-terminated string (the NUL and anything after it dropped), UTF-8.
    pub fn string(&self) -> Result<&'a str, DecodeError> {
        let bytes = match self.payload.iter().position(|&b| b == 0) {
            Some(nul) => &self.payload[..nul],
            None => self.payload,
        };
        std::str::from_utf8(bytes).map_err(|_| DecodeError::Invalid {
            what: "string attribute",
            why: "not UTF-8".into(),
        })
    }

    /// The attributes nested in this one.
    pub fn nested(&self) -> Attrs<'a> {
        attributes(self.payload)
    }
}

/// The attributes in `buf`, in order.
pub fn attributes(buf: &[u8]) -> Attrs<'_> {
    Attrs { rest: buf }
}

/// Iterator returned by [`attributes`]. After an error it yields nothing more.
#[derive(Clone, Debug)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let buf = self.rest;
        let (Some(len), Some(kind)) = (u16_at(buf, 0), u16_at(buf, 2)) else {
            self.rest = &[];
            return Some(Err(DecodeError::truncated(
                "netlink attribute header",
                NLA_HDRLEN,
                buf.len(),
            )));
        };
        let len = len as usize;
        if len < NLA_HDRLEN || len > buf.len() {
            self.rest = &[];
            return Some(Err(DecodeError::BadLength {
                what: "netlink attribute",
                len,
            }));
        }
        self.rest = buf.get(align4(len)..).unwrap_or(&[]);
        Some(Ok(Attr {
            kind: kind & NLA_TYPE_MASK,
            payload: &buf[NLA_HDRLEN..len],
        }))
    }
}

/// Builds one netlink message: header, optional generic netlink header, attributes. The
/// lengths (message and nests) are filled in by [`MessageBuilder::finish`] and
/// [`MessageBuilder::end_nest`].
#[derive(Debug)]
pub struct MessageBuilder {
    buf: Vec<u8>,
}

impl MessageBuilder {
    pub fn new(kind: u16, flags: u16, seq: u32, port: u32) -> MessageBuilder {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes());
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&flags.to_ne_bytes());
        buf.extend_from_slice(&seq.to_ne_bytes());
        buf.extend_from_slice(&port.to_ne_bytes());
        MessageBuilder { buf }
    }

    /// A generic netlink message: the netlink header then `genlmsghdr`.
    pub fn genl(to: Addressing, flags: u16, cmd: u8, version: u8) -> MessageBuilder {
        let mut m = MessageBuilder::new(to.family_id, flags, to.seq, to.port);
        m.buf.extend_from_slice(&[cmd, version, 0, 0]);
        m
    }

    fn pad(&mut self) {
        self.buf.resize(align4(self.buf.len()), 0);
    }

    /// An attribute with `payload`, padded to 4 bytes. Payloads over 64 KiB cannot be
    /// expressed; every IPVS attribute is a few bytes, so the length is clamped rather than
    /// checked at each call.
    pub fn put(&mut self, kind: u16, payload: &[u8]) {
        let len = u16::try_from(NLA_HDRLEN + payload.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        self.pad();
    }

    pub fn put_u8(&mut self, kind: u16, v: u8) {
        self.put(kind, &[v]);
    }

    pub fn put_u16(&mut self, kind: u16, v: u16) {
        self.put(kind, &v.to_ne_bytes());
    }

    pub fn put_be16(&mut self, kind: u16, v: u16) {
        self.put(kind, &v.to_be_bytes());
    }

    pub fn put_u32(&mut self, kind: u16, v: u32) {
        self.put(kind, &v.to_ne_bytes());
    }

    /// A string with its NUL terminator, as libnl's NLA_PUT_STRING writes it.
    pub fn put_string(&mut self, kind: u16, s: &str) {
        let mut payload = Vec::with_capacity(s.len() + 1);
        payload.extend_from_slice(s.as_bytes());
        payload.push(0);
        self.put(kind, &payload);
    }

    /// Starts a nested attribute; close it with [`MessageBuilder::end_nest`]. The type
    /// carries NLA_F_NESTED, as libnl 3.7 (ipvsadm, keepalived) sets it; the kernel's IPVS
    /// parser accepts it with or without, and its own dumps leave it clear.
    pub fn begin_nest(&mut self, kind: u16) -> Nest {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        Nest(at)
    }

    pub fn end_nest(&mut self, nest: Nest) {
        let len = u16::try_from(self.buf.len() - nest.0).unwrap_or(u16::MAX);
        self.buf[nest.0..nest.0 + 2].copy_from_slice(&len.to_ne_bytes());
    }

    /// The finished message, its length filled in.
    pub fn finish(mut self) -> Vec<u8> {
        self.pad();
        let len = u32::try_from(self.buf.len()).unwrap_or(u32::MAX);
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// An open nested attribute (its offset in the message).
#[derive(Debug)]
#[must_use = "a nest must be closed with end_nest"]
pub struct Nest(usize);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_pads_attributes_and_fills_lengths() {
        let to = Addressing {
            family_id: 0x22,
            seq: 7,
            port: 9,
        };
        let mut m = MessageBuilder::genl(to, NLM_F_REQUEST | NLM_F_ACK, 1, 1);
        let nest = m.begin_nest(1);
        m.put_u16(1, 2);
        m.put_string(6, "rr");
        m.end_nest(nest);
        let bytes = m.finish();
        assert_eq!(bytes.len(), 16 + 4 + 4 + 8 + 8);
        let msgs: Vec<_> = messages(&bytes).collect::<Result<_, _>>().unwrap();
        assert_eq!(msgs.len(), 1);
        assert_eq!(msgs[0].header.seq, 7);
        let Payload::Data(g) = &msgs[0].payload else {
            panic!("not data")
        };
        assert_eq!((g.family_id, g.cmd, g.version), (0x22, 1, 1));
        let outer: Vec<_> = attributes(g.attrs).collect::<Result<_, _>>().unwrap();
        assert_eq!(outer.len(), 1);
        let inner: Vec<_> = outer[0].nested().collect::<Result<_, _>>().unwrap();
        assert_eq!(inner[0].u16("af").unwrap(), 2);
        assert_eq!(inner[1].string().unwrap(), "rr");
    }

    #[test]
    fn inconsistent_lengths_are_errors() {
        assert!(parse_header(&[0; 15]).is_err());
        let mut bytes = MessageBuilder::new(0x22, 0, 1, 0).finish();
        bytes[0] = 200;
        assert!(messages(&bytes).next().unwrap().is_err());
        bytes[0] = 3;
        assert!(messages(&bytes).next().unwrap().is_err());
        assert!(attributes(&[8, 0, 1, 0, 1]).next().unwrap().is_err());
        assert!(attributes(&[2, 0, 1, 0]).next().unwrap().is_err());
        assert!(attributes(&[4, 0]).next().unwrap().is_err());
    }

    #[test]
    fn errors_carry_the_extended_ack_text() {
        // NLMSG_ERROR -EINVAL, request capped to its header, then NLMSGERR_ATTR_MSG.
        let mut m = MessageBuilder::new(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 5, 77);
        let mut body = (-22i32).to_ne_bytes().to_vec();
        body.extend_from_slice(&MessageBuilder::new(0x22, 5, 5, 77).finish());
        m.buf.extend_from_slice(&body);
        m.put_string(NLMSGERR_ATTR_MSG, "bad thing");
        let bytes = m.finish();
        let msg = messages(&bytes).next().unwrap().unwrap();
        assert_eq!(
            msg.payload,
            Payload::Error(KernelError {
                errno: 22,
                message: Some("bad thing".into())
            })
        );
    }
}
