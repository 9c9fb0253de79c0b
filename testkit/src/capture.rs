//! An OTLP/HTTP endpoint that records what it receives: each request's
//! path, headers and body, for tests that check the wire format.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc::{self, Receiver};
use std::time::Duration;

/// One request a collector received: its path, its headers (lower-cased)
/// and its body.
pub struct Received {
    pub path: String,
    pub headers: String,
    pub body: Vec<u8>,
}

/// An OTLP/HTTP endpoint that answers 200 to everything and hands each
/// request to the test.
pub fn collector() -> (SocketAddr, Receiver<Received>) {
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

/// The next request to `/v1/traces`.
pub fn traces(rx: &Receiver<Received>) -> Received {
    loop {
        let received = rx.recv_timeout(Duration::from_secs(10)).expect("a request");
        if received.path == "/v1/traces"
            || received.path == "/opentelemetry.proto.collector.trace.v1.TraceService/Export"
        {
            return received;
        }
    }
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// An OTLP/gRPC endpoint (HTTP/2, plain text) that answers every export
/// with an empty success and hands each request to the test: its path, its
/// headers (`name: value` lines) and its body, the gRPC length-prefixed
/// messages as sent.
pub fn grpc_collector() -> (SocketAddr, Receiver<Received>) {
    let (tx, rx) = mpsc::channel();
    let (addr_tx, addr_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            addr_tx.send(listener.local_addr().unwrap()).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let Ok(mut connection) = h2::server::handshake(tcp).await else {
                        return;
                    };
                    while let Some(Ok((request, respond))) = connection.accept().await {
                        // Each request on its own task: the connection,
                        // polled by `accept`, is what brings its body in.
                        tokio::spawn(respond_to(request, respond, tx.clone()));
                    }
                });
            }
        });
    });
    (addr_rx.recv().unwrap(), rx)
}

/// Records one gRPC request and answers it with an empty success.
async fn respond_to(
    request: http::Request<h2::RecvStream>,
    mut respond: h2::server::SendResponse<bytes::Bytes>,
    tx: mpsc::Sender<Received>,
) {
    let path = request.uri().path().to_owned();
    let headers: String = request
        .headers()
        .iter()
        .map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or("")))
        .collect();
    let mut body = request.into_body();
    let mut bytes = Vec::new();
    while let Some(Ok(chunk)) = body.data().await {
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    let _ = tx.send(Received {
        path,
        headers,
        body: bytes,
    });
    let response = http::Response::builder()
        .status(200)
        .header("content-type", "application/grpc")
        .body(())
        .unwrap();
    let Ok(mut send) = respond.send_response(response, false) else {
        return;
    };
    // One uncompressed, empty response message.
    let _ = send.send_data(bytes::Bytes::from_static(&[0, 0, 0, 0, 0]), false);
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let _ = send.send_trailers(trailers);
}
