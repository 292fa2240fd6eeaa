//! Scripts as keepalived reads them: the command, the argv it runs, and the user to run it as.
//!
//! keepalived reads a script line twice. The keyword parser splits the line its usual way
//! (blanks, `"..."`), but a script keyword then re-splits the whole line with
//! `alloc_strvec_quoted_escaped`, which knows `"..."` and `'...'` quoting and backslash
//! escapes. Word 1 of that is the command string, which is split the same way a second time
//! into argv; words 2 and 3 are the user and group. So
//! `startup_script "/bin/foo arg1 'arg 2'" nobody` runs `/bin/foo` with `arg1` and `arg 2` as
//! user `nobody`.
//!
//! This module is shared by every keyword that takes a script (`startup_script`,
//! `notify_fifo_script`, `notify_master`, `vrrp_script`'s `script`, ...). It does not check
//! script security (file ownership and permissions); it records what that check needs.

use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::host::Host;
use crate::syntax::{Statement, Word};
use serde::Serialize;

/// A script keepalived would run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Script {
    /// The command string (word 1 after quote and escape processing), e.g.
    /// `/bin/foo arg1 'arg 2'`: what keepalived shows in its messages.
    pub command: String,
    /// The argv keepalived executes: `args[0]` is the program, never empty.
    pub args: Vec<String>,
    /// User to run as (word 2); `None` means keepalived's default script user.
    pub user: Option<String>,
    /// Group to run as (word 3); `None` means the user's primary group.
    pub group: Option<String>,
    /// Where the command word is, for diagnostics about the script (e.g. script security).
    #[serde(skip)]
    pub span: Option<Span>,
}

impl Script {
    /// The program keepalived executes (`args[0]`).
    pub fn program(&self) -> &str {
        self.args.first().map(String::as_str).unwrap_or("")
    }
}

/// Why a text could not be split by [`split_quoted_escaped`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitError {
    /// An opening quote is never closed. keepalived reports this as a configuration error
    /// (class UNMATCHED_QUOTE): "String '<text>': missing terminating <quote>".
    MissingQuote { text: String, quote: char },
    /// The text ends in a lone backslash. keepalived only logs
    /// "Missing escape char at end: '<text>'".
    MissingEscape { text: String },
}

impl SplitError {
    /// keepalived's message for this error.
    pub fn message(&self) -> String {
        match self {
            SplitError::MissingQuote { text, quote } => {
                format!("String '{text}': missing terminating {quote}")
            }
            SplitError::MissingEscape { text } => format!("Missing escape char at end: '{text}'"),
        }
    }
}

/// Why a script line gave no script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptError {
    /// The whole line could not be split (keepalived logs "Unable to parse notify script").
    Line(SplitError),
    /// The line has no command word.
    NoCommand,
    /// The command string could not be split or is empty (keepalived logs
    /// "Unable to parse script '<command>' - ignoring").
    Command {
        command: String,
        error: Option<SplitError>,
    },
}

const BLANKS: &[u8] = b" \t\x0c\n\r\x0b";

/// keepalived's `alloc_strvec_quoted_escaped`: splits `text` into words at blanks, where
/// `"..."` and `'...'` quote blanks and `\` escapes the next character. Escapes (also inside
/// either kind of quote): `\a \b \E \f \n \r \t \v`, `\xHH...` (hex), `\NNN` (octal, up to 3
/// digits), `\cX` (control character), and `\X` for any other X is X itself.
///
/// Like keepalived this works on bytes: an escape yields one byte (values wrap at 256), and a
/// word ends at a NUL byte produced by an escape (C strings). Bytes that do not form UTF-8
/// are replaced. An empty result (only blanks) is `Ok(vec![])`; keepalived treats that as a
/// failure, which callers must do too.
pub fn split_quoted_escaped(text: &str) -> Result<Vec<String>, SplitError> {
    let src = text.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < src.len() {
        while i < src.len() && BLANKS.contains(&src[i]) {
            i += 1;
        }
        if i >= src.len() {
            break;
        }
        let mut word: Vec<u8> = Vec::new();
        while i < src.len() {
            let c = src[i];
            match quote {
                Some(q) if c == q => {
                    quote = None;
                    i += 1;
                }
                None if c == b'"' || c == b'\'' => {
                    quote = Some(c);
                    i += 1;
                }
                None if BLANKS.contains(&c) => break,
                _ if c == b'\\' => {
                    i += 1;
                    let Some(&e) = src.get(i) else {
                        return Err(SplitError::MissingEscape {
                            text: text.to_string(),
                        });
                    };
                    let (byte, used) = escape(&src[i..], e);
                    word.push(byte);
                    i += used;
                }
                _ => {
                    word.push(c);
                    i += 1;
                }
            }
        }
        if let Some(q) = quote {
            return Err(SplitError::MissingQuote {
                text: text.to_string(),
                quote: char::from(q),
            });
        }
        // keepalived copies the word with strndup, which stops at a NUL from `\0` or `\x00`.
        if let Some(nul) = word.iter().position(|b| *b == 0) {
            word.truncate(nul);
        }
        words.push(String::from_utf8_lossy(&word).into_owned());
    }
    Ok(words)
}

/// Decodes the escape starting at `rest[0]` (the character after `\`): the byte it stands
/// for and how many input bytes it used.
fn escape(rest: &[u8], e: u8) -> (u8, usize) {
    if e == b'x' && rest.get(1).is_some_and(u8::is_ascii_hexdigit) {
        // As many hex digits as follow; C keeps the low 8 bits of the accumulated char.
        let mut value: u8 = 0;
        let mut used = 1;
        while let Some(d) = rest.get(used).and_then(|b| char::from(*b).to_digit(16)) {
            value = (value << 4) | d as u8;
            used += 1;
        }
        return (value, used);
    }
    if e == b'c' {
        if let Some(&next) = rest.get(1) {
            return (next & 0x1f, 2);
        }
    }
    if (b'0'..=b'7').contains(&e) {
        let mut value: u8 = e - b'0';
        let mut used = 1;
        while used < 3 {
            match rest.get(used) {
                Some(d @ b'0'..=b'7') => {
                    value = (value << 3).wrapping_add(d - b'0');
                    used += 1;
                }
                _ => break,
            }
        }
        return (value, used);
    }
    let byte = match e {
        b'a' => 0x07,
        b'b' => 0x08,
        b'E' => 0x1b,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 0x0b,
        other => other,
    };
    (byte, 1)
}

/// The line a statement was read from, as near as the words allow: keepalived re-splits the
/// raw line, and the syntax tree keeps words, not lines. Quoted words get their `"` back;
/// words are separated by the blanks between them when their columns say so (single spaces
/// when a definition was substituted into the line, since columns are then unknown). Only a
/// tab inside `'...'` spanning several words comes back differently (as spaces).
pub fn reconstruct_line(words: &[Word]) -> String {
    let mut line = String::new();
    for (i, w) in words.iter().enumerate() {
        if let Some(prev) = i.checked_sub(1).and_then(|p| words.get(p)) {
            let prev_end = prev.span.column.saturating_add(display_len(prev));
            let same_line = prev.span.line == w.span.line && prev.span.file == w.span.file;
            if same_line && w.span.column >= prev_end {
                // Bounded by the line's own length; the cap only guards odd spans.
                let gap = (w.span.column - prev_end).min(4096) as usize;
                line.extend(std::iter::repeat_n(' ', gap));
            } else {
                line.push(' ');
            }
        }
        if w.quoted {
            line.push('"');
            line.push_str(&w.text);
            line.push('"');
        } else {
            line.push_str(&w.text);
        }
    }
    line
}

fn display_len(w: &Word) -> u32 {
    let len = u32::try_from(w.text.chars().count()).unwrap_or(u32::MAX);
    len.saturating_add(if w.quoted { 2 } else { 0 })
}

/// keepalived's reading of a script statement (`KEYWORD COMMAND [USER [GROUP]]`): the line is
/// re-split with [`split_quoted_escaped`], word 1 is the command string, split again into
/// argv; words 2 and 3 are user and group. Users are not resolved here (see
/// [`notify_script_init`]).
pub fn parse_script_words(words: &[Word]) -> Result<Script, ScriptError> {
    let line = reconstruct_line(words);
    let split = split_quoted_escaped(&line).map_err(ScriptError::Line)?;
    let Some(command) = split.get(1).cloned() else {
        return Err(ScriptError::NoCommand);
    };
    let args = match split_quoted_escaped(&command) {
        Ok(args) if !args.is_empty() => args,
        Ok(_) => return Err(ScriptError::Command { command, error: None }),
        Err(e) => {
            return Err(ScriptError::Command {
                command,
                error: Some(e),
            })
        }
    };
    Ok(Script {
        command,
        args,
        user: split.get(2).cloned(),
        group: split.get(3).cloned(),
        span: words.get(1).map(|w| w.span.clone()),
    })
}

/// keepalived's default script user, resolved lazily and in configuration order: the first
/// script or FIFO without a user of its own (or `script_user`) fixes it. Resolution that
/// fails is sticky, as in keepalived: every later script relying on the default is dropped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScriptUserState {
    /// Whether keepalived has fixed the default yet.
    pub resolved: bool,
    /// Resolution failed; scripts using the default user are dropped from then on.
    pub failed: bool,
    /// The default user once resolved: `script_user`'s user, `keepalived_script` if that
    /// user exists, else `None` = keepalived's own user (root).
    pub user: Option<String>,
    /// The default group (`script_user`'s second word); `None` = the user's primary group.
    pub group: Option<String>,
}

/// Why the default script user is not available.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultUserError {
    /// It failed earlier; keepalived only logs this.
    Unavailable,
    /// It failed just now: keepalived reports "Unable to set default user keepalived_script
    /// for script" (class GENERAL) once.
    NewlyFailed,
}

/// The user keepalived uses for scripts when none is configured and it exists.
pub const DEFAULT_SCRIPT_USER: &str = "keepalived_script";

impl ScriptUserState {
    /// `script_user USER [GROUP]` (keepalived's `set_default_script_user`). Returns the
    /// reason keepalived logs when the user does not exist, and `false` when the default is
    /// unusable, including because of an *earlier* failure (keepalived never clears it).
    pub fn set(&mut self, host: &dyn Host, user: &str, group: Option<&str>) -> (bool, Option<String>) {
        self.resolved = true;
        let mut log = None;
        if host.user_exists(user) {
            // Groups cannot be looked up through `Host`; a named group is taken as existing.
            self.user = Some(user.to_string());
            self.group = group.map(str::to_string);
        } else {
            self.failed = true;
            log = Some(format!("Script user '{user}' does not exist"));
        }
        (!self.failed, log)
    }

    /// keepalived's `get_default_script_user`, called for a script without its own user.
    /// `script_security` is whether `enable_script_security` was seen *so far*.
    pub fn get(&mut self, host: &dyn Host, script_security: bool) -> Result<(), DefaultUserError> {
        if self.failed {
            return Err(DefaultUserError::Unavailable);
        }
        if !self.resolved {
            self.resolved = true;
            if host.user_exists(DEFAULT_SCRIPT_USER) {
                self.user = Some(DEFAULT_SCRIPT_USER.to_string());
            } else if script_security {
                // With script security on, keepalived refuses to fall back to its own user.
                self.failed = true;
                return Err(DefaultUserError::NewlyFailed);
            }
        }
        Ok(())
    }
}

/// keepalived's `notify_script_init` for the statement `stmt`, whose word 1 is the script:
/// splits it, then checks the named user, or the default script user when none is named.
/// Returns `None` when keepalived drops the script. `kind` names the script in messages
/// (keepalived's type string, e.g. "startup", "notify_fifo", "notify_master").
///
/// keepalived only logs most failures (invisible under `-t`); those are reported here as
/// [`Class::Info`]. An unterminated quote and the first default-user failure are real
/// configuration errors and keep keepalived's class.
pub fn notify_script_init(
    cx: &mut Cx<'_>,
    stmt: &Statement,
    kind: &str,
    users: &mut ScriptUserState,
    script_security: bool,
) -> Option<Script> {
    let at = stmt
        .words
        .get(1)
        .map_or_else(|| stmt.span().clone(), |w| w.span.clone());
    let mut script = match parse_script_words(&stmt.line_words()) {
        Ok(s) => s,
        Err(ScriptError::NoCommand) => {
            // keepalived names the unusable script by reading word 1, which is missing: that
            // read aborts the configuration (missing parameter).
            cx.word(stmt, 1);
            return None;
        }
        Err(e) => {
            report_script_error(cx, &at, &e);
            return None;
        }
    };
    let user_span = stmt.words.get(2).map_or_else(|| at.clone(), |w| w.span.clone());
    if let Some(user) = script.user.clone() {
        if !cx.host.user_exists(&user) {
            let program = script.program().to_string();
            cx.report(
                Class::Info,
                "script-user-unknown",
                &user_span,
                format!("Invalid user/group for {kind} script {program} - ignoring: Script user '{user}' does not exist"),
            )
            .with_token_mut(&user)
            .help = Some("name an existing user (keepalived drops the script)".into());
            return None;
        }
        return Some(script);
    }
    match users.get(cx.host, script_security) {
        Ok(()) => {
            script.user = None;
            Some(script)
        }
        Err(err) => {
            report_default_user_error(cx, &at, err, &format!("{kind} script {}", script.program()));
            None
        }
    }
}

/// Reports a failure of [`ScriptUserState::get`] for `what` (e.g. "startup script /bin/x").
pub fn report_default_user_error(cx: &mut Cx<'_>, at: &Span, err: DefaultUserError, what: &str) {
    match err {
        DefaultUserError::NewlyFailed => {
            cx.report(
                Class::General,
                "script-default-user",
                at,
                format!("Unable to set default user {DEFAULT_SCRIPT_USER} for script"),
            )
            .help = Some(format!(
                "with enable_script_security, create the user '{DEFAULT_SCRIPT_USER}', set 'script_user' before the scripts, or name a user after the script"
            ));
        }
        DefaultUserError::Unavailable => {
            cx.report(
                Class::Info,
                "script-default-user",
                at,
                format!("Failed to set default user for {what} - ignoring"),
            )
            .help =
                Some("the default script user could not be set earlier; name a user after the script".into());
        }
    }
}

/// Reports why a script statement gave no script, as keepalived does.
pub fn report_script_error(cx: &mut Cx<'_>, at: &Span, err: &ScriptError) {
    match err {
        ScriptError::Line(e) | ScriptError::Command { error: Some(e), .. } => {
            let (class, help) = match e {
                SplitError::MissingQuote { quote, .. } => {
                    (Class::UnmatchedQuote, format!("close the string with {quote}"))
                }
                SplitError::MissingEscape { .. } => (
                    Class::Info,
                    "a '\\' must be followed by the character it escapes".to_string(),
                ),
            };
            cx.report(class, "script-syntax", at, e.message()).help = Some(help);
        }
        ScriptError::NoCommand => {
            cx.report(Class::Info, "script-syntax", at, "Unable to parse notify script")
                .help = Some("give the command to run after the keyword".into());
        }
        ScriptError::Command { command, error: None } => {
            cx.report(
                Class::Info,
                "script-syntax",
                at,
                format!("Unable to parse script '{command}' - ignoring"),
            )
            .help = Some("the command string is empty".into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        split_quoted_escaped(s).unwrap()
    }

    #[test]
    fn quotes_and_escapes_follow_keepalived() {
        assert_eq!(split("/bin/foo arg1 'arg 2'"), ["/bin/foo", "arg1", "arg 2"]);
        assert_eq!(split(r#"a"b c"d"#), ["ab cd"]);
        assert_eq!(split(r#""" x"#), ["", "x"]);
        assert_eq!(split(r"a\ b \x41\x42 \101 \n"), ["a b", "AB", "A", "\n"]);
        assert_eq!(split(r"\cA\E\q"), ["\u{1}\u{1b}q"]);
        // Escapes work inside single quotes too, unlike a shell.
        assert_eq!(split(r"'a\tb'"), ["a\tb"]);
        // A NUL ends the word, as strndup does.
        assert_eq!(split(r"ab\0cd e"), ["ab", "e"]);
        assert!(split("  \t ").is_empty());
    }

    #[test]
    fn split_errors_carry_keepalived_messages() {
        let e = split_quoted_escaped("x 'abc").unwrap_err();
        assert_eq!(e.message(), "String 'x 'abc': missing terminating '");
        let e = split_quoted_escaped("x\\").unwrap_err();
        assert_eq!(e.message(), "Missing escape char at end: 'x\\'");
    }

    fn words(line: &str) -> Vec<Word> {
        let host = crate::host::MemoryHost::new().with_file("/k.conf", line);
        let mut pp = crate::preprocess::Preprocessor::new(&host, &Default::default());
        let mut diags = crate::diag::Diagnostics::default();
        pp.open_main(std::path::Path::new("/k.conf"), &mut diags);
        let tree = crate::syntax::build_tree(&mut pp, &mut diags);
        tree.into_iter().next().unwrap().words
    }

    #[test]
    fn script_words_are_resplit_from_the_line() {
        let s = parse_script_words(&words("startup_script \"/bin/foo arg1 'arg 2'\" nobody grp\n")).unwrap();
        assert_eq!(s.command, "/bin/foo arg1 'arg 2'");
        assert_eq!(s.args, ["/bin/foo", "arg1", "arg 2"]);
        assert_eq!(
            (s.user.as_deref(), s.group.as_deref()),
            (Some("nobody"), Some("grp"))
        );
        // Single quotes span the keyword parser's words, blanks included.
        let s = parse_script_words(&words("startup_script '/bin/a  b' user\n")).unwrap();
        assert_eq!(s.command, "/bin/a  b");
        assert_eq!(s.user.as_deref(), Some("user"));
        assert_eq!(
            parse_script_words(&words("startup_script \"\"\n")),
            Err(ScriptError::Command {
                command: String::new(),
                error: None
            })
        );
    }

    #[test]
    fn default_user_failure_is_sticky() {
        let host = crate::host::MemoryHost::new();
        let mut st = ScriptUserState::default();
        assert_eq!(st.get(&host, false), Ok(()));
        assert_eq!(st.user, None);
        let mut st = ScriptUserState::default();
        assert_eq!(st.get(&host, true), Err(DefaultUserError::NewlyFailed));
        assert_eq!(st.get(&host, true), Err(DefaultUserError::Unavailable));
        let mut host = crate::host::MemoryHost::new();
        host.users.insert("ok".into());
        let mut st = ScriptUserState::default();
        assert!(!st.set(&host, "bad", None).0);
        // keepalived never clears the failure, even for a good user.
        assert!(!st.set(&host, "ok", None).0);
    }
}
