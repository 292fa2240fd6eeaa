//! `track_group NAME { group { VI ... } }`: instances that track the interfaces of static
//! addresses, routes and rules naming the group.

use crate::cx::Cx;
use crate::diag::Span;
use crate::syntax::Statement;
use serde::Serialize;

use super::common::{self, general};
use super::walk::{self, Step};
use super::{aborted, VrrpConfig};

/// Keywords of `track_group`.
pub const KEYWORDS: &[&str] = &["group"];

/// One `track_group`.
#[derive(Clone, Debug, Serialize)]
pub struct TrackGroup {
    pub name: String,
    /// `group { ... }`: instance names as written (None: no or empty block).
    pub group: Option<Vec<String>>,
    /// The instances that exist (resolved after parsing).
    pub members: Vec<String>,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// `track_group NAME { ... }`.
pub(crate) fn parse(cx: &mut Cx<'_>, vrrp: &mut VrrpConfig, stmt: &Statement) {
    if stmt.words.len() != 2 {
        general(
            cx,
            "track-group-name",
            stmt.span(),
            "track_group must have a name - skipping",
        )
        .help = Some("write 'track_group NAME {' with a single name".into());
        return;
    }
    let name = stmt.words[1].text.clone();
    if vrrp.track_group.iter().any(|t| t.name == name) {
        general(
            cx,
            "track-group-duplicate",
            &stmt.words[1].span,
            format!("track_group {name} already defined"),
        );
        return;
    }
    let Some(block) = cx.block(stmt) else { return };
    let mut tg = TrackGroup {
        name: name.clone(),
        group: None,
        members: Vec::new(),
        span: Some(stmt.span().clone()),
    };
    // As in vrrp_sync_group, a second `group` block ends the track_group early.
    let walked = walk::walk(cx, walk::events(block), "track_group", &mut |cx, st, _| {
        if st.keyword() != "group" {
            return Step::Unknown;
        }
        if tg.group.is_some() {
            // keepalived's message says "sync group" here too.
            general(
                cx,
                "track-group-twice",
                st.span(),
                format!("Group list already specified for sync group {name}"),
            );
            return Step::LeaveBlock;
        }
        let words = common::value_words(cx, st);
        if words.is_empty() {
            general(
                cx,
                "track-group-empty",
                &common::value_block_end(st),
                format!("Warning - track group {name} has empty group block"),
            );
        } else {
            tg.group = Some(words.iter().map(|w| w.text.clone()).collect());
        }
        Step::Known
    });
    if !aborted(cx) {
        vrrp.track_group.push(tg);
        walk::finish_at_top_level(cx, walked.rest);
    }
}
