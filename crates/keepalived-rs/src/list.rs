//! `keepalived-rs list` (also `--list`, `-L`, `-Ln`): the load-balancer table exactly as
//! `ipvsadm -Ln` prints it, with ipvsadm's listing options, for either data plane.
//!
//! On IPVS the text is ipvsadm's byte for byte (same data, same formats, same order). On
//! nftables it is the table our daemon programmed, in the same layout, so that scripts
//! parsing ipvsadm's output keep working: the first line names the data plane instead of
//! "IP Virtual Server version ..." (it has no IPVS version or connection table size),
//! ActiveConn/InActConn come from conntrack, and the counters of `--stats`/`--rate` are 0
//! (see the README). Reading is in `ka_net::listing`, the text in `ka_lb::listing`.

use clap::Args;
use ka_lb::listing::{self, Format, ListedService, ViewOptions};
use ka_lb::{Family, Protocol, ServiceKey};
use ka_net::listing::Table;
use std::ffi::OsString;
use std::io::Write;
use std::net::{IpAddr, Ipv6Addr};

/// Our nftables table (the daemon's; `ka_nft`'s default name).
const NFT_TABLE: &str = ka_nft::render::DEFAULT_TABLE;

/// ipvsadm's listing options (`-n` is implied: names are never resolved).
#[derive(Debug, Args, Default)]
pub struct ListArgs {
    /// Numeric output (always; accepted as in `ipvsadm -Ln`).
    #[arg(short = 'n', long = "numeric")]
    pub numeric: bool,
    /// Traffic counters: Conns, InPkts, OutPkts, InBytes, OutBytes.
    #[arg(long)]
    pub stats: bool,
    /// Rates: CPS, InPPS, OutPPS, InBPS, OutBPS.
    #[arg(long)]
    pub rate: bool,
    /// Upper and lower connection thresholds of the real servers.
    #[arg(long)]
    pub thresholds: bool,
    /// Persistence entries of the real servers (PersistConn).
    #[arg(long = "persistent-conn")]
    pub persistent_conn: bool,
    /// Tunnel settings of the real servers.
    #[arg(long = "tun-info")]
    pub tun_info: bool,
    /// Numbers in full, not scaled to K, M, G, T.
    #[arg(short = 'X', long)]
    pub exact: bool,
    /// Services and real servers in the data plane's order instead of sorted.
    #[arg(long)]
    pub nosort: bool,
    /// Sorted output (the default; accepted as ipvsadm accepts it).
    #[arg(long)]
    pub sort: bool,
    /// Only this TCP service: VIP:PORT, [IPv6]:PORT.
    #[arg(short = 't', long = "tcp-service", value_name = "SERVICE")]
    pub tcp_service: Option<String>,
    /// Only this UDP service.
    #[arg(short = 'u', long = "udp-service", value_name = "SERVICE")]
    pub udp_service: Option<String>,
    /// Only this SCTP service.
    #[arg(long = "sctp-service", value_name = "SERVICE")]
    pub sctp_service: Option<String>,
    /// Only this firewall-mark service.
    #[arg(short = 'f', long = "fwmark-service", value_name = "FWMARK")]
    pub fwmark_service: Option<String>,
    /// With -f: the IPv6 firewall-mark service.
    #[arg(short = '6', long = "ipv6")]
    pub ipv6: bool,
    /// Which data plane to list: `auto` (our nftables table if the daemon made one, else
    /// IPVS where the kernel has it, else nftables), `ipvs`, `nftables`.
    #[arg(long = "dataplane", value_name = "KIND", default_value = "auto")]
    pub dataplane: String,
}

/// `keepalived-rs --list ...` and ipvsadm's `-L`/`-Ln` as the first argument become the
/// `list` subcommand, so that ipvsadm's habits work (`keepalived-rs -Ln --stats`).
pub fn ipvsadm_style_args(mut argv: Vec<OsString>) -> Vec<OsString> {
    let Some(first) = argv.get(1).and_then(|a| a.to_str()) else {
        return argv;
    };
    let replacement: Option<Vec<OsString>> = match first {
        "--list" | "-L" => Some(vec!["list".into()]),
        // -Ln, -LnX: the rest are list's own short flags.
        _ if first.starts_with("-L") && first[2..].chars().all(|c| c.is_ascii_alphanumeric()) => {
            Some(vec!["list".into(), format!("-{}", &first[2..]).into()])
        }
        _ => None,
    };
    if let Some(words) = replacement {
        argv.splice(1..2, words);
    }
    argv
}

/// ipvsadm's `parse_service` for numeric services: `ADDR`, `ADDR:PORT`, `[IPv6]:PORT` or a
/// bare IPv6 address (port 0 when none is given).
fn parse_service(text: &str, protocol: Protocol) -> Result<ServiceKey, String> {
    let bad = || format!("illegal virtual server address[:port] specified: {text}");
    let (addr, port) = if let Some(rest) = text.strip_prefix('[') {
        let (addr, port) = rest.split_once("]:").ok_or_else(bad)?;
        (
            addr.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| bad())?,
            Some(port),
        )
    } else if let Ok(v6) = text.parse::<Ipv6Addr>() {
        (IpAddr::V6(v6), None)
    } else {
        let (addr, port) = match text.rsplit_once(':') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        (addr.parse::<IpAddr>().map_err(|_| bad())?, port)
    };
    let port = match port {
        Some(p) => p.parse::<u16>().map_err(|_| bad())?,
        None => 0,
    };
    Ok(ServiceKey::Addr { protocol, addr, port })
}

/// The one service asked for with -t/-u/--sctp-service/-f, if any.
fn requested_service(args: &ListArgs) -> Result<Option<ServiceKey>, String> {
    let given = [
        args.tcp_service.is_some(),
        args.udp_service.is_some(),
        args.sctp_service.is_some(),
        args.fwmark_service.is_some(),
    ];
    if given.iter().filter(|g| **g).count() > 1 {
        return Err("multiple 'service' options specified".into());
    }
    if args.ipv6 && args.fwmark_service.is_none() {
        return Err("-6 (--ipv6) is for firewall-mark services: use it with -f".into());
    }
    if let Some(s) = &args.tcp_service {
        return parse_service(s, Protocol::Tcp).map(Some);
    }
    if let Some(s) = &args.udp_service {
        return parse_service(s, Protocol::Udp).map(Some);
    }
    if let Some(s) = &args.sctp_service {
        return parse_service(s, Protocol::Sctp).map(Some);
    }
    if let Some(m) = &args.fwmark_service {
        // As ipvsadm: 1 to 2^32 - 1.
        let mark = m
            .parse::<u32>()
            .ok()
            .filter(|m| *m > 0)
            .ok_or_else(|| format!("invalid fwmark value `{m}' specified"))?;
        let family = if args.ipv6 { Family::Ipv6 } else { Family::Ipv4 };
        return Ok(Some(ServiceKey::Fwmark { family, mark }));
    }
    Ok(None)
}

/// Which data plane to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Source {
    Ipvs,
    Nftables,
}

fn choose_source(kind: &str) -> Result<Source, String> {
    match kind {
        "ipvs" => Ok(Source::Ipvs),
        "nftables" => Ok(Source::Nftables),
        // Our table exists only where our daemon chose nftables, so it is what the daemon
        // programs even on a kernel that also has IPVS.
        "auto" if ka_net::listing::nft_table_exists(NFT_TABLE).unwrap_or(false) => Ok(Source::Nftables),
        "auto" if ka_net::nft::kernel_has_ipvs() => Ok(Source::Ipvs),
        "auto" => Ok(Source::Nftables),
        other => Err(format!(
            "--dataplane {other}: unknown data plane (expected auto, ipvs or nftables)"
        )),
    }
}

/// Loads ip_vs first when it is installed but not loaded, as ipvsadm does (the generic
/// netlink family does not load it on demand).
fn load_ipvs_module() {
    if std::path::Path::new("/proc/net/ip_vs").exists() {
        return;
    }
    // A failure shows as IpvsDataplane::open's "the kernel has no IPVS".
    let _ = std::process::Command::new("modprobe")
        .args(["-q", "ip_vs"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

fn read_table(source: Source, persistence: bool) -> Result<Table, String> {
    match source {
        Source::Ipvs => {
            load_ipvs_module();
            ka_net::listing::ipvs_table().map_err(|e| e.to_string())
        }
        Source::Nftables => {
            let header = format!(
                "keepalived-rs {} nftables data plane (table {NFT_TABLE})",
                env!("CARGO_PKG_VERSION")
            );
            ka_net::listing::nft_table(NFT_TABLE, header, persistence).map_err(|e| e.to_string())
        }
    }
}

/// The text for `args`, or the message and exit status ipvsadm would give.
fn listing_text(args: &ListArgs, table: &Table, one: Option<ServiceKey>) -> Result<String, (String, i32)> {
    let format = Format {
        view: ViewOptions {
            stats: args.stats,
            rate: args.rate,
            thresholds: args.thresholds,
            persistent_conn: args.persistent_conn,
            tun_info: args.tun_info,
        }
        .view(),
        exact: args.exact,
        no_sort: args.nosort,
    };
    match one {
        None => Ok(listing::render_table(&table.header, &table.services, format)),
        Some(key) => {
            let found: Option<&ListedService> = table.services.iter().find(|s| s.key == key);
            // ipvsadm's words for the kernel's ESRCH.
            found
                .map(|s| listing::render_service(s, format))
                .ok_or_else(|| ("No such service".to_string(), 1))
        }
    }
}

pub fn run(args: &ListArgs) -> i32 {
    let fail = |message: String, code: i32| {
        eprintln!("{message}");
        code
    };
    let one = match requested_service(args) {
        Ok(one) => one,
        Err(e) => return fail(format!("keepalived-rs list: {e}"), 2),
    };
    let source = match choose_source(&args.dataplane) {
        Ok(s) => s,
        Err(e) => return fail(format!("keepalived-rs list: {e}"), 2),
    };
    let table = match read_table(source, args.persistent_conn) {
        Ok(t) => t,
        Err(e) => return fail(format!("keepalived-rs list: {e}"), 1),
    };
    for w in &table.warnings {
        eprintln!("keepalived-rs list: warning: {w}");
    }
    let text = match listing_text(args, &table, one) {
        Ok(text) => text,
        Err((message, code)) => return fail(message, code),
    };
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Ok(()) => 0,
        // `| head`: the reader has what it wanted.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => fail(format!("keepalived-rs list: writing the listing: {e}"), 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn ipvsadm_habits_become_the_list_subcommand() {
        assert_eq!(
            ipvsadm_style_args(words(&["k", "--list", "--stats"])),
            words(&["k", "list", "--stats"])
        );
        assert_eq!(
            ipvsadm_style_args(words(&["k", "-Ln", "-t", "192.0.2.1:80"])),
            words(&["k", "list", "-n", "-t", "192.0.2.1:80"])
        );
        assert_eq!(ipvsadm_style_args(words(&["k", "-L"])), words(&["k", "list"]));
        // keepalived's own options are untouched.
        assert_eq!(
            ipvsadm_style_args(words(&["k", "-l", "-n"])),
            words(&["k", "-l", "-n"])
        );
        assert_eq!(
            ipvsadm_style_args(words(&["k", "-f", "--list"])),
            words(&["k", "-f", "--list"])
        );
    }

    #[test]
    fn services_are_read_as_ipvsadm_reads_them() {
        let tcp = |a: &str, port| ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr: a.parse().unwrap(),
            port,
        };
        assert_eq!(
            parse_service("192.0.2.10:80", Protocol::Tcp),
            Ok(tcp("192.0.2.10", 80))
        );
        assert_eq!(
            parse_service("192.0.2.10", Protocol::Tcp),
            Ok(tcp("192.0.2.10", 0))
        );
        assert_eq!(
            parse_service("[2001:db8::1]:443", Protocol::Tcp),
            Ok(tcp("2001:db8::1", 443))
        );
        assert_eq!(
            parse_service("2001:db8::1", Protocol::Tcp),
            Ok(tcp("2001:db8::1", 0))
        );
        for bad in [
            "[2001:db8::1]",
            "192.0.2.10:http",
            "192.0.2.10:70000",
            "host:80",
            "",
        ] {
            assert!(parse_service(bad, Protocol::Tcp).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_service_option_at_most() {
        let args = ListArgs {
            tcp_service: Some("192.0.2.10:80".into()),
            fwmark_service: Some("1".into()),
            ..ListArgs::default()
        };
        assert!(requested_service(&args).is_err());
        let args = ListArgs {
            fwmark_service: Some("4294967295".into()),
            ipv6: true,
            ..ListArgs::default()
        };
        assert_eq!(
            requested_service(&args),
            Ok(Some(ServiceKey::Fwmark {
                family: Family::Ipv6,
                mark: u32::MAX
            }))
        );
        for bad in ["0", "-1", "4294967296", "x"] {
            let args = ListArgs {
                fwmark_service: Some(bad.into()),
                ..ListArgs::default()
            };
            assert!(requested_service(&args).is_err(), "{bad}");
        }
    }
}
