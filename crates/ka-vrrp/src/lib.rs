//! The VRRP engine of keepalived-rs: pure and deterministic, in the shape of quinn-proto.
//!
//! Feed it what happens — a packet received, a timer expired, an interface or tracked object
//! changed, shutdown — with the current time, then drain [`Router::poll_action`] for what to
//! do (send an advert, install VIPs, send gratuitous ARPs, notify) and call
//! [`Router::handle_timeout`] at [`Router::poll_timeout`]. No tokio, no sockets, no clock.

pub mod config;
pub mod event;
pub mod priority;
pub mod router;
pub mod script_health;
pub mod stats;
pub mod timing;

pub use config::{
    GarpSchedule, InitialState, InstanceConfig, LinkId, SyncGroupConfig, TrackWeight, TrackerId,
};
pub use event::{Action, Reason, State, TrackerState};
pub use router::{Instance, PacketOutcome, Router};
pub use script_health::ScriptHealth;
pub use stats::Stats;
