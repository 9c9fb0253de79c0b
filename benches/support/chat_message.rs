//! One chat message's telemetry, as the export benchmarks record it: the
//! conversation and chat operations, two DynamoDB CLIENT spans, the core
//! and business metrics, on the chat app's catalog (as any application's).
#![allow(dead_code)]

use opentelemetry::trace::{Span as _, SpanKind, TraceContextExt, Tracer as _};
use opentelemetry::KeyValue;
use perfmon_lambda::{Catalog, Counter, Histogram, PerformanceMonitor, Telemetry};

/// The chat app's catalog, as any application's.
pub fn catalog() -> Catalog {
    Catalog::from_path(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/dashboards/catalog.json"
    ))
    .unwrap()
}

/// The business metrics one chat message records, looked up once.
pub struct Business {
    messages: Counter<1>,
    length: Histogram<0>,
    database: Counter<0>,
    processed: Counter<0>,
}

impl Business {
    pub fn new(monitor: &PerformanceMonitor) -> Self {
        Business {
            messages: monitor.counter("Messages").unwrap(),
            length: monitor.histogram("MessageLength").unwrap(),
            database: monitor.counter("DatabaseOperations").unwrap(),
            processed: monitor.counter("MessagesProcessed").unwrap(),
        }
    }
}

/// One chat message's telemetry.
pub fn invocation(telemetry: &Telemetry, monitor: &PerformanceMonitor, business: &Business) {
    let mut conversation = monitor.start(
        "websocket_conversation",
        [
            KeyValue::new("app.connection.id", "SlRtFcbfoAMCJRg="),
            KeyValue::new("app.route_key", "$default"),
        ],
    );
    let cx = conversation.context();
    let mut chat = monitor.start_with_context("chat_message_processing", &cx, []);
    let chat_cx = chat.context();
    let tracer = telemetry.tracer();
    for _ in 0..2 {
        let mut db = tracer
            .span_builder("DynamoDB.PutItem")
            .with_kind(SpanKind::Client)
            .with_attributes([
                KeyValue::new("rpc.system", "aws-api"),
                KeyValue::new("rpc.service", "DynamoDB"),
            ])
            .start_with_context(&tracer, &chat_cx);
        db.end();
    }
    business.messages.add(1, ["message"]);
    business.length.record(42.0, []);
    business.database.add(2, []);
    business.processed.add(1, []);
    chat.complete(true, []);
    conversation.complete(true, []);
    let _ = cx.span();
}
