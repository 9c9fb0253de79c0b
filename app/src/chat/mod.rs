//! `ChatService`: stores the user's message, asks the [`Responder`] for the
//! bot's answer, stores it, and posts it back. Monitored as
//! `chat_message_processing`.

use std::sync::Arc;

use crate::names::operation;
use crate::{attributes as a, ChatMonitor};
use opentelemetry::{Context, KeyValue};

use super::error::AppError;
use super::frame::Reply;
use super::post::{PostError, Poster};
use super::store::{ChatMessage, ConnectionStore, MessageStore, Role, CLIENT_MESSAGE_PREFIX};
use perfmon_lambda::clock::now_ms;

/// Produces the bot's answer.
#[async_trait::async_trait]
pub trait Responder: Send + Sync + std::fmt::Debug {
    /// The answer to `message`.
    async fn respond(&self, message: &str) -> String;
}

/// The built-in bot: answers greetings and questions about itself, echoes
/// everything else.
#[derive(Debug, Default, Clone, Copy)]
pub struct EchoResponder;

#[async_trait::async_trait]
impl Responder for EchoResponder {
    async fn respond(&self, message: &str) -> String {
        let lower = message.to_lowercase();
        if ["hello", "hi ", "hey"].iter().any(|g| lower.starts_with(g)) {
            "Hello! I am the perfmon demo bot. Ask me anything.".to_owned()
        } else if lower.contains("what can you do") || lower.contains("help") {
            "I store every message of this session and answer it. Try me.".to_owned()
        } else {
            format!("You said: {message}")
        }
    }
}

/// One chat message to process.
#[derive(Debug, Clone, Copy)]
pub struct ChatRequest<'a> {
    /// The connection it came in on.
    pub connection_id: &'a str,
    /// The authenticated user's Cognito `sub`.
    pub user_id: &'a str,
    /// The text.
    pub message: &'a str,
    /// The conversation to continue; a new one when `None`.
    pub session_id: Option<&'a str>,
    /// The client's id for the message: a retry with the same id stores
    /// nothing twice and gets the same answer.
    pub client_message_id: Option<&'a str>,
}

/// What the service answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Processed {
    /// The conversation, new when none was given.
    pub session_id: String,
    /// Database calls made.
    pub database_operations: u64,
}

/// Processes chat messages.
#[derive(Debug, Clone)]
pub struct ChatService {
    messages: Arc<dyn MessageStore>,
    connections: Arc<dyn ConnectionStore>,
    poster: Arc<dyn Poster>,
    responder: Arc<dyn Responder>,
    monitor: ChatMonitor,
}

impl ChatService {
    /// A service over its stores, poster and responder.
    pub fn new(
        messages: Arc<dyn MessageStore>,
        connections: Arc<dyn ConnectionStore>,
        poster: Arc<dyn Poster>,
        responder: Arc<dyn Responder>,
        monitor: ChatMonitor,
    ) -> Self {
        ChatService {
            messages,
            connections,
            poster,
            responder,
            monitor,
        }
    }

    /// Processes one chat message.
    pub async fn process(
        &self,
        parent: &Context,
        request: &ChatRequest<'_>,
    ) -> Result<Processed, AppError> {
        let ChatRequest {
            connection_id,
            user_id,
            message,
            session_id,
            client_message_id,
        } = *request;
        let mut start = vec![
            KeyValue::new(a::CONNECTION_ID, connection_id.to_owned()),
            KeyValue::new(a::MESSAGE_LENGTH, message.len() as i64),
            KeyValue::new(a::HAS_SESSION_ID, session_id.is_some()),
        ];
        if let Some(id) = session_id {
            start.push(KeyValue::new(a::SESSION_ID, id.to_owned()));
        }
        let mut op =
            self.monitor
                .start_with_context(operation::CHAT_MESSAGE_PROCESSING, parent, start);
        let cx = op.context();
        let session = match (session_id, client_message_id) {
            (Some(id), _) => id.to_owned(),
            (None, Some(id)) => first_session(user_id, id),
            (None, None) => uuid::Uuid::new_v4().to_string(),
        };
        let mut db_ops = 0;
        // Current while it runs, so that log lines name this operation.
        let result = op
            .within(self.run(&cx, request, &session, &mut db_ops))
            .await;
        let business = self.monitor.business();
        business.database_operations(db_ops);
        match result {
            Ok(()) => {
                business.message_processed();
                op.in_scope(|| {
                    tracing::info!(
                        session_id = %session,
                        database_operations = db_ops,
                        "chat message processed"
                    )
                });
                // The length (and a given session) are already start attributes.
                let mut attrs = vec![
                    KeyValue::new(a::ENDUSER_ID, user_id.to_owned()),
                    KeyValue::new(a::MESSAGE_TYPE, "user_and_bot"),
                ];
                if session_id.is_none() {
                    attrs.push(KeyValue::new(a::SESSION_ID, session.clone()));
                }
                op.complete(true, attrs);
                Ok(Processed {
                    session_id: session,
                    database_operations: db_ops,
                })
            }
            Err(error) => {
                let mut attrs = vec![KeyValue::new(a::ERROR_MESSAGE, error.to_string())];
                if session_id.is_none() {
                    attrs.push(KeyValue::new(a::SESSION_ID, session));
                }
                op.fail(&error, attrs);
                Err(error)
            }
        }
    }

    async fn run(
        &self,
        cx: &Context,
        request: &ChatRequest<'_>,
        session: &str,
        db_ops: &mut u64,
    ) -> Result<(), AppError> {
        let ChatRequest {
            connection_id,
            user_id,
            message,
            client_message_id,
            ..
        } = *request;
        let stored = |role: Role, text: &str, timestamp: i64| ChatMessage {
            session_id: session.to_owned(),
            message_id: match (client_message_id, role) {
                (Some(id), Role::User) => format!("{CLIENT_MESSAGE_PREFIX}{id}#q"),
                (Some(id), Role::Bot) => format!("{CLIENT_MESSAGE_PREFIX}{id}#a"),
                (None, _) => format!("{timestamp:013}#{}", uuid::Uuid::new_v4()),
            },
            timestamp,
            role,
            user_id: user_id.to_owned(),
            connection_id: connection_id.to_owned(),
            text: text.to_owned(),
        };
        // The session is the user's, or becomes theirs.
        *db_ops += 1;
        if !self.messages.claim_session(cx, session, user_id).await? {
            return Err(AppError::SessionForbidden);
        }
        let asked = now_ms();
        let question = stored(Role::User, message, asked);
        *db_ops += 1;
        let first = self.messages.put_new(cx, &question).await?;
        // A retry of a message already answered gets that answer again.
        let mut answered = None;
        if !first {
            *db_ops += 1;
            answered = self
                .messages
                .get_message(cx, session, &stored(Role::Bot, "", 0).message_id)
                .await?;
        }
        let bot = match answered {
            Some(bot) => bot,
            None => {
                let answer = self.responder.respond(message).await;
                // Strictly after the question, so the session sorts question
                // first even within one millisecond.
                let bot = stored(Role::Bot, &answer, now_ms().max(asked + 1));
                *db_ops += 1;
                if self.messages.put_new(cx, &bot).await? {
                    bot
                } else {
                    // A concurrent retry answered first: its answer stands.
                    *db_ops += 1;
                    self.messages
                        .get_message(cx, session, &bot.message_id)
                        .await?
                        .unwrap_or(bot)
                }
            }
        };
        let reply = Reply::Message {
            session_id: session.to_owned(),
            message: bot.text,
            timestamp: bot.timestamp,
            client_message_id: client_message_id.map(str::to_owned),
        };
        match self.poster.post(cx, connection_id, &reply.to_json()).await {
            Ok(()) => Ok(()),
            Err(PostError::Gone) => {
                // The client left while we answered: clean up, no crash.
                tracing::info!(
                    connection_id,
                    "answer not delivered: the connection is gone; removing it"
                );
                // Best effort: the answer is stored and the request done; a
                // failed cleanup is a warning, never a failed request (the
                // item's TTL removes it anyway).
                *db_ops += 1;
                if let Err(error) = self.connections.delete(cx, connection_id).await {
                    tracing::warn!(connection_id, %error, "could not remove the gone connection");
                }
                Ok(())
            }
            Err(PostError::Failed(message)) => Err(AppError::Post(message)),
        }
    }
}

/// The session a first message (no `sessionId`) starts, when it has a
/// `clientMessageId`: derived from its sender and that id (a UUID of their
/// SHA-256), so that a retry, or a racing second attempt, names the same
/// session and finds the message stored once.
fn first_session(user_id: &str, client_message_id: &str) -> String {
    use aws_lc_rs::digest::{digest, SHA256};
    let name = format!("{user_id}\0{client_message_id}");
    let mut bytes = [0; 16];
    bytes.copy_from_slice(&digest(&SHA256, name.as_bytes()).as_ref()[..16]);
    uuid::Builder::from_custom_bytes(bytes)
        .into_uuid()
        .to_string()
}
