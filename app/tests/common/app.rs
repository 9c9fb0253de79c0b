//! Fixtures and a local application for handler tests.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use perfmon_chat::local::LocalApp;
use perfmon_chat::ChatMonitor;

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

/// The connection id every fixture uses.
pub const CONNECTION: &str = "SlRtFcbfoAMCJRg=";

/// A local app on the test telemetry, with the fixtures' connection
/// registered so replies can be read.
pub struct TestApp {
    pub local: LocalApp,
    pub replies: tokio::sync::mpsc::UnboundedReceiver<String>,
}

impl TestApp {
    pub fn new(t: &super::TestTelemetry) -> Self {
        let local = LocalApp::new(ChatMonitor::new(t.monitor.clone()).expect("the chat catalog"));
        let replies = local.poster.register(CONNECTION);
        TestApp { local, replies }
    }

    /// Every reply posted so far, parsed.
    pub fn drain(&mut self) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        while let Ok(text) = self.replies.try_recv() {
            out.push(serde_json::from_str(&text).unwrap());
        }
        out
    }
}

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
