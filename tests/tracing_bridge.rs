//! The `tracing` bridge: `#[instrument]` spans, `tracing` events and perfmon
//! operations in one trace, the Lambda runtime's own invocation span left
//! out, and log lines correlated with the trace by `traceId`, `spanId`,
//! `requestId` and `coldStart`, under the privacy rules.
#![cfg(feature = "lambda")]

use perfmon_testkit as common;

use std::time::Duration;

use common::{lambda_context, op, SharedBuffer, TestTelemetry};
use lambda_runtime::tower::{Layer as _, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use opentelemetry::trace::SpanKind;
use opentelemetry_sdk::trace::SpanData;
use perfmon_lambda::lambda::PerformanceLayer;
use perfmon_lambda::tracing::{LogFormat, LogLayer};
use serde_json::Value;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const XRAY_TRACE_ID: &str = "1-5759e988-bd862e3fe1be46a994272793";
const JWT: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl";

/// The bridge and JSON log lines into `logs`, composed into a subscriber
/// of the test's own, as a user with their own subscriber would.
fn subscriber(t: &TestTelemetry, logs: &SharedBuffer) -> impl tracing::Subscriber {
    tracing_subscriber::registry()
        .with(perfmon_lambda::tracing::otel_layer(&t.telemetry))
        .with(
            LogLayer::new(&t.telemetry)
                .with_format(LogFormat::Json)
                .with_writer(logs.clone())
                .with_function_name("ws-conversation"),
        )
}

fn lines(logs: &SharedBuffer) -> Vec<Value> {
    logs.text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

fn named<'a>(spans: &'a [SpanData], name: &str) -> &'a SpanData {
    let found: Vec<_> = spans.iter().filter(|s| s.name == name).collect();
    assert_eq!(found.len(), 1, "one span {name} in {:#?}", names(spans));
    found[0]
}

fn names(spans: &[SpanData]) -> Vec<String> {
    spans.iter().map(|s| s.name.to_string()).collect()
}

#[tracing::instrument(fields(app.frame.bytes = frame.len()))]
fn validate(frame: &str) -> bool {
    tracing::info!(frame_bytes = frame.len(), "frame validated");
    !frame.is_empty()
}

#[tracing::instrument]
async fn store(text: String) -> usize {
    tokio::task::yield_now().await;
    text.len()
}

#[test]
fn instrument_spans_and_operations_nest_both_ways() {
    let t = common::telemetry();
    let logs = SharedBuffer::default();
    let _guard = tracing::subscriber::set_default(subscriber(&t, &logs));

    let mut conversation = t.monitor.start(op::WEBSOCKET_CONVERSATION, []);
    assert!(conversation.in_scope(|| validate("hello")));
    conversation.complete(true, []);

    let batch = tracing::info_span!("batch");
    batch.in_scope(|| {
        t.monitor
            .start(op::CHAT_MESSAGE_PROCESSING, [])
            .complete(true, [])
    });
    drop(batch);

    let spans = t.spans();
    let conversation = named(&spans, op::WEBSOCKET_CONVERSATION);
    let validate = named(&spans, "validate");
    assert_eq!(
        validate.span_context.trace_id(),
        conversation.span_context.trace_id()
    );
    assert_eq!(validate.parent_span_id, conversation.span_context.span_id());
    assert_eq!(validate.span_kind, SpanKind::Internal);
    assert!(
        validate
            .attributes
            .iter()
            .any(|kv| kv.key.as_str() == "app.frame.bytes" && kv.value.as_str() == "5"),
        "{:?}",
        validate.attributes
    );
    assert!(
        validate.events.iter().any(|e| e.name == "frame validated"),
        "the event is on its span: {:?}",
        validate.events
    );

    let batch = named(&spans, "batch");
    let chat = named(&spans, op::CHAT_MESSAGE_PROCESSING);
    assert_eq!(chat.span_context.trace_id(), batch.span_context.trace_id());
    assert_eq!(chat.parent_span_id, batch.span_context.span_id());

    // The event's line names the span it happened in.
    let line = lines(&logs)
        .into_iter()
        .find(|l| l["message"] == "frame validated")
        .expect("the event is logged");
    assert_eq!(
        line["spanId"],
        validate.span_context.span_id().to_string(),
        "{line}"
    );
    assert_eq!(
        line["traceId"],
        perfmon_lambda::xray_trace_id(conversation.span_context.trace_id())
    );
    assert_eq!(line["frame_bytes"], 5);
    assert!(
        line.get("requestId").is_none(),
        "no invocation here: {line}"
    );
}

/// A handler as a user writes it: a log line, an operation around an
/// `#[instrument]` async function.
fn handler(
    monitor: perfmon_lambda::PerformanceMonitor,
) -> impl Service<LambdaEvent<Value>, Response = usize, Error = String> {
    service_fn(move |event: LambdaEvent<Value>| {
        let monitor = monitor.clone();
        async move {
            tracing::info!(
                token = JWT,
                user.email = "alice@example.com",
                token_length = JWT.len(),
                "message from alice@example.com with {JWT}"
            );
            let mut op = monitor.start(op::WEBSOCKET_CONVERSATION, []);
            let text = event.payload["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let stored = op.within(store(text)).await;
            op.complete(true, []);
            Ok(stored)
        }
    })
}

#[tokio::test]
async fn an_invocation_is_one_trace_and_its_lines_carry_its_ids() {
    let t = common::telemetry();
    let logs = SharedBuffer::default();
    let _guard = tracing::subscriber::set_default(subscriber(&t, &logs));
    let layer = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    );
    let mut service = layer.layer(handler(t.monitor.clone()));

    for request_id in ["req-1", "req-2"] {
        let context = lambda_context(request_id, Some(HEADER), 600_000);
        // As `lambda_runtime::run` does: the runtime's span around the call.
        let runtime_span = lambda_runtime::layers::trace::request_span(&context);
        let event = LambdaEvent::new(serde_json::json!({"text": "hello"}), context);
        let answer = service
            .ready()
            .await
            .unwrap()
            .call(event)
            .instrument(runtime_span)
            .await;
        assert_eq!(answer, Ok(5));
    }

    let spans = t.spans();
    assert!(
        !names(&spans).iter().any(|n| n == "Lambda runtime invoke"),
        "the runtime's span starts no trace of its own: {:?}",
        names(&spans)
    );
    assert_eq!(spans.len(), 6, "{:?}", names(&spans));
    let roots: Vec<_> = spans
        .iter()
        .filter(|s| s.name == "ws-conversation")
        .collect();
    assert_eq!(roots.len(), 2);
    for root in &roots {
        assert_eq!(
            perfmon_lambda::xray_trace_id(root.span_context.trace_id()),
            XRAY_TRACE_ID
        );
        assert_eq!(root.parent_span_id.to_string(), "53995c3f42cd8ad8");
        let conversation = spans
            .iter()
            .find(|s| {
                s.name == op::WEBSOCKET_CONVERSATION
                    && s.parent_span_id == root.span_context.span_id()
            })
            .expect("the operation under the root");
        let store = spans
            .iter()
            .find(|s| s.name == "store" && s.parent_span_id == conversation.span_context.span_id())
            .expect("the #[instrument] function under the operation");
        assert_eq!(store.span_context.trace_id(), root.span_context.trace_id());
    }

    let lines = lines(&logs);
    let handled: Vec<_> = lines
        .iter()
        .filter(|l| l["target"] == "tracing_bridge")
        .collect();
    assert_eq!(handled.len(), 2, "{lines:#?}");
    for (line, (request_id, cold)) in handled.iter().zip([("req-1", true), ("req-2", false)]) {
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["traceId"], XRAY_TRACE_ID);
        assert_eq!(line["requestId"], request_id);
        assert_eq!(line["coldStart"], cold);
        assert_eq!(line["functionName"], "ws-conversation");
        let root = roots
            .iter()
            .find(|r| {
                r.attributes.iter().any(|kv| {
                    kv.key.as_str() == "faas.invocation_id" && kv.value.as_str() == *request_id
                })
            })
            .unwrap();
        assert_eq!(line["spanId"], root.span_context.span_id().to_string());
        assert!(line["timestamp"].as_str().unwrap().ends_with('Z'));
        // Privacy: the token never appears, the email not by default; the
        // token's length is kept.
        assert_eq!(line["token"], "[redacted]");
        assert_eq!(line["user.email"], "[redacted]");
        assert_eq!(line["token_length"], JWT.len());
        assert_eq!(line["message"], "message from [redacted] with [redacted]");
    }
    let text = logs.text();
    assert!(!text.contains(JWT) && !text.contains("alice@"), "{text}");
}

#[test]
fn text_lines_append_the_fields() {
    let t = common::telemetry();
    let logs = SharedBuffer::default();
    let subscriber = tracing_subscriber::registry().with(
        LogLayer::new(&t.telemetry)
            .with_format(LogFormat::Text)
            .with_writer(logs.clone()),
    );
    tracing::subscriber::with_default(subscriber, || {
        let mut op = t.monitor.start(op::WEBSOCKET_CONNECTION, []);
        op.in_scope(|| tracing::warn!(reason = "INVALID_TOKEN", "authentication failed"));
        op.complete(true, []);
    });
    let span = t.span(op::WEBSOCKET_CONNECTION);
    let text = logs.text();
    let line = text.lines().next().expect("one line");
    assert!(
        line.contains(" WARN  - authentication failed reason=INVALID_TOKEN target=tracing_bridge "),
        "{line}"
    );
    assert!(
        line.contains(&format!(
            " traceId={} spanId={}",
            perfmon_lambda::xray_trace_id(span.span_context.trace_id()),
            span.span_context.span_id()
        )),
        "without the bridge the operation's context still correlates: {line}"
    );
}

const EMAIL: &str = "alice@example.com";
const SIGNATURE: &str = "3f9a0c-signature-value";

/// What a user's code leaks through the bridge without meaning to: the
/// email in an `#[instrument]` argument, in the message (the OTel event
/// name) and in an `error` field, a token list under `authorization`, a
/// link attribute, a status description, a presigned URL.
#[tracing::instrument]
fn login(email: &str) {
    use opentelemetry::trace::{SpanContext, SpanId, Status, TraceFlags, TraceId, TraceState};
    use opentelemetry::{Array, KeyValue, StringValue};
    use tracing_opentelemetry::OpenTelemetrySpanExt as _;
    let span = tracing::Span::current();
    let error = std::io::Error::other(format!("no account for {email}"));
    tracing::warn!(error = %error, "login failed for {email}");
    span.set_attribute(
        "http.request.header.authorization",
        opentelemetry::Value::Array(Array::String(vec![StringValue::from(format!(
            "Bearer {JWT}"
        ))])),
    );
    span.set_attribute(
        "url.full",
        format!("https://user:pw@bucket.s3.amazonaws.com/k?X-Amz-Signature={SIGNATURE}"),
    );
    span.add_link_with_attributes(
        SpanContext::new(
            TraceId::from_hex("5759e988bd862e3fe1be46a994272793").unwrap(),
            SpanId::from_hex("53995c3f42cd8ad8").unwrap(),
            TraceFlags::SAMPLED,
            true,
            TraceState::default(),
        ),
        vec![KeyValue::new("messaging.sender", EMAIL)],
    );
    span.set_status(Status::error(format!("denied {email}")));
}

/// Every exported string passes the privacy rules, on both trace export
/// paths: OTLP (what a collector receives, protobuf) and X-Ray (the
/// daemon's datagrams). No email, token, password or URL signature
/// arrives; the span itself does, its URL kept without them.
#[test]
fn every_exported_string_passes_the_privacy_rules() {
    use perfmon_lambda::{ExporterKind, Telemetry};
    let secrets: [&[u8]; 4] = [
        EMAIL.as_bytes(),
        JWT.as_bytes(),
        SIGNATURE.as_bytes(),
        b"user:pw",
    ];
    let run = |builder: perfmon_lambda::TelemetryBuilder| {
        let telemetry = builder
            .with_catalog(common::chat_catalog())
            .with_metrics_exporter(ExporterKind::None)
            .build()
            .unwrap();
        let subscriber =
            tracing_subscriber::registry().with(perfmon_lambda::tracing::otel_layer(&telemetry));
        // Under an invocation's trace, as in a function: X-Ray takes only
        // trace ids of its own form, stamped with a recent time.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header =
            format!("Root=1-{now:08x}-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1");
        let carrier = std::collections::HashMap::from([("x-amzn-trace-id".to_owned(), header)]);
        let parent = opentelemetry::propagation::TextMapPropagator::extract(
            &telemetry.propagator(),
            &carrier,
        );
        tracing::subscriber::with_default(subscriber, || {
            use tracing_opentelemetry::OpenTelemetrySpanExt as _;
            let invocation = tracing::info_span!("invocation");
            invocation.set_parent(parent).unwrap();
            invocation.in_scope(|| login(EMAIL));
        });
        telemetry.force_flush(Duration::from_secs(10)).unwrap();
    };

    let (addr, rx) = common::capture::collector();
    run(Telemetry::builder()
        .with_traces_exporter(ExporterKind::Otlp)
        .with_otlp_endpoint(format!("http://{addr}")));
    let otlp = common::capture::traces(&rx).body;

    let daemon = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    run(Telemetry::builder()
        .with_traces_exporter(ExporterKind::Xray)
        .with_xray_daemon_address(daemon.local_addr().unwrap()));
    let mut datagram = vec![0; 65_536];
    let n = daemon.recv(&mut datagram).expect("a segment document");
    let xray = datagram[..n].to_vec();

    for (path, body) in [("OTLP", &otlp), ("X-Ray", &xray)] {
        let found: Vec<String> = secrets
            .iter()
            .filter(|s| common::capture::contains(body, s))
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        assert!(found.is_empty(), "{path} exported {found:?}");
        assert!(
            common::capture::contains(body, b"login"),
            "{path}: the span"
        );
        assert!(
            common::capture::contains(body, b"bucket.s3.amazonaws.com/k?X-Amz-Signature=REDACTED"),
            "{path}: the URL, scrubbed"
        );
    }
    assert!(
        common::capture::contains(&otlp, b"login failed for [redacted]"),
        "the event, its name scrubbed"
    );
    assert!(common::capture::contains(&otlp, b"denied [redacted]"));
}
