//! Active-active directors over BGP/ECMP with real BIRD (tools/active-active.sh --test): three
//! directors announcing one VIP with `bgp_announce`, DR with lb_algo mh on nftables, a BIRD
//! router with ECMP and BFD, sixty long-lived client connections. The script checks that all
//! three directors carry traffic, that a killed and a silently failed director are routed
//! around (within the BFD bound) without breaking the connections moved to the others, that
//! they come back without breaking any, that a failed real server breaks only its own
//! connections, that `ctl drain` stops new flows, and that SIGTERM withdraws first.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::time::Duration;

#[test]
fn active_active_directors_behind_a_bird_router() {
    if !support::can_run(
        "active_active",
        &["bird", "birdc", "nft", "ip", "nginx", "python3"],
    ) {
        return;
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/active-active.sh");
    let bin = support::our_binary();
    let out = support::run_with_timeout(
        std::process::Command::new(&script)
            .arg("--test")
            .arg("--bin")
            .arg(&bin),
        Duration::from_secs(300),
    );
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains(" passed, 0 failed"), "{said}");
}
