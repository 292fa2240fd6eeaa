//! `-t/--config-test` and `--dump-conf`: read the configuration as keepalived would, print
//! every diagnostic, exit with keepalived's config-test code.

use ka_config::diag::{Class, Diagnostic, Severity};
use ka_config::host::SystemHost;
use ka_config::{LoadOptions, Loaded};
use std::io::Write;
use std::path::Path;

/// Reads the configuration from the real machine, checking interfaces as keepalived does.
pub fn load(path: &Path, config_id: Option<String>) -> Loaded {
    let host = SystemHost {
        check_interfaces: true,
    };
    ka_config::load(path, &LoadOptions { config_id }, &host)
}

/// Writes the diagnostics and a one-line verdict; returns keepalived's `-t` exit code.
pub fn report(loaded: &Loaded, out: &mut dyn Write) -> i32 {
    for d in &loaded.diagnostics {
        let _ = writeln!(out, "{d}");
    }
    // On a kernel without IPVS the daemon programs nftables: say now what it would refuse.
    // Notes only: keepalived's exit code stays what keepalived's would be.
    let nft_notes = if loaded.config.lvs.virtual_servers.is_empty() || ka_net::nft::kernel_has_ipvs() {
        0
    } else {
        let plan = ka_check::plan::build(&loaded.config);
        let problems = crate::daemon::dataplane::nft_problems(&plan, false);
        for p in &problems {
            let place = p.span.as_ref().map(|s| format!("{s}: ")).unwrap_or_default();
            let _ = writeln!(
                out,
                "{place}note[nftables-unsupported]: {} (this kernel has no IPVS: the health checkers program nftables)",
                p.message
            );
        }
        problems.len()
    };
    let code = loaded.test_exit_code();
    let count = |s: Severity| {
        loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity() == s && is_keepalived(d))
            .count()
    };
    let lints = loaded
        .diagnostics
        .iter()
        .filter(|d| d.class == Class::Lint)
        .count()
        + nft_notes;
    let verdict = match code {
        0 => "configuration OK",
        2 => "a keyword is missing its parameter: keepalived would stop reading here",
        4 => "keepalived cannot run this configuration",
        5 => "configuration has errors, keepalived would still run it",
        6 => "scripts are configured without enable_script_security",
        _ => "configuration test failed",
    };
    if !loaded.diagnostics.is_empty() || code != 0 {
        let _ = writeln!(
            out,
            "keepalived-rs: {verdict} (exit {code}; {} fatal, {} errors, {} warnings, {} migration notes)",
            count(Severity::Fatal),
            count(Severity::Error),
            count(Severity::Warning),
            lints
        );
    }
    code
}

fn is_keepalived(d: &Diagnostic) -> bool {
    d.class != Class::Lint
}

/// Runs `-t`. `target` is `Some("")` for stderr, or a file name (keepalived's `-t=FILE`).
pub fn run(path: &Path, config_id: Option<String>, target: &str) -> i32 {
    let loaded = load(path, config_id);
    if target.is_empty() {
        report(&loaded, &mut std::io::stderr().lock())
    } else {
        match std::fs::OpenOptions::new().create(true).append(true).open(target) {
            Ok(mut f) => report(&loaded, &mut f),
            Err(e) => {
                eprintln!("keepalived-rs: cannot open {target}: {e}");
                report(&loaded, &mut std::io::stderr().lock())
            }
        }
    }
}

/// Runs `--dump-conf`: the resolved configuration as JSON on stdout, diagnostics on stderr.
pub fn dump(path: &Path, config_id: Option<String>) -> i32 {
    let loaded = load(path, config_id);
    let code = report(&loaded, &mut std::io::stderr().lock());
    match serde_json::to_string_pretty(&loaded.config) {
        Ok(json) => {
            println!("{json}");
            if loaded.found {
                0
            } else {
                code
            }
        }
        Err(e) => {
            eprintln!("keepalived-rs: cannot serialise the configuration: {e}");
            70
        }
    }
}
