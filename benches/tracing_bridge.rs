//! What the `tracing` bridge and the log lines cost, in one run:
//!
//! - `child/instrument`: an operation with one `#[instrument]` child, the
//!   bridge installed;
//! - `child/perfmon`: the same operation with its child started through
//!   perfmon's API (`start_with_context`, a child operation);
//! - `child/none`: the operation alone, the baseline of both;
//! - `log_line/json` and `log_line/text`: one `tracing::info!` with two
//!   fields inside an operation, printed by the log layer (to a sink, so
//!   the terminal is not measured).
//!
//! The pipeline's exporters discard, so only the recording path is
//! measured. Reproduce with `taskset -c 1 cargo bench --bench tracing_bridge`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::ResourceMetrics;
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use perfmon::tracing::{LogFormat, LogLayer};
use perfmon::{Catalog, PerformanceMonitor, Telemetry};
use tracing_subscriber::layer::SubscriberExt;

#[derive(Debug)]
struct DiscardSpans;
impl SpanExporter for DiscardSpans {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        black_box(batch);
        Ok(())
    }
}

struct DiscardMetrics;
impl PushMetricExporter for DiscardMetrics {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        black_box(metrics);
        Ok(())
    }
    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }
    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }
    fn temporality(&self) -> Temporality {
        Temporality::Delta
    }
}

fn pipeline() -> Telemetry {
    Telemetry::builder()
        .with_catalog(
            Catalog::from_path(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/dashboards/catalog.json"
            ))
            .unwrap(),
        )
        .with_environment("bench")
        .with_span_exporter(DiscardSpans)
        .with_metric_exporter(DiscardMetrics)
        .with_metric_export_interval(Duration::from_secs(1))
        .build()
        .unwrap()
}

const OPERATION: &str = "websocket_conversation";
const CHILD: &str = "chat_message_processing";

#[tracing::instrument]
fn validate(bytes: usize) -> bool {
    black_box(bytes) > 0
}

fn child(c: &mut Criterion) {
    let telemetry = pipeline();
    let monitor = PerformanceMonitor::new(&telemetry);
    let subscriber = tracing_subscriber::registry().with(perfmon::tracing::otel_layer(&telemetry));
    let _default = tracing::subscriber::set_default(subscriber);
    let mut group = c.benchmark_group("child");
    group.bench_function("instrument", |b| {
        b.iter(|| {
            let mut op = monitor.start(OPERATION, []);
            black_box(op.in_scope(|| validate(42)));
            op.complete(true, []);
        })
    });
    group.bench_function("perfmon", |b| {
        b.iter(|| {
            let mut op = monitor.start(OPERATION, []);
            monitor
                .start_with_context(CHILD, &op.context(), [])
                .complete(true, []);
            op.complete(true, []);
        })
    });
    group.bench_function("none", |b| {
        b.iter(|| {
            let mut op = monitor.start(OPERATION, []);
            black_box(op.context());
            op.complete(true, []);
        })
    });
    group.finish();
}

fn log_line(c: &mut Criterion) {
    let telemetry = pipeline();
    let monitor = PerformanceMonitor::new(&telemetry);
    let mut group = c.benchmark_group("log_line");
    for (name, format) in [("json", LogFormat::Json), ("text", LogFormat::Text)] {
        let subscriber = tracing_subscriber::registry().with(
            LogLayer::new(&telemetry)
                .with_format(format)
                .with_writer(std::io::sink())
                .with_function_name("ws-conversation"),
        );
        let _default = tracing::subscriber::set_default(subscriber);
        let mut op = monitor.start(OPERATION, []);
        let _current = op.context().attach();
        group.bench_function(name, |b| {
            b.iter(|| {
                tracing::info!(
                    reason = "INVALID_TOKEN",
                    attempt = 2_u64,
                    "authentication failed"
                )
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = child, log_line
}
criterion_main!(benches);
