//! `Telemetry`: the tracer and meter providers, configured in the order
//! code, then the standard `OTEL_*` variables, then defaults.

mod console;
pub(crate) mod emf;
mod error;
mod exporter;
mod flush;
mod histogram;
mod inline;
mod loss;
mod otlp;
mod points;
mod privacy;
mod views;
mod xray;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Meter, MeterProvider as _, ObservableGauge};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::KeyValue;
use opentelemetry_aws::detector::LambdaResourceDetector;
use opentelemetry_aws::trace::{XrayIdGenerator, XrayPropagator};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::{MeterProviderBuilder, PeriodicReader, SdkMeterProvider};
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider, SpanExporter,
    SpanProcessor, TracerProviderBuilder,
};
use opentelemetry_sdk::Resource;

pub use emf::Invocation;
pub use error::{BuildError, Signal, TelemetryError};
pub use exporter::ExporterKind;
pub use histogram::Distribution;
pub use loss::DEFAULT_SPAN_QUEUE;
pub use otlp::OtlpProtocol;
pub use points::{metric_points, MetricPoint, PointValue};

use crate::catalog::Catalog;
use crate::env;
use crate::monitor::memory::MemorySource;
use crate::names::{self, dim};
use flush::{Flushable, Worker};
use loss::{BoundedQueue, CountingMetricExporter, CountingSpanExporter, Loss};
use privacy::PrivacyProcessor;

/// Instrumentation scope of everything perfmon records.
pub const SCOPE: &str = "perfmon";
/// Instrumentation scope of the catalog's custom metrics, recorded only
/// through typed handles that set exactly the declared dimension keys; the
/// catalog views leave their attributes unfiltered (see `views`).
pub const CATALOG_SCOPE: &str = "perfmon.catalog";

type SpanPipeline = Box<dyn FnOnce(TracerProviderBuilder, &SpanPipe) -> TracerProviderBuilder>;
type MetricPipeline = Box<dyn FnOnce(MeterProviderBuilder, &Arc<Loss>) -> MeterProviderBuilder>;

/// The resolved configuration of a [`Telemetry`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// `service.name`.
    pub service_name: String,
    /// The `Environment` dimension.
    pub environment: String,
    /// The metric catalog.
    pub catalog: Catalog,
    /// CloudWatch namespace (the catalog's unless overridden).
    pub namespace: String,
    /// Where spans go.
    pub traces_exporter: ExporterKind,
    /// Where metrics go.
    pub metrics_exporter: ExporterKind,
    /// OTLP transport, when OTLP is used.
    pub otlp_protocol: OtlpProtocol,
    /// Source of `MemoryUsage`.
    pub memory_source: MemorySource,
    /// Whether email and user-name attributes may be exported.
    pub export_personal_data: bool,
    /// Whether this process runs on AWS Lambda.
    pub on_lambda: bool,
}

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
    /// metric point this process has lost since it started.
    pub fn lost(&self, signal: Signal) -> u64 {
        match signal {
            Signal::Traces => self.spans_lost + self.spans_dropped,
            Signal::Metrics => self.metric_points_lost + self.emf_dropped,
        }
    }
}

#[derive(Debug, Default)]
struct Counters {
    flushes: AtomicU64,
    flush_failures: AtomicU64,
    flush_timeouts: AtomicU64,
    attributes_dropped: Arc<AtomicU64>,
    spans_dropped: Arc<AtomicU64>,
    emf: Arc<emf::EmfCounters>,
    loss: Arc<Loss>,
    logged_failure: AtomicBool,
    logged_timeout: AtomicBool,
}

impl Counters {
    fn stats(&self) -> TelemetryStats {
        TelemetryStats {
            flushes: self.flushes.load(Ordering::Relaxed),
            flush_failures: self.flush_failures.load(Ordering::Relaxed),
            flush_timeouts: self.flush_timeouts.load(Ordering::Relaxed),
            attributes_dropped: self.attributes_dropped.load(Ordering::Relaxed),
            spans_dropped: self.spans_dropped.load(Ordering::Relaxed),
            emf_lines: self.emf.lines.load(Ordering::Relaxed),
            emf_dropped: self.emf.dropped.load(Ordering::Relaxed),
            spans_lost: self.loss.spans.load(Ordering::Relaxed),
            metric_points_lost: self.loss.metric_points.load(Ordering::Relaxed),
        }
    }
}

/// What every span pipeline shares: the privacy rules in front, and a
/// bounded, loss-counting batch processor for exporters that may block.
pub(crate) struct SpanPipe {
    allow_personal_data: bool,
    dropped: Arc<AtomicU64>,
    loss: Arc<Loss>,
    queue: usize,
}

impl SpanPipe {
    fn wrap<P>(&self, processor: P) -> PrivacyProcessor<P> {
        PrivacyProcessor::new(processor, self.allow_personal_data, self.dropped.clone())
    }

    /// `exporter` behind the privacy rules, a queue of `queue` spans and the
    /// SDK's batch processor; every span is exported or counted lost.
    fn batch<E: SpanExporter + 'static>(&self, exporter: E) -> impl SpanProcessor {
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

/// The telemetry pipeline of one process: tracer and meter providers with
/// X-Ray ids, the privacy rules, catalog views and Delta temporality, and
/// bounded flush and shutdown.
///
/// Build it once in `main`, hand it to a
/// [`PerformanceMonitor`](crate::PerformanceMonitor), and call
/// [`force_flush`](Self::force_flush) at the end of each Lambda invocation
/// and [`shutdown`](Self::shutdown) before the process exits. Dropping it
/// without `shutdown` starts a shutdown in the background and does not wait.
pub struct Telemetry {
    tracer_provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    settings: Settings,
    /// How each signal is flushed: on a worker thread, or inline for the
    /// exporters that cannot hang.
    signals: [SignalFlush; 2],
    counters: Arc<Counters>,
    shut_down: AtomicBool,
    /// The invocation EMF lines are correlated with.
    invocation: emf::InvocationSlot,
    /// `TelemetryLost`, observed at every collection.
    _lost: ObservableGauge<u64>,
    /// Declared last: dropped after the providers that may export on it.
    _grpc: Option<otlp::GrpcRuntime>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
    /// A builder; every setting left unset comes from the environment, then
    /// from its default (see [`crate::env`]).
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }

    /// The resolved configuration.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// perfmon's tracer.
    pub fn tracer(&self) -> SdkTracer {
        self.tracer_provider.tracer(SCOPE)
    }

    /// perfmon's meter.
    pub fn meter(&self) -> Meter {
        self.meter_provider.meter(SCOPE)
    }

    /// The meter of the catalog's typed handles ([`CATALOG_SCOPE`]).
    pub(crate) fn catalog_meter(&self) -> Meter {
        self.meter_provider.meter(CATALOG_SCOPE)
    }

    /// The tracer provider, e.g. for `tracing-opentelemetry`.
    pub fn tracer_provider(&self) -> &SdkTracerProvider {
        &self.tracer_provider
    }

    /// The meter provider.
    pub fn meter_provider(&self) -> &SdkMeterProvider {
        &self.meter_provider
    }

    /// The X-Ray propagator, which reads and writes `X-Amzn-Trace-Id`.
    pub fn propagator(&self) -> XrayPropagator {
        XrayPropagator::default()
    }

    /// Installs the providers and the X-Ray propagator as the OTel globals.
    pub fn install_global(&self) {
        opentelemetry::global::set_tracer_provider(self.tracer_provider.clone());
        opentelemetry::global::set_meter_provider(self.meter_provider.clone());
        opentelemetry::global::set_text_map_propagator(self.propagator());
    }

    /// Exports every finished span and every metric recorded so far, and
    /// returns within `timeout` from any thread, inside a current-thread or
    /// multi-thread Tokio runtime or outside one. On timeout the export goes
    /// on in the background. Failures are counted in [`stats`](Self::stats)
    /// and logged once; they are returned for the caller to ignore.
    pub fn force_flush(&self, timeout: Duration) -> Result<(), TelemetryError> {
        if self.shut_down.load(Ordering::SeqCst) {
            return Err(TelemetryError::ShutDown);
        }
        let result = self.on_signals(timeout, false);
        match &result {
            Ok(()) => {
                self.counters.flushes.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.record_failure(e),
        }
        result
    }

    /// Flushes and stops both providers, within `timeout`. Calling it again
    /// does nothing.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), TelemetryError> {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.on_signals(timeout, true)
    }

    /// Sets the invocation the next exported EMF lines belong to (their
    /// `traceId` and `requestId` root fields). The Lambda layer calls it
    /// before each flush.
    pub fn set_invocation(&self, invocation: Invocation) {
        *self.invocation.lock().unwrap_or_else(|e| e.into_inner()) = invocation;
    }

    /// Failure counters.
    pub fn stats(&self) -> TelemetryStats {
        self.counters.stats()
    }

    /// Flushes (or shuts down) every signal within `timeout`: worker jobs
    /// are queued first, inline signals run meanwhile on this thread, then
    /// the workers' answers are awaited until the deadline.
    fn on_signals(&self, timeout: Duration, shutdown: bool) -> Result<(), TelemetryError> {
        let deadline = Instant::now() + timeout;
        let answers: Vec<_> = self
            .signals
            .iter()
            .filter_map(|s| match s {
                SignalFlush::Worker(w) => Some((
                    w.signal(),
                    if shutdown {
                        w.shutdown(timeout)
                    } else {
                        w.flush()
                    },
                )),
                SignalFlush::Inline(..) => None,
            })
            .collect();
        let mut first = Ok(());
        for s in &self.signals {
            if let SignalFlush::Inline(signal, target) = s {
                let result = if shutdown {
                    target.shutdown(timeout)
                } else {
                    target.flush()
                };
                if let (Err(e), true) = (result, first.is_ok()) {
                    first = Err(TelemetryError::Export {
                        signal: *signal,
                        message: e.to_string(),
                    });
                }
            }
        }
        for (signal, answer) in answers {
            let result = answer.and_then(|a| flush::wait(signal, a, deadline, timeout));
            if first.is_ok() {
                first = result;
            }
        }
        first
    }

    fn record_failure(&self, error: &TelemetryError) {
        let c = &self.counters;
        let (count, logged) = match error {
            TelemetryError::Timeout { .. } | TelemetryError::Busy { .. } => {
                (&c.flush_timeouts, &c.logged_timeout)
            }
            _ => (&c.flush_failures, &c.logged_failure),
        };
        count.fetch_add(1, Ordering::Relaxed);
        if !logged.swap(true, Ordering::Relaxed) {
            tracing::warn!(%error, "telemetry flush failed; requests are unaffected, later failures are only counted");
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if !self.shut_down.swap(true, Ordering::SeqCst) {
            // The workers hold provider clones, so the blocking SDK shutdown
            // runs on their threads, never on the dropping one. Inline
            // signals cannot hang and shut down here.
            for signal in &self.signals {
                match signal {
                    SignalFlush::Worker(worker) => {
                        let _ = worker.shutdown(Duration::from_secs(5));
                    }
                    SignalFlush::Inline(_, target) => {
                        let _ = target.shutdown(Duration::from_secs(1));
                    }
                }
            }
        }
    }
}

/// How one signal is flushed.
enum SignalFlush {
    /// On its worker thread, bounded by the caller's timeout.
    Worker(Worker),
    /// On the caller's thread: for exporters that cannot hang (EMF, X-Ray
    /// over UDP) and for signals that export nothing.
    Inline(Signal, Box<dyn Flushable + Sync>),
}

impl Flushable for SdkTracerProvider {
    fn flush(&self) -> OTelSdkResult {
        self.force_flush()
    }
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.shutdown_with_timeout(timeout)
    }
}

impl Flushable for SdkMeterProvider {
    fn flush(&self) -> OTelSdkResult {
        self.force_flush()
    }
    fn shutdown(&self, timeout: Duration) -> OTelSdkResult {
        self.shutdown_with_timeout(timeout)
    }
}

/// Configures a [`Telemetry`]. Each `with_*` overrides the variable it names.
#[derive(Default)]
pub struct TelemetryBuilder {
    service_name: Option<String>,
    environment: Option<String>,
    catalog: Option<Catalog>,
    namespace: Option<String>,
    traces: Option<ExporterKind>,
    metrics: Option<ExporterKind>,
    otlp_endpoint: Option<String>,
    otlp_protocol: Option<OtlpProtocol>,
    memory_source: Option<MemorySource>,
    personal_data: Option<bool>,
    metric_interval: Option<Duration>,
    span_pipeline: Option<SpanPipeline>,
    metric_pipeline: Option<MetricPipeline>,
    console: Option<console::Sink>,
    emf_writer: Option<Box<dyn std::io::Write + Send>>,
    xray_daemon: Option<std::net::SocketAddr>,
}

impl TelemetryBuilder {
    /// `service.name`; overrides `OTEL_SERVICE_NAME`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// The `Environment` dimension; overrides `PERFMON_ENVIRONMENT`.
    pub fn with_environment(mut self, environment: impl Into<String>) -> Self {
        self.environment = Some(environment.into());
        self
    }

    /// The catalog; overrides `PERFMON_CATALOG`.
    pub fn with_catalog(mut self, catalog: Catalog) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The CloudWatch namespace; overrides `PERFMON_METRIC_NAMESPACE` and the
    /// catalog's.
    pub fn with_namespace(mut self, namespace: impl Into<String>) -> Self {
        self.namespace = Some(namespace.into());
        self
    }

    /// Where spans go; overrides `OTEL_TRACES_EXPORTER`.
    pub fn with_traces_exporter(mut self, kind: ExporterKind) -> Self {
        self.traces = Some(kind);
        self
    }

    /// Where metrics go; overrides `OTEL_METRICS_EXPORTER`.
    pub fn with_metrics_exporter(mut self, kind: ExporterKind) -> Self {
        self.metrics = Some(kind);
        self
    }

    /// Exports nothing: both signals `none`.
    pub fn with_exporters_disabled(self) -> Self {
        self.with_traces_exporter(ExporterKind::None)
            .with_metrics_exporter(ExporterKind::None)
    }

    /// Base OTLP endpoint, e.g. `http://localhost:4318`; overrides
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.otlp_endpoint = Some(endpoint.into());
        self
    }

    /// OTLP transport; overrides `OTEL_EXPORTER_OTLP_PROTOCOL`.
    pub fn with_otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.otlp_protocol = Some(protocol);
        self
    }

    /// Source of `MemoryUsage`; overrides `PERFMON_MEMORY_SOURCE`.
    pub fn with_memory_source(mut self, source: MemorySource) -> Self {
        self.memory_source = Some(source);
        self
    }

    /// Whether email and user-name attributes may be exported; overrides
    /// `PERFMON_EXPORT_PERSONAL_DATA`. Tokens are never exported.
    pub fn with_personal_data(mut self, export: bool) -> Self {
        self.personal_data = Some(export);
        self
    }

    /// Periodic metric export interval; overrides
    /// `OTEL_METRIC_EXPORT_INTERVAL`. Flushes export too.
    pub fn with_metric_export_interval(mut self, interval: Duration) -> Self {
        self.metric_interval = Some(interval);
        self
    }

    /// Sends spans to `exporter` through a batch processor (behind the
    /// privacy rules), instead of the selected exporter.
    pub fn with_span_exporter<E: SpanExporter + 'static>(mut self, exporter: E) -> Self {
        self.traces = Some(ExporterKind::Custom);
        self.span_pipeline = Some(Box::new(move |builder, pipe| {
            builder.with_span_processor(pipe.batch(exporter))
        }));
        self
    }

    /// Sends metrics to `exporter` through a periodic reader, instead of the
    /// selected exporter.
    pub fn with_metric_exporter<E: PushMetricExporter>(mut self, exporter: E) -> Self {
        self.metrics = Some(ExporterKind::Custom);
        self.metric_pipeline = Some(Box::new(move |builder, loss| {
            builder.with_periodic_exporter(CountingMetricExporter::new(exporter, loss.clone()))
        }));
        self
    }

    /// Where EMF lines go instead of stdout (on Lambda, stdout is what the
    /// log pipeline reads).
    pub fn with_emf_writer(mut self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.emf_writer = Some(Box::new(writer));
        self
    }

    /// The X-Ray daemon's UDP address; overrides `AWS_XRAY_DAEMON_ADDRESS`.
    pub fn with_xray_daemon_address(mut self, address: std::net::SocketAddr) -> Self {
        self.xray_daemon = Some(address);
        self
    }

    #[cfg(test)]
    pub(crate) fn with_console_sink(mut self, sink: console::Sink) -> Self {
        self.console = Some(sink);
        self
    }

    /// Resolves the configuration and starts the pipeline.
    pub fn build(self) -> Result<Telemetry, BuildError> {
        let on_lambda = env::var(env::AWS_LAMBDA_FUNCTION_NAME).is_some();
        let catalog = match self.catalog {
            Some(c) => c,
            None => match env::var(env::PERFMON_CATALOG) {
                Some(path) => Catalog::from_path(path)?,
                None => Catalog::default(),
            },
        };
        let namespace = self
            .namespace
            .or_else(|| env::var(env::PERFMON_METRIC_NAMESPACE))
            .unwrap_or_else(|| catalog.namespace.clone());
        let service_name = self
            .service_name
            .or_else(|| env::var(env::OTEL_SERVICE_NAME))
            .or_else(|| env::var(env::AWS_LAMBDA_FUNCTION_NAME))
            .unwrap_or_else(|| env::OTEL_SERVICE_NAME_DEFAULT.to_owned());
        let environment = self
            .environment
            .or_else(|| env::var(env::PERFMON_ENVIRONMENT))
            .unwrap_or_else(|| env::PERFMON_ENVIRONMENT_DEFAULT.to_owned());
        let endpoint_configured = self.otlp_endpoint.is_some()
            || [
                env::OTEL_EXPORTER_OTLP_ENDPOINT,
                env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
                env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT,
            ]
            .iter()
            .any(|v| env::var(v).is_some());
        let xray_daemon =
            self.xray_daemon.is_some() || env::var(env::AWS_XRAY_DAEMON_ADDRESS).is_some();
        let traces_exporter = env::resolve(
            self.traces,
            env::OTEL_TRACES_EXPORTER,
            ExporterKind::default_traces(endpoint_configured, on_lambda, xray_daemon),
        )?;
        let metrics_exporter = env::resolve(
            self.metrics,
            env::OTEL_METRICS_EXPORTER,
            ExporterKind::default_metrics(endpoint_configured, on_lambda),
        )?;
        if traces_exporter == ExporterKind::Emf {
            return Err(BuildError::InvalidEnv {
                var: env::OTEL_TRACES_EXPORTER,
                value: "emf".to_owned(),
                expected: "otlp, xray, console or none (emf carries metrics only)".to_owned(),
            });
        }
        if metrics_exporter == ExporterKind::Xray {
            return Err(BuildError::InvalidEnv {
                var: env::OTEL_METRICS_EXPORTER,
                value: "xray".to_owned(),
                expected: "otlp, emf, console or none (xray carries traces only)".to_owned(),
            });
        }
        let settings = Settings {
            otlp_protocol: env::resolve(
                self.otlp_protocol,
                env::OTEL_EXPORTER_OTLP_PROTOCOL,
                OtlpProtocol::default(),
            )?,
            memory_source: env::resolve(
                self.memory_source,
                env::PERFMON_MEMORY_SOURCE,
                MemorySource::default(),
            )?,
            export_personal_data: env::resolve_bool(
                self.personal_data,
                env::PERFMON_EXPORT_PERSONAL_DATA,
                env::PERFMON_EXPORT_PERSONAL_DATA_DEFAULT,
            )?,
            service_name,
            environment,
            catalog,
            namespace,
            traces_exporter,
            metrics_exporter,
            on_lambda,
        };

        let grpc = (settings.otlp_protocol == OtlpProtocol::Grpc
            && (traces_exporter == ExporterKind::Otlp || metrics_exporter == ExporterKind::Otlp))
            .then(otlp::GrpcRuntime::start)
            .transpose()?;
        let target = otlp::OtlpTarget {
            protocol: settings.otlp_protocol,
            endpoint: self.otlp_endpoint,
            runtime: grpc.as_ref().map(otlp::GrpcRuntime::handle),
        };
        let console = self.console.unwrap_or_else(console::stdout);
        let resource = resource(&settings);
        let counters = Arc::new(Counters::default());
        let invocation = emf::InvocationSlot::default();
        let pipe = SpanPipe {
            allow_personal_data: settings.export_personal_data,
            dropped: counters.attributes_dropped.clone(),
            loss: counters.loss.clone(),
            queue: span_queue()?,
        };

        let mut tracer = SdkTracerProvider::builder()
            .with_id_generator(XrayIdGenerator::default())
            .with_resource(resource.clone());
        tracer = match (traces_exporter, self.span_pipeline) {
            (ExporterKind::Custom, Some(pipeline)) => pipeline(tracer, &pipe),
            (ExporterKind::Otlp, _) => {
                tracer.with_span_processor(pipe.batch(target.span_exporter()?))
            }
            (ExporterKind::Console, _) => tracer.with_span_processor(
                pipe.batch(console::ConsoleSpanExporter::new(console.clone())),
            ),
            (ExporterKind::Xray, _) => {
                let address = xray::daemon_address(self.xray_daemon)?;
                let exporter = xray::exporter(address, &settings.catalog.indexed_attributes)?;
                tracer.with_span_processor(pipe.wrap(inline::InvocationSpanProcessor::new(
                    CountingSpanExporter::unqueued(exporter, counters.loss.clone()),
                    counters.spans_dropped.clone(),
                )))
            }
            _ => tracer,
        };
        let tracer_provider = tracer.build();

        let mut meter = views::apply(
            SdkMeterProvider::builder().with_resource(resource),
            &settings.catalog,
        );
        meter = match (metrics_exporter, self.metric_pipeline) {
            (ExporterKind::Custom, Some(pipeline)) => pipeline(meter, &counters.loss),
            (ExporterKind::Otlp, _) => meter.with_reader(reader_for(
                CountingMetricExporter::new(target.metric_exporter()?, counters.loss.clone()),
                self.metric_interval,
            )),
            (ExporterKind::Console, _) => meter.with_reader(reader_for(
                CountingMetricExporter::new(
                    console::ConsoleMetricExporter::new(console),
                    counters.loss.clone(),
                ),
                self.metric_interval,
            )),
            (ExporterKind::Emf, _) => {
                meter.with_reader(inline::InvocationReader::new(CountingMetricExporter::new(
                    emf::EmfExporter::new(
                        self.emf_writer
                            .unwrap_or_else(|| Box::new(std::io::stdout())),
                        &settings.catalog,
                        &settings.namespace,
                        invocation.clone(),
                        counters.emf.clone(),
                    ),
                    counters.loss.clone(),
                )))
            }
            _ => meter,
        };
        let meter_provider = meter.build();
        let lost = telemetry_lost(&meter_provider, &settings, &counters);

        let signals = [
            if matches!(traces_exporter, ExporterKind::Xray | ExporterKind::None) {
                SignalFlush::Inline(Signal::Traces, Box::new(tracer_provider.clone()))
            } else {
                SignalFlush::Worker(Worker::spawn(Signal::Traces, tracer_provider.clone())?)
            },
            if matches!(metrics_exporter, ExporterKind::Emf | ExporterKind::None) {
                SignalFlush::Inline(Signal::Metrics, Box::new(meter_provider.clone()))
            } else {
                SignalFlush::Worker(Worker::spawn(Signal::Metrics, meter_provider.clone())?)
            },
        ];
        Ok(Telemetry {
            tracer_provider,
            meter_provider,
            settings,
            signals,
            counters,
            shut_down: AtomicBool::new(false),
            invocation,
            _lost: lost,
            _grpc: grpc,
        })
    }
}

/// Registers `TelemetryLost{Signal, Environment}`: the running totals of
/// [`TelemetryStats::lost`], observed at every collection. A gauge of the
/// total rather than a delta counter, so that the first export to succeed
/// after an outage reports everything lost during it.
fn telemetry_lost(
    provider: &SdkMeterProvider,
    settings: &Settings,
    counters: &Arc<Counters>,
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
    provider
        .meter(SCOPE)
        .u64_observable_gauge(names::TELEMETRY_LOST)
        .with_unit(spec.unit.ucum())
        .with_description(spec.description.clone())
        .with_callback(move |observer| {
            let stats = counters.stats();
            observer.observe(stats.lost(Signal::Traces), &traces);
            observer.observe(stats.lost(Signal::Metrics), &metrics);
        })
        .build()
}

/// The span queue's capacity: `OTEL_BSP_MAX_QUEUE_SIZE`, else the SDK's.
fn span_queue() -> Result<usize, BuildError> {
    Ok(env::resolve_with(
        None,
        env::OTEL_BSP_MAX_QUEUE_SIZE,
        DEFAULT_SPAN_QUEUE,
        |value| {
            value
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n > 0)
                .ok_or_else(|| "a positive number of spans".to_owned())
        },
    )?)
}

fn reader_for<E: PushMetricExporter>(exporter: E, interval: Option<Duration>) -> PeriodicReader<E> {
    let builder = PeriodicReader::builder(exporter);
    match interval {
        Some(interval) => builder.with_interval(interval).build(),
        None => builder.build(),
    }
}

fn resource(settings: &Settings) -> Resource {
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
