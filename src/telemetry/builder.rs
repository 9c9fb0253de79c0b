//! [`TelemetryBuilder`]: each `with_*` overrides the variable it names;
//! [`build`](TelemetryBuilder::build) resolves the rest and starts the
//! pipeline.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::SpanExporter;

use super::flush::Worker;
use super::loss::CountingMetricExporter;
use super::pipeline::{self, MetricPipeline, SpanPipeline};
use super::stats::Counters;
use super::{
    console, emf, logs, otlp, BuildError, ExporterKind, OtlpProtocol, Settings, Signal,
    SignalFlush, Telemetry,
};
use crate::catalog::Catalog;
use crate::env;
use crate::memory::MemorySource;

/// Configures a [`Telemetry`]. Each `with_*` overrides the variable it names.
#[derive(Default)]
pub struct TelemetryBuilder {
    pub(super) service_name: Option<String>,
    pub(super) environment: Option<String>,
    pub(super) catalog: Option<Catalog>,
    pub(super) namespace: Option<String>,
    pub(super) traces: Option<ExporterKind>,
    pub(super) metrics: Option<ExporterKind>,
    pub(super) logs: Option<ExporterKind>,
    pub(super) otlp_endpoint: Option<String>,
    pub(super) otlp_protocol: Option<OtlpProtocol>,
    pub(super) otlp_retry: Option<bool>,
    pub(super) otlp_certificate: Option<Vec<u8>>,
    pub(super) propagators: Option<super::Propagators>,
    pub(super) memory_source: Option<MemorySource>,
    pub(super) personal_data: Option<bool>,
    pub(super) metric_interval: Option<Duration>,
    pub(super) span_pipeline: Option<SpanPipeline>,
    pub(super) metric_pipeline: Option<MetricPipeline>,
    pub(super) console: Option<console::Sink>,
    pub(super) emf_writer: Option<Box<dyn std::io::Write + Send>>,
    pub(super) emf_copy: Option<Box<dyn std::io::Write + Send>>,
    pub(super) xray_daemon: Option<std::net::SocketAddr>,
    pub(super) sampler: Option<opentelemetry_sdk::trace::Sampler>,
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

    /// Whether log records also go out over OTLP ([`ExporterKind::Otlp`])
    /// or not ([`ExporterKind::None`]); overrides `OTEL_LOGS_EXPORTER`.
    /// Log lines are printed on stdout either way, by
    /// [`crate::tracing`](mod@crate::tracing).
    pub fn with_logs_exporter(mut self, kind: ExporterKind) -> Self {
        self.logs = Some(kind);
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

    /// Whether failed OTLP exports are retried with backoff; overrides
    /// `PERFMON_OTLP_RETRY` (default: not on Lambda, where a flush has a
    /// budget per invocation, yes elsewhere).
    pub fn with_otlp_retry(mut self, retry: bool) -> Self {
        self.otlp_retry = Some(retry);
        self
    }

    /// A CA certificate (PEM) that OTLP over TLS trusts besides the
    /// platform's roots, for a collector behind a private CA; overrides
    /// `OTEL_EXPORTER_OTLP_CERTIFICATE` (a file path).
    pub fn with_otlp_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.otlp_certificate = Some(pem.into());
        self
    }

    /// The trace-context formats read from invocations and written by the
    /// global propagator; overrides `OTEL_PROPAGATORS`.
    pub fn with_propagators(mut self, propagators: super::Propagators) -> Self {
        self.propagators = Some(propagators);
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

    /// Also writes every metric as EMF lines to `writer` at each flush,
    /// whatever the metrics exporter: the lines the Lambda path would
    /// print, kept e.g. for `perfmon dashboards preview`.
    pub fn with_emf_copy(mut self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.emf_copy = Some(Box::new(writer));
        self
    }

    /// The sampler when `OTEL_TRACES_SAMPLER` is not set (which, when set,
    /// always wins). Without either, every trace is sampled unless its
    /// parent was not (parent-based), which on Lambda follows the
    /// invocation's `Sampled=` flag. A process that decides for itself can
    /// use [`XrayDefaultSampler::parent_based`](super::XrayDefaultSampler::parent_based).
    pub fn with_default_sampler(mut self, sampler: opentelemetry_sdk::trace::Sampler) -> Self {
        self.sampler = Some(sampler);
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
    pub fn build(mut self) -> Result<Telemetry, BuildError> {
        let settings = Settings::resolve(&mut self)?;
        self.assemble(settings)
    }

    /// Like [`build`](Self::build), but a telemetry setting in the
    /// environment that is not valid never stops the process: the pipeline
    /// is built as if no `OTEL_*` or `PERFMON_*` variable were set (the
    /// collector-less defaults on Lambda: EMF and X-Ray), keeping what code
    /// set, and the error is returned beside it, to be logged. An error
    /// that remains without the variables (a catalog given in code that is
    /// not valid, a thread that cannot start) is returned as the error.
    pub fn build_or_fallback(mut self) -> Result<(Telemetry, Option<BuildError>), BuildError> {
        match Settings::resolve(&mut self) {
            Ok(settings) => Ok((self.assemble(settings)?, None)),
            Err(error) => env::without_telemetry_vars(|| {
                let settings = Settings::resolve(&mut self)?;
                Ok((self.assemble(settings)?, Some(error)))
            }),
        }
    }

    /// Starts the pipeline `settings` describe.
    fn assemble(mut self, settings: Settings) -> Result<Telemetry, BuildError> {
        let grpc = (settings.otlp_protocol == OtlpProtocol::Grpc && settings.otlp_used())
            .then(otlp::GrpcRuntime::start)
            .transpose()?;
        let target = otlp::OtlpTarget {
            protocol: settings.otlp_protocol,
            retry: settings.otlp_retry,
            endpoint: self.otlp_endpoint.take(),
            runtime: grpc.as_ref().map(otlp::GrpcRuntime::handle),
            ca_pem: settings.otlp_certificate.clone(),
        };
        let console = self.console.take().unwrap_or_else(console::stdout);
        let resource = pipeline::resource(&settings);
        let counters = Arc::new(Counters::default());
        let invocation = emf::InvocationSlot::default();
        let tracer_provider = pipeline::tracer_provider(
            &settings,
            &mut self,
            &target,
            &console,
            &counters,
            resource.clone(),
        )?;
        let (meter_provider, one_reader) = pipeline::meter_provider(
            &settings,
            &mut self,
            &target,
            console,
            &counters,
            &invocation,
            resource.clone(),
        )?;
        let logger_provider = logs::logger_provider(&settings, &target, resource)?;
        let lost = pipeline::telemetry_lost(&meter_provider, &settings, &counters, one_reader);
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
            _lost: lost,
            _grpc: grpc,
        })
    }
}
