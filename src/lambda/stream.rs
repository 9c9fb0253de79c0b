//! Streamed responses (`lambda_runtime::streaming`): the invocation's root
//! span ends when the stream ends, not when the handler returns it.
//!
//! [`StreamingLayer`] wraps a handler that answers a
//! [`StreamResponse`]; the runtime gets the same response with its stream
//! wrapped in a [`MonitoredStream`]. As the runtime sends the stream, the
//! wrapper counts the bytes; at its end it ends the root span with
//! `http.response.body.size`, the status of the metadata prelude (for an
//! HTTP request) and any error raised mid-stream, then flushes as the
//! [`FlushMode`](super::FlushMode) says, before the stream's end reaches
//! the runtime in the `sync` mode. A stream dropped before its end (the
//! client went away) ends the span as [`STREAM_DROPPED`]. A stream still
//! running at the invocation's [`Deadline`](crate::Deadline) ends it then
//! as [`TIMED_OUT`](super::TIMED_OUT), with the bytes sent so far, and
//! flushes; what ends after is flushed at the stream's end.
//!
//! An operation the handler moves into the stream and completes at its end
//! measures the same interval in `HandlerDuration`.

use std::fmt::Display;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures_core::Stream;
use lambda_runtime::tower::Layer;
use lambda_runtime::StreamResponse;
use opentelemetry::KeyValue;

use super::future::{overtime_passed, Ended, Respond, Root};
use super::{PerformanceService, Shared};
use crate::monitor::{Failure, RootOutcome};

/// `error.type` of an invocation whose stream yielded an error.
pub const STREAM_ERROR: &str = "stream_error";
/// `error.type` of an invocation whose stream was dropped before its end.
pub const STREAM_DROPPED: &str = "stream_dropped";

/// The layer for streaming handlers, from
/// [`PerformanceLayer::streaming`](super::PerformanceLayer::streaming).
#[derive(Debug, Clone)]
pub struct StreamingLayer {
    pub(super) shared: Arc<Shared>,
}

impl<S> Layer<S> for StreamingLayer {
    type Service = PerformanceService<S, Streamed>;

    fn layer(&self, inner: S) -> Self::Service {
        PerformanceService {
            inner,
            shared: self.shared.clone(),
            kind: std::marker::PhantomData,
        }
    }
}

/// A streamed response: the root span ends with the stream.
#[derive(Debug, Clone, Copy)]
pub struct Streamed;

impl<S, D, E> Respond<StreamResponse<S>> for Streamed
where
    S: Stream<Item = Result<D, E>>,
    D: Into<Bytes>,
    E: Display,
{
    type Response = StreamResponse<MonitoredStream<S>>;

    fn status(response: &StreamResponse<S>) -> Option<u16> {
        Some(response.metadata_prelude.status_code.as_u16())
    }

    fn hand_over(
        response: StreamResponse<S>,
        root: Root,
    ) -> Result<Self::Response, (StreamResponse<S>, Root)> {
        let status = Self::status(&response);
        Ok(MonitoredStream::wrap(response, Some(root), status))
    }

    fn answer(response: StreamResponse<S>) -> Self::Response {
        MonitoredStream::wrap(response, None, None)
    }
}

/// A response stream that ends its invocation's root span when it ends;
/// see the module docs.
pub struct MonitoredStream<S> {
    inner: S,
    /// Taken when the span ends.
    root: Option<Root>,
    status: Option<u16>,
    bytes: u64,
    /// The first error the stream raised.
    failure: Option<Failure>,
    /// The `sync` flush the stream's end waits for.
    flush: Option<tokio::task::JoinHandle<()>>,
    /// Fires at the root's overtime, while the stream waits.
    overtime: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The root, its span ended at the overtime: flushed again at the
    /// stream's end.
    late: Option<Root>,
}

impl<S> std::fmt::Debug for MonitoredStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MonitoredStream")
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl<S> MonitoredStream<S> {
    /// `response` with its stream wrapped, ending `root` (if any) with
    /// `status`.
    fn wrap(
        response: StreamResponse<S>,
        root: Option<Root>,
        status: Option<u16>,
    ) -> StreamResponse<Self> {
        StreamResponse {
            metadata_prelude: response.metadata_prelude,
            stream: MonitoredStream {
                inner: response.stream,
                root,
                status,
                bytes: 0,
                failure: None,
                flush: None,
                overtime: None,
                late: None,
            },
        }
    }

    /// What the stream sent, for its root span.
    fn sent(&self) -> [KeyValue; 1] {
        [KeyValue::new(
            crate::attributes::HTTP_RESPONSE_BODY_SIZE,
            self.bytes as i64,
        )]
    }

    /// Ends the root span, if it has not ended, with what the stream sent:
    /// the stream's own failure wins over any an operation recorded.
    fn end(&mut self) -> Option<tokio::task::JoinHandle<()>> {
        let root = self.root.take()?;
        let sent = self.sent();
        let ended = match self.failure.take() {
            Some(failure) => {
                if let Some(outcome) = root.cx.get::<RootOutcome>() {
                    outcome.record(failure);
                }
                Ended::Failed
            }
            None => Ended::Answered,
        };
        root.end(ended, self.status, &sent)
    }
}

impl<S, D, E> Stream for MonitoredStream<S>
where
    S: Stream<Item = Result<D, E>> + Unpin,
    D: Into<Bytes>,
    E: Display,
{
    type Item = Result<Bytes, E>;

    fn poll_next(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(flush) = &mut this.flush {
            if Pin::new(flush).poll(task).is_pending() {
                return Poll::Pending;
            }
            this.flush = None;
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(task) {
            Poll::Pending => {
                let due = this
                    .root
                    .as_ref()
                    .is_some_and(|root| overtime_passed(&mut this.overtime, root, task));
                if let Some(root) = this.root.take_if(|_| due) {
                    root.time_out(this.status, &this.sent());
                    this.late = Some(root);
                }
                Poll::Pending
            }
            Poll::Ready(Some(Ok(chunk))) => {
                let chunk = chunk.into();
                this.bytes += chunk.len() as u64;
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(error))) => {
                if this.failure.is_none() {
                    this.failure = Some(Failure::service(STREAM_ERROR, Some(error.to_string())));
                }
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => match this.end().or_else(|| this.late.take()?.flush_late()) {
                Some(flush) => {
                    this.flush = Some(flush);
                    Pin::new(this).poll_next(task)
                }
                None => Poll::Ready(None),
            },
        }
    }
}

impl<S> Drop for MonitoredStream<S> {
    fn drop(&mut self) {
        if self.root.is_none() {
            return;
        }
        self.failure.get_or_insert_with(|| {
            Failure::service(
                STREAM_DROPPED,
                Some("the response stream was dropped before its end".to_owned()),
            )
        });
        if tokio::runtime::Handle::try_current().is_ok() {
            // The flush, if any, runs on: nothing waits for it.
            drop(self.end());
        } else if let (Some(root), Some(failure)) = (self.root.take(), self.failure.take()) {
            // No runtime to flush on: the next flush exports it.
            root.abandon(failure, &self.sent());
        }
    }
}
