//! JSON as `serde_json` writes it, for segment documents written without
//! building a value first: the same escapes (strings go through the crate's
//! one JSON string writer), the same number forms.

use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry::{Array, StringValue, Value};

use crate::json::string;
use crate::telemetry::data::ids;
use crate::words::escape_free;

/// Appends the concatenation of `parts` as one JSON string.
pub(super) fn string_of<const N: usize>(out: &mut Vec<u8>, parts: [&str; N]) {
    if parts.iter().all(|part| escape_free(part)) {
        out.push(b'"');
        for part in parts {
            out.extend_from_slice(part.as_bytes());
        }
        out.push(b'"');
    } else {
        string(out, &parts.concat());
    }
}

/// Appends a float: shortest round-trip form, `null` when not finite.
pub(super) fn float(out: &mut Vec<u8>, f: f64) {
    let _ = serde_json::to_writer(&mut *out, &f);
}

/// Appends an integer.
pub(super) fn integer(out: &mut Vec<u8>, i: i64) {
    let _ = serde_json::to_writer(&mut *out, &i);
}

/// Appends a span id as X-Ray writes it: 16 lower-case hex digits.
pub(super) fn id(out: &mut Vec<u8>, id: SpanId) {
    out.push(b'"');
    out.extend_from_slice(&ids::span_hex(id));
    out.push(b'"');
}

/// Appends a trace id in X-Ray's form.
pub(super) fn trace_id(out: &mut Vec<u8>, id: TraceId) {
    out.push(b'"');
    out.extend_from_slice(&ids::xray_form(id));
    out.push(b'"');
}

/// Appends `"key":` after a comma unless `first`.
pub(super) fn key(out: &mut Vec<u8>, first: &mut bool, key: &str) {
    if !std::mem::take(first) {
        out.push(b',');
    }
    string(out, key);
    out.push(b':');
}

/// Appends an attribute value: scalars, and arrays of them.
pub(super) fn value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::I64(i) => integer(out, *i),
        Value::F64(f) => float(out, *f),
        Value::String(s) => string(out, s.as_str()),
        Value::Array(array) => {
            out.push(b'[');
            match array {
                Array::Bool(items) => list(out, items, |out, b| {
                    out.extend_from_slice(if *b { b"true" } else { b"false" })
                }),
                Array::I64(items) => list(out, items, |out, i| integer(out, *i)),
                Array::F64(items) => list(out, items, |out, f| float(out, *f)),
                Array::String(items) => strings(out, items),
                _ => {}
            }
            out.push(b']');
        }
        _ => out.extend_from_slice(b"null"),
    }
}

/// Appends `items` as JSON strings, separated by commas.
pub(super) fn strings(out: &mut Vec<u8>, items: &[StringValue]) {
    list(out, items, |out, s| string(out, s.as_str()));
}

/// Appends `items` separated by commas.
pub(super) fn list<T>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    mut item: impl FnMut(&mut Vec<u8>, T),
) {
    for (n, each) in items.into_iter().enumerate() {
        if n > 0 {
            out.push(b',');
        }
        item(out, each);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers_match_serde_json() {
        for s in [
            "plain",
            "quote \" and \\ slash",
            "tab\tnew\nline\u{1}",
            "é€😀",
            "",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        for f in [1795994069.4446511, 0.1, 1e21, 3.0, f64::NAN, -0.0] {
            let mut out = Vec::new();
            float(&mut out, f);
            assert_eq!(out, serde_json::to_vec(&f).unwrap());
        }
        let mut out = Vec::new();
        value(&mut out, &Value::Array(Array::I64(vec![1, -2, i64::MIN])));
        assert_eq!(out, b"[1,-2,-9223372036854775808]");
        let mut out = Vec::new();
        id(&mut out, SpanId::from(0xc8));
        trace_id(
            &mut out,
            TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
        );
        assert_eq!(
            out,
            b"\"00000000000000c8\"\"1-5759e988-bd862e3fe1be46a994272793\""
        );
    }
}
