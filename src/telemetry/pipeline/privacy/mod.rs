//! The privacy rules of DESIGN §3, applied to every finished span before any
//! exporter sees it, whoever created the span.
//!
//! - A token is never exported in any form but its length: string values
//!   under a key naming a token, JWT, authorization, password, secret or
//!   credential are dropped, and so is any string value that holds a JWT.
//! - Email addresses and user names are personal data: attributes whose key
//!   names them, or whose value is an email address, are dropped unless
//!   exporting personal data is enabled. `enduser.id` (the Cognito `sub`) is
//!   kept.
//!
//! Metric attributes need no scrubbing: they are built only from the
//! catalog's dimension keys and enum values, and the metric views drop any
//! other key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::{Context, KeyValue, Value};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{Span, SpanData, SpanProcessor};
use opentelemetry_sdk::Resource;

use crate::words::contains;

mod keys;

/// Wraps a span processor and scrubs each finished span first.
#[derive(Debug)]
pub(crate) struct PrivacyProcessor<P> {
    inner: P,
    allow_personal_data: bool,
    dropped: Arc<AtomicU64>,
}

impl<P> PrivacyProcessor<P> {
    pub(crate) fn new(inner: P, allow_personal_data: bool, dropped: Arc<AtomicU64>) -> Self {
        PrivacyProcessor {
            inner,
            allow_personal_data,
            dropped,
        }
    }
}

impl<P: SpanProcessor> SpanProcessor for PrivacyProcessor<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx)
    }

    fn on_end(&self, mut span: SpanData) {
        crate::telemetry::pipeline::unique_keys::keep_last(&mut span.attributes);
        let before = span.attributes.len();
        span.attributes.retain(|kv| self.allowed(kv));
        let mut dropped = before - span.attributes.len();
        for event in span.events.events.iter_mut() {
            let before = event.attributes.len();
            event.attributes.retain(|kv| self.allowed(kv));
            dropped += before - event.attributes.len();
        }
        if dropped > 0 {
            self.dropped.fetch_add(dropped as u64, Ordering::Relaxed);
        }
        self.inner.on_end(span)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource)
    }
}

impl<P> PrivacyProcessor<P> {
    fn allowed(&self, kv: &KeyValue) -> bool {
        let value = match &kv.value {
            Value::String(value) => Some(value.as_str()),
            _ => None,
        };
        field_allowed(kv.key.as_str(), value, self.allow_personal_data)
    }
}

/// The privacy rules for one key and its value (`None` for numbers and
/// booleans): whether it may be exported, on a span, a log line or a log
/// record.
pub(crate) fn field_allowed(key: &str, text: Option<&str>, allow_personal_data: bool) -> bool {
    let class = keys::class_of(key);
    let Some(value) = text else {
        // Numbers and booleans (a token's length, whether it was present)
        // carry no secret.
        return allow_personal_data || !class.personal;
    };
    if class.secret || holds_jwt(value) {
        return false;
    }
    allow_personal_data || !(class.personal || is_email(value))
}

/// A log message with every JWT in it replaced by `[redacted]`, or `None`
/// when it holds none. Messages are free text, so the value rules apply
/// (tokens always, email addresses unless personal data is allowed), never
/// the key rules.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) fn scrub_message(message: &str, allow_personal_data: bool) -> Option<String> {
    let jwt = holds_jwt(message);
    let email = !allow_personal_data && is_email(message);
    if !jwt && !email {
        return None;
    }
    Some(
        message
            .split(' ')
            .map(|word| {
                if holds_jwt(word) || (!allow_personal_data && is_email(word)) {
                    REDACTED
                } else {
                    word
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
    )
}

/// What replaces a secret or personal word in a log message.
#[cfg_attr(not(feature = "tracing"), allow(dead_code))]
pub(crate) const REDACTED: &str = "[redacted]";

/// Whether `value` holds a JWT: `eyJ` (base64url of `{"`) starting three
/// dot-separated base64url segments. Most values hold no `J`, which a look
/// eight bytes at a time settles before the scan.
fn holds_jwt(value: &str) -> bool {
    contains(value.as_bytes(), b'J') && jwt_in(value.as_bytes())
}

/// [`holds_jwt`]'s scan.
fn jwt_in(bytes: &[u8]) -> bool {
    let mut from = 0;
    // A byte scan: building a substring searcher costs more than most
    // attribute values are long.
    while let Some(pos) = bytes[from..].windows(3).position(|w| w == b"eyJ") {
        let start = from + pos;
        let segments = bytes[start..]
            .split(|b| *b == b'.')
            .take(3)
            .take_while(|seg| {
                !seg.is_empty()
                    && seg.iter().all(|b| {
                        b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_' || *b == b'='
                    })
            })
            .count();
        if segments >= 2 {
            return true;
        }
        from = start + 3;
    }
    false
}

/// Whether `value` is, or contains, an email address. Most values hold no
/// `@`, which a look eight bytes at a time settles before the scan.
fn is_email(value: &str) -> bool {
    contains(value.as_bytes(), b'@') && email_in(value.as_bytes())
}

/// [`is_email`]'s scan.
fn email_in(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().any(|(i, b)| {
        *b == b'@'
            && i > 0
            && is_local_char(bytes[i - 1])
            && bytes[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'.' || **c == b'-')
                .position(|c| *c == b'.')
                .is_some_and(|dot| dot > 0)
    })
}

fn is_local_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"._%+-".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processor(allow: bool) -> PrivacyProcessor<()> {
        PrivacyProcessor::new((), allow, Arc::new(AtomicU64::new(0)))
    }

    #[test]
    fn tokens_are_never_allowed_whatever_the_key() {
        let jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";
        for p in [processor(false), processor(true)] {
            assert!(!p.allowed(&KeyValue::new("token", "abc")));
            assert!(!p.allowed(&KeyValue::new("app.idToken", "abc")));
            assert!(!p.allowed(&KeyValue::new("Authorization", "Bearer x")));
            assert!(!p.allowed(&KeyValue::new(
                "app.error.message",
                format!("bad {jwt} here")
            )));
            assert!(!p.allowed(&KeyValue::new("anything", jwt)));
            assert!(p.allowed(&KeyValue::new("app.token.length", 812_i64)));
            assert!(p.allowed(&KeyValue::new("app.token.present", true)));
        }
    }

    #[test]
    fn personal_data_needs_the_opt_in() {
        let strict = processor(false);
        let open = processor(true);
        for kv in [
            KeyValue::new("email", "a@b.co"),
            KeyValue::new("app.user.email", "x"),
            KeyValue::new("username", "alice"),
            KeyValue::new("user.name", "alice"),
            KeyValue::new("note", "mail alice@example.com now"),
        ] {
            assert!(!strict.allowed(&kv), "{kv:?}");
            assert!(open.allowed(&kv), "{kv:?}");
        }
        assert!(strict.allowed(&KeyValue::new("enduser.id", "3f1c-uuid")));
        assert!(strict.allowed(&KeyValue::new("note", "a @ sign alone")));
    }

    proptest::proptest! {
        /// The quick looks for `J` and `@` never let a token or an address
        /// past the scans.
        #[test]
        fn the_quick_look_finds_what_the_scans_need(value in "[a-zA-Z0-9 .@_-]{0,40}|[a-z .]{0,20}(eyJ[a-zA-Z0-9]{1,8}\\.eyJ[a-z]{1,4}|[a-z]{1,6}@[a-z]{1,6}\\.[a-z]{2,3})[a-z .]{0,20}") {
            let bytes = value.as_bytes();
            proptest::prop_assert_eq!(contains(bytes, b'J'), value.contains('J'));
            proptest::prop_assert_eq!(contains(bytes, b'@'), value.contains('@'));
            for allow in [false, true] {
                let plain = !jwt_in(bytes) && (allow || !email_in(bytes));
                proptest::prop_assert_eq!(field_allowed("note", Some(&value), allow), plain, "{}", value);
            }
        }
    }

    #[test]
    fn every_position_of_a_j_or_an_at_is_seen() {
        for len in 0..20 {
            for at in 0..len {
                for b in [b'J', b'@'] {
                    let mut value = vec![b'x'; len];
                    value[at] = b;
                    assert!(contains(&value, b), "{len} {at} {}", b as char);
                }
            }
            assert!(!contains(&vec![b'x'; len], b'J') && !contains(&vec![b'x'; len], b'@'));
        }
        // Bytes next to the sought ones in value: no false hit.
        assert!(!contains(b"IKIK?A?AikAB", b'J') && !contains(b"IKIK?A?AikAB", b'@'));
    }

    #[test]
    fn jwt_detection_needs_two_segments() {
        assert!(holds_jwt("eyJa.eyJb.sig"));
        assert!(holds_jwt("eyJa.eyJb"));
        assert!(!holds_jwt("eyJ alone"));
        assert!(!holds_jwt("plain text"));
    }
}
