//! rtnetlink requests: interfaces, addresses, routes, rules, macvlans. Everything keepalived
//! does with `ip addr`, `ip route`, `ip rule` and `ip link` semantics.

use crate::{NetError, Result};
use futures::StreamExt;
use ka_wire::MacAddr;
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope, CacheInfo,
};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State as OperState,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage, RulePortRange, RuleUidRange};
use netlink_packet_route::{AddressFamily, IpProtocol, RouteNetlinkMessage};
use std::net::{IpAddr, Ipv4Addr};

pub use netlink_packet_route::link::MacVlanMode;

/// An interface as the kernel reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    pub mac: Option<MacAddr>,
    /// Administratively up (IFF_UP).
    pub admin_up: bool,
    /// Carrier present / operationally up (IFF_RUNNING).
    pub running: bool,
    pub loopback: bool,
    /// `macvlan`, `veth`, `bridge`, ...
    pub kind: Option<String>,
    /// The parent of a macvlan.
    pub parent: Option<u32>,
}

impl Link {
    /// What VRRP calls "up": keepalived's IF_FLAGS_UP (up and running).
    pub fn is_up(&self) -> bool {
        self.admin_up && self.running
    }
}

/// An address on an interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    pub label: Option<String>,
    pub scope: u8,
    pub secondary: bool,
}

/// An address to add or remove, with `ip addr add` options.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AddressSpec {
    pub index: u32,
    pub addr: IpAddr,
    pub prefix_len: u8,
    /// IPv4 broadcast (`brd`).
    pub broadcast: Option<Ipv4Addr>,
    /// `label` (IPv4).
    pub label: Option<String>,
    /// `scope` (0 global, 200 site, 253 link, 254 host, 255 nowhere).
    pub scope: u8,
    /// `peer`.
    pub peer: Option<IpAddr>,
    /// IFA_F_* flags: nodad, home, mngtmpaddr, noprefixroute, autojoin.
    pub flags: u32,
    /// `preferred_lft` in seconds (0 makes an IPv6 address deprecated, as keepalived does for
    /// /128 VIPs); None = forever.
    pub preferred_lft: Option<u32>,
}

pub const IFA_F_NODAD: u32 = 0x02;
pub const IFA_F_HOMEADDRESS: u32 = 0x10;
pub const IFA_F_MANAGETEMPADDR: u32 = 0x100;
pub const IFA_F_NOPREFIXROUTE: u32 = 0x200;
pub const IFA_F_MCAUTOJOIN: u32 = 0x400;

/// A route with `ip route` options.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RouteSpec {
    pub dst: Option<(IpAddr, u8)>,
    pub src_prefix: Option<(IpAddr, u8)>,
    pub pref_src: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    pub table: Option<u32>,
    pub metric: Option<u32>,
    pub scope: Option<u8>,
    pub protocol: Option<u8>,
    /// RTN_*: 1 unicast, 6 blackhole, 7 unreachable, 8 prohibit, ...
    pub kind: Option<u8>,
    pub tos: Option<u8>,
    pub onlink: bool,
    /// Multipath next hops (gateway, interface, weight).
    pub nexthops: Vec<(Option<IpAddr>, Option<u32>, u8)>,
    /// IPv4 or IPv6 (needed when no address gives it away).
    pub ipv6: bool,
}

/// A policy-routing rule with `ip rule` options.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RuleSpec {
    pub ipv6: bool,
    pub from: Option<(IpAddr, u8)>,
    pub to: Option<(IpAddr, u8)>,
    pub priority: Option<u32>,
    pub table: Option<u32>,
    pub fwmark: Option<(u32, Option<u32>)>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub tos: Option<u8>,
    /// FR_ACT_*: 1 to_tbl, 2 goto, 3 nop, 6 blackhole, 7 unreachable, 8 prohibit.
    pub action: Option<u8>,
    pub goto: Option<u32>,
    pub suppress_prefixlen: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
    pub realms: Option<u32>,
    pub uidrange: Option<(u32, u32)>,
    pub ipproto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub l3mdev: bool,
    pub protocol: Option<u8>,
    pub invert: bool,
}

/// A connection to rtnetlink.
#[derive(Clone)]
pub struct Netlink {
    handle: rtnetlink::Handle,
}

fn netlink_error(what: String, e: rtnetlink::Error) -> NetError {
    let io = match e {
        rtnetlink::Error::NetlinkError(msg) => match msg.code {
            Some(code) => std::io::Error::from_raw_os_error(-code.get()),
            None => std::io::Error::other("netlink error without code"),
        },
        other => std::io::Error::other(other.to_string()),
    };
    NetError::new(what, io)
}

fn family_of(addr: &IpAddr) -> AddressFamily {
    match addr {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    }
}

impl Netlink {
    /// Opens a connection; its driver runs as a task on the current tokio runtime.
    pub fn connect() -> Result<Netlink> {
        let (connection, handle, _) =
            rtnetlink::new_connection().map_err(|e| NetError::new("open rtnetlink", e))?;
        tokio::spawn(connection);
        Ok(Netlink { handle })
    }

    /// Sends a request and waits for its acknowledgement.
    async fn ack(&self, what: impl Fn() -> String, message: RouteNetlinkMessage, flags: u16) -> Result<()> {
        let mut req = NetlinkMessage::from(message);
        req.header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        let mut handle = self.handle.clone();
        let mut responses = handle.request(req).map_err(|e| netlink_error(what(), e))?;
        while let Some(msg) = responses.next().await {
            if let NetlinkPayload::Error(err) = msg.payload {
                return Err(netlink_error(what(), rtnetlink::Error::NetlinkError(err)));
            }
        }
        Ok(())
    }

    /// Sends a dump request and collects the replies.
    async fn dump(&self, what: &str, message: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>> {
        let mut req = NetlinkMessage::from(message);
        req.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
        let mut handle = self.handle.clone();
        let mut responses = handle
            .request(req)
            .map_err(|e| netlink_error(what.to_string(), e))?;
        let mut out = Vec::new();
        while let Some(msg) = responses.next().await {
            match msg.payload {
                NetlinkPayload::InnerMessage(inner) => out.push(inner),
                NetlinkPayload::Error(err) => {
                    return Err(netlink_error(
                        what.to_string(),
                        rtnetlink::Error::NetlinkError(err),
                    ))
                }
                _ => {}
            }
        }
        Ok(out)
    }

    pub async fn links(&self) -> Result<Vec<Link>> {
        let replies = self
            .dump(
                "list interfaces",
                RouteNetlinkMessage::GetLink(LinkMessage::default()),
            )
            .await?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(&l)),
                _ => None,
            })
            .collect())
    }

    pub async fn addresses(&self) -> Result<Vec<Address>> {
        let replies = self
            .dump(
                "list addresses",
                RouteNetlinkMessage::GetAddress(AddressMessage::default()),
            )
            .await?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewAddress(a) => address_from(&a),
                _ => None,
            })
            .collect())
    }

    pub async fn add_address(&self, spec: &AddressSpec) -> Result<()> {
        let msg = address_message(spec);
        let what = || {
            format!(
                "add address {}/{} on ifindex {}",
                spec.addr, spec.prefix_len, spec.index
            )
        };
        self.ack(
            what,
            RouteNetlinkMessage::NewAddress(msg),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
    }

    pub async fn del_address(&self, spec: &AddressSpec) -> Result<()> {
        let msg = address_message(spec);
        let what = || {
            format!(
                "delete address {}/{} on ifindex {}",
                spec.addr, spec.prefix_len, spec.index
            )
        };
        self.ack(what, RouteNetlinkMessage::DelAddress(msg), 0).await
    }

    pub async fn add_route(&self, spec: &RouteSpec) -> Result<()> {
        let what = || format!("add route {spec:?}");
        self.ack(
            what,
            RouteNetlinkMessage::NewRoute(route_message(spec)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
    }

    pub async fn del_route(&self, spec: &RouteSpec) -> Result<()> {
        let what = || format!("delete route {spec:?}");
        self.ack(what, RouteNetlinkMessage::DelRoute(route_message(spec)), 0)
            .await
    }

    pub async fn add_rule(&self, spec: &RuleSpec) -> Result<()> {
        let what = || format!("add rule {spec:?}");
        self.ack(
            what,
            RouteNetlinkMessage::NewRule(rule_message(spec)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
    }

    pub async fn del_rule(&self, spec: &RuleSpec) -> Result<()> {
        let what = || format!("delete rule {spec:?}");
        self.ack(what, RouteNetlinkMessage::DelRule(rule_message(spec)), 0)
            .await
    }

    /// Creates a macvlan (keepalived's `use_vmac`: mode private unless asked otherwise).
    pub async fn add_macvlan(&self, name: &str, parent: u32, mac: MacAddr, mode: MacVlanMode) -> Result<()> {
        let message = rtnetlink::LinkMacVlan::new(name, parent, mode)
            .address(mac.0.to_vec())
            .build();
        let what = || format!("create macvlan {name} on ifindex {parent}");
        self.ack(
            what,
            RouteNetlinkMessage::NewLink(message),
            NLM_F_CREATE | NLM_F_EXCL,
        )
        .await
    }

    pub async fn delete_link(&self, index: u32) -> Result<()> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        self.ack(
            || format!("delete link {index}"),
            RouteNetlinkMessage::DelLink(message),
            0,
        )
        .await
    }

    pub async fn set_link_up(&self, index: u32, up: bool) -> Result<()> {
        let mut message = LinkMessage::default();
        message.header.index = index;
        message.header.flags = if up { LinkFlags::Up } else { LinkFlags::empty() };
        message.header.change_mask = LinkFlags::Up;
        let what = || format!("set link {index} {}", if up { "up" } else { "down" });
        self.ack(what, RouteNetlinkMessage::SetLink(message), 0).await
    }
}

pub(crate) fn link_from(l: &LinkMessage) -> Link {
    let mut link = Link {
        index: l.header.index,
        name: String::new(),
        mac: None,
        admin_up: l.header.flags.contains(LinkFlags::Up),
        running: l.header.flags.contains(LinkFlags::Running),
        loopback: l.header.flags.contains(LinkFlags::Loopback),
        kind: None,
        parent: None,
    };
    for attr in &l.attributes {
        match attr {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(a) if a.len() == 6 => {
                let mut m = [0u8; 6];
                m.copy_from_slice(a);
                link.mac = Some(MacAddr(m));
            }
            LinkAttribute::Link(p) => link.parent = Some(*p),
            LinkAttribute::OperState(s) => {
                // Interfaces without carrier detection report Unknown but pass traffic.
                if matches!(
                    s,
                    OperState::Down | OperState::LowerLayerDown | OperState::NotPresent
                ) {
                    link.running = false;
                }
            }
            LinkAttribute::LinkInfo(infos) => {
                for i in infos {
                    if let LinkInfo::Kind(k) = i {
                        link.kind = Some(match k {
                            InfoKind::Other(s) => s.clone(),
                            other => format!("{other:?}").to_lowercase(),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    link
}

pub(crate) fn address_from(a: &AddressMessage) -> Option<Address> {
    let mut addr = None;
    let mut local = None;
    let mut label = None;
    for attr in &a.attributes {
        match attr {
            AddressAttribute::Address(x) => addr = Some(*x),
            AddressAttribute::Local(x) => local = Some(*x),
            AddressAttribute::Label(l) => label = Some(l.clone()),
            _ => {}
        }
    }
    // For IPv4 the interface's own address is IFA_LOCAL (IFA_ADDRESS is the peer on
    // point-to-point links).
    let chosen = local.or(addr)?;
    Some(Address {
        index: a.header.index,
        addr: chosen,
        prefix_len: a.header.prefix_len,
        label,
        scope: u8::from(a.header.scope),
        secondary: a.header.flags.contains(AddressHeaderFlags::Secondary),
    })
}

fn address_message(spec: &AddressSpec) -> AddressMessage {
    let mut msg = AddressMessage::default();
    msg.header.family = family_of(&spec.addr);
    msg.header.prefix_len = spec.prefix_len;
    msg.header.index = spec.index;
    msg.header.scope = AddressScope::from(spec.scope);
    msg.header.flags = AddressHeaderFlags::from_bits_truncate(spec.flags as u8);
    let local = spec.addr;
    match spec.peer {
        Some(peer) => {
            msg.attributes.push(AddressAttribute::Local(local));
            msg.attributes.push(AddressAttribute::Address(peer));
        }
        None => {
            if local.is_ipv4() {
                msg.attributes.push(AddressAttribute::Local(local));
            }
            msg.attributes.push(AddressAttribute::Address(local));
        }
    }
    if let Some(b) = spec.broadcast {
        msg.attributes.push(AddressAttribute::Broadcast(b));
    }
    if let Some(l) = &spec.label {
        msg.attributes.push(AddressAttribute::Label(l.clone()));
    }
    if spec.flags != 0 {
        msg.attributes
            .push(AddressAttribute::Flags(AddressFlags::from_bits_truncate(
                spec.flags,
            )));
    }
    if let Some(preferred) = spec.preferred_lft {
        let mut info = CacheInfo::default();
        info.ifa_preferred = preferred;
        info.ifa_valid = u32::MAX;
        msg.attributes.push(AddressAttribute::CacheInfo(info));
    }
    msg
}

fn route_message(spec: &RouteSpec) -> RouteMessage {
    let mut msg = RouteMessage::default();
    let ipv6 =
        spec.ipv6 || spec.dst.is_some_and(|(a, _)| a.is_ipv6()) || spec.gateway.is_some_and(|a| a.is_ipv6());
    msg.header = RouteHeader {
        address_family: if ipv6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        },
        destination_prefix_length: spec.dst.map(|(_, l)| l).unwrap_or(0),
        source_prefix_length: spec.src_prefix.map(|(_, l)| l).unwrap_or(0),
        tos: spec.tos.unwrap_or(0),
        table: match spec.table {
            Some(t) if t < 256 => t as u8,
            Some(_) => 252, // RT_TABLE_COMPAT: the real id goes in RTA_TABLE.
            None => 254,    // main
        },
        protocol: RouteProtocol::from(spec.protocol.unwrap_or(4)), // 4 = static, as `ip route`
        scope: RouteScope::from(spec.scope.unwrap_or(default_route_scope(spec))),
        kind: RouteType::from(spec.kind.unwrap_or(1)),
        flags: Default::default(),
    };
    if spec.onlink {
        msg.header.flags = netlink_packet_route::route::RouteFlags::Onlink;
    }
    if let Some((a, _)) = spec.dst {
        msg.attributes
            .push(RouteAttribute::Destination(RouteAddress::from(a)));
    }
    if let Some((a, _)) = spec.src_prefix {
        msg.attributes.push(RouteAttribute::Source(RouteAddress::from(a)));
    }
    if let Some(a) = spec.pref_src {
        msg.attributes
            .push(RouteAttribute::PrefSource(RouteAddress::from(a)));
    }
    if let Some(g) = spec.gateway {
        msg.attributes
            .push(RouteAttribute::Gateway(RouteAddress::from(g)));
    }
    if let Some(o) = spec.oif {
        msg.attributes.push(RouteAttribute::Oif(o));
    }
    if let Some(t) = spec.table {
        msg.attributes.push(RouteAttribute::Table(t));
    }
    if let Some(m) = spec.metric {
        msg.attributes.push(RouteAttribute::Priority(m));
    }
    if !spec.nexthops.is_empty() {
        let hops = spec
            .nexthops
            .iter()
            .map(|(gw, dev, weight)| {
                let mut hop = RouteNextHop::default();
                hop.interface_index = dev.unwrap_or(0);
                hop.hops = weight.saturating_sub(1);
                if let Some(g) = gw {
                    hop.attributes
                        .push(RouteAttribute::Gateway(RouteAddress::from(*g)));
                }
                hop
            })
            .collect();
        msg.attributes.push(RouteAttribute::MultiPath(hops));
    }
    msg
}

/// `ip route`'s default scope: link for a directly connected unicast route, global when there
/// is a gateway or for special types (blackhole, unreachable, ...).
fn default_route_scope(spec: &RouteSpec) -> u8 {
    let via_gateway = spec.gateway.is_some() || !spec.nexthops.is_empty();
    let special_type = matches!(spec.kind, Some(k) if k != 1);
    if via_gateway || special_type {
        0
    } else {
        253
    }
}

fn rule_message(spec: &RuleSpec) -> RuleMessage {
    let mut msg = RuleMessage::default();
    let ipv6 =
        spec.ipv6 || spec.from.is_some_and(|(a, _)| a.is_ipv6()) || spec.to.is_some_and(|(a, _)| a.is_ipv6());
    msg.header.family = if ipv6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    msg.header.src_len = spec.from.map(|(_, l)| l).unwrap_or(0);
    msg.header.dst_len = spec.to.map(|(_, l)| l).unwrap_or(0);
    msg.header.tos = spec.tos.unwrap_or(0);
    msg.header.action = RuleAction::from(spec.action.unwrap_or(1));
    msg.header.table = match spec.table {
        Some(t) if t < 256 => t as u8,
        Some(_) => 252,
        None => 0,
    };
    if spec.invert {
        msg.header.flags = netlink_packet_route::rule::RuleFlags::Invert;
    }
    if let Some((a, _)) = spec.from {
        msg.attributes.push(RuleAttribute::Source(a));
    }
    if let Some((a, _)) = spec.to {
        msg.attributes.push(RuleAttribute::Destination(a));
    }
    if let Some(p) = spec.priority {
        msg.attributes.push(RuleAttribute::Priority(p));
    }
    if let Some(t) = spec.table {
        msg.attributes.push(RuleAttribute::Table(t));
    }
    if let Some((mark, mask)) = spec.fwmark {
        msg.attributes.push(RuleAttribute::FwMark(mark));
        if let Some(m) = mask {
            msg.attributes.push(RuleAttribute::FwMask(m));
        }
    }
    if let Some(i) = &spec.iif {
        msg.attributes.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &spec.oif {
        msg.attributes.push(RuleAttribute::Oifname(o.clone()));
    }
    if let Some(g) = spec.goto {
        msg.attributes.push(RuleAttribute::Goto(g));
    }
    if let Some(s) = spec.suppress_prefixlen {
        msg.attributes.push(RuleAttribute::SuppressPrefixLen(s));
    }
    if let Some(s) = spec.suppress_ifgroup {
        msg.attributes.push(RuleAttribute::SuppressIfGroup(s));
    }
    if let Some(r) = spec.realms {
        msg.attributes
            .push(RuleAttribute::Realm(netlink_packet_route::route::RouteRealm {
                source: (r >> 16) as u16,
                destination: (r & 0xffff) as u16,
            }));
    }
    if let Some((start, end)) = spec.uidrange {
        msg.attributes
            .push(RuleAttribute::UidRange(RuleUidRange { start, end }));
    }
    if let Some(p) = spec.ipproto {
        msg.attributes
            .push(RuleAttribute::IpProtocol(IpProtocol::from(i32::from(p))));
    }
    if let Some((start, end)) = spec.sport {
        msg.attributes
            .push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
    }
    if let Some((start, end)) = spec.dport {
        msg.attributes
            .push(RuleAttribute::DestinationPortRange(RulePortRange { start, end }));
    }
    if spec.l3mdev {
        msg.attributes.push(RuleAttribute::L3MDev(true));
    }
    if let Some(p) = spec.protocol {
        msg.attributes
            .push(RuleAttribute::Protocol(RouteProtocol::from(p)));
    }
    msg
}
