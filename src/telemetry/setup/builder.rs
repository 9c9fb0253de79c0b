//! [`TelemetryBuilder`]: each `with_*` overrides the variable it names;
//! [`build`](TelemetryBuilder::build) (in `setup`) resolves the rest into
//! one plan and assembles the pipeline from it.

use std::time::Duration;

use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::trace::SpanExporter;

use crate::catalog::Catalog;
use crate::memory::MemorySource;
use crate::telemetry::export::console;
use crate::telemetry::export::otlp::OtlpProtocol;
use crate::telemetry::exporter::ExporterKind;
use crate::telemetry::pipeline::loss::CountingMetricExporter;
use crate::telemetry::pipeline::pipe::{MetricPipeline, SpanPipeline};
use crate::telemetry::propagators::Propagators;
use crate::telemetry::Telemetry;

/// The parts a [`TelemetryBuilder`] owns, taken once resolution succeeds.
#[derive(Default)]
pub(crate) struct Parts {
    pub span_pipeline: Option<SpanPipeline>,
    pub metric_pipeline: Option<MetricPipeline>,
    pub console: Option<console::Sink>,
    pub emf_writer: Option<Box<dyn std::io::Write + Send>>,
    pub emf_copy: Option<Box<dyn std::io::Write + Send>>,
}

impl Telemetry {
    /// A builder; every setting left unset comes from the environment, then
    /// from its default (see [`crate::env`]).
    pub fn builder() -> TelemetryBuilder {
        TelemetryBuilder::default()
    }
}

/// Configures a [`Telemetry`]. Each `with_*` overrides the variable it names.
#[derive(Default)]
pub struct TelemetryBuilder {
    pub(crate) service_name: Option<String>,
    pub(crate) environment: Option<String>,
    pub(crate) catalog: Option<Catalog>,
    pub(crate) namespace: Option<String>,
    pub(crate) traces: Option<ExporterKind>,
    pub(crate) metrics: Option<ExporterKind>,
    pub(crate) logs: Option<ExporterKind>,
    pub(crate) otlp_endpoint: Option<String>,
    pub(crate) otlp_protocol: Option<OtlpProtocol>,
    pub(crate) otlp_retry: Option<bool>,
    pub(crate) otlp_certificate: Option<Vec<u8>>,
    pub(crate) propagators: Option<Propagators>,
    pub(crate) memory_source: Option<MemorySource>,
    pub(crate) personal_data: Option<bool>,
    pub(crate) metric_interval: Option<Duration>,
    /// What the builder owns rather than configures; the plan takes it.
    pub(crate) parts: Parts,
    pub(crate) xray_daemon: Option<std::net::SocketAddr>,
    pub(crate) sampler: Option<opentelemetry_sdk::trace::Sampler>,
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
    pub fn with_propagators(mut self, propagators: Propagators) -> Self {
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
        self.parts.span_pipeline = Some(Box::new(move |builder, pipe| {
            builder.with_span_processor(pipe.batch(exporter))
        }));
        self
    }

    /// Sends metrics to `exporter` through a periodic reader, instead of the
    /// selected exporter.
    pub fn with_metric_exporter<E: PushMetricExporter>(mut self, exporter: E) -> Self {
        self.metrics = Some(ExporterKind::Custom);
        self.parts.metric_pipeline = Some(Box::new(move |builder, loss| {
            builder.with_periodic_exporter(CountingMetricExporter::new(exporter, loss.clone()))
        }));
        self
    }

    /// Where EMF lines go instead of stdout (on Lambda, stdout is what the
    /// log pipeline reads).
    pub fn with_emf_writer(mut self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.parts.emf_writer = Some(Box::new(writer));
        self
    }

    /// Also writes every metric as EMF lines to `writer` at each flush,
    /// whatever the metrics exporter: the lines the Lambda path would
    /// print, kept e.g. for `perfmon dashboards preview`.
    pub fn with_emf_copy(mut self, writer: impl std::io::Write + Send + 'static) -> Self {
        self.parts.emf_copy = Some(Box::new(writer));
        self
    }

    /// The sampler when `OTEL_TRACES_SAMPLER` is not set (which, when set,
    /// always wins). Without either, every trace is sampled unless its
    /// parent was not (parent-based), which on Lambda follows the
    /// invocation's `Sampled=` flag. A process that decides for itself can
    /// use [`XrayDefaultSampler::parent_based`](crate::telemetry::XrayDefaultSampler::parent_based).
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
        self.parts.console = Some(sink);
        self
    }

    /// The parts this builder owns, for the plan.
    pub(crate) fn take_parts(&mut self) -> Parts {
        std::mem::take(&mut self.parts)
    }
}
