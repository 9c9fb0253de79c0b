//! `examples/sqs_batch.rs` as a producer and as a consumer, both under the
//! cargo-lambda emulator, with moto's SQS and DynamoDB over HTTP and OTLP
//! to a capturing endpoint. The producer sends three orders through the
//! SDK with perfmon's interceptor, one `SendMessage` each (moto keeps the
//! system attributes of `SendMessage` only, not of `SendMessageBatch`); the test receives them from the queue
//! and hands them to the consumer as Lambda's event source mapping does.
//! What it asserts:
//! - each consumer record span links to the producer's `SQS.SendMessage`
//!   span that sent its message, through the message's `AWSTraceHeader`;
//! - the poison order comes back in `batchItemFailures`, the others are
//!   stored;
//! - the service map the collector's `awsxray` exporter would draw shows
//!   producer → SQS → consumer → DynamoDB, the SQS and DynamoDB nodes made
//!   by the interceptor alone (the example records no span of its own for
//!   them).

use perfmon_testkit as common;

use std::collections::BTreeMap;
use std::net::UdpSocket;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use aws_sdk_sqs::types::{Message, MessageSystemAttributeName};
use common::capture::{self, Received};
use common::emulator::{Emulator, Function};
use common::moto::Moto;
use common::xray_map::{attributes, awsxray_documents, ServiceMap};
use serde_json::{json, Map, Value};

/// Every span exported by the invocation just made: read until its root
/// (the SERVER span) has arrived, then what else is in flight.
fn spans(rx: &Receiver<Received>) -> Vec<(Value, Value)> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out: Vec<(Value, Value)> = Vec::new();
    let has_root = |spans: &[(Value, Value)]| spans.iter().any(|(_, s)| s["kind"] == 2);
    loop {
        let done = has_root(&out);
        let timeout = if done { 300 } else { 1000 };
        match rx.recv_timeout(Duration::from_millis(timeout)) {
            Ok(r) if r.path == "/v1/traces" => {
                let request: Value = serde_json::from_slice(&r.body).unwrap();
                for resource in request["resourceSpans"].as_array().unwrap() {
                    for scope in resource["scopeSpans"].as_array().unwrap() {
                        for span in scope["spans"].as_array().unwrap() {
                            out.push((resource["resource"].clone(), span.clone()));
                        }
                    }
                }
            }
            Ok(_) => {}
            Err(_) if done => return out,
            Err(_) => assert!(Instant::now() < deadline, "no root span arrived: {out:?}"),
        }
    }
}

/// The spans as one OTLP/JSON request, for the `awsxray` translation.
fn as_request(spans: &[(Value, Value)]) -> Value {
    json!({"resourceSpans": spans.iter().map(|(resource, span)| json!({
        "resource": resource,
        "scopeSpans": [{"spans": [span]}],
    })).collect::<Vec<_>>()})
}

fn named<'a>(spans: &'a [(Value, Value)], name: &str) -> Vec<&'a Value> {
    spans
        .iter()
        .map(|(_, s)| s)
        .filter(|s| s["name"] == name)
        .collect()
}

fn attrs(span: &Value) -> Map<String, Value> {
    attributes(&span["attributes"])
}

const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

/// The segment documents of the invocation just made, as the X-Ray daemon
/// receives them: read until its segment has arrived, then what else is in
/// flight.
fn udp_documents(daemon: &UdpSocket) -> Vec<Value> {
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut docs: Vec<Value> = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        let done = docs.iter().any(|d| d["type"] != "subsegment");
        match daemon.recv(&mut buf) {
            Ok(n) => {
                let text = std::str::from_utf8(&buf[..n]).unwrap();
                let body = text.strip_prefix(DAEMON_HEADER).expect("the daemon header");
                docs.push(serde_json::from_str(body).unwrap());
            }
            Err(_) if done => return docs,
            Err(_) => assert!(Instant::now() < deadline, "no segment arrived: {docs:?}"),
        }
    }
}

/// `n` messages from the queue, with their system attributes.
async fn receive(sqs: &aws_sdk_sqs::Client, queue_url: &str, n: usize) -> Vec<Message> {
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while messages.len() < n {
        assert!(Instant::now() < deadline, "{messages:?}");
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        messages.extend(received.messages.unwrap_or_default());
    }
    messages
}

/// What X-Ray draws of the flow: producer → SQS → consumer → DynamoDB,
/// with the SQS and DynamoDB nodes of AWS services.
fn check_map(map: &ServiceMap, path: &str) {
    for (from, to) in [
        ("sqs-producer", "SQS"),
        ("SQS", "sqs-consumer"),
        ("sqs-consumer", "DynamoDB"),
    ] {
        assert!(map.has_edge(from, to), "{path}: {from} -> {to}\n{map}");
    }
    for node in ["SQS", "DynamoDB"] {
        assert!(
            map.nodes
                .keys()
                .any(|(n, k)| n == node && *k == format!("AWS::{node}")),
            "{path}: {map}"
        );
    }
}

/// The SQS event Lambda's event source mapping would send for `messages`.
fn sqs_event(messages: &[Message], queue: &str) -> Value {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let system: BTreeMap<&str, &str> = m
                .attributes()
                .into_iter()
                .flatten()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            json!({
                "messageId": m.message_id(),
                "receiptHandle": m.receipt_handle(),
                "body": m.body(),
                "attributes": system,
                "messageAttributes": {},
                "md5OfBody": m.md5_of_body(),
                "eventSource": "aws:sqs",
                "eventSourceARN": format!("arn:aws:sqs:us-east-1:123456789012:{queue}"),
                "awsRegion": "us-east-1",
            })
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_link_to_their_producer_and_the_map_runs_through_sqs() {
    let Some(moto) = Moto::start() else { return };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let queue_url = sqs
        .create_queue()
        .queue_name("orders")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    {
        use aws_sdk_dynamodb::types::{
            AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
        };
        dynamodb
            .create_table()
            .table_name("orders")
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name("id")
                    .attribute_type(ScalarAttributeType::S)
                    .build()
                    .unwrap(),
            )
            .key_schema(
                KeySchemaElement::builder()
                    .attribute_name("id")
                    .key_type(KeyType::Hash)
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }

    let (collector, rx) = capture::collector();
    let env: Vec<(&str, String)> = vec![
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
        ("ORDERS_QUEUE_URL", queue_url.clone()),
        ("ORDERS_TABLE", "orders".to_owned()),
        ("PERFMON_FLUSH_TIMEOUT_MS", "3000".to_owned()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{collector}")),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
        ("OTEL_METRICS_EXPORTER", "none".to_owned()),
    ];
    let executable = common::emulator::example("sqs_batch");
    let Some(producer_api) = Emulator::runtime_api("sqs-producer") else {
        return;
    };
    let Some(consumer_api) = Emulator::runtime_api("sqs-consumer") else {
        return;
    };
    let producer = Function::start(&executable, "sqs-producer", &producer_api, &env);
    let consumer = Function::start(&executable, "sqs-consumer", &consumer_api, &env);

    // The producer sends two orders and a poison message, one call each.
    let orders =
        json!({"orders": [{"id": "o-1", "total": 12}, "not an order", {"id": "o-2", "total": 7}]});
    let answer = producer_api.invoke("_", &orders);
    let ids = answer["sent"].as_array().cloned().unwrap_or_default();
    assert_eq!(ids.len(), 3, "{answer}\n{}", producer.output());
    let sent = spans(&rx);
    let sends = named(&sent, "SQS.SendMessage");
    assert_eq!(sends.len(), 3, "{sent:?}");
    let operation = named(&sent, "send_orders")[0];
    for (send, id) in sends.iter().zip(&ids) {
        let a = attrs(send);
        assert_eq!(send["kind"], 3, "CLIENT: {send}");
        assert_eq!(send["parentSpanId"], operation["spanId"]);
        assert_eq!(a["rpc.system"], "aws-api");
        assert_eq!(a["rpc.service"], "SQS");
        assert_eq!(a["rpc.method"], "SendMessage");
        assert_eq!(a["aws.sqs.queue.url"], queue_url.as_str());
        assert_eq!(a["messaging.system"], "aws_sqs");
        assert_eq!(a["messaging.destination.name"], "orders");
        assert_eq!(a["messaging.operation.type"], "send");
        assert_eq!(&a["messaging.message.id"], id);
        assert_eq!(a["http.response.status_code"], 200);
        assert_eq!(a["aws.attempts"], 1);
        assert_eq!(a["cloud.region"], "us-east-1");
        assert!(a["aws.request_id"].is_string(), "{send}");
    }
    // The send span of each message.
    let send_of = |message_id: &str| {
        *sends
            .iter()
            .find(|s| attrs(s)["messaging.message.id"] == message_id)
            .unwrap_or_else(|| panic!("no send span for {message_id}"))
    };

    // The queue holds the three, each with its send span as its parent.
    let messages = receive(&sqs, &queue_url, 3).await;
    for m in &messages {
        let send = send_of(m.message_id().unwrap());
        let trace = send["traceId"].as_str().unwrap();
        let header = format!(
            "Root=1-{}-{};Parent={};Sampled=1",
            &trace[..8],
            &trace[8..],
            send["spanId"].as_str().unwrap()
        );
        let system = m.attributes().unwrap();
        assert_eq!(
            system.get(&MessageSystemAttributeName::AwsTraceHeader),
            Some(&header),
            "{m:?}"
        );
    }

    // The consumer: the poison message alone fails.
    let event = sqs_event(&messages, "orders");
    let poison = messages
        .iter()
        .find(|m| m.body() == Some("not an order"))
        .unwrap();
    let answer = consumer_api.invoke("_", &event);
    assert_eq!(
        answer,
        json!({"batchItemFailures": [{"itemIdentifier": poison.message_id()}]}),
        "{}",
        consumer.output()
    );
    let consumed = spans(&rx);
    let records = named(&consumed, "store_order");
    assert_eq!(records.len(), 3, "{consumed:?}");
    let root = consumed
        .iter()
        .map(|(_, s)| s)
        .find(|s| s["kind"] == 2)
        .unwrap();
    assert_ne!(
        root["traceId"], operation["traceId"],
        "the root keeps its own trace"
    );
    for record in &records {
        let a = attrs(record);
        let send = send_of(a["messaging.message.id"].as_str().unwrap());
        assert_eq!(record["parentSpanId"], root["spanId"], "{record}");
        let links = record["links"].as_array().unwrap();
        assert_eq!(links.len(), 1, "{record}");
        assert_eq!(
            (&links[0]["traceId"], &links[0]["spanId"]),
            (&send["traceId"], &send["spanId"]),
            "{record}"
        );
        assert_eq!(a["messaging.system"], "aws_sqs");
        assert_eq!(a["messaging.destination.name"], "orders");
        let failed = a["messaging.message.id"] == poison.message_id().unwrap();
        assert_eq!(
            record["status"]["code"].as_i64() == Some(2),
            failed,
            "{record}"
        );
    }
    let puts = named(&consumed, "DynamoDB.PutItem");
    assert_eq!(puts.len(), 2, "{consumed:?}");
    for put in &puts {
        assert!(records.iter().any(|r| r["spanId"] == put["parentSpanId"]));
        assert_eq!(
            attrs(put)["aws.dynamodb.table_names"],
            json!({"arrayValue": {"values": [{"stringValue": "orders"}]}})
        );
    }
    let stored = dynamodb
        .scan()
        .table_name("orders")
        .send()
        .await
        .unwrap()
        .count;
    assert_eq!(stored, 2);

    // The map X-Ray draws from what the collector's awsxray exporter sends.
    let mut documents = awsxray_documents(&as_request(&sent), &[]);
    documents.extend(awsxray_documents(&as_request(&consumed), &[]));
    let map = ServiceMap::of(&documents);
    if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
        let linked = records[0];
        let document = documents.iter().find(|d| d["id"] == linked["spanId"]);
        eprintln!(
            "== ADOT (awsxray rules): service map\n{map}\n== a record span as OTLP\n{linked:#}\n== as X-Ray\n{:#}",
            document.unwrap()
        );
    }
    check_map(&map, "ADOT");

    // The same flow with segment documents sent to an X-Ray daemon over
    // UDP, as perfmon writes them without a collector. Valid orders only:
    // perfmon's document writer writes links; a batch holding a failed
    // span goes to opentelemetry-aws's translator, which writes none.
    for m in &messages {
        sqs.delete_message()
            .queue_url(&queue_url)
            .receipt_handle(m.receipt_handle().unwrap())
            .send()
            .await
            .unwrap();
    }
    drop((producer, consumer));
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let udp_env: Vec<(&str, String)> = env
        .iter()
        .filter(|(k, _)| !k.starts_with("OTEL_"))
        .cloned()
        .chain([
            ("OTEL_TRACES_EXPORTER", "xray".to_owned()),
            (
                "AWS_XRAY_DAEMON_ADDRESS",
                daemon.local_addr().unwrap().to_string(),
            ),
        ])
        .collect();
    let producer = Function::start(&executable, "sqs-producer", &producer_api, &udp_env);
    let consumer = Function::start(&executable, "sqs-consumer", &consumer_api, &udp_env);
    let valid = json!({"orders": [{"id": "o-3", "total": 1}, {"id": "o-4", "total": 2}]});
    let answer = producer_api.invoke("_", &valid);
    assert_eq!(answer["sent"].as_array().map(Vec::len), Some(2), "{answer}");
    let mut documents = udp_documents(&daemon);
    let messages = receive(&sqs, &queue_url, 2).await;
    let answer = consumer_api.invoke("_", &sqs_event(&messages, "orders"));
    assert_eq!(answer, json!({"batchItemFailures": []}), "{answer}");
    documents.extend(udp_documents(&daemon));
    let map = ServiceMap::of(&documents);
    if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
        let linked = map.documents.iter().find(|d| d["name"] == "store_order");
        eprintln!(
            "== UDP (perfmon's writer): service map\n{map}\n== a record span as X-Ray\n{:#}",
            linked.unwrap()
        );
    }
    check_map(&map, "UDP");
    let linked: Vec<&Value> = map
        .documents
        .iter()
        .filter(|d| d["name"] == "store_order")
        .collect();
    assert_eq!(linked.len(), 2, "{map}");
    for record in linked {
        assert_eq!(
            record["links"].as_array().map(Vec::len),
            Some(1),
            "{record}"
        );
    }
    drop((producer, consumer));
}
