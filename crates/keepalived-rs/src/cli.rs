//! Command line: keepalived's flags (so unit files and scripts keep working) plus the
//! keepalived-rs subcommands.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

#[derive(Debug, Parser)]
#[command(
    name = "keepalived-rs",
    version,
    about = "VRRP and LVS health checking, compatible with keepalived.conf",
    args_conflicts_with_subcommands = true,
    disable_version_flag = true
)]
pub struct Cli {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// keepalived's own options. Those that only make sense for keepalived's multi-process
/// design are accepted and ignored, so existing unit files and scripts keep working.
#[derive(Debug, Args, Default)]
pub struct DaemonArgs {
    /// Use the specified configuration file (keepalived's -f/--use-file).
    #[arg(short = 'f', long = "use-file", value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub use_file: PathBuf,
    /// Check the configuration and exit with keepalived's config-test codes (0 OK, 4 cannot
    /// run, 5 errors, 6 script security, 2 missing parameter). Messages go to stderr, or to
    /// FILE with --config-test=FILE.
    #[arg(short = 't', long = "config-test", value_name = "FILE", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,
    /// Print the resolved, typed configuration as JSON and exit.
    #[arg(long = "dump-conf")]
    pub dump_conf: bool,
    /// Select `@ID` configuration lines (default: short host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
    /// Don't fork the daemon process.
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Log messages to the console (stderr).
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log messages.
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Syslog facility: 0-7 (local0-local7), or a facility name.
    #[arg(short = 'S', long = "log-facility", value_name = "FACILITY")]
    pub log_facility: Option<String>,
    /// Don't log via syslog.
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// Only run the VRRP subsystem.
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp_only: bool,
    /// Only run the health-checker / LVS subsystem.
    #[arg(short = 'C', long = "check")]
    pub check_only: bool,
    /// The load-balancer data plane the health checkers program (keepalived-rs): `auto`
    /// (IPVS when the kernel has it, else nftables), `ipvs`, `nftables`, or `none` (checks
    /// run and are logged, nothing is programmed).
    #[arg(long = "dataplane", value_name = "KIND", default_value = "auto")]
    pub dataplane: String,
    /// On the nftables data plane, program the nearest stateless scheduler where the
    /// configured one needs live connection counts (lc → rr, wlc/sed/nq/twos → wrr, ovf → fo,
    /// lblc/lblcr → dh) instead of refusing the configuration (keepalived-rs).
    #[arg(long = "nft-scheduler-fallback")]
    pub nft_scheduler_fallback: bool,
    /// The control socket for `keepalived-rs ctl` (JSON status, metrics, reload; root only)
    /// (keepalived-rs).
    /// Default: /run/keepalived-rs/control.sock, or control-net<inode>.sock when run in
    /// another network namespace than the host's (one daemon per namespace).
    #[arg(long = "control-socket", value_name = "PATH")]
    pub control_socket: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR:PORT/metrics (nothing listens unless asked)
    /// (keepalived-rs).
    #[arg(long = "metrics-listen", value_name = "ADDR:PORT")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Don't run BFD (keepalived-rs has no BFD subsystem; accepted for compatibility).
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// Force all subsystems to run, even with no configuration for them.
    #[arg(long = "all")]
    pub all: bool,
    /// Don't remove VRRP VIPs and routes on stop.
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// Don't remove IPVS topology on stop.
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// Release VIPs on reload when the instance goes to backup.
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// Don't respawn child processes (keepalived-rs is one process; accepted).
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Dump the configuration to the log (keepalived's -d).
    #[arg(short = 'd', long = "dump-conf-log")]
    pub dump_conf_log: bool,
    /// Parent process pid file.
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid_file: Option<PathBuf>,
    /// VRRP child pid file (keepalived-rs writes the daemon's pid there too).
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid_file: Option<PathBuf>,
    /// Checker child pid file (keepalived-rs writes the daemon's pid there too).
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid_file: Option<PathBuf>,
    /// BFD child pid file (accepted for compatibility).
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid_file: Option<PathBuf>,
    /// Log all interface address changes.
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    /// Run in the named network namespace.
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// Refuse to start if any configuration file is missing.
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// File creation mask (octal).
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    /// Print the number of a keepalived signal function (e.g. RELOAD, STOP, DATA, STATS, JSON).
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Print version and build information.
    #[arg(short = 'v', long = "version")]
    pub version: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a configuration (same as -t), printing every problem with file:line:column.
    Check {
        #[arg(short = 'f', long = "use-file", value_name = "FILE", default_value = DEFAULT_CONFIG)]
        file: PathBuf,
        #[arg(short = 'i', long = "config-id", value_name = "ID")]
        config_id: Option<String>,
    },
    /// Prepare this machine as an LVS-DR real server for a VIP (keepalived-rs): the VIP on a
    /// non-ARPing interface and arp_ignore 1 / arp_announce 2; `down` undoes what `up` did.
    Realserver {
        /// The virtual IP (IPv4 or IPv6).
        #[arg(long = "vip", value_name = "ADDR")]
        vip: std::net::IpAddr,
        /// The interface that carries the VIP.
        #[arg(long = "dev", value_name = "IFNAME", default_value = "lo")]
        dev: String,
        /// up, down or status.
        #[arg(default_value = "status")]
        action: String,
    },
    /// The seed article's whole cluster in network namespaces on this machine (root): two
    /// directors, two DR real servers, a client; runs the failover story and checks each
    /// step against its protocol bound (keepalived-rs). `lab down` removes a kept lab.
    Lab {
        /// Leave the cluster running afterwards, to explore.
        #[arg(long)]
        keep: bool,
        /// Plain lines instead of the live table (also when the output is not a terminal).
        #[arg(long)]
        ci: bool,
        /// The directors' --dataplane.
        #[arg(long, value_name = "KIND", default_value = "auto")]
        dataplane: String,
        /// `down`: remove a lab left running with --keep.
        action: Option<String>,
    },
    /// Talk to the running daemon over its control socket (keepalived-rs): `status` (JSON),
    /// `metrics` (Prometheus text), `stats` (keepalived.stats), `json` (keepalived.json),
    /// `reload`, `drain` / `resume` (withdraw / re-announce the `bgp_announce` addresses), or
    /// `list` (the load-balancer table, as `keepalived-rs list`).
    Ctl {
        /// The daemon's control socket (default: this network namespace's).
        #[arg(long = "socket", value_name = "PATH")]
        socket: Option<PathBuf>,
        /// status, metrics, stats, json, reload, drain, resume or list.
        action: String,
    },
    /// keepalived's genhash: print the MD5 digest of a url's body (for a url's `digest`).
    /// Options as keepalived's: -s IP -p PORT -u PATH [-S] [-I] [-V HOST] [-P 1.0|1.0C|1.1]
    /// [-t SECONDS] [-m FWMARK] [-v]. Also `keepalived-rs -T|--genhash ...`.
    #[command(disable_help_flag = true)]
    Genhash {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the load-balancer table exactly as `ipvsadm -Ln` does, with ipvsadm's listing
    /// options (IPVS, or our nftables table with connection counts from conntrack). Also
    /// `keepalived-rs --list`, `-L`, `-Ln`.
    List(crate::list::ListArgs),
}
