//! The IPVS scheduler of a virtual server (`lb_algo` / `lvs_sched`) and its flags (`ops`,
//! `flag-1..3`, `sh-port`, `sh-fallback`, `mh-port`, `mh-fallback`, `hashed`).

use super::read;
use super::virtual_server::VirtualServer;
use crate::cx::Cx;
use crate::syntax::Statement;
use serde::Serialize;

/// The schedulers keepalived accepts (check_parser.c `lvs_schedulers`), by their exact name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LbAlgo {
    Rr,
    Wrr,
    Lc,
    Wlc,
    Lblc,
    Sh,
    Mh,
    Dh,
    Fo,
    Ovf,
    Lblcr,
    Sed,
    Nq,
    Twos,
}

impl LbAlgo {
    pub const ALL: [LbAlgo; 14] = [
        LbAlgo::Rr,
        LbAlgo::Wrr,
        LbAlgo::Lc,
        LbAlgo::Wlc,
        LbAlgo::Lblc,
        LbAlgo::Sh,
        LbAlgo::Mh,
        LbAlgo::Dh,
        LbAlgo::Fo,
        LbAlgo::Ovf,
        LbAlgo::Lblcr,
        LbAlgo::Sed,
        LbAlgo::Nq,
        LbAlgo::Twos,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LbAlgo::Rr => "rr",
            LbAlgo::Wrr => "wrr",
            LbAlgo::Lc => "lc",
            LbAlgo::Wlc => "wlc",
            LbAlgo::Lblc => "lblc",
            LbAlgo::Sh => "sh",
            LbAlgo::Mh => "mh",
            LbAlgo::Dh => "dh",
            LbAlgo::Fo => "fo",
            LbAlgo::Ovf => "ovf",
            LbAlgo::Lblcr => "lblcr",
            LbAlgo::Sed => "sed",
            LbAlgo::Nq => "nq",
            LbAlgo::Twos => "twos",
        }
    }

    /// Exact, case-sensitive, as keepalived compares.
    pub fn from_name(name: &str) -> Option<LbAlgo> {
        LbAlgo::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// IPVS scheduler flags. keepalived maps the scheduler-specific spellings onto the generic
/// ones: `sh-fallback`/`mh-fallback` are flag-1, `sh-port`/`mh-port` are flag-2.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SchedFlags {
    /// `flag-1`, `sh-fallback`, `mh-fallback` (IP_VS_SVC_F_SCHED1).
    pub flag_1: bool,
    /// `flag-2`, `sh-port`, `mh-port` (IP_VS_SVC_F_SCHED2).
    pub flag_2: bool,
    /// `flag-3` (IP_VS_SVC_F_SCHED3).
    pub flag_3: bool,
}

/// `lb_algo NAME` / `lvs_sched NAME`.
pub(crate) fn parse_algo(cx: &mut Cx<'_>, stmt: &Statement, vs: &mut VirtualServer) {
    let Some(name) = read::text(cx, stmt, 1) else {
        return;
    };
    match LbAlgo::from_name(&name) {
        Some(a) => vs.lvs_sched = Some(a),
        None => {
            let all: Vec<&str> = LbAlgo::ALL.iter().map(|a| a.name()).collect();
            read::error_at_word(
                cx,
                stmt,
                1,
                format!("Invalid lvs_scheduler '{name}' - ignoring"),
                format!("expected one of {} (lower case)", all.join(", ")),
            );
        }
    }
}

/// keepalived's `lbflags_handler`: the keyword itself is the flag. The sh/mh spellings depend
/// on the scheduler set *so far*, so `lb_algo` must come first.
pub(crate) fn parse_flag(cx: &mut Cx<'_>, stmt: &Statement, vs: &mut VirtualServer) {
    let kw = stmt.keyword();
    match kw {
        "ops" => vs.ops = true,
        "flag-1" => vs.sched_flags.flag_1 = true,
        "flag-2" => vs.sched_flags.flag_2 = true,
        "flag-3" => vs.sched_flags.flag_3 = true,
        _ => match vs.lvs_sched {
            // Other words (hashed, the other scheduler's spellings) are silently ignored here.
            Some(LbAlgo::Sh) => match kw {
                "sh-port" => vs.sched_flags.flag_2 = true,
                "sh-fallback" => vs.sched_flags.flag_1 = true,
                _ => {}
            },
            Some(LbAlgo::Mh) => match kw {
                "mh-port" => vs.sched_flags.flag_2 = true,
                "mh-fallback" => vs.sched_flags.flag_1 = true,
                _ => {}
            },
            _ => read::error(
                cx,
                super::code::INVALID_VALUE,
                stmt.span(),
                format!("{kw} only applies to sh scheduler - ignoring"),
                "set 'lb_algo sh' (or mh for the mh-* flags) before this flag",
            ),
        },
    }
}
