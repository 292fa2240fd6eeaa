//! The VRRP advertisement decoder alone (both families): decode, and whatever decodes must
//! encode back to the same message.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    use ka_wire::vrrp::{ChecksumMode, Family, Packet, Repr};
    for family in [Family::Ipv4, Family::Ipv6] {
        if let Ok(p) = Packet::new_checked(data, family) {
            if let Ok(repr) = Repr::parse(&p) {
                let mut out = vec![0u8; repr.buffer_len()];
                if repr.emit(&mut out, ChecksumMode::Plain).is_ok() {
                    let again = Packet::new_checked(&out[..], family).ok().and_then(|q| Repr::parse(&q).ok());
                    assert_eq!(again, Some(repr));
                }
            }
        }
    }
});
