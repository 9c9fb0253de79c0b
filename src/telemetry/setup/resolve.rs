//! Resolving the [`Settings`]: each from code, then its variable, then its
//! default (see [`crate::env`]). The [plan](super::plan) calls this with
//! what it read itself, and adds the values only the pipeline needs.

use crate::catalog::Catalog;
use crate::env;
use crate::memory::MemorySource;
use crate::telemetry::error::BuildError;
use crate::telemetry::export::otlp::{self, OtlpProtocol};
use crate::telemetry::exporter::ExporterKind;
use crate::telemetry::pipeline::loss::DEFAULT_SPAN_QUEUE;
use crate::telemetry::propagators::Propagators;
use crate::telemetry::settings::Settings;
use crate::telemetry::setup::builder::TelemetryBuilder;

impl Settings {
    /// Resolves what `b` leaves unset from the environment and defaults,
    /// given what the plan read: the function's name (on Lambda), whether
    /// an OTLP endpoint and an X-Ray daemon address are configured.
    pub(crate) fn resolve(
        b: &TelemetryBuilder,
        function_name: Option<String>,
        endpoint_configured: bool,
        xray_daemon: bool,
    ) -> Result<Settings, BuildError> {
        let on_lambda = function_name.is_some();
        // Code settings are cloned, not taken: a resolution that fails on
        // a variable can be retried without the variables.
        let catalog = match b.catalog.clone() {
            Some(c) => c,
            None => match env::var(env::PERFMON_CATALOG) {
                Some(path) => Catalog::from_path(path)?,
                None => Catalog::default(),
            },
        };
        let namespace = b
            .namespace
            .clone()
            .or_else(|| env::var(env::PERFMON_METRIC_NAMESPACE))
            .unwrap_or_else(|| catalog.namespace.clone());
        let service_name = b
            .service_name
            .clone()
            .or_else(|| env::var(env::OTEL_SERVICE_NAME))
            .or_else(|| function_name.clone())
            .unwrap_or_else(|| env::OTEL_SERVICE_NAME_DEFAULT.to_owned());
        let configured_environment = b
            .environment
            .clone()
            .or_else(|| env::var(env::PERFMON_ENVIRONMENT));
        let environment_is_default = configured_environment.is_none();
        let environment =
            configured_environment.unwrap_or_else(|| env::PERFMON_ENVIRONMENT_DEFAULT.to_owned());
        let traces_exporter = env::resolve(
            b.traces,
            env::OTEL_TRACES_EXPORTER,
            ExporterKind::default_traces(endpoint_configured, on_lambda, xray_daemon),
        )?;
        let metrics_exporter = env::resolve(
            b.metrics,
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
        // Log lines reach CloudWatch Logs from stdout already; the OTLP copy
        // is opt-in so that nobody pays for logs twice by default.
        let logs_exporter = env::resolve(b.logs, env::OTEL_LOGS_EXPORTER, ExporterKind::None)?;
        if !matches!(logs_exporter, ExporterKind::Otlp | ExporterKind::None) {
            return Err(BuildError::InvalidEnv {
                var: env::OTEL_LOGS_EXPORTER,
                value: logs_exporter.to_string(),
                expected: "otlp or none (log lines are printed on stdout either way)".to_owned(),
            });
        }
        let otlp_retry = env::resolve_bool(
            b.otlp_retry,
            env::PERFMON_OTLP_RETRY,
            if on_lambda {
                env::PERFMON_OTLP_RETRY_DEFAULT_ON_LAMBDA
            } else {
                env::PERFMON_OTLP_RETRY_DEFAULT
            },
        )?;
        let settings = Settings {
            otlp_certificate: otlp_certificate(b)?,
            propagators: env::resolve(
                b.propagators,
                env::OTEL_PROPAGATORS,
                Propagators::default(),
            )?,
            span_queue: span_queue()?,
            otlp_retry,
            logs_exporter,
            otlp_protocol: env::resolve(
                b.otlp_protocol,
                env::OTEL_EXPORTER_OTLP_PROTOCOL,
                OtlpProtocol::default(),
            )?,
            memory_source: env::resolve(
                b.memory_source,
                env::PERFMON_MEMORY_SOURCE,
                MemorySource::default(),
            )?,
            export_personal_data: env::resolve_bool(
                b.personal_data,
                env::PERFMON_EXPORT_PERSONAL_DATA,
                env::PERFMON_EXPORT_PERSONAL_DATA_DEFAULT,
            )?,
            service_name,
            environment,
            environment_is_default,
            catalog,
            namespace,
            traces_exporter,
            metrics_exporter,
            function_name,
        };
        // Here, not at assembly: an unbuilt transport chosen by a variable
        // falls back like any other bad variable.
        otlp::check_transport(
            settings.otlp_protocol,
            settings.otlp_used(),
            otlp::GRPC_BUILT,
        )?;
        Ok(settings)
    }
}

/// The CA given in code, else the file `OTEL_EXPORTER_OTLP_CERTIFICATE`
/// names, checked to hold a PEM certificate.
fn otlp_certificate(b: &TelemetryBuilder) -> Result<Option<Vec<u8>>, BuildError> {
    if let Some(pem) = &b.otlp_certificate {
        otlp::certificate(pem)?;
        return Ok(Some(pem.clone()));
    }
    let Some(path) = env::var(env::OTEL_EXPORTER_OTLP_CERTIFICATE) else {
        return Ok(None);
    };
    let invalid = |why: String| BuildError::InvalidEnv {
        var: env::OTEL_EXPORTER_OTLP_CERTIFICATE,
        value: path.clone(),
        expected: format!("the path of a PEM certificate ({why})"),
    };
    let pem = std::fs::read(&path).map_err(|e| invalid(e.to_string()))?;
    if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
        return Err(invalid("no PEM certificate in it".to_owned()));
    }
    otlp::certificate(&pem).map_err(|e| invalid(e.to_string()))?;
    Ok(Some(pem))
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
