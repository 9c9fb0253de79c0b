//! The X-Ray service map of the chat app, the same on both export paths
//! (DESIGN §6). The real `ws-connection` and `ws-conversation` executables
//! run as Lambda runs them (against the emulator's Runtime API, moto for
//! DynamoDB, Cognito and the Management API), once exporting segment
//! documents over UDP to a daemon socket, once exporting OTLP/JSON that the
//! collector's `awsxray` rules turn into documents (`common::xray_map`).
//! Each invocation's documents are drawn as X-Ray would draw them.
#![cfg(feature = "aws")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::mpsc::Receiver;
use std::time::{Duration, Instant};

use common::app::fixture_json;
use common::capture::{self, Received};
use common::emulator::{Emulator, Function};
use common::jwks_endpoint::{Endpoint, Mode};
use common::moto::Moto;
use common::xray_map::{awsxray_documents, ServiceMap};
use serde_json::{json, Value};

const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";
const INDEXED: &[&str] = &["perf_handler", "perf_outcome"];

/// Where the functions' traces go, and how one invocation's documents are
/// read back.
enum Export {
    Udp(UdpSocket),
    Otlp(SocketAddr, Receiver<Received>),
}

impl Export {
    fn label(&self) -> &'static str {
        match self {
            Export::Udp(_) => "UDP (opentelemetry-aws)",
            Export::Otlp(..) => "ADOT (awsxray rules)",
        }
    }

    fn env(&self) -> Vec<(&'static str, String)> {
        match self {
            Export::Udp(socket) => vec![
                ("OTEL_TRACES_EXPORTER", "xray".to_owned()),
                (
                    "AWS_XRAY_DAEMON_ADDRESS",
                    socket.local_addr().unwrap().to_string(),
                ),
            ],
            Export::Otlp(addr, _) => vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", format!("http://{addr}")),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json".to_owned()),
                ("OTEL_METRICS_EXPORTER", "none".to_owned()),
            ],
        }
    }

    /// The documents of the invocation just made: read until its segment
    /// (the one document that is not a subsegment) has arrived.
    fn documents(&self) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut docs = Vec::new();
        let has_segment = |docs: &[Value]| docs.iter().any(|d| d["type"] != "subsegment");
        while !has_segment(&docs) {
            assert!(Instant::now() < deadline, "no segment arrived: {docs:?}");
            docs.extend(self.receive());
        }
        // Whatever of the same flush is still in flight.
        docs.extend(self.receive());
        docs
    }

    fn receive(&self) -> Vec<Value> {
        match self {
            Export::Udp(socket) => {
                let mut buf = [0u8; 65536];
                let mut docs = Vec::new();
                while let Ok(n) = socket.recv(&mut buf) {
                    let text = std::str::from_utf8(&buf[..n]).unwrap();
                    let body = text.strip_prefix(DAEMON_HEADER).expect("the daemon header");
                    docs.push(serde_json::from_str(body).unwrap());
                }
                docs
            }
            Export::Otlp(_, rx) => {
                let mut docs = Vec::new();
                while let Ok(r) = rx.recv_timeout(Duration::from_millis(300)) {
                    if r.path == "/v1/traces" {
                        let request: Value = serde_json::from_slice(&r.body).unwrap();
                        docs.extend(awsxray_documents(&request, INDEXED));
                    }
                }
                docs
            }
        }
    }
}

/// A DynamoDB endpoint that throttles every request, as DynamoDB answers
/// when a table's throughput is exceeded (HTTP 400 with a
/// `ProvisionedThroughputExceededException`); moto does not throttle.
fn throttling_dynamodb() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut length = 0;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" || line.is_empty() {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap_or(0);
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let answer = r#"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}"#;
                    let _ = write!(
                        stream,
                        "HTTP/1.1 400 Bad Request\r\nx-amzn-requestid: THROTTLED0000000000000000000000000000000000000000000\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{answer}",
                        answer.len()
                    );
                }
            });
        }
    });
    addr
}

/// One invocation: its label and the map of its documents.
struct Drawn {
    label: &'static str,
    map: ServiceMap,
}

/// Runs the chat's invocations with traces going to `export`; `None` when
/// moto or the emulator is not installed (a loud skip outside CI).
async fn run(export: &Export) -> Option<Vec<Drawn>> {
    let moto = Moto::start()?;
    let pool = moto.cognito();
    // The pool's keys behind an endpoint that fails the function's prefetch
    // at init (and its retry): the first `auth` then fetches them, inside
    // its invocation.
    let keys = reqwest::get(pool["jwks_url"].as_str().unwrap())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let jwks = Endpoint::start(Mode::Serve(keys));
    jwks.fail_first(2);
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    let s = |v: &Value| v.as_str().unwrap().to_owned();
    let env: Vec<(&str, String)> = [
        ("PERFMON_ENVIRONMENT", "e2e".to_owned()),
        ("PERFMON_FLUSH_TIMEOUT_MS", "3000".to_owned()),
        ("PERFMON_COGNITO_ISSUER", s(&pool["issuer"])),
        ("PERFMON_COGNITO_CLIENT_ID", s(&pool["client_id"])),
        ("PERFMON_COGNITO_JWKS_URL", jwks.url()),
        ("PERFMON_CONNECTIONS_TABLE", tables.connections.clone()),
        ("PERFMON_MESSAGES_TABLE", tables.messages.clone()),
        ("PERFMON_MANAGEMENT_ENDPOINT", moto.endpoint.clone()),
    ]
    .into_iter()
    .chain(common::app::moto_env(&moto))
    .chain(export.env())
    .collect();
    let start = |name: &str, env: &[(&str, String)]| -> Option<(Emulator, Function)> {
        let emulator = Emulator::runtime_api(name)?;
        let exe = match name {
            "ws-connection" => env!("CARGO_BIN_EXE_ws-connection"),
            _ => env!("CARGO_BIN_EXE_ws-conversation"),
        };
        let function = Function::start(Path::new(exe), name, &emulator, env);
        Some((emulator, function))
    };
    let (connection, _connection_fn) = start("ws-connection", &env)?;
    let (conversation, conversation_fn) = start("ws-conversation", &env)?;
    let mut drawn = Vec::new();
    let mut invoke = |emulator: &Emulator, label: &'static str, event: Value| {
        let answer = emulator.invoke("_", &event);
        let map = ServiceMap::of(&export.documents());
        if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
            eprintln!("== {} · {label}: {answer}\n{map}", export.label());
        }
        drawn.push(Drawn { label, map });
    };

    let auth = |token: &Value| {
        let mut event = fixture_json("default-auth");
        event["body"] = json!(json!({"action": "auth", "token": token}).to_string());
        event
    };
    invoke(&connection, "$connect", fixture_json("connect"));
    invoke(&conversation, "auth", auth(&pool["access_token"]));
    assert_eq!(
        jwks.requests(),
        3,
        "the failed prefetch and its retry, then the first auth's fetch"
    );
    invoke(&conversation, "message", fixture_json("default-message"));
    invoke(&conversation, "invalid token", auth(&json!("not-a-token")));
    aws_sdk_dynamodb::Client::new(&sdk)
        .delete_table()
        .table_name(&tables.messages)
        .send()
        .await
        .unwrap();
    invoke(
        &conversation,
        "storage failure",
        fixture_json("default-message"),
    );
    invoke(&connection, "$disconnect", fixture_json("disconnect"));
    drop(conversation_fn);

    // The same chat message against a DynamoDB that throttles.
    let throttled_env: Vec<(&str, String)> = env
        .iter()
        .cloned()
        .chain([(
            "AWS_ENDPOINT_URL_DYNAMODB",
            format!("http://{}", throttling_dynamodb()),
        )])
        .collect();
    let (throttled, _throttled_fn) = start("ws-conversation", &throttled_env)?;
    invoke(&throttled, "throttled", fixture_json("default-message"));
    Some(drawn)
}

fn find<'a>(drawn: &'a [Drawn], label: &str) -> &'a ServiceMap {
    &drawn.iter().find(|d| d.label == label).unwrap().map
}

fn check(export: &Export, drawn: &[Drawn]) {
    let path = export.label();
    for d in drawn {
        let map = &d.map;
        // Exactly one segment per invocation comes from our code, named by
        // the function, with no origin on either path.
        assert_eq!(map.segments.len(), 1, "{path} · {}: {map}", d.label);
        let segment = &map.segments[0];
        assert!(
            segment["name"] == "ws-conversation" || segment["name"] == "ws-connection",
            "{path}: {segment}"
        );
        assert!(segment.get("origin").is_none(), "{path}: {segment}");
    }

    let message = find(drawn, "message");
    assert!(
        message.has_edge("ws-conversation", "DynamoDB"),
        "{path}: {message}"
    );
    assert!(
        message.has_edge("ws-conversation", "ApiGatewayManagementApi"),
        "{path}: {message}"
    );
    assert_eq!(message.health("ws-conversation").ok, 1, "{path}: {message}");
    assert!(message
        .nodes
        .keys()
        .any(|(n, k)| n == "DynamoDB" && k == "AWS::DynamoDB"));
    // The same annotation keys on both paths.
    assert!(
        message.documents.iter().any(|d| d["annotations"]
            == json!({"perf_handler": "websocket_conversation", "perf_outcome": "success"})),
        "{path}: {:?}",
        message.documents
    );
    // Every AWS call carries its request id.
    for doc in message.documents.iter().filter(|d| d["namespace"] == "aws") {
        assert!(doc["aws"]["request_id"].is_string(), "{path}: {doc}");
    }

    let auth = find(drawn, "auth");
    assert!(
        auth.has_edge("ws-conversation", "127.0.0.1"),
        "{path}: the JWKS host is a remote node\n{auth}"
    );
    assert!(auth
        .nodes
        .keys()
        .any(|(n, k)| n == "127.0.0.1" && k == "remote"));

    let invalid = find(drawn, "invalid token");
    let h = invalid.health("ws-conversation");
    assert_eq!(
        (h.error, h.fault),
        (1, 0),
        "{path}: orange, not red\n{invalid}"
    );

    let failure = find(drawn, "storage failure");
    assert_eq!(
        failure.health("ws-conversation").fault,
        1,
        "{path}: {failure}"
    );
    if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
        eprintln!("== {path} · the fault segment: {}", failure.segments[0]);
    }
    let cause = &failure.segments[0]["cause"]["exceptions"][0];
    assert_eq!(
        cause["type"], "DATABASE_ERROR",
        "{path}: {}",
        failure.segments[0]
    );
    assert!(
        cause["message"]
            .as_str()
            .is_some_and(|m| m.contains("PutItem") && m.contains("ResourceNotFoundException")),
        "{path}: {cause}"
    );

    let throttled = find(drawn, "throttled");
    assert!(
        throttled.health("DynamoDB").throttle >= 1,
        "{path}: DynamoDB throttles\n{throttled}"
    );
    assert_eq!(
        throttled.health("ws-conversation").fault,
        1,
        "{path}: {throttled}"
    );

    for label in ["$connect", "$disconnect"] {
        let map = find(drawn, label);
        assert!(map.has_edge("ws-connection", "DynamoDB"), "{path}: {map}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_export_paths_draw_the_same_service_map() {
    let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
    udp.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let (addr, rx) = capture::collector();
    let mut maps = Vec::new();
    for export in [Export::Udp(udp), Export::Otlp(addr, rx)] {
        let Some(drawn) = run(&export).await else {
            return;
        };
        check(&export, &drawn);
        maps.push(drawn);
    }
    // The same nodes and edges, invocation by invocation.
    for (udp, adot) in maps[0].iter().zip(&maps[1]) {
        assert_eq!(udp.label, adot.label);
        assert_eq!(udp.map.edges, adot.map.edges, "{}", udp.label);
        let keys = |m: &ServiceMap| m.nodes.keys().cloned().collect::<Vec<_>>();
        assert_eq!(keys(&udp.map), keys(&adot.map), "{}", udp.label);
    }
}
