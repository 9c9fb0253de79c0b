//! The guide's business metrics (DESIGN §3a) as typed recorders.
//!
//! Every dimension value is an enum variant, so no request data can become a
//! dimension. Each recorder fixes the `Handler` the guide files it under.

use std::time::Duration;

use opentelemetry::{KeyValue, StringValue};

use crate::monitor::Instruments;
use crate::names::{dim, operation};

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

            fn index(self) -> usize {
                self as usize
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

/// Records the business metrics. Get one from
/// [`PerformanceMonitor::business`](crate::PerformanceMonitor::business).
#[derive(Debug)]
pub struct BusinessMetrics {
    instruments: Instruments,
    conversation: [KeyValue; 2],
    connection: [KeyValue; 2],
    chat: [KeyValue; 2],
    messages: Vec<[KeyValue; 3]>,
    auth_messages: Vec<[KeyValue; 3]>,
    connections: Vec<[KeyValue; 3]>,
    disconnects: Vec<[KeyValue; 3]>,
    verifications: Vec<[KeyValue; 3]>,
}

impl BusinessMetrics {
    pub(crate) fn new(instruments: Instruments, environment: &StringValue) -> Self {
        let base = |handler: &'static str| {
            [
                KeyValue::new(dim::HANDLER, handler),
                KeyValue::new(dim::ENVIRONMENT, environment.clone()),
            ]
        };
        let with = |base: &[KeyValue; 2],
                    key: &'static str,
                    values: &mut dyn Iterator<Item = &'static str>| {
            values
                .map(|v| [base[0].clone(), base[1].clone(), KeyValue::new(key, v)])
                .collect::<Vec<_>>()
        };
        let conversation = base(operation::WEBSOCKET_CONVERSATION);
        let connection = base(operation::WEBSOCKET_CONNECTION);
        let auth = base(operation::AUTHENTICATION_JWT_VERIFICATION);
        let chat = base(operation::CHAT_MESSAGE_PROCESSING);
        BusinessMetrics {
            messages: with(
                &conversation,
                dim::MESSAGE_TYPE,
                &mut MessageType::ALL.iter().map(|v| v.as_str()),
            ),
            auth_messages: with(
                &conversation,
                dim::OUTCOME,
                &mut AuthOutcome::ALL.iter().map(|v| v.as_str()),
            ),
            connections: with(
                &connection,
                dim::EVENT_TYPE,
                &mut ConnectionEvent::ALL.iter().map(|v| v.as_str()),
            ),
            disconnects: with(
                &connection,
                dim::REASON,
                &mut DisconnectReason::ALL.iter().map(|v| v.as_str()),
            ),
            verifications: with(
                &auth,
                dim::OUTCOME,
                &mut VerificationOutcome::ALL.iter().map(|v| v.as_str()),
            ),
            instruments,
            conversation,
            connection,
            chat,
        }
    }

    /// One conversation frame of `kind` (messages per minute, type mix).
    pub fn message(&self, kind: MessageType) {
        self.instruments
            .messages
            .add(1, &self.messages[kind.index()]);
    }

    /// The length of one chat message, in bytes.
    pub fn message_length(&self, bytes: usize) {
        self.instruments
            .message_length
            .record(bytes as u64, &self.conversation);
    }

    /// One `auth` frame's outcome (authentication success rate).
    pub fn auth_message(&self, outcome: AuthOutcome) {
        self.instruments
            .auth_messages
            .add(1, &self.auth_messages[outcome.index()]);
    }

    /// One connection lifecycle event (connections per minute).
    pub fn connection(&self, event: ConnectionEvent) {
        self.instruments
            .connections
            .add(1, &self.connections[event.index()]);
    }

    /// How long a connection lived, from `requestContext.connectedAt` to the
    /// disconnect.
    pub fn connection_duration(&self, lifetime: Duration) {
        self.instruments
            .connection_duration
            .record(lifetime.as_secs_f64() * 1000.0, &self.connection);
    }

    /// Why a connection ended.
    pub fn disconnect(&self, reason: DisconnectReason) {
        self.instruments
            .disconnects
            .add(1, &self.disconnects[reason.index()]);
    }

    /// One JWT verification's outcome.
    pub fn verification(&self, outcome: VerificationOutcome) {
        self.instruments
            .verifications
            .add(1, &self.verifications[outcome.index()]);
    }

    /// One chat message fully processed.
    pub fn message_processed(&self) {
        self.instruments.messages_processed.add(1, &self.chat);
    }

    /// `count` database calls made for chat messages.
    pub fn database_operations(&self, count: u64) {
        self.instruments.database_operations.add(count, &self.chat);
    }
}

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
