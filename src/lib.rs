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
//! use perfmon_lambda::{PerformanceMonitor, Telemetry};
//!
//! let telemetry = Telemetry::builder()
//!     .with_exporters_disabled() // or leave unset: OTEL_* variables decide
//!     .build()?;
//! let monitor = PerformanceMonitor::new(&telemetry);
//!
//! let op = monitor.start("checkout", [KeyValue::new("app.cart.items", 3_i64)]);
//! op.fail("PAYMENT_DECLINED", [KeyValue::new("app.payment.method", "card")]);
//!
//! telemetry.force_flush(std::time::Duration::from_millis(200)).ok();
//! # Ok::<(), perfmon_lambda::BuildError>(())
//! ```
//!
//! On Lambda, [`lambda::LambdaMonitoring`] wraps the handler in the
//! [`lambda::PerformanceLayer`] and installs the [`tracing`](mod@crate::tracing)
//! bridge and log lines; the repository's `examples/` are complete
//! functions.
//!
//! ## Layout
//!
//! Layers import downward only:
//!
//! 1. [`names`], [`env`](mod@env), [`clock`], [`attributes`]: the names
//!    the library emits, every environment variable with its default.
//! 2. [`Catalog`]: the application's catalog, validated with every problem
//!    named; the core metrics are declared in code.
//! 3. Memory sampling ([`MemorySource`], [`CountingAllocator`]).
//! 4. [`Telemetry`]: providers, exporters (`otlp`, `emf`, `xray`,
//!    `console`, `none`), the privacy rules, bounded flush and shutdown;
//!    [`metric_points`] reads exported metrics.
//! 5. [`PerformanceMonitor`] / [`OperationMonitor`]: `start` and
//!    `complete`; [`Counter`], [`Histogram`] and [`Gauge`]: the catalog's
//!    own metrics.
//! 6. [`tracing`](mod@crate::tracing): the `tracing` bridge onto these
//!    traces, and log lines correlated with them.
//! 7. [`lambda`]: the Lambda layer.
//!
//! The dashboards, alarms and collector configuration generated from a
//! catalog, and the `perfmon` command, are the `perfmon-tools` crate.
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
//! | `lambda` | yes | [`lambda`]: the per-invocation Lambda layer (root span, cold starts, bounded flush); turns on `tracing` |
//! | `http` | no | `lambda_http` functions: the [`lambda`] layer reads every `LambdaRequest` form and the status of its `LambdaResponse`; turns on `lambda` |
//! | `axum` | no | [`axum`](mod@crate::axum): one operation per request, named by its route template, with its status class |
//! | `tracing` | yes | [`tracing`](mod@crate::tracing): the `tracing` bridge onto perfmon's traces, and log lines correlated with them |
//! | `grpc` | yes | OTLP over gRPC (tonic), besides OTLP over HTTP |
//! | `testing` | no | `testing`: telemetry on the SDK's in-memory exporters, for a function's tests |
//!
//! perfmon depends on no AWS SDK crate.

#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod attributes;
#[cfg(feature = "aws-sdk")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-sdk")))]
pub mod aws_sdk;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
pub mod catalog;
pub mod clock;
mod deadline;
pub mod env;
#[cfg(any(feature = "lambda", feature = "axum"))]
mod http_request;
mod json;
#[cfg(feature = "lambda")]
#[cfg_attr(docsrs, doc(cfg(feature = "lambda")))]
pub mod lambda;
mod memory;
mod monitor;
pub mod names;
mod telemetry;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
#[cfg(feature = "tracing")]
#[cfg_attr(docsrs, doc(cfg(feature = "tracing")))]
pub mod tracing;
mod words;

pub use catalog::{Catalog, CatalogError};
pub use deadline::{Deadline, CALL_MARGIN};
pub use memory::{
    read_resident_bytes, CountingAllocator, MemorySource, RESIDENT_RESAMPLE_INTERVAL,
};
pub use monitor::thresholds::{ERROR_RATE, ERROR_RATE_MIN_SAMPLES, ERROR_RATE_WINDOW};
pub use monitor::{
    Counter, ErrorCode, Gauge, Histogram, MetricError, OperationMonitor, PerformanceMonitor,
    ABANDONED, MAX_UNLISTED_OPERATIONS, OVERFLOW_OPERATION, UNSPECIFIED_ERROR,
};
pub use telemetry::xray_trace_id;
pub use telemetry::{
    metric_points, BuildError, Distribution, ExporterKind, Invocation, MetricPoint, OtlpProtocol,
    PointValue, Propagators, Settings, Signal, Telemetry, TelemetryBuilder, TelemetryError,
    TelemetryStats, XrayDefaultSampler, XrayIds, DEFAULT_SPAN_QUEUE, MAX_BUFFERED_SPANS, SCOPE,
    XRAY_DEFAULT_RATE, XRAY_DEFAULT_RESERVOIR,
};

// The README's and the guides' Rust blocks, compiled (and run, unless
// marked) as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
#[cfg(doctest)]
#[doc = include_str!("../docs/catalog.md")]
struct CatalogGuideDoctests;
