//! The smallest `lambda_runtime` function: it answers every event with
//! itself. The size and init floor that `scripts/budgets.sh` sets
//! `ws-conversation` against; it uses no part of perfmon.
//!
//! ```text
//! cargo build --release -p perfmon-chat --example lambda_hello
//! ```

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<Value, Error>(event.payload)
    }))
    .await
}
