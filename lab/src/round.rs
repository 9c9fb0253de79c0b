//! One load round: the local server with monitoring on (the Lambda default
//! path: EMF lines to a discarding writer, X-Ray segments over UDP to a
//! local drain) or off, real WebSocket clients against it, and what the
//! round measured ([`Round`]); in a paired round, one [`Side`] of it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use perfmon_chat::local::LocalApp;
use perfmon_chat::ChatMonitor;
use perfmon_lambda::{ExporterKind, Telemetry};
use serde_json::json;
use tokio::sync::Barrier;
use tokio_tungstenite::tungstenite::Message;

use crate::cpu::Cpu;
use crate::load_report::Round;
use crate::options::LoadOptions;
use crate::serve::serve;

/// How long one side of a pair waits for the other to be ready.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// Finished spans at which a monitored round flushes, as a server
/// flushing on its own schedule does before its span buffer
/// ([`perfmon_lambda::MAX_BUFFERED_SPANS`]) fills: a fifth of it. A chat message
/// ends two spans (the conversation and the chat operation), so a traced
/// round flushes every 200 messages, and a sampled one (5 %) about every
/// 4,000. The spans that end while the flusher sleeps (1 ms, about 120 at
/// 60k msg/s traced) and during the flush stay within the buffer. (Every
/// 1,000 replies, about 12 % of a traced round's spans were dropped, and
/// with them their export; every 200 replies whatever the sampler, a
/// sampled round flushed its metrics about 165 times a second, which no
/// server does.)
const FLUSH_AT_SPANS: u64 = perfmon_lambda::MAX_BUFFERED_SPANS as u64 / 5;

/// One side of a paired round.
#[derive(Debug)]
pub(crate) struct Side {
    /// Prefix of the names of this side's threads: its CPU is theirs.
    pub threads: &'static str,
    /// Both sides start their clocks once both have their clients ready.
    start: Arc<Barrier>,
}

impl Side {
    /// The side whose threads' names start with `threads`, starting with
    /// the other once both wait at `start`.
    pub(crate) fn new(threads: &'static str, start: Arc<Barrier>) -> Self {
        Side { threads, start }
    }

    /// Waits for the other side to be ready too.
    pub(crate) async fn start_together(&self) -> Result<(), String> {
        tokio::time::timeout(START_TIMEOUT, self.start.wait())
            .await
            .map(drop)
            .map_err(|_| "the other side of the paired round did not start".to_owned())
    }
}

/// One round alone, or one side of a paired round: then its clock starts
/// with the other side's, and its CPU time is that of its own threads.
pub(crate) async fn round(
    options: &LoadOptions,
    monitoring: bool,
    emf: Option<std::fs::File>,
    pair: Option<&Side>,
) -> Result<Round, String> {
    let drain = std::net::UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let drain_addr = drain.local_addr().map_err(|e| e.to_string())?;
    // Stands in for the X-Ray daemon, which shares the machine as it shares
    // a Lambda environment; named so that a profile can tell its share, and
    // so that a paired round counts it in its side's CPU.
    std::thread::Builder::new()
        .name(pair.map_or("xray-drain".to_owned(), |side| {
            format!("{}-drain", side.threads)
        }))
        .spawn(move || {
            let mut buf = [0u8; 65536];
            let _ = drain.set_read_timeout(Some(Duration::from_secs(30)));
            while drain.recv(&mut buf).is_ok() {}
        })
        .map_err(|e| e.to_string())?;
    let mut builder = Telemetry::builder()
        .with_catalog(perfmon_chat::catalog())
        .with_service_name("perfmon-load");
    if !options.trace_all {
        builder = builder.with_default_sampler(perfmon_lambda::XrayDefaultSampler::parent_based());
    }
    let builder = if monitoring {
        builder
            .with_metrics_exporter(ExporterKind::Emf)
            .with_emf_writer(match emf {
                Some(file) => {
                    Box::new(std::io::LineWriter::new(file)) as Box<dyn std::io::Write + Send>
                }
                None => Box::new(std::io::sink()),
            })
            .with_traces_exporter(ExporterKind::Xray)
            .with_xray_daemon_address(drain_addr)
    } else {
        builder.with_exporters_disabled()
    };
    let telemetry = Arc::new(builder.build().map_err(|e| e.to_string())?);
    let fault_on = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let local = Arc::new(LocalApp::with_fault(
        ChatMonitor::on(&telemetry).map_err(|e| e.to_string())?,
        options.fault.map(|plan| (plan.kind, fault_on.clone())),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| e.to_string())?;
    let url = format!("ws://{}", listener.local_addr().map_err(|e| e.to_string())?);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, local.clone(), async {
        let _ = stopped.await;
    }));

    let bar = if options.progress {
        indicatif::ProgressBar::new(options.round.as_millis() as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_message(if monitoring {
        "monitoring on "
    } else {
        "monitoring off"
    });
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} {bar:40} {elapsed} {prefix}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let replies = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(Mutex::new(Vec::<u32>::new()));
    // Every client connects and authenticates before the clock starts.
    let mut clients = Vec::new();
    for i in 0..options.connections {
        let token = local
            .issuer
            .id_token(&format!("load-{i}"), "load", "load@example.com", 3600);
        let (mut ws, _) = tokio_tungstenite::connect_async_with_config(
            url.as_str(),
            Some(crate::websocket_config()),
            true,
        )
        .await
        .map_err(|e| format!("connect: {e}"))?;
        ws.send(Message::text(
            json!({"action": "auth", "token": token}).to_string(),
        ))
        .await
        .map_err(|e| e.to_string())?;
        ws.next().await;
        clients.push(ws);
    }
    if let Some(side) = pair {
        side.start_together().await?;
    }
    let started = Instant::now();
    // The process's clock, or in a pair that of this side's threads.
    let clock = pair.map(|side| side.threads);
    let cpu_at_start = Cpu::now(clock);
    let deadline = started + options.round;
    let fault = options
        .fault
        .map(|plan| crate::fault::schedule(plan, fault_on.clone()));
    let flusher = {
        let telemetry = telemetry.clone();
        tokio::task::spawn_blocking(move || {
            // A flush before the span buffer fills (`FLUSH_AT_SPANS`), and
            // at least once a second, so that slow rounds leave datapoints.
            let mut last_at = Instant::now();
            while Instant::now() < deadline {
                if telemetry.stats().spans_buffered >= FLUSH_AT_SPANS
                    || last_at.elapsed() >= crate::demo::EMF_FLUSH_INTERVAL
                {
                    let _ = telemetry.force_flush(Duration::from_millis(500));
                    last_at = Instant::now();
                }
                std::thread::sleep(Duration::from_millis(1));
            }
        })
    };
    // Each client's gap between sends at a fixed rate; clients start
    // staggered across one gap.
    let gap = options
        .rate
        .map(|rate| Duration::from_secs_f64(options.connections as f64 / rate.max(1) as f64));
    let tasks: Vec<_> = clients
        .into_iter()
        .enumerate()
        .map(|(i, mut ws)| {
            let (replies, errors, latencies) = (replies.clone(), errors.clone(), latencies.clone());
            let mut next = gap.map(|gap| started + gap.mul_f64(i as f64 / options.connections as f64));
            tokio::spawn(async move {
                let mut local_latencies = Vec::new();
                let frame = json!({"action": "message", "message": format!("load message from {i}"), "sessionId": format!("s-{i}")}).to_string();
                while Instant::now() < deadline {
                    let sent = match (&mut next, gap) {
                        (Some(at), Some(gap)) => {
                            tokio::time::sleep_until((*at).into()).await;
                            let scheduled = *at;
                            *at += gap;
                            if scheduled >= deadline {
                                break;
                            }
                            scheduled
                        }
                        _ => Instant::now(),
                    };
                    if ws.send(Message::text(frame.clone())).await.is_err() {
                        errors.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    match tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
                        Ok(Some(Ok(Message::Text(text)))) if text.as_str().starts_with("{\"type\":\"message\"") => {
                            local_latencies.push(sent.elapsed().as_micros().min(u32::MAX as u128) as u32);
                            replies.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            errors.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                let _ = ws.close(None).await;
                latencies.lock().unwrap_or_else(|e| e.into_inner()).extend(local_latencies);
            })
        })
        .collect();
    while Instant::now() < deadline {
        bar.set_position(started.elapsed().as_millis() as u64);
        bar.set_prefix(format!("{} msgs", replies.load(Ordering::Relaxed)));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = started.elapsed();
    let cpu = Cpu::now(clock).since(&cpu_at_start);
    bar.finish_and_clear();
    let _ = flusher.await;
    if let Some(fault) = fault {
        fault.abort();
    }
    let _ = stop.send(());
    let _ = server.await;
    let _ = telemetry.shutdown(Duration::from_secs(2));
    let spans_dropped = telemetry.stats().spans_dropped;
    let mut all = std::mem::take(&mut *latencies.lock().unwrap_or_else(|e| e.into_inner()));
    all.sort_unstable();
    let pct = |q: f64| {
        if all.is_empty() {
            0.0
        } else {
            all[((q * all.len() as f64).ceil() as usize).clamp(1, all.len()) - 1] as f64 / 1000.0
        }
    };
    Ok(Round {
        warmup: false,
        monitoring,
        messages: replies.load(Ordering::Relaxed),
        errors: errors.load(Ordering::Relaxed),
        elapsed,
        cpu,
        latency_ms: [pct(0.50), pct(0.95), pct(0.99)],
        spans_dropped,
    })
}
