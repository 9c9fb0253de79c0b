//! `perfmon-chat load`: N concurrent real WebSocket clients against the
//! local server, each authenticating once and then chatting for a fixed
//! time: as fast as replies come back (saturation), or at a fixed total
//! rate, each client sending on its own schedule and its latency measured
//! from the scheduled send time, so a server that falls behind shows it.
//! Rounds switch monitoring on (the Lambda default path: EMF lines to a
//! discarding writer and X-Ray segments over UDP to a local drain, flushed
//! before the span buffer fills and at least once a second) and off (no
//! exporter, spans not recorded) in the order on, off, off, on
//! ([`monitored`]), so the cost of monitoring is measured in one run; or,
//! with [`LoadOptions::paired`], each round runs both at once
//! (`paired.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::cpu::Cpu;
use crate::load_report::Round;
use crate::serve::serve;
use perfmon_chat::local::LocalApp;
use perfmon_chat::ChatMonitor;
use perfmon_lambda::{ExporterKind, Telemetry};

/// What the load run does.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Concurrent WebSocket clients.
    pub connections: usize,
    /// Length of each round.
    pub round: Duration,
    /// Rounds, monitoring on and off in the order [`monitored`] gives.
    pub rounds: usize,
    /// A round before the measured ones, with monitoring on, no fault and
    /// its EMF lines discarded: whichever round runs first also pays the
    /// process's own warm-up (the allocator's first pages, the runtime's
    /// threads), which is not a cost of monitoring. Zero skips it.
    pub warmup: Duration,
    /// Messages per second offered by all clients together; `None` sends
    /// as fast as replies come back.
    pub rate: Option<u64>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Write the monitored rounds' EMF lines to this file instead of
    /// discarding them, for `perfmon dashboards preview`.
    pub emf_out: Option<std::path::PathBuf>,
    /// A fault to inject in every round.
    pub fault: Option<crate::fault::FaultPlan>,
    /// Trace every message, instead of X-Ray's default rule (1 a second
    /// plus 5 %) as a service that decides for itself would.
    pub trace_all: bool,
    /// Run each round as a pair: a monitored and an unmonitored server at
    /// the same time, each with half the clients and threads of its own,
    /// and each side's CPU time that of its own threads. Side by side, both
    /// kinds meet the same machine, which rounds one after the other do not.
    pub paired: bool,
}

impl LoadOptions {
    /// Clients of each side of a paired round: half of them, at least one.
    pub fn clients_per_side(&self) -> usize {
        (self.connections / 2).max(1)
    }

    /// The sampler the monitored rounds use, in words.
    pub fn sampler(&self) -> &'static str {
        if perfmon_lambda::env::var(perfmon_lambda::env::OTEL_TRACES_SAMPLER).is_some() {
            perfmon_lambda::env::OTEL_TRACES_SAMPLER
        } else if self.trace_all {
            "every message traced"
        } else {
            "X-Ray default rule (1 a second + 5 %)"
        }
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            connections: 200,
            round: Duration::from_secs(5),
            rounds: 4,
            warmup: Duration::from_secs(2),
            rate: None,
            progress: true,
            emf_out: None,
            fault: None,
            trace_all: false,
            paired: false,
        }
    }
}

/// Whether round `i` (from 0) is monitored: on, off, off, on, repeated.
/// Over any multiple of four rounds both kinds hold the same mean position,
/// so a steady drift of the machine's speed during a run (seen of 20 % and
/// more here) weighs on both alike; strict alternation, on first, counted
/// a speed-up against monitoring.
pub fn monitored(i: usize) -> bool {
    matches!(i % 4, 0 | 3)
}

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

/// Runs the warm-up round, if any, then the rounds.
pub async fn run_load(options: LoadOptions) -> Result<Vec<Round>, String> {
    let emf = options
        .emf_out
        .as_deref()
        .map(crate::emf_file)
        .transpose()?;
    let mut rounds = Vec::new();
    if !options.warmup.is_zero() {
        let warmup = LoadOptions {
            round: options.warmup,
            fault: None,
            ..options.clone()
        };
        let warmed = one_or_pair(&warmup, true, None).await?;
        rounds.extend(warmed.into_iter().map(|r| Round { warmup: true, ..r }));
    }
    for i in 0..options.rounds {
        let writer = match &emf {
            Some(file) => Some(
                file.get_ref()
                    .try_clone()
                    .map_err(|e| format!("EMF output: {e}"))?,
            ),
            None => None,
        };
        rounds.extend(one_or_pair(&options, monitored(i), writer).await?);
    }
    Ok(rounds)
}

/// One round, `monitoring` or not; with [`LoadOptions::paired`], a pair of
/// both kinds instead (the monitored side first).
async fn one_or_pair(
    options: &LoadOptions,
    monitoring: bool,
    emf: Option<std::fs::File>,
) -> Result<Vec<Round>, String> {
    if options.paired {
        let (on, off) = crate::paired::round_pair(options, emf).await?;
        Ok(vec![on, off])
    } else {
        Ok(vec![round(options, monitoring, emf, None).await?])
    }
}

/// One round alone, or one side of a paired round: then its clock starts
/// with the other side's, and its CPU time is that of its own threads.
pub(super) async fn round(
    options: &LoadOptions,
    monitoring: bool,
    emf: Option<std::fs::File>,
    pair: Option<&crate::paired::Side>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_go_on_off_off_on_so_a_steady_drift_weighs_on_both_alike() {
        let order: Vec<bool> = (0..8).map(monitored).collect();
        assert_eq!(
            order,
            [true, false, false, true, true, false, false, true],
            "on first, as the warm-up"
        );
        for rounds in [4, 8, 12, 40] {
            // A machine that speeds up by one unit a round adds the same
            // total to both kinds.
            let (on, off): (Vec<usize>, Vec<usize>) = (0..rounds).partition(|&i| monitored(i));
            assert_eq!(on.len(), off.len());
            assert_eq!(
                on.iter().sum::<usize>(),
                off.iter().sum::<usize>(),
                "{rounds}"
            );
        }
    }
}
