//! An HTTP function as Rust teams write them: an axum `Router` under
//! `lambda_http`, behind API Gateway, an ALB or a function URL.
//!
//! - Each request is one operation named by its route template:
//!   `POST /orders` is `/orders`, `GET /orders/42` is `/orders/{id}`, and a
//!   path no route matches is `unmatched_route`. The routes' thresholds are
//!   in `catalog.json`, beside this file.
//! - A 4xx is a client error (X-Ray `error`), a 5xx or a panic a service
//!   error (`fault`); the `Errors` metric counts both, by status.
//! - `POST /orders?method=card` records the custom metric
//!   `OrdersPlaced{PaymentMethod}` under its route.
//! - `GET /orders/{id}` answers the orders it knows, 404 for any other id;
//!   the id `crash` panics, to show a panicking route recorded as a fault
//!   while the function goes on serving.
//!
//! ```sh
//! cargo lambda watch --example axum_api --features http,axum
//! curl -X POST 'http://localhost:9000/lambda-url/axum_api/orders?method=card'
//! ```

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use perfmon_lambda::lambda::LambdaMonitoring;
use perfmon_lambda::{Catalog, Counter};
use serde::Deserialize;
use serde_json::{json, Value};

/// The function's catalog, checked with `perfmon catalog check`.
const CATALOG: &str = include_str!("catalog.json");

#[derive(Clone)]
struct Shop {
    orders: Counter<1>,
}

#[derive(Deserialize)]
struct Payment {
    method: Option<String>,
}

/// `POST /orders`: places an order, paid by `method` (a method the catalog
/// does not list is recorded as `other`).
async fn place(
    State(shop): State<Shop>,
    Query(payment): Query<Payment>,
) -> (StatusCode, Json<Value>) {
    let method = payment.method.unwrap_or_else(|| "card".to_owned());
    shop.orders.add(1, [method.as_str()]);
    tracing::info!(method, "order placed");
    (
        StatusCode::CREATED,
        Json(json!({ "id": 42, "method": method })),
    )
}

/// `GET /orders/{id}`.
async fn order(Path(id): Path<String>) -> Result<Json<Value>, StatusCode> {
    match id.as_str() {
        "crash" => panic!("the order store is corrupt"),
        "42" => Ok(Json(json!({ "id": 42, "state": "shipped" }))),
        _ => Err(StatusCode::NOT_FOUND),
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let monitoring = LambdaMonitoring::with_catalog(Catalog::from_json(CATALOG)?)?;
    let shop = Shop {
        orders: monitoring.monitor().counter::<1>("OrdersPlaced")?,
    };
    let app = Router::new()
        .route("/orders", post(place))
        .route("/orders/{id}", get(order))
        .layer(monitoring.route_layer())
        .with_state(shop);
    monitoring.run_http(app).await
}
