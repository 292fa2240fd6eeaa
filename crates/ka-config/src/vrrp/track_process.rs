//! `vrrp_track_process NAME { ... }`: a process whose presence (a quorum of instances of it)
//! instances and sync groups can track.

use crate::cx::Cx;
use crate::diag::Span;
use crate::syntax::Statement;
use ka_units::Micros;
use serde::Serialize;

use super::aborted;
use super::common::{self, general};
use super::walk;

/// Keywords of `vrrp_track_process`.
pub const KEYWORDS: &[&str] = &[
    "process",
    "param_match",
    "weight",
    "quorum",
    "quorum_max",
    "delay",
    "terminate_delay",
    "fork_delay",
    "full_command",
];

/// How the process's parameters must match (`param_match`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamMatch {
    /// Only the process name is compared.
    #[default]
    None,
    /// All parameters, exactly (`param_match`, or parameters after `process`).
    Exact,
    /// The configured parameters start the command line (`param_match initial`).
    Initial,
    /// The configured parameters appear in the command line (`param_match partial`).
    Partial,
}

/// One `vrrp_track_process`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackProcess {
    pub name: String,
    /// `process PATH`: the process name or path.
    pub process: String,
    /// Parameters after PATH on the `process` line.
    pub process_params: Vec<String>,
    pub param_match: ParamMatch,
    /// `weight W` (default 0 — keepalived's code; its man page says 1).
    pub weight: i32,
    pub weight_reverse: bool,
    /// `quorum N` (default 1).
    pub quorum: u32,
    /// `quorum_max N` (default: no maximum).
    pub quorum_max: u32,
    /// `terminate_delay` (or `delay`).
    pub terminate_delay: Micros,
    /// `fork_delay` (or `delay`).
    pub fork_delay: Micros,
    /// `full_command`: match against the whole command line, not the process name.
    pub full_command: bool,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// `vrrp_track_process NAME { ... }`. None when keepalived removes it (no `process`).
pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement) -> Option<TrackProcess> {
    let name = cx.word(stmt, 1)?.text.clone();
    let block = cx.block(stmt)?;
    let mut p = TrackProcess {
        name: name.clone(),
        process: String::new(),
        process_params: Vec::new(),
        param_match: ParamMatch::None,
        weight: 0,
        weight_reverse: false,
        quorum: 1,
        quorum_max: u32::MAX,
        terminate_delay: Micros::ZERO,
        fork_delay: Micros::ZERO,
        full_command: false,
        span: Some(stmt.span().clone()),
    };
    let mut have_process = false;
    let mut reader = walk::Reader::new(block);
    while let Some(st) = reader.next_statement(cx) {
        if aborted(cx) {
            return None;
        }
        let kw = st.keyword();
        match kw {
            "process" => {
                let w = cx.word(st, 1)?;
                if have_process {
                    general(
                        cx,
                        "track-process-twice",
                        &w.span,
                        format!(
                            "Process already set for track process {name} - ignoring {}",
                            w.text
                        ),
                    );
                    continue;
                }
                have_process = true;
                p.process = w.text.clone();
                if st.words.len() > 2 {
                    p.process_params = st.words[2..].iter().map(|w| w.text.clone()).collect();
                    if p.param_match == ParamMatch::None {
                        p.param_match = ParamMatch::Exact;
                    }
                    p.full_command = true;
                }
            }
            "param_match" => match st.words.get(1).map(|w| w.text.as_str()) {
                None => {
                    p.param_match = ParamMatch::Exact;
                    p.full_command = true;
                }
                Some("initial") => {
                    p.param_match = ParamMatch::Initial;
                    p.full_command = true;
                }
                Some("partial") => {
                    p.param_match = ParamMatch::Partial;
                    p.full_command = true;
                }
                Some(other) => {
                    general(
                        cx,
                        "track-process-param-match",
                        &st.words[1].span,
                        format!("Invalid param_match type {other} - ignoring"),
                    )
                    .help = Some("expected nothing, 'initial' or 'partial'".into());
                }
            },
            "weight" => {
                let Some(w) = st.words.get(1) else {
                    general(
                        cx,
                        "track-process-weight",
                        &st.end_span(),
                        format!("No weight specified for track process {name} - ignoring"),
                    );
                    continue;
                };
                if p.weight != 0 {
                    general(
                        cx,
                        "track-process-weight",
                        &w.span,
                        format!(
                            "Weight already set for track process {name} - ignoring {}",
                            w.text
                        ),
                    );
                    continue;
                }
                let Some(weight) = common::read_int(cx, w, -254, 254) else {
                    general(
                        cx,
                        "track-process-weight",
                        &w.span,
                        format!(
                            "Weight ({}) for vrrp_track_process {name} must be between [-254..254] inclusive. Ignoring...",
                            w.text
                        ),
                    );
                    continue;
                };
                if let Some(opt) = st.words.get(2) {
                    if opt.text == "reverse" {
                        p.weight_reverse = true;
                    } else {
                        general(
                            cx,
                            "track-process-weight-option",
                            &opt.span,
                            format!("vrrp_track_process {name} unknown weight option {}", opt.text),
                        );
                    }
                }
                p.weight = weight;
            }
            "quorum" => {
                let w = cx.word(st, 1)?;
                let Some(q) = common::read_unsigned(cx, w, 1, 65535) else {
                    general(
                        cx,
                        "track-process-quorum",
                        &w.span,
                        format!(
                            "Quorum ({}) for vrrp_track_process {name} must be between [1..65535] inclusive. Ignoring...",
                            w.text
                        ),
                    );
                    continue;
                };
                if q > p.quorum_max {
                    general(
                        cx,
                        "track-process-quorum",
                        &w.span,
                        "Quorum is greater than quorum_max - ignoring",
                    );
                    continue;
                }
                p.quorum = q;
            }
            "quorum_max" => {
                let w = cx.word(st, 1)?;
                let Some(q) = common::read_unsigned(cx, w, 0, 65535) else {
                    general(
                        cx,
                        "track-process-quorum",
                        &w.span,
                        format!(
                            "quorum_max ({}) for vrrp_track_process {name} must be between [0..65535] inclusive. Ignoring...",
                            w.text
                        ),
                    );
                    continue;
                };
                // quorum_max 0 is allowed when no quorum above 1 was given.
                if (q != 0 || p.quorum > 1) && q < p.quorum {
                    general(
                        cx,
                        "track-process-quorum",
                        &w.span,
                        "quorum_max is less than quorum - ignoring",
                    );
                    continue;
                }
                p.quorum_max = q;
                if q == 0 {
                    p.quorum = 0;
                } else if p.quorum == 0 {
                    p.quorum = 1;
                }
            }
            "delay" | "terminate_delay" | "fork_delay" => {
                let w = cx.word(st, 1)?;
                let Some(us) = common::read_decimal(cx, w, 1, 3600 * 1_000_000, 6) else {
                    let prefix = kw.strip_suffix("delay").unwrap_or("");
                    general(
                        cx,
                        "track-process-delay",
                        &w.span,
                        format!(
                            "{prefix}delay ({}) for vrrp_track_process {name} must be between [0.000001..3600] inclusive. Ignoring...",
                            w.text
                        ),
                    );
                    continue;
                };
                if kw != "fork_delay" {
                    p.terminate_delay = Micros(us);
                }
                if kw != "terminate_delay" {
                    p.fork_delay = Micros(us);
                }
            }
            "full_command" => p.full_command = true,
            _ => reader.unknown(cx, st, "vrrp_track_process"),
        }
    }
    let end = reader.end_span().unwrap_or_else(|| block.end_span()).clone();
    let result = if have_process {
        Some(p)
    } else {
        general(
            cx,
            "track-process-no-process",
            &end,
            format!("track process '{name}' process name not specified"),
        )
        .help = Some("add 'process NAME' to the block".into());
        None
    };
    reader.finish(cx);
    result
}

#[cfg(test)]
mod tests {
    #[test]
    fn track_process_block() {
        let l = crate::load_str(
            "vrrp_track_process haproxy {\n process haproxy -f /etc/h.cfg\n weight 10 reverse\n quorum 2\n quorum_max 4\n delay 1.5\n}\n",
        );
        let p = &l.config.vrrp.vrrp_track_process[0];
        assert_eq!(p.process_params, ["-f", "/etc/h.cfg"]);
        assert_eq!(p.param_match, super::ParamMatch::Exact);
        assert!(p.full_command && p.weight_reverse);
        assert_eq!(
            (p.weight, p.quorum, p.quorum_max, p.fork_delay.0),
            (10, 2, 4, 1_500_000)
        );
        let l = crate::load_str("vrrp_track_process p {\n quorum 3\n quorum_max 2\n}\n");
        let m: Vec<&str> = l.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            m,
            [
                "quorum_max is less than quorum - ignoring",
                "track process 'p' process name not specified"
            ]
        );
    }
}
