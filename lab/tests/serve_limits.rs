//! The local server is bounded: a connection cap, handshake and idle
//! timeouts, frames at the app's 32 KiB limit, and an `Origin` check.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use perfmon_chat::frame::MAX_FRAME_BYTES;
use perfmon_chat::local::LocalApp;
use perfmon_chat_lab::{serve_with, ServeLimits};
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

/// A server within `limits`; stopped when the sender drops.
async fn server(limits: ServeLimits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let t = common::telemetry();
    let local = Arc::new(LocalApp::new(common::chat(&t)));
    server_for(local, limits).await
}

async fn server_for(
    local: Arc<LocalApp>,
    limits: ServeLimits,
) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_with(listener, local, limits, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Whether the server closes `stream` within `within` (a read ends).
async fn closed_within(stream: &mut tokio::net::TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    loop {
        match tokio::time::timeout(within, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_are_closed_and_a_slot_frees_on_leave() {
    let (addr, _stop) = server(ServeLimits {
        max_connections: 2,
        ..ServeLimits::default()
    })
    .await;
    let url = format!("ws://{addr}");
    let (first, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (_second, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert!(
        tokio_tungstenite::connect_async(&url).await.is_err(),
        "a third connection is refused"
    );
    drop(first);
    // The slot frees once the server has seen the first one leave.
    let mut admitted = false;
    for _ in 0..50 {
        if tokio_tungstenite::connect_async(&url).await.is_ok() {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(admitted, "a slot is free again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_handshakes_or_goes_quiet_is_closed() {
    let (addr, _stop) = server(ServeLimits {
        handshake_timeout: Duration::from_millis(200),
        idle_timeout: Duration::from_millis(300),
        ..ServeLimits::default()
    })
    .await;
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    assert!(
        closed_within(&mut silent, Duration::from_secs(5)).await,
        "closed after the handshake timeout"
    );

    let (mut quiet, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match quiet.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("closed after the idle timeout");
    assert_eq!(ended, Some(1001), "going away: idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frame_over_the_limit_ends_the_connection_unread() {
    let (addr, _stop) = server(ServeLimits::default()).await;
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .unwrap();
    let _ = ws
        .send(Message::text("x".repeat(MAX_FRAME_BYTES + 1024)))
        .await;
    let ended = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                _ => return None,
            }
        }
    })
    .await
    .expect("the server ends the connection");
    assert!(
        matches!(ended, Some(1009) | None),
        "message too big, or the socket dropped: {ended:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_loopback_or_allowed_origins_may_connect() {
    let (addr, _stop) = server(ServeLimits {
        allowed_origins: vec!["https://chat.example.com".into()],
        ..ServeLimits::default()
    })
    .await;
    let with_origin = |origin: Option<&str>| {
        let mut request = format!("ws://{addr}").into_client_request().unwrap();
        if let Some(origin) = origin {
            request
                .headers_mut()
                .insert("origin", origin.parse().unwrap());
        }
        request
    };
    for ok in [
        None,
        Some("http://127.0.0.1:5173"),
        Some("http://localhost:3000"),
        Some("https://chat.example.com"),
    ] {
        assert!(
            tokio_tungstenite::connect_async(with_origin(ok))
                .await
                .is_ok(),
            "{ok:?}"
        );
    }
    match tokio_tungstenite::connect_async(with_origin(Some("https://evil.example"))).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 403)
        }
        other => panic!("refused with 403: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_dropped_with_its_registry_entry() {
    let t = common::telemetry();
    let local = Arc::new(LocalApp::new(common::chat(&t)));
    let (addr, _stop) = server_for(
        local.clone(),
        ServeLimits {
            write_timeout: Duration::from_millis(200),
            ..ServeLimits::default()
        },
    )
    .await;
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}"))
        .await
        .unwrap();
    let (mut sink, mut stream) = ws.split();
    let token = local.issuer.id_token("sub-1", "u", "u@example.com", 600);
    sink.send(Message::text(
        serde_json::json!({"action": "auth", "token": token}).to_string(),
    ))
    .await
    .unwrap();
    let _ = stream.next().await;
    assert_eq!(local.poster.client_count(), 1);
    // From here the client only writes: every answer (about 7 KiB) piles up
    // until the socket buffers are full and the server's write stalls.
    let message = "x".repeat(7 * 1024);
    let frame = serde_json::json!({"action": "message", "message": message}).to_string();
    let mut dropped = false;
    for _ in 0..4000 {
        let sent = tokio::time::timeout(
            Duration::from_secs(2),
            sink.send(Message::text(frame.clone())),
        );
        if !matches!(sent.await, Ok(Ok(()))) || local.poster.client_count() == 0 {
            break;
        }
    }
    for _ in 0..100 {
        if local.poster.client_count() == 0 {
            dropped = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        dropped,
        "the stalled connection was dropped and unregistered"
    );
    drop(stream);
}
