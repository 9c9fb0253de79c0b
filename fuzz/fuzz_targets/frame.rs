//! The WebSocket frame parser: any body is parsed or rejected with one of
//! its typed error codes, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use perfmon_chat::frame;
use perfmon_lambda::ErrorCode;

fuzz_target!(|data: &[u8]| {
    let body = String::from_utf8_lossy(data);
    if let Err(e) = frame::parse(Some(&body)) {
        assert!(
            [
                "INVALID_MESSAGE_FORMAT",
                "MESSAGE_TOO_LARGE",
                "UNKNOWN_ACTION",
                "INVALID_SESSION_ID"
            ]
            .contains(&e.error_code()),
            "untyped rejection {e:?}"
        );
    }
});
