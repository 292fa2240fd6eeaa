//! The I/O edge of keepalived-rs: everything that touches the kernel for VRRP and the data
//! plane.
//!
//! - [`vrrp_socket`]: raw IPv4/IPv6 protocol-112 sockets, one per interface and family, as
//!   keepalived uses them (multicast membership, TTL 255, our own IPv4 header, kernel IPv6
//!   checksum);
//! - [`frame_socket`]: AF_PACKET for gratuitous ARP and unsolicited NA frames;
//! - [`netlink`]: rtnetlink requests for addresses, routes, rules and links (macvlans);
//! - [`monitor`]: link and address change notifications;
//! - [`sysctl`]: kernel parameters set for VMACs and restored on exit;
//! - [`ipvs`]: the IPVS load-balancer data plane over generic netlink (blocking; the daemon
//!   runs it on a thread of its own);
//! - [`nft`]: the nftables load-balancer data plane (`nft -f` transactions, `nft -j list`
//!   read-back), for kernels without IPVS;
//! - [`listing`]: either data plane's table for `keepalived-rs list`, with connection counts
//!   from the connection tracking table ([`conntrack`], a ctnetlink dump) on nftables.
//!
//! Sockets and buffers are set up once; the receive and send paths allocate nothing.

pub mod conntrack;
pub mod frame_socket;
pub mod ipvs;
pub mod listing;
pub mod monitor;
pub mod netlink;
pub mod nft;
pub mod sysctl;
pub mod vrrp_socket;

/// An error with what was being attempted.
#[derive(Debug)]
pub struct NetError {
    pub what: String,
    pub source: std::io::Error,
}

impl NetError {
    pub fn new(what: impl Into<String>, source: std::io::Error) -> NetError {
        NetError {
            what: what.into(),
            source,
        }
    }
}

impl std::fmt::Display for NetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}

impl std::error::Error for NetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

pub type Result<T> = std::result::Result<T, NetError>;

/// Attaches a description to an I/O result.
pub(crate) trait Context<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::io::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| NetError::new(what(), e))
    }
}

impl<T> Context<T> for nix::Result<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| NetError::new(what(), std::io::Error::from(e)))
    }
}
