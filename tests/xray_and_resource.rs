//! Trace ids are X-Ray compatible, the X-Ray propagator reads the Lambda
//! trace header, and on Lambda the resource carries the Lambda detector's
//! attributes.

use perfmon_testkit as common;

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TraceContextExt;

#[test]
fn trace_ids_start_with_the_epoch_second_as_x_ray_requires() {
    let t = common::telemetry();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    t.monitor
        .start(common::op::WEBSOCKET_CONNECTION, [])
        .complete(true, []);
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let span = t.span(common::op::WEBSOCKET_CONNECTION);
    let id = span.span_context.trace_id().to_string();
    let seconds = u64::from_str_radix(&id[..8], 16).unwrap();
    assert!(
        (before..=after).contains(&seconds),
        "{id}: {seconds} not in {before}..={after}"
    );
}

#[test]
fn operations_join_the_trace_of_an_x_ray_header() {
    let t = common::telemetry();
    let header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let carrier = HashMap::from([("x-amzn-trace-id".to_owned(), header.to_owned())]);
    let parent = t.telemetry.propagator().extract(&carrier);
    assert!(parent.span().span_context().is_valid());
    t.monitor
        .start_with_context(common::op::WEBSOCKET_CONVERSATION, &parent, [])
        .complete(true, []);
    let span = t.span(common::op::WEBSOCKET_CONVERSATION);
    assert_eq!(
        span.span_context.trace_id().to_string(),
        "5759e988bd862e3fe1be46a994272793"
    );
    assert_eq!(span.parent_span_id.to_string(), "53995c3f42cd8ad8");
    assert!(span.parent_span_is_remote);
}

#[test]
fn on_lambda_the_resource_names_the_function() {
    let vars = [
        ("AWS_LAMBDA_FUNCTION_NAME", Some("ws-conversation")),
        ("AWS_LAMBDA_FUNCTION_VERSION", Some("$LATEST")),
        ("AWS_REGION", Some("eu-west-1")),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Some("256")),
        ("OTEL_SERVICE_NAME", None),
    ];
    let resource = temp_env::with_vars(vars, || {
        let t = common::telemetry();
        t.monitor
            .start(common::op::WEBSOCKET_CONVERSATION, [])
            .complete(true, []);
        t.resource()
    });
    assert_eq!(resource["service.name"], "ws-conversation");
    assert_eq!(resource["cloud.provider"], "aws");
    assert_eq!(resource["cloud.region"], "eu-west-1");
    assert_eq!(resource["faas.name"], "ws-conversation");
    assert_eq!(resource["deployment.environment.name"], "test");
}
