//! A tower layer for axum (feature `axum`): every request is one monitored
//! operation, named after the route it matched.
//!
//! - The operation is axum's [`MatchedPath`], the route template
//!   (`/orders/{id}`), never the raw path, so that the `Handler` dimension
//!   stays bounded by the routes the application declares. A request that
//!   matches no route is the one operation [`UNMATCHED_ROUTE`].
//! - The response's status is `http.response.status_code`; a 4xx is a
//!   client error and a 5xx a service error, each with the status as its
//!   `ErrorType` (`"404"`), as DESIGN §6 defines the classes. A panic in the
//!   handler is the service error `panic`; the panic then goes on as before
//!   (to `lambda_http`'s runtime, or to the server's connection task).
//! - Under `lambda_http`, with the [`lambda`](crate::lambda) layer, the
//!   operation is INTERNAL under the invocation's root span, which carries
//!   the request's attributes and reports the operation's failure class.
//!   In a plain axum server it is the request's SERVER span, parented to
//!   the W3C (or X-Ray) context of its headers through the pipeline's
//!   propagators, and carries the HTTP server attributes itself.
//! - Handlers record custom metrics through the same
//!   [`PerformanceMonitor`]; spans they start nest under the operation.
//!
//! Add it with [`Router::layer`](axum::Router::layer), so that it runs
//! after routing and sees the matched route:
//!
//! ```
//! use axum::{routing::get, Router};
//! use perfmon_lambda::axum::RouteLayer;
//! use perfmon_lambda::{PerformanceMonitor, Telemetry};
//!
//! let telemetry = Telemetry::builder().with_exporters_disabled().build()?;
//! let monitor = PerformanceMonitor::new(&telemetry);
//! let app: Router = Router::new()
//!     .route("/orders/{id}", get(|| async { "an order" }))
//!     .layer(RouteLayer::new(&telemetry, monitor));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use axum::extract::{MatchedPath, OriginalUri};
use axum::http::{Request, Response};
use opentelemetry::context::FutureExt as _;
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::Context;
use tower_layer::Layer;
use tower_service::Service;

use crate::http_request::{HeaderCarrier, HttpRequest};
use crate::monitor::PerformanceMonitor;
use crate::telemetry::Telemetry;

mod future;

pub use future::RouteFuture;

/// The operation of a request that matched no route.
pub const UNMATCHED_ROUTE: &str = "unmatched_route";

/// Monitors each request of the service it wraps; see the module docs.
#[derive(Debug, Clone)]
pub struct RouteLayer {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    monitor: PerformanceMonitor,
    propagator: TextMapCompositePropagator,
}

impl RouteLayer {
    /// Operations on `monitor`; a request's incoming context is read with
    /// `telemetry`'s propagators (`OTEL_PROPAGATORS`).
    pub fn new(telemetry: &Telemetry, monitor: PerformanceMonitor) -> Self {
        RouteLayer {
            shared: Arc::new(Shared {
                monitor,
                propagator: telemetry.propagator(),
            }),
        }
    }
}

impl<S> Layer<S> for RouteLayer {
    type Service = RouteService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RouteService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service [`RouteLayer`] produces.
#[derive(Debug, Clone)]
pub struct RouteService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B, RB> Service<Request<B>> for RouteService<S>
where
    S: Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<RB>;
    type Error = S::Error;
    type Future = RouteFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let current = Context::current();
        let mut attributes = Vec::with_capacity(10);
        let described = HttpRequest {
            method: Some(request.method().as_str()),
            route,
            ..HttpRequest::default()
        };
        let shared = &self.shared;
        let operation = route.unwrap_or(UNMATCHED_ROUTE);
        let mut operation = if current.has_active_span() {
            // Under the Lambda layer's root (or any span of the
            // application's): that span describes the request.
            described.attributes(&mut attributes);
            shared
                .monitor
                .start_request(operation, &current, attributes)
        } else {
            let headers = request.headers();
            let parent = shared
                .propagator
                .extract_with_context(&current, &HeaderCarrier(headers));
            // A nested router sees its own part of the path.
            let uri = request
                .extensions()
                .get::<OriginalUri>()
                .map_or(request.uri(), |original| &original.0);
            HttpRequest {
                scheme: uri.scheme_str(),
                path: Some(uri.path()),
                ..described
            }
            .or(HttpRequest::from_headers(headers))
            .or(HttpRequest {
                scheme: Some("http"),
                host: uri.host(),
                ..HttpRequest::default()
            })
            .attributes(&mut attributes);
            shared.monitor.start_request(operation, &parent, attributes)
        };
        let cx = operation.context();
        let call = {
            let _current = cx.clone().attach();
            catch_unwind(AssertUnwindSafe(|| self.inner.call(request)))
        };
        match call {
            Ok(future) => RouteFuture::new(future.with_context(cx), operation),
            Err(panic) => {
                operation.fail_service(Some(panic.as_ref()));
                resume_unwind(panic)
            }
        }
    }
}
