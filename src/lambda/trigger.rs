//! `faas.trigger` and the attributes that go with it, read from the event
//! (semantic conventions for FaaS spans: `http` for API Gateway and ALB,
//! `pubsub` for SQS, SNS and EventBridge, `datasource` for DynamoDB and
//! Kinesis streams and S3, `timer` for scheduled events, else `other`).
//!
//! A typed event is known by its type: the `aws_lambda_events` types of
//! API Gateway (REST, HTTP, WebSocket), ALB, SQS, SNS and EventBridge by
//! downcasting (so the attributes match those of the same event untyped),
//! any other by the module its type is defined in. An untyped one
//! (`serde_json::Value`) is known by the fields each source always sets.

use std::any::{type_name, Any};

use aws_lambda_events::{alb, apigw, eventbridge, sns, sqs};
use opentelemetry::KeyValue;
use serde_json::Value;

/// The trigger attributes of an event of type `T`.
pub(super) fn attributes<T: Any>(payload: &T) -> Vec<KeyValue> {
    let event = payload as &dyn Any;
    if let Some(value) = event.downcast_ref::<Value>() {
        return from_json(value);
    }
    if let Some(e) = event.downcast_ref::<apigw::ApiGatewayProxyRequest>() {
        return http(Some(e.http_method.as_str()), e.resource.as_deref());
    }
    if let Some(e) = event.downcast_ref::<apigw::ApiGatewayV2httpRequest>() {
        let method = e.request_context.http.method.as_str();
        return http(Some(method), e.route_key.as_deref());
    }
    if let Some(e) = event.downcast_ref::<apigw::ApiGatewayWebsocketProxyRequest>() {
        return http(None, e.request_context.route_key.as_deref());
    }
    if let Some(e) = event.downcast_ref::<alb::AlbTargetGroupRequest>() {
        return http(Some(e.http_method.as_str()), None);
    }
    if let Some(e) = event.downcast_ref::<sqs::SqsEvent>() {
        return sqs(e.records.len());
    }
    if event.downcast_ref::<sns::SnsEvent>().is_some() {
        return sns();
    }
    if let Some(e) = event.downcast_ref::<eventbridge::EventBridgeEvent>() {
        return eventbridge(&e.detail_type, true);
    }
    vec![KeyValue::new("faas.trigger", from_type(type_name::<T>()))]
}

/// An HTTP request's attributes.
fn http(method: Option<&str>, route: Option<&str>) -> Vec<KeyValue> {
    let mut out = vec![KeyValue::new("faas.trigger", "http")];
    if let Some(method) = method {
        out.push(KeyValue::new("http.request.method", method.to_owned()));
    }
    if let Some(route) = route {
        out.push(KeyValue::new("http.route", route.to_owned()));
    }
    out
}

fn sqs(messages: usize) -> Vec<KeyValue> {
    vec![
        KeyValue::new("faas.trigger", "pubsub"),
        KeyValue::new("messaging.system", "aws_sqs"),
        KeyValue::new("messaging.batch.message_count", messages as i64),
    ]
}

fn sns() -> Vec<KeyValue> {
    vec![
        KeyValue::new("faas.trigger", "pubsub"),
        KeyValue::new("messaging.system", "aws_sns"),
    ]
}

/// A scheduled event is a timer; any other EventBridge event a message.
fn eventbridge(detail_type: &str, has_source: bool) -> Vec<KeyValue> {
    match detail_type {
        "Scheduled Event" => vec![KeyValue::new("faas.trigger", "timer")],
        _ if has_source => vec![KeyValue::new("faas.trigger", "pubsub")],
        _ => vec![KeyValue::new("faas.trigger", "other")],
    }
}

/// The trigger of a typed event, by the module of its type.
fn from_type(name: &str) -> &'static str {
    let in_module = |modules: &[&str]| modules.iter().any(|m| name.contains(m));
    if in_module(&["::apigw::", "::alb::", "::lambda_function_urls::"]) {
        "http"
    } else if in_module(&[
        "::sqs::",
        "::sns::",
        "::eventbridge::",
        "::cloudwatch_events::",
    ]) {
        "pubsub"
    } else if in_module(&["::dynamodb::", "::kinesis::", "::s3::"]) {
        "datasource"
    } else {
        "other"
    }
}

/// The trigger of an untyped event, and what it says about the request.
fn from_json(event: &Value) -> Vec<KeyValue> {
    fn text(v: &Value) -> Option<&str> {
        v.as_str()
    }
    let context = &event["requestContext"];
    if context.is_object() {
        let method = text(&event["httpMethod"]).or_else(|| text(&context["http"]["method"]));
        let route = text(&context["routeKey"]).or_else(|| text(&event["resource"]));
        return http(method, route);
    }
    let source = event["Records"][0]
        .get("eventSource")
        .or_else(|| event["Records"][0].get("EventSource"))
        .and_then(Value::as_str);
    match source {
        Some("aws:sqs") => return sqs(event["Records"].as_array().map_or(0, Vec::len)),
        Some("aws:sns") => return sns(),
        Some("aws:dynamodb" | "aws:kinesis" | "aws:s3") => {
            return vec![KeyValue::new("faas.trigger", "datasource")]
        }
        _ => {}
    }
    match event["detail-type"].as_str() {
        Some(detail_type) => eventbridge(detail_type, event.get("source").is_some()),
        None => vec![KeyValue::new("faas.trigger", "other")],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trigger(attributes: &[KeyValue]) -> String {
        attributes
            .iter()
            .find(|kv| kv.key.as_str() == "faas.trigger")
            .map(|kv| kv.value.as_str().into_owned())
            .unwrap()
    }

    #[test]
    fn typed_events_by_their_module() {
        assert_eq!(
            from_type("aws_lambda_events::event::apigw::ApiGatewayWebsocketProxyRequest"),
            "http"
        );
        assert_eq!(
            from_type("aws_lambda_events::event::sqs::SqsEvent"),
            "pubsub"
        );
        assert_eq!(
            from_type("aws_lambda_events::event::dynamodb::Event"),
            "datasource"
        );
        assert_eq!(from_type("my_app::Order"), "other");
    }

    #[test]
    fn untyped_events_by_their_fields() {
        let rest = json!({"resource": "/orders", "httpMethod": "POST", "requestContext": {}});
        let attrs = from_json(&rest);
        assert_eq!(trigger(&attrs), "http");
        assert!(attrs.contains(&KeyValue::new("http.request.method", "POST")));
        assert!(attrs.contains(&KeyValue::new("http.route", "/orders")));
        let ws = json!({"requestContext": {"routeKey": "$default", "eventType": "MESSAGE"}});
        assert!(from_json(&ws).contains(&KeyValue::new("http.route", "$default")));
        let sqs = json!({"Records": [{"eventSource": "aws:sqs"}, {"eventSource": "aws:sqs"}]});
        let attrs = from_json(&sqs);
        assert_eq!(trigger(&attrs), "pubsub");
        assert!(attrs.contains(&KeyValue::new("messaging.batch.message_count", 2_i64)));
        assert_eq!(
            trigger(&from_json(
                &json!({"Records": [{"EventSource": "aws:sns"}]})
            )),
            "pubsub"
        );
        assert_eq!(
            trigger(&from_json(
                &json!({"Records": [{"eventSource": "aws:dynamodb"}]})
            )),
            "datasource"
        );
        let schedule = json!({"source": "aws.events", "detail-type": "Scheduled Event"});
        assert_eq!(trigger(&from_json(&schedule)), "timer");
        let bus = json!({"source": "orders", "detail-type": "OrderPlaced"});
        assert_eq!(trigger(&from_json(&bus)), "pubsub");
        assert_eq!(trigger(&from_json(&json!({"anything": 1}))), "other");
    }
}
