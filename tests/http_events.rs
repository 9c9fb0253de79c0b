//! HTTP events as the Lambda layer reads them (DESIGN §12): every form
//! `lambda_http` wraps (API Gateway REST and HTTP APIs, ALB, function URLs,
//! WebSocket), typed, untyped and as `LambdaRequest`, give the root span
//! the OTel HTTP server attributes, the caller's trace context and the
//! response's status with its error class. The events are real ones
//! (`tests/fixtures`, from `aws_lambda_events`' own).
#![cfg(all(feature = "http", feature = "axum"))]

use perfmon_testkit as common;

use std::collections::BTreeMap;
use std::time::Duration;

use aws_lambda_events::alb::AlbTargetGroupRequest;
use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest,
};
use axum::extract::Path;
use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;
use common::{lambda_context, span_attrs, TestTelemetry};
use lambda_http::request::LambdaRequest;
use lambda_runtime::tower::{Layer, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::{SpanKind, Status};
use perfmon_lambda::axum::RouteLayer;
use perfmon_lambda::lambda::{Carrier, InvocationEvent, OtherEvent, PerformanceLayer, Trigger};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

const W3C_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn fixture(name: &str) -> Value {
    let path = common::root().join("tests/fixtures").join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn layer(t: &TestTelemetry) -> PerformanceLayer {
    PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    )
}

/// Invokes a handler of `T` answering `response` once with `event`, and
/// returns the root span.
async fn root_of<T, R>(
    t: &TestTelemetry,
    event: T,
    response: R,
) -> opentelemetry_sdk::trace::SpanData
where
    T: InvocationEvent + Send + 'static,
    R: serde::Serialize + Clone + Send + Unpin + 'static,
{
    let request = format!("req-{}", t.spans().len());
    let mut service = layer(t).layer(service_fn(move |_: LambdaEvent<T>| {
        let response = response.clone();
        async move { Ok::<_, String>(response) }
    }));
    service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(
            event,
            lambda_context(&request, None, 600_000),
        ))
        .await
        .unwrap();
    t.spans()
        .into_iter()
        .find(|s| span_attrs(s).get("faas.invocation_id") == Some(&request))
        .unwrap_or_else(|| panic!("the root span {request} in {:#?}", t.spans()))
}

/// The HTTP attributes of a root span.
fn http(span: &opentelemetry_sdk::trace::SpanData) -> BTreeMap<String, String> {
    span_attrs(span)
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("http.")
                || k.starts_with("url.")
                || k.starts_with("server.")
                || k.starts_with("client.")
                || k.starts_with("user_agent.")
                || k == "faas.trigger"
        })
        .collect()
}

fn expected(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `event`, typed as `T`, untyped and as `lambda_http`'s `LambdaRequest`:
/// the same root attributes each time, and the caller's trace.
async fn alike<T>(t: &TestTelemetry, event: Value, want: &BTreeMap<String, String>)
where
    T: DeserializeOwned + InvocationEvent + Send + 'static,
{
    let response = json!({"statusCode": 200, "body": "ok"});
    let typed: T = serde_json::from_value(event.clone()).unwrap();
    let lambda_http: LambdaRequest = serde_json::from_value(event.clone()).unwrap();
    let roots = [
        root_of(t, typed, response.clone()).await,
        root_of(t, event, response.clone()).await,
        root_of(t, lambda_http, response).await,
    ];
    for root in &roots {
        assert_eq!(&http(root), want, "{}", root.name);
        assert_eq!(root.span_context.trace_id().to_string(), W3C_TRACE);
        assert_eq!(root.status, Status::Unset);
    }
}

#[tokio::test]
async fn every_http_form_gives_the_http_server_attributes() {
    let t = common::telemetry();
    let order = |extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("faas.trigger", "http"),
            ("http.request.method", "GET"),
            ("url.path", "/orders/42"),
            ("http.response.status_code", "200"),
        ];
        pairs.extend_from_slice(extra);
        expected(&pairs)
    };
    alike::<ApiGatewayProxyRequest>(
        &t,
        fixture("apigw-rest-order.json"),
        &order(&[
            ("url.scheme", "https"),
            ("http.route", "/orders/{id}"),
            (
                "server.address",
                "gy415nuibc.execute-api.us-east-2.amazonaws.com",
            ),
            ("client.address", "192.168.196.186"),
            ("user_agent.original", "PostmanRuntime/2.4.5"),
        ]),
    )
    .await;
    alike::<ApiGatewayV2httpRequest>(
        &t,
        fixture("apigw-http-order.json"),
        &order(&[
            ("url.scheme", "https"),
            ("http.route", "/orders/{id}"),
            (
                "server.address",
                "aaaaaaaaaa.execute-api.us-west-2.amazonaws.com",
            ),
            ("client.address", "1.2.3.4"),
            ("user_agent.original", "curl/7.58.0"),
        ]),
    )
    .await;
    // A function URL names no route.
    alike::<ApiGatewayV2httpRequest>(
        &t,
        fixture("function-url-order.json"),
        &order(&[
            ("url.scheme", "https"),
            ("server.address", "abcdefghij.lambda-url.us-east-1.on.aws"),
            ("client.address", "1.2.3.4"),
            ("user_agent.original", "curl/7.58.0"),
        ]),
    )
    .await;
    let url: aws_lambda_events::lambda_function_urls::LambdaFunctionUrlRequest =
        serde_json::from_value(fixture("function-url-order.json")).unwrap();
    let root = root_of(&t, url, json!({"statusCode": 200})).await;
    assert_eq!(
        http(&root)["server.address"],
        "abcdefghij.lambda-url.us-east-1.on.aws"
    );
    assert_eq!(http(&root)["url.path"], "/orders/42");
    // An ALB: the addresses from its headers.
    alike::<AlbTargetGroupRequest>(
        &t,
        fixture("alb-order.json"),
        &order(&[
            ("url.scheme", "http"),
            (
                "server.address",
                "lambda-test-alb-1334523864.us-east-1.elb.amazonaws.com",
            ),
            ("client.address", "25.12.198.67"),
            ("user_agent.original", "curl/7.54.0"),
        ]),
    )
    .await;
}

#[tokio::test]
async fn a_websocket_event_is_http_with_its_route_key() {
    let t = common::telemetry();
    let event = fixture("apigw-websocket-message.json");
    let typed: ApiGatewayWebsocketProxyRequest = serde_json::from_value(event.clone()).unwrap();
    for root in [
        root_of(&t, typed, json!({"statusCode": 200})).await,
        root_of(&t, event, json!({"statusCode": 200})).await,
    ] {
        let attrs = http(&root);
        assert_eq!(attrs["faas.trigger"], "http");
        assert_eq!(attrs["http.route"], "$connect");
        assert!(!attrs.contains_key("url.path"), "{attrs:?}");
    }
}

#[tokio::test]
async fn a_4xx_is_a_client_error_and_a_5xx_a_service_error() {
    let t = common::telemetry();
    let event = || fixture("apigw-http-order.json");
    let missing = root_of(&t, event(), json!({"statusCode": 404})).await;
    assert_eq!(missing.status, Status::error("404"));
    assert_eq!(span_attrs(&missing)["error.type"], "404");
    assert_eq!(span_attrs(&missing)["http.response.status_code"], "404");
    assert!(missing.events.is_empty(), "a client error has no exception");

    let throttled = root_of(&t, event(), json!({"statusCode": 429})).await;
    assert_eq!(span_attrs(&throttled)["http.response.status_code"], "429");

    let unavailable = root_of(&t, event(), json!({"statusCode": 503})).await;
    assert_eq!(unavailable.status, Status::error("503"));
    assert_eq!(span_attrs(&unavailable)["error.type"], "503");
    assert_eq!(unavailable.events.len(), 1);
    assert_eq!(unavailable.events[0].name, "exception");

    let created = root_of(&t, event(), json!({"statusCode": 201})).await;
    assert_eq!(created.status, Status::Unset);
    assert!(!span_attrs(&created).contains_key("error.type"));
}

#[tokio::test]
async fn malformed_trace_headers_start_a_new_trace() {
    let t = common::telemetry();
    let mut event = fixture("apigw-http-order.json");
    event["headers"]["traceparent"] = json!("00-zzzz-not-hex-01");
    event["headers"]["x-amzn-trace-id"] = json!("Root=garbage;Parent=;Sampled=7");
    let root = root_of(&t, event, json!({"statusCode": 200})).await;
    assert_ne!(root.span_context.trace_id().to_string(), W3C_TRACE);
    assert_eq!(root.parent_span_id, opentelemetry::trace::SpanId::INVALID);

    // Lambda's own header, malformed or partial: never an error, and the
    // invocation has a valid trace.
    for header in [
        "Root=garbage;Parent=zz;Sampled=1",
        "",
        "Root=1-5759e988-bd862e3fe1be46a994272793",
    ] {
        let mut service = layer(&t).layer(service_fn(|_: LambdaEvent<Value>| async {
            Ok::<_, String>(json!({"statusCode": 200}))
        }));
        let request = format!("bad-xray-{}", header.len());
        service
            .ready()
            .await
            .unwrap()
            .call(LambdaEvent::new(
                fixture("apigw-http-order.json"),
                lambda_context(&request, Some(header), 600_000),
            ))
            .await
            .expect("a malformed header is never an error");
        // Recorded or not (a header without `Sampled=1` samples the
        // invocation out), its root is a valid span.
        let root = t
            .spans()
            .into_iter()
            .find(|s| span_attrs(s).get("faas.invocation_id") == Some(&request));
        assert!(root.is_none_or(|r| r.span_context.is_valid()), "{header}");
    }
}

#[tokio::test]
async fn a_header_or_path_of_any_size_gives_bounded_attributes() {
    let t = common::telemetry();
    let mut event = fixture("apigw-http-order.json");
    let path = format!("/orders/{}", "é".repeat(100_000));
    event["rawPath"] = json!(path);
    event["requestContext"]["http"]["userAgent"] = json!("u".repeat(1_000_000));
    let root = root_of(&t, event, json!({"statusCode": 200})).await;
    for (key, value) in http(&root) {
        assert!(
            value.len() <= perfmon_lambda::attributes::MAX_REQUEST_VALUE_BYTES,
            "{key}: {} bytes",
            value.len()
        );
    }
    assert!(http(&root)["url.path"].starts_with("/orders/é"));
}

/// A function's own event: its trigger, attributes and carrier.
#[derive(serde::Deserialize)]
struct Job {
    headers: std::collections::HashMap<String, String>,
}

impl InvocationEvent for Job {
    fn trigger(&self) -> Trigger {
        Trigger::Timer
    }
    fn attributes(&self, attributes: &mut Vec<opentelemetry::KeyValue>) {
        attributes.push(opentelemetry::KeyValue::new("app.job", "reindex"));
    }
    fn carrier(&self) -> Option<Carrier<'_>> {
        Some(Carrier::Custom(&self.headers))
    }
}

#[tokio::test]
async fn a_functions_own_event_declares_its_trigger_attributes_and_carrier() {
    let t = common::telemetry();
    let job: Job = serde_json::from_value(json!({"headers": {
        "traceparent": format!("00-{W3C_TRACE}-00f067aa0ba902b7-01")
    }}))
    .unwrap();
    assert_eq!(Carrier::Custom(&job.headers).keys(), vec!["traceparent"]);
    let root = root_of(&t, job, ()).await;
    let attrs = span_attrs(&root);
    assert_eq!(attrs["faas.trigger"], "timer");
    assert_eq!(attrs["app.job"], "reindex");
    assert_eq!(root.span_context.trace_id().to_string(), W3C_TRACE);
    assert!(!attrs.contains_key("http.response.status_code"));
}

#[tokio::test]
async fn an_alb_with_multi_value_headers_is_read_alike() {
    let t = common::telemetry();
    let event = fixture("alb-multivalue-headers.json");
    let typed: AlbTargetGroupRequest = serde_json::from_value(event.clone()).unwrap();
    let want = expected(&[
        ("faas.trigger", "http"),
        ("http.request.method", "GET"),
        ("url.path", "/"),
        ("url.scheme", "http"),
        (
            "server.address",
            "lambda-test-alb-1234567.us-east-1.elb.amazonaws.com",
        ),
        ("client.address", "72.21.198.67"),
        ("user_agent.original", "curl/7.54.0"),
        ("http.response.status_code", "200"),
    ]);
    for root in [
        root_of(&t, typed, json!({"statusCode": 200})).await,
        root_of(&t, event, json!({"statusCode": 200})).await,
    ] {
        assert_eq!(http(&root), want);
        assert_eq!(root.span_context.trace_id().to_string(), W3C_TRACE);
    }
}

#[tokio::test]
async fn only_an_http_requests_response_has_a_status() {
    let t = common::telemetry();
    let direct = json!({"order": 42});
    let root = root_of(&t, direct, json!({"statusCode": 500})).await;
    assert_eq!(
        root.status,
        Status::Unset,
        "a direct invocation's answer is data"
    );
    assert!(!span_attrs(&root).contains_key("http.response.status_code"));
    // A Lambda destination record has a requestContext, and is no request.
    let destination =
        json!({"version": "1.0", "requestContext": {"requestId": "r", "condition": "Success"}});
    let root = root_of(&t, destination, json!({"statusCode": 500})).await;
    assert_eq!(span_attrs(&root)["faas.trigger"], "other");
    assert_eq!(root.status, Status::Unset);
}

#[tokio::test]
async fn a_foreign_event_type_is_read_through_other_event() {
    let t = common::telemetry();
    type Foreign = std::collections::BTreeMap<String, Value>;
    let event: OtherEvent<Foreign> = serde_json::from_value(json!({"userName": "x"})).unwrap();
    assert_eq!(event.len(), 1, "it derefs to the event");
    let root = root_of(&t, event, ()).await;
    assert_eq!(span_attrs(&root)["faas.trigger"], "other");
    let root = root_of(&t, "plain text".to_owned(), ()).await;
    assert_eq!(span_attrs(&root)["faas.trigger"], "other");
}

/// An axum router under `lambda_http` under the Lambda layer.
async fn through_axum(t: &TestTelemetry, event: Value) -> u16 {
    async fn order(Path(id): Path<u32>) -> Result<&'static str, StatusCode> {
        if id == 42 {
            Ok("shipped")
        } else {
            Err(StatusCode::NOT_FOUND)
        }
    }
    let router = Router::new()
        .route("/orders/{id}", get(order))
        .layer(RouteLayer::new(&t.telemetry, t.monitor.clone()));
    let mut service = layer(t).layer(lambda_http::Adapter::from(router));
    let request = LambdaEvent::new(
        serde_json::from_value::<LambdaRequest>(event).unwrap(),
        lambda_context("axum", None, 600_000),
    );
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    serde_json::to_value(response).unwrap()["statusCode"]
        .as_u64()
        .unwrap() as u16
}

#[tokio::test]
async fn an_axum_route_is_one_internal_operation_under_the_lambda_root() {
    let t = common::telemetry();
    assert_eq!(
        through_axum(&t, fixture("apigw-http-order.json")).await,
        200
    );
    let operation = t.span("/orders/{id}");
    let root = t.span("ws-conversation");
    assert_eq!(operation.span_kind, SpanKind::Internal);
    assert_eq!(operation.parent_span_id, root.span_context.span_id());
    assert_eq!(span_attrs(&operation)["http.route"], "/orders/{id}");
    assert_eq!(span_attrs(&operation)["http.response.status_code"], "200");
    assert_eq!(span_attrs(&root)["http.response.status_code"], "200");
    assert_eq!(root.span_context.trace_id().to_string(), W3C_TRACE);

    let t = common::telemetry();
    let mut event = fixture("apigw-http-order.json");
    event["rawPath"] = json!("/orders/7");
    assert_eq!(through_axum(&t, event).await, 404);
    let operation = t.span("/orders/{id}");
    let root = t.span("ws-conversation");
    for span in [&operation, &root] {
        assert_eq!(span.status, Status::error("404"), "{}", span.name);
        assert_eq!(span_attrs(span)["error.type"], "404");
        assert!(span.events.is_empty(), "a client error is never a fault");
    }
    let errors = t.points_named("Errors");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].attributes["Handler"], "/orders/{id}");
    assert_eq!(errors[0].attributes["ErrorType"], "404");
}
