//! The spans, resources and runs the differential tests share: spans
//! built field by field (ids, times and kinds under the test's control),
//! the resources a function has locally and on Lambda, one chat message,
//! and the two runs to compare (the translator's and the writer's).

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry::trace::{
    SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceId, TraceState,
};
use opentelemetry::{Array, InstrumentationScope, KeyValue, StringValue, Value};
use opentelemetry_aws::xray_exporter::SegmentTranslator;
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use opentelemetry_sdk::Resource;

use super::super::attributes::Declined;
use super::super::document::{DocumentWriter, DAEMON_HEADER};

const INDEXED: [&str; 2] = ["perf_handler", "perf_outcome"];

pub(super) fn now() -> SystemTime {
    // Whole seconds, so that trace ids and times agree across a test.
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A finished span: `id` under `parent` (0 for none), from `start` to
/// `end` microseconds after the trace's start.
pub(super) fn span(
    id: u64,
    parent: u64,
    kind: SpanKind,
    name: &'static str,
    (start, end): (u64, u64),
    attributes: Vec<KeyValue>,
) -> SpanData {
    let t0 = now();
    let secs = t0.duration_since(UNIX_EPOCH).unwrap().as_secs() as u128;
    SpanData {
        span_context: SpanContext::new(
            TraceId::from(secs << 96 | 0xabc_def),
            SpanId::from(id),
            TraceFlags::SAMPLED,
            false,
            TraceState::default(),
        ),
        parent_span_id: SpanId::from(parent),
        parent_span_is_remote: false,
        span_kind: kind,
        name: Cow::Borrowed(name),
        start_time: t0 + Duration::from_micros(start),
        end_time: t0 + Duration::from_micros(end),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status: Status::Unset,
        instrumentation_scope: InstrumentationScope::builder("perfmon").build(),
    }
}

pub(super) fn kv(key: &'static str, value: impl Into<Value>) -> KeyValue {
    KeyValue::new(key, value)
}

pub(super) fn strings(values: &[&'static str]) -> Value {
    Value::Array(Array::String(
        values.iter().map(|v| StringValue::from(*v)).collect(),
    ))
}

/// The resource of a function running locally.
pub(super) fn local() -> Vec<KeyValue> {
    vec![
        kv("service.name", "chat"),
        kv("telemetry.sdk.language", "rust"),
        kv("telemetry.sdk.name", "opentelemetry"),
        kv("telemetry.sdk.version", "0.33.1"),
        kv("deployment.environment.name", "dev"),
    ]
}

/// The resource on Lambda (the Lambda detector's, without
/// `cloud.provider`, which the exporter leaves out).
pub(super) fn lambda() -> Vec<KeyValue> {
    let mut resource = local();
    resource.extend([
        kv("cloud.platform", "aws_lambda"),
        kv("faas.name", "ws-conversation"),
        kv("cloud.region", "eu-west-1"),
        kv("faas.version", "$LATEST"),
        kv("faas.instance", "2026/11/29/[$LATEST]0123abcd"),
        kv("faas.max_memory", 134_217_728_i64),
        KeyValue::new(
            "aws.log.group.names",
            strings(&["/aws/lambda/ws-conversation"]),
        ),
    ]);
    resource
}

pub(super) fn indexed() -> Vec<String> {
    INDEXED.iter().map(|k| k.to_string()).collect()
}

pub(super) fn owned(log_groups: &[&str]) -> Vec<String> {
    log_groups.iter().map(|g| g.to_string()).collect()
}

/// The translator's documents, sorted.
pub(super) fn translated(
    resource: &Resource,
    log_groups: &[&str],
    batch: &[SpanData],
) -> Vec<String> {
    let mut translator = SegmentTranslator::new()
        .with_indexed_attrs(indexed())
        .metadata_all_attrs()
        .always_nest_subsegments()
        .set_log_group_names(owned(log_groups));
    translator.set_resource(resource);
    let mut documents: Vec<String> = translator
        .translate_spans(batch)
        .iter()
        .map(|d| d.to_string())
        .collect();
    documents.sort();
    documents
}

/// The writer's documents, sorted.
pub(super) fn written(
    resource: &Resource,
    log_groups: &[&str],
    batch: &[SpanData],
) -> Result<Vec<String>, Declined> {
    let mut writer = DocumentWriter::new(&indexed(), owned(log_groups));
    // In the resource's own order, as the exporter passes it.
    writer.set_resource(
        resource
            .iter()
            .map(|(k, v)| KeyValue::new(k.clone(), v.clone()))
            .collect(),
    );
    let mut documents = Vec::new();
    let mut out = Vec::new();
    let written = writer.write(batch, &mut out, usize::MAX, |datagram| {
        assert!(datagram.starts_with(DAEMON_HEADER));
        documents.push(String::from_utf8(datagram[DAEMON_HEADER.len()..].to_vec()).unwrap());
        Ok::<(), ()>(())
    })?;
    assert_eq!((written.lost, written.error), (0, None));
    documents.sort();
    Ok(documents)
}

pub(super) fn resource(attributes: &[KeyValue]) -> Resource {
    Resource::builder_empty()
        .with_attributes(attributes.to_vec())
        .build()
}

/// The translator's documents and the writer's.
pub(super) fn both(
    attributes: &[KeyValue],
    log_groups: &[&str],
    batch: &[SpanData],
) -> (Vec<String>, Result<Vec<String>, Declined>) {
    let resource = resource(attributes);
    (
        translated(&resource, log_groups, batch),
        written(&resource, log_groups, batch),
    )
}

/// Asserts the writer writes `batch`, as the translator does.
pub(super) fn same(resource: &[KeyValue], log_groups: &[&str], batch: &[SpanData]) {
    let (expected, written) = both(resource, log_groups, batch);
    assert_eq!(written.expect("the writer covers this batch"), expected);
}

/// One chat message on Lambda: the invocation, two operations, the
/// DynamoDB calls as the chat app records them.
pub(super) fn chat_message() -> Vec<SpanData> {
    let dynamodb = |id, (start, end)| {
        span(
            id,
            3,
            SpanKind::Client,
            "DynamoDB.PutItem",
            (start, end),
            vec![
                kv("rpc.system", "aws-api"),
                kv("rpc.service", "DynamoDB"),
                kv("rpc.method", "PutItem"),
                kv("aws.region", "eu-west-1"),
                kv("cloud.region", "eu-west-1"),
                kv("db.system.name", "aws.dynamodb"),
                KeyValue::new("aws.dynamodb.table_names", strings(&["chat-messages"])),
                kv("aws.request_id", "Q2V9TTJ5R0ZGR0VLTkVGTk9GN0pBSkFBR"),
                kv("http.response.status_code", 200_i64),
            ],
        )
    };
    vec![
        dynamodb(4, (30, 900)),
        dynamodb(5, (900, 1500)),
        span(
            3,
            2,
            SpanKind::Internal,
            "chat_message_processing",
            (20, 1600),
            vec![
                kv("perf_handler", "chat_message_processing"),
                kv("enduser.id", "5f1e2d3c-user"),
                kv("perf_outcome", "success"),
                kv("perf.memory_bytes", 2_533_215_i64),
            ],
        ),
        span(
            2,
            1,
            SpanKind::Internal,
            "websocket_conversation",
            (10, 1700),
            vec![
                kv("app.connection.id", "SlRtFcbfoAMCJRg="),
                kv("app.route_key", "$default"),
                kv("perf_handler", "websocket_conversation"),
                kv("perf_outcome", "success"),
            ],
        ),
        span(
            1,
            0x5eed,
            SpanKind::Server,
            "ws-conversation",
            (0, 1800),
            vec![
                kv("faas.invocation_id", "c6af9ac6-7b61-11e6-9a41-93e812345678"),
                kv("faas.coldstart", false),
                kv("faas.name", "ws-conversation"),
                kv("faas.version", "$LATEST"),
                kv(
                    "cloud.resource_id",
                    "arn:aws:lambda:eu-west-1:123456789012:function:ws-conversation",
                ),
                kv(
                    "aws.lambda.invoked_arn",
                    "arn:aws:lambda:eu-west-1:123456789012:function:ws-conversation",
                ),
                kv("cloud.account.id", "123456789012"),
                kv("faas.trigger", "http"),
                kv("enduser.id", "5f1e2d3c-user"),
                kv("http.route", "$default"),
            ],
        ),
    ]
}

/// `batch` again, in another trace, its span ids moved by `shift`.
pub(super) fn in_another_trace(batch: &[SpanData], shift: u64) -> Vec<SpanData> {
    let moved = |id: SpanId| match id {
        SpanId::INVALID => id,
        id => SpanId::from(u64::from_be_bytes(id.to_bytes()) + shift),
    };
    batch
        .iter()
        .cloned()
        .map(|mut span| {
            let cx = &span.span_context;
            span.span_context = SpanContext::new(
                TraceId::from(u128::from_be_bytes(cx.trace_id().to_bytes()) + 1),
                moved(cx.span_id()),
                cx.trace_flags(),
                false,
                TraceState::default(),
            );
            span.parent_span_id = moved(span.parent_span_id);
            span
        })
        .collect()
}
