//! Scripts, run as keepalived runs them.
//!
//! Starting configured scripts (`vrrp_script`, `notify*`, FIFO scripts) the way keepalived's
//! `system_call_script` does: as the script's user — its own `USER [GROUP]`, else
//! `script_user`, else `keepalived_script`, else root — with only that group (supplementary
//! groups cleared), in a process group of its own so a timeout kills its children too,
//! with stdin/stdout/stderr on /dev/null, and killed (SIGTERM) if the daemon dies.
//!
//! Which scripts may run at all (`enable_script_security`, files writable by non-root users)
//! is decided when the configuration is read (`ka_config::vrrp::script_security`): an
//! insecure script never reaches the daemon's plan.

use ka_config::script::Script;
use nix::unistd::{Group, User};
use std::process::Stdio;

/// Who a script runs as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub uid: u32,
    pub gid: u32,
}

/// Resolves a script's user and group names. `None` for both: the daemon's own user.
/// A name that no longer exists is an error, never a silent fallback to root.
pub fn credentials(user: Option<&str>, group: Option<&str>) -> Result<Option<Credentials>, String> {
    let Some(user) = user else {
        return match group {
            None => Ok(None),
            Some(g) => Ok(Some(Credentials {
                uid: nix::unistd::getuid().as_raw(),
                gid: group_id(g)?,
            })),
        };
    };
    let entry = match User::from_name(user) {
        Ok(Some(u)) => u,
        Ok(None) => return Err(format!("script user '{user}' does not exist")),
        Err(e) => return Err(format!("cannot look up script user '{user}': {e}")),
    };
    let gid = match group {
        Some(g) => group_id(g)?,
        None => entry.gid.as_raw(),
    };
    Ok(Some(Credentials {
        uid: entry.uid.as_raw(),
        gid,
    }))
}

fn group_id(name: &str) -> Result<u32, String> {
    match Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(format!("script group '{name}' does not exist")),
        Err(e) => Err(format!("cannot look up script group '{name}': {e}")),
    }
}

/// The command for `script` with `extra` arguments appended (the `notify` script's four).
///
/// A program starting with `<` or `>` is keepalived's shell form (e.g. `</dev/tcp/...`, a
/// test that a file opens): keepalived hands the quoted words to `system()`, so we run them
/// with `/bin/sh -c` too.
pub fn command(script: &Script, extra: &[&str]) -> Result<tokio::process::Command, String> {
    let Some(program) = script.args.first() else {
        return Err(format!("script '{}' has no command", script.command));
    };
    let creds = credentials(script.user.as_deref(), script.group.as_deref())?;
    let mut cmd = if program.starts_with(['<', '>']) {
        let mut words: Vec<String> = vec![program.clone()];
        words.extend(script.args[1..].iter().map(|a| shell_quote(a)));
        words.extend(extra.iter().map(|a| shell_quote(a)));
        let mut c = tokio::process::Command::new("/bin/sh");
        c.arg("-c").arg(words.join(" "));
        c
    } else {
        let mut c = tokio::process::Command::new(program);
        c.args(&script.args[1..]).args(extra);
        c
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    if let Some(c) = creds {
        // With a uid set, std clears the supplementary groups before dropping privileges
        // (keepalived's setgroups(1, &gid)); the gid is set first.
        cmd.gid(c.gid).uid(c.uid);
    }
    die_with_daemon(&mut cmd);
    restore_rttime_limit(&mut cmd);
    Ok(cmd)
}

/// RLIMIT_RTTIME as the daemon found it at start, (soft, hard).
static ORIGINAL_RTTIME: std::sync::OnceLock<(u64, u64)> = std::sync::OnceLock::new();

/// Remembers RLIMIT_RTTIME before the daemon's real-time roles change it (`*_rlimit_rttime`,
/// or keepalived-rs's default soft limit for its VRRP thread): scripts get the original back,
/// as keepalived's children get its `orig_rlimit_rt`. Call before the process tuning.
pub fn remember_original_rttime_limit() {
    use nix::sys::resource::{getrlimit, Resource, RLIM_INFINITY};
    let _ = ORIGINAL_RTTIME
        .get_or_init(|| getrlimit(Resource::RLIMIT_RTTIME).unwrap_or((RLIM_INFINITY, RLIM_INFINITY)));
}

#[allow(unsafe_code)]
fn restore_rttime_limit(cmd: &mut tokio::process::Command) {
    let Some(&(soft, hard)) = ORIGINAL_RTTIME.get() else {
        return;
    };
    // SAFETY: the closure runs in the forked child before exec and only calls setrlimit(2),
    // which is async-signal-safe; it captures two integers and allocates nothing. A failure
    // (a lowered hard limit without CAP_SYS_RESOURCE) leaves the daemon's limit.
    unsafe {
        cmd.pre_exec(move || {
            let _ = nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_RTTIME, soft, hard);
            Ok(())
        });
    }
}

/// keepalived's `PR_SET_PDEATHSIG`: a script outliving a crashed daemon could act on a
/// state that is no longer true.
#[allow(unsafe_code)]
fn die_with_daemon(cmd: &mut tokio::process::Command) {
    // SAFETY: the closure runs in the forked child before exec and only calls prctl(2),
    // which is async-signal-safe; it allocates nothing and takes no locks.
    unsafe {
        cmd.pre_exec(|| {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGTERM).map_err(std::io::Error::from)
        });
    }
}

/// keepalived's `cmd_str` quoting: every word after the first in single quotes.
fn shell_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_resolves_and_unknown_users_are_refused() {
        let root = credentials(Some("root"), None).expect("root exists");
        assert_eq!(root, Some(Credentials { uid: 0, gid: 0 }));
        assert_eq!(credentials(None, None), Ok(None));
        let err = credentials(Some("no-such-user-ka-rs"), None).unwrap_err();
        assert!(err.contains("does not exist"), "{err}");
        let err = credentials(Some("root"), Some("no-such-group-ka-rs")).unwrap_err();
        assert!(err.contains("group"), "{err}");
    }

    #[test]
    fn shell_form_quotes_like_keepalived() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
