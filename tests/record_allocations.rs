//! Recording a custom metric allocates nothing once its value combination
//! has been seen: counted by a global allocator that tallies this thread's
//! allocations, around a thousand records through the typed handles.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use opentelemetry_sdk::metrics::{InMemoryMetricExporterBuilder, Temporality};
use perfmon_lambda::{Catalog, PerformanceMonitor, Telemetry};

struct Tally;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: delegates to the system allocator; the tally is a thread-local
// cell, which allocates nothing.
unsafe impl GlobalAlloc for Tally {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Tally = Tally;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

const CATALOG: &str = r#"{"version": 1, "namespace": "Orders",
  "operations": [{"name": "checkout", "span_kind": "internal",
    "thresholds": {"duration_ms": 800, "memory_bytes": 67108864, "error_rate_percent": 1}}],
  "metrics": [
    {"name": "OrdersPlaced", "unit": "Count", "instrument": "counter", "operation": "checkout",
     "dimensions": [{"name": "PaymentMethod", "values": ["card", "paypal"]}]},
    {"name": "Refunds", "unit": "Count", "instrument": "counter",
     "dimensions": [{"name": "Merchant", "max_values": 2}]},
    {"name": "OrderValue", "unit": "None", "instrument": "histogram", "operation": "checkout"}
  ]}"#;

#[test]
fn recording_through_a_handle_allocates_nothing() {
    let exporter = InMemoryMetricExporterBuilder::new()
        .with_temporality(Temporality::Delta)
        .build();
    let telemetry = Telemetry::builder()
        .with_catalog(Catalog::from_json(CATALOG).unwrap())
        .with_metric_exporter(exporter.clone())
        .with_traces_exporter(perfmon_lambda::ExporterKind::None)
        .build()
        .unwrap();
    let monitor = PerformanceMonitor::new(&telemetry);
    let orders = monitor.counter::<1>("OrdersPlaced").unwrap();
    let refunds = monitor.counter::<1>("Refunds").unwrap();
    let value = monitor.histogram::<0>("OrderValue").unwrap();
    let record = |i: u32| {
        orders.add(1, [["card", "paypal", "cash"][i as usize % 3]]);
        refunds.add(1, [["acme", "globex", "initech"][i as usize % 3]]);
        value.record(f64::from(i % 500) + 0.5, []);
    };
    // A first round: each combination's attribute set and the SDK's
    // series are built, the histogram's buckets span the values, and the
    // overflow warning is logged.
    for i in 0..1000 {
        record(i);
    }
    let before = allocations();
    for i in 0..1000 {
        record(i);
    }
    let allocated = allocations() - before;
    assert_eq!(allocated, 0, "{allocated} allocations in 3000 records");
    assert_eq!(
        monitor.dimension_overflows(),
        2 * 2 * 333,
        "cash and initech overflow"
    );
    telemetry
        .force_flush(std::time::Duration::from_secs(5))
        .unwrap();
    assert!(!exporter.get_finished_metrics().unwrap().is_empty());
}
