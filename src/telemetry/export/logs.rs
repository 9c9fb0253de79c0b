//! The logs pipeline, for `OTEL_LOGS_EXPORTER=otlp`: a logger provider whose
//! records go to the OTLP endpoint in batches, flushed with the other
//! signals at the end of each invocation.
//!
//! Log lines on stdout need no provider: [`crate::tracing`](mod@crate::tracing)
//! prints them. The provider only adds the OTLP copy, with the trace
//! context of the span current when the event was recorded.

use opentelemetry_sdk::logs::{BatchLogProcessor, SdkLoggerProvider};
use opentelemetry_sdk::Resource;

use crate::telemetry::error::BuildError;
use crate::telemetry::export::otlp::OtlpTarget;

/// A logger provider whose records go to `target` in batches.
pub(crate) fn logger_provider(
    target: &OtlpTarget,
    resource: Resource,
) -> Result<SdkLoggerProvider, BuildError> {
    let exporter = target.log_exporter()?;
    Ok(SdkLoggerProvider::builder()
        .with_resource(resource)
        .with_log_processor(BatchLogProcessor::builder(exporter).build())
        .build())
}
