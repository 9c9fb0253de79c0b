//! Lost telemetry is counted, never silent: spans in failed exports and
//! spans beyond the bounded queue are counted in `Telemetry::stats` and
//! reported as the `TelemetryLost{Signal, Environment}` gauge.

use perfmon_testkit as common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{dims, TestTelemetry, Value};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use perfmon_lambda::{Signal, TelemetryBuilder};

/// Fails every export while `down`; blocks while `stuck`.
#[derive(Debug, Clone, Default)]
struct Destination {
    down: Arc<AtomicBool>,
    stuck: Arc<AtomicBool>,
    accepted: Arc<AtomicU64>,
}

impl SpanExporter for Destination {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        while self.stuck.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.down.load(Ordering::SeqCst) {
            return Err(OTelSdkError::InternalFailure("connection refused".into()));
        }
        self.accepted
            .fetch_add(batch.len() as u64, Ordering::SeqCst);
        Ok(())
    }
}

fn lost_gauge(t: &TestTelemetry, signal: &str) -> u64 {
    let point = t
        .points_named("TelemetryLost")
        .into_iter()
        .find(|p| p.attributes == dims(&[("Signal", signal), ("Environment", "test")]))
        .unwrap_or_else(|| panic!("TelemetryLost{{Signal={signal}}} is exported"));
    assert_eq!(point.unit, "1");
    match point.value {
        Value::Gauge(v) => v,
        other => panic!("TelemetryLost is a gauge, got {other:?}"),
    }
}

/// Telemetry built while no test in this binary changes the queue size.
fn telemetry(configure: impl FnOnce(TelemetryBuilder) -> TelemetryBuilder) -> TestTelemetry {
    temp_env::with_var_unset("OTEL_BSP_MAX_QUEUE_SIZE", || TestTelemetry::with(configure))
}

fn operations(t: &TestTelemetry, n: usize) {
    for _ in 0..n {
        t.monitor
            .start(common::op::WEBSOCKET_CONVERSATION, [])
            .complete(true, []);
    }
}

#[test]
fn nothing_lost_reports_zero() {
    let t = telemetry(|b| b);
    operations(&t, 3);
    assert_eq!(lost_gauge(&t, "traces"), 0);
    assert_eq!(lost_gauge(&t, "metrics"), 0);
}

#[test]
fn spans_in_failed_exports_are_counted_and_reported() {
    let destination = Destination::default();
    let t = telemetry(|b| b.with_span_exporter(destination.clone()));
    destination.down.store(true, Ordering::SeqCst);
    operations(&t, 5);
    assert!(t.telemetry.force_flush(Duration::from_secs(5)).is_err());
    let stats = t.telemetry.stats();
    assert_eq!(stats.spans_lost, 5);
    assert_eq!(stats.lost(Signal::Traces), 5);
    // The destination comes back: nothing more is lost, and the gauge
    // reports the outage's total.
    destination.down.store(false, Ordering::SeqCst);
    operations(&t, 2);
    assert_eq!(lost_gauge(&t, "traces"), 5);
    assert_eq!(destination.accepted.load(Ordering::SeqCst), 2);
    assert_eq!(lost_gauge(&t, "metrics"), 0);
}

#[test]
fn spans_beyond_the_queue_are_dropped_and_counted() {
    let destination = Destination::default();
    destination.stuck.store(true, Ordering::SeqCst);
    let t = temp_env::with_var("OTEL_BSP_MAX_QUEUE_SIZE", Some("64"), || {
        TestTelemetry::with(|b| b.with_span_exporter(destination.clone()))
    });
    // An export that never returns holds its batch; the queue holds 64.
    operations(&t, 100);
    assert_eq!(t.telemetry.stats().spans_lost, 36);
    destination.stuck.store(false, Ordering::SeqCst);
    assert_eq!(lost_gauge(&t, "traces"), 36);
    assert_eq!(destination.accepted.load(Ordering::SeqCst), 64);
}

#[test]
fn a_bad_queue_size_is_a_typed_error() {
    let err = temp_env::with_var("OTEL_BSP_MAX_QUEUE_SIZE", Some("lots"), || {
        perfmon_lambda::Telemetry::builder()
            .with_exporters_disabled()
            .build()
            .unwrap_err()
    });
    assert_eq!(
        err.to_string(),
        "OTEL_BSP_MAX_QUEUE_SIZE=\"lots\" is not valid: expected a positive number of spans"
    );
}

/// Over a real OTLP/HTTP export with one metric reader, an unmoved total is
/// not sent again at every flush (it is once a minute, `LOSS_REPEAT_MS`),
/// and a moved one is sent at the next flush.
#[test]
fn an_unmoved_total_is_not_resent_at_every_flush() {
    use perfmon_lambda::{ExporterKind, PerformanceMonitor, Telemetry};

    let (addr, rx) = common::capture::collector();
    // Spans go to X-Ray, which refuses (and so loses) any span whose trace
    // id is not X-Ray's: a way to move the traces total.
    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let telemetry = temp_env::with_var_unset("OTEL_EXPORTER_OTLP_COMPRESSION", || {
        Telemetry::builder()
            .with_catalog(common::chat_catalog())
            .with_metrics_exporter(ExporterKind::Otlp)
            .with_otlp_endpoint(format!("http://{addr}"))
            .with_traces_exporter(ExporterKind::Xray)
            .with_xray_daemon_address(daemon.local_addr().unwrap())
            .build()
            .unwrap()
    });
    let monitor = PerformanceMonitor::new(&telemetry);
    // Each flush's metrics request: whether it carries `TelemetryLost`.
    let flush = |parent: Option<&str>| {
        let cx = parent.map_or_else(opentelemetry::Context::new, |trace_id| {
            common::remote_parent(trace_id, true)
        });
        monitor
            .start_with_context(common::op::WEBSOCKET_CONVERSATION, &cx, [])
            .complete(true, []);
        let _ = telemetry.force_flush(Duration::from_secs(10));
        loop {
            let received = rx.recv_timeout(Duration::from_secs(10)).expect("a request");
            if received.path == "/v1/metrics" {
                assert!(common::capture::contains(
                    &received.body,
                    b"HandlerDuration"
                ));
                return common::capture::contains(&received.body, b"TelemetryLost");
            }
        }
    };
    assert!(flush(None), "the first collection reports the totals");
    assert!(!flush(None), "unmoved, within the minute");
    assert!(!flush(None));
    // A random W3C trace id: X-Ray refuses the span, so it is lost. The
    // metrics worker collects while the X-Ray export runs on the flushing
    // thread, so the moved total is reported by this flush or by the next,
    // and by exactly one of them.
    let losing = flush(Some("4bf92f3577b34da6a3ce929d0e0e4736"));
    let next = flush(None);
    assert!(losing != next, "reported once: {losing}, then {next}");
    assert_eq!(telemetry.stats().spans_lost, 1);
    assert!(!flush(None));
}
