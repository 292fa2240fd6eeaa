//! The load-balancer table as `ipvsadm -L -n` prints it, byte for byte, for either data
//! plane: the model of a listing (services as the kernel reports them, with their real
//! servers, connection counts and traffic counters) and the text of every `ipvsadm -L` view
//! (plain, `--stats`, `--rate`, `--thresholds`, `--persistent-conn`, `--tun-info`, with
//! `--exact` and `--nosort`). Scripts that parse ipvsadm's table keep working on ours.
//!
//! Everything here follows ipvsadm 1.31's `ipvsadm.c` (`list_all`, `list_service`,
//! `print_title`, `print_service_entry`, `print_largenum`, `print_sched_flags`) and libipvs's
//! comparators, including their quirks: the C comparators subtract unsigned values into an
//! `int` (so a firewall mark or address 2^31 or more above another sorts before it), glibc's
//! merge sort decides the order those inconsistent comparisons give, firewall marks print
//! as signed numbers, and the rate view's first three destination columns are never scaled.
//! Reading the data is the I/O edge's business (`ka_net::listing`); connection counts for a
//! data plane without IPVS come from [`connections`].

pub mod connections;

use crate::model::{service_flags, Dest, Family, Forward, ServiceKey, ServiceState};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Traffic counters of a service or real server (IPVS's `ip_vs_stats_user`, 64-bit): totals
/// since creation or zeroing, and the rates the kernel estimates every two seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Connections scheduled.
    pub conns: u64,
    pub in_packets: u64,
    pub out_packets: u64,
    pub in_bytes: u64,
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    pub in_pps: u64,
    pub out_pps: u64,
    /// Bytes per second.
    pub in_bps: u64,
    pub out_bps: u64,
}

/// A real server as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedDest {
    pub dest: Dest,
    /// TCP (and SCTP) connections in ESTABLISHED.
    pub active_conns: u32,
    /// Every other connection (UDP ones included).
    pub inactive_conns: u32,
    /// Persistence templates (clients remembered for this real server).
    pub persist_conns: u32,
    pub stats: Counters,
}

impl ListedDest {
    /// A real server with no connections and zero counters.
    pub fn idle(dest: Dest) -> ListedDest {
        ListedDest {
            dest,
            active_conns: 0,
            inactive_conns: 0,
            persist_conns: 0,
            stats: Counters::default(),
        }
    }
}

/// A virtual service as listed: its settings in the kernel's terms (the scheduler by name, so
/// that one newer than this code still lists), counters, and real servers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedService {
    pub key: ServiceKey,
    pub scheduler: String,
    /// `IP_VS_SVC_F_*` (the kernel's HASHED bit is never printed, so it may be present).
    pub flags: u32,
    /// Persistence timeout in seconds.
    pub timeout: u32,
    /// As [`crate::Service::netmask`]: an IPv4 mask as a host-order number, or an IPv6
    /// prefix length.
    pub netmask: u32,
    pub pe_name: Option<String>,
    pub stats: Counters,
    pub dests: Vec<ListedDest>,
}

impl ListedService {
    /// A service of the model with idle real servers (zero counts and counters).
    pub fn idle(state: &ServiceState) -> ListedService {
        let s = &state.service;
        ListedService {
            key: s.key,
            scheduler: s.scheduler.name().to_string(),
            flags: s.flags,
            timeout: s.timeout,
            netmask: s.netmask,
            pe_name: s.pe_name.clone(),
            stats: Counters::default(),
            dests: state.dests.values().cloned().map(ListedDest::idle).collect(),
        }
    }
}

/// Which columns a listing shows. When several of ipvsadm's view options are given, the
/// first in this order wins, as in ipvsadm.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum View {
    /// Forward, Weight, ActiveConn, InActConn.
    #[default]
    Plain,
    /// `--stats`: Conns, InPkts, OutPkts, InBytes, OutBytes.
    Stats,
    /// `--rate`: CPS, InPPS, OutPPS, InBPS, OutBPS.
    Rate,
    /// `--thresholds`: Uthreshold, Lthreshold, ActiveConn, InActConn.
    Thresholds,
    /// `--persistent-conn`: Weight, PersistConn, ActiveConn, InActConn.
    PersistentConn,
    /// `--tun-info`: Forward, TunnelInfo, Weight, ActiveConn, InActConn.
    TunInfo,
}

/// How to print: the view, `--exact` (numbers unscaled) and `--nosort` (kernel order).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Format {
    pub view: View,
    pub exact: bool,
    pub no_sort: bool,
}

/// ipvsadm's view options as given on a command line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ViewOptions {
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent_conn: bool,
    pub tun_info: bool,
}

impl ViewOptions {
    /// The view ipvsadm shows for these options: each of its printing functions tests
    /// FMT_STATS, then FMT_RATE, FMT_THRESHOLDS, FMT_PERSISTENTCONN, FMT_TUN_INFO.
    pub fn view(self) -> View {
        if self.stats {
            View::Stats
        } else if self.rate {
            View::Rate
        } else if self.thresholds {
            View::Thresholds
        } else if self.persistent_conn {
            View::PersistentConn
        } else if self.tun_info {
            View::TunInfo
        } else {
            View::Plain
        }
    }
}

/// `ipvsadm -Ln`: `header` (IPVS's "IP Virtual Server version 1.2.1 (size=4096)", or what
/// another data plane says of itself), the column titles, then every service sorted as
/// ipvsadm sorts them (in the given order with `no_sort`), each followed by its real servers.
pub fn render_table(header: &str, services: &[ListedService], format: Format) -> String {
    let mut out = String::with_capacity(128 + 64 * services.len());
    out.push_str(header);
    out.push('\n');
    push_title(&mut out, format.view);
    let mut order: Vec<&ListedService> = services.iter().collect();
    if !format.no_sort {
        glibc_merge_sort(&mut order, |a, b| compare_services(a, b));
    }
    for service in order {
        push_service(&mut out, service, format);
    }
    out
}

/// `ipvsadm -Ln -t|-u|--sctp-service|-f SERVICE`: the titles and that one service, without
/// the header line (ipvsadm's `list_service`).
pub fn render_service(service: &ListedService, format: Format) -> String {
    let mut out = String::with_capacity(256 + 64 * service.dests.len());
    push_title(&mut out, format.view);
    push_service(&mut out, service, format);
    out
}

/// ipvsadm's `print_title`.
fn push_title(out: &mut String, view: View) {
    match view {
        View::Stats => {
            let _ = writeln!(
                out,
                "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"
            );
        }
        View::Rate => {
            let _ = writeln!(
                out,
                "{:<33} {:>8} {:>8} {:>8} {:>8} {:>8}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"
            );
        }
        View::Thresholds => {
            let _ = writeln!(
                out,
                "{:<33} {:<10} {:<10} {:<10} {:<10}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "Uthreshold", "Lthreshold", "ActiveConn", "InActConn"
            );
        }
        View::PersistentConn => {
            let _ = writeln!(
                out,
                "{:<33} {:<9} {:<11} {:<10} {:<10}\n  -> RemoteAddress:Port",
                "Prot LocalAddress:Port", "Weight", "PersistConn", "ActiveConn", "InActConn"
            );
        }
        View::TunInfo => out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward TunnelInfo    Weight ActiveConn InActConn\n",
        ),
        View::Plain => out.push_str(
            "Prot LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n",
        ),
    }
}

/// ipvsadm's `print_largenum`: nine columns, a number that does not fit in eight digits
/// scaled down to thousands (K), millions (M), billions (G) or trillions (T) and truncated;
/// with `--exact` the number in full, one space before it at least.
fn push_number(out: &mut String, n: u64, exact: bool) {
    let _ = if exact {
        // printf("%*llu", len <= 8 ? 9 : len + 1, n)
        let digits = n.to_string();
        let width = digits.len().max(8) + 1;
        write!(out, "{digits:>width$}")
    } else if n < 100_000_000 {
        write!(out, "{n:>9}")
    } else if n < 1_000_000_000 {
        write!(out, "{:>8}K", n / 1_000)
    } else if n < 100_000_000_000 {
        write!(out, "{:>8}M", n / 1_000_000)
    } else if n < 100_000_000_000_000 {
        write!(out, "{:>8}G", n / 1_000_000_000)
    } else {
        write!(out, "{:>8}T", n / 1_000_000_000_000)
    };
}

/// The service's name column: `TCP  192.0.2.10:80`, `UDP  [2001:db8::1]:53`, `FWM  3`,
/// `FWM  3 IPv6` (ipvsadm's `svc_name`, `-n` form).
fn service_name(key: &ServiceKey) -> String {
    match *key {
        // "%d": a mark of 2^31 or more prints negative, as in ipvsadm.
        ServiceKey::Fwmark { family, mark } => match family {
            Family::Ipv4 => format!("FWM  {}", mark as i32),
            Family::Ipv6 => format!("FWM  {} IPv6", mark as i32),
        },
        ServiceKey::Addr { protocol, addr, port } => {
            let mut name = format!("{:<4} {}", protocol.name(), addr_port(&addr, port));
            // ipvsadm cuts IPv4 names at 33 bytes (they always fit) and never IPv6 ones.
            if addr.is_ipv4() {
                name.truncate(33);
            }
            name
        }
    }
}

/// A real server's name column: `198.51.100.1:80`, `[2001:db8::1]:80`; IPv4 cut at 28
/// bytes as in ipvsadm (they always fit).
fn dest_name(dest: &Dest) -> String {
    let mut name = addr_port(&dest.key.addr, dest.key.port);
    if dest.key.addr.is_ipv4() {
        name.truncate(28);
    }
    name
}

/// `addrport_to_anyname` with `-n`: IPv6 addresses in brackets.
fn addr_port(addr: &IpAddr, port: u16) -> String {
    match addr {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{}]:{port}", inet_ntop6(a)),
    }
}

/// An IPv6 address as glibc's `inet_ntop` writes it. Rust's formatting agrees except for
/// IPv4-compatible addresses (`::192.0.2.1`, which glibc writes in dotted form), so the
/// algorithm is glibc's: the first longest run of two or more zero words becomes `::`, and
/// an address whose first six words are zero (or five zero words and ffff) ends in dotted
/// IPv4.
pub fn inet_ntop6(addr: &Ipv6Addr) -> String {
    let words = addr.segments();
    // The first longest run of zero words, if at least two long: (start, length).
    let mut best: Option<(usize, usize)> = None;
    let mut current: Option<(usize, usize)> = None;
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            current = Some(match current {
                Some((start, len)) => (start, len + 1),
                None => (i, 1),
            });
        } else if let Some(run) = current.take() {
            if !matches!(best, Some(b) if b.1 >= run.1) {
                best = Some(run);
            }
        }
    }
    if let Some(run) = current {
        if !matches!(best, Some(b) if b.1 >= run.1) {
            best = Some(run);
        }
    }
    let best = best.filter(|&(_, len)| len >= 2);
    let mut out = String::with_capacity(40);
    for (i, &w) in words.iter().enumerate() {
        if let Some((start, len)) = best {
            if i >= start && i < start + len {
                if i == start {
                    out.push(':');
                }
                continue;
            }
        }
        if i != 0 {
            out.push(':');
        }
        if i == 6 {
            if let Some((0, len)) = best {
                if len == 6 || (len == 5 && words[5] == 0xffff) {
                    let o = addr.octets();
                    let _ = write!(out, "{}", Ipv4Addr::new(o[12], o[13], o[14], o[15]));
                    return out;
                }
            }
        }
        let _ = write!(out, "{w:x}");
    }
    if let Some((start, len)) = best {
        if start + len == 8 {
            out.push(':');
        }
    }
    out
}

/// ipvsadm's `print_sched_flags`: the scheduler's own names for sh and mh, `flag-N`
/// otherwise, comma-separated.
fn sched_flags(scheduler: &str, flags: u32) -> String {
    let names: &[(u32, &str)] = match scheduler {
        "sh" => &[
            (service_flags::SCHED1, "sh-fallback"),
            (service_flags::SCHED2, "sh-port"),
        ],
        "mh" => &[
            (service_flags::SCHED1, "mh-fallback"),
            (service_flags::SCHED2, "mh-port"),
        ],
        _ => &[
            (service_flags::SCHED1, "flag-1"),
            (service_flags::SCHED2, "flag-2"),
            (service_flags::SCHED3, "flag-3"),
        ],
    };
    names
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, name)| *name)
        .collect::<Vec<_>>()
        .join(",")
}

const SCHED_FLAGS: u32 = service_flags::SCHED1 | service_flags::SCHED2 | service_flags::SCHED3;

/// ipvsadm's `print_service_entry`: the service line, then its real servers sorted by
/// address and port (kernel order with `no_sort`).
fn push_service(out: &mut String, s: &ListedService, format: Format) {
    let name = service_name(&s.key);
    match format.view {
        View::Stats => {
            let _ = write!(out, "{name:<33}");
            for n in [
                s.stats.conns,
                s.stats.in_packets,
                s.stats.out_packets,
                s.stats.in_bytes,
                s.stats.out_bytes,
            ] {
                push_number(out, n, format.exact);
            }
        }
        View::Rate => {
            let _ = write!(out, "{name:<33}");
            for n in [
                s.stats.cps,
                s.stats.in_pps,
                s.stats.out_pps,
                s.stats.in_bps,
                s.stats.out_bps,
            ] {
                push_number(out, n, format.exact);
            }
        }
        View::Plain | View::Thresholds | View::PersistentConn | View::TunInfo => {
            let _ = write!(out, "{name} {}", s.scheduler);
            if s.flags & SCHED_FLAGS != 0 {
                // A flag sh or mh has no name for (flag-3) leaves the brackets empty, as in
                // ipvsadm.
                let _ = write!(out, " ({})", sched_flags(&s.scheduler, s.flags));
            }
            if s.flags & service_flags::PERSISTENT != 0 {
                let _ = write!(out, " persistent {}", s.timeout);
                match s.key.family() {
                    Family::Ipv4 if s.netmask != u32::MAX => {
                        let _ = write!(out, " mask {}", Ipv4Addr::from(s.netmask));
                    }
                    Family::Ipv6 if s.netmask != 128 => {
                        let _ = write!(out, " mask {}", s.netmask as i32);
                    }
                    _ => {}
                }
                if let Some(pe) = s.pe_name.as_deref().filter(|pe| !pe.is_empty()) {
                    let _ = write!(out, " pe {pe}");
                }
            }
            if s.flags & service_flags::ONE_PACKET != 0 {
                out.push_str(" ops");
            }
        }
    }
    out.push('\n');

    let mut dests: Vec<&ListedDest> = s.dests.iter().collect();
    if !format.no_sort {
        glibc_merge_sort(&mut dests, |a, b| compare_dests(&a.dest, &b.dest));
    }
    for d in dests {
        push_dest(out, d, format);
    }
}

/// One real server's line in each view.
fn push_dest(out: &mut String, d: &ListedDest, format: Format) {
    let name = dest_name(&d.dest);
    // "%d" of an int in ipvsadm (the kernel keeps weights as int).
    let weight = d.dest.weight as i32;
    let _ = match format.view {
        View::Stats => {
            let _ = write!(out, "  -> {name:<28}");
            for n in [
                d.stats.conns,
                d.stats.in_packets,
                d.stats.out_packets,
                d.stats.in_bytes,
                d.stats.out_bytes,
            ] {
                push_number(out, n, format.exact);
            }
            writeln!(out)
        }
        View::Rate => {
            // ipvsadm prints these three with "%8llu", never scaled.
            let _ = write!(
                out,
                "  -> {name:<28} {:>8} {:>8} {:>8}",
                d.stats.cps, d.stats.in_pps, d.stats.out_pps
            );
            push_number(out, d.stats.in_bps, format.exact);
            push_number(out, d.stats.out_bps, format.exact);
            writeln!(out)
        }
        View::Thresholds => writeln!(
            out,
            "  -> {name:<28} {:<10} {:<10} {:<10} {:<10}",
            d.dest.upper_threshold, d.dest.lower_threshold, d.active_conns, d.inactive_conns
        ),
        View::PersistentConn => writeln!(
            out,
            "  -> {name:<28} {:<9} {:<11} {:<10} {:<10}",
            d.dest.weight, d.persist_conns, d.active_conns, d.inactive_conns
        ),
        View::TunInfo => writeln!(
            out,
            "  -> {name:<28} {:<7} {:<13} {weight:<6} {:<10} {:<10}",
            d.dest.forward.name(),
            tunnel_info(&d.dest),
            d.active_conns,
            d.inactive_conns
        ),
        View::Plain => writeln!(
            out,
            "  -> {name:<28} {:<7} {weight:<6} {:<10} {:<10}",
            d.dest.forward.name(),
            d.active_conns,
            d.inactive_conns
        ),
    };
}

/// ipvsadm's `fwd_tun_info`: `ipip`, `gue:PORT:FLAGS`, `gre:FLAGS` for tunnel real servers,
/// `n/a` otherwise.
fn tunnel_info(dest: &Dest) -> String {
    if dest.forward != Forward::Tunnel {
        return "n/a".into();
    }
    // No tunnel settings means plain IPIP (how the kernel reports a tunnel given none).
    let (kind, port, flags) = dest.tunnel.map_or((0, 0, 0), |t| (t.kind, t.port, t.flags));
    let flags = match flags {
        0 => "-c",
        1 => "+c",
        2 => "r+c",
        // ipvsadm would index past its table; no kernel reports such flags.
        _ => "?",
    };
    match kind {
        0 => "ipip".into(),
        1 => format!("gue:{port}:{flags}"),
        2 => format!("gre:{flags}"),
        _ => "n/a".into(),
    }
}

/// `a - b` of two unsigned 32-bit values stored into a C `int`: wraps, so values 2^31 or
/// more apart compare the wrong way round, as in libipvs.
fn c_difference(a: u32, b: u32) -> i32 {
    a.wrapping_sub(b) as i32
}

/// An address as `union nf_inet_addr` in host-order 32-bit words: IPv4 in the first word,
/// the rest zero.
fn address_words(addr: &IpAddr) -> [u32; 4] {
    match addr {
        IpAddr::V4(a) => [u32::from(*a), 0, 0, 0],
        IpAddr::V6(a) => {
            let s = a.segments();
            [
                u32::from(s[0]) << 16 | u32::from(s[1]),
                u32::from(s[2]) << 16 | u32::from(s[3]),
                u32::from(s[4]) << 16 | u32::from(s[5]),
                u32::from(s[6]) << 16 | u32::from(s[7]),
            ]
        }
    }
}

/// libipvs's address comparison: four words when the first address is IPv6, else the first
/// word only.
fn compare_addresses(a: &IpAddr, b: &IpAddr) -> i32 {
    let (wa, wb) = (address_words(a), address_words(b));
    let words = if a.is_ipv6() { 4 } else { 1 };
    wa.iter()
        .zip(wb.iter())
        .take(words)
        .map(|(x, y)| c_difference(*x, *y))
        .find(|r| *r != 0)
        .unwrap_or(0)
}

const AF_INET: i32 = 2;
const AF_INET6: i32 = 10;

fn af(family: Family) -> i32 {
    match family {
        Family::Ipv4 => AF_INET,
        Family::Ipv6 => AF_INET6,
    }
}

/// libipvs's `ipvs_cmp_services`: firewall mark (address services have 0), family,
/// protocol, address, port.
fn compare_services(a: &ListedService, b: &ListedService) -> i32 {
    // (mark, protocol, address, port) as the kernel's dump fills them: a firewall-mark
    // service has no protocol, address or port.
    fn parts(key: &ServiceKey) -> (u32, i32, IpAddr, i32) {
        match *key {
            ServiceKey::Fwmark { family, mark } => {
                let zero = match family {
                    Family::Ipv4 => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
                    Family::Ipv6 => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                };
                (mark, 0, zero, 0)
            }
            ServiceKey::Addr { protocol, addr, port } => {
                (0, i32::from(protocol.number()), addr, i32::from(port))
            }
        }
    }
    let (mark_a, proto_a, addr_a, port_a) = parts(&a.key);
    let (mark_b, proto_b, addr_b, port_b) = parts(&b.key);
    [
        c_difference(mark_a, mark_b),
        af(a.key.family()) - af(b.key.family()),
        proto_a - proto_b,
        compare_addresses(&addr_a, &addr_b),
        port_a - port_b,
    ]
    .into_iter()
    .find(|r| *r != 0)
    .unwrap_or(0)
}

/// libipvs's `ipvs_cmp_dests`: address, then port.
fn compare_dests(a: &Dest, b: &Dest) -> i32 {
    match compare_addresses(&a.key.addr, &b.key.addr) {
        0 => i32::from(a.key.port) - i32::from(b.key.port),
        r => r,
    }
}

/// glibc's `qsort` (Debian 12's glibc 2.36: `msort_with_tmp`): a top-down merge sort that
/// splits at n/2 and takes from the left run while `compare(left, right) <= 0`. The same
/// algorithm on the same input gives ipvsadm's order even where libipvs's comparators are
/// inconsistent (values 2^31 apart), which a library sort would not (and may panic on).
fn glibc_merge_sort<T: Copy>(items: &mut [T], compare: impl Fn(&T, &T) -> i32 + Copy) {
    let n = items.len();
    if n <= 1 {
        return;
    }
    let (left, right) = items.split_at_mut(n / 2);
    glibc_merge_sort(left, compare);
    glibc_merge_sort(right, compare);
    let mut merged = Vec::with_capacity(n);
    let (mut i, mut j) = (0, 0);
    while i < left.len() && j < right.len() {
        if compare(&left[i], &right[j]) <= 0 {
            merged.push(left[i]);
            i += 1;
        } else {
            merged.push(right[j]);
            j += 1;
        }
    }
    merged.extend_from_slice(&left[i..]);
    merged.extend_from_slice(&right[j..]);
    items.copy_from_slice(&merged);
}

#[cfg(test)]
mod tests;
