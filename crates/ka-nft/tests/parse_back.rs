//! `nft -j list table` output (captured from nft 1.0.6 after loading `golden/full.nft` into a
//! kernel) back into the state it was rendered from; tampered listings are caught.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod common;

use common::*;
use ka_lb::Forward;
use ka_nft::{parse, Target};

fn listing(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/golden/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

#[test]
fn the_listing_reads_back_as_the_state_that_was_written() {
    let parsed = parse(
        Some(&listing("full.inet.json")),
        Some(&listing("full.netdev.json")),
        &env(),
    )
    .unwrap();
    assert_eq!(parsed.problems, Vec::<String>::new());
    assert_eq!(parsed.state, sample());
}

#[test]
fn absent_tables_are_an_empty_state() {
    let parsed = parse(None, None, &env()).unwrap();
    assert!(parsed.state.services.is_empty());
}

#[test]
fn a_slot_table_that_does_not_match_the_weights_drops_the_service() {
    // Someone changed a slot by hand: the weights in the registry no longer explain it.
    let json = listing("full.inet.json").replacen(
        r#"[5, {"concat": ["198.51.100.3", 8080]}]"#,
        r#"[5, {"concat": ["198.51.100.1", 80]}]"#,
        1,
    );
    assert_ne!(
        json,
        listing("full.inet.json"),
        "fixture changed: adjust the tampering"
    );
    let parsed = parse(Some(&json), None, &env()).unwrap();
    assert!(!parsed.state.services.contains_key(&vip(80, 80)));
    assert!(parsed.state.services.contains_key(&vip(80, 81)));
    assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
    assert!(
        parsed.problems[0].contains("slot table"),
        "{}",
        parsed.problems[0]
    );
}

#[test]
fn a_weight_edited_in_the_registry_is_caught_by_the_slots() {
    let json = listing("full.inet.json").replacen("w=2 fwd=masq", "w=5 fwd=masq", 1);
    let parsed = parse(Some(&json), None, &env()).unwrap();
    assert_eq!(parsed.problems.len(), 1, "{:?}", parsed.problems);
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    assert!(parse(Some("not json"), None, &env()).is_err());
    assert!(parse(Some("{}"), None, &env()).is_err());
    let parsed = parse(
        Some(r#"{"nftables": [{"map": {"name": "services4", "elem": [1, [2]]}}]}"#),
        None,
        &env(),
    )
    .unwrap();
    assert_eq!(parsed.problems.len(), 2);
}

#[test]
fn persistence_entries_of_a_removed_server_are_found() {
    let json = r#"{"nftables": [{"map": {"family": "inet", "name": "persist_x", "table": "t", "type": "ipv4_addr",
        "map": ["ipv4_addr", "inet_service"], "flags": ["timeout"], "elem": [
        [{"elem": {"val": "192.0.2.0", "timeout": 50, "expires": 41}}, {"concat": ["198.51.100.1", 443]}],
        [{"elem": {"val": "192.0.3.0", "timeout": 50, "expires": 12}}, {"concat": ["198.51.100.2", 443]}]]}}]}"#;
    let t = Target::AddrPort(rs(1, 443, Forward::Masq, 1).key.addr, 443);
    assert_eq!(
        ka_nft::parse::persistence_keys_for(json, &t).unwrap(),
        vec!["192.0.2.0"]
    );
}
