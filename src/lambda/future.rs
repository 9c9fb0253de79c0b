//! [`PerformanceFuture`]: runs the handler's future, then ends the
//! invocation's root span and, in the `sync` flush mode, flushes, before the
//! result (or the handler's panic) goes on to the runtime.
//!
//! A panic is caught here, inside the layer, rather than left to
//! `lambda_runtime`'s own panic catcher outside it: otherwise the root span
//! would never end and the invocation's telemetry would be flushed with the
//! next invocation, under that invocation's request id and trace. The root
//! span ends as a service error with an `exception` event, the telemetry is
//! flushed within the invocation's bound, in every flush mode, and the
//! panic is then resumed, so
//! the runtime reports it exactly as it would have.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use opentelemetry::context::WithContext;
use opentelemetry::trace::TraceContextExt;
use opentelemetry::{Context, KeyValue};

use super::event::status_code;
use super::flusher::Flusher;
use crate::catalog::ErrorClass;
use crate::monitor::{Failure, RootOutcome};
use serde::Serialize;

/// `error.type` of an invocation whose handler returned an error and whose
/// operations recorded none.
pub const HANDLER_ERROR: &str = crate::monitor::HANDLER_ERROR;

/// A panic's payload.
type Panic = Box<dyn Any + Send>;

/// The future [`PerformanceService`](super::PerformanceService) returns.
pub struct PerformanceFuture<F: Future> {
    state: State<F>,
    flusher: Arc<Flusher>,
}

enum State<F: Future> {
    Running {
        /// The handler's future, or the panic that prevented it.
        inner: Result<Pin<Box<WithContext<F>>>, Panic>,
        cx: Context,
        /// The invocation's deadline, ms since the epoch.
        deadline_ms: u64,
        /// The event is an HTTP request: its response has a status.
        http: bool,
    },
    Flushing {
        flush: tokio::task::JoinHandle<()>,
        result: Option<std::thread::Result<F::Output>>,
    },
    Done,
}

impl<F: Future> PerformanceFuture<F> {
    pub(super) fn new(
        inner: Result<Pin<Box<WithContext<F>>>, Panic>,
        cx: Context,
        deadline_ms: u64,
        http: bool,
        flusher: Arc<Flusher>,
    ) -> Self {
        PerformanceFuture {
            state: State::Running {
                inner,
                cx,
                deadline_ms,
                http,
            },
            flusher,
        }
    }
}

impl<F, R, E> Future for PerformanceFuture<F>
where
    F: Future<Output = Result<R, E>>,
    R: Serialize + Unpin,
    E: Unpin,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Running { inner, .. } => {
                    let outcome = match inner {
                        Ok(future) => {
                            match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(task))) {
                                Ok(Poll::Pending) => return Poll::Pending,
                                Ok(Poll::Ready(result)) => Ok(result),
                                Err(panic) => Err(panic),
                            }
                        }
                        Err(_) => Err(Box::new(()) as Panic),
                    };
                    // Drop the handler's future first, so every span it
                    // holds has ended before the root span and the flush.
                    let State::Running {
                        inner,
                        cx,
                        deadline_ms,
                        http,
                    } = std::mem::replace(&mut this.state, State::Done)
                    else {
                        unreachable!("matched Running above")
                    };
                    let outcome = match (outcome, inner) {
                        (Err(_), Err(panic)) => Err(panic),
                        (outcome, _) => outcome,
                    };
                    end_root(&cx, &outcome, http);
                    match this
                        .flusher
                        .handler_ended(cx, deadline_ms, outcome.is_err())
                    {
                        Some(flush) => {
                            this.state = State::Flushing {
                                flush,
                                result: Some(outcome),
                            }
                        }
                        // Flushed after the response, or not this time.
                        None => return Poll::Ready(resume(outcome)),
                    }
                }
                State::Flushing { flush, result } => {
                    if Pin::new(flush).poll(task).is_pending() {
                        return Poll::Pending;
                    }
                    let result = result.take().expect("the result is taken once");
                    this.state = State::Done;
                    return Poll::Ready(resume(result));
                }
                State::Done => panic!("PerformanceFuture polled after completion"),
            }
        }
    }
}

/// The handler's result, or its panic resumed: the runtime then reports
/// it as usual.
fn resume<T>(outcome: std::thread::Result<T>) -> T {
    match outcome {
        Ok(result) => result,
        Err(panic) => resume_unwind(panic),
    }
}

/// Ends the root span with the marks of its outermost operation's failure
/// ([`RootOutcome`]): a client error stays a client error when the handler
/// answered; an `Err` from the handler is a service error (with the
/// operation's code, else [`HANDLER_ERROR`]); a panic is the service error
/// `panic`, whose `exception` message passes the privacy rules like every
/// other attribute. The status of the response to an HTTP request is
/// `http.response.status_code`; when no operation recorded a failure, a
/// 4xx is a client error and a 5xx a service error, each with the status
/// as its code. Success leaves the status Unset (semantic conventions).
fn end_root<R: Serialize, E>(
    cx: &Context,
    outcome: &std::thread::Result<Result<R, E>>,
    http: bool,
) {
    let mut span = cx.span();
    let recorded = cx.get::<RootOutcome>().and_then(RootOutcome::take);
    let status = match outcome {
        Ok(Ok(response)) if http => status_code(response),
        _ => None,
    };
    let failure = match outcome {
        Ok(Ok(_)) => recorded.or_else(|| status.and_then(Failure::http)),
        Ok(Err(_)) => Some(match recorded {
            Some(failure) if failure.class == ErrorClass::Service => failure,
            Some(failure) => Failure::service(failure.code, failure.message),
            None => Failure::service(HANDLER_ERROR, None),
        }),
        Err(panic) => Some(Failure::panic(panic.as_ref())),
    };
    if let Some(failure) = &failure {
        failure.mark(&mut span);
    }
    // The status the caller got, unless the failure reports its own.
    if let Some(status) = status.filter(|_| failure.as_ref().is_none_or(|f| f.status.is_none())) {
        span.set_attribute(KeyValue::new(
            crate::attributes::HTTP_RESPONSE_STATUS_CODE,
            i64::from(status),
        ));
    }
    span.end();
}
