//! `force_flush(timeout)` and `shutdown(timeout)` return within their
//! timeout even when the OTLP endpoint accepts connections and never
//! answers, from a current-thread runtime, a multi-thread runtime and a
//! plain thread, over HTTP and gRPC.

use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

use opentelemetry::KeyValue;
use perfmon_lambda::{
    ExporterKind, OtlpProtocol, PerformanceMonitor, Signal, Telemetry, TelemetryError,
};

/// Accepts connections on 127.0.0.1 and never writes a byte back.
fn blackhole() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            let mut s = stream.try_clone().unwrap();
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
            });
            held.push(stream);
        }
    });
    addr
}

const TIMEOUT: Duration = Duration::from_millis(300);
/// Scheduling slack on a shared 2-core machine; a deadlock would block for
/// the SDK's 5 s flush or the exporter's 10 s timeout, or forever.
const SLACK: Duration = Duration::from_millis(1500);

fn telemetry(protocol: OtlpProtocol) -> Telemetry {
    let addr = blackhole();
    Telemetry::builder()
        .with_traces_exporter(ExporterKind::Otlp)
        .with_metrics_exporter(ExporterKind::Otlp)
        .with_otlp_protocol(protocol)
        .with_otlp_endpoint(format!("http://{addr}"))
        .build()
        .unwrap()
}

fn record(telemetry: &Telemetry) {
    let monitor = PerformanceMonitor::new(telemetry);
    monitor
        .start(
            "websocket_conversation",
            [KeyValue::new("app.action", "ping")],
        )
        .complete(true, []);
}

/// Flushes, then shuts down, asserting both stay within their bound.
fn flush_and_shutdown(telemetry: Telemetry) {
    record(&telemetry);
    let started = Instant::now();
    let flushed = telemetry.force_flush(TIMEOUT);
    let took = started.elapsed();
    assert!(took < TIMEOUT + SLACK, "force_flush took {took:?}");
    match flushed {
        Err(TelemetryError::Timeout { timeout, .. }) => assert_eq!(timeout, TIMEOUT),
        other => panic!("a blackhole cannot acknowledge: {other:?}"),
    }
    assert!(
        telemetry.stats().flush_timeouts >= 1,
        "the timeout is counted"
    );

    let started = Instant::now();
    let _ = telemetry.shutdown(TIMEOUT);
    let took = started.elapsed();
    assert!(took < TIMEOUT + SLACK, "shutdown took {took:?}");
    assert_eq!(
        telemetry.shutdown(TIMEOUT),
        Ok(()),
        "shutdown is idempotent"
    );

    let started = Instant::now();
    drop(telemetry);
    assert!(
        started.elapsed() < SLACK,
        "drop does not wait for the exporter"
    );
}

#[test]
fn http_from_a_plain_thread() {
    flush_and_shutdown(telemetry(OtlpProtocol::HttpProtobuf));
}

#[test]
fn grpc_from_a_plain_thread() {
    flush_and_shutdown(telemetry(OtlpProtocol::Grpc));
}

#[tokio::test(flavor = "current_thread")]
async fn http_inside_a_current_thread_runtime() {
    flush_and_shutdown(telemetry(OtlpProtocol::HttpProtobuf));
}

#[tokio::test(flavor = "current_thread")]
async fn grpc_inside_a_current_thread_runtime() {
    flush_and_shutdown(telemetry(OtlpProtocol::Grpc));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_inside_a_multi_thread_runtime() {
    flush_and_shutdown(telemetry(OtlpProtocol::HttpProtobuf));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_inside_a_multi_thread_runtime() {
    flush_and_shutdown(telemetry(OtlpProtocol::Grpc));
}

#[test]
fn an_endpoint_that_refuses_is_an_export_error_counted_once_logged() {
    // Bind then drop: the port refuses connections.
    let addr = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let telemetry = Telemetry::builder()
        .with_traces_exporter(ExporterKind::None)
        .with_metrics_exporter(ExporterKind::Otlp)
        .with_otlp_endpoint(format!("http://{addr}"))
        .build()
        .unwrap();
    record(&telemetry);
    let result = telemetry.force_flush(Duration::from_secs(20));
    assert!(
        matches!(
            result,
            Err(TelemetryError::Export {
                signal: Signal::Metrics,
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(telemetry.stats().flush_failures, 1);
}

#[test]
fn flushing_after_shutdown_is_an_error_not_a_hang() {
    let telemetry = Telemetry::builder()
        .with_exporters_disabled()
        .build()
        .unwrap();
    telemetry.shutdown(TIMEOUT).unwrap();
    assert_eq!(
        telemetry.force_flush(TIMEOUT),
        Err(TelemetryError::ShutDown)
    );
}
