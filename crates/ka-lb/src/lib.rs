//! The load-balancer side of keepalived-rs, pure: the model of virtual services and real
//! servers ([`model`]), the reconciler that turns desired vs actual into the minimal change
//! set ([`reconcile`]), and the data-plane boundary with its in-memory fake and the
//! synchronisation policy ([`dataplane`]), and the table as `ipvsadm -Ln` prints it
//! ([`listing`]). The IPVS and nftables backends implement [`dataplane::Dataplane`] at the
//! I/O edge.

pub mod dataplane;
pub mod listing;
pub mod model;
pub mod reconcile;

pub use dataplane::{Dataplane, DataplaneError, FakeDataplane, SyncStatus, Syncer};
pub use model::{Dest, DestKey, Family, Forward, LbState, Protocol, Scheduler, Service, ServiceKey};
pub use reconcile::{reconcile, Change};
