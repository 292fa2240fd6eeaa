//! DNS_CHECK: asks the real server for a record (keepalived's check_dns.c).

use super::{conn_or_timing_keyword, link_local_check, Checker, CheckerKind, NewChecker};
use crate::cx::Cx;
use crate::lvs::{code, read};
use crate::syntax::Statement;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct DnsCheck {
    /// `type`: default SOA.
    #[serde(rename = "type")]
    pub dns_type: DnsType,
    /// `name`: default "" (the root).
    pub name: String,
}

impl Default for DnsCheck {
    fn default() -> Self {
        DnsCheck {
            dns_type: DnsType::SOA,
            name: String::new(),
        }
    }
}

/// The record types keepalived can ask for.
#[allow(clippy::upper_case_acronyms)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum DnsType {
    A,
    NS,
    CNAME,
    SOA,
    MX,
    TXT,
    AAAA,
    RRSIG,
    DNSKEY,
}

impl DnsType {
    pub const ALL: [DnsType; 9] = [
        DnsType::A,
        DnsType::NS,
        DnsType::CNAME,
        DnsType::SOA,
        DnsType::MX,
        DnsType::TXT,
        DnsType::AAAA,
        DnsType::RRSIG,
        DnsType::DNSKEY,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DnsType::A => "A",
            DnsType::NS => "NS",
            DnsType::CNAME => "CNAME",
            DnsType::SOA => "SOA",
            DnsType::MX => "MX",
            DnsType::TXT => "TXT",
            DnsType::AAAA => "AAAA",
            DnsType::RRSIG => "RRSIG",
            DnsType::DNSKEY => "DNSKEY",
        }
    }

    /// The query type code.
    pub fn code(self) -> u16 {
        match self {
            DnsType::A => 1,
            DnsType::NS => 2,
            DnsType::CNAME => 5,
            DnsType::SOA => 6,
            DnsType::MX => 15,
            DnsType::TXT => 16,
            DnsType::AAAA => 28,
            DnsType::RRSIG => 46,
            DnsType::DNSKEY => 48,
        }
    }

    /// Case-insensitive, as keepalived compares.
    pub fn from_name(name: &str) -> Option<DnsType> {
        DnsType::ALL
            .into_iter()
            .find(|t| t.name().eq_ignore_ascii_case(name))
    }
}

pub(crate) fn new_kind() -> CheckerKind {
    CheckerKind::Dns(DnsCheck::default())
}

pub(crate) fn parse(cx: &mut Cx<'_>, statements: &[Statement], mut new: NewChecker) -> Option<Checker> {
    let mut name: Option<String> = None;
    let mut dns_type = DnsType::SOA;
    cx.each_statement(statements, "DNS_CHECK", &mut |cx, s| {
        if conn_or_timing_keyword(cx, s, &mut new.checker.common) {
            return true;
        }
        match s.keyword() {
            "type" => {
                cx.no_block(s);
                let Some(t) = read::text(cx, s, 1) else {
                    return true;
                };
                match DnsType::from_name(&t) {
                    Some(v) => dns_type = v,
                    None => {
                        let all: Vec<&str> = DnsType::ALL.iter().map(|t| t.name()).collect();
                        let msg = format!("Unknown DNS check type {t} - ignoring");
                        read::error_at_word(cx, s, 1, msg, format!("expected one of {}", all.join(", ")));
                    }
                }
            }
            "name" => {
                cx.no_block(s);
                if name.is_some() {
                    let msg = "DNS_CHECK name already specified - ignoring".to_string();
                    read::error(cx, code::DUPLICATE, s.span(), msg, "the first name is used");
                    return true;
                }
                let Some(n) = read::text(cx, s, 1) else {
                    return true;
                };
                if has_empty_label(&n) {
                    let msg = format!("DNS_CHECK name '{n}' has empty label - ignoring");
                    let help = "keepalived 2.2.7 also rejects names whose first label is one character long";
                    read::error_at_word(cx, s, 1, msg, help);
                    return true;
                }
                name = Some(n);
            }
            _ => return false,
        }
        true
    });
    if !link_local_check(cx, &new) {
        return None;
    }
    new.checker.kind = CheckerKind::Dns(DnsCheck {
        dns_type,
        name: name.unwrap_or_default(),
    });
    Some(new.checker)
}

/// keepalived's check, bug included: a leading '.' (unless the name is "."), or a '.' right
/// after the start of the name or after any '.'. So `a.example.com` is rejected.
fn has_empty_label(name: &str) -> bool {
    let b = name.as_bytes();
    if b.first() == Some(&b'.') && b.len() > 1 {
        return true;
    }
    let after_start = b.get(1) == Some(&b'.');
    after_start || b.windows(2).any(|w| w == b"..")
}

#[cfg(test)]
mod tests {
    #[test]
    fn empty_labels_as_keepalived_sees_them() {
        for (name, bad) in [
            (".", false),
            ("example.com.", false),
            ("www.example.com", false),
            ("a.example.com", true),
            ("..", true),
            (".example", true),
            ("www..example", true),
            ("", false),
        ] {
            assert_eq!(super::has_empty_label(name), bad, "{name}");
        }
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use crate::lvs::tests::checkers;
    use ka_units::Micros;

    #[test]
    fn dns_check_keywords_and_defaults() {
        let (c, d) = checkers("  delay_loop 20\n  DNS_CHECK {\n   type aaaa\n   name www.example.com\n  }\n  DNS_CHECK {\n   name .\n  }");
        assert!(d.is_empty(), "{d:?}");
        let CheckerKind::Dns(dns) = &c[0].kind else {
            panic!()
        };
        assert_eq!(
            (dns.dns_type, dns.name.as_str()),
            (DnsType::AAAA, "www.example.com")
        );
        assert_eq!(dns.dns_type.code(), 28);
        let CheckerKind::Dns(dns) = &c[1].kind else {
            panic!()
        };
        assert_eq!((dns.dns_type, dns.name.as_str()), (DnsType::SOA, "."));
        // DNS defaults: retry 3, delay_before_retry = delay_loop (here the real server's).
        assert_eq!(c[0].common.retry, Some(3));
        assert_eq!(c[0].common.delay_loop, Some(Micros::from_secs(20)));
        assert_eq!(c[0].common.delay_before_retry, Some(Micros::from_secs(20)));
        let (c, _) = checkers("  DNS_CHECK {\n  }");
        let CheckerKind::Dns(dns) = &c[0].kind else {
            panic!()
        };
        assert_eq!(dns.name, "");
    }
}
