//! OTLP over TLS (rustls) to a collector behind a private CA, over HTTP and
//! over gRPC: with the CA trusted (in code, or through
//! `OTEL_EXPORTER_OTLP_CERTIFICATE`) the telemetry reaches the real
//! collector through a TLS front; without it the handshake is refused and
//! nothing arrives. A bad certificate file is a typed error naming the
//! variable.

use perfmon_testkit as common;

use std::time::Duration;

use common::rotel::Rotel;
use common::tls_front::TlsFront;
use perfmon_lambda::{
    BuildError, ExporterKind, OtlpProtocol, PerformanceMonitor, Telemetry, TelemetryBuilder,
};

/// Port of a `http://127.0.0.1:PORT` endpoint.
fn port(endpoint: &str) -> u16 {
    endpoint.rsplit(':').next().unwrap().parse().unwrap()
}

fn builder(front: &TlsFront, protocol: OtlpProtocol) -> TelemetryBuilder {
    Telemetry::builder()
        .with_service_name("otlp-tls-test")
        .with_traces_exporter(ExporterKind::Otlp)
        .with_metrics_exporter(ExporterKind::None)
        .with_otlp_protocol(protocol)
        .with_otlp_endpoint(front.endpoint.clone())
}

/// Exports one operation named `name`; whether the flush succeeded.
fn export(telemetry: Telemetry, name: &str) -> bool {
    PerformanceMonitor::new(&telemetry)
        .start(name, [])
        .complete(true, []);
    let flushed = telemetry.force_flush(Duration::from_secs(10)).is_ok();
    let _ = telemetry.shutdown(Duration::from_secs(5));
    flushed
}

#[test]
fn http_to_a_collector_behind_a_private_ca() {
    let Some(rotel) = Rotel::start() else { return };
    let front = TlsFront::start(port(&rotel.http), "http/1.1");

    let untrusting = builder(&front, OtlpProtocol::HttpProtobuf).build().unwrap();
    assert!(
        !export(untrusting, "untrusted_http"),
        "an unknown CA is refused"
    );
    assert_eq!(front.handshakes(), 0);

    let trusting = builder(&front, OtlpProtocol::HttpProtobuf)
        .with_otlp_certificate(front.ca_pem.clone())
        .build()
        .unwrap();
    assert!(export(trusting, "trusted_http"));
    assert!(front.handshakes() >= 1);
    let out = rotel.wait_for(&["Name           : trusted_http"]);
    assert!(!out.contains("untrusted_http"), "{out}");
}

#[test]
fn grpc_to_a_collector_behind_a_private_ca_named_by_the_environment() {
    let Some(rotel) = Rotel::start() else { return };
    let front = TlsFront::start(port(&rotel.grpc), "h2");
    let file = std::env::temp_dir().join(format!("perfmon-ca-{}.pem", std::process::id()));
    std::fs::write(&file, &front.ca_pem).unwrap();

    let untrusting = temp_env::with_var("OTEL_EXPORTER_OTLP_CERTIFICATE", None::<&str>, || {
        builder(&front, OtlpProtocol::Grpc).build().unwrap()
    });
    assert!(
        !export(untrusting, "untrusted_grpc"),
        "an unknown CA is refused"
    );

    let trusting = temp_env::with_var("OTEL_EXPORTER_OTLP_CERTIFICATE", Some(&file), || {
        builder(&front, OtlpProtocol::Grpc).build().unwrap()
    });
    assert!(export(trusting, "trusted_grpc"));
    assert!(front.handshakes() >= 1);
    let out = rotel.wait_for(&["Name           : trusted_grpc"]);
    assert!(!out.contains("untrusted_grpc"), "{out}");
    let _ = std::fs::remove_file(file);
}

#[test]
fn a_bad_certificate_file_names_the_variable() {
    let not_pem = std::env::temp_dir().join(format!("perfmon-not-pem-{}", std::process::id()));
    std::fs::write(&not_pem, "not a certificate").unwrap();
    for path in [
        not_pem.to_str().unwrap().to_owned(),
        "/nonexistent/ca.pem".to_owned(),
    ] {
        let err = temp_env::with_var("OTEL_EXPORTER_OTLP_CERTIFICATE", Some(&path), || {
            Telemetry::builder()
                .with_exporters_disabled()
                .build()
                .unwrap_err()
        });
        match &err {
            BuildError::InvalidEnv { var, value, .. } => {
                assert_eq!(*var, "OTEL_EXPORTER_OTLP_CERTIFICATE");
                assert_eq!(value, &path);
            }
            other => panic!("{other}"),
        }
    }
    let _ = std::fs::remove_file(not_pem);
}
