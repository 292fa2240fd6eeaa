//! UDP_CHECK: sends a datagram and optionally checks the reply (keepalived's check_udp.c).

use super::{conn_or_timing_keyword, link_local_check, Checker, CheckerKind, NewChecker};
use crate::cx::Cx;
use crate::lvs::{code, read};
use crate::syntax::Statement;
use serde::{Serialize, Serializer};

#[derive(Clone, Debug, Serialize)]
pub struct UdpCheck {
    /// `payload`: bytes to send; None: keepalived sends random data.
    #[serde(serialize_with = "hex_opt")]
    pub payload: Option<Vec<u8>>,
    /// `require_reply`: a reply must come (and match `reply` if given).
    pub require_reply: bool,
    /// The hex pattern after `require_reply`.
    pub reply: Option<ReplyPattern>,
    /// `min_reply_length`: default 0.
    pub min_reply_length: u16,
    /// `max_reply_length`: default 255.
    pub max_reply_length: u16,
}

impl Default for UdpCheck {
    fn default() -> Self {
        UdpCheck {
            payload: None,
            require_reply: false,
            reply: None,
            min_reply_length: 0,
            max_reply_length: 255,
        }
    }
}

/// Expected reply bytes; a set bit in `mask` is a wildcard bit (`x` nibbles in the config).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReplyPattern {
    #[serde(serialize_with = "hex")]
    pub data: Vec<u8>,
    #[serde(serialize_with = "hex")]
    pub mask: Vec<u8>,
}

fn hex<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn hex_opt<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match bytes {
        Some(b) => hex(b, s),
        None => s.serialize_none(),
    }
}

pub(crate) fn new_kind() -> CheckerKind {
    CheckerKind::Udp(UdpCheck::default())
}

pub(crate) fn parse(cx: &mut Cx<'_>, statements: &[Statement], mut new: NewChecker) -> Option<Checker> {
    let mut udp = UdpCheck::default();
    cx.each_statement(statements, "UDP_CHECK", &mut |cx, s| {
        if conn_or_timing_keyword(cx, s, &mut new.checker.common) {
            return true;
        }
        match s.keyword() {
            "payload" => {
                cx.no_block(s);
                if s.words.len() < 2 {
                    read::missing(
                        cx,
                        s,
                        "UDP_CHECK payload requires a payload".into(),
                        "expected hex digits",
                    );
                    return true;
                }
                udp.payload = read_hex(&joined(s), false).map(|(data, _)| data);
                if udp.payload.is_none() {
                    let msg = "Invalid hex string for UDP_CHECK payload".to_string();
                    read::error_at_word(cx, s, 1, msg, "expected hex digits, e.g. 'payload 01 02 ab'");
                }
            }
            "require_reply" => {
                cx.no_block(s);
                udp.require_reply = true;
                if s.words.len() < 2 {
                    return true;
                }
                udp.reply = read_hex(&joined(s), true).map(|(data, mask)| ReplyPattern { data, mask });
                if udp.reply.is_none() {
                    let msg = "Invalid hex string for UDP_CHECK reply".to_string();
                    read::error_at_word(cx, s, 1, msg, "expected hex digits, x for a wildcard nibble");
                }
            }
            "min_reply_length" | "max_reply_length" => {
                cx.no_block(s);
                let which = if s.keyword() == "min_reply_length" {
                    "min"
                } else {
                    "max"
                };
                let msg =
                    |w: &str| format!("UDP_CHECK {which} length {w} not valid - must be between 0 & 65535");
                if let Some(v) = read::unsigned_required(cx, s, 1, 0, 65535, msg) {
                    let v = u16::try_from(v).unwrap_or(u16::MAX);
                    if which == "min" {
                        udp.min_reply_length = v;
                    } else {
                        udp.max_reply_length = v;
                    }
                }
            }
            _ => return false,
        }
        true
    });
    if !link_local_check(cx, &new) {
        return None;
    }
    if udp.min_reply_length > udp.max_reply_length {
        let msg = format!(
            "UDP_CHECK min_reply length {} > max_reply_length {} - will always fail",
            udp.min_reply_length, udp.max_reply_length
        );
        read::error(
            cx,
            code::INVALID_VALUE,
            &new.end,
            msg,
            "min_reply_length must not exceed max_reply_length",
        );
    }
    new.checker.kind = CheckerKind::Udp(udp);
    Some(new.checker)
}

/// The words after the keyword joined by single spaces (keepalived's `make_strvec_str`).
fn joined(s: &Statement) -> String {
    s.args()
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// keepalived's `read_hex_str`: blanks are skipped, digits are taken in pairs, a single digit
/// before a space or the end is one byte. With `wildcards`, `x`/`X` is a don't-care nibble
/// (set in the mask). None for an invalid or empty string.
pub(crate) fn read_hex(text: &str, wildcards: bool) -> Option<(Vec<u8>, Vec<u8>)> {
    // One nibble: (value, mask) or None when the character is not allowed.
    let nibble = |c: u8| -> Option<(u8, u8)> {
        match c {
            b'0'..=b'9' => Some((c - b'0', 0)),
            b'a'..=b'f' => Some((c - b'a' + 10, 0)),
            b'A'..=b'F' => Some((c - b'A' + 10, 0)),
            b'x' | b'X' if wildcards => Some((0, 0x0f)),
            _ => None,
        }
    };
    let b = text.as_bytes();
    let mut data = Vec::new();
    let mut mask = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        let Some(&first) = b.get(i) else { break };
        let (mut v, mut m) = nibble(first)?;
        i += 1;
        if let Some(&second) = b.get(i).filter(|c| **c != b' ') {
            let (v2, m2) = nibble(second)?;
            v = v << 4 | v2;
            m = m << 4 | m2;
            i += 1;
        }
        data.push(v);
        mask.push(m);
    }
    (!data.is_empty()).then_some((data, mask))
}

#[cfg(test)]
mod tests {
    use super::read_hex;

    #[test]
    fn hex_strings_read_like_keepalived() {
        let (data, _) = read_hex("Ab12f 3 456 546443123", false).unwrap();
        assert_eq!(
            data,
            vec![0xAB, 0x12, 0x0F, 0x03, 0x45, 0x06, 0x54, 0x64, 0x43, 0x12, 0x03]
        );
        let (data, mask) = read_hex("1x X2", true).unwrap();
        assert_eq!((data, mask), (vec![0x10, 0x02], vec![0x0f, 0xf0]));
        assert!(read_hex("1x", false).is_none());
        assert!(read_hex("zz", false).is_none());
        assert!(read_hex("  ", false).is_none());
        // A single digit followed by a tab is invalid (keepalived only accepts a space there).
        assert!(read_hex("1\t2", false).is_none());
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use crate::lvs::tests::checkers;

    #[test]
    fn udp_check_keywords_and_defaults() {
        let (c, d) = checkers(
            "  UDP_CHECK {\n   payload 01 02 ab\n   require_reply 0x ff\n   min_reply_length 2\n   max_reply_length 1000\n  }\n  UDP_CHECK {\n  }",
        );
        assert!(d.is_empty(), "{d:?}");
        let CheckerKind::Udp(u) = &c[0].kind else { panic!() };
        assert_eq!(u.payload.as_deref(), Some(&[1u8, 2, 0xab][..]));
        assert!(u.require_reply);
        assert_eq!(
            u.reply,
            Some(ReplyPattern {
                data: vec![0x00, 0xff],
                mask: vec![0x0f, 0]
            })
        );
        assert_eq!((u.min_reply_length, u.max_reply_length), (2, 1000));
        let CheckerKind::Udp(u) = &c[1].kind else { panic!() };
        assert_eq!(
            (u.payload.is_none(), u.require_reply, u.reply.is_none()),
            (true, false, true)
        );
        assert_eq!((u.min_reply_length, u.max_reply_length), (0, 255));
        let json = serde_json::to_value(&c[0].kind).unwrap();
        assert_eq!(json["UDP_CHECK"]["payload"], "0102ab");
    }
}
