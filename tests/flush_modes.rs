//! The flush modes, through the real `lambda_runtime` loop against the
//! cargo-lambda emulator's Runtime API: the runtime runs in this process
//! (composed as `LambdaMonitoring::run` composes it), the caller invokes
//! over HTTP, and a span exporter that waits at a gate shows when the flush
//! runs relative to the response and to the next invocation.
#![cfg(feature = "lambda")]

use perfmon_testkit as common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::emulator::Emulator;
use lambda_runtime::tower::Layer as _;
use lambda_runtime::{service_fn, LambdaEvent, Runtime};
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SpanData, SpanExporter};
use perfmon_lambda::lambda::{FlushMode, PerformanceLayer};
use perfmon_lambda::{PerformanceMonitor, Telemetry};
use serde_json::{json, Value};

/// Exports into memory once the test opens the gate for that export, and
/// counts finished exports; an export the test does not let through within
/// [`GATE_TIMEOUT`] fails, and is counted as stuck.
#[derive(Debug, Clone)]
struct GatedExporter {
    gate: Arc<Mutex<Receiver<()>>>,
    exports: Arc<AtomicUsize>,
    stuck: Arc<AtomicUsize>,
    spans: InMemorySpanExporter,
}

const GATE_TIMEOUT: Duration = Duration::from_secs(5);

impl SpanExporter for GatedExporter {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let opened = self.gate.lock().unwrap().recv_timeout(GATE_TIMEOUT);
        if opened.is_err() {
            self.stuck.fetch_add(1, Ordering::SeqCst);
            return Err(OTelSdkError::InternalFailure("the gate stayed shut".into()));
        }
        let result = self.spans.export(batch).await;
        self.exports.fetch_add(1, Ordering::SeqCst);
        result
    }
}

/// A function run by the runtime, and what the test controls and sees.
struct Function {
    emulator: Emulator,
    /// Lets one export through.
    open: Sender<()>,
    /// Exports finished.
    exports: Arc<AtomicUsize>,
    /// Exports that waited for the gate in vain.
    stuck: Arc<AtomicUsize>,
}

impl Function {
    /// Invokes it; the number of exports finished when the invocation
    /// started.
    fn invoke(&self) -> u64 {
        let answer = self.emulator.invoke("_", &json!({}));
        answer["exports_seen"]
            .as_u64()
            .unwrap_or_else(|| panic!("{answer}"))
    }

    fn exports(&self) -> usize {
        self.exports.load(Ordering::SeqCst)
    }
}

/// A function on `mode` run by the real runtime against a fresh emulator,
/// which serves it as `_` (the name it uses when it runs no binary itself).
fn function(mode: FlushMode) -> Option<Function> {
    static ENV: Mutex<()> = Mutex::new(());
    let emulator = Emulator::runtime_api("flushed")?;
    let (open, gate) = channel();
    let (exports, stuck) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let exporter = GatedExporter {
        gate: Arc::new(Mutex::new(gate)),
        exports: exports.clone(),
        stuck: stuck.clone(),
        spans: InMemorySpanExporter::default(),
    };
    let telemetry = Arc::new(
        Telemetry::builder()
            .with_exporters_disabled()
            .with_span_exporter(exporter)
            .build()
            .expect("telemetry builds"),
    );
    let monitor = PerformanceMonitor::new(&telemetry);
    let layer = PerformanceLayer::new(telemetry, monitor.clone(), Duration::from_secs(120))
        .with_flush_mode(mode);
    let counted = exports.clone();
    let handler = service_fn(move |event: LambdaEvent<Value>| {
        let op = monitor.start("handle", []);
        let seen = counted.load(Ordering::SeqCst);
        async move {
            assert!(event.payload["panic"] != true, "asked to panic");
            op.complete(true, []);
            Ok::<_, lambda_runtime::Error>(json!({ "exports_seen": seen }))
        }
    });
    let runtime = {
        // The runtime reads its settings from the environment once, here.
        let _env = ENV.lock().unwrap_or_else(|e| e.into_inner());
        std::env::set_var("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api_url());
        std::env::set_var("AWS_LAMBDA_FUNCTION_NAME", "flushed");
        std::env::set_var("AWS_LAMBDA_FUNCTION_VERSION", "1");
        std::env::set_var("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128");
        Runtime::new(layer.layer(handler)).layer(layer.flush_layer())
    };
    std::thread::spawn(move || {
        let stopped = tokio::runtime::Runtime::new()
            .unwrap()
            .block_on(runtime.run());
        eprintln!("the runtime stopped: {stopped:?}");
    });
    Some(Function {
        emulator,
        open,
        exports,
        stuck,
    })
}

#[test]
fn after_response_answers_before_the_flush_and_holds_the_next_invocation() {
    let Some(f) = function(FlushMode::AfterResponse) else {
        return;
    };
    // The exporter is shut: the caller still has its answer, at once.
    assert_eq!(f.invoke(), 0);
    assert_eq!(f.exports(), 0, "flushed after the answer");
    f.open.send(()).unwrap();
    f.open.send(()).unwrap();
    // The second invocation started only once the first's flush ended.
    assert_eq!(f.invoke(), 1);
    assert_eq!(f.stuck.load(Ordering::SeqCst), 0, "no flush waited in vain");
}

#[test]
fn a_panicking_invocation_is_flushed_before_its_panic_is_reported() {
    let Some(f) = function(FlushMode::AfterResponse) else {
        return;
    };
    f.open.send(()).unwrap();
    let answer = f.emulator.invoke("_", &json!({ "panic": true }));
    assert!(answer.to_string().contains("asked to panic"), "{answer}");
    assert_eq!(f.exports(), 1, "flushed before the error was posted");
    // Once only: the next invocation's flush is its own.
    f.open.send(()).unwrap();
    assert_eq!(f.invoke(), 1);
    assert_eq!(
        f.stuck.load(Ordering::SeqCst),
        0,
        "no second flush of the panic"
    );
}

#[test]
fn sync_flushes_before_the_answer() {
    let Some(f) = function(FlushMode::Sync) else {
        return;
    };
    f.open.send(()).unwrap();
    assert_eq!(f.invoke(), 0);
    assert_eq!(f.exports(), 1, "flushed before the answer");
}

#[test]
fn adaptive_flushes_each_rare_invocation_and_at_most_once_per_interval_in_a_burst() {
    let Some(f) = function(FlushMode::Adaptive {
        interval: Duration::from_secs(3600),
    }) else {
        return;
    };
    for _ in 0..3 {
        f.open.send(()).unwrap();
    }
    // The environment's first invocation followed nothing: flushed.
    assert_eq!(f.invoke(), 0);
    // The next ones arrive within the interval, a burst, less than an
    // interval after the last flush: not flushed.
    assert_eq!(f.invoke(), 1);
    assert_eq!(f.invoke(), 1);
    assert_eq!(f.exports(), 1);
}

#[test]
fn adaptive_with_a_zero_interval_flushes_every_invocation() {
    let Some(f) = function(FlushMode::Adaptive {
        interval: Duration::ZERO,
    }) else {
        return;
    };
    for expected in 0..3 {
        f.open.send(()).unwrap();
        assert_eq!(f.invoke(), expected);
    }
}
