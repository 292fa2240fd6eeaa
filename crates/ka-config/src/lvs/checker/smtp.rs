//! SMTP_CHECK and its deprecated `host { }` blocks (keepalived's check_smtp.c). Each `host`
//! becomes a checker of its own, right after the SMTP_CHECK it is in.

use super::{
    conn_keyword, conn_link_local_check, timing_keyword, Checker, CheckerKind, ConnOpts, NewChecker,
};
use crate::cx::Cx;
use crate::lvs::read;
use crate::lvs::real_server::RealServer;
use crate::lvs::virtual_server::VirtualServer;
use crate::syntax::Statement;
use ka_units::Micros;
use serde::Serialize;

/// keepalived's SMTP_DEFAULT_HELO.
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

#[derive(Clone, Debug, Serialize)]
pub struct SmtpCheck {
    /// `helo_name`: default smtpchecker.keepalived.org.
    pub helo_name: String,
    /// This checker comes from a deprecated `host { }` block of the SMTP_CHECK before it.
    pub from_host_block: bool,
}

impl Default for SmtpCheck {
    fn default() -> Self {
        SmtpCheck {
            helo_name: DEFAULT_HELO.to_string(),
            from_host_block: false,
        }
    }
}

pub(crate) fn new_kind() -> CheckerKind {
    CheckerKind::Smtp(SmtpCheck::default())
}

pub(crate) fn parse(
    cx: &mut Cx<'_>,
    statements: &[Statement],
    mut new: NewChecker,
    vs: &VirtualServer,
    rs: &RealServer,
) -> Vec<Checker> {
    let mut hosts: Vec<ConnOpts> = Vec::new();
    let mut top = new.checker.common.conn.take().unwrap_or_else(ConnOpts::unset);
    cx.each_statement(statements, "SMTP_CHECK", &mut |cx, s| {
        if conn_keyword(cx, s, &mut top) || timing_keyword(cx, s, &mut new.checker.common) {
            return true;
        }
        match s.keyword() {
            "helo_name" => {
                cx.no_block(s);
                match (s.words.get(1), &mut new.checker.kind) {
                    (Some(w), CheckerKind::Smtp(smtp)) => smtp.helo_name = w.text.clone(),
                    (None, _) => read::missing(
                        cx,
                        s,
                        "SMTP_CHECK helo name missing".into(),
                        "expected a host name",
                    ),
                    _ => {}
                }
            }
            "host" => {
                if let Some(co) = parse_host(cx, s, &mut new, rs) {
                    hosts.push(co);
                }
            }
            _ => return false,
        }
        true
    });
    // smtp_check_end_handler.
    if !hosts.is_empty() {
        read::logged(
            cx,
            &new.end,
            "The SMTP_CHECK host block is deprecated. Please define additional checkers.".into(),
            "write one SMTP_CHECK per host, with connect_ip/connect_port in it",
        );
    }
    let anything_set = top.connect_ip.is_some()
        || top.connect_port != 0
        || top.bindto.is_some()
        || top.bind_port != 0
        || top.bind_if.is_some()
        || top.fwmark != 0
        || top.connect_timeout.is_some();
    let mut co = if anything_set || hosts.is_empty() {
        // No default port 25: without one the real server's port as written is used.
        if top.connect_ip.is_none() {
            top.connect_ip = Some(rs.ip);
        }
        if top.connect_port == 0 {
            top.connect_port = rs.port;
        }
        if !conn_link_local_check(cx, &top, &new.end) {
            // keepalived keeps the pending hosts for the next SMTP_CHECK; they go with this one.
            return Vec::new();
        }
        top
    } else {
        hosts.remove(0)
    };
    // The timeout is fixed now, from the real or virtual server's value at this point of the
    // file: a connect_timeout written after this block is not seen.
    let timeout: Micros = rs.connect_timeout.unwrap_or(vs.connect_timeout);
    co.connect_timeout.get_or_insert(timeout);
    new.checker.common.conn = Some(co);
    let mut out = vec![new.checker.clone()];
    for host in hosts {
        let mut c = new.checker.clone();
        c.common.conn = Some(host);
        if let CheckerKind::Smtp(smtp) = &mut c.kind {
            smtp.from_host_block = true;
        }
        out.push(c);
    }
    out
}

/// `host { connection and timing keywords }`: connection keywords set the host's own options
/// (destination the real server, timeout 0 — not unset); timing keywords set the SMTP_CHECK's.
fn parse_host(cx: &mut Cx<'_>, stmt: &Statement, new: &mut NewChecker, rs: &RealServer) -> Option<ConnOpts> {
    let block = cx.block(stmt);
    let statements = block.map(|b| b.statements.as_slice()).unwrap_or(&[]);
    let end = block
        .map(|b| b.end_span().clone())
        .unwrap_or_else(|| stmt.end_span());
    let mut co = ConnOpts {
        connect_timeout: Some(Micros::ZERO),
        ..ConnOpts::to_real_server(rs)
    };
    cx.each_statement(statements, "host", &mut |cx, s| {
        conn_keyword(cx, s, &mut co) || timing_keyword(cx, s, &mut new.checker.common)
    });
    conn_link_local_check(cx, &co, &end).then_some(co)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::tests::checkers;

    fn dest(c: &Checker) -> (String, u16, Option<Micros>) {
        let co = c.common.conn.as_ref().unwrap();
        (
            co.connect_ip.map(|i| i.to_string()).unwrap_or_default(),
            co.connect_port,
            co.connect_timeout,
        )
    }

    fn smtp(c: &Checker) -> &SmtpCheck {
        match &c.kind {
            CheckerKind::Smtp(s) => s,
            other => panic!("not SMTP: {other:?}"),
        }
    }

    #[test]
    fn plain_smtp_check_uses_the_real_server_as_written() {
        let (c, d) = checkers("  SMTP_CHECK {\n   retry 2\n  }");
        assert!(d.is_empty(), "{d:?}");
        // No default port 25: the real server's port (8080) as written.
        assert_eq!(dest(&c[0]), ("10.0.0.2".into(), 8080, Some(Micros::from_secs(5))));
        assert_eq!(smtp(&c[0]).helo_name, DEFAULT_HELO);
        assert_eq!(c[0].common.retry, Some(2));
    }

    #[test]
    fn host_blocks_become_checkers() {
        // From keepalived.conf.SMTP_CHECK: without top-level connection settings the first host
        // is the checker itself; timing keywords (even inside host) belong to all of them.
        let (c, d) = checkers(
            "  SMTP_CHECK {\n   connect_timeout 10\n   helo_name foo.bar.com\n   host {\n    connect_ip 172.16.1.12\n    connect_port 25\n    bindto 10.0.0.5\n   }\n   host {\n    connect_ip 192.168.155.11\n    retry 7\n   }\n  }",
        );
        assert_eq!(
            d,
            vec!["18:3 Info The SMTP_CHECK host block is deprecated. Please define additional checkers."]
        );
        // connect_timeout at top level counts as a connection setting: 1 + 2 checkers.
        assert_eq!(c.len(), 3);
        assert_eq!(
            dest(&c[0]),
            ("10.0.0.2".into(), 8080, Some(Micros::from_secs(10)))
        );
        // Host records start with timeout 0, not unset: they do not inherit.
        assert_eq!(dest(&c[1]), ("172.16.1.12".into(), 25, Some(Micros::ZERO)));
        assert_eq!(
            c[1].common.conn.as_ref().unwrap().bindto,
            Some("10.0.0.5".parse().unwrap())
        );
        assert_eq!(dest(&c[2]), ("192.168.155.11".into(), 8080, Some(Micros::ZERO)));
        assert!(c
            .iter()
            .all(|c| c.common.retry == Some(7) && smtp(c).helo_name == "foo.bar.com"));
        assert_eq!(
            c.iter().map(|c| smtp(c).from_host_block).collect::<Vec<_>>(),
            [false, true, true]
        );

        let (c, _) = checkers("  SMTP_CHECK {\n   host {\n    connect_ip 10.9.9.1\n   }\n   host {\n    connect_ip 10.9.9.2\n   }\n  }");
        assert_eq!(c.len(), 2);
        assert_eq!(dest(&c[0]).0, "10.9.9.1");
    }

    #[test]
    fn timeout_is_taken_when_the_block_ends() {
        // A real server connect_timeout written after the SMTP_CHECK is not seen by it, but a
        // TCP_CHECK gets it through validation.
        let (c, _) = checkers("  SMTP_CHECK {\n  }\n  TCP_CHECK {\n  }\n  connect_timeout 7");
        assert_eq!(dest(&c[0]).2, Some(Micros::from_secs(5)));
        assert_eq!(dest(&c[1]).2, Some(Micros::from_secs(7)));
    }
}
