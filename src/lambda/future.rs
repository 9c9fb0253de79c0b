//! [`PerformanceFuture`]: runs the handler's future, then ends the
//! invocation's root span and, in the `sync` flush mode, flushes, before the
//! result (or the handler's panic) goes on to the runtime. A streamed
//! response takes the root span with it instead ([`Respond`]): the span
//! ends when the stream does.
//!
//! A handler still running at the invocation's [`Deadline`](crate::Deadline)
//! (its deadline less the flush budget) has its root span ended as the
//! service error [`TIMED_OUT`] and its telemetry flushed then, in every
//! flush mode: a hung call would otherwise run into Lambda's timeout, and
//! the invocation's trace would never be exported. The handler goes on
//! running; if it ends before Lambda stops it, what it ended since is
//! flushed and its answer goes to the runtime as usual. The invocation no
//! longer counts as running once its root has ended (under
//! `run_concurrent`, a quiet moment may come while it runs on). A streamed
//! response's stream, which takes the root, keeps the same guard
//! ([`MonitoredStream`](super::MonitoredStream)).
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

/// How a handler's response ends its invocation: at once ([`Buffered`]),
/// or when the response itself ends ([`Streamed`](super::Streamed)).
pub trait Respond<R> {
    /// What the service answers the runtime with.
    type Response;

    /// The HTTP status `response` gives, for a response to an HTTP request.
    fn status(response: &R) -> Option<u16>;

    /// Hands the invocation's root span to `response` when it outlives the
    /// handler; gives both back when the root ends now.
    fn hand_over(response: R, root: Root) -> Result<Self::Response, (R, Root)>;

    /// `response` as the service answers it, its root span ended.
    fn answer(response: R) -> Self::Response;
}

/// A response serialized whole: the root span ends with the handler.
#[derive(Debug, Clone, Copy)]
pub struct Buffered;

impl<R: Serialize> Respond<R> for Buffered {
    type Response = R;

    fn status(response: &R) -> Option<u16> {
        status_code(response)
    }

    fn hand_over(response: R, root: Root) -> Result<R, (R, Root)> {
        Err((response, root))
    }

    fn answer(response: R) -> R {
        response
    }
}

/// An invocation's root span and what its end needs.
#[derive(Debug)]
pub struct Root {
    pub(super) cx: Context,
    /// Its key among the invocations in flight.
    pub(super) key: u64,
    /// The invocation's deadline, ms since the epoch.
    pub(super) deadline_ms: u64,
    /// The event is an HTTP request: its response has a status.
    pub(super) http: bool,
    pub(super) flusher: Arc<Flusher>,
}

impl Root {
    /// Ends the root span with `failure` and takes the invocation out of
    /// the running ones, without a flush: for an invocation that cannot
    /// end as usual (its future dropped, no runtime left).
    pub(super) fn abandon(self, failure: Failure, extra: &[KeyValue]) {
        if let Some(outcome) = self.cx.get::<RootOutcome>() {
            outcome.record(failure);
        }
        end_root(&self.cx, Ended::Failed, None, extra);
        self.flusher.abandoned(self.key);
    }

    /// Ends the root span (see [`end_root`]) and takes the invocation out
    /// of the running ones: the flush, when it belongs here.
    pub(super) fn end(
        self,
        ended: Ended<'_>,
        status: Option<u16>,
        extra: &[KeyValue],
    ) -> Option<tokio::task::JoinHandle<()>> {
        end_root(&self.cx, ended, status.filter(|_| self.http), extra);
        let panicked = matches!(ended, Ended::Panicked(_));
        self.flusher
            .handler_ended(self.key, self.cx, self.deadline_ms, panicked)
    }

    /// Ends the root span as [`TIMED_OUT`] while the handler (or stream)
    /// runs on, and flushes now, in every mode; the root is kept for
    /// [`flush_late`](Self::flush_late).
    pub(super) fn time_out(&self, status: Option<u16>, extra: &[KeyValue]) {
        end_root(
            &self.cx,
            Ended::TimedOut,
            status.filter(|_| self.http),
            extra,
        );
        // The flush runs on its own; nothing waits for it.
        drop(
            self.flusher
                .handler_ended(self.key, self.cx.clone(), self.deadline_ms, true),
        );
    }

    /// After [`time_out`](Self::time_out), at the handler's (or stream's)
    /// end: flushes what it ended since (the hung call's span, its
    /// operation's), in every mode.
    pub(super) fn flush_late(self) -> Option<tokio::task::JoinHandle<()>> {
        self.flusher
            .handler_ended(self.key, self.cx, self.deadline_ms, true)
    }
}

/// How the handler ended.
#[derive(Clone, Copy)]
pub(super) enum Ended<'a> {
    Answered,
    Failed,
    Panicked(&'a (dyn Any + Send)),
    /// Still running at the invocation's deadline less the flush budget.
    TimedOut,
}

/// `error.type` of an invocation whose handler was still running at its
/// deadline less the flush budget.
pub const TIMED_OUT: &str = "timeout";

/// `error.type` of an invocation whose handler returned an error and whose
/// operations recorded none.
pub const HANDLER_ERROR: &str = crate::monitor::HANDLER_ERROR;

/// A panic's payload.
type Panic = Box<dyn Any + Send>;

/// The future [`PerformanceService`](super::PerformanceService) returns.
pub struct PerformanceFuture<F: Future, K = Buffered> {
    state: State<F>,
    kind: std::marker::PhantomData<fn() -> K>,
}

enum State<F: Future> {
    Running {
        /// The handler's future, or the panic that prevented it.
        inner: Result<Pin<Box<WithContext<F>>>, Panic>,
        root: Root,
        /// Fires at the invocation's `Deadline`; set on the first poll, inside
        /// the runtime.
        overtime: Option<Pin<Box<tokio::time::Sleep>>>,
    },
    /// Past the deadline less the flush budget: the root span has ended
    /// and been flushed; the handler runs on, and what it ends is flushed
    /// when it answers.
    Overtime {
        inner: Pin<Box<WithContext<F>>>,
        /// Its span ended.
        root: Root,
    },
    Flushing {
        flush: tokio::task::JoinHandle<()>,
        result: Option<std::thread::Result<F::Output>>,
    },
    Done,
}

impl<F: Future, K> PerformanceFuture<F, K> {
    pub(super) fn new(inner: Result<Pin<Box<WithContext<F>>>, Panic>, root: Root) -> Self {
        PerformanceFuture {
            state: State::Running {
                inner,
                root,
                overtime: None,
            },
            kind: std::marker::PhantomData,
        }
    }
}

impl<F, K, R, E> Future for PerformanceFuture<F, K>
where
    F: Future<Output = Result<R, E>>,
    K: Respond<R>,
    R: Unpin,
    E: Unpin,
{
    type Output = Result<K::Response, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Running {
                    inner,
                    root,
                    overtime,
                } => {
                    let outcome = match inner {
                        Ok(future) => match poll_caught(future, task) {
                            Poll::Pending => {
                                if overtime_passed(overtime, root, task) {
                                    this.overtime();
                                }
                                return Poll::Pending;
                            }
                            Poll::Ready(outcome) => outcome,
                        },
                        Err(_) => Err(Box::new(()) as Panic),
                    };
                    // Drop the handler's future first, so every span it
                    // holds has ended before the root span and the flush.
                    let State::Running { inner, root, .. } =
                        std::mem::replace(&mut this.state, State::Done)
                    else {
                        unreachable!("matched Running above")
                    };
                    let outcome = match (outcome, inner) {
                        (Err(_), Err(panic)) => Err(panic),
                        (outcome, _) => outcome,
                    };
                    // A streamed response takes the root with it.
                    let (outcome, root) = match outcome {
                        Ok(Ok(response)) => match K::hand_over(response, root) {
                            Ok(streamed) => return Poll::Ready(Ok(streamed)),
                            Err((response, root)) => (Ok(Ok(response)), root),
                        },
                        other => (other, root),
                    };
                    let flush = match &outcome {
                        Ok(Ok(response)) => root.end(Ended::Answered, K::status(response), &[]),
                        Ok(Err(_)) => root.end(Ended::Failed, None, &[]),
                        Err(panic) => root.end(Ended::Panicked(panic.as_ref()), None, &[]),
                    };
                    match flush {
                        Some(flush) => {
                            this.state = State::Flushing {
                                flush,
                                result: Some(outcome),
                            }
                        }
                        // Flushed after the response, or not this time.
                        None => return Poll::Ready(answer::<K, R, E>(outcome)),
                    }
                }
                State::Overtime { inner, .. } => {
                    let Poll::Ready(outcome) = poll_caught(inner, task) else {
                        return Poll::Pending;
                    };
                    // The handler's future dropped first, so that its spans
                    // have ended before the flush.
                    let State::Overtime { root, .. } =
                        std::mem::replace(&mut this.state, State::Done)
                    else {
                        unreachable!("matched Overtime above")
                    };
                    match root.flush_late() {
                        Some(flush) => {
                            this.state = State::Flushing {
                                flush,
                                result: Some(outcome),
                            }
                        }
                        None => return Poll::Ready(answer::<K, R, E>(outcome)),
                    }
                }
                State::Flushing { flush, result } => {
                    if Pin::new(flush).poll(task).is_pending() {
                        return Poll::Pending;
                    }
                    let result = result.take().expect("the result is taken once");
                    this.state = State::Done;
                    return Poll::Ready(answer::<K, R, E>(result));
                }
                State::Done => panic!("PerformanceFuture polled after completion"),
            }
        }
    }
}

impl<F: Future, K> PerformanceFuture<F, K> {
    /// The handler runs past its deadline less the flush budget: its root
    /// span ends as [`TIMED_OUT`] and is flushed now, on a task of its own;
    /// the handler runs on.
    fn overtime(&mut self) {
        let State::Running {
            inner: Ok(inner),
            root,
            ..
        } = std::mem::replace(&mut self.state, State::Done)
        else {
            unreachable!("called while the handler's future runs")
        };
        root.time_out(None, &[]);
        self.state = State::Overtime { inner, root };
    }
}

/// Polls the handler's future, catching its panic.
fn poll_caught<F: Future>(
    future: &mut Pin<Box<WithContext<F>>>,
    task: &mut TaskContext<'_>,
) -> Poll<std::thread::Result<F::Output>> {
    match catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(task))) {
        Ok(Poll::Pending) => Poll::Pending,
        Ok(Poll::Ready(result)) => Poll::Ready(Ok(result)),
        Err(panic) => Poll::Ready(Err(panic)),
    }
}

/// Whether `root`'s overtime has come; arms the timer on the first call
/// (inside a Tokio runtime; without one there is no timer).
pub(super) fn overtime_passed(
    timer: &mut Option<Pin<Box<tokio::time::Sleep>>>,
    root: &Root,
    task: &mut TaskContext<'_>,
) -> bool {
    if timer.is_none() {
        // The layer's own `Deadline`, in the invocation's context.
        let Some(at) = root.cx.get::<crate::Deadline>().map(|d| d.instant()) else {
            return false;
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return false;
        }
        *timer = Some(Box::pin(tokio::time::sleep_until(at.into())));
    }
    timer
        .as_mut()
        .is_some_and(|sleep| sleep.as_mut().poll(task).is_ready())
}

impl<F: Future, K> Drop for PerformanceFuture<F, K> {
    /// A future dropped while the handler runs (a timeout around the
    /// service, a cancelled task): its root span ends as [`CANCELLED`],
    /// and the invocation is no longer counted as running.
    fn drop(&mut self) {
        if let State::Running { root, .. } = std::mem::replace(&mut self.state, State::Done) {
            root.abandon(
                Failure::service(
                    CANCELLED,
                    Some("the invocation's future was dropped before the handler ended".to_owned()),
                ),
                &[],
            );
        }
    }
}

/// `error.type` of an invocation whose future was dropped before its
/// handler ended.
pub const CANCELLED: &str = crate::monitor::CANCELLED;

/// The handler's result as the service answers it, or its panic resumed:
/// the runtime then reports it as usual.
fn answer<K: Respond<R>, R, E>(
    outcome: std::thread::Result<Result<R, E>>,
) -> Result<K::Response, E> {
    match outcome {
        Ok(result) => result.map(K::answer),
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
/// `extra` attributes go on the span as it ends.
pub(super) fn end_root(cx: &Context, ended: Ended<'_>, status: Option<u16>, extra: &[KeyValue]) {
    let mut span = cx.span();
    let recorded = cx.get::<RootOutcome>().and_then(RootOutcome::take);
    let failure = match ended {
        Ended::Answered => recorded.or_else(|| status.and_then(Failure::http)),
        Ended::Failed => Some(match recorded {
            Some(failure) if failure.class == ErrorClass::Service => failure,
            Some(failure) => Failure::service(failure.code, failure.message),
            None => Failure::service(HANDLER_ERROR, None),
        }),
        Ended::Panicked(panic) => Some(Failure::panic(panic)),
        Ended::TimedOut => Some(Failure::service(
            TIMED_OUT,
            Some(
                "the handler was still running at the invocation's deadline less the flush budget"
                    .to_owned(),
            ),
        )),
    };
    span.set_attributes(extra.iter().cloned());
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
