//! The whole configuration reader (preprocessor, parser, validation) on arbitrary text.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ka_config::fuzzing::parse(data));
