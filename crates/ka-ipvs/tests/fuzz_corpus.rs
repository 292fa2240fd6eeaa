//! Replays the cargo-fuzz corpus of the IPVS decoders (fuzz/corpus/ipvs_replies) as a plain
//! test: every input that ever mattered to the fuzzer keeps being checked.

#![allow(clippy::expect_used)] // tests may panic on unexpected data

use std::path::Path;

#[test]
fn replay_ipvs_replies_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/ipvs_replies");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory").flatten() {
        let data = std::fs::read(entry.path()).expect("corpus file");
        ka_ipvs::fuzzing::decode_everything(&data);
        n += 1;
    }
    assert!(n >= 100, "corpus too small: {n} inputs in {}", dir.display());
}
