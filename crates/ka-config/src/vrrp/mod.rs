//! The VRRP side of the configuration: `vrrp_instance`, `vrrp_sync_group`, `vrrp_script`,
//! trackers, static addresses/routes/rules, `garp_group`.

use crate::config::Config;
use crate::cx::Cx;
use crate::syntax::Statement;
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct VrrpConfig {}

/// Handles a top-level statement if it belongs to VRRP; false if it does not.
pub(crate) fn parse_top_level(_cx: &mut Cx<'_>, _stmt: &Statement, _config: &mut Config) -> bool {
    false
}

/// keepalived's post-parse pass over instances (`vrrp_complete_init`).
pub(crate) fn validate(_cx: &mut Cx<'_>, _config: &mut Config) {}

/// Keywords known in a VRRP block, by block name, for hints.
pub fn keywords_for(_context: &str) -> Option<&'static [&'static str]> {
    None
}
