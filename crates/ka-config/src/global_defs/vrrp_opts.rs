//! `global_defs` handlers for VRRP defaults: multicast groups, gratuitous ARP, nftables,
//! receive buffers and VMAC prefixes.

use super::handlers::*;
use super::{GlobalDefs, RxBufsPolicy, GARP_REFRESH_REP_DEFAULT, GARP_REP_DEFAULT};
use crate::cx::{parse_unsigned, Cx};
use crate::diag::Class;
use crate::syntax::Statement;
use ka_units::Micros;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// keepalived's `inet_stosockaddr` without a port: the family comes from whether there is a
/// `:`, and anything from the first `-` (else the first `/`) on is ignored.
pub(super) fn inet_address(text: &str) -> Option<IpAddr> {
    let cut = text.find('-').or_else(|| text.find('/')).unwrap_or(text.len());
    let addr = &text[..cut];
    if text.contains(':') {
        addr.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        addr.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

pub(super) fn mcast_group4(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(word) = cx.word(stmt, 1) else {
        return;
    };
    let t = &word.text;
    let problem = match inet_address(t) {
        None => format!("Can't parse vrrp_mcast_group4 [{t}]. Skipping"),
        Some(IpAddr::V6(_)) => format!("vrrp_mcast_group4 [{t}] is not IPv4. Skipping"),
        Some(IpAddr::V4(a)) if !a.is_multicast() => {
            format!("vrrp_mcast_group4 [{t}] is not multicast. Skipping")
        }
        Some(IpAddr::V4(a)) => {
            g.vrrp_mcast_group4 = a;
            return;
        }
    };
    general(
        cx,
        "invalid-address",
        &word.span,
        t,
        problem,
        "expected an IPv4 multicast address (224.0.0.0/4), e.g. the default 224.0.0.18",
    );
}

pub(super) fn mcast_group6(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(word) = cx.word(stmt, 1) else {
        return;
    };
    let t = &word.text;
    let problem = match inet_address(t) {
        None => format!("Can't parse vrrp_mcast_group6 [{t}]. Skipping"),
        Some(IpAddr::V4(_)) => format!("vrrp_mcast_group6 [{t}] is not IPv6. Skipping"),
        Some(IpAddr::V6(a)) if !a.is_multicast() => {
            format!("vrrp_mcast_group6 [{t}] is not multicast. Skipping")
        }
        Some(IpAddr::V6(a)) => {
            g.vrrp_mcast_group6 = a;
            // IN6_IS_ADDR_MC_LINKLOCAL: scope nibble 2 (ffX2::). Warned about, but used.
            if a.segments()[0] & 0x000f != 2 {
                cx.report(
                    Class::Warning,
                    "mcast-not-link-local",
                    &word.span,
                    format!("vrrp_mcast_group6 [{t}] should be link-local multicast."),
                )
                .with_token_mut(t)
                .help = Some("VRRP uses link-local multicast (ff02::/16), e.g. the default ff02::12".into());
            }
            return;
        }
    };
    general(
        cx,
        "invalid-address",
        &word.span,
        t,
        problem,
        "expected an IPv6 link-local multicast address, e.g. the default ff02::12",
    );
}

/// keepalived's repeat counts: 0 is accepted for compatibility and becomes 1, with a message.
pub(super) fn at_least_one(cx: &mut Cx<'_>, stmt: &Statement, v: u32, kw: &str) -> u32 {
    if v != 0 {
        return v;
    }
    let span = stmt
        .words
        .get(1)
        .map_or_else(|| stmt.span().clone(), |w| w.span.clone());
    general(
        cx,
        "invalid-value",
        &span,
        "0",
        format!("{kw} must be greater than 0, setting to 1"),
        "give a count of at least 1",
    );
    1
}

/// keepalived logs when a delay it holds (even an earlier one) is large.
pub(super) fn very_large(cx: &mut Cx<'_>, stmt: &Statement, value: Micros, limit_secs: u64, kw: &str) {
    if value >= Micros::from_secs(limit_secs) {
        if let Some(word) = stmt.words.get(1) {
            info(
                cx,
                "very-large",
                &word.span,
                format!("The {kw} is very large - {} seconds", word.text),
                format!("{kw} is in seconds; keepalived only logs this"),
            );
        }
    }
}

/// `vrrp_min_garp`: one GARP, no repeats; only settings still at keepalived's default move.
pub(super) fn min_garp(g: &mut GlobalDefs) {
    g.vrrp_min_garp = true;
    if g.vrrp_garp_master_repeat == GARP_REP_DEFAULT {
        g.vrrp_garp_master_repeat = 1;
    }
    // The refresh default is 0 and min_garp's value is 0: nothing to change.
    if g.vrrp_garp_master_refresh_repeat == GARP_REFRESH_REP_DEFAULT {
        g.vrrp_garp_master_refresh_repeat = 0;
    }
    if g.vrrp_garp_master_delay == Micros::from_secs(5) {
        g.vrrp_garp_master_delay = Micros::ZERO;
    }
}

/// `vrrp_garp_extra_if [all] SECS` and its deprecated spelling `vrrp_vmac_garp_intvl`.
pub(super) fn garp_extra_if(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let kw = stmt.keyword().to_string();
    if kw == "vrrp_vmac_garp_intvl" {
        cx.report(
            Class::Deprecated,
            "deprecated",
            stmt.span(),
            "Keyword \"vrrp_vmac_garp_intvl\" is deprecated - please use \"vrrp_garp_extra_if\"",
        )
        .with_token_mut(&kw)
        .help = Some("rename the keyword to vrrp_garp_extra_if".into());
    }
    let mut delay = 0;
    for word in stmt.args() {
        if word.text == "all" {
            // Kept even if a later word is invalid, as in keepalived.
            g.vrrp_garp_extra_if_all = true;
            continue;
        }
        match unsigned_word(
            cx,
            word,
            (1, 86400),
            |w| format!("{kw} '{w}' invalid - ignoring"),
            "a number of seconds from 1 to 86400, optionally with 'all'",
        ) {
            Some(v) => delay = v,
            None => return,
        }
    }
    if delay == 0 {
        missing(
            cx,
            stmt,
            format!("{kw} specified without time - ignoring"),
            format!("write '{kw} [all] SECONDS'"),
        );
        return;
    }
    g.vrrp_garp_extra_if = secs(delay);
}

/// `nftables [TABLE]` / `nftables_ipvs [TABLE]`: first wins (a `vrrp_iptables` counts), and
/// the chain priority (and IPVS start mark) go back to their defaults.
pub(super) fn nftables(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs, ipvs: bool) {
    let what = if ipvs { "ipvs nftables" } else { "nftables" };
    let already = if ipvs {
        g.nftables_ipvs.is_some()
    } else {
        g.nftables.is_some()
    };
    if already {
        general(
            cx,
            "duplicate",
            stmt.span(),
            stmt.keyword(),
            format!("{what} already specified - ignoring"),
            format!(
                "only the first {} is used (vrrp_iptables also sets it); remove this one",
                stmt.keyword()
            ),
        );
        return;
    }
    let name = match stmt.words.get(1) {
        Some(w) if w.text.len() >= NFT_TABLE_MAXNAMELEN => {
            general(
                cx,
                "name-too-long",
                &w.span,
                "",
                format!("{what} table name too long - ignoring"),
                format!("nftables table names are shorter than {NFT_TABLE_MAXNAMELEN} bytes"),
            );
            return;
        }
        Some(w) => w.text.clone(),
        None if ipvs => "keepalived_ipvs".into(),
        None => "keepalived".into(),
    };
    if ipvs {
        g.nftables_ipvs = Some(name);
        g.nftables_ipvs_priority = -1;
        g.nftables_ipvs_start_fwmark = 1000;
    } else {
        g.nftables = Some(name);
        g.nftables_priority = -1;
    }
}

/// keepalived's `get_netlink_rcv_bufs_size`: `None` for "no change" (errors, and 0, which
/// the handlers do not store).
pub(super) fn rcv_bufs(cx: &mut Cx<'_>, stmt: &Statement, t: &str) -> Option<u32> {
    let Some(word) = stmt.words.get(1) else {
        missing(
            cx,
            stmt,
            format!("{t}_rcv_bufs size missing"),
            format!("write '{t}_rcv_bufs BYTES'"),
        );
        return None;
    };
    unsigned_word(
        cx,
        word,
        (0, u32::MAX),
        |w| format!("{t}_rcv_bufs size ({w}) invalid"),
        "a size in bytes",
    )
    .filter(|v| *v != 0)
}

/// `vrrp_rx_bufs_policy`: MTU/ADVERT (any case) or a size; settings accumulate over lines.
/// keepalived 2.2.7 reads the size from word 1 whatever word it is looking at (a bug): kept.
pub(super) fn rx_bufs_policy(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    if stmt.words.len() < 2 {
        missing(
            cx,
            stmt,
            "vrrp_rx_bufs_policy missing".into(),
            "write 'vrrp_rx_bufs_policy MTU', 'ADVERT' or a size in bytes",
        );
        return;
    }
    let (mut mtu, mut advert, mut size) = match g.vrrp_rx_bufs_policy {
        RxBufsPolicy::Default => (false, false, None),
        RxBufsPolicy::Mtu => (true, false, None),
        RxBufsPolicy::Advert => (false, true, None),
        RxBufsPolicy::Size(s) => (false, false, Some(s)),
    };
    for word in stmt.args() {
        if word.text.eq_ignore_ascii_case("MTU") {
            mtu = true;
        } else if word.text.eq_ignore_ascii_case("ADVERT") {
            advert = true;
        } else {
            let first = stmt.words.get(1).map_or("", |w| w.text.as_str());
            match parse_unsigned(first, 0, u32::MAX) {
                Ok(v) => size = Some(v),
                Err(e) => bad_number(
                    cx,
                    word,
                    &e,
                    Some(format!("Invalid vrrp_rx_bufs_policy {}", word.text)),
                    "keepalived 2.2.7 reads a size only as the first word: write the size alone, e.g. 'vrrp_rx_bufs_policy 262144'".into(),
                ),
            }
        }
    }
    if size.is_some() && (mtu || advert) {
        general(
            cx,
            "conflict",
            stmt.span(),
            stmt.keyword(),
            "Cannot set vrrp_rx_bufs_policy size and policy, ignoring policy".into(),
            "give either a size or MTU/ADVERT",
        );
        mtu = false;
        advert = false;
    } else if mtu && advert {
        general(
            cx,
            "conflict",
            stmt.span(),
            stmt.keyword(),
            "Cannot set both vrrp_rx_bufs_policy MTU and ADVERT, ignoring ADVERT".into(),
            "give either MTU or ADVERT",
        );
        advert = false;
    }
    g.vrrp_rx_bufs_policy = match (size, mtu, advert) {
        (Some(s), _, _) => RxBufsPolicy::Size(s),
        (None, true, _) => RxBufsPolicy::Mtu,
        (None, false, true) => RxBufsPolicy::Advert,
        (None, false, false) => RxBufsPolicy::Default,
    };
}

pub(super) fn rx_bufs_multiplier(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let word = match stmt.words.get(1) {
        Some(w) if stmt.words.len() == 2 => w,
        _ => {
            let span = stmt
                .words
                .get(2)
                .map_or_else(|| stmt.end_span(), |w| w.span.clone());
            general(
                cx,
                "invalid-value",
                &span,
                "",
                "Invalid vrrp_rx_bufs_multiplier".into(),
                "write 'vrrp_rx_bufs_multiplier N' with one number",
            );
            return;
        }
    };
    if let Some(v) = unsigned_word(
        cx,
        word,
        (1, u32::MAX),
        |w| format!("Invalid vrrp_rx_bufs_multiplier {w}"),
        "a multiplier from 1 to 4294967295",
    ) {
        g.vrrp_rx_bufs_multiplier = v;
    }
}

/// `vmac_prefix` / `vmac_addr_prefix`: first wins. keepalived reads word 1 in both paths,
/// so a missing one is its exit-2 abort.
pub(super) fn vmac_prefix(cx: &mut Cx<'_>, stmt: &Statement, g: &mut GlobalDefs) {
    let Some(word) = cx.word(stmt, 1) else {
        return;
    };
    let addr = stmt.keyword() == "vmac_addr_prefix";
    let slot = if addr {
        &mut g.vmac_addr_prefix
    } else {
        &mut g.vmac_prefix
    };
    if slot.is_some() {
        let what = if addr { "vmac_addr prefix" } else { "vmac prefix" };
        general(
            cx,
            "duplicate",
            &word.span,
            &word.text,
            format!("{what} has already been specified - ignoring {}", word.text),
            format!("only the first {} is used; remove this one", stmt.keyword()),
        );
        return;
    }
    *slot = Some(word.text.clone());
}
