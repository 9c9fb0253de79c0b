//! From a log line to its trace and its metrics: the real `ws-conversation`
//! executable run as Lambda runs it (against the emulator's Runtime API,
//! moto for DynamoDB, Cognito and the Management API) with
//! `AWS_LAMBDA_LOG_FORMAT=JSON` and the X-Ray daemon address set. For a chat
//! message and a rejected token, the JSON log line's `traceId` is found in
//! the X-Ray datagram and in the EMF lines of the same invocation; and
//! perfmon's own warning about a bad setting is one of the lines.
#![cfg(feature = "aws")]

mod common;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

use common::app::fixture_json;
use common::emulator::{Emulator, Function};
use common::moto::Moto;
use serde_json::{json, Value};

const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

/// The function's stdout, split into EMF lines and log lines.
fn printed(output: &str) -> (Vec<Value>, Vec<Value>) {
    let (mut emf, mut logs) = (Vec::new(), Vec::new());
    for line in output.lines() {
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if value.get("_aws").is_some() {
            emf.push(value);
        } else if value.get("level").is_some() {
            logs.push(value);
        }
    }
    (emf, logs)
}

/// Trace ids of the segment documents received so far, and the ids of
/// every segment and subsegment in them.
fn segment_ids(daemon: &UdpSocket, traces: &mut BTreeSet<String>, ids: &mut BTreeSet<String>) {
    fn walk(doc: &Value, ids: &mut BTreeSet<String>) {
        ids.extend(doc["id"].as_str().map(str::to_owned));
        for sub in doc["subsegments"].as_array().into_iter().flatten() {
            walk(sub, ids);
        }
    }
    let mut buf = [0u8; 65536];
    while let Ok(n) = daemon.recv(&mut buf) {
        let text = std::str::from_utf8(&buf[..n]).unwrap();
        let body = text.strip_prefix(DAEMON_HEADER).expect("the daemon header");
        let doc: Value = serde_json::from_str(body).unwrap();
        traces.insert(doc["trace_id"].as_str().unwrap().to_owned());
        walk(&doc, ids);
    }
}

/// CloudWatch Logs bills per byte: the EMF lines an invocation wrote, and
/// their bytes with the newline.
fn volume(emf: &[Value], request_id: &str) -> (usize, usize) {
    let lines: Vec<String> = emf
        .iter()
        .filter(|e| e["requestId"] == request_id)
        .map(Value::to_string)
        .collect();
    (lines.len(), lines.iter().map(|l| l.len() + 1).sum())
}

/// `MemoryUsage` is the live heap (the binaries install perfmon's counting
/// allocator), so a normal invocation breaches no memory threshold of the
/// catalog; the resident set, over 20 MiB, would breach
/// `authentication_jwt_verification`'s on every invocation.
fn assert_no_memory_breach(emf: &[Value]) {
    let lowest = perfmon_chat::catalog()
        .operations
        .iter()
        .map(|op| op.thresholds.memory_bytes)
        .min()
        .expect("the catalog's operations");
    for e in emf {
        if let Some(bytes) = e["MemoryUsage"].as_u64() {
            assert!(bytes > 0 && bytes < lowest, "{e} under {lowest} bytes");
        }
        assert_ne!(e["Metric"], "MemoryUsage", "no memory breach: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_log_line_leads_to_its_segment_and_its_emf_lines() {
    let Some(moto) = Moto::start() else { return };
    let pool = moto.cognito();
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    // The connection authenticated earlier, as `auth` leaves it.
    common::app::store_authenticated_connection(&sdk, &tables).await;

    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let Some(emulator) = Emulator::runtime_api("ws-conversation") else {
        return;
    };
    let function = Function::start(
        Path::new(env!("CARGO_BIN_EXE_ws-conversation")),
        "ws-conversation",
        &emulator,
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
            // Bad telemetry settings are log lines, not failures: the
            // metrics fall back to EMF, the flush budget to its default.
            ("OTEL_METRICS_EXPORTER", "cloudwatch".to_owned()),
            ("PERFMON_FLUSH_TIMEOUT_MS", "soon".to_owned()),
            (
                "AWS_XRAY_DAEMON_ADDRESS",
                daemon.local_addr().unwrap().to_string(),
            ),
            ("PERFMON_ENVIRONMENT", "e2e".to_owned()),
        ]
        .into_iter()
        .chain(common::app::function_env(&moto, &pool, &tables))
        .collect::<Vec<_>>(),
    );

    let mut bad_auth = fixture_json("default-auth");
    bad_auth["body"] = json!(json!({"action": "auth", "token": "not-a-token"}).to_string());
    // The second chat message is a warm invocation: what most invocations
    // write.
    for event in [
        fixture_json("default-message"),
        bad_auth,
        fixture_json("default-message"),
    ] {
        let answer = emulator.invoke("_", &event);
        assert_eq!(answer["statusCode"], 200, "{answer}\n{}", function.output());
    }

    let (mut traces, mut ids) = (BTreeSet::new(), BTreeSet::new());
    let deadline = Instant::now() + Duration::from_secs(30);
    let (emf, logs) = loop {
        segment_ids(&daemon, &mut traces, &mut ids);
        let (emf, logs) = printed(&function.output());
        let messages: Vec<&str> = logs.iter().filter_map(|l| l["message"].as_str()).collect();
        let processed = messages
            .iter()
            .filter(|m| **m == "chat message processed")
            .count();
        if processed == 2 && messages.contains(&"authentication failed") && traces.len() >= 3 {
            break (emf, logs);
        }
        assert!(
            Instant::now() < deadline,
            "not everything arrived: traces {traces:?}\n{}",
            function.output()
        );
    };
    // Whatever of the last flush is still in flight.
    segment_ids(&daemon, &mut traces, &mut ids);
    if std::env::var_os("PERFMON_E2E_PRINT").is_some() {
        eprintln!("{}", function.output());
    }

    for (message, level) in [
        ("chat message processed", "INFO"),
        ("authentication failed", "WARN"),
    ] {
        let line = logs
            .iter()
            .find(|l| l["message"] == message)
            .expect("the line");
        assert_eq!(line["level"], level, "{line}");
        assert_eq!(line["functionName"], "ws-conversation");
        let trace_id = line["traceId"].as_str().expect("a traceId");
        assert!(
            trace_id.starts_with("1-") && trace_id.len() == 35,
            "X-Ray form: {line}"
        );
        assert!(
            traces.contains(trace_id),
            "{trace_id} in the datagrams {traces:?}"
        );
        let request_id = line["requestId"].as_str().expect("a requestId");
        let invocation_emf: Vec<&Value> = emf
            .iter()
            .filter(|e| e["requestId"] == request_id)
            .collect();
        assert!(!invocation_emf.is_empty(), "EMF lines of {request_id}");
        for e in invocation_emf {
            assert_eq!(e["traceId"], trace_id, "{e}");
        }
        let span_id = line["spanId"].as_str().expect("a spanId");
        assert!(
            ids.contains(span_id),
            "{span_id} is a segment or subsegment of {ids:?}"
        );
        assert!(line["coldStart"].is_boolean(), "{line}");
    }
    assert_no_memory_breach(&emf);
    for line in logs.iter().filter(|l| {
        l["message"] == "chat message processed" || l["message"] == "authentication failed"
    }) {
        let (lines, bytes) = volume(&emf, line["requestId"].as_str().expect("a requestId"));
        let start = if line["coldStart"] == true {
            "cold"
        } else {
            "warm"
        };
        eprintln!(
            "EMF per invocation ({}, {start}): {lines} lines, {bytes} bytes",
            line["message"]
        );
    }
    let setting = logs
        .iter()
        .find(|l| l["message"] == "using the default flush budget")
        .expect("perfmon's own warning is a log line");
    assert_eq!(setting["level"], "ERROR");
    assert!(
        setting["error"]
            .as_str()
            .is_some_and(|e| e.contains("PERFMON_FLUSH_TIMEOUT_MS") && e.contains("soon")),
        "{setting}"
    );
    let fallback = logs
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("invalid telemetry setting"))
        })
        .expect("the fallback is logged");
    assert_eq!(fallback["level"], "ERROR");
    assert!(
        fallback["error"]
            .as_str()
            .is_some_and(|e| e.contains("OTEL_METRICS_EXPORTER") && e.contains("cloudwatch")),
        "{fallback}"
    );
    let failed = logs
        .iter()
        .find(|l| l["message"] == "authentication failed")
        .unwrap();
    assert_eq!(failed["reason"], "INVALID_TOKEN", "{failed}");
    let processed = logs
        .iter()
        .find(|l| l["message"] == "chat message processed")
        .unwrap();
    assert_eq!(processed["coldStart"], true, "the first invocation");
    assert_eq!(processed["session_id"], "session-42");
    assert_eq!(processed["database_operations"], 3);
}

/// `ws-connection`'s EMF volume: two connects and two disconnects, the
/// first a cold start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_and_disconnect_write_their_emf_lines() {
    let Some(moto) = Moto::start() else { return };
    let pool = moto.cognito();
    let sdk = common::app::sdk_config(&moto).await;
    let tables = common::app::create_tables(&sdk).await;
    let Some(emulator) = Emulator::runtime_api("ws-connection") else {
        return;
    };
    let function = Function::start(
        Path::new(env!("CARGO_BIN_EXE_ws-connection")),
        "ws-connection",
        &emulator,
        &[("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned())]
            .into_iter()
            .chain(common::app::function_env(&moto, &pool, &tables))
            .collect::<Vec<_>>(),
    );
    let kinds = ["connect", "disconnect", "connect", "disconnect"];
    for kind in kinds {
        let answer = emulator.invoke("_", &fixture_json(kind));
        assert_eq!(answer["statusCode"], 200, "{answer}\n{}", function.output());
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let emf = loop {
        let (emf, _) = printed(&function.output());
        // Invocations in the order their first EMF line was written.
        let mut requests: Vec<&str> = Vec::new();
        for e in &emf {
            let id = e["requestId"]
                .as_str()
                .expect("every EMF line has its requestId");
            if !requests.contains(&id) {
                requests.push(id);
            }
        }
        if requests.len() == kinds.len() {
            for (i, (kind, id)) in kinds.iter().zip(&requests).enumerate() {
                let (lines, bytes) = volume(&emf, id);
                let start = if i == 0 { "cold" } else { "warm" };
                eprintln!("EMF per invocation ({kind}, {start}): {lines} lines, {bytes} bytes");
            }
            break emf;
        }
        assert!(
            Instant::now() < deadline,
            "EMF lines of {} invocations: {requests:?}\n{}",
            kinds.len(),
            function.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_no_memory_breach(&emf);
}
