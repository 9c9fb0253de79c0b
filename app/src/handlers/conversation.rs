//! `$default`: the chat frames `auth`, `message` and `ping`.

use crate::attributes as a;
use crate::names::{operation, AuthOutcome, MessageType};
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use opentelemetry::{Context, KeyValue};
use perfmon_lambda::OperationMonitor;

use super::{connection_id, App};
use crate::chat::ChatRequest;
use crate::error::AppError;
use crate::frame::{self, Frame, Reply};
use perfmon_lambda::clock::now_ms;

pub(super) async fn handle(
    app: &App,
    cx: &Context,
    event: &ApiGatewayWebsocketProxyRequest,
) -> Result<(), AppError> {
    let rc = &event.request_context;
    let id = connection_id(event)?;
    let correlation_id = rc
        .request_id
        .clone()
        .or_else(|| rc.message_id.clone())
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let mut op = app.monitor.start_with_context(
        operation::WEBSOCKET_CONVERSATION,
        cx,
        [
            KeyValue::new(a::CONNECTION_ID, id.to_owned()),
            KeyValue::new(a::EVENT_TYPE, rc.event_type.clone().unwrap_or_default()),
            KeyValue::new(a::ROUTE_KEY, rc.route_key.clone().unwrap_or_default()),
            KeyValue::new(a::CORRELATION_ID, correlation_id.clone()),
        ],
    );
    let business = app.monitor.business();
    let body = event.body.as_deref();
    let frame = match frame::parse(body) {
        Ok(frame) => frame,
        Err(error) => {
            // The bad frame is answered and recorded (its size and why it
            // was refused), never dropped silently.
            business.message(MessageType::Unknown);
            let cx = op.context();
            app.reply(&cx, id, &Reply::error(&error)).await;
            op.fail(
                &error,
                [
                    KeyValue::new(a::MESSAGE_TYPE, MessageType::Unknown.as_str()),
                    KeyValue::new(a::MESSAGE_LENGTH, body.map_or(0, str::len) as i64),
                    KeyValue::new(a::ERROR_MESSAGE, error.to_string()),
                ],
            );
            return Ok(());
        }
    };
    let kind = frame.message_type();
    business.message(kind);
    let cx = op.context();
    let result = match frame {
        Frame::Auth { token } => auth(app, &cx, id, token.as_deref(), &correlation_id).await,
        Frame::Message {
            message,
            session_id,
            client_message_id,
        } => {
            let ids = (session_id.as_deref(), client_message_id.as_deref());
            chat(app, &cx, id, &message, ids).await
        }
        Frame::Ping => {
            app.reply(
                &cx,
                id,
                &Reply::Pong {
                    timestamp: now_ms(),
                },
            )
            .await;
            Ok(vec![])
        }
    };
    finish(app, &cx, op, id, kind, result).await
}

/// Completes the operation and answers errors with an error frame. Client
/// mistakes end here; service failures also fail the invocation.
async fn finish(
    app: &App,
    cx: &Context,
    op: OperationMonitor,
    id: &str,
    kind: MessageType,
    result: Result<Vec<KeyValue>, AppError>,
) -> Result<(), AppError> {
    let mut attrs = vec![
        KeyValue::new(a::MESSAGE_TYPE, kind.as_str()),
        KeyValue::new(a::ACTION, kind.as_str()),
    ];
    match result {
        Ok(extra) => {
            attrs.extend(extra);
            op.complete(true, attrs);
            Ok(())
        }
        Err(error) => {
            app.reply(cx, id, &Reply::error(&error)).await;
            op.fail(&error, attrs);
            let code = perfmon_lambda::ErrorCode::error_code(&error);
            if error.is_client_error() {
                tracing::info!(code, "client error answered with an error frame");
                Ok(())
            } else {
                // The detail the client's frame leaves out.
                tracing::error!(code, error = %error, "service error");
                Err(error)
            }
        }
    }
}

async fn auth(
    app: &App,
    cx: &Context,
    id: &str,
    token: Option<&str>,
    correlation_id: &str,
) -> Result<Vec<KeyValue>, AppError> {
    let business = app.monitor.business();
    let has_token = KeyValue::new(a::HAS_TOKEN, token.is_some_and(|t| !t.is_empty()));
    match app.auth.verify(token, cx, correlation_id).await {
        Ok(user) => {
            app.connections
                .authenticate(cx, id, &user.user_id, user.expires_at)
                .await?;
            business.auth_message(AuthOutcome::Success);
            app.reply(
                cx,
                id,
                &Reply::AuthSuccess {
                    user_id: user.user_id.clone(),
                },
            )
            .await;
            Ok(vec![has_token, KeyValue::new(a::ENDUSER_ID, user.user_id)])
        }
        Err(error) => {
            business.auth_message(AuthOutcome::Failure);
            Err(error.into())
        }
    }
}

async fn chat(
    app: &App,
    cx: &Context,
    id: &str,
    message: &str,
    (session_id, client_message_id): (Option<&str>, Option<&str>),
) -> Result<Vec<KeyValue>, AppError> {
    app.monitor.business().message_length(message.len());
    let connection = app.connections.get(cx, id).await?;
    let (user_id, expires_at) = connection
        .and_then(|c| Some((c.user_id?, c.auth_expires_at)))
        .ok_or(AppError::UnauthenticatedConnection)?;
    // Authentication lasts as long as its token: after `exp`, the client
    // is asked to authenticate again.
    if let Some(exp) = expires_at {
        app.auth.check_lifetime(exp)?;
    }
    let processed = app
        .chat
        .process(
            cx,
            &ChatRequest {
                connection_id: id,
                user_id: &user_id,
                message,
                session_id,
                client_message_id,
            },
        )
        .await?;
    Ok(vec![
        KeyValue::new(a::MESSAGE_LENGTH, message.len() as i64),
        KeyValue::new(a::SESSION_ID, processed.session_id),
    ])
}
