//! Every completion variant of the guide's four operations (DESIGN §2)
//! yields the right span and the right metric points.

mod common;

use common::{dims, kind_name, span_attrs, Value};
use opentelemetry::trace::Status;
use opentelemetry::{Array, KeyValue, StringValue};
use perfmon_chat::attributes as a;
use perfmon_chat::names::operation;
use perfmon_lambda::catalog::ErrorClass;

/// How a variant ends.
enum End {
    Ok,
    Fail(&'static str),
}

struct Variant {
    operation: &'static str,
    kind: &'static str,
    start: Vec<KeyValue>,
    end: End,
    attrs: Vec<KeyValue>,
}

/// `code`'s class and span status in the app's catalog, for `operation`.
fn class_of(operation: &str, code: &str) -> (ErrorClass, Option<u16>) {
    let catalog = perfmon_chat::catalog();
    let op = catalog
        .operations
        .iter()
        .find(|o| o.name == operation)
        .unwrap();
    let spec = op
        .errors
        .iter()
        .find(|e| e.code == code)
        .unwrap_or_else(|| panic!("{operation}: {code} is declared"));
    (spec.class, spec.span_status())
}

fn run(v: Variant) {
    let t = common::telemetry();
    let op = t.monitor.start(v.operation, v.start.clone());
    match v.end {
        End::Ok => op.complete(true, v.attrs.clone()),
        End::Fail(code) => op.fail(code, v.attrs.clone()),
    }

    let span = t.span(v.operation);
    assert_eq!(kind_name(&span.span_kind), v.kind, "{}", v.operation);
    let got = span_attrs(&span);
    // Completion attributes override start attributes of the same key.
    let expected: std::collections::BTreeMap<_, _> = v
        .start
        .iter()
        .chain(&v.attrs)
        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect();
    for (key, value) in &expected {
        assert_eq!(
            got.get(key),
            Some(value),
            "{}: attribute {key}",
            v.operation
        );
    }
    assert!(got[a::PERF_MEMORY_BYTES].parse::<u64>().unwrap() > 0);
    let base = dims(&[("Handler", v.operation), ("Environment", "test")]);
    match v.end {
        End::Ok => {
            assert_eq!(span.status, Status::Unset);
            assert!(!got.contains_key(a::ERROR_TYPE));
            assert!(t.points_named("Errors").is_empty(), "no Errors on success");
        }
        End::Fail(code) => {
            assert_eq!(span.status, Status::error(code));
            assert_eq!(got[a::ERROR_TYPE], code);
            // The catalog's class decides the marks X-Ray reads (DESIGN §6).
            let exceptions = span.events.iter().filter(|e| e.name == "exception").count();
            let status = got.get("http.response.status_code");
            match class_of(v.operation, code) {
                (ErrorClass::Client, Some(http)) => {
                    assert!((400..500).contains(&http), "{code}: {http}");
                    assert_eq!(status, Some(&http.to_string()), "{code}");
                    assert_eq!(exceptions, 0, "{code}: a client error has no exception");
                }
                (ErrorClass::Service, http) => {
                    assert_eq!(status, http.map(|h| h.to_string()).as_ref(), "{code}");
                    assert_eq!(exceptions, 1, "{code}: a service error has its exception");
                }
                other => panic!("{code}: {other:?}"),
            }
            let errors = t.points_named("Errors");
            assert_eq!(errors.len(), 1, "{errors:?}");
            let mut with_type = base.clone();
            with_type.insert("ErrorType".into(), code.into());
            assert_eq!(errors[0].attributes, with_type);
            assert_eq!(errors[0].unit, "1");
            assert_eq!(errors[0].value, Value::Sum(1));
        }
    }

    let duration = &t.points_named("HandlerDuration");
    assert_eq!(duration.len(), 1);
    assert_eq!(duration[0].attributes, base);
    assert_eq!(duration[0].unit, "ms");
    let Value::Histogram(count, sum, _, _) = duration[0].value else {
        panic!("HandlerDuration is a histogram")
    };
    assert_eq!(count, 1);
    let span_ms = span
        .end_time
        .duration_since(span.start_time)
        .unwrap()
        .as_secs_f64()
        * 1000.0;
    // One clock for both: the span is exactly as long as the recorded
    // duration (to float rounding), however the scheduler interleaves.
    assert!((sum - span_ms).abs() < 1e-6, "{sum} vs span {span_ms}");

    let memory = &t.points_named("MemoryUsage");
    assert_eq!(memory.len(), 1);
    assert_eq!(
        (memory[0].unit.as_str(), &memory[0].attributes),
        ("By", &base)
    );
    let Value::Histogram(1, bytes, _, _) = memory[0].value else {
        panic!("one MemoryUsage sample")
    };
    assert_eq!(bytes, got[a::PERF_MEMORY_BYTES].parse::<f64>().unwrap());

    let invocations = &t.points_named("Invocations");
    assert_eq!(invocations.len(), 1);
    assert_eq!(invocations[0].attributes, base);
    assert_eq!(invocations[0].value, Value::Sum(1));
    assert!(
        t.points_named("ThresholdBreaches").is_empty(),
        "{:?} {:?}",
        t.points_named("ThresholdBreaches"),
        span.events
    );
}

fn conversation(end: End, attrs: Vec<KeyValue>) -> Variant {
    Variant {
        operation: operation::WEBSOCKET_CONVERSATION,
        kind: "server",
        start: vec![
            KeyValue::new(a::CONNECTION_ID, "L0SM9cOFvHcCIhw="),
            KeyValue::new(a::EVENT_TYPE, "MESSAGE"),
            KeyValue::new(a::ROUTE_KEY, "$default"),
            KeyValue::new(a::CORRELATION_ID, "c0ffee"),
        ],
        end,
        attrs,
    }
}

#[test]
fn conversation_auth() {
    run(conversation(
        End::Ok,
        vec![
            KeyValue::new(a::MESSAGE_TYPE, "auth"),
            KeyValue::new(a::ACTION, "auth"),
            KeyValue::new(a::HAS_TOKEN, true),
        ],
    ));
}

#[test]
fn conversation_message() {
    run(conversation(
        End::Ok,
        vec![
            KeyValue::new(a::MESSAGE_TYPE, "message"),
            KeyValue::new(a::ACTION, "message"),
            KeyValue::new(a::MESSAGE_LENGTH, 42_i64),
            KeyValue::new(a::SESSION_ID, "s-1"),
        ],
    ));
}

#[test]
fn conversation_ping() {
    run(conversation(
        End::Ok,
        vec![
            KeyValue::new(a::MESSAGE_TYPE, "ping"),
            KeyValue::new(a::ACTION, "ping"),
        ],
    ));
}

#[test]
fn conversation_unauthenticated() {
    run(conversation(
        End::Fail("UNAUTHENTICATED_CONNECTION"),
        vec![
            KeyValue::new(a::MESSAGE_TYPE, "message"),
            KeyValue::new(a::ACTION, "message"),
        ],
    ));
}

#[test]
fn conversation_malformed_frame() {
    run(conversation(
        End::Fail("INVALID_MESSAGE_FORMAT"),
        vec![KeyValue::new(a::MESSAGE_TYPE, "unknown")],
    ));
}

fn connection(event: &'static str, end: End, attrs: Vec<KeyValue>) -> Variant {
    Variant {
        operation: operation::WEBSOCKET_CONNECTION,
        kind: "server",
        start: vec![
            KeyValue::new(a::CONNECTION_ID, "L0SM9cOFvHcCIhw="),
            KeyValue::new(a::EVENT_TYPE, event),
            KeyValue::new(a::REQUEST_ID, "L0SM9HgbPHcF4xA="),
        ],
        end,
        attrs,
    }
}

#[test]
fn connection_connect() {
    run(connection(
        "CONNECT",
        End::Ok,
        vec![KeyValue::new(a::EVENT_TYPE, "connect")],
    ));
}

#[test]
fn connection_disconnect() {
    run(connection(
        "DISCONNECT",
        End::Ok,
        vec![KeyValue::new(a::EVENT_TYPE, "disconnect")],
    ));
}

#[test]
fn connection_disconnect_with_cleanup_warning_is_a_success() {
    run(connection(
        "DISCONNECT",
        End::Ok,
        vec![
            KeyValue::new(a::EVENT_TYPE, "disconnect"),
            KeyValue::new(a::WARNING, "cleanup_failed"),
            KeyValue::new(a::ERROR_MESSAGE, "DATABASE_ERROR"),
        ],
    ));
}

#[test]
fn connection_connect_error() {
    run(connection(
        "CONNECT",
        End::Fail("DATABASE_ERROR"),
        vec![
            KeyValue::new(a::EVENT_TYPE, "connect"),
            KeyValue::new(a::ERROR_MESSAGE, "table not found"),
        ],
    ));
}

fn verification(end: End, attrs: Vec<KeyValue>) -> Variant {
    Variant {
        operation: operation::AUTHENTICATION_JWT_VERIFICATION,
        kind: "internal",
        start: vec![
            KeyValue::new(a::TOKEN_LENGTH, 812_i64),
            KeyValue::new(a::HAS_TOKEN, true),
            KeyValue::new(a::CORRELATION_ID, "c0ffee"),
        ],
        end,
        attrs,
    }
}

#[test]
fn verification_success() {
    let groups = Array::String(vec![
        StringValue::from("admins"),
        StringValue::from("users"),
    ]);
    run(verification(
        End::Ok,
        vec![
            KeyValue::new(a::ENDUSER_ID, "7d8ca528-4931-4254-9273-ea5ee853f271"),
            KeyValue::new(a::USER_GROUPS, opentelemetry::Value::Array(groups)),
        ],
    ));
}

#[test]
fn verification_expired() {
    run(verification(
        End::Fail("TOKEN_EXPIRED"),
        vec![
            KeyValue::new(a::TOKEN_EXP, 1_700_000_000_i64),
            KeyValue::new(a::TOKEN_CHECKED_AT, 1_700_000_100_i64),
        ],
    ));
}

#[test]
fn verification_invalid() {
    run(verification(
        End::Fail("INVALID_TOKEN"),
        vec![KeyValue::new(a::ERROR_MESSAGE, "signature mismatch")],
    ));
}

#[test]
fn verification_missing() {
    run(Variant {
        start: vec![
            KeyValue::new(a::TOKEN_LENGTH, 0_i64),
            KeyValue::new(a::HAS_TOKEN, false),
        ],
        ..verification(End::Fail("MISSING_TOKEN"), vec![])
    });
}

fn chat(end: End, attrs: Vec<KeyValue>) -> Variant {
    Variant {
        operation: operation::CHAT_MESSAGE_PROCESSING,
        kind: "internal",
        start: vec![
            KeyValue::new(a::CONNECTION_ID, "L0SM9cOFvHcCIhw="),
            KeyValue::new(a::MESSAGE_LENGTH, 42_i64),
            KeyValue::new(a::HAS_SESSION_ID, true),
            KeyValue::new(a::SESSION_ID, "s-1"),
        ],
        end,
        attrs,
    }
}

#[test]
fn chat_success() {
    run(chat(
        End::Ok,
        vec![
            KeyValue::new(a::ENDUSER_ID, "7d8ca528-4931-4254-9273-ea5ee853f271"),
            KeyValue::new(a::SESSION_ID, "s-1"),
            KeyValue::new(a::MESSAGE_TYPE, "user_and_bot"),
        ],
    ));
}

#[test]
fn chat_error() {
    run(chat(
        End::Fail("DATABASE_ERROR"),
        vec![KeyValue::new(
            a::ERROR_MESSAGE,
            "ProvisionedThroughputExceeded",
        )],
    ));
}

#[test]
fn complete_false_without_a_code_is_unspecified() {
    let t = common::telemetry();
    t.monitor
        .start(operation::CHAT_MESSAGE_PROCESSING, [])
        .complete(false, []);
    let span = t.span(operation::CHAT_MESSAGE_PROCESSING);
    assert_eq!(
        span.status,
        Status::error(perfmon_lambda::UNSPECIFIED_ERROR)
    );
    let errors = t.points_named("Errors");
    assert_eq!(
        errors[0].attributes["ErrorType"],
        perfmon_lambda::UNSPECIFIED_ERROR
    );
}

#[test]
fn many_operations_aggregate_into_one_point_per_dimension_set() {
    let t = common::telemetry();
    for i in 0..10 {
        let op = t.monitor.start(operation::WEBSOCKET_CONVERSATION, []);
        if i % 5 == 0 {
            op.fail("UNAUTHENTICATED_CONNECTION", []);
        } else {
            op.complete(true, []);
        }
    }
    assert_eq!(t.points_named("Invocations")[0].value, Value::Sum(10));
    assert_eq!(t.points_named("Errors")[0].value, Value::Sum(2));
    let Value::Histogram(count, ..) = t.points_named("HandlerDuration")[0].value else {
        panic!()
    };
    assert_eq!(count, 10);
}
