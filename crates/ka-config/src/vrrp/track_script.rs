//! `vrrp_script NAME { ... }`: a check script instances and sync groups can track.

use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::script::{self, DefaultUserError, Script, ScriptError};
use crate::syntax::Statement;
use ka_units::Micros;
use serde::Serialize;

use super::common::{self, general};
use super::walk;
use super::{aborted, Env};

/// Keywords of `vrrp_script`.
pub const KEYWORDS: &[&str] = &[
    "script",
    "interval",
    "timeout",
    "weight",
    "rise",
    "fall",
    "user",
    "init_fail",
];

/// One `vrrp_script`, with keepalived's defaults.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VrrpScript {
    /// The name `track_script` refers to.
    pub name: String,
    /// `script CMD`: the command (quoted words split keepalived's way).
    pub script: Option<Script>,
    /// `interval SECS` (default 1 s; 0 is raised to 1 s).
    pub interval: Micros,
    /// `timeout SECS` (default 0: the interval is used at run time).
    pub timeout: Micros,
    /// `weight W` (default 0: failure means FAULT). keepalived keeps an out-of-range value.
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
    /// `rise N` (default 1).
    pub rise: u32,
    /// `fall N` (default 1).
    pub fall: u32,
    /// `init_fail`: start in the failed state. keepalived 2.2.7 clears it as soon as an
    /// instance or sync group tracks the script, so it only ever applies to untracked scripts.
    pub init_fail: bool,
    /// `user USER [GROUP]`: run as this user (None: the default script user).
    pub user: Option<String>,
    pub group: Option<String>,
    #[serde(skip)]
    pub span: Option<Span>,
}

impl VrrpScript {
    fn new(name: &str, span: &Span) -> VrrpScript {
        VrrpScript {
            name: name.to_string(),
            script: None,
            interval: Micros::from_secs(1),
            timeout: Micros::ZERO,
            weight: 0,
            weight_reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
            user: None,
            group: None,
            span: Some(span.clone()),
        }
    }
}

/// keepalived's `cmd_str`: each argument in single quotes (a leading `<`/`>` redirection
/// test is left bare), separated by spaces.
fn cmd_str(s: Option<&Script>) -> String {
    let Some(s) = s else { return String::new() };
    s.args
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if i == 0 && (a.starts_with('<') || a.starts_with('>')) {
                a.clone()
            } else {
                format!("'{a}'")
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `vrrp_script NAME { ... }`: returns the script unless keepalived removes it at the end of
/// the block.
pub(crate) fn parse(cx: &mut Cx<'_>, env: &mut Env<'_>, stmt: &Statement) -> Option<VrrpScript> {
    let name = cx.word(stmt, 1)?.text.clone();
    let block = cx.block(stmt)?;
    let mut s = VrrpScript::new(&name, stmt.span());
    // keepalived's per-block flags: a `user` was given, and the script is to be removed.
    let mut user_set = false;
    let mut remove = false;
    let mut reader = walk::Reader::new(block);
    while let Some(st) = reader.next_statement(cx) {
        if aborted(cx) {
            return None;
        }
        let kw = st.keyword();
        match kw {
            "script" => match script::parse_script_words(&st.line_words()) {
                Ok(parsed) => s.script = Some(parsed),
                Err(ScriptError::Line(e) | ScriptError::Command { error: Some(e), .. }) => {
                    let at = st
                        .words
                        .get(1)
                        .map_or_else(|| st.span().clone(), |w| w.span.clone());
                    script::report_script_error(cx, &at, &ScriptError::Line(e));
                }
                // No command: the argv stays as it was (the end handler catches an empty one).
                Err(_) => {}
            },
            "interval" | "timeout" => {
                let w = cx.word(st, 1)?;
                let max = u32::MAX / 1_000_000;
                let Some(mut secs) = common::read_unsigned(cx, w, 0, max) else {
                    let msg = if kw == "interval" {
                        format!(
                            "({name}): vrrp script interval '{}' must be between 1 and {max} - ignoring",
                            w.text
                        )
                    } else {
                        format!("({name}): vrrp script timeout '{}' invalid - ignoring", w.text)
                    };
                    general(cx, "script-interval", &w.span, msg).help =
                        Some(format!("whole seconds, 1 to {max}"));
                    continue;
                };
                if secs == 0 {
                    general(
                        cx,
                        "script-interval",
                        &w.span,
                        format!("({name}): vrrp script {kw} must be greater than 0, setting to 1"),
                    );
                    secs = 1;
                }
                let value = Micros::from_secs(u64::from(secs));
                if kw == "interval" {
                    s.interval = value;
                } else {
                    s.timeout = value;
                }
            }
            "weight" => {
                let w = cx.word(st, 1)?;
                let weight = match common::read_int(cx, w, -253, 253) {
                    Some(v) => v,
                    None => {
                        general(
                            cx,
                            "script-weight",
                            &w.span,
                            format!("vrrp_script {name} weight {} must be in [-253, 253]", w.text),
                        )
                        .help = Some("keepalived uses the number anyway; keep it within -253..253".into());
                        // keepalived stores what strtol read, in range or not.
                        common::strtol_prefix(&w.text).clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32
                    }
                };
                s.weight = weight;
                if let Some(opt) = st.words.get(2) {
                    if opt.text == "reverse" {
                        s.weight_reverse = true;
                    } else {
                        general(
                            cx,
                            "script-weight-option",
                            &opt.span,
                            format!("vrrp_script {name} unknown weight option {}", opt.text),
                        )
                        .help = Some("the only weight option is 'reverse'".into());
                    }
                }
            }
            "rise" | "fall" => {
                let w = cx.word(st, 1)?;
                let value = match common::read_unsigned(cx, w, 1, i32::MAX as u32) {
                    Some(v) => v,
                    None => {
                        general(
                            cx,
                            "script-rise-fall",
                            &w.span,
                            format!(
                                "({name}): vrrp script {kw} value '{}' invalid, defaulting to 1",
                                w.text
                            ),
                        );
                        1
                    }
                };
                if kw == "rise" {
                    s.rise = value;
                } else {
                    s.fall = value;
                }
            }
            "user" => {
                let u = cx.word(st, 1)?;
                let group = st.words.get(2).map(|g| g.text.clone());
                if cx.host.user_exists(&u.text) {
                    s.user = Some(u.text.clone());
                    s.group = group;
                    remove = false;
                    user_set = true;
                } else {
                    cx.report(
                        Class::Info,
                        "script-user-unknown",
                        &u.span,
                        format!("Script user '{}' does not exist", u.text),
                    );
                    general(
                        cx,
                        "script-user",
                        &u.span,
                        format!("Unable to set uid/gid for script {}", cmd_str(s.script.as_ref())),
                    )
                    .help = Some(format!(
                        "user '{}' does not exist; keepalived removes the script",
                        u.text
                    ));
                    remove = true;
                }
            }
            "init_fail" => s.init_fail = true,
            _ => reader.unknown(cx, st, "vrrp_script"),
        }
    }
    let end = reader.end_span().unwrap_or_else(|| block.end_span()).clone();
    let result = end_of_block(cx, env, s, user_set, remove, &end);
    reader.finish(cx);
    result
}

/// keepalived's `vrrp_vscript_end_handler`, at the `}` that ended the block.
fn end_of_block(
    cx: &mut Cx<'_>,
    env: &mut Env<'_>,
    s: VrrpScript,
    user_set: bool,
    remove: bool,
    end: &Span,
) -> Option<VrrpScript> {
    let name = s.name.clone();
    if s.script.as_ref().is_none_or(|sc| sc.args.is_empty()) {
        general(
            cx,
            "script-missing",
            end,
            format!("No script set for vrrp_script {name} - removing"),
        )
        .help = Some("add 'script \"/path/to/check args\"' to the block".into());
        return None;
    }
    if !remove && !user_set {
        if let Err(err) = env.state.script_users.get(cx.host, env.globals.script_security) {
            if err == DefaultUserError::NewlyFailed {
                script::report_default_user_error(cx, end, err, "");
            }
            general(
                cx,
                "script-default-user",
                end,
                format!("Unable to set default user for vrrp script {name} - removing"),
            )
            .help = Some("add 'user USER' to the vrrp_script, or set script_user in global_defs".into());
            return None;
        }
    }
    if remove {
        return None;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use crate::diag::Class;

    fn load(text: &str) -> crate::Loaded {
        crate::load_str(text)
    }

    /// Reads the first statement of `text` as a vrrp_script block.
    fn parse_one(text: &str) -> Option<super::VrrpScript> {
        let globals = crate::vrrp::globals::VrrpGlobals::default();
        let mut vrrp = crate::vrrp::VrrpConfig::default();
        let (s, _) = crate::vrrp::tests::with_cx(text, |cx, tree| {
            super::parse(cx, &mut crate::vrrp::env(&mut vrrp, &globals), &tree[0])
        });
        s
    }

    #[test]
    fn defaults_and_values() {
        let s = parse_one("vrrp_script chk {\n script \"/bin/chk a 'b c'\"\n interval 2\n timeout 3\n weight -20 reverse\n rise 2\n fall 4\n init_fail\n}\n").unwrap();
        assert_eq!(s.script.as_ref().unwrap().args, ["/bin/chk", "a", "b c"]);
        assert_eq!((s.interval.0, s.timeout.0), (2_000_000, 3_000_000));
        assert_eq!(
            (s.weight, s.weight_reverse, s.rise, s.fall, s.init_fail),
            (-20, true, 2, 4, true)
        );
        let s = parse_one("vrrp_script chk {\n script /bin/true arg_dropped\n weight abc\n}\n").unwrap();
        assert_eq!(s.script.as_ref().unwrap().args, ["/bin/true"]);
        // keepalived keeps what strtol read from an invalid weight.
        assert_eq!(
            (s.interval.0, s.timeout.0, s.weight, s.rise, s.fall),
            (1_000_000, 0, 0, 1, 1)
        );
        assert_eq!(
            parse_one("vrrp_script chk {\n weight 300\n script x\n}\n")
                .unwrap()
                .weight,
            300
        );
        // Unused scripts are dropped after validation, as keepalived does at run time.
        let l = crate::load_str("vrrp_script chk {\n script /bin/true\n}\n");
        assert!(l.config.vrrp.vrrp_script.is_empty());
    }

    #[test]
    fn keepalived_messages() {
        let l = load("vrrp_script chk {\n interval 0\n weight 300\n rise x\n}\n");
        let m: Vec<(u32, u32, Class, &str)> = l
            .diagnostics
            .iter()
            .map(|d| {
                let s = d.span.as_ref().unwrap();
                (s.line, s.column, d.class, d.message.as_str())
            })
            .collect();
        assert_eq!(
            m,
            vec![
                (
                    2,
                    11,
                    Class::General,
                    "(chk): vrrp script interval must be greater than 0, setting to 1"
                ),
                (
                    3,
                    9,
                    Class::InvalidNumber,
                    "number '300' outside range [-253, 253]"
                ),
                (
                    3,
                    9,
                    Class::General,
                    "vrrp_script chk weight 300 must be in [-253, 253]"
                ),
                (4, 7, Class::InvalidNumber, "invalid number 'x'"),
                (
                    4,
                    7,
                    Class::General,
                    "(chk): vrrp script rise value 'x' invalid, defaulting to 1"
                ),
                (
                    5,
                    1,
                    Class::General,
                    "No script set for vrrp_script chk - removing"
                ),
            ]
        );
        assert!(l.config.vrrp.vrrp_script.is_empty());
    }
}
