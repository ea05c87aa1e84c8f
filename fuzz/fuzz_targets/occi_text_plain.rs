#![no_main]
//! See `disco_fuzz::checks::occi_text_plain` for what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| disco_fuzz::checks::occi_text_plain(data));
