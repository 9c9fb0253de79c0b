//! What each flush mode costs the caller: a measurement, not a test (it is
//! ignored, and asserts nothing about time). Run it with
//! `scripts/flush_latency.sh`.
//!
//! One chat message (the `default-message` fixture, an authenticated
//! connection) is invoked through the cargo-lambda emulator's Runtime API,
//! 1,000 times per variant, and the caller-visible latency (request sent to
//! answer read, on a fresh connection each time) is recorded. The function
//! runs in this process under the real `lambda_runtime` loop, on the local
//! app (in-memory store, in-process delivery), so the handler's own time is
//! small and stable and the flush is what differs:
//! - `no monitoring`: the handler alone under `lambda_runtime`, its
//!   operations recorded into a pipeline that exports nothing;
//! - `sync`, `after-response`, `adaptive`: inside the `PerformanceLayer`
//!   and its `FlushLayer`, exporting OTLP/HTTP to the local collector
//!   (Docker).
//!
//! The variants take turns in blocks of 100, so that drift on a shared
//! machine spreads over all of them. The caller waits [`GAP`] before each
//! invocation: on Lambda, a request arriving while an environment still
//! flushes goes to another environment, so what one caller sees is the
//! response path alone. Back to back, with no gap, each invocation of the
//! asynchronous modes also waits for the previous one's flush; the second
//! table shows that.
#![cfg(feature = "aws")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::app::fixture_json;
use common::collector::Collector;
use common::emulator::Emulator;
use lambda_runtime::tower::Layer as _;
use lambda_runtime::{service_fn, LambdaEvent, Runtime};
use opentelemetry::Context;
use perfmon_chat::local::LocalApp;
use perfmon_chat::store::ConnectionStore;
use perfmon_chat::ChatMonitor;
use perfmon_lambda::lambda::{FlushMode, PerformanceLayer};
use perfmon_lambda::{OtlpProtocol, PerformanceMonitor, Telemetry};

const INVOCATIONS: usize = 1_000;
/// The caller's pause before each invocation, longer than a flush to the
/// local collector.
const GAP: Duration = Duration::from_millis(5);
const BLOCK: usize = 100;

/// A function serving chat messages, monitored with `mode` (`None`: not
/// monitored), run by the runtime against its own emulator.
fn function(mode: Option<FlushMode>, collector: &str) -> Emulator {
    let emulator = Emulator::runtime_api("chat").expect("cargo-lambda is installed");
    let telemetry = Arc::new(
        match mode {
            None => Telemetry::builder()
                .with_catalog(perfmon_chat::catalog())
                .with_exporters_disabled()
                .build(),
            Some(_) => Telemetry::builder()
                .with_catalog(perfmon_chat::catalog())
                .with_service_name("flush-latency")
                .with_otlp_endpoint(collector)
                .with_otlp_protocol(OtlpProtocol::HttpProtobuf)
                .build(),
        }
        .expect("telemetry builds"),
    );
    let local = LocalApp::new(ChatMonitor::on(&telemetry).expect("the chat catalog"));
    // Frames posted to the connection are kept, never read.
    let inbox = local.poster.register(common::app::CONNECTION);
    block_on(
        local
            .store
            .put(&Context::new(), &common::app::authenticated_connection()),
    )
    .expect("the connection is stored");
    let app = local.app;
    let handler = service_fn(move |event: LambdaEvent<_>| {
        let app = app.clone();
        async move { app.handle(event.payload).await }
    });
    std::env::set_var("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api_url());
    std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "chat");
    std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "1");
    std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024");
    fn spawn(
        inbox: impl Send + 'static,
        run: impl std::future::Future<Output = Result<(), lambda_runtime::Error>> + Send + 'static,
    ) {
        std::thread::spawn(move || {
            let _inbox = inbox;
            let stopped = tokio::runtime::Runtime::new().unwrap().block_on(run);
            eprintln!("the runtime stopped: {stopped:?}");
        });
    }
    // The runtime reads the environment when it is made, here.
    match mode {
        None => spawn(inbox, Runtime::new(handler).run()),
        Some(mode) => {
            let monitor = PerformanceMonitor::new(&telemetry);
            let layer =
                PerformanceLayer::from_env(telemetry.clone(), monitor).with_flush_mode(mode);
            spawn(
                inbox,
                Runtime::new(layer.layer(handler))
                    .layer(layer.flush_layer())
                    .run(),
            )
        }
    }
    emulator
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

fn percentile(sorted: &[Duration], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

#[test]
#[ignore = "a measurement: scripts/flush_latency.sh"]
fn flush_mode_latency() {
    let collector = Collector::start("latency", &[]).expect("Docker runs the collector");
    let endpoint = collector.endpoint();
    let variants: Vec<(&str, Option<FlushMode>)> = vec![
        ("no monitoring", None),
        ("sync", Some(FlushMode::Sync)),
        ("after-response", Some(FlushMode::AfterResponse)),
        (
            "adaptive (20 s)",
            Some(FlushMode::Adaptive {
                interval: Duration::from_secs(20),
            }),
        ),
    ];
    let functions: Vec<Emulator> = variants
        .iter()
        .map(|(_, mode)| function(*mode, &endpoint))
        .collect();
    let event = fixture_json("default-message");
    // Warm-up: the cold start, connections, the first flush.
    for f in &functions {
        for _ in 0..20 {
            let answer = f.invoke("_", &event);
            assert_eq!(answer["statusCode"], 200, "{answer}");
        }
    }
    for gap in [GAP, Duration::ZERO] {
        let mut samples = vec![Vec::with_capacity(INVOCATIONS); variants.len()];
        for _ in 0..INVOCATIONS / BLOCK {
            for (f, samples) in functions.iter().zip(&mut samples) {
                for _ in 0..BLOCK {
                    std::thread::sleep(gap);
                    let sent = Instant::now();
                    let answer = f.invoke("_", &event);
                    samples.push(sent.elapsed());
                    assert_eq!(answer["statusCode"], 200, "{answer}");
                }
            }
        }
        let names = variants.iter().map(|(name, _)| *name);
        println!(
            "{INVOCATIONS} chat messages per variant, OTLP/HTTP to the Docker collector, \
             {gap:?} between invocations\n\n{}",
            table(names, &mut samples)
        );
    }
}

/// The latency table: p50, p99 and the p50 added to the first variant's.
fn table<'a>(names: impl Iterator<Item = &'a str>, samples: &mut [Vec<Duration>]) -> String {
    let mut table =
        String::from("| flush mode | p50 (ms) | p99 (ms) | p50 added (ms) |\n|---|---|---|---|\n");
    let mut base = None;
    for (name, samples) in names.zip(samples) {
        samples.sort();
        let (p50, p99) = (percentile(samples, 50), percentile(samples, 99));
        let base = *base.get_or_insert(p50);
        table.push_str(&format!(
            "| {name} | {p50:.3} | {p99:.3} | {:+.3} |\n",
            p50 - base
        ));
    }
    table
}
