//! perfmon's axum layer in a plain axum server (no Lambda): each request
//! is one SERVER operation named by its route template, parented to the
//! W3C context of its headers, with the HTTP server attributes, its status
//! and error class; custom metrics recorded in a route are filed under it;
//! a panicking route is a fault and the server goes on.
#![cfg(feature = "axum")]

use perfmon_testkit as common;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use common::{span_attrs, TestTelemetry};
use opentelemetry::trace::{SpanKind, Status};
use perfmon_lambda::axum::{RouteLayer, UNMATCHED_ROUTE};
use perfmon_lambda::{Catalog, Counter};
use tower::ServiceExt;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn shop() -> TestTelemetry {
    let catalog =
        Catalog::from_path(common::root().join("examples/axum_api/catalog.json")).unwrap();
    TestTelemetry::with_catalog(catalog)
}

fn app(t: &TestTelemetry) -> Router {
    async fn order(Path(id): Path<String>) -> Result<&'static str, StatusCode> {
        match id.as_str() {
            "42" => Ok("shipped"),
            "crash" => panic!("the order store is corrupt"),
            "down" => Err(StatusCode::SERVICE_UNAVAILABLE),
            _ => Err(StatusCode::NOT_FOUND),
        }
    }
    async fn place(State(orders): State<Counter<1>>) -> StatusCode {
        orders.add(1, ["card"]);
        StatusCode::CREATED
    }
    let orders = t.monitor.counter::<1>("OrdersPlaced").unwrap();
    Router::new()
        .route("/orders", post(place))
        .route("/orders/{id}", get(order))
        .layer(RouteLayer::new(&t.telemetry, t.monitor.clone()))
        .with_state(orders)
}

async fn send(t: &TestTelemetry, request: Request<Body>) -> StatusCode {
    app(t).oneshot(request).await.unwrap().status()
}

fn get_request(path: &str) -> Request<Body> {
    Request::get(path)
        .header("host", "shop.example.com:8443")
        .header("user-agent", "curl/8.5")
        .header("x-forwarded-for", "203.0.113.7, 10.0.0.2")
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn a_request_is_a_server_operation_named_by_its_route() {
    let t = shop();
    let mut request = get_request("/orders/42?token=secret");
    request.headers_mut().insert(
        "traceparent",
        format!("00-{TRACE}-{PARENT}-01").parse().unwrap(),
    );
    assert_eq!(send(&t, request).await, StatusCode::OK);
    let span = t.span("/orders/{id}");
    assert_eq!(span.span_kind, SpanKind::Server);
    assert_eq!(span.span_context.trace_id().to_string(), TRACE);
    assert_eq!(span.parent_span_id.to_string(), PARENT);
    assert!(span.parent_span_is_remote);
    let attrs = span_attrs(&span);
    for (key, value) in [
        ("http.request.method", "GET"),
        ("http.route", "/orders/{id}"),
        ("url.path", "/orders/42"),
        ("server.address", "shop.example.com"),
        ("client.address", "203.0.113.7"),
        ("user_agent.original", "curl/8.5"),
        ("http.response.status_code", "200"),
        ("perf_handler", "/orders/{id}"),
        ("perf_outcome", "success"),
    ] {
        assert_eq!(attrs.get(key).map(String::as_str), Some(value), "{key}");
    }
    assert_eq!(span.status, Status::Unset);
}

#[tokio::test]
async fn distinct_paths_on_one_route_are_one_operation() {
    let t = shop();
    for id in 1_000..2_000 {
        assert_eq!(
            send(&t, get_request(&format!("/orders/{id}"))).await,
            StatusCode::NOT_FOUND
        );
    }
    assert_eq!(
        send(&t, get_request("/no/such/route")).await,
        StatusCode::NOT_FOUND
    );
    let invocations = t.points_named("Invocations");
    let handlers: Vec<(&str, &common::Value)> = invocations
        .iter()
        .map(|p| (p.attributes["Handler"].as_str(), &p.value))
        .collect();
    assert_eq!(handlers.len(), 2, "{handlers:?}");
    let on = |handler: &str| {
        invocations
            .iter()
            .find(|p| p.attributes["Handler"] == handler)
            .unwrap_or_else(|| panic!("{handler} in {handlers:?}"))
            .value
            .clone()
    };
    assert_eq!(on("/orders/{id}"), common::Value::Sum(1_000));
    assert_eq!(on(UNMATCHED_ROUTE), common::Value::Sum(1));
    let errors = t.points_named("Errors");
    assert!(errors
        .iter()
        .all(|p| p.attributes.get("ErrorType").is_none_or(|e| e == "404")));
}

#[tokio::test]
async fn statuses_are_classed_and_a_panic_is_a_fault() {
    let t = shop();
    assert_eq!(
        send(&t, get_request("/orders/7")).await,
        StatusCode::NOT_FOUND
    );
    let missing = t.span("/orders/{id}");
    assert_eq!(missing.status, Status::error("404"));
    assert!(missing.events.is_empty(), "a client error is never a fault");

    let t = shop();
    assert_eq!(
        send(&t, get_request("/orders/down")).await,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let down = t.span("/orders/{id}");
    assert_eq!(down.status, Status::error("503"));
    assert_eq!(down.events.iter().next().unwrap().name, "exception");

    let t = shop();
    let crashed = tokio::spawn(send_owned(app(&t), get_request("/orders/crash"))).await;
    assert!(crashed.unwrap_err().is_panic(), "the panic goes on");
    let crash = t.span("/orders/{id}");
    assert_eq!(crash.status, Status::error("panic"));
    let exception = crash.events.iter().next().unwrap();
    assert!(exception
        .attributes
        .iter()
        .any(|kv| kv.value.as_str() == "the order store is corrupt"));
    // The same router serves the next request.
    assert_eq!(send(&t, get_request("/orders/42")).await, StatusCode::OK);
}

async fn send_owned(app: Router, request: Request<Body>) -> StatusCode {
    app.oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn a_routes_custom_metric_is_filed_under_it() {
    let t = shop();
    let request = Request::post("/orders").body(Body::empty()).unwrap();
    assert_eq!(send(&t, request).await, StatusCode::CREATED);
    let orders = t.points_named("OrdersPlaced");
    assert_eq!(orders.len(), 1);
    assert_eq!(orders[0].attributes["Handler"], "/orders");
    assert_eq!(orders[0].attributes["PaymentMethod"], "card");
    assert_eq!(t.span("/orders").span_kind, SpanKind::Server);
}
