//! `$connect`: store the connection.

use crate::attributes as a;
use crate::names::ConnectionEvent;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use opentelemetry::{Context, KeyValue};

use super::{start_connection, App};
use crate::error::AppError;
use crate::store::Connection;

pub(super) async fn handle(
    app: &App,
    cx: &Context,
    event: &ApiGatewayWebsocketProxyRequest,
) -> Result<(), AppError> {
    let rc = &event.request_context;
    let (id, mut op) = start_connection(app, cx, event)?;
    app.monitor.business().connection(ConnectionEvent::Connect);
    let connection = Connection {
        connection_id: id.to_owned(),
        connected_at: rc.connected_at,
        user_id: None,
        auth_expires_at: None,
    };
    let cx = op.context();
    match app.connections.put(&cx, &connection).await {
        Ok(()) => {
            op.complete(true, []);
            Ok(())
        }
        Err(error) => {
            let error = AppError::from(error);
            op.fail(&error, [KeyValue::new(a::ERROR_MESSAGE, error.to_string())]);
            Err(error)
        }
    }
}
