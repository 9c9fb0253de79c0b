//! End-of-invocation export cost for one chat message's telemetry (the
//! conversation and chat spans, two DynamoDB CLIENT spans, the core and
//! business metrics), in one run:
//!
//! - `emf_udp`: metrics as EMF lines (to a discarding writer, as stdout is
//!   to Lambda), traces as X-Ray segments over UDP to a daemon address on
//!   127.0.0.1;
//! - `otlp_http`: both over OTLP/HTTP to a local collector (rotel, from
//!   `.venv`; skipped when it is not installed);
//! - `otlp_refused`: OTLP/HTTP to a closed port, with retries off as on
//!   Lambda (`PERFMON_OTLP_RETRY=false`), and `otlp_refused_retrying` with
//!   the exporter's recommended retries, the cost of a dead collector per
//!   invocation.
//!
//! Only the flush is timed; recording is done before the clock starts.
//! Reproduce with `taskset -c 1 cargo bench --bench export`.

#[path = "support/chat_message.rs"]
mod chat_message;

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chat_message::{catalog, invocation, Business};
use criterion::{criterion_group, criterion_main, Criterion};
use perfmon_lambda::{CountingAllocator, ExporterKind, PerformanceMonitor, Telemetry};

#[global_allocator]
static ALLOC: CountingAllocator = CountingAllocator::system();

fn timed_flushes(c: &mut Criterion, name: &str, telemetry: &Telemetry) {
    timed(c, name, telemetry, true)
}

/// Times flushes; `succeed` says whether each must succeed.
fn timed(c: &mut Criterion, name: &str, telemetry: &Telemetry, succeed: bool) {
    let monitor = PerformanceMonitor::new(telemetry);
    let business = Business::new(&monitor);
    c.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                invocation(telemetry, &monitor, &business);
                let started = Instant::now();
                let result = telemetry.force_flush(Duration::from_secs(5));
                assert_eq!(result.is_ok(), succeed, "{result:?}");
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
        .with_catalog(catalog())
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
                .with_catalog(catalog())
                .with_traces_exporter(ExporterKind::Otlp)
                .with_metrics_exporter(ExporterKind::Otlp)
                .with_otlp_endpoint(endpoint)
                .build()
                .unwrap();
            timed_flushes(c, "export/otlp_http", &otlp);
        }
        None => eprintln!("export/otlp_http SKIPPED: rotel-agent not installed in .venv"),
    }

    // A port nobody listens on: every export is refused at once.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    for (name, retry) in [
        ("export/otlp_refused", false),
        ("export/otlp_refused_retrying", true),
    ] {
        let refused = Telemetry::builder()
            .with_catalog(catalog())
            .with_traces_exporter(ExporterKind::Otlp)
            .with_metrics_exporter(ExporterKind::Otlp)
            .with_otlp_endpoint(format!("http://{closed}"))
            .with_otlp_retry(retry)
            .build()
            .unwrap();
        timed(c, name, &refused, false);
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
