//! The VRRP sockets a plan needs: one receiver per (interface, family, multicast group),
//! one sender per (interface, family, source address). On reload, sockets whose key is
//! still wanted are kept as they are (no window without membership).

use super::plan::{Machine, VrrpPlan};
use ka_net::vrrp_socket::{RecvSocket, SendSocket};
use ka_wire::vrrp::Family;
use std::net::IpAddr;

type RecvKey = (u32, Family, Option<IpAddr>);
type SendKey = (u32, Family, IpAddr);

#[derive(Default)]
pub struct Sockets {
    pub recv: Vec<RecvSocket>,
    recv_keys: Vec<RecvKey>,
    pub send: Vec<SendSocket>,
    send_keys: Vec<SendKey>,
    /// Per instance: the sender and the source address written into its adverts.
    pub senders: Vec<Option<(usize, IpAddr)>>,
    /// Per instance: the source address used in elections.
    pub sources: Vec<Option<IpAddr>>,
}

impl Sockets {
    /// Opens what `plan` needs, taking over matching sockets from `previous`. An instance
    /// whose sender cannot be opened gets `None` (the caller holds it in FAULT); a receiver
    /// that cannot be opened is an error.
    pub fn for_plan(
        plan: &VrrpPlan,
        machine: &Machine<'_>,
        previous: Option<Sockets>,
    ) -> Result<Sockets, String> {
        let mut old = previous.unwrap_or_default();
        let mut out = Sockets::default();
        for p in &plan.instances {
            let group = (!p.engine.is_unicast()).then_some(p.group);
            let rkey = (p.ifindex, p.family, group);
            if !out.recv_keys.contains(&rkey) {
                let socket = match old.recv_keys.iter().position(|k| *k == rkey) {
                    Some(k) => {
                        old.recv_keys.remove(k);
                        old.recv.remove(k)
                    }
                    None => RecvSocket::open(p.family, &p.ifname, p.ifindex, group)
                        .map_err(|e| format!("({}) {e}", p.engine.name))?,
                };
                out.recv.push(socket);
                out.recv_keys.push(rkey);
            }
            let source = p
                .source
                .or_else(|| machine.primary_address(p.source_ifindex, p.family));
            out.sources.push(source);
            let sender = match source {
                None => {
                    crate::error!(
                        "({}) interface {} has no {:?} address to send adverts from",
                        p.engine.name,
                        p.ifname,
                        p.family
                    );
                    None
                }
                Some(src) => {
                    let skey = (p.ifindex, p.family, src);
                    if let Some(k) = out.send_keys.iter().position(|k| *k == skey) {
                        Some((k, src))
                    } else {
                        let socket = match old.send_keys.iter().position(|k| *k == skey) {
                            Some(k) => {
                                old.send_keys.remove(k);
                                Ok(old.send.remove(k))
                            }
                            None => SendSocket::open(p.family, &p.ifname, p.ifindex, Some(src)),
                        };
                        match socket {
                            Ok(s) => {
                                out.send.push(s);
                                out.send_keys.push(skey);
                                Some((out.send.len() - 1, src))
                            }
                            Err(e) => {
                                crate::error!("({}) {e}", p.engine.name);
                                None
                            }
                        }
                    }
                }
            };
            out.senders.push(sender);
        }
        Ok(out)
    }
}
