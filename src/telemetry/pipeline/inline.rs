//! Same-thread export for the collector-less path.
//!
//! On Lambda the process is frozen between invocations, so background
//! export threads buy nothing, and every hop to one costs a context switch
//! at the end of each invocation. The EMF and X-Ray exporters cannot hang
//! (a write to stdout, a non-blocking UDP send), so their pipelines export
//! on the flushing thread itself:
//!
//! - [`InvocationSpanProcessor`] keeps finished spans in a bounded buffer
//!   (drops beyond [`MAX_BUFFERED_SPANS`] are counted) and exports them when
//!   flushed;
//! - [`InvocationReader`] collects and exports metrics when flushed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::reader::MetricReader;
use opentelemetry_sdk::metrics::{InstrumentKind, ManualReader, Pipeline, Temporality};
use opentelemetry_sdk::trace::{Span, SpanData, SpanExporter, SpanProcessor};
use opentelemetry_sdk::Resource;

/// Most finished spans held between two flushes.
pub const MAX_BUFFERED_SPANS: usize = 2048;
/// Most spans exported in one batch. The X-Ray exporter nests a batch into
/// one document per root; a span is well under 2 KiB, so a batch stays far
/// below the 64 KiB datagram limit.
pub const SPANS_PER_DOCUMENT: usize = 24;

/// Finished spans waiting for the next flush; the telemetry's stats read
/// how many.
pub(crate) type SpanBuffer = Arc<Mutex<Vec<SpanData>>>;

/// Buffers finished spans and exports them on the flushing thread.
#[derive(Debug)]
pub(crate) struct InvocationSpanProcessor<E> {
    exporter: Mutex<E>,
    buffer: SpanBuffer,
    dropped: Arc<AtomicU64>,
}

impl<E: SpanExporter> InvocationSpanProcessor<E> {
    /// Buffers into `buffer`, counting spans beyond
    /// [`MAX_BUFFERED_SPANS`] in `dropped`.
    pub(crate) fn new(exporter: E, buffer: SpanBuffer, dropped: Arc<AtomicU64>) -> Self {
        InvocationSpanProcessor {
            exporter: Mutex::new(exporter),
            buffer,
            dropped,
        }
    }
}

impl<E: SpanExporter> SpanProcessor for InvocationSpanProcessor<E> {
    fn on_start(&self, _span: &mut Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        if buffer.len() < MAX_BUFFERED_SPANS {
            buffer.push(span);
        } else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Exports the buffer in batches of [`SPANS_PER_DOCUMENT`], each span
    /// moved once: splitting the rest off after each batch instead copied
    /// the remainder every time, quadratic in a server's buffer of hundreds
    /// of spans. The next buffer starts with room for as many spans as
    /// this one held, so that it does not grow by copying its spans again
    /// (at most [`MAX_BUFFERED_SPANS`]).
    fn force_flush(&self) -> OTelSdkResult {
        let spans = {
            let mut buffer = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
            let room = buffer.len();
            std::mem::replace(&mut *buffer, Vec::with_capacity(room))
        };
        let exporter = self.exporter.lock().unwrap_or_else(|e| e.into_inner());
        let mut result = Ok(());
        let mut spans = spans.into_iter();
        loop {
            let batch: Vec<SpanData> = spans.by_ref().take(SPANS_PER_DOCUMENT).collect();
            if batch.is_empty() {
                return result;
            }
            result = result.and(futures_executor::block_on(exporter.export(batch)));
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let flushed = self.force_flush();
        let exporter = self.exporter.lock().unwrap_or_else(|e| e.into_inner());
        flushed.and(exporter.shutdown_with_timeout(timeout))
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.exporter
            .get_mut()
            .unwrap_or_else(|e| e.into_inner())
            .set_resource(resource);
    }
}

/// Collects and exports metrics on the flushing thread.
#[derive(Debug)]
pub(crate) struct InvocationReader<E> {
    reader: ManualReader,
    exporter: E,
    /// The last collection, kept so that the next one refills its vectors
    /// and points (the SDK reuses what it finds) instead of building and
    /// freeing them at every flush.
    collected: Mutex<ResourceMetrics>,
}

impl<E: PushMetricExporter + std::fmt::Debug> InvocationReader<E> {
    pub(crate) fn new(exporter: E) -> Self {
        InvocationReader {
            reader: ManualReader::builder()
                .with_temporality(exporter.temporality())
                .build(),
            exporter,
            collected: Mutex::new(ResourceMetrics::default()),
        }
    }
}

impl<E: PushMetricExporter + std::fmt::Debug> MetricReader for InvocationReader<E> {
    fn register_pipeline(&self, pipeline: Weak<Pipeline>) {
        self.reader.register_pipeline(pipeline)
    }

    fn collect(&self, rm: &mut ResourceMetrics) -> OTelSdkResult {
        self.reader.collect(rm)
    }

    fn force_flush(&self) -> OTelSdkResult {
        let mut metrics = self.collected.lock().unwrap_or_else(|e| e.into_inner());
        self.reader.collect(&mut metrics)?;
        futures_executor::block_on(self.exporter.export(&metrics))
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        let flushed = self.force_flush();
        let stopped = self.reader.shutdown_with_timeout(timeout);
        flushed
            .and(stopped)
            .and(self.exporter.shutdown_with_timeout(timeout))
            .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))
    }

    fn temporality(&self, kind: InstrumentKind) -> Temporality {
        self.reader.temporality(kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Span as _, Tracer as _, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;

    /// Records each batch it is given, by span name.
    #[derive(Debug, Clone, Default)]
    struct Batches(Arc<Mutex<Vec<Vec<String>>>>);

    impl SpanExporter for Batches {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            let names = batch.iter().map(|s| s.name.to_string()).collect();
            self.0.lock().unwrap().push(names);
            Ok(())
        }
    }

    #[test]
    fn a_flush_exports_every_span_once_in_order_in_batches_of_spans_per_document() {
        let batches = Batches::default();
        let processor =
            InvocationSpanProcessor::new(batches.clone(), SpanBuffer::default(), Arc::default());
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("inline");
        let count = 2 * SPANS_PER_DOCUMENT + 5;
        for i in 0..count {
            tracer.start(format!("op{i}")).end();
        }
        provider.force_flush().unwrap();

        let got = batches.0.lock().unwrap().clone();
        let sizes: Vec<usize> = got.iter().map(Vec::len).collect();
        assert_eq!(sizes, [SPANS_PER_DOCUMENT, SPANS_PER_DOCUMENT, 5]);
        let names: Vec<String> = got.into_iter().flatten().collect();
        let expected: Vec<String> = (0..count).map(|i| format!("op{i}")).collect();
        assert_eq!(names, expected);

        // The buffer was emptied: a second flush exports nothing.
        provider.force_flush().unwrap();
        assert_eq!(batches.0.lock().unwrap().len(), 3);
    }

    /// The stats count what the processor will export, even after a panic
    /// poisoned the buffer's lock: the processor keeps using it.
    #[test]
    fn the_stats_count_the_buffer_the_processor_exports_even_once_poisoned() {
        let counters = crate::telemetry::stats::Counters::default();
        let batches = Batches::default();
        let processor = InvocationSpanProcessor::new(
            batches.clone(),
            counters.span_buffer.clone(),
            Arc::default(),
        );
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("inline");
        for i in 0..3 {
            tracer.start(format!("op{i}")).end();
        }
        let buffer = counters.span_buffer.clone();
        let _ = std::thread::spawn(move || {
            let _held = buffer.lock().unwrap();
            panic!("poisons the span buffer's lock");
        })
        .join();
        assert!(counters.span_buffer.is_poisoned());
        tracer.start("op3").end();
        assert_eq!(counters.stats().spans_buffered, 4);
        provider.force_flush().unwrap();
        assert_eq!(batches.0.lock().unwrap().concat().len(), 4);
        assert_eq!(counters.stats().spans_buffered, 0);
    }
}
