//! The whole typed configuration and the top-level dispatch to each section's parser.

use crate::cx::Cx;
use crate::diag::Class;
use crate::global_defs::GlobalDefs;
use crate::lvs::LvsConfig;
use crate::syntax::Statement;
use crate::vrrp::VrrpConfig;
use serde::Serialize;

/// Everything a keepalived.conf says, with keepalived's defaults filled in and its
/// adjustments applied (see the diagnostics for each adjustment).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Config {
    pub global_defs: GlobalDefs,
    pub process: ProcessSettings,
    pub vrrp: VrrpConfig,
    pub lvs: LvsConfig,
    /// `bfd_instance` blocks.
    pub bfd: Vec<crate::bfd::BfdInstance>,
    /// `bgp_announce { ... }` (a keepalived-rs extension): addresses announced through a
    /// routing daemon while this director can serve them.
    pub bgp_announce: Vec<crate::announce::AnnouncedAddress>,
}

/// Top-level keywords that set up the process rather than a block.
#[derive(Clone, Debug, Serialize)]
pub struct ProcessSettings {
    /// `net_namespace NAME`: run in this network namespace.
    pub net_namespace: Option<String>,
    /// `net_namespace_ipvs NAME`.
    pub net_namespace_ipvs: Option<String>,
    /// `namespace_with_ipsets`.
    pub namespace_with_ipsets: bool,
    /// `instance NAME`: distinguishes several keepalived processes (pid files, dumps).
    pub instance: Option<String>,
    /// `use_pid_dir`.
    pub use_pid_dir: bool,
    /// `child_wait_time SECS` (keepalived default 5).
    pub child_wait_time_secs: u32,
    /// `linkbeat_use_polling` (deprecated).
    pub linkbeat_use_polling: bool,
}

/// Keywords the top level accepts (also for hints).
pub const TOP_LEVEL_KEYWORDS: &[&str] = &[
    "global_defs",
    "net_namespace",
    "net_namespace_ipvs",
    "namespace_with_ipsets",
    "instance",
    "use_pid_dir",
    "child_wait_time",
    "linkbeat_use_polling",
    "vrrp_script",
    "vrrp_track_process",
    "track_file",
    "interface_up_down_delays",
    "linkbeat_interfaces",
    "vrrp_track_file",
    "vrrp_sync_group",
    "vrrp_instance",
    "static_ipaddress",
    "static_routes",
    "static_rules",
    "garp_group",
    "track_group",
    "virtual_server",
    "virtual_server_group",
    "SSL",
    "bfd_instance",
    // keepalived-rs's own.
    "bgp_announce",
];

/// Reads the top-level statements in order into `config`.
pub(crate) fn parse_top_level(cx: &mut Cx<'_>, statements: &[Statement], config: &mut Config) {
    cx.each_statement(statements, "the top level", &mut |cx, stmt| {
        parse_statement(cx, stmt, config)
    });
    crate::global_defs::finish(cx, &mut config.global_defs, &config.process);
}

fn parse_statement(cx: &mut Cx<'_>, stmt: &Statement, config: &mut Config) -> bool {
    match stmt.keyword() {
        "global_defs" => {
            if let Some(block) = cx.block(stmt) {
                crate::global_defs::parse(cx, block, &mut config.global_defs);
            }
        }
        "net_namespace" | "instance" => {
            cx.no_block(stmt);
            let kw = stmt.keyword();
            let Some(w) = stmt.words.get(1) else {
                let what = if kw == "instance" {
                    "instance"
                } else {
                    "net_namespace"
                };
                cx.report(
                    Class::General,
                    "missing-value",
                    &stmt.end_span(),
                    format!("{what} name missing - ignoring"),
                )
                .help = Some(format!("write '{kw} NAME'"));
                return true;
            };
            let slot = if kw == "instance" {
                &mut config.process.instance
            } else {
                &mut config.process.net_namespace
            };
            if slot.is_some() {
                // First wins.
                cx.report(
                    Class::General,
                    "duplicate",
                    &w.span,
                    format!("Duplicate {kw} definition {} - ignoring", w.text),
                )
                .help = Some(format!("only the first {kw} is used; remove this one"));
            } else {
                *slot = Some(w.text.clone());
                // keepalived keeps pid files in /run/keepalived/ for these.
                config.process.use_pid_dir = true;
            }
        }
        "net_namespace_ipvs" => {
            cx.no_block(stmt);
            if config.process.net_namespace_ipvs.is_some() {
                // keepalived's message reads word 1 unconditionally (exit 2 if absent).
                if let Some(w) = cx.word(stmt, 1) {
                    cx.report(
                        Class::General,
                        "duplicate",
                        &w.span,
                        format!("Duplicate net_namespace_ipvs definition {} - ignoring", w.text),
                    )
                    .help = Some("only the first net_namespace_ipvs is used; remove this one".into());
                }
            } else {
                // No name: IPVS in the default namespace.
                config.process.net_namespace_ipvs =
                    Some(stmt.words.get(1).map(|w| w.text.clone()).unwrap_or_default());
            }
        }
        "bgp_announce" => crate::announce::parse(cx, stmt, config),
        "namespace_with_ipsets" => config.process.namespace_with_ipsets = true,
        "use_pid_dir" => config.process.use_pid_dir = true,
        "linkbeat_use_polling" => config.process.linkbeat_use_polling = true,
        "child_wait_time" => {
            if let Some(w) = cx.word(stmt, 1) {
                match crate::cx::parse_unsigned(&w.text, 0, u32::MAX) {
                    Ok(v) => config.process.child_wait_time_secs = v,
                    Err(e) => {
                        cx.report(
                            Class::InvalidNumber,
                            "invalid-number",
                            &w.span,
                            format!("Invalid child_wait_time {}: {e}", w.text),
                        )
                        .with_token_mut(&w.text)
                        .help = Some("expected a whole number of seconds".into());
                    }
                }
            }
        }
        _ => {
            return crate::vrrp::parse_top_level(cx, stmt, config)
                || crate::lvs::parse_top_level(cx, stmt, config)
                || crate::bfd::parse_top_level(cx, stmt, config);
        }
    }
    true
}

impl Default for ProcessSettings {
    fn default() -> Self {
        ProcessSettings {
            net_namespace: None,
            net_namespace_ipvs: None,
            namespace_with_ipsets: false,
            instance: None,
            use_pid_dir: false,
            child_wait_time_secs: 5,
            linkbeat_use_polling: false,
        }
    }
}
