//! Migration lints: traps keepalived accepts silently, reported by `-t` as warnings of class
//! [`Class::Lint`](crate::diag::Class::Lint) that never change the exit code.

use crate::config::Config;
use crate::cx::Cx;

pub(crate) fn check(_cx: &mut Cx<'_>, _config: &Config) {}
