//! An untyped event (`serde_json::Value`), known by the fields each source
//! always sets: `requestContext` for HTTP (API Gateway v1, v2 and
//! WebSocket, function URLs; an ALB's holds `elb`), `Records[].eventSource`
//! for SQS, SNS, DynamoDB, Kinesis and S3, `detail-type` and `source` for
//! EventBridge. It gives the same attributes as the typed event would.

use opentelemetry::KeyValue;
use serde_json::{Map, Value};

use super::records::{batch, eventbridge_trigger};
use super::{json_header, Carrier, InvocationEvent, Trigger};
use crate::http_request::HttpRequest;

fn text(value: &Value) -> Option<&str> {
    value.as_str()
}

/// The first record's source.
fn record_source(event: &Value) -> Option<&str> {
    let record = &event["Records"][0];
    record
        .get("eventSource")
        .or_else(|| record.get("EventSource"))
        .and_then(Value::as_str)
}

fn records(event: &Value) -> usize {
    event["Records"].as_array().map_or(0, Vec::len)
}

/// The event's headers: `headers`, else `multiValueHeaders` (what an ALB
/// or an API with multi-value headers turned on sends).
fn headers(event: &Value) -> Option<&Map<String, Value>> {
    event["headers"]
        .as_object()
        .filter(|h| !h.is_empty())
        .or_else(|| event["multiValueHeaders"].as_object())
}

/// A header of the event, by any case.
fn header<'a>(event: &'a Value, name: &str) -> Option<&'a str> {
    json_header(headers(event)?, name)
}

/// Whether `event` is an HTTP request: a `requestContext` with what each
/// front door sets (a method, `http`, an ALB's `elb`, a WebSocket
/// connection); Lambda's own records (destinations) have a
/// `requestContext` too.
fn is_http(event: &Value) -> bool {
    let context = &event["requestContext"];
    context.is_object()
        && (event.get("httpMethod").is_some()
            || ["http", "elb", "connectionId"]
                .iter()
                .any(|key| context.get(key).is_some()))
}

impl InvocationEvent for Value {
    fn trigger(&self) -> Trigger {
        if is_http(self) {
            return Trigger::Http;
        }
        match record_source(self) {
            Some("aws:sqs" | "aws:sns") => return Trigger::PubSub,
            Some("aws:dynamodb" | "aws:kinesis" | "aws:s3") => return Trigger::Datasource,
            _ => {}
        }
        match (text(&self["detail-type"]), self.get("source")) {
            (Some(detail_type), Some(_)) => eventbridge_trigger(detail_type),
            _ => Trigger::Other,
        }
    }

    fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        let context = &self["requestContext"];
        if is_http(self) {
            let http = &context["http"];
            let identity = &context["identity"];
            // A WebSocket message has a connection, a route key and no
            // path, as its typed event reads.
            let websocket = context.get("connectionId").is_some();
            let (path, route) = if websocket {
                (None, text(&context["routeKey"]))
            } else {
                (
                    text(&self["rawPath"])
                        .or_else(|| text(&self["path"]))
                        .or_else(|| text(&http["path"])),
                    text(&self["resource"])
                        .or_else(|| text(&self["routeKey"]))
                        .or_else(|| text(&context["routeKey"])),
                )
            };
            // An ALB forwards the scheme; API Gateway answers HTTPS only.
            let scheme = if context.get("elb").is_some() {
                header(self, "x-forwarded-proto")
            } else {
                Some("https")
            };
            HttpRequest {
                method: text(&self["httpMethod"]).or_else(|| text(&http["method"])),
                scheme,
                path,
                route,
                host: text(&context["domainName"]).or_else(|| header(self, "host")),
                client: text(&http["sourceIp"])
                    .or_else(|| text(&identity["sourceIp"]))
                    .or_else(|| header(self, "x-forwarded-for")),
                user_agent: text(&http["userAgent"])
                    .or_else(|| text(&identity["userAgent"]))
                    .or_else(|| header(self, "user-agent")),
            }
            .attributes(attributes);
            return;
        }
        match record_source(self) {
            Some("aws:sqs") => batch("aws_sqs", records(self), attributes),
            Some("aws:sns") => batch("aws.sns", records(self), attributes),
            _ => {}
        }
    }

    fn carrier(&self) -> Option<Carrier<'_>> {
        headers(self).map(Carrier::Json)
    }
}
