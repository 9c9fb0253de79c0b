//! An SQS batch function: each record is one monitored operation, linked
//! to the trace of the producer that sent it (SQS's `AWSTraceHeader`, or a
//! `traceparent` message attribute), and the partial batch failure
//! (`batchItemFailures`) names the records to retry. Enable
//! `ReportBatchItemFailures` on the event source mapping.
//!
//! ```sh
//! cargo lambda watch --example sqs_batch
//! ```

use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use lambda_runtime::{service_fn, Error, LambdaEvent};
use perfmon_lambda::lambda::LambdaMonitoring;

/// A record fails when its body is not a JSON object.
async fn process(message: &SqsMessage) -> Result<(), &'static str> {
    match message
        .body
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        Some(Ok(value)) if value.is_object() => Ok(()),
        Some(_) => Err("INVALID_RECORD"),
        None => Err("EMPTY_RECORD"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let monitoring = LambdaMonitoring::from_env()?;
    let batch = monitoring.batch("process_record");
    monitoring
        .run(service_fn(|event: LambdaEvent<SqsEvent>| {
            let batch = batch.clone();
            async move { Ok::<_, Error>(batch.sqs(&event.payload, process).await) }
        }))
        .await
}
