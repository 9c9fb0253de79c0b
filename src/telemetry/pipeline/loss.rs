//! Lost telemetry, counted rather than silent.
//!
//! A span or metric point is lost when its export fails (refused, reset, or
//! timed out by the exporter) or when it finds the export queue full. Both
//! are counted here, and [`Telemetry`](crate::telemetry::Telemetry) reports the running
//! totals as the `TelemetryLost` gauge, so that the first export to succeed
//! after an outage carries everything lost during it.
//!
//! - [`BoundedQueue`] sits in front of the SDK's batch span processor and
//!   admits a span only while fewer than its limit are queued or being
//!   exported; the rest are dropped and counted. The SDK's own queue has the
//!   same capacity, so it never drops a span uncounted.
//! - [`CountingSpanExporter`] and [`CountingMetricExporter`] wrap exporters:
//!   a failed batch is counted as lost, and every finished batch frees its
//!   queue slots.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

/// Spans queued or being exported at most, unless
/// `OTEL_BSP_MAX_QUEUE_SIZE` says otherwise (the SDK's default).
pub const DEFAULT_SPAN_QUEUE: usize = 2048;

/// Running totals of lost telemetry, shared by the wrappers below.
#[derive(Debug, Default)]
pub(crate) struct Loss {
    /// Spans dropped on a full queue, in a failed export, or refused by
    /// X-Ray for their trace id.
    pub(crate) spans: AtomicU64,
    /// Metric data points in failed exports.
    pub(crate) metric_points: AtomicU64,
    /// Spans admitted to the batch processor and not yet exported.
    queued: AtomicU64,
    /// Whether the last metric export failed or was cancelled: the totals
    /// it carried may not have arrived (see `loss_report`).
    pub(crate) metrics_export_failed: AtomicBool,
}

/// Admits spans to `inner` (a batch span processor) up to `limit` at a time.
#[derive(Debug)]
pub(crate) struct BoundedQueue<P> {
    inner: P,
    limit: u64,
    loss: Arc<Loss>,
}

impl<P> BoundedQueue<P> {
    pub(crate) fn new(inner: P, limit: usize, loss: Arc<Loss>) -> Self {
        BoundedQueue {
            inner,
            limit: limit as u64,
            loss,
        }
    }
}

impl<P: SpanProcessor> SpanProcessor for BoundedQueue<P> {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx)
    }

    fn on_end(&self, span: SpanData) {
        if self.loss.queued.fetch_add(1, Ordering::Relaxed) >= self.limit {
            self.loss.queued.fetch_sub(1, Ordering::Relaxed);
            self.loss.spans.fetch_add(1, Ordering::Relaxed);
            return;
        }
        self.inner.on_end(span)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource)
    }
}

/// Counts the spans of failed batches; with `frees_queue`, also gives each
/// finished batch's slots back to the [`BoundedQueue`] in front.
#[derive(Debug)]
pub(crate) struct CountingSpanExporter<E> {
    inner: E,
    loss: Arc<Loss>,
    frees_queue: bool,
}

impl<E> CountingSpanExporter<E> {
    /// Behind a [`BoundedQueue`].
    pub(crate) fn queued(inner: E, loss: Arc<Loss>) -> Self {
        CountingSpanExporter {
            inner,
            loss,
            frees_queue: true,
        }
    }

    /// Behind a processor with its own bound.
    pub(crate) fn unqueued(inner: E, loss: Arc<Loss>) -> Self {
        CountingSpanExporter {
            inner,
            loss,
            frees_queue: false,
        }
    }
}

/// Settles one batch when dropped: an export cancelled half-way is lost too.
struct Settle<'a> {
    loss: &'a Loss,
    spans: u64,
    frees_queue: bool,
    exported: bool,
}

impl Drop for Settle<'_> {
    fn drop(&mut self) {
        if self.frees_queue {
            self.loss.queued.fetch_sub(self.spans, Ordering::Relaxed);
        }
        if !self.exported {
            self.loss.spans.fetch_add(self.spans, Ordering::Relaxed);
        }
    }
}

impl<E: SpanExporter> SpanExporter for CountingSpanExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let mut settle = Settle {
            loss: &self.loss,
            spans: batch.len() as u64,
            frees_queue: self.frees_queue,
            exported: false,
        };
        let result = self.inner.export(batch).await;
        settle.exported = result.is_ok();
        result
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource)
    }
}

/// Counts the data points of failed metric exports.
#[derive(Debug)]
pub(crate) struct CountingMetricExporter<E> {
    inner: E,
    loss: Arc<Loss>,
}

impl<E> CountingMetricExporter<E> {
    pub(crate) fn new(inner: E, loss: Arc<Loss>) -> Self {
        CountingMetricExporter { inner, loss }
    }
}

impl<E: PushMetricExporter> PushMetricExporter for CountingMetricExporter<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        // Set until the export succeeds, so a cancelled one counts as failed.
        self.loss
            .metrics_export_failed
            .store(true, Ordering::Relaxed);
        let result = self.inner.export(metrics).await;
        self.loss
            .metrics_export_failed
            .store(result.is_err(), Ordering::Relaxed);
        if result.is_err() {
            self.loss
                .metric_points
                .fetch_add(data_points(metrics), Ordering::Relaxed);
        }
        result
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// Data points in an export.
pub(crate) fn data_points(metrics: &ResourceMetrics) -> u64 {
    crate::telemetry::data::points::metric_points(metrics).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_sdk::error::OTelSdkError;
    use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor};
    use std::sync::atomic::AtomicBool;

    /// Fails while `down` is set; counts the spans it accepted.
    #[derive(Debug, Clone, Default)]
    struct Flaky {
        down: Arc<AtomicBool>,
        accepted: Arc<AtomicU64>,
    }

    impl SpanExporter for Flaky {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            if self.down.load(Ordering::SeqCst) {
                return Err(OTelSdkError::InternalFailure("collector down".into()));
            }
            self.accepted
                .fetch_add(batch.len() as u64, Ordering::SeqCst);
            Ok(())
        }
    }

    fn span() -> SpanData {
        use opentelemetry::trace::{
            SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
        };
        use opentelemetry::InstrumentationScope;
        SpanData {
            span_context: SpanContext::new(
                TraceId::from(1u128),
                SpanId::from(1u64),
                TraceFlags::SAMPLED,
                false,
                TraceState::default(),
            ),
            parent_span_id: SpanId::INVALID,
            parent_span_is_remote: false,
            span_kind: SpanKind::Internal,
            name: "op".into(),
            start_time: std::time::SystemTime::UNIX_EPOCH,
            end_time: std::time::SystemTime::UNIX_EPOCH,
            attributes: Vec::new(),
            dropped_attributes_count: 0,
            events: Default::default(),
            links: Default::default(),
            status: Status::Unset,
            instrumentation_scope: InstrumentationScope::builder("t").build(),
        }
    }

    fn pipeline(flaky: &Flaky, limit: usize, loss: &Arc<Loss>) -> BoundedQueue<BatchSpanProcessor> {
        let bsp =
            BatchSpanProcessor::builder(CountingSpanExporter::queued(flaky.clone(), loss.clone()))
                .with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(limit)
                        .with_max_export_batch_size(limit)
                        .with_scheduled_delay(Duration::from_secs(3600))
                        .build(),
                )
                .build();
        BoundedQueue::new(bsp, limit, loss.clone())
    }

    #[test]
    fn every_span_is_exported_or_counted_lost() {
        let flaky = Flaky::default();
        let loss = Arc::new(Loss::default());
        let queue = pipeline(&flaky, 8, &loss);
        // Ten spans into eight slots: two dropped on the full queue.
        for _ in 0..10 {
            queue.on_end(span());
        }
        assert_eq!(loss.spans.load(Ordering::SeqCst), 2);
        queue.force_flush().unwrap();
        assert_eq!(flaky.accepted.load(Ordering::SeqCst), 8);
        assert_eq!(loss.queued.load(Ordering::SeqCst), 0, "slots are freed");
        // While the destination is down, a failed batch is lost and counted.
        flaky.down.store(true, Ordering::SeqCst);
        for _ in 0..5 {
            queue.on_end(span());
        }
        assert!(queue.force_flush().is_err());
        assert_eq!(loss.spans.load(Ordering::SeqCst), 7);
        assert_eq!(loss.queued.load(Ordering::SeqCst), 0);
        // Back up: nothing more is lost.
        flaky.down.store(false, Ordering::SeqCst);
        for _ in 0..3 {
            queue.on_end(span());
        }
        queue.force_flush().unwrap();
        assert_eq!(flaky.accepted.load(Ordering::SeqCst), 11);
        assert_eq!(loss.spans.load(Ordering::SeqCst), 7);
        let _ = queue.shutdown_with_timeout(Duration::from_secs(1));
    }

    #[test]
    fn an_unqueued_exporter_counts_failures_without_touching_the_queue() {
        let flaky = Flaky::default();
        flaky.down.store(true, Ordering::SeqCst);
        let loss = Arc::new(Loss::default());
        let exporter = CountingSpanExporter::unqueued(flaky, loss.clone());
        assert!(futures_executor::block_on(exporter.export(vec![span(), span()])).is_err());
        assert_eq!(loss.spans.load(Ordering::SeqCst), 2);
        assert_eq!(loss.queued.load(Ordering::SeqCst), 0);
    }
}
