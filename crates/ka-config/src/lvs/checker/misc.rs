//! MISC_CHECK: runs a script; its exit status is the result (keepalived's check_misc.c).

use super::{timing_keyword, Checker, CheckerKind, NewChecker};
use crate::cx::Cx;
use crate::lvs::notify::cmd_str;
use crate::lvs::{code, read, ParseState};
use crate::script::{self, Script, ScriptError};
use crate::syntax::Statement;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct MiscCheck {
    /// `misc_path`, with the `user` keyword's user and group (None: the default script user).
    pub misc_path: Script,
    /// `misc_timeout` in seconds; 0 (default): the virtual server's delay_loop.
    pub misc_timeout_secs: u32,
    /// `misc_dynamic`: the exit status adjusts the real server's weight.
    pub misc_dynamic: bool,
}

pub(crate) fn new_kind() -> CheckerKind {
    CheckerKind::Misc(MiscCheck {
        misc_path: no_script(),
        misc_timeout_secs: 0,
        misc_dynamic: false,
    })
}

fn no_script() -> Script {
    Script {
        command: String::new(),
        args: Vec::new(),
        user: None,
        group: None,
        span: None,
    }
}

pub(crate) fn parse(
    cx: &mut Cx<'_>,
    statements: &[Statement],
    mut new: NewChecker,
    state: &mut ParseState,
) -> Option<Checker> {
    let mut path: Option<Script> = None;
    let mut user: Option<(String, Option<String>)> = None;
    let mut timeout = 0;
    let mut dynamic = false;
    // A failed `user` removes the checker; keepalived then ignores the rest of the block.
    let mut removed = false;
    cx.each_statement(statements, "MISC_CHECK", &mut |cx, s| {
        if removed {
            return true;
        }
        if timing_keyword(cx, s, &mut new.checker.common) {
            return true;
        }
        match s.keyword() {
            "misc_path" => {
                cx.no_block(s);
                // Words after the script are ignored: the user is given with `user`.
                match script::parse_script_words(&s.line_words()) {
                    Ok(sc) => {
                        path = Some(Script {
                            user: None,
                            group: None,
                            ..sc
                        })
                    }
                    Err(e @ (ScriptError::Line(_) | ScriptError::Command { error: Some(_), .. })) => {
                        let at = s
                            .words
                            .get(1)
                            .map_or_else(|| s.span().clone(), |w| w.span.clone());
                        script::report_script_error(cx, &at, &e);
                        path = None;
                    }
                    // No or an empty command: no script (reported when the block ends).
                    Err(_) => path = None,
                }
            }
            "misc_timeout" => {
                cx.no_block(s);
                let msg = |w: &str| format!("Invalid misc_timeout value '{w}'");
                // UINT_MAX µs in whole seconds.
                if let Some(v) = read::unsigned_required(cx, s, 1, 0, 4294, msg) {
                    timeout = v;
                }
            }
            "misc_dynamic" => {
                cx.no_block(s);
                dynamic = true;
            }
            "user" => {
                cx.no_block(s);
                let shown = path.as_ref().map(|p| cmd_str(&p.args)).unwrap_or_default();
                let Some(name) = s.words.get(1).map(|w| w.text.clone()) else {
                    let msg = format!("No user specified for misc checker script {shown}");
                    read::missing(cx, s, msg, "expected 'user USER [GROUP]'");
                    return true;
                };
                if !cx.host.user_exists(&name) {
                    read::logged(
                        cx,
                        s.span(),
                        format!("Script user '{name}' does not exist"),
                        "create the user or name another one",
                    );
                    let msg = format!("Failed to set uid/gid for misc checker script {shown} - removing");
                    read::error(
                        cx,
                        code::REMOVED,
                        s.span(),
                        msg,
                        "name an existing user; the checker is ignored",
                    );
                    removed = true;
                    return true;
                }
                user = Some((name, s.words.get(2).map(|w| w.text.clone())));
            }
            _ => return false,
        }
        true
    });
    if removed {
        return None;
    }
    let Some(mut misc_path) = path else {
        let msg = "No script path has been specified for MISC_CHECKER - skipping".to_string();
        read::error(
            cx,
            code::REMOVED,
            &new.end,
            msg,
            "add 'misc_path \"/path/to/script args\"'",
        );
        return None;
    };
    match user {
        Some((u, g)) => {
            misc_path.user = Some(u);
            misc_path.group = g;
        }
        None => {
            if let Err(err) = state.script_users.get(cx.host, state.script_security) {
                if err == script::DefaultUserError::NewlyFailed {
                    script::report_default_user_error(cx, &new.end, err, "misc script");
                }
                let msg = format!(
                    "Unable to set default user for misc script {} - removing",
                    cmd_str(&misc_path.args)
                );
                read::error(
                    cx,
                    code::REMOVED,
                    &new.end,
                    msg,
                    "add 'user USER' to the MISC_CHECK",
                );
                return None;
            }
        }
    }
    new.checker.kind = CheckerKind::Misc(MiscCheck {
        misc_path,
        misc_timeout_secs: timeout,
        misc_dynamic: dynamic,
    });
    Some(new.checker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::tests::{checkers, diags, load_with_users};

    const BODY: &str = "virtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  MISC_CHECK {\n   misc_path \"/usr/local/bin/check 'arg 1' x\" ignored\n   misc_timeout 30\n   misc_dynamic\n   user nobody nogroup\n   warmup 2\n  }\n }\n}\n";

    #[test]
    fn misc_check_keywords_and_defaults() {
        let l = load_with_users(BODY, &["nobody"]);
        assert!(l.diagnostics.is_empty(), "{:?}", diags(&l));
        let c = &l.config.lvs.virtual_servers[0].real_servers[0].checkers[0];
        let CheckerKind::Misc(m) = &c.kind else { panic!() };
        assert_eq!(m.misc_path.args, ["/usr/local/bin/check", "arg 1", "x"]);
        assert_eq!(
            (m.misc_path.user.as_deref(), m.misc_path.group.as_deref()),
            (Some("nobody"), Some("nogroup"))
        );
        assert_eq!((m.misc_timeout_secs, m.misc_dynamic), (30, true));
        assert!(c.common.conn.is_none());
        // MISC_CHECK's default retry is 0.
        assert_eq!(c.common.retry, Some(0));
        assert_eq!(c.common.warmup, Some(ka_units::Micros::from_secs(2)));
        let scripts = l.config.lvs.scripts();
        assert_eq!(scripts.len(), 1);
        assert_eq!(scripts[0].keyword, "misc_path");
    }

    #[test]
    fn default_script_user_under_script_security() {
        // Without a user and without keepalived_script, keepalived runs it as root...
        let (c, d) = checkers("  MISC_CHECK {\n   misc_path /bin/true\n  }");
        assert!(d.is_empty(), "{d:?}");
        assert_eq!(c.len(), 1);
        // ...unless script security is on: then the checker is removed.
        let text = format!(
            "global_defs {{\n enable_script_security\n}}\n{}",
            BODY.replace("   user nobody nogroup\n", "")
        );
        let l = load_with_users(&text, &[]);
        let d = diags(&l);
        assert!(
            d.contains(&"14:3 General Unable to set default user keepalived_script for script".to_string()),
            "{d:?}"
        );
        assert!(
            d.contains(&"14:3 General Unable to set default user for misc script '/usr/local/bin/check' 'arg 1' 'x' - removing".to_string()),
            "{d:?}"
        );
        assert!(l.config.lvs.virtual_servers[0].real_servers[0]
            .checkers
            .is_empty());
    }
}
