//! # perfmon
//!
//! OpenTelemetry-based performance monitoring for Rust on AWS Lambda. Each
//! monitored operation becomes one OTel span plus the histogram and counter
//! metrics of the catalog, with the catalog's thresholds checked in-process.
//!
//! ## Quick start
//!
//! ```
//! use opentelemetry::KeyValue;
//! use perfmon::{attributes, operation, PerformanceMonitor, Telemetry};
//!
//! let telemetry = Telemetry::builder()
//!     .with_exporters_disabled() // or leave unset: OTEL_* variables decide
//!     .build()?;
//! let monitor = PerformanceMonitor::new(&telemetry);
//!
//! let op = monitor.start(
//!     operation::AUTHENTICATION_JWT_VERIFICATION,
//!     [KeyValue::new(attributes::TOKEN_LENGTH, 812_i64)],
//! );
//! op.fail("TOKEN_EXPIRED", [KeyValue::new(attributes::TOKEN_EXP, 1_700_000_000_i64)]);
//!
//! telemetry.force_flush(std::time::Duration::from_millis(200)).ok();
//! # Ok::<(), perfmon::BuildError>(())
//! ```
//!
//! ## Layout
//!
//! - [`catalog`](Catalog): the metric catalog, `dashboards/catalog.json`,
//!   embedded and validated.
//! - [`names`]: metric names and dimension keys as the code records them.
//! - [`attributes`]: span attribute keys.
//! - [`PerformanceMonitor`] / [`OperationMonitor`]: `start` and `complete`.
//! - [`BusinessMetrics`]: typed recorders for the business metrics.
//! - [`Telemetry`]: providers, exporters (`otlp`, `emf`, `xray`, `console`, `none`), the
//!   privacy rules, bounded flush and shutdown.
//! - [`env`](mod@env): every environment variable and its default.
//! - `app` (feature `app`): the chat application the guide monitors.
//!
//! ## Environment
//!
//! Settings resolve in the order code (`TelemetryBuilder::with_*`), then the
//! variable, then the default. The table is in [`env`](mod@env).
//!
//! ## Features
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `lambda` | with `app` | [`lambda`]: the per-invocation Lambda layer (root span, cold starts, bounded flush) |
//! | `app` | yes | [`app`]: the WebSocket chat application, its local server and demo (no AWS SDK) |
//! | `aws` | no | DynamoDB storage, Management API posting, Cognito JWKS over HTTPS, the Lambda entry point |
//!
//! The monitoring core (`--no-default-features`) depends on no AWS SDK crate.

#![warn(missing_docs)]

#[cfg(feature = "app")]
pub mod app;
pub mod attributes;
mod business;
mod catalog;
mod clock;
pub mod dashboards;
pub mod env;
#[cfg(feature = "lambda")]
pub mod lambda;
mod monitor;
pub mod names;
mod telemetry;

pub use business::{
    AuthOutcome, BusinessMetrics, ConnectionEvent, DisconnectReason, MessageType,
    VerificationOutcome,
};
pub use catalog::{
    Catalog, CatalogError, Instrument, MetricSpec, OperationSpec, SpanKindName, TeamSpec,
    Thresholds, Unit,
};
pub use monitor::memory::{
    read_resident_bytes, CountingAllocator, MemorySource, RESIDENT_RESAMPLE_INTERVAL,
};
pub use monitor::thresholds::{ERROR_RATE, ERROR_RATE_MIN_SAMPLES, ERROR_RATE_WINDOW};
pub use monitor::{
    ErrorCode, OperationMonitor, PerformanceMonitor, ABANDONED, MAX_UNLISTED_OPERATIONS,
    OVERFLOW_OPERATION, UNSPECIFIED_ERROR,
};
pub use names::operation;
pub use telemetry::{
    BuildError, ExporterKind, Invocation, OtlpProtocol, Settings, Signal, Telemetry,
    TelemetryBuilder, TelemetryError, TelemetryStats, DEFAULT_SPAN_QUEUE, SCOPE,
};
