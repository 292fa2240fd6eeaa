//! `bfd_instance NAME { ... }` as the VRRP side sees it: only the name and the `weight`
//! that `track_bfd` entries default to. The BFD session settings belong to the BFD side.

use crate::cx::Cx;
use crate::syntax::Statement;
use serde::Serialize;

use super::common::{self, general};
use super::VrrpConfig;

/// keepalived's `BFD_INAME_MAX`: names are shorter than 32 bytes.
const BFD_INAME_MAX: usize = 32;

/// A BFD instance VRRP instances can track.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackedBfd {
    pub name: String,
    /// `weight W` (default 0: BFD down means FAULT).
    pub weight: i32,
    pub weight_reverse: bool,
}

/// The VRRP view of `bfd_instance NAME { ... }`.
pub(crate) fn parse(cx: &mut Cx<'_>, vrrp: &mut VrrpConfig, stmt: &Statement) {
    let Some(name_word) = cx.word(stmt, 1) else { return };
    let name = name_word.text.clone();
    if name.len() >= BFD_INAME_MAX {
        general(
            cx,
            "bfd-name",
            &name_word.span,
            format!("BFD name {name} too long"),
        )
        .help = Some("BFD instance names have at most 31 characters".into());
        return;
    }
    if vrrp.bfd_instance.iter().any(|b| b.name == name) {
        general(
            cx,
            "bfd-duplicate",
            &name_word.span,
            format!("BFD {name} already specified"),
        );
        return;
    }
    let Some(block) = &stmt.block else { return };
    let mut bfd = TrackedBfd {
        name: name.clone(),
        weight: 0,
        weight_reverse: false,
    };
    // `vrrp` / `checker` restrict which processes hear about the session.
    let mut for_vrrp = false;
    let mut restricted = false;
    for st in &block.statements {
        match st.keyword() {
            "weight" => {
                let Some(w) = cx.word(st, 1) else { return };
                match common::read_int(cx, w, -253, 253) {
                    Some(v) => bfd.weight = v,
                    None => {
                        general(
                            cx,
                            "bfd-weight",
                            &w.span,
                            format!(
                                "Configuration error: BFD instance {name} weight value {} not valid (must be in range [-253-253]), ignoring",
                                w.text
                            ),
                        );
                    }
                }
                if let Some(o) = st.words.get(2) {
                    if o.text == "reverse" {
                        bfd.weight_reverse = true;
                    } else {
                        general(
                            cx,
                            "bfd-weight",
                            &o.span,
                            format!(
                                "Configuration error: BFD instance {name} unknown weight option {}",
                                o.text
                            ),
                        );
                    }
                }
            }
            "vrrp" => {
                restricted = true;
                for_vrrp = true;
            }
            "checker" => restricted = true,
            _ => {}
        }
    }
    if !restricted || for_vrrp {
        vrrp.bfd_instance.push(bfd);
    }
}
