//! The Lambda layer (feature `lambda`): a tower Layer → Service → Future
//! triplet around a `LambdaEvent` handler.
//!
//! Per invocation it
//! 1. starts a root SERVER span named after the function, with `faas.*`
//!    attributes and `faas.coldstart`, parented to the invocation's X-Ray
//!    trace header (`Context.xray_trace_id`), so the function's spans join
//!    the segment Lambda created;
//! 2. runs the handler with that span as the current context;
//! 3. drops the handler's future, ends the root span (an `Err` is an error
//!    status), and flushes traces and metrics, bounded by the configured
//!    budget and by the invocation's remaining time. An implausible deadline
//!    (in the past, or not an epoch in ms) falls back to the budget.
//!
//! A failed or slow flush never fails the invocation: it is counted in
//! [`Telemetry::stats`] and logged once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaEvent;
use opentelemetry::context::{FutureExt as _, WithContext};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::{SpanKind, Status, TraceContextExt, Tracer as _};
use opentelemetry::{Context, KeyValue};
use opentelemetry_aws::trace::XrayPropagator;
use opentelemetry_sdk::trace::SdkTracer;

use crate::{Invocation, PerformanceMonitor, Telemetry};

/// Deadlines further than this from now are not believed (Lambda's longest
/// timeout is 15 minutes).
const MAX_PLAUSIBLE_REMAINING: Duration = Duration::from_secs(15 * 60 + 60);
/// Time kept back from the deadline for the runtime to post the response.
const DEADLINE_MARGIN: Duration = Duration::from_millis(50);
/// Deadlines below this many ms since the epoch (2001-09-09) are not epochs.
const MIN_EPOCH_MS: u64 = 1_000_000_000_000;

/// The flush timeout for an invocation whose deadline is `deadline_ms`.
pub fn flush_timeout(budget: Duration, deadline_ms: u64, now_ms: u64) -> Duration {
    if deadline_ms < MIN_EPOCH_MS || deadline_ms <= now_ms {
        return budget;
    }
    let remaining = Duration::from_millis(deadline_ms - now_ms);
    if remaining > MAX_PLAUSIBLE_REMAINING {
        return budget;
    }
    budget.min(remaining.saturating_sub(DEADLINE_MARGIN))
}

/// The context of the invocation's X-Ray trace header, if it has one.
pub fn trace_header_context(header: Option<&str>) -> Context {
    let Some(header) = header else {
        return Context::new();
    };
    let carrier = HashMap::from([("x-amzn-trace-id".to_owned(), header.to_owned())]);
    XrayPropagator::default().extract_with_context(&Context::new(), &carrier)
}

/// A trace id in X-Ray's `1-xxxxxxxx-yyyyyyyyyyyyyyyyyyyyyyyy` form.
pub fn xray_trace_id(id: opentelemetry::trace::TraceId) -> String {
    let hex = id.to_string();
    format!("1-{}-{}", &hex[..8], &hex[8..])
}

/// What every invocation shares.
#[derive(Debug)]
struct Shared {
    telemetry: Arc<Telemetry>,
    monitor: PerformanceMonitor,
    tracer: SdkTracer,
    budget: Duration,
    cold: AtomicBool,
}

/// Wraps a Lambda handler service; see the module docs.
#[derive(Debug, Clone)]
pub struct PerformanceLayer {
    shared: Arc<Shared>,
}

impl PerformanceLayer {
    /// A layer on `telemetry` that flushes within `budget` per invocation.
    pub fn new(telemetry: Arc<Telemetry>, monitor: PerformanceMonitor, budget: Duration) -> Self {
        PerformanceLayer {
            shared: Arc::new(Shared {
                tracer: telemetry.tracer(),
                telemetry,
                monitor,
                budget,
                cold: AtomicBool::new(true),
            }),
        }
    }
}

impl<S> Layer<S> for PerformanceLayer {
    type Service = PerformanceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        PerformanceService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`PerformanceLayer`] produces.
#[derive(Debug, Clone)]
pub struct PerformanceService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, T, R, E> Service<LambdaEvent<T>> for PerformanceService<S>
where
    S: Service<LambdaEvent<T>, Response = R, Error = E>,
    R: Unpin,
    E: Unpin,
{
    type Response = R;
    type Error = E;
    type Future = PerformanceFuture<S::Future>;

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
        let parent = trace_header_context(lambda.xray_trace_id.as_deref());
        let root = shared
            .tracer
            .span_builder(if function.is_empty() {
                "lambda".to_owned()
            } else {
                function.clone()
            })
            .with_kind(SpanKind::Server)
            .with_attributes([
                KeyValue::new("faas.invocation_id", lambda.request_id.clone()),
                KeyValue::new("faas.coldstart", coldstart),
                KeyValue::new("faas.name", function),
                KeyValue::new("faas.version", lambda.env_config.version.clone()),
                KeyValue::new("faas.trigger", "other"),
                KeyValue::new("cloud.provider", "aws"),
                KeyValue::new("cloud.resource_id", lambda.invoked_function_arn.clone()),
            ])
            .start_with_context(&shared.tracer, &parent);
        let cx = parent.with_span(root);
        // EMF lines flushed for this invocation carry its ids.
        shared.telemetry.set_invocation(Invocation {
            trace_id: Some(xray_trace_id(cx.span().span_context().trace_id())),
            request_id: Some(lambda.request_id.clone()),
        });
        let timeout = flush_timeout(
            shared.budget,
            lambda.deadline,
            crate::clock::now_ms().max(0) as u64,
        );
        let inner = Box::pin(self.inner.call(event).with_context(cx.clone()));
        PerformanceFuture {
            state: State::Running { inner, cx, timeout },
            telemetry: shared.telemetry.clone(),
        }
    }
}

/// The future [`PerformanceService`] returns.
pub struct PerformanceFuture<F: Future> {
    state: State<F>,
    telemetry: Arc<Telemetry>,
}

enum State<F: Future> {
    Running {
        inner: Pin<Box<WithContext<F>>>,
        cx: Context,
        timeout: Duration,
    },
    Flushing {
        flush: tokio::task::JoinHandle<()>,
        result: Option<F::Output>,
    },
    Done,
}

impl<F, R, E> Future for PerformanceFuture<F>
where
    F: Future<Output = Result<R, E>>,
    R: Unpin,
    E: Unpin,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Running { inner, .. } => {
                    let Poll::Ready(result) = inner.as_mut().poll(task) else {
                        return Poll::Pending;
                    };
                    // Drop the handler's future first, so every span it
                    // holds has ended before the root span and the flush.
                    let State::Running { cx, timeout, .. } =
                        std::mem::replace(&mut this.state, State::Done)
                    else {
                        unreachable!("matched Running above")
                    };
                    let span = cx.span();
                    span.set_status(if result.is_ok() {
                        Status::Ok
                    } else {
                        Status::error("handler error")
                    });
                    span.end();
                    let telemetry = this.telemetry.clone();
                    // The budget runs from here, not from whenever the
                    // blocking pool gets to the flush.
                    let deadline = std::time::Instant::now() + timeout;
                    let flush = tokio::task::spawn_blocking(move || {
                        // Counted and logged once inside; never returned.
                        let _ = telemetry.force_flush(
                            deadline.saturating_duration_since(std::time::Instant::now()),
                        );
                    });
                    this.state = State::Flushing {
                        flush,
                        result: Some(result),
                    };
                }
                State::Flushing { flush, result } => {
                    if Pin::new(flush).poll(task).is_pending() {
                        return Poll::Pending;
                    }
                    let result = result.take().expect("the result is taken once");
                    this.state = State::Done;
                    return Poll::Ready(result);
                }
                State::Done => panic!("PerformanceFuture polled after completion"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_790_000_000_000;

    #[test]
    fn the_flush_fits_the_remaining_time() {
        let budget = Duration::from_millis(500);
        assert_eq!(flush_timeout(budget, NOW + 10_000, NOW), budget);
        assert_eq!(
            flush_timeout(budget, NOW + 200, NOW),
            Duration::from_millis(150),
            "deadline minus the margin"
        );
        assert_eq!(flush_timeout(budget, NOW + 20, NOW), Duration::ZERO);
    }

    #[test]
    fn implausible_deadlines_fall_back_to_the_budget() {
        let budget = Duration::from_millis(500);
        assert_eq!(flush_timeout(budget, 600_000, NOW), budget, "not an epoch");
        assert_eq!(flush_timeout(budget, NOW - 1, NOW), budget, "in the past");
        assert_eq!(flush_timeout(budget, 0, NOW), budget);
        assert_eq!(
            flush_timeout(budget, NOW + 3_600_000, NOW),
            budget,
            "beyond Lambda's 15 minutes"
        );
    }

    #[test]
    fn the_trace_header_gives_the_parent() {
        let cx = trace_header_context(Some(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
        ));
        let span = cx.span();
        let sc = span.span_context();
        assert_eq!(
            sc.trace_id().to_string(),
            "5759e988bd862e3fe1be46a994272793"
        );
        assert_eq!(sc.span_id().to_string(), "53995c3f42cd8ad8");
        assert!(sc.is_sampled() && sc.is_remote());
        assert!(!trace_header_context(None).span().span_context().is_valid());
        assert!(!trace_header_context(Some("garbage"))
            .span()
            .span_context()
            .is_valid());
    }
}
