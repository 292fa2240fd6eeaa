//! `global_defs` handlers for the processes: names, priorities, CPU affinity, rlimits,
//! umask, include checks and the configuration save directory.

use super::handlers::*;
use super::{GlobalDefs, IncludeCheck};
use crate::cx::Cx;
use crate::syntax::Statement;
use ka_units::Micros;
use std::collections::BTreeSet;

/// keepalived's `save_process_name`: names longer than 15 bytes are truncated, with a message.
pub(super) fn process_name(cx: &mut Cx<'_>, stmt: &Statement) -> Option<String> {
    let word = cx.word(stmt, 1)?;
    let bytes = word.text.as_bytes();
    if bytes.len() <= MAX_PROCESS_NAME {
        return Some(word.text.clone());
    }
    let truncated = String::from_utf8_lossy(&bytes[..MAX_PROCESS_NAME]).into_owned();
    general(
        cx,
        "process-name-too-long",
        &word.span,
        &word.text,
        format!(
            "Process name {} more than {MAX_PROCESS_NAME} characters, truncating",
            word.text
        ),
        format!("process names are at most {MAX_PROCESS_NAME} bytes; keepalived uses '{truncated}'"),
    );
    Some(truncated)
}

pub(super) fn max_auto_priority(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(word) = stmt.words.get(1) else {
        g.max_auto_priority = RR_PRIORITY_MAX;
        return;
    };
    // keepalived accepts -1 but its message says [0, 99].
    let v = int_word(
        cx,
        word,
        (-1, RR_PRIORITY_MAX),
        |w| {
            format!("max_auto_priority '{w}' must be in [0, {RR_PRIORITY_MAX}] (or -1 to disable) - ignoring")
        },
        "a real-time priority from 0 to 99, or -1 to disable",
    );
    if let Some(v) = v {
        g.max_auto_priority = v;
    }
}

pub(super) fn min_auto_priority_delay(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(word) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            "min_auto_priority_delay requires delay time".into(),
            "write 'min_auto_priority_delay MICROSECONDS' (1 to 10000000)",
        );
        return;
    };
    let v = int_word(
        cx,
        word,
        (1, 10_000_000),
        |w| format!("min_auto_priority_delay '{w}' must be in [1, 10000000] - ignoring"),
        "a number of microseconds from 1 to 10000000",
    );
    if let Some(v) = v {
        g.min_auto_priority_delay = Micros(u64::from(v.unsigned_abs()));
    }
}

/// keepalived's `get_priority`: the nice value, and 0 on any error (the handler stores it,
/// so a bad value resets an earlier good one).
pub(super) fn nice_priority(cx: &mut Cx<'_>, stmt: &Statement, process: &str) -> i8 {
    let Some(word) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            format!("No {process} process priority specified"),
            format!(
                "write '{} NICE' with NICE from -20 to 19 (keepalived sets 0)",
                stmt.keyword()
            ),
        );
        return 0;
    };
    let v = int_word(
        cx,
        word,
        (-20, 19),
        |_| format!("Invalid {process} process priority specified"),
        "a nice value from -20 to 19 (keepalived sets 0)",
    );
    v.and_then(|v| i8::try_from(v).ok()).unwrap_or(0)
}

/// keepalived's `get_realtime_priority`: clamped into [1, 99] with a message.
pub(super) fn rt_priority(cx: &mut Cx<'_>, stmt: &Statement, process: &str) -> Option<u32> {
    let Some(word) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            format!("No {process} process real-time priority specified"),
            format!("write '{} PRIORITY' with PRIORITY from 1 to 99", stmt.keyword()),
        );
        return None;
    };
    let v = int_word(
        cx,
        word,
        (i32::MIN, i32::MAX),
        |w| format!("{process} process real-time priority '{w}' invalid"),
        "a real-time priority from 1 to 99",
    )?;
    let clamped = v.clamp(RR_PRIORITY_MIN, RR_PRIORITY_MAX);
    if v < RR_PRIORITY_MIN {
        general(
            cx,
            "out-of-range",
            &word.span,
            &word.text,
            format!("{process} process real-time priority {v} less than minimum {RR_PRIORITY_MIN} - setting to minimum"),
            "SCHED_RR priorities go from 1 to 99",
        );
    } else if v > RR_PRIORITY_MAX {
        general(
            cx,
            "out-of-range",
            &word.span,
            &word.text,
            format!("{process} process real-time priority {v} greater than maximum {RR_PRIORITY_MAX} - setting to maximum"),
            "SCHED_RR priorities go from 1 to 99",
        );
    }
    Some(clamped.unsigned_abs())
}

/// keepalived's `get_cpu_affinity`: the set is replaced; the first bad id empties it.
pub(super) fn cpu_affinity(cx: &mut Cx<'_>, stmt: &Statement, process: &str, set: &mut Vec<u32>) {
    if stmt.words.len() < 2 {
        missing(
            cx,
            stmt,
            format!("No {process} cpu_id set specified"),
            format!("write '{} CPU [CPU...]'", stmt.keyword()),
        );
        return;
    }
    set.clear();
    let mut cpus = BTreeSet::new();
    for word in stmt.args() {
        let v = int_word(
            cx,
            word,
            (0, MAX_CPU_ID),
            // keepalived prints the integer strtol made of the word, e.g. 0 for "x".
            |w| {
                format!(
                    "Invalid cpu_id:{} specified for {process} process",
                    strtol_as_int(w)
                )
            },
            "CPU ids (0 for the first CPU); keepalived empties the set",
        );
        match v {
            Some(id) => {
                cpus.insert(id.unsigned_abs());
            }
            None => return,
        }
    }
    *set = cpus.into_iter().collect();
}

/// What C's `(int)strtol(s, NULL, 10)` gives: the leading number, saturated to `long`, then
/// truncated to `int`.
fn strtol_as_int(s: &str) -> i32 {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (negative, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let mut value: i128 = 0;
    for c in body.chars().map_while(|c| c.to_digit(10)) {
        value = (value * 10 + i128::from(c)).min(i128::from(i64::MAX) + 1);
    }
    if negative {
        value = -value;
    }
    let long = value.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
    // C's conversion to int keeps the low 32 bits.
    long as i32
}

/// keepalived's `get_rt_rlimit`: an invalid value stores 0 (no limit); 1 becomes 2 because
/// the soft limit is half of it and must not be 0.
pub(super) fn rt_rlimit(cx: &mut Cx<'_>, stmt: &Statement, process: &str) -> Option<Micros> {
    let kw = stmt.keyword();
    if let Some(stem) = kw.strip_suffix("rtime") {
        let kw = kw.to_string();
        let good = format!("{stem}rttime");
        info(
            cx,
            "deprecated",
            stmt.span(),
            format!("Keyword '{kw}' is deprecated - please use '{good}'"),
            format!("rename the keyword to {good} (keepalived only logs this)"),
        );
    }
    let word = cx.word(stmt, 1)?;
    let v = unsigned_word(
        cx,
        word,
        (1, u32::MAX),
        |w| format!("Invalid {process} real-time limit - {w}"),
        "a number of microseconds from 1 to 4294967295 (keepalived sets no limit)",
    );
    Some(Micros(u64::from(match v {
        Some(1) => 2,
        Some(v) => v,
        None => 0,
    })))
}

/// `umask 0NNN` (C `strtol` base 0, up to 0777) or `umask IRUSR|IWGRP...` (the `|` may be
/// its own word or touch either name).
pub(super) fn umask(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(first) = cx.word(stmt, 1) else {
        return;
    };
    const HELP: &str =
        "write an octal mask such as 0027, or bits such as IWGRP|IWOTH (I{R,W,X}{USR,GRP,OTH})";
    if first.text.starts_with(|c: char| c.is_ascii_digit()) {
        if let Some(extra) = stmt.words.get(2) {
            general(
                cx,
                "extra-words",
                &extra.span,
                &extra.text,
                "Extra parameter(s) to umask option".into(),
                HELP,
            );
            return;
        }
        match strtol_base0(&first.text).filter(|v| (0..=0o777).contains(v)) {
            Some(v) => g.umask = u32::try_from(v).unwrap_or(0o177),
            None => general(
                cx,
                "invalid-value",
                &first.span,
                &first.text,
                format!("invalid umask value {}", first.text),
                HELP,
            ),
        }
        return;
    }
    const BITS: [(&str, u32); 9] = [
        ("IRUSR", 0o400),
        ("IWUSR", 0o200),
        ("IXUSR", 0o100),
        ("IRGRP", 0o040),
        ("IWGRP", 0o020),
        ("IXGRP", 0o010),
        ("IROTH", 0o004),
        ("IWOTH", 0o002),
        ("IXOTH", 0o001),
    ];
    let mut bits = 0;
    let mut need_or = false;
    for word in stmt.args() {
        let mut rest = word.text.as_str();
        while !rest.is_empty() {
            if need_or {
                if let Some(r) = rest.strip_prefix('|') {
                    need_or = false;
                    rest = r;
                    continue;
                }
                general(
                    cx,
                    "invalid-value",
                    &word.span,
                    &word.text,
                    format!("Invalid umask syntax {}", word.text),
                    HELP,
                );
                return;
            }
            match BITS.iter().find(|(name, _)| rest.starts_with(name)) {
                Some((name, bit)) => {
                    bits |= bit;
                    rest = &rest[name.len()..];
                    need_or = true;
                }
                None => {
                    general(
                        cx,
                        "invalid-value",
                        &word.span,
                        rest,
                        format!("Unknown umask bit {rest}"),
                        HELP,
                    );
                    return;
                }
            }
        }
    }
    if !need_or {
        missing(cx, stmt, "umask missing bit value".into(), HELP);
        return;
    }
    g.umask = bits;
}

/// C's `strtol(s, &end, 0)` requiring the whole string: `0x` hex, leading `0` octal, else
/// decimal. Overflow gives `None` (keepalived then refuses the value as too large anyway).
fn strtol_base0(s: &str) -> Option<i64> {
    let (digits, radix) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (h, 16)
    } else if s.len() > 1 && s.starts_with('0') {
        (&s[1..], 8)
    } else {
        (s, 10)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    i64::from_str_radix(digits, radix).ok()
}

/// keepalived's `include_check_set`.
pub(super) fn include_check(cx: &mut Cx<'_>, stmt: &Statement, ic: &mut IncludeCheck) {
    if stmt.words.len() < 2 {
        *ic = IncludeCheck {
            read: true,
            match_: true,
            wildcard_match: true,
            brace_match: true,
        };
        return;
    }
    for (i, word) in stmt.args().iter().enumerate() {
        let (sign, name) = match word.text.as_bytes().first() {
            Some(b'-') => (-1, &word.text[1..]),
            Some(b'+') => (1, &word.text[1..]),
            _ => (0, word.text.as_str()),
        };
        if sign == 0 {
            if i == 0 {
                // keepalived clears the checks before looking at the type.
                *ic = IncludeCheck::default();
            } else {
                general(
                    cx,
                    "duplicate",
                    &word.span,
                    &word.text,
                    format!("Duplicate include_check '{}' specified - ignoring", word.text),
                    "after the first type, prefix types with + (add) or - (remove)",
                );
                continue;
            }
        }
        let flag = match name {
            "read" => 0,
            "match" => 1,
            "wildcard_match" => 2,
            "brace_match" => 3,
            _ => {
                general(
                    cx,
                    "unknown-option",
                    &word.span,
                    name,
                    format!("Unknown include_check type '{name}' - ignoring"),
                    "types are read, match, wildcard_match and brace_match",
                );
                continue;
            }
        };
        if sign == 0 {
            // Setting a type always includes `read`.
            ic.read = true;
        }
        let field = match flag {
            0 => &mut ic.read,
            1 => &mut ic.match_,
            2 => &mut ic.wildcard_match,
            _ => &mut ic.brace_match,
        };
        *field = sign >= 0;
    }
}

/// `config_save_dir DIR`. keepalived creates a missing directory even under `-t`; reading a
/// configuration must not change the machine, so a missing one is recorded for the daemon.
pub(super) fn config_save_dir(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(word) = cx.word(stmt, 1) else {
        return;
    };
    use crate::host::FileKind;
    match cx.host.file_kind(std::path::Path::new(&word.text)) {
        Some(FileKind::Regular { .. } | FileKind::Other) => general(
            cx,
            "not-a-directory",
            &word.span,
            &word.text,
            format!("config_save_dir {} exists and is not a directory", word.text),
            "name a directory (keepalived copies each configuration it reads there)",
        ),
        Some(FileKind::Directory) | None => {
            let dir = word.text.strip_suffix('/').unwrap_or(&word.text);
            g.config_save_dir = Some(dir.to_string());
        }
    }
}
