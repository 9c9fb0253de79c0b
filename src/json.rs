//! The one JSON string writer of the hand-written formats: EMF lines, log
//! lines and X-Ray segment documents. It escapes exactly as `serde_json`
//! does, so the three read back alike, and copies a string that needs no
//! escape (names, ids, most values) whole, found a word at a time.

use std::fmt::Write as _;

use crate::words::escape_free;

/// What a JSON string can be appended to: a `String` (EMF and log lines) or
/// bytes (segment documents).
pub(crate) trait JsonOut {
    /// Appends `s` as it is.
    fn raw(&mut self, s: &str);
}

impl JsonOut for String {
    fn raw(&mut self, s: &str) {
        self.push_str(s);
    }
}

impl JsonOut for Vec<u8> {
    fn raw(&mut self, s: &str) {
        self.extend_from_slice(s.as_bytes());
    }
}

/// Appends `s` as a JSON string: quotes, backslashes and control characters
/// escaped as `serde_json` escapes them, every other character as it is.
pub(crate) fn string(out: &mut impl JsonOut, s: &str) {
    out.raw("\"");
    if escape_free(s) {
        out.raw(s);
    } else {
        escaped(out, s);
    }
    out.raw("\"");
}

/// Appends `s` with its escapes: runs of plain characters are copied whole.
fn escaped(out: &mut impl JsonOut, s: &str) {
    let mut plain = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // Escaped bytes are ASCII, so `i` is a character boundary.
        out.raw(&s[plain..i]);
        if escape.is_empty() {
            let mut code = String::with_capacity(6);
            let _ = write!(code, "\\u{b:04x}");
            out.raw(&code);
        } else {
            out.raw(escape);
        }
        plain = i + 1;
    }
    out.raw(&s[plain..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Any string is written as serde_json writes it, to either output.
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(s in "[ -~]{0,20}|\\PC{0,20}|[a-z\"\\\\\n\t\u{1}\u{8}\u{c}\u{1f}\u{7f}é]{0,20}") {
            let expected = serde_json::to_string(&s).unwrap();
            let mut text = String::new();
            string(&mut text, &s);
            proptest::prop_assert_eq!(&text, &expected);
            let mut bytes = Vec::new();
            string(&mut bytes, &s);
            proptest::prop_assert_eq!(bytes, expected.into_bytes());
        }
    }

    #[test]
    fn every_escape_matches_serde_json() {
        for s in [
            "plain",
            "quote \" and \\ slash",
            "tab\tnew\nline\r\u{1}\u{8}\u{c}\u{1f}",
            "é€😀",
            "",
        ] {
            let mut out = String::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_string(s).unwrap(), "{s:?}");
        }
    }
}
