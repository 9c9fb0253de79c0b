//! DESIGN §3's privacy and cardinality rules, attacked through the public
//! API: ids, email, user name and token passed straight to `start` and
//! `complete`, then checked in what the exporters received.

mod common;

use common::TestTelemetry;
use opentelemetry::trace::{Span as _, Tracer as _};
use opentelemetry::KeyValue;
use perfmon_chat::names::operation;

const TOKEN: &str = "eyJraWQiOiJrMSIsImFsZyI6IlJTMjU2In0.eyJzdWIiOiI3ZDhjYSIsImVtYWlsIjoiYWxpY2VAZXhhbXBsZS5jb20ifQ.c2lnbmF0dXJlLWJ5dGVz";
const EMAIL: &str = "alice@example.com";
const USERNAME: &str = "alice_w";
const IDS: [(&str, &str); 5] = [
    ("connectionId", "L0SM9cOFvHcCIhw="),
    ("sessionId", "session-8842"),
    ("userId", "7d8ca528-4931-4254-9273-ea5ee853f271"),
    ("requestId", "L0SM9HgbPHcF4xA="),
    ("correlationId", "corr-5521"),
];

/// Every field the guide passed, under the guide's own keys and ours.
fn hostile_attributes() -> Vec<KeyValue> {
    let mut kvs: Vec<KeyValue> = IDS.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect();
    kvs.extend([
        KeyValue::new("token", TOKEN),
        KeyValue::new("idToken", TOKEN),
        KeyValue::new("authorization", format!("Bearer {TOKEN}")),
        KeyValue::new("app.error.message", format!("could not verify {TOKEN}")),
        KeyValue::new("email", EMAIL),
        KeyValue::new(perfmon_chat::attributes::USER_EMAIL, EMAIL),
        KeyValue::new("username", USERNAME),
        KeyValue::new(perfmon_chat::attributes::USER_NAME, USERNAME),
        KeyValue::new("note", format!("contact {EMAIL}")),
        KeyValue::new(
            perfmon_lambda::attributes::ENDUSER_ID,
            "7d8ca528-4931-4254-9273-ea5ee853f271",
        ),
        KeyValue::new(perfmon_chat::attributes::TOKEN_LENGTH, TOKEN.len() as i64),
    ]);
    kvs
}

fn exercise(t: &TestTelemetry) {
    for op in [
        operation::WEBSOCKET_CONVERSATION,
        operation::WEBSOCKET_CONNECTION,
        operation::AUTHENTICATION_JWT_VERIFICATION,
        operation::CHAT_MESSAGE_PROCESSING,
    ] {
        t.monitor
            .start(op, hostile_attributes())
            .complete(true, hostile_attributes());
        t.monitor
            .start(op, hostile_attributes())
            .fail("INVALID_TOKEN", hostile_attributes());
    }
    // A span perfmon did not create, straight from the tracer, is scrubbed too.
    let tracer = t.telemetry.tracer();
    let mut span = tracer.start("raw_span");
    for kv in hostile_attributes() {
        span.set_attribute(kv);
    }
    span.add_event("login", hostile_attributes());
    span.end();
}

fn everything_exported(t: &TestTelemetry) -> String {
    format!("{:?}\n{:?}", t.spans(), t.points())
}

#[test]
fn no_token_email_or_username_reaches_any_exporter() {
    let t = common::telemetry();
    exercise(&t);
    let exported = everything_exported(&t);
    assert!(!exported.contains("eyJ"), "a token leaked");
    assert!(!exported.contains(EMAIL), "an email leaked");
    assert!(!exported.contains(USERNAME), "a user name leaked");
    assert!(
        exported.contains("7d8ca528-4931-4254-9273-ea5ee853f271"),
        "enduser.id is exported"
    );
    assert!(t.telemetry.stats().attributes_dropped > 0);
    // The token's length survives; the token does not.
    let span = t.span("raw_span");
    assert!(span
        .attributes
        .iter()
        .any(|kv| kv.key.as_str() == perfmon_chat::attributes::TOKEN_LENGTH));
}

#[test]
fn no_id_ever_becomes_a_metric_attribute() {
    let t = common::telemetry();
    exercise(&t);
    let chat = common::chat(&t);
    let business = chat.business();
    business.message(perfmon_chat::names::MessageType::Message);
    business.verification(perfmon_chat::names::VerificationOutcome::InvalidToken);
    let points = t.points();
    assert!(!points.is_empty());
    let allowed = [
        "Handler",
        "Environment",
        "ErrorType",
        "Metric",
        "MessageType",
        "Outcome",
        "EventType",
        "Reason",
        "Signal",
    ];
    for point in &points {
        for (key, value) in &point.attributes {
            assert!(allowed.contains(&key.as_str()), "{} has {key}", point.name);
            assert!(
                !IDS.iter().any(|(_, id)| value == id),
                "{} carries id {value}",
                point.name
            );
        }
    }
}

#[test]
fn the_metric_views_drop_foreign_keys_recorded_on_catalog_metrics() {
    let t = common::telemetry();
    let meter = t.telemetry.meter();
    let invocations = meter.u64_counter("Invocations").build();
    invocations.add(
        1,
        &[
            KeyValue::new("Handler", "websocket_connection"),
            KeyValue::new("Environment", "test"),
            KeyValue::new("connectionId", "L0SM9cOFvHcCIhw="),
        ],
    );
    let points = t.points_named("Invocations");
    assert_eq!(points.len(), 1);
    assert!(!points[0].attributes.contains_key("connectionId"));
}

#[test]
fn personal_data_is_exported_only_when_enabled_and_tokens_never() {
    let t = TestTelemetry::with(|b| b.with_personal_data(true));
    exercise(&t);
    let exported = everything_exported(&t);
    assert!(exported.contains(EMAIL));
    assert!(exported.contains(USERNAME));
    assert!(!exported.contains("eyJ"), "a token leaked");
}
