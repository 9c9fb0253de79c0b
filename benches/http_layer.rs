//! One HTTP request through an axum router, three ways, in one run, on a
//! trivial handler (`GET /orders/{id}`):
//!
//! - `bare`: axum alone, the baseline;
//! - `trace_layer`: tower-http's `TraceLayer::new_for_http()` with
//!   `tracing-opentelemetry` on the same tracer, what a team would
//!   otherwise write: one span per request, its default events;
//! - `perfmon`: perfmon's `RouteLayer`: one operation per request (its
//!   SERVER span with the HTTP attributes, `HandlerDuration`,
//!   `MemoryUsage`, `Invocations`, the status and its error class).
//!
//! Both traced ways share one pipeline (X-Ray ids, privacy processor,
//! batch processor) whose exporters discard, so only the recording path is
//! measured. Reproduce with `taskset -c 1 cargo bench --bench http_layer
//! --features axum`; compare medians within one run.

use std::hint::black_box;
use std::time::Duration;

use axum::body::Body;
use axum::extract::Path;
use axum::http::Request;
use axum::routing::get;
use axum::Router;
use criterion::{criterion_group, criterion_main, Criterion};
use futures_executor::block_on;
use perfmon_lambda::axum::RouteLayer;
use perfmon_lambda::PerformanceMonitor;
use tower::ServiceExt;
use tower_http::trace::TraceLayer;
use tracing_subscriber::layer::SubscriberExt;

#[path = "support/discard.rs"]
mod discard;
use discard::pipeline;

fn router() -> Router {
    Router::new().route(
        "/orders/{id}",
        get(|Path(id): Path<u32>| async move { black_box(id).to_string() }),
    )
}

fn request() -> Request<Body> {
    Request::get("/orders/42")
        .header("host", "shop.example.com")
        .header("user-agent", "bench/1.0")
        .body(Body::empty())
        .unwrap()
}

fn serve(app: &Router) {
    let response = block_on(app.clone().oneshot(request())).unwrap();
    assert!(response.status().is_success());
    black_box(response);
}

fn http_layer(c: &mut Criterion) {
    let telemetry = pipeline();
    let mut group = c.benchmark_group("http_request");

    let bare = router();
    group.bench_function("bare", |b| b.iter(|| serve(&bare)));

    let traced = router().layer(TraceLayer::new_for_http());
    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(telemetry.tracer()));
    tracing::subscriber::with_default(subscriber, || {
        group.bench_function("trace_layer", |b| b.iter(|| serve(&traced)));
    });

    let monitor = PerformanceMonitor::new(&telemetry);
    let monitored = router().layer(RouteLayer::new(&telemetry, monitor));
    group.bench_function("perfmon", |b| b.iter(|| serve(&monitored)));
    group.finish();
    let _ = telemetry.shutdown(Duration::from_secs(5));
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(8));
    targets = http_layer
}
criterion_main!(benches);
