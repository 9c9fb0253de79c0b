//! Traces without a collector: X-Ray segment documents over UDP to the
//! daemon address, checked datagram by datagram, then sent to moto's X-Ray
//! API (`PutTraceSegments`) and read back with `BatchGetTraces`.

use perfmon_testkit as common;

use std::collections::HashMap;
use std::net::UdpSocket;
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::KeyValue;
use perfmon_lambda::{ExporterKind, PerformanceMonitor, Telemetry};
use serde_json::Value;

/// The invocation's trace root. X-Ray refuses trace ids older than 30 days,
/// so it is stamped now, once per test process: computed twice it could
/// straddle a second and differ in its time part.
fn trace_root() -> String {
    static ROOT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        format!("1-{now:08x}-bd862e3fe1be46a994272793")
    })
    .clone()
}
const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";
const TOKEN: &str = "eyJraWQiOiJrMSJ9.eyJzdWIiOiIxIn0.c2ln";

/// A daemon address on loopback whose reads give up after `timeout`.
fn daemon(timeout: Duration) -> UdpSocket {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon.set_read_timeout(Some(timeout)).unwrap();
    daemon
}

/// Traces to X-Ray over UDP to `daemon`, no metrics.
fn xray_telemetry(daemon: &UdpSocket) -> Telemetry {
    Telemetry::builder()
        .with_catalog(common::chat_catalog())
        .with_traces_exporter(ExporterKind::Xray)
        .with_metrics_exporter(ExporterKind::None)
        .with_xray_daemon_address(daemon.local_addr().unwrap())
        .build()
        .unwrap()
}

/// Runs one invocation's operations with the X-Ray exporter and returns the
/// segment documents the daemon address received.
pub fn segments() -> Vec<Value> {
    let daemon = daemon(Duration::from_secs(2));
    let telemetry = xray_telemetry(&daemon);
    let monitor = PerformanceMonitor::new(&telemetry);
    let header = format!("Root={};Parent=53995c3f42cd8ad8;Sampled=1", trace_root());
    let carrier = HashMap::from([("x-amzn-trace-id".to_owned(), header)]);
    let lambda = telemetry.propagator().extract(&carrier);
    let mut conversation = monitor.start_with_context(
        common::op::WEBSOCKET_CONVERSATION,
        &lambda,
        [
            KeyValue::new(common::key::CONNECTION_ID, "SlRtFcbfoAMCJRg="),
            KeyValue::new("token", TOKEN),
            KeyValue::new(common::key::USER_EMAIL, "alice@example.com"),
        ],
    );
    let cx = conversation.context();
    monitor
        .start_with_context(common::op::CHAT_MESSAGE_PROCESSING, &cx, [])
        .fail("DATABASE_ERROR", []);
    conversation.complete(true, []);
    telemetry.force_flush(Duration::from_secs(5)).unwrap();

    let mut docs = Vec::new();
    let mut buf = [0u8; 65536];
    // One invocation's spans arrive as one document with nested subsegments.
    while docs.is_empty() {
        let n = daemon.recv(&mut buf).expect("a datagram from the exporter");
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let body = text
            .strip_prefix(DAEMON_HEADER)
            .unwrap_or_else(|| panic!("the daemon header starts {text}"));
        assert!(
            !body.contains(TOKEN) && !body.contains("alice@example.com"),
            "{body}"
        );
        docs.push(serde_json::from_str(body).unwrap());
    }
    docs
}

/// The document of `operation`, found by its `perf_handler` annotation (a
/// SERVER span becomes a segment named after the service, as X-Ray names
/// segments; its subsegments keep the span names).
fn by_handler<'a>(docs: &'a [Value], operation: &str) -> &'a Value {
    fn walk<'a>(doc: &'a Value, out: &mut Vec<&'a Value>) {
        out.push(doc);
        for sub in doc["subsegments"].as_array().into_iter().flatten() {
            walk(sub, out);
        }
    }
    let mut all = Vec::new();
    for doc in docs {
        walk(doc, &mut all);
    }
    all.into_iter()
        .find(|d| d["annotations"]["perf_handler"] == operation)
        .unwrap_or_else(|| panic!("{operation} in {docs:#?}"))
}

#[test]
fn segments_reach_the_daemon_joined_to_the_lambda_segment() {
    let docs = segments();
    let root = by_handler(&docs, common::op::WEBSOCKET_CONVERSATION);
    let child = by_handler(&docs, common::op::CHAT_MESSAGE_PROCESSING);
    assert_eq!(
        root["name"], "perfmon",
        "the segment is named after service.name"
    );
    assert_eq!(child["name"], common::op::CHAT_MESSAGE_PROCESSING);
    assert_eq!(child["fault"], true);
    assert_eq!(root["trace_id"].as_str().unwrap()[..11], trace_root()[..11]);
    assert!(root["trace_id"]
        .as_str()
        .unwrap()
        .ends_with("-bd862e3fe1be46a994272793"));
    for doc in [root, child] {
        let id = doc["id"].as_str().unwrap();
        assert!(
            id.len() == 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
        assert!(doc["start_time"].as_f64().unwrap() <= doc["end_time"].as_f64().unwrap());
    }
    assert_eq!(
        root["parent_id"], "53995c3f42cd8ad8",
        "the root joins the Lambda segment"
    );
    assert_eq!(docs.len(), 1, "one datagram for the invocation");
    assert_eq!(
        root["subsegments"][0]["id"], child["id"],
        "the child is nested in its parent"
    );
    let annotations = |doc: &Value| doc["annotations"].as_object().cloned().unwrap_or_default();
    let root_notes = annotations(root);
    let child_notes = annotations(child);
    let find = |notes: &serde_json::Map<String, Value>, suffix: &str| {
        notes
            .iter()
            .find(|(k, _)| k.ends_with(suffix))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("annotation *{suffix} in {notes:?}"))
    };
    assert_eq!(find(&root_notes, "handler"), "websocket_conversation");
    assert_eq!(find(&root_notes, "outcome"), "success");
    assert_eq!(find(&child_notes, "outcome"), "DATABASE_ERROR");
    let metadata = serde_json::to_string(&child["metadata"]).unwrap();
    assert!(
        metadata.contains("perf") || metadata.contains("memory"),
        "other attributes are metadata: {child}"
    );
}

#[test]
fn moto_accepts_the_same_segments_and_returns_them_by_trace_id() {
    let Some(moto) = common::moto::Moto::start() else {
        return;
    };
    let docs = segments();
    let answer = moto.xray(&Value::Array(docs.clone()));
    assert_eq!(answer["unprocessed"], serde_json::json!([]), "{answer}");
    let traces = answer["traces"].as_array().unwrap();
    assert_eq!(traces.len(), 1);
    assert_eq!(traces[0]["id"], docs[0]["trace_id"]);
    let mut sent: Vec<_> = docs.iter().map(|d| d["id"].clone()).collect();
    let mut got: Vec<_> = traces[0]["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].clone())
        .collect();
    sent.sort_by_key(|v| v.to_string());
    got.sort_by_key(|v| v.to_string());
    assert_eq!(got, sent);
}

/// The next document the daemon address receives.
fn next_document(daemon: &UdpSocket, what: &str) -> Value {
    let mut buf = [0u8; 65536];
    let n = daemon.recv(&mut buf).expect(what);
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    serde_json::from_str(text.strip_prefix(DAEMON_HEADER).unwrap()).unwrap()
}

/// An invocation under `parent` (a remote span context with `trace_id`),
/// its operation and a child, flushed.
fn invocation_under(telemetry: &Telemetry, trace_id: &str) {
    let cx = perfmon_lambda::testing::remote_parent(trace_id, true);
    let monitor = PerformanceMonitor::new(telemetry);
    let mut op = monitor.start_with_context(common::op::WEBSOCKET_CONVERSATION, &cx, []);
    let child_cx = op.context();
    monitor
        .start_with_context(common::op::CHAT_MESSAGE_PROCESSING, &child_cx, [])
        .complete(true, []);
    op.complete(true, []);
}

/// X-Ray refuses a trace id whose time part is more than 30 days old or 5
/// minutes ahead, as that of any random W3C id propagated from another
/// tracer is. Such an invocation's spans are counted lost and nothing else
/// happens: the flush succeeds (the translator is never handed a batch it
/// cannot translate, on which it would panic), and an accepted trace
/// flushed with it still reaches the daemon.
#[test]
fn spans_of_a_trace_id_xray_refuses_are_counted_lost_and_the_rest_is_sent() {
    let daemon = daemon(Duration::from_millis(500));
    let telemetry = xray_telemetry(&daemon);
    let w3c = "4bf92f3577b34da6a3ce929d0e0e4736";

    // Only refused spans in the flush.
    invocation_under(&telemetry, w3c);
    telemetry.force_flush(Duration::from_secs(5)).unwrap();
    assert_eq!(telemetry.stats().spans_lost, 2);
    let mut buf = [0u8; 65536];
    assert!(daemon.recv(&mut buf).is_err(), "nothing is sent for them");

    // Refused and accepted spans in one flush.
    invocation_under(&telemetry, w3c);
    invocation_under(&telemetry, &trace_root()[2..].replace('-', ""));
    telemetry.force_flush(Duration::from_secs(5)).unwrap();
    assert_eq!(telemetry.stats().spans_lost, 4);
    let doc = next_document(&daemon, "the accepted trace's document");
    assert_eq!(doc["trace_id"], trace_root(), "{doc}");
    assert_eq!(
        doc["subsegments"].as_array().map(Vec::len),
        Some(1),
        "{doc}"
    );
}

/// A span named with characters X-Ray does not allow, which the
/// translator refused (its batch lost), is sent with the name fitted, as
/// the collector's `awsxray` exporter fits it; the pipeline goes on.
#[test]
fn a_span_x_ray_would_refuse_is_fitted_and_sent() {
    use opentelemetry::trace::{Span as _, TraceContextExt, Tracer as _};
    let daemon = daemon(Duration::from_millis(500));
    let telemetry = xray_telemetry(&daemon);
    let header = format!("Root={};Parent=53995c3f42cd8ad8;Sampled=1", trace_root());
    let carrier = HashMap::from([("x-amzn-trace-id".to_owned(), header)]);
    let lambda = telemetry.propagator().extract(&carrier);
    let tracer = telemetry.tracer();
    tracer.start_with_context("{bad}\u{7}", &lambda).end();
    telemetry.force_flush(Duration::from_secs(5)).unwrap();
    assert_eq!(telemetry.stats().spans_lost, 0);
    let doc = next_document(&daemon, "the fitted span's document");
    assert_eq!(doc["name"], "bad", "{doc}");

    invocation_under(&telemetry, &trace_root()[2..].replace('-', ""));
    telemetry.force_flush(Duration::from_secs(5)).unwrap();
    next_document(&daemon, "the next flush's document");
    let _ = lambda.span();
}

/// A process that flushes on its own schedule (a server, not a Lambda
/// invocation) can see how many finished spans wait for the next flush,
/// and flush before the buffer fills: beyond `MAX_BUFFERED_SPANS` spans
/// are dropped and counted.
#[test]
fn the_stats_tell_how_many_spans_wait_for_the_flush() {
    let daemon = daemon(Duration::from_millis(500));
    let telemetry = xray_telemetry(&daemon);
    let trace_id = trace_root()[2..].replace('-', "");
    assert_eq!(telemetry.stats().spans_buffered, 0);
    for _ in 0..3 {
        invocation_under(&telemetry, &trace_id);
    }
    assert_eq!(telemetry.stats().spans_buffered, 6, "two spans each");
    telemetry.force_flush(Duration::from_secs(5)).unwrap();
    assert_eq!(telemetry.stats().spans_buffered, 0);
    let mut buf = [0u8; 65536];
    assert!(daemon.recv(&mut buf).is_ok(), "the flush sent them");

    let invocations = perfmon_lambda::MAX_BUFFERED_SPANS / 2 + 5;
    for _ in 0..invocations {
        invocation_under(&telemetry, &trace_id);
    }
    let stats = telemetry.stats();
    assert_eq!(
        stats.spans_buffered,
        perfmon_lambda::MAX_BUFFERED_SPANS as u64
    );
    assert_eq!(stats.spans_dropped, 10);
}

/// A segment document over the datagram limit is split, one document per
/// span, and a span whose own document is still over it is dropped and
/// counted; a failed send never skips the rest of the batch. Two traces
/// in one flush, the first's operation with a 70 KB attribute: its child
/// and the whole second trace arrive, and only that one span is lost.
#[test]
fn a_document_over_the_datagram_limit_is_split_and_only_its_oversized_span_is_lost() {
    let daemon = daemon(Duration::from_millis(500));
    let telemetry = xray_telemetry(&daemon);
    let monitor = PerformanceMonitor::new(&telemetry);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (first, second) = (
        format!("{now:08x}aaaaaaaaaaaaaaaaaaaaaaaa"),
        format!("{now:08x}bbbbbbbbbbbbbbbbbbbbbbbb"),
    );
    for (trace_id, blob) in [(&first, "x".repeat(70 * 1024)), (&second, String::new())] {
        let cx = perfmon_lambda::testing::remote_parent(trace_id, true);
        let mut op = monitor.start_with_context(
            common::op::WEBSOCKET_CONVERSATION,
            &cx,
            [KeyValue::new("app.blob", blob)],
        );
        let child_cx = op.context();
        monitor
            .start_with_context(common::op::CHAT_MESSAGE_PROCESSING, &child_cx, [])
            .complete(true, []);
        op.complete(true, []);
    }
    telemetry.force_flush(Duration::from_secs(5)).unwrap();
    assert_eq!(telemetry.stats().spans_lost, 1, "the oversized span only");
    let mut received = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = daemon.recv(&mut buf) {
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let doc: Value = serde_json::from_str(text.strip_prefix(DAEMON_HEADER).unwrap()).unwrap();
        let mut names = vec![doc["annotations"]["perf_handler"]
            .as_str()
            .unwrap()
            .to_owned()];
        for sub in doc["subsegments"].as_array().into_iter().flatten() {
            names.push(
                sub["annotations"]["perf_handler"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        received.push((doc["trace_id"].as_str().unwrap().to_owned(), names));
    }
    let xray = |id: &str| format!("1-{}-{}", &id[..8], &id[8..]);
    received.sort();
    assert_eq!(
        received,
        [
            // The first trace, split: its child alone, as a subsegment.
            (
                xray(&first),
                vec![common::op::CHAT_MESSAGE_PROCESSING.to_owned()]
            ),
            // The second, whole: the operation with its child nested.
            (
                xray(&second),
                vec![
                    common::op::WEBSOCKET_CONVERSATION.to_owned(),
                    common::op::CHAT_MESSAGE_PROCESSING.to_owned()
                ]
            ),
        ]
    );
}
