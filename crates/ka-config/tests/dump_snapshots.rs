//! `--dump-conf` snapshots: the resolved configuration (`serde_json::to_string_pretty` of
//! `Loaded::config`, as `keepalived-rs --dump-conf` prints it) and the diagnostics of the seed
//! cluster's configurations and of two keepalived samples.
//!
//! Snapshots live in `tests/snapshots/NAME.json` and `tests/snapshots/NAME.diagnostics.txt`.
//! A difference fails the test; after reviewing it, `KA_UPDATE_SNAPSHOTS=1 cargo test -p
//! ka-config --test dump_snapshots` rewrites them. The values that matter are also asserted
//! one by one below, so that a behaviour change cannot be snapshotted away unnoticed.
//!
//! Every file is read from a [`MemoryHost`] as `/etc/keepalived/keepalived.conf`, with the
//! interfaces enp0s3, eth0 and eth1 and the host name [`HOSTNAME`] (the default `router_id`),
//! so the output does not depend on the machine. Files in `../shared` (beside the checkout)
//! are skipped with a loud message when it is missing, unless `KA_REQUIRE_TOOLS` is set.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use ka_config::host::MemoryHost;
use ka_config::{LoadOptions, Loaded};
use serde_json::Value;
use std::path::{Path, PathBuf};

const HOSTNAME: &str = "lb-snapshot";
const INTERFACES: &[&str] = &["enp0s3", "eth0", "eth1"];
const CONFIG_PATH: &str = "/etc/keepalived/keepalived.conf";

/// The seed cluster's password: it must never appear in a dump.
const SEED_PASSWORD: &str = "keepsync";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the checkout, or None (with a loud message) when it is missing.
fn shared_dir(test: &str) -> Option<PathBuf> {
    let dir = manifest_dir().join("../../../shared");
    if dir.is_dir() {
        return Some(dir.canonicalize().unwrap_or(dir));
    }
    let msg = format!(
        "{test}: {} (seed cluster and keepalived samples) is missing",
        dir.display()
    );
    if std::env::var_os("KA_REQUIRE_TOOLS").is_some() {
        panic!("{msg} (KA_REQUIRE_TOOLS is set, so this is a failure)");
    }
    eprintln!("\n*** SKIPPED {msg} ***\n");
    None
}

/// A configuration loaded for a snapshot, with its dump parsed back for assertions.
struct Dump {
    text: String,
    loaded: Loaded,
    json: Value,
    json_text: String,
}

impl Dump {
    fn at(&self, pointer: &str) -> &Value {
        self.json
            .pointer(pointer)
            .unwrap_or_else(|| panic!("{pointer} is not in the dump"))
    }

    /// The 1-based line of the first line of the source containing `needle`.
    fn line_of(&self, needle: &str) -> u32 {
        let index = self
            .text
            .lines()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{needle:?} is not in the configuration"));
        u32::try_from(index + 1).unwrap()
    }

    /// Asserts one diagnostic with this code, at this line, whose message contains `text`.
    fn assert_diagnostic(&self, code: &str, line: u32, text: &str) {
        let found = self.loaded.diagnostics.iter().any(|d| {
            d.code == code && d.span.as_ref().is_some_and(|s| s.line == line) && d.message.contains(text)
        });
        assert!(
            found,
            "no {code} diagnostic at line {line} containing {text:?}; diagnostics:\n{}",
            diagnostics_text(&self.loaded)
        );
    }

    fn has_code(&self, code: &str) -> bool {
        self.loaded.diagnostics.iter().any(|d| d.code == code)
    }
}

fn load(source: &Path) -> Dump {
    let text =
        std::fs::read_to_string(source).unwrap_or_else(|e| panic!("cannot read {}: {e}", source.display()));
    let mut host = MemoryHost::new()
        .with_file(CONFIG_PATH, text.clone())
        .with_interfaces(INTERFACES);
    host.hostname = HOSTNAME.into();
    let loaded = ka_config::load(Path::new(CONFIG_PATH), &LoadOptions::default(), &host);
    assert!(
        loaded.found,
        "{} was not found in the in-memory host",
        source.display()
    );
    let json_text = serde_json::to_string_pretty(&loaded.config).unwrap() + "\n";
    let json = serde_json::from_str(&json_text).unwrap();
    Dump {
        text,
        loaded,
        json,
        json_text,
    }
}

fn diagnostics_text(loaded: &Loaded) -> String {
    let mut out = String::new();
    for d in &loaded.diagnostics {
        out += &format!("{d}\n");
    }
    out + &format!("-- test exit code: {}\n", loaded.test_exit_code())
}

/// Loads `source`, then compares its dump and diagnostics with the snapshots called `name`
/// (or rewrites them under KA_UPDATE_SNAPSHOTS=1).
fn snapshot(name: &str, source: &Path) -> Dump {
    let source = &source.canonicalize().unwrap_or_else(|_| source.to_path_buf());
    let dump = load(source);
    let dir = manifest_dir().join("tests/snapshots");
    let update = std::env::var("KA_UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    let mut problems = Vec::new();
    for (file, actual) in [
        (format!("{name}.json"), dump.json_text.clone()),
        (format!("{name}.diagnostics.txt"), diagnostics_text(&dump.loaded)),
    ] {
        let path = dir.join(&file);
        if update {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&path, &actual).unwrap();
            continue;
        }
        match std::fs::read_to_string(&path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => problems.push(format!(
                "{file} differs:\n{}",
                first_difference(&expected, &actual)
            )),
            Err(e) => problems.push(format!("{file}: {e}")),
        }
    }
    assert!(
        problems.is_empty(),
        "snapshot {name} (from {}):\n{}\nReview the change, then rerun with KA_UPDATE_SNAPSHOTS=1 to accept it.",
        source.display(),
        problems.join("\n")
    );
    dump
}

/// The differing lines (by position, at most ten), `-` expected, `+` actual.
fn first_difference(expected: &str, actual: &str) -> String {
    let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
    let differing: Vec<usize> = (0..e.len().max(a.len()))
        .filter(|&i| e.get(i) != a.get(i))
        .collect();
    let mut out = String::new();
    for &i in differing.iter().take(10) {
        out += &format!(
            "line {}:
",
            i + 1
        );
        if let Some(line) = e.get(i) {
            out += &format!("- {line}\n");
        }
        if let Some(line) = a.get(i) {
            out += &format!("+ {line}\n");
        }
    }
    out += &format!(
        "({} differing lines; {} lines expected, {} actual)",
        differing.len(),
        e.len(),
        a.len()
    );
    out
}

/// Every object key in the dump, at any depth.
fn keys(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

/// The director pair of the seed cluster (examples/seed is the same pair moved to
/// documentation addresses): what keepalived 2.2.7 actually runs, after vrrp_strict.
fn check_seed(dump: &Dump, master: bool, network: &str) {
    let vip = format!("{network}.99");
    let instance = "/vrrp/vrrp_instance/0";
    assert_eq!(dump.at("/vrrp/vrrp_instance").as_array().unwrap().len(), 1);
    assert_eq!(dump.at(&format!("{instance}/name")), "VI_1");
    assert_eq!(dump.at(&format!("{instance}/virtual_router_id")), 51);
    assert_eq!(
        dump.at(&format!("{instance}/priority")),
        if master { 101 } else { 100 }
    );
    assert_eq!(dump.at(&format!("{instance}/interface")), "enp0s3");
    assert_eq!(dump.at(&format!("{instance}/version")), 2);
    // advert_int 1: configured in µs, resolved in centiseconds.
    assert_eq!(dump.at(&format!("{instance}/advert_int_configured")), 1_000_000);
    assert_eq!(dump.at(&format!("{instance}/advert_int")), 100);
    let vips = dump
        .at(&format!("{instance}/virtual_ipaddress"))
        .as_array()
        .unwrap();
    assert_eq!(vips.len(), 1);
    assert_eq!(vips[0]["addr"], vip.as_str());
    assert_eq!(
        dump.at("/global_defs/router_id"),
        if master { "LVS_11" } else { "LVS_12" }
    );

    // vrrp_strict: state MASTER without being the address owner starts as BACKUP, PASS
    // authentication is dropped (the password is kept out of the dump, only its presence
    // shows), the VIP is not accepted (no_accept), lower-priority adverts are not answered.
    assert_eq!(dump.at("/global_defs/vrrp_strict"), true);
    assert_eq!(dump.at(&format!("{instance}/strict_mode")), true);
    assert_eq!(dump.at(&format!("{instance}/state")), "BACKUP");
    assert_eq!(dump.at(&format!("{instance}/auth_type")), &Value::Null);
    assert_eq!(dump.at(&format!("{instance}/has_auth_pass")), true);
    assert_eq!(dump.at(&format!("{instance}/accept")), false);
    assert_eq!(dump.at(&format!("{instance}/lower_prio_no_advert")), true);
    assert!(
        !dump.json_text.contains(SEED_PASSWORD),
        "the password appears in the dump"
    );
    let mut all_keys = Vec::new();
    keys(&dump.json, &mut all_keys);
    assert!(
        !all_keys.iter().any(|k| k == "auth_pass"),
        "an auth_pass field is in the dump"
    );

    // Each adjustment is a diagnostic on the instance.
    let vi = dump.line_of("vrrp_instance VI_1");
    if master {
        dump.assert_diagnostic("strict-state", vi, "State MASTER must match being address owner");
    } else {
        assert!(
            !dump.has_code("strict-state"),
            "the backup already starts as BACKUP"
        );
    }
    dump.assert_diagnostic(
        "instance-adjusted",
        vi,
        "Strict mode does not support authentication. Ignoring.",
    );
    dump.assert_diagnostic("lint-strict-no-accept", vi, &vip);
    // keepalived 2.2.7 refuses 0 for these (its range starts at 1 µs) and keeps the default.
    for kw in ["vrrp_garp_interval", "vrrp_gna_interval"] {
        dump.assert_diagnostic(
            "invalid-number",
            dump.line_of(kw),
            &format!("{kw} '0' is invalid"),
        );
        assert_eq!(dump.at(&format!("/global_defs/{kw}")), 0);
    }

    // The LVS side.
    assert_eq!(dump.at("/lvs/virtual_servers").as_array().unwrap().len(), 1);
    let vs = "/lvs/virtual_servers/0";
    assert_eq!(dump.at(&format!("{vs}/key/addr/ip")), vip.as_str());
    assert_eq!(dump.at(&format!("{vs}/key/addr/port")), 80);
    assert_eq!(dump.at(&format!("{vs}/protocol")), "TCP");
    assert_eq!(dump.at(&format!("{vs}/lvs_sched")), "lc");
    assert_eq!(dump.at(&format!("{vs}/forwarding/lvs_method")), "DR");
    assert_eq!(dump.at(&format!("{vs}/persistence_timeout_secs")), 50);
    assert_eq!(dump.at(&format!("{vs}/delay_loop")), 6_000_000); // µs
    let real_servers = dump.at(&format!("{vs}/real_servers")).as_array().unwrap();
    assert_eq!(real_servers.len(), 2);
    for (rs, last) in real_servers.iter().zip(["13", "14"]) {
        assert_eq!(rs["ip"], format!("{network}.{last}").as_str());
        assert_eq!(rs["port"], 80);
        assert_eq!(rs["weight"], 1);
        assert_eq!(rs["forwarding"]["lvs_method"], "DR");
        let checkers = rs["checkers"].as_array().unwrap();
        assert_eq!(checkers.len(), 1);
        assert_eq!(checkers[0]["kind"], "TCP_CHECK");
        assert_eq!(checkers[0]["connect_timeout"], 3_000_000); // µs
        assert_eq!(checkers[0]["connect_port"], 80);
        assert_eq!(checkers[0]["connect_ip"], rs["ip"]);
    }
    if !master {
        // nb_get_retry is not a TCP_CHECK keyword in 2.2.7; delay_before_retry 3 is.
        dump.assert_diagnostic("unknown-keyword", dump.line_of("nb_get_retry"), "nb_get_retry");
        assert_eq!(real_servers[0]["checkers"][0]["delay_before_retry"], 3_000_000);
    }

    // keepalived -t exits 5 (errors, but it runs); nothing stops it.
    assert_eq!(dump.loaded.test_exit_code(), 5);
    assert!(!dump.loaded.cannot_run());
}

#[test]
fn seed_example_master() {
    let dump = snapshot(
        "seed-example-master",
        &manifest_dir().join("../../examples/seed/master.conf"),
    );
    check_seed(&dump, true, "192.0.2");
}

#[test]
fn seed_example_backup() {
    let dump = snapshot(
        "seed-example-backup",
        &manifest_dir().join("../../examples/seed/backup.conf"),
    );
    check_seed(&dump, false, "192.0.2");
}

#[test]
fn seed_cluster_master() {
    let Some(shared) = shared_dir("seed_cluster_master") else {
        return;
    };
    let dump = snapshot("seed-cluster-master", &shared.join("seed-cluster/master.conf"));
    check_seed(&dump, true, "192.168.1");
}

#[test]
fn seed_cluster_backup() {
    let Some(shared) = shared_dir("seed_cluster_backup") else {
        return;
    };
    let dump = snapshot("seed-cluster-backup", &shared.join("seed-cluster/backup.conf"));
    check_seed(&dump, false, "192.168.1");
}

#[test]
fn sample_vrrp_sync() {
    let Some(shared) = shared_dir("sample_vrrp_sync") else {
        return;
    };
    let dump = snapshot(
        "sample-vrrp-sync",
        &shared.join("keepalived-samples/keepalived.conf.vrrp.sync"),
    );
    // No router_id in the file: the host name.
    assert_eq!(dump.at("/global_defs/router_id"), HOSTNAME);
    let groups = dump.at("/vrrp/vrrp_sync_group").as_array().unwrap();
    let members: Vec<(&str, usize)> = groups
        .iter()
        .map(|g| {
            (
                g["name"].as_str().unwrap(),
                g["members"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(members, [("G1", 7), ("G2", 2)]);
    let instances = dump.at("/vrrp/vrrp_instance").as_array().unwrap();
    assert_eq!(instances.len(), 9);
    for v in instances {
        let name = v["name"].as_str().unwrap();
        let group = if matches!(name, "VI_3" | "VI_4") {
            "G2"
        } else {
            "G1"
        };
        assert_eq!(v["sync_group"], group, "{name}");
        assert_eq!(v["priority"], 100, "{name}");
        // G1's members say `state MASTER` but none is the address owner (priority 255), so
        // keepalived 2.2.7 starts the whole group as BACKUP (its -d dump: "Wantstate =
        // BACKUP" for all nine).
        assert_eq!(v["state"], "BACKUP", "{name}");
    }
    // The notify scripts do not exist on the in-memory host, so (as keepalived does) they
    // are dropped, with a note each.
    for (kw, script) in [
        ("notify_backup", "vrrp.back"),
        ("notify_master", "vrrp.mast"),
        ("notify_fault", "vrrp.fault"),
    ] {
        dump.assert_diagnostic("script-not-found", dump.line_of(kw), script);
        assert_eq!(groups[0][kw], Value::Null);
    }
    assert_eq!(dump.loaded.test_exit_code(), 0);
}

#[test]
fn sample_virtual_server_group() {
    let Some(shared) = shared_dir("sample_virtual_server_group") else {
        return;
    };
    let dump = snapshot(
        "sample-virtual-server-group",
        &shared.join("keepalived-samples/keepalived.conf.virtual_server_group"),
    );
    assert_eq!(dump.at("/global_defs/router_id"), "LVS_DEVEL");
    assert_eq!(dump.at("/global_defs/smtp_connect_timeout"), 30_000_000); // µs
    let group = dump.at("/lvs/virtual_server_groups/0");
    assert_eq!(group["name"], "VSG_1");
    let ranges: Vec<(&str, &str, u64)> = group["addresses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["start"].as_str().unwrap(),
                a["end"].as_str().unwrap(),
                a["port"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        ranges,
        [
            ("10.0.0.1", "10.0.0.1", 8080),
            ("10.0.0.2", "10.0.0.2", 80),
            ("192.168.200.1", "192.168.200.1", 1358),
            ("192.168.200.3", "192.168.200.10", 80),
        ]
    );
    let fwmarks: Vec<u64> = group["fwmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fwmark"].as_u64().unwrap())
        .collect();
    assert_eq!(fwmarks, [1, 2]);
    let vs = "/lvs/virtual_servers/0";
    assert_eq!(dump.at("/lvs/virtual_servers").as_array().unwrap().len(), 1);
    assert_eq!(dump.at(&format!("{vs}/key/group/name")), "VSG_1");
    assert_eq!(dump.at(&format!("{vs}/lvs_sched")), "rr");
    assert_eq!(dump.at(&format!("{vs}/forwarding/lvs_method")), "NAT");
    assert_eq!(dump.at(&format!("{vs}/persistence_timeout_secs")), 50);
    assert_eq!(dump.at(&format!("{vs}/protocol")), "TCP");
    let real_servers = dump.at(&format!("{vs}/real_servers")).as_array().unwrap();
    assert_eq!(real_servers.len(), 2);
    for (rs, ip) in real_servers.iter().zip(["192.168.200.1", "192.168.200.2"]) {
        assert_eq!(rs["ip"], ip);
        assert_eq!(rs["port"], 1358);
        let checker = &rs["checkers"][0];
        let url = &checker["kind"]["HTTP_GET"]["url"][0];
        assert_eq!(url["path"], "/testurl3/test.jsp");
        assert_eq!(url["digest"], "640205b7b0fc66c1ea91c463fac6334d");
        assert_eq!(checker["connect_timeout"], 3_000_000);
        assert_eq!(checker["retry"], 3);
        assert_eq!(checker["delay_before_retry"], 3_000_000);
    }
    assert!(
        dump.loaded.diagnostics.is_empty(),
        "{}",
        diagnostics_text(&dump.loaded)
    );
    assert_eq!(dump.loaded.test_exit_code(), 0);
}
