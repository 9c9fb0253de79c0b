//! DynamoDB storage. Every call is one CLIENT span, made by perfmon's
//! SDK interceptor on the client, with `db.system.name=aws.dynamodb` and
//! `aws.dynamodb.table_names`; a conditional `PutItem` that loses is an
//! expected outcome, so its span stays Unset. Every call is bounded by the
//! invocation's deadline less the flush budget ([`DeadlineTimeouts`]): a
//! table that never answers fails the call as a `timeout` in time for the
//! handler to answer and the trace to be flushed.
//!
//! ## Table layouts
//!
//! **Connections** (`PERFMON_CONNECTIONS_TABLE`), one item per connection:
//!
//! | attribute | type | |
//! |---|---|---|
//! | `connectionId` | S | partition key |
//! | `connectedAt` | N | ms since the epoch |
//! | `userId` | S | Cognito `sub`, set by a successful `auth` |
//! | `authExpiresAt` | N | that token's `exp`, seconds since the epoch |
//! | `expiresAt` | N | seconds since the epoch; enable TTL on it (2 h, API Gateway's connection limit) |
//!
//! **Messages** (`PERFMON_MESSAGES_TABLE`), one item per chat message:
//!
//! | attribute | type | |
//! |---|---|---|
//! | `sessionId` | S | partition key |
//! | `messageId` | S | sort key, `{timestamp:013}#{uuid}`: time-ordered |
//! | `timestamp` | N | ms since the epoch |
//! | `role` | S | `user` or `bot` |
//! | `userId` | S | Cognito `sub` |
//! | `connectionId` | S | |
//! | `text` | S | |

use std::collections::HashMap;

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use opentelemetry::context::FutureExt as _;
use opentelemetry::Context;
use opentelemetry_sdk::trace::SdkTracer;
use perfmon_lambda::aws_sdk::{DeadlineTimeouts, TracingInterceptor};

use super::{
    ChatMessage, Connection, ConnectionStore, MessageStore, Role, StoreError, SESSION_OWNER_ITEM,
};
use crate::sdk_error::describe;

/// Seconds a connection item lives: API Gateway closes connections after 2 h.
const CONNECTION_TTL_SECONDS: i64 = 2 * 60 * 60;

/// The two table names.
#[derive(Debug, Clone)]
pub struct Tables {
    /// Connections table.
    pub connections: String,
    /// Messages table.
    pub messages: String,
}

/// Connections and messages in DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    tables: Tables,
}

type Item = HashMap<String, AttributeValue>;

impl DynamoStore {
    /// A store on a client of `sdk` whose calls `tracer` records.
    pub fn new(sdk: &aws_config::SdkConfig, tables: Tables, tracer: SdkTracer) -> Self {
        let interceptor = TracingInterceptor::with_tracer(tracer)
            .expect_error_in("PutItem", "ConditionalCheckFailedException");
        let config = aws_sdk_dynamodb::config::Builder::from(sdk)
            .interceptor(interceptor)
            .interceptor(DeadlineTimeouts::new())
            .build();
        DynamoStore {
            client: Client::from_conf(config),
            tables,
        }
    }

    /// Runs `call` under `cx`, its span's parent, and names `method` in
    /// its error; `output` picks the result from the response.
    async fn traced<O, E, T, F>(
        &self,
        cx: &Context,
        method: &'static str,
        call: F,
        output: impl FnOnce(O) -> T,
    ) -> Result<T, StoreError>
    where
        F: std::future::Future<Output = Result<O, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        call.with_context(cx.clone())
            .await
            .map(output)
            .map_err(|e| StoreError {
                operation: method,
                message: describe(&e),
            })
    }
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn get_s(item: &Item, key: &str) -> Option<String> {
    item.get(key).and_then(|v| v.as_s().ok()).cloned()
}

fn get_n(item: &Item, key: &str) -> Option<i64> {
    item.get(key)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

#[async_trait::async_trait]
impl ConnectionStore for DynamoStore {
    async fn put(&self, cx: &Context, connection: &Connection) -> Result<(), StoreError> {
        let table = &self.tables.connections;
        let mut item = Item::from([
            ("connectionId".to_owned(), s(&connection.connection_id)),
            ("connectedAt".to_owned(), n(connection.connected_at)),
            (
                "expiresAt".to_owned(),
                n(connection.connected_at / 1000 + CONNECTION_TTL_SECONDS),
            ),
        ]);
        if let Some(user) = &connection.user_id {
            item.insert("userId".to_owned(), s(user));
        }
        if let Some(exp) = connection.auth_expires_at {
            item.insert("authExpiresAt".to_owned(), n(exp));
        }
        let call = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(item))
            .send();
        self.traced(cx, "PutItem", call, drop).await
    }

    async fn get(&self, cx: &Context, id: &str) -> Result<Option<Connection>, StoreError> {
        let table = &self.tables.connections;
        let call = self
            .client
            .get_item()
            .table_name(table)
            .key("connectionId", s(id))
            .consistent_read(true)
            .send();
        let item = self.traced(cx, "GetItem", call, |o| o.item).await?;
        Ok(item.map(|item| Connection {
            connection_id: get_s(&item, "connectionId").unwrap_or_else(|| id.to_owned()),
            connected_at: get_n(&item, "connectedAt").unwrap_or(0),
            user_id: get_s(&item, "userId"),
            auth_expires_at: get_n(&item, "authExpiresAt"),
        }))
    }

    async fn authenticate(
        &self,
        cx: &Context,
        id: &str,
        user_id: &str,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        let table = &self.tables.connections;
        let call = self
            .client
            .update_item()
            .table_name(table)
            .key("connectionId", s(id))
            .update_expression("SET userId = :user, authExpiresAt = :exp")
            .condition_expression("attribute_exists(connectionId)")
            .expression_attribute_values(":user", s(user_id))
            .expression_attribute_values(":exp", n(expires_at))
            .send();
        self.traced(cx, "UpdateItem", call, drop).await
    }

    async fn delete(&self, cx: &Context, id: &str) -> Result<(), StoreError> {
        let table = &self.tables.connections;
        let call = self
            .client
            .delete_item()
            .table_name(table)
            .key("connectionId", s(id))
            .send();
        self.traced(cx, "DeleteItem", call, drop).await
    }
}

#[async_trait::async_trait]
impl MessageStore for DynamoStore {
    async fn put(&self, cx: &Context, m: &ChatMessage) -> Result<(), StoreError> {
        let table = &self.tables.messages;
        let call = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(message_item(m)))
            .send();
        self.traced(cx, "PutItem", call, drop).await
    }

    async fn put_new(&self, cx: &Context, m: &ChatMessage) -> Result<bool, StoreError> {
        let table = &self.tables.messages;
        let call = self
            .client
            .put_item()
            .table_name(table)
            .set_item(Some(message_item(m)))
            .condition_expression("attribute_not_exists(messageId)")
            .send();
        self.conditional_put(cx, call).await
    }

    async fn get_message(
        &self,
        cx: &Context,
        session_id: &str,
        message_id: &str,
    ) -> Result<Option<ChatMessage>, StoreError> {
        let table = &self.tables.messages;
        let call = self
            .client
            .get_item()
            .table_name(table)
            .key("sessionId", s(session_id))
            .key("messageId", s(message_id))
            .consistent_read(true)
            .send();
        let item = self.traced(cx, "GetItem", call, |o| o.item).await?;
        Ok(item.as_ref().and_then(message_of))
    }

    async fn claim_session(
        &self,
        cx: &Context,
        session_id: &str,
        user_id: &str,
    ) -> Result<bool, StoreError> {
        let table = &self.tables.messages;
        let call = self
            .client
            .put_item()
            .table_name(table)
            .item("sessionId", s(session_id))
            .item("messageId", s(SESSION_OWNER_ITEM))
            .item("userId", s(user_id))
            .condition_expression("attribute_not_exists(sessionId) OR userId = :user")
            .expression_attribute_values(":user", s(user_id))
            .send();
        self.conditional_put(cx, call).await
    }

    async fn session(
        &self,
        cx: &Context,
        session_id: &str,
    ) -> Result<Vec<ChatMessage>, StoreError> {
        let table = &self.tables.messages;
        let call = self
            .client
            .query()
            .table_name(table)
            .key_condition_expression("sessionId = :session")
            .expression_attribute_values(":session", s(session_id))
            .consistent_read(true)
            .send();
        let items = self
            .traced(cx, "Query", call, |o| o.items.unwrap_or_default())
            .await?;
        let mut messages: Vec<ChatMessage> = items
            .iter()
            .filter(|item| get_s(item, "messageId").as_deref() != Some(SESSION_OWNER_ITEM))
            .filter_map(message_of)
            .collect();
        // Messages with a client id sort by their id, not their time.
        messages.sort_by(|a, b| (a.timestamp, &a.message_id).cmp(&(b.timestamp, &b.message_id)));
        Ok(messages)
    }
}

impl DynamoStore {
    /// Runs a conditional `PutItem`: `Ok(false)` when its condition failed
    /// (an expected outcome: the interceptor keeps its span Unset).
    async fn conditional_put<F>(&self, cx: &Context, call: F) -> Result<bool, StoreError>
    where
        F: std::future::Future<
            Output = Result<
                aws_sdk_dynamodb::operation::put_item::PutItemOutput,
                SdkError<PutItemError, HttpResponse>,
            >,
        >,
    {
        match call.with_context(cx.clone()).await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(PutItemError::is_conditional_check_failed_exception) =>
            {
                Ok(false)
            }
            Err(e) => Err(StoreError {
                operation: "PutItem",
                message: describe(&e),
            }),
        }
    }
}

/// A message as its item.
fn message_item(m: &ChatMessage) -> Item {
    Item::from([
        ("sessionId".to_owned(), s(&m.session_id)),
        ("messageId".to_owned(), s(&m.message_id)),
        ("timestamp".to_owned(), n(m.timestamp)),
        ("role".to_owned(), s(m.role.as_str())),
        ("userId".to_owned(), s(&m.user_id)),
        ("connectionId".to_owned(), s(&m.connection_id)),
        ("text".to_owned(), s(&m.text)),
    ])
}

/// An item as its message; `None` for an item that is not one.
fn message_of(item: &Item) -> Option<ChatMessage> {
    Some(ChatMessage {
        session_id: get_s(item, "sessionId")?,
        message_id: get_s(item, "messageId")?,
        timestamp: get_n(item, "timestamp")?,
        role: Role::parse(&get_s(item, "role")?)?,
        user_id: get_s(item, "userId").unwrap_or_default(),
        connection_id: get_s(item, "connectionId").unwrap_or_default(),
        text: get_s(item, "text").unwrap_or_default(),
    })
}
