//! Error classes (DESIGN §6): the catalog's class of a code decides how the
//! operation's span, and the invocation's root span, are marked. A client
//! error carries its 4xx status and no `exception`; a service error an
//! `exception` event; an undeclared code is a service error.
#![cfg(feature = "lambda")]

use perfmon_testkit as common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{lambda_context, span_attrs, TestTelemetry};
use lambda_runtime::tower::{Layer, Service, ServiceExt};
use lambda_runtime::{service_fn, LambdaEvent};
use opentelemetry::trace::Status;
use opentelemetry_sdk::trace::SpanData;
use perfmon_lambda::lambda::{PerformanceLayer, HANDLER_ERROR};
use perfmon_lambda::Catalog;

const CATALOG: &str = r#"{"version": 1, "namespace": "Orders", "operations": [
  {"name": "checkout", "span_kind": "server",
   "thresholds": {"duration_ms": 800, "memory_bytes": 67108864, "error_rate_percent": 50},
   "errors": [
     {"code": "CARD_DECLINED", "class": "client", "status": 402},
     {"code": "RATE_LIMITED", "class": "client", "status": 429},
     {"code": "BAD_REQUEST", "class": "client"},
     {"code": "PROVIDER_DOWN", "class": "service", "status": 503},
     {"code": "STORAGE", "class": "service"}]}]}"#;

const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

/// The marks a failure leaves on a span.
#[derive(Debug, PartialEq)]
struct Marks {
    status: Status,
    error_type: Option<String>,
    http_status: Option<String>,
    exception: Option<(String, String)>,
}

fn marks(span: &SpanData) -> Marks {
    let attrs: BTreeMap<String, String> = span_attrs(span);
    let exception = span.events.iter().find(|e| e.name == "exception").map(|e| {
        let get = |k: &str| {
            e.attributes
                .iter()
                .find(|kv| kv.key.as_str() == k)
                .map(|kv| kv.value.to_string())
                .unwrap_or_default()
        };
        (get("exception.type"), get("exception.message"))
    });
    Marks {
        status: span.status.clone(),
        error_type: attrs.get("error.type").cloned(),
        http_status: attrs.get("http.response.status_code").cloned(),
        exception,
    }
}

/// Runs one invocation whose `checkout` operation fails with `code` (none:
/// succeeds) and whose handler answers `Err` when `handler_fails`; returns
/// the operation's marks and the root's.
async fn invoke(code: Option<&'static str>, handler_fails: bool) -> (Option<Marks>, Marks) {
    let t = TestTelemetry::with_catalog(Catalog::from_json(CATALOG).unwrap());
    let monitor = t.monitor.clone();
    let handler = service_fn(move |_: LambdaEvent<serde_json::Value>| {
        let monitor = monitor.clone();
        async move {
            if let Some(code) = code {
                let op = monitor.start("checkout", []);
                op.fail(code, []);
            }
            if handler_fails {
                Err("failed".to_owned())
            } else {
                Ok("answered".to_owned())
            }
        }
    });
    let layer = PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_secs(5),
    );
    let mut service = layer.layer(handler);
    let _ = service
        .ready()
        .await
        .unwrap()
        .call(LambdaEvent::new(
            serde_json::json!({}),
            lambda_context("req-1", Some(HEADER), 600_000),
        ))
        .await;
    let spans = t.exported_spans();
    let op = spans.iter().find(|s| s.name == "checkout").map(marks);
    let root = spans
        .iter()
        .find(|s| s.name != "checkout")
        .map(marks)
        .unwrap();
    (op, root)
}

fn client(code: &str, status: &str) -> Marks {
    Marks {
        status: Status::error(code.to_owned()),
        error_type: Some(code.to_owned()),
        http_status: Some(status.to_owned()),
        exception: None,
    }
}

fn service(code: &str, status: Option<&str>) -> Marks {
    Marks {
        status: Status::error(code.to_owned()),
        error_type: Some(code.to_owned()),
        http_status: status.map(str::to_owned),
        exception: Some((code.to_owned(), code.to_owned())),
    }
}

#[tokio::test]
async fn a_client_error_marks_the_operation_and_the_root_with_its_4xx_status() {
    for (code, status) in [
        ("CARD_DECLINED", "402"),
        ("RATE_LIMITED", "429"),
        ("BAD_REQUEST", "400"),
    ] {
        let (op, root) = invoke(Some(code), false).await;
        assert_eq!(op, Some(client(code, status)), "{code}");
        assert_eq!(
            root,
            client(code, status),
            "{code}: the root as its operation"
        );
    }
}

#[tokio::test]
async fn a_service_error_carries_an_exception_event() {
    let (op, root) = invoke(Some("PROVIDER_DOWN"), true).await;
    assert_eq!(op, Some(service("PROVIDER_DOWN", Some("503"))));
    assert_eq!(root, service("PROVIDER_DOWN", Some("503")));

    let (op, root) = invoke(Some("STORAGE"), false).await;
    assert_eq!(op, Some(service("STORAGE", None)));
    assert_eq!(root, service("STORAGE", None));
}

#[tokio::test]
async fn an_undeclared_code_is_a_service_error() {
    let (op, _) = invoke(Some("SURPRISE"), false).await;
    assert_eq!(op, Some(service("SURPRISE", None)));
}

#[tokio::test]
async fn a_handler_error_is_a_service_error_on_the_root_whatever_its_operation_said() {
    // The operation blamed the caller, but the invocation failed.
    let (op, root) = invoke(Some("CARD_DECLINED"), true).await;
    assert_eq!(op, Some(client("CARD_DECLINED", "402")));
    assert_eq!(root, service("CARD_DECLINED", None));

    let (op, root) = invoke(None, true).await;
    assert_eq!(op, None);
    assert_eq!(root, service(HANDLER_ERROR, None));
}

#[tokio::test]
async fn success_leaves_both_spans_unmarked() {
    let unmarked = Marks {
        status: Status::Unset,
        error_type: None,
        http_status: None,
        exception: None,
    };
    let (_, root) = invoke(None, false).await;
    assert_eq!(root, unmarked);
    let t = TestTelemetry::with_catalog(Catalog::from_json(CATALOG).unwrap());
    t.monitor.start("checkout", []).complete(true, []);
    assert_eq!(marks(&t.span("checkout")), unmarked);
}
