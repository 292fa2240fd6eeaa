//! The LVS side of the configuration: `virtual_server`, `virtual_server_group`,
//! `real_server`, the health checkers and the `SSL` block.

use crate::config::Config;
use crate::cx::Cx;
use crate::syntax::Statement;
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct LvsConfig {}

/// Handles a top-level statement if it belongs to LVS; false if it does not.
pub(crate) fn parse_top_level(_cx: &mut Cx<'_>, _stmt: &Statement, _config: &mut Config) -> bool {
    false
}

/// keepalived's post-parse pass (`validate_check_config`).
pub(crate) fn validate(_cx: &mut Cx<'_>, _config: &mut Config) {}

/// Keywords known in an LVS block, by block name, for hints.
pub fn keywords_for(_context: &str) -> Option<&'static [&'static str]> {
    None
}
