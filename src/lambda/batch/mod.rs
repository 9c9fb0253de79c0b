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
//!   `messaging.operation.type` and `.name` (`process`); the root carries
//!   `messaging.batch.message_count`;
//! - the core metrics of the operation (`Invocations`, `Errors{ErrorType}`,
//!   `HandlerDuration`) count each record's outcome. A failed record does
//!   not mark the invocation: the batch answers with its partial response.
//!
//! Records run one after the other, in the batch's order. The SQS, Kinesis
//! and DynamoDB Streams helpers return the partial batch response naming
//! the failed records (`batchItemFailures`; turn on
//! `ReportBatchItemFailures` on the event source mapping); an SQS FIFO
//! queue or a stream stops at its first failure, so that its order holds.
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

use crate::attributes::bounded;
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

/// What a failure does to the records after it.
#[derive(Debug, Clone, Copy)]
enum Order {
    /// Nothing: each record stands alone.
    Any,
    /// They are not processed, and are retried with it (an SQS FIFO queue).
    Fifo,
    /// They are not processed; the stream resumes from the failure.
    Stream,
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
    /// records that failed. A failed record without an identifier is
    /// listed as `""`, which Lambda takes as the whole batch failed, so
    /// that it is retried rather than lost.
    pub async fn process<R, F, E>(&self, records: &[R], process: F) -> Vec<String>
    where
        R: BatchRecord,
        F: AsyncFnMut(&R) -> Result<(), E>,
        E: ErrorCode,
    {
        self.run(records, process, Order::Any).await
    }

    async fn run<R, F, E>(&self, records: &[R], mut process: F, order: Order) -> Vec<String>
    where
        R: BatchRecord,
        F: AsyncFnMut(&R) -> Result<(), E>,
        E: ErrorCode,
    {
        let shared = &*self.shared;
        let parent = Context::current();
        let id = |record: &R| record.id().unwrap_or_default().to_owned();
        let mut failed = Vec::new();
        for (at, record) in records.iter().enumerate() {
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
                KeyValue::new("messaging.operation.name", "process"),
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
                    failed.push(id(record));
                    match order {
                        Order::Any => {}
                        // Nothing after a failed FIFO message may be
                        // processed before it: the rest are retried too.
                        Order::Fifo => {
                            failed.extend(records[at + 1..].iter().map(id));
                            break;
                        }
                        // A stream resumes from the failed record.
                        Order::Stream => break,
                    }
                }
            }
        }
        failed
    }

    /// An SQS batch, and its partial batch response. From a FIFO queue
    /// (its ARN ends in `.fifo`), the first failed message stops the
    /// batch, and it and every message after it are retried, so that the
    /// queue's order holds.
    pub async fn sqs<F, E>(&self, event: &SqsEvent, process: F) -> SqsBatchResponse
    where
        F: AsyncFnMut(&aws_lambda_events::sqs::SqsMessage) -> Result<(), E>,
        E: ErrorCode,
    {
        let fifo = event.records.first().is_some_and(|record| {
            record
                .event_source_arn
                .as_deref()
                .is_some_and(|arn| arn.ends_with(".fifo"))
        });
        let order = if fifo { Order::Fifo } else { Order::Any };
        let mut response = SqsBatchResponse::default();
        for id in self.run(&event.records, process, order).await {
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// A Kinesis batch, and its partial batch response: the first failed
    /// record stops the batch (a shard's order), and the stream resumes
    /// from its sequence number.
    pub async fn kinesis<F, E>(&self, event: &KinesisEvent, process: F) -> KinesisEventResponse
    where
        F: AsyncFnMut(&aws_lambda_events::kinesis::KinesisEventRecord) -> Result<(), E>,
        E: ErrorCode,
    {
        let mut response = KinesisEventResponse::default();
        for id in self.run(&event.records, process, Order::Stream).await {
            let mut failure = KinesisBatchItemFailure::default();
            failure.item_identifier = Some(id);
            response.batch_item_failures.push(failure);
        }
        response
    }

    /// A DynamoDB Streams batch, and its partial batch response, as
    /// [`kinesis`](Self::kinesis).
    pub async fn dynamodb<F, E>(&self, event: &dynamodb::Event, process: F) -> DynamoDbEventResponse
    where
        F: AsyncFnMut(&dynamodb::EventRecord) -> Result<(), E>,
        E: ErrorCode,
    {
        let mut response = DynamoDbEventResponse::default();
        for id in self.run(&event.records, process, Order::Stream).await {
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
