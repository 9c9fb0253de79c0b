//! A JWKS endpoint on loopback that can fail, stall, answer too much or
//! serve any key set, and counts the requests it got.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the endpoint answers.
#[derive(Clone)]
pub enum Mode {
    /// 200 with this body and its length.
    Serve(String),
    /// 200 with this body, chunked: no length announced.
    Chunked(String),
    /// This status, no body.
    Status(u16),
    /// This status with this `Retry-After`, no body.
    RetryAfter(u16, String),
    /// Reads the request and never answers.
    Stall,
    /// 302 to this location.
    Redirect(String),
}

#[derive(Clone)]
pub struct Endpoint {
    addr: SocketAddr,
    mode: Arc<Mutex<Mode>>,
    requests: Arc<AtomicU32>,
    /// Requests answered 503 before the mode applies.
    fail_first: Arc<AtomicU32>,
}

impl Endpoint {
    pub fn start(mode: Mode) -> Endpoint {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = Endpoint {
            addr: listener.local_addr().unwrap(),
            mode: Arc::new(Mutex::new(mode)),
            requests: Arc::default(),
            fail_first: Arc::default(),
        };
        let shared = endpoint.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let shared = shared.clone();
                std::thread::spawn(move || shared.answer(stream));
            }
        });
        endpoint
    }

    fn answer(&self, stream: std::net::TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut stream = stream;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            while line != "\r\n" && !line.is_empty() {
                line.clear();
                if reader.read_line(&mut line).is_err() {
                    return;
                }
            }
            let n = self.requests.fetch_add(1, Ordering::SeqCst);
            let mode = if n < self.fail_first.load(Ordering::SeqCst) {
                Mode::Status(503)
            } else {
                self.mode.lock().unwrap().clone()
            };
            let _ = match mode {
                Mode::Serve(body) => write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                ),
                Mode::Chunked(body) => {
                    let _ = write!(stream, "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
                    for chunk in body.as_bytes().chunks(4096) {
                        let _ = write!(stream, "{:x}\r\n", chunk.len());
                        let _ = stream.write_all(chunk);
                        let _ = write!(stream, "\r\n");
                    }
                    write!(stream, "0\r\n\r\n")
                }
                Mode::Status(code) => write!(
                    stream,
                    "HTTP/1.1 {code} Oops\r\ncontent-length: 0\r\n\r\n"
                ),
                Mode::RetryAfter(code, after) => write!(
                    stream,
                    "HTTP/1.1 {code} Busy\r\nretry-after: {after}\r\ncontent-length: 0\r\n\r\n"
                ),
                Mode::Redirect(location) => write!(
                    stream,
                    "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\r\n"
                ),
                Mode::Stall => {
                    std::thread::sleep(Duration::from_secs(30));
                    return;
                }
            };
        }
    }

    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    /// Answers the first `n` requests 503, whatever the mode.
    pub fn fail_first(&self, n: u32) {
        self.fail_first.store(n, Ordering::SeqCst);
    }

    pub fn requests(&self) -> u32 {
        self.requests.load(Ordering::SeqCst)
    }

    pub fn url(&self) -> String {
        format!("http://{}/pool/.well-known/jwks.json", self.addr)
    }
}
