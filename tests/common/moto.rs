//! A real `moto` server on 127.0.0.1 for AWS protocol tests.
//!
//! Found at `$PERFMON_MOTO`, else `.venv/bin/moto_server` (which `.ci/run`
//! installs). Missing locally, the test is skipped with a loud message; with
//! `CI` set, a missing moto fails the test.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub endpoint: String,
}

fn venv() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin")
}

impl Moto {
    pub fn start() -> Option<Moto> {
        let bin = std::env::var("PERFMON_MOTO")
            .map(PathBuf::from)
            .unwrap_or_else(|_| venv().join("moto_server"));
        if !bin.exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "moto_server is not installed; .ci/run must install it"
            );
            eprintln!("SKIPPED: moto_server not installed (run scripts/test.sh, or pip install 'moto[server]' into .venv)");
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(moto)
    }

    /// SDK configuration pointed at this server with static test credentials.
    #[cfg(feature = "aws")]
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(&self.endpoint)
            .region(aws_config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                "test", "test", None, None, "moto",
            ))
            .load()
            .await
    }

    /// Runs `tests/support/moto_cognito.py` against this server.
    pub fn cognito(&self) -> serde_json::Value {
        self.script("moto_cognito.py", "")
    }

    /// Runs `tests/support/moto_xray.py` with `documents` against this server.
    pub fn xray(&self, documents: &serde_json::Value) -> serde_json::Value {
        self.script("moto_xray.py", &documents.to_string())
    }

    /// The traces moto's X-Ray API holds for `trace_ids` (X-Ray format).
    pub fn xray_traces(&self, trace_ids: &[String]) -> serde_json::Value {
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/moto_xray_get.py");
        let out = Command::new(venv().join("python"))
            .arg(script)
            .arg(&self.endpoint)
            .args(trace_ids)
            .output()
            .expect("the venv's python runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Creates the connections and messages tables, laid out as
    /// `src/app/store/dynamodb.rs` documents.
    #[cfg(feature = "aws")]
    pub async fn create_tables(&self, sdk: &aws_config::SdkConfig) -> perfmon::app::store::Tables {
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
        perfmon::app::store::Tables {
            connections: "chat-connections".into(),
            messages: "chat-messages".into(),
        }
    }

    fn script(&self, name: &str, stdin: &str) -> serde_json::Value {
        use std::io::Write;
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/support")
            .join(name);
        let mut child = Command::new(venv().join("python"))
            .arg(script)
            .arg(&self.endpoint)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the venv's python runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
