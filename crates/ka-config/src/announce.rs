//! `bgp_announce { ADDRESS [dev IFNAME] ... }`: a keepalived-rs extension (keepalived reports
//! "Unknown keyword" and ignores the block). Each address is a virtual server's address that
//! this director announces through a routing daemon (BIRD, FRR) for active-active load
//! balancing over BGP/ECMP: the daemon puts it on `dev` (default `lo`), where the routing
//! daemon's direct/connected protocol sees it, only while it can serve it, and takes it away
//! otherwise. The routing daemon does the BGP; keepalived-rs never speaks it.
//!
//! Refused (fatal, the daemon does not start) where it cannot mean anything: an address no
//! `virtual_server IP PORT` has (announcing it would draw traffic nothing serves), and an
//! address a `vrrp_instance` also moves (two mechanisms fighting over one address).

use crate::config::Config;
use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::syntax::Statement;
use serde::Serialize;
use std::net::IpAddr;

/// One announced address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnnouncedAddress {
    #[serde(skip)]
    pub span: Option<Span>,
    pub addr: IpAddr,
    /// Always a host route: /32 or /128.
    pub prefix_len: u8,
    /// Where the address is put while announced.
    pub dev: String,
}

/// The default interface: BIRD's `protocol direct { interface "lo"; }` picks it up there,
/// and on `lo` it never answers ARP on the LAN.
pub const DEFAULT_DEV: &str = "lo";

/// Reads one `bgp_announce` block into `config.bgp_announce`.
pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement, config: &mut Config) {
    let Some(block) = cx.block(stmt) else {
        return;
    };
    for line in &block.statements {
        let Some(first) = line.words.first() else {
            continue;
        };
        let (text, prefix) = match first.text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (first.text.as_str(), None),
        };
        let Ok(addr) = text.parse::<IpAddr>() else {
            cx.report(
                Class::Fatal,
                "bgp-announce-address",
                &first.span,
                format!("bgp_announce: '{}' is not an IP address", first.text),
            )
            .with_token_mut(&first.text)
            .help = Some("write one address per line, e.g. '203.0.113.10' or '203.0.113.10 dev lo'".into());
            continue;
        };
        let host = if addr.is_ipv4() { 32 } else { 128 };
        if let Some(p) = prefix {
            if p.parse::<u8>().ok() != Some(host) {
                cx.report(
                    Class::Fatal,
                    "bgp-announce-prefix",
                    &first.span,
                    format!("bgp_announce: {} must be a host address (/{host})", first.text),
                )
                .with_token_mut(&first.text)
                .help = Some(format!(
                    "announce the virtual server's own address: '{text}' (a wider prefix would draw traffic for addresses nothing serves)"
                ));
                continue;
            }
        }
        let mut dev = DEFAULT_DEV.to_string();
        let mut words = line.words[1..].iter();
        while let Some(w) = words.next() {
            match (w.text.as_str(), words.next()) {
                ("dev", Some(name)) => dev = name.text.clone(),
                _ => {
                    cx.report(
                        Class::Fatal,
                        "bgp-announce-option",
                        &w.span,
                        format!("bgp_announce: unexpected '{}'", w.text),
                    )
                    .with_token_mut(&w.text)
                    .help = Some("the only option is 'dev IFNAME' (default lo)".into());
                    break;
                }
            }
        }
        if config.bgp_announce.iter().any(|a| a.addr == addr) {
            cx.report(
                Class::General,
                "bgp-announce-duplicate",
                &first.span,
                format!("bgp_announce: {addr} is listed twice - ignoring"),
            )
            .help = Some("remove this line".into());
            continue;
        }
        config.bgp_announce.push(AnnouncedAddress {
            span: Some(first.span.clone()),
            addr,
            prefix_len: host,
            dev,
        });
    }
}

/// Refuses announced addresses that nothing serves or that VRRP also moves.
pub(crate) fn validate(cx: &mut Cx<'_>, config: &mut Config) {
    use crate::lvs::virtual_server::VsKey;
    let mut problems = Vec::new();
    for a in &config.bgp_announce {
        let served = config
            .lvs
            .virtual_servers
            .iter()
            .any(|vs| matches!(vs.key, VsKey::Addr { ip, .. } if ip == a.addr));
        if !served {
            problems.push((
                a.span.clone(),
                format!("bgp_announce {}: no virtual_server has this address", a.addr),
                "announce only the address of a 'virtual_server IP PORT' block of this file (announcing it would draw traffic nothing here serves)".to_string(),
            ));
        }
        let vrrp_owner = config.vrrp.vrrp_instance.iter().find(|i| {
            i.virtual_ipaddress
                .iter()
                .chain(&i.virtual_ipaddress_excluded)
                .any(|v| v.addr == a.addr)
        });
        if let Some(i) = vrrp_owner {
            problems.push((
                a.span.clone(),
                format!(
                    "bgp_announce {}: vrrp_instance {} also moves this address",
                    a.addr, i.name
                ),
                "choose one mode per address: BGP announcement (active-active) or VRRP (active-passive)"
                    .to_string(),
            ));
        }
    }
    for (span, message, help) in problems {
        let d = match &span {
            Some(s) => cx.report(Class::Fatal, "bgp-announce-refused", s, message),
            None => cx.report_unplaced(Class::Fatal, "bgp-announce-refused", message),
        };
        d.help = Some(help);
    }
}

#[cfg(test)]
mod tests {
    use crate::diag::Class;

    const VS: &str = "virtual_server 203.0.113.10 80 {\n    lb_algo mh\n    lb_kind DR\n    protocol TCP\n    real_server 192.0.2.21 80 {\n    }\n}\n";

    fn fatal(l: &crate::Loaded) -> Vec<String> {
        l.diagnostics
            .iter()
            .filter(|d| d.class == Class::Fatal)
            .map(|d| d.message.clone())
            .collect()
    }

    #[test]
    fn addresses_with_their_device() {
        let l = crate::load_str(&format!(
            "{VS}virtual_server 2001:db8::10 80 {{\n    protocol TCP\n    real_server 2001:db8::21 80 {{\n    }}\n}}\nbgp_announce {{\n    203.0.113.10\n    2001:db8::10/128 dev lo2\n}}\n"
        ));
        assert_eq!(fatal(&l), Vec::<String>::new());
        let a = &l.config.bgp_announce;
        assert_eq!(a.len(), 2);
        assert_eq!(
            (a[0].addr.to_string(), a[0].prefix_len, a[0].dev.as_str()),
            ("203.0.113.10".into(), 32, "lo")
        );
        assert_eq!((a[1].prefix_len, a[1].dev.as_str()), (128, "lo2"));
        assert!(!l.cannot_run());
    }

    #[test]
    fn refused_where_it_cannot_apply() {
        let unserved = crate::load_str(&format!("{VS}bgp_announce {{\n    203.0.113.99\n}}\n"));
        assert_eq!(
            fatal(&unserved),
            vec!["bgp_announce 203.0.113.99: no virtual_server has this address"]
        );
        assert!(unserved.cannot_run());
        let vrrp = crate::load_str(&format!(
            "{VS}vrrp_instance VI_1 {{\n    interface eth0\n    virtual_router_id 1\n    priority 100\n    virtual_ipaddress {{\n        203.0.113.10\n    }}\n}}\nbgp_announce {{\n    203.0.113.10\n}}\n"
        ));
        assert_eq!(
            fatal(&vrrp),
            vec!["bgp_announce 203.0.113.10: vrrp_instance VI_1 also moves this address"]
        );
        let wide = crate::load_str(&format!("{VS}bgp_announce {{\n    203.0.113.10/24\n}}\n"));
        assert_eq!(
            fatal(&wide),
            vec!["bgp_announce: 203.0.113.10/24 must be a host address (/32)"]
        );
        let bad = crate::load_str(&format!(
            "{VS}bgp_announce {{\n    203.0.113.10 via lo\n    nonsense\n}}\n"
        ));
        assert_eq!(
            fatal(&bad),
            vec![
                "bgp_announce: unexpected 'via'",
                "bgp_announce: 'nonsense' is not an IP address"
            ]
        );
        let d = &bad.diagnostics.iter().find(|d| d.class == Class::Fatal).unwrap();
        let span = d.span.as_ref().unwrap();
        assert_eq!((span.line, span.column), (9, 18), "placed at the offending word");
    }
}
