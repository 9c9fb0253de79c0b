//! The Lambda handlers, one route per file, dispatched from [`Route`].

mod connect;
mod conversation;
mod disconnect;

use std::sync::Arc;

use crate::ChatMonitor;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use opentelemetry::Context;

use super::auth::AuthenticationService;
use super::chat::ChatService;
use super::error::AppError;
use super::frame::Reply;
use super::post::Poster;
use super::store::ConnectionStore;

/// The API Gateway route of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `$connect`
    Connect,
    /// `$disconnect`
    Disconnect,
    /// `$default`: every chat frame.
    Default,
}

impl Route {
    /// The route of `route_key`; anything but the two lifecycle routes is a
    /// chat frame.
    pub fn of(route_key: Option<&str>) -> Route {
        match route_key {
            Some("$connect") => Route::Connect,
            Some("$disconnect") => Route::Disconnect,
            _ => Route::Default,
        }
    }
}

/// The application: services and clients, built once per process and shared
/// by every invocation.
#[derive(Debug, Clone)]
pub struct App {
    /// Starts the monitored operations.
    pub monitor: ChatMonitor,
    /// Verifies tokens.
    pub auth: Arc<AuthenticationService>,
    /// Processes chat messages.
    pub chat: ChatService,
    /// Connection state.
    pub connections: Arc<dyn ConnectionStore>,
    /// Sends frames to clients.
    pub poster: Arc<dyn Poster>,
}

impl App {
    /// Wires the services: one store serves connections and messages, the
    /// built-in responder answers.
    pub fn new<S>(
        monitor: ChatMonitor,
        auth: AuthenticationService,
        store: Arc<S>,
        poster: Arc<dyn Poster>,
    ) -> Self
    where
        S: ConnectionStore + super::store::MessageStore + 'static,
    {
        let chat = ChatService::new(
            store.clone(),
            store.clone(),
            poster.clone(),
            Arc::new(super::chat::EchoResponder),
            monitor.clone(),
        );
        App {
            monitor,
            auth: Arc::new(auth),
            chat,
            connections: store,
            poster,
        }
    }

    /// Handles one API Gateway WebSocket event. Client mistakes are answered
    /// with an error frame and a 200; only service failures are errors,
    /// which Lambda reports with the error code as the diagnostic type.
    pub async fn handle(
        &self,
        event: ApiGatewayWebsocketProxyRequest,
    ) -> Result<ApiGatewayProxyResponse, AppError> {
        let cx = Context::current();
        let result = match Route::of(event.request_context.route_key.as_deref()) {
            Route::Connect => connect::handle(self, &cx, &event).await,
            Route::Disconnect => disconnect::handle(self, &cx, &event).await,
            Route::Default => conversation::handle(self, &cx, &event).await,
        };
        if let Err(error) = &result {
            // A service failure (storage, delivery, a bad event): the
            // invocation fails; the code is what the operator searches for.
            let code = perfmon_lambda::ErrorCode::error_code(error);
            tracing::error!(code, error = %error, "request failed");
        }
        result.map(|()| ok())
    }

    /// Sends `reply` to the connection. A failed delivery is logged, not
    /// returned: the request itself was handled.
    async fn reply(&self, cx: &Context, connection_id: &str, reply: &Reply) {
        match self.poster.post(cx, connection_id, &reply.to_json()).await {
            Ok(()) => {}
            Err(super::post::PostError::Gone) => {
                tracing::info!(connection_id, "reply not delivered: the connection is gone");
            }
            Err(error) => tracing::warn!(%error, connection_id, "reply not delivered"),
        }
    }
}

fn ok() -> ApiGatewayProxyResponse {
    let mut response = ApiGatewayProxyResponse::default();
    response.status_code = 200;
    response
}

/// Starts `websocket_connection` with the guide's attributes, for `$connect`
/// and `$disconnect`; returns the connection id and the operation.
fn start_connection<'e>(
    app: &App,
    cx: &Context,
    event: &'e ApiGatewayWebsocketProxyRequest,
) -> Result<(&'e str, perfmon_lambda::OperationMonitor), AppError> {
    use crate::attributes as a;
    use opentelemetry::KeyValue;
    let rc = &event.request_context;
    let id = connection_id(event)?;
    let op = app.monitor.start_with_context(
        crate::names::operation::WEBSOCKET_CONNECTION,
        cx,
        [
            KeyValue::new(a::CONNECTION_ID, id.to_owned()),
            KeyValue::new(a::EVENT_TYPE, rc.event_type.clone().unwrap_or_default()),
            KeyValue::new(a::REQUEST_ID, rc.request_id.clone().unwrap_or_default()),
        ],
    );
    Ok((id, op))
}

/// The connection id of `event`, required on every WebSocket route.
fn connection_id(event: &ApiGatewayWebsocketProxyRequest) -> Result<&str, AppError> {
    event
        .request_context
        .connection_id
        .as_deref()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| AppError::BadEvent("no requestContext.connectionId".to_owned()))
}
