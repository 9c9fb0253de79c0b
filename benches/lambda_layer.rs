//! One invocation through the Lambda layer, two ways, in one run, on a
//! trivial handler with one operation that yields once (as any handler
//! that awaits I/O does, so that the layer's timer is armed):
//!
//! - `no_deadline`: a deadline that is not an epoch (the local
//!   emulator's): no `Deadline` in the context, no timer;
//! - `deadline`: an epoch deadline ten minutes ahead, as on Lambda: the
//!   `Deadline` in the context and the timer that ends a hung invocation.
//!
//! The difference is the cost of the hung-call guard. Exporters discard and
//! the adaptive flush mode (one hour) keeps the flush out of the loop, so
//! only the layer's own path is measured. Reproduce with
//! `taskset -c 1 cargo bench --bench lambda_layer --features lambda`;
//! compare medians within one run.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use lambda_runtime::tower::{Layer, Service};
use lambda_runtime::{service_fn, LambdaEvent};
use perfmon_lambda::lambda::{FlushMode, PerformanceLayer};
use perfmon_lambda::PerformanceMonitor;

#[path = "support/discard.rs"]
mod discard;
use discard::pipeline;

fn lambda_layer(c: &mut Criterion) {
    let telemetry = Arc::new(pipeline());
    let monitor = PerformanceMonitor::new(&telemetry);
    let handler_monitor = monitor.clone();
    let handler = service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let op = handler_monitor.start("websocket_conversation", []);
        async move {
            tokio::task::yield_now().await;
            op.complete(true, []);
            Ok::<_, String>(black_box(event.payload))
        }
    });
    let mut service = PerformanceLayer::new(telemetry.clone(), monitor, Duration::from_millis(500))
        .with_flush_mode(FlushMode::Adaptive {
            interval: Duration::from_secs(3600),
        })
        .layer(handler);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let ahead = perfmon_lambda::clock::now_ms() as u64 + 600_000;
    let mut group = c.benchmark_group("lambda_invocation");
    for (name, deadline) in [("no_deadline", 600_000), ("deadline", ahead)] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let mut context = lambda_runtime::Context::default();
                context.request_id = "req-bench".into();
                context.deadline = deadline;
                let event = LambdaEvent::new(serde_json::Value::Null, context);
                black_box(runtime.block_on(service.call(event)).unwrap());
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lambda_layer);
criterion_main!(benches);
