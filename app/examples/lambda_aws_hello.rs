//! A `lambda_runtime` function with `ws-conversation`'s AWS dependencies and
//! no part of perfmon: the AWS config loader, a DynamoDB `GetItem`, an API
//! Gateway Management API `PostToConnection`, and an HTTPS `GET` with the
//! same `reqwest` and rustls (the JWKS fetch). `scripts/budgets.sh` sets
//! `ws-conversation`'s size against it: what the app's own AWS side weighs
//! before any telemetry.
//!
//! ```text
//! cargo build --release -p perfmon-chat --features aws --example lambda_aws_hello
//! ```

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let sdk = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let management = aws_sdk_apigatewaymanagement::Client::new(&sdk);
    let http = reqwest::Client::new();
    let (dynamodb, management, http) = (&dynamodb, &management, &http);
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        let id = event.payload["id"].as_str().unwrap_or_default().to_owned();
        let item = dynamodb
            .get_item()
            .table_name("connections")
            .key("connectionId", AttributeValue::S(id.clone()))
            .send()
            .await?;
        management
            .post_to_connection()
            .connection_id(id)
            .data(format!("{:?}", item.item).into_bytes().into())
            .send()
            .await?;
        let keys = http.get("https://example.com/jwks.json").send().await?;
        Ok::<Value, Error>(Value::from(keys.status().as_u16()))
    }))
    .await
}
