//! End-of-invocation export cost for one chat message's telemetry (the
//! conversation and chat spans, two DynamoDB CLIENT spans, the core and
//! business metrics), in one run:
//!
//! - `emf_udp`: metrics as EMF lines (to a discarding writer, as stdout is
//!   to Lambda), traces as X-Ray segments over UDP to a daemon address on
//!   127.0.0.1;
//! - `otlp_http`: both over OTLP/HTTP to a local collector (rotel, from
//!   `.venv`; skipped when it is not installed).
//!
//! Only the flush is timed; recording is done before the clock starts.
//! Reproduce with `taskset -c 1 cargo bench --bench export`.

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::KeyValue;
use perfmon::{
    attributes as a, operation, CountingAllocator, ExporterKind, MessageType, PerformanceMonitor,
    Telemetry,
};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

/// One chat message's telemetry.
fn invocation(telemetry: &Telemetry, monitor: &PerformanceMonitor) {
    let mut conversation = monitor.start(
        operation::WEBSOCKET_CONVERSATION,
        [
            KeyValue::new(a::CONNECTION_ID, "SlRtFcbfoAMCJRg="),
            KeyValue::new(a::ROUTE_KEY, "$default"),
        ],
    );
    let cx = conversation.context();
    let mut chat = monitor.start_with_context(operation::CHAT_MESSAGE_PROCESSING, &cx, []);
    let chat_cx = chat.context();
    let tracer = telemetry.tracer();
    for _ in 0..2 {
        let mut db = tracer
            .span_builder("DynamoDB.PutItem")
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("rpc.system", "aws-api"),
                KeyValue::new("rpc.service", "DynamoDB"),
            ])
            .start_with_context(&tracer, &chat_cx);
        db.end();
    }
    let business = monitor.business();
    business.message(MessageType::Message);
    business.message_length(42);
    business.database_operations(2);
    business.message_processed();
    chat.complete(true, []);
    conversation.complete(true, []);
    let _ = cx.span();
}

fn timed_flushes(c: &mut Criterion, name: &str, telemetry: &Telemetry) {
    let monitor = PerformanceMonitor::new(telemetry);
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                invocation(telemetry, &monitor);
                let started = Instant::now();
                telemetry
                    .force_flush(Duration::from_secs(5))
                    .expect("the flush succeeds");
                total += started.elapsed();
            }
            total
        })
    });
}

struct Rotel(Child);

impl Drop for Rotel {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rotel() -> Option<(Rotel, String)> {
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/lib");
    let bin = std::fs::read_dir(venv)
        .ok()?
        .flatten()
        .map(|p| p.path().join("site-packages/rotel/rotel-agent"))
        .find(|p| p.exists())?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let grpc = std::net::TcpListener::bind("127.0.0.1:0")
        .ok()?
        .local_addr()
        .ok()?
        .port();
    let child = Command::new(bin)
        .args([
            "start",
            "--otlp-http-endpoint",
            &format!("127.0.0.1:{port}"),
            "--otlp-grpc-endpoint",
            &format!("127.0.0.1:{grpc}"),
            "--exporter",
            "blackhole",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let rotel = Rotel(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Some((rotel, format!("http://127.0.0.1:{port}")))
}

fn export(c: &mut Criterion) {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = daemon.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while daemon.recv(&mut buf).is_ok() {}
    });
    let emf_udp = Telemetry::builder()
        .with_traces_exporter(ExporterKind::Xray)
        .with_xray_daemon_address(address)
        .with_metrics_exporter(ExporterKind::Emf)
        .with_emf_writer(std::io::sink())
        .build()
        .unwrap();
    timed_flushes(c, "export/emf_udp", &emf_udp);

    match rotel() {
        Some((_rotel, endpoint)) => {
            let otlp = Telemetry::builder()
                .with_traces_exporter(ExporterKind::Otlp)
                .with_metrics_exporter(ExporterKind::Otlp)
                .with_otlp_endpoint(endpoint)
                .build()
                .unwrap();
            timed_flushes(c, "export/otlp_http", &otlp);
        }
        None => eprintln!("export/otlp_http SKIPPED: rotel-agent not installed in .venv"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    targets = export
}
criterion_main!(benches);
