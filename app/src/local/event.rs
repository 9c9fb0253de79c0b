//! API Gateway-shaped WebSocket events for the local server, with the same
//! fields API Gateway sends (see `tests/fixtures/`).

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use serde_json::json;

/// The event API Gateway would send for `route_key` on `connection_id`.
pub fn websocket_event(
    route_key: &str,
    connection_id: &str,
    connected_at: i64,
    body: Option<&str>,
    disconnect_status_code: Option<u16>,
) -> ApiGatewayWebsocketProxyRequest {
    let event_type = match route_key {
        "$connect" => "CONNECT",
        "$disconnect" => "DISCONNECT",
        _ => "MESSAGE",
    };
    let now = perfmon_lambda::clock::now_ms();
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let mut context = json!({
        "routeKey": route_key,
        "eventType": event_type,
        "messageDirection": "IN",
        "stage": "local",
        "connectedAt": connected_at,
        "requestTimeEpoch": now,
        "requestId": &request_id[..16],
        "extendedRequestId": &request_id[..16],
        "domainName": "127.0.0.1",
        "connectionId": connection_id,
        "apiId": "local",
        "identity": { "sourceIp": "127.0.0.1" },
    });
    if route_key == "$default" {
        context["messageId"] = json!(&request_id[16..]);
    }
    if let Some(code) = disconnect_status_code {
        context["disconnectStatusCode"] = json!(code);
    }
    let event = json!({
        "requestContext": context,
        "body": body,
        "isBase64Encoded": false,
    });
    serde_json::from_value(event).expect("the local event matches the API Gateway shape")
}
