//! One monitored operation, three ways, in one run:
//!
//! - `perfmon`: `start` + `complete` (span, HandlerDuration, MemoryUsage,
//!   Invocations, thresholds, a memory sample);
//! - `raw_sdk`: the same span and instruments written by hand against the
//!   OTel SDK;
//! - `tracing`: the same through `tracing` + `tracing-opentelemetry`.
//!
//! All three share one pipeline (X-Ray ids, privacy processor, batch
//! processor, catalog views) whose exporters discard, so only the recording
//! path is measured. Reproduce with
//! `taskset -c 1 cargo bench --bench operation`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{Span as _, SpanKind, Status, Tracer as _};
use opentelemetry::KeyValue;
use perfmon_lambda::{CountingAllocator, PerformanceMonitor};
use tracing_subscriber::layer::SubscriberExt;

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

#[path = "support/discard.rs"]
mod discard;
use discard::pipeline;

const OPERATION: &str = "websocket_conversation";

fn start_attributes() -> [KeyValue; 4] {
    [
        KeyValue::new("app.connection.id", "L0SM9cOFvHcCIhw="),
        KeyValue::new("app.event_type", "MESSAGE"),
        KeyValue::new("app.route_key", "$default"),
        KeyValue::new("app.correlation_id", "c0ffee"),
    ]
}

fn operation(c: &mut Criterion) {
    let telemetry = pipeline();
    let mut group = c.benchmark_group("operation");

    let monitor = PerformanceMonitor::new(&telemetry);
    group.bench_function("perfmon", |b| {
        b.iter(|| {
            monitor
                .start(OPERATION, start_attributes())
                .complete(true, []);
        })
    });

    let tracer = telemetry.tracer();
    let meter = telemetry.meter();
    let duration = meter
        .f64_histogram("HandlerDuration")
        .with_unit("ms")
        .build();
    let memory = meter.u64_histogram("MemoryUsage").with_unit("By").build();
    let invocations = meter.u64_counter("Invocations").with_unit("1").build();
    let base = [
        KeyValue::new("Handler", OPERATION),
        KeyValue::new("Environment", "bench"),
    ];
    group.bench_function("raw_sdk", |b| {
        b.iter(|| {
            let started = Instant::now();
            let mut span = tracer
                .span_builder(OPERATION)
                .with_kind(SpanKind::Server)
                .with_attributes(start_attributes())
                .start(&tracer);
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let bytes = CountingAllocator::<std::alloc::System>::live_bytes().unwrap_or(0);
            span.set_attribute(KeyValue::new("perf_handler", OPERATION));
            span.set_attribute(KeyValue::new("perf_outcome", "success"));
            span.set_attribute(KeyValue::new("perf.memory_bytes", bytes as i64));
            span.set_status(Status::Ok);
            span.end();
            duration.record(ms, &base);
            memory.record(bytes, &base);
            invocations.add(1, &base);
        })
    });

    let subscriber = tracing_subscriber::registry()
        .with(tracing_opentelemetry::layer().with_tracer(telemetry.tracer()))
        .with(tracing_opentelemetry::MetricsLayer::new(
            telemetry.meter_provider().clone(),
        ));
    let _default = tracing::subscriber::set_default(subscriber);
    group.bench_function("tracing", |b| {
        b.iter(|| {
            let started = Instant::now();
            let span = tracing::info_span!(
                "websocket_conversation",
                otel.kind = "server",
                app.connection.id = "L0SM9cOFvHcCIhw=",
                app.event_type = "MESSAGE",
                app.route_key = "$default",
                app.correlation_id = "c0ffee",
                otel.status_code = "OK",
                perf_handler = OPERATION,
                perf_outcome = "success",
                perf.memory_bytes = tracing::field::Empty,
            );
            let entered = span.enter();
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            let bytes = CountingAllocator::<std::alloc::System>::live_bytes().unwrap_or(0);
            span.record("perf.memory_bytes", bytes);
            tracing::info!(
                histogram.HandlerDuration = ms,
                histogram.MemoryUsage = bytes,
                monotonic_counter.Invocations = 1_u64,
                Handler = OPERATION,
                Environment = "bench",
            );
            drop(entered);
            drop(span);
        })
    });
    group.finish();
}

/// The candidate sources of `MemoryUsage`.
fn memory_sources(c: &mut Criterion) {
    let mut group = c.benchmark_group("memory");
    group.bench_function("statm_kept_open", |b| {
        b.iter(|| black_box(perfmon_lambda::read_resident_bytes()))
    });
    group.bench_function("counting_allocator", |b| {
        b.iter(|| black_box(CountingAllocator::<std::alloc::System>::live_bytes()))
    });
    group.bench_function("getrusage_peak", |b| {
        b.iter(|| {
            let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
            // SAFETY: getrusage writes a rusage into the pointer.
            unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
            black_box(unsafe { usage.assume_init() }.ru_maxrss)
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = operation, memory_sources
}
criterion_main!(benches);
