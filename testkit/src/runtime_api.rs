//! A minimal Lambda Runtime API on 127.0.0.1, in this process: enough of
//! <https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html> for a
//! `lambda_runtime` function to start, take events and answer them, and
//! precise about when the function first asks for an event (the end of
//! its init).
//!
//! - `GET  /2018-06-01/runtime/invocation/next` waits for an event given
//!   to [`RuntimeApi::invoke`] and returns it with the request id,
//!   deadline, function ARN and X-Ray trace headers;
//! - `POST /2018-06-01/runtime/invocation/{id}/response` and `/error`
//!   answer that invocation;
//! - `POST /2018-06-01/runtime/init/error` records the init failure.
//!
//! Each connection is served on its own thread with keep-alive, bodies
//! sized by `Content-Length` or chunked.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One invocation's answer: `Ok(body)` for a response, `Err(body)` for an
/// error the function reported.
pub type Answer = Result<String, String>;

struct Pending {
    id: String,
    event: String,
    trace_header: String,
    answer: SyncSender<Answer>,
}

#[derive(Default)]
struct Shared {
    first_next: Option<Instant>,
    init_error: Option<String>,
    waiting: std::collections::HashMap<String, SyncSender<Answer>>,
}

/// The running stand-in; its listener thread lives as long as the process.
pub struct RuntimeApi {
    port: u16,
    events: Sender<Pending>,
    shared: Arc<Mutex<Shared>>,
}

impl RuntimeApi {
    /// Listens on a free loopback port.
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
        let port = listener.local_addr().unwrap().port();
        let (events, queue) = channel::<Pending>();
        let queue = Arc::new(Mutex::new(queue));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let accept_shared = shared.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (queue, shared) = (queue.clone(), accept_shared.clone());
                std::thread::spawn(move || serve(stream, &queue, &shared));
            }
        });
        RuntimeApi {
            port,
            events,
            shared,
        }
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// When the function first asked for an event, if it has.
    fn first_next(&self) -> Option<Instant> {
        self.shared.lock().unwrap().first_next
    }

    /// The body of the init error the function reported, if any.
    pub fn init_error(&self) -> Option<String> {
        self.shared.lock().unwrap().init_error.clone()
    }

    /// Waits until the function asks for its first event; `None` after
    /// `timeout`.
    pub fn wait_first_next(&self, timeout: Duration) -> Option<Instant> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(at) = self.first_next() {
                return Some(at);
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        None
    }

    /// Hands `event` to the function under `trace_header` (the X-Ray
    /// header Lambda passes, `Root=…;Parent=…;Sampled=…`) and waits for
    /// its answer, up to `timeout`.
    pub fn invoke(
        &self,
        event: &serde_json::Value,
        trace_header: &str,
        timeout: Duration,
    ) -> Answer {
        self.invoke_with_id(event, trace_header, timeout).1
    }

    /// [`invoke`](Self::invoke), also giving the request id the
    /// invocation was given. Several threads may invoke at once: each
    /// `/next` the function has waiting takes one event.
    pub fn invoke_with_id(
        &self,
        event: &serde_json::Value,
        trace_header: &str,
        timeout: Duration,
    ) -> (String, Answer) {
        let id = format!(
            "00000000-0000-4000-8000-{:012}",
            REQUEST_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (answer, answered) = sync_channel(1);
        self.events
            .send(Pending {
                id: id.clone(),
                event: event.to_string(),
                trace_header: trace_header.to_owned(),
                answer,
            })
            .expect("the listener runs");
        let answer = answered
            .recv_timeout(timeout)
            .unwrap_or_else(|_| Err(format!("no answer within {timeout:?}")));
        (id, answer)
    }
}

static REQUEST_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn serve(stream: TcpStream, queue: &Mutex<Receiver<Pending>>, shared: &Mutex<Shared>) {
    let mut writer = stream.try_clone().expect("the stream clones");
    let mut reader = BufReader::new(stream);
    loop {
        let Some((method, path, body)) = read_request(&mut reader) else {
            return;
        };
        let reply = match (method.as_str(), path.as_str()) {
            ("GET", "/2018-06-01/runtime/invocation/next") => {
                shared
                    .lock()
                    .unwrap()
                    .first_next
                    .get_or_insert_with(Instant::now);
                let Ok(pending) = queue.lock().unwrap().recv() else {
                    return;
                };
                let id = pending.id;
                let deadline =
                    SystemTime::now().duration_since(UNIX_EPOCH).unwrap() + Duration::from_secs(30);
                shared
                    .lock()
                    .unwrap()
                    .waiting
                    .insert(id.clone(), pending.answer);
                response(
                    200,
                    &[
                        ("Lambda-Runtime-Aws-Request-Id", id),
                        (
                            "Lambda-Runtime-Deadline-Ms",
                            deadline.as_millis().to_string(),
                        ),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn",
                            "arn:aws:lambda:us-east-1:123456789012:function:stand-in".to_owned(),
                        ),
                        ("Lambda-Runtime-Trace-Id", pending.trace_header),
                        ("Content-Type", "application/json".to_owned()),
                    ],
                    &pending.event,
                )
            }
            ("POST", "/2018-06-01/runtime/init/error") => {
                shared.lock().unwrap().init_error = Some(body);
                response(202, &[], "{}")
            }
            ("POST", path) => {
                let rest = path.trim_start_matches("/2018-06-01/runtime/invocation/");
                let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
                let waiter = shared.lock().unwrap().waiting.remove(id);
                match waiter {
                    Some(answer) => {
                        let _ = answer.send(if kind == "response" {
                            Ok(body)
                        } else {
                            Err(body)
                        });
                        response(202, &[], "{}")
                    }
                    None => response(400, &[], "{\"errorMessage\":\"unknown request id\"}"),
                }
            }
            _ => response(404, &[], "{}"),
        };
        if writer.write_all(reply.as_bytes()).is_err() {
            return;
        }
    }
}

fn response(status: u16, headers: &[(&str, String)], body: &str) -> String {
    let mut text = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    text
}

/// One request: method, path and body; `None` when the peer closed.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, String, String)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().ok()?,
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    } else {
        body.resize(length, 0);
        reader.read_exact(&mut body).ok()?;
    }
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}
