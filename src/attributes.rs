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
