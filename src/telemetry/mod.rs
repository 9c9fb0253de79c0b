//! `Telemetry`: the tracer and meter providers, configured in the order
//! code, then the standard `OTEL_*` variables, then defaults.
//!
//! Rooms, importing one way (`setup` → `export` → `pipeline` → `data`):
//!
//! - [`setup`]: the builder, and the one resolution of code, environment
//!   and defaults into a [`setup::plan::Plan`]; the providers are assembled
//!   from the plan alone;
//! - [`export`]: one exporter each (OTLP, EMF, X-Ray, console, OTLP logs);
//! - [`pipeline`]: what stands between the SDK and an exporter: the privacy
//!   rules, loss accounting and same-thread (inline) export;
//! - [`data`]: how perfmon reads the SDK's data: metric points, histogram
//!   buckets, X-Ray trace ids.
//!
//! This file holds the handle, [`Telemetry`]: flush, shutdown, statistics;
//! beside it, what the handle reports: [`Settings`] (with [`ExporterKind`]
//! and [`Propagators`]), [`TelemetryStats`] and the errors.

pub(crate) mod data;
mod error;
pub(crate) mod export;
pub(crate) mod exporter;
mod flush;
pub(crate) mod pipeline;
pub(crate) mod propagators;
pub(crate) mod settings;
pub(crate) mod setup;
mod stats;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry::metrics::{Meter, MeterProvider as _, ObservableGauge};
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::metrics::SdkMeterProvider;
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};

pub use data::histogram::Distribution;
pub use data::ids::XrayIds;
pub use data::points::{metric_points, MetricPoint, PointValue};
pub use error::{BuildError, Signal, TelemetryError};
pub use export::emf::Invocation;
pub use export::otlp::OtlpProtocol;
pub use export::xray::xray_trace_id;
pub use exporter::ExporterKind;
pub use pipeline::inline::MAX_BUFFERED_SPANS;
pub use pipeline::loss::DEFAULT_SPAN_QUEUE;
pub use propagators::Propagators;
pub use settings::Settings;
pub use setup::builder::TelemetryBuilder;
pub use setup::sampling::{XrayDefaultSampler, XRAY_DEFAULT_RATE, XRAY_DEFAULT_RESERVOIR};
pub use stats::TelemetryStats;

use flush::{Flushable, Worker};
use stats::Counters;

/// Instrumentation scope of everything perfmon records.
pub const SCOPE: &str = "perfmon";
/// Instrumentation scope of the catalog's metrics that perfmon records with
/// exactly their declared dimension keys: the core metrics of a
/// [`PerformanceMonitor`](crate::PerformanceMonitor) and the custom metrics'
/// typed handles. The catalog views leave their attributes unfiltered (see
/// `views`).
pub const CATALOG_SCOPE: &str = "perfmon.catalog";

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
    /// Present when log records also go out over OTLP.
    logger_provider: Option<SdkLoggerProvider>,
    settings: Settings,
    /// How each signal is flushed: on a worker thread, or inline for the
    /// exporters that cannot hang.
    signals: Vec<SignalFlush>,
    counters: Arc<Counters>,
    shut_down: AtomicBool,
    /// The invocation EMF lines are correlated with.
    invocation: export::emf::InvocationSlot,
    /// `OTEL_METRIC_EXPORT_INTERVAL`, resolved.
    metric_interval: Duration,
    /// `TelemetryLost`, observed at every collection.
    _lost: ObservableGauge<u64>,
    /// Declared last: dropped after the providers that may export on it.
    _grpc: Option<export::otlp::GrpcRuntime>,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Telemetry")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Telemetry {
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

    /// The meter of the monitor's core instruments and the catalog's typed
    /// handles ([`CATALOG_SCOPE`]).
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

    /// The logger provider, when `OTEL_LOGS_EXPORTER=otlp` (or
    /// [`TelemetryBuilder::with_logs_exporter`]) asks for OTel log records.
    pub fn logger_provider(&self) -> Option<&SdkLoggerProvider> {
        self.logger_provider.as_ref()
    }

    /// The propagators `OTEL_PROPAGATORS` turns on (by default X-Ray's
    /// `X-Amzn-Trace-Id`, W3C `traceparent` and `baggage`), as one.
    pub fn propagator(&self) -> TextMapCompositePropagator {
        self.settings.propagators.composite()
    }

    /// Installs the providers and the propagator as the OTel globals.
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
        self.flush(timeout, |_| true)
    }

    /// Flushes and stops both providers, within `timeout`. Calling it again
    /// does nothing.
    pub fn shutdown(&self, timeout: Duration) -> Result<(), TelemetryError> {
        if self.shut_down.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        self.on_signals(timeout, true, |_| true)
    }

    /// Exports every finished span (and OTel log record) so far, as
    /// [`force_flush`](Self::force_flush) does, leaving metrics to
    /// aggregate until a later flush: the Lambda layer's flush when many
    /// invocations run at once.
    pub fn force_flush_traces(&self, timeout: Duration) -> Result<(), TelemetryError> {
        self.flush(timeout, |signal| signal != Signal::Metrics)
    }

    /// Flushes the signals `which` picks, counting the outcome.
    fn flush(
        &self,
        timeout: Duration,
        which: impl Fn(Signal) -> bool,
    ) -> Result<(), TelemetryError> {
        if self.shut_down.load(Ordering::SeqCst) {
            return Err(TelemetryError::ShutDown);
        }
        let result = self.on_signals(timeout, false, which);
        match &result {
            Ok(()) => {
                self.counters.flushes.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => self.record_failure(e),
        }
        result
    }

    /// Whether finished spans may be waiting for a flush: spans in the
    /// inline buffer (X-Ray over UDP), or any exporter that batches on its
    /// own (OTLP), whose queue is not looked into.
    #[cfg_attr(not(feature = "lambda"), allow(dead_code))]
    pub(crate) fn spans_may_wait(&self) -> bool {
        let inline = self
            .signals
            .iter()
            .any(|s| matches!(s, SignalFlush::Inline(Signal::Traces, _)));
        !inline || self.counters.spans_buffered() > 0
    }

    /// `OTEL_METRIC_EXPORT_INTERVAL` (or the builder's), resolved: how
    /// often metrics are exported when no flush exports them sooner.
    pub fn metric_export_interval(&self) -> Duration {
        self.metric_interval
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
    fn on_signals(
        &self,
        timeout: Duration,
        shutdown: bool,
        which: impl Fn(Signal) -> bool,
    ) -> Result<(), TelemetryError> {
        let deadline = Instant::now() + timeout;
        let answers: Vec<_> = self
            .signals
            .iter()
            .filter_map(|s| match s {
                SignalFlush::Worker(w) if which(w.signal()) => Some((
                    w.signal(),
                    if shutdown {
                        w.shutdown(timeout)
                    } else {
                        w.flush()
                    },
                )),
                _ => None,
            })
            .collect();
        let mut first = Ok(());
        for s in &self.signals {
            if let SignalFlush::Inline(signal, target) = s {
                if !which(*signal) {
                    continue;
                }
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

impl Flushable for SdkLoggerProvider {
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
