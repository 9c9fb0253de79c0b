//! The core metrics' names and the dimension keys the library sets.
//!
//! The library declares these metrics itself (see
//! [`Catalog::metrics`](crate::Catalog::metrics)); an application's catalog
//! adds its own metrics and cannot redefine these.

/// Duration of every completed operation.
pub const HANDLER_DURATION: &str = "HandlerDuration";
/// Process memory at completion.
pub const MEMORY_USAGE: &str = "MemoryUsage";
/// Every completed operation.
pub const INVOCATIONS: &str = "Invocations";
/// Failed operations.
pub const ERRORS: &str = "Errors";
/// In-process threshold breaches.
pub const THRESHOLD_BREACHES: &str = "ThresholdBreaches";
/// Invocations that started a new Lambda execution environment.
pub const COLD_STARTS: &str = "ColdStarts";
/// Spans and metric points this process has lost since it started.
pub const TELEMETRY_LOST: &str = "TelemetryLost";

/// Root fields of an EMF line besides its dimensions and metrics: no
/// dimension key or metric may take these names.
pub const EMF_FIELDS: [&str; 3] = ["_aws", "traceId", "requestId"];

/// Dimension keys the library sets. A custom metric's own keys come from
/// its catalog entry.
pub mod dim {
    /// The operation name.
    pub const HANDLER: &str = "Handler";
    /// The deployment environment (`PERFMON_ENVIRONMENT`).
    pub const ENVIRONMENT: &str = "Environment";
    /// A typed, low-cardinality error code.
    pub const ERROR_TYPE: &str = "ErrorType";
    /// The metric whose threshold was breached.
    pub const METRIC: &str = "Metric";
    /// The Lambda function name.
    pub const FUNCTION: &str = "Function";
    /// `traces` or `metrics`.
    pub const SIGNAL: &str = "Signal";
}
