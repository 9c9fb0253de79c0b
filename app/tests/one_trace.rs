//! One invocation, one trace, whatever produced the spans: through the
//! Lambda layer (under the Lambda runtime's own `tracing` span), an
//! operation, an `#[instrument]` function, a `tracing` event and a DynamoDB
//! call against moto. The X-Ray segment documents sent to the daemon
//! address hold every span on the invocation's trace with its parent link,
//! and the JSON log line of the event carries the same `traceId` as the
//! segments and the invocation's EMF lines.
#![cfg(feature = "aws")]

mod common;

use std::net::UdpSocket;
use std::sync::Arc;
use std::time::Duration;

use common::moto::Moto;
use common::{lambda_context, SharedBuffer};
use lambda_runtime::tower::{Layer as _, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use opentelemetry::Context;
use perfmon_chat::store::{ChatMessage, DynamoStore, MessageStore, Role, StoreError};
use perfmon_lambda::lambda::PerformanceLayer;
use perfmon_lambda::tracing::{LogFormat, LogLayer};
use perfmon_lambda::{ExporterKind, PerformanceMonitor, Telemetry};
use serde_json::Value;
use tracing::Instrument as _;
use tracing_subscriber::layer::SubscriberExt as _;

const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";
const PARENT: &str = "53995c3f42cd8ad8";

/// A trace root stamped now: X-Ray refuses trace ids older than 30 days.
fn trace_root() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("1-{now:08x}-bd862e3fe1be46a994272793")
}

#[tracing::instrument(skip(store, text), fields(app.message.bytes = text.len()))]
async fn save_message(store: &DynamoStore, session: &str, text: &str) -> Result<(), StoreError> {
    tracing::info!(session, "storing the message");
    let message = ChatMessage {
        session_id: session.to_owned(),
        message_id: "0000000000001#m-1".to_owned(),
        timestamp: 1,
        role: Role::User,
        user_id: "sub-1".to_owned(),
        connection_id: "c-1=".to_owned(),
        text: text.to_owned(),
    };
    MessageStore::put(store, &Context::current(), &message).await
}

/// Every segment and subsegment with the id of the document it is nested
/// in (or its own `parent_id` at the top).
fn flatten(docs: &[Value]) -> Vec<(Value, String)> {
    fn walk(doc: &Value, parent: String, out: &mut Vec<(Value, String)>) {
        let id = doc["id"].as_str().unwrap_or_default().to_owned();
        for sub in doc["subsegments"].as_array().into_iter().flatten() {
            walk(sub, id.clone(), out);
        }
        out.push((doc.clone(), parent));
    }
    let mut out = Vec::new();
    for doc in docs {
        let parent = doc["parent_id"].as_str().unwrap_or_default().to_owned();
        walk(doc, parent, &mut out);
    }
    out
}

#[tokio::test]
async fn an_invocation_with_instrumented_code_and_a_dynamodb_call_is_one_trace() {
    let Some(moto) = Moto::start() else { return };
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let emf = SharedBuffer::default();
    let telemetry = Arc::new(
        Telemetry::builder()
            .with_catalog(perfmon_chat::catalog())
            .with_traces_exporter(ExporterKind::Xray)
            .with_xray_daemon_address(daemon.local_addr().unwrap())
            .with_metrics_exporter(ExporterKind::Emf)
            .with_emf_writer(emf.clone())
            .build()
            .unwrap(),
    );
    let monitor = PerformanceMonitor::new(&telemetry);
    let logs = SharedBuffer::default();
    let _subscriber = tracing::subscriber::set_default(
        tracing_subscriber::registry()
            .with(perfmon_lambda::tracing::otel_layer(&telemetry))
            .with(
                LogLayer::new(&telemetry)
                    .with_format(LogFormat::Json)
                    .with_writer(logs.clone())
                    .with_function_name("ws-conversation"),
            ),
    );
    let store = Arc::new(DynamoStore::new(&sdk, tables, telemetry.tracer()));

    let handler = {
        let monitor = monitor.clone();
        service_fn(move |event: LambdaEvent<Value>| {
            let (monitor, store) = (monitor.clone(), store.clone());
            async move {
                let mut op =
                    monitor.start(perfmon_chat::names::operation::CHAT_MESSAGE_PROCESSING, []);
                let text = event.payload["text"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                let saved = op.within(save_message(&store, "s-1", &text)).await;
                op.complete(saved.is_ok(), []);
                saved.map_err(|e| e.to_string())
            }
        })
    };
    let mut service =
        PerformanceLayer::new(telemetry.clone(), monitor, Duration::from_secs(5)).layer(handler);
    let root = trace_root();
    let header = format!("Root={root};Parent={PARENT};Sampled=1");
    let context = lambda_context("req-one-trace", Some(&header), 600_000);
    let runtime_span = lambda_runtime::layers::trace::request_span(&context);
    let event = LambdaEvent::new(serde_json::json!({"text": "hello"}), context);
    service
        .ready()
        .await
        .unwrap()
        .call(event)
        .instrument(runtime_span)
        .await
        .expect("the message is stored in moto");

    // The segment documents the invocation sent.
    let mut docs = Vec::new();
    let mut buf = [0u8; 65536];
    while let Ok(n) = daemon.recv(&mut buf) {
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let body = text.strip_prefix(DAEMON_HEADER).expect("the daemon header");
        docs.push(serde_json::from_str::<Value>(body).unwrap());
    }
    let all = flatten(&docs);
    let names: Vec<&str> = all
        .iter()
        .map(|(d, _)| d["name"].as_str().unwrap_or(""))
        .collect();
    for (doc, _) in &all {
        let trace = doc["trace_id"].as_str().or_else(|| {
            // Nested subsegments inherit the trace of their document.
            docs.first().and_then(|d| d["trace_id"].as_str())
        });
        assert_eq!(trace, Some(root.as_str()), "one trace: {doc}");
    }
    for untraced in ["Lambda runtime invoke", "invoke", "try_op", "try_attempt"] {
        assert!(
            !names.contains(&untraced),
            "{untraced} is not traced: {names:?}"
        );
    }
    let find = |pred: &dyn Fn(&Value) -> bool, what: &str| {
        let found: Vec<_> = all.iter().filter(|(d, _)| pred(d)).collect();
        assert_eq!(found.len(), 1, "one {what} in {docs:#?}");
        found[0].clone()
    };
    let (lambda, lambda_parent) = find(
        &|d| d["annotations"].get("perf_handler").is_none() && d["parent_id"] == PARENT,
        "Lambda root segment",
    );
    assert_eq!(lambda_parent, PARENT, "the root joins Lambda's segment");
    let (operation, operation_parent) = find(
        &|d| d["annotations"]["perf_handler"] == "chat_message_processing",
        "operation",
    );
    assert_eq!(operation_parent, lambda["id"].as_str().unwrap());
    let (save, save_parent) = find(&|d| d["name"] == "save_message", "#[instrument] span");
    assert_eq!(save_parent, operation["id"].as_str().unwrap());
    assert_eq!(save["metadata"]["app.message.bytes"], "5", "{save}");
    let (dynamodb, dynamodb_parent) = find(&|d| d["namespace"] == "aws", "DynamoDB call");
    assert_eq!(dynamodb["name"], "DynamoDB", "{dynamodb}");
    assert_eq!(dynamodb["aws"]["operation"], "PutItem", "{dynamodb}");
    assert_eq!(dynamodb_parent, save["id"].as_str().unwrap());
    let request_id = dynamodb["aws"]["request_id"].as_str().unwrap_or_default();
    assert!(!request_id.is_empty(), "moto's request id: {dynamodb}");
    assert_eq!(dynamodb["http"]["response"]["status"], 200, "{dynamodb}");
    assert_eq!(dynamodb["aws"]["region"], "us-east-1", "{dynamodb}");
    assert_eq!(
        all.len(),
        4,
        "one span per call, no SDK internals: {names:?}"
    );

    // The log line of the event: same trace as the segments and as the EMF
    // lines of the invocation, and the span it was recorded in.
    let line: Value = logs
        .text()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .find(|l| l["message"] == "storing the message")
        .unwrap_or_else(|| panic!("the event is logged: {}", logs.text()));
    assert_eq!(line["traceId"], root.as_str(), "{line}");
    assert_eq!(line["spanId"], save["id"], "{line}");
    assert_eq!(line["requestId"], "req-one-trace");
    assert_eq!(line["coldStart"], true);
    assert_eq!(line["session"], "s-1");
    let emf_lines: Vec<Value> = emf
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!emf_lines.is_empty());
    for emf_line in &emf_lines {
        assert_eq!(emf_line["traceId"], line["traceId"], "{emf_line}");
        assert_eq!(emf_line["requestId"], "req-one-trace");
    }
}
