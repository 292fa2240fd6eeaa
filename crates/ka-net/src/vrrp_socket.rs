//! Raw VRRP sockets, keepalived's way: per interface and family a receive socket bound to
//! the device and joined to the VRRP multicast group there, and per interface, family and
//! source address a send socket.
//!
//! IPv4 sends carry our own IP header (IP_HDRINCL: TTL 255, TOS 0xC0, built by ka-wire);
//! receives include the header. IPv6 uses the kernel checksum at offset 6 (IPV6_CHECKSUM),
//! hop limit 255, and reports hop limit and destination as ancillary data.

use crate::{Context, NetError, Result};
use ka_wire::vrrp::{self, Family};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrIn6};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{IoSliceMut, Read};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;

const IPPROTO_VRRP: i32 = vrrp::PROTOCOL as i32;

/// What came with a received advert.
#[derive(Clone, Copy, Debug)]
pub struct RecvMeta {
    pub len: usize,
    /// IPv6 only; IPv4 readers take addresses and TTL from the header.
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub hop_limit: Option<u8>,
}

/// A receive socket for one interface and family.
pub struct RecvSocket {
    socket: AsyncFd<Socket>,
    family: Family,
    ifindex: u32,
    /// Ancillary data buffer, allocated once.
    cmsg: Vec<u8>,
}

fn raw_socket(family: Family) -> std::io::Result<Socket> {
    let domain = match family {
        Family::Ipv4 => Domain::IPV4,
        Family::Ipv6 => Domain::IPV6,
    };
    let s = Socket::new(domain, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
    s.set_nonblocking(true)?;
    s.set_cloexec(true)?;
    Ok(s)
}

/// Sets IPV6_CHECKSUM: the kernel computes the checksum at this offset on send and verifies
/// it on receive (socket2 and nix have no wrapper for it).
#[allow(unsafe_code)]
fn set_ipv6_checksum_offset(s: &Socket, offset: i32) -> std::io::Result<()> {
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from a valid, live c_int.
    let rc = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_IPV6,
            libc::IPV6_CHECKSUM,
            (&offset as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl RecvSocket {
    /// Opens the receive socket for `ifname` (index `ifindex`) and joins `group` there
    /// (224.0.0.18 / ff02::12 unless `mcast_dst_ip` says otherwise; None for unicast only).
    pub fn open(family: Family, ifname: &str, ifindex: u32, group: Option<IpAddr>) -> Result<RecvSocket> {
        let what = || format!("VRRP {family:?} receive socket on {ifname}");
        let s = raw_socket(family).context(what)?;
        s.bind_device(Some(ifname.as_bytes()))
            .context(|| format!("bind VRRP socket to {ifname}"))?;
        match family {
            Family::Ipv4 => {
                s.set_multicast_all_v4(false).context(what)?;
                if let Some(IpAddr::V4(g)) = group {
                    s.join_multicast_v4_n(&g, &socket2::InterfaceIndexOrAddress::Index(ifindex))
                        .context(|| format!("join {g} on {ifname}"))?;
                }
            }
            Family::Ipv6 => {
                s.set_multicast_all_v6(false).context(what)?;
                set_ipv6_checksum_offset(&s, vrrp::CHECKSUM_OFFSET as i32).context(what)?;
                nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv6RecvPacketInfo, &true)
                    .context(what)?;
                nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv6RecvHopLimit, &true)
                    .context(what)?;
                if let Some(IpAddr::V6(g)) = group {
                    s.join_multicast_v6(&g, ifindex)
                        .context(|| format!("join {g} on {ifname}"))?;
                }
            }
        }
        let socket = register(s).context(what)?;
        Ok(RecvSocket {
            socket,
            family,
            ifindex,
            cmsg: vec![0u8; 256],
        })
    }

    pub fn family(&self) -> Family {
        self.family
    }

    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// Polls for readability without reading (for waiting on many sockets at once without
    /// allocating): Ready when a packet may be waiting.
    pub fn poll_readable(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<()>> {
        match self.socket.poll_read_ready(cx) {
            std::task::Poll::Ready(Ok(_guard)) => std::task::Poll::Ready(Ok(())),
            std::task::Poll::Ready(Err(e)) => {
                std::task::Poll::Ready(Err(NetError::new("wait for VRRP packets", e)))
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }

    /// Reads one packet into `buf` without waiting; None when nothing is queued (readiness
    /// is then cleared, so the next poll waits for new packets).
    pub fn try_recv(&mut self, buf: &mut [u8]) -> Result<Option<RecvMeta>> {
        let family = self.family;
        let cmsg = &mut self.cmsg;
        let outcome = self
            .socket
            .try_io(tokio::io::Interest::READABLE, |sock| match family {
                Family::Ipv4 => {
                    let mut reader: &Socket = sock;
                    reader.read(buf).map(|len| RecvMeta {
                        len,
                        src: None,
                        dst: None,
                        hop_limit: None,
                    })
                }
                Family::Ipv6 => read_v6(sock.as_raw_fd(), buf, cmsg),
            });
        match outcome {
            Ok(meta) => Ok(Some(meta)),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(NetError::new("receive VRRP packet", e)),
        }
    }
}

/// recvmsg for IPv6: the message, its source, and from ancillary data the destination
/// (multicast or unicast) and the hop limit.
fn read_v6(fd: i32, buf: &mut [u8], cmsg: &mut [u8]) -> std::io::Result<RecvMeta> {
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<SockaddrIn6>(fd, &mut iov, Some(cmsg), MsgFlags::MSG_DONTWAIT)
        .map_err(std::io::Error::from)?;
    let mut meta = RecvMeta {
        len: msg.bytes,
        src: msg.address.map(|a| IpAddr::V6(a.ip())),
        dst: None,
        hop_limit: None,
    };
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv6PacketInfo(info) => {
                    meta.dst = Some(IpAddr::V6(Ipv6Addr::from(info.ipi6_addr.s6_addr)));
                }
                ControlMessageOwned::Ipv6HopLimit(h) => meta.hop_limit = u8::try_from(h).ok(),
                _ => {}
            }
        }
    }
    Ok(meta)
}

/// Hands a socket to tokio's reactor.
#[allow(unsafe_code)]
fn register(s: Socket) -> std::io::Result<AsyncFd<Socket>> {
    // SAFETY: the AsyncFd owns the Socket, whose descriptor stays open and unchanged until
    // the AsyncFd drops it; nothing else closes or replaces it.
    unsafe { AsyncFd::register(s) }.map_err(|e| e.into())
}

/// A send socket for one interface, family and source address.
pub struct SendSocket {
    socket: Socket,
    family: Family,
    ifindex: u32,
}

impl SendSocket {
    /// Opens a sender on `ifname`. For IPv6, `source` (usually the interface's link-local
    /// address) becomes the packets' source; for IPv4 we write the source into our header.
    pub fn open(family: Family, ifname: &str, ifindex: u32, source: Option<IpAddr>) -> Result<SendSocket> {
        let what = || format!("VRRP {family:?} send socket on {ifname}");
        let s = raw_socket(family).context(what)?;
        // Never read: a filter that accepts nothing keeps the kernel from copying every VRRP
        // packet of the machine into its queue (as keepalived's if_setsockopt_no_receive).
        // BPF "ret #0".
        s.attach_filter(&[socket2::SockFilter::new(0x06, 0, 0, 0)])
            .context(|| format!("drop-all filter on the VRRP sender for {ifname}"))?;
        s.bind_device(Some(ifname.as_bytes()))
            .context(|| format!("bind VRRP sender to {ifname}"))?;
        match family {
            Family::Ipv4 => {
                s.set_header_included_v4(true).context(what)?;
                s.set_multicast_loop_v4(false).context(what)?;
                s.set_multicast_ttl_v4(u32::from(vrrp::TTL)).context(what)?;
            }
            Family::Ipv6 => {
                set_ipv6_checksum_offset(&s, vrrp::CHECKSUM_OFFSET as i32).context(what)?;
                s.set_multicast_loop_v6(false).context(what)?;
                s.set_multicast_hops_v6(u32::from(vrrp::TTL)).context(what)?;
                s.set_unicast_hops_v6(u32::from(vrrp::TTL)).context(what)?;
                s.set_multicast_if_v6(ifindex).context(what)?;
                // keepalived marks VRRPv3 IPv6 adverts as network control too.
                s.set_tclass_v6(u32::from(ka_wire::ipv4::TOS_INTERNET_CONTROL))
                    .context(what)?;
                if let Some(IpAddr::V6(src)) = source {
                    let scope = if is_link_local_v6(&src) { ifindex } else { 0 };
                    s.bind(&SockAddr::from(SocketAddrV6::new(src, 0, 0, scope)))
                        .context(|| format!("bind VRRP sender to {src}"))?;
                }
            }
        }
        Ok(SendSocket {
            socket: s,
            family,
            ifindex,
        })
    }

    /// Whether anything waits in this socket's receive queue (it should not: see the
    /// drop-all filter in [`SendSocket::open`]). For tests.
    pub fn has_queued(&self) -> bool {
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1];
        self.socket
            .recv_with_flags(&mut buf, libc::MSG_DONTWAIT | libc::MSG_PEEK)
            .is_ok()
    }

    /// Sends one advert: for IPv4 `packet` is the whole datagram with our header, for IPv6
    /// the VRRP message (the kernel adds the header and checksum).
    pub fn send(&self, packet: &[u8], dst: IpAddr) -> Result<()> {
        let addr = match (self.family, dst) {
            (Family::Ipv4, IpAddr::V4(d)) => SockAddr::from(SocketAddr::new(IpAddr::V4(d), 0)),
            (Family::Ipv6, IpAddr::V6(d)) => {
                let scope = if d.is_multicast() || is_link_local_v6(&d) {
                    self.ifindex
                } else {
                    0
                };
                SockAddr::from(SocketAddrV6::new(d, 0, 0, scope))
            }
            _ => {
                return Err(NetError::new(
                    "send VRRP advert",
                    std::io::Error::new(std::io::ErrorKind::InvalidInput, "address family mismatch"),
                ))
            }
        };
        self.socket
            .send_to(packet, &addr)
            .map(|_| ())
            .context(|| format!("send VRRP advert to {dst}"))
    }
}

pub fn is_link_local_v6(a: &Ipv6Addr) -> bool {
    (a.segments()[0] & 0xffc0) == 0xfe80
}

/// The default VRRP group for a family.
pub fn default_group(family: Family) -> IpAddr {
    match family {
        Family::Ipv4 => IpAddr::V4(vrrp::MULTICAST_V4),
        Family::Ipv6 => IpAddr::V6(vrrp::MULTICAST_V6),
    }
}

/// Unused-address placeholder so IPv4 callers can say "no source".
pub const NO_V4: Ipv4Addr = Ipv4Addr::UNSPECIFIED;
