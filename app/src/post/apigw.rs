//! Frames to clients through the API Gateway Management API
//! (`PostToConnection`), each post one CLIENT span
//! `ApiGatewayManagementApi.PostToConnection` (see [`crate::aws_call`]). A
//! gone connection (HTTP 410) is [`PostError::Gone`]: the caller handles it,
//! so its span keeps the status Unset, with its 410.

use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use opentelemetry::Context;
use opentelemetry_sdk::trace::SdkTracer;

use super::{PostError, Poster};
use crate::aws_call::{describe, traced, AwsCall};

/// Posts with the Management API of one WebSocket API stage.
#[derive(Debug, Clone)]
pub struct ApiGatewayPoster {
    client: Client,
    tracer: SdkTracer,
}

impl ApiGatewayPoster {
    /// Posts to `endpoint`, e.g.
    /// `https://abcd1234.execute-api.us-east-1.amazonaws.com/prod`.
    /// `tracer` records the CLIENT spans.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str, tracer: SdkTracer) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        ApiGatewayPoster {
            client: Client::from_conf(config),
            tracer,
        }
    }
}

#[async_trait::async_trait]
impl Poster for ApiGatewayPoster {
    async fn post(&self, cx: &Context, connection_id: &str, data: &str) -> Result<(), PostError> {
        let call = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data.as_bytes()))
            .send();
        let spec = AwsCall {
            service: "ApiGatewayManagementApi",
            method: "PostToConnection",
            region: self.client.config().region().map(|r| r.to_string()),
            attributes: Vec::new(),
        };
        let result = traced(&self.tracer, cx, spec, call, gone).await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if gone(&e) => Err(PostError::Gone),
            Err(e) => Err(PostError::Failed(describe(&e))),
        }
    }
}

/// The connection is gone (HTTP 410).
fn gone(e: &SdkError<PostToConnectionError, HttpResponse>) -> bool {
    match e {
        SdkError::ServiceError(e) => {
            matches!(e.err(), PostToConnectionError::GoneException(_))
                || e.raw().status().as_u16() == 410
        }
        _ => false,
    }
}
