//! The pure crates (codecs, engine, config, units) must stay free of tokio, sockets and the
//! system clock: they take time as an argument. This test reads their sources and manifests.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on unexpected data

use std::path::Path;

const PURE_CRATES: &[&str] = &[
    "ka-units",
    "ka-wire",
    "ka-vrrp",
    "ka-config",
    "ka-lb",
    "ka-check",
    "ka-ipvs",
    "ka-nft",
];
const FORBIDDEN_IN_SOURCE: &[&str] = &[
    "Instant::now",
    "SystemTime",
    "tokio",
    "std::net::UdpSocket",
    "std::net::TcpStream",
    "std::thread::sleep",
];
const FORBIDDEN_DEPENDENCIES: &[&str] = &["tokio", "async-std", "mio", "socket2", "nix", "libc", "rtnetlink"];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn pure_crates_use_no_clock_runtime_or_sockets() {
    let crates = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut checked = 0;
    for name in PURE_CRATES {
        let root = crates.join(name);
        let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        let deps = manifest
            .split("[dependencies]")
            .nth(1)
            .unwrap_or("")
            .split("\n[")
            .next()
            .unwrap_or("");
        for dep in FORBIDDEN_DEPENDENCIES {
            assert!(
                !deps
                    .lines()
                    .any(|l| l.trim_start().starts_with(&format!("{dep} "))),
                "{name} depends on {dep}"
            );
        }
        let mut files = Vec::new();
        rust_files(&root.join("src"), &mut files);
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for bad in FORBIDDEN_IN_SOURCE {
                    assert!(!code.contains(bad), "{}:{}: uses {bad}", file.display(), n + 1);
                }
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} files checked: is the layout different?"
    );
}
