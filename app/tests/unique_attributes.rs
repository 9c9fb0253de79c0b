//! Every exported span carries each attribute key once, whatever path an
//! operation takes: every fixture event, in a session and out of one, with
//! valid, expired and bad tokens, and the frames a client gets wrong.

mod common;

use std::collections::BTreeMap;

use common::app::{fixture, fixture_with_body, TestApp};
use opentelemetry_sdk::trace::SpanData;
use serde_json::json;

fn duplicates(span: &SpanData) -> Vec<String> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for kv in &span.attributes {
        *seen.entry(kv.key.as_str()).or_default() += 1;
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(key, n)| format!("{}: {key} ×{n}", span.name))
        .collect()
}

#[tokio::test]
async fn no_span_of_any_operation_variant_repeats_a_key() {
    let t = common::telemetry();
    let app = TestApp::new(&t);
    let issuer = &app.local.issuer;
    let auth = |token: &str| json!({"action": "auth", "token": token}).to_string();
    let valid = issuer.id_token("sub-123", "alice", "alice@example.com", 600);
    let expired = issuer.id_token("sub-123", "alice", "alice@example.com", -600);
    let handle = |event| app.local.app.handle(event);

    // Out of a session: every frame before `auth`.
    handle(fixture("default-message")).await.unwrap();
    handle(fixture("default-ping")).await.unwrap();
    // A session with every kind of frame, good and bad.
    handle(fixture("connect")).await.unwrap();
    for token in ["", "not-a-token", expired.as_str(), valid.as_str()] {
        handle(fixture_with_body("default-auth", &auth(token)))
            .await
            .unwrap();
    }
    for name in [
        "default-message",
        "default-message-no-session",
        "default-ping",
        "default-malformed",
        "default-unknown-action",
    ] {
        handle(fixture(name)).await.unwrap();
    }
    let huge = json!({"action": "message", "message": "x".repeat(64 * 1024)}).to_string();
    handle(fixture_with_body("default-message", &huge))
        .await
        .unwrap();
    handle(fixture("disconnect")).await.unwrap();

    let spans = t.spans();
    let operations: std::collections::BTreeSet<&str> =
        spans.iter().map(|s| s.name.as_ref()).collect();
    assert!(operations.len() >= 4, "every operation ran: {operations:?}");
    let repeated: Vec<String> = spans.iter().flat_map(duplicates).collect();
    assert!(repeated.is_empty(), "{repeated:#?}");
}
