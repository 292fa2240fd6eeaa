//! `keepalived-rs -t` against real keepalived 2.2.7's `keepalived -t` on the same files, in a
//! network namespace that has the interfaces the files name: same exit code, and every
//! problem keepalived reports is reported by us at the same line (or, for keepalived's
//! post-parse messages that carry no line, with the same text).
//!
//! Files: every keepalived sample in ../shared/keepalived-samples, the seed cluster's
//! master.conf and backup.conf, and our own broken configurations
//! (crates/ka-config/tests/broken/*.conf).

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::Netns;

/// Interfaces the sample files name (`interface`, `dev`, `track_interface`, ...).
const INTERFACES: &[&str] = &["eth0", "eth1", "eth2", "eth3", "enp0s3", "eth0.1"];

#[derive(Debug, Clone, PartialEq, Eq)]
struct Message {
    file: Option<String>,
    line: Option<u32>,
    text: String,
}

/// keepalived prints "(FILE: Line N) text", "(Line N) text" or plain "text"; the parse is
/// repeated by several of its processes, so duplicates are dropped.
fn keepalived_messages(stderr: &str) -> Vec<Message> {
    let mut out: Vec<Message> = Vec::new();
    for raw in stderr.lines() {
        let line = raw.trim_end();
        if line.is_empty() {
            continue;
        }
        let parsed = if let Some(rest) = line.strip_prefix('(') {
            match rest.split_once(") ") {
                Some((head, text)) if head.contains("Line ") => {
                    let (file, n) = match head.rsplit_once(": Line ") {
                        Some((f, n)) => (Some(basename(f)), n),
                        None => (None, head.trim_start_matches("Line ")),
                    };
                    Message {
                        file,
                        line: n.trim().parse().ok(),
                        text: text.to_string(),
                    }
                }
                _ => Message {
                    file: None,
                    line: None,
                    text: line.to_string(),
                },
            }
        } else {
            Message {
                file: None,
                line: None,
                text: line.to_string(),
            }
        };
        if !out.contains(&parsed) {
            out.push(parsed);
        }
    }
    out
}

#[derive(Debug)]
struct Ours {
    file: Option<String>,
    line: Option<u32>,
    counts: bool,
    text: String,
}

/// Our lines: "FILE:LINE:COL: severity[code]: text" or "severity[code]: text".
fn our_diagnostics(stderr: &str) -> Vec<Ours> {
    let mut out = Vec::new();
    for line in stderr.lines() {
        if line.starts_with("keepalived-rs:") || line.starts_with("  = help:") || line.trim().is_empty() {
            continue;
        }
        let (place, rest) = match line
            .find(": note[")
            .or_else(|| line.find(": warning["))
            .or_else(|| line.find(": error["))
            .or_else(|| line.find(": fatal["))
        {
            Some(i) => (Some(&line[..i]), &line[i + 2..]),
            None => (None, line),
        };
        let (file, lno) = match place.and_then(|p| {
            let mut parts = p.rsplitn(3, ':');
            let _col = parts.next()?;
            let l = parts.next()?.parse::<u32>().ok()?;
            Some((basename(parts.next()?), l))
        }) {
            Some((f, l)) => (Some(f), Some(l)),
            None => (None, None),
        };
        let text = rest.split_once("]: ").map(|(_, t)| t).unwrap_or(rest).to_string();
        // Notes (migration lints, keepalived's uncounted log lines) never change the exit code.
        let counts = !rest.starts_with("note[");
        out.push(Ours {
            file,
            line: lno,
            counts,
            text,
        });
    }
    out
}

fn basename(p: &str) -> String {
    Path::new(p)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.to_string())
}

/// keepalived messages name the instance first ("(VI_1) ..."); the text after it is what we
/// compare.
fn core_text(text: &str) -> &str {
    let t = text.trim();
    let t = if t.starts_with('(') {
        t.split_once(") ").map(|(_, r)| r).unwrap_or(t)
    } else {
        t
    };
    t.trim_end_matches('.')
}

struct Outcome {
    file: PathBuf,
    problems: Vec<String>,
}

fn compare(ns: &Netns, file: &Path) -> Outcome {
    let f = file.to_str().unwrap();
    let theirs = support::run_with_timeout(
        ns.command("keepalived").args(["-t", "-f", f]),
        Duration::from_secs(60),
    );
    let ours = support::run_with_timeout(
        ns.command(support::our_binary().to_str().unwrap())
            .args(["-t", "-f", f]),
        Duration::from_secs(60),
    );
    let mut problems = Vec::new();
    let (their_code, our_code) = (theirs.status.code(), ours.status.code());
    let their_msgs = keepalived_messages(&String::from_utf8_lossy(&theirs.stderr));
    let our_msgs = our_diagnostics(&String::from_utf8_lossy(&ours.stderr));
    if their_code != our_code {
        problems.push(format!("exit code: keepalived {their_code:?}, ours {our_code:?}"));
    }
    let main_name = basename(f);
    let mut matched = BTreeSet::new();
    for m in &their_msgs {
        let hit = match m.line {
            Some(line) => {
                let mfile = m.file.clone().unwrap_or_else(|| main_name.clone());
                our_msgs
                    .iter()
                    .position(|o| o.line == Some(line) && o.file.as_deref() == Some(mfile.as_str()))
            }
            None => {
                // keepalived may print the same message several times (its processes each
                // parse); every copy of ours with that text is the same report.
                let same: Vec<usize> = (0..our_msgs.len())
                    .filter(|&i| our_msgs[i].text.contains(core_text(&m.text)))
                    .collect();
                matched.extend(same.iter().copied());
                same.first().copied()
            }
        };
        match hit {
            Some(i) => {
                matched.insert(i);
            }
            None => problems.push(format!("keepalived reports {m:?}; we report nothing there")),
        }
    }
    // Every error of ours that changes the exit code must be one keepalived reports too.
    for (i, o) in our_msgs.iter().enumerate() {
        if !o.counts || matched.contains(&i) {
            continue;
        }
        let same_line = their_msgs.iter().any(|m| m.line.is_some() && m.line == o.line);
        if !same_line {
            problems.push(format!("we report {o:?}; keepalived does not"));
        }
    }
    if !problems.is_empty() {
        problems.push(format!(
            "keepalived said:\n{}",
            String::from_utf8_lossy(&theirs.stderr)
        ));
        problems.push(format!("we said:\n{}", String::from_utf8_lossy(&ours.stderr)));
    }
    Outcome {
        file: file.to_path_buf(),
        problems,
    }
}

fn config_files(shared: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shared.join("keepalived-samples"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.push(shared.join("seed-cluster/master.conf"));
    files.push(shared.join("seed-cluster/backup.conf"));
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("../ka-config/tests/broken");
    if let Ok(dir) = std::fs::read_dir(&broken) {
        files.extend(
            dir.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "conf")),
        );
    }
    files.sort();
    files
}

#[test]
fn config_test_matches_keepalived_2_2_7() {
    if !support::can_run("config_test_matches_keepalived_2_2_7", &["keepalived", "ip"]) {
        return;
    }
    let Some(shared) = support::shared_dir("config_test_matches_keepalived_2_2_7") else {
        return;
    };
    let ns = Netns::new("kacmp");
    for ifname in INTERFACES {
        ns.add_dummy_like(ifname);
    }
    let files = config_files(&shared);
    assert!(
        files.len() >= 27,
        "expected the 25 samples and 2 seed configs, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for file in &files {
        let outcome = compare(&ns, file);
        if !outcome.problems.is_empty() {
            failures.push(format!(
                "== {}\n{}",
                outcome.file.display(),
                outcome.problems.join("\n")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} files differ from keepalived:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n\n")
    );
}

#[test]
fn keepalived_message_parsing() {
    let msgs = keepalived_messages(
        "(Line 7) number '0' outside range [0.000001, 4294.967295]\n(/x/backup.conf: Line 38) Unknown keyword 'nb_get_retry'\n(VI_1) Strict mode does not support authentication. Ignoring.\n(Line 7) number '0' outside range [0.000001, 4294.967295]\n",
    );
    assert_eq!(msgs.len(), 3);
    assert_eq!(
        msgs[1],
        Message {
            file: Some("backup.conf".into()),
            line: Some(38),
            text: "Unknown keyword 'nb_get_retry'".into()
        }
    );
    assert_eq!(
        core_text(&msgs[2].text),
        "Strict mode does not support authentication. Ignoring"
    );
    let ours = our_diagnostics("/x/backup.conf:38:13: error[unknown-keyword]: Unknown keyword 'nb_get_retry'\n  = help: x\nnote[lint-x]: y\n");
    assert_eq!(ours.len(), 2);
    assert_eq!(
        (ours[0].file.as_deref(), ours[0].line, ours[0].counts),
        (Some("backup.conf"), Some(38), true)
    );
    assert!(!ours[1].counts);
}
