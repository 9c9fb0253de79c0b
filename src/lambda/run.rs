//! The common case in one call: telemetry and a monitor configured from the
//! environment, the handler wrapped in the [`PerformanceLayer`], and the
//! Lambda runtime run until it stops.

use std::future::Future;
use std::sync::Arc;

use futures_core::Stream;
use lambda_runtime::tower::{Layer as _, Service};
use lambda_runtime::StreamResponse;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::{Deserialize, Serialize};

use super::{
    InvocationEvent, MonitoredStream, PerformanceFuture, PerformanceLayer, Streamed,
    SHUTDOWN_BUDGET,
};
use crate::catalog::Catalog;
use crate::monitor::PerformanceMonitor;
use crate::telemetry::{BuildError, Settings, Telemetry, TelemetryBuilder};

/// perfmon for one Lambda function: the telemetry pipeline, the monitor
/// and the layer.
///
/// ```no_run
/// use lambda_runtime::{service_fn, LambdaEvent};
/// use perfmon_lambda::lambda::LambdaMonitoring;
/// use serde_json::Value;
///
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     let monitoring = LambdaMonitoring::from_env()?;
///     let monitor = monitoring.monitor().clone();
///     monitoring
///         .run(service_fn(move |event: LambdaEvent<Value>| {
///             let op = monitor.start("handle", []);
///             async move {
///                 op.complete(true, []);
///                 Ok::<_, lambda_runtime::Error>(event.payload)
///             }
///         }))
///         .await
/// }
/// ```
#[derive(Debug)]
pub struct LambdaMonitoring {
    telemetry: Arc<Telemetry>,
    monitor: PerformanceMonitor,
    layer: PerformanceLayer,
}

impl LambdaMonitoring {
    /// Everything from the environment (see [`crate::env`]): the exporters
    /// (EMF and X-Ray on Lambda unless an OTLP endpoint is set), the catalog
    /// at `PERFMON_CATALOG`, the flush budget.
    ///
    /// A telemetry variable that is not valid never stops the function: the
    /// collector-less defaults are used instead, and one error line names
    /// the variable and its value (see
    /// [`TelemetryBuilder::build_or_fallback`](crate::TelemetryBuilder::build_or_fallback)).
    /// Only an error that remains without the variables is returned.
    pub fn from_env() -> Result<Self, BuildError> {
        Self::start(Telemetry::builder())
    }

    /// With `catalog` (code wins over `PERFMON_CATALOG`), the rest from the
    /// environment, as [`from_env`](Self::from_env).
    pub fn with_catalog(catalog: Catalog) -> Result<Self, BuildError> {
        Self::start(Telemetry::builder().with_catalog(catalog))
    }

    fn start(builder: TelemetryBuilder) -> Result<Self, BuildError> {
        let (telemetry, fallback) = builder.build_or_fallback()?;
        let monitoring = Self::new(telemetry);
        if let Some(error) = fallback {
            tracing::error!(
                %error,
                "invalid telemetry setting; using the collector-less defaults (EMF and X-Ray)"
            );
        }
        Ok(monitoring)
    }

    /// On a pipeline configured in code; the flush budget comes from the
    /// environment. Installs the providers as the OTel globals, and the
    /// [`tracing`](mod@crate::tracing) bridge and log lines as the global
    /// `tracing` subscriber unless one is already installed.
    pub fn new(telemetry: Telemetry) -> Self {
        let telemetry = Arc::new(telemetry);
        telemetry.install_global();
        if let Err(error) = crate::tracing::init(&telemetry) {
            // The application installed its own subscriber: keep it.
            tracing::debug!(%error, "perfmon's tracing layers not installed");
        }
        warn_of_misleading_defaults(telemetry.settings());
        let monitor = PerformanceMonitor::new(&telemetry);
        let layer = PerformanceLayer::from_env(telemetry.clone(), monitor.clone());
        LambdaMonitoring {
            telemetry,
            monitor,
            layer,
        }
    }

    /// The monitor handlers start operations on.
    pub fn monitor(&self) -> &PerformanceMonitor {
        &self.monitor
    }

    /// The telemetry pipeline.
    pub fn telemetry(&self) -> &Arc<Telemetry> {
        &self.telemetry
    }

    /// The axum layer on this function's telemetry and monitor: one
    /// operation per request, named by its route (see [`crate::axum`]).
    #[cfg(feature = "axum")]
    #[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
    pub fn route_layer(&self) -> crate::axum::RouteLayer {
        crate::axum::RouteLayer::new(&self.telemetry, self.monitor.clone())
    }

    /// A processor of batches whose records are the operation `operation`
    /// on this function's monitor (see [`BatchProcessor`](super::BatchProcessor)).
    pub fn batch(&self, operation: &str) -> super::BatchProcessor {
        super::BatchProcessor::new(&self.telemetry, self.monitor.clone(), operation)
    }

    /// The layer, to compose with other tower layers.
    pub fn layer(&self) -> PerformanceLayer {
        self.layer.clone()
    }

    /// Runs the Lambda runtime with `handler` inside the layer, the
    /// [`FlushLayer`](super::FlushLayer) around the runtime (for the
    /// `after-response` and `adaptive` flush modes), and the graceful
    /// shutdown on SIGTERM; shuts the telemetry down if the runtime stops.
    pub async fn run<S, T, R, E>(self, handler: S) -> Result<(), lambda_runtime::Error>
    where
        S: Service<LambdaEvent<T>, Response = R, Error = E>,
        T: for<'de> Deserialize<'de> + InvocationEvent + Send + 'static,
        R: Serialize + Send + Sync + Unpin + 'static,
        E: Into<Diagnostic> + std::fmt::Debug + Unpin,
        PerformanceFuture<S::Future>: Future<Output = Result<R, E>>,
    {
        self.layer.shutdown_on_sigterm().await;
        // As `lambda_runtime::run`, plus the flush after each response.
        let runtime = lambda_runtime::Runtime::new(self.layer.layer(handler))
            .layer(lambda_runtime::layers::TracingLayer::new())
            .layer(self.layer.flush_layer());
        let result = runtime.run().await;
        let _ = self.telemetry.shutdown(SHUTDOWN_BUDGET);
        result
    }

    /// Runs the handler as [`run`](Self::run) does, under Lambda Managed
    /// Instances: `lambda_runtime`'s `run_concurrent` takes up to
    /// `AWS_LAMBDA_MAX_CONCURRENCY` invocations at once, each on a worker
    /// task with its own clone of the handler, and the layer keeps every
    /// invocation's ids, trace and deadline with that invocation (see
    /// [`PerformanceLayer::with_concurrency`]). With the variable unset or
    /// 1, it runs one invocation at a time, exactly as `run`.
    pub async fn run_concurrent<S, T, R, E>(self, handler: S) -> Result<(), lambda_runtime::Error>
    where
        S: Service<LambdaEvent<T>, Response = R, Error = E> + Clone + Send + 'static,
        S::Future: Send + 'static,
        T: for<'de> Deserialize<'de> + InvocationEvent + Send + 'static,
        R: Serialize + Send + Sync + Unpin + 'static,
        E: Into<Diagnostic> + std::fmt::Debug + Send + Unpin + 'static,
        PerformanceFuture<S::Future>: Future<Output = Result<R, E>>,
    {
        let limit = concurrency_limit();
        let layer = self.layer.clone().with_concurrency(limit);
        layer.shutdown_on_sigterm().await;
        let runtime = lambda_runtime::Runtime::new(layer.layer(handler))
            .layer(lambda_runtime::layers::TracingLayer::new())
            .layer(layer.flush_layer());
        let result = runtime.run_concurrent().await;
        let _ = self.telemetry.shutdown(SHUTDOWN_BUDGET);
        result
    }

    /// Runs a handler that streams its response
    /// (`lambda_runtime::streaming`), as [`run`](Self::run) runs one that
    /// answers at once: the invocation's root span ends when the stream
    /// ends, with the bytes sent and any error raised mid-stream (see
    /// [`PerformanceLayer::streaming`]).
    pub async fn run_streaming<S, T, St, D, SE, E>(
        self,
        handler: S,
    ) -> Result<(), lambda_runtime::Error>
    where
        S: Service<LambdaEvent<T>, Response = StreamResponse<St>, Error = E>,
        T: for<'de> Deserialize<'de> + InvocationEvent + Send + 'static,
        St: Stream<Item = Result<D, SE>> + Unpin + Send + 'static,
        D: Into<bytes::Bytes> + Send,
        SE: Into<lambda_runtime::Error> + std::fmt::Display + std::fmt::Debug + Send + 'static,
        E: Into<Diagnostic> + std::fmt::Debug + Unpin,
        PerformanceFuture<S::Future, Streamed>:
            Future<Output = Result<StreamResponse<MonitoredStream<St>>, E>>,
    {
        self.layer.shutdown_on_sigterm().await;
        let runtime = lambda_runtime::Runtime::new(self.layer.streaming().layer(handler))
            .layer(lambda_runtime::layers::TracingLayer::new())
            .layer(self.layer.flush_layer());
        let result = runtime.run().await;
        let _ = self.telemetry.shutdown(SHUTDOWN_BUDGET);
        result
    }

    /// Runs a `lambda_http` function, such as an axum `Router`, as
    /// [`run`](Self::run) runs a handler: `lambda_http`'s adapter turns each
    /// API Gateway, ALB or function URL event into an `http::Request`, and
    /// the layer reads the event's HTTP attributes and the response's
    /// status.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub async fn run_http<S, R, E>(self, handler: S) -> Result<(), lambda_runtime::Error>
    where
        S: Service<lambda_http::Request, Response = R, Error = E>,
        S::Future: Send + 'static,
        R: lambda_http::IntoResponse,
        E: Into<Diagnostic> + std::fmt::Debug + Unpin,
    {
        self.run(lambda_http::Adapter::from(handler)).await
    }
}

/// `AWS_LAMBDA_MAX_CONCURRENCY`, read as `lambda_runtime` reads it: a
/// whole number above 0, else one invocation at a time.
fn concurrency_limit() -> u32 {
    let var = crate::env::AWS_LAMBDA_MAX_CONCURRENCY;
    let default = crate::env::AWS_LAMBDA_MAX_CONCURRENCY_DEFAULT;
    match crate::env::resolve(None, var, default) {
        Ok(limit) => limit.max(1),
        Err(error) => {
            tracing::error!(%error, "running one invocation at a time");
            default
        }
    }
}

/// One warning line at start-up for each default that can mislead in
/// production: today, the `Environment` dimension left at `dev` on Lambda,
/// which files the function's metrics, dashboards and alarms under `dev`.
fn warn_of_misleading_defaults(settings: &Settings) {
    if settings.on_lambda() && settings.environment_is_default {
        tracing::warn!(
            variable = crate::env::PERFMON_ENVIRONMENT,
            default = crate::env::PERFMON_ENVIRONMENT_DEFAULT,
            "the Environment dimension is the default; set PERFMON_ENVIRONMENT (or TelemetryBuilder::with_environment) so that this function's metrics and alarms are not filed under dev"
        );
    }
}
