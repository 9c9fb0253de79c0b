//! HTTP events: API Gateway REST (v1), HTTP API (v2) and WebSocket APIs,
//! ALB target groups, function URLs, and `lambda_http`'s `LambdaRequest`,
//! which wraps the first four. Each gives `faas.trigger=http`, the OTel
//! HTTP server attributes it carries ([`HttpRequest`]) and its headers as
//! the trace carrier.
//!
//! Where the front door names the route, it is `http.route`: the REST
//! API's `resource` (`/orders/{id}`), the HTTP API's `routeKey` without its
//! method, the WebSocket API's route key (`$connect`, `sendmessage`). A
//! function URL or an ALB names none.

use aws_lambda_events::apigw::{
    ApiGatewayProxyRequest, ApiGatewayV2httpRequest, ApiGatewayWebsocketProxyRequest,
};
use aws_lambda_events::http::HeaderMap;
use aws_lambda_events::{
    alb::AlbTargetGroupRequest, lambda_function_urls::LambdaFunctionUrlRequest,
};
use opentelemetry::KeyValue;

use super::{Carrier, InvocationEvent, Trigger};
use crate::http_request::HttpRequest;

/// API Gateway and function URLs answer HTTPS only.
const HTTPS: &str = "https";

/// What an HTTP event's own fields say of its request, and its headers.
trait Described {
    fn described(&self) -> HttpRequest<'_>;
    fn headers(&self) -> &HeaderMap;
}

/// The headers of a form that sends them in one of two maps: an ALB (or
/// an API) with multi-value headers turned on sends only
/// `multiValueHeaders`.
fn single_or_multi<'a>(headers: &'a HeaderMap, multi: &'a HeaderMap) -> &'a HeaderMap {
    if headers.is_empty() {
        multi
    } else {
        headers
    }
}

/// Every HTTP event is an `http` trigger with its request's attributes
/// (its fields first, then its headers), its headers the carrier.
macro_rules! http_events {
    ($($event:ty),* $(,)?) => {$(
        impl InvocationEvent for $event {
            fn trigger(&self) -> Trigger {
                Trigger::Http
            }
            fn attributes(&self, attributes: &mut Vec<KeyValue>) {
                self.described()
                    .or(HttpRequest::from_headers(Described::headers(self)))
                    .attributes(attributes)
            }
            fn carrier(&self) -> Option<Carrier<'_>> {
                Some(Carrier::Headers(Described::headers(self)))
            }
        }
    )*};
}

http_events!(
    ApiGatewayProxyRequest,
    ApiGatewayV2httpRequest,
    LambdaFunctionUrlRequest,
    ApiGatewayWebsocketProxyRequest,
    AlbTargetGroupRequest,
);

impl Described for ApiGatewayProxyRequest {
    fn described(&self) -> HttpRequest<'_> {
        let context = &self.request_context;
        HttpRequest {
            scheme: Some(HTTPS),
            method: Some(self.http_method.as_str()),
            path: self.path.as_deref(),
            route: self.resource.as_deref(),
            host: context.domain_name.as_deref(),
            client: context.identity.source_ip.as_deref(),
            user_agent: context.identity.user_agent.as_deref(),
        }
    }
    fn headers(&self) -> &HeaderMap {
        single_or_multi(&self.headers, &self.multi_value_headers)
    }
}

impl Described for ApiGatewayV2httpRequest {
    fn described(&self) -> HttpRequest<'_> {
        let context = &self.request_context;
        HttpRequest {
            scheme: Some(HTTPS),
            method: Some(context.http.method.as_str()),
            path: self.raw_path.as_deref().or(context.http.path.as_deref()),
            route: self.route_key.as_deref().or(context.route_key.as_deref()),
            host: context.domain_name.as_deref(),
            client: context.http.source_ip.as_deref(),
            user_agent: context.http.user_agent.as_deref(),
        }
    }
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl Described for LambdaFunctionUrlRequest {
    fn described(&self) -> HttpRequest<'_> {
        let context = &self.request_context;
        HttpRequest {
            scheme: Some(HTTPS),
            method: context.http.method.as_deref(),
            path: self.raw_path.as_deref().or(context.http.path.as_deref()),
            route: None,
            host: context.domain_name.as_deref(),
            client: context.http.source_ip.as_deref(),
            user_agent: context.http.user_agent.as_deref(),
        }
    }
    fn headers(&self) -> &HeaderMap {
        &self.headers
    }
}

impl Described for ApiGatewayWebsocketProxyRequest {
    fn described(&self) -> HttpRequest<'_> {
        let context = &self.request_context;
        HttpRequest {
            scheme: Some(HTTPS),
            // Only `$connect` is an HTTP request (a GET upgrade); frames
            // have no method and no path.
            method: self.http_method.as_ref().map(|m| m.as_str()),
            path: None,
            route: context.route_key.as_deref(),
            host: context.domain_name.as_deref(),
            client: context.identity.source_ip.as_deref(),
            user_agent: context.identity.user_agent.as_deref(),
        }
    }
    fn headers(&self) -> &HeaderMap {
        single_or_multi(&self.headers, &self.multi_value_headers)
    }
}

/// An ALB says only the method and path; the rest is in its headers.
impl Described for AlbTargetGroupRequest {
    fn described(&self) -> HttpRequest<'_> {
        HttpRequest {
            method: Some(self.http_method.as_str()),
            path: self.path.as_deref(),
            ..HttpRequest::default()
        }
    }
    fn headers(&self) -> &HeaderMap {
        single_or_multi(&self.headers, &self.multi_value_headers)
    }
}

/// `lambda_http`'s event: each form as the event type it wraps. A form
/// perfmon does not know (VPC Lattice, pass-through, when the function
/// turns them on) is an `http` trigger with no attributes.
#[cfg(feature = "http")]
impl InvocationEvent for lambda_http::request::LambdaRequest {
    fn trigger(&self) -> Trigger {
        Trigger::Http
    }
    fn attributes(&self, attributes: &mut Vec<KeyValue>) {
        use lambda_http::request::LambdaRequest;
        #[allow(unreachable_patterns)]
        match self {
            LambdaRequest::ApiGatewayV1(e) => e.attributes(attributes),
            LambdaRequest::ApiGatewayV2(e) => e.attributes(attributes),
            LambdaRequest::Alb(e) => e.attributes(attributes),
            LambdaRequest::WebSocket(e) => e.attributes(attributes),
            _ => {}
        }
    }
    fn carrier(&self) -> Option<Carrier<'_>> {
        use lambda_http::request::LambdaRequest;
        #[allow(unreachable_patterns)]
        match self {
            LambdaRequest::ApiGatewayV1(e) => e.carrier(),
            LambdaRequest::ApiGatewayV2(e) => e.carrier(),
            LambdaRequest::Alb(e) => e.carrier(),
            LambdaRequest::WebSocket(e) => e.carrier(),
            _ => None,
        }
    }
}
