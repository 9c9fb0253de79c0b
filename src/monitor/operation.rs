//! `OperationMonitor`: one monitored operation, from `start` to `complete`.

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use opentelemetry::trace::{Span as _, TraceContextExt};
use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::trace::Span;

use super::failure::{Failure, MarkSpan, RootOutcome, HANDLER_ERROR};
use super::{thresholds, OperationState};
use crate::attributes as attr;
use crate::names::dim;

/// `ErrorType` of a monitor dropped without `complete`.
pub const ABANDONED: &str = "abandoned";
/// `ErrorType` of `complete(false, ..)`, which names no error. Prefer
/// [`OperationMonitor::fail`].
pub const UNSPECIFIED_ERROR: &str = "unspecified";

/// A typed, low-cardinality error code: the `ErrorType` dimension and the
/// span status description. Codes are `'static` so that no request data can
/// ever become a metric dimension.
///
/// ```
/// enum AuthError { Expired, Invalid }
/// impl perfmon_lambda::ErrorCode for AuthError {
///     fn error_code(&self) -> &'static str {
///         match self {
///             AuthError::Expired => "TOKEN_EXPIRED",
///             AuthError::Invalid => "INVALID_TOKEN",
///         }
///     }
/// }
/// ```
pub trait ErrorCode {
    /// The code, e.g. `TOKEN_EXPIRED`.
    fn error_code(&self) -> &'static str;

    /// The error's text, for the `exception` event of a service error (see
    /// [`ErrorClass`](crate::catalog::ErrorClass)); it passes the privacy rules like
    /// every span attribute. `None`, the default, reports the code.
    fn error_message(&self) -> Option<String> {
        None
    }
}

impl ErrorCode for &'static str {
    fn error_code(&self) -> &'static str {
        self
    }
}

impl<T: ErrorCode + ?Sized> ErrorCode for &T {
    fn error_code(&self) -> &'static str {
        (**self).error_code()
    }
    fn error_message(&self) -> Option<String> {
        (**self).error_message()
    }
}

/// The attributes every operation's span gets when it ends (handler,
/// outcome, memory): its start makes room for them.
pub(super) const END_ATTRIBUTES: usize = 3;

/// One monitored operation. Finish it with [`complete`](Self::complete) or
/// [`fail`](Self::fail); if it is dropped unfinished it still ends its span,
/// as an error [`ABANDONED`], and is counted.
#[derive(Debug)]
pub struct OperationMonitor {
    state: Arc<OperationState>,
    /// The span, until the operation finishes.
    span: Option<SpanSlot>,
    started: Started,
    /// The invocation's outcome, when this operation is directly under the
    /// Lambda layer's root span.
    root: Option<RootOutcome>,
}

/// When an operation started, on both clocks. The span's end is its start
/// plus the monotonic duration, so the span and `HandlerDuration` report the
/// same length, whatever the scheduler does between the clock reads.
#[derive(Debug, Clone, Copy)]
pub(super) struct Started {
    pub(super) wall: SystemTime,
    monotonic: Instant,
}

impl Started {
    pub(super) fn now() -> Self {
        Started {
            wall: SystemTime::now(),
            monotonic: Instant::now(),
        }
    }
}

/// The span is held directly, and moved into a `Context` only when a caller
/// asks for one to parent children, which costs an allocation.
#[derive(Debug)]
// Boxing the span would cost an allocation per operation; the slot lives
// only while the operation runs.
#[allow(clippy::large_enum_variant)]
enum SpanSlot {
    Owned(Span),
    InContext(Context),
}

impl OperationMonitor {
    pub(super) fn new(
        state: Arc<OperationState>,
        span: Span,
        started: Started,
        root: Option<RootOutcome>,
    ) -> Self {
        OperationMonitor {
            state,
            span: Some(SpanSlot::Owned(span)),
            started,
            root,
        }
    }

    /// The guide's `complete(success, attributes)`. A failure recorded this
    /// way has `ErrorType` [`UNSPECIFIED_ERROR`]; use [`fail`](Self::fail) to
    /// name it.
    pub fn complete<I>(mut self, success: bool, attributes: I)
    where
        I: IntoIterator<Item = KeyValue>,
    {
        let failure = (!success).then(|| self.classify(UNSPECIFIED_ERROR, None));
        self.finish(failure, attributes);
    }

    /// Completes the operation as failed with a typed error code.
    pub fn fail<I>(mut self, error: impl ErrorCode, attributes: I)
    where
        I: IntoIterator<Item = KeyValue>,
    {
        let failure = self.classify(error.error_code(), error.error_message());
        self.finish(Some(failure), attributes);
    }

    /// Completes the operation with the HTTP `status` it answered: its
    /// `http.response.status_code`, and for a 4xx a client error, for a
    /// 5xx a service error, with the status as the code, unless the
    /// catalog declares that code with another class.
    // The HTTP layers call it.
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn complete_http<I>(mut self, status: u16, attributes: I)
    where
        I: IntoIterator<Item = KeyValue>,
    {
        // The catalog may class a status itself (a 404 the caller expects).
        let failure = Failure::http(status).map(|failure| {
            match self
                .state
                .errors
                .iter()
                .find(|spec| spec.code == failure.code)
            {
                Some(spec) => Failure {
                    class: spec.class,
                    ..failure
                },
                None => failure,
            }
        });
        let status = KeyValue::new(attr::HTTP_RESPONSE_STATUS_CODE, i64::from(status));
        self.finish(failure, attributes.into_iter().chain([status]));
    }

    /// Completes the operation as a service error, whatever the catalog
    /// declares: `panic` with the panic's text, when `panic` holds one's
    /// payload, else [`HANDLER_ERROR`].
    #[cfg_attr(not(feature = "axum"), allow(dead_code))]
    pub(crate) fn fail_service(mut self, panic: Option<&(dyn std::any::Any + Send)>) {
        let failure = match panic {
            Some(payload) => Failure::panic(payload),
            None => Failure::service(HANDLER_ERROR, None),
        };
        self.finish(Some(failure), std::iter::empty());
    }

    /// `code` in this operation's catalog classes.
    fn classify(&self, code: &'static str, message: Option<String>) -> Failure {
        Failure::classify(code, message, &self.state.errors)
    }

    /// The operation's name.
    pub fn operation(&self) -> &'static str {
        self.state.name
    }

    /// A context holding this operation's span, to parent child spans and
    /// nested operations.
    pub fn context(&mut self) -> Context {
        match self.span.take() {
            Some(SpanSlot::Owned(span)) => {
                let cx = Context::current_with_span(span);
                self.span = Some(SpanSlot::InContext(cx.clone()));
                cx
            }
            Some(SpanSlot::InContext(cx)) => {
                self.span = Some(SpanSlot::InContext(cx.clone()));
                cx
            }
            None => Context::current(),
        }
    }

    /// `future`, run with this operation's span as the current context:
    /// spans started inside it, `#[tracing::instrument]` spans (with the
    /// [`tracing`](mod@crate::tracing) bridge) and nested operations are
    /// children of the operation, and log lines carry its span id.
    ///
    /// ```
    /// # let telemetry = perfmon_lambda::Telemetry::builder().with_exporters_disabled().build().unwrap();
    /// # let monitor = perfmon_lambda::PerformanceMonitor::new(&telemetry);
    /// # futures_executor::block_on(async {
    /// let mut op = monitor.start("checkout", []);
    /// let charged = op.within(async { /* call the payment service */ true }).await;
    /// op.complete(charged, []);
    /// # });
    /// ```
    ///
    /// (Not called `instrument`: `tracing::Instrument::instrument` exists
    /// for every type and would be picked instead wherever that trait is
    /// imported.)
    pub fn within<F: std::future::Future>(
        &mut self,
        future: F,
    ) -> opentelemetry::context::WithContext<F> {
        opentelemetry::context::FutureExt::with_context(future, self.context())
    }

    /// Runs `f` with this operation's span as the current context; see
    /// [`within`](Self::within).
    pub fn in_scope<R>(&mut self, f: impl FnOnce() -> R) -> R {
        let _current = self.context().attach();
        f()
    }

    /// Adds an attribute to the span while the operation runs.
    pub fn set_attribute(&mut self, attribute: KeyValue) {
        match &mut self.span {
            Some(SpanSlot::Owned(span)) => span.set_attribute(attribute),
            Some(SpanSlot::InContext(cx)) => cx.span().set_attribute(attribute),
            None => {}
        }
    }

    fn finish<I>(&mut self, failure: Option<Failure>, attributes: I)
    where
        I: IntoIterator<Item = KeyValue>,
    {
        let Some(slot) = self.span.take() else {
            return;
        };
        let error = failure.as_ref().map(|f| f.code);
        let now = Instant::now();
        let elapsed = now.saturating_duration_since(self.started.monotonic);
        let duration_ms = crate::clock::millis(elapsed);
        let end_time = self.started.wall + elapsed;
        let state = &*self.state;
        let shared = &*state.shared;
        let memory = shared.memory.sample(now);
        let instruments = &shared.instruments;

        let breaches = state.thresholds.as_ref().map(|limits| {
            thresholds::check(
                limits,
                &state.window,
                now.saturating_duration_since(shared.epoch),
                duration_ms,
                memory,
                error.is_some(),
            )
        });

        let end = |span: &mut dyn SpanLike| {
            // What a span nobody records is given would be built to be
            // dropped (an unsampled invocation's spans).
            if span.is_recording() {
                span.set_attributes(&mut attributes.into_iter());
                let ended: [KeyValue; END_ATTRIBUTES] = [
                    KeyValue::new(attr::PERF_HANDLER, state.name),
                    KeyValue::new(attr::PERF_OUTCOME, error.unwrap_or("success")),
                    KeyValue::new(attr::PERF_MEMORY_BYTES, memory as i64),
                ];
                span.set_attributes(&mut ended.into_iter());
                for breach in breaches.iter().flatten().flatten() {
                    span.add_event(vec![
                        KeyValue::new(attr::PERF_EVENT_METRIC, breach.metric),
                        KeyValue::new(attr::PERF_EVENT_LIMIT, breach.limit),
                        KeyValue::new(attr::PERF_EVENT_VALUE, breach.value),
                    ]);
                }
                // Success leaves the status Unset (semantic conventions).
                if let Some(failure) = &failure {
                    failure.mark(span.as_mark());
                }
            }
            span.end_with_timestamp(end_time);
        };
        match slot {
            SpanSlot::Owned(mut span) => end(&mut span),
            SpanSlot::InContext(cx) => end(&mut cx.span()),
        }
        if let (Some(root), Some(failure)) = (&self.root, failure) {
            root.record(failure);
        }

        let [handler, environment] = &state.base;
        let bound = state.bound();
        bound.handler_duration.record(duration_ms);
        bound.memory_usage.record(memory);
        bound.invocations.add(1);
        if let Some(code) = error {
            instruments.errors.add(
                1,
                &[
                    handler.clone(),
                    environment.clone(),
                    KeyValue::new(dim::ERROR_TYPE, code),
                ],
            );
        }
        for breach in breaches.iter().flatten().flatten() {
            if let Some(counter) = state.breach_counter(breach.metric) {
                counter.add(1);
            }
        }
    }
}

impl Drop for OperationMonitor {
    fn drop(&mut self) {
        if self.span.is_some() {
            let failure = self.classify(ABANDONED, None);
            self.finish(Some(failure), std::iter::empty());
        }
    }
}

/// The span operations `finish` needs, over an owned span and a `SpanRef`.
trait SpanLike {
    fn is_recording(&self) -> bool;
    fn set_attributes(&mut self, attributes: &mut dyn Iterator<Item = KeyValue>);
    fn add_event(&mut self, attributes: Vec<KeyValue>);
    fn as_mark(&mut self) -> &mut dyn MarkSpan;
    fn end_with_timestamp(&mut self, timestamp: SystemTime);
}

impl SpanLike for Span {
    fn is_recording(&self) -> bool {
        opentelemetry::trace::Span::is_recording(self)
    }
    fn set_attributes(&mut self, attributes: &mut dyn Iterator<Item = KeyValue>) {
        opentelemetry::trace::Span::set_attributes(self, attributes)
    }
    fn add_event(&mut self, attributes: Vec<KeyValue>) {
        opentelemetry::trace::Span::add_event(self, attr::PERF_THRESHOLD_EXCEEDED, attributes)
    }
    fn as_mark(&mut self) -> &mut dyn MarkSpan {
        self
    }
    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        opentelemetry::trace::Span::end_with_timestamp(self, timestamp)
    }
}

impl SpanLike for opentelemetry::trace::SpanRef<'_> {
    fn is_recording(&self) -> bool {
        opentelemetry::trace::SpanRef::is_recording(self)
    }
    fn set_attributes(&mut self, attributes: &mut dyn Iterator<Item = KeyValue>) {
        opentelemetry::trace::SpanRef::set_attributes(self, attributes)
    }
    fn add_event(&mut self, attributes: Vec<KeyValue>) {
        opentelemetry::trace::SpanRef::add_event(self, attr::PERF_THRESHOLD_EXCEEDED, attributes)
    }
    fn as_mark(&mut self) -> &mut dyn MarkSpan {
        self
    }
    fn end_with_timestamp(&mut self, timestamp: SystemTime) {
        opentelemetry::trace::SpanRef::end_with_timestamp(self, timestamp)
    }
}
