//! Model → nft text, compared with reviewed golden files (regenerate with
//! `KA_UPDATE_GOLDEN=1 cargo test -p ka-nft --test golden` and review the diff). The same
//! files are loaded into a real kernel by ka-net's nft tests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod common;

use common::*;
use ka_lb::{Change, Forward, Scheduler, Service};
use ka_nft::{change_batch, full_ruleset};
use std::path::PathBuf;

fn check(name: &str, text: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("KA_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_default();
    if want != text {
        panic!(
            "{} differs from the generated text (KA_UPDATE_GOLDEN=1 to regenerate):\n{text}",
            path.display()
        );
    }
}

#[test]
fn full_ruleset_of_every_kind_of_service() {
    check("full.nft", &full_ruleset(&sample(), &env()).unwrap());
}

/// Each step as a separate transaction, planned from the state the previous one left.
#[test]
fn change_batches_are_minimal() {
    let env = env();
    let masq = Forward::Masq;
    let steps: Vec<(&str, Vec<Change>)> = vec![
        (
            "health flap: a weighted real server goes quiescent (cycle shrinks: chain rewritten)",
            vec![Change::EditDest(vip(80, 80), rs(1, 80, masq, 0))],
        ),
        (
            "flap back",
            vec![Change::EditDest(vip(80, 80), rs(1, 80, masq, 3))],
        ),
        (
            "Maglev: one real server removed (only its slots change, no rule)",
            vec![Change::DeleteDest(vip(80, 83), rs(1, 83, masq, 1).key)],
        ),
        (
            "fo: the highest weight leaves (one slot)",
            vec![Change::EditDest(vip(80, 84), rs(2, 84, masq, 0))],
        ),
        (
            "persistent service: a real server added",
            vec![Change::AddDest(vip(80, 443), rs(3, 443, masq, 1))],
        ),
        (
            "DR: a real server goes quiescent",
            vec![Change::EditDest(vip(90, 80), rs(8, 80, Forward::Route, 0))],
        ),
        (
            "scheduler change rr -> mh",
            vec![Change::EditService(Service::new(vip(80, 81), Scheduler::Mh))],
        ),
        (
            "new service with two real servers",
            vec![
                Change::AddService(Service::new(vip(80, 8443), Scheduler::Rr)),
                Change::AddDest(vip(80, 8443), rs(1, 8443, masq, 1)),
                Change::AddDest(vip(80, 8443), rs(2, 8443, masq, 1)),
            ],
        ),
        (
            "persistent service removed",
            vec![Change::DeleteService(vip(80, 443))],
        ),
    ];
    let mut state = sample();
    let mut out = String::new();
    for (what, changes) in steps {
        let batch = change_batch(&state, &changes, &env).unwrap();
        out.push_str(&format!("# {what}\n{}\n", batch.text));
        state = batch.after;
    }
    check("changes.nft", &out);
}

#[test]
fn an_unchanged_state_needs_no_command() {
    let st = sample();
    let b = change_batch(&st, &[], &env()).unwrap();
    assert_eq!(b.text, "");
    assert_eq!(b.after, st);
}

#[test]
fn changes_that_do_not_apply_are_refused() {
    let e = change_batch(&sample(), &[Change::DeleteService(vip(1, 1))], &env()).unwrap_err();
    assert_eq!(e.to_string(), "change 1: no virtual service [192.0.2.1]:tcp:1");
}

#[test]
fn unsupported_schedulers_fail_unless_the_fallback_is_chosen() {
    let mut st = sample();
    add(
        &mut st,
        Service::new(vip(70, 80), Scheduler::Wlc),
        &[rs(1, 80, Forward::Masq, 1)],
    );
    let e = full_ruleset(&st, &env()).unwrap_err();
    assert!(e.to_string().contains("use lb_algo wrr"), "{e}");
    let mut env = env();
    env.policy = ka_nft::UnsupportedPolicy::Nearest;
    let text = full_ruleset(&st, &env).unwrap();
    assert!(
        text.contains("comment \"sched=wlc flags=0x0 timeout=0 netmask=0xffffffff via=wrr\""),
        "{text}"
    );
}
