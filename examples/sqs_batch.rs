//! An SQS batch function: one monitored operation per record, and a
//! partial batch failure (`batchItemFailures`) naming the records to retry.
//! Enable `ReportBatchItemFailures` on the event source mapping.
//!
//! ```sh
//! cargo lambda watch --example sqs_batch
//! ```

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use opentelemetry::KeyValue;
use perfmon_lambda::lambda::LambdaMonitoring;
use perfmon_lambda::PerformanceMonitor;

/// A record fails when its body is not a JSON object.
fn process(body: Option<&str>) -> Result<(), &'static str> {
    match body.map(serde_json::from_str::<serde_json::Value>) {
        Some(Ok(value)) if value.is_object() => Ok(()),
        Some(_) => Err("INVALID_RECORD"),
        None => Err("EMPTY_RECORD"),
    }
}

async fn handle(
    monitor: &PerformanceMonitor,
    event: LambdaEvent<SqsEvent>,
) -> Result<SqsBatchResponse, Error> {
    let mut response = SqsBatchResponse::default();
    for record in event.payload.records {
        let id = record.message_id.clone().unwrap_or_default();
        let op = monitor.start(
            "process_record",
            [KeyValue::new("messaging.message.id", id.clone())],
        );
        match process(record.body.as_deref()) {
            Ok(()) => op.complete(true, []),
            Err(code) => {
                op.fail(code, []);
                let mut failure = BatchItemFailure::default();
                failure.item_identifier = id;
                response.batch_item_failures.push(failure);
            }
        }
    }
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let monitoring = LambdaMonitoring::from_env()?;
    let monitor = monitoring.monitor().clone();
    monitoring
        .run(service_fn(|event| handle(&monitor, event)))
        .await
}
