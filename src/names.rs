//! Metric names and dimension keys as the code emits them.
//!
//! The catalog (`dashboards/catalog.json`) is the single source of names,
//! units and dimension sets. This file is the code's side of that contract:
//! loading a catalog fails unless it declares every metric the code emits
//! with exactly these dimension keys, so the two cannot drift.

use crate::catalog::Instrument;

/// Duration of every completed operation.
pub const HANDLER_DURATION: &str = "HandlerDuration";
/// Process memory at completion.
pub const MEMORY_USAGE: &str = "MemoryUsage";
/// Every completed operation.
pub const INVOCATIONS: &str = "Invocations";
/// Failed operations.
pub const ERRORS: &str = "Errors";
/// In-process threshold breaches.
pub const THRESHOLD_BREACHES: &str = "ThresholdBreaches";
/// Invocations that started a new Lambda execution environment.
pub const COLD_STARTS: &str = "ColdStarts";
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
/// Spans and metric points this process has lost since it started.
pub const TELEMETRY_LOST: &str = "TelemetryLost";

/// Dimension keys. Only these ever become metric attributes.
pub mod dim {
    /// The operation name.
    pub const HANDLER: &str = "Handler";
    /// The deployment environment (`PERFMON_ENVIRONMENT`).
    pub const ENVIRONMENT: &str = "Environment";
    /// A typed, low-cardinality error code.
    pub const ERROR_TYPE: &str = "ErrorType";
    /// The metric whose threshold was breached.
    pub const METRIC: &str = "Metric";
    /// `auth`, `message`, `ping` or `unknown`.
    pub const MESSAGE_TYPE: &str = "MessageType";
    /// Outcome of an authentication or verification.
    pub const OUTCOME: &str = "Outcome";
    /// `connect` or `disconnect`.
    pub const EVENT_TYPE: &str = "EventType";
    /// `normal`, `error` or `timeout`.
    pub const REASON: &str = "Reason";
    /// The Lambda function name.
    pub const FUNCTION: &str = "Function";
    /// `traces` or `metrics`.
    pub const SIGNAL: &str = "Signal";
}

/// What the code emits for one metric: its instrument and the union of the
/// attribute keys it ever sets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Emitted {
    pub name: &'static str,
    pub instrument: Instrument,
    pub keys: &'static [&'static str],
}

const BASE: &[&str] = &[dim::HANDLER, dim::ENVIRONMENT];

/// Every metric the library records. A catalog must declare all of them.
pub(crate) const EMITTED: &[Emitted] = &[
    emitted(HANDLER_DURATION, Instrument::Histogram, BASE),
    emitted(MEMORY_USAGE, Instrument::Histogram, BASE),
    emitted(INVOCATIONS, Instrument::Counter, BASE),
    emitted(
        ERRORS,
        Instrument::Counter,
        &[dim::HANDLER, dim::ENVIRONMENT, dim::ERROR_TYPE],
    ),
    emitted(
        THRESHOLD_BREACHES,
        Instrument::Counter,
        &[dim::HANDLER, dim::ENVIRONMENT, dim::METRIC],
    ),
    emitted(
        COLD_STARTS,
        Instrument::Counter,
        &[dim::FUNCTION, dim::ENVIRONMENT],
    ),
    emitted(
        MESSAGES,
        Instrument::Counter,
        &[dim::HANDLER, dim::ENVIRONMENT, dim::MESSAGE_TYPE],
    ),
    emitted(MESSAGE_LENGTH, Instrument::Histogram, BASE),
    emitted(
        AUTH_MESSAGES,
        Instrument::Counter,
        &[dim::HANDLER, dim::ENVIRONMENT, dim::OUTCOME],
    ),
    emitted(
        CONNECTIONS,
        Instrument::Counter,
        &[dim::HANDLER, dim::ENVIRONMENT, dim::EVENT_TYPE],
    ),
    emitted(CONNECTION_DURATION, Instrument::Histogram, BASE),
    emitted(
        DISCONNECTS,
        Instrument::Counter,
        &[dim::HANDLER, dim::ENVIRONMENT, dim::REASON],
    ),
    emitted(
        VERIFICATIONS,
        Instrument::Counter,
        &[dim::HANDLER, dim::ENVIRONMENT, dim::OUTCOME],
    ),
    emitted(MESSAGES_PROCESSED, Instrument::Counter, BASE),
    emitted(DATABASE_OPERATIONS, Instrument::Counter, BASE),
    emitted(
        TELEMETRY_LOST,
        Instrument::Gauge,
        &[dim::SIGNAL, dim::ENVIRONMENT],
    ),
];

const fn emitted(
    name: &'static str,
    instrument: Instrument,
    keys: &'static [&'static str],
) -> Emitted {
    Emitted {
        name,
        instrument,
        keys,
    }
}

/// The four operations of the guide. Others can be started by name at run
/// time; these are the ones the catalog gives thresholds.
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
