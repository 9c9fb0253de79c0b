//! Batches (DESIGN §12): [`BatchProcessor`] runs a function's callback on
//! every record of an SQS, SNS, Kinesis or DynamoDB Streams event, each
//! record as one monitored operation:
//!
//! - a CONSUMER span under the invocation's root (which stays parented to
//!   Lambda's X-Ray header), **linked** (an OTel `Link`) to the context of
//!   the record's producer when the record carries one (see
//!   [`BatchRecord`]); a malformed or absent carrier gives no link, and the
//!   record is processed all the same;
//! - the messaging semantic conventions: `messaging.system`,
//!   `messaging.destination.name`, `messaging.message.id`,
//!   `messaging.operation.type=process`; the root carries
//!   `messaging.batch.message_count`;
//! - the core metrics of the operation (`Invocations`, `Errors{ErrorType}`,
//!   `HandlerDuration`) count each record's outcome.
//!
//! Records run one after the other, in the batch's order (an SQS FIFO
//! queue's, a shard's). The SQS, Kinesis and DynamoDB Streams helpers
//! return the partial batch response naming the failed records
//! (`batchItemFailures`; turn on `ReportBatchItemFailures` on the event
//! source mapping).
//!
//! ```no_run
//! use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
//! use lambda_runtime::{service_fn, Error, LambdaEvent};
//! use perfmon_lambda::lambda::{BatchProcessor, LambdaMonitoring};
//!
//! async fn process(message: &SqsMessage) -> Result<(), &'static str> {
//!     message.body.as_deref().map(|_| ()).ok_or("EMPTY_RECORD")
//! }
//!
//! # async fn run() -> Result<(), Error> {
//! let monitoring = LambdaMonitoring::from_env()?;
//! let batch = monitoring.batch("process_order");
//! monitoring
//!     .run(service_fn(|event: LambdaEvent<SqsEvent>| {
//!         let batch = batch.clone();
//!         async move { Ok::<SqsBatchResponse, Error>(batch.sqs(&event.payload, process).await) }
//!     }))
//!     .await
//! # }
//! ```

use std::sync::Arc;

use aws_lambda_events::dynamodb;
use aws_lambda_events::kinesis::KinesisEvent;
use aws_lambda_events::sns::SnsEvent;
use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use aws_lambda_events::streams::{
    DynamoDbBatchItemFailure, DynamoDbEventResponse, KinesisBatchItemFailure, KinesisEventResponse,
};
use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator as _};
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry::{Context, KeyValue};

use crate::http_request::bounded;
use crate::monitor::{ErrorCode, PerformanceMonitor};
use crate::telemetry::Telemetry;

mod record;

pub use record::BatchRecord;
use record::RecordCarrier;

/// Runs a batch's records as operations; see the module docs. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct BatchProcessor {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    monitor: PerformanceMonitor,
    propagator: TextMapCompositePropagator,
    operation: String,
}

impl BatchProcessor {
    /// Records as operations `operation` on `monitor`; a record's producer
    /// context is read with `telemetry`'s propagators (`OTEL_PROPAGATORS`:
    /// `xray` reads SQS's `AWSTraceHeader`, `tracecontext` a
    /// `traceparent` message attribute).
    pub fn new(telemetry: &Telemetry, monitor: PerformanceMonitor, operation: &str) -> Self {
        BatchProcessor {
            shared: Arc::new(Shared {
                monitor,
                propagator: telemetry.propagator(),
                operation: operation.to_owned(),
            }),
        }
    }

    /// Runs `process` on each of `records` in order, each as one operation
    /// under the current context, and returns the identifiers of the
    /// records that failed (a failed record without one is counted, not
    /// listed).
    pub async fn process<R, F, E>(&self, records: &[R], mut process: F) -> Vec<String>
    where
        R: BatchRecord,
        F: AsyncFnMut(&R) -> Result<(), E>,
        E: ErrorCode,
    {
        let shared = &*self.shared;
        let parent = Context::current();
        let mut failed = Vec::new();
        for record in records {
            // From an empty context: a record without a carrier links to
            // nothing, never to the invocation.
            let producer = shared
                .propagator
                .extract_with_context(&Context::new(), &RecordCarrier(record))
                .span()
                .span_context()
                .clone();
            let mut attributes = vec![
                KeyValue::new("messaging.system", R::SYSTEM),
                KeyValue::new("messaging.operation.type", "process"),
            ];
            if let Some(destination) = record.destination() {
                attributes.push(KeyValue::new(
                    "messaging.destination.name",
                    bounded(destination),
                ));
            }
            if let Some(id) = record.id() {
                attributes.push(KeyValue::new("messaging.message.id", bounded(id)));
            }
            let mut operation = shared.monitor.start_record(
                &shared.operation,
                &parent,
                producer.is_valid().then_some(producer),
                attributes,
            );
            match operation.within(process(record)).await {
                Ok(()) => operation.complete(true, []),
                Err(error) => {
                    operation.fail(&error, []);
                    failed.extend(record.id().map(str::to_owned));
                }
            }
        }
        failed
    }

    /// An SQS batch, and its partial batch response.
    pub async fn sqs<F, E>(&self, event: &SqsEvent, process: F) -> SqsBatchResponse
    where
        F: AsyncFnMut(&aws_lambda_events::sqs::SqsMessage) -> Result<(), E>,
        E: ErrorCode,
    {
        let mut response = SqsBatchResponse::default();
        for id in self.process(&event.records, process).await {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// A Kinesis batch, and its partial batch response (sequence numbers).
    pub async fn kinesis<F, E>(&self, event: &KinesisEvent, process: F) -> KinesisEventResponse
    where
        F: AsyncFnMut(&aws_lambda_events::kinesis::KinesisEventRecord) -> Result<(), E>,
        E: ErrorCode,
    {
        let mut response = KinesisEventResponse::default();
        for id in self.process(&event.records, process).await {
            let mut failure = KinesisBatchItemFailure::default();
            failure.item_identifier = Some(id);
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// A DynamoDB Streams batch, and its partial batch response (sequence
    /// numbers).
    pub async fn dynamodb<F, E>(&self, event: &dynamodb::Event, process: F) -> DynamoDbEventResponse
    where
        F: AsyncFnMut(&dynamodb::EventRecord) -> Result<(), E>,
        E: ErrorCode,
    {
        let mut response = DynamoDbEventResponse::default();
        for id in self.process(&event.records, process).await {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(id);
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// An SNS batch; SNS has no partial batch response, so the failed
    /// message ids are returned for the function to act on.
    pub async fn sns<F, E>(&self, event: &SnsEvent, process: F) -> Vec<String>
    where
        F: AsyncFnMut(&aws_lambda_events::sns::SnsRecord) -> Result<(), E>,
        E: ErrorCode,
    {
        self.process(&event.records, process).await
    }
}
