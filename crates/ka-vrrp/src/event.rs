//! What the engine asks the driver to do, and the states it reports.

use crate::config::TrackerId;
use serde::Serialize;

/// VRRP instance states (RFC 5798 §6.4, plus keepalived's FAULT).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum State {
    /// Not running yet, or waiting for trackers to report for the first time.
    Init,
    Backup,
    Master,
    /// An interface or a tracked object with weight 0 is down: no adverts, no VIPs.
    Fault,
    /// Stopped (shutdown); reported once to notify scripts.
    Stop,
}

impl State {
    /// keepalived's spelling in notify scripts, the FIFO and logs.
    pub const fn keepalived_name(self) -> &'static str {
        match self {
            State::Init => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
            State::Stop => "STOP",
        }
    }
}

/// Why an instance changed state, for logs and metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Reason {
    Startup,
    /// Master_Down timer expired: no advert from a master.
    MasterDown,
    /// A higher priority (or equal priority, higher address) advert.
    Preempted,
    /// Interface or tracked object failed.
    Fault,
    /// Interface or tracked objects recovered.
    Recovered,
    /// A sync group member moved.
    SyncGroup,
    /// An address of the master (VIP, excluded VIP, virtual route) was removed by someone
    /// else.
    AddressRemoved,
    Shutdown,
}

/// An effect the driver must carry out, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Action {
    /// Send one advert with this priority (0 = "I am leaving"). For unicast, to every peer.
    SendAdvert { instance: usize, priority: u8 },
    /// Add the instance's VIPs, excluded VIPs, virtual routes and rules (and open accept-mode
    /// firewall rules).
    InstallAddresses { instance: usize },
    /// Remove what `InstallAddresses` added.
    RemoveAddresses { instance: usize },
    /// Send `repeats` gratuitous ARPs / unsolicited NAs for each VIP.
    SendGratuitous { instance: usize, repeats: u32 },
    /// The instance changed state: run notify scripts, write the FIFO, log.
    StateChanged {
        instance: usize,
        from: State,
        to: State,
        priority: u8,
        reason: Reason,
    },
    /// A sync group changed state.
    GroupStateChanged { group: usize, to: State },
    /// The effective priority changed (tracker weights).
    PriorityChanged { instance: usize, from: u8, to: u8 },
    /// A master heard a lower-priority advert (`notify_master_rx_lower_pri`).
    MasterHeardLowerPriority { instance: usize, priority: u8 },
    /// Two instances both claim to own the addresses (priority 255): ours dropped to 254.
    OwnerConflict { instance: usize },
}

/// The state of a tracked object as the driver reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum TrackerState {
    /// Not reported yet (a script that has not finished its first run).
    Unknown,
    Up,
    Down,
    /// A `track_file` number.
    Value(i64),
}

/// A tracker update, for traces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TrackerUpdate {
    pub tracker: TrackerId,
    pub state: TrackerState,
}
