//! Frames to clients through the API Gateway Management API
//! (`PostToConnection`). A gone connection (HTTP 410) is [`PostError::Gone`].

use aws_sdk_apigatewaymanagement::error::{DisplayErrorContext, SdkError};
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use aws_sdk_apigatewaymanagement::Client;
use opentelemetry::Context;

use super::{PostError, Poster};

/// Posts with the Management API of one WebSocket API stage.
#[derive(Debug, Clone)]
pub struct ApiGatewayPoster {
    client: Client,
}

impl ApiGatewayPoster {
    /// Posts to `endpoint`, e.g.
    /// `https://abcd1234.execute-api.us-east-1.amazonaws.com/prod`.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: &str) -> Self {
        let config = aws_sdk_apigatewaymanagement::config::Builder::from(sdk)
            .endpoint_url(endpoint)
            .build();
        ApiGatewayPoster {
            client: Client::from_conf(config),
        }
    }
}

#[async_trait::async_trait]
impl Poster for ApiGatewayPoster {
    async fn post(&self, _: &Context, connection_id: &str, data: &str) -> Result<(), PostError> {
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(data.as_bytes()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), PostToConnectionError::GoneException(_))
                    || e.raw().status().as_u16() == 410 =>
            {
                Err(PostError::Gone)
            }
            Err(e) => Err(PostError::Failed(DisplayErrorContext(e).to_string())),
        }
    }
}
