//! The plan: everything the pipeline needs, resolved once from code, the
//! environment and defaults, with the parts the builder owned. Assembly
//! reads only the plan; every variable here is read once, in this file or
//! in [`Settings::resolve`], and every value is handed to the SDK's
//! builders explicitly, so that their own reading of the same variables
//! never decides.

use std::net::SocketAddr;
use std::time::Duration;

use opentelemetry_sdk::trace::Sampler;

use crate::env;
use crate::telemetry::error::BuildError;
use crate::telemetry::export::otlp::{OtlpConfig, OtlpProtocol, OtlpSignal};
use crate::telemetry::exporter::ExporterKind;
use crate::telemetry::settings::Settings;
use crate::telemetry::setup::builder::{Parts, TelemetryBuilder};

/// What a [`Telemetry`](crate::Telemetry) is assembled from.
pub(crate) struct Plan {
    /// The settings, as [`Telemetry::settings`](crate::Telemetry::settings)
    /// shows them.
    pub settings: Settings,
    /// Where and how OTLP goes, for every signal.
    pub otlp: OtlpConfig,
    /// Where X-Ray segments go, when traces go to the daemon.
    pub xray: Option<XrayTarget>,
    /// How often metrics are exported by a periodic reader.
    pub metric_interval: Duration,
    /// The default sampler set in code, unless `OTEL_TRACES_SAMPLER` names
    /// one (the SDK then reads its own).
    pub sampler: Option<Sampler>,
    /// What the builder owned: exporters and writers set in code.
    pub parts: Parts,
}

/// Where X-Ray segments go, and the log group they name.
pub(crate) struct XrayTarget {
    /// The daemon's UDP address.
    pub daemon: SocketAddr,
    /// The function's log group, for segments' `aws.log_group`.
    pub log_groups: Vec<String>,
}

/// The OTLP endpoints, as code and the variables give them.
pub(crate) struct Endpoints {
    code: Option<String>,
    generic: Option<String>,
    traces: Option<String>,
    metrics: Option<String>,
    logs: Option<String>,
}

impl Endpoints {
    /// Reads the endpoint variables, each checked to be an http(s) URL.
    fn read(b: &TelemetryBuilder) -> Result<Endpoints, BuildError> {
        let url = |var: &'static str| -> Result<Option<String>, BuildError> {
            match env::var(var) {
                Some(value) if !(value.starts_with("http://") || value.starts_with("https://")) => {
                    Err(BuildError::InvalidEnv {
                        var,
                        value,
                        expected: "an http:// or https:// URL".to_owned(),
                    })
                }
                other => Ok(other),
            }
        };
        Ok(Endpoints {
            code: b.otlp_endpoint.clone(),
            generic: url(env::OTEL_EXPORTER_OTLP_ENDPOINT)?,
            traces: url(env::OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)?,
            metrics: url(env::OTEL_EXPORTER_OTLP_METRICS_ENDPOINT)?,
            logs: url(env::OTEL_EXPORTER_OTLP_LOGS_ENDPOINT)?,
        })
    }

    /// Whether an endpoint for traces or metrics is configured, which
    /// makes OTLP their default exporter.
    pub(crate) fn configured(&self) -> bool {
        self.code.is_some()
            || self.generic.is_some()
            || self.traces.is_some()
            || self.metrics.is_some()
    }

    /// One signal's endpoint, as the OTLP specification resolves it: code's
    /// base, else the signal's variable as it is, else the generic
    /// variable, else the default; over HTTP a base gets the signal's path.
    fn resolve(&self, protocol: OtlpProtocol, signal: &Option<String>, path: &str) -> String {
        let with_path = |base: &str| match protocol {
            OtlpProtocol::Grpc => base.to_owned(),
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                format!("{}{path}", base.trim_end_matches('/'))
            }
        };
        if let Some(code) = &self.code {
            return with_path(code);
        }
        if let Some(endpoint) = signal {
            return endpoint.clone();
        }
        match (&self.generic, protocol) {
            (Some(generic), _) => with_path(generic),
            (None, OtlpProtocol::Grpc) => env::OTEL_EXPORTER_OTLP_ENDPOINT_GRPC_DEFAULT.to_owned(),
            (None, _) => with_path(env::OTEL_EXPORTER_OTLP_ENDPOINT_HTTP_DEFAULT),
        }
    }
}

impl Plan {
    /// Resolves what `b` leaves unset from the environment and defaults,
    /// then takes `b`'s parts. A resolution that fails takes nothing, so
    /// that it can be retried without the variables.
    pub(crate) fn resolve(b: &mut TelemetryBuilder) -> Result<Plan, BuildError> {
        let function_name = env::var(env::AWS_LAMBDA_FUNCTION_NAME);
        let endpoints = Endpoints::read(b)?;
        let daemon_variable = env::var(env::AWS_XRAY_DAEMON_ADDRESS);
        let settings = Settings::resolve(
            b,
            function_name,
            endpoints.configured(),
            b.xray_daemon.is_some() || daemon_variable.is_some(),
        )?;
        // Resolved only where segments go to the daemon: a bad address
        // would otherwise stop pipelines that never use it.
        let xray = match settings.traces_exporter {
            ExporterKind::Xray => Some(XrayTarget {
                daemon: daemon_address(b.xray_daemon, daemon_variable)?,
                log_groups: env::var(env::AWS_LAMBDA_LOG_GROUP_NAME)
                    .into_iter()
                    .collect(),
            }),
            _ => None,
        };
        let protocol = settings.otlp_protocol;
        let timeout = env::resolve_millis(
            None,
            env::OTEL_EXPORTER_OTLP_TIMEOUT,
            env::OTEL_EXPORTER_OTLP_TIMEOUT_DEFAULT,
        )?;
        let gzip = compression(env::OTEL_EXPORTER_OTLP_COMPRESSION, false)?;
        let signal = |endpoint: &Option<String>,
                      path: &str,
                      timeout_var: &'static str,
                      compression_var: &'static str|
         -> Result<OtlpSignal, BuildError> {
            Ok(OtlpSignal {
                endpoint: endpoints.resolve(protocol, endpoint, path),
                timeout: env::resolve_millis(None, timeout_var, timeout)?,
                gzip: compression(compression_var, gzip)?,
            })
        };
        let otlp = OtlpConfig {
            protocol,
            retry: settings.otlp_retry,
            traces: signal(
                &endpoints.traces,
                "/v1/traces",
                env::OTEL_EXPORTER_OTLP_TRACES_TIMEOUT,
                env::OTEL_EXPORTER_OTLP_TRACES_COMPRESSION,
            )?,
            metrics: signal(
                &endpoints.metrics,
                "/v1/metrics",
                env::OTEL_EXPORTER_OTLP_METRICS_TIMEOUT,
                env::OTEL_EXPORTER_OTLP_METRICS_COMPRESSION,
            )?,
            logs: signal(
                &endpoints.logs,
                "/v1/logs",
                env::OTEL_EXPORTER_OTLP_LOGS_TIMEOUT,
                env::OTEL_EXPORTER_OTLP_LOGS_COMPRESSION,
            )?,
            ca_pem: settings.otlp_certificate.clone(),
        };
        let metric_interval = env::resolve_with(
            b.metric_interval,
            env::OTEL_METRIC_EXPORT_INTERVAL,
            env::OTEL_METRIC_EXPORT_INTERVAL_DEFAULT,
            |value| {
                value
                    .trim()
                    .parse()
                    .ok()
                    .filter(|ms| *ms > 0)
                    .map(Duration::from_millis)
                    .ok_or_else(|| "a positive whole number of milliseconds".to_owned())
            },
        )?;
        // The SDK reads OTEL_TRACES_SAMPLER itself; the caller's default
        // applies only without it.
        let sampler = match env::var(env::OTEL_TRACES_SAMPLER) {
            Some(_) => None,
            None => b.sampler.clone(),
        };
        Ok(Plan {
            settings,
            otlp,
            xray,
            metric_interval,
            sampler,
            parts: b.take_parts(),
        })
    }
}

/// Whether `var` asks for gzip (`gzip`) or none (`none`); `default` when
/// it is unset.
fn compression(var: &'static str, default: bool) -> Result<bool, BuildError> {
    Ok(env::resolve_with(
        None,
        var,
        default,
        |value| match value.trim() {
            "gzip" => Ok(true),
            "none" => Ok(false),
            _ => Err("gzip or none (unset: no compression)".to_owned()),
        },
    )?)
}

/// The daemon address: code, then `AWS_XRAY_DAEMON_ADDRESS` (Lambda may
/// give "host:port" or, in older runtimes, "udp:host:port tcp:host:port"),
/// then `127.0.0.1:2000`.
fn daemon_address(
    code: Option<SocketAddr>,
    variable: Option<String>,
) -> Result<SocketAddr, BuildError> {
    if let Some(address) = code {
        return Ok(address);
    }
    let Some(value) = variable else {
        return Ok(env::AWS_XRAY_DAEMON_ADDRESS_DEFAULT);
    };
    value
        .split_whitespace()
        .map(|part| part.trim_start_matches("udp:"))
        .find_map(|part| part.parse().ok())
        .ok_or_else(|| BuildError::InvalidEnv {
            var: env::AWS_XRAY_DAEMON_ADDRESS,
            value: value.clone(),
            expected: "host:port".to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoints(code: Option<&str>, generic: Option<&str>, traces: Option<&str>) -> Endpoints {
        Endpoints {
            code: code.map(Into::into),
            generic: generic.map(Into::into),
            traces: traces.map(Into::into),
            metrics: None,
            logs: None,
        }
    }

    #[test]
    fn each_signal_endpoint_resolves_as_the_specification_says() {
        let http = OtlpProtocol::HttpProtobuf;
        let grpc = OtlpProtocol::Grpc;
        let e = endpoints(None, None, None);
        assert_eq!(
            e.resolve(http, &e.traces, "/v1/traces"),
            "http://localhost:4318/v1/traces"
        );
        assert_eq!(
            e.resolve(grpc, &e.traces, "/v1/traces"),
            "http://localhost:4317"
        );
        let e = endpoints(None, Some("http://collector:4318/"), None);
        assert_eq!(
            e.resolve(http, &e.traces, "/v1/traces"),
            "http://collector:4318/v1/traces"
        );
        assert_eq!(
            e.resolve(grpc, &e.traces, "/v1/traces"),
            "http://collector:4318/"
        );
        let e = endpoints(None, Some("http://collector:4318"), Some("http://t:1/x"));
        assert_eq!(e.resolve(http, &e.traces, "/v1/traces"), "http://t:1/x");
        assert_eq!(
            e.resolve(http, &e.metrics, "/v1/metrics"),
            "http://collector:4318/v1/metrics"
        );
        let e = endpoints(
            Some("http://code:9"),
            Some("http://g:1"),
            Some("http://t:1"),
        );
        assert_eq!(
            e.resolve(http, &e.traces, "/v1/traces"),
            "http://code:9/v1/traces"
        );
        assert_eq!(e.resolve(grpc, &e.traces, "/v1/traces"), "http://code:9");
    }

    #[test]
    fn the_daemon_address_takes_every_form_lambda_gives() {
        let code: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        assert_eq!(daemon_address(Some(code), Some("x".into())).unwrap(), code);
        assert_eq!(
            daemon_address(None, None).unwrap(),
            env::AWS_XRAY_DAEMON_ADDRESS_DEFAULT
        );
        assert_eq!(
            daemon_address(
                None,
                Some("udp:169.254.79.129:2000 tcp:169.254.79.129:2000".into())
            )
            .unwrap(),
            "169.254.79.129:2000".parse::<SocketAddr>().unwrap()
        );
        assert!(matches!(
            daemon_address(None, Some("nowhere".into())),
            Err(BuildError::InvalidEnv { var, .. }) if var == env::AWS_XRAY_DAEMON_ADDRESS
        ));
    }
}
