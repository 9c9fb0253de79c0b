//! One custom-metric record through perfmon's typed handle against a raw
//! OTel counter `add` with the same attributes, on the same meter provider,
//! in one run. The handle matches the dimension value against the declared
//! set and records into the series bound to it; the raw `add` hashes its
//! attributes to find the series.

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry::KeyValue;
use perfmon_lambda::{Catalog, PerformanceMonitor, Telemetry};

const CATALOG: &str = r#"{"version": 1, "namespace": "Orders",
  "operations": [{"name": "checkout", "span_kind": "internal",
    "thresholds": {"duration_ms": 800, "memory_bytes": 67108864, "error_rate_percent": 1}}],
  "metrics": [{"name": "OrdersPlaced", "unit": "Count", "instrument": "counter", "operation": "checkout",
    "dimensions": [{"name": "PaymentMethod", "values": ["card", "paypal", "voucher"]}]}]}"#;

fn record(c: &mut Criterion) {
    let telemetry = Telemetry::builder()
        .with_catalog(Catalog::from_json(CATALOG).unwrap())
        .with_environment("bench")
        .with_exporters_disabled()
        .with_metrics_exporter(perfmon_lambda::ExporterKind::Console)
        .with_metric_export_interval(std::time::Duration::from_secs(3600))
        .build()
        .unwrap();
    let monitor = PerformanceMonitor::new(&telemetry);
    let handle = monitor.counter::<1>("OrdersPlaced").unwrap();
    let raw = telemetry
        .meter_provider()
        .meter("bench-raw")
        .u64_counter("RawOrdersPlaced")
        .build();
    let attributes = [
        KeyValue::new("Handler", "checkout"),
        KeyValue::new("Environment", "bench"),
        KeyValue::new("PaymentMethod", "paypal"),
    ];
    let mut group = c.benchmark_group("custom_metric");
    group.bench_function("raw_otel_counter_add", |b| {
        b.iter(|| raw.add(1, std::hint::black_box(&attributes)))
    });
    group.bench_function("perfmon_counter_add", |b| {
        b.iter(|| handle.add(1, [std::hint::black_box("paypal")]))
    });
    group.finish();
}

criterion_group!(benches, record);
criterion_main!(benches);
