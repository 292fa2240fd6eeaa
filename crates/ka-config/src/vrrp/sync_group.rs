//! `vrrp_sync_group NAME { group { VI ... } ... }`: instances that change state together.

use crate::cx::{check_true_false, Cx};
use crate::diag::Span;
use crate::script::{self, Script};
use crate::syntax::Statement;
use serde::Serialize;

use super::common::{self, general};
use super::globals::VrrpGlobals;
use super::track_refs::{self, RefKind, TrackedInterface, TrackedRef};
use super::walk::{self, Step};
use super::{aborted, env, VrrpConfig};

/// Keywords of `vrrp_sync_group`.
pub const KEYWORDS: &[&str] = &[
    "group",
    "track_interface",
    "track_script",
    "track_file",
    "track_process",
    "track_bfd",
    "notify_backup",
    "notify_master",
    "notify_fault",
    "notify_stop",
    "notify",
    "smtp_alert",
    "global_tracking",
    "sync_group_tracking_weight",
    "notify_priority_changes",
];

/// One `vrrp_sync_group`.
#[derive(Clone, Debug, Serialize)]
pub struct SyncGroup {
    pub name: String,
    /// `group { ... }`: the member instance names as written (None: no or empty block).
    pub group: Option<Vec<String>>,
    /// The members keepalived accepted (resolved): existing instances, each in one group only.
    pub members: Vec<String>,
    pub track_interface: Vec<TrackedInterface>,
    pub track_script: Vec<TrackedRef>,
    pub track_file: Vec<TrackedRef>,
    pub track_process: Vec<TrackedRef>,
    pub track_bfd: Vec<TrackedRef>,
    pub notify_backup: Option<Script>,
    pub notify_master: Option<Script>,
    pub notify_fault: Option<Script>,
    pub notify_stop: Option<Script>,
    /// `notify SCRIPT`: run with GROUP, name, state, priority appended.
    pub notify: Option<Script>,
    /// `smtp_alert` (resolved from `smtp_alert_vrrp`, then `smtp_alert`, else false).
    pub smtp_alert: Option<bool>,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`): weights of the
    /// members' own tracked objects apply instead of being ignored.
    pub sync_group_tracking_weight: bool,
    /// `notify_priority_changes`.
    pub notify_priority_changes: Option<bool>,
    #[serde(skip)]
    pub span: Option<Span>,
    /// Where the group list is, for messages about its members.
    #[serde(skip)]
    pub(crate) group_spans: Vec<Span>,
}

/// `vrrp_sync_group NAME { ... }`.
pub(crate) fn parse(cx: &mut Cx<'_>, g: &VrrpGlobals, vrrp: &mut VrrpConfig, stmt: &Statement) {
    if stmt.words.len() != 2 {
        general(
            cx,
            "sync-group-name",
            stmt.span(),
            "vrrp_sync_group must have a name - skipping",
        )
        .help = Some("write 'vrrp_sync_group NAME {' with a single name".into());
        return;
    }
    let name = stmt.words[1].text.clone();
    if vrrp.vrrp_sync_group.iter().any(|s| s.name == name) {
        general(
            cx,
            "sync-group-duplicate",
            &stmt.words[1].span,
            format!("vrrp sync group {name} already defined"),
        );
        return;
    }
    let Some(block) = cx.block(stmt) else { return };
    let mut sg = SyncGroup {
        name: name.clone(),
        group: None,
        members: Vec::new(),
        track_interface: Vec::new(),
        track_script: Vec::new(),
        track_file: Vec::new(),
        track_process: Vec::new(),
        track_bfd: Vec::new(),
        notify_backup: None,
        notify_master: None,
        notify_fault: None,
        notify_stop: None,
        notify: None,
        smtp_alert: None,
        sync_group_tracking_weight: false,
        notify_priority_changes: None,
        span: Some(stmt.span().clone()),
        group_spans: Vec::new(),
    };
    // A second `group` block makes keepalived skip it and leave the sync group: what
    // follows is read at the top level.
    let walked = walk::walk(
        cx,
        walk::events(block),
        "vrrp_sync_group",
        &mut |cx, st, queue| {
            if st.keyword() == "group" && sg.group.is_some() {
                general(
                cx,
                "sync-group-twice",
                st.span(),
                format!("Group list already specified for sync group {name}"),
            )
            .help = Some(
                "list all members in one 'group { }' block; keepalived reads the rest of this block as top-level keywords"
                    .into(),
            );
                return Step::LeaveBlock;
            }
            if !keyword(cx, g, vrrp, &mut sg, st) {
                return Step::Unknown;
            }
            if !matches!(
                st.keyword(),
                "group" | "track_interface" | "track_script" | "track_file" | "track_process" | "track_bfd"
            ) {
                walk::stray_block(cx, st, queue);
            }
            Step::Known
        },
    );
    if !aborted(cx) {
        vrrp.vrrp_sync_group.push(sg);
        walk::finish_at_top_level(cx, walked.rest);
    }
}

fn keyword(
    cx: &mut Cx<'_>,
    g: &VrrpGlobals,
    vrrp: &mut VrrpConfig,
    sg: &mut SyncGroup,
    st: &Statement,
) -> bool {
    let kw = st.keyword();
    let name = sg.name.clone();
    match kw {
        "group" => {
            let words = common::value_words(cx, st);
            if words.is_empty() {
                general(
                    cx,
                    "sync-group-empty",
                    &common::value_block_end(st),
                    format!("Warning - sync group {name} has empty group block"),
                );
            } else {
                sg.group = Some(words.iter().map(|w| w.text.clone()).collect());
                sg.group_spans = words.iter().map(|w| w.span.clone()).collect();
            }
        }
        "track_interface" => {
            let mut e = env(vrrp, g);
            for line in common::value_lines(cx, st) {
                track_refs::track_interface_line(cx, &mut e, &name, line, &mut sg.track_interface);
            }
        }
        "track_script" | "track_file" | "track_process" | "track_bfd" => {
            let (kind, list) = match kw {
                "track_script" => (RefKind::Script, &mut sg.track_script),
                "track_file" => (RefKind::File, &mut sg.track_file),
                "track_process" => (RefKind::Process, &mut sg.track_process),
                _ => (RefKind::Bfd, &mut sg.track_bfd),
            };
            track_refs::parse_track_block(cx, &mut env(vrrp, g), kind, &name, st, list);
        }
        "notify_backup" | "notify_master" | "notify_fault" | "notify_stop" | "notify" => {
            let slot = match kw {
                "notify_backup" => &mut sg.notify_backup,
                "notify_master" => &mut sg.notify_master,
                "notify_fault" => &mut sg.notify_fault,
                "notify_stop" => &mut sg.notify_stop,
                _ => &mut sg.notify,
            };
            if slot.is_some() {
                // keepalived reads word 1 only to name the ignored script.
                let Some(w) = cx.word(st, 1) else { return true };
                let what = if kw == "notify" {
                    "notify script".to_string()
                } else {
                    format!("{kw} script")
                };
                general(
                    cx,
                    "notify-twice",
                    &w.span,
                    format!(
                        "vrrp group {name}: {what} already specified - ignoring {}",
                        w.text
                    ),
                );
                return true;
            }
            *slot =
                script::notify_script_init(cx, st, "notify", &mut vrrp.state.script_users, g.script_security);
        }
        "smtp_alert" => match st.words.get(1) {
            None => sg.smtp_alert = Some(true),
            Some(w) => match check_true_false(&w.text) {
                Some(b) => sg.smtp_alert = Some(b),
                None => {
                    general(
                        cx,
                        "sync-group-bool",
                        &w.span,
                        format!("Invalid vrrp_group smtp_alert parameter {}", w.text),
                    );
                }
            },
        },
        "global_tracking" => {
            general(
                cx,
                "global-tracking-deprecated",
                st.span(),
                format!("({name}) global_tracking is deprecated. Use track_interface/script/file on the sync group"),
            )
            .help = Some("use 'sync_group_tracking_weight', or track objects on the sync group".into());
            sg.sync_group_tracking_weight = true;
        }
        "sync_group_tracking_weight" => {
            sg.sync_group_tracking_weight = true;
        }
        "notify_priority_changes" => {
            match st.words.get(1) {
                None => sg.notify_priority_changes = Some(true),
                Some(w) => match check_true_false(&w.text) {
                    Some(b) => sg.notify_priority_changes = Some(b),
                    None => {
                        general(
                            cx,
                            "sync-group-bool",
                            &w.span,
                            format!("({name}) Invalid value '{}' for sync group notify_priority_changes specified", w.text),
                        );
                    }
                },
            }
        }
        _ => return false,
    }
    true
}
