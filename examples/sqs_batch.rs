//! An SQS producer and its consumer, one function deployed twice, traced
//! end to end:
//!
//! - **the producer**, invoked with `{"orders": [...]}`, sends each order
//!   as one message (`SendMessage` on `ORDERS_QUEUE_URL`) through an SQS
//!   client with perfmon's SDK interceptor: each call is one CLIENT span
//!   `SQS.SendMessage`, and its message carries that span's context
//!   (`AWSTraceHeader`);
//! - **the consumer**, the queue's event source mapping's target (enable
//!   `ReportBatchItemFailures`), runs each record as one operation linked
//!   to that span, and stores the order in DynamoDB (`ORDERS_TABLE`),
//!   again through the interceptor. A record that is not a JSON object
//!   with an `id` fails alone: it comes back in `batchItemFailures`.
//!
//! X-Ray draws producer → SQS → consumer → DynamoDB.
//!
//! ```sh
//! cargo lambda watch --example sqs_batch --features aws-sdk
//! ```

use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use aws_sdk_dynamodb::types::AttributeValue;
use lambda_runtime::{service_fn, Error, LambdaEvent};
use opentelemetry::KeyValue;
use perfmon_lambda::aws_sdk::TracingInterceptor;
use perfmon_lambda::lambda::{Carrier, InvocationEvent, LambdaMonitoring, Trigger};
use perfmon_lambda::PerformanceMonitor;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the function is invoked with: orders to send, or a batch to
/// process.
#[derive(Deserialize)]
#[serde(untagged)]
enum Event {
    Orders { orders: Vec<Value> },
    Batch(SqsEvent),
}

/// The Lambda layer reads a batch as SQS's own event.
impl InvocationEvent for Event {
    fn trigger(&self) -> Trigger {
        match self {
            Event::Orders { .. } => Trigger::Other,
            Event::Batch(batch) => batch.trigger(),
        }
    }
    fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        if let Event::Batch(batch) = self {
            batch.attributes(attributes)
        }
    }
    fn carrier(&self) -> Option<Carrier<'_>> {
        None
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Answer {
    Sent { sent: Vec<String> },
    Batch(SqsBatchResponse),
}

/// Sends each of `orders` as one message: an order that is a string as
/// it is, anything else as its JSON text. The answer lists the message ids.
async fn send(
    monitor: &PerformanceMonitor,
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    orders: &[Value],
) -> Result<Answer, Error> {
    let mut operation = monitor.start("send_orders", []);
    let mut sent = Vec::new();
    for order in orders {
        let body = match order {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        };
        let call = sqs
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send();
        match operation.within(call).await {
            Ok(output) => sent.extend(output.message_id),
            Err(error) => {
                operation.fail("SEND_FAILED", []);
                return Err(error.into());
            }
        }
    }
    operation.complete(true, []);
    Ok(Answer::Sent { sent })
}

/// Stores one record's order: its body must be a JSON object with an `id`.
async fn store(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    message: &SqsMessage,
) -> Result<(), &'static str> {
    let body = message.body.as_deref().unwrap_or_default();
    let order: Value = serde_json::from_str(body).map_err(|_| "INVALID_RECORD")?;
    let id = match &order["id"] {
        Value::String(id) => id.clone(),
        Value::Number(id) => id.to_string(),
        _ => return Err("INVALID_RECORD"),
    };
    dynamodb
        .put_item()
        .table_name(table)
        .item("id", AttributeValue::S(id))
        .item("order", AttributeValue::S(body.to_owned()))
        .send()
        .await
        .map(drop)
        .map_err(|_| "STORE_FAILED")
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let monitoring = LambdaMonitoring::from_env()?;
    let sdk = aws_config::load_from_env().await;
    let traced = TracingInterceptor::new(monitoring.telemetry());
    let sqs = aws_sdk_sqs::Client::from_conf(
        aws_sdk_sqs::config::Builder::from(&sdk)
            .interceptor(traced.clone())
            .build(),
    );
    let dynamodb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(traced)
            .build(),
    );
    let queue_url = std::env::var("ORDERS_QUEUE_URL").unwrap_or_default();
    let table = std::env::var("ORDERS_TABLE").unwrap_or_else(|_| "orders".to_owned());
    let monitor = monitoring.monitor().clone();
    let batch = monitoring.batch("store_order");
    let (sqs, dynamodb, queue_url, table) = (&sqs, &dynamodb, &queue_url, &table);
    monitoring
        .run(service_fn(|event: LambdaEvent<Event>| {
            let (monitor, batch) = (&monitor, batch.clone());
            async move {
                match event.payload {
                    Event::Orders { orders } => send(monitor, sqs, queue_url, &orders).await,
                    Event::Batch(records) => {
                        let process =
                            async |message: &SqsMessage| store(dynamodb, table, message).await;
                        Ok(Answer::Batch(batch.sqs(&records, process).await))
                    }
                }
            }
        }))
        .await
}
