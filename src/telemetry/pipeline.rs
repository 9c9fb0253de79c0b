//! How the providers are assembled from the settings: the span pipe (the
//! privacy rules, a bounded, loss-counting queue), the exporter each signal
//! goes to, the catalog views, the resource, and the `TelemetryLost` gauge.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::metrics::{MeterProvider as _, ObservableGauge};
use opentelemetry::KeyValue;
use opentelemetry_aws::detector::LambdaResourceDetector;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracerProvider, SpanExporter, SpanProcessor,
    TracerProviderBuilder,
};
use opentelemetry_sdk::Resource;

use super::loss::{BoundedQueue, CountingMetricExporter, CountingSpanExporter, Loss};
use super::loss_report::LossReport;
use super::privacy::PrivacyProcessor;
use super::stats::Counters;
use super::{
    console, emf, inline, otlp, views, xray, BuildError, ExporterKind, Settings, Signal,
    TelemetryBuilder, SCOPE,
};
use crate::names::{self, dim};

/// Installs a caller's span exporter on the builder (`with_span_exporter`).
pub(super) type SpanPipeline =
    Box<dyn FnOnce(TracerProviderBuilder, &SpanPipe) -> TracerProviderBuilder>;
/// Installs a caller's metric exporter on the builder (`with_metric_exporter`).
pub(super) type MetricPipeline =
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
    pub(super) fn wrap<P>(&self, processor: P) -> PrivacyProcessor<P> {
        PrivacyProcessor::new(processor, self.allow_personal_data, self.dropped.clone())
    }

    /// `exporter` behind the privacy rules, a queue of `queue` spans and the
    /// SDK's batch processor; every span is exported or counted lost.
    pub(super) fn batch<E: SpanExporter + 'static>(&self, exporter: E) -> impl SpanProcessor {
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

/// The tracer provider: X-Ray ids, the resource, and the selected span
/// exporter behind the span pipe.
pub(super) fn tracer_provider(
    settings: &Settings,
    b: &mut TelemetryBuilder,
    target: &otlp::OtlpTarget,
    console: &console::Sink,
    counters: &Counters,
    resource: Resource,
) -> Result<SdkTracerProvider, BuildError> {
    let pipe = SpanPipe {
        allow_personal_data: settings.export_personal_data,
        dropped: counters.attributes_dropped.clone(),
        loss: counters.loss.clone(),
        queue: settings.span_queue,
    };
    let mut tracer = SdkTracerProvider::builder()
        .with_id_generator(super::XrayIds::default())
        .with_resource(resource);
    // The SDK reads OTEL_TRACES_SAMPLER itself; the caller's default
    // applies only without it.
    if let Some(sampler) = b.sampler.take() {
        if crate::env::var(crate::env::OTEL_TRACES_SAMPLER).is_none() {
            tracer = tracer.with_sampler(sampler);
        }
    }
    tracer = match (settings.traces_exporter, b.span_pipeline.take()) {
        (ExporterKind::Custom, Some(pipeline)) => pipeline(tracer, &pipe),
        (ExporterKind::Otlp, _) => tracer.with_span_processor(pipe.batch(target.span_exporter()?)),
        (ExporterKind::Console, _) => tracer
            .with_span_processor(pipe.batch(console::ConsoleSpanExporter::new(console.clone()))),
        (ExporterKind::Xray, _) => {
            let address = xray::daemon_address(b.xray_daemon)?;
            let exporter = xray::exporter(
                address,
                &settings.catalog.indexed_attributes,
                counters.loss.clone(),
            )?;
            tracer.with_span_processor(pipe.wrap(inline::InvocationSpanProcessor::new(
                CountingSpanExporter::unqueued(exporter, counters.loss.clone()),
                counters.span_buffer.clone(),
                counters.spans_dropped.clone(),
            )))
        }
        _ => tracer,
    };
    Ok(tracer.build())
}

/// The meter provider: the catalog views, the resource, and the selected
/// metric exporter, counting what it loses; with whether exactly one metric
/// reader collects (`loss_report`).
pub(super) fn meter_provider(
    settings: &Settings,
    b: &mut TelemetryBuilder,
    target: &otlp::OtlpTarget,
    console: console::Sink,
    counters: &Counters,
    invocation: &emf::InvocationSlot,
    resource: Resource,
) -> Result<(SdkMeterProvider, bool), BuildError> {
    let meter = views::apply(
        SdkMeterProvider::builder().with_resource(resource),
        &settings.catalog,
    );
    let emf_reader = |writer: Box<dyn std::io::Write + Send>| {
        inline::InvocationReader::new(CountingMetricExporter::new(
            emf::EmfExporter::new(
                writer,
                &settings.catalog,
                &settings.namespace,
                invocation.clone(),
                counters.emf.clone(),
            ),
            counters.loss.clone(),
        ))
    };
    // The readers installed here: a caller's pipeline installs its own,
    // which are not counted (None).
    let (mut meter, mut readers) = match (settings.metrics_exporter, b.metric_pipeline.take()) {
        (ExporterKind::Custom, Some(pipeline)) => (pipeline(meter, &counters.loss), None),
        (ExporterKind::Otlp, _) => (
            meter.with_reader(reader_for(
                CountingMetricExporter::new(target.metric_exporter()?, counters.loss.clone()),
                b.metric_interval,
            )),
            Some(1),
        ),
        (ExporterKind::Console, _) => (
            meter.with_reader(reader_for(
                CountingMetricExporter::new(
                    console::ConsoleMetricExporter::new(console),
                    counters.loss.clone(),
                ),
                b.metric_interval,
            )),
            Some(1),
        ),
        (ExporterKind::Emf, _) => {
            let writer = b
                .emf_writer
                .take()
                .unwrap_or_else(|| Box::new(std::io::stdout()));
            (meter.with_reader(emf_reader(writer)), Some(1))
        }
        _ => (meter, Some(0)),
    };
    if let Some(writer) = b.emf_copy.take() {
        meter = meter.with_reader(emf_reader(writer));
        readers = readers.map(|n| n + 1);
    }
    Ok((meter.build(), readers == Some(1)))
}

/// Registers `TelemetryLost{Signal, Environment}`: the running totals of
/// [`TelemetryStats::lost`]. A gauge of the total rather than a delta
/// counter, so that the first export to succeed after an outage reports
/// everything lost during it. With `one_reader`, an unmoved total is
/// observed once a minute rather than at every collection (`loss_report`).
pub(super) fn telemetry_lost(
    provider: &SdkMeterProvider,
    settings: &Settings,
    counters: &Arc<Counters>,
    one_reader: bool,
) -> ObservableGauge<u64> {
    let spec = settings
        .catalog
        .metric(names::TELEMETRY_LOST)
        .expect("a validated catalog declares every emitted metric");
    let counters = counters.clone();
    let attributes = |signal: Signal| {
        [
            KeyValue::new(dim::SIGNAL, signal.to_string()),
            KeyValue::new(dim::ENVIRONMENT, settings.environment.clone()),
        ]
    };
    let (traces, metrics) = (attributes(Signal::Traces), attributes(Signal::Metrics));
    let report = LossReport::new(one_reader);
    provider
        .meter(SCOPE)
        .u64_observable_gauge(names::TELEMETRY_LOST)
        .with_unit(spec.unit.ucum())
        .with_description(spec.description.clone())
        .with_callback(move |observer| {
            let stats = counters.stats();
            let totals = [stats.lost(Signal::Traces), stats.lost(Signal::Metrics)];
            let due = report.due(totals, &counters.loss, SystemTime::now());
            for ((total, due), attributes) in totals.into_iter().zip(due).zip([&traces, &metrics]) {
                if due {
                    observer.observe(total, attributes);
                }
            }
        })
        .build()
}

fn reader_for<E: PushMetricExporter>(exporter: E, interval: Option<Duration>) -> PeriodicReader<E> {
    let builder = PeriodicReader::builder(exporter);
    match interval {
        Some(interval) => builder.with_interval(interval).build(),
        None => builder.build(),
    }
}

pub(super) fn resource(settings: &Settings) -> Resource {
    let mut builder = Resource::builder();
    if settings.on_lambda {
        builder = builder.with_detector(Box::new(LambdaResourceDetector));
    }
    builder
        .with_service_name(settings.service_name.clone())
        .with_attribute(KeyValue::new(
            "deployment.environment.name",
            settings.environment.clone(),
        ))
        .build()
}
