//! [`FlushLayer`]: the runtime-level layer that flushes after the response
//! has been posted.
//!
//! Why a runtime layer rather than an internal extension: `lambda_runtime`
//! posts the response inside its own innermost services, and a layer added
//! with [`Runtime::layer`](lambda_runtime::Runtime::layer) wraps them, so
//! its future resumes right after the post. The runtime asks for the next
//! event only when that future ends, which is exactly the guarantee
//! `after-response` needs: the caller has its answer, and the next
//! invocation waits for the flush (or its budget). An extension would give
//! the same ordering only through a second HTTP loop and a handshake with
//! the handler on every invocation.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::LambdaInvocation;

use super::flusher::Flusher;

/// Wraps the runtime's service (`Runtime::layer`); see the module docs.
/// Made by [`PerformanceLayer::flush_layer`](super::PerformanceLayer::flush_layer).
#[derive(Debug, Clone)]
pub struct FlushLayer {
    pub(super) flusher: Arc<Flusher>,
}

impl<S> Layer<S> for FlushLayer {
    type Service = FlushService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        self.flusher.flush_after_response();
        FlushService {
            inner,
            flusher: self.flusher.clone(),
        }
    }
}

/// The service [`FlushLayer`] produces.
#[derive(Debug, Clone)]
pub struct FlushService<S> {
    inner: S,
    flusher: Arc<Flusher>,
}

impl<S> Service<LambdaInvocation> for FlushService<S>
where
    S: Service<LambdaInvocation, Response = ()>,
    S::Error: Unpin,
{
    type Response = ();
    type Error = S::Error;
    type Future = FlushFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, invocation: LambdaInvocation) -> Self::Future {
        let deadline_ms = invocation.context.deadline;
        FlushFuture {
            state: State::Posting(Box::pin(self.inner.call(invocation))),
            deadline_ms,
            flusher: self.flusher.clone(),
        }
    }
}

/// The future [`FlushService`] returns: the runtime's own (which posts the
/// response, the error, or the panic's report), then the flush.
pub struct FlushFuture<F: Future> {
    state: State<F>,
    deadline_ms: u64,
    flusher: Arc<Flusher>,
}

enum State<F: Future> {
    Posting(Pin<Box<F>>),
    Flushing(tokio::task::JoinHandle<()>, Option<F::Output>),
    Done,
}

impl<F, E> Future for FlushFuture<F>
where
    F: Future<Output = Result<(), E>>,
    E: Unpin,
{
    type Output = Result<(), E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        loop {
            match &mut this.state {
                State::Posting(posting) => {
                    let Poll::Ready(result) = posting.as_mut().poll(task) else {
                        return Poll::Pending;
                    };
                    match this.flusher.response_posted(this.deadline_ms) {
                        Some(flush) => this.state = State::Flushing(flush, Some(result)),
                        None => {
                            this.state = State::Done;
                            return Poll::Ready(result);
                        }
                    }
                }
                State::Flushing(flush, result) => {
                    if Pin::new(flush).poll(task).is_pending() {
                        return Poll::Pending;
                    }
                    let result = result.take().expect("the result is taken once");
                    this.state = State::Done;
                    return Poll::Ready(result);
                }
                State::Done => panic!("FlushFuture polled after completion"),
            }
        }
    }
}
