//! Catalog loading: any text loads or fails with a typed error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = perfmon_lambda::Catalog::from_json(text) {
            assert!(!e.to_string().is_empty());
        }
    }
});
