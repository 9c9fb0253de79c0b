//! OTLP export reaches a real collector over HTTP/protobuf and gRPC, from
//! inside current-thread and multi-thread Tokio runtimes, with the span,
//! its attributes, the catalog metrics and Delta temporality intact.

use perfmon_testkit as common;

use std::time::Duration;

use common::rotel::Rotel;
use opentelemetry::KeyValue;
use perfmon_lambda::{ExporterKind, OtlpProtocol, PerformanceMonitor, Telemetry};

fn export_one_operation(rotel: &Rotel, protocol: OtlpProtocol) {
    let endpoint = match protocol {
        OtlpProtocol::Grpc => rotel.grpc.clone(),
        _ => rotel.http.clone(),
    };
    let telemetry = Telemetry::builder()
        .with_service_name("otlp-export-test")
        .with_environment("ci")
        .with_traces_exporter(ExporterKind::Otlp)
        .with_metrics_exporter(ExporterKind::Otlp)
        .with_otlp_protocol(protocol)
        .with_otlp_endpoint(endpoint)
        .build()
        .unwrap();
    let monitor = PerformanceMonitor::new(&telemetry);
    monitor
        .start(
            common::op::AUTHENTICATION_JWT_VERIFICATION,
            [KeyValue::new(common::key::TOKEN_LENGTH, 812_i64)],
        )
        .fail("TOKEN_EXPIRED", []);
    telemetry
        .force_flush(Duration::from_secs(10))
        .expect("the collector acknowledges");
    telemetry.shutdown(Duration::from_secs(5)).unwrap();
    assert_eq!(telemetry.stats().flush_failures, 0);
}

fn assert_received(rotel: &Rotel) {
    let out = rotel.wait_for(&[
        "Name           : authentication_jwt_verification",
        "Kind           : SPAN_KIND_INTERNAL",
        "Status code    : STATUS_CODE_ERROR",
        "Status message : TOKEN_EXPIRED",
        "-> app.token.length: Int(812)",
        "-> service.name: Str(otlp-export-test)",
        "-> Name: HandlerDuration",
        "-> Unit: ms",
        "-> Name: MemoryUsage",
        "-> Unit: By",
        "-> DataType: ExponentialHistogram",
        "-> Name: Invocations",
        "-> Name: Errors",
        "-> ErrorType: Str(TOKEN_EXPIRED)",
        "-> Handler: Str(authentication_jwt_verification)",
        "-> Environment: Str(ci)",
        "-> AggregationTemporality: AGGREGATION_TEMPORALITY_DELTA",
    ]);
    assert!(
        !out.contains("AGGREGATION_TEMPORALITY_CUMULATIVE"),
        "metrics are Delta only:\n{out}"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn http_protobuf_from_a_current_thread_runtime() {
    let Some(rotel) = Rotel::start() else { return };
    export_one_operation(&rotel, OtlpProtocol::HttpProtobuf);
    assert_received(&rotel);
}

#[tokio::test(flavor = "current_thread")]
async fn grpc_from_a_current_thread_runtime() {
    let Some(rotel) = Rotel::start() else { return };
    export_one_operation(&rotel, OtlpProtocol::Grpc);
    assert_received(&rotel);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_from_a_multi_thread_runtime() {
    let Some(rotel) = Rotel::start() else { return };
    export_one_operation(&rotel, OtlpProtocol::Grpc);
    assert_received(&rotel);
}

#[test]
fn http_protobuf_from_a_plain_thread() {
    let Some(rotel) = Rotel::start() else { return };
    export_one_operation(&rotel, OtlpProtocol::HttpProtobuf);
    assert_received(&rotel);
}
