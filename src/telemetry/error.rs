use std::time::Duration;

use crate::catalog::CatalogError;

/// Why a [`Telemetry`](crate::Telemetry) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// An environment variable holds a value perfmon does not accept.
    #[error("{var}={value:?} is not valid: expected {expected}")]
    InvalidEnv {
        /// The variable.
        var: &'static str,
        /// What it held.
        value: String,
        /// What it may hold.
        expected: String,
    },
    /// The catalog could not be loaded.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// An OTLP exporter could not be built.
    #[error("cannot build the OTLP exporter: {0}")]
    Exporter(#[from] opentelemetry_otlp::ExporterBuildError),
    /// The TLS client of an OTLP exporter could not be set up.
    #[error("cannot set up TLS for OTLP: {0}")]
    Tls(String),
    /// The settings ask for something this build of perfmon leaves out.
    #[error("{what} is not in this build: it needs perfmon's `{feature}` feature")]
    NotBuilt {
        /// What was asked for.
        what: &'static str,
        /// The Cargo feature that carries it.
        feature: &'static str,
    },
    /// A background thread or the gRPC runtime could not be started.
    #[error("cannot start {what}: {source}")]
    Spawn {
        /// What failed to start.
        what: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
}

impl From<crate::env::EnvError> for BuildError {
    fn from(e: crate::env::EnvError) -> Self {
        BuildError::InvalidEnv {
            var: e.var,
            value: e.value,
            expected: e.expected,
        }
    }
}

/// The signal a runtime telemetry error concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Spans.
    Traces,
    /// Metrics.
    Metrics,
    /// Log records sent over OTLP.
    Logs,
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Signal::Traces => "traces",
            Signal::Metrics => "metrics",
            Signal::Logs => "logs",
        })
    }
}

/// A failed flush or shutdown. Telemetry errors are counted and logged; a
/// caller serving requests should never turn one into a request failure.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The signal did not finish within the caller's timeout. Its work goes
    /// on in the background.
    #[error("{signal} did not finish within {timeout:?}")]
    Timeout {
        /// Which signal.
        signal: Signal,
        /// The bound that was hit.
        timeout: Duration,
    },
    /// The exporter reported a failure.
    #[error("{signal} export failed: {message}")]
    Export {
        /// Which signal.
        signal: Signal,
        /// The exporter's message.
        message: String,
    },
    /// Earlier flushes are still queued behind a stuck export.
    #[error("{signal} has too many flushes queued")]
    Busy {
        /// Which signal.
        signal: Signal,
    },
    /// The pipeline was shut down.
    #[error("telemetry is shut down")]
    ShutDown,
}
