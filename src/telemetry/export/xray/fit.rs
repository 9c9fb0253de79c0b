//! What X-Ray accepts of a span, so that a span is fitted rather than
//! dropped: the translator refuses a span whose name or HTTP fields break
//! the segment document's rules, and X-Ray refuses the document.
//!
//! - A segment or subsegment name is 1 to 200 bytes of letters, numbers,
//!   spaces and `_ . : / % & # = + - @`. Other characters are removed, as
//!   the collector's `awsxray` exporter removes them (`/orders/{id}` is
//!   `/orders/id` on both paths), and an empty name is `span`.
//! - `http.request.url`, `method`, `user_agent` and `client_ip` are at
//!   most 250 bytes. The translator builds the URL from `url.full` (or `http.url`),
//!   else from `url.scheme`, a host (`url.domain`, `server.address`, or
//!   `client.address`), a port, `url.path` and `url.query`: each part is
//!   bounded, and the path is cut so that the URL fits, at a character
//!   boundary.
//!
//! The span keeps everything else; other exporters see it unchanged.

use std::borrow::Cow;

use opentelemetry::{KeyValue, Value};
use opentelemetry_sdk::trace::SpanData;

/// Longest segment name.
const MAX_NAME: usize = 200;
/// Longest HTTP field.
const MAX_HTTP_FIELD: usize = 250;
/// Longest host kept (`url.domain`, `server.address`, or `client.address`,
/// which the translator takes as the host of a span that is not SERVER).
const MAX_HOST: usize = 100;
/// Longest `url.scheme` kept.
const MAX_SCHEME: usize = 8;
/// Longest `url.query` kept.
const MAX_QUERY: usize = 40;
/// `://`, `:65535`, the `/` before a path and the `?` before a query.
const URL_PUNCTUATION: usize = 3 + 6 + 1 + 1;
/// The shortest room a path is given, whatever else the URL holds.
const MIN_PATH: usize = MAX_HTTP_FIELD - MAX_SCHEME - MAX_HOST - MAX_QUERY - URL_PUNCTUATION;
const _: () = assert!(MIN_PATH > 0);
/// The name of a span whose name has no character X-Ray accepts.
const DEFAULT_NAME: &str = "span";

/// Fits `span` to what X-Ray accepts.
pub(super) fn fit(span: &mut SpanData) {
    if let Cow::Owned(name) = segment_name(&span.name) {
        span.name = name.into();
    }
    // The URL the translator builds, scheme://host:port/path?query: the
    // lengths of its parts, in one pass; most spans hold none of them.
    let (mut scheme, mut host, mut query, mut http) = (None, 0, 0, false);
    for kv in &span.attributes {
        let Value::String(text) = &kv.value else {
            continue;
        };
        let len = text.as_str().len();
        match kv.key.as_str() {
            "url.scheme" => scheme = Some(len.min(MAX_SCHEME)),
            "url.domain" | "server.address" | "client.address" => host = host.max(len),
            "url.query" => query = len.min(MAX_QUERY),
            key if limit(key, 0).is_none() => continue,
            _ => {}
        }
        http = true;
    }
    if !http {
        return;
    }
    let path = MAX_HTTP_FIELD - scheme.unwrap_or(5) - host.min(MAX_HOST) - query - URL_PUNCTUATION;
    for kv in span.attributes.iter_mut() {
        let (Some(limit), Value::String(text)) = (limit(kv.key.as_str(), path), &kv.value) else {
            continue;
        };
        if text.as_str().len() > limit {
            let cut = cut(text.as_str(), limit).to_owned();
            *kv = KeyValue::new(kv.key.clone(), cut);
        }
    }
}

/// The longest value X-Ray takes under `key`, with `path` bytes left for
/// the URL's path; `None` for a key it does not bound.
fn limit(key: &str, path: usize) -> Option<usize> {
    Some(match key {
        "url.scheme" => MAX_SCHEME,
        "url.domain" | "server.address" | "client.address" => MAX_HOST,
        "url.query" => MAX_QUERY,
        "url.path" => path,
        "url.full" | "http.url" | "user_agent.original" | "http.request.method" | "http.method" => {
            MAX_HTTP_FIELD
        }
        _ => return None,
    })
}

/// `name` as X-Ray accepts it.
fn segment_name(name: &str) -> Cow<'_, str> {
    if name.len() <= MAX_NAME && !name.is_empty() && name.chars().all(allowed) {
        return Cow::Borrowed(name);
    }
    let kept: String = name.chars().filter(|c| allowed(*c)).collect();
    let kept = cut(&kept, MAX_NAME);
    Cow::Owned(if kept.is_empty() {
        DEFAULT_NAME.to_owned()
    } else {
        kept.to_owned()
    })
}

/// Letters, numbers, spaces and `_ . : / % & # = + - @`.
fn allowed(c: char) -> bool {
    c.is_alphanumeric() || c == ' ' || "_.:/%&#=+-@".contains(c)
}

/// `text`, at most `limit` bytes, cut at a character boundary.
fn cut(text: &str, limit: usize) -> &str {
    &text[..text.floor_char_boundary(limit)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_templates_lose_their_braces() {
        assert_eq!(segment_name("/orders/{id}"), "/orders/id");
        assert_eq!(segment_name("/files/{*path}"), "/files/path");
        assert_eq!(segment_name("checkout"), "checkout");
        assert!(matches!(segment_name("GET /orders"), Cow::Borrowed(_)));
        assert_eq!(segment_name("{}*"), DEFAULT_NAME);
        assert_eq!(segment_name(&"é".repeat(300)).len(), MAX_NAME);
    }
}
