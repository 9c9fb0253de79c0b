//! The HTTP headers an event carries, read as a propagation carrier: the
//! W3C `traceparent`, `tracestate` and `baggage` a caller sent through API
//! Gateway or an ALB. Header names are matched without regard to case.

use std::any::Any;

use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::{alb, apigw};
use opentelemetry::propagation::Extractor;
use serde_json::{Map, Value};

/// An event's headers, or none.
pub(super) enum Headers<'a> {
    Typed(&'a HeaderMap),
    Json(&'a Map<String, Value>),
    None,
}

impl<'a> Headers<'a> {
    /// The headers of `payload`, when its type carries any.
    pub(super) fn of<T: Any>(payload: &'a T) -> Self {
        let event = payload as &dyn Any;
        if let Some(value) = event.downcast_ref::<Value>() {
            return value["headers"]
                .as_object()
                .map_or(Headers::None, Headers::Json);
        }
        let typed = event
            .downcast_ref::<apigw::ApiGatewayProxyRequest>()
            .map(|e| &e.headers)
            .or_else(|| {
                event
                    .downcast_ref::<apigw::ApiGatewayV2httpRequest>()
                    .map(|e| &e.headers)
            })
            .or_else(|| {
                event
                    .downcast_ref::<apigw::ApiGatewayWebsocketProxyRequest>()
                    .map(|e| &e.headers)
            })
            .or_else(|| {
                event
                    .downcast_ref::<alb::AlbTargetGroupRequest>()
                    .map(|e| &e.headers)
            });
        typed.map_or(Headers::None, Headers::Typed)
    }
}

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match self {
            Headers::Typed(map) => map.get(key)?.to_str().ok(),
            Headers::Json(map) => map
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(key))?
                .1
                .as_str(),
            Headers::None => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        match self {
            Headers::Typed(map) => map.keys().map(|k| k.as_str()).collect(),
            Headers::Json(map) => map.keys().map(String::as_str).collect(),
            Headers::None => Vec::new(),
        }
    }
}
