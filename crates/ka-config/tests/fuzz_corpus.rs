//! Replays the cargo-fuzz corpus of the configuration parser (fuzz/corpus/config_parser).

#![allow(clippy::expect_used)] // tests may panic on unexpected data

use std::path::Path;

#[test]
fn replay_config_parser_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/config_parser");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory").flatten() {
        let data = std::fs::read(entry.path()).expect("corpus file");
        ka_config::fuzzing::parse(&data);
        n += 1;
    }
    assert!(n >= 5, "corpus too small: {n} inputs in {}", dir.display());
}
