//! `track_file NAME { ... }` (and the deprecated `vrrp_track_file`): a file holding a number
//! that adjusts the priority of the instances tracking it.

use crate::cx::Cx;
use crate::diag::{Class, Span};
use crate::host::FileKind;
use crate::syntax::Statement;
use serde::Serialize;
use std::path::Path;

use super::aborted;
use super::common::{self, general};
use super::walk;

/// Keywords of `track_file`.
pub const KEYWORDS: &[&str] = &["file", "weight", "init_file"];

/// `init_file [VALUE] [overwrite]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct TrackFileInit {
    /// The value written (default 0).
    pub value: i32,
    /// `overwrite`: write the value even if the file exists (not on reload).
    pub overwrite: bool,
}

/// One `track_file`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackFile {
    pub name: String,
    /// `file PATH`.
    pub file: String,
    /// `weight W` (default 1: the file's number is added as is).
    pub weight: i32,
    /// `weight W reverse`.
    pub weight_reverse: bool,
    /// `init_file`.
    pub init_file: Option<TrackFileInit>,
    #[serde(skip)]
    pub span: Option<Span>,
}

/// `track_file NAME { ... }` / `vrrp_track_file NAME { ... }`. None when keepalived does not
/// register it (no `file`).
pub(crate) fn parse(cx: &mut Cx<'_>, stmt: &Statement) -> Option<TrackFile> {
    let name = cx.word(stmt, 1)?.text.clone();
    if stmt.keyword() == "vrrp_track_file" {
        cx.report(
            Class::Info,
            "vrrp-track-file-deprecated",
            stmt.span(),
            "\"vrrp_track_file\" is deprecated, please use \"track_file\"",
        )
        .help = Some("rename the block to 'track_file'".into());
    }
    let block = cx.block(stmt)?;
    let mut file: Option<String> = None;
    let mut weight = 1;
    let mut weight_reverse = false;
    let mut init_file: Option<TrackFileInit> = None;
    let mut reader = walk::Reader::new(block);
    while let Some(st) = reader.next_statement(cx) {
        if aborted(cx) {
            return None;
        }
        match st.keyword() {
            "file" => match st.words.get(1) {
                None => {
                    general(
                        cx,
                        "track-file-missing-path",
                        &st.end_span(),
                        "track file file name missing",
                    );
                }
                Some(p) if file.is_some() => {
                    general(
                        cx,
                        "track-file-twice",
                        &p.span,
                        format!("File already set for track file {name} - ignoring {}", p.text),
                    );
                }
                Some(p) => file = Some(p.text.clone()),
            },
            "weight" => {
                let Some(w) = st.words.get(1) else {
                    general(
                        cx,
                        "track-file-weight",
                        &st.end_span(),
                        format!("No weight specified for track file {name} - ignoring"),
                    );
                    continue;
                };
                if weight != 1 {
                    general(
                        cx,
                        "track-file-weight",
                        &w.span,
                        format!("Weight already set for track file {name} - ignoring {}", w.text),
                    );
                    continue;
                }
                weight = match common::read_int(cx, w, -254, 254) {
                    Some(v) => v,
                    None => {
                        general(
                            cx,
                            "track-file-weight",
                            &w.span,
                            format!(
                                "Weight ({}) for track_file {name} must be between [-254..254] inclusive. Ignoring...",
                                w.text
                            ),
                        );
                        1
                    }
                };
                if let Some(opt) = st.words.get(2) {
                    if opt.text == "reverse" {
                        weight_reverse = true;
                    } else {
                        general(
                            cx,
                            "track-file-weight-option",
                            &opt.span,
                            format!("track_file {name} unknown weight option {}", opt.text),
                        )
                        .help = Some("the only weight option is 'reverse'".into());
                    }
                }
            }
            "init_file" => {
                let mut init = TrackFileInit {
                    value: 0,
                    overwrite: false,
                };
                for w in &st.words[1..] {
                    let t = w.text.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
                    if t.starts_with(|c: char| c.is_ascii_digit() || c == '-') {
                        init.value = match common::read_int(cx, w, i32::MIN, i32::MAX) {
                            Some(v) => {
                                if !(-254..=254).contains(&v) {
                                    general(
                                        cx,
                                        "track-file-init",
                                        &w.span,
                                        format!(
                                            "Track file {name} init value {v} is outside sensible range [-254, 254]"
                                        ),
                                    );
                                }
                                v
                            }
                            None => {
                                general(
                                    cx,
                                    "track-file-init",
                                    &w.span,
                                    format!("Track file {name} init value {t} is invalid"),
                                );
                                0
                            }
                        };
                    } else if t == "overwrite" {
                        init.overwrite = true;
                    } else {
                        general(
                            cx,
                            "track-file-init",
                            &w.span,
                            format!("Unknown track file init option {t}"),
                        )
                        .help = Some("init_file takes a number and/or 'overwrite'".into());
                    }
                }
                init_file = Some(init);
            }
            _ => reader.unknown(cx, st, "track_file"),
        }
    }
    let end = reader.end_span().unwrap_or_else(|| block.end_span()).clone();
    let have_file = file.is_some();
    let draft = TrackFile {
        name,
        file: file.unwrap_or_default(),
        weight,
        weight_reverse,
        init_file,
        span: Some(stmt.span().clone()),
    };
    let result = finish_block(cx, draft, have_file, &end);
    reader.finish(cx);
    result
}

/// keepalived's `track_file_end_handler`, at the `}` that ended the block.
fn finish_block(cx: &mut Cx<'_>, tf: TrackFile, have_file: bool, end: &Span) -> Option<TrackFile> {
    if !have_file {
        general(
            cx,
            "track-file-no-file",
            end,
            format!("No file set for track_file {} - ignoring", tf.name),
        )
        .help = Some("add 'file PATH' to the block".into());
        return None;
    }
    if let Some(init) = tf.init_file {
        // keepalived writes the file only when running; under -t it only checks the type.
        match cx.host.file_kind(Path::new(&tf.file)) {
            Some(FileKind::Regular { .. }) | None => {}
            Some(_) if init.overwrite => {
                general(
                    cx,
                    "track-file-not-regular",
                    end,
                    format!(
                        "Cannot initialise track file {} - it is not a regular file",
                        tf.name
                    ),
                );
            }
            Some(_) => {}
        }
    }
    Some(tf)
}

#[cfg(test)]
mod tests {
    #[test]
    fn track_file_block() {
        let l = crate::load_str(
            "track_file tf {\n file /run/tf\n weight -5 reverse\n init_file 7 overwrite\n}\n",
        );
        let f = &l.config.vrrp.track_file[0];
        assert_eq!(
            (f.file.as_str(), f.weight, f.weight_reverse),
            ("/run/tf", -5, true)
        );
        assert_eq!(
            f.init_file,
            Some(super::TrackFileInit {
                value: 7,
                overwrite: true
            })
        );
        let l = crate::load_str("track_file tf {\n weight 300\n}\n");
        let m: Vec<&str> = l.diagnostics.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(
            m,
            [
                "number '300' outside range [-254, 254]",
                "Weight (300) for track_file tf must be between [-254..254] inclusive. Ignoring...",
                "No file set for track_file tf - ignoring",
            ]
        );
        assert!(l.config.vrrp.track_file.is_empty());
    }
}
