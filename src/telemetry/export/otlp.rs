//! OTLP export over HTTP/protobuf or gRPC.
//!
//! The gRPC client (tonic) must run on a Tokio runtime, and the SDK drives
//! exports from its own threads. If it borrowed the application's runtime, a
//! flush from inside a current-thread runtime would wait on the very thread
//! that must drive it. So gRPC gets a private one-worker runtime, and every
//! export is polled inside it ([`InRuntime`]).

use std::future::Future;
use std::pin::Pin;
use std::str::FromStr;
use std::task::{Context, Poll};
use std::time::Duration;

#[cfg(feature = "grpc")]
use opentelemetry_otlp::WithTonicConfig;
use opentelemetry_otlp::{Protocol, RetryPolicy, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::{LogBatch, LogExporter};
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use opentelemetry_sdk::Resource;
use tokio::runtime::Handle;

use crate::telemetry::error::BuildError;

/// OTLP transport (`OTEL_EXPORTER_OTLP_PROTOCOL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// `http/protobuf`, port 4318.
    #[default]
    HttpProtobuf,
    /// `http/json`, port 4318.
    HttpJson,
    /// `grpc`, port 4317 (perfmon's `grpc` feature).
    Grpc,
}

impl FromStr for OtlpProtocol {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
            "http/json" => Ok(OtlpProtocol::HttpJson),
            "grpc" => Ok(OtlpProtocol::Grpc),
            _ => Err("http/protobuf, http/json or grpc".to_owned()),
        }
    }
}

impl std::fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OtlpProtocol::HttpProtobuf => "http/protobuf",
            OtlpProtocol::HttpJson => "http/json",
            OtlpProtocol::Grpc => "grpc",
        })
    }
}

/// The private runtime of the gRPC client.
pub(crate) struct GrpcRuntime(Option<tokio::runtime::Runtime>);

impl GrpcRuntime {
    pub(crate) fn start() -> Result<Self, BuildError> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("perfmon-grpc")
            .enable_all()
            .build()
            .map(|rt| GrpcRuntime(Some(rt)))
            .map_err(|source| BuildError::Spawn {
                what: "the gRPC runtime",
                source,
            })
    }

    pub(crate) fn handle(&self) -> Handle {
        self.0
            .as_ref()
            .expect("present until drop")
            .handle()
            .clone()
    }
}

impl Drop for GrpcRuntime {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which panics inside another runtime.
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Builds the SDK's exporter for `$builder` over the target's transport:
/// the signal's endpoint, timeout and compression (`$signal`), the
/// retry policy and TLS, then the signal's own `$extra` settings. The SDK's
/// span, metric and log builders share these methods but no trait.
macro_rules! build_exporter {
    ($target:expr, $builder:expr, $signal:expr $(, $extra:ident($arg:expr))*) => {{
        let target: &OtlpTarget = $target;
        let signal: &OtlpSignal = $signal;
        let endpoint: &str = &signal.endpoint;
        match target.plan.protocol {
            OtlpProtocol::HttpProtobuf | OtlpProtocol::HttpJson => {
                let b = $builder
                    .with_http()
                    .with_protocol(target.http_protocol())
                    .with_retry_policy(target.retry_policy())
                    .with_endpoint(endpoint)
                    .with_timeout(signal.timeout)
                    $(.$extra($arg))*;
                let b = if signal.gzip {
                    b.with_compression(opentelemetry_otlp::Compression::Gzip)
                } else {
                    b
                };
                match target.http_client(signal.timeout)? {
                    Some(client) => b.with_http_client(client).build()?,
                    None => b.build()?,
                }
            }
            #[cfg(feature = "grpc")]
            OtlpProtocol::Grpc => {
                let b = $builder
                    .with_tonic()
                    .with_retry_policy(target.retry_policy())
                    .with_endpoint(endpoint)
                    .with_timeout(signal.timeout)
                    $(.$extra($arg))*;
                let b = if signal.gzip {
                    b.with_compression(opentelemetry_otlp::Compression::Gzip)
                } else {
                    b
                };
                match target.tls_config(endpoint) {
                    Some(tls) => b.with_tls_config(tls).build()?,
                    None => b.build()?,
                }
            }
            #[cfg(not(feature = "grpc"))]
            OtlpProtocol::Grpc => return Err(grpc_not_built()),
        }
    }};
}

/// Whether this build carries OTLP over gRPC (perfmon's `grpc` feature).
pub(crate) const GRPC_BUILT: bool = cfg!(feature = "grpc");

/// Fails when OTLP is sent over gRPC and this build has no gRPC
/// (`grpc_built` is [`GRPC_BUILT`]; a parameter so both builds are tested).
pub(crate) fn check_transport(
    protocol: OtlpProtocol,
    otlp_used: bool,
    grpc_built: bool,
) -> Result<(), BuildError> {
    if protocol == OtlpProtocol::Grpc && otlp_used && !grpc_built {
        return Err(grpc_not_built());
    }
    Ok(())
}

fn grpc_not_built() -> BuildError {
    BuildError::NotBuilt {
        what: "OTLP over gRPC",
        feature: "grpc",
    }
}

/// Where and how OTLP goes, for every signal, as the plan resolved it.
#[derive(Debug, Clone)]
pub(crate) struct OtlpConfig {
    pub protocol: OtlpProtocol,
    /// Whether failed exports are retried with backoff.
    pub retry: bool,
    pub traces: OtlpSignal,
    pub metrics: OtlpSignal,
    pub logs: OtlpSignal,
    /// A PEM certificate to trust besides the platform's roots, already
    /// checked to parse.
    pub ca_pem: Option<Vec<u8>>,
}

/// One signal's OTLP export.
#[derive(Debug, Clone)]
pub(crate) struct OtlpSignal {
    /// The full endpoint.
    pub endpoint: String,
    /// How long an export waits for an answer.
    pub timeout: Duration,
    /// Whether bodies are gzip-compressed.
    pub gzip: bool,
}

/// Where and how to send OTLP: the plan's, and the private runtime gRPC
/// runs on.
#[derive(Debug, Clone)]
pub(crate) struct OtlpTarget {
    plan: OtlpConfig,
    /// The private runtime's handle, for gRPC.
    runtime: Option<Handle>,
}

impl OtlpTarget {
    pub(crate) fn new(plan: OtlpConfig, runtime: Option<Handle>) -> Self {
        OtlpTarget { plan, runtime }
    }

    /// The HTTP encoding of the chosen protocol.
    fn http_protocol(&self) -> Protocol {
        match self.plan.protocol {
            OtlpProtocol::HttpJson => Protocol::HttpJson,
            _ => Protocol::HttpBinary,
        }
    }

    fn retry_policy(&self) -> RetryPolicy {
        if self.plan.retry {
            RetryPolicy::recommended()
        } else {
            RetryPolicy::disabled()
        }
    }

    /// The HTTP client to use instead of the exporter's own: one that also
    /// trusts the configured CA. `None` without one.
    fn http_client(
        &self,
        timeout: Duration,
    ) -> Result<Option<reqwest::blocking::Client>, BuildError> {
        let Some(pem) = &self.plan.ca_pem else {
            return Ok(None);
        };
        let ca = certificate(pem)?;
        // The blocking client starts a runtime of its own, which cannot be
        // built on a thread that is inside another one.
        let built = std::thread::spawn(move || {
            reqwest::blocking::Client::builder()
                .timeout(timeout)
                .add_root_certificate(ca)
                .build()
        })
        .join();
        match built {
            Ok(Ok(client)) => Ok(Some(client)),
            Ok(Err(error)) => Err(BuildError::Tls(error.to_string())),
            Err(_) => Err(BuildError::Tls(
                "building the HTTP client panicked".to_owned(),
            )),
        }
    }

    /// The gRPC TLS settings, for an `https` endpoint or a configured CA:
    /// the platform's roots, plus the CA. `None` otherwise, so that a
    /// plain-text collector costs no certificate loading at start.
    #[cfg(feature = "grpc")]
    fn tls_config(
        &self,
        endpoint: &str,
    ) -> Option<opentelemetry_otlp::tonic_types::transport::ClientTlsConfig> {
        use opentelemetry_otlp::tonic_types::transport::{Certificate, ClientTlsConfig};
        let https = endpoint.trim().starts_with("https://");
        if !https && self.plan.ca_pem.is_none() {
            return None;
        }
        let tls = ClientTlsConfig::new().with_native_roots();
        Some(match &self.plan.ca_pem {
            Some(pem) => tls.ca_certificate(Certificate::from_pem(pem)),
            None => tls,
        })
    }

    pub(crate) fn span_exporter(&self) -> Result<OtlpSpanExporter, BuildError> {
        let _entered = self.runtime.as_ref().map(Handle::enter);
        Ok(OtlpSpanExporter {
            inner: build_exporter!(
                self,
                opentelemetry_otlp::SpanExporter::builder(),
                &self.plan.traces
            ),
            runtime: self.runtime.clone(),
        })
    }

    pub(crate) fn metric_exporter(&self) -> Result<OtlpMetricExporter, BuildError> {
        let _entered = self.runtime.as_ref().map(Handle::enter);
        Ok(OtlpMetricExporter {
            inner: build_exporter!(
                self,
                opentelemetry_otlp::MetricExporter::builder(),
                &self.plan.metrics,
                with_temporality(Temporality::Delta)
            ),
            runtime: self.runtime.clone(),
        })
    }

    pub(crate) fn log_exporter(&self) -> Result<OtlpLogExporter, BuildError> {
        let _entered = self.runtime.as_ref().map(Handle::enter);
        Ok(OtlpLogExporter {
            inner: build_exporter!(
                self,
                opentelemetry_otlp::LogExporter::builder(),
                &self.plan.logs
            ),
            runtime: self.runtime.clone(),
        })
    }
}

/// A PEM certificate, checked; the error names where it came from.
pub(crate) fn certificate(pem: &[u8]) -> Result<reqwest::Certificate, BuildError> {
    reqwest::Certificate::from_pem(pem).map_err(|error| BuildError::Tls(error.to_string()))
}

/// Polls a future inside a runtime's context, so timers and I/O resources
/// created while polling belong to that runtime.
struct InRuntime<F> {
    runtime: Option<Handle>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for InRuntime<F> {
    type Output = F::Output;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = self.get_mut();
        let _entered = this.runtime.as_ref().map(Handle::enter);
        this.future.as_mut().poll(cx)
    }
}

/// The OTLP span exporter, run on the gRPC runtime when there is one.
#[derive(Debug)]
pub(crate) struct OtlpSpanExporter {
    inner: opentelemetry_otlp::SpanExporter,
    runtime: Option<Handle>,
}

impl SpanExporter for OtlpSpanExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        InRuntime {
            runtime: self.runtime.clone(),
            future: Box::pin(self.inner.export(batch)),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource)
    }
}

/// The OTLP metric exporter (Delta temporality), run on the gRPC runtime when
/// there is one.
#[derive(Debug)]
pub(crate) struct OtlpMetricExporter {
    inner: opentelemetry_otlp::MetricExporter,
    runtime: Option<Handle>,
}

impl PushMetricExporter for OtlpMetricExporter {
    fn export(&self, metrics: &ResourceMetrics) -> impl Future<Output = OTelSdkResult> + Send {
        InRuntime {
            runtime: self.runtime.clone(),
            future: Box::pin(self.inner.export(metrics)),
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.inner.temporality()
    }
}

/// The OTLP log exporter, run on the gRPC runtime when there is one.
#[derive(Debug)]
pub(crate) struct OtlpLogExporter {
    inner: opentelemetry_otlp::LogExporter,
    runtime: Option<Handle>,
}

impl LogExporter for OtlpLogExporter {
    fn export(&self, batch: LogBatch<'_>) -> impl Future<Output = OTelSdkResult> + Send {
        InRuntime {
            runtime: self.runtime.clone(),
            future: Box::pin(self.inner.export(batch)),
        }
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_without_the_feature_is_a_typed_error_only_when_otlp_is_used() {
        let error = check_transport(OtlpProtocol::Grpc, true, false).unwrap_err();
        assert!(matches!(
            error,
            BuildError::NotBuilt {
                feature: "grpc",
                ..
            }
        ));
        assert_eq!(
            error.to_string(),
            "OTLP over gRPC is not in this build: it needs perfmon's `grpc` feature"
        );
        // No OTLP exporter selected: the protocol does not matter.
        assert!(check_transport(OtlpProtocol::Grpc, false, false).is_ok());
        assert!(check_transport(OtlpProtocol::Grpc, true, true).is_ok());
        for http in [OtlpProtocol::HttpProtobuf, OtlpProtocol::HttpJson] {
            assert!(check_transport(http, true, false).is_ok());
        }
    }
}
