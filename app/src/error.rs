//! Request errors: each maps to one of the guide's error codes (the span
//! status, the `ErrorType` dimension and the client's error frame) and to a
//! Lambda diagnostic.

use super::auth::AuthError;
use super::store::StoreError;

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AppError {
    /// A chat message arrived before a successful `auth`.
    #[error("authenticate with an auth frame before sending messages")]
    UnauthenticatedConnection,
    /// The frame is not a valid chat frame.
    #[error("invalid frame: {0}")]
    InvalidMessageFormat(String),
    /// The frame or message is too large.
    #[error("frame of {bytes} bytes exceeds the {limit}-byte limit")]
    MessageTooLarge {
        /// What arrived.
        bytes: usize,
        /// What is allowed.
        limit: usize,
    },
    /// The frame names an action this server does not have.
    #[error("unknown action {0:?}")]
    UnknownAction(String),
    /// The `sessionId` is empty, too long or has characters outside
    /// `A-Z a-z 0-9 _ -`.
    #[error("invalid sessionId: {0}")]
    InvalidSessionId(&'static str),
    /// The `clientMessageId` is empty, too long or has characters outside
    /// `A-Z a-z 0-9 _ -`.
    #[error("invalid clientMessageId: {0}")]
    InvalidClientMessageId(&'static str),
    /// The session belongs to another user.
    #[error("the session belongs to another user")]
    SessionForbidden,
    /// The token was rejected.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reply could not be delivered.
    #[error("could not post to the connection: {0}")]
    Post(String),
    /// The event is not an API Gateway WebSocket event this handler serves.
    #[error("bad event: {0}")]
    BadEvent(String),
}

impl perfmon_lambda::ErrorCode for AppError {
    fn error_code(&self) -> &'static str {
        match self {
            AppError::UnauthenticatedConnection => "UNAUTHENTICATED_CONNECTION",
            AppError::InvalidMessageFormat(_) => "INVALID_MESSAGE_FORMAT",
            AppError::MessageTooLarge { .. } => "MESSAGE_TOO_LARGE",
            AppError::UnknownAction(_) => "UNKNOWN_ACTION",
            AppError::InvalidSessionId(_) => "INVALID_SESSION_ID",
            AppError::InvalidClientMessageId(_) => "INVALID_MESSAGE_FORMAT",
            AppError::SessionForbidden => "SESSION_FORBIDDEN",
            AppError::Auth(e) => e.error_code(),
            AppError::Store(_) => "DATABASE_ERROR",
            AppError::Post(_) => "POST_FAILED",
            AppError::BadEvent(_) => "BAD_EVENT",
        }
    }

    /// The text of a service error goes to its span's `exception` event
    /// (which the privacy rules filter), never to the client.
    fn error_message(&self) -> Option<String> {
        Some(self.to_string())
    }
}

impl AppError {
    /// Whether the client caused it (answered with an error frame and a
    /// normal response) rather than the service (a failed invocation).
    pub fn is_client_error(&self) -> bool {
        match self {
            AppError::Auth(e) => !matches!(e, AuthError::KeysUnavailable(_)),
            AppError::UnauthenticatedConnection
            | AppError::InvalidMessageFormat(_)
            | AppError::MessageTooLarge { .. }
            | AppError::UnknownAction(_)
            | AppError::InvalidSessionId(_)
            | AppError::InvalidClientMessageId(_)
            | AppError::SessionForbidden => true,
            AppError::Store(_) | AppError::Post(_) | AppError::BadEvent(_) => false,
        }
    }
}

impl From<AppError> for lambda_runtime::Diagnostic {
    fn from(error: AppError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: perfmon_lambda::ErrorCode::error_code(&error).to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::InvalidReason;
    use perfmon_lambda::catalog::ErrorClass;
    use perfmon_lambda::ErrorCode;

    /// Whether the handler treats an error as the client's agrees with
    /// the class the catalog declares for it, for every code the
    /// conversation can end with.
    #[test]
    fn the_catalog_classes_agree_with_the_handlers() {
        let catalog = crate::catalog();
        let conversation = catalog
            .operations
            .iter()
            .find(|o| o.name == crate::names::operation::WEBSOCKET_CONVERSATION)
            .unwrap();
        let errors = [
            AppError::UnauthenticatedConnection,
            AppError::InvalidMessageFormat("x".into()),
            AppError::MessageTooLarge { bytes: 2, limit: 1 },
            AppError::UnknownAction("x".into()),
            AppError::InvalidSessionId("empty"),
            AppError::InvalidClientMessageId("empty"),
            AppError::SessionForbidden,
            AppError::Auth(AuthError::MissingToken),
            AppError::Auth(AuthError::TokenExpired { exp: 1, now: 2 }),
            AppError::Auth(AuthError::InvalidToken(InvalidReason::Oversized)),
            AppError::Auth(AuthError::KeysUnavailable("down".into())),
            AppError::Store(StoreError {
                operation: "PutItem",
                message: "down".into(),
            }),
            AppError::Post("gone".into()),
            AppError::BadEvent("x".into()),
        ];
        for error in errors {
            let code = error.error_code();
            let spec = conversation
                .errors
                .iter()
                .find(|e| e.code == code)
                .unwrap_or_else(|| panic!("{code} is declared"));
            let client = spec.class == ErrorClass::Client;
            assert_eq!(client, error.is_client_error(), "{code}");
        }
    }
}
