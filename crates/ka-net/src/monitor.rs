//! Link and address change notifications (rtnetlink multicast groups), turned into the few
//! events the daemon cares about.

use crate::netlink::{address_from, link_from, Address, Link};
use crate::{NetError, Result};
use futures::StreamExt;
use netlink_packet_core::NetlinkPayload;
use netlink_packet_route::RouteNetlinkMessage;
use rtnetlink::MulticastGroup;
use tokio::sync::mpsc;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NetEvent {
    /// A link appeared or changed (flags, name, MAC).
    Link(Link),
    LinkRemoved {
        index: u32,
    },
    AddressAdded(Address),
    AddressRemoved(Address),
    /// The kernel dropped notifications (receive buffer overrun): resynchronise by listing.
    Overrun,
}

/// Subscribes to link and address changes; events arrive on the returned channel until it
/// is dropped.
pub fn subscribe() -> Result<mpsc::Receiver<NetEvent>> {
    let (connection, _handle, mut messages) = rtnetlink::new_multicast_connection(&[
        MulticastGroup::Link,
        MulticastGroup::Ipv4Ifaddr,
        MulticastGroup::Ipv6Ifaddr,
    ])
    .map_err(|e| NetError::new("subscribe to link and address changes", e))?;
    tokio::spawn(connection);
    let (tx, rx) = mpsc::channel(1024);
    tokio::spawn(async move {
        while let Some((message, _)) = messages.next().await {
            let event = match message.payload {
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => {
                    Some(NetEvent::Link(link_from(&l)))
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelLink(l)) => {
                    Some(NetEvent::LinkRemoved {
                        index: l.header.index,
                    })
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => {
                    address_from(&a).map(NetEvent::AddressAdded)
                }
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelAddress(a)) => {
                    address_from(&a).map(NetEvent::AddressRemoved)
                }
                NetlinkPayload::Overrun(_) => Some(NetEvent::Overrun),
                _ => None,
            };
            if let Some(e) = event {
                if tx.send(e).await.is_err() {
                    break;
                }
            }
        }
    });
    Ok(rx)
}
