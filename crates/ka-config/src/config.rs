//! The whole typed configuration and the top-level dispatch to each section's parser.

use crate::cx::Cx;
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
];

/// Reads the top-level statements in order into `config`.
pub(crate) fn parse_top_level(cx: &mut Cx<'_>, statements: &[Statement], config: &mut Config) {
    for stmt in statements {
        match stmt.keyword() {
            "global_defs" => {
                if let Some(block) = cx.block(stmt) {
                    crate::global_defs::parse(cx, block, &mut config.global_defs);
                }
            }
            "net_namespace" | "net_namespace_ipvs" | "instance" => {
                cx.no_block(stmt);
                if let Some(w) = cx.word(stmt, 1) {
                    let value = Some(w.text.clone());
                    match stmt.keyword() {
                        "net_namespace" => config.process.net_namespace = value,
                        "net_namespace_ipvs" => config.process.net_namespace_ipvs = value,
                        _ => config.process.instance = value,
                    }
                }
            }
            "namespace_with_ipsets" => config.process.namespace_with_ipsets = true,
            "use_pid_dir" => config.process.use_pid_dir = true,
            "linkbeat_use_polling" => config.process.linkbeat_use_polling = true,
            "child_wait_time" => {
                if let Some(v) = cx.unsigned(stmt, 1, 0, u32::MAX) {
                    config.process.child_wait_time_secs = v;
                }
            }
            _ => {
                let handled = crate::vrrp::parse_top_level(cx, stmt, config)
                    || crate::lvs::parse_top_level(cx, stmt, config)
                    || crate::bfd::parse_top_level(cx, stmt, config);
                if !handled {
                    cx.unknown_keyword(stmt, "the top level");
                }
            }
        }
    }
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
