//! Where an invocation's trace comes from: Lambda's X-Ray header when there
//! is one, else the W3C `traceparent` (and `baggage`) a caller sent in the
//! event's HTTP headers, typed or untyped; `OTEL_PROPAGATORS` says which
//! formats are read. The event is a real API Gateway REST event.
#![cfg(feature = "lambda")]

use perfmon_testkit as common;

use std::time::Duration;

use aws_lambda_events::apigw::ApiGatewayProxyRequest;
use common::{lambda_context, span_attrs, TestTelemetry};
use lambda_runtime::tower::{Layer, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use opentelemetry::baggage::BaggageExt;
use opentelemetry::trace::SpanKind;
use opentelemetry::Context;
use perfmon_lambda::lambda::PerformanceLayer;
use perfmon_lambda::Propagators;
use serde_json::Value;

const XRAY: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
const W3C_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const W3C_PARENT: &str = "00f067aa0ba902b7";

fn fixture() -> Value {
    let text =
        std::fs::read_to_string(common::root().join("tests/fixtures/apigw-rest-traceparent.json"))
            .unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Invokes a handler of events `T` once with `event`, and returns the root
/// span's trace id, parent span id, and what the handler saw of the
/// `tenant` baggage.
async fn invoke<T>(t: &TestTelemetry, event: T, xray: Option<&str>) -> (String, String, String)
where
    T: serde::de::DeserializeOwned + perfmon_lambda::lambda::InvocationEvent + Send + 'static,
{
    let layer = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    );
    let mut service = layer.layer(service_fn(|_: LambdaEvent<T>| async {
        let cx = Context::current();
        let tenant = cx.baggage().get("tenant").map(|v| v.to_string());
        Ok::<_, String>(tenant.unwrap_or_default())
    }));
    let request = format!("req-{}", t.spans().len());
    let tenant = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(
            event,
            lambda_context(&request, xray, 600_000),
        ))
        .await
        .unwrap();
    let spans = t.spans();
    let root = spans
        .iter()
        .find(|s| span_attrs(s).get("faas.invocation_id") == Some(&request))
        .expect("the root span");
    assert_eq!(root.span_kind, SpanKind::Server);
    (
        root.span_context.trace_id().to_string(),
        root.parent_span_id.to_string(),
        tenant,
    )
}

#[tokio::test]
async fn a_w3c_traceparent_in_the_event_is_the_parent_without_an_xray_header() {
    let t = common::telemetry();
    let (trace, parent, tenant) = invoke(&t, fixture(), None).await;
    assert_eq!((trace.as_str(), parent.as_str()), (W3C_TRACE, W3C_PARENT));
    assert_eq!(tenant, "acme", "the baggage reaches the handler");

    let typed: ApiGatewayProxyRequest = serde_json::from_value(fixture()).unwrap();
    let (trace, parent, tenant) = invoke(&t, typed, None).await;
    assert_eq!((trace.as_str(), parent.as_str()), (W3C_TRACE, W3C_PARENT));
    assert_eq!(tenant, "acme");
}

#[tokio::test]
async fn lambdas_xray_header_wins_over_the_event_headers() {
    let t = common::telemetry();
    let (trace, parent, _) = invoke(&t, fixture(), Some(XRAY)).await;
    assert_eq!(
        (trace.as_str(), parent.as_str()),
        ("5759e988bd862e3fe1be46a994272793", "53995c3f42cd8ad8")
    );
}

#[tokio::test]
async fn otel_propagators_chooses_the_formats_read() {
    let xray_only =
        TestTelemetry::with(|b| b.with_propagators("xray".parse::<Propagators>().unwrap()));
    let (trace, parent, tenant) = invoke(&xray_only, fixture(), None).await;
    assert_ne!(trace, W3C_TRACE, "traceparent is not read");
    assert_eq!(parent, "0000000000000000", "a new trace");
    assert_eq!(tenant, "", "baggage is not read");

    let from_env = temp_env::with_var("OTEL_PROPAGATORS", Some("tracecontext"), || {
        common::telemetry()
    });
    assert_eq!(
        from_env.telemetry.settings().propagators,
        Propagators {
            xray: false,
            tracecontext: true,
            baggage: false
        }
    );
    // Without the xray propagator, Lambda's header is not read either.
    let (trace, _, tenant) = invoke(&from_env, fixture(), Some(XRAY)).await;
    assert_eq!(trace, W3C_TRACE);
    assert_eq!(tenant, "");

    let bad = temp_env::with_var("OTEL_PROPAGATORS", Some("b3"), || {
        perfmon_lambda::Telemetry::builder().build().unwrap_err()
    });
    assert!(bad.to_string().contains("OTEL_PROPAGATORS"), "{bad}");
}
