//! What the `tracing` bridge and the log lines cost, in one run:
//!
//! - `child/instrument`: an operation with one `#[instrument]` child, the
//!   bridge installed;
//! - `child/perfmon`: the same operation with its child started through
//!   perfmon's API (`start_with_context`, a child operation);
//! - `child/none`: the operation alone, the baseline of both;
//! - `log_line/json` and `log_line/text`: one `tracing::info!` with two
//!   fields inside an operation, printed by the log layer (to a sink, so
//!   the terminal is not measured).
//!
//! The pipeline's exporters discard, so only the recording path is
//! measured. Reproduce with `taskset -c 1 cargo bench --bench tracing_bridge`.
//! For instruction counts, see [`repeat`].

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, Criterion};
use perfmon_lambda::tracing::{LogFormat, LogLayer};
use perfmon_lambda::{PerformanceMonitor, Telemetry};
use tracing_subscriber::layer::SubscriberExt;

#[path = "support/discard.rs"]
mod discard;
use discard::pipeline;

const OPERATION: &str = "websocket_conversation";
const CHILD: &str = "chat_message_processing";

#[tracing::instrument]
fn validate(bytes: usize) -> bool {
    black_box(bytes) > 0
}

/// An operation with one `#[instrument]` child.
fn with_instrument_child(monitor: &PerformanceMonitor) {
    let mut op = monitor.start(OPERATION, []);
    black_box(op.in_scope(|| validate(42)));
    op.complete(true, []);
}

/// An operation with one child operation.
fn with_perfmon_child(monitor: &PerformanceMonitor) {
    let mut op = monitor.start(OPERATION, []);
    monitor
        .start_with_context(CHILD, &op.context(), [])
        .complete(true, []);
    op.complete(true, []);
}

/// The operation alone.
fn without_child(monitor: &PerformanceMonitor) {
    let mut op = monitor.start(OPERATION, []);
    black_box(op.context());
    op.complete(true, []);
}

fn log_one_line() {
    tracing::info!(
        reason = "INVALID_TOKEN",
        attempt = 2_u64,
        "authentication failed"
    )
}

fn log_layer(telemetry: &Telemetry, format: LogFormat) -> impl tracing::Subscriber {
    tracing_subscriber::registry().with(
        LogLayer::new(telemetry)
            .with_format(format)
            .with_writer(std::io::sink())
            .with_function_name("ws-conversation"),
    )
}

fn child(c: &mut Criterion) {
    let telemetry = pipeline();
    let monitor = PerformanceMonitor::new(&telemetry);
    let subscriber =
        tracing_subscriber::registry().with(perfmon_lambda::tracing::otel_layer(&telemetry));
    let _default = tracing::subscriber::set_default(subscriber);
    let mut group = c.benchmark_group("child");
    // The baseline first: the first function of a run tends to measure slow.
    group.bench_function("none", |b| b.iter(|| without_child(&monitor)));
    group.bench_function("perfmon", |b| b.iter(|| with_perfmon_child(&monitor)));
    group.bench_function("instrument", |b| b.iter(|| with_instrument_child(&monitor)));
    group.finish();
}

fn log_line(c: &mut Criterion) {
    let telemetry = pipeline();
    let monitor = PerformanceMonitor::new(&telemetry);
    let mut group = c.benchmark_group("log_line");
    for (name, format) in [("json", LogFormat::Json), ("text", LogFormat::Text)] {
        let _default = tracing::subscriber::set_default(log_layer(&telemetry, format));
        let mut op = monitor.start(OPERATION, []);
        let _current = op.context().attach();
        group.bench_function(name, |b| b.iter(log_one_line));
    }
    group.finish();
}

/// `PERFMON_BENCH_REPEAT=<variant>:<n>`: runs one variant `n` times and
/// exits, for `valgrind --tool=callgrind`, whose instruction counts repeat
/// on a noisy machine. The cost of one iteration is the difference of two
/// runs with different `n`, divided by the difference of `n`.
fn repeat(spec: &str) {
    let (variant, n) = spec.split_once(':').expect("variant:n");
    let n: u64 = n.parse().expect("a count");
    let telemetry = pipeline();
    let monitor = PerformanceMonitor::new(&telemetry);
    let run = |f: &dyn Fn()| {
        for _ in 0..n {
            f()
        }
    };
    match variant {
        "instrument" | "perfmon" | "none" => {
            let subscriber = tracing_subscriber::registry()
                .with(perfmon_lambda::tracing::otel_layer(&telemetry));
            let _default = tracing::subscriber::set_default(subscriber);
            match variant {
                "instrument" => run(&|| with_instrument_child(&monitor)),
                "perfmon" => run(&|| with_perfmon_child(&monitor)),
                _ => run(&|| without_child(&monitor)),
            }
        }
        "json" | "text" => {
            let format = if variant == "json" {
                LogFormat::Json
            } else {
                LogFormat::Text
            };
            let _default = tracing::subscriber::set_default(log_layer(&telemetry, format));
            let mut op = monitor.start(OPERATION, []);
            let _current = op.context().attach();
            run(&log_one_line);
        }
        other => panic!("unknown variant {other}"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    targets = child, log_line
}

fn main() {
    if let Ok(spec) = std::env::var("PERFMON_BENCH_REPEAT") {
        return repeat(&spec);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
