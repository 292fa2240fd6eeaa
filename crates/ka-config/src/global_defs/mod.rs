//! `global_defs { ... }`: process-wide settings and the defaults VRRP instances and checkers
//! inherit, read exactly as keepalived 2.2.7 reads them (Debian feature set: everything but
//! iptables, libipset and strict-config).
//!
//! - [`GlobalDefs`] has one field per keyword, named after it, with keepalived's defaults;
//! - [`parse`](self::parse) reads one `global_defs` block (there may be several: they
//!   accumulate, each keyword keeping keepalived's first-wins or last-wins rule);
//! - [`finish`] applies what keepalived fills in after the whole file is read
//!   (`init_global_data`): router id, SMTP defaults, reload file path.
//!
//! Where keepalived prints a number helper's message followed by the keyword's own message,
//! we report one diagnostic carrying both texts, at the offending word, with keepalived's
//! number class (both classes give the same `-t` exit code).

mod handlers;
mod lvs_opts;
mod notify;
mod process;
#[cfg(test)]
mod tests;
mod vrrp_opts;

use crate::config::ProcessSettings;
use crate::cx::Cx;
use crate::diag::Class;
use crate::script::{Script, ScriptUserState};
use crate::syntax::{Block, Statement};
use ka_units::Micros;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Keywords of `global_defs` in the Debian build of keepalived 2.2.7 (in keepalived's order),
/// for "did you mean" hints.
pub const KEYWORDS: &[&str] = &[
    "process_names",
    "process_name",
    "vrrp_process_name",
    "checker_process_name",
    "lvs_process_name",
    "bfd_process_name",
    "router_id",
    "notification_email_from",
    "smtp_server",
    "smtp_helo_name",
    "smtp_connect_timeout",
    "notification_email",
    "smtp_alert",
    "startup_script",
    "startup_script_timeout",
    "shutdown_script",
    "shutdown_script_timeout",
    "max_auto_priority",
    "min_auto_priority_delay",
    "smtp_alert_vrrp",
    "smtp_alert_checker",
    "checker_log_all_failures",
    "dynamic_interfaces",
    "no_email_faults",
    "default_interface",
    "disable_local_igmp",
    "lvs_timeouts",
    "lvs_flush",
    "lvs_flush_on_stop",
    "lvs_flush_onstop",
    "lvs_sync_daemon",
    "vrrp_mcast_group4",
    "vrrp_mcast_group6",
    "vrrp_garp_master_delay",
    "vrrp_garp_master_repeat",
    "vrrp_garp_master_refresh",
    "vrrp_garp_master_refresh_repeat",
    "vrrp_garp_lower_prio_delay",
    "vrrp_garp_lower_prio_repeat",
    "vrrp_down_timer_adverts",
    "vrrp_garp_interval",
    "vrrp_gna_interval",
    "vrrp_min_garp",
    "vrrp_garp_extra_if",
    "vrrp_vmac_garp_intvl",
    "vrrp_lower_prio_no_advert",
    "vrrp_higher_prio_send_advert",
    "vrrp_version",
    "vrrp_iptables",
    "nftables",
    "nftables_priority",
    "nftables_ifindex",
    "nftables_ipvs",
    "nftables_ipvs_priority",
    "nftables_ipvs_start_fwmark",
    "nftables_counters",
    "vrrp_check_unicast_src",
    "vrrp_skip_check_adv_addr",
    "vrrp_strict",
    "vrrp_priority",
    "vrrp_no_swap",
    "vrrp_rt_priority",
    "vrrp_cpu_affinity",
    "vrrp_rlimit_rttime",
    "vrrp_rlimit_rtime",
    "notify_fifo",
    "notify_fifo_script",
    "vrrp_notify_fifo",
    "vrrp_notify_fifo_script",
    "vrrp_notify_priority_changes",
    "fifo_write_vrrp_states_on_reload",
    "lvs_notify_fifo",
    "lvs_notify_fifo_script",
    "checker_priority",
    "checker_no_swap",
    "checker_rt_priority",
    "checker_cpu_affinity",
    "checker_rlimit_rttime",
    "checker_rlimit_rtime",
    "bfd_priority",
    "bfd_no_swap",
    "bfd_rt_priority",
    "bfd_cpu_affinity",
    "bfd_rlimit_rttime",
    "bfd_rlimit_rtime",
    "snmp_socket",
    "enable_traps",
    "enable_snmp_vrrp",
    "enable_snmp_keepalived",
    "enable_snmp_rfc",
    "enable_snmp_rfcv2",
    "enable_snmp_rfcv3",
    "enable_snmp_checker",
    "enable_dbus",
    "dbus_service_name",
    "script_user",
    "enable_script_security",
    "vrrp_netlink_cmd_rcv_bufs",
    "vrrp_netlink_cmd_rcv_bufs_force",
    "vrrp_netlink_monitor_rcv_bufs",
    "vrrp_netlink_monitor_rcv_bufs_force",
    "process_monitor_rcv_bufs",
    "process_monitor_rcv_bufs_force",
    "lvs_netlink_cmd_rcv_bufs",
    "lvs_netlink_cmd_rcv_bufs_force",
    "lvs_netlink_monitor_rcv_bufs",
    "lvs_netlink_monitor_rcv_bufs_force",
    "rs_init_notifies",
    "no_checker_emails",
    "vrrp_rx_bufs_policy",
    "vrrp_rx_bufs_multiplier",
    "vrrp_startup_delay",
    "log_unknown_vrids",
    "vmac_prefix",
    "vmac_addr_prefix",
    "umask",
    "random_seed",
    "reload_check_config",
    "reload_time_file",
    "reload_repeat",
    "reload_file",
    "include_check",
    "config_save_dir",
    "tmp_config_directory",
    "data_use_instance",
];

/// keepalived's `TIMER_HZ`: microseconds per second.
pub(crate) const TIMER_HZ: u64 = 1_000_000;

/// What `router_id` and the SMTP defaults use when the host name is unknown.
pub const UNKNOWN_NAME: &str = "[unknown]";

/// Every `global_defs` setting. Field names are the keywords; a deprecated alias keyword
/// writes the field of the keyword it stands for (said on that field). Durations are
/// [`Micros`]; plain integers carry their unit in the name.
#[derive(Clone, Debug, Serialize)]
pub struct GlobalDefs {
    // ----- process names -----
    /// `process_names`: given (it sets the three child names below; later lines override).
    pub process_names: bool,
    /// `process_name NAME`: the parent's process name (at most 15 bytes; longer is truncated).
    pub process_name: Option<String>,
    /// `vrrp_process_name NAME`.
    pub vrrp_process_name: Option<String>,
    /// `checker_process_name NAME` (also the deprecated `lvs_process_name`).
    pub checker_process_name: Option<String>,
    /// `bfd_process_name NAME`.
    pub bfd_process_name: Option<String>,

    // ----- identity, e-mail, SMTP -----
    /// `router_id NAME`. Unset, [`finish`] makes it the host name (`"[unknown]"` if none).
    pub router_id: String,
    /// `notification_email_from ADDR`. With an `smtp_server` and no value, [`finish`] makes it
    /// `root@<host>` (keepalived: the running user's login name; keepalived-rs runs as root).
    pub notification_email_from: Option<String>,
    /// `smtp_server HOST [PORT]`: unset means no mail is sent. An invalid line clears it.
    pub smtp_server: Option<SmtpServer>,
    /// `smtp_helo_name NAME`. With an `smtp_server` and no value, [`finish`] uses the host name.
    pub smtp_helo_name: Option<String>,
    /// `smtp_connect_timeout SECS`. Zero (the default) becomes 30 s in [`finish`] when an
    /// `smtp_server` is set.
    pub smtp_connect_timeout: Micros,
    /// `notification_email { ADDR ... }`: recipients; repeated blocks append.
    pub notification_email: Vec<String>,
    /// `smtp_alert [BOOL]`: `None` until given (instances fall back to false).
    pub smtp_alert: Option<bool>,
    /// `smtp_alert_vrrp [BOOL]`: `None` until given (falls back to `smtp_alert`).
    pub smtp_alert_vrrp: Option<bool>,
    /// `smtp_alert_checker [BOOL]`: `None` until given (falls back to `smtp_alert`).
    pub smtp_alert_checker: Option<bool>,
    /// `no_email_faults`: no VRRP mails for FAULT transitions.
    pub no_email_faults: bool,
    /// `checker_log_all_failures [BOOL]`.
    pub checker_log_all_failures: bool,
    /// `no_checker_emails [BOOL]`.
    pub no_checker_emails: bool,
    /// `rs_init_notifies [BOOL]`.
    pub rs_init_notifies: bool,

    // ----- startup / shutdown scripts -----
    /// `startup_script SCRIPT [USER [GROUP]]` (first wins).
    pub startup_script: Option<Script>,
    /// `startup_script_timeout SECS` (1 to 1000). Zero until set; a startup script makes it
    /// 10 s if still zero.
    pub startup_script_timeout: Micros,
    /// `shutdown_script SCRIPT [USER [GROUP]]` (first wins).
    pub shutdown_script: Option<Script>,
    /// `shutdown_script_timeout SECS`: as `startup_script_timeout`.
    pub shutdown_script_timeout: Micros,

    // ----- scheduling, priorities, CPU, rlimits -----
    /// `max_auto_priority [PRIO]`: 0 = no automatic real-time priority, -1 = disabled
    /// without the notice, no value = 99.
    pub max_auto_priority: i32,
    /// `min_auto_priority_delay USECS` (default 1 s).
    pub min_auto_priority_delay: Micros,
    /// `vrrp_priority NICE` (-20 to 19; an invalid value resets it to 0).
    pub vrrp_priority: i8,
    /// `vrrp_priority` was given (keepalived-rs raises the VRRP thread's priority by default
    /// only when it was not).
    #[serde(skip)]
    pub vrrp_priority_set: bool,
    /// `checker_priority NICE`.
    pub checker_priority: i8,
    /// `bfd_priority NICE`.
    pub bfd_priority: i8,
    /// `vrrp_no_swap`: lock the VRRP process in memory.
    pub vrrp_no_swap: bool,
    /// `checker_no_swap`.
    pub checker_no_swap: bool,
    /// `bfd_no_swap`.
    pub bfd_no_swap: bool,
    /// `vrrp_rt_priority PRIO`: SCHED_RR priority 1 to 99 (values outside are clamped);
    /// 0 = not real-time.
    pub vrrp_rt_priority: u32,
    /// `checker_rt_priority PRIO`.
    pub checker_rt_priority: u32,
    /// `bfd_rt_priority PRIO`.
    pub bfd_rt_priority: u32,
    /// `vrrp_cpu_affinity CPU...`: CPU ids (sorted); empty = no pinning.
    pub vrrp_cpu_affinity: Vec<u32>,
    /// `checker_cpu_affinity CPU...`.
    pub checker_cpu_affinity: Vec<u32>,
    /// `bfd_cpu_affinity CPU...`.
    pub bfd_cpu_affinity: Vec<u32>,
    /// `vrrp_rlimit_rttime USECS` (also the deprecated `vrrp_rlimit_rtime`): RLIMIT_RTTIME
    /// hard limit when real-time (soft = half). Default 10 ms; 0 = no limit (what an
    /// invalid value leaves).
    pub vrrp_rlimit_rttime: Micros,
    /// `checker_rlimit_rttime USECS` (also `checker_rlimit_rtime`).
    pub checker_rlimit_rttime: Micros,
    /// `bfd_rlimit_rttime USECS` (also `bfd_rlimit_rtime`).
    pub bfd_rlimit_rttime: Micros,

    // ----- general VRRP -----
    /// `dynamic_interfaces [allow_if_changes]`.
    pub dynamic_interfaces: bool,
    /// `dynamic_interfaces allow_if_changes`.
    pub dynamic_interfaces_allow_if_changes: bool,
    /// `default_interface IFNAME` (default `eth0`): for `static_ipaddress` entries without
    /// `dev`, so it must come before them.
    pub default_interface: String,
    /// `disable_local_igmp`.
    pub disable_local_igmp: bool,
    /// `vrrp_mcast_group4 ADDR` (default 224.0.0.18).
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6 ADDR` (default ff02::12).
    pub vrrp_mcast_group6: Ipv6Addr,
    /// `vrrp_version 2|3` (default 2; IPv6 instances always use 3).
    pub vrrp_version: u8,
    /// `vrrp_check_unicast_src`.
    pub vrrp_check_unicast_src: bool,
    /// `vrrp_skip_check_adv_addr`: copied into each instance when it is created.
    pub vrrp_skip_check_adv_addr: bool,
    /// `vrrp_strict`: default strict mode of instances.
    pub vrrp_strict: bool,
    /// `vrrp_lower_prio_no_advert [BOOL]`.
    pub vrrp_lower_prio_no_advert: bool,
    /// `vrrp_higher_prio_send_advert [BOOL]`.
    pub vrrp_higher_prio_send_advert: bool,
    /// `vrrp_notify_priority_changes [BOOL]`.
    pub vrrp_notify_priority_changes: bool,
    /// `vrrp_startup_delay SECS` (0.001 to 4294.967295; default 0 = none).
    pub vrrp_startup_delay: Micros,
    /// `log_unknown_vrids`.
    pub log_unknown_vrids: bool,
    /// `vmac_prefix STRING` (first wins; `None` = `vrrp`).
    pub vmac_prefix: Option<String>,
    /// `vmac_addr_prefix STRING` (first wins; `None` = `vmac_prefix`, then `vrrp`).
    pub vmac_addr_prefix: Option<String>,
    /// `vrrp_rx_bufs_policy MTU|ADVERT|SIZE` (accumulates over lines, then keepalived's
    /// conflict rules apply).
    pub vrrp_rx_bufs_policy: RxBufsPolicy,
    /// `vrrp_rx_bufs_multiplier N` (default 3).
    pub vrrp_rx_bufs_multiplier: u32,

    // ----- gratuitous ARP / unsolicited NA -----
    /// `vrrp_garp_master_delay SECS` (default 5 s; 0 = no second burst).
    pub vrrp_garp_master_delay: Micros,
    /// `vrrp_garp_master_repeat N` (default 5; 0 becomes 1).
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh SECS` (default 0 = no refresh; invalid resets to 0).
    pub vrrp_garp_master_refresh: Micros,
    /// `vrrp_garp_master_refresh_repeat N` (default 1; 0 becomes 1).
    pub vrrp_garp_master_refresh_repeat: u32,
    /// `vrrp_garp_lower_prio_delay SECS`: `None` = `vrrp_garp_master_delay` (resolved by VRRP
    /// validation).
    pub vrrp_garp_lower_prio_delay: Option<Micros>,
    /// `vrrp_garp_lower_prio_repeat N`: `None` = `vrrp_garp_master_repeat`.
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_down_timer_adverts N` (1 to 100, default 3).
    pub vrrp_down_timer_adverts: u32,
    /// `vrrp_garp_interval SECS` (default 0 = no gap; an explicit 0 is refused).
    pub vrrp_garp_interval: Micros,
    /// `vrrp_gna_interval SECS` (default 0; an explicit 0 is refused).
    pub vrrp_gna_interval: Micros,
    /// `vrrp_min_garp [BOOL]`: given true (it changes the GARP settings still at default).
    pub vrrp_min_garp: bool,
    /// `vrrp_garp_extra_if [all] SECS` (also the deprecated `vrrp_vmac_garp_intvl`): GARP
    /// interval on VMAC interfaces, 0 = disabled.
    pub vrrp_garp_extra_if: Micros,
    /// `vrrp_garp_extra_if all`: on all interfaces, not just the VMAC's.
    pub vrrp_garp_extra_if_all: bool,

    // ----- firewall -----
    /// `vrrp_iptables`: given. This build has no iptables: it selects nftables table
    /// `keepalived` instead (see `nftables`).
    pub vrrp_iptables: bool,
    /// `nftables [TABLE]`: the VRRP nftables table (first wins; no name = `keepalived`).
    pub nftables: Option<String>,
    /// `nftables_priority INT` (default -1; `nftables` resets it).
    pub nftables_priority: i32,
    /// `nftables_ifindex`.
    pub nftables_ifindex: bool,
    /// `nftables_ipvs [TABLE]` (first wins; no name = `keepalived_ipvs`).
    pub nftables_ipvs: Option<String>,
    /// `nftables_ipvs_priority INT` (default -1; `nftables_ipvs` resets it).
    pub nftables_ipvs_priority: i32,
    /// `nftables_ipvs_start_fwmark N` (0 until `nftables_ipvs`, which sets 1000).
    pub nftables_ipvs_start_fwmark: u32,
    /// `nftables_counters`.
    pub nftables_counters: bool,

    // ----- LVS -----
    /// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`.
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_flush`: flush IPVS at startup.
    pub lvs_flush: bool,
    /// `lvs_flush_on_stop [VS]` (also the deprecated `lvs_flush_onstop`).
    pub lvs_flush_on_stop: LvsFlushOnStop,
    /// `lvs_sync_daemon IFNAME ...` (first wins).
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,

    // ----- notify FIFOs -----
    /// `notify_fifo PATH [USER [GROUP]]` (first wins).
    pub notify_fifo: Option<NotifyFifo>,
    /// `notify_fifo_script SCRIPT [USER [GROUP]]` (first wins; the FIFO path is appended
    /// as the last argument when run).
    pub notify_fifo_script: Option<Script>,
    /// `vrrp_notify_fifo PATH [USER [GROUP]]`.
    pub vrrp_notify_fifo: Option<NotifyFifo>,
    /// `vrrp_notify_fifo_script SCRIPT [USER [GROUP]]`.
    pub vrrp_notify_fifo_script: Option<Script>,
    /// `lvs_notify_fifo PATH [USER [GROUP]]`.
    pub lvs_notify_fifo: Option<NotifyFifo>,
    /// `lvs_notify_fifo_script SCRIPT [USER [GROUP]]`.
    pub lvs_notify_fifo_script: Option<Script>,
    /// `fifo_write_vrrp_states_on_reload`.
    pub fifo_write_vrrp_states_on_reload: bool,

    // ----- keepalived-rs extensions (keepalived warns "Unknown keyword" and goes on) -----
    /// `metrics_listen ADDR:PORT`: serve Prometheus metrics there (the `--metrics-listen`
    /// flag wins when both are given). Nothing listens unless asked.
    pub metrics_listen: Option<std::net::SocketAddr>,

    // ----- SNMP, DBus -----
    /// `snmp_socket SPEC` (first wins; `None` = net-snmp's `unix:/var/agentx/master`).
    pub snmp_socket: Option<String>,
    /// `enable_traps`.
    pub enable_traps: bool,
    /// `enable_snmp_vrrp` (also the deprecated `enable_snmp_keepalived`).
    pub enable_snmp_vrrp: bool,
    /// `enable_snmp_rfc`: given (it sets both `enable_snmp_rfcv2` and `enable_snmp_rfcv3`).
    pub enable_snmp_rfc: bool,
    /// `enable_snmp_rfcv2`.
    pub enable_snmp_rfcv2: bool,
    /// `enable_snmp_rfcv3`.
    pub enable_snmp_rfcv3: bool,
    /// `enable_snmp_checker`.
    pub enable_snmp_checker: bool,
    /// `enable_dbus`.
    pub enable_dbus: bool,
    /// `dbus_service_name NAME` (default `org.keepalived.Vrrp1`).
    pub dbus_service_name: String,

    // ----- script user and security -----
    /// `script_user USER [GROUP]`, and keepalived's default script user as resolved so far
    /// (the first script without a user fixes it; VRRP notify scripts go on from here).
    pub script_user: ScriptUserState,
    /// `enable_script_security`: affects the scripts read after it.
    pub enable_script_security: bool,

    // ----- netlink receive buffers -----
    /// `vrrp_netlink_cmd_rcv_bufs BYTES` (0 = 64 KiB at socket setup; an explicit 0 is a no-op).
    pub vrrp_netlink_cmd_rcv_bufs_bytes: u32,
    /// `vrrp_netlink_cmd_rcv_bufs_force [BOOL]`: use SO_RCVBUFFORCE.
    pub vrrp_netlink_cmd_rcv_bufs_force: bool,
    /// `vrrp_netlink_monitor_rcv_bufs BYTES`.
    pub vrrp_netlink_monitor_rcv_bufs_bytes: u32,
    /// `vrrp_netlink_monitor_rcv_bufs_force [BOOL]`.
    pub vrrp_netlink_monitor_rcv_bufs_force: bool,
    /// `process_monitor_rcv_bufs BYTES` (0 = kernel default).
    pub process_monitor_rcv_bufs_bytes: u32,
    /// `process_monitor_rcv_bufs_force [BOOL]`.
    pub process_monitor_rcv_bufs_force: bool,
    /// `lvs_netlink_cmd_rcv_bufs BYTES`.
    pub lvs_netlink_cmd_rcv_bufs_bytes: u32,
    /// `lvs_netlink_cmd_rcv_bufs_force [BOOL]`.
    pub lvs_netlink_cmd_rcv_bufs_force: bool,
    /// `lvs_netlink_monitor_rcv_bufs BYTES`.
    pub lvs_netlink_monitor_rcv_bufs_bytes: u32,
    /// `lvs_netlink_monitor_rcv_bufs_force [BOOL]`.
    pub lvs_netlink_monitor_rcv_bufs_force: bool,

    // ----- miscellaneous, reload, configuration files -----
    /// `umask NUMBER|BITS`: the file-creation mask (default 0o177).
    pub umask: u32,
    /// `random_seed N` (keepalived 2.2.7 never uses it: its seed is set before parsing).
    pub random_seed: Option<u32>,
    /// `reload_check_config [LOGFILE]`: check the new configuration before a reload
    /// (no file = `/dev/null`).
    pub reload_check_config: Option<String>,
    /// `reload_time_file PATH`.
    pub reload_time_file: Option<String>,
    /// `reload_repeat`.
    pub reload_repeat: bool,
    /// `reload_file [PATH]`; without a path [`finish`] derives it from `instance` and
    /// `use_pid_dir`.
    pub reload_file: Option<String>,
    /// `include_check [[+|-]TYPE ...]`: the include checks in force at the end of the file
    /// (keepalived applies each value to the includes that follow it).
    pub include_check: IncludeCheck,
    /// `config_save_dir DIR` (trailing `/` removed).
    pub config_save_dir: Option<String>,
    /// `tmp_config_directory DIR` (first wins).
    pub tmp_config_directory: Option<String>,
    /// `data_use_instance [BOOL]`.
    pub data_use_instance: bool,

    /// `reload_file` given without a path: [`finish`] resolves it.
    #[serde(skip)]
    reload_file_default: bool,
    /// `router_id` given (even empty): [`finish`] leaves it alone.
    #[serde(skip)]
    router_id_set: bool,
}

/// `smtp_server HOST [PORT]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SmtpServer {
    /// As written.
    pub host: String,
    /// Default 25.
    pub port: u16,
    /// The address when `host` is an address. keepalived resolves names while parsing; we
    /// cannot here, so a name stays `None` and is resolved by the daemon.
    pub address: Option<IpAddr>,
}

/// A notify FIFO (`notify_fifo`, `vrrp_notify_fifo`, `lvs_notify_fifo`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NotifyFifo {
    pub path: String,
    /// Owner; `None` = the default script user.
    pub user: Option<String>,
    pub group: Option<String>,
}

/// `lvs_timeouts`: IPVS timeouts in seconds; 0 leaves the kernel's value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LvsTimeouts {
    pub tcp_secs: u32,
    pub tcpfin_secs: u32,
    pub udp_secs: u32,
}

/// `lvs_flush_on_stop`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LvsFlushOnStop {
    /// Not given: leave IPVS as it is.
    #[default]
    NoFlush,
    /// No argument: flush everything.
    Full,
    /// `VS`: remove keepalived's virtual servers only.
    Vs,
}

/// `lvs_sync_daemon IFNAME [[inst] VRRP_INSTANCE] [id SYNCID] [maxlen LEN] [port PORT]
/// [ttl TTL] [group ADDR]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LvsSyncDaemon {
    pub interface: String,
    /// The VRRP instance whose state drives the sync daemon.
    pub vrrp_instance: Option<String>,
    /// `None`: the instance's VRID, else 0 (resolved by VRRP validation).
    pub syncid: Option<u8>,
    pub maxlen: Option<u16>,
    /// `None`: the kernel's 8848.
    pub port: Option<u16>,
    pub ttl: Option<u8>,
    /// `None`: the kernel's 224.0.0.81.
    pub group: Option<IpAddr>,
}

/// `vrrp_rx_bufs_policy`: how the VRRP receive socket buffer is sized.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RxBufsPolicy {
    /// The kernel's default.
    #[default]
    Default,
    /// Multiplier × the interface MTU.
    Mtu,
    /// Multiplier × the advert size.
    Advert,
    /// A fixed size in bytes.
    Size(u32),
}

/// `include_check`: which failed includes are errors.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct IncludeCheck {
    /// `read`: a file that cannot be read.
    pub read: bool,
    /// `match`: a pattern matching nothing.
    #[serde(rename = "match")]
    pub match_: bool,
    /// `wildcard_match`: a wildcard pattern matching nothing.
    pub wildcard_match: bool,
    /// `brace_match`: a brace alternative matching nothing.
    pub brace_match: bool,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            process_names: false,
            process_name: None,
            vrrp_process_name: None,
            checker_process_name: None,
            bfd_process_name: None,
            // router_id: filled with the host name by `finish`.
            router_id: String::new(),
            notification_email_from: None,
            smtp_server: None,
            smtp_helo_name: None,
            // smtp_connect_timeout: 0 = unset, 30 s once an smtp_server is set (`finish`).
            smtp_connect_timeout: Micros::ZERO,
            notification_email: Vec::new(),
            smtp_alert: None,
            smtp_alert_vrrp: None,
            smtp_alert_checker: None,
            no_email_faults: false,
            checker_log_all_failures: false,
            no_checker_emails: false,
            rs_init_notifies: false,
            startup_script: None,
            startup_script_timeout: Micros::ZERO,
            shutdown_script: None,
            shutdown_script_timeout: Micros::ZERO,
            // max_auto_priority: 0 = keepalived does not raise its priority itself.
            max_auto_priority: 0,
            // min_auto_priority_delay: 1 second.
            min_auto_priority_delay: Micros::from_secs(1),
            vrrp_priority: 0,
            vrrp_priority_set: false,
            checker_priority: 0,
            bfd_priority: 0,
            vrrp_no_swap: false,
            checker_no_swap: false,
            bfd_no_swap: false,
            vrrp_rt_priority: 0,
            checker_rt_priority: 0,
            bfd_rt_priority: 0,
            vrrp_cpu_affinity: Vec::new(),
            checker_cpu_affinity: Vec::new(),
            bfd_cpu_affinity: Vec::new(),
            // *_rlimit_rttime: keepalived's RT_RLIMIT_DEFAULT, 10000 µs.
            vrrp_rlimit_rttime: Micros(10_000),
            checker_rlimit_rttime: Micros(10_000),
            bfd_rlimit_rttime: Micros(10_000),
            dynamic_interfaces: false,
            dynamic_interfaces_allow_if_changes: false,
            // default_interface: keepalived's DFLT_INT.
            default_interface: "eth0".into(),
            disable_local_igmp: false,
            // vrrp_mcast_group4/6: the VRRP groups of RFC 5798.
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_version: 2,
            vrrp_check_unicast_src: false,
            vrrp_skip_check_adv_addr: false,
            vrrp_strict: false,
            vrrp_lower_prio_no_advert: false,
            vrrp_higher_prio_send_advert: false,
            vrrp_notify_priority_changes: false,
            vrrp_startup_delay: Micros::ZERO,
            log_unknown_vrids: false,
            vmac_prefix: None,
            vmac_addr_prefix: None,
            vrrp_rx_bufs_policy: RxBufsPolicy::Default,
            vrrp_rx_bufs_multiplier: 3,
            // vrrp_garp_master_*: keepalived's VRRP_GARP_DELAY/REP/REFRESH/REFRESH_REP.
            vrrp_garp_master_delay: Micros::from_secs(5),
            vrrp_garp_master_repeat: GARP_REP_DEFAULT,
            vrrp_garp_master_refresh: Micros::ZERO,
            vrrp_garp_master_refresh_repeat: GARP_REFRESH_REP_DEFAULT,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_down_timer_adverts: 3,
            vrrp_garp_interval: Micros::ZERO,
            vrrp_gna_interval: Micros::ZERO,
            vrrp_min_garp: false,
            vrrp_garp_extra_if: Micros::ZERO,
            vrrp_garp_extra_if_all: false,
            vrrp_iptables: false,
            nftables: None,
            nftables_priority: -1,
            nftables_ifindex: false,
            nftables_ipvs: None,
            nftables_ipvs_priority: -1,
            nftables_ipvs_start_fwmark: 0,
            nftables_counters: false,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_flush_on_stop: LvsFlushOnStop::NoFlush,
            lvs_sync_daemon: None,
            notify_fifo: None,
            notify_fifo_script: None,
            vrrp_notify_fifo: None,
            vrrp_notify_fifo_script: None,
            lvs_notify_fifo: None,
            lvs_notify_fifo_script: None,
            fifo_write_vrrp_states_on_reload: false,
            metrics_listen: None,
            snmp_socket: None,
            enable_traps: false,
            enable_snmp_vrrp: false,
            enable_snmp_rfc: false,
            enable_snmp_rfcv2: false,
            enable_snmp_rfcv3: false,
            enable_snmp_checker: false,
            enable_dbus: false,
            // dbus_service_name: keepalived's DBUS_SERVICE_NAME.
            dbus_service_name: "org.keepalived.Vrrp1".into(),
            script_user: ScriptUserState::default(),
            enable_script_security: false,
            vrrp_netlink_cmd_rcv_bufs_bytes: 0,
            vrrp_netlink_cmd_rcv_bufs_force: false,
            vrrp_netlink_monitor_rcv_bufs_bytes: 0,
            vrrp_netlink_monitor_rcv_bufs_force: false,
            process_monitor_rcv_bufs_bytes: 0,
            process_monitor_rcv_bufs_force: false,
            lvs_netlink_cmd_rcv_bufs_bytes: 0,
            lvs_netlink_cmd_rcv_bufs_force: false,
            lvs_netlink_monitor_rcv_bufs_bytes: 0,
            lvs_netlink_monitor_rcv_bufs_force: false,
            // umask: S_IXUSR|S_IRWXG|S_IRWXO (keepalived's man page wrongly says 022).
            umask: 0o177,
            random_seed: None,
            reload_check_config: None,
            reload_time_file: None,
            reload_repeat: false,
            reload_file: None,
            include_check: IncludeCheck::default(),
            config_save_dir: None,
            tmp_config_directory: None,
            data_use_instance: false,
            reload_file_default: false,
            router_id_set: false,
        }
    }
}

/// keepalived's VRRP_GARP_REP: `vrrp_min_garp` compares against it.
pub(crate) const GARP_REP_DEFAULT: u32 = 5;
/// keepalived's VRRP_GARP_REFRESH_REP.
pub(crate) const GARP_REFRESH_REP_DEFAULT: u32 = 1;

/// Reads one `global_defs` block into `g`, statement by statement in file order.
///
/// A `{ ... }` after a keyword that takes none (or after an unknown one) is reported, and its
/// lines are read as `global_defs` lines, as keepalived does after "Unexpected '{'". A walk
/// with an explicit stack keeps hostile nesting from exhausting the call stack.
pub(crate) fn parse(cx: &mut Cx<'_>, block: &Block, g: &mut GlobalDefs) {
    // Each level: its statements still to read and where its `}` is.
    let mut stack: Vec<(std::slice::Iter<'_, Statement>, &crate::diag::Span)> =
        vec![(block.statements.iter(), block.end_span())];
    while let Some((iter, end)) = stack.last_mut() {
        let Some(stmt) = iter.next() else {
            stack.pop();
            continue;
        };
        if stmt.keyword() == "notification_email" {
            let end: &crate::diag::Span = end;
            notify::notification_email(cx, stmt, iter, end, g);
            continue;
        }
        let known = handlers::keyword(cx, stmt, g);
        if let Some(inner) = &stmt.block {
            if known {
                cx.no_block(stmt);
            } else {
                // keepalived skips the unknown line, then finds a stray '{'.
                let kw = stmt.keyword().to_string();
                cx.report(
                    Class::UnexpectedBlockStart,
                    "unexpected-open-brace",
                    &inner.open,
                    "Unexpected '{' - ignoring",
                )
                .with_token_mut("{")
                .help = Some(format!(
                    "'{kw}' is unknown, so keepalived reads what follows as part of global_defs"
                ));
            }
            stack.push((inner.statements.iter(), inner.end_span()));
        }
    }
}

/// What keepalived's `init_global_data` fills in once the whole configuration is read. Call
/// it once, after the top level, whether or not there was a `global_defs` block.
pub(crate) fn finish(cx: &mut Cx<'_>, g: &mut GlobalDefs, process: &ProcessSettings) {
    if std::mem::take(&mut g.reload_file_default) {
        // keepalived's DEFAULT_RELOAD_FILE: beside the pid files (Debian RUNSTATEDIR = /run).
        g.reload_file = Some(match &process.instance {
            Some(instance) => format!("/run/keepalived/keepalived_{instance}.reload"),
            None if process.use_pid_dir => "/run/keepalived/keepalived.reload".into(),
            None => "/run/keepalived.reload".into(),
        });
    }
    if g.smtp_server.is_some() && g.smtp_connect_timeout == Micros::ZERO {
        g.smtp_connect_timeout = Micros::from_secs(30);
    }
    // keepalived looks its name up only when something needs it.
    let needs_local_name = !g.router_id_set
        || (g.smtp_server.is_some() && (g.smtp_helo_name.is_none() || g.notification_email_from.is_none()));
    if !needs_local_name {
        return;
    }
    let host = cx.host.short_hostname();
    let local_name = if host.is_empty() {
        UNKNOWN_NAME.to_string()
    } else {
        host
    };
    if !g.router_id_set {
        g.router_id = local_name.clone();
        g.router_id_set = true;
    }
    // keepalived does not make addresses out of an unknown name.
    if g.smtp_server.is_some() && local_name != UNKNOWN_NAME {
        if g.notification_email_from.is_none() {
            g.notification_email_from = Some(format!("root@{local_name}"));
        }
        if g.smtp_helo_name.is_none() {
            g.smtp_helo_name = Some(local_name);
        }
    }
}
