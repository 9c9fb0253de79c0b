//! [`RouteFuture`]: runs the handler's future in its operation's context,
//! then completes the operation with the response's status, or as a
//! service error when the handler failed or panicked.

use std::future::Future;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

use axum::http::Response;
use opentelemetry::context::WithContext;

use crate::monitor::OperationMonitor;

pin_project_lite::pin_project! {
    /// The future [`RouteService`](super::RouteService) returns.
    pub struct RouteFuture<F> {
        #[pin]
        inner: WithContext<F>,
        operation: Option<OperationMonitor>,
    }
}

impl<F> RouteFuture<F> {
    pub(super) fn new(inner: WithContext<F>, operation: OperationMonitor) -> Self {
        RouteFuture {
            inner,
            operation: Some(operation),
        }
    }
}

impl<F, B, E> Future for RouteFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let result = match catch_unwind(AssertUnwindSafe(|| inner.poll(task))) {
            Ok(Poll::Pending) => return Poll::Pending,
            Ok(Poll::Ready(result)) => result,
            Err(panic) => {
                if let Some(operation) = this.operation.take() {
                    operation.fail_service(Some(panic.as_ref()));
                }
                resume_unwind(panic)
            }
        };
        if let Some(operation) = this.operation.take() {
            match &result {
                Ok(response) => operation.complete_http(response.status().as_u16(), []),
                Err(_) => operation.fail_service(None),
            }
        }
        Poll::Ready(result)
    }
}
