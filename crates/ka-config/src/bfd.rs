//! `bfd_instance NAME { ... }`: read with keepalived 2.2.7's checks and messages
//! (keepalived/bfd/bfd_parser.c) so that configurations using BFD load and `-t` reports what
//! keepalived reports. keepalived-rs does not run BFD sessions yet (a note says so); the VRRP
//! and checker views of the block (its `weight`, `BFD_CHECK`) are read by those sections.

use crate::config::Config;
use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::syntax::Statement;
use serde::Serialize;
use std::net::IpAddr;

/// One `bfd_instance`, as the BFD process would run it.
#[derive(Clone, Debug, Serialize)]
pub struct BfdInstance {
    pub name: String,
    /// `neighbor_ip` / `neighbour_ip` (required).
    pub neighbor_ip: Option<IpAddr>,
    /// `source_ip`.
    pub source_ip: Option<IpAddr>,
    /// `min_rx` in milliseconds × 1000 (µs); default 10 ms.
    pub min_rx_us: u64,
    /// `min_tx`, µs; default 10 ms.
    pub min_tx_us: u64,
    /// `idle_tx`, µs; default 1000 ms.
    pub idle_tx_us: u64,
    /// `multiplier` (1-255, default 5).
    pub multiplier: u32,
    /// `passive`.
    pub passive: bool,
    /// `ttl` / `hoplimit` (default 255 for IPv4, 64 for IPv6).
    pub ttl: u32,
    /// `max_hops` (-1..255; default 0 = single hop).
    pub max_hops: i32,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// keepalived limits the name to 31 characters (its `BFD_INAME_MAX` buffer).
const NAME_MAX: usize = 31;

pub(crate) fn parse_top_level(cx: &mut Cx<'_>, stmt: &Statement, config: &mut Config) -> bool {
    if stmt.keyword() != "bfd_instance" {
        return false;
    }
    let Some(name) = cx.word(stmt, 1).map(|w| w.text.clone()) else {
        return true;
    };
    if name.len() > NAME_MAX {
        cx.report(
            Class::General,
            "bfd-name",
            stmt.span(),
            format!("Configuration error: BFD instance {name} name too long (maximum length is {NAME_MAX} characters) - ignoring"),
        )
        .help = Some(format!("use a name of at most {NAME_MAX} characters"));
        return true;
    }
    if config.bfd.iter().any(|b| b.name == name) {
        cx.report(
            Class::General,
            "bfd-duplicate",
            stmt.span(),
            format!("BFD instance {name} already configured - ignoring"),
        )
        .help = Some("each bfd_instance needs a name of its own".into());
        return true;
    }
    let Some(block) = cx.block(stmt) else { return true };
    let mut b = BfdInstance {
        name: name.clone(),
        neighbor_ip: None,
        source_ip: None,
        min_rx_us: 10_000,
        min_tx_us: 10_000,
        idle_tx_us: 1_000_000,
        multiplier: 5,
        passive: false,
        ttl: 0,
        max_hops: 0,
        span: Some(stmt.span().clone()),
    };
    let mut neighbor_word = "neighbor";
    let mut dropped = false;
    cx.each_statement(&block.statements, "bfd_instance", &mut |cx, s| {
        let kw = s.keyword();
        if dropped && kw != "vrrp" && kw != "checker" && kw != "weight" {
            return true;
        }
        match kw {
            "neighbor_ip" | "neighbour_ip" => {
                if kw == "neighbour_ip" {
                    neighbor_word = "neighbour";
                }
                if let Some(w) = cx.word(s, 1) {
                    match w.text.parse::<IpAddr>() {
                        Ok(a) => b.neighbor_ip = Some(a),
                        Err(_) => {
                            let text = w.text.clone();
                            cx.report(
                                Class::General,
                                "bfd-address",
                                &w.span,
                                format!("Configuration error: BFD instance {name} has malformed {neighbor_word} address {text}, ignoring instance"),
                            )
                            .help = Some("expected an IPv4 or IPv6 address".into());
                            dropped = true;
                        }
                    }
                }
            }
            "source_ip" => {
                if let Some(w) = cx.word(s, 1) {
                    match w.text.parse::<IpAddr>() {
                        Ok(a) => b.source_ip = Some(a),
                        Err(_) => {
                            let text = w.text.clone();
                            cx.report(
                                Class::General,
                                "bfd-address",
                                &w.span,
                                format!("Configuration error: BFD instance {name} has malformed source address {text}, ignoring"),
                            )
                            .help = Some("expected an IPv4 or IPv6 address".into());
                        }
                    }
                }
            }
            "min_rx" | "min_tx" | "idle_tx" => {
                let (min_ms, field) = match kw {
                    "min_rx" => (1u64, &mut b.min_rx_us),
                    "min_tx" => (1, &mut b.min_tx_us),
                    _ => (1000, &mut b.idle_tx_us),
                };
                let max_ms = u64::from(u32::MAX / 1000);
                if let Some(v) = bfd_decimal(cx, s, min_ms * 1000, max_ms * 1000) {
                    *field = v;
                } else if let Some(w) = s.arg(0) {
                    let text = w.text.clone();
                    cx.report(
                        Class::General,
                        "bfd-value",
                        &w.span,
                        format!("Configuration error: BFD instance {name} {kw} value {text} is not valid (must be in range [{min_ms}-{max_ms}]), ignoring"),
                    )
                    .help = Some(format!("{kw} is in milliseconds"));
                }
            }
            "multiplier" => match s.arg(0).map(|w| (crate::cx::parse_unsigned(&w.text, 1, 255), w.clone())) {
                Some((Ok(v), _)) => b.multiplier = v,
                Some((Err(msg), w)) => {
                    cx.report(Class::InvalidNumber, "invalid-number", &w.span, msg);
                    cx.report(
                        Class::General,
                        "bfd-value",
                        &w.span,
                        format!("Configuration error: BFD instance {name} multiplier value {} not valid (must be in range [1-255]), ignoring", w.text),
                    )
                    .help = Some("expected a whole number from 1 to 255".into());
                }
                None => {
                    cx.word(s, 1);
                }
            },
            "passive" => b.passive = true,
            "ttl" | "hoplimit" => match s.arg(0).map(|w| (crate::cx::parse_unsigned(&w.text, 1, 255), w.clone())) {
                Some((Ok(v), _)) => b.ttl = v,
                Some((Err(msg), w)) => {
                    cx.report(Class::InvalidNumber, "invalid-number", &w.span, msg);
                    cx.report(
                        Class::General,
                        "bfd-value",
                        &w.span,
                        format!("Configuration error: BFD instance {name} ttl/hoplimit value {} not valid (must be in range [1-255]), ignoring", w.text),
                    )
                    .help = Some("expected a whole number from 1 to 255".into());
                }
                None => {
                    cx.word(s, 1);
                }
            },
            "max_hops" => match s.arg(0).map(|w| (crate::cx::parse_int(&w.text, -1, 255), w.clone())) {
                Some((Ok(v), _)) => b.max_hops = v,
                Some((Err(msg), w)) => {
                    cx.report(Class::InvalidNumber, "invalid-number", &w.span, msg);
                    cx.report(
                        Class::General,
                        "bfd-value",
                        &w.span,
                        format!("Configuration error: BFD instance {name} max_hops value {} not valid (must be in range [-1-255]), ignoring", w.text),
                    )
                    .help = Some("expected a whole number from -1 to 255".into());
                }
                None => {
                    cx.word(s, 1);
                }
            },
            // The VRRP side reads `weight`; `vrrp` and `checker` choose who follows the session.
            "weight" | "vrrp" | "checker" => {}
            _ => return false,
        }
        true
    });
    let end = block.end_span().clone();
    if dropped {
        return true;
    }
    let Some(neighbor) = b.neighbor_ip else {
        cx.report(
            Class::General,
            "bfd-no-neighbor",
            &end,
            format!("Configuration error: BFD instance {name} has no {neighbor_word} address set, disabling instance"),
        )
        .help = Some("add `neighbor_ip ADDRESS` to the block".into());
        return true;
    };
    if let Some(src) = b.source_ip {
        if src.is_ipv4() != neighbor.is_ipv4() {
            cx.report(
                Class::General,
                "bfd-family",
                &end,
                format!("Configuration error: BFD instance {name} source address {src} and {neighbor_word} address {neighbor} are not of the same family, disabling instance"),
            )
            .help = Some("use source and neighbour addresses of one family".into());
            return true;
        }
    }
    if config
        .bfd
        .iter()
        .any(|o| o.neighbor_ip == b.neighbor_ip && o.source_ip == b.source_ip)
    {
        let msg = match b.source_ip {
            Some(src) => format!("Configuration error: BFD instance {name} has duplicate source/{neighbor_word} address {src}/{neighbor}, ignoring instance"),
            None => format!("Configuration error: BFD instance {name} has duplicate {neighbor_word} address {neighbor}, ignoring instance"),
        };
        cx.report(Class::General, "bfd-duplicate", &end, msg).help =
            Some("two bfd_instance blocks cannot watch the same neighbour from the same source".into());
        return true;
    }
    if b.ttl == 0 {
        b.ttl = if neighbor.is_ipv4() { 255 } else { 64 };
    }
    if b.max_hops > b.ttl as i32 {
        cx.report(
            Class::General,
            "bfd-max-hops",
            &end,
            format!("BFD instance {name}: max_hops exceeds ttl/hoplimit - setting to ttl/hoplimit"),
        )
        .help = Some("max_hops must not exceed ttl (IPv4) or hoplimit (IPv6)".into());
        b.max_hops = b.ttl as i32;
    }
    cx.report(
        Class::Lint,
        "lint-bfd-not-run",
        stmt.span(),
        format!("bfd_instance {name}: keepalived-rs reads BFD configuration but does not run BFD sessions yet; trackers on it stay down"),
    )
    .help = Some("track the peer another way (track_script, track_interface) until BFD support lands".into());
    config.bfd.push(b);
    true
}

/// keepalived reads BFD times as milliseconds with up to 3 decimals.
fn bfd_decimal(cx: &mut Cx<'_>, s: &Statement, min: u64, max: u64) -> Option<u64> {
    let w = cx.word(s, 1)?;
    let outcome = crate::cx::parse_decimal(&w.text, min, max, 3);
    for msg in outcome.messages {
        cx.report(Class::InvalidNumber, "invalid-number", &w.span, msg);
    }
    outcome.value
}

#[cfg(test)]
mod tests {
    use crate::load_str;

    #[test]
    fn bfd_instance_reads_with_defaults_and_checks() {
        let l = load_str("bfd_instance b1 {\n neighbor_ip 192.0.2.1\n min_rx 50\n multiplier 3\n}\n");
        let b = &l.config.bfd[0];
        assert_eq!(
            (b.min_rx_us, b.min_tx_us, b.multiplier, b.ttl),
            (50_000, 10_000, 3, 255)
        );
        let l = load_str("bfd_instance b2 {\n min_tx 0\n}\n");
        let msgs: Vec<String> = l.diagnostics.iter().map(|d| d.to_string()).collect();
        assert!(
            msgs.iter()
                .any(|m| m.contains(":2:9:") && m.contains("min_tx value 0 is not valid")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter()
                .any(|m| m.contains(":3:1:") && m.contains("has no neighbor address set")),
            "{msgs:?}"
        );
        assert!(l.config.bfd.is_empty());
    }
}
