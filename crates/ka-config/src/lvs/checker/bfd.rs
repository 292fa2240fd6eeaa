//! BFD_CHECK: the real server follows a BFD session defined by a `bfd_instance` block
//! earlier in the file (keepalived's check_bfd.c).

use super::{Checker, CheckerKind, NewChecker};
use crate::cx::Cx;
use crate::lvs::real_server::RealServer;
use crate::lvs::virtual_server::VirtualServer;
use crate::lvs::{code, read, ParseState};
use crate::syntax::Statement;
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct BfdCheck {
    /// `name`: the `bfd_instance` followed.
    pub name: String,
}

/// BFD_INAME_MAX: names are shorter than this.
const NAME_MAX: usize = 32;

pub(crate) fn new_kind() -> CheckerKind {
    CheckerKind::Bfd(BfdCheck::default())
}

pub(crate) fn parse(
    cx: &mut Cx<'_>,
    statements: &[Statement],
    mut new: NewChecker,
    vs: &VirtualServer,
    rs: &RealServer,
    state: &ParseState,
) -> Option<Checker> {
    let who = vs.describe_server(&rs.ip, rs.port);
    let mut name: Option<String> = None;
    // A bad name removes the checker; keepalived then ignores the rest of the block.
    let mut removed = false;
    cx.each_statement(statements, "BFD_CHECK", &mut |cx, s| {
        if removed {
            return true;
        }
        match s.keyword() {
            "name" => {
                cx.no_block(s);
                let problem = if s.words.len() != 2 {
                    Some(format!(
                        "({who}) BFD_CHECK - No or too many names specified - skipping checker"
                    ))
                } else {
                    let n = read::word_text(s, 1);
                    if !state.bfd_instances.iter().any(|(b, _)| *b == n) {
                        Some(format!("({who}) BFD_CHECK - BFD {n} not configured"))
                    } else if let Some(old) = &name {
                        Some(format!("({who}) BFD_CHECK - BFD {n} already specified as {old}"))
                    } else if n.len() >= NAME_MAX {
                        Some(format!("({who}) BFD_CHECK - BFD name {n} too long"))
                    } else if rs
                        .checkers
                        .iter()
                        .any(|c| matches!(&c.kind, CheckerKind::Bfd(b) if b.name == n))
                    {
                        Some(format!("({who}) BFD_CHECK - RS already monitoring {n}"))
                    } else {
                        name = Some(n);
                        None
                    }
                };
                if let Some(msg) = problem {
                    // keepalived drops the checker and ignores the rest of its block.
                    read::error(
                        cx,
                        code::REMOVED,
                        s.span(),
                        msg,
                        "name one bfd_instance defined earlier (with 'checker' if it has 'vrrp'); the checker is ignored",
                    );
                    removed = true;
                }
            }
            "alpha" => {
                cx.no_block(s);
                if let Some(b) = read::boolean(cx, s, 1, |w| format!("Invalid alpha parameter {w}")) {
                    new.checker.common.alpha = Some(b);
                }
            }
            _ => return false,
        }
        true
    });
    if removed {
        return None;
    }
    let Some(name) = name else {
        let msg = format!("({who}) No name has been specified for BFD_CHECKER - skipping");
        read::error(cx, code::REMOVED, &new.end, msg, "add 'name BFD_INSTANCE'");
        return None;
    };
    new.checker.kind = CheckerKind::Bfd(BfdCheck { name });
    Some(new.checker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::tests::diags;

    #[test]
    fn bfd_check_follows_bfd_instances_defined_earlier() {
        let l = crate::load_str(
            "bfd_instance b1 {\n neighbor_ip 10.0.0.2\n}\nbfd_instance vr {\n neighbor_ip 10.0.0.3\n vrrp\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  BFD_CHECK {\n   name b1\n   alpha no\n  }\n  BFD_CHECK {\n   name b1\n  }\n  BFD_CHECK {\n   name vr\n  }\n }\n}\n",
        );
        let d: Vec<String> = diags(&l)
            .into_iter()
            .filter(|d| d.contains("BFD_CHECK")) // bfd_instance itself is the BFD parser's business
            .collect();
        assert_eq!(
            d,
            vec![
                "18:4 General ([10.0.0.2]:tcp:80) BFD_CHECK - RS already monitoring b1",
                // With `vrrp` and no `checker`, the checker process does not know the instance.
                "21:4 General ([10.0.0.2]:tcp:80) BFD_CHECK - BFD vr not configured",
            ]
        );
        let c = &l.config.lvs.virtual_servers[0].real_servers[0].checkers;
        assert_eq!(c.len(), 1);
        let CheckerKind::Bfd(b) = &c[0].kind else { panic!() };
        assert_eq!(b.name, "b1");
        assert_eq!(c[0].common.alpha, Some(false));
        // No run loop: no timers.
        assert_eq!(c[0].common.retry, None);
    }
}
