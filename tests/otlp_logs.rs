//! `OTEL_LOGS_EXPORTER=otlp`: the events the log lines print also reach a
//! real collector as OTel log records, with the trace context of the
//! operation they happened in, their fields as attributes, and the privacy
//! rules applied.
#![cfg(feature = "tracing")]

use perfmon_testkit as common;

use std::time::Duration;

use common::rotel::Rotel;
use opentelemetry::trace::TraceContextExt as _;
use perfmon_lambda::{ExporterKind, PerformanceMonitor, Telemetry};
use tracing_subscriber::layer::SubscriberExt as _;

const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";

#[test]
fn log_records_reach_the_collector_with_their_trace_context() {
    let Some(rotel) = Rotel::start() else { return };
    let telemetry = Telemetry::builder()
        .with_service_name("otlp-logs-test")
        .with_traces_exporter(ExporterKind::Otlp)
        .with_metrics_exporter(ExporterKind::None)
        .with_logs_exporter(ExporterKind::Otlp)
        .with_otlp_endpoint(rotel.http.clone())
        .build()
        .unwrap();
    let monitor = PerformanceMonitor::new(&telemetry);
    let subscriber = tracing_subscriber::registry()
        .with(perfmon_lambda::tracing::otel_layer(&telemetry))
        .with(perfmon_lambda::tracing::otlp_log_layer(&telemetry).expect("a logger provider"));
    let (trace_id, span_id) = tracing::subscriber::with_default(subscriber, || {
        let mut op = monitor.start(common::op::AUTHENTICATION_JWT_VERIFICATION, []);
        op.in_scope(|| {
            tracing::warn!(
                reason = "INVALID_TOKEN",
                token = JWT,
                "authentication failed for {JWT}"
            )
        });
        let cx = op.context();
        let ids = (
            cx.span().span_context().trace_id(),
            cx.span().span_context().span_id(),
        );
        op.fail("INVALID_TOKEN", []);
        ids
    });
    telemetry
        .force_flush(Duration::from_secs(10))
        .expect("the collector acknowledges");
    let out = rotel.wait_for(&[
        "authentication failed for [redacted]",
        "reason: Str(INVALID_TOKEN)",
        "token: Str([redacted])",
    ]);
    assert!(!out.contains(JWT), "{out}");
    let body = out.find("Body: Str(authentication failed").unwrap();
    let record = &out[out[..body].rfind("LogRecord #").unwrap()..];
    let record = &record[..record.find("Flags:").unwrap_or(record.len())];
    assert!(
        record.contains(&format!("Trace ID       : {trace_id}"))
            && record.contains(&format!("Span ID        : {span_id}"))
            && record.contains("SeverityText: WARN"),
        "the record carries the operation's trace context: {record}"
    );
    if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
        eprintln!("{out}");
    }
    telemetry.shutdown(Duration::from_secs(5)).unwrap();
}

#[test]
fn without_a_logs_exporter_there_is_no_log_layer() {
    let telemetry = Telemetry::builder()
        .with_exporters_disabled()
        .build()
        .unwrap();
    assert!(telemetry.logger_provider().is_none());
    assert!(
        perfmon_lambda::tracing::otlp_log_layer::<tracing_subscriber::Registry>(&telemetry)
            .is_none()
    );
}
