//! The embedded store: everything in process memory, for local runs.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use opentelemetry::Context;

use super::{ChatMessage, Connection, ConnectionStore, MessageStore, StoreError};

/// In-memory connections and messages.
#[derive(Debug, Default)]
pub struct MemoryStore {
    connections: Mutex<HashMap<String, Connection>>,
    /// session id → message id → message.
    messages: Mutex<HashMap<String, BTreeMap<String, ChatMessage>>>,
    /// session id → owner.
    owners: Mutex<HashMap<String, String>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many connections are stored.
    pub fn connection_count(&self) -> usize {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

#[async_trait::async_trait]
impl ConnectionStore for MemoryStore {
    async fn put(&self, _: &Context, connection: &Connection) -> Result<(), StoreError> {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(connection.connection_id.clone(), connection.clone());
        Ok(())
    }

    async fn get(&self, _: &Context, id: &str) -> Result<Option<Connection>, StoreError> {
        Ok(self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(id)
            .cloned())
    }

    async fn authenticate(
        &self,
        _: &Context,
        id: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        match self
            .connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(id)
        {
            Some(c) => {
                c.user_id = Some(user_id.to_owned());
                c.auth_expires_at = Some(expires_at);
                Ok(())
            }
            None => Err(StoreError {
                operation: "UpdateItem",
                message: format!("no connection {id}"),
            }),
        }
    }

    async fn delete(&self, _: &Context, id: &str) -> Result<(), StoreError> {
        self.connections
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        Ok(())
    }
}

#[async_trait::async_trait]
impl MessageStore for MemoryStore {
    async fn put(&self, _: &Context, message: &ChatMessage) -> Result<(), StoreError> {
        self.messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(message.session_id.clone())
            .or_default()
            .insert(message.message_id.clone(), message.clone());
        Ok(())
    }

    async fn put_new(&self, _: &Context, message: &ChatMessage) -> Result<bool, StoreError> {
        let mut messages = self.messages.lock().unwrap_or_else(|e| e.into_inner());
        let session = messages.entry(message.session_id.clone()).or_default();
        if session.contains_key(&message.message_id) {
            return Ok(false);
        }
        session.insert(message.message_id.clone(), message.clone());
        Ok(true)
    }

    async fn get_message(
        &self,
        _: &Context,
        session_id: &str,
        message_id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        Ok(self
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session_id)
            .and_then(|m| m.get(message_id))
            .cloned())
    }

    async fn claim_session(
        &self,
        _: &Context,
        session_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let mut owners = self.owners.lock().unwrap_or_else(|e| e.into_inner());
        let owner = owners
            .entry(session_id.to_owned())
            .or_insert_with(|| user_id.to_owned());
        Ok(owner == user_id)
    }

    async fn session(&self, _: &Context, session_id: &str) -> Result<Vec<ChatMessage>, StoreError> {
        Ok(self
            .messages
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(session_id)
            .map(|m| {
                let mut all: Vec<ChatMessage> = m.values().cloned().collect();
                all.sort_by(|a, b| (a.timestamp, &a.message_id).cmp(&(b.timestamp, &b.message_id)));
                all
            })
            .unwrap_or_default())
    }
}
