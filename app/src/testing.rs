//! Test doubles for the chat app's own tests and for a team that builds on
//! it: [`TestApp`], a local app on test telemetry that signs in in one call,
//! and [`FailingConnections`], a connection store whose chosen calls fail
//! as DynamoDB's would.

use std::collections::HashMap;

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use opentelemetry::Context;
use perfmon_lambda::testing::TestTelemetry;
use serde_json::{json, Value};

use crate::local::LocalApp;
use crate::metrics::ChatMonitor;
use crate::store::{Connection, ConnectionStore, MemoryStore, StoreError};

/// The connection id every fixture in `app/tests/fixtures/` uses, and
/// [`TestApp`] registers.
pub const CONNECTION: &str = "SlRtFcbfoAMCJRg=";
/// When the fixtures' connection was opened (ms since the epoch).
pub const CONNECTED_AT: i64 = 1707503007396;

/// The chat monitor on `t`'s pipeline.
pub fn chat(t: &TestTelemetry) -> ChatMonitor {
    ChatMonitor::new(t.monitor.clone()).expect("the chat catalog declares every business metric")
}

/// A local app on `t`'s telemetry, with [`CONNECTION`] registered so that
/// the replies posted to it can be read.
pub struct TestApp {
    /// The app and its local parts.
    pub local: LocalApp,
    /// What was posted to [`CONNECTION`].
    pub replies: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl TestApp {
    /// The app on `t`'s pipeline and the chat catalog `t` was built with.
    pub fn new(t: &TestTelemetry) -> Self {
        let local = LocalApp::new(ChatMonitor::new(t.monitor.clone()).expect("the chat catalog"));
        let replies = local.poster.register(CONNECTION);
        TestApp { local, replies }
    }

    /// Every reply posted so far, parsed.
    pub fn drain(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(text) = self.replies.try_recv() {
            out.push(serde_json::from_str(&text).expect("a reply is JSON"));
        }
        out
    }

    /// Signs [`CONNECTION`] in as the user `sub` with a token of the local
    /// issuer valid for ten minutes, as a client's `auth` frame does, and
    /// returns the reply: an `auth_success` frame, or the error frame that
    /// refused it.
    pub async fn sign_in(&mut self, sub: &str) -> Value {
        self.sign_in_for(sub, 600).await
    }

    /// [`sign_in`](Self::sign_in) with a token that expires `ttl_seconds`
    /// from now (negative: already expired).
    pub async fn sign_in_for(&mut self, sub: &str, ttl_seconds: i64) -> Value {
        let token = self
            .local
            .issuer
            .id_token(sub, sub, "u@example.com", ttl_seconds);
        self.sign_in_with(&token).await
    }

    /// Sends an `auth` frame carrying `token` on [`CONNECTION`] and returns
    /// the reply.
    pub async fn sign_in_with(&mut self, token: &str) -> Value {
        let frame = json!({"action": "auth", "token": token}).to_string();
        let _ = self.local.app.handle(auth_event(&frame)).await;
        self.drain()
            .into_iter()
            .next()
            .expect("the app answers an auth frame")
    }
}

/// The `auth` event API Gateway sent (`app/tests/fixtures/default-auth.json`)
/// with `frame` as its body.
fn auth_event(frame: &str) -> ApiGatewayWebsocketProxyRequest {
    let mut event: Value = serde_json::from_str(AUTH_FIXTURE).expect("the fixture is JSON");
    event["body"] = Value::String(frame.to_owned());
    serde_json::from_value(event).expect("the fixture is an API Gateway WebSocket event")
}

const AUTH_FIXTURE: &str = include_str!("../tests/fixtures/default-auth.json");

/// A connection store whose chosen calls fail with a chosen message, as a
/// throttled, denied or missing DynamoDB table does; every other call goes
/// to an embedded store.
///
/// Calls are named as DynamoDB names them: `PutItem` (put), `GetItem`
/// (get), `UpdateItem` (authenticate) and `DeleteItem` (delete).
#[derive(Debug, Default)]
pub struct FailingConnections {
    inner: MemoryStore,
    failures: HashMap<&'static str, String>,
}

impl FailingConnections {
    /// A store that fails nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails every `operation` call with `message`.
    pub fn failing(mut self, operation: &'static str, message: impl Into<String>) -> Self {
        self.failures.insert(operation, message.into());
        self
    }

    fn strike(&self, operation: &'static str) -> Result<(), StoreError> {
        match self.failures.get(operation) {
            Some(message) => Err(StoreError {
                operation,
                message: message.clone(),
            }),
            None => Ok(()),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionStore for FailingConnections {
    async fn put(&self, cx: &Context, connection: &Connection) -> Result<(), StoreError> {
        self.strike("PutItem")?;
        ConnectionStore::put(&self.inner, cx, connection).await
    }
    async fn get(&self, cx: &Context, id: &str) -> Result<Option<Connection>, StoreError> {
        self.strike("GetItem")?;
        self.inner.get(cx, id).await
    }
    async fn authenticate(
        &self,
        cx: &Context,
        id: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        self.strike("UpdateItem")?;
        self.inner.authenticate(cx, id, user_id, expires_at).await
    }
    async fn delete(&self, cx: &Context, id: &str) -> Result<(), StoreError> {
        self.strike("DeleteItem")?;
        self.inner.delete(cx, id).await
    }
}
