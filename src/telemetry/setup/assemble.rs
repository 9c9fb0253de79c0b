//! How a [`Telemetry`] is assembled from a [`Plan`], reading nothing else:
//! the span pipe (the privacy rules, a bounded, loss-counting queue), the
//! exporter each signal goes to, the catalog views, the resource, the
//! `TelemetryLost` gauge, and how each signal is flushed.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use opentelemetry::metrics::{MeterProvider as _, ObservableGauge};
use opentelemetry::KeyValue;
use opentelemetry_aws::detector::LambdaResourceDetector;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

use crate::names::{self, dim};
use crate::telemetry::data::ids::XrayIds;
use crate::telemetry::error::{BuildError, Signal};
use crate::telemetry::export::otlp::{GrpcRuntime, OtlpProtocol, OtlpTarget};
use crate::telemetry::export::{console, emf, logs, xray};
use crate::telemetry::exporter::ExporterKind;
use crate::telemetry::flush::Worker;
use crate::telemetry::pipeline::inline;
use crate::telemetry::pipeline::loss::{CountingMetricExporter, CountingSpanExporter};
use crate::telemetry::pipeline::loss_report::LossReport;
use crate::telemetry::pipeline::pipe::SpanPipe;
use crate::telemetry::settings::Settings;
use crate::telemetry::setup::builder::Parts;
use crate::telemetry::setup::plan::{Plan, XrayTarget};
use crate::telemetry::setup::views;
use crate::telemetry::stats::Counters;
use crate::telemetry::{SignalFlush, Telemetry, SCOPE};

/// Starts the pipeline `plan` describes.
pub(crate) fn assemble(plan: Plan) -> Result<Telemetry, BuildError> {
    let Plan {
        settings,
        otlp,
        xray,
        metric_interval,
        sampler,
        mut parts,
    } = plan;
    let grpc = (otlp.protocol == OtlpProtocol::Grpc && settings.otlp_used())
        .then(GrpcRuntime::start)
        .transpose()?;
    let target = OtlpTarget::new(otlp, grpc.as_ref().map(GrpcRuntime::handle));
    let console = parts.console.take().unwrap_or_else(console::stdout);
    let resource = resource(&settings);
    let counters = Arc::new(Counters::default());
    let invocation = emf::InvocationSlot::default();
    let tracer_provider = tracer_provider(
        &settings,
        &mut parts,
        sampler,
        &target,
        xray.as_ref(),
        &console,
        &counters,
        resource.clone(),
    )?;
    let (meter_provider, one_reader) = meter_provider(
        &settings,
        &mut parts,
        metric_interval,
        &target,
        console,
        &counters,
        &invocation,
        resource.clone(),
    )?;
    let logger_provider = (settings.logs_exporter == ExporterKind::Otlp)
        .then(|| logs::logger_provider(&target, resource))
        .transpose()?;
    let lost = telemetry_lost(&meter_provider, &settings, &counters, one_reader);
    let mut signals = vec![
        if matches!(
            settings.traces_exporter,
            ExporterKind::Xray | ExporterKind::None
        ) {
            SignalFlush::Inline(Signal::Traces, Box::new(tracer_provider.clone()))
        } else {
            SignalFlush::Worker(Worker::spawn(Signal::Traces, tracer_provider.clone())?)
        },
        if matches!(
            settings.metrics_exporter,
            ExporterKind::Emf | ExporterKind::None
        ) {
            SignalFlush::Inline(Signal::Metrics, Box::new(meter_provider.clone()))
        } else {
            SignalFlush::Worker(Worker::spawn(Signal::Metrics, meter_provider.clone())?)
        },
    ];
    if let Some(provider) = &logger_provider {
        signals.push(SignalFlush::Worker(Worker::spawn(
            Signal::Logs,
            provider.clone(),
        )?));
    }
    Ok(Telemetry {
        tracer_provider,
        meter_provider,
        logger_provider,
        settings,
        signals,
        counters,
        shut_down: AtomicBool::new(false),
        invocation,
        metric_interval,
        _lost: lost,
        _grpc: grpc,
    })
}

/// The tracer provider: X-Ray ids, the resource, and the selected span
/// exporter behind the span pipe.
#[allow(clippy::too_many_arguments)]
fn tracer_provider(
    settings: &Settings,
    parts: &mut Parts,
    sampler: Option<opentelemetry_sdk::trace::Sampler>,
    target: &OtlpTarget,
    xray: Option<&XrayTarget>,
    console: &console::Sink,
    counters: &Counters,
    resource: Resource,
) -> Result<SdkTracerProvider, BuildError> {
    let pipe = SpanPipe::new(
        settings.export_personal_data,
        counters.attributes_dropped.clone(),
        counters.loss.clone(),
        settings.span_queue,
    );
    let mut tracer = SdkTracerProvider::builder()
        .with_id_generator(XrayIds::default())
        .with_resource(resource);
    if let Some(sampler) = sampler {
        tracer = tracer.with_sampler(sampler);
    }
    tracer = match (settings.traces_exporter, parts.span_pipeline.take(), xray) {
        (ExporterKind::Custom, Some(pipeline), _) => pipeline(tracer, &pipe),
        (ExporterKind::Otlp, _, _) => {
            tracer.with_span_processor(pipe.batch(target.span_exporter()?))
        }
        (ExporterKind::Console, _, _) => tracer
            .with_span_processor(pipe.batch(console::ConsoleSpanExporter::new(console.clone()))),
        (ExporterKind::Xray, _, Some(xray)) => {
            let exporter = xray::exporter(
                xray.daemon,
                &settings.catalog.indexed_attributes,
                &xray.log_groups,
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
#[allow(clippy::too_many_arguments)]
fn meter_provider(
    settings: &Settings,
    parts: &mut Parts,
    interval: Duration,
    target: &OtlpTarget,
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
    let (mut meter, mut readers) = match (settings.metrics_exporter, parts.metric_pipeline.take()) {
        (ExporterKind::Custom, Some(pipeline)) => (pipeline(meter, &counters.loss), None),
        (ExporterKind::Otlp, _) => (
            meter.with_reader(reader_for(
                CountingMetricExporter::new(target.metric_exporter()?, counters.loss.clone()),
                interval,
            )),
            Some(1),
        ),
        (ExporterKind::Console, _) => (
            meter.with_reader(reader_for(
                CountingMetricExporter::new(
                    console::ConsoleMetricExporter::new(console),
                    counters.loss.clone(),
                ),
                interval,
            )),
            Some(1),
        ),
        (ExporterKind::Emf, _) => {
            let writer = parts
                .emf_writer
                .take()
                .unwrap_or_else(|| Box::new(std::io::stdout()));
            (meter.with_reader(emf_reader(writer)), Some(1))
        }
        _ => (meter, Some(0)),
    };
    if let Some(writer) = parts.emf_copy.take() {
        meter = meter.with_reader(emf_reader(writer));
        readers = readers.map(|n| n + 1);
    }
    Ok((meter.build(), readers == Some(1)))
}

/// Registers `TelemetryLost{Signal, Environment}`: the running totals of
/// [`TelemetryStats::lost`](crate::TelemetryStats::lost). A gauge of the total rather than a delta
/// counter, so that the first export to succeed after an outage reports
/// everything lost during it. With `one_reader`, an unmoved total is
/// observed once a minute rather than at every collection (`loss_report`).
fn telemetry_lost(
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

fn reader_for<E: PushMetricExporter>(exporter: E, interval: Duration) -> PeriodicReader<E> {
    PeriodicReader::builder(exporter)
        .with_interval(interval)
        .build()
}

fn resource(settings: &Settings) -> Resource {
    let mut builder = Resource::builder();
    if settings.on_lambda() {
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
