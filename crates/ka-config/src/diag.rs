//! Diagnostics: every problem found in a configuration, with where it is and how to fix it.
//!
//! keepalived classes its configuration messages (`config_err_t` in its lib/parser.h) and
//! `keepalived -t` exits with a code derived from the *highest* class reported. We keep the
//! same classes so that `keepalived-rs -t` exits with the same code, and add [`Class::Lint`]
//! for the migration advice keepalived does not give, which never changes the exit code.

use serde::Serialize;
use std::fmt;
use std::sync::Arc;

/// Where something is in the configuration: file, 1-based line and 1-based column (characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Span {
    pub file: Arc<str>,
    pub line: u32,
    pub column: u32,
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.column)
    }
}

/// keepalived's configuration error classes, in keepalived's order: the exit code of a
/// config test comes from the highest class reported (see [`exit_code_for_test`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Class {
    /// keepalived cannot run the configuration.
    FileNotFound,
    BadInterface,
    Fatal,
    /// A configuration error keepalived still runs with.
    MultipleFiles,
    UnknownKeyword,
    UnexpectedBlockStart,
    MissingBlockStart,
    UnexpectedBlockEnd,
    MissingBlockEnd,
    UnmatchedQuote,
    MissingParameter,
    InvalidNumber,
    General,
    Warning,
    Deprecated,
    /// Scripts are configured but script security is not enabled.
    Security,
    /// keepalived-rs's own migration advice; keepalived says nothing, so the exit code ignores it.
    Lint,
    /// Something keepalived logs without counting it as an error (its class `CONFIG_OK`),
    /// such as a plain `include` that matches no file.
    Info,
}

impl Class {
    /// Whether keepalived would count this message when choosing the `-t` exit code.
    pub fn counts_for_exit_code(self) -> bool {
        !matches!(self, Class::Lint | Class::Info)
    }

    pub fn severity(self) -> Severity {
        match self {
            Class::FileNotFound | Class::BadInterface | Class::Fatal => Severity::Fatal,
            Class::Warning | Class::Deprecated => Severity::Warning,
            Class::Lint | Class::Info => Severity::Note,
            _ => Severity::Error,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Advice that does not change the `-t` exit code (migration lints, keepalived's
    /// uncounted log lines).
    Note,
    Warning,
    Error,
    Fatal,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Fatal => "fatal",
        })
    }
}

/// One problem in the configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub class: Class,
    /// Stable identifier of the kind of problem, e.g. `unknown-keyword`.
    pub code: &'static str,
    pub span: Option<Span>,
    /// The offending token as written, when there is one.
    pub token: Option<String>,
    pub message: String,
    /// What was expected, or how to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(class: Class, code: &'static str, span: Option<Span>, message: impl Into<String>) -> Self {
        Diagnostic {
            class,
            code,
            span,
            token: None,
            message: message.into(),
            help: None,
        }
    }

    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn severity(&self) -> Severity {
        self.class.severity()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(span) = &self.span {
            write!(f, "{span}: ")?;
        }
        write!(f, "{}[{}]: {}", self.severity(), self.code, self.message)?;
        if let Some(token) = &self.token {
            if !self.message.contains(token.as_str()) {
                write!(f, " (at '{token}')")?;
            }
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// keepalived's `-t` exit codes (lib/scheduler.h, `config_test_exit` in keepalived/core/main.c).
pub mod exit {
    pub const OK: i32 = 0;
    /// A keyword lacked a parameter it reads unconditionally: keepalived stops on the spot.
    pub const MISSING_PARAMETER: i32 = 2;
    /// The configuration cannot be run (file not found, bad interface, fatal error).
    pub const CANNOT_RUN: i32 = 4;
    /// There are errors but keepalived would run.
    pub const ERRORS: i32 = 5;
    /// Scripts are configured without `enable_script_security`.
    pub const SECURITY: i32 = 6;
    /// A strict include (`includer`, `includea`, ...) failed: keepalived refuses the
    /// configuration before testing it (its KEEPALIVED_EXIT_NO_CONFIG, also 6).
    pub const NO_CONFIG: i32 = 6;
}

/// The exit code `keepalived -t` gives for these diagnostics.
///
/// keepalived remembers the highest class reported, so a warning reported after a fatal
/// error turns exit code 4 into 5; we reproduce that.
pub fn exit_code_for_test(diags: &[Diagnostic]) -> i32 {
    if diags.iter().any(|d| d.code == crate::cx::MISSING_PARAMETER_ABORT) {
        return exit::MISSING_PARAMETER;
    }
    if diags.iter().any(|d| d.code == crate::preprocess::INCLUDE_FAILED) {
        return exit::NO_CONFIG;
    }
    let worst = diags
        .iter()
        .map(|d| d.class)
        .filter(|c| c.counts_for_exit_code())
        .max();
    match worst {
        None => exit::OK,
        Some(Class::FileNotFound | Class::BadInterface | Class::Fatal) => exit::CANNOT_RUN,
        Some(Class::Security) => exit::SECURITY,
        Some(_) => exit::ERRORS,
    }
}

/// Collects diagnostics as the configuration is read.
#[derive(Debug, Default)]
pub struct Diagnostics {
    list: Vec<Diagnostic>,
}

/// Upper bound on diagnostics kept, so hostile input cannot make us allocate without limit.
const MAX_DIAGNOSTICS: usize = 10_000;

impl Diagnostics {
    pub fn push(&mut self, d: Diagnostic) {
        if self.list.len() < MAX_DIAGNOSTICS {
            self.list.push(d);
        }
    }

    pub fn report(
        &mut self,
        class: Class,
        code: &'static str,
        span: Option<&Span>,
        message: impl Into<String>,
    ) {
        self.push(Diagnostic::new(class, code, span.cloned(), message));
    }

    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.list
    }

    pub fn as_slice(&self) -> &[Diagnostic] {
        &self.list
    }

    pub fn last_mut(&mut self) -> Option<&mut Diagnostic> {
        self.list.last_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(class: Class) -> Diagnostic {
        Diagnostic::new(class, "x", None, "m")
    }

    #[test]
    fn exit_code_follows_the_highest_class_like_keepalived() {
        assert_eq!(exit_code_for_test(&[]), exit::OK);
        assert_eq!(exit_code_for_test(&[d(Class::Lint)]), exit::OK);
        assert_eq!(exit_code_for_test(&[d(Class::BadInterface)]), exit::CANNOT_RUN);
        assert_eq!(exit_code_for_test(&[d(Class::UnknownKeyword)]), exit::ERRORS);
        assert_eq!(
            exit_code_for_test(&[d(Class::Fatal), d(Class::Warning)]),
            exit::ERRORS
        );
        assert_eq!(
            exit_code_for_test(&[d(Class::Warning), d(Class::Security)]),
            exit::SECURITY
        );
    }

    #[test]
    fn display_names_place_code_and_help() {
        let span = Span {
            file: "k.conf".into(),
            line: 3,
            column: 5,
        };
        let diag = Diagnostic::new(
            Class::UnknownKeyword,
            "unknown-keyword",
            Some(span),
            "Unknown keyword 'x'",
        )
        .with_token("x")
        .with_help("remove it");
        assert_eq!(
            diag.to_string(),
            "k.conf:3:5: error[unknown-keyword]: Unknown keyword 'x'\n  = help: remove it"
        );
    }
}
