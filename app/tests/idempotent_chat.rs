//! Idempotent chat: a frame may carry a client message id; a retry with
//! the same id stores nothing twice and gets the same answer.

mod common;

use common::app::{fixture, fixture_with_body, TestApp};
use perfmon_chat::store::MessageStore;
use serde_json::json;

async fn say(app: &mut TestApp, text: &str, id: &str) -> serde_json::Value {
    let frame = json!({"action": "message", "message": text, "sessionId": "s-9",
        "clientMessageId": id})
    .to_string();
    app.local
        .app
        .handle(fixture_with_body("default-message", &frame))
        .await
        .unwrap();
    app.drain().remove(0)
}

#[tokio::test]
async fn a_retried_message_is_stored_once_and_answered_the_same() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.handle(fixture("connect")).await.unwrap();
    assert_eq!(app.sign_in("sub-1").await["type"], "auth_success");

    let first = say(&mut app, "hello there", "m-1").await;
    assert_eq!(first["type"], "message", "{first}");
    assert_eq!(first["clientMessageId"], "m-1");
    let retry = say(&mut app, "hello there", "m-1").await;
    assert_eq!(retry, first, "the same answer, timestamp included");
    let cx = opentelemetry::Context::new();
    assert_eq!(
        app.local.store.session(&cx, "s-9").await.unwrap().len(),
        2,
        "one question and one answer"
    );

    let other = say(&mut app, "and again", "m-2").await;
    // A new id is answered for itself, not from the first one's record.
    // (Its timestamp may equal the first's: both are milliseconds, and a
    // fast machine answers both within one.)
    assert_eq!(other["clientMessageId"], "m-2", "{other}");
    assert!(other["timestamp"].as_u64() >= first["timestamp"].as_u64());
    let stored = app.local.store.session(&cx, "s-9").await.unwrap();
    let texts: Vec<&str> = stored.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts.len(), 4);
    // Oldest first by timestamp; messages of one millisecond come in the
    // order of their ids' random part, so only the order of times is fixed.
    assert!(
        stored.windows(2).all(|w| w[0].timestamp <= w[1].timestamp),
        "oldest first: {texts:?}"
    );
    let mut asked: Vec<&str> = stored
        .iter()
        .filter(|m| m.text == "hello there" || m.text == "and again")
        .map(|m| m.text.as_str())
        .collect();
    asked.sort_unstable();
    assert_eq!(asked, ["and again", "hello there"], "{texts:?}");

    let bad = json!({"action": "message", "message": "x", "clientMessageId": ""}).to_string();
    app.local
        .app
        .handle(fixture_with_body("default-message", &bad))
        .await
        .unwrap();
    assert_eq!(app.drain()[0]["error"], "INVALID_MESSAGE_FORMAT");
}

/// A first message names no session: its retries, sent as the client
/// sends them (no `sessionId` again), and two attempts racing each other,
/// still store it once and get one answer, the same for every attempt.
#[tokio::test]
async fn a_retried_first_message_without_a_session_is_stored_once() {
    let t = common::telemetry();
    let mut app = TestApp::new(&t);
    app.local.app.handle(fixture("connect")).await.unwrap();
    assert_eq!(app.sign_in("sub-1").await["type"], "auth_success");
    let first = |id: &str| {
        json!({"action": "message", "message": "hello there", "clientMessageId": id}).to_string()
    };

    // Retries, one after the other.
    let mut replies = Vec::new();
    for _ in 0..3 {
        app.local
            .app
            .handle(fixture_with_body("default-message", &first("m-1")))
            .await
            .unwrap();
        replies.extend(app.drain());
    }
    assert_eq!(replies.len(), 3);
    assert!(replies.iter().all(|r| *r == replies[0]), "{replies:?}");
    let session = replies[0]["sessionId"].as_str().unwrap().to_owned();
    let cx = opentelemetry::Context::new();
    let stored = app.local.store.session(&cx, &session).await.unwrap();
    assert_eq!(stored.len(), 2, "one question, one answer: {stored:?}");

    // Two attempts at once.
    let event = || fixture_with_body("default-message", &first("m-2"));
    let (a, b) = tokio::join!(app.local.app.handle(event()), app.local.app.handle(event()));
    a.unwrap();
    b.unwrap();
    let raced = app.drain();
    assert_eq!(raced.len(), 2);
    assert_eq!(raced[0], raced[1], "one answer for both attempts");
    let session = raced[0]["sessionId"].as_str().unwrap();
    assert_eq!(
        app.local.store.session(&cx, session).await.unwrap().len(),
        2
    );

    // Another sender's message of the same id is theirs, not this one.
    let mut other = TestApp::new(&t);
    other.local.app.handle(fixture("connect")).await.unwrap();
    assert_eq!(other.sign_in("sub-2").await["type"], "auth_success");
    other
        .local
        .app
        .handle(fixture_with_body("default-message", &first("m-1")))
        .await
        .unwrap();
    assert_ne!(other.drain()[0]["sessionId"], replies[0]["sessionId"]);
}
