//! The keepalived.conf language, as keepalived 2.2.x reads it.
//!
//! Reading goes in layers, each in its own module:
//! - [`preprocess`]: comments, `include`, `@id` conditionals, `$NAME` definitions, `~SEQ`/`~LST`;
//! - [`syntax`]: words and `{ }` blocks;
//! - the section parsers ([`global_defs`], [`vrrp`], [`lvs`]) build the typed [`config::Config`]
//!   with [`cx::Cx`], which reads values the way keepalived does;
//! - validation applies keepalived's rules and adjustments, and [`lints`] adds migration advice.
//!
//! Every problem becomes a [`diag::Diagnostic`] naming file, line and column.

pub mod announce;
pub mod bfd;
pub mod config;
pub mod cx;
pub mod diag;
pub mod global_defs;
pub mod host;
pub mod keywords;
pub mod lints;
pub mod lvs;
pub mod preprocess;
pub mod script;
pub mod syntax;
pub mod vrrp;

use diag::{Diagnostic, Diagnostics};
use host::Host;
use std::path::Path;
use std::sync::Arc;

/// How to read a configuration.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// `-i/--config-id`: selects `@ID` lines (default: the short host name).
    pub config_id: Option<String>,
}

/// A configuration and everything said about it.
#[derive(Debug)]
pub struct Loaded {
    pub config: config::Config,
    pub diagnostics: Vec<Diagnostic>,
    /// Every file read, main file first.
    pub files: Vec<Arc<str>>,
    /// False when the main file could not be read at all.
    pub found: bool,
}

impl Loaded {
    /// The exit code `keepalived -t` would give.
    pub fn test_exit_code(&self) -> i32 {
        if !self.found {
            // keepalived 2.2.7 exits 0 here (its bug); a missing file cannot be run.
            return diag::exit::CANNOT_RUN;
        }
        diag::exit_code_for_test(&self.diagnostics)
    }

    /// True if keepalived would not run this configuration: the file is missing, a fatal
    /// error (bad interface, unreadable file), a keyword without its parameter (keepalived
    /// stops reading there), or a failed strict include. A daemon refuses to start with it,
    /// and a reload refuses to switch to it.
    pub fn cannot_run(&self) -> bool {
        !self.found || self.config.vrrp.rejected.is_some() || self.blocking_diagnostics().next().is_some()
    }

    /// The diagnostics that make [`Loaded::cannot_run`] true.
    pub fn blocking_diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics.iter().filter(|d| {
            d.severity() == diag::Severity::Fatal
                || d.code == cx::MISSING_PARAMETER_ABORT
                || d.code == preprocess::INCLUDE_FAILED
        })
    }
}

/// Reads, checks and resolves the configuration at `path`.
pub fn load(path: &Path, options: &LoadOptions, host: &dyn Host) -> Loaded {
    let mut diags = Diagnostics::default();
    let mut config = config::Config::default();
    let mut pp = preprocess::Preprocessor::new(
        host,
        &preprocess::PreprocessOptions {
            config_id: options.config_id.clone(),
        },
    );
    let found = pp.open_main(path, &mut diags);
    if found {
        let tree = syntax::build_tree(&mut pp, &mut diags);
        pp.finish(&mut diags);
        let mut cx = cx::Cx::new(&mut diags, host);
        config::parse_top_level(&mut cx, &tree, &mut config);
        lvs::validate(&mut cx, &mut config);
        vrrp::validate(&mut cx, &mut config);
        announce::validate(&mut cx, &mut config);
        lints::check(&mut cx, &config, &tree);
    }
    Loaded {
        config,
        diagnostics: diags.into_vec(),
        files: pp.files_read,
        found,
    }
}

/// Reads a configuration given as text, from an in-memory machine: for tests and fuzzing.
/// The text is the file `/etc/keepalived/keepalived.conf`; interfaces are not checked.
pub fn load_str(text: &str) -> Loaded {
    let host = host::MemoryHost::new().with_file("/etc/keepalived/keepalived.conf", text);
    load(
        Path::new("/etc/keepalived/keepalived.conf"),
        &LoadOptions::default(),
        &host,
    )
}

/// Entry point shared by the cargo-fuzz target (fuzz/) and the test replaying its corpus.
pub mod fuzzing {
    /// Parses arbitrary bytes as a configuration (with an include of itself reachable through
    /// a second file). Must never panic nor hang.
    pub fn parse(data: &[u8]) {
        let text = String::from_utf8_lossy(data);
        let host = crate::host::MemoryHost::new()
            .with_file("/etc/keepalived/keepalived.conf", text.as_ref())
            .with_file("/etc/keepalived/conf.d/a.conf", text.as_ref())
            .with_interfaces(&["eth0", "eth1", "lo"]);
        let loaded = crate::load(
            std::path::Path::new("/etc/keepalived/keepalived.conf"),
            &crate::LoadOptions::default(),
            &host,
        );
        let _ = loaded.test_exit_code();
        let _ = serde_json::to_string(&loaded.config);
    }
}
