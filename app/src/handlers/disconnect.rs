//! `$disconnect`: clean the connection up. A failed cleanup completes with
//! the guide's `cleanup_failed` warning; the client is gone either way.

use std::time::Duration;

use crate::attributes as a;
use crate::names::{ConnectionEvent, DisconnectReason};
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use opentelemetry::{Context, KeyValue};
use perfmon_lambda::ErrorCode;

use super::{start_connection, App};
use crate::error::AppError;
use perfmon_lambda::clock::now_ms;

pub(super) async fn handle(
    app: &App,
    cx: &Context,
    event: &ApiGatewayWebsocketProxyRequest,
) -> Result<(), AppError> {
    let rc = &event.request_context;
    let (id, mut op) = start_connection(app, cx, event)?;
    let business = app.monitor.business();
    business.connection(ConnectionEvent::Disconnect);
    business.disconnect(DisconnectReason::from_status_code(
        rc.disconnect_status_code,
    ));
    // From connectedAt to the disconnect (its request time when given).
    let ended = if rc.request_time_epoch > 0 {
        rc.request_time_epoch
    } else {
        now_ms()
    };
    if rc.connected_at > 0 && ended >= rc.connected_at {
        business.connection_duration(Duration::from_millis((ended - rc.connected_at) as u64));
    }
    let cx = op.context();
    // `app.event_type` is on the span since its start (`DISCONNECT`).
    let mut attrs = Vec::new();
    if let Err(error) = app.connections.delete(&cx, id).await {
        let error = AppError::from(error);
        attrs.push(KeyValue::new(a::WARNING, "cleanup_failed"));
        attrs.push(KeyValue::new(a::ERROR_MESSAGE, error.error_code()));
    }
    op.complete(true, attrs);
    Ok(())
}
