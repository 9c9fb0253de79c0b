//! Fixtures and a local application for handler tests.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;

/// A real API Gateway WebSocket event from `tests/fixtures/`.
pub fn fixture(name: &str) -> ApiGatewayWebsocketProxyRequest {
    serde_json::from_value(fixture_json(name)).expect("fixture is an API Gateway WebSocket event")
}

/// The fixture as JSON, to change a field before use.
pub fn fixture_json(name: &str) -> serde_json::Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The fixture with its body replaced.
pub fn fixture_with_body(name: &str, body: &str) -> ApiGatewayWebsocketProxyRequest {
    let mut json = fixture_json(name);
    json["body"] = serde_json::Value::String(body.to_owned());
    serde_json::from_value(json).unwrap()
}

pub use perfmon_chat::testing::{FailingConnections, TestApp, CONNECTION};

/// Creates the connections and messages tables, laid out as
/// `app/src/store/dynamodb.rs` documents.
#[cfg(feature = "aws")]
pub async fn create_tables(sdk: &aws_config::SdkConfig) -> perfmon_chat::store::Tables {
    use aws_sdk_dynamodb::types::{
        AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
    };
    let client = aws_sdk_dynamodb::Client::new(sdk);
    let attr = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .unwrap()
    };
    let key = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .unwrap()
    };
    client
        .create_table()
        .table_name("chat-connections")
        .attribute_definitions(attr("connectionId"))
        .key_schema(key("connectionId", KeyType::Hash))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    client
        .create_table()
        .table_name("chat-messages")
        .attribute_definitions(attr("sessionId"))
        .attribute_definitions(attr("messageId"))
        .key_schema(key("sessionId", KeyType::Hash))
        .key_schema(key("messageId", KeyType::Range))
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    perfmon_chat::store::Tables {
        connections: "chat-connections".into(),
        messages: "chat-messages".into(),
    }
}

/// The environment that points a function's AWS SDK at `moto`, as
/// [`sdk_config`] points the test's: its endpoint, region and static test
/// credentials, no instance metadata.
#[cfg(feature = "aws")]
pub fn moto_env(moto: &super::moto::Moto) -> [(&'static str, String); 5] {
    [
        ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_owned()),
    ]
}

/// SDK configuration pointed at `moto` with static test credentials.
#[cfg(feature = "aws")]
pub async fn sdk_config(moto: &super::moto::Moto) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "moto",
        ))
        .load()
        .await
}

/// The fixtures' connection as `auth` leaves it: authenticated as `sub-42`.
pub fn authenticated_connection() -> perfmon_chat::store::Connection {
    perfmon_chat::store::Connection {
        connection_id: CONNECTION.to_owned(),
        connected_at: perfmon_chat::testing::CONNECTED_AT,
        user_id: Some("sub-42".to_owned()),
        auth_expires_at: None,
    }
}

/// Stores [`authenticated_connection`] in the connections table on moto.
#[cfg(feature = "aws")]
pub async fn store_authenticated_connection(
    sdk: &aws_config::SdkConfig,
    tables: &perfmon_chat::store::Tables,
) {
    use opentelemetry::trace::TracerProvider as _;
    use perfmon_chat::store::ConnectionStore as _;
    perfmon_chat::store::DynamoStore::new(
        sdk,
        tables.clone(),
        opentelemetry_sdk::trace::SdkTracerProvider::default().tracer("test"),
    )
    .put(&opentelemetry::Context::new(), &authenticated_connection())
    .await
    .expect("the connection is stored");
}

/// What a Lambda binary of the app reads, pointed at `moto`: the Cognito
/// pool (`Moto::cognito`), the tables, the Management API and the SDK's
/// endpoint and credentials.
#[cfg(feature = "aws")]
pub fn function_env(
    moto: &super::moto::Moto,
    pool: &serde_json::Value,
    tables: &perfmon_chat::store::Tables,
) -> Vec<(&'static str, String)> {
    let s = |key: &str| pool[key].as_str().expect("the pool field").to_owned();
    [
        ("PERFMON_COGNITO_ISSUER", s("issuer")),
        ("PERFMON_COGNITO_CLIENT_ID", s("client_id")),
        ("PERFMON_COGNITO_JWKS_URL", s("jwks_url")),
        ("PERFMON_CONNECTIONS_TABLE", tables.connections.clone()),
        ("PERFMON_MESSAGES_TABLE", tables.messages.clone()),
        ("PERFMON_MANAGEMENT_ENDPOINT", moto.endpoint.clone()),
    ]
    .into_iter()
    .chain(moto_env(moto))
    .collect()
}

/// The chat's verifier of access tokens from a moto Cognito `pool`
/// (`Moto::cognito`), its keys fetched over HTTP.
#[cfg(feature = "aws")]
pub fn moto_auth(
    t: &super::TestTelemetry,
    pool: &serde_json::Value,
) -> perfmon_chat::auth::AuthenticationService {
    use perfmon_chat::auth::{AuthConfig, AuthenticationService, HttpJwks};
    let field = |key: &str| pool[key].as_str().expect("the pool field");
    AuthenticationService::new(
        AuthConfig::new(field("issuer"), field("client_id")),
        HttpJwks::new(field("jwks_url")).expect("a JWKS client"),
        super::chat(t),
    )
}
