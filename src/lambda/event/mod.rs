//! What the Lambda layer reads from an event: its trigger, the attributes
//! that go with it, and the carrier of its caller's trace context
//! ([`InvocationEvent`]); and from a response, the HTTP status in its
//! `statusCode`, whatever its type.
//!
//! The event types of `aws_lambda_events` that perfmon enables, `lambda_http`'s
//! [`LambdaRequest`](lambda_http::request::LambdaRequest) (feature `http`)
//! and untyped `serde_json::Value` events implement the trait. A function's
//! own event type implements it too, in one line when it has nothing to say
//! (`impl InvocationEvent for Order {}`: an `other` trigger); the standard
//! library's types are `other` triggers, and a type of another crate is
//! read as one through [`OtherEvent`]:
//!
//! ```
//! use perfmon_lambda::lambda::{InvocationEvent, Trigger};
//!
//! #[derive(serde::Deserialize)]
//! struct Reindex { shard: u32 }
//! impl InvocationEvent for Reindex {
//!     fn trigger(&self) -> Trigger {
//!         Trigger::Timer
//!     }
//! }
//! ```

use aws_lambda_events::http::HeaderMap;
use opentelemetry::propagation::Extractor;
use opentelemetry::KeyValue;
use serde_json::{Map, Value};

use crate::http_request::header;

mod http;
mod json;
mod other;
mod records;
mod status;

pub use other::OtherEvent;

pub(super) use status::status_code;

/// `faas.trigger`: what invoked the function (semantic conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Trigger {
    /// An HTTP request: API Gateway, an ALB, a function URL.
    Http,
    /// A message: SQS, SNS, an EventBridge event.
    PubSub,
    /// A change in a data source: DynamoDB and Kinesis streams, S3.
    Datasource,
    /// A schedule.
    Timer,
    /// Anything else.
    Other,
}

impl Trigger {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Http => "http",
            Trigger::PubSub => "pubsub",
            Trigger::Datasource => "datasource",
            Trigger::Timer => "timer",
            Trigger::Other => "other",
        }
    }
}

/// Where an event carries its caller's trace context (`traceparent`,
/// `tracestate`, `baggage`, `X-Amzn-Trace-Id`), read through the
/// configured propagators.
#[derive(Clone, Copy)]
pub enum Carrier<'a> {
    /// HTTP headers.
    Headers(&'a HeaderMap),
    /// The `headers` (or `multiValueHeaders`, first values) object of an
    /// untyped event; names match without regard to case.
    Json(&'a Map<String, Value>),
    /// Anything else that can be read as a propagation carrier.
    Custom(&'a dyn Extractor),
}

impl std::fmt::Debug for Carrier<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.keys()).finish()
    }
}

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self {
            Carrier::Headers(map) => header(map, key),
            Carrier::Json(map) => json_header(map, key),
            Carrier::Custom(extractor) => extractor.get(key),
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Carrier::Headers(map) => map.keys().map(|k| k.as_str()).collect(),
            Carrier::Json(map) => map.keys().map(String::as_str).collect(),
            Carrier::Custom(extractor) => extractor.keys(),
        }
    }
}

/// The header `key` of an untyped event's headers object, by any case; a
/// multi-value header's first value.
pub(super) fn json_header<'a>(headers: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    let value = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(key))?
        .1;
    value.as_str().or_else(|| value.get(0)?.as_str())
}

/// What an event tells the Lambda layer about the invocation it starts.
/// Every method has a default: an event that implements none is an
/// `other` trigger with no attributes and no incoming trace context.
pub trait InvocationEvent {
    /// `faas.trigger`.
    fn trigger(&self) -> Trigger {
        Trigger::Other
    }

    /// Appends the root span's attributes beyond `faas.*` (the HTTP
    /// request's, a batch's size) to `attributes`. They pass the privacy
    /// rules like every attribute; never put a token in them.
    fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        let _ = attributes;
    }

    /// The carrier of the caller's trace context, if the event has one.
    fn carrier(&self) -> Option<Carrier<'_>> {
        None
    }
}

/// The root span's `faas.trigger` and the event's own attributes.
pub(super) fn attributes<T: InvocationEvent + ?Sized>(event: &T, out: &mut Vec<KeyValue>) {
    out.push(KeyValue::new(
        crate::attributes::FAAS_TRIGGER,
        event.trigger().as_str(),
    ));
    event.attributes(out);
}

/// The event's carrier, or an empty one.
pub(super) fn carrier<T: InvocationEvent + ?Sized>(event: &T) -> Carrier<'_> {
    event.carrier().unwrap_or(Carrier::Custom(&Empty))
}

/// A carrier with nothing in it.
struct Empty;

impl Extractor for Empty {
    fn get(&self, _key: &str) -> Option<&str> {
        None
    }
    fn keys(&self) -> Vec<&str> {
        Vec::new()
    }
}
