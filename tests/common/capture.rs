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
        if received.path == "/v1/traces" {
            return received;
        }
    }
}

/// Whether `haystack` contains `needle`.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
