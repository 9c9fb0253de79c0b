//! `perfmon_lambda::aws_sdk::TracingInterceptor` on real SDK clients
//! (DynamoDB, SQS) whose HTTP client answers from the test: the spans the
//! calls leave, read from the in-memory exporter, and the requests the
//! services would receive.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_smithy_http_client::test_util::infallible_client_fn;
use aws_smithy_types::body::SdkBody;
use opentelemetry::context::FutureExt as _;
use opentelemetry::trace::{SpanKind, Status};
use perfmon_lambda::aws_sdk::{DeadlineTimeouts, TracingInterceptor};
use perfmon_lambda::testing::{remote_parent, span_attrs, TestTelemetry};
use perfmon_lambda::Deadline;

/// A request as the service receives it: its headers and body.
#[derive(Clone, Debug)]
struct Sent {
    trace_header: Option<String>,
    body: String,
}

/// A canned answer: status, headers and body.
type Answer = (u16, Vec<(&'static str, &'static str)>, &'static str);

/// Answers each request with the next of `answers`, the last one
/// forever; records what was sent.
fn service(
    answers: Vec<Answer>,
) -> (
    aws_smithy_runtime_api::client::http::SharedHttpClient,
    Arc<Mutex<Vec<Sent>>>,
) {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let log = sent.clone();
    let client = infallible_client_fn(move |request: http::Request<SdkBody>| {
        let mut log = log.lock().unwrap();
        log.push(Sent {
            trace_header: request
                .headers()
                .get("x-amzn-trace-id")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: String::from_utf8_lossy(request.body().bytes().unwrap_or_default()).into_owned(),
        });
        let (status, headers, body) = answers[(log.len() - 1).min(answers.len() - 1)].clone();
        let mut response = http::Response::builder().status(status);
        for (name, value) in headers {
            response = response.header(name, value);
        }
        response.body(SdkBody::from(body)).unwrap()
    });
    (client, sent)
}

/// A DynamoDB client config in eu-west-1 with test credentials and
/// `interceptor`.
fn dynamodb_config(interceptor: TracingInterceptor) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("eu-west-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .interceptor(interceptor)
}

/// A DynamoDB client answered by `http`, making up to `attempts`.
fn dynamodb(
    interceptor: TracingInterceptor,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
    attempts: u32,
) -> aws_sdk_dynamodb::Client {
    let config = dynamodb_config(interceptor)
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A DynamoDB client sending to `port` on 127.0.0.1 over HTTP, once.
fn dynamodb_at(interceptor: TracingInterceptor, port: u16) -> aws_sdk_dynamodb::Client {
    let config = dynamodb_config(interceptor)
        .endpoint_url(format!("http://127.0.0.1:{port}"))
        .retry_config(RetryConfig::disabled())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

const OK_ITEM: &str = r#"{"Item":{"id":{"S":"1"}}}"#;
const THROTTLED: &str = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"Rate exceeded"}"#;

fn get(
    client: &aws_sdk_dynamodb::Client,
) -> aws_sdk_dynamodb::operation::get_item::builders::GetItemFluentBuilder {
    client
        .get_item()
        .table_name("orders")
        .key("id", AttributeValue::S("1".into()))
}

#[tokio::test]
async fn a_call_is_one_client_span_under_the_current_operation() {
    let t = TestTelemetry::new();
    let (http, sent) = service(vec![(200, vec![("x-amzn-RequestId", "REQ-1")], OK_ITEM)]);
    let client = dynamodb(TracingInterceptor::new(&t.telemetry), http, 3);
    let mut operation = t.monitor.start("load_order", []);
    let item = operation.within(get(&client).send()).await.unwrap().item;
    assert!(item.is_some());
    operation.complete(true, []);

    let span = t.span("DynamoDB.GetItem");
    let parent = t.span("load_order");
    assert_eq!(span.span_kind, SpanKind::Client);
    assert_eq!(span.parent_span_id, parent.span_context.span_id());
    assert_eq!(span.span_context.trace_id(), parent.span_context.trace_id());
    assert_eq!(span.status, Status::Unset);
    let a = span_attrs(&span);
    for (key, value) in [
        ("rpc.system", "aws-api"),
        ("rpc.service", "DynamoDB"),
        ("rpc.method", "GetItem"),
        ("aws.region", "eu-west-1"),
        ("cloud.region", "eu-west-1"),
        ("db.system.name", "aws.dynamodb"),
        ("aws.dynamodb.table_names", "[\"orders\"]"),
        ("aws.request_id", "REQ-1"),
        ("http.response.status_code", "200"),
        ("aws.attempts", "1"),
    ] {
        assert_eq!(a.get(key).map(String::as_str), Some(value), "{key}: {a:?}");
    }
    // The call carries its own span as the parent of what it reaches.
    let header = sent.lock().unwrap()[0].trace_header.clone().unwrap();
    assert_eq!(
        header,
        format!(
            "Root={};Parent={};Sampled=1",
            perfmon_lambda::xray_trace_id(span.span_context.trace_id()),
            span.span_context.span_id()
        )
    );
}

#[tokio::test]
async fn retries_stay_inside_one_span_and_throttling_is_a_429() {
    let t = TestTelemetry::new();
    let throttled = (400, vec![("x-amzn-RequestId", "REQ-T")], THROTTLED);
    let ok = (200, vec![("x-amzn-RequestId", "REQ-2")], OK_ITEM);
    let (http, sent) = service(vec![throttled.clone(), ok]);
    let client = dynamodb(TracingInterceptor::new(&t.telemetry), http, 3);
    get(&client).send().await.unwrap();
    let span = t.span("DynamoDB.GetItem");
    let a = span_attrs(&span);
    assert_eq!(a["aws.attempts"], "2");
    assert_eq!(a["http.response.status_code"], "200");
    assert_eq!(a["aws.request_id"], "REQ-2");
    assert_eq!(span.status, Status::Unset);
    assert_eq!(sent.lock().unwrap().len(), 2);

    // Throttled to the end: a 429, an error (X-Ray's throttle), never a 5xx.
    let t = TestTelemetry::new();
    let (http, _) = service(vec![throttled]);
    let client = dynamodb(TracingInterceptor::new(&t.telemetry), http, 2);
    get(&client).send().await.unwrap_err();
    let span = t.span("DynamoDB.GetItem");
    let a = span_attrs(&span);
    assert_eq!(a["aws.attempts"], "2");
    assert_eq!(a["http.response.status_code"], "429");
    assert_eq!(a["error.type"], "ProvisionedThroughputExceededException");
    assert_eq!(
        span.status,
        Status::error("ProvisionedThroughputExceededException")
    );
    let event = &span.events.events[0];
    assert_eq!(event.name, "exception");
    let event_attrs: Vec<(String, String)> = event
        .attributes
        .iter()
        .map(|kv| (kv.key.to_string(), kv.value.to_string()))
        .collect();
    assert_eq!(
        event_attrs,
        [
            (
                "exception.type".to_owned(),
                "ProvisionedThroughputExceededException".to_owned()
            ),
            ("exception.message".to_owned(), "Rate exceeded".to_owned()),
        ]
    );
}

#[tokio::test]
async fn service_errors_carry_their_code_and_expected_ones_stay_unset() {
    let missing = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found"}"#;
    let t = TestTelemetry::new();
    let (http, _) = service(vec![(400, vec![], missing)]);
    let client = dynamodb(TracingInterceptor::new(&t.telemetry), http, 1);
    get(&client).send().await.unwrap_err();
    let span = t.span("DynamoDB.GetItem");
    assert_eq!(span.status, Status::error("ResourceNotFoundException"));
    assert_eq!(span_attrs(&span)["http.response.status_code"], "400");
    assert_eq!(span.events.events.len(), 1);

    // A conditional write that lost is expected on PutItem only.
    let lost = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed"}"#;
    let t = TestTelemetry::new();
    let (http, _) = service(vec![(400, vec![], lost)]);
    let interceptor = TracingInterceptor::new(&t.telemetry)
        .expect_error_in("PutItem", "ConditionalCheckFailedException");
    let client = dynamodb(interceptor, http, 1);
    client
        .put_item()
        .table_name("orders")
        .item("id", AttributeValue::S("1".into()))
        .condition_expression("attribute_not_exists(id)")
        .send()
        .await
        .unwrap_err();
    client
        .update_item()
        .table_name("orders")
        .key("id", AttributeValue::S("1".into()))
        .update_expression("SET a = :a")
        .condition_expression("attribute_exists(id)")
        .expression_attribute_values(":a", AttributeValue::S("x".into()))
        .send()
        .await
        .unwrap_err();
    let put = t.span("DynamoDB.PutItem");
    assert_eq!(put.status, Status::Unset);
    assert!(put.events.events.is_empty());
    assert_eq!(span_attrs(&put)["http.response.status_code"], "400");
    let update = t.span("DynamoDB.UpdateItem");
    assert_eq!(
        update.status,
        Status::error("ConditionalCheckFailedException")
    );
}

#[tokio::test]
async fn a_call_no_service_answered_is_an_io_failure() {
    let t = TestTelemetry::new();
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = dynamodb_at(TracingInterceptor::new(&t.telemetry), port);
    get(&client).send().await.unwrap_err();
    let span = t.span("DynamoDB.GetItem");
    assert_eq!(span.status, Status::error("io"));
    let a = span_attrs(&span);
    assert_eq!(a["error.type"], "io");
    assert!(!a.contains_key("http.response.status_code"), "{a:?}");
    let message = span.events.events[0]
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "exception.message")
        .map(|kv| kv.value.to_string())
        .unwrap();
    assert!(message.contains("Connection refused"), "{message}");
}

fn sqs(
    t: &TestTelemetry,
    http: aws_smithy_runtime_api::client::http::SharedHttpClient,
) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version_latest()
        .region(aws_sdk_sqs::config::Region::new("eu-west-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "a", "b", None, None, "test",
        ))
        .http_client(http)
        .interceptor(TracingInterceptor::new(&t.telemetry))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

const SENT: &str = r#"{"MD5OfMessageBody":"99914b932bd37a50b983c5e7c90ae93b","MessageId":"m-1"}"#;
const QUEUE: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders";

/// Sends `{}` to [`QUEUE`] under `parent`.
async fn send_under(client: &aws_sdk_sqs::Client, parent: opentelemetry::Context) {
    client
        .send_message()
        .queue_url(QUEUE)
        .message_body("{}")
        .send()
        .with_context(parent)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_sent_message_carries_the_send_span_as_its_producer() {
    let t = TestTelemetry::new();
    let (http, sent) = service(vec![(200, vec![], SENT)]);
    let client = sqs(&t, http);
    send_under(&client, opentelemetry::Context::new()).await;
    let span = t.span("SQS.SendMessage");
    let a = span_attrs(&span);
    assert_eq!(a["messaging.message.id"], "m-1");
    assert_eq!(a["aws.sqs.queue.url"], QUEUE);
    let sent = sent.lock().unwrap()[0].clone();
    let header = sent.trace_header.unwrap();
    assert!(
        header.contains(&format!("Parent={};Sampled=1", span.span_context.span_id())),
        "{header}"
    );
    let body: serde_json::Value = serde_json::from_str(&sent.body).unwrap();
    assert_eq!(
        body["MessageSystemAttributes"]["AWSTraceHeader"]["StringValue"],
        header.as_str()
    );
    assert_eq!(body["MessageBody"], "{}");
}

/// Under a parent that is not sampled, nothing is recorded and nothing is
/// added to the request: no trace exists for a consumer to link to (on
/// Lambda, the SDK itself still forwards the invocation's own header).
#[tokio::test]
async fn a_call_sampled_out_records_nothing_and_adds_nothing() {
    let t = TestTelemetry::new();
    let (http, sent) = service(vec![(200, vec![], SENT)]);
    let client = sqs(&t, http);
    let parent = remote_parent("5759e988bd862e3fe1be46a994272793", false);
    send_under(&client, parent).await;
    assert!(t.spans().is_empty(), "{:?}", t.spans());
    let sent = sent.lock().unwrap()[0].clone();
    assert_eq!(sent.trace_header, None);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&sent.body).unwrap(),
        serde_json::json!({"QueueUrl": QUEUE, "MessageBody": "{}"})
    );
}

/// A sampler that records what a parent did not still gets the call's
/// name and attributes.
#[tokio::test]
async fn a_sampler_that_ignores_the_parent_gets_the_whole_span() {
    let t = TestTelemetry::with(|b| {
        b.with_default_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
    });
    let (http, sent) = service(vec![(200, vec![], SENT)]);
    let client = sqs(&t, http);
    let parent = remote_parent("5759e988bd862e3fe1be46a994272793", false);
    send_under(&client, parent).await;
    let span = t.span("SQS.SendMessage");
    let a = span_attrs(&span);
    assert_eq!(a["rpc.method"], "SendMessage");
    assert_eq!(a["aws.sqs.queue.url"], QUEUE);
    assert!(sent.lock().unwrap()[0].trace_header.is_some());
}

/// A call whose future the caller drops (a timeout of its own) still ends
/// its span, as cancelled, not as a success.
#[tokio::test]
async fn a_dropped_call_ends_its_span_as_cancelled() {
    let t = TestTelemetry::new();
    // A service that takes the request and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let client = dynamodb_at(TracingInterceptor::new(&t.telemetry), port);
    let call = tokio::time::timeout(Duration::from_millis(300), get(&client).send()).await;
    assert!(call.is_err(), "the caller gave up");
    let span = t.span("DynamoDB.GetItem");
    assert_eq!(span.status, Status::error("cancelled"));
    assert_eq!(span_attrs(&span)["error.type"], "cancelled");
    drop(held);
}

/// Under an invocation's deadline, a call to a service that never answers
/// fails as a timeout just before it, in time for the handler to answer;
/// a shorter attempt timeout of the client's own stays, so the call is
/// retried within the time left.
#[tokio::test]
async fn a_call_under_a_deadline_times_out_before_it() {
    let t = TestTelemetry::new();
    let port = perfmon_testkit::never_answers().port();
    let config = |attempt: Option<Duration>| {
        let mut timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder();
        if let Some(attempt) = attempt {
            timeouts = timeouts.operation_attempt_timeout(attempt);
        }
        dynamodb_config(TracingInterceptor::new(&t.telemetry))
            .interceptor(DeadlineTimeouts::new())
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .timeout_config(timeouts.build())
            .build()
    };
    for attempt in [None, Some(Duration::from_millis(250))] {
        let client = aws_sdk_dynamodb::Client::from_conf(config(attempt));
        let deadline = Deadline::after(Duration::from_millis(600));
        let started = Instant::now();
        let cx = opentelemetry::Context::current().with_value(deadline);
        let error = get(&client).send().with_context(cx).await.unwrap_err();
        let took = started.elapsed();
        assert!(
            matches!(error, aws_sdk_dynamodb::error::SdkError::TimeoutError(_)),
            "{error:?}"
        );
        // 550 ms, and before the deadline but for a loaded machine's
        // timer slack.
        assert!(
            took >= Duration::from_millis(500) && took < Duration::from_millis(700),
            "{attempt:?}: {took:?}"
        );
        let span = t.spans().pop().unwrap();
        assert_eq!(span.name, "DynamoDB.GetItem");
        assert_eq!(span.status, Status::error("timeout"));
        let attempts = span_attrs(&span)["aws.attempts"].parse::<u32>().unwrap();
        match attempt {
            None => assert_eq!(attempts, 1, "one attempt, as long as the call"),
            Some(_) => assert!(attempts >= 2, "retried within the time left: {attempts}"),
        }
    }
}
