//! The health-checker side of keepalived-rs, pure (no sockets, no clock, no OS randomness):
//!
//! * [`plan`]: the configuration resolved into what runs (services expanded, timing values
//!   inherited and defaulted as keepalived does);
//! * [`policy`] and [`http`]: what one checker's probe results mean, per type;
//! * [`engine`]: all checkers' timers plus the real- and virtual-server logic (inhibit,
//!   weights, quorum and hysteresis, sorry server, notifications) yielding the desired
//!   load-balancer state for [`ka_lb`].
//!
//! The probes themselves (TCP, HTTP, DNS, ...) live at the I/O edge and report an
//! [`policy::Outcome`].

pub mod engine;
pub mod http;
pub mod plan;
pub mod policy;

pub use engine::{CheckerId, Engine, Event, ProbeRequest};
pub use plan::{CheckPlan, CheckerPlan, RsPlan, VsPlan};
pub use policy::{MiscExit, Outcome};
