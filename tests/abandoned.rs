//! A monitor dropped without `complete` still ends its span, as an error
//! `abandoned`, and is counted.

use perfmon_testkit as common;

use common::{dims, Value};
use opentelemetry::trace::Status;
use perfmon_lambda::ABANDONED;

#[test]
fn a_dropped_monitor_ends_its_span_as_abandoned() {
    let t = common::telemetry();
    {
        let _op = t.monitor.start(common::op::WEBSOCKET_CONVERSATION, []);
        // e.g. a handler future cancelled by a timeout
    }
    let span = t.span(common::op::WEBSOCKET_CONVERSATION);
    assert_eq!(span.status, Status::error(ABANDONED));
    let errors = t.points_named("Errors");
    assert_eq!(
        errors[0].attributes,
        dims(&[
            ("Handler", common::op::WEBSOCKET_CONVERSATION),
            ("Environment", "test"),
            ("ErrorType", ABANDONED),
        ])
    );
    assert_eq!(errors[0].value, Value::Sum(1));
    assert_eq!(t.points_named("Invocations")[0].value, Value::Sum(1));
}

#[tokio::test]
async fn a_cancelled_future_abandons_its_operation() {
    let t = common::telemetry();
    let monitor = t.monitor.clone();
    let work = async move {
        let op = monitor.start(common::op::CHAT_MESSAGE_PROCESSING, []);
        tokio::time::sleep(std::time::Duration::from_secs(60)).await;
        op.complete(true, []);
    };
    let timed_out = tokio::time::timeout(std::time::Duration::from_millis(10), work).await;
    assert!(timed_out.is_err());
    let span = t.span(common::op::CHAT_MESSAGE_PROCESSING);
    assert_eq!(span.status, Status::error(ABANDONED));
}

#[test]
fn a_completed_monitor_is_not_counted_twice() {
    let t = common::telemetry();
    t.monitor
        .start(common::op::WEBSOCKET_CONNECTION, [])
        .complete(true, []);
    assert_eq!(t.spans().len(), 1);
    assert_eq!(t.points_named("Invocations")[0].value, Value::Sum(1));
    assert!(t.points_named("Errors").is_empty());
}

#[test]
fn child_operations_parent_to_the_operation_context() {
    let t = common::telemetry();
    let mut parent = t.monitor.start(common::op::WEBSOCKET_CONVERSATION, []);
    let cx = parent.context();
    t.monitor
        .start_with_context(common::op::AUTHENTICATION_JWT_VERIFICATION, &cx, [])
        .complete(true, []);
    {
        let _attached = cx.attach();
        t.monitor
            .start(common::op::CHAT_MESSAGE_PROCESSING, [])
            .complete(true, []);
    }
    parent.complete(true, []);
    let root = t.span(common::op::WEBSOCKET_CONVERSATION);
    assert_eq!(
        root.status,
        Status::Unset,
        "a span moved into a context still completes"
    );
    for child in [
        common::op::AUTHENTICATION_JWT_VERIFICATION,
        common::op::CHAT_MESSAGE_PROCESSING,
    ] {
        let span = t.span(child);
        assert_eq!(span.parent_span_id, root.span_context.span_id(), "{child}");
        assert_eq!(span.span_context.trace_id(), root.span_context.trace_id());
    }
}
