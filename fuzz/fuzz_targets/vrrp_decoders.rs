//! Every wire decoder (VRRP, IPv4, IPv6, ARP, NA, receive validation, pcap) on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ka_wire::fuzzing::decode_everything(data));
