//! `global_defs { ... }`: process-wide settings and the defaults VRRP instances inherit.

use crate::cx::Cx;
use crate::syntax::Block;
use serde::Serialize;

/// Keywords of `global_defs`, for hints.
pub const KEYWORDS: &[&str] = &["router_id"];

#[derive(Clone, Debug, Default, Serialize)]
pub struct GlobalDefs {
    /// `router_id`: defaults to the host name.
    pub router_id: Option<String>,
}

pub(crate) fn parse(cx: &mut Cx<'_>, block: &Block, g: &mut GlobalDefs) {
    for stmt in &block.statements {
        match stmt.keyword() {
            "router_id" => {
                if let Some(w) = cx.word(stmt, 1) {
                    g.router_id = Some(w.text.clone());
                }
            }
            _ => cx.unknown_keyword(stmt, "global_defs"),
        }
    }
}
