//! The formatter against real ipvsadm: `tests/listing/` holds one IPVS table as
//! `ka_net::listing` read it in the IPVS VM (`table.json`: services, real servers, counters,
//! connection counts, in the kernel's order) and ipvsadm 1.31's output for each view of that
//! same table, taken around the read (`ipvsadm-*.txt`). Captured by
//! `KA_LIST_VM_CAPTURE=crates/ka-lb/tests/listing cargo test -p keepalived-rs --test list_vm`
//! (see `crates/keepalived-rs/tests/list_vm.rs`, which also compares our binary with ipvsadm
//! live).

use ka_lb::listing::{render_service, render_table, Format, ListedService, View};
use serde::Deserialize;

#[derive(Deserialize)]
struct Captured {
    header: String,
    services: Vec<ListedService>,
}

fn captured() -> Captured {
    let text = include_str!("listing/table.json");
    match serde_json::from_str(text) {
        Ok(c) => c,
        Err(e) => panic!("tests/listing/table.json: {e}"),
    }
}

const VIEWS: &[(&str, View, bool, bool)] = &[
    ("plain", View::Plain, false, false),
    ("stats", View::Stats, false, false),
    ("rate", View::Rate, false, false),
    ("thresholds", View::Thresholds, false, false),
    ("persistent-conn", View::PersistentConn, false, false),
    ("tun-info", View::TunInfo, false, false),
    ("stats-exact", View::Stats, true, false),
    ("rate-exact", View::Rate, true, false),
    ("nosort", View::Plain, false, true),
];

fn golden(name: &str) -> String {
    let path = format!("{}/tests/listing/ipvsadm-{name}.txt", env!("CARGO_MANIFEST_DIR"));
    match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => panic!("{path}: {e}"),
    }
}

#[test]
fn every_view_is_ipvsadms_byte_for_byte() {
    let table = captured();
    for (name, view, exact, no_sort) in VIEWS {
        let format = Format {
            view: *view,
            exact: *exact,
            no_sort: *no_sort,
        };
        let ours = render_table(&table.header, &table.services, format);
        let theirs = golden(name);
        if ours != theirs {
            let diff: Vec<String> = ours
                .lines()
                .zip(theirs.lines())
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .map(|(i, (a, b))| format!("line {}:\n  ours:    {a:?}\n  ipvsadm: {b:?}", i + 1))
                .collect();
            panic!(
                "view {name}: {} lines ours, {} ipvsadm's\n{}",
                ours.lines().count(),
                theirs.lines().count(),
                diff.join("\n")
            );
        }
    }
}

#[test]
fn the_capture_covers_what_it_should() {
    // Sorting that differs from the kernel's order, K scaling, ActiveConn, PersistConn,
    // IPv6, firewall marks (one of 2^31 or more), tunnels of each type.
    let plain = golden("plain");
    assert_ne!(plain, golden("nosort"));
    assert!(golden("stats").contains("K "));
    assert!(plain.contains("FWM  -2147483646"));
    assert!(plain.contains("FWM  2 IPv6"));
    let tun = golden("tun-info");
    for t in ["ipip", "gue:6080:r+c", "gre:+c"] {
        assert!(tun.contains(t), "{t}");
    }
    let table = captured();
    let dests = table.services.iter().flat_map(|s| &s.dests);
    assert!(dests.clone().any(|d| d.active_conns > 0));
    assert!(dests.clone().any(|d| d.inactive_conns > 0));
    assert!(dests.clone().any(|d| d.persist_conns > 0));
}

#[test]
fn one_service_is_the_titles_and_its_block() {
    // ipvsadm -Ln -t SERVICE prints list_all's block for it, without the header line.
    let table = captured();
    let plain = golden("plain");
    let lines: Vec<&str> = plain.lines().collect();
    for service in &table.services {
        let text = render_service(service, Format::default());
        let mut block = text.lines().skip(2);
        let first = block.next().unwrap_or_default();
        let at = lines
            .iter()
            .position(|l| *l == first)
            .unwrap_or_else(|| panic!("{first:?} is not in ipvsadm's listing"));
        for (i, line) in block.enumerate() {
            assert_eq!(line, lines[at + 1 + i]);
        }
        assert!(text.starts_with(&lines[1..3].join("\n")));
    }
}
