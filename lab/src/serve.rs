//! `perfmon-chat serve`: a real WebSocket server that maps connect, message and
//! disconnect to the Lambda handlers with API Gateway-shaped events.
//!
//! The server is bounded ([`ServeLimits`]): a connection cap, handshake,
//! idle and write timeouts (a client that never reads cannot pin a task or
//! its registry entry), frames and messages at the app's 32 KiB limit
//! (refused while they are read, never buffered whole), an `Origin` check,
//! and an accept error (such as `EMFILE`) logged with a back-off, never
//! the end of the server.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use perfmon_chat::frame::MAX_FRAME_BYTES;
use perfmon_chat::local::{websocket_event, LocalApp};
use perfmon_lambda::clock::now_ms;

/// Default of [`ServeLimits::max_connections`].
pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;
/// Default of [`ServeLimits::handshake_timeout`].
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Default of [`ServeLimits::idle_timeout`]: API Gateway's WebSocket idle
/// timeout.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// Default of [`ServeLimits::write_timeout`].
pub const DEFAULT_WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest back-off after repeated accept errors.
const MAX_ACCEPT_BACKOFF: Duration = Duration::from_secs(1);

/// The server's bounds.
#[derive(Debug, Clone)]
pub struct ServeLimits {
    /// Connections served at once; one more is closed at accept.
    pub max_connections: usize,
    /// Longest time from accept to a completed WebSocket handshake.
    pub handshake_timeout: Duration,
    /// A connection that sends nothing for this long is closed.
    pub idle_timeout: Duration,
    /// A frame the client does not take within this time closes the
    /// connection.
    pub write_timeout: Duration,
    /// `Origin` values accepted besides loopback ones (`http://127.0.0.1:*`,
    /// `http://localhost:*`); a request without `Origin` (not a browser) is
    /// accepted.
    pub allowed_origins: Vec<String>,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            write_timeout: DEFAULT_WRITE_TIMEOUT,
            allowed_origins: Vec::new(),
        }
    }
}

impl ServeLimits {
    fn origin_allowed(&self, origin: Option<&str>) -> bool {
        let Some(origin) = origin else {
            return true;
        };
        let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|host| {
                origin == *host
                    || origin
                        .strip_prefix(host)
                        .is_some_and(|rest| rest.starts_with(':'))
            });
        loopback || self.allowed_origins.iter().any(|o| o == origin)
    }
}

/// Serves WebSocket clients on `listener` with the default limits until
/// `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    local: Arc<LocalApp>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_with(listener, local, ServeLimits::default(), shutdown).await
}

/// Serves WebSocket clients on `listener` within `limits` until `shutdown`
/// completes.
pub async fn serve_with(
    listener: TcpListener,
    local: Arc<LocalApp>,
    limits: ServeLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let limits = Arc::new(limits);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let mut backoff = Duration::from_millis(10);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => return Ok(()),
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => {
                        backoff = Duration::from_millis(10);
                        stream
                    }
                    Err(error) => {
                        // EMFILE and the like pass: wait, then accept again.
                        tracing::warn!(%error, ?backoff, "accept failed; retrying");
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(MAX_ACCEPT_BACKOFF);
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    tracing::warn!(max = limits.max_connections, "connection refused: at the cap");
                    drop(stream);
                    continue;
                };
                let local = local.clone();
                let limits = limits.clone();
                tokio::spawn(async move {
                    if let Err(error) = connection(stream, local, &limits).await {
                        tracing::debug!(%error, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
        }
    }
}

/// The server side's WebSocket settings: frames and messages at the app's
/// limit, so an oversized one is refused as it is read.
fn server_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    crate::websocket_config()
        .max_message_size(Some(MAX_FRAME_BYTES))
        .max_frame_size(Some(MAX_FRAME_BYTES))
}

async fn connection(
    stream: TcpStream,
    local: Arc<LocalApp>,
    limits: &ServeLimits,
) -> Result<(), String> {
    let _ = stream.set_nodelay(true);
    // The signature is tungstenite's handshake callback.
    #[allow(clippy::result_large_err)]
    let check_origin = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let origin = request
            .headers()
            .get("origin")
            .and_then(|v| v.to_str().ok());
        if limits.origin_allowed(origin) {
            Ok(response)
        } else {
            let mut refused = ErrorResponse::new(Some("origin not allowed".to_owned()));
            *refused.status_mut() = StatusCode::FORBIDDEN;
            Err(refused)
        }
    };
    let handshake = tokio_tungstenite::accept_hdr_async_with_config(
        stream,
        check_origin,
        Some(server_config()),
    );
    let ws = tokio::time::timeout(limits.handshake_timeout, handshake)
        .await
        .map_err(|_| "handshake timed out".to_owned())?
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
    let idle = tokio::time::sleep(limits.idle_timeout);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            incoming = source.next() => {
                idle.as_mut().reset(tokio::time::Instant::now() + limits.idle_timeout);
                match incoming {
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
                    Some(Err(error)) => {
                        // An oversized frame ends here (1009), unread.
                        tracing::debug!(%error, "connection closed on a read error");
                        break;
                    }
                    None => break,
                }
            }
            Some(reply) = outbox.recv() => {
                let sent = tokio::time::timeout(limits.write_timeout, sink.send(Message::text(reply))).await;
                if !matches!(sent, Ok(Ok(()))) {
                    tracing::debug!("closing a connection that does not take its frames");
                    break;
                }
            }
            _ = &mut idle => {
                status = 1001;
                let away = Message::Close(Some(CloseFrame {
                    code: CloseCode::Away,
                    reason: "idle".into(),
                }));
                let _ = tokio::time::timeout(limits.write_timeout, sink.send(away)).await;
                break;
            }
        }
    }
    local.poster.unregister(&id);
    // Frames already queued for the client are flushed before the close,
    // each within the write timeout.
    while let Ok(reply) = outbox.try_recv() {
        let sent = tokio::time::timeout(limits.write_timeout, sink.send(Message::text(reply)));
        if !matches!(sent.await, Ok(Ok(()))) {
            break;
        }
    }
    let _ = tokio::time::timeout(limits.write_timeout, sink.close()).await;
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
