//! The chat app's names: its operations, its metrics and the values of
//! their dimensions, spelled as in `dashboards/catalog.json`.
//!
//! Every dimension value is an enum variant, so no request data can become
//! a dimension.

/// The four operations of the guide; the catalog gives them thresholds.
pub mod operation {
    /// `ws-conversation`'s `$default` route.
    pub const WEBSOCKET_CONVERSATION: &str = "websocket_conversation";
    /// `ws-connection`'s `$connect` and `$disconnect` routes.
    pub const WEBSOCKET_CONNECTION: &str = "websocket_connection";
    /// Cognito JWT verification in the `AuthenticationService`.
    pub const AUTHENTICATION_JWT_VERIFICATION: &str = "authentication_jwt_verification";
    /// Storing, answering and posting a chat message in the `ChatService`.
    pub const CHAT_MESSAGE_PROCESSING: &str = "chat_message_processing";
}

/// The business metrics (the catalog's `metrics`).
pub mod metric {
    /// Conversation frames by type.
    pub const MESSAGES: &str = "Messages";
    /// Chat message length.
    pub const MESSAGE_LENGTH: &str = "MessageLength";
    /// Authentication frames by outcome.
    pub const AUTH_MESSAGES: &str = "AuthMessages";
    /// Connection lifecycle events.
    pub const CONNECTIONS: &str = "Connections";
    /// Connection lifetime.
    pub const CONNECTION_DURATION: &str = "ConnectionDuration";
    /// Disconnects by reason.
    pub const DISCONNECTS: &str = "Disconnects";
    /// JWT verifications by outcome.
    pub const VERIFICATIONS: &str = "Verifications";
    /// Chat messages processed.
    pub const MESSAGES_PROCESSED: &str = "MessagesProcessed";
    /// Database calls made while processing chat messages.
    pub const DATABASE_OPERATIONS: &str = "DatabaseOperations";
}

/// Declares a dimension-value enum with its wire names.
macro_rules! dimension_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vdoc])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The dimension value CloudWatch shows.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

dimension_enum!(
    /// `Messages{MessageType}`: the conversation frame's type.
    MessageType {
        /// `{"action":"auth"}`
        Auth => "auth",
        /// `{"action":"message"}`
        Message => "message",
        /// `{"action":"ping"}`
        Ping => "ping",
        /// Anything else, including frames that do not parse.
        Unknown => "unknown",
    }
);

dimension_enum!(
    /// `AuthMessages{Outcome}`: the result of an `auth` frame.
    AuthOutcome {
        /// The token was accepted.
        Success => "success",
        /// The token was rejected.
        Failure => "failure",
    }
);

dimension_enum!(
    /// `Connections{EventType}`.
    ConnectionEvent {
        /// `$connect`
        Connect => "connect",
        /// `$disconnect`
        Disconnect => "disconnect",
    }
);

dimension_enum!(
    /// `Disconnects{Reason}`, from the API Gateway disconnect status code.
    DisconnectReason {
        /// The client closed normally (1000) or sent no status (1005).
        Normal => "normal",
        /// Abnormal closure or a server-side error (1006, 1011, ...).
        Error => "error",
        /// API Gateway closed an idle or too-old connection (1001).
        Timeout => "timeout",
    }
);

impl DisconnectReason {
    /// Maps `requestContext.disconnectStatusCode`. A missing code counts as
    /// normal: API Gateway omits it when the client closed cleanly.
    pub fn from_status_code(code: Option<i64>) -> Self {
        match code {
            None | Some(1000) | Some(1005) => DisconnectReason::Normal,
            Some(1001) => DisconnectReason::Timeout,
            Some(_) => DisconnectReason::Error,
        }
    }
}

dimension_enum!(
    /// `Verifications{Outcome}`: the result of a JWT verification.
    VerificationOutcome {
        /// The token verified.
        Success => "success",
        /// No token was given.
        MissingToken => "MISSING_TOKEN",
        /// The token's `exp` has passed.
        TokenExpired => "TOKEN_EXPIRED",
        /// Any other rejection.
        InvalidToken => "INVALID_TOKEN",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disconnect_reason_follows_the_status_code() {
        let cases = [
            (None, DisconnectReason::Normal),
            (Some(1000), DisconnectReason::Normal),
            (Some(1005), DisconnectReason::Normal),
            (Some(1001), DisconnectReason::Timeout),
            (Some(1006), DisconnectReason::Error),
            (Some(1011), DisconnectReason::Error),
        ];
        for (code, reason) in cases {
            assert_eq!(DisconnectReason::from_status_code(code), reason, "{code:?}");
        }
    }

    #[test]
    fn wire_names_match_design() {
        let names: Vec<_> = VerificationOutcome::ALL
            .iter()
            .map(|o| o.as_str())
            .collect();
        assert_eq!(
            names,
            ["success", "MISSING_TOKEN", "TOKEN_EXPIRED", "INVALID_TOKEN"]
        );
        let names: Vec<_> = MessageType::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(names, ["auth", "message", "ping", "unknown"]);
    }
}
