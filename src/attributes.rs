//! Span attribute keys the library sets: OTel semantic conventions where
//! one exists, `perf.*` for the monitor's own. Applications name theirs
//! under `app.*`.
//!
//! These are span attributes only. Metric attributes are dimension keys
//! ([`crate::names::dim`] and the catalog's) and nothing else.

/// The Cognito `sub` of the authenticated user (semantic convention).
pub const ENDUSER_ID: &str = "enduser.id";
/// Low-cardinality error class (semantic convention).
pub const ERROR_TYPE: &str = "error.type";

/// The operation name, an X-Ray annotation (searchable). Annotation keys
/// are spelled without a dot: the UDP path's translator writes `.` as `_`
/// and the collector's keeps it (`exporter.xray.allowDot`), so only a
/// dotless key is the same on both paths.
pub const PERF_HANDLER: &str = "perf_handler";
/// `success` or the error code, an X-Ray annotation (searchable).
pub const PERF_OUTCOME: &str = "perf_outcome";
/// Memory at completion, in bytes.
pub const PERF_MEMORY_BYTES: &str = "perf.memory_bytes";
/// Span event added for each threshold breach.
pub const PERF_THRESHOLD_EXCEEDED: &str = "perf.threshold_exceeded";
/// Breach event attribute: the checked metric.
pub const PERF_EVENT_METRIC: &str = "metric";
/// Breach event attribute: the limit.
pub const PERF_EVENT_LIMIT: &str = "limit";
/// Breach event attribute: the measured value.
pub const PERF_EVENT_VALUE: &str = "value";

/// What invoked the function: `http`, `pubsub`, `datasource`, `timer` or
/// `other` (semantic convention).
pub const FAAS_TRIGGER: &str = "faas.trigger";
/// The request's HTTP method, upper case; `_OTHER` for a method HTTP does
/// not define (semantic convention).
pub const HTTP_REQUEST_METHOD: &str = "http.request.method";
/// The method as the request sent it, when `http.request.method` differs
/// from it (semantic convention).
pub const HTTP_REQUEST_METHOD_ORIGINAL: &str = "http.request.method_original";
/// `http` or `https` (semantic convention).
pub const URL_SCHEME: &str = "url.scheme";
/// The route template the request matched, e.g. `/orders/{id}`; never a
/// raw path (semantic convention).
pub const HTTP_ROUTE: &str = "http.route";
/// The response's status code (semantic convention).
pub const HTTP_RESPONSE_STATUS_CODE: &str = "http.response.status_code";
/// Bytes of a response body (a streamed response's, counted as sent).
#[cfg(feature = "lambda")]
pub const HTTP_RESPONSE_BODY_SIZE: &str = "http.response.body.size";
/// The request's path, without its query string (semantic convention).
pub const URL_PATH: &str = "url.path";
/// The host the request was sent to, without its port (semantic convention).
pub const SERVER_ADDRESS: &str = "server.address";
/// The caller's address as the front door saw it (semantic convention).
pub const CLIENT_ADDRESS: &str = "client.address";
/// The caller's `User-Agent` (semantic convention).
pub const USER_AGENT_ORIGINAL: &str = "user_agent.original";

/// The longest value, in bytes, that perfmon takes from a request into a
/// span attribute (a path, a route, a host, a `User-Agent`): a longer one is
/// cut at a character boundary. Whatever a caller sends, a span stays well
/// inside X-Ray's 64 KiB segment document.
pub const MAX_REQUEST_VALUE_BYTES: usize = 1024;

/// `value`, cut to at most [`MAX_REQUEST_VALUE_BYTES`] at a character
/// boundary.
#[cfg(any(feature = "lambda", feature = "axum", feature = "aws-sdk"))]
pub(crate) fn bounded(value: &str) -> String {
    value[..value.floor_char_boundary(MAX_REQUEST_VALUE_BYTES)].to_owned()
}
