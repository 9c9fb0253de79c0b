//! The WebSocket frames of the chat protocol: what clients send on
//! `$default`, and what the server sends back.

use serde::{Deserialize, Serialize};

use super::error::AppError;
use super::store::MAX_SESSION_ID_CHARS;

/// Largest frame body accepted, in bytes. API Gateway's WebSocket frame limit
/// is 32 KiB.
pub const MAX_FRAME_BYTES: usize = 32 * 1024;
/// Longest chat message accepted, in bytes.
pub const MAX_MESSAGE_BYTES: usize = 8 * 1024;

/// A client frame.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Frame {
    /// `{"action":"auth","token":...}`
    Auth {
        /// The Cognito id or access token.
        #[serde(default)]
        token: Option<String>,
    },
    /// `{"action":"message","message":...,"sessionId"?:...}`
    Message {
        /// The chat text.
        message: String,
        /// The conversation to continue; a new one starts when absent.
        #[serde(default, rename = "sessionId")]
        session_id: Option<String>,
        /// The client's id for this message: a retry with the same id
        /// stores nothing twice and gets the same answer.
        #[serde(default, rename = "clientMessageId")]
        client_message_id: Option<String>,
    },
    /// `{"action":"ping"}`
    Ping,
}

impl Frame {
    /// The frame's business-metric type.
    pub fn message_type(&self) -> crate::names::MessageType {
        match self {
            Frame::Auth { .. } => crate::names::MessageType::Auth,
            Frame::Message { .. } => crate::names::MessageType::Message,
            Frame::Ping => crate::names::MessageType::Ping,
        }
    }
}

/// Parses a `$default` body. Never panics; every rejection is a typed
/// [`AppError`] the client gets back as an error frame.
pub fn parse(body: Option<&str>) -> Result<Frame, AppError> {
    let body = body.unwrap_or("");
    if body.len() > MAX_FRAME_BYTES {
        return Err(AppError::MessageTooLarge {
            bytes: body.len(),
            limit: MAX_FRAME_BYTES,
        });
    }
    if body.trim().is_empty() {
        return Err(AppError::InvalidMessageFormat("empty frame".to_owned()));
    }
    let value: serde_json::Value = serde_json::from_str(body)
        .map_err(|e| AppError::InvalidMessageFormat(format!("not JSON: {e}")))?;
    let action = value
        .get("action")
        .ok_or_else(|| AppError::InvalidMessageFormat("no action".to_owned()))?;
    match action.as_str() {
        Some("auth" | "message" | "ping") => {}
        Some(other) => return Err(AppError::UnknownAction(truncate(other, 40))),
        None => {
            return Err(AppError::InvalidMessageFormat(
                "action is not a string".to_owned(),
            ))
        }
    }
    let frame: Frame =
        serde_json::from_value(value).map_err(|e| AppError::InvalidMessageFormat(e.to_string()))?;
    if let Frame::Message { message, .. } = &frame {
        if message.len() > MAX_MESSAGE_BYTES {
            return Err(AppError::MessageTooLarge {
                bytes: message.len(),
                limit: MAX_MESSAGE_BYTES,
            });
        }
        if message.trim().is_empty() {
            return Err(AppError::InvalidMessageFormat("empty message".to_owned()));
        }
    }
    if let Frame::Message {
        session_id,
        client_message_id,
        ..
    } = &frame
    {
        if let Some(id) = session_id {
            check_id(id).map_err(AppError::InvalidSessionId)?;
        }
        if let Some(id) = client_message_id {
            check_id(id).map_err(AppError::InvalidClientMessageId)?;
        }
    }
    Ok(frame)
}

/// A session id or a client message id is 1 to [`MAX_SESSION_ID_CHARS`]
/// characters of `A-Z a-z 0-9 _ -` (a UUID fits): checked here, so that a
/// bad one is the client's error and never reaches DynamoDB as a
/// `ValidationException`.
fn check_id(id: &str) -> Result<(), &'static str> {
    if id.is_empty() {
        return Err("empty");
    }
    if id.len() > MAX_SESSION_ID_CHARS {
        return Err("longer than 64 characters");
    }
    if !id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err("only A-Z, a-z, 0-9, _ and - are allowed");
    }
    Ok(())
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A server frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The token verified; the connection is authenticated.
    AuthSuccess {
        /// The Cognito `sub`.
        #[serde(rename = "userId")]
        user_id: String,
    },
    /// The bot's answer to a chat message.
    Message {
        /// The conversation, new when the client gave none.
        #[serde(rename = "sessionId")]
        session_id: String,
        /// The answer.
        message: String,
        /// When the answer was produced, ms since the epoch.
        timestamp: i64,
        /// The client's id of the message answered, when it gave one.
        #[serde(
            default,
            rename = "clientMessageId",
            skip_serializing_if = "Option::is_none"
        )]
        client_message_id: Option<String>,
    },
    /// The answer to `ping`.
    Pong {
        /// ms since the epoch.
        timestamp: i64,
    },
    /// A typed error.
    Error {
        /// The error code, e.g. `UNAUTHENTICATED_CONNECTION`.
        error: String,
        /// A human-readable explanation.
        message: String,
    },
}

/// The message of every service error's frame. The detail (an AWS SDK's
/// error text can name the account, a table's ARN, the JWKS URL) goes to the
/// span and the log, never to the client.
pub const SERVICE_ERROR_MESSAGE: &str = "the service could not complete the request; try again";

impl Reply {
    /// The error frame for `error`: the code, and the error's text when it
    /// is the client's own mistake, else [`SERVICE_ERROR_MESSAGE`].
    pub fn error(error: &AppError) -> Reply {
        let message = if error.is_client_error() {
            error.to_string()
        } else {
            SERVICE_ERROR_MESSAGE.to_owned()
        };
        Reply::Error {
            error: perfmon_lambda::ErrorCode::error_code(error).to_owned(),
            message,
        }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("replies always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use perfmon_lambda::ErrorCode;

    #[test]
    fn frames_parse() {
        assert_eq!(
            parse(Some(r#"{"action":"auth","token":"t"}"#)),
            Ok(Frame::Auth {
                token: Some("t".into())
            })
        );
        assert_eq!(
            parse(Some(r#"{"action":"auth"}"#)),
            Ok(Frame::Auth { token: None })
        );
        assert_eq!(
            parse(Some(
                r#"{"action":"message","message":"hi","sessionId":"s"}"#
            )),
            Ok(Frame::Message {
                message: "hi".into(),
                session_id: Some("s".into()),
                client_message_id: None,
            })
        );
        assert_eq!(parse(Some(r#"{"action":"ping"}"#)), Ok(Frame::Ping));
    }

    #[test]
    fn bad_frames_are_typed_errors() {
        let code = |body: Option<&str>| parse(body).unwrap_err().error_code();
        assert_eq!(code(None), "INVALID_MESSAGE_FORMAT");
        assert_eq!(code(Some("  ")), "INVALID_MESSAGE_FORMAT");
        assert_eq!(code(Some("{")), "INVALID_MESSAGE_FORMAT");
        assert_eq!(code(Some("[1,2]")), "INVALID_MESSAGE_FORMAT");
        assert_eq!(code(Some(r#"{"action":7}"#)), "INVALID_MESSAGE_FORMAT");
        assert_eq!(
            code(Some(r#"{"action":"message"}"#)),
            "INVALID_MESSAGE_FORMAT"
        );
        assert_eq!(
            code(Some(r#"{"action":"message","message":"  "}"#)),
            "INVALID_MESSAGE_FORMAT"
        );
        assert_eq!(code(Some(r#"{"action":"subscribe"}"#)), "UNKNOWN_ACTION");
        let session = |id: &str| {
            format!(
                r#"{{"action":"message","message":"hi","sessionId":{}}}"#,
                serde_json::json!(id)
            )
        };
        assert_eq!(code(Some(&session(""))), "INVALID_SESSION_ID");
        assert_eq!(
            code(Some(&session(&"s".repeat(5000)))),
            "INVALID_SESSION_ID"
        );
        assert_eq!(code(Some(&session("a b"))), "INVALID_SESSION_ID");
        assert_eq!(code(Some(&session("ö"))), "INVALID_SESSION_ID");
        assert!(parse(Some(&session("6f1c5e2a-0d4e-4b8f-9a55-3c2b1d0e9f77"))).is_ok());
        assert!(parse(Some(&session(&"s".repeat(64)))).is_ok());
        let big = format!(
            r#"{{"action":"message","message":"{}"}}"#,
            "x".repeat(MAX_MESSAGE_BYTES + 1)
        );
        assert_eq!(code(Some(&big)), "MESSAGE_TOO_LARGE");
        let huge = "x".repeat(MAX_FRAME_BYTES + 1);
        assert_eq!(code(Some(&huge)), "MESSAGE_TOO_LARGE");
    }

    #[test]
    fn replies_serialize_with_a_type_tag() {
        assert_eq!(
            Reply::Pong { timestamp: 5 }.to_json(),
            r#"{"type":"pong","timestamp":5}"#
        );
        let error = Reply::error(&AppError::UnauthenticatedConnection);
        assert!(error
            .to_json()
            .starts_with(r#"{"type":"error","error":"UNAUTHENTICATED_CONNECTION""#));
    }
}
