//! Scripts the checker runs: `notify_up`/`notify_down` (real server), `quorum_up`/`quorum_down`
//! (virtual server) and MISC_CHECK `misc_path`. Reading them is [`crate::script`]'s job; this
//! module knows which LVS keywords hold scripts, for the script-security pass.

use super::{LvsConfig, ParseState};
use crate::cx::Cx;
use crate::script::{self, Script};
use crate::syntax::Statement;
use serde::Serialize;

/// keepalived's `cmd_str`: every word in single quotes, separated by spaces.
pub(crate) fn cmd_str(args: &[String]) -> String {
    args.iter()
        .map(|a| format!("'{a}'"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Where a script is used, for the script-security pass.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct ScriptUse<'a> {
    /// `misc_path`, `quorum_up`, `quorum_down`, `notify_up` or `notify_down`.
    pub keyword: &'static str,
    pub script: &'a Script,
}

/// In keepalived's order: MISC_CHECK scripts first, then per virtual server its quorum
/// scripts and its real servers' notify scripts.
pub(crate) fn collect(lvs: &LvsConfig) -> Vec<ScriptUse<'_>> {
    let mut out = Vec::new();
    for vs in &lvs.virtual_servers {
        for rs in &vs.real_servers {
            for c in &rs.checkers {
                if let super::CheckerKind::Misc(m) = &c.kind {
                    out.push(ScriptUse {
                        keyword: "misc_path",
                        script: &m.misc_path,
                    });
                }
            }
        }
    }
    for vs in &lvs.virtual_servers {
        let quorum = [("quorum_up", &vs.quorum_up), ("quorum_down", &vs.quorum_down)];
        for (keyword, s) in quorum {
            if let Some(script) = s {
                out.push(ScriptUse { keyword, script });
            }
        }
        for rs in &vs.real_servers {
            let notify = [("notify_up", &rs.notify_up), ("notify_down", &rs.notify_down)];
            for (keyword, s) in notify {
                if let Some(script) = s {
                    out.push(ScriptUse { keyword, script });
                }
            }
        }
    }
    out
}

/// keepalived's `notify_script_init` for `notify_*` / `quorum_*`: `kind` is `notify` or
/// `quorum` (its type word). None when keepalived drops the script; the field then stays empty.
pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement, kind: &str, state: &mut ParseState) -> Option<Script> {
    // keepalived prints word 1 when it cannot use the line, so without it it aborts.
    cx.word(stmt, 1)?;
    script::notify_script_init(cx, stmt, kind, &mut state.script_users, state.script_security)
}
