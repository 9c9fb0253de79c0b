//! Clients never see internals: a service error's frame carries its code
//! and a generic message; the detail (an AWS error naming the account and
//! table, the JWKS URL) is on the span's `exception` event, and the status
//! description is the code.

mod common;

use std::sync::Arc;

use common::app::{fixture, FailingConnections, TestApp};
use opentelemetry::trace::Status;
use opentelemetry_sdk::trace::SpanData;
use perfmon_chat::auth::{AuthConfig, AuthenticationService, JwksFetchError, JwksSource};
use perfmon_chat::frame::SERVICE_ERROR_MESSAGE;
use serde_json::json;

const ARN: &str = "arn:aws:dynamodb:us-east-1:123456789012:table/chat-connections";
const JWKS_URL: &str =
    "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_secretpool/.well-known/jwks.json";

/// A JWKS endpoint that is down.
#[derive(Debug)]
struct Down;

#[async_trait::async_trait]
impl JwksSource for Down {
    async fn fetch(&self) -> Result<String, JwksFetchError> {
        Err(format!("GET {JWKS_URL}: connection refused").into())
    }
}

fn exception_message(span: &SpanData) -> String {
    span.events
        .iter()
        .find(|e| e.name == "exception")
        .and_then(|e| {
            e.attributes
                .iter()
                .find(|kv| kv.key.as_str() == "exception.message")
        })
        .map(|kv| kv.value.to_string())
        .expect("an exception event with a message")
}

#[tokio::test]
async fn a_storage_failure_reaches_the_span_not_the_client() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.connections = Arc::new(FailingConnections::new().failing(
        "GetItem",
        format!("AccessDeniedException: not authorized to perform GetItem on {ARN}"),
    ));
    let result = app.local.app.handle(fixture("default-message")).await;
    assert!(result.is_err(), "a service error fails the invocation");
    let replies = app.drain();
    assert_eq!(
        replies,
        [json!({"type": "error", "error": "DATABASE_ERROR", "message": SERVICE_ERROR_MESSAGE})]
    );
    let span = t.span("websocket_conversation");
    assert_eq!(span.status, Status::error("DATABASE_ERROR"));
    assert!(exception_message(&span).contains(ARN));
}

#[tokio::test]
async fn an_unreachable_jwks_is_a_generic_frame() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.auth = Arc::new(AuthenticationService::new(
        AuthConfig::dev(),
        Down,
        common::chat(&t),
    ));
    let replies = [app.sign_in("s").await];
    assert_eq!(
        replies,
        [json!({"type": "error", "error": "JWKS_UNAVAILABLE", "message": SERVICE_ERROR_MESSAGE})]
    );
    assert!(!replies[0].to_string().contains("cognito-idp"));
    let span = t.span("authentication_jwt_verification");
    assert_eq!(span.status, Status::error("JWKS_UNAVAILABLE"));
    assert!(exception_message(&span).contains("connection refused"));
}

#[tokio::test]
async fn a_client_error_keeps_its_explanation() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    let _ = app.local.app.handle(fixture("default-message")).await;
    let replies = app.drain();
    assert_eq!(replies[0]["error"], "UNAUTHENTICATED_CONNECTION");
    assert_ne!(replies[0]["message"], SERVICE_ERROR_MESSAGE);
}
