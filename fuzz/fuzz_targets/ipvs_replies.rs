//! The IPVS generic-netlink decoders (dump replies, info, timeouts, errors, nlctrl, and the
//! request decoder with its encode/decode round trip) on arbitrary bytes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ka_ipvs::fuzzing::decode_everything(data));
