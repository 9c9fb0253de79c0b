//! The EMF writer's inputs: any environment name, namespace and recorded
//! values produce only lines that are valid JSON, never a panic.
#![no_main]

use std::time::Duration;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use perfmon_lambda::{ExporterKind, PerformanceMonitor, Telemetry};

#[derive(Debug, Arbitrary)]
struct Input {
    environment: String,
    namespace: String,
    durations_ms: Vec<f64>,
    lengths: Vec<u64>,
    operation: String,
    fail: bool,
}

#[derive(Clone, Default)]
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fuzz_target!(|input: Input| {
    let sink = Sink::default();
    let telemetry = Telemetry::builder()
        .with_catalog(perfmon_chat::catalog())
        .with_environment(input.environment)
        .with_namespace(input.namespace)
        .with_traces_exporter(ExporterKind::None)
        .with_metrics_exporter(ExporterKind::Emf)
        .with_emf_writer(sink.clone())
        .build()
        .unwrap();
    let monitor = PerformanceMonitor::new(&telemetry);
    let duration = monitor.histogram::<0>("ConnectionDuration").unwrap();
    let length = monitor.histogram::<0>("MessageLength").unwrap();
    for ms in input.durations_ms.iter().take(64) {
        // Any f64, NaN and infinities included: the writer must cope.
        duration.record(*ms, []);
    }
    for bytes in input.lengths.iter().take(64) {
        length.record(*bytes as f64, []);
    }
    let op = monitor.start(&input.operation, []);
    if input.fail {
        op.fail("INVALID_MESSAGE_FORMAT", []);
    } else {
        op.complete(true, []);
    }
    let _ = telemetry.force_flush(Duration::from_secs(5));
    let text = String::from_utf8(sink.0.lock().unwrap().clone()).expect("EMF is UTF-8");
    for line in text.lines() {
        let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
        assert!(parsed.is_ok(), "not JSON: {line}");
    }
});
