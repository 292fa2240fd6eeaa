//! The nftables read-back parsers (our NAT/DR tables and persistence maps as `nft -j` lists
//! them) on arbitrary text: what the daemon believes about the kernel comes from here.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ka_nft::fuzzing::parse_everything(data));
