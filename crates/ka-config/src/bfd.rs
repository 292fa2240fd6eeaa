//! `bfd_instance NAME { ... }`: read so that configurations using it load; keepalived-rs does
//! not run BFD sessions yet.

use crate::config::Config;
use crate::cx::Cx;
use crate::syntax::Statement;

pub(crate) fn parse_top_level(_cx: &mut Cx<'_>, _stmt: &Statement, _config: &mut Config) -> bool {
    false
}
