//! The privacy scan: a mix of clients (valid tokens that carry an email and
//! a user name, expired and forged tokens, unauthenticated messages) over
//! real WebSockets, with everything exported captured: the OTLP collector's
//! output, the EMF lines and the X-Ray datagrams. No token, email or user
//! name appears anywhere, and no connection, session, user or request id is
//! ever a metric dimension.

mod common;

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use common::rotel::Rotel;
use common::SharedBuffer;
use futures_util::{SinkExt, StreamExt};
use perfmon_chat::local::LocalApp;
use perfmon_chat_lab::serve;
use perfmon_lambda::{ExporterKind, Telemetry, TelemetryBuilder};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const EMAIL: &str = "scan.person@example.org";
const USERNAME: &str = "scan_person_77";

/// Runs the client mix against a server on `telemetry`; returns the tokens
/// and ids that must not leak into dimensions.
async fn mix(builder: TelemetryBuilder) -> (Vec<String>, Telemetry) {
    let telemetry = builder.build().unwrap();
    let local = Arc::new(LocalApp::new(
        perfmon_chat::ChatMonitor::on(&telemetry).unwrap(),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, local.clone(), async {
        let _ = stopped.await;
    }));
    let valid = local.issuer.id_token("sub-scan", USERNAME, EMAIL, 600);
    let expired = local.issuer.id_token("sub-scan", USERNAME, EMAIL, -600);
    let mut forged = valid.clone();
    forged.truncate(forged.len() - 6);
    forged.push_str("AAAAAA");
    let frames = [
        json!({"action": "message", "message": "before auth"}),
        json!({"action": "auth", "token": expired}),
        json!({"action": "auth", "token": forged}),
        json!({"action": "auth"}),
        json!({"action": "auth", "token": valid}),
        json!({"action": "message", "message": format!("hello, I am {EMAIL}"), "sessionId": "session-scan-1"}),
        json!({"action": "ping"}),
    ];
    for _ in 0..3 {
        let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
            .await
            .unwrap();
        for frame in &frames {
            ws.send(Message::text(frame.to_string())).await.unwrap();
            let _ = tokio::time::timeout(Duration::from_secs(5), ws.next()).await;
        }
        ws.close(None).await.unwrap();
        while let Some(Ok(_)) = ws.next().await {}
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
    telemetry.force_flush(Duration::from_secs(5)).unwrap();
    (vec![valid, expired, forged], telemetry)
}

fn assert_clean(label: &str, exported: &str, tokens: &[String]) {
    assert!(!exported.is_empty(), "{label}: something was exported");
    for token in tokens {
        // Any 24-character piece of a token would be a leak.
        for piece in token.as_bytes().chunks(24).filter(|c| c.len() == 24) {
            let piece = std::str::from_utf8(piece).unwrap();
            assert!(
                !exported.contains(piece),
                "{label}: a token leaked ({piece})"
            );
        }
    }
    assert!(!exported.contains(EMAIL), "{label}: an email leaked");
    assert!(!exported.contains(USERNAME), "{label}: a user name leaked");
}

const ID_WORDS: &[&str] = &[
    "connection",
    "session",
    "user",
    "request",
    "correlation",
    "sub",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emf_lines_and_xray_segments_leak_nothing() {
    let emf = SharedBuffer::default();
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let builder = Telemetry::builder()
        .with_catalog(perfmon_chat::catalog())
        .with_metrics_exporter(ExporterKind::Emf)
        .with_emf_writer(emf.clone())
        .with_traces_exporter(ExporterKind::Xray)
        .with_xray_daemon_address(daemon.local_addr().unwrap());
    let (tokens, _telemetry) = mix(builder).await;
    let mut segments = String::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = daemon.recv(&mut buf) {
        segments.push_str(&String::from_utf8_lossy(&buf[..n]));
        segments.push('\n');
    }
    assert_clean("X-Ray segments", &segments, &tokens);
    let lines = emf.text();
    assert_clean("EMF lines", &lines, &tokens);
    for line in lines.lines() {
        let line: Value = serde_json::from_str(line).unwrap();
        for directive in line["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            for set in directive["Dimensions"].as_array().unwrap() {
                for key in set.as_array().unwrap() {
                    let key = key.as_str().unwrap().to_lowercase();
                    assert!(!ID_WORDS.iter().any(|w| key.contains(w)), "dimension {key}");
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_collector_receives_nothing_it_must_not() {
    let Some(rotel) = Rotel::start() else { return };
    let builder = Telemetry::builder()
        .with_catalog(perfmon_chat::catalog())
        .with_traces_exporter(ExporterKind::Otlp)
        .with_metrics_exporter(ExporterKind::Otlp)
        .with_otlp_endpoint(rotel.http.clone());
    let (tokens, _telemetry) = mix(builder).await;
    let output = rotel.wait_for(&["-> Name: Verifications", "authentication_jwt_verification"]);
    assert_clean("collector output", &output, &tokens);
    // Metric attributes are the lines under each data point.
    let mut in_metrics = false;
    for line in output.lines() {
        if line.contains("ResourceMetrics") {
            in_metrics = true;
        }
        if line.contains("ResourceSpans") {
            in_metrics = false;
        }
        if in_metrics {
            if let Some(attr) = line.trim().strip_prefix("-> ") {
                let key = attr.split(':').next().unwrap_or_default().to_lowercase();
                if key.contains('.') {
                    continue; // resource attributes (service.name, ...)
                }
                assert!(
                    !ID_WORDS.iter().any(|w| key.contains(w)),
                    "metric attribute {attr}"
                );
            }
        }
    }
}
