//! A stand-in for the X-Ray daemon: a UDP socket on loopback whose
//! datagrams (`{"format": "json", "version": 1}` then one segment document)
//! are read on a thread of their own, so that a burst is not lost in the
//! socket's buffer, and kept as JSON.

use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The header every daemon datagram starts with.
pub const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

/// The document a daemon datagram carries.
pub fn document(datagram: &[u8]) -> Value {
    let text = std::str::from_utf8(datagram).expect("a datagram is UTF-8");
    let body = text
        .strip_prefix(DAEMON_HEADER)
        .unwrap_or_else(|| panic!("the daemon header starts {text}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// The running stand-in.
pub struct Daemon {
    address: String,
    documents: Arc<Mutex<Vec<Value>>>,
}

impl Daemon {
    /// Listens on a free loopback port.
    pub fn start() -> Daemon {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("a loopback port");
        let address = socket.local_addr().unwrap().to_string();
        let documents = Arc::new(Mutex::new(Vec::new()));
        let kept = documents.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n) = socket.recv(&mut buf) {
                let doc = document(&buf[..n]);
                kept.lock().unwrap().push(doc);
            }
        });
        Daemon { address, documents }
    }

    /// `host:port`, the value of `AWS_XRAY_DAEMON_ADDRESS`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The documents received so far.
    pub fn documents(&self) -> Vec<Value> {
        self.documents.lock().unwrap().clone()
    }

    /// The documents, once `done` holds for them or `timeout` has passed.
    pub fn wait_for(&self, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            let docs = self.documents();
            if done(&docs) || Instant::now() > deadline {
                return docs;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Every segment and subsegment in `docs`, nested ones included, each with
/// the trace id of the document it came in.
pub fn nodes(docs: &[Value]) -> Vec<(String, Value)> {
    fn walk(trace: &str, node: &Value, out: &mut Vec<(String, Value)>) {
        out.push((trace.to_owned(), node.clone()));
        for child in node["subsegments"].as_array().into_iter().flatten() {
            walk(trace, child, out);
        }
    }
    let mut out = Vec::new();
    for doc in docs {
        let trace = doc["trace_id"].as_str().unwrap_or_default().to_owned();
        walk(&trace, doc, &mut out);
    }
    out
}
