//! Collector faults under load. Four concurrent "execution environments"
//! invoke `ws-conversation` through the `PerformanceLayer` as fast as they
//! can, exporting over OTLP to the collector in Docker, while the collector
//! is stopped before the start, killed mid-run and restarted, or frozen
//! (`docker pause`: connections are accepted, nothing is answered).
//!
//! In every case:
//! - no invocation fails, and every message is answered;
//! - no invocation spends more than the flush budget flushing;
//! - what was lost is counted in `Telemetry::stats` and in the
//!   `TelemetryLost` gauge, which reaches the collector once it is back;
//! - new spans reach the collector after it is back.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use common::app::{fixture, fixture_with_body, CONNECTION};
use common::collector::Collector;
use common::lambda_context;
use lambda_runtime::tower::{Layer, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use perfmon_chat::local::LocalApp;
use perfmon_lambda::lambda::PerformanceLayer;
use perfmon_lambda::{ExporterKind, Signal, Telemetry};
use serde_json::json;

/// The flush budget of every invocation (`PERFMON_FLUSH_TIMEOUT_MS`).
const BUDGET: Duration = Duration::from_millis(200);
/// Scheduling slack on this shared 2-core machine, on top of the budget.
const SLACK: Duration = Duration::from_millis(300);
const ENVIRONMENTS: usize = 4;

struct Rig {
    telemetry: Arc<Telemetry>,
    local: LocalApp,
    replies: Arc<AtomicU64>,
    /// Every phase so far, named.
    phases: std::sync::Mutex<Vec<(&'static str, Phase)>>,
}

/// What one phase of load did.
#[derive(Debug, Default, Clone)]
struct Phase {
    invocations: u64,
    failed: u64,
    /// Longest time an invocation spent after its handler returned.
    max_added: Duration,
}

impl Rig {
    async fn new(collector: &Collector) -> Rig {
        let telemetry = temp_env::with_vars(
            [
                // A blackholed export gives up after a second, as a real
                // deployment's exporter timeout would, sooner or later.
                ("OTEL_EXPORTER_OTLP_TIMEOUT", Some("1000")),
                ("OTEL_BSP_MAX_QUEUE_SIZE", None),
            ],
            || {
                Telemetry::builder()
                    .with_catalog(perfmon_chat::catalog())
                    .with_service_name("ws-conversation")
                    .with_environment("faults")
                    .with_traces_exporter(ExporterKind::Otlp)
                    .with_metrics_exporter(ExporterKind::Otlp)
                    .with_otlp_endpoint(collector.endpoint())
                    .build()
                    .unwrap()
            },
        );
        let telemetry = Arc::new(telemetry);
        let local = LocalApp::new(perfmon_chat::ChatMonitor::on(&telemetry).unwrap());
        // Replies are read as a client would; each answered message counts.
        let mut outbox = local.poster.register(CONNECTION);
        let replies = Arc::new(AtomicU64::new(0));
        let counted = replies.clone();
        tokio::spawn(async move {
            while let Some(reply) = outbox.recv().await {
                if reply.starts_with("{\"type\":\"message\"") {
                    counted.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let response = local.app.handle(fixture("connect")).await.unwrap();
        assert_eq!(response.status_code, 200);
        let token = local
            .issuer
            .id_token("sub-faults", "faults", "faults@example.com", 3600);
        let auth = json!({"action": "auth", "token": token}).to_string();
        local
            .app
            .handle(fixture_with_body("default-auth", &auth))
            .await
            .unwrap();
        Rig {
            telemetry,
            local,
            replies,
            phases: Default::default(),
        }
    }

    /// Load for `length`, checked unharmed and logged as `what`.
    async fn phase(&self, what: &'static str, length: Duration) -> Phase {
        let phase = self.load(length).await;
        assert!(phase.invocations > 0, "{what}: no load ran");
        assert_eq!(phase.failed, 0, "{what}: failed invocations");
        assert!(
            phase.max_added <= BUDGET + SLACK,
            "{what}: an invocation spent {:?} after its handler (budget {BUDGET:?})",
            phase.max_added
        );
        self.phases.lock().unwrap().push((what, phase.clone()));
        phase
    }

    /// After the collector is back at log `offset`: two more seconds of
    /// load, every message answered, and the collector shows new spans and
    /// a `TelemetryLost` report of at least `lost`.
    async fn recovered(&self, collector: &Collector, offset: usize, lost: u64) {
        self.phase("after recovery", Duration::from_secs(2)).await;
        let phases = self.phases.lock().unwrap().clone();
        self.assert_all_answered(phases.iter().map(|(_, p)| p.invocations).sum())
            .await;
        assert_recovered(self, collector, offset, lost).await;
        for (what, phase) in &phases {
            eprintln!(
                "{what}: {} invocations, at most {:?} added",
                phase.invocations, phase.max_added
            );
        }
        eprintln!("{:?}", self.telemetry.stats());
    }

    /// Load for `length`: every environment invokes back to back.
    async fn load(&self, length: Duration) -> Phase {
        let deadline = Instant::now() + length;
        let layer = PerformanceLayer::new(
            self.telemetry.clone(),
            self.local.app.monitor.monitor().clone(),
            BUDGET,
        );
        let environments: Vec<_> = (0..ENVIRONMENTS)
            .map(|e| {
                let app = self.local.app.clone();
                let mut service = layer.clone().layer(service_fn(
                    move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| {
                        let app = app.clone();
                        async move {
                            let started = Instant::now();
                            let response = app.handle(event.payload).await;
                            response.map(|r| (r, started.elapsed()))
                        }
                    },
                ));
                let body = json!({"action": "message", "message": format!("hello from {e}"), "sessionId": format!("faults-{e}")}).to_string();
                tokio::spawn(async move {
                    let mut phase = Phase::default();
                    let mut n = 0u64;
                    while Instant::now() < deadline {
                        n += 1;
                        let event = fixture_with_body("default-message", &body);
                        let started = Instant::now();
                        let result = service
                            .ready()
                            .await
                            .unwrap()
                            .call(LambdaEvent::new(
                                event,
                                // No deadline: the budget alone bounds the flush.
                                lambda_context(&format!("req-{e}-{n}"), None, 0),
                            ))
                            .await;
                        let total = started.elapsed();
                        phase.invocations += 1;
                        match result {
                            Ok((response, handler)) if response.status_code == 200 => {
                                phase.max_added = phase.max_added.max(total.saturating_sub(handler));
                            }
                            _ => phase.failed += 1,
                        }
                    }
                    phase
                })
            })
            .collect();
        let mut all = Phase::default();
        for environment in environments {
            let phase = environment.await.unwrap();
            all.invocations += phase.invocations;
            all.failed += phase.failed;
            all.max_added = all.max_added.max(phase.max_added);
        }
        all
    }

    /// Every message so far was answered.
    async fn assert_all_answered(&self, invocations: u64) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.replies.load(Ordering::Relaxed) < invocations && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(self.replies.load(Ordering::Relaxed), invocations);
    }
}

/// `TelemetryLost{Signal=traces, Environment=faults}` values in `logs`.
fn lost_values(logs: &str) -> Vec<u64> {
    logs.split("-> Name: TelemetryLost")
        .skip(1)
        .flat_map(|block| {
            let block = block.split("-> Name:").next().unwrap_or_default();
            block
                .split("Data point attributes:")
                .skip(1)
                .filter(|point| point.contains("Signal: Str(traces)"))
                .filter_map(|point| {
                    point
                        .lines()
                        .find_map(|l| l.trim().strip_prefix("Value: "))
                        .and_then(|v| v.trim().parse().ok())
                })
                .collect::<Vec<u64>>()
        })
        .collect()
}

/// Spans of `ws-conversation` invocations in `logs`.
fn invocation_spans(logs: &str) -> usize {
    logs.matches("Name           : ws-conversation").count()
}

/// Flushes until the collector shows a `TelemetryLost` report of at least
/// `lost` and new invocation spans after `offset` in its log.
async fn assert_recovered(rig: &Rig, collector: &Collector, offset: usize, lost: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let _ = rig.telemetry.force_flush(Duration::from_secs(2));
        let logs = collector.logs();
        let after = logs.get(offset..).unwrap_or_default();
        let reported = lost_values(after).into_iter().max().unwrap_or(0);
        if reported >= lost && invocation_spans(after) > 0 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "after recovery the collector shows TelemetryLost max {reported} (want ≥ {lost}) and {} invocation spans; log tail:\n{}",
            invocation_spans(after),
            &after[after.len().saturating_sub(3000)..]
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_stopped_before_the_start() {
    let Some(collector) = Collector::new("stopped", &[]) else {
        return;
    };
    let rig = Rig::new(&collector).await;
    rig.phase("collector down", Duration::from_secs(3)).await;
    let lost = rig.telemetry.stats().lost(Signal::Traces);
    assert!(lost > 0, "spans exported to nowhere are counted lost");

    collector.up();
    rig.recovered(&collector, 0, lost).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_killed_mid_run_and_restarted() {
    let Some(collector) = Collector::start("killed", &[]) else {
        return;
    };
    let rig = Rig::new(&collector).await;
    rig.phase("before the kill", Duration::from_secs(2)).await;
    assert!(invocation_spans(&collector.logs()) > 0, "telemetry arrives");
    let lost_before = rig.telemetry.stats().lost(Signal::Traces);

    collector.kill();
    rig.phase("collector killed", Duration::from_secs(3)).await;
    let lost = rig.telemetry.stats().lost(Signal::Traces);
    assert!(
        lost > lost_before,
        "spans sent while it was dead are counted lost"
    );

    let offset = collector.logs().len();
    collector.restart();
    rig.recovered(&collector, offset, lost).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collector_that_accepts_and_never_answers() {
    let Some(collector) = Collector::start("frozen", &[]) else {
        return;
    };
    let rig = Rig::new(&collector).await;
    rig.phase("before the freeze", Duration::from_secs(1)).await;

    collector.pause();
    rig.phase("collector frozen", Duration::from_secs(4)).await;
    let stats = rig.telemetry.stats();
    assert!(
        stats.flush_timeouts > 0,
        "flushes gave up at the budget: {stats:?}"
    );
    let lost = stats.lost(Signal::Traces);
    assert!(
        lost > 0,
        "spans beyond the queue or in timed-out exports are counted: {stats:?}"
    );

    let offset = collector.logs().len();
    collector.unpause();
    rig.recovered(&collector, offset, lost).await;
}
