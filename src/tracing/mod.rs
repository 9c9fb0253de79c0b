//! The `tracing` bridge and log lines (feature `tracing`, on with
//! `lambda`).
//!
//! [`init`] installs, as the global subscriber:
//! - [`env_filter`]: `AWS_LAMBDA_LOG_LEVEL` when set, else `RUST_LOG`, else
//!   `info`;
//! - [`otel_layer`]: `tracing` spans become spans of perfmon's traces, in
//!   the same trace as the operations around them and inside them;
//! - [`LogLayer`]: each event becomes one line on stdout, JSON under
//!   `AWS_LAMBDA_LOG_FORMAT=JSON`, carrying `traceId` (X-Ray form, as on the
//!   EMF lines), `spanId`, `requestId`, the function name and `coldStart`,
//!   with the privacy rules applied to every field;
//! - [`otlp_log_layer`]: with `OTEL_LOGS_EXPORTER=otlp`, the same events as
//!   OTel log records over OTLP, with their trace context.
//!
//! To keep a subscriber of your own, compose the layers into it instead:
//!
//! ```
//! use tracing_subscriber::layer::SubscriberExt as _;
//! use tracing_subscriber::util::SubscriberInitExt as _;
//!
//! let telemetry = perfmon_lambda::Telemetry::builder().with_exporters_disabled().build()?;
//! let (filter, _problem) = perfmon_lambda::tracing::env_filter();
//! tracing_subscriber::registry()
//!     .with(filter)
//!     .with(perfmon_lambda::tracing::otel_layer(&telemetry))
//!     .with(perfmon_lambda::tracing::LogLayer::new(&telemetry))
//!     .with(perfmon_lambda::tracing::otlp_log_layer(&telemetry))
//!     .try_init()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! perfmon's own warnings (a failed flush, dropped EMF points, a setting
//! that fell back to its default) are `tracing` events, so they appear in
//! these lines.

mod bridge;
mod filter;
mod format;
mod invocation;
mod line;
mod log_layer;
mod otlp_logs;

pub use bridge::{otel_layer, traced, OtelLayer, UNTRACED_TARGETS};
pub use filter::env_filter;
pub use format::LogFormat;
pub use invocation::InvocationFields;
pub use log_layer::LogLayer;
pub use otlp_logs::{otlp_log_layer, OtlpLogLayer, Scrubbed, ScrubbedLogger, ScrubbedRecord};

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::telemetry::Telemetry;

/// Why [`init`] installed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TracingError {
    /// A global subscriber is already installed; it is left as it is.
    #[error("a global tracing subscriber is already installed: {0}")]
    AlreadyInstalled(#[from] tracing_subscriber::util::TryInitError),
}

/// Installs the filter, the bridge and the log layers (see the module docs)
/// as the global `tracing` subscriber.
///
/// Fails, changing nothing, when a global subscriber is already installed.
/// A filter setting that does not parse falls back (see [`env_filter`]) and
/// is logged as the first line.
pub fn init(telemetry: &Telemetry) -> Result<(), TracingError> {
    let (filter, problem) = env_filter();
    tracing_subscriber::registry()
        .with(filter)
        .with(otel_layer(telemetry))
        .with(LogLayer::new(telemetry))
        .with(otlp_log_layer(telemetry))
        .try_init()?;
    if let Some(error) = problem {
        ::tracing::warn!(%error, "log filter setting ignored");
    }
    Ok(())
}
