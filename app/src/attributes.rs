//! The chat app's span attribute keys, under `app.*`; the library's own
//! (`enduser.id`, `error.type`, `perf.*`) come from [`perfmon_lambda::attributes`]
//! and are re-exported here.
//!
//! These are span attributes only: no connection, session, user or
//! request id ever becomes a metric dimension.

pub use perfmon_lambda::attributes::*;

/// API Gateway connection id.
pub const CONNECTION_ID: &str = "app.connection.id";
/// API Gateway event type (`CONNECT`, `MESSAGE`, `DISCONNECT`).
pub const EVENT_TYPE: &str = "app.event_type";
/// API Gateway route key (`$connect`, `$default`, ...).
pub const ROUTE_KEY: &str = "app.route_key";
/// Correlation id of one request across services.
pub const CORRELATION_ID: &str = "app.correlation_id";
/// API Gateway request id.
pub const REQUEST_ID: &str = "app.request.id";
/// Chat session id.
pub const SESSION_ID: &str = "app.session.id";
/// Whether a session id was given.
pub const HAS_SESSION_ID: &str = "app.session.present";
/// Frame type: `auth`, `message`, `ping` or `unknown`.
pub const MESSAGE_TYPE: &str = "app.message.type";
/// Action named by the frame.
pub const ACTION: &str = "app.action";
/// Message length in bytes.
pub const MESSAGE_LENGTH: &str = "app.message.length";
/// Whether a token was present. The token itself is never recorded.
pub const HAS_TOKEN: &str = "app.token.present";
/// Token length in bytes. The token itself is never recorded.
pub const TOKEN_LENGTH: &str = "app.token.length";
/// Token `exp` claim (seconds since the epoch).
pub const TOKEN_EXP: &str = "app.token.exp";
/// Verifier clock when a token was judged expired (seconds since the epoch).
pub const TOKEN_CHECKED_AT: &str = "app.token.checked_at";
/// Cognito groups of the user.
pub const USER_GROUPS: &str = "app.user.groups";
/// A non-fatal problem, e.g. `cleanup_failed`.
pub const WARNING: &str = "app.warning";
/// Human-readable error detail.
pub const ERROR_MESSAGE: &str = "app.error.message";
/// Email address: personal data, dropped unless exporting it is enabled.
pub const USER_EMAIL: &str = "app.user.email";
/// User name: personal data, dropped unless exporting it is enabled.
pub const USER_NAME: &str = "app.user.name";
