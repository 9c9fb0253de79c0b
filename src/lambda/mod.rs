//! The Lambda layer (feature `lambda`): a tower Layer → Service → Future
//! triplet around a `LambdaEvent` handler.
//!
//! Per invocation it
//! 1. starts a root SERVER span named after the function, with `faas.*`
//!    attributes, `faas.coldstart`, and `faas.trigger` with the attributes
//!    the event gives ([`InvocationEvent`]: the HTTP request's method,
//!    path, route, addresses), parented to the invocation's X-Ray trace
//!    header (`Context.xray_trace_id`), so the function's spans join the
//!    segment Lambda created (on Lambda it continues the `X-Amzn-Trace-Id`
//!    the front door received), or, without one, to the W3C context the
//!    event's carrier holds (`traceparent`, `baggage`; `OTEL_PROPAGATORS`
//!    says which formats are read; see [`parent_context`]);
//! 2. runs the handler with that span as the current context;
//! 3. drops the handler's future and ends the root span: an `Err` or a
//!    panic is a service error, and the status of the response to an HTTP
//!    request (its `statusCode`) is `http.response.status_code`, a 4xx a
//!    client error and a 5xx a service error; a handler still running at
//!    the invocation's [`Deadline`](crate::Deadline) (its deadline less the
//!    flush budget, which the context carries for the handler's calls) has
//!    its root span ended then as the service error [`TIMED_OUT`], and
//!    flushed;
//! 4. flushes traces, metrics and logs as the [`FlushMode`] says: before the
//!    response (`sync`), after it (`after-response`, the default, through
//!    the runtime-level [`FlushLayer`]), or at most every interval under
//!    load (`adaptive`). Every flush is bounded by the configured budget and
//!    by the invocation's remaining time less a margin, both counted from
//!    the flush's start. An implausible deadline (in the past, or not an
//!    epoch in ms) falls back to the budget.
//!
//! [`LambdaMonitoring::run`] also registers for SIGTERM (see [`shutdown_on_sigterm`]):
//! what is still buffered when Lambda reclaims the environment is flushed.
//!
//! A failed or slow flush never fails the invocation: it is counted in
//! [`Telemetry::stats`] and logged once. A handler that panics has its
//! root span ended as a service error with an `exception` event and its
//! telemetry flushed before the panic goes on to the runtime (see
//! [`PerformanceFuture`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaEvent;
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::TextMapCompositePropagator;
use opentelemetry::trace::{SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::KeyValue;
use opentelemetry_sdk::trace::SdkTracer;

use crate::monitor::PerformanceMonitor;
use crate::monitor::RootOutcome;
use crate::telemetry::{Invocation, Telemetry};

mod batch;
mod coalesce;
mod event;
mod flush_layer;
mod flush_mode;
mod flusher;
mod future;
mod in_flight;
mod invocation;
mod run;
mod shutdown;
mod stream;

pub use crate::xray_trace_id;
pub use batch::{BatchProcessor, BatchRecord};
pub use event::{Carrier, InvocationEvent, OtherEvent, Trigger};
pub use flush_layer::{FlushFuture, FlushLayer, FlushService};
pub use flush_mode::{FlushMode, DEFAULT_FLUSH_MODE};
pub use future::{Buffered, PerformanceFuture, Respond, CANCELLED, HANDLER_ERROR, TIMED_OUT};
pub use in_flight::INTERRUPTED;
pub use invocation::{
    arn_attributes, flush_timeout, parent_context, trace_header_context, work_time,
};
pub use run::LambdaMonitoring;
pub use shutdown::{shutdown_on_sigterm, SHUTDOWN_BUDGET};
pub use stream::{MonitoredStream, Streamed, StreamingLayer, STREAM_DROPPED, STREAM_ERROR};

use flusher::Flusher;

/// What every invocation shares.
#[derive(Debug)]
struct Shared {
    telemetry: Arc<Telemetry>,
    monitor: PerformanceMonitor,
    tracer: SdkTracer,
    propagator: TextMapCompositePropagator,
    flusher: Arc<Flusher>,
    cold: AtomicBool,
    /// Invocations that may run at once.
    concurrency: u32,
}

/// Wraps a Lambda handler service; see the module docs.
#[derive(Debug, Clone)]
pub struct PerformanceLayer {
    shared: Arc<Shared>,
}

impl PerformanceLayer {
    /// A layer on `telemetry` whose flush budget is
    /// `PERFMON_FLUSH_TIMEOUT_MS`, else 500 ms, and whose flush mode is
    /// `PERFMON_FLUSH_MODE`, else [`DEFAULT_FLUSH_MODE`]. A value that does
    /// not parse falls back to the default and is logged: telemetry settings
    /// never stop a function.
    pub fn from_env(telemetry: Arc<Telemetry>, monitor: PerformanceMonitor) -> Self {
        let budget = crate::env::resolve_millis(
            None,
            crate::env::PERFMON_FLUSH_TIMEOUT_MS,
            crate::env::PERFMON_FLUSH_TIMEOUT_MS_DEFAULT,
        )
        .unwrap_or_else(|error| {
            tracing::error!(%error, "using the default flush budget");
            crate::env::PERFMON_FLUSH_TIMEOUT_MS_DEFAULT
        });
        Self::new(telemetry, monitor, budget)
    }

    /// A layer on `telemetry` that flushes within `budget` per invocation;
    /// overrides `PERFMON_FLUSH_TIMEOUT_MS`. The mode is read as
    /// [`from_env`](Self::from_env) reads it.
    pub fn new(telemetry: Arc<Telemetry>, monitor: PerformanceMonitor, budget: Duration) -> Self {
        let mode = FlushMode::resolve(None).unwrap_or_else(|error| {
            tracing::error!(%error, "using the default flush mode");
            DEFAULT_FLUSH_MODE
        });
        Self::build(telemetry, monitor, budget, mode, 1)
    }

    /// The same layer with flush mode `mode`; overrides `PERFMON_FLUSH_MODE`.
    pub fn with_flush_mode(self, mode: FlushMode) -> Self {
        self.rebuilt(mode, self.shared.concurrency)
    }

    /// The same layer for a function that runs up to `limit` invocations
    /// at once (Lambda Managed Instances; `lambda_runtime`'s
    /// `run_concurrent`). Above 1, nothing invocation-scoped is kept
    /// process-wide, and telemetry is exported as many invocations need:
    /// spans as their invocations end, one flush at a time for all of
    /// them, metrics aggregated across invocations (their EMF lines then
    /// carry no `requestId` or `traceId`: they belong to no one
    /// invocation); see [`FlushMode`]. At 1 (the default) the layer works
    /// one invocation at a time, as it always has.
    /// [`LambdaMonitoring::run_concurrent`] sets it from
    /// `AWS_LAMBDA_MAX_CONCURRENCY`.
    pub fn with_concurrency(self, limit: u32) -> Self {
        self.rebuilt(self.shared.flusher.mode(), limit)
    }

    /// This layer's telemetry, monitor and budget with `mode` and
    /// `concurrency`.
    fn rebuilt(&self, mode: FlushMode, concurrency: u32) -> Self {
        let shared = &self.shared;
        Self::build(
            shared.telemetry.clone(),
            shared.monitor.clone(),
            shared.flusher.budget(),
            mode,
            concurrency,
        )
    }

    fn build(
        telemetry: Arc<Telemetry>,
        monitor: PerformanceMonitor,
        budget: Duration,
        mode: FlushMode,
        concurrency: u32,
    ) -> Self {
        PerformanceLayer {
            shared: Arc::new(Shared {
                tracer: telemetry.tracer(),
                propagator: telemetry.propagator(),
                flusher: Arc::new(Flusher::new(telemetry.clone(), mode, budget, concurrency)),
                concurrency,
                telemetry,
                monitor,
                cold: AtomicBool::new(true),
            }),
        }
    }

    /// The flush mode.
    pub fn flush_mode(&self) -> FlushMode {
        self.shared.flusher.mode()
    }

    /// How many invocations may run at once ([`with_concurrency`](Self::with_concurrency)).
    pub fn concurrency(&self) -> u32 {
        self.shared.concurrency
    }

    /// The layer for a handler that streams its response
    /// (`lambda_runtime::streaming`): the root span ends when the stream
    /// does (see [`StreamingLayer`]).
    pub fn streaming(&self) -> StreamingLayer {
        StreamingLayer {
            shared: self.shared.clone(),
        }
    }

    /// Registers for SIGTERM as [`shutdown_on_sigterm`] does; on the
    /// signal, the root spans of the invocations still running end as
    /// [`INTERRUPTED`] before the shutdown flush.
    pub async fn shutdown_on_sigterm(&self) {
        shutdown::on_sigterm(
            self.shared.telemetry.clone(),
            Some(self.shared.flusher.in_flight().clone()),
        )
        .await
    }

    /// The runtime-level layer that flushes after the response, for the
    /// `after-response` and `adaptive` modes: add it with
    /// [`Runtime::layer`](lambda_runtime::Runtime::layer) when composing
    /// the runtime yourself ([`LambdaMonitoring::run`] does). Without it,
    /// every mode flushes at the handler's end.
    pub fn flush_layer(&self) -> FlushLayer {
        FlushLayer {
            flusher: self.shared.flusher.clone(),
        }
    }
}

impl<S> Layer<S> for PerformanceLayer {
    type Service = PerformanceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PerformanceService {
            inner,
            shared: self.shared.clone(),
            kind: std::marker::PhantomData,
        }
    }
}

/// The service [`PerformanceLayer`] produces; `K` says how the response
/// ends the invocation: [`Buffered`], or [`Streamed`] (through
/// [`StreamingLayer`]).
pub struct PerformanceService<S, K = Buffered> {
    inner: S,
    shared: Arc<Shared>,
    kind: std::marker::PhantomData<fn() -> K>,
}

impl<S: Clone, K> Clone for PerformanceService<S, K> {
    fn clone(&self) -> Self {
        PerformanceService {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
            kind: std::marker::PhantomData,
        }
    }
}

impl<S: std::fmt::Debug, K> std::fmt::Debug for PerformanceService<S, K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PerformanceService")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, K, T, R, E> Service<LambdaEvent<T>> for PerformanceService<S, K>
where
    S: Service<LambdaEvent<T>, Response = R, Error = E>,
    T: InvocationEvent,
    K: Respond<R>,
    R: Unpin,
    E: Unpin,
{
    type Response = K::Response;
    type Error = E;
    type Future = PerformanceFuture<S::Future, K>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), E>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, event: LambdaEvent<T>) -> Self::Future {
        let shared = &self.shared;
        let lambda = &event.context;
        let function = lambda.env_config.function_name.clone();
        let coldstart = shared.cold.swap(false, Ordering::Relaxed);
        if coldstart {
            shared.monitor.record_cold_start(&function);
        }
        let payload = &event.payload;
        let http = payload.trigger() == Trigger::Http;
        let parent = parent_context(
            &shared.propagator,
            lambda.xray_trace_id.as_deref(),
            &event::carrier(payload),
        );
        let mut attributes = vec![
            KeyValue::new("faas.invocation_id", lambda.request_id.clone()),
            KeyValue::new("faas.coldstart", coldstart),
            KeyValue::new("faas.name", function.clone()),
            KeyValue::new("faas.version", lambda.env_config.version.clone()),
        ];
        attributes.extend(arn_attributes(&lambda.invoked_function_arn));
        event::attributes(payload, &mut attributes);
        let root = shared
            .tracer
            .span_builder(if function.is_empty() {
                "lambda".to_owned()
            } else {
                function
            })
            .with_kind(SpanKind::Server)
            .with_attributes(attributes)
            .start_with_context(&shared.tracer, &parent);
        // The invocation's context: its root span, and the fields its log
        // lines carry.
        let cx = crate::tracing::InvocationFields {
            request_id: lambda.request_id.clone(),
            cold_start: coldstart,
        }
        .attach_to(&parent.with_span(root));
        // The outermost operation reports its failure class to the root.
        let cx = cx.with_value(RootOutcome::for_root(&cx));
        // EMF lines flushed for this invocation carry its ids, when it runs
        // alone: lines flushed for many carry none.
        if !shared.flusher.is_concurrent() {
            shared.telemetry.set_invocation(Invocation {
                trace_id: Some(xray_trace_id(cx.span().span_context().trace_id())),
                request_id: Some(lambda.request_id.clone()),
            });
        }
        let deadline_ms = lambda.deadline;
        // When the work must be done (see `Deadline`): the handler's calls
        // read it from the context, and the root ends then if it runs on.
        let work = work_time(
            shared.flusher.budget(),
            deadline_ms,
            crate::clock::now_ms().max(0) as u64,
        );
        let cx = match work {
            Some(left) => cx.with_value(crate::Deadline::after(left)),
            None => cx,
        };
        let key = shared.flusher.started(&cx);
        // A handler may panic before it returns its future (in the
        // synchronous part of a `service_fn` closure): that panic is handled
        // like one from the future, when it is first polled.
        let inner = {
            let _current = cx.clone().attach();
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.inner.call(event)))
                .map(|future| Box::pin(future.with_context(cx.clone())))
        };
        PerformanceFuture::new(
            inner,
            future::Root {
                cx,
                key,
                deadline_ms,
                http,
                flusher: shared.flusher.clone(),
            },
        )
    }
}
