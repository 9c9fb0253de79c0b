//! Delivering frames to clients: the API Gateway Management API on AWS
//! (`ApiGatewayPoster`, feature `aws`), an in-process channel per connection
//! locally ([`LocalPoster`]).

#[cfg(feature = "aws")]
mod apigw;
mod local;

use opentelemetry::Context;

#[cfg(feature = "aws")]
pub use apigw::ApiGatewayPoster;
pub use local::LocalPoster;

/// Why a frame was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PostError {
    /// The connection is gone (HTTP 410): clean it up, do not retry.
    #[error("connection is gone")]
    Gone,
    /// Anything else.
    #[error("post failed: {0}")]
    Failed(String),
}

/// Sends frames to connections.
#[async_trait::async_trait]
pub trait Poster: Send + Sync + std::fmt::Debug {
    /// Sends `data` to `connection_id`.
    async fn post(&self, cx: &Context, connection_id: &str, data: &str) -> Result<(), PostError>;
}
