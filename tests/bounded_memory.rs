//! A million monitored operations with the exporter down leave resident
//! memory within a few MB of where it settled: the span queue is bounded and
//! drops (counted) instead of growing, metric points aggregate in place, and
//! no thread is started per operation.

use std::time::Duration;

use opentelemetry::KeyValue;
use perfmon_lambda::{ExporterKind, PerformanceMonitor, Telemetry};

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

#[test]
fn a_million_operations_with_the_collector_down_stay_bounded() {
    // A port nothing listens on: every export fails at once.
    let down = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let telemetry = Telemetry::builder()
        .with_traces_exporter(ExporterKind::Otlp)
        .with_metrics_exporter(ExporterKind::Otlp)
        .with_otlp_endpoint(format!("http://{down}"))
        .with_memory_source(perfmon_lambda::MemorySource::Resident)
        .build()
        .unwrap();
    let monitor = PerformanceMonitor::new(&telemetry);
    let run = |n: usize| {
        for i in 0..n {
            let op = monitor.start(
                "websocket_conversation",
                [KeyValue::new(
                    "app.connection.id",
                    format!("conn-{}", i % 1000),
                )],
            );
            if i % 10 == 0 {
                op.fail("INVALID_MESSAGE_FORMAT", []);
            } else {
                op.complete(true, []);
            }
            if i % 50_000 == 0 {
                let _ = telemetry.force_flush(Duration::from_millis(200));
            }
        }
    };
    run(100_000);
    let settled = perfmon_lambda::read_resident_bytes().unwrap();
    let settled_threads = threads();
    run(1_000_000);
    let after = perfmon_lambda::read_resident_bytes().unwrap();
    let grown = after.saturating_sub(settled) as f64 / 1024.0 / 1024.0;
    eprintln!(
        "resident {:.1} MiB -> {:.1} MiB (+{grown:.2} MiB)",
        settled as f64 / 1048576.0,
        after as f64 / 1048576.0
    );
    assert!(
        grown < 8.0,
        "resident memory grew {grown:.2} MiB over a million operations"
    );
    assert_eq!(threads(), settled_threads, "no thread leaks");
    let stats = telemetry.stats();
    assert!(
        stats.flush_failures + stats.flush_timeouts > 0,
        "the failures are counted: {stats:?}"
    );
}
