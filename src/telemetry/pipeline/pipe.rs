//! What every span pipeline shares, and how a caller's own exporter joins
//! it: the privacy rules in front, and a bounded, loss-counting batch
//! processor for exporters that may block.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use opentelemetry_sdk::metrics::MeterProviderBuilder;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SpanExporter, SpanProcessor, TracerProviderBuilder,
};

use crate::telemetry::pipeline::loss::{BoundedQueue, CountingSpanExporter, Loss};
use crate::telemetry::pipeline::privacy::PrivacyProcessor;

/// Installs a caller's span exporter on the builder (`with_span_exporter`).
pub(crate) type SpanPipeline =
    Box<dyn FnOnce(TracerProviderBuilder, &SpanPipe) -> TracerProviderBuilder>;
/// Installs a caller's metric exporter on the builder (`with_metric_exporter`).
pub(crate) type MetricPipeline =
    Box<dyn FnOnce(MeterProviderBuilder, &Arc<Loss>) -> MeterProviderBuilder>;

/// What every span pipeline shares: the privacy rules in front, and a
/// bounded, loss-counting batch processor for exporters that may block.
pub(crate) struct SpanPipe {
    allow_personal_data: bool,
    dropped: Arc<AtomicU64>,
    loss: Arc<Loss>,
    queue: usize,
}

impl SpanPipe {
    /// The pipe: personal data exported only if `allow_personal_data`,
    /// dropped attributes counted in `dropped`, and a queue of `queue`
    /// spans whose losses go to `loss`.
    pub(crate) fn new(
        allow_personal_data: bool,
        dropped: Arc<AtomicU64>,
        loss: Arc<Loss>,
        queue: usize,
    ) -> Self {
        SpanPipe {
            allow_personal_data,
            dropped,
            loss,
            queue,
        }
    }

    /// `processor` behind the privacy rules.
    pub(crate) fn wrap<P>(&self, processor: P) -> PrivacyProcessor<P> {
        PrivacyProcessor::new(processor, self.allow_personal_data, self.dropped.clone())
    }

    /// `exporter` behind the privacy rules, a queue of `queue` spans and the
    /// SDK's batch processor; every span is exported or counted lost.
    pub(crate) fn batch<E: SpanExporter + 'static>(&self, exporter: E) -> impl SpanProcessor {
        let processor =
            BatchSpanProcessor::builder(CountingSpanExporter::queued(exporter, self.loss.clone()))
                .with_batch_config(
                    BatchConfigBuilder::default()
                        .with_max_queue_size(self.queue)
                        .build(),
                )
                .build();
        self.wrap(BoundedQueue::new(processor, self.queue, self.loss.clone()))
    }
}
