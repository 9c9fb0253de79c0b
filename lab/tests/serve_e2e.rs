//! `perfmon serve` end to end: a real WebSocket client connects to the local
//! server, authenticates, chats, pings and leaves.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use perfmon_chat::local::LocalApp;
use perfmon_chat_lab::serve;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

async fn next_json<S>(ws: &mut S) -> Value
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let message = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("a reply in time")
        .expect("the socket is open")
        .expect("a frame");
    serde_json::from_str(message.to_text().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_chats_over_a_real_websocket() {
    let t = common::telemetry();
    let local = Arc::new(LocalApp::new(common::chat(&t)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, local.clone(), async {
        let _ = stopped.await;
    }));

    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .unwrap();
    ws.send(Message::text(
        json!({"action": "message", "message": "hi"}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut ws).await["error"],
        "UNAUTHENTICATED_CONNECTION"
    );

    let token = local
        .issuer
        .id_token("user-7", "bob", "bob@example.com", 600);
    ws.send(Message::text(
        json!({"action": "auth", "token": token}).to_string(),
    ))
    .await
    .unwrap();
    assert_eq!(
        next_json(&mut ws).await,
        json!({"type": "auth_success", "userId": "user-7"})
    );

    ws.send(Message::text(
        json!({"action": "message", "message": "hello bot"}).to_string(),
    ))
    .await
    .unwrap();
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["type"], "message");
    let session = reply["sessionId"].as_str().unwrap().to_owned();
    ws.send(Message::text(
        json!({"action": "message", "message": "tell me more", "sessionId": session}).to_string(),
    ))
    .await
    .unwrap();
    let reply = next_json(&mut ws).await;
    assert_eq!(reply["sessionId"], session, "the session continues");
    assert_eq!(reply["message"], "You said: tell me more");

    ws.send(Message::text("{not json")).await.unwrap();
    assert_eq!(next_json(&mut ws).await["error"], "INVALID_MESSAGE_FORMAT");

    ws.send(Message::text(r#"{"action":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "pong");

    ws.close(None).await.unwrap();
    while let Some(Ok(_)) = ws.next().await {}
    // The server runs $disconnect after the socket closes.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while local.store.connection_count() > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the connection was cleaned up"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();

    let spans = t.spans();
    let count = |n: &str| spans.iter().filter(|s| s.name == n).count();
    assert_eq!(count("websocket_connection"), 2, "connect and disconnect");
    assert_eq!(count("websocket_conversation"), 6);
    assert_eq!(count("chat_message_processing"), 2);
    let disconnects = t.points_named("Disconnects");
    assert_eq!(disconnects[0].attributes["Reason"], "normal");
}
