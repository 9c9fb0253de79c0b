//! Faults the lab's load can inject into the chat path, to watch an alarm
//! fire in the dashboard preview and clear when the fault is lifted: a
//! slow store, or a store whose writes fail. Connections are left alone,
//! so clients stay connected through the fault.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;

use crate::store::{
    ChatMessage, Connection, ConnectionStore, MemoryStore, MessageStore, StoreError,
};

/// What goes wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Every message-store call waits this long first.
    SlowStore(Duration),
    /// Every message-store write fails, as a throttled or missing table
    /// would.
    StoreErrors,
}

/// The embedded store with a fault that can be switched on and off.
#[derive(Debug)]
pub struct FaultyStore {
    inner: Arc<MemoryStore>,
    kind: FaultKind,
    on: Arc<AtomicBool>,
}

impl FaultyStore {
    /// `inner` with `kind`, on while `on` is set.
    pub fn new(inner: Arc<MemoryStore>, kind: FaultKind, on: Arc<AtomicBool>) -> Self {
        FaultyStore { inner, kind, on }
    }

    /// Applies the fault, if on, to a call named `operation`.
    async fn strike(&self, operation: &'static str) -> Result<(), StoreError> {
        if !self.on.load(Ordering::Relaxed) {
            return Ok(());
        }
        match self.kind {
            FaultKind::SlowStore(delay) => {
                tokio::time::sleep(delay).await;
                Ok(())
            }
            FaultKind::StoreErrors => Err(StoreError {
                operation,
                message: "injected fault: the store is failing".into(),
            }),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionStore for FaultyStore {
    async fn put(&self, cx: &Context, connection: &Connection) -> Result<(), StoreError> {
        ConnectionStore::put(&*self.inner, cx, connection).await
    }
    async fn get(&self, cx: &Context, id: &str) -> Result<Option<Connection>, StoreError> {
        self.inner.get(cx, id).await
    }
    async fn authenticate(
        &self,
        cx: &Context,
        id: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.inner.authenticate(cx, id, user_id, expires_at).await
    }
    async fn delete(&self, cx: &Context, id: &str) -> Result<(), StoreError> {
        self.inner.delete(cx, id).await
    }
}

#[async_trait::async_trait]
impl MessageStore for FaultyStore {
    async fn put(&self, cx: &Context, message: &ChatMessage) -> Result<(), StoreError> {
        self.strike("PutItem").await?;
        MessageStore::put(&*self.inner, cx, message).await
    }
    async fn put_new(&self, cx: &Context, message: &ChatMessage) -> Result<bool, StoreError> {
        self.strike("PutItem").await?;
        self.inner.put_new(cx, message).await
    }
    async fn get_message(
        &self,
        cx: &Context,
        session_id: &str,
        message_id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        self.inner.get_message(cx, session_id, message_id).await
    }
    async fn claim_session(
        &self,
        cx: &Context,
        session_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        self.strike("PutItem").await?;
        self.inner.claim_session(cx, session_id, user_id).await
    }
    async fn session(
        &self,
        cx: &Context,
        session_id: &str,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        self.inner.session(cx, session_id).await
    }
}
