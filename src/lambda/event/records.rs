//! Event sources that are not HTTP: messages (SQS, SNS, EventBridge),
//! data sources (DynamoDB and Kinesis streams, S3) and schedules
//! (EventBridge's `Scheduled Event`). Each gives its trigger and the
//! messaging attributes it carries (semantic conventions); the root span
//! stays parented to the invocation's X-Ray header.

use aws_lambda_events::{dynamodb, eventbridge, kinesis, s3, sns, sqs};
use opentelemetry::KeyValue;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{InvocationEvent, Trigger};

/// `messaging.system` and the batch size.
pub(super) fn batch(system: &'static str, messages: usize, out: &mut Vec<KeyValue>) {
    out.push(KeyValue::new("messaging.system", system));
    out.push(KeyValue::new(
        "messaging.batch.message_count",
        messages as i64,
    ));
}

/// A scheduled EventBridge event is a timer, any other a message.
pub(super) fn eventbridge_trigger(detail_type: &str) -> Trigger {
    match detail_type {
        "Scheduled Event" => Trigger::Timer,
        _ => Trigger::PubSub,
    }
}

impl InvocationEvent for sqs::SqsEvent {
    fn trigger(&self) -> Trigger {
        Trigger::PubSub
    }
    fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        batch("aws_sqs", self.records.len(), attributes)
    }
}

impl InvocationEvent for sns::SnsEvent {
    fn trigger(&self) -> Trigger {
        Trigger::PubSub
    }
    fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        batch("aws.sns", self.records.len(), attributes)
    }
}

impl<T: Serialize + DeserializeOwned> InvocationEvent for eventbridge::EventBridgeEvent<T> {
    fn trigger(&self) -> Trigger {
        eventbridge_trigger(&self.detail_type)
    }
}

impl InvocationEvent for dynamodb::Event {
    fn trigger(&self) -> Trigger {
        Trigger::Datasource
    }
    fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        batch("aws_dynamodb_streams", self.records.len(), attributes)
    }
}

impl InvocationEvent for kinesis::KinesisEvent {
    fn trigger(&self) -> Trigger {
        Trigger::Datasource
    }
    fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        batch("aws_kinesis", self.records.len(), attributes)
    }
}

impl InvocationEvent for s3::S3Event {
    fn trigger(&self) -> Trigger {
        Trigger::Datasource
    }
}
