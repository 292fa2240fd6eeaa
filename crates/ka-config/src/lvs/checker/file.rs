//! FILE_CHECK: the real server's weight follows a number in a file, through a `track_file`
//! block defined earlier (keepalived's check_file.c).

use super::{Checker, CheckerKind, NewChecker};
use crate::cx::Cx;
use crate::lvs::{code, read, ParseState};
use crate::syntax::Statement;
use serde::Serialize;

#[derive(Clone, Debug, Default, Serialize)]
pub struct FileCheck {
    /// `track_file`: the name of a `track_file` block.
    pub track_file: String,
    /// `weight`: default the track_file block's weight.
    pub weight: i32,
    /// `weight N reverse`: default the track_file block's.
    pub reverse: bool,
}

pub(crate) fn new_kind() -> CheckerKind {
    CheckerKind::File(FileCheck::default())
}

pub(crate) fn parse(
    cx: &mut Cx<'_>,
    statements: &[Statement],
    mut new: NewChecker,
    state: &ParseState,
) -> Option<Checker> {
    let mut file: Option<(String, i32, bool)> = None;
    let mut weight: Option<(i32, bool)> = None;
    cx.each_statement(statements, "FILE_CHECK", &mut |cx, s| {
        match s.keyword() {
            "track_file" => {
                cx.no_block(s);
                let Some(name) = read::text(cx, s, 1) else {
                    return true;
                };
                match state.track_files.iter().find(|t| t.name == name) {
                    Some(t) => file = Some((name, t.weight, t.reverse)),
                    None => {
                        let msg = format!("track_file {name} not found");
                        read::error_at_word(
                            cx,
                            s,
                            1,
                            msg,
                            "define 'track_file NAME { file PATH }' before this virtual server",
                        );
                    }
                }
            }
            "weight" => {
                cx.no_block(s);
                if s.words.len() < 2 {
                    read::missing(
                        cx,
                        s,
                        "track file weight missing".into(),
                        "expected 'weight N [reverse|noreverse]'",
                    );
                    return true;
                }
                let msg = |_: &str| {
                    "weight for track file must be in [-2147483647..2147483647] inclusive. Ignoring..."
                        .to_string()
                };
                let Some(w) = read::int_required(cx, s, 1, -2_147_483_647, 2_147_483_647, msg) else {
                    return true;
                };
                let reverse = match s.words.get(2).map(|w| w.text.as_str()) {
                    None | Some("noreverse") => false,
                    Some("reverse") => true,
                    Some(other) => {
                        let msg = format!("unknown track file weight option {other} - ignoring");
                        read::error_at_word(cx, s, 2, msg, "expected reverse or noreverse");
                        return true;
                    }
                };
                weight = Some((w, reverse));
            }
            _ => return false,
        }
        true
    });
    let Some((name, file_weight, file_reverse)) = file else {
        let msg = "FILE_CHECK has no track_file specified - ignoring".to_string();
        read::error(
            cx,
            code::REMOVED,
            &new.end,
            msg,
            "add 'track_file NAME' naming a track_file block defined earlier",
        );
        return None;
    };
    let (weight, reverse) = weight.unwrap_or((file_weight, file_reverse));
    new.checker.kind = CheckerKind::File(FileCheck {
        track_file: name,
        weight,
        reverse,
    });
    // keepalived creates these checkers after validation, with alpha off and no timers.
    new.checker.common.alpha = Some(false);
    Some(new.checker)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lvs::tests::diags;

    #[test]
    fn file_check_uses_track_files_defined_earlier() {
        let l = crate::load_str(
            "track_file tf {\n file /run/w\n weight -5 reverse\n}\nvirtual_server 10.0.0.1 80 {\n protocol TCP\n lb_algo rr\n lb_kind NAT\n real_server 10.0.0.2 80 {\n  FILE_CHECK {\n   track_file tf\n  }\n  FILE_CHECK {\n   track_file tf\n   weight 9 noreverse\n  }\n  FILE_CHECK {\n   track_file later\n  }\n }\n}\ntrack_file later {\n file /run/x\n}\n",
        );
        let d = diags(&l);
        assert_eq!(
            d,
            vec!["18:15 General track_file later not found", "19:3 General FILE_CHECK has no track_file specified - ignoring"],
            "FILE_CHECK must see track_file blocks read before it (lvs::observe_top_level or config.vrrp.track_file)"
        );
        let c = &l.config.lvs.virtual_servers[0].real_servers[0].checkers;
        assert_eq!(c.len(), 2);
        let CheckerKind::File(f) = &c[0].kind else {
            panic!()
        };
        assert_eq!((f.track_file.as_str(), f.weight, f.reverse), ("tf", -5, true));
        let CheckerKind::File(f) = &c[1].kind else {
            panic!()
        };
        assert_eq!((f.weight, f.reverse), (9, false));
        // Driven by the file: alpha off and no timers.
        assert_eq!(c[0].common.alpha, Some(false));
        assert_eq!((c[0].common.retry, c[0].common.delay_loop), (None, None));
    }
}
