//! [`Settings`]: the resolved configuration a [`Telemetry`] reports, each
//! setting from code, then its variable, then its default (see
//! [`crate::env`]); [`setup`](super::setup) resolves it.

use crate::catalog::Catalog;
use crate::memory::MemorySource;
use crate::telemetry::export::otlp::OtlpProtocol;
use crate::telemetry::exporter::ExporterKind;
use crate::telemetry::propagators::Propagators;

/// The resolved configuration of a [`Telemetry`](crate::telemetry::Telemetry).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// `service.name`.
    pub service_name: String,
    /// The `Environment` dimension.
    pub environment: String,
    /// Whether [`environment`](Self::environment) is the default, neither
    /// set in code nor by `PERFMON_ENVIRONMENT`: on Lambda that files a
    /// production function's metrics and alarms under `dev`.
    pub environment_is_default: bool,
    /// The metric catalog.
    pub catalog: Catalog,
    /// CloudWatch namespace (the catalog's unless overridden).
    pub namespace: String,
    /// Where spans go.
    pub traces_exporter: ExporterKind,
    /// Where metrics go.
    pub metrics_exporter: ExporterKind,
    /// Whether log records also go out over OTLP (`Otlp`) or not (`None`);
    /// log lines are printed either way.
    pub logs_exporter: ExporterKind,
    /// OTLP transport, when OTLP is used.
    pub otlp_protocol: OtlpProtocol,
    /// Whether failed OTLP exports are retried with backoff.
    pub otlp_retry: bool,
    /// Source of `MemoryUsage`.
    pub memory_source: MemorySource,
    /// Whether email and user-name attributes may be exported.
    pub export_personal_data: bool,
    /// The Lambda function's name (`AWS_LAMBDA_FUNCTION_NAME`), on Lambda.
    pub function_name: Option<String>,
    /// Capacity of the span queue in front of a batching exporter.
    pub span_queue: usize,
    /// A PEM certificate OTLP over TLS trusts besides the platform's roots.
    pub otlp_certificate: Option<Vec<u8>>,
    /// The trace-context formats read from invocations and written out.
    pub propagators: Propagators,
}

impl Settings {
    /// Whether this process runs on AWS Lambda: Lambda names the function.
    pub fn on_lambda(&self) -> bool {
        self.function_name.is_some()
    }

    /// Whether any signal goes out over OTLP.
    pub(crate) fn otlp_used(&self) -> bool {
        [
            self.traces_exporter,
            self.metrics_exporter,
            self.logs_exporter,
        ]
        .contains(&ExporterKind::Otlp)
    }
}
