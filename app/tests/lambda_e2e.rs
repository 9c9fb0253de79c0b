//! The pipeline end to end: the real Lambda binaries under the cargo-lambda
//! emulator, invoked with the WebSocket fixtures (connect, auth with a real
//! token from moto's Cognito, message, ping, disconnect), exporting over
//! OTLP to the collector running in Docker, whose X-Ray exporter sends the
//! traces on to moto's X-Ray API; with `OTEL_LOGS_EXPORTER=otlp`, their
//! log records reach the collector too.
//!
//! Needs Docker (scripts/collector.sh installs and starts it) and
//! cargo-lambda in `.venv`. Missing locally, the test is skipped with a loud
//! message; in CI (`CI` set) it must run.
#![cfg(feature = "aws")]

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::app::fixture_json;
use common::collector::{free_port, Collector};
use common::emulator::Emulator;
use common::moto::Moto;
use serde_json::{json, Value};

use common::root;

/// The chat app's package, where `cargo lambda watch` builds its binaries.
fn package() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/support/xray_relay.py` between the collector and moto (rotel
/// labels plain JSON as gzip, which moto cannot read).
struct Relay(Child);

impl Relay {
    fn start(port: u16, moto: &str) -> Relay {
        let child = Command::new(root().join(".venv/bin/python"))
            .arg(root().join("tests/support/xray_relay.py"))
            .arg(port.to_string())
            .arg(moto)
            .stdin(Stdio::null())
            .spawn()
            .expect("the relay starts");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "the relay did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Relay(child)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One span block of the collector's detailed debug output.
#[derive(Debug, Clone)]
struct Span {
    trace_id: String,
    parent_id: String,
    id: String,
    name: String,
    kind: String,
}

fn spans(logs: &str) -> Vec<Span> {
    let field = |block: &str, name: &str| {
        block
            .lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix(name)
                    .map(|v| v.trim_start_matches([' ', ':']).trim().to_owned())
            })
            .unwrap_or_default()
    };
    logs.split("Trace ID       :")
        .skip(1)
        .map(|block| Span {
            trace_id: block.lines().next().unwrap_or_default().trim().to_owned(),
            parent_id: field(block, "Parent ID"),
            id: field(block, "ID             "),
            name: field(block, "Name           "),
            kind: field(block, "Kind           "),
        })
        .collect()
}

fn xray_id(hex: &str) -> String {
    format!("1-{}-{}", &hex[..8], &hex[8..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invocations_reach_the_collector_in_docker_and_x_ray() {
    let Some(moto) = Moto::start() else { return };
    let pool = moto.cognito();
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    let relay_port = free_port();
    let _relay = Relay::start(relay_port, &moto.endpoint);
    let relay = format!("http://127.0.0.1:{relay_port}");
    let Some(collector) = Collector::start(
        "e2e",
        &[
            ("PERFMON_COLLECTOR_TRACES_EXPORTER", "xray"),
            ("PERFMON_COLLECTOR_XRAY_ENDPOINT", &relay),
        ],
    ) else {
        return;
    };
    let s = |v: &Value| v.as_str().unwrap().to_owned();
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", collector.endpoint()),
        ("OTEL_LOGS_EXPORTER", "otlp".to_owned()),
        ("PERFMON_ENVIRONMENT", "e2e".to_owned()),
        ("PERFMON_FLUSH_TIMEOUT_MS", "3000".to_owned()),
    ]
    .into_iter()
    .chain(common::app::function_env(&moto, &pool, &tables))
    .collect::<Vec<_>>();
    let Some(emulator) = Emulator::watch(package(), &["--all-features"], &env) else {
        return;
    };

    let started = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut auth = fixture_json("default-auth");
    auth["body"] = json!(json!({"action": "auth", "token": pool["access_token"]}).to_string());
    let calls = [
        ("ws-connection", fixture_json("connect")),
        ("ws-conversation", auth),
        ("ws-conversation", fixture_json("default-message")),
        ("ws-conversation", fixture_json("default-ping")),
        ("ws-connection", fixture_json("disconnect")),
    ];
    for (function, event) in &calls {
        let response = emulator.invoke(function, event);
        assert_eq!(response["statusCode"], 200, "{function}: {response}");
    }

    // Spans: names, kinds, parent links, X-Ray trace ids.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (logs, spans) = loop {
        let logs = collector.logs();
        let spans = spans(&logs);
        let has = |n: &str| spans.iter().any(|s| s.name == n);
        if [
            "ws-connection",
            "ws-conversation",
            "websocket_connection",
            "websocket_conversation",
            "authentication_jwt_verification",
            "chat_message_processing",
            "DynamoDB.PutItem",
        ]
        .iter()
        .all(|n| has(n))
            && logs.contains("-> Name: ColdStarts")
            && logs.contains("Body: Str(chat message processed)")
        {
            break (logs, spans);
        }
        assert!(
            Instant::now() < deadline,
            "the collector did not receive everything:\n{logs}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
        eprintln!("{logs}");
    }
    let roots: Vec<&Span> = spans
        .iter()
        .filter(|s| s.name == "ws-connection" || s.name == "ws-conversation")
        .collect();
    assert_eq!(roots.len(), calls.len(), "one root per invocation");
    for root in &roots {
        assert_eq!(root.kind, "SPAN_KIND_SERVER");
        assert_eq!(
            root.parent_id.len(),
            16,
            "parented to the emulator's trace header: {root:?}"
        );
        let seconds = u64::from_str_radix(&root.trace_id[..8], 16).unwrap();
        assert!(
            seconds + 3600 > started && seconds < started + 3600,
            "an X-Ray trace id: {root:?}"
        );
    }
    let by_id = |id: &str| spans.iter().find(|s| s.id == id);
    let parent_name = |span: &Span| {
        by_id(&span.parent_id)
            .map(|p| p.name.clone())
            .unwrap_or_default()
    };
    for span in &spans {
        let expected = match span.name.as_str() {
            "websocket_connection" => "ws-connection",
            "websocket_conversation" => "ws-conversation",
            "authentication_jwt_verification" | "chat_message_processing" => {
                "websocket_conversation"
            }
            "DynamoDB.PutItem" if parent_name(span) == "chat_message_processing" => continue,
            _ => continue,
        };
        assert_eq!(parent_name(span), expected, "{span:?}");
    }
    let chat = spans
        .iter()
        .find(|s| s.name == "chat_message_processing")
        .unwrap();
    assert_eq!(chat.kind, "SPAN_KIND_INTERNAL");
    let calls: Vec<_> = spans.iter().filter(|s| s.parent_id == chat.id).collect();
    let names: Vec<&str> = calls.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names.iter().filter(|n| n.starts_with("DynamoDB.")).count(),
        3,
        "the session claim and two puts under the chat span: {names:?}"
    );
    assert!(
        names.contains(&"ApiGatewayManagementApi.PostToConnection"),
        "the reply's post under the chat span: {names:?}"
    );
    assert!(calls.iter().all(|s| s.kind == "SPAN_KIND_CLIENT"));

    // Log records (OTEL_LOGS_EXPORTER=otlp): the chat message's record
    // carries the trace and span of the operation it was logged in.
    let body = logs.find("Body: Str(chat message processed)").unwrap();
    let record = &logs[logs[..body].rfind("LogRecord #").unwrap()..];
    let record = &record[..record.find("Flags:").unwrap_or(record.len())];
    assert!(
        record.contains(&format!("Trace ID       : {}", chat.trace_id))
            && record.contains(&format!("Span ID        : {}", chat.id))
            && record.contains("-> database_operations: Int(3)"),
        "{record}\n{chat:?}"
    );

    // Metrics: catalog names, units and dimensions, Delta.
    for needle in [
        "-> Name: HandlerDuration",
        "-> Unit: ms",
        "-> Name: MemoryUsage",
        "-> Name: Invocations",
        "-> Name: Messages",
        "-> Name: Verifications",
        "-> Name: ColdStarts",
        "-> Handler: Str(chat_message_processing)",
        "-> Environment: Str(e2e)",
        "-> Function: Str(ws-conversation)",
        "-> AggregationTemporality: AGGREGATION_TEMPORALITY_DELTA",
    ] {
        assert!(logs.contains(needle), "{needle} in:\n{logs}");
    }
    assert!(
        !logs.contains(&s(&pool["access_token"])[..60]),
        "no token reaches the collector"
    );

    // Traces to X-Ray: the collector's exporter sent them to moto.
    let trace_ids: Vec<String> = roots.iter().map(|r| xray_id(&r.trace_id)).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let traces = moto.xray_traces(&trace_ids);
        let found: Vec<&str> = traces
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| !t["segments"].as_array().unwrap().is_empty())
            .map(|t| t["id"].as_str().unwrap())
            .collect();
        if trace_ids.iter().all(|id| found.contains(&id.as_str())) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "X-Ray has {found:?} of {trace_ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
