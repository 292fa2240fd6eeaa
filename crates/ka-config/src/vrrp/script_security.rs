//! keepalived's script checks for the VRRP process (`check_vrrp_script_security` with
//! `check_script_secure`): every `vrrp_script` and notify script is looked up; scripts that
//! cannot be found or run are dropped, insecure ones flagged, and when scripts would run
//! without `enable_script_security` keepalived reports its SECURITY VIOLATION (class
//! SECURITY_ERROR: `keepalived -t` exits with 6).
//!
//! What the machine cannot tell us through [`Host`](crate::host::Host) (ownership of a path
//! component we cannot stat) is taken as secure.

use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::host::FileKind;
use crate::script::Script;
use std::path::Path;

use super::common::general;
use super::globals::VrrpGlobals;
use super::VrrpConfig;

/// keepalived's script-check flags (lib/notify.h).
const SC_ISSCRIPT: u32 = 0x01;
const SC_INHIBIT: u32 = 0x02;
const SC_NOTFOUND: u32 = 0x04;
const SC_EXECUTABLE: u32 = 0x08;
const SC_INSECURE: u32 = 0x10;
const SC_SYSTEM: u32 = 0x20;

/// Where keepalived looks for a program named without a '/': the PATH its service runs with.
const DEFAULT_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// keepalived's `check_script_secure` for one script; `LOG` lines become `Info` diagnostics.
fn check_script_secure(cx: &mut Cx<'_>, script: &Script, at: &Span, security: bool, root: bool) -> u32 {
    let prog = script.program();
    // "< /path": a test that a file can be opened, never executed.
    if let Some(rest) = prog.strip_prefix('<') {
        if rest.trim_start_matches([' ', '\t']).starts_with('/') {
            return SC_SYSTEM;
        }
    }
    let path = if prog.contains('/') {
        prog.to_string()
    } else {
        let found = DEFAULT_PATH
            .iter()
            .map(|d| format!("{d}/{prog}"))
            .find(|p| matches!(cx.host.file_kind(Path::new(p)), Some(FileKind::Regular { .. })));
        match found {
            Some(p) if !prog.is_empty() => p,
            _ => {
                cx.report(
                    Class::Info,
                    "script-not-found",
                    at,
                    format!("Cannot find script {prog} in path - disabling"),
                );
                return SC_NOTFOUND;
            }
        }
    };
    let executable = match cx.host.file_kind(Path::new(&path)) {
        None => {
            cx.report(
                Class::Info,
                "script-not-found",
                at,
                format!("Script {prog} cannot be accessed - No such file or directory"),
            );
            return SC_NOTFOUND;
        }
        Some(FileKind::Regular { executable }) => executable,
        Some(_) => false,
    };
    let mut flags = SC_ISSCRIPT;
    if executable {
        flags |= SC_EXECUTABLE;
    } else {
        cx.report(
            Class::Info,
            "script-not-executable",
            at,
            format!("WARNING - script '{prog}' is not executable for uid:gid 0:0 - disabling."),
        );
    }
    // Scripts run as root must not be replaceable by anyone else.
    if executable && root {
        flags |= check_security(cx, &path, at, security);
    }
    flags
}

/// keepalived's `check_security`: every directory on the way and the file itself must be
/// owned by root and not writable by others (directories may be sticky).
fn check_security(cx: &mut Cx<'_>, path: &str, at: &Span, security: bool) -> u32 {
    // "/", "/a", "/a/b", ... "/a/b/file" (relative paths: "a", "a/b", ...).
    let mut prefixes: Vec<String> = Vec::new();
    if path.starts_with('/') {
        prefixes.push("/".into());
    }
    let mut acc = String::new();
    for part in path.split('/').filter(|p| !p.is_empty()) {
        if path.starts_with('/') || !acc.is_empty() {
            acc.push('/');
        }
        acc.push_str(part);
        prefixes.push(acc.clone());
    }
    for (i, p) in prefixes.iter().enumerate() {
        let last = i + 1 == prefixes.len();
        let Some(sec) = cx.host.file_security(Path::new(p)) else {
            continue;
        };
        let is_dir = sec.mode & 0o170_000 == 0o040_000;
        let is_file = sec.mode & 0o170_000 == 0o100_000;
        let is_link = sec.mode & 0o170_000 == 0o120_000;
        if (!last && !is_dir) || (last && !is_file && !is_link) {
            cx.report(
                Class::Info,
                "script-path",
                at,
                format!("Wrong file type found in script path '{path}'."),
            );
            return SC_INHIBIT;
        }
        let group_write = sec.gid != 0 && sec.mode & 0o020 != 0;
        let world_write = sec.mode & 0o002 != 0;
        let sticky = sec.mode & 0o1000 != 0;
        if sec.uid != 0 || (((is_dir && !sticky) || is_file) && (group_write || world_write)) {
            let disabling = if security { " - disabling" } else { "" };
            cx.report(
                Class::Info,
                "script-insecure",
                at,
                format!("Unsafe permissions found for script '{path}'{disabling}."),
            );
            return SC_INSECURE | if security { SC_INHIBIT } else { 0 };
        }
    }
    0
}

/// Whether the default script user is keepalived's own (root): no `script_user` and no
/// `keepalived_script` user.
fn default_user_is_root(vrrp: &VrrpConfig) -> bool {
    matches!(vrrp.state.script_users.user.as_deref(), None | Some("root"))
}

/// keepalived's `check_vrrp_script_security`.
pub(crate) fn check(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig) {
    if vrrp.vrrp_instance.is_empty() {
        return;
    }
    let security = g.script_security;
    let mut all_flags = 0;
    let mut first_span: Option<Span> = None;
    let mut insecure: Vec<String> = Vec::new();
    for i in 0..vrrp.vrrp_script.len() {
        let (name, script, span, user) = {
            let s = &vrrp.vrrp_script[i];
            (s.name.clone(), s.script.clone(), s.span.clone(), s.user.clone())
        };
        let Some(script) = script else { continue };
        let at = script
            .span
            .clone()
            .or(span)
            .unwrap_or_else(|| fallback_span(vrrp));
        let root = match user {
            Some(u) => u == "root",
            None => default_user_is_root(vrrp),
        };
        let flags = check_script_secure(cx, &script, &at, security, root);
        all_flags |= flags;
        if flags & SC_ISSCRIPT != 0 && first_span.is_none() {
            first_span = Some(at.clone());
        }
        if flags & SC_INHIBIT != 0 {
            general(
                cx,
                "script-insecure",
                &at,
                format!("Disabling track script {name} due to insecure"),
            )
            .help =
                Some("make the script and its directories owned by root and not writable by others".into());
            insecure.push(name);
        } else if flags & SC_NOTFOUND != 0 {
            general(
                cx,
                "script-not-found",
                &at,
                format!("Disabling track script {name} since not found/accessible"),
            )
            .help = Some("give the full path of an existing executable".into());
            insecure.push(name);
        } else if flags & (SC_EXECUTABLE | SC_SYSTEM) == 0 {
            insecure.push(name);
        }
    }

    // Notify scripts of instances, then of sync groups; unusable ones are dropped.
    let fallback = fallback_span(vrrp);
    let check_notify =
        |cx: &mut Cx<'_>, slot: &mut Option<Script>, root_default: bool, first: &mut Option<Span>| {
            let Some(s) = slot.as_ref() else { return 0 };
            let root = match &s.user {
                Some(u) => u == "root",
                None => root_default,
            };
            let span = s.span.clone().unwrap_or_else(|| fallback.clone());
            let flags = check_script_secure(cx, s, &span, security, root);
            if flags & SC_ISSCRIPT != 0 && first.is_none() {
                *first = Some(span);
            }
            if flags & (SC_INHIBIT | SC_NOTFOUND) != 0 || flags & SC_EXECUTABLE == 0 {
                *slot = None;
            }
            flags
        };
    let root_default = default_user_is_root(vrrp);
    for v in &mut vrrp.vrrp_instance {
        for slot in [
            &mut v.notify_backup,
            &mut v.notify_master,
            &mut v.notify_fault,
            &mut v.notify_stop,
            &mut v.notify_deleted_script,
            &mut v.notify,
            &mut v.notify_master_rx_lower_pri,
        ] {
            all_flags |= check_notify(cx, slot, root_default, &mut first_span);
        }
        v.track_script.retain(|t| !insecure.contains(&t.name));
    }
    for sg in &mut vrrp.vrrp_sync_group {
        for slot in [
            &mut sg.notify_backup,
            &mut sg.notify_master,
            &mut sg.notify_fault,
            &mut sg.notify_stop,
            &mut sg.notify,
        ] {
            all_flags |= check_notify(cx, slot, root_default, &mut first_span);
        }
        sg.track_script.retain(|t| !insecure.contains(&t.name));
    }
    // The global FIFO scripts are checked too (and dropped by their owner, global_defs).
    for s in &g.fifo_scripts {
        let mut copy = Some(s.clone());
        all_flags |= check_notify(cx, &mut copy, root_default, &mut first_span);
    }

    if !security && all_flags & SC_ISSCRIPT != 0 {
        let extra = if all_flags & SC_INSECURE != 0 {
            " There are insecure scripts."
        } else {
            ""
        };
        let at = first_span.unwrap_or(fallback);
        cx.report(
            Class::Security,
            "script-security",
            &at,
            format!(
                "SECURITY VIOLATION - scripts are being executed but script_security not enabled.{extra}"
            ),
        )
        .help = Some(
            "add 'enable_script_security' to global_defs (and run scripts as a non-root script_user)".into(),
        );
    }
    vrrp.vrrp_script.retain(|s| !insecure.contains(&s.name));
}

/// Somewhere to report when a script has no position: the first instance.
fn fallback_span(vrrp: &VrrpConfig) -> Span {
    vrrp.vrrp_instance
        .first()
        .and_then(|v| v.span.clone())
        .unwrap_or(Span {
            file: "".into(),
            line: 0,
            column: 0,
        })
}
