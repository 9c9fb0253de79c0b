//! The OTLP wire format: `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` makes the
//! bodies a collector receives gzip-encoded, over HTTP and over gRPC,
//! decoding to the exported telemetry (without it they are plain
//! protobuf), and `http/json` sends JSON bodies.

use perfmon_testkit as common;

use std::io::Read;
use std::net::SocketAddr;
use std::time::Duration;

use common::capture::{collector, contains, grpc_collector, traces};
use perfmon_lambda::{ExporterKind, OtlpProtocol, PerformanceMonitor, Telemetry};

fn export_one_operation(addr: SocketAddr) {
    export_with(addr, OtlpProtocol::HttpProtobuf)
}

fn export_with(addr: SocketAddr, protocol: OtlpProtocol) {
    let telemetry = Telemetry::builder()
        .with_otlp_protocol(protocol)
        .with_traces_exporter(ExporterKind::Otlp)
        .with_metrics_exporter(ExporterKind::None)
        .with_otlp_endpoint(format!("http://{addr}"))
        .build()
        .unwrap();
    PerformanceMonitor::new(&telemetry)
        .start(common::op::AUTHENTICATION_JWT_VERIFICATION, [])
        .complete(true, []);
    telemetry
        .force_flush(Duration::from_secs(10))
        .expect("the collector answers");
}

#[test]
fn gzip_compresses_otlp_http_bodies() {
    let (addr, rx) = collector();
    temp_env::with_var("OTEL_EXPORTER_OTLP_COMPRESSION", Some("gzip"), || {
        export_one_operation(addr)
    });
    let received = traces(&rx);
    assert!(
        received.headers.contains("content-encoding: gzip"),
        "{}",
        received.headers
    );
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(received.body.as_slice())
        .read_to_end(&mut decoded)
        .expect("a gzip body");
    assert!(decoded.len() > received.body.len() / 2);
    assert!(contains(&decoded, b"authentication_jwt_verification"));
    assert!(!contains(
        &received.body,
        b"authentication_jwt_verification"
    ));

    let (addr, rx) = collector();
    temp_env::with_var("OTEL_EXPORTER_OTLP_COMPRESSION", None::<&str>, || {
        export_one_operation(addr)
    });
    let plain = traces(&rx);
    assert!(
        !plain.headers.contains("content-encoding"),
        "{}",
        plain.headers
    );
    assert!(contains(&plain.body, b"authentication_jwt_verification"));
}

#[test]
fn gzip_compresses_otlp_grpc_messages() {
    let (addr, rx) = grpc_collector();
    temp_env::with_var("OTEL_EXPORTER_OTLP_COMPRESSION", Some("gzip"), || {
        export_with(addr, OtlpProtocol::Grpc)
    });
    let received = traces(&rx);
    assert!(
        received.headers.contains("grpc-encoding: gzip"),
        "{}",
        received.headers
    );
    // One length-prefixed message whose flag says "compressed".
    let (prefix, message) = received.body.split_at(5);
    assert_eq!(prefix[0], 1, "the compressed flag");
    let length = u32::from_be_bytes(prefix[1..5].try_into().unwrap()) as usize;
    assert_eq!(length, message.len());
    let mut decoded = Vec::new();
    flate2::read::GzDecoder::new(message)
        .read_to_end(&mut decoded)
        .expect("a gzip message");
    assert!(contains(&decoded, b"authentication_jwt_verification"));
    assert!(!contains(message, b"authentication_jwt_verification"));

    let (addr, rx) = grpc_collector();
    temp_env::with_var("OTEL_EXPORTER_OTLP_COMPRESSION", None::<&str>, || {
        export_with(addr, OtlpProtocol::Grpc)
    });
    let plain = traces(&rx);
    assert!(
        !plain.headers.contains("grpc-encoding: gzip"),
        "{}",
        plain.headers
    );
    assert_eq!(plain.body[0], 0, "not compressed");
    assert!(contains(&plain.body, b"authentication_jwt_verification"));
}

#[test]
fn http_json_sends_json_bodies() {
    let (addr, rx) = collector();
    // Uncompressed, whatever another test sets meanwhile.
    temp_env::with_var("OTEL_EXPORTER_OTLP_COMPRESSION", None::<&str>, || {
        export_with(addr, OtlpProtocol::HttpJson)
    });
    let received = traces(&rx);
    assert!(
        received.headers.contains("content-type: application/json"),
        "{}",
        received.headers
    );
    let body: serde_json::Value = serde_json::from_slice(&received.body).unwrap_or_else(|e| {
        panic!(
            "{e}: {} {:?}",
            received.headers,
            String::from_utf8_lossy(&received.body)
        )
    });
    let name = &body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"];
    assert_eq!(name, "authentication_jwt_verification", "{body}");
    assert_eq!(
        "http/json".parse::<OtlpProtocol>(),
        Ok(OtlpProtocol::HttpJson),
        "OTEL_EXPORTER_OTLP_PROTOCOL=http/json selects it"
    );
}
