//! AF_PACKET: sends whole Ethernet frames (gratuitous ARP, unsolicited neighbour
//! advertisements) out of a given interface, as keepalived does.

use crate::{Context, NetError, Result};
use socket2::{Domain, SockAddr, SockAddrStorage, Socket, Type};

/// One socket for all interfaces: the interface is chosen per frame.
pub struct FrameSocket {
    socket: Socket,
}

impl FrameSocket {
    pub fn open() -> Result<FrameSocket> {
        // Protocol 0: a send-only packet socket (receives nothing).
        let socket = Socket::new(Domain::PACKET, Type::RAW, None).context(|| "AF_PACKET socket".into())?;
        socket.set_cloexec(true).context(|| "AF_PACKET socket".into())?;
        Ok(FrameSocket { socket })
    }

    /// Sends `frame` (Ethernet header included) out of interface `ifindex`.
    pub fn send(&self, ifindex: u32, frame: &[u8]) -> Result<()> {
        let dst = frame.get(..6).ok_or_else(|| {
            NetError::new(
                "send frame",
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame shorter than a MAC"),
            )
        })?;
        let addr = link_address(ifindex, dst);
        self.socket
            .send_to(frame, &addr)
            .map(|_| ())
            .context(|| format!("send frame on ifindex {ifindex}"))
    }
}

/// Builds a `sockaddr_ll` for sending on `ifindex` to MAC `dst`.
#[allow(unsafe_code)]
fn link_address(ifindex: u32, dst: &[u8]) -> SockAddr {
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: sockaddr_storage is larger than sockaddr_ll and suitably aligned for it, and
    // the length passed to SockAddr::new is exactly the size of the structure we wrote.
    unsafe {
        let ll: &mut libc::sockaddr_ll = storage.view_as();
        ll.sll_family = libc::AF_PACKET as u16;
        ll.sll_protocol = 0;
        ll.sll_ifindex = ifindex as i32;
        ll.sll_halen = 6;
        ll.sll_addr[..6].copy_from_slice(&dst[..6]);
        SockAddr::new(
            storage,
            std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    }
}
