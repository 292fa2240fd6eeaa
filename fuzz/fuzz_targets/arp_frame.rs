//! The gratuitous ARP frame decoder.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok((_, arp)) = ka_wire::arp::Repr::parse_frame(data) {
        let mut out = [0u8; ka_wire::arp::FRAME_LEN];
        let _ = arp.emit_frame(&mut out);
    }
});
