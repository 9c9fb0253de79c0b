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
//! - Values of every type: a list is allowed only when each of its strings
//!   is; under a secret key no string or list of strings is exported.
//!   Numbers and booleans (a token's length) carry no secret.
//! - The free text of a span, which `tracing` fills from messages and
//!   fields (its name, its events' names, its status description), has
//!   every word holding a JWT, or an email address unless personal data is
//!   allowed, replaced by `[redacted]`; links' attributes follow the
//!   attribute rules.
//! - `url.full` loses its userinfo, and `url.full` and `url.query` every
//!   query value (`?a=REDACTED`): a presigned URL's signature is never
//!   exported.
//!
//! Metric attributes need no scrubbing: they are built only from the
//! catalog's dimension keys and enum values, and the metric views drop any
//! other key.

use std::borrow::Cow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::trace::Status;
use opentelemetry::{Array, Context, KeyValue, StringValue, Value};
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
        let mut dropped = self.scrub(&mut span.attributes);
        let allow = self.allow_personal_data;
        if let Some(name) = scrub_message(&span.name, allow) {
            span.name = Cow::Owned(name);
        }
        if let Status::Error { description } = &span.status {
            if let Some(scrubbed) = scrub_message(description, allow) {
                span.status = Status::error(scrubbed);
            }
        }
        for event in span.events.events.iter_mut() {
            if let Some(name) = scrub_message(&event.name, allow) {
                event.name = Cow::Owned(name);
            }
            dropped += self.scrub(&mut event.attributes);
        }
        for link in span.links.links.iter_mut() {
            dropped += self.scrub(&mut link.attributes);
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
        let allow = self.allow_personal_data;
        let key = kv.key.as_str();
        match &kv.value {
            Value::String(value) => field_allowed(key, Some(value.as_str()), allow),
            Value::Array(Array::String(values)) => {
                texts_allowed(key, Some(values.iter().map(StringValue::as_str)), allow)
            }
            _ => field_allowed(key, None, allow),
        }
    }

    /// Takes the secrets out of the URLs in `attributes` (their userinfo
    /// would pass for an email address), then drops what may not be
    /// exported; how many were dropped.
    fn scrub(&self, attributes: &mut Vec<KeyValue>) -> usize {
        for kv in attributes.iter_mut() {
            let full = match kv.key.as_str() {
                URL_FULL => true,
                URL_QUERY => false,
                _ => continue,
            };
            if let Value::String(url) = &kv.value {
                if let Some(scrubbed) = scrub_url(url.as_str(), full) {
                    kv.value = Value::from(scrubbed);
                }
            }
        }
        let before = attributes.len();
        attributes.retain(|kv| self.allowed(kv));
        before - attributes.len()
    }
}

/// The OTel attributes that hold a URL, or its query string.
const URL_FULL: &str = "url.full";
const URL_QUERY: &str = "url.query";
/// What replaces a query value (the OTel semantic conventions' word).
const QUERY_VALUE: &str = "REDACTED";

/// `url` without its userinfo and with every query value replaced by
/// `REDACTED`: a full URL (`scheme://userinfo@host/path?query#fragment`)
/// when `full`, else a query string alone; `None` when it holds neither.
fn scrub_url(url: &str, full: bool) -> Option<String> {
    let (rest, fragment) = match url.split_once('#') {
        Some((rest, fragment)) => (rest, Some(fragment)),
        None => (url, None),
    };
    let (mut head, query) = match rest.split_once('?') {
        _ if !full => (String::new(), Some(rest)),
        Some((head, query)) => (head.to_owned(), Some(query)),
        None => (rest.to_owned(), None),
    };
    let mut changed = false;
    if full {
        let authority = head.find("://").map_or(0, |i| i + 3);
        let end = head[authority..]
            .find('/')
            .map_or(head.len(), |i| authority + i);
        if let Some(at) = head[authority..end].rfind('@') {
            head.replace_range(authority..=authority + at, "");
            changed = true;
        }
    }
    let query = query.map(|query| {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((name, value)) if value != QUERY_VALUE => {
                    changed = true;
                    format!("{name}={QUERY_VALUE}")
                }
                _ => pair.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    if !changed {
        return None;
    }
    let mut out = head;
    if let Some(query) = query {
        if full {
            out.push('?');
        }
        out.push_str(&query);
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    Some(out)
}

/// The privacy rules for one key and its value (`None` for numbers and
/// booleans): whether it may be exported, on a span, a log line or a log
/// record.
pub(crate) fn field_allowed(key: &str, text: Option<&str>, allow_personal_data: bool) -> bool {
    texts_allowed(key, text.map(std::iter::once), allow_personal_data)
}

/// [`field_allowed`] for a value holding several strings (a list, each of
/// its strings; `None` for numbers and booleans): allowed when each is,
/// and never under a secret key, even empty.
pub(crate) fn texts_allowed<'a>(
    key: &str,
    texts: Option<impl IntoIterator<Item = &'a str>>,
    allow_personal_data: bool,
) -> bool {
    let class = keys::class_of(key);
    let Some(texts) = texts else {
        // Numbers and booleans (a token's length, whether it was present)
        // carry no secret.
        return allow_personal_data || !class.personal;
    };
    if class.secret || (class.personal && !allow_personal_data) {
        return false;
    }
    texts
        .into_iter()
        .all(|value| !holds_jwt(value) && (allow_personal_data || !is_email(value)))
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
    fn lists_pass_only_when_each_string_does_and_never_under_a_secret_key() {
        let strict = processor(false);
        let list = |key: &str, values: &[&str]| {
            KeyValue::new(
                key.to_owned(),
                Value::Array(Array::String(
                    values
                        .iter()
                        .map(|v| StringValue::from(v.to_string()))
                        .collect(),
                )),
            )
        };
        assert!(!strict.allowed(&list("http.request.header.authorization", &["Bearer x"])));
        assert!(!strict.allowed(&list("http.request.header.authorization", &[])));
        assert!(!strict.allowed(&list("tags", &["ok", "alice@example.com"])));
        assert!(!strict.allowed(&list("tags", &["ok", "eyJa.eyJb.sig"])));
        assert!(strict.allowed(&list("tags", &["ok", "fine"])));
        assert!(processor(true).allowed(&list("tags", &["alice@example.com"])));
        assert!(strict.allowed(&KeyValue::new(
            "app.token.lengths",
            Value::Array(Array::I64(vec![812]))
        )));
    }

    #[test]
    fn urls_lose_userinfo_and_query_values() {
        let cases = [
            (
                "https://user:pass@example.com:8443/p?X-Amz-Signature=abc&x=1#top",
                Some("https://example.com:8443/p?X-Amz-Signature=REDACTED&x=REDACTED#top"),
            ),
            ("https://example.com/.well-known/jwks.json", None),
            ("https://example.com/p?flag", None),
            ("https://a@b.com", Some("https://b.com")),
            ("https://example.com/p?x=REDACTED", None),
            ("https://example.com/user@home", None),
        ];
        for (url, expected) in cases {
            assert_eq!(scrub_url(url, true).as_deref(), expected, "{url}");
        }
        assert_eq!(
            scrub_url("sig=abc&flag&k=", false).as_deref(),
            Some("sig=REDACTED&flag&k=REDACTED")
        );
    }

    #[test]
    fn jwt_detection_needs_two_segments() {
        assert!(holds_jwt("eyJa.eyJb.sig"));
        assert!(holds_jwt("eyJa.eyJb"));
        assert!(!holds_jwt("eyJ alone"));
        assert!(!holds_jwt("plain text"));
    }
}
