//! Storage behind traits: connections and chat messages.
//!
//! Two implementations: [`MemoryStore`] (the embedded default for local
//! runs) and, with the `aws` feature, `DynamoStore`, whose table layouts are
//! documented in `dynamodb.rs`. Every call takes the caller's context so a
//! backend can record its calls as CLIENT child spans.

#[cfg(feature = "aws")]
mod dynamodb;
mod memory;

use opentelemetry::Context;

#[cfg(feature = "aws")]
pub use dynamodb::{DynamoStore, Tables};
pub use memory::MemoryStore;

/// `messageId` of a session's owner item, which sorts before every message
/// (`{timestamp:013}#{uuid}`) and is never listed as one.
pub const SESSION_OWNER_ITEM: &str = "#owner";

/// Prefix of the `messageId` of a message the client gave an id:
/// `c#{clientMessageId}#q` for the question, `#a` for the answer, so that
/// a retry finds both.
pub const CLIENT_MESSAGE_PREFIX: &str = "c#";

/// Longest session id accepted, in characters (a UUID has 36).
pub const MAX_SESSION_ID_CHARS: usize = 64;

/// A connected WebSocket client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// API Gateway connection id.
    pub connection_id: String,
    /// `requestContext.connectedAt`, ms since the epoch.
    pub connected_at: i64,
    /// The Cognito `sub` once the connection authenticated.
    pub user_id: Option<String>,
    /// When that authentication ends: the token's `exp`, seconds since the
    /// epoch. A message after it is refused until the client
    /// authenticates again.
    pub auth_expires_at: Option<i64>,
}

/// Who wrote a chat message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The person.
    User,
    /// The bot.
    Bot,
}

impl Role {
    /// Stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Bot => "bot",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "user" => Some(Role::User),
            "bot" => Some(Role::Bot),
            _ => None,
        }
    }
}

/// One stored chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatMessage {
    /// The conversation.
    pub session_id: String,
    /// Unique, sortable within the session: `{timestamp:013}#{uuid}`.
    pub message_id: String,
    /// ms since the epoch.
    pub timestamp: i64,
    /// Who wrote it.
    pub role: Role,
    /// The Cognito `sub` of the session's user.
    pub user_id: String,
    /// The connection it came in on or went out to.
    pub connection_id: String,
    /// The text.
    pub text: String,
}

/// A storage failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{operation} failed: {message}")]
pub struct StoreError {
    /// The call, e.g. `PutItem`.
    pub operation: &'static str,
    /// The backend's message.
    pub message: String,
}

/// Where connections live.
#[async_trait::async_trait]
pub trait ConnectionStore: Send + Sync + std::fmt::Debug {
    /// Stores a new connection.
    async fn put(&self, cx: &Context, connection: &Connection) -> Result<(), StoreError>;
    /// The connection `id`, if stored.
    async fn get(&self, cx: &Context, id: &str) -> Result<Option<Connection>, StoreError>;
    /// Marks the connection authenticated as `user_id` until `expires_at`
    /// (the token's `exp`); authenticating again replaces both.
    async fn authenticate(
        &self,
        cx: &Context,
        id: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError>;
    /// Removes the connection; removing an absent one is not an error.
    async fn delete(&self, cx: &Context, id: &str) -> Result<(), StoreError>;
}

/// Where chat messages live.
#[async_trait::async_trait]
pub trait MessageStore: Send + Sync + std::fmt::Debug {
    /// Stores a message.
    async fn put(&self, cx: &Context, message: &ChatMessage) -> Result<(), StoreError>;
    /// Stores a message unless one with its id is stored: `Ok(false)` then,
    /// and nothing is written (`attribute_not_exists`).
    async fn put_new(&self, cx: &Context, message: &ChatMessage) -> Result<bool, StoreError>;
    /// The message `message_id` of `session_id`, if stored.
    async fn get_message(
        &self,
        cx: &Context,
        session_id: &str,
        message_id: &str,
    ) -> Result<Option<ChatMessage>, StoreError>;
    /// Makes `user_id` the owner of `session_id` unless another user owns
    /// it: `Ok(false)` then. One conditional write of the session's owner
    /// item ([`SESSION_OWNER_ITEM`]), so two users racing for a new
    /// session cannot both win.
    async fn claim_session(
        &self,
        cx: &Context,
        session_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError>;
    /// Every message of a session, oldest first (by timestamp).
    async fn session(&self, cx: &Context, session_id: &str)
        -> Result<Vec<ChatMessage>, StoreError>;
}
