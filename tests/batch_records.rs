//! Batches (DESIGN §12): each record of a real SQS event (with the
//! producer's context in `AWSTraceHeader`, in a `traceparent` message
//! attribute, or malformed) is one CONSUMER operation under the
//! invocation's root, linked to its producer, with the messaging
//! conventions; the poison record is named in the partial batch response
//! and counted in the core metrics; Kinesis and DynamoDB Streams records
//! are named by their sequence numbers.
#![cfg(feature = "lambda")]

use perfmon_testkit as common;

use std::time::Duration;

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use common::{lambda_context, span_attrs, TestTelemetry};
use lambda_runtime::tower::{Layer, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use opentelemetry::trace::SpanKind;
use perfmon_lambda::lambda::{BatchProcessor, PerformanceLayer};

const LAMBDA_XRAY: &str =
    "Root=1-6000e988-0123456789abcdef01234567;Parent=1111111111111111;Sampled=1";

fn fixture(name: &str) -> serde_json::Value {
    let path = common::root().join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A record is an order: a JSON object.
async fn order(message: &SqsMessage) -> Result<(), &'static str> {
    match message
        .body
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        Some(Ok(value)) if value.is_object() => Ok(()),
        _ => Err("INVALID_RECORD"),
    }
}

async fn consume(t: &TestTelemetry, event: SqsEvent) -> SqsBatchResponse {
    let batch = BatchProcessor::new(&t.telemetry, t.monitor.clone(), "process_order");
    let layer = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    );
    let mut service = layer.layer(service_fn(move |event: LambdaEvent<SqsEvent>| {
        let batch = batch.clone();
        async move { Ok::<_, String>(batch.sqs(&event.payload, order).await) }
    }));
    service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(
            event,
            lambda_context("batch", Some(LAMBDA_XRAY), 600_000),
        ))
        .await
        .unwrap()
}

#[tokio::test]
async fn each_record_is_linked_to_its_producer_and_the_poison_is_reported() {
    let t = common::telemetry();
    let event: SqsEvent = serde_json::from_value(fixture("sqs-linked-batch.json")).unwrap();
    let response = consume(&t, event).await;
    let failed: Vec<&str> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(failed, ["MessageID_3"], "only the poison record is retried");

    let root = t.span("ws-conversation");
    assert_eq!(
        root.span_context.trace_id().to_string(),
        "6000e9880123456789abcdef01234567",
        "the root stays on Lambda's trace"
    );
    assert_eq!(span_attrs(&root)["messaging.batch.message_count"], "3");
    let records: Vec<_> = t
        .spans()
        .into_iter()
        .filter(|s| s.name == "process_order")
        .collect();
    assert_eq!(records.len(), 3);
    for (record, id) in records
        .iter()
        .zip(["MessageID_1", "MessageID_2", "MessageID_3"])
    {
        assert_eq!(record.span_kind, SpanKind::Consumer);
        assert_eq!(record.parent_span_id, root.span_context.span_id());
        assert_eq!(record.span_context.trace_id(), root.span_context.trace_id());
        let attrs = span_attrs(record);
        assert_eq!(attrs["messaging.system"], "aws_sqs");
        assert_eq!(attrs["messaging.destination.name"], "SQSQueue");
        assert_eq!(attrs["messaging.message.id"], id);
        assert_eq!(attrs["messaging.operation.type"], "process");
    }
    let link = |i: usize| {
        let links: Vec<_> = records[i].links.iter().collect();
        links.first().map(|l| {
            (
                l.span_context.trace_id().to_string(),
                l.span_context.span_id().to_string(),
            )
        })
    };
    assert_eq!(
        link(0),
        Some((
            "5759e988bd862e3fe1be46a994272793".into(),
            "53995c3f42cd8ad8".into()
        )),
        "SQS's AWSTraceHeader"
    );
    assert_eq!(
        link(1),
        Some((
            "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            "00f067aa0ba902b7".into()
        )),
        "a traceparent message attribute"
    );
    assert_eq!(link(2), None, "a malformed carrier: no link, and processed");
    assert_eq!(span_attrs(&records[2])["error.type"], "INVALID_RECORD");

    let invocations = t.points_named("Invocations");
    let records_counted = invocations
        .iter()
        .find(|p| p.attributes["Handler"] == "process_order")
        .map(|p| p.value.clone());
    assert_eq!(
        records_counted,
        Some(common::Value::Sum(3)),
        "{invocations:?}"
    );
    let errors: Vec<_> = t
        .points_named("Errors")
        .into_iter()
        .filter(|p| p.attributes.contains_key("ErrorType"))
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].attributes["Handler"], "process_order");
    assert_eq!(errors[0].attributes["ErrorType"], "INVALID_RECORD");
    assert_eq!(errors[0].value, common::Value::Sum(1));
    assert_eq!(
        root.status,
        opentelemetry::trace::Status::Unset,
        "a poison record does not fail the invocation that reported it"
    );
}

fn failed_ids(response: &SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn a_fifo_queue_stops_at_its_first_failure_and_retries_the_rest() {
    let t = common::telemetry();
    let mut event: SqsEvent = serde_json::from_value(fixture("sqs-linked-batch.json")).unwrap();
    for record in &mut event.records {
        record.event_source_arn = Some("arn:aws:sqs:us-west-2:123456789012:orders.fifo".into());
    }
    // The poison message first.
    event.records.rotate_right(1);
    let response = consume(&t, event).await;
    assert_eq!(
        failed_ids(&response),
        ["MessageID_3", "MessageID_1", "MessageID_2"]
    );
    let processed = t
        .spans()
        .into_iter()
        .filter(|s| s.name == "process_order")
        .count();
    assert_eq!(processed, 1, "nothing after the failure is processed");
}

#[tokio::test]
async fn a_failed_record_without_an_id_fails_the_whole_batch() {
    let t = common::telemetry();
    let mut event: SqsEvent = serde_json::from_value(fixture("sqs-linked-batch.json")).unwrap();
    event.records[2].message_id = None;
    let response = consume(&t, event).await;
    assert_eq!(
        failed_ids(&response),
        [""],
        "an empty identifier: Lambda retries the batch"
    );
}

#[tokio::test]
async fn an_sns_record_links_to_its_traceparent_attribute() {
    let t = common::telemetry();
    let mut event: aws_lambda_events::sns::SnsEvent =
        serde_json::from_value(fixture("example-sns-event.json")).unwrap();
    let attribute: aws_lambda_events::sns::MessageAttribute = serde_json::from_value(
        serde_json::json!({"Type": "String", "Value": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}),
    )
    .unwrap();
    event.records[0]
        .sns
        .message_attributes
        .insert("TraceParent".into(), attribute);
    let batch = BatchProcessor::new(&t.telemetry, t.monitor.clone(), "notify");
    let failed = batch
        .sns(&event, async |_| Ok::<(), &'static str>(()))
        .await;
    assert!(failed.is_empty());
    let record = t.span("notify");
    let attrs = span_attrs(&record);
    assert_eq!(attrs["messaging.system"], "aws.sns");
    assert_eq!(attrs["messaging.operation.name"], "process");
    let link = record.links.iter().next().expect("a link, by any case");
    assert_eq!(
        link.span_context.trace_id().to_string(),
        "4bf92f3577b34da6a3ce929d0e0e4736"
    );
}

#[tokio::test]
async fn only_the_propagators_configured_are_read() {
    let t = TestTelemetry::with(|b| {
        b.with_propagators(
            "tracecontext"
                .parse::<perfmon_lambda::Propagators>()
                .unwrap(),
        )
    });
    let event: SqsEvent = serde_json::from_value(fixture("sqs-linked-batch.json")).unwrap();
    consume(&t, event).await;
    let records: Vec<_> = t
        .spans()
        .into_iter()
        .filter(|s| s.name == "process_order")
        .collect();
    assert!(records[0].links.is_empty(), "AWSTraceHeader is X-Ray's");
    assert_eq!(records[1].links.len(), 1, "traceparent is read");
}

#[tokio::test]
async fn stream_records_are_named_by_their_sequence_numbers() {
    let t = common::telemetry();
    let batch = BatchProcessor::new(&t.telemetry, t.monitor.clone(), "apply_change");
    let kinesis =
        fixture_of::<aws_lambda_events::kinesis::KinesisEvent>("example-kinesis-event.json");
    let response = batch
        .kinesis(&kinesis, async |_| Err::<(), _>("STALE"))
        .await;
    let ids: Vec<_> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone().unwrap())
        .collect();
    assert_eq!(
        ids,
        [kinesis.records[0].kinesis.sequence_number.clone()],
        "a shard resumes from its first failure"
    );
    let dynamodb = fixture_of::<aws_lambda_events::dynamodb::Event>("example-dynamodb-event.json");
    let response = batch
        .dynamodb(&dynamodb, async |_| Ok::<(), &'static str>(()))
        .await;
    assert!(response.batch_item_failures.is_empty());
    let spans = t.spans();
    let change = spans
        .iter()
        .find(|s| {
            span_attrs(s).get("messaging.system").map(String::as_str)
                == Some("aws_dynamodb_streams")
        })
        .expect("a DynamoDB Streams record");
    let attrs = span_attrs(change);
    assert_eq!(
        attrs.get("messaging.message.id"),
        dynamodb.records[0].change.sequence_number.as_ref()
    );
    assert_eq!(
        attrs.get("messaging.destination.name").map(String::as_str),
        Some("Example-Table"),
        "the table of the stream's ARN"
    );
}

/// An event of `aws_lambda_events`' own fixtures, copied to ours.
fn fixture_of<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_value(fixture(name)).unwrap()
}
