//! `examples/axum_api` (lambda_http + axum) under the cargo-lambda
//! emulator, called through the emulator's function URL with real HTTP
//! requests, as a caller on the internet calls a function URL. Its X-Ray
//! segments (over UDP, to a daemon socket), EMF lines and JSON log lines
//! are checked, and the segments are put to X-Ray's API (moto).

use perfmon_testkit as common;

use std::collections::BTreeSet;
use std::net::UdpSocket;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::emulator::{example, Emulator, Function};
use serde_json::Value;

const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

/// Reads every segment document sent to `daemon`, in the background.
fn collect(daemon: UdpSocket) -> Arc<Mutex<Vec<Value>>> {
    let documents = Arc::new(Mutex::new(Vec::new()));
    let sink = documents.clone();
    daemon
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 65536];
        loop {
            match daemon.recv(&mut buf) {
                Ok(n) => {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    let body = text
                        .strip_prefix(DAEMON_HEADER)
                        .unwrap_or_else(|| panic!("the daemon header starts {text}"));
                    sink.lock()
                        .unwrap()
                        .push(serde_json::from_str::<Value>(body).unwrap());
                }
                Err(_) if Arc::strong_count(&sink) == 1 => return,
                Err(_) => {}
            }
        }
    });
    documents
}

fn dump(documents: &[Value]) -> String {
    documents
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_axum_api_example_serves_its_function_url_with_routes_as_operations() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    let address = daemon.local_addr().unwrap().to_string();
    let documents = collect(daemon);
    let Some(emulator) = Emulator::runtime_api("axum_api") else {
        return;
    };
    let function = Function::start(
        &example("axum_api"),
        "axum_api",
        &emulator,
        &[
            ("AWS_XRAY_DAEMON_ADDRESS", address),
            ("PERFMON_ENVIRONMENT", "e2e".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ],
    );
    let call = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let (status, body) = emulator.function_url("_", method, path, headers);
        (status, body)
    };
    let (status, body) = call("POST", "/orders?method=paypal", &[]);
    assert_eq!(status, 201, "{body}\n{}", function.output());
    let (status, _) = call(
        "GET",
        "/orders/42",
        &[
            ("traceparent", "00-not-a-trace-01"),
            ("x-amzn-trace-id", "Root=garbage;Parent=zz"),
        ],
    );
    assert_eq!(status, 200, "a malformed trace header is never an error");
    assert_eq!(call("GET", "/orders/7", &[]).0, 404);
    let crashed = call("GET", "/orders/crash", &[]).0;
    assert!(crashed >= 500, "{crashed}");
    assert_eq!(call("GET", "/orders/42", &[]).0, 200, "it keeps serving");
    // An event that is not HTTP: a clear error, and the function goes on.
    let sqs = serde_json::json!({"Records": [{"messageId": "1", "eventSource": "aws:sqs", "body": "{}"}]});
    let answer = emulator.invoke("_", &sqs);
    assert!(
        answer["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("deserializ")),
        "{answer}"
    );
    let long = format!("/orders/{}", "y".repeat(20_000));
    assert_eq!(call("GET", &long, &[]).0, 404);
    assert_eq!(call("GET", "/nowhere", &[]).0, 404);
    // 1,000 distinct paths on one route.
    for id in 1_000..2_000 {
        assert_eq!(call("GET", &format!("/orders/{id}"), &[]).0, 404);
    }

    // Everything flushed: every invocation's core metrics are printed.
    let deadline = Instant::now() + Duration::from_secs(60);
    let lines = loop {
        let lines = common::emf::lines_in(&function.output());
        let invocations: u64 = sum(&lines, "Invocations", |_| true);
        if invocations >= 1_007 || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_millis(500));
    let documents = documents.lock().unwrap().clone();

    // One operation per route, whatever the path.
    let handlers: BTreeSet<&str> = lines
        .iter()
        .filter(|l| l.get("Invocations").is_some())
        .filter_map(|l| l["Handler"].as_str())
        .collect();
    assert_eq!(
        handlers,
        BTreeSet::from(["/orders", "/orders/{id}", "unmatched_route"]),
        "routes, never paths"
    );
    let on = |handler: &'static str| move |l: &Value| l["Handler"] == handler;
    assert_eq!(sum(&lines, "Invocations", on("/orders/{id}")), 1_005);
    let errors = |code: &'static str| {
        sum(&lines, "Errors", move |l: &Value| {
            l["Handler"] == "/orders/{id}" && l["ErrorType"] == code
        })
    };
    assert_eq!(errors("404"), 1_002, "every unknown order is a 404");
    assert_eq!(errors("panic"), 1);

    // The order: EMF under its route, the log line and the segment on its trace.
    let orders = lines
        .iter()
        .find(|l| l.get("OrdersPlaced").is_some())
        .unwrap_or_else(|| panic!("an OrdersPlaced line in\n{}", function.output()));
    assert_eq!(orders["Handler"], "/orders");
    assert_eq!(orders["PaymentMethod"], "paypal");
    assert_eq!(orders["Environment"], "e2e");
    assert_eq!(
        common::emf::directive_of(orders, "OrdersPlaced")["Dimensions"],
        serde_json::json!([["Handler", "Environment", "PaymentMethod"]])
    );
    let trace_id = orders["traceId"].as_str().expect("the EMF line's trace");
    let log: Value = function
        .output()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "order placed")
        .unwrap_or_else(|| panic!("a JSON log line in\n{}", function.output()));
    assert_eq!(log["traceId"], trace_id, "{log}");
    assert_eq!(log["requestId"], orders["requestId"]);
    let order = segment_of(&documents, trace_id);
    eprintln!("the order's segment: {order}\nits EMF line: {orders}");
    assert_eq!(order["http"]["request"]["method"], "POST", "{order:#}");
    assert_eq!(order["http"]["response"]["status"], 201);
    let url = order["http"]["request"]["url"].as_str().unwrap();
    assert!(url.ends_with("/orders"), "the path, never its query: {url}");
    assert!(
        url.starts_with("https://"),
        "a function URL is HTTPS: {url}"
    );
    assert_eq!(order["metadata"]["faas.trigger"], "http");
    let operation = &order["subsegments"][0];
    assert_eq!(operation["name"], "/orders", "{order:#}");
    assert_eq!(operation["annotations"]["perf_handler"], "/orders");
    assert_eq!(operation["metadata"]["http.route"], "/orders");
    assert_eq!(operation["http"]["response"]["status"], 201);

    // A 404 is a client error: `error`, never `fault`; its operation is
    // the route template, which X-Ray's name rules spell without braces.
    let missing = request_segment(&documents, "/orders/7");
    assert_eq!(missing["error"], true, "{missing:#}");
    assert!(missing.get("fault").is_none(), "{missing:#}");
    assert_eq!(missing["http"]["response"]["status"], 404);
    let operation = &missing["subsegments"][0];
    assert_eq!(
        operation["annotations"]["perf_handler"], "/orders/{id}",
        "{missing:#}"
    );
    assert_eq!(operation["name"], "/orders/id");
    assert_eq!(operation["metadata"]["http.route"], "/orders/{id}");
    assert_eq!(operation["metadata"]["error.type"], "404");

    // A panic is a fault with its cause, and the next request is served.
    let crash = request_segment(&documents, "/orders/crash");
    assert_eq!(crash["fault"], true, "{crash:#}");
    assert_eq!(crash["cause"]["exceptions"][0]["type"], "panic");
    assert_eq!(
        crash["cause"]["exceptions"][0]["message"],
        "the order store is corrupt"
    );
    assert_eq!(crash["subsegments"][0]["fault"], true, "{crash:#}");

    // A path of any size gives a bounded URL, and its span is kept.
    let long = documents
        .iter()
        .find(|d| {
            d["http"]["request"]["url"]
                .as_str()
                .is_some_and(|u| u.contains("/orders/yyyy"))
        })
        .expect("the long path's segment");
    assert!(long["http"]["request"]["url"].as_str().unwrap().len() <= 250);

    // X-Ray itself (moto's API) takes the documents.
    if let Some(moto) = common::moto::Moto::start() {
        let sample: Vec<Value> = [&order, &missing, &crash, long]
            .into_iter()
            .cloned()
            .collect();
        let answer = moto.xray(&Value::Array(sample));
        assert_eq!(answer["unprocessed"], serde_json::json!([]), "{answer}");
        assert_eq!(
            answer["traces"].as_array().map(Vec::len),
            Some(4),
            "{answer}"
        );
    }
    let catalog =
        perfmon_lambda::Catalog::from_path(common::root().join("examples/axum_api/catalog.json"))
            .unwrap();
    for line in &lines {
        common::emf::check_line(line, &catalog, common::emf::now_ms());
    }
}

/// The sum of `metric` over the lines `pick` keeps.
fn sum(lines: &[Value], metric: &str, pick: impl Fn(&Value) -> bool) -> u64 {
    lines
        .iter()
        .filter(|l| pick(l))
        .filter_map(|l| l[metric].as_u64())
        .sum()
}

/// The invocation's segment on `trace_id`.
fn segment_of(documents: &[Value], trace_id: &str) -> Value {
    documents
        .iter()
        .find(|d| {
            d["trace_id"] == trace_id && d.get("parent_id").is_some() && d["name"] == "axum_api"
        })
        .cloned()
        .unwrap_or_else(|| panic!("a segment on {trace_id} in\n{}", dump(documents)))
}

/// The invocation's segment for the request to `path`.
fn request_segment(documents: &[Value], path: &str) -> Value {
    documents
        .iter()
        .find(|d| {
            d["http"]["request"]["url"]
                .as_str()
                .is_some_and(|u| u.ends_with(path))
        })
        .cloned()
        .unwrap_or_else(|| panic!("a segment for {path} in\n{}", dump(documents)))
}
