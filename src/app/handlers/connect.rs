//! `$connect`: store the connection.

use crate::{attributes as a, operation, ConnectionEvent};
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use opentelemetry::{Context, KeyValue};

use super::{connection_id, App};
use crate::app::error::AppError;
use crate::app::store::Connection;

pub(super) async fn handle(
    app: &App,
    cx: &Context,
    event: &ApiGatewayWebsocketProxyRequest,
) -> Result<(), AppError> {
    let rc = &event.request_context;
    let id = connection_id(event)?;
    let mut op = app.monitor.start_with_context(
        operation::WEBSOCKET_CONNECTION,
        cx,
        [
            KeyValue::new(a::CONNECTION_ID, id.to_owned()),
            KeyValue::new(a::EVENT_TYPE, rc.event_type.clone().unwrap_or_default()),
            KeyValue::new(a::REQUEST_ID, rc.request_id.clone().unwrap_or_default()),
        ],
    );
    app.monitor.business().connection(ConnectionEvent::Connect);
    let connection = Connection {
        connection_id: id.to_owned(),
        connected_at: rc.connected_at,
        user_id: None,
    };
    let cx = op.context();
    match app.connections.put(&cx, &connection).await {
        Ok(()) => {
            op.complete(true, [KeyValue::new(a::EVENT_TYPE, "connect")]);
            Ok(())
        }
        Err(error) => {
            let error = AppError::from(error);
            op.fail(
                &error,
                [
                    KeyValue::new(a::EVENT_TYPE, "connect"),
                    KeyValue::new(a::ERROR_MESSAGE, error.to_string()),
                ],
            );
            Err(error)
        }
    }
}
