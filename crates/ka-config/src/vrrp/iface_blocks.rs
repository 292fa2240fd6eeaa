//! Top-level interface settings of the VRRP process: `interface_up_down_delays { }` and
//! `linkbeat_interfaces { }`.

use crate::cx::Cx;
use crate::diag::Class;
use crate::syntax::Statement;
use ka_units::Micros;
use serde::Serialize;

use super::common::{self, general, IfLookup};
use super::globals::VrrpGlobals;
use super::VrrpConfig;

/// An `interface_up_down_delays` line: `IFNAME DOWN [UP]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpDownDelay {
    pub interface: String,
    /// How long the interface must stay down before keepalived acts on it.
    pub down: Micros,
    /// How long it must stay up (keepalived's default is 0, not the down delay).
    pub up: Micros,
}

/// How linkbeat polling checks an interface.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LinkbeatType {
    #[default]
    Default,
    Mii,
    Ethtool,
    Ioctl,
}

/// A `linkbeat_interfaces` line: `IFNAME [MII|ETHTOOL|IOCTL]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LinkbeatInterface {
    pub interface: String,
    pub r#type: LinkbeatType,
}

/// keepalived's lookup for these blocks: it waits for missing interfaces only with
/// `dynamic_interfaces`, and a missing one does not stop the VRRP process.
fn exists(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, line: &Statement) -> bool {
    let Some(w) = line.words.first() else { return false };
    if g.dynamic_interfaces {
        return common::lookup_interface(cx, &mut vrrp.state, g, &w.text, &w.span) == IfLookup::Found;
    }
    cx.host.interface_exists(&w.text) != Some(false)
}

/// `interface_up_down_delays { }` or `linkbeat_interfaces { }`.
pub(crate) fn parse(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, stmt: &Statement) {
    let linkbeat = stmt.keyword() == "linkbeat_interfaces";
    for line in common::value_lines(cx, stmt) {
        let Some(first) = line.words.first() else { continue };
        let name = first.text.clone();
        if !exists(cx, g, vrrp, line) {
            let what = if linkbeat {
                "linkbeat interface"
            } else {
                "up/down delay"
            };
            cx.report(
                Class::Fatal,
                "interface-unknown",
                &first.span,
                format!("unknown interface {name} specified for {what}"),
            )
            .help = Some("name an existing interface".into());
            continue;
        }
        if linkbeat {
            let mut t = LinkbeatType::Default;
            if let Some(w) = line.words.get(1) {
                t = match w.text.as_str() {
                    "MII" => LinkbeatType::Mii,
                    "ETHTOOL" => LinkbeatType::Ethtool,
                    "IOCTL" => LinkbeatType::Ioctl,
                    _ => LinkbeatType::Default,
                };
                if t == LinkbeatType::Default || line.words.len() > 2 {
                    general(
                        cx,
                        "linkbeat-type",
                        &w.span,
                        format!("extra characters {} in linkbeat interface", w.text),
                    )
                    .help = Some("expected MII, ETHTOOL or IOCTL".into());
                }
            }
            vrrp.linkbeat_interfaces.push(LinkbeatInterface {
                interface: name,
                r#type: t,
            });
            continue;
        }
        let Some(down_w) = line.words.get(1) else {
            cx.report(
                Class::Info,
                "up-down-delay",
                &first.span,
                format!("No timeouts specified for {name} up/down delays"),
            );
            continue;
        };
        if line.words.len() > 3 {
            cx.report(
                Class::Info,
                "up-down-delay",
                &first.span,
                format!("Too many parameters for {name} up/down delays"),
            );
        }
        let Some(down) = common::read_decimal(cx, down_w, 0, 255_000_000, 6) else {
            cx.report(
                Class::Info,
                "up-down-delay",
                &down_w.span,
                format!("Invalid down delay {} for {name}", down_w.text),
            );
            continue;
        };
        let up = match line.words.get(2) {
            None => 0,
            Some(w) => match common::read_decimal(cx, w, 0, 255_000_000, 6) {
                Some(u) => u,
                None => {
                    cx.report(
                        Class::Info,
                        "up-down-delay",
                        &w.span,
                        format!("Invalid up delay {} for {name}", w.text),
                    );
                    continue;
                }
            },
        };
        vrrp.interface_up_down_delays.push(UpDownDelay {
            interface: name,
            down: Micros(down),
            up: Micros(up),
        });
    }
}
