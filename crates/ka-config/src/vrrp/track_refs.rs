//! The tracking blocks of `vrrp_instance` and `vrrp_sync_group`: `track_interface`,
//! `track_script`, `track_file`, `track_process` and `track_bfd`. Each line is
//! `NAME [weight W [reverse|noreverse]]`; the named script, file, process or BFD instance
//! must be defined *earlier* in the configuration.

use crate::cx::Cx;
use crate::syntax::Statement;
use serde::Serialize;

use super::common::{self, general, IfLookup};
use super::Env;

/// A `track_interface` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackedInterface {
    pub name: String,
    /// 0: the interface going down means FAULT; otherwise added to (or, with `reverse`,
    /// subtracted from) the priority while the interface is up. 255 is keepalived's internal
    /// "not tracked" marker for the instance's own interface under `dont_track_primary`.
    pub weight: i32,
    pub weight_reverse: bool,
}

/// A `track_script`, `track_file`, `track_process` or `track_bfd` entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackedRef {
    /// The `vrrp_script`, `track_file`, `vrrp_track_process` or `bfd_instance` name.
    pub name: String,
    /// Defaults to the tracked object's own weight.
    pub weight: i32,
    pub weight_reverse: bool,
}

/// keepalived's `alloc_track_if` for one line of `track_interface`.
pub(crate) fn track_interface_line(
    cx: &mut Cx<'_>,
    env: &mut Env<'_>,
    owner: &str,
    line: &Statement,
    list: &mut Vec<TrackedInterface>,
) {
    let Some(first) = line.words.first() else { return };
    let tracked = first.text.as_str();
    if common::lookup_interface(cx, env.state, env.globals, tracked, &first.span) == IfLookup::Missing {
        general(
            cx,
            "interface-missing",
            &first.span,
            format!("({owner}) tracked interface {tracked} doesn't exist"),
        )
        .with_token_mut(tracked)
        .help = Some("name an existing interface, or set 'dynamic_interfaces' in global_defs".into());
        return;
    }
    if list.iter().any(|t| t.name == tracked) {
        general(
            cx,
            "track-duplicate",
            &first.span,
            format!("({owner}) duplicate track_interface {tracked} - ignoring"),
        );
        return;
    }
    let mut weight = 0;
    let mut reverse = false;
    if let Some(opt) = line.words.get(1) {
        if opt.text != "weight" {
            general(
                cx,
                "track-option",
                &opt.span,
                format!(
                    "({owner}) unknown track_interface {tracked} option {} - ignoring",
                    opt.text
                ),
            )
            .help = Some("expected 'weight W [reverse]'".into());
            return;
        }
        let Some(w) = line.words.get(2) else {
            general(
                cx,
                "track-weight",
                &opt.span,
                format!("({owner}) weight without value specified for track_interface {tracked} - ignoring"),
            );
            return;
        };
        weight = match common::read_int(cx, w, -254, 254) {
            None => {
                general(
                    cx,
                    "track-weight",
                    &w.span,
                    format!(
                        "({owner}) weight {} for {tracked} must be between [-253..253] inclusive. Ignoring...",
                        w.text
                    ),
                );
                0
            }
            Some(v @ (-254 | 254)) => {
                general(
                    cx,
                    "track-weight",
                    &w.span,
                    format!("({owner}) weight for {tracked} cannot be +/-254. Setting to +/-253"),
                );
                v.signum() * 253
            }
            Some(v) => v,
        };
        if let Some(o) = line.words.get(3) {
            if o.text == "reverse" {
                reverse = true;
            } else {
                // keepalived's message really says "track_interace".
                general(
                    cx,
                    "track-weight-option",
                    &o.span,
                    format!(
                        "({owner}) unknown track_interace {tracked} weight option {} - ignoring",
                        o.text
                    ),
                )
                .help = Some("the only weight option here is 'reverse'".into());
            }
        }
    }
    list.push(TrackedInterface {
        name: tracked.to_string(),
        weight,
        weight_reverse: reverse,
    });
}

/// Which kind of tracked object a line refers to: keepalived's four near-identical readers
/// differ in messages, weight range, and whether a bad weight option drops the entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefKind {
    Script,
    File,
    Process,
    Bfd,
}

impl RefKind {
    /// "track script", "track file", ... as keepalived's messages say.
    fn noun(self) -> &'static str {
        match self {
            RefKind::Script => "script",
            RefKind::File => "file",
            RefKind::Process => "process",
            RefKind::Bfd => "bfd",
        }
    }

    fn weight_limit(self) -> i32 {
        if self == RefKind::Bfd {
            253
        } else {
            254
        }
    }
}

/// One line of `track_script`, `track_file`, `track_process` or `track_bfd`. `known` gives
/// the weight and reverse flag of the object of that name, if it was defined earlier.
/// Returns the entry keepalived keeps, if any.
pub(crate) fn track_ref_line(
    cx: &mut Cx<'_>,
    kind: RefKind,
    owner: &str,
    line: &Statement,
    known: Option<(i32, bool)>,
    list: &[TrackedRef],
) -> Option<TrackedRef> {
    let first = line.words.first()?;
    let tracked = first.text.as_str();
    let noun = kind.noun();
    let Some((default_weight, default_reverse)) = known else {
        general(
            cx,
            "track-not-found",
            &first.span,
            format!("({owner}) track {noun} {tracked} not found, ignoring..."),
        )
        .with_token_mut(tracked)
        .help = Some(match kind {
            RefKind::Script => "define the vrrp_script before the instance or group that tracks it".into(),
            RefKind::File => "define the track_file before the instance or group that tracks it".into(),
            RefKind::Process => {
                "define the vrrp_track_process before the instance or group that tracks it".into()
            }
            RefKind::Bfd => "define the bfd_instance before the instance or group that tracks it".into(),
        });
        return None;
    };
    if list.iter().any(|t| t.name == tracked) {
        let kw = match kind {
            RefKind::Script => "track_script",
            RefKind::File => "track_file",
            RefKind::Process => "track_process",
            RefKind::Bfd => "track_bfd",
        };
        general(
            cx,
            "track-duplicate",
            &first.span,
            format!("({owner}) duplicate {kw} {tracked} - ignoring"),
        );
        return None;
    }
    let mut weight = default_weight;
    let mut reverse = default_reverse;
    if let Some(opt) = line.words.get(1) {
        if opt.text != "weight" {
            let msg = if kind == RefKind::Bfd {
                format!(
                    "({owner}) unknown track bfd {tracked} option {} - ignoring",
                    opt.text
                )
            } else {
                format!("({owner}) unknown track {noun} option {} - ignoring", opt.text)
            };
            general(cx, "track-option", &opt.span, msg).help =
                Some("expected 'weight W [reverse|noreverse]'".into());
            return None;
        }
        let Some(w) = line.words.get(2) else {
            general(
                cx,
                "track-weight",
                &opt.span,
                format!("({owner}) weight without value specified for track {noun} {tracked} - ignoring"),
            );
            return None;
        };
        let limit = kind.weight_limit();
        match common::read_int(cx, w, -limit, limit) {
            None => {
                let msg = match kind {
                    RefKind::Script => format!(
                        "({owner}) track script {tracked}: weight must be between [-253..253] inclusive, ignoring..."
                    ),
                    _ => format!(
                        "({owner}) weight for track {noun} {tracked} must be in [-{limit}..{limit}] inclusive. Ignoring..."
                    ),
                };
                general(cx, "track-weight", &w.span, msg);
                weight = default_weight;
            }
            Some(v @ (-254 | 254)) if kind == RefKind::Script => {
                general(
                    cx,
                    "track-weight",
                    &w.span,
                    format!("({owner}) weight for {tracked} cannot be +/-254. Setting to +/-253"),
                );
                weight = v.signum() * 253;
            }
            Some(v) => weight = v,
        }
        if let Some(o) = line.words.get(3) {
            match o.text.as_str() {
                "reverse" => reverse = true,
                "noreverse" => reverse = false,
                other => {
                    let kw = match kind {
                        RefKind::Script => "track_script",
                        RefKind::File => "track file",
                        RefKind::Process => "track_process",
                        RefKind::Bfd => "track bfd",
                    };
                    general(
                        cx,
                        "track-weight-option",
                        &o.span,
                        format!("({owner}) unknown {kw} {tracked} weight option {other} - ignoring"),
                    )
                    .help = Some("expected 'reverse' or 'noreverse'".into());
                    // keepalived drops file and bfd entries here, but keeps the others.
                    if matches!(kind, RefKind::File | RefKind::Bfd) {
                        return None;
                    }
                }
            }
        }
    }
    Some(TrackedRef {
        name: tracked.to_string(),
        weight,
        weight_reverse: reverse,
    })
}

/// Reads a whole tracking block (`track_script { ... }` etc.) of an instance or sync group
/// into `list`. For scripts, tracking resets the script's `init_fail` (keepalived 2.2.7).
pub(crate) fn parse_track_block(
    cx: &mut Cx<'_>,
    env: &mut Env<'_>,
    kind: RefKind,
    owner: &str,
    stmt: &Statement,
    list: &mut Vec<TrackedRef>,
) {
    for line in common::value_lines(cx, stmt) {
        let known = env.lookup(kind, line.keyword());
        if let Some(entry) = track_ref_line(cx, kind, owner, line, known, list) {
            if kind == RefKind::Script {
                env.reset_script_init_state(&entry.name);
            }
            list.push(entry);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::host::MemoryHost;
    use std::path::Path;

    fn msgs(text: &str, ifaces: Option<&[&str]>) -> Vec<String> {
        let mut host = MemoryHost::new().with_file("/k.conf", text);
        if let Some(i) = ifaces {
            host = host.with_interfaces(i);
        }
        let l = crate::load(Path::new("/k.conf"), &Default::default(), &host);
        l.diagnostics
            .iter()
            .filter(|d| d.class != crate::diag::Class::Info)
            .map(|d| {
                let s = d
                    .span
                    .as_ref()
                    .map(|s| format!("{}:{}", s.line, s.column))
                    .unwrap_or_default();
                format!("{s} {:?} {}", d.class, d.message)
            })
            .collect()
    }

    #[test]
    fn track_lines() {
        let conf = "vrrp_script s1 {\n script /bin/true\n weight 5\n}\n\
                    vrrp_instance VI_1 {\n interface eth0\n virtual_router_id 1\n virtual_ipaddress {\n 10.0.0.1\n }\n\
                    track_interface {\n eth1 weight 254\n eth1\n eth9\n eth0 weight 10 up\n }\n\
                    track_script {\n s1 weight 300\n s1\n s2\n }\n}\n";
        let m = msgs(conf, Some(&["eth0", "eth1"]));
        assert_eq!(
            m,
            [
                "12:14 General (VI_1) weight for eth1 cannot be +/-254. Setting to +/-253",
                "13:2 General (VI_1) duplicate track_interface eth1 - ignoring",
                "14:2 General (VI_1) tracked interface eth9 doesn't exist",
                "15:17 General (VI_1) unknown track_interace eth0 weight option up - ignoring",
                "18:12 InvalidNumber number '300' outside range [-254, 254]",
                "18:12 General (VI_1) track script s1: weight must be between [-253..253] inclusive, ignoring...",
                "19:2 General (VI_1) duplicate track_script s1 - ignoring",
                "20:2 General (VI_1) track script s2 not found, ignoring...",
                "14:2 BadInterface Non-existent interface specified in configuration",
            ]
        );
    }
}
