//! Fixtures and a local application for handler tests.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use perfmon::app::local::LocalApp;

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
        let local = LocalApp::new(t.monitor.clone());
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
