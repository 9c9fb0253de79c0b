//! A breached threshold adds a `perf.threshold_exceeded` span event and
//! counts `ThresholdBreaches{Metric}`.

use perfmon_testkit as common;

use std::time::Duration;

use common::{dims, TestTelemetry, Value};
use opentelemetry::Value as OtelValue;
use perfmon_lambda::Catalog;

/// The embedded catalog with the chat operation's limits lowered.
fn catalog_with_chat_limits(duration_ms: f64, memory_bytes: u64) -> Catalog {
    let mut catalog = common::chat_catalog();
    let chat = catalog
        .operations
        .iter_mut()
        .find(|o| o.name == common::op::CHAT_MESSAGE_PROCESSING)
        .unwrap();
    chat.thresholds.duration_ms = duration_ms;
    chat.thresholds.memory_bytes = memory_bytes;
    Catalog::from_json(&serde_json::to_string(&catalog).unwrap()).unwrap()
}

fn event_attr(event: &opentelemetry::trace::Event, key: &str) -> OtelValue {
    event
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .unwrap_or_else(|| panic!("event has {key}"))
        .value
        .clone()
}

#[test]
fn a_slow_operation_records_the_breach_event_and_count() {
    let t = TestTelemetry::with_catalog(catalog_with_chat_limits(5.0, u64::MAX / 2));
    let op = t.monitor.start(common::op::CHAT_MESSAGE_PROCESSING, []);
    std::thread::sleep(Duration::from_millis(20));
    op.complete(true, []);

    let span = t.span(common::op::CHAT_MESSAGE_PROCESSING);
    let events: Vec<_> = span.events.iter().collect();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].name, "perf.threshold_exceeded");
    assert_eq!(
        event_attr(events[0], "metric"),
        OtelValue::from("HandlerDuration")
    );
    assert_eq!(event_attr(events[0], "limit"), OtelValue::F64(5.0));
    let OtelValue::F64(value) = event_attr(events[0], "value") else {
        panic!("value is a number")
    };
    assert!(value >= 20.0, "{value}");

    let breaches = t.points_named("ThresholdBreaches");
    assert_eq!(breaches.len(), 1);
    assert_eq!(
        breaches[0].attributes,
        dims(&[
            ("Handler", common::op::CHAT_MESSAGE_PROCESSING),
            ("Environment", "test"),
            ("Metric", "HandlerDuration"),
        ])
    );
    assert_eq!(breaches[0].value, Value::Sum(1));
    assert_eq!(breaches[0].unit, "1");
}

#[test]
fn memory_above_the_limit_is_a_breach() {
    let t = TestTelemetry::with_catalog(catalog_with_chat_limits(60_000.0, 1));
    t.monitor
        .start(common::op::CHAT_MESSAGE_PROCESSING, [])
        .complete(true, []);
    let breaches = t.points_named("ThresholdBreaches");
    assert_eq!(breaches.len(), 1);
    assert_eq!(breaches[0].attributes["Metric"], "MemoryUsage");
    let span = t.span(common::op::CHAT_MESSAGE_PROCESSING);
    assert_eq!(
        event_attr(&span.events.events[0], "limit"),
        OtelValue::F64(1.0)
    );
}

#[test]
fn an_error_rate_above_the_limit_is_a_breach_once_judged() {
    let t = common::telemetry();
    // websocket_connection allows 2 %: 19 successes, then a failure is 5 %.
    for _ in 0..19 {
        t.monitor
            .start(common::op::WEBSOCKET_CONNECTION, [])
            .complete(true, []);
    }
    assert!(t.points_named("ThresholdBreaches").is_empty());
    t.monitor
        .start(common::op::WEBSOCKET_CONNECTION, [])
        .fail("DATABASE_ERROR", []);
    let breaches = t.points_named("ThresholdBreaches");
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert_eq!(breaches[0].attributes["Metric"], "ErrorRate");
    let failed = t
        .spans()
        .into_iter()
        .find(|s| !s.events.events.is_empty())
        .expect("the failing span carries the event");
    assert_eq!(
        event_attr(&failed.events.events[0], "value"),
        OtelValue::F64(5.0)
    );
}

#[test]
fn unlisted_operations_have_no_thresholds_but_full_metrics() {
    let t = common::telemetry();
    let op = t.monitor.start("cache_refresh", []);
    std::thread::sleep(Duration::from_millis(2));
    op.complete(true, []);
    let span = t.span("cache_refresh");
    assert!(span.events.is_empty());
    assert_eq!(
        common::kind_name(&span.span_kind),
        "internal",
        "unlisted operations are INTERNAL"
    );
    let invocations = t.points_named("Invocations");
    assert_eq!(invocations[0].attributes["Handler"], "cache_refresh");
}

#[test]
fn unlisted_operation_names_are_bounded_in_metrics_not_in_spans() {
    let t = common::telemetry();
    for i in 0..perfmon_lambda::MAX_UNLISTED_OPERATIONS + 5 {
        t.monitor.start(&format!("op_{i}"), []).complete(true, []);
    }
    let handlers: std::collections::BTreeSet<_> = t
        .points_named("Invocations")
        .into_iter()
        .map(|p| p.attributes["Handler"].clone())
        .collect();
    assert_eq!(handlers.len(), perfmon_lambda::MAX_UNLISTED_OPERATIONS + 1);
    assert!(handlers.contains(perfmon_lambda::OVERFLOW_OPERATION));
    let last = format!("op_{}", perfmon_lambda::MAX_UNLISTED_OPERATIONS + 4);
    assert_eq!(t.span(&last).name, last, "the span keeps its own name");
}

#[test]
fn breaches_of_an_unsampled_operation_are_counted_in_one_series() {
    let t = TestTelemetry::with_catalog(catalog_with_chat_limits(60_000.0, 1));
    let unsampled = common::remote_parent("5759e988bd862e3fe1be46a994272793", false);
    for _ in 0..3 {
        t.monitor
            .start_with_context(common::op::CHAT_MESSAGE_PROCESSING, &unsampled, [])
            .complete(true, []);
    }
    assert!(t.spans().is_empty(), "no span, and so no event");
    let breaches = t.points_named("ThresholdBreaches");
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert_eq!(breaches[0].attributes["Metric"], "MemoryUsage");
    assert_eq!(breaches[0].value, Value::Sum(3));
    // After a flush, the same series counts on.
    t.monitor
        .start(common::op::CHAT_MESSAGE_PROCESSING, [])
        .complete(true, []);
    let breaches = t.points_named("ThresholdBreaches");
    assert_eq!(breaches.len(), 1, "{breaches:?}");
    assert_eq!(breaches[0].value, Value::Sum(4));
    let span = t.span(common::op::CHAT_MESSAGE_PROCESSING);
    assert_eq!(span.events.len(), 1, "a sampled span carries the event");
    // A flush without a breach exports no point for the bound series (no
    // zero on every later line).
    let exports = t.points_per_export("ThresholdBreaches").len();
    t.monitor
        .start(common::op::WEBSOCKET_CONNECTION, [])
        .complete(true, []);
    let per_export = t.points_per_export("ThresholdBreaches");
    assert_eq!(per_export.len(), exports + 1, "{per_export:?}");
    assert_eq!(per_export.last(), Some(&0), "{per_export:?}");
}
