//! The LVS side of the configuration: `virtual_server`, `virtual_server_group`,
//! `real_server`, the health checkers and the `SSL` block.
//!
//! Parsing follows keepalived 2.2.7's checker process (keepalived/check/check_parser.c and the
//! check_*.c handlers): the same keywords, defaults, messages and classes. Where keepalived
//! crashes or has undefined behaviour we do what research/specs/check_config.md §10 recommends.
//! [`validate`] then runs keepalived's post-parse passes so that the model shows what keepalived
//! would actually run (inherited timers, default scheduler and forwarding method, fixed ports).
//!
//! One concept per module:
//! - [`addr`]: addresses and ports the way keepalived's `inet_stosockaddr` reads them, and how
//!   keepalived prints servers in messages;
//! - [`read`]: keyword values with the handler's own message after the number reader's;
//! - [`scheduler`], [`forwarding`]: `lb_algo` and its flags, `lb_kind`/`lvs_method`;
//! - [`notify`]: notify/quorum/misc scripts;
//! - [`ssl`], [`group`], [`virtual_server`], [`real_server`], [`checker`]: the blocks;
//! - [`validate`]: the post-parse passes; [`keywords`]: keyword lists for hints.

pub mod addr;
pub mod checker;
pub mod forwarding;
pub mod group;
pub mod keywords;
pub mod notify;
pub(crate) mod read;
pub mod real_server;
pub mod scheduler;
pub mod ssl;
pub(crate) mod validate;
pub mod virtual_server;

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::cx::Cx;
use crate::diag::Span;
use crate::syntax::Statement;
use serde::Serialize;

pub use crate::script::Script;
pub use addr::Family;
pub use checker::{Checker, CheckerCommon, CheckerKind, ConnOpts};
pub use forwarding::{Forwarding, LbKind, Tunnel, TunnelCsum, TunnelType};
pub use group::{VirtualServerGroup, VsgAddrRange, VsgFwmark};
pub use notify::ScriptUse;
pub use real_server::RealServer;
pub use scheduler::{LbAlgo, SchedFlags};
pub use ssl::Ssl;
pub use virtual_server::{Granularity, Protocol, SorryServer, VirtualServer, VsKey};

/// Diagnostic codes used by the LVS parser (the message itself is keepalived's).
pub(crate) mod code {
    /// A value keepalived rejects; the keyword is ignored.
    pub const INVALID_VALUE: &str = "invalid-value";
    /// An address or port keepalived cannot read.
    pub const INVALID_ADDRESS: &str = "invalid-address";
    /// A keyword given twice where keepalived keeps only one.
    pub const DUPLICATE: &str = "duplicate";
    /// A block or item keepalived drops (checker, real server, group, url...).
    pub const REMOVED: &str = "removed";
    /// A value keepalived changes after parsing (default scheduler, quorum reduced...).
    pub const ADJUSTED: &str = "adjusted";
    /// A value keepalived needs and did not get, reported without stopping.
    pub const MISSING_VALUE: &str = "missing-value";
    /// A legacy spelling keepalived still accepts.
    pub const DEPRECATED: &str = "deprecated";
    /// Something keepalived only logs (not shown by `keepalived -t`).
    pub const LOGGED: &str = "logged";
}

/// Everything the checker process reads: groups, virtual servers with their real servers and
/// checkers, and the SSL settings for SSL_GET.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LvsConfig {
    /// The top-level `SSL { }` block; without one keepalived builds a default context
    /// (no files) when an SSL_GET checker exists.
    pub ssl: Option<Ssl>,
    /// `virtual_server_group NAME { }`, in order. A `virtual_server group NAME` uses the first
    /// group with that name.
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// `virtual_server`, in order.
    pub virtual_servers: Vec<VirtualServer>,
    /// A `virtual_server` keyword was seen, even if that server was then dropped: keepalived
    /// starts its checker process then (its `have_checker_config`).
    pub have_checker_config: bool,
    /// What parsing needs to remember between blocks (not part of the configuration).
    #[serde(skip)]
    pub(crate) state: ParseState,
}

impl LvsConfig {
    /// Whether keepalived would create an SSL context: at least one SSL_GET checker.
    pub fn ssl_required(&self) -> bool {
        self.virtual_servers.iter().any(|vs| {
            vs.real_servers
                .iter()
                .any(|rs| rs.checkers.iter().any(|c| matches!(c.kind, CheckerKind::Ssl(_))))
        })
    }

    /// Every script the checker process would run, for the script-security pass (keepalived's
    /// `check_check_script_security`, done globally elsewhere): MISC_CHECK `misc_path`, VS
    /// `quorum_up`/`quorum_down` and RS `notify_up`/`notify_down`.
    pub fn scripts(&self) -> Vec<ScriptUse<'_>> {
        notify::collect(self)
    }
}

/// A `track_file NAME { }` block seen so far (keepalived's checker-side track file list).
#[derive(Clone, Debug)]
pub(crate) struct KnownTrackFile {
    pub name: String,
    /// `weight` of the track_file block (default 1).
    pub weight: i32,
    pub reverse: bool,
    /// Where the block is, so that the same block seen twice is registered once.
    pub span: Span,
}

/// Parser state that outlives one block, as keepalived keeps it in globals.
#[derive(Clone, Debug, Default)]
pub(crate) struct ParseState {
    /// `track_file` blocks defined so far: FILE_CHECK may only name one defined earlier.
    pub track_files: Vec<KnownTrackFile>,
    /// Checker-side `bfd_instance` names defined so far, with the block's span.
    pub bfd_instances: Vec<(String, Span)>,
    /// A url `regex` waiting for the end of its url. keepalived keeps it in a global, so a
    /// pattern in a url dropped for having no path carries over to the next url.
    pub pending_regex: Option<String>,
    /// The checker process's default script user. Each keepalived process resolves it for
    /// itself, starting from what global_defs (`script_user`) fixed.
    pub script_users: crate::script::ScriptUserState,
    /// Whether `enable_script_security` was seen so far.
    pub script_security: bool,
    /// Whether `script_users` was taken from global_defs yet.
    pub script_users_taken: bool,
}

/// Handles a top-level statement if it belongs to LVS; false if it does not.
pub(crate) fn parse_top_level(cx: &mut Cx<'_>, stmt: &Statement, config: &mut Config) -> bool {
    let globals = &config.global_defs;
    let lvs = &mut config.lvs;
    // Scripts in LVS blocks are resolved against the global settings read so far.
    lvs.state.script_security = globals.enable_script_security;
    if !lvs.state.script_users_taken && matches!(stmt.keyword(), "virtual_server") {
        lvs.state.script_users = globals.script_user.clone();
        lvs.state.script_users_taken = true;
    }
    // track_file blocks are read by the VRRP side as they come; those read so far are the
    // ones a FILE_CHECK here may name.
    for tf in &config.vrrp.track_file {
        let Some(span) = &tf.span else { continue };
        if !lvs.state.track_files.iter().any(|k| k.span == *span) {
            lvs.state.track_files.push(KnownTrackFile {
                name: tf.name.clone(),
                weight: tf.weight,
                reverse: tf.weight_reverse,
                span: span.clone(),
            });
        }
    }
    match stmt.keyword() {
        "SSL" => ssl::parse(cx, stmt, lvs),
        "virtual_server_group" => group::parse(cx, stmt, lvs),
        "virtual_server" => {
            lvs.have_checker_config = true;
            virtual_server::parse(cx, stmt, lvs);
        }
        "track_file" | "vrrp_track_file" | "bfd_instance" => {
            // Owned by the tracker / BFD parsers; we only note the names checkers may refer to.
            observe_top_level(stmt, config);
            return false;
        }
        _ => return false,
    }
    true
}

/// Notes the top-level blocks FILE_CHECK and BFD_CHECK refer to (`track_file`,
/// `vrrp_track_file`, `bfd_instance`) when they reach us, whichever parser owns them
/// (`track_file` blocks are normally taken from `config.vrrp.track_file`, which the VRRP side
/// fills as it meets them). keepalived only lets a checker name a block defined *earlier*, so
/// this must see statements in order. It reports nothing: the owning parser does.
pub(crate) fn observe_top_level(stmt: &Statement, config: &mut Config) {
    let state = &mut config.lvs.state;
    let Some(name) = stmt.words.get(1) else {
        return;
    };
    let span = stmt.span().clone();
    let statements = stmt
        .block
        .as_ref()
        .map(|b| b.statements.as_slice())
        .unwrap_or(&[]);
    match stmt.keyword() {
        "track_file" | "vrrp_track_file" => {
            if state.track_files.iter().any(|t| t.span == span) {
                return;
            }
            // keepalived registers the block only if it names a file (track_file.c end handler).
            if !statements
                .iter()
                .any(|s| s.keyword() == "file" && s.words.len() >= 2)
            {
                return;
            }
            let mut weight = 1;
            let mut reverse = false;
            for s in statements.iter().filter(|s| s.keyword() == "weight") {
                // Only the first valid weight counts ("Weight already set" after that).
                let Some(w) = s.words.get(1) else { continue };
                if weight != 1 {
                    continue;
                }
                if let Ok(v) = crate::cx::parse_int(&w.text, -254, 254) {
                    weight = v;
                    reverse = s.words.get(2).is_some_and(|r| r.text == "reverse");
                }
            }
            state.track_files.push(KnownTrackFile {
                name: name.text.clone(),
                weight,
                reverse,
                span,
            });
        }
        "bfd_instance" => {
            if state
                .bfd_instances
                .iter()
                .any(|(n, s)| *s == span || *n == name.text)
            {
                // A duplicate name is skipped by keepalived ("BFD %s already specified").
                return;
            }
            // With `vrrp` but not `checker` in the block, the checker process drops it.
            let has = |kw: &str| statements.iter().any(|s| s.keyword() == kw);
            if has("vrrp") && !has("checker") {
                return;
            }
            state.bfd_instances.push((name.text.clone(), span));
        }
        _ => {}
    }
}

/// keepalived's post-parse passes for the checker (`link_vsg_to_vs`, `validate_check_config`).
pub(crate) fn validate(cx: &mut Cx<'_>, config: &mut Config) {
    let smtp_alert = validate::SmtpAlertDefaults {
        smtp_alert_checker: config.global_defs.smtp_alert_checker,
        smtp_alert: config.global_defs.smtp_alert,
    };
    validate::run(cx, &mut config.lvs, smtp_alert);
}

/// Keywords known in an LVS block, by block name, for hints.
pub fn keywords_for(context: &str) -> Option<&'static [&'static str]> {
    keywords::for_context(context)
}
