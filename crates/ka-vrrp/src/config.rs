//! What the engine needs to know about each instance and sync group. The daemon builds these
//! from the parsed keepalived.conf (strict-mode adjustments and defaults already applied).

use ka_units::{Centiseconds, Micros};
use ka_wire::rx::Peer;
use ka_wire::vrrp::{AuthType, Family, Version, AUTH_DATA_LEN};
use serde::Serialize;
use std::net::IpAddr;

/// An interface, as the driver numbers it (the daemon uses the ifindex).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct LinkId(pub u32);

/// A tracked object (script, file, process, BFD session), numbered by the driver.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct TrackerId(pub u32);

/// The state keepalived's `state` keyword asks for at start: it decides only whether an
/// address owner (priority 255) may take over at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum InitialState {
    Backup,
    Master,
}

/// How an instance reacts to a tracked object (`track_script`, `track_interface`,
/// `track_file`, `track_process`): keepalived's `weight W [reverse]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TrackWeight {
    /// 0 means the instance goes to FAULT when the object fails.
    pub weight: i32,
    pub reverse: bool,
}

/// Gratuitous ARP / unsolicited NA schedule (keepalived's `garp_*` keywords).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct GarpSchedule {
    /// `garp_master_repeat`: GARPs per VIP on becoming master (default 5).
    pub master_repeat: u32,
    /// `garp_master_delay`: delay of the second burst (default 5 s; 0 = no second burst).
    pub master_delay: Micros,
    /// `garp_master_refresh`: periodic re-announcement while master (0 = off).
    pub master_refresh: Micros,
    /// `garp_master_refresh_repeat` (default 1).
    pub master_refresh_repeat: u32,
    /// `garp_lower_prio_repeat`: GARPs when a master hears a lower priority (default 0 = off
    /// unless configured; keepalived copies the master values only when the global is set).
    pub lower_prio_repeat: u32,
    /// `garp_lower_prio_delay`.
    pub lower_prio_delay: Micros,
}

impl Default for GarpSchedule {
    fn default() -> Self {
        GarpSchedule {
            master_repeat: 5,
            master_delay: Micros::from_secs(5),
            master_refresh: Micros::ZERO,
            master_refresh_repeat: 1,
            lower_prio_repeat: 0,
            lower_prio_delay: Micros::ZERO,
        }
    }
}

/// One `vrrp_instance`, as the engine runs it.
#[derive(Clone, Debug, Serialize)]
pub struct InstanceConfig {
    pub name: String,
    pub vrid: u8,
    pub family: Family,
    pub version: Version,
    /// The interface adverts go out on and come in from.
    pub link: LinkId,
    /// Configured priority (1-255; 255 = address owner).
    pub priority: u8,
    /// `advert_int`.
    pub advert_interval: Centiseconds,
    pub initial_state: InitialState,
    pub nopreempt: bool,
    /// `preempt_delay` (0 = none).
    pub preempt_delay: Micros,
    pub auth_type: AuthType,
    #[serde(skip)]
    pub auth_data: [u8; AUTH_DATA_LEN],
    /// Advertised addresses (`virtual_ipaddress`), in configuration order.
    pub vips: Vec<IpAddr>,
    /// `unicast_peer` list; empty means multicast.
    pub unicast_peers: Vec<Peer>,
    /// `check_unicast_src` or global `vrrp_check_unicast_src`.
    pub check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`: don't re-check the VIP list of adverts from the known master.
    pub skip_check_adv_addr: bool,
    /// `lower_prio_no_advert`: a master does not answer a lower-priority advert.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`: a master answers a higher-priority advert before yielding.
    pub higher_prio_send_advert: bool,
    /// `vrrp_owner_ignore_adverts` / strict mode: an address owner ignores adverts.
    pub owner_ignore_adverts: bool,
    /// `down_timer_adverts` (default 3).
    pub down_timer_adverts: u32,
    pub v3_checksum_as_v2: bool,
    pub garp: GarpSchedule,
    /// `dont_track_primary`: the instance's own interface going down does not mean FAULT.
    pub dont_track_primary: bool,
    /// `track_interface` entries.
    pub track_links: Vec<(LinkId, TrackWeight)>,
    /// `track_script`, `track_process`, `track_bfd` entries (objects that are up or down).
    pub track_flags: Vec<(TrackerId, TrackWeight)>,
    /// `track_file` entries (objects holding a number).
    pub track_values: Vec<(TrackerId, TrackWeight)>,
}

impl InstanceConfig {
    /// An instance with keepalived's defaults for everything but the essentials.
    pub fn new(name: impl Into<String>, vrid: u8, link: LinkId, family: Family, vips: Vec<IpAddr>) -> Self {
        InstanceConfig {
            name: name.into(),
            vrid,
            family,
            version: if family == Family::Ipv6 {
                Version::V3
            } else {
                Version::V2
            },
            link,
            priority: 100,
            advert_interval: Centiseconds::ONE_SECOND,
            initial_state: InitialState::Backup,
            nopreempt: false,
            preempt_delay: Micros::ZERO,
            auth_type: AuthType::None,
            auth_data: [0; AUTH_DATA_LEN],
            vips,
            unicast_peers: Vec::new(),
            check_unicast_src: false,
            skip_check_adv_addr: false,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            owner_ignore_adverts: false,
            down_timer_adverts: 3,
            v3_checksum_as_v2: false,
            garp: GarpSchedule::default(),
            dont_track_primary: false,
            track_links: Vec::new(),
            track_flags: Vec::new(),
            track_values: Vec::new(),
        }
    }

    pub fn is_unicast(&self) -> bool {
        !self.unicast_peers.is_empty()
    }
}

/// One `vrrp_sync_group`: its members move between states together.
#[derive(Clone, Debug, Serialize)]
pub struct SyncGroupConfig {
    pub name: String,
    /// Indexes of member instances in the router's instance list.
    pub members: Vec<usize>,
}
