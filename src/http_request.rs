//! The OTel HTTP server attributes of one request (semantic conventions,
//! stable HTTP set), whoever read it: the Lambda layer from an API Gateway,
//! ALB or function URL event, the axum layer from an `http::Request`.
//!
//! Every value taken from the request is bounded by
//! [`MAX_REQUEST_VALUE_BYTES`](crate::attributes::MAX_REQUEST_VALUE_BYTES); a method HTTP does not define is `_OTHER`,
//! and a method sent otherwise than its name is also
//! `http.request.method_original`; the path never carries its query string.

use http::HeaderMap;
#[cfg(feature = "axum")]
use opentelemetry::propagation::Extractor;
use opentelemetry::KeyValue;

use crate::attributes::{
    bounded, CLIENT_ADDRESS, HTTP_REQUEST_METHOD, HTTP_REQUEST_METHOD_ORIGINAL, HTTP_ROUTE,
    SERVER_ADDRESS, URL_PATH, URL_SCHEME, USER_AGENT_ORIGINAL,
};

/// What a request says about itself; each part is optional, as each event
/// form carries a different set.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HttpRequest<'a> {
    /// The method as sent.
    pub(crate) method: Option<&'a str>,
    /// `http` or `https`.
    pub(crate) scheme: Option<&'a str>,
    /// The path, possibly with a query string.
    pub(crate) path: Option<&'a str>,
    /// The route template, when the front door names one.
    pub(crate) route: Option<&'a str>,
    /// The `Host`, possibly with a port.
    pub(crate) host: Option<&'a str>,
    /// The caller's address, or an `X-Forwarded-For` list.
    pub(crate) client: Option<&'a str>,
    /// The `User-Agent`.
    pub(crate) user_agent: Option<&'a str>,
}

impl<'a> HttpRequest<'a> {
    /// What a request's headers say of it: the scheme a proxy forwarded,
    /// the host, the caller (`X-Forwarded-For`), the user agent.
    pub(crate) fn from_headers(headers: &'a HeaderMap) -> Self {
        HttpRequest {
            scheme: header(headers, "x-forwarded-proto"),
            host: header(headers, "host"),
            client: header(headers, "x-forwarded-for"),
            user_agent: header(headers, "user-agent"),
            ..HttpRequest::default()
        }
    }

    /// This request, each part it lacks taken from `fallback`.
    pub(crate) fn or(self, fallback: HttpRequest<'a>) -> Self {
        HttpRequest {
            method: self.method.or(fallback.method),
            scheme: self.scheme.or(fallback.scheme),
            path: self.path.or(fallback.path),
            route: self.route.or(fallback.route),
            host: self.host.or(fallback.host),
            client: self.client.or(fallback.client),
            user_agent: self.user_agent.or(fallback.user_agent),
        }
    }

    /// Appends the request's attributes to `out`.
    pub(crate) fn attributes(&self, out: &mut Vec<KeyValue>) {
        if let Some(method) = self.method {
            let name = method_name(method);
            out.push(KeyValue::new(HTTP_REQUEST_METHOD, name));
            if name != method {
                out.push(KeyValue::new(HTTP_REQUEST_METHOD_ORIGINAL, bounded(method)));
            }
        }
        if let Some(scheme) = self.scheme.filter(|s| !s.is_empty()) {
            out.push(KeyValue::new(URL_SCHEME, bounded(scheme)));
        }
        if let Some(path) = self.path.filter(|p| !p.is_empty()) {
            let path = path.split_once('?').map_or(path, |(path, _)| path);
            out.push(KeyValue::new(URL_PATH, bounded(path)));
        }
        if let Some(route) = self.route.and_then(route_template) {
            out.push(KeyValue::new(HTTP_ROUTE, bounded(route)));
        }
        if let Some(host) = self.host.map(without_port).filter(|h| !h.is_empty()) {
            out.push(KeyValue::new(SERVER_ADDRESS, bounded(host)));
        }
        if let Some(client) = self.client {
            // The first address of a forwarded list is the original caller.
            let client = client.split(',').next().unwrap_or_default().trim();
            if !client.is_empty() {
                out.push(KeyValue::new(CLIENT_ADDRESS, bounded(client)));
            }
        }
        if let Some(agent) = self.user_agent.filter(|a| !a.is_empty()) {
            out.push(KeyValue::new(USER_AGENT_ORIGINAL, bounded(agent)));
        }
    }
}

/// HTTP headers read as a propagation carrier; `HeaderMap` matches names
/// without regard to case.
#[cfg(feature = "axum")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderCarrier<'a>(pub(crate) &'a HeaderMap);

#[cfg(feature = "axum")]
impl Extractor for HeaderCarrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        header(self.0, key)
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// A header's value, when it is text.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name)?.to_str().ok()
}

/// The methods HTTP defines (RFC 9110, RFC 5789), as the semantic
/// conventions list them; any other is `_OTHER`, so that a caller cannot
/// make the attribute arbitrary.
pub(crate) fn method_name(method: &str) -> &'static str {
    const KNOWN: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    KNOWN
        .iter()
        .find(|known| known.eq_ignore_ascii_case(method))
        .copied()
        .unwrap_or("_OTHER")
}

/// The template of a route key: API Gateway HTTP APIs write `METHOD
/// /path/{param}` and `ANY /path`; `$default` (and a function URL's) names
/// no route.
fn route_template(route: &str) -> Option<&str> {
    let template = route
        .split_once(' ')
        .map_or(route, |(_, template)| template);
    (!template.is_empty() && template != "$default").then_some(template)
}

/// `host` without a trailing `:port`.
fn without_port(host: &str) -> &str {
    match host.rsplit_once(':') {
        // A bare IPv6 address holds colons of its own and no port.
        Some((name, port))
            if !port.is_empty()
                && port.bytes().all(|b| b.is_ascii_digit())
                && (name.ends_with(']') || !name.contains(':')) =>
        {
            name
        }
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attributes::MAX_REQUEST_VALUE_BYTES;

    fn attributes(request: HttpRequest<'_>) -> Vec<KeyValue> {
        let mut out = Vec::new();
        request.attributes(&mut out);
        out
    }

    fn value(attributes: &[KeyValue], key: &str) -> Option<String> {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == key)
            .map(|kv| kv.value.as_str().into_owned())
    }

    #[test]
    fn the_path_loses_its_query_and_the_route_its_method() {
        let attrs = attributes(HttpRequest {
            method: Some("get"),
            scheme: Some("https"),
            path: Some("/orders/42?token=secret"),
            route: Some("GET /orders/{id}"),
            host: Some("api.example.com:443"),
            client: Some("203.0.113.7, 10.0.0.1"),
            user_agent: Some("curl/8.5"),
        });
        assert_eq!(value(&attrs, HTTP_REQUEST_METHOD).unwrap(), "GET");
        assert_eq!(value(&attrs, HTTP_REQUEST_METHOD_ORIGINAL).unwrap(), "get");
        assert_eq!(value(&attrs, URL_PATH).unwrap(), "/orders/42");
        assert_eq!(value(&attrs, URL_SCHEME).unwrap(), "https");
        assert_eq!(value(&attrs, HTTP_ROUTE).unwrap(), "/orders/{id}");
        assert_eq!(value(&attrs, SERVER_ADDRESS).unwrap(), "api.example.com");
        assert_eq!(value(&attrs, CLIENT_ADDRESS).unwrap(), "203.0.113.7");
        assert_eq!(value(&attrs, USER_AGENT_ORIGINAL).unwrap(), "curl/8.5");
    }

    #[test]
    fn no_route_for_default_and_odd_methods_are_other() {
        let attrs = attributes(HttpRequest {
            method: Some("BREW"),
            route: Some("$default"),
            host: Some("[::1]:8080"),
            ..HttpRequest::default()
        });
        assert_eq!(value(&attrs, HTTP_REQUEST_METHOD).unwrap(), "_OTHER");
        assert_eq!(value(&attrs, HTTP_REQUEST_METHOD_ORIGINAL).unwrap(), "BREW");
        assert_eq!(value(&attrs, HTTP_ROUTE), None);
        assert_eq!(value(&attrs, SERVER_ADDRESS).unwrap(), "[::1]");
    }

    #[test]
    fn values_of_any_size_are_bounded_at_a_character_boundary() {
        let path = format!("/{}", "é".repeat(10_000));
        let agent = "a".repeat(100_000);
        let attrs = attributes(HttpRequest {
            path: Some(&path),
            user_agent: Some(&agent),
            ..HttpRequest::default()
        });
        for kv in &attrs {
            let text = kv.value.as_str();
            assert!(text.len() <= MAX_REQUEST_VALUE_BYTES, "{}", kv.key);
            assert!(text.len() >= MAX_REQUEST_VALUE_BYTES - 1, "{}", kv.key);
        }
    }
}
