//! Counters of telemetry failures and losses, and their public snapshot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use super::error::Signal;
use super::export::emf::EmfCounters;
use super::pipeline::inline::SpanBuffer;
use super::pipeline::loss::Loss;

/// Counters of telemetry failures. They never fail a request; they are
/// counted here and logged once per kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TelemetryStats {
    /// Flushes that completed.
    pub flushes: u64,
    /// Flushes whose exporter reported an error.
    pub flush_failures: u64,
    /// Flushes that hit their timeout, or were refused because earlier ones
    /// were still stuck.
    pub flush_timeouts: u64,
    /// Span attributes dropped by the privacy rules.
    pub attributes_dropped: u64,
    /// Finished spans dropped because the inline buffer was full.
    pub spans_dropped: u64,
    /// Finished spans waiting in the inline buffer (X-Ray over UDP) for the
    /// next flush, now. The buffer holds at most
    /// [`MAX_BUFFERED_SPANS`](crate::MAX_BUFFERED_SPANS): a process that
    /// flushes on its own schedule, rather than once per Lambda invocation,
    /// can flush before it fills.
    pub spans_buffered: u64,
    /// EMF lines written.
    pub emf_lines: u64,
    /// Metric points the EMF exporter dropped as invalid.
    pub emf_dropped: u64,
    /// Spans lost: dropped on a full export queue, or in an export that
    /// failed or timed out. `spans_dropped` is counted apart.
    pub spans_lost: u64,
    /// Metric data points in exports that failed or timed out.
    pub metric_points_lost: u64,
}

impl TelemetryStats {
    /// What the `TelemetryLost` gauge reports for `signal`: every span or
    /// metric point this process has lost since it started. The OTLP copy
    /// of log records is not counted (the lines themselves are on stdout).
    pub fn lost(&self, signal: Signal) -> u64 {
        match signal {
            Signal::Traces => self.spans_lost + self.spans_dropped,
            Signal::Metrics => self.metric_points_lost + self.emf_dropped,
            // Log lines are printed before any export, so none is lost;
            // the optional OTLP copy is not counted.
            Signal::Logs => 0,
        }
    }
}

#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) flushes: AtomicU64,
    pub(super) flush_failures: AtomicU64,
    pub(super) flush_timeouts: AtomicU64,
    pub(super) attributes_dropped: Arc<AtomicU64>,
    pub(super) spans_dropped: Arc<AtomicU64>,
    pub(super) span_buffer: SpanBuffer,
    pub(super) emf: Arc<EmfCounters>,
    pub(super) loss: Arc<Loss>,
    pub(super) logged_failure: AtomicBool,
    pub(super) logged_timeout: AtomicBool,
}

impl Counters {
    /// Finished spans waiting in the inline buffer. As the span processor
    /// does: a lock poisoned by a panic elsewhere still holds the spans the
    /// next flush exports.
    pub(super) fn spans_buffered(&self) -> u64 {
        self.span_buffer
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len() as u64
    }

    pub(super) fn stats(&self) -> TelemetryStats {
        TelemetryStats {
            flushes: self.flushes.load(Ordering::Relaxed),
            flush_failures: self.flush_failures.load(Ordering::Relaxed),
            flush_timeouts: self.flush_timeouts.load(Ordering::Relaxed),
            attributes_dropped: self.attributes_dropped.load(Ordering::Relaxed),
            spans_dropped: self.spans_dropped.load(Ordering::Relaxed),
            spans_buffered: self.spans_buffered(),
            emf_lines: self.emf.lines.load(Ordering::Relaxed),
            emf_dropped: self.emf.dropped.load(Ordering::Relaxed),
            spans_lost: self.loss.spans.load(Ordering::Relaxed),
            metric_points_lost: self.loss.metric_points.load(Ordering::Relaxed),
        }
    }
}
