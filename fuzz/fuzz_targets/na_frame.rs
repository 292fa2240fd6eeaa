//! The unsolicited neighbour advertisement frame decoder (with checksum verification).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = ka_wire::ndisc::Repr::parse_frame(data);
});
