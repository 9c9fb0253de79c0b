//! Frames to clients through the API Gateway Management API
//! (`PostToConnection`), each post one CLIENT span
//! `ApiGatewayManagementApi.PostToConnection`, made by perfmon's SDK
//! interceptor on the client. A gone connection (HTTP 410,
//! `GoneException`) is [`PostError::Gone`]: the caller handles it, so its
//! span keeps the status Unset, with its 410.

use aws_sdk_apigatewaymanagement::config::http::HttpResponse;
use aws_sdk_apigatewaymanagement::error::SdkError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use opentelemetry::context::FutureExt as _;
use opentelemetry::Context;
use opentelemetry_sdk::trace::SdkTracer;
use perfmon_lambda::aws_sdk::{DeadlineTimeouts, TracingInterceptor};

use super::{PostError, Poster};
use crate::sdk_error::describe;

/// Posts with the Management API of one WebSocket API stage.
#[derive(Debug, Clone)]
pub struct ApiGatewayPoster {
    client: Client,
}

impl ApiGatewayPoster {
    /// Posts to `endpoint`, e.g.
    /// `https://abcd1234.execute-api.us-east-1.amazonaws.com/prod`.
    /// `tracer` records the CLIENT spans.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str, tracer: SdkTracer) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .interceptor(TracingInterceptor::with_tracer(tracer).expect_error("GoneException"))
            .interceptor(DeadlineTimeouts::new())
            .build();
        ApiGatewayPoster {
            client: Client::from_conf(config),
        }
    }
}

#[async_trait::async_trait]
impl Poster for ApiGatewayPoster {
    async fn post(&self, cx: &Context, connection_id: &str, data: &str) -> Result<(), PostError> {
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data.as_bytes()))
            .send()
            .with_context(cx.clone())
            .await;
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
