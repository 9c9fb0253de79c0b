//! One record of a batch as [`BatchProcessor`](super::BatchProcessor)
//! reads it: its messaging system, id, destination, and the carrier of its
//! producer's trace context.
//!
//! - SQS: the `AWSTraceHeader` system attribute (the X-Ray header SQS
//!   sets when the producer was traced) and the `traceparent` and
//!   `tracestate` message attributes;
//! - SNS: the same W3C message attributes;
//! - Kinesis and DynamoDB Streams carry none.
//!
//! `messaging.system` is the semantic conventions' value for SQS
//! (`aws_sqs`) and SNS (`aws.sns`); they name none for Kinesis and
//! DynamoDB Streams, whose values here are perfmon's (`aws_kinesis`,
//! `aws_dynamodb_streams`).

use std::collections::HashMap;

use aws_lambda_events::{dynamodb, kinesis, sns, sqs};
use opentelemetry::propagation::Extractor;

/// The header name the X-Ray propagator reads.
const XRAY_HEADER: &str = "x-amzn-trace-id";
/// SQS's system attribute holding the producer's X-Ray header.
const AWS_TRACE_HEADER: &str = "AWSTraceHeader";

/// One record of a batch.
pub trait BatchRecord {
    /// `messaging.system`.
    const SYSTEM: &'static str;

    /// The record's identifier, as the partial batch response names it
    /// (SQS message id, Kinesis or DynamoDB Streams sequence number).
    fn id(&self) -> Option<&str>;

    /// `messaging.destination.name`: the queue, topic or stream, from the
    /// record's source ARN.
    fn destination(&self) -> Option<&str>;

    /// The value of the producer's propagation field `key` (lower case),
    /// if the record carries one.
    fn field(&self, key: &str) -> Option<&str> {
        let _ = key;
        None
    }
}

/// A record read as a propagation carrier.
pub(super) struct RecordCarrier<'a, R>(pub(super) &'a R);

impl<R: BatchRecord> Extractor for RecordCarrier<'_, R> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.field(&key.to_ascii_lowercase())
    }

    fn keys(&self) -> Vec<&str> {
        ["traceparent", "tracestate", "baggage", XRAY_HEADER]
            .into_iter()
            .filter(|key| self.0.field(key).is_some())
            .collect()
    }
}

/// The message attribute `key`: by its exact name, else by any case.
fn by_name<'a, V>(attributes: &'a HashMap<String, V>, key: &str) -> Option<&'a V> {
    attributes.get(key).or_else(|| {
        attributes
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(key))
            .map(|(_, value)| value)
    })
}

/// The last part of an ARN (`arn:aws:sqs:REGION:ACCOUNT:orders` is
/// `orders`; a stream's `.../stream/orders` is `orders`).
fn arn_name(arn: Option<&str>) -> Option<&str> {
    let arn = arn?;
    let name = arn.rsplit([':', '/']).next()?;
    (!name.is_empty()).then_some(name)
}

/// The stream of a stream ARN (`arn:aws:kinesis:…:stream/orders`,
/// `arn:aws:dynamodb:…:table/orders/stream/2026-…`).
fn stream_name(arn: Option<&str>) -> Option<&str> {
    let arn = arn?;
    let (_, rest) = arn.split_once('/')?;
    rest.split('/').next().filter(|name| !name.is_empty())
}

impl BatchRecord for sqs::SqsMessage {
    const SYSTEM: &'static str = "aws_sqs";

    fn id(&self) -> Option<&str> {
        self.message_id.as_deref()
    }
    fn destination(&self) -> Option<&str> {
        arn_name(self.event_source_arn.as_deref())
    }
    fn field(&self, key: &str) -> Option<&str> {
        if key == XRAY_HEADER {
            return self.attributes.get(AWS_TRACE_HEADER).map(String::as_str);
        }
        by_name(&self.message_attributes, key)?
            .string_value
            .as_deref()
    }
}

impl BatchRecord for sns::SnsRecord {
    const SYSTEM: &'static str = "aws.sns";

    fn id(&self) -> Option<&str> {
        Some(&self.sns.message_id)
    }
    fn destination(&self) -> Option<&str> {
        arn_name(Some(&self.sns.topic_arn))
    }
    fn field(&self, key: &str) -> Option<&str> {
        by_name(&self.sns.message_attributes, key).map(|attribute| attribute.value.as_str())
    }
}

impl BatchRecord for kinesis::KinesisEventRecord {
    const SYSTEM: &'static str = "aws_kinesis";

    fn id(&self) -> Option<&str> {
        Some(&self.kinesis.sequence_number)
    }
    fn destination(&self) -> Option<&str> {
        stream_name(self.event_source_arn.as_deref())
    }
}

impl BatchRecord for dynamodb::EventRecord {
    const SYSTEM: &'static str = "aws_dynamodb_streams";

    fn id(&self) -> Option<&str> {
        self.change.sequence_number.as_deref()
    }
    fn destination(&self) -> Option<&str> {
        stream_name(self.event_source_arn.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_arns() {
        assert_eq!(
            arn_name(Some("arn:aws:sqs:us-east-1:123456789012:orders")),
            Some("orders")
        );
        assert_eq!(
            arn_name(Some("arn:aws:sns:us-east-1:123456789012:news")),
            Some("news")
        );
        assert_eq!(arn_name(Some("")), None);
        assert_eq!(
            stream_name(Some("arn:aws:kinesis:us-east-1:123456789012:stream/clicks")),
            Some("clicks")
        );
        assert_eq!(
            stream_name(Some(
                "arn:aws:dynamodb:us-east-1:123456789012:table/Orders/stream/2026-01-01T00:00:00.000"
            )),
            Some("Orders")
        );
        assert_eq!(stream_name(Some("no-slash")), None);
        assert_eq!(stream_name(None), None);
    }
}
