//! The `tracing` → OpenTelemetry bridge: `tracing` spans become spans of
//! perfmon's tracer provider, in the same traces as perfmon's operations.
//!
//! `tracing-opentelemetry` activates each span's OTel context while the span
//! is entered, and parents a new span on the current OTel context. So an
//! `#[instrument]` span inside a perfmon operation is its child, and a
//! perfmon operation started inside a `tracing` span is that span's child.
//!
//! Spans of the targets in [`UNTRACED_TARGETS`] are left out of traces
//! (their events still reach the log lines):
//! - `lambda_runtime`'s per-invocation span is created outside every layer
//!   of the handler, before the X-Ray parent is known; traced, it would
//!   start a second, unparented trace per invocation. The Lambda layer's
//!   root span stands for the invocation instead.
//! - The AWS SDK and its HTTP stack: each AWS call is one CLIENT span that
//!   the caller records with the attributes X-Ray needs (DESIGN §6); the
//!   SDK's own nested spans (`invoke`, `try_op`, `try_attempt`, ...) would
//!   duplicate it.

use opentelemetry_sdk::trace::SdkTracer;
use tracing::Subscriber;
use tracing_subscriber::filter::{FilterFn, Filtered};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::telemetry::Telemetry;

/// Target prefixes whose spans never become OTel spans.
pub const UNTRACED_TARGETS: &[&str] = &[
    "lambda_runtime",
    "aws_config",
    "aws_runtime",
    "aws_sdk_",
    "aws_sigv4",
    "aws_smithy_",
    "h2",
    "hyper",
    "reqwest",
    "rustls",
    "tonic",
    "tower",
];

/// Whether spans of `target` are traced.
pub fn traced(target: &str) -> bool {
    !UNTRACED_TARGETS.iter().any(|prefix| {
        target.starts_with(prefix)
            && (prefix.ends_with('_') || target.len() == prefix.len() || {
                // `hyper` covers `hyper::client` and `hyper_util`, not `hyperion`.
                let next = target.as_bytes()[prefix.len()];
                next == b':' || next == b'_'
            })
    })
}

/// The bridge layer on `telemetry`'s tracer: `tracing` spans, except those
/// of [`UNTRACED_TARGETS`], become OTel spans.
pub type OtelLayer<S> = Filtered<
    tracing_opentelemetry::OpenTelemetryLayer<S, SdkTracer>,
    FilterFn<fn(&tracing::Metadata<'_>) -> bool>,
    S,
>;

/// The bridge layer, to compose into a subscriber of your own.
pub fn otel_layer<S>(telemetry: &Telemetry) -> OtelLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let keep: fn(&tracing::Metadata<'_>) -> bool = |meta| !meta.is_span() || traced(meta.target());
    tracing_opentelemetry::layer()
        .with_tracer(telemetry.tracer())
        // Source location, thread and busy/idle timings would add five
        // attributes to every span; the span name already says where.
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(FilterFn::new(keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_and_sdk_internals_are_not_traced() {
        for target in [
            "lambda_runtime::layers::trace",
            "aws_smithy_runtime::client::orchestrator",
            "aws_sdk_dynamodb::operation",
            "hyper_util::client",
            "hyper",
        ] {
            assert!(!traced(target), "{target}");
        }
        for target in ["perfmon_chat::auth", "orders", "hyperion", "towering::x"] {
            assert!(traced(target), "{target}");
        }
    }
}
