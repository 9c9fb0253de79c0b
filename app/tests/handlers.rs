//! The Lambda handlers on real API Gateway WebSocket events from
//! `tests/fixtures/`: replies, stored state, spans and business metrics.

mod common;

use common::app::{fixture, fixture_with_body, FailingConnections, TestApp, CONNECTION};
use common::{dims, span_attrs, TestTelemetry, Value};
use opentelemetry::trace::Status;
use perfmon_chat::store::ConnectionStore;
use serde_json::json;

fn conversation_counts(t: &TestTelemetry, metric: &str, key: &str, value: &str) -> Value {
    t.points_named(metric)
        .into_iter()
        .find(|p| p.attributes.get(key).map(String::as_str) == Some(value))
        .unwrap_or_else(|| panic!("{metric}{{{key}={value}}}"))
        .value
}

#[tokio::test]
async fn a_full_session_connect_auth_message_ping_disconnect() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    let cx = opentelemetry::Context::new();

    let response = app.local.app.handle(fixture("connect")).await.unwrap();
    assert_eq!(response.status_code, 200);
    let stored = app.local.store.get(&cx, CONNECTION).await.unwrap().unwrap();
    assert_eq!(stored.connected_at, 1707503007396);
    assert_eq!(stored.user_id, None);

    let token = app
        .local
        .issuer
        .id_token("sub-123", "alice", "alice@example.com", 600);
    assert_eq!(
        app.sign_in_with(&token).await,
        json!({"type": "auth_success", "userId": "sub-123"})
    );
    let stored = app.local.store.get(&cx, CONNECTION).await.unwrap().unwrap();
    assert_eq!(stored.user_id.as_deref(), Some("sub-123"));

    app.local
        .app
        .handle(fixture("default-message"))
        .await
        .unwrap();
    let replies = app.drain();
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0]["type"], "message");
    assert_eq!(
        replies[0]["sessionId"], "session-42",
        "the given session is kept"
    );
    let history = perfmon_chat::store::MessageStore::session(&*app.local.store, &cx, "session-42")
        .await
        .unwrap();
    let roles: Vec<_> = history.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "bot"]);
    assert_eq!(history[0].text, "Hello, what can you do?");
    assert_eq!(history[1].user_id, "sub-123");

    app.local
        .app
        .handle(fixture("default-message-no-session"))
        .await
        .unwrap();
    let replies = app.drain();
    let new_session = replies[0]["sessionId"].as_str().unwrap();
    assert_ne!(new_session, "session-42");
    assert_eq!(new_session.len(), 36, "a fresh UUID session: {new_session}");

    app.local.app.handle(fixture("default-ping")).await.unwrap();
    assert_eq!(app.drain()[0]["type"], "pong");

    app.local.app.handle(fixture("disconnect")).await.unwrap();
    assert!(app
        .local
        .store
        .get(&cx, CONNECTION)
        .await
        .unwrap()
        .is_none());

    // Spans: two connection operations, four conversation frames.
    let spans = t.spans();
    let named = |n: &str| spans.iter().filter(|s| s.name == n).count();
    assert_eq!(named("websocket_connection"), 2);
    assert_eq!(named("websocket_conversation"), 4);
    assert_eq!(named("authentication_jwt_verification"), 1);
    assert_eq!(named("chat_message_processing"), 2);
    assert!(
        spans.iter().all(|s| s.status == Status::Unset),
        "{spans:#?}"
    );
    // The chat span is a child of its conversation span.
    let chat = spans
        .iter()
        .find(|s| s.name == "chat_message_processing")
        .unwrap();
    let parent = spans
        .iter()
        .find(|s| s.span_context.span_id() == chat.parent_span_id)
        .expect("chat has a parent");
    assert_eq!(parent.name, "websocket_conversation");
    let auth_span = spans
        .iter()
        .find(|s| s.name == "authentication_jwt_verification")
        .unwrap();
    let attrs = span_attrs(auth_span);
    assert_eq!(attrs["app.token.length"], token.len().to_string());
    assert_eq!(attrs["enduser.id"], "sub-123");
    assert!(
        !format!("{spans:?}").contains(&token),
        "the token is never recorded"
    );
    assert!(!format!("{spans:?}").contains("alice@example.com"));

    // Business metrics.
    assert_eq!(
        conversation_counts(&t, "Messages", "MessageType", "message"),
        Value::Sum(2)
    );
    assert_eq!(
        conversation_counts(&t, "Messages", "MessageType", "auth"),
        Value::Sum(1)
    );
    assert_eq!(
        conversation_counts(&t, "AuthMessages", "Outcome", "success"),
        Value::Sum(1)
    );
    assert_eq!(
        conversation_counts(&t, "Verifications", "Outcome", "success"),
        Value::Sum(1)
    );
    assert_eq!(
        conversation_counts(&t, "Connections", "EventType", "connect"),
        Value::Sum(1)
    );
    // The disconnect fixture says 1005 (no status): a normal close.
    assert_eq!(
        conversation_counts(&t, "Disconnects", "Reason", "normal"),
        Value::Sum(1)
    );
    let lifetime = &t.points_named("ConnectionDuration")[0];
    assert_eq!(
        lifetime.value,
        Value::Histogram(1, 60000.0, 60000.0, 60000.0)
    );
    assert_eq!(t.points_named("MessagesProcessed")[0].value, Value::Sum(2));
    // Per message: the session claim and two puts.
    assert_eq!(t.points_named("DatabaseOperations")[0].value, Value::Sum(6));
}

#[tokio::test]
async fn a_message_before_auth_is_unauthenticated() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.handle(fixture("connect")).await.unwrap();
    let response = app
        .local
        .app
        .handle(fixture("default-message"))
        .await
        .unwrap();
    assert_eq!(
        response.status_code, 200,
        "a client mistake is not a failed invocation"
    );
    let replies = app.drain();
    assert_eq!(replies[0]["type"], "error");
    assert_eq!(replies[0]["error"], "UNAUTHENTICATED_CONNECTION");
    let span = t.span("websocket_conversation");
    assert_eq!(span.status, Status::error("UNAUTHENTICATED_CONNECTION"));
    let errors = t.points_named("Errors");
    assert_eq!(
        errors[0].attributes,
        dims(&[
            ("Handler", "websocket_conversation"),
            ("Environment", "test"),
            ("ErrorType", "UNAUTHENTICATED_CONNECTION")
        ])
    );
    assert!(t.points_named("MessagesProcessed").is_empty());
}

#[tokio::test]
async fn bad_frames_get_typed_error_frames_and_are_recorded() {
    for (fixture_name, code) in [
        ("default-malformed", "INVALID_MESSAGE_FORMAT"),
        ("default-unknown-action", "UNKNOWN_ACTION"),
    ] {
        let t = common::telemetry();
        let mut app = TestApp::new(&t);
        app.local.app.handle(fixture("connect")).await.unwrap();
        let event = fixture(fixture_name);
        let sent = event.body.clone().unwrap();
        let response = app.local.app.handle(event).await.unwrap();
        assert_eq!(response.status_code, 200);
        let replies = app.drain();
        assert_eq!(replies.len(), 1, "{fixture_name}");
        assert_eq!(replies[0]["error"], code, "{fixture_name}");
        let span = t.span("websocket_conversation");
        assert_eq!(span.status, Status::error(code));
        let attrs = span_attrs(&span);
        assert_eq!(
            attrs["app.message.length"],
            sent.len().to_string(),
            "the record of what was sent"
        );
        assert_eq!(
            conversation_counts(&t, "Messages", "MessageType", "unknown"),
            Value::Sum(1)
        );
    }
}

#[tokio::test]
async fn an_oversized_frame_is_refused_without_panicking() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.handle(fixture("connect")).await.unwrap();
    let body = json!({"action": "message", "message": "x".repeat(100_000)}).to_string();
    app.local
        .app
        .handle(fixture_with_body("default-message", &body))
        .await
        .unwrap();
    assert_eq!(app.drain()[0]["error"], "MESSAGE_TOO_LARGE");
}

#[tokio::test]
async fn auth_failures_are_answered_with_the_guide_codes() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.handle(fixture("connect")).await.unwrap();
    let expired = app.local.issuer.id_token("s", "u", "e@x.io", -3600);
    let cases = [
        (json!({"action": "auth"}), "MISSING_TOKEN"),
        (json!({"action": "auth", "token": expired}), "TOKEN_EXPIRED"),
        (
            json!({"action": "auth", "token": "not.a.jwt"}),
            "INVALID_TOKEN",
        ),
    ];
    for (frame, code) in cases {
        app.local
            .app
            .handle(fixture_with_body("default-auth", &frame.to_string()))
            .await
            .unwrap();
        let replies = app.drain();
        assert_eq!(replies[0]["error"], code);
    }
    assert_eq!(
        conversation_counts(&t, "AuthMessages", "Outcome", "failure"),
        Value::Sum(3)
    );
    for outcome in ["MISSING_TOKEN", "TOKEN_EXPIRED", "INVALID_TOKEN"] {
        assert_eq!(
            conversation_counts(&t, "Verifications", "Outcome", outcome),
            Value::Sum(1)
        );
    }
    let expired_span = t
        .spans()
        .into_iter()
        .find(|s| {
            s.status == Status::error("TOKEN_EXPIRED")
                && s.name == "authentication_jwt_verification"
        })
        .unwrap();
    let attrs = span_attrs(&expired_span);
    assert!(attrs.contains_key("app.token.exp") && attrs.contains_key("app.token.checked_at"));
}

#[tokio::test]
async fn a_failed_cleanup_completes_with_a_warning() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.connections =
        std::sync::Arc::new(FailingConnections::new().failing("DeleteItem", "throttled"));
    let response = app.local.app.handle(fixture("disconnect")).await.unwrap();
    assert_eq!(response.status_code, 200);
    let span = t.span("websocket_connection");
    assert_eq!(
        span.status,
        Status::Unset,
        "cleanup_failed is a warning, not an error"
    );
    let attrs = span_attrs(&span);
    assert_eq!(attrs["app.warning"], "cleanup_failed");
    assert_eq!(attrs["app.error.message"], "DATABASE_ERROR");
    assert!(t.points_named("Errors").is_empty());
}

#[tokio::test]
async fn a_connect_that_cannot_be_stored_fails_the_invocation_with_its_code() {
    let t = common::telemetry();
    let app = TestApp::new(&t);
    let mut event = common::app::fixture_json("connect");
    event["requestContext"]["connectionId"] = json!("");
    let event = serde_json::from_value(event).unwrap();
    let error = app.local.app.handle(event).await.unwrap_err();
    let diagnostic = lambda_runtime::Diagnostic::from(error);
    assert_eq!(diagnostic.error_type, "BAD_EVENT");
}

#[tokio::test]
async fn a_connection_gone_while_answering_is_cleaned_up_not_crashed() {
    use perfmon_chat::chat::{ChatService, EchoResponder};
    use perfmon_chat::post::{PostError, Poster};

    #[derive(Debug)]
    struct Gone;
    #[async_trait::async_trait]
    impl Poster for Gone {
        async fn post(
            &self,
            _: &opentelemetry::Context,
            _: &str,
            _: &str,
        ) -> Result<(), PostError> {
            Err(PostError::Gone)
        }
    }
    let t = common::telemetry();
    let app = TestApp::new(&t);
    let store = app.local.store.clone();
    let chat = ChatService::new(
        store.clone(),
        store.clone(),
        std::sync::Arc::new(Gone),
        std::sync::Arc::new(EchoResponder),
        common::chat(&t),
    );
    app.local.app.handle(fixture("connect")).await.unwrap();
    let cx = opentelemetry::Context::new();
    let processed = chat
        .process(
            &cx,
            &perfmon_chat::chat::ChatRequest {
                connection_id: CONNECTION,
                user_id: "sub-1",
                message: "anyone there?",
                session_id: None,
                client_message_id: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(
        processed.database_operations, 4,
        "the session claim, two puts and the cleanup"
    );
    assert!(store.get(&cx, CONNECTION).await.unwrap().is_none());
    assert_eq!(t.span("chat_message_processing").status, Status::Unset);
}
