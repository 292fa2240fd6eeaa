//! How IPVS forwards to a real or sorry server: `lb_kind`/`lvs_method` on a virtual server,
//! `lvs_method` on a real server, `sorry_server_lvs_method`, with the tunnel options
//! (`type ipip|gue|gre`, `port N`, `nocsum|csum|remcsum`).

use super::{code, read};
use crate::cx::Cx;
use crate::syntax::Statement;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum LbKind {
    Nat,
    Dr,
    Tun,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelType {
    Ipip,
    Gue,
    Gre,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TunnelCsum {
    Nocsum,
    Csum,
    Remcsum,
}

/// Tunnel settings, used when the method is TUN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Tunnel {
    /// `type`: ipip by default.
    #[serde(rename = "type")]
    pub tun_type: TunnelType,
    /// `port`: the GUE destination port, 0 (none) by default; required for gue only.
    pub port: u16,
    /// `nocsum` (default), `csum` or `remcsum`.
    pub csum: TunnelCsum,
}

impl Default for Tunnel {
    fn default() -> Self {
        Tunnel {
            tun_type: TunnelType::Ipip,
            port: 0,
            csum: TunnelCsum::Nocsum,
        }
    }
}

/// A forwarding method and its tunnel settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Forwarding {
    /// `lvs_method` (or `lb_kind`). None until set; after validation a virtual server without
    /// one uses NAT and its real and sorry servers without one use the virtual server's.
    pub lvs_method: Option<LbKind>,
    pub tunnel: Tunnel,
}

impl Forwarding {
    pub fn is_tunnel(&self) -> bool {
        self.lvs_method == Some(LbKind::Tun)
    }
}

/// keepalived's `svr_forwarding_handler`; `server` is `virtual`, `real` or `sorry` (as in its
/// messages). The method is stored as soon as it is recognised; the tunnel options are stored
/// only if they are all valid (on an error the previous tunnel settings stay).
pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement, server: &str, fwd: &mut Forwarding) {
    let Some(method) = read::text(cx, stmt, 1) else {
        return;
    };
    fwd.lvs_method = Some(match method.as_str() {
        "NAT" => LbKind::Nat,
        "DR" => LbKind::Dr,
        "TUN" => LbKind::Tun,
        _ => {
            read::error_at_word(
                cx,
                stmt,
                1,
                format!("PARSER : unknown [{method}] routing method for {server} server."),
                "expected NAT, DR or TUN (upper case)",
            );
            return;
        }
    });
    let mut tunnel = Tunnel::default();
    let mut i = 2;
    while let Some(word) = stmt.words.get(i) {
        match word.text.as_str() {
            "type" => {
                let Some(value) = stmt.words.get(i + 1) else {
                    read::error_at_word(
                        cx,
                        stmt,
                        i,
                        format!("Missing tunnel type for {server} server."),
                        "expected 'type ipip', 'type gue' or 'type gre'",
                    );
                    return;
                };
                tunnel.tun_type = match value.text.as_str() {
                    "ipip" => TunnelType::Ipip,
                    "gue" => TunnelType::Gue,
                    "gre" => TunnelType::Gre,
                    other => {
                        let msg = format!("Unknown tunnel type {other} for {server} server.");
                        read::error_at_word(cx, stmt, i + 1, msg, "expected ipip, gue or gre");
                        return;
                    }
                };
                i += 1;
            }
            "port" => {
                if stmt.words.get(i + 1).is_none() {
                    read::error_at_word(
                        cx,
                        stmt,
                        i,
                        format!("Missing port for {server} server gue tunnel."),
                        "expected 'port N' with N from 1 to 65535",
                    );
                    return;
                }
                let msg = |w: &str| format!("Invalid gue tunnel port {w} for {server} server.");
                let Some(port) = read::unsigned(cx, stmt, i + 1, 1, 65535, msg) else {
                    return;
                };
                tunnel.port = u16::try_from(port).unwrap_or(0);
                i += 1;
            }
            "nocsum" => tunnel.csum = TunnelCsum::Nocsum,
            "csum" => tunnel.csum = TunnelCsum::Csum,
            "remcsum" => tunnel.csum = TunnelCsum::Remcsum,
            other => {
                read::error_at_word(
                    cx,
                    stmt,
                    i,
                    format!("Invalid tunnel option {other} for {server} server."),
                    "tunnel options are 'type ipip|gue|gre', 'port N', nocsum, csum, remcsum",
                );
                return;
            }
        }
        i += 1;
    }
    let help = "the tunnel settings are left as they were";
    if (tunnel.tun_type == TunnelType::Gue) != (tunnel.port != 0) {
        let msg = "gue tunnels require port, otherwise cannot have port.".to_string();
        read::error(cx, code::INVALID_VALUE, stmt.span(), msg, help);
        return;
    }
    if tunnel.tun_type == TunnelType::Ipip && tunnel.csum != TunnelCsum::Nocsum {
        let msg = "ipip tunnels do not support checksum option.".to_string();
        read::error(cx, code::INVALID_VALUE, stmt.span(), msg, help);
        return;
    }
    if tunnel.tun_type == TunnelType::Gre && tunnel.csum == TunnelCsum::Remcsum {
        let msg = "gre tunnels do not support remote checksum option.".to_string();
        read::error(cx, code::INVALID_VALUE, stmt.span(), msg, help);
        return;
    }
    fwd.tunnel = tunnel;
}
