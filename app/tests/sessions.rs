//! Sessions are owned and well-formed: a session belongs to the user who
//! started it, another user's `sessionId` is refused as a client error, and
//! an empty, oversized or malformed one never reaches storage.

mod common;

use common::app::{fixture, fixture_with_body, TestApp};
use perfmon_chat::store::MessageStore;
use serde_json::json;

async fn sign_in(app: &mut TestApp, sub: &str) {
    assert_eq!(app.sign_in(sub).await["type"], "auth_success");
}

async fn say(app: &mut TestApp, session: &str) -> (bool, serde_json::Value) {
    let frame = json!({"action": "message", "message": "hi", "sessionId": session}).to_string();
    let ok = app
        .local
        .app
        .handle(fixture_with_body("default-message", &frame))
        .await
        .is_ok();
    (ok, app.drain().remove(0))
}

#[tokio::test]
async fn another_users_session_is_refused_and_stays_untouched() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.handle(fixture("connect")).await.unwrap();
    sign_in(&mut app, "alice").await;
    let (_, reply) = say(&mut app, "s-1").await;
    assert_eq!(reply["type"], "message");

    sign_in(&mut app, "mallory").await;
    let (ok, reply) = say(&mut app, "s-1").await;
    assert!(ok, "a client error completes the invocation");
    assert_eq!(reply["error"], "SESSION_FORBIDDEN", "{reply}");
    let cx = opentelemetry::Context::new();
    let stored = app.local.store.session(&cx, "s-1").await.unwrap();
    assert_eq!(stored.len(), 2, "alice's question and answer only");
    assert!(stored.iter().all(|m| m.user_id == "alice"));
    let span = t
        .spans()
        .into_iter()
        .rfind(|s| s.name == "chat_message_processing")
        .unwrap();
    assert_eq!(
        common::span_attrs(&span)["http.response.status_code"],
        "403"
    );

    sign_in(&mut app, "alice").await;
    let (_, reply) = say(&mut app, "s-1").await;
    assert_eq!(reply["type"], "message", "the owner continues");
}

#[tokio::test]
async fn a_bad_session_id_is_the_clients_error() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.handle(fixture("connect")).await.unwrap();
    sign_in(&mut app, "alice").await;
    for bad in [String::new(), "s".repeat(5000), "../etc".to_owned()] {
        let (ok, reply) = say(&mut app, &bad).await;
        assert!(ok, "{bad:.20}: not a failed invocation");
        assert_eq!(reply["error"], "INVALID_SESSION_ID", "{bad:.20}: {reply}");
    }
    assert!(t
        .points_named("Errors")
        .iter()
        .all(|p| p.attributes["ErrorType"] != "DATABASE_ERROR"));
}
