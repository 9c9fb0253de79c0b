//! `perfmon-chat demo`: starts the local server in-process, drives a realistic
//! mix of simulated clients over real WebSocket connections, and reports
//! per operation what the telemetry pipeline recorded, judged against the
//! catalog's thresholds.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use perfmon_chat::ChatMonitor;
use perfmon_lambda::Telemetry;
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use crate::report::{DemoReport, ReportExporter};
use crate::serve::serve;
use perfmon_chat::auth::DevIssuer;
use perfmon_chat::local::LocalApp;

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Simulated client sessions in all.
    pub sessions: usize,
    /// Sessions connected at once.
    pub concurrency: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Also write the run's metrics as EMF lines to this file, flushed
    /// every second, for `perfmon dashboards preview`.
    pub emf_out: Option<std::path::PathBuf>,
}

/// How often a run with `emf_out` flushes its metrics into EMF lines, as a
/// stream of Lambda invocations would.
pub const EMF_FLUSH_INTERVAL: Duration = Duration::from_secs(1);

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            sessions: 300,
            concurrency: 20,
            progress: true,
            emf_out: None,
        }
    }
}

/// What one simulated client does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Persona {
    /// Authenticates, chats, pings, closes normally.
    Regular,
    /// Sends an expired token, then a message anyway.
    Expired,
    /// Sends a token with a forged signature, then a message.
    Forged,
    /// Sends `auth` without a token.
    Missing,
    /// Chats without authenticating.
    Unauthenticated,
    /// Sends a malformed frame and an unknown action.
    Garbled,
    /// Chats, then drops the TCP connection without a close frame.
    Vanishing,
}

fn persona(session: usize) -> Persona {
    match session % 50 {
        0 => Persona::Expired,
        1 => Persona::Forged,
        2 => Persona::Missing,
        3 => Persona::Unauthenticated,
        4 => Persona::Garbled,
        5 | 6 => Persona::Vanishing,
        _ => Persona::Regular,
    }
}

/// Runs the demo and returns its report.
pub async fn run_demo(options: DemoOptions) -> Result<DemoReport, String> {
    let collected = ReportExporter::default();
    let mut builder = Telemetry::builder()
        .with_catalog(perfmon_chat::catalog())
        .with_service_name("perfmon-demo")
        .with_metric_exporter(collected.clone())
        .with_metric_export_interval(Duration::from_secs(3600));
    if let Some(path) = &options.emf_out {
        builder = builder.with_emf_copy(crate::emf_file(path)?);
    }
    let telemetry = Arc::new(builder.build().map_err(|e| e.to_string())?);
    let flusher = options.emf_out.is_some().then(|| {
        let telemetry = telemetry.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EMF_FLUSH_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                let telemetry = telemetry.clone();
                let _ = tokio::task::spawn_blocking(move || {
                    telemetry.force_flush(Duration::from_millis(500))
                })
                .await;
            }
        })
    });
    let monitor = ChatMonitor::on(&telemetry).map_err(|e| e.to_string())?;
    let local = Arc::new(LocalApp::new(monitor));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, local.clone(), async {
        let _ = stopped.await;
    }));

    let bar = if options.progress {
        indicatif::ProgressBar::new(options.sessions as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} sessions {per_sec}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    let url = format!("ws://{addr}");
    let tallies: Vec<Tally> = futures_util::stream::iter(0..options.sessions)
        .map(|session| {
            let url = url.clone();
            let issuer = local.issuer.clone();
            let bar = bar.clone();
            async move {
                let tally = client(&url, &issuer, session).await;
                bar.inc(1);
                tally
            }
        })
        .buffer_unordered(options.concurrency.max(1))
        .collect()
        .await;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let _ = stop.send(());
    let _ = server.await;
    // Let the server's last $disconnect handlers finish before shutdown.
    let deadline = Instant::now() + Duration::from_secs(5);
    while local.store.connection_count() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    if let Some(flusher) = flusher {
        flusher.abort();
    }
    telemetry
        .shutdown(Duration::from_secs(10))
        .map_err(|e| format!("telemetry shutdown: {e}"))?;
    let collected = collected.take();
    Ok(DemoReport {
        catalog: telemetry.settings().catalog.clone(),
        environment: telemetry.settings().environment.clone(),
        collected,
        frames_sent: tallies.iter().map(|t| t.sent).sum(),
        replies: tallies.iter().map(|t| t.replies).sum(),
        client_failures: tallies.iter().filter(|t| t.failed).count() as u64,
        elapsed,
    })
}

#[derive(Debug, Default)]
struct Tally {
    sent: u64,
    replies: u64,
    failed: bool,
}

/// One simulated client session over a real WebSocket.
async fn client(url: &str, issuer: &DevIssuer, session: usize) -> Tally {
    let mut tally = Tally::default();
    let Ok((mut ws, _)) =
        tokio_tungstenite::connect_async_with_config(url, Some(crate::websocket_config()), true)
            .await
    else {
        tally.failed = true;
        return tally;
    };
    let sub = format!("user-{:04}", session % 97);
    let valid = || {
        issuer.id_token(
            &sub,
            &format!("name{session}"),
            &format!("u{session}@example.com"),
            3600,
        )
    };
    let persona = persona(session);
    let mut frames: Vec<String> = Vec::new();
    let message = |text: &str, session_id: Option<&str>| {
        let mut frame = json!({"action": "message", "message": text});
        if let Some(id) = session_id {
            frame["sessionId"] = json!(id);
        }
        frame.to_string()
    };
    match persona {
        Persona::Regular | Persona::Vanishing => {
            frames.push(json!({"action": "auth", "token": valid()}).to_string());
            frames.push(message("Hello there", None));
        }
        Persona::Expired => {
            let token = issuer.id_token(&sub, "late", "late@example.com", -600);
            frames.push(json!({"action": "auth", "token": token}).to_string());
            frames.push(message("am I in?", None));
        }
        Persona::Forged => {
            let mut token = valid();
            token.truncate(token.len() - 4);
            token.push_str("AAAA");
            frames.push(json!({"action": "auth", "token": token}).to_string());
            frames.push(message("let me in", None));
        }
        Persona::Missing => frames.push(json!({"action": "auth"}).to_string()),
        Persona::Unauthenticated => frames.push(message("hello?", None)),
        Persona::Garbled => {
            frames.push("{\"action\":\"message\",".to_owned());
            frames.push(json!({"action": "subscribe"}).to_string());
        }
    }
    let mut session_id: Option<String> = None;
    for frame in frames {
        if !exchange(&mut ws, frame, &mut tally, &mut session_id).await {
            tally.failed = true;
            return tally;
        }
    }
    if matches!(persona, Persona::Regular | Persona::Vanishing) {
        for i in 0..(1 + session % 3) {
            let frame = message(
                &format!("question {i}: what can you do?"),
                session_id.as_deref(),
            );
            if !exchange(&mut ws, frame, &mut tally, &mut session_id).await {
                tally.failed = true;
                return tally;
            }
        }
    }
    if !exchange(
        &mut ws,
        json!({"action": "ping"}).to_string(),
        &mut tally,
        &mut session_id,
    )
    .await
    {
        tally.failed = true;
        return tally;
    }
    if persona == Persona::Vanishing {
        drop(ws); // no close frame: API Gateway reports 1006
    } else {
        let _ = ws
            .close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .await;
        while let Some(Ok(_)) = ws.next().await {}
    }
    tally
}

/// Sends one frame and waits for its one reply.
async fn exchange<S>(
    ws: &mut S,
    frame: String,
    tally: &mut Tally,
    session_id: &mut Option<String>,
) -> bool
where
    S: futures_util::Sink<Message>
        + futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
{
    if ws.send(Message::text(frame)).await.is_err() {
        return false;
    }
    tally.sent += 1;
    match tokio::time::timeout(Duration::from_secs(10), ws.next()).await {
        Ok(Some(Ok(Message::Text(reply)))) => {
            tally.replies += 1;
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(reply.as_str()) {
                if let Some(id) = value.get("sessionId").and_then(|v| v.as_str()) {
                    *session_id = Some(id.to_owned());
                }
            }
            true
        }
        _ => false,
    }
}
