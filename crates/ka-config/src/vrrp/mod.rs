//! The VRRP side of the configuration: `vrrp_instance`, `vrrp_sync_group`, `vrrp_script`,
//! trackers, static addresses/routes/rules, `garp_group`.
//!
//! keepalived reads the VRRP blocks in its VRRP process, after the parent has read the whole
//! file, so every `global_defs` setting applies to every instance wherever the blocks stand.
//! We do the same: VRRP blocks met during the top-level walk are kept and read in
//! configuration order by [`validate`], once `global_defs` is complete; then keepalived's
//! post-parse pass (`vrrp_complete_init`) runs. Objects a block refers to (`track_script`
//! → `vrrp_script`, ...) must still be defined earlier in the file, as in keepalived.
//!
//! `track_file` blocks are read at once because the checker side uses them too.

pub mod address;
pub mod bfd_view;
mod common;
pub mod garp_group;
pub(crate) mod globals;
pub mod iface_blocks;
pub mod instance;
pub mod route;
pub mod rt_tables;
pub mod rule;
mod script_security;
pub mod static_config;
pub mod sync_group;
pub mod track_file;
pub mod track_group;
pub mod track_process;
pub mod track_refs;
pub mod track_script;
mod validate;
mod walk;

#[cfg(test)]
mod tests;

use crate::config::Config;
use crate::cx::{Cx, MISSING_PARAMETER_ABORT};
use crate::diag::Span;
use crate::script::ScriptUserState;
use crate::syntax::Statement;
use serde::Serialize;

pub use address::VirtualAddress;
pub use bfd_view::TrackedBfd;
pub use common::AddressFamily;
pub use garp_group::GarpGroup;
pub use iface_blocks::{LinkbeatInterface, UpDownDelay};
pub use instance::VrrpInstance;
pub use route::Route;
pub use rule::Rule;
pub use sync_group::SyncGroup;
pub use track_file::TrackFile;
pub use track_group::TrackGroup;
pub use track_process::TrackProcess;
pub use track_script::VrrpScript;

use globals::VrrpGlobals;
use track_refs::RefKind;

/// Everything VRRP in a configuration, after keepalived's adjustments. Field names are the
/// keywords that create the entries.
#[derive(Clone, Debug, Default, Serialize)]
pub struct VrrpConfig {
    /// A `vrrp_instance` or static address/route/rule exists: keepalived starts its VRRP
    /// process.
    pub have_vrrp_config: bool,
    pub vrrp_instance: Vec<VrrpInstance>,
    pub vrrp_sync_group: Vec<SyncGroup>,
    pub vrrp_script: Vec<VrrpScript>,
    pub vrrp_track_process: Vec<TrackProcess>,
    pub track_file: Vec<TrackFile>,
    /// `bfd_instance` blocks as the VRRP side sees them (name, weight).
    pub bfd_instance: Vec<TrackedBfd>,
    pub garp_group: Vec<GarpGroup>,
    pub track_group: Vec<TrackGroup>,
    pub static_ipaddress: Vec<VirtualAddress>,
    pub static_routes: Vec<Route>,
    pub static_rules: Vec<Rule>,
    pub interface_up_down_delays: Vec<UpDownDelay>,
    pub linkbeat_interfaces: Vec<LinkbeatInterface>,
    /// `lvs_sync_daemon_interface` of an instance (deprecated): (interface, instance).
    pub lvs_sync_daemon_interface: Option<(String, String)>,
    /// Why keepalived's VRRP process would refuse this configuration and exit (status 2),
    /// stopping keepalived: a non-existent interface, or a failed `vrrp_complete_init`.
    /// `None` when it would run. The diagnostics say the same with keepalived's words.
    pub rejected: Option<String>,
    #[serde(skip)]
    pub(crate) state: ParseState,
}

impl VrrpConfig {
    /// The user (and group) scripts without their own `USER [GROUP]` run as, as keepalived's
    /// VRRP process resolved it: `script_user`, else `keepalived_script` when that user
    /// exists, else `None`: keepalived's own user (root).
    pub fn default_script_user(&self) -> (Option<&str>, Option<&str>) {
        let users = &self.state.script_users;
        (users.user.as_deref(), users.group.as_deref())
    }
}

/// Bookkeeping while reading, not part of the resolved model.
#[derive(Clone, Debug)]
pub(crate) struct ParseState {
    /// Index of the next top-level statement offered to the VRRP side.
    position: usize,
    /// VRRP blocks waiting for `global_defs` to be complete, with their positions.
    deferred: Vec<(usize, Statement)>,
    /// Position of each entry of `track_file`, for "defined earlier" lookups.
    track_file_positions: Vec<usize>,
    /// Position of the block being read.
    current: usize,
    /// An interface lookup failed (keepalived's `non_existent_interface_specified`).
    pub nonexistent_interface: bool,
    pub first_missing_interface: Option<Span>,
    /// keepalived's rule preference counters (RULE_START_PRIORITY, counting down).
    pub next_rule_priority_v4: u32,
    pub next_rule_priority_v6: u32,
    /// The default script user, as keepalived's VRRP process resolves it.
    pub script_users: ScriptUserState,
    /// Diagnostics already checked for a missing-parameter abort.
    abort_scan: usize,
}

impl Default for ParseState {
    fn default() -> Self {
        ParseState {
            position: 0,
            deferred: Vec::new(),
            track_file_positions: Vec::new(),
            current: 0,
            nonexistent_interface: false,
            first_missing_interface: None,
            next_rule_priority_v4: rule::RULE_START_PRIORITY,
            next_rule_priority_v6: rule::RULE_START_PRIORITY,
            script_users: ScriptUserState::default(),
            abort_scan: 0,
        }
    }
}

/// What a block parser may look at besides its own block: the settings and the objects
/// defined so far.
pub(crate) struct Env<'a> {
    pub state: &'a mut ParseState,
    pub globals: &'a VrrpGlobals,
    pub track_groups: &'a [TrackGroup],
    pub scripts: &'a mut [VrrpScript],
    pub files: &'a [TrackFile],
    pub processes: &'a [TrackProcess],
    pub bfds: &'a [TrackedBfd],
}

impl Env<'_> {
    /// The weight and reverse flag of a tracked object defined before the current block.
    pub fn lookup(&self, kind: RefKind, name: &str) -> Option<(i32, bool)> {
        match kind {
            RefKind::Script => self
                .scripts
                .iter()
                .find(|s| s.name == name)
                .map(|s| (s.weight, s.weight_reverse)),
            RefKind::File => self
                .files
                .iter()
                .zip(&self.state.track_file_positions)
                .find(|(f, pos)| f.name == name && **pos < self.state.current)
                .map(|(f, _)| (f.weight, f.weight_reverse)),
            RefKind::Process => self
                .processes
                .iter()
                .find(|p| p.name == name)
                .map(|p| (p.weight, p.weight_reverse)),
            RefKind::Bfd => self
                .bfds
                .iter()
                .find(|b| b.name == name)
                .map(|b| (b.weight, b.weight_reverse)),
        }
    }

    /// keepalived resets a script's initial state whenever something tracks it, which
    /// cancels `init_fail`.
    pub fn reset_script_init_state(&mut self, name: &str) {
        if let Some(s) = self.scripts.iter_mut().find(|s| s.name == name) {
            s.init_fail = false;
        }
    }
}

/// Splits the configuration into the borrows a block parser needs.
pub(crate) fn env<'a>(vrrp: &'a mut VrrpConfig, globals: &'a VrrpGlobals) -> Env<'a> {
    Env {
        state: &mut vrrp.state,
        globals,
        track_groups: &vrrp.track_group,
        scripts: &mut vrrp.vrrp_script,
        files: &vrrp.track_file,
        processes: &vrrp.vrrp_track_process,
        bfds: &vrrp.bfd_instance,
    }
}

/// True when the last diagnostic is keepalived's missing-parameter abort: keepalived has
/// exited, so nothing more is read.
pub(crate) fn aborted(cx: &Cx<'_>) -> bool {
    cx.diags
        .as_slice()
        .last()
        .is_some_and(|d| d.code == MISSING_PARAMETER_ABORT)
}

/// Whether a missing-parameter abort was reported since the last call.
fn aborted_since(cx: &Cx<'_>, state: &mut ParseState) -> bool {
    let all = cx.diags.as_slice();
    let start = state.abort_scan.min(all.len());
    state.abort_scan = all.len();
    all[start..].iter().any(|d| d.code == MISSING_PARAMETER_ABORT)
}

/// Handles a top-level statement if it belongs to VRRP; false if it does not.
pub(crate) fn parse_top_level(cx: &mut Cx<'_>, stmt: &Statement, config: &mut Config) -> bool {
    let vrrp = &mut config.vrrp;
    let position = vrrp.state.position;
    vrrp.state.position += 1;
    match stmt.keyword() {
        "vrrp_instance" | "static_ipaddress" | "static_routes" | "static_rules" => {
            vrrp.have_vrrp_config = true;
            vrrp.state.deferred.push((position, stmt.clone()));
            true
        }
        "vrrp_sync_group"
        | "vrrp_script"
        | "vrrp_track_process"
        | "garp_group"
        | "track_group"
        | "interface_up_down_delays"
        | "linkbeat_interfaces" => {
            vrrp.state.deferred.push((position, stmt.clone()));
            true
        }
        "track_file" | "vrrp_track_file" => {
            if let Some(tf) = track_file::parse(cx, stmt) {
                vrrp.track_file.push(tf);
                vrrp.state.track_file_positions.push(position);
            }
            true
        }
        "bfd_instance" => {
            // The VRRP process keeps its own view (name and weight) of BFD instances; the
            // block itself belongs to the BFD side, which is offered it next.
            vrrp.state.deferred.push((position, stmt.clone()));
            false
        }
        _ => false,
    }
}

/// Reads the VRRP blocks kept by [`parse_top_level`], then runs keepalived's post-parse
/// pass (`vrrp_complete_init`).
pub(crate) fn validate(cx: &mut Cx<'_>, config: &mut Config) {
    let vrrp = &mut config.vrrp;
    // keepalived stops at a missing parameter before its VRRP process reads anything.
    if aborted_since(cx, &mut vrrp.state) {
        return;
    }
    let globals = VrrpGlobals::from_global_defs(&config.global_defs);
    vrrp.state.script_users = globals.script_user.clone();
    let deferred = std::mem::take(&mut vrrp.state.deferred);
    for (position, stmt) in &deferred {
        vrrp.state.current = *position;
        read_block(cx, &globals, vrrp, stmt);
        if aborted_since(cx, &mut vrrp.state) {
            return;
        }
    }
    validate::complete_init(cx, &globals, vrrp);
}

/// Reads one deferred VRRP block.
fn read_block(cx: &mut Cx<'_>, globals: &VrrpGlobals, vrrp: &mut VrrpConfig, stmt: &Statement) {
    match stmt.keyword() {
        "vrrp_instance" => instance::parse(cx, globals, vrrp, stmt),
        "vrrp_sync_group" => sync_group::parse(cx, globals, vrrp, stmt),
        "vrrp_script" => {
            if let Some(s) = track_script::parse(cx, &mut env(vrrp, globals), stmt) {
                vrrp.vrrp_script.push(s);
            }
        }
        "vrrp_track_process" => {
            if let Some(p) = track_process::parse(cx, stmt) {
                vrrp.vrrp_track_process.push(p);
            }
        }
        "garp_group" => garp_group::parse(cx, globals, vrrp, stmt),
        "track_group" => track_group::parse(cx, vrrp, stmt),
        "static_ipaddress" | "static_routes" | "static_rules" => {
            static_config::parse(cx, globals, vrrp, stmt)
        }
        "interface_up_down_delays" | "linkbeat_interfaces" => iface_blocks::parse(cx, globals, vrrp, stmt),
        "bfd_instance" => bfd_view::parse(cx, vrrp, stmt),
        _ => {}
    }
}

/// Keywords known in a VRRP block, by block name, for hints.
pub fn keywords_for(context: &str) -> Option<&'static [&'static str]> {
    Some(match context {
        "vrrp_instance" => instance::KEYWORDS,
        "authentication" => instance::AUTH_KEYWORDS,
        "vrrp_sync_group" => sync_group::KEYWORDS,
        "vrrp_script" => track_script::KEYWORDS,
        "vrrp_track_process" => track_process::KEYWORDS,
        "track_file" | "vrrp_track_file" => track_file::KEYWORDS,
        "garp_group" => garp_group::KEYWORDS,
        "track_group" => track_group::KEYWORDS,
        _ => return None,
    })
}
