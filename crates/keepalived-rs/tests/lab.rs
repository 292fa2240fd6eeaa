//! The lab as CI runs it: `keepalived-rs lab --ci` builds the seed cluster in namespaces,
//! plays the story, and each of the five steps must pass within its protocol bound; then
//! nothing of it may be left behind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::process::Command;
use std::time::Duration;

#[test]
fn lab_plays_the_seed_story_within_its_bounds() {
    if !support::can_run("lab", &["ip", "nft", "nginx", "ss"]) {
        return;
    }
    let out = support::run_with_timeout(
        Command::new(support::our_binary()).args(["lab", "--ci"]),
        Duration::from_secs(180),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    for n in 1..=5 {
        assert!(
            text.lines().any(|l| l.contains(&format!("STEP {n} PASS"))),
            "step {n} did not pass:\n{text}"
        );
    }
    assert!(text.contains("5/5 steps passed"), "{text}");
    assert_eq!(out.status.code(), Some(0), "{text}");
    // The failover is measured, not assumed: the second step names a time under its bound.
    let step2 = text.lines().find(|l| l.contains("STEP 2 PASS")).unwrap();
    let secs: f64 = step2
        .split("holds the VIP ")
        .nth(1)
        .and_then(|r| r.split(" s after").next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no failover time in: {step2}"));
    assert!((2.5..=3.95).contains(&secs), "failover {secs} s: {step2}");
    let namespaces = String::from_utf8_lossy(
        &Command::new("ip")
            .args(["netns", "list"])
            .output()
            .unwrap()
            .stdout,
    )
    .into_owned();
    assert!(
        !namespaces.contains("karslab-"),
        "the lab left namespaces: {namespaces}"
    );
    assert!(
        !std::path::Path::new("/run/keepalived-rs/lab").exists(),
        "the lab left its directory"
    );
}
