//! `perfmon demo`: starts the local server in-process, drives a realistic
//! mix of simulated clients over real WebSocket connections, and reports
//! per operation what the telemetry pipeline recorded, judged against the
//! catalog's thresholds.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::ChatMonitor;
use futures_util::{SinkExt, StreamExt};
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};
use opentelemetry_sdk::metrics::exporter::PushMetricExporter;
use opentelemetry_sdk::metrics::Temporality;
use perfmon::Distribution;
use perfmon::{Catalog, Telemetry};
use serde_json::json;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use super::{serve, LocalApp};
use crate::auth::DevIssuer;

/// What the demo runs.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Simulated client sessions in all.
    pub sessions: usize,
    /// Sessions connected at once.
    pub concurrency: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            sessions: 300,
            concurrency: 20,
            progress: true,
        }
    }
}

/// Everything exported, keyed by metric name and sorted attributes.
#[derive(Debug, Default)]
struct Collected {
    sums: BTreeMap<(String, String), u64>,
    histograms: BTreeMap<(String, String), Distribution>,
}

fn key<'a>(attrs: impl Iterator<Item = &'a opentelemetry::KeyValue>) -> String {
    let mut pairs: Vec<String> = attrs.map(|kv| format!("{}={}", kv.key, kv.value)).collect();
    pairs.sort();
    pairs.join(",")
}

/// A metric exporter that keeps what it receives for the report.
#[derive(Debug, Clone, Default)]
struct ReportExporter(Arc<Mutex<Collected>>);

impl PushMetricExporter for ReportExporter {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        let mut c = self.0.lock().unwrap_or_else(|e| e.into_inner());
        for scope in metrics.scope_metrics() {
            for metric in scope.metrics() {
                let name = metric.name().to_owned();
                match metric.data() {
                    AggregatedMetrics::U64(MetricData::Sum(s)) => {
                        for p in s.data_points() {
                            *c.sums
                                .entry((name.clone(), key(p.attributes())))
                                .or_default() += p.value();
                        }
                    }
                    AggregatedMetrics::F64(MetricData::ExponentialHistogram(h)) => {
                        for p in h.data_points() {
                            c.histograms
                                .entry((name.clone(), key(p.attributes())))
                                .or_default()
                                .merge(Distribution::of(p, |v| v));
                        }
                    }
                    AggregatedMetrics::U64(MetricData::ExponentialHistogram(h)) => {
                        for p in h.data_points() {
                            c.histograms
                                .entry((name.clone(), key(p.attributes())))
                                .or_default()
                                .merge(Distribution::of(p, |v| v as f64));
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _: Duration) -> OTelSdkResult {
        Ok(())
    }

    fn temporality(&self) -> Temporality {
        Temporality::Delta
    }
}

/// What the demo measured.
#[derive(Debug)]
pub struct DemoReport {
    catalog: Catalog,
    environment: String,
    collected: Collected,
    /// Frames the clients sent.
    pub frames_sent: u64,
    /// Replies the clients received.
    pub replies: u64,
    /// Clients that saw a timeout or a broken connection.
    pub client_failures: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl DemoReport {
    /// The attribute key of `handler`'s points, plus one extra dimension.
    fn point_key(&self, handler: &str, extra: Option<(&str, &str)>) -> String {
        let mut parts = vec![
            format!("Environment={}", self.environment),
            format!("Handler={handler}"),
        ];
        if let Some((k, v)) = extra {
            parts.push(format!("{k}={v}"));
        }
        parts.sort();
        parts.join(",")
    }

    /// A counter's total for `handler` with exactly the extra dimension.
    fn sum(&self, metric: &str, handler: &str, extra: Option<(&str, &str)>) -> u64 {
        let key = (metric.to_owned(), self.point_key(handler, extra));
        self.collected.sums.get(&key).copied().unwrap_or(0)
    }

    /// A counter's total for `handler` over every value of its other
    /// dimensions (e.g. `Errors` over all `ErrorType`s).
    fn total(&self, metric: &str, handler: &str) -> u64 {
        let handler = format!("Handler={handler}");
        self.collected
            .sums
            .iter()
            .filter(|((m, k), _)| m == metric && k.split(',').any(|p| p == handler))
            .map(|(_, v)| v)
            .sum()
    }

    fn histogram(&self, metric: &str, handler: &str) -> Distribution {
        let key = (metric.to_owned(), self.point_key(handler, None));
        self.collected
            .histograms
            .get(&key)
            .cloned()
            .unwrap_or_default()
    }

    /// Whether every operation kept within its thresholds.
    pub fn all_pass(&self) -> bool {
        self.rows().iter().all(|r| r.pass())
    }

    /// Invocations of `operation`.
    pub fn invocations(&self, operation: &str) -> u64 {
        self.sum("Invocations", operation, None)
    }

    fn rows(&self) -> Vec<Row> {
        self.catalog
            .operations
            .iter()
            .map(|op| {
                let duration = self.histogram("HandlerDuration", &op.name);
                let memory = self.histogram("MemoryUsage", &op.name);
                let invocations = self.invocations(&op.name);
                let errors = self.total("Errors", &op.name);
                Row {
                    name: op.name.clone(),
                    limits: op.thresholds,
                    invocations,
                    errors,
                    p50: duration.quantile(0.50),
                    p95: duration.quantile(0.95),
                    p99: duration.quantile(0.99),
                    memory_max: memory.max,
                }
            })
            .collect()
    }
}

struct Row {
    name: String,
    limits: perfmon::Thresholds,
    invocations: u64,
    errors: u64,
    p50: f64,
    p95: f64,
    p99: f64,
    memory_max: f64,
}

impl Row {
    fn error_rate(&self) -> f64 {
        if self.invocations == 0 {
            0.0
        } else {
            100.0 * self.errors as f64 / self.invocations as f64
        }
    }
    fn pass_duration(&self) -> bool {
        self.p99 <= self.limits.duration_ms
    }
    fn pass_memory(&self) -> bool {
        self.memory_max <= self.limits.memory_bytes as f64
    }
    fn pass_errors(&self) -> bool {
        self.error_rate() <= self.limits.error_rate_percent
    }
    fn pass(&self) -> bool {
        self.pass_duration() && self.pass_memory() && self.pass_errors()
    }
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "FAIL"
    }
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MIB: f64 = 1024.0 * 1024.0;
        writeln!(
            f,
            "\nperfmon demo: {} frames, {} replies, {} client failures in {:.2} s\n",
            self.frames_sent,
            self.replies,
            self.client_failures,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(
            f,
            "{:<32} {:>6} {:>8} {:>8} {:>8} {:>6}  {:>9} {:>6}  {:>7} {:>6}  verdict",
            "operation",
            "count",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "limit",
            "mem MiB",
            "limit",
            "errors",
            "limit",
        )?;
        for r in self.rows() {
            writeln!(
                f,
                "{:<32} {:>6} {:>8.3} {:>8.3} {:>8.3} {:>6} {}{:>9.1} {:>6} {}{:>6.1}% {:>5}% {}  {}",
                r.name,
                r.invocations,
                r.p50,
                r.p95,
                r.p99,
                r.limits.duration_ms,
                if r.pass_duration() { ' ' } else { '!' },
                r.memory_max / MIB,
                r.limits.memory_bytes as f64 / MIB,
                if r.pass_memory() { ' ' } else { '!' },
                r.error_rate(),
                r.limits.error_rate_percent,
                if r.pass_errors() { ' ' } else { '!' },
                mark(r.pass())
            )?;
        }
        let conv = "websocket_conversation";
        let conn = "websocket_connection";
        let auth = "authentication_jwt_verification";
        let chat = "chat_message_processing";
        let messages: Vec<String> = ["auth", "message", "ping", "unknown"]
            .iter()
            .map(|t| {
                format!(
                    "{t}={}",
                    self.sum("Messages", conv, Some(("MessageType", t)))
                )
            })
            .collect();
        let auth_ok = self.sum("AuthMessages", conv, Some(("Outcome", "success")));
        let auth_bad = self.sum("AuthMessages", conv, Some(("Outcome", "failure")));
        let reasons: Vec<String> = ["normal", "error", "timeout"]
            .iter()
            .map(|r| format!("{r}={}", self.sum("Disconnects", conn, Some(("Reason", r)))))
            .collect();
        let outcomes: Vec<String> = ["success", "MISSING_TOKEN", "TOKEN_EXPIRED", "INVALID_TOKEN"]
            .iter()
            .map(|o| {
                format!(
                    "{o}={}",
                    self.sum("Verifications", auth, Some(("Outcome", o)))
                )
            })
            .collect();
        let processed = self.sum("MessagesProcessed", chat, None);
        let db_ops = self.sum("DatabaseOperations", chat, None);
        let minutes = self.elapsed.as_secs_f64().max(1e-9) / 60.0;
        writeln!(f, "\nbusiness metrics")?;
        writeln!(f, "  messages by type            {}", messages.join(" "))?;
        writeln!(
            f,
            "  messages per minute         {:.0}",
            self.histogram("MessageLength", conv).count as f64 / minutes
        )?;
        writeln!(
            f,
            "  average message length      {:.1} bytes",
            self.histogram("MessageLength", conv).mean()
        )?;
        writeln!(
            f,
            "  auth success rate           {:.1}% ({auth_ok} of {})",
            100.0 * auth_ok as f64 / (auth_ok + auth_bad).max(1) as f64,
            auth_ok + auth_bad
        )?;
        writeln!(
            f,
            "  connections per minute      {:.0}",
            self.sum("Connections", conn, Some(("EventType", "connect"))) as f64 / minutes
        )?;
        writeln!(
            f,
            "  average connection duration {:.1} ms",
            self.histogram("ConnectionDuration", conn).mean()
        )?;
        writeln!(f, "  disconnect reasons          {}", reasons.join(" "))?;
        writeln!(f, "  verification outcomes       {}", outcomes.join(" "))?;
        writeln!(
            f,
            "  messages processed / minute {:.0}",
            processed as f64 / minutes
        )?;
        writeln!(
            f,
            "  average processing time     {:.3} ms",
            self.histogram("HandlerDuration", chat).mean()
        )?;
        writeln!(
            f,
            "  DB operations per message   {:.2}",
            db_ops as f64 / processed.max(1) as f64
        )?;
        writeln!(
            f,
            "\nthresholds from catalog v{} ({}); '!' marks a breach",
            self.catalog.version, self.catalog.namespace
        )
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
    let telemetry = Telemetry::builder()
        .with_catalog(crate::catalog())
        .with_service_name("perfmon-demo")
        .with_metric_exporter(collected.clone())
        .with_metric_export_interval(Duration::from_secs(3600))
        .build()
        .map_err(|e| e.to_string())?;
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
    telemetry
        .shutdown(Duration::from_secs(10))
        .map_err(|e| format!("telemetry shutdown: {e}"))?;
    let collected = std::mem::take(&mut *collected.0.lock().unwrap_or_else(|e| e.into_inner()));
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
        tokio_tungstenite::connect_async_with_config(url, Some(super::websocket_config()), true)
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
