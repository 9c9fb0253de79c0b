//! Custom metrics through the catalog's typed handles: lookup errors come
//! at start-up, values outside the declared set fold into the overflow
//! value and are counted, and a bounded key keeps its first values.

use perfmon_testkit as common;

use common::{TestTelemetry, Value};
use perfmon_lambda::catalog::Instrument;
use perfmon_lambda::{Catalog, MetricError};

const CATALOG: &str = r#"{"version": 1, "namespace": "Orders",
  "operations": [{"name": "checkout", "span_kind": "internal",
    "thresholds": {"duration_ms": 800, "memory_bytes": 67108864, "error_rate_percent": 1}}],
  "metrics": [
    {"name": "OrdersPlaced", "unit": "Count", "instrument": "counter", "operation": "checkout",
     "dimensions": [{"name": "PaymentMethod", "values": ["card", "paypal"]}]},
    {"name": "Refunds", "unit": "Count", "instrument": "counter",
     "dimensions": [{"name": "Merchant", "max_values": 2, "overflow": "long-tail"}]},
    {"name": "OrderValue", "unit": "None", "instrument": "histogram", "operation": "checkout"}
  ]}"#;

fn telemetry() -> TestTelemetry {
    TestTelemetry::with_catalog(Catalog::from_json(CATALOG).unwrap())
}

/// `(dimension value of key, sum)` of every point of `metric`.
fn sums(t: &TestTelemetry, metric: &str, key: &str) -> Vec<(String, u64)> {
    let mut out: Vec<_> = t
        .points_named(metric)
        .into_iter()
        .map(|p| match p.value {
            Value::Sum(n) => (p.attributes[key].clone(), n),
            other => panic!("{metric}: {other:?}"),
        })
        .collect();
    out.sort();
    out
}

#[test]
fn lookups_fail_at_start_up_with_a_typed_error() {
    let t = telemetry();
    let m = &t.monitor;
    assert_eq!(
        m.counter::<1>("Nope").unwrap_err(),
        MetricError::NotDeclared {
            name: "Nope".into()
        }
    );
    assert_eq!(
        m.histogram::<1>("OrdersPlaced").unwrap_err(),
        MetricError::WrongInstrument {
            name: "OrdersPlaced".into(),
            declared: Instrument::Counter,
            requested: Instrument::Histogram
        }
    );
    assert_eq!(
        m.counter::<2>("OrdersPlaced").unwrap_err(),
        MetricError::WrongArity {
            name: "OrdersPlaced".into(),
            declared: 1,
            given: 2
        }
    );
    assert!(
        m.counter::<0>("HandlerDuration").is_err(),
        "core metrics are the library's"
    );
}

#[test]
fn undeclared_values_fold_into_the_overflow_value_and_are_counted() {
    let t = telemetry();
    let orders = t.monitor.counter::<1>("OrdersPlaced").unwrap();
    orders.add(2, ["card"]);
    orders.add(1, ["paypal"]);
    orders.add(5, ["user-1234@example.com"]);
    orders.add(1, ["bitcoin"]);
    assert_eq!(
        sums(&t, "OrdersPlaced", "PaymentMethod"),
        [
            ("card".into(), 2),
            ("other".into(), 6),
            ("paypal".into(), 1)
        ]
    );
    assert_eq!(t.monitor.dimension_overflows(), 2);
    let point = &t.points_named("OrdersPlaced")[0];
    let keys: Vec<&str> = point.attributes.keys().map(String::as_str).collect();
    assert_eq!(keys, ["Environment", "Handler", "PaymentMethod"]);
    assert_eq!(point.attributes["Handler"], "checkout");
}

#[test]
fn a_bounded_key_keeps_its_first_values_and_folds_the_rest() {
    let t = telemetry();
    let refunds = t.monitor.counter::<1>("Refunds").unwrap();
    for merchant in ["acme", "globex", "acme", "initech", "umbrella", "globex"] {
        refunds.add(1, [merchant]);
    }
    assert_eq!(
        sums(&t, "Refunds", "Merchant"),
        [
            ("acme".into(), 2),
            ("globex".into(), 2),
            ("long-tail".into(), 2)
        ]
    );
    assert_eq!(t.monitor.dimension_overflows(), 2);
    let keys: Vec<String> = t.points_named("Refunds")[0]
        .attributes
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        keys,
        ["Environment", "Merchant"],
        "no Handler without an operation"
    );
}

#[test]
fn histograms_record_in_the_catalog_unit() {
    let t = telemetry();
    let value = t.monitor.histogram::<0>("OrderValue").unwrap();
    value.record(1250.0, []);
    value.record(750.0, []);
    let points = t.points_named("OrderValue");
    assert_eq!(points.len(), 1);
    assert_eq!(points[0].unit, "");
    assert_eq!(points[0].value, Value::Histogram(2, 2000.0, 750.0, 1250.0));
}

#[test]
fn a_raw_record_on_a_custom_metric_name_still_loses_foreign_keys() {
    let t = telemetry();
    t.telemetry.meter().u64_counter("OrdersPlaced").build().add(
        1,
        &[
            opentelemetry::KeyValue::new("Handler", "checkout"),
            opentelemetry::KeyValue::new("Environment", "test"),
            opentelemetry::KeyValue::new("PaymentMethod", "card"),
            opentelemetry::KeyValue::new("userId", "u-1"),
        ],
    );
    let points = t.points_named("OrdersPlaced");
    assert_eq!(points.len(), 1);
    assert!(!points[0].attributes.contains_key("userId"), "{points:?}");
}
