//! Replays the cargo-fuzz corpus of the nftables read-back parsers (fuzz/corpus/nft_readback),
//! and checks that the golden listing the corpus was seeded with still parses through the
//! same entry point's parser: one that rejected everything would pass the replay alone.

#![allow(clippy::expect_used)] // tests may panic on unexpected data

use std::path::Path;

#[test]
fn replay_nft_readback_corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/nft_readback");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory").flatten() {
        let data = std::fs::read(entry.path()).expect("corpus file");
        ka_nft::fuzzing::parse_everything(&data);
        n += 1;
    }
    assert!(n >= 3, "corpus too small: {n} inputs in {}", dir.display());
    let seed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/full.inet.json"))
            .expect("golden listing");
    let parsed = ka_nft::parse::parse(Some(&seed), None, &ka_nft::Env::default()).expect("the seed parses");
    assert!(!parsed.state.services.is_empty());
}
