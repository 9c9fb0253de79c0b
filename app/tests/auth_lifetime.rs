//! Authentication lasts as long as its token: a message after the token's
//! `exp` gets `TOKEN_EXPIRED` and a request to authenticate again, and
//! authenticating again on the live connection works.

mod common;

use common::app::{fixture, TestApp, CONNECTION};
use perfmon_chat::store::{Connection, ConnectionStore};

fn now() -> i64 {
    perfmon_lambda::clock::now_seconds()
}

async fn authenticate(app: &mut TestApp, ttl_seconds: i64) -> serde_json::Value {
    app.sign_in_for("sub-7", ttl_seconds).await
}

async fn message(app: &mut TestApp) -> serde_json::Value {
    app.local
        .app
        .handle(fixture("default-message"))
        .await
        .unwrap();
    app.drain().remove(0)
}

#[tokio::test]
async fn a_message_after_the_tokens_exp_asks_to_authenticate_again() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    let cx = opentelemetry::Context::new();
    app.local.app.handle(fixture("connect")).await.unwrap();
    assert_eq!(authenticate(&mut app, 600).await["type"], "auth_success");
    let stored = app.local.store.get(&cx, CONNECTION).await.unwrap().unwrap();
    let exp = stored.auth_expires_at.expect("the token's exp is stored");
    assert!((now() + 590..=now() + 600).contains(&exp), "{exp}");
    assert_eq!(message(&mut app).await["type"], "message");

    // An hour later: the token, and so the authentication, has expired.
    ConnectionStore::put(
        app.local.store.as_ref(),
        &cx,
        &Connection {
            auth_expires_at: Some(now() - 3600),
            ..stored
        },
    )
    .await
    .unwrap();
    let refused = message(&mut app).await;
    assert_eq!(refused["type"], "error");
    assert_eq!(refused["error"], "TOKEN_EXPIRED");
    assert!(
        refused["message"]
            .as_str()
            .is_some_and(|m| m.contains("authenticate again")),
        "{refused}"
    );
    let span = t
        .spans()
        .into_iter()
        .rfind(|s| s.name == "websocket_conversation")
        .unwrap();
    assert_eq!(
        common::span_attrs(&span)["error.type"],
        "TOKEN_EXPIRED",
        "a client error"
    );

    // Authenticating again on the live connection restores it.
    assert_eq!(authenticate(&mut app, 600).await["type"], "auth_success");
    assert_eq!(message(&mut app).await["type"], "message");
}
