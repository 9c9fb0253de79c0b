//! The DynamoDB store and the Management API poster against moto over
//! HTTP, and the whole chat flow on them: every DynamoDB call is a CLIENT
//! child span with the semantic-convention attributes; and a table that
//! never answers, whose call times out within the invocation's deadline.
#![cfg(feature = "aws")]

mod common;

use std::sync::Arc;

use common::app::{fixture, fixture_with_body, CONNECTION};
use common::moto::Moto;
use common::{span_attrs, Value};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::Context;
use perfmon_chat::post::{ApiGatewayPoster, Poster};
use perfmon_chat::store::{
    ChatMessage, Connection, ConnectionStore, DynamoStore, MessageStore, Role,
};
use perfmon_chat::App;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_round_trips_and_traces_every_call() {
    let Some(moto) = Moto::start() else { return };
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    let t = common::telemetry();
    let store = DynamoStore::new(&sdk, tables, t.telemetry.tracer());
    let cx = Context::new();

    let connection = Connection {
        connection_id: "c-1=".into(),
        connected_at: 1707503007396,
        user_id: None,
        auth_expires_at: None,
    };
    ConnectionStore::put(&store, &cx, &connection)
        .await
        .unwrap();
    assert_eq!(
        store.get(&cx, "c-1=").await.unwrap(),
        Some(connection.clone())
    );
    store
        .authenticate(&cx, "c-1=", "sub-9", 4_102_444_800)
        .await
        .unwrap();
    let authenticated = store.get(&cx, "c-1=").await.unwrap().unwrap();
    assert_eq!(authenticated.user_id.as_deref(), Some("sub-9"));
    assert_eq!(authenticated.auth_expires_at, Some(4_102_444_800));
    let missing = store
        .authenticate(&cx, "gone=", "sub-9", 4_102_444_800)
        .await
        .unwrap_err();
    assert_eq!(
        missing.operation, "UpdateItem",
        "the condition holds: {missing}"
    );
    store.delete(&cx, "c-1=").await.unwrap();
    assert_eq!(store.get(&cx, "c-1=").await.unwrap(), None);

    for (i, role) in [Role::User, Role::Bot, Role::User].into_iter().enumerate() {
        let m = ChatMessage {
            session_id: "s-1".into(),
            message_id: format!("{:013}#{i}", 1_000 + i),
            timestamp: 1_000 + i as i64,
            role,
            user_id: "sub-9".into(),
            connection_id: "c-1=".into(),
            text: format!("text {i}"),
        };
        MessageStore::put(&store, &cx, &m).await.unwrap();
    }
    let session = store.session(&cx, "s-1").await.unwrap();
    let texts: Vec<_> = session.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["text 0", "text 1", "text 2"]);

    let spans = t.spans();
    let methods: Vec<_> = spans.iter().map(|s| s.name.to_string()).collect();
    assert_eq!(
        &methods[..6],
        [
            "DynamoDB.PutItem",
            "DynamoDB.GetItem",
            "DynamoDB.UpdateItem",
            "DynamoDB.GetItem",
            "DynamoDB.UpdateItem",
            "DynamoDB.DeleteItem"
        ]
    );
    let put = &spans[0];
    assert_eq!(put.span_kind, SpanKind::Client);
    let attrs = span_attrs(put);
    assert_eq!(attrs["rpc.system"], "aws-api");
    assert_eq!(attrs["rpc.service"], "DynamoDB");
    assert_eq!(attrs["rpc.method"], "PutItem");
    assert_eq!(attrs["aws.dynamodb.table_names"], "[\"chat-connections\"]");
    assert_eq!(attrs["db.system.name"], "aws.dynamodb");
    assert_eq!(attrs["aws.region"], "us-east-1");
    assert!(
        matches!(spans[4].status, Status::Error { .. }),
        "the failed update"
    );
    // A session belongs to the user who claimed it first, in one
    // conditional write.
    assert!(MessageStore::claim_session(&store, &cx, "s-owned", "sub-9")
        .await
        .unwrap());
    assert!(MessageStore::claim_session(&store, &cx, "s-owned", "sub-9")
        .await
        .unwrap());
    assert!(
        !MessageStore::claim_session(&store, &cx, "s-owned", "sub-mallory")
            .await
            .unwrap()
    );
    assert!(
        MessageStore::session(&store, &cx, "s-owned")
            .await
            .unwrap()
            .is_empty(),
        "the owner item is not a message"
    );
    // A message with a client id is written once.
    let retried = ChatMessage {
        session_id: "s-owned".into(),
        message_id: "c#m-1#q".into(),
        timestamp: 7,
        role: Role::User,
        user_id: "sub-9".into(),
        connection_id: "c-1=".into(),
        text: "once".into(),
    };
    assert!(MessageStore::put_new(&store, &cx, &retried).await.unwrap());
    let again = ChatMessage {
        text: "twice".into(),
        ..retried.clone()
    };
    assert!(!MessageStore::put_new(&store, &cx, &again).await.unwrap());
    assert_eq!(
        MessageStore::get_message(&store, &cx, "s-owned", "c#m-1#q")
            .await
            .unwrap(),
        Some(retried)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn posting_to_a_connection_uses_the_management_api() {
    let Some(moto) = Moto::start() else { return };
    let sdk = common::app::sdk_config(&moto).await;
    let t = common::telemetry();
    // moto serves the Management API without a stage prefix.
    let poster = ApiGatewayPoster::new(&sdk, &moto.endpoint, t.telemetry.tracer());
    poster
        .post(
            &Context::new(),
            CONNECTION,
            r#"{"type":"pong","timestamp":1}"#,
        )
        .await
        .unwrap();
    // One CLIENT span, which X-Ray draws as the Management API's node.
    let span = t.span("ApiGatewayManagementApi.PostToConnection");
    assert_eq!(span.span_kind, opentelemetry::trace::SpanKind::Client);
    assert_eq!(span.status, Status::Unset);
    let attrs = common::span_attrs(&span);
    assert_eq!(attrs["rpc.system"], "aws-api");
    assert_eq!(attrs["rpc.service"], "ApiGatewayManagementApi");
    assert_eq!(attrs["rpc.method"], "PostToConnection");
    assert_eq!(attrs["http.response.status_code"], "200");
    assert_eq!(attrs["aws.region"], "us-east-1");
    assert_eq!(attrs["cloud.region"], "us-east-1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_session_on_dynamodb_cognito_and_the_management_api() {
    let Some(moto) = Moto::start() else { return };
    let pool = moto.cognito();
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    let t = common::telemetry();
    let store = Arc::new(DynamoStore::new(&sdk, tables, t.telemetry.tracer()));
    let poster = Arc::new(ApiGatewayPoster::new(
        &sdk,
        &moto.endpoint,
        t.telemetry.tracer(),
    ));
    let auth = common::app::moto_auth(&t, &pool);
    let app = App::new(common::chat(&t), auth, store.clone(), poster);
    let cx = Context::new();

    app.handle(fixture("connect")).await.unwrap();
    let auth_frame = json!({"action": "auth", "token": pool["access_token"]}).to_string();
    app.handle(fixture_with_body("default-auth", &auth_frame))
        .await
        .unwrap();
    let stored = store.get(&cx, CONNECTION).await.unwrap().unwrap();
    assert_eq!(
        stored.user_id.as_ref(),
        pool["sub"].as_str().map(str::to_owned).as_ref()
    );
    app.handle(fixture("default-message")).await.unwrap();
    let history = store.session(&cx, "session-42").await.unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].role, Role::User);
    assert_eq!(
        history[1].text,
        "Hello! I am the perfmon demo bot. Ask me anything."
    );
    app.handle(fixture("default-ping")).await.unwrap();
    app.handle(fixture("disconnect")).await.unwrap();
    assert_eq!(store.get(&cx, CONNECTION).await.unwrap(), None);

    let spans = t.spans();
    let chat = spans
        .iter()
        .find(|s| s.name == "chat_message_processing")
        .unwrap();
    assert_eq!(chat.status, Status::Unset);
    let children: Vec<_> = spans
        .iter()
        .filter(|s| s.parent_span_id == chat.span_context.span_id())
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(
        children,
        [
            "DynamoDB.PutItem", // the session's owner item
            "DynamoDB.PutItem",
            "DynamoDB.PutItem",
            "ApiGatewayManagementApi.PostToConnection"
        ]
    );
    assert_eq!(t.points_named("DatabaseOperations")[0].value, Value::Sum(3));
    assert_eq!(t.points_named("MessagesProcessed")[0].value, Value::Sum(1));
}

/// A table that takes requests and never answers, under the Lambda layer
/// with a 1 s deadline (the default 500 ms flush budget): the store's call
/// fails as a timeout before the layer's own deadline, the handler answers,
/// and the whole trace is exported before the invocation's deadline.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_that_never_answers_still_leaves_its_trace_before_the_deadline() {
    use lambda_runtime::tower::{Layer as _, Service as _, ServiceExt as _};
    use std::time::{Duration, Instant};

    let endpoint = format!("http://{}", common::never_answers());
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    let t = common::telemetry();
    let store = Arc::new(DynamoStore::new(
        &sdk,
        perfmon_chat::store::Tables {
            connections: "connections".into(),
            messages: "messages".into(),
        },
        t.telemetry.tracer(),
    ));
    let poster = Arc::new(perfmon_chat::post::LocalPoster::new());
    let issuer = perfmon_chat::auth::DevIssuer::new();
    let auth = perfmon_chat::auth::AuthenticationService::local(&issuer, common::chat(&t));
    let app = Arc::new(App::new(common::chat(&t), auth, store, poster));
    let handler = lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<
            aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest,
        >| {
            let app = app.clone();
            async move { app.handle(event.payload).await }
        },
    );
    let mut service = perfmon_lambda::lambda::PerformanceLayer::new(
        t.telemetry.clone(),
        t.monitor.clone(),
        Duration::from_millis(500),
    )
    .layer(handler);
    let started = Instant::now();
    let deadline_ms = perfmon_lambda::clock::now_ms() as u64 + 1_000;
    let answer = service
        .ready()
        .await
        .unwrap()
        .call(lambda_runtime::LambdaEvent::new(
            fixture("default-message"),
            common::lambda_context("req-hung-table", None, deadline_ms),
        ))
        .await;
    let answered = started.elapsed();
    // The work time is 500 ms (half the time: the budget and its margin
    // would leave 450 ms), the store's call 450 ms (less the call margin).
    assert!(
        answered >= Duration::from_millis(400) && answered < Duration::from_secs(1),
        "{answered:?}"
    );
    match answer {
        Err(perfmon_chat::AppError::Store(e)) => {
            assert_eq!(e.operation, "GetItem");
            assert!(e.message.contains("timed out"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // Exported by the time the handler answered: nothing flushed here.
    let spans = t.exported_spans();
    let span = |name: &str| {
        spans
            .iter()
            .find(|s| s.name == name)
            .unwrap_or_else(|| panic!("{name} in {spans:#?}"))
    };
    let (root, operation, call) = (
        span("ws-conversation"),
        span("websocket_conversation"),
        span("DynamoDB.GetItem"),
    );
    assert_eq!(call.status, Status::error("timeout"));
    assert_eq!(span_attrs(call)["error.type"], "timeout");
    assert_eq!(call.parent_span_id, operation.span_context.span_id());
    assert_eq!(operation.status, Status::error("DATABASE_ERROR"));
    assert_eq!(operation.parent_span_id, root.span_context.span_id());
    // The handler answers within the call margin (50 ms), before the
    // layer's own deadline; on a machine too loaded for that, the layer
    // ends the root first, as `timeout`, and the rest follows.
    assert!(
        [Status::error("DATABASE_ERROR"), Status::error("timeout")].contains(&root.status),
        "{:?}",
        root.status
    );
}
