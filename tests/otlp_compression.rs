//! `OTEL_EXPORTER_OTLP_COMPRESSION=gzip` is honoured on OTLP/HTTP: the
//! bodies a collector receives are gzip-encoded and decode to the exported
//! telemetry. Without it, bodies go out as plain protobuf.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

use perfmon::{ExporterKind, PerformanceMonitor, Telemetry};

/// One request a collector received: its path, its headers (lower-cased)
/// and its body.
struct Received {
    path: String,
    headers: String,
    body: Vec<u8>,
}

/// An OTLP/HTTP endpoint that answers 200 to everything and hands each
/// request to the test.
fn collector() -> (SocketAddr, Receiver<Received>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let tx = tx.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut request_line = String::new();
                    if reader.read_line(&mut request_line).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = request_line.split(' ').nth(1).unwrap_or("").to_owned();
                    let mut headers = String::new();
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" || line.is_empty() {
                            break;
                        }
                        headers.push_str(&line.to_ascii_lowercase());
                    }
                    let length = headers
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let _ = stream.write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n",
                    );
                    let _ = tx.send(Received {
                        path,
                        headers,
                        body,
                    });
                }
            });
        }
    });
    (addr, rx)
}

fn export_one_operation(addr: SocketAddr) {
    let telemetry = Telemetry::builder()
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

fn traces(rx: &Receiver<Received>) -> Received {
    loop {
        let received = rx.recv_timeout(Duration::from_secs(10)).expect("a request");
        if received.path == "/v1/traces" {
            return received;
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
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
