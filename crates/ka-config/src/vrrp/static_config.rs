//! `static_ipaddress { }`, `static_routes { }`, `static_rules { }`: addresses, routes and
//! rules keepalived installs whatever the VRRP state, optionally tracked by a `track_group`.

use crate::cx::Cx;
use crate::syntax::Statement;

use super::address::{self, AddressKind};
use super::common;
use super::globals::VrrpGlobals;
use super::route::{self, RouteLine};
use super::rule::{self, RuleLine};
use super::{env, VrrpConfig};

/// One of the three static blocks.
pub(crate) fn parse(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, stmt: &Statement) {
    let lines = common::value_lines(cx, stmt);
    match stmt.keyword() {
        "static_ipaddress" => {
            for line in lines {
                let mut e = env(vrrp, g);
                if let Some(a) = address::parse_address_line(cx, &mut e, line, AddressKind::Static) {
                    vrrp.static_ipaddress.push(a);
                }
            }
        }
        "static_routes" => {
            for line in lines {
                let mut e = env(vrrp, g);
                match route::parse_route_line(cx, &mut e, line, true) {
                    RouteLine::Route(r) => vrrp.static_routes.push(*r),
                    RouteLine::Dropped => {}
                    RouteLine::Abort => return,
                }
            }
        }
        _ => {
            for line in lines {
                let mut e = env(vrrp, g);
                match rule::parse_rule_line(cx, &mut e, line, true) {
                    RuleLine::Rule(r) => vrrp.static_rules.push(*r),
                    RuleLine::Dropped => {}
                    RuleLine::Abort => return,
                }
            }
        }
    }
}
