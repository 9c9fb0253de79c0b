//! `perfmon-chat serve`: a real WebSocket server that maps connect, message and
//! disconnect to the Lambda handlers with API Gateway-shaped events.

use std::future::Future;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;

use super::{websocket_event, LocalApp};
use perfmon::clock::now_ms;

/// Serves WebSocket clients on `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    local: Arc<LocalApp>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let (stream, _) = accepted?;
                let local = local.clone();
                tokio::spawn(async move {
                    if let Err(error) = connection(stream, local).await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                });
            }
        }
    }
}

async fn connection(stream: TcpStream, local: Arc<LocalApp>) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    let ws = tokio_tungstenite::accept_async_with_config(stream, Some(super::websocket_config()))
        .await
        .map_err(|e| e.to_string())?;
    let (mut sink, mut source) = ws.split();
    let id = connection_id();
    let connected_at = now_ms();
    let mut outbox = local.poster.register(&id);
    let app = &local.app;
    if let Err(error) = app
        .handle(websocket_event("$connect", &id, connected_at, None, None))
        .await
    {
        local.poster.unregister(&id);
        let _ = sink.send(Message::Close(None)).await;
        return Err(error.to_string());
    }
    let mut status = 1006;
    loop {
        tokio::select! {
            incoming = source.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let event = websocket_event("$default", &id, connected_at, Some(text.as_str()), None);
                    if let Err(error) = app.handle(event).await {
                        tracing::warn!(%error, "handler failed");
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    let text = String::from_utf8_lossy(&bytes).into_owned();
                    let event = websocket_event("$default", &id, connected_at, Some(&text), None);
                    let _ = app.handle(event).await;
                }
                Some(Ok(Message::Close(frame))) => {
                    status = frame.map_or(1005, |f| u16::from(f.code));
                    break;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            Some(reply) = outbox.recv() => {
                if sink.send(Message::text(reply)).await.is_err() {
                    break;
                }
            }
        }
    }
    local.poster.unregister(&id);
    // Frames already queued for the client are flushed before the close.
    while let Ok(reply) = outbox.try_recv() {
        let _ = sink.send(Message::text(reply)).await;
    }
    let _ = sink.close().await;
    app.handle(websocket_event(
        "$disconnect",
        &id,
        connected_at,
        None,
        Some(status),
    ))
    .await
    .map(|_| ())
    .map_err(|e| e.to_string())
}

/// A connection id shaped like API Gateway's: 12 random bytes, base64.
fn connection_id() -> String {
    use base64::Engine;
    let bytes: [u8; 12] = rand::random();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}
