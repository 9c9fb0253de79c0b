//! The Lambda layer: a root SERVER span parented to the invocation's X-Ray
//! header, `faas.*` attributes and cold starts, the handler's spans as its
//! children, and a flush before the invocation returns, bounded even when
//! the collector never answers.
#![cfg(feature = "lambda")]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{lambda_context, span_attrs, TestTelemetry, Value};
use lambda_runtime::tower::{Layer, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use opentelemetry::trace::{SpanKind, Status};
use perfmon::lambda::PerformanceLayer;
use perfmon::{PerformanceMonitor, Telemetry};

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// What the local emulator reports as the deadline: not an epoch.
const EMULATOR_DEADLINE: u64 = 600_000;

fn invocation(request_id: &str) -> lambda_runtime::Context {
    lambda_context(request_id, Some(HEADER), EMULATOR_DEADLINE)
}

fn handler(
    monitor: PerformanceMonitor,
) -> impl Service<LambdaEvent<serde_json::Value>, Response = String, Error = String> {
    service_fn(move |event: LambdaEvent<serde_json::Value>| {
        let monitor = monitor.clone();
        async move {
            let op = monitor.start(common::op::WEBSOCKET_CONVERSATION, []);
            if event.payload["fail"] == true {
                op.fail("INVALID_MESSAGE_FORMAT", []);
                return Err("bad frame".to_owned());
            }
            op.complete(true, []);
            Ok("done".to_owned())
        }
    })
}

#[tokio::test]
async fn invocations_are_rooted_on_the_trace_header_and_flushed() {
    let t = TestTelemetry::new();
    let layer = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    );
    let mut service = layer.layer(handler(t.monitor.clone()));

    let first = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(serde_json::json!({}), invocation("req-1")))
        .await;
    assert_eq!(first, Ok("done".to_owned()));
    // Exported before the invocation returned: nothing here flushed.
    let spans = t.exported_spans();
    assert_eq!(spans.len(), 2, "{spans:#?}");
    let root = spans.iter().find(|s| s.name == "ws-conversation").unwrap();
    let op = spans
        .iter()
        .find(|s| s.name == common::op::WEBSOCKET_CONVERSATION)
        .unwrap();
    assert_eq!(root.span_kind, SpanKind::Server);
    assert_eq!(
        root.span_context.trace_id().to_string(),
        "5759e988bd862e3fe1be46a994272793"
    );
    assert_eq!(root.parent_span_id.to_string(), "53995c3f42cd8ad8");
    assert!(root.parent_span_is_remote);
    assert_eq!(op.parent_span_id, root.span_context.span_id());
    assert_eq!(op.span_context.trace_id(), root.span_context.trace_id());
    let attrs = span_attrs(root);
    assert_eq!(attrs["faas.coldstart"], "true");
    assert_eq!(attrs["faas.invocation_id"], "req-1");
    assert_eq!(attrs["faas.name"], "ws-conversation");
    assert_eq!(root.status, Status::Ok);

    let second = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(
            serde_json::json!({"fail": true}),
            invocation("req-2"),
        ))
        .await;
    assert_eq!(second, Err("bad frame".to_owned()));
    let spans = t.exported_spans();
    let root = spans
        .iter()
        .find(|s| s.name == "ws-conversation" && span_attrs(s)["faas.invocation_id"] == "req-2")
        .unwrap();
    assert_eq!(span_attrs(root)["faas.coldstart"], "false");
    assert!(matches!(root.status, Status::Error { .. }));

    let cold = t.points_named("ColdStarts");
    assert_eq!(cold.len(), 1);
    assert_eq!(cold[0].value, Value::Sum(1));
    assert_eq!(cold[0].attributes["Function"], "ws-conversation");
    assert_eq!(
        t.telemetry.stats().flushes,
        2 + 1,
        "one flush per invocation, one here"
    );
}

#[tokio::test]
async fn a_collector_that_never_answers_costs_at_most_the_budget() {
    let addr = frozen_collector();
    let telemetry = Arc::new(
        Telemetry::builder()
            .with_traces_exporter(perfmon::ExporterKind::Otlp)
            .with_metrics_exporter(perfmon::ExporterKind::Otlp)
            .with_otlp_endpoint(format!("http://{addr}"))
            .build()
            .unwrap(),
    );
    let monitor = PerformanceMonitor::new(&telemetry);
    let budget = Duration::from_millis(200);
    let mut service =
        PerformanceLayer::new(telemetry.clone(), monitor.clone(), budget).layer(handler(monitor));
    let started = Instant::now();
    let result = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(serde_json::json!({}), invocation("req-1")))
        .await;
    let took = started.elapsed();
    assert_eq!(
        result,
        Ok("done".to_owned()),
        "telemetry never fails the invocation"
    );
    assert!(took < budget + Duration::from_millis(1500), "took {took:?}");
    assert_eq!(
        telemetry.stats().flush_timeouts,
        1,
        "the timeout is counted"
    );
}

/// A collector that accepts connections and never answers.
fn frozen_collector() -> std::net::SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let held: Vec<_> = listener.incoming().take(16).collect();
        std::thread::sleep(Duration::from_secs(60));
        drop(held);
    });
    addr
}

#[tokio::test]
async fn the_flush_never_runs_past_the_deadline_counted_from_the_handlers_end() {
    let addr = frozen_collector();
    let telemetry = Arc::new(
        Telemetry::builder()
            .with_traces_exporter(perfmon::ExporterKind::Otlp)
            .with_metrics_exporter(perfmon::ExporterKind::Otlp)
            .with_otlp_endpoint(format!("http://{addr}"))
            .build()
            .unwrap(),
    );
    let monitor = PerformanceMonitor::new(&telemetry);
    let budget = Duration::from_millis(500);
    // The handler ends 20 ms before the deadline. Had the flush timeout been
    // fixed when the invocation started (400 ms left, minus the margin),
    // the invocation would end about 330 ms after its deadline.
    let handler = service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let monitor = monitor.clone();
        async move {
            let op = monitor.start(common::op::WEBSOCKET_CONVERSATION, []);
            tokio::time::sleep(Duration::from_millis(380)).await;
            op.complete(true, []);
            Ok::<_, String>("done".to_owned())
        }
    });
    let mut service = PerformanceLayer::new(
        telemetry.clone(),
        PerformanceMonitor::new(&telemetry),
        budget,
    )
    .layer(handler);
    let started = Instant::now();
    let deadline_ms = perfmon::clock::now_ms() as u64 + 400;
    let result = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(
            serde_json::json!({}),
            lambda_context("req-deadline", Some(HEADER), deadline_ms),
        ))
        .await;
    let took = started.elapsed();
    assert_eq!(result, Ok("done".to_owned()));
    // The deadline is 400 ms after the start; the slack absorbs a slow,
    // shared machine, and is far below the 330 ms overrun this guards.
    assert!(
        took < Duration::from_millis(400 + 120),
        "the invocation returned {took:?} after its start, past its deadline"
    );
    assert_eq!(
        telemetry.stats().flush_timeouts,
        1,
        "the cut-short flush is counted"
    );
}
