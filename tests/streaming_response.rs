//! `examples/streaming.rs`, a function that streams its response, against
//! a Runtime API stand-in that reads the streamed body as Lambda does: the
//! root span ends when the stream ends, so its duration covers chunks
//! sent with a known delay between them, it records the bytes sent, and
//! an error raised mid-stream makes the invocation a fault.
//! `HandlerDuration` of the `stream` operation measures the same interval.
#![cfg(feature = "lambda")]

use perfmon_testkit as common;

use std::time::Duration;

use common::emulator::Function;
use common::runtime_api::RuntimeApi;
use common::xray_daemon::{nodes, Daemon};
use serde_json::{json, Value};

const CHUNKS: u64 = 3;
const DELAY_MS: u64 = 300;

/// A trace id of now (X-Ray takes the last 30 days only) and its header.
fn trace(n: u64) -> (String, String) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let id = format!("1-{now:08x}-{n:024x}");
    let header = format!("Root={id};Parent={:016x};Sampled=1", n + 1);
    (id, header)
}

/// The function URL request, `GET /report?chunks=3&delay_ms=300`, with
/// `fail_at` when given.
fn request(fail_at: Option<u64>) -> Value {
    let path = common::root().join("tests/fixtures/function-url-stream.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(event["queryStringParameters"]["chunks"], CHUNKS.to_string());
    assert_eq!(
        event["queryStringParameters"]["delay_ms"],
        DELAY_MS.to_string()
    );
    if let Some(at) = fail_at {
        event["queryStringParameters"]["fail_at"] = json!(at.to_string());
    }
    event
}

/// Seconds from a segment's start to its end.
fn seconds(node: &Value) -> f64 {
    node["end_time"].as_f64().unwrap() - node["start_time"].as_f64().unwrap()
}

#[test]
fn the_root_span_covers_the_stream() {
    let daemon = Daemon::start();
    let api = RuntimeApi::start();
    let function = Function::start_on(
        &common::emulator::example("streaming"),
        "streaming",
        &api.address(),
        &[
            ("AWS_XRAY_DAEMON_ADDRESS", daemon.address().to_owned()),
            ("PERFMON_ENVIRONMENT", "e2e".to_owned()),
        ],
    );
    let (ok_trace, header) = trace(1);
    let answer = api
        .invoke(&request(None), &header, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", function.output()));
    assert!(
        answer.ends_with("chunk 0\nchunk 1\nchunk 2\n"),
        "the streamed body: {answer:?}"
    );
    let (failed_trace, header) = trace(2);
    let answer = api
        .invoke(&request(Some(1)), &header, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", function.output()));
    // The runtime reports the error after the chunks sent before it.
    assert!(
        answer.contains("chunk 0\nLambda-Runtime-Function-Error-Type: Runtime.StreamError"),
        "{answer:?}"
    );

    let docs = daemon.wait_for(Duration::from_secs(30), |docs| {
        let all = nodes(docs);
        [&ok_trace, &failed_trace]
            .iter()
            .all(|t| all.iter().filter(|(trace, _)| trace == *t).count() >= 2)
    });
    let all = nodes(&docs);
    let node = |trace: &str, name: &str| -> Value {
        all.iter()
            .find(|(t, n)| t == trace && n["name"] == name)
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| panic!("{name} in {trace}: {docs:#?}"))
    };
    let streamed = f64::from(CHUNKS as u32) * DELAY_MS as f64 / 1000.0;

    let root = node(&ok_trace, "streaming");
    assert!(
        seconds(&root) >= streamed,
        "the root span ({} s) covers the stream ({streamed} s): {root:#}",
        seconds(&root)
    );
    assert!(seconds(&root) < streamed + 2.0, "{root:#}");
    assert_eq!(root["http"]["response"]["status"], 200, "{root:#}");
    assert!(root.get("fault").is_none(), "{root:#}");
    let operation = node(&ok_trace, "stream");
    assert!(seconds(&operation) >= streamed - 0.01, "{operation:#}");

    let root = node(&failed_trace, "streaming");
    assert_eq!(root["fault"], true, "{root:#}");
    let text = root.to_string();
    assert!(text.contains("stream_error"), "{root:#}");
    assert!(text.contains("the upstream source went away"), "{root:#}");

    // HandlerDuration of the operation: the same interval, in ms.
    let emf = common::emf::lines_in(&function.output());
    let durations: Vec<f64> = emf
        .iter()
        .filter(|l| l["Handler"] == "stream")
        .filter_map(|l| {
            l["HandlerDuration"]["Values"]
                .as_array()
                .cloned()
                .or_else(|| l["HandlerDuration"].as_f64().map(|v| vec![json!(v)]))
        })
        .flatten()
        .filter_map(|v| v.as_f64())
        .collect();
    assert!(
        durations.iter().any(|d| *d >= streamed * 1000.0),
        "a HandlerDuration covers the stream: {durations:?}\n{}",
        function.output()
    );
}

/// The OTel span itself, over OTLP/HTTP JSON: the bytes sent
/// (`http.response.body.size`, which X-Ray's translators keep only for RPC
/// messages received) and the same duration.
#[test]
fn the_root_span_records_the_bytes_sent() {
    let (collector, received) = common::capture::collector();
    let api = RuntimeApi::start();
    let function = Function::start_on(
        &common::emulator::example("streaming"),
        "streaming",
        &api.address(),
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
        ],
    );
    let (trace_id, header) = trace(3);
    api.invoke(&request(None), &header, Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}\n{}", function.output()));
    let hex = trace_id.replace('-', "")[1..].to_owned();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let root = loop {
        let request = received
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
            .unwrap_or_else(|_| panic!("the root span over OTLP\n{}", function.output()));
        if !request.path.ends_with("/v1/traces") {
            continue;
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        let found = body["resourceSpans"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r["scopeSpans"].as_array().cloned().unwrap_or_default())
            .flat_map(|s| s["spans"].as_array().cloned().unwrap_or_default())
            .find(|span| span["name"] == "streaming" && span["traceId"] == hex.as_str());
        if let Some(span) = found {
            break span;
        }
    };
    let attribute = |key: &str| {
        root["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["key"] == key)
            .map(|a| a["value"].clone())
            .unwrap_or_else(|| panic!("{key} on {root:#}"))
    };
    assert_eq!(
        attribute("http.response.body.size")["intValue"],
        json!("24")
    );
    assert_eq!(
        attribute("http.response.status_code")["intValue"],
        json!("200")
    );
    let nanos = |key: &str| root[key].as_str().unwrap().parse::<u64>().unwrap();
    let seconds = (nanos("endTimeUnixNano") - nanos("startTimeUnixNano")) as f64 / 1e9;
    let streamed = f64::from(CHUNKS as u32) * DELAY_MS as f64 / 1000.0;
    assert!(
        seconds >= streamed,
        "{seconds} s covers {streamed} s: {root:#}"
    );
}

/// The stream's next item.
async fn next<S: futures_core::Stream + ?Sized>(
    mut stream: std::pin::Pin<&mut S>,
) -> Option<S::Item> {
    std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await
}

/// In process, on the SDK's in-memory exporter: a stream for a non-HTTP
/// event gives no status; a stream dropped before its end (the client went
/// away) ends the root span as `stream_dropped`, with what it had sent.
#[tokio::test]
async fn a_dropped_stream_ends_its_root_span_as_a_fault() {
    use lambda_runtime::tower::{Layer as _, Service as _, ServiceExt as _};
    use lambda_runtime::{service_fn, Error, LambdaEvent, StreamResponse};
    use opentelemetry::trace::Status;

    let t = common::telemetry();
    let layer = perfmon_lambda::lambda::PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    )
    .with_flush_mode(perfmon_lambda::lambda::FlushMode::Sync);
    let mut service = layer
        .streaming()
        .layer(service_fn(|_: LambdaEvent<Value>| async {
            let chunks: Vec<Result<&'static str, Error>> = vec![Ok("first\n"), Ok("second\n")];
            Ok::<_, Error>(StreamResponse {
                metadata_prelude: Default::default(),
                stream: tokio_stream::iter(chunks),
            })
        }));
    let root = |request_id: &str| {
        t.exported_spans().into_iter().find(|s| {
            common::span_attrs(s)
                .get("faas.invocation_id")
                .map(String::as_str)
                == Some(request_id)
        })
    };

    // Two invocations: one read to its end, one dropped after a chunk.
    let mut responses = Vec::new();
    for request_id in ["req-whole", "req-gone"] {
        let cx = common::lambda_context(request_id, None, 600_000);
        let call = service
            .ready()
            .await
            .unwrap()
            .call(LambdaEvent::new(json!({}), cx));
        responses.push(call.await.unwrap());
    }
    let (response, gone) = (responses.remove(0), responses.remove(0));
    let mut stream = std::pin::pin!(response.stream);
    assert!(
        root("req-whole").is_none(),
        "the root span waits for the stream"
    );
    let mut sent = 0;
    while let Some(chunk) = next(stream.as_mut()).await {
        sent += chunk.unwrap().len();
    }
    assert_eq!(sent, 13);
    let span = root("req-whole").expect("exported at the stream's end");
    let attributes = common::span_attrs(&span);
    assert_eq!(attributes["http.response.body.size"], "13");
    assert!(
        !attributes.contains_key("http.response.status_code"),
        "{attributes:?}"
    );
    assert_eq!(span.status, Status::Unset);

    // Dropped after its first chunk.
    let mut stream = Box::pin(gone.stream);
    assert_eq!(next(stream.as_mut()).await.unwrap().unwrap().len(), 6);
    drop(stream);
    t.telemetry.force_flush(Duration::from_secs(5)).unwrap();
    let span = root("req-gone").expect("exported once dropped");
    let attributes = common::span_attrs(&span);
    assert_eq!(attributes["error.type"], "stream_dropped");
    assert_eq!(attributes["http.response.body.size"], "6");
    assert_eq!(span.status, Status::error("stream_dropped"));
}

/// A stream still running at the invocation's deadline less the flush
/// budget (a source that stalls after its first chunk) ends its root span
/// then as `timeout`, with the bytes sent so far, and is flushed before
/// the deadline.
#[tokio::test]
async fn a_stalled_stream_ends_its_root_span_as_a_timeout_before_the_deadline() {
    use lambda_runtime::tower::{Layer as _, Service as _, ServiceExt as _};
    use lambda_runtime::{service_fn, Error, LambdaEvent, StreamResponse};
    use opentelemetry::trace::Status;
    use tokio_stream::StreamExt as _;

    let t = common::telemetry();
    let layer = perfmon_lambda::lambda::PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_millis(500),
    );
    let mut service = layer
        .streaming()
        .layer(service_fn(|_: LambdaEvent<Value>| async {
            let first: Vec<Result<&'static str, Error>> = vec![Ok("first\n")];
            Ok::<_, Error>(StreamResponse {
                metadata_prelude: Default::default(),
                stream: tokio_stream::iter(first)
                    .chain(tokio_stream::pending::<Result<&'static str, Error>>()),
            })
        }));
    let started = std::time::Instant::now();
    let deadline_ms = perfmon_lambda::clock::now_ms() as u64 + 1_000;
    let cx = common::lambda_context("req-stalled", None, deadline_ms);
    let response = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(json!({}), cx))
        .await
        .unwrap();
    // The runtime reads the stream: one chunk, then nothing for 700 ms.
    let mut stream = std::pin::pin!(response.stream);
    assert_eq!(next(stream.as_mut()).await.unwrap().unwrap().len(), 6);
    let waited = tokio::time::timeout(Duration::from_millis(700), next(stream.as_mut())).await;
    assert!(waited.is_err(), "the stream runs on");
    let root = t
        .exported_spans()
        .into_iter()
        .find(|s| {
            common::span_attrs(s)
                .get("faas.invocation_id")
                .map(String::as_str)
                == Some("req-stalled")
        })
        .expect("the root span, flushed at the overtime");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "before the deadline"
    );
    let lasted = root.end_time.duration_since(root.start_time).unwrap();
    assert!(
        lasted >= Duration::from_millis(490) && lasted < Duration::from_millis(700),
        "{lasted:?}"
    );
    assert_eq!(root.status, Status::error("timeout"));
    assert_eq!(common::span_attrs(&root)["http.response.body.size"], "6");
}
