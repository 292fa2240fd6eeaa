//! `garp_group { ... }`: gratuitous ARP / unsolicited NA pacing for a set of interfaces.

use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::syntax::{Statement, Word};
use ka_units::Micros;
use serde::Serialize;

use super::common::{self, general, IfLookup};
use super::globals::VrrpGlobals;
use super::walk::{self, Step};
use super::{aborted, VrrpConfig};

/// Keywords of `garp_group`.
pub const KEYWORDS: &[&str] = &["garp_interval", "gna_interval", "interface", "interfaces"];

/// One `garp_group`.
#[derive(Clone, Debug, Serialize)]
pub struct GarpGroup {
    /// `garp_interval SECS`: gap between gratuitous ARPs on these interfaces.
    pub garp_interval: Option<Micros>,
    /// `gna_interval SECS`: gap between unsolicited neighbour adverts.
    pub gna_interval: Option<Micros>,
    /// `interface IF` / `interfaces { IF ... }`: the interfaces it paces.
    pub interfaces: Vec<String>,
    /// keepalived's aggregation number: 1, 2, ... for groups with an `interfaces` block,
    /// 0 otherwise.
    pub aggregation_group: u32,
    #[serde(skip)]
    pub span: Option<Span>,
}

fn interval(cx: &mut Cx<'_>, st: &Statement, what: &str) -> Option<Option<Micros>> {
    let w = cx.word(st, 1)?;
    match common::read_decimal(cx, w, 0, i32::MAX as u64, 6) {
        Some(us) => {
            if us >= 1_000_000 {
                cx.report(
                    Class::Info,
                    "garp-interval-large",
                    &w.span,
                    format!("The {what} is very large - {} seconds", w.text),
                );
            }
            Some(Some(Micros(us)))
        }
        None => {
            general(
                cx,
                "garp-interval",
                &w.span,
                format!("garp_group {what} '{}' invalid", w.text),
            )
            .help = Some("expected seconds, e.g. 0.001".into());
            Some(None)
        }
    }
}

/// True when another kept group already paces `name`.
fn taken(vrrp: &VrrpConfig, current: &GarpGroup, name: &str) -> bool {
    vrrp.garp_group
        .iter()
        .chain(std::iter::once(current))
        .any(|g| g.interfaces.iter().any(|i| i == name))
}

/// `garp_group { ... }`.
pub(crate) fn parse(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, stmt: &Statement) {
    let Some(block) = cx.block(stmt) else { return };
    let mut gg = GarpGroup {
        garp_interval: None,
        gna_interval: None,
        interfaces: Vec::new(),
        aggregation_group: 0,
        span: Some(stmt.span().clone()),
    };
    let mut abort = false;
    let walked = walk::walk(cx, walk::events(block), "garp_group", &mut |cx, st, queue| {
        if abort || aborted(cx) {
            return Step::Known;
        }
        match st.keyword() {
            "garp_interval" => match interval(cx, st, "garp_interval") {
                None => abort = true,
                Some(Some(v)) => gg.garp_interval = Some(v),
                Some(None) => {}
            },
            "gna_interval" => match interval(cx, st, "gna_interval") {
                None => abort = true,
                Some(Some(v)) => gg.gna_interval = Some(v),
                Some(None) => {}
            },
            "interface" => {
                let Some(w) = cx.word(st, 1) else {
                    abort = true;
                    return Step::Known;
                };
                if common::lookup_interface(cx, &mut vrrp.state, g, &w.text, &w.span) == IfLookup::Missing {
                    general(
                        cx,
                        "interface-missing",
                        &w.span,
                        format!(
                            "WARNING - interface {} specified for garp_group doesn't exist",
                            w.text
                        ),
                    );
                } else if taken(vrrp, &gg, &w.text) {
                    general(
                        cx,
                        "garp-group-twice",
                        &w.span,
                        format!("garp_group already specified for {} - ignoring", w.text),
                    );
                } else {
                    gg.interfaces.push(w.text.clone());
                }
            }
            "interfaces" => {
                let words: Vec<Word> = common::value_words(cx, st).into_iter().cloned().collect();
                if words.is_empty() {
                    general(
                        cx,
                        "garp-group-empty",
                        &common::value_block_end(st),
                        "Warning - empty garp_group interfaces block",
                    );
                    return Step::Known;
                }
                gg.aggregation_group = 1 + vrrp
                    .garp_group
                    .iter()
                    .filter(|x| x.aggregation_group != 0)
                    .count() as u32;
                // keepalived names the *second* interface in its "already specified" message,
                // and stops (missing parameter) if there is none.
                // keepalived looks at the names after reading the whole block: its messages
                // carry the line of the closing brace.
                let at = common::value_block_end(st);
                let as_line = Statement {
                    words: words.clone(),
                    unterminated: None,
                    block: None,
                };
                for w in &words {
                    if common::lookup_interface(cx, &mut vrrp.state, g, &w.text, &at) == IfLookup::Missing {
                        general(
                            cx,
                            "interface-missing",
                            &at,
                            format!(
                                "WARNING - interface {} specified for garp_group doesn't exist",
                                w.text
                            ),
                        );
                        continue;
                    }
                    if taken(vrrp, &gg, &w.text) {
                        let Some(second) = cx.word(&as_line, 1) else {
                            abort = true;
                            return Step::Known;
                        };
                        general(
                            cx,
                            "garp-group-twice",
                            &at,
                            format!("garp_group already specified for {} - ignoring", second.text),
                        );
                        continue;
                    }
                    gg.interfaces.push(w.text.clone());
                }
            }
            _ => return Step::Unknown,
        }
        if st.keyword() != "interfaces" {
            walk::stray_block(cx, st, queue);
        }
        Step::Known
    });
    if abort || aborted(cx) {
        return;
    }
    let end = walked.end.unwrap_or_else(|| block.end_span()).clone();
    if gg.garp_interval.is_none() && gg.gna_interval.is_none() {
        general(
            cx,
            "garp-group-no-delay",
            &end,
            format!(
                "garp group {} does not have any delay set - removing",
                gg.aggregation_group
            ),
        )
        .help = Some("set garp_interval and/or gna_interval".into());
    } else {
        vrrp.garp_group.push(gg);
    }
    walk::finish_at_top_level(cx, walked.rest);
}
