//! The Lambda layer: a root SERVER span parented to the invocation's X-Ray
//! header, `faas.*` attributes and cold starts, the handler's spans as its
//! children, and a flush before the invocation returns, bounded even when
//! the collector never answers.
#![cfg(feature = "lambda")]

use perfmon_testkit as common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{lambda_context, span_attrs, Value};
use lambda_runtime::tower::{Layer, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use opentelemetry::trace::{SpanKind, Status};
use perfmon_lambda::lambda::PerformanceLayer;
use perfmon_lambda::{PerformanceMonitor, Telemetry};

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
    let t = common::telemetry();
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
        op.span_kind,
        SpanKind::Internal,
        "a SERVER operation under the root is INTERNAL: one segment per invocation"
    );
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
    assert_eq!(root.status, Status::Unset);

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
    let telemetry = on_frozen_collector();
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

/// Telemetry exporting over OTLP to a collector that never answers.
fn on_frozen_collector() -> Arc<Telemetry> {
    let addr = common::never_answers();
    Arc::new(
        Telemetry::builder()
            .with_traces_exporter(perfmon_lambda::ExporterKind::Otlp)
            .with_metrics_exporter(perfmon_lambda::ExporterKind::Otlp)
            .with_otlp_endpoint(format!("http://{addr}"))
            .build()
            .unwrap(),
    )
}

#[tokio::test]
async fn the_flush_never_runs_past_the_deadline_counted_from_the_handlers_end() {
    let telemetry = on_frozen_collector();
    let monitor = PerformanceMonitor::new(&telemetry);
    let layer_monitor = monitor.clone();
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
    let mut service =
        PerformanceLayer::new(telemetry.clone(), layer_monitor, budget).layer(handler);
    let started = Instant::now();
    let result = call_within(&mut service, "req-deadline", 400).await;
    let took = started.elapsed();
    assert_eq!(result, Ok("done".to_owned()));
    // The deadline is 400 ms after the start; the slack absorbs a slow,
    // shared machine, and is far below the 330 ms overrun this guards.
    assert!(
        took < Duration::from_millis(400 + 120),
        "the invocation returned {took:?} after its start, past its deadline"
    );
    // Half-way (200 ms) the handler still ran: the layer ended its root as
    // a timeout and flushed; at its end, what it ended since was flushed
    // too. Both flushes were cut short, and counted.
    assert_eq!(
        telemetry.stats().flush_timeouts,
        2,
        "the cut-short flushes are counted"
    );
}

#[tokio::test]
async fn a_panicking_handler_is_flushed_under_its_own_ids_before_the_panic_goes_on() {
    let t = common::telemetry();
    let handler = {
        let monitor = t.monitor.clone();
        service_fn(move |event: LambdaEvent<serde_json::Value>| {
            let monitor = monitor.clone();
            async move {
                let op = monitor.start(common::op::WEBSOCKET_CONVERSATION, []);
                if event.payload["panic"] == true {
                    panic!("index out of bounds in the handler");
                }
                op.complete(true, []);
                Ok::<_, String>("done".to_owned())
            }
        })
    };
    let layer = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    );
    let mut service = layer.layer(handler);
    let first_trace = "1-5759e988-aaaaaaaaaaaaaaaaaaaaaaaa";
    let second_trace = "1-5759e988-bbbbbbbbbbbbbbbbbbbbbbbb";
    let header = |root: &str| format!("Root={root};Parent=53995c3f42cd8ad8;Sampled=1");

    // As lambda_runtime does, the call runs in a task whose panic is caught.
    let panicking = service.ready().await.unwrap().call(LambdaEvent::new(
        serde_json::json!({"panic": true}),
        lambda_context("req-panic", Some(&header(first_trace)), EMULATOR_DEADLINE),
    ));
    let joined = tokio::spawn(panicking).await;
    assert!(
        joined.is_err_and(|e| e.is_panic()),
        "the panic goes on to the runtime"
    );

    // Already exported when the panic reached the runtime: nothing flushed here.
    let exported = t.exported_spans();
    let root = exported
        .iter()
        .find(|s| s.name == "ws-conversation")
        .expect("the panicking invocation's root span");
    assert_eq!(
        perfmon_lambda::xray_trace_id(root.span_context.trace_id()),
        first_trace
    );
    assert_eq!(root.status, Status::error("panic"));
    let exception = root
        .events
        .iter()
        .find(|e| e.name == "exception")
        .expect("an exception event");
    let message = exception
        .attributes
        .iter()
        .find(|kv| kv.key.as_str() == "exception.message")
        .unwrap();
    assert_eq!(message.value.as_str(), "index out of bounds in the handler");
    let abandoned = exported
        .iter()
        .find(|s| s.name == common::op::WEBSOCKET_CONVERSATION)
        .expect("the operation the panic interrupted");
    assert_eq!(span_attrs(abandoned)["perf_outcome"], "abandoned");
    assert_eq!(abandoned.parent_span_id, root.span_context.span_id());
    let before = exported.len();

    let answer = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(
            serde_json::json!({}),
            lambda_context("req-next", Some(&header(second_trace)), EMULATOR_DEADLINE),
        ))
        .await;
    assert_eq!(answer, Ok("done".to_owned()));
    let later = &t.exported_spans()[before..];
    assert_eq!(later.len(), 2, "the next invocation's root and operation");
    for span in later {
        assert_eq!(
            perfmon_lambda::xray_trace_id(span.span_context.trace_id()),
            second_trace,
            "nothing of the panicking invocation under the next one: {span:?}"
        );
        assert_ne!(
            span_attrs(span).get("perf_outcome").map(String::as_str),
            Some("abandoned")
        );
    }
}

#[tokio::test]
async fn a_handler_panicking_before_its_future_is_handled_the_same() {
    let t = common::telemetry();
    let handler = service_fn(
        |_: LambdaEvent<serde_json::Value>| -> std::future::Ready<Result<String, String>> {
            panic!("bad configuration read in the handler")
        },
    );
    let mut service = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    )
    .layer(handler);
    let call = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(serde_json::json!({}), invocation("req-1")));
    assert!(tokio::spawn(call).await.is_err_and(|e| e.is_panic()));
    let spans = t.exported_spans();
    assert_eq!(spans.len(), 1);
    assert_eq!(spans[0].status, Status::error("panic"));
}

#[tokio::test]
async fn faas_trigger_comes_from_the_event() {
    let t = common::telemetry();
    let fixture: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(common::root().join("tests/fixtures/apigw-http-checkout.json"))
            .unwrap(),
    )
    .unwrap();
    let layer = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    );
    // Untyped: read from the event's fields.
    let mut untyped = layer.layer(service_fn(|_: LambdaEvent<serde_json::Value>| async {
        Ok::<_, String>(())
    }));
    untyped
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(fixture.clone(), invocation("req-json")))
        .await
        .unwrap();
    // Typed: known by its type.
    let typed_event: aws_lambda_events::apigw::ApiGatewayV2httpRequest =
        serde_json::from_value(fixture).unwrap();
    let mut typed = layer.layer(service_fn(
        |_: LambdaEvent<aws_lambda_events::apigw::ApiGatewayV2httpRequest>| async {
            Ok::<_, String>(())
        },
    ));
    typed
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(typed_event, invocation("req-typed")))
        .await
        .unwrap();
    let sqs = serde_json::json!({"Records": [{"eventSource": "aws:sqs", "body": "{}"}]});
    untyped
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(sqs, invocation("req-sqs")))
        .await
        .unwrap();

    let spans = t.spans();
    let root = |request: &str| {
        let span = spans
            .iter()
            .find(|s| span_attrs(s).get("faas.invocation_id").map(String::as_str) == Some(request))
            .unwrap();
        span_attrs(span)
    };
    let json = root("req-json");
    assert_eq!(json["faas.trigger"], "http");
    assert_eq!(json["http.request.method"], "GET");
    // `$default` is no route template: no `http.route`.
    assert!(!json.contains_key("http.route"), "{json:?}");
    // Typed, the same attributes.
    let typed = root("req-typed");
    assert_eq!(typed["faas.trigger"], "http");
    assert_eq!(typed["http.request.method"], "GET");
    assert!(!typed.contains_key("http.route"), "{typed:?}");
    let sqs = root("req-sqs");
    assert_eq!(sqs["faas.trigger"], "pubsub");
    assert_eq!(sqs["messaging.system"], "aws_sqs");
}

#[test]
fn bad_flush_settings_fall_back_to_the_defaults_with_one_error_line() {
    use perfmon_lambda::lambda::{FlushMode, DEFAULT_FLUSH_MODE};
    use perfmon_lambda::tracing::{LogFormat, LogLayer};
    use tracing_subscriber::layer::SubscriberExt as _;

    let t = common::telemetry();
    for vars in [
        &[("PERFMON_FLUSH_MODE", "async")][..],
        &[("PERFMON_FLUSH_TIMEOUT_MS", "-1")],
        &[
            ("PERFMON_FLUSH_MODE", "adaptive"),
            ("PERFMON_FLUSH_INTERVAL_MS", "soon"),
        ],
    ] {
        let (var, value) = *vars.last().unwrap();
        let logs = common::SharedBuffer::default();
        let subscriber = tracing_subscriber::registry().with(
            LogLayer::new(&t.telemetry)
                .with_format(LogFormat::Json)
                .with_writer(logs.clone()),
        );
        let vars: Vec<_> = vars.iter().map(|&(k, v)| (k, Some(v))).collect();
        let layer = temp_env::with_vars(vars, || {
            tracing::subscriber::with_default(subscriber, || {
                PerformanceLayer::from_env(t.telemetry.clone(), t.monitor.clone())
            })
        });
        // A bad interval drops the whole mode, not only the interval.
        assert_eq!(layer.flush_mode(), DEFAULT_FLUSH_MODE, "{var}");
        assert_eq!(DEFAULT_FLUSH_MODE, FlushMode::AfterResponse);
        let text = logs.text();
        let errors: Vec<&str> = text.lines().filter(|l| l.contains("\"ERROR\"")).collect();
        assert_eq!(errors.len(), 1, "{text}");
        assert!(
            errors[0].contains(var) && errors[0].contains(value),
            "{}",
            errors[0]
        );
    }
}

#[tokio::test]
async fn an_invocation_dropped_before_its_handler_ends_is_cancelled() {
    let t = common::telemetry();
    let monitor = t.monitor.clone();
    let mut service = PerformanceLayer::new(t.telemetry.clone(), monitor, Duration::from_secs(5))
        .layer(service_fn(|_: LambdaEvent<serde_json::Value>| async {
            tokio::time::sleep(Duration::from_secs(60)).await;
            Ok::<_, String>("late".to_owned())
        }));
    let call = service.ready().await.unwrap().call(LambdaEvent::new(
        serde_json::json!({}),
        invocation("req-cut"),
    ));
    // A timeout around the service gives up on it.
    assert!(tokio::time::timeout(Duration::from_millis(20), call)
        .await
        .is_err());
    t.telemetry.force_flush(Duration::from_secs(5)).unwrap();
    let spans = t.exported_spans();
    let root = spans
        .iter()
        .find(|s| s.name == "ws-conversation")
        .unwrap_or_else(|| panic!("the root span ends when its future is dropped: {spans:#?}"));
    assert_eq!(span_attrs(root)["error.type"], "cancelled");
    assert_eq!(root.status, Status::error("cancelled"));
}

/// A handler still running at its deadline less the flush budget (a call
/// that never answers, say) has its root span ended then as a timeout and
/// flushed, before the deadline, while the handler runs on; the handler
/// reads that deadline from its context, to bound its own calls.
#[tokio::test]
async fn a_hung_handler_is_ended_as_a_timeout_and_flushed_before_the_deadline() {
    let t = common::telemetry();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let handler = {
        let (monitor, seen) = (t.monitor.clone(), seen.clone());
        service_fn(move |_: LambdaEvent<serde_json::Value>| {
            *seen.lock().unwrap() = perfmon_lambda::Deadline::current().map(|d| d.remaining());
            let op = monitor.start(common::op::WEBSOCKET_CONVERSATION, []);
            async move {
                std::future::pending::<()>().await;
                op.complete(true, []);
                Ok::<_, String>("never".to_owned())
            }
        })
    };
    let budget = Duration::from_millis(500);
    let mut service =
        PerformanceLayer::new(t.telemetry.clone(), t.monitor.clone(), budget).layer(handler);
    let started = Instant::now();
    let deadline_ms = perfmon_lambda::clock::now_ms() as u64 + 1_000;
    let call = service.ready().await.unwrap().call(LambdaEvent::new(
        serde_json::json!({}),
        lambda_context("req-hung", Some(HEADER), deadline_ms),
    ));
    let running = tokio::spawn(call);
    let root = loop {
        if let Some(root) = t
            .exported_spans()
            .into_iter()
            .find(|s| s.name == "ws-conversation")
        {
            break root;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "nothing exported before the deadline"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let arrived = started.elapsed();
    // The work time is the deadline less the budget and a 50 ms margin,
    // but at least half the time: 500 ms (less the ms the clock truncates).
    assert!(
        arrived >= Duration::from_millis(490) && arrived < Duration::from_secs(1),
        "{arrived:?}"
    );
    assert_eq!(root.status, Status::error("timeout"));
    assert_eq!(span_attrs(&root)["error.type"], "timeout");
    assert!(root.events.iter().any(|e| e.name == "exception"));
    assert_eq!(
        perfmon_lambda::xray_trace_id(root.span_context.trace_id()),
        "1-5759e988-bd862e3fe1be46a994272793"
    );
    assert!(!running.is_finished(), "the handler runs on");
    running.abort();
    let left = seen
        .lock()
        .unwrap()
        .expect("a deadline in the handler's context");
    assert!(
        left <= Duration::from_millis(500) && left > Duration::from_millis(400),
        "{left:?}"
    );

    // A handler that answers after its overtime, before the deadline: what
    // it ended since (its operation) is flushed before the answer goes.
    let late = {
        let monitor = t.monitor.clone();
        service_fn(move |_: LambdaEvent<serde_json::Value>| {
            let op = monitor.start(common::op::CHAT_MESSAGE_PROCESSING, []);
            async move {
                tokio::time::sleep(Duration::from_millis(700)).await;
                op.complete(true, []);
                Ok::<_, String>("late".to_owned())
            }
        })
    };
    let mut service =
        PerformanceLayer::new(t.telemetry.clone(), t.monitor.clone(), budget).layer(late);
    let answer = call_within(&mut service, "req-late", 1_000).await;
    assert_eq!(answer, Ok("late".to_owned()));
    let operation = t
        .exported_spans()
        .into_iter()
        .find(|s| s.name == common::op::CHAT_MESSAGE_PROCESSING)
        .expect("the operation ended after the overtime, flushed with the answer");
    assert_eq!(operation.status, Status::Unset);

    // Under the local emulator's deadline (not an epoch) there is none.
    let mut service = PerformanceLayer::new(t.telemetry.clone(), t.monitor.clone(), budget)
        .layer(handler_reading(seen.clone()));
    service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(
            serde_json::json!({}),
            invocation("req-local"),
        ))
        .await
        .unwrap();
    assert_eq!(*seen.lock().unwrap(), None);
}

/// A handler that stores the time its context's deadline leaves.
fn handler_reading(
    seen: Arc<std::sync::Mutex<Option<Duration>>>,
) -> impl Service<LambdaEvent<serde_json::Value>, Response = String, Error = String> {
    service_fn(move |_: LambdaEvent<serde_json::Value>| {
        *seen.lock().unwrap() = perfmon_lambda::Deadline::current().map(|d| d.remaining());
        async { Ok("done".to_owned()) }
    })
}

/// Calls `service` once, for invocation `request_id` whose deadline is
/// `ms` from now.
async fn call_within<S>(service: &mut S, request_id: &str, ms: u64) -> Result<String, String>
where
    S: Service<LambdaEvent<serde_json::Value>, Response = String, Error = String>,
{
    let deadline_ms = perfmon_lambda::clock::now_ms() as u64 + ms;
    let event = LambdaEvent::new(
        serde_json::json!({}),
        lambda_context(request_id, Some(HEADER), deadline_ms),
    );
    service.ready().await?.call(event).await
}
