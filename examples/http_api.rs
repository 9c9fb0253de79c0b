//! An API Gateway HTTP API function that records one custom metric,
//! `OrdersPlaced{PaymentMethod}`, declared in its catalog. The handle is
//! looked up once at start-up; recording allocates nothing, and a payment
//! method the catalog does not list is recorded as `other`.
//!
//! `tracing` joins in: the `#[instrument]` function is a child span of the
//! `checkout` operation, and its `info!` is a log line carrying the
//! invocation's `traceId`, `spanId` and `requestId` (JSON when Lambda's
//! log format is JSON).
//!
//! ```sh
//! cargo lambda watch --example http_api
//! ```

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use opentelemetry::KeyValue;
use perfmon_lambda::lambda::LambdaMonitoring;
use perfmon_lambda::{Catalog, Counter, PerformanceMonitor};

/// Charges the order: a span of its own under the operation.
#[tracing::instrument]
async fn charge(method: &str) -> bool {
    tracing::info!(method, "payment accepted");
    true
}

/// The function's catalog, checked with `perfmon catalog check`.
const CATALOG: &str = include_str!("orders.catalog.json");

async fn checkout(
    monitor: &PerformanceMonitor,
    orders: &Counter<1>,
    event: LambdaEvent<ApiGatewayV2httpRequest>,
) -> Result<ApiGatewayV2httpResponse, Error> {
    let method = event
        .payload
        .query_string_parameters
        .first("method")
        .unwrap_or("card")
        .to_owned();
    let mut op = monitor.start(
        "checkout",
        [KeyValue::new("app.payment.method", method.clone())],
    );
    let charged = op.within(charge(&method)).await;
    orders.add(1, [method.as_str()]);
    op.complete(charged, []);
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = 201;
    response.body = Some("ordered".into());
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let monitoring = LambdaMonitoring::with_catalog(Catalog::from_json(CATALOG)?)?;
    let monitor = monitoring.monitor().clone();
    let orders = monitor.counter::<1>("OrdersPlaced")?;
    monitoring
        .run(service_fn(|event| checkout(&monitor, &orders, event)))
        .await
}
