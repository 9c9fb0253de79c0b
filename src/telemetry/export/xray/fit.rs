//! What X-Ray accepts of a span, so that a span is fitted rather than
//! dropped: the translator refuses a span whose name or HTTP fields break
//! the segment document's rules, and X-Ray refuses the document.
//!
//! - A segment or subsegment name is 1 to 200 bytes of letters, numbers,
//!   spaces and `_ . : / % & # = + - @`. Other characters are removed, as
//!   the collector's `awsxray` exporter removes them (`/orders/{id}` is
//!   `/orders/id` on both paths), and an empty name is `span`.
//! - `http.request.url`, `user_agent` and `client_ip` are at most 250
//!   bytes. The URL is built from `url.scheme`, `server.address`, a port
//!   and `url.path`; the path is cut so that the URL fits, at a character
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
/// Longest host kept in a URL, so that a path always has room.
const MAX_HOST: usize = 100;
/// Room for `https://` and `:65535`.
const URL_FRAME: usize = 14;
/// The name of a span whose name has no character X-Ray accepts.
const DEFAULT_NAME: &str = "span";

/// Fits `span` to what X-Ray accepts.
pub(super) fn fit(span: &mut SpanData) {
    if let Cow::Owned(name) = segment_name(&span.name) {
        span.name = name.into();
    }
    let host = span
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "server.address")
        .map_or(0, |kv| kv.value.as_str().len().min(MAX_HOST));
    for kv in span.attributes.iter_mut() {
        let limit = match kv.key.as_str() {
            "server.address" => MAX_HOST,
            "url.path" => MAX_HTTP_FIELD - URL_FRAME - host,
            "url.full" | "user_agent.original" | "client.address" => MAX_HTTP_FIELD,
            _ => continue,
        };
        if let Value::String(text) = &kv.value {
            if text.as_str().len() > limit {
                let cut = cut(text.as_str(), limit).to_owned();
                *kv = KeyValue::new(kv.key.clone(), cut);
            }
        }
    }
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
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
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
