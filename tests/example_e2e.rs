//! `examples/http_api.rs` under the cargo-lambda emulator, as Lambda runs
//! it: its executable polls the emulator's Runtime API, and invoked with a
//! real API Gateway HTTP API event it answers, prints EMF lines for its
//! custom metric and the core metrics, a JSON log line, and sends its X-Ray
//! segments to the daemon address, all on one trace.

use perfmon_testkit as common;

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use common::emulator::{Emulator, Function};
use serde_json::Value;

const DAEMON_HEADER: &str = "{\"format\": \"json\", \"version\": 1}\n";

fn fixture() -> Value {
    let path = common::root().join("tests/fixtures/apigw-http-checkout.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn the_http_api_example_emits_emf_and_xray_under_the_emulator() {
    let daemon = UdpSocket::bind("127.0.0.1:0").unwrap();
    daemon
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let address = daemon.local_addr().unwrap().to_string();
    let Some(emulator) = Emulator::runtime_api("http_api") else {
        return;
    };
    let function = Function::start(
        &common::emulator::example("http_api"),
        "http_api",
        &emulator,
        &[
            ("AWS_XRAY_DAEMON_ADDRESS", address),
            ("PERFMON_ENVIRONMENT", "e2e".to_owned()),
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ],
    );
    let answer = emulator.invoke("_", &fixture());
    assert_eq!(answer["statusCode"], 201, "{answer}\n{}", function.output());

    // X-Ray: the invocation's spans as segment documents.
    let mut buf = [0u8; 65536];
    let n = daemon.recv(&mut buf).expect("a segment datagram");
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    let segment: Value = serde_json::from_str(
        text.strip_prefix(DAEMON_HEADER)
            .unwrap_or_else(|| panic!("the daemon header starts {text}")),
    )
    .unwrap();
    let trace_id = segment["trace_id"].as_str().unwrap().to_owned();
    assert!(
        trace_id.starts_with("1-") && trace_id.len() == 35,
        "{segment}"
    );
    let text = segment.to_string();
    assert!(
        text.contains("\"perf_handler\":\"checkout\""),
        "{segment:#}"
    );

    // EMF: the lines the function printed, on the same trace.
    let deadline = Instant::now() + Duration::from_secs(30);
    let lines = loop {
        let lines = common::emf::lines_in(&function.output());
        if lines.iter().any(|l| l.get("OrdersPlaced").is_some()) || Instant::now() > deadline {
            break lines;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let orders = lines
        .iter()
        .find(|l| l.get("OrdersPlaced").is_some())
        .unwrap_or_else(|| panic!("an OrdersPlaced line in\n{}", function.output()));
    let directive = common::emf::directive_of(orders, "OrdersPlaced");
    assert_eq!(directive["Namespace"], "Orders");
    assert_eq!(
        directive["Dimensions"],
        serde_json::json!([["Handler", "Environment", "PaymentMethod"]])
    );
    assert_eq!(orders["PaymentMethod"], "paypal");
    assert_eq!(orders["Handler"], "checkout");
    assert_eq!(orders["Environment"], "e2e");
    assert_eq!(orders["OrdersPlaced"], 1);
    assert_eq!(
        orders["traceId"],
        trace_id.as_str(),
        "EMF and X-Ray share the trace"
    );
    let duration = lines
        .iter()
        .find(|l| l.get("HandlerDuration").is_some())
        .expect("the core metrics");
    assert_eq!(duration["Handler"], "checkout");
    // The log line of the `#[instrument]` function: same trace, its own
    // span, the invocation's request id.
    let line: Value = function
        .output()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["message"] == "payment accepted")
        .unwrap_or_else(|| panic!("a JSON log line in\n{}", function.output()));
    assert_eq!(line["traceId"], trace_id.as_str(), "{line}");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["method"], "paypal");
    assert_eq!(line["requestId"], orders["requestId"], "{line}");
    assert_eq!(line["functionName"], "http_api");
    assert_eq!(line["coldStart"], true);
    assert!(
        text.contains("\"name\":\"charge\""),
        "the #[instrument] span is in the segment: {segment:#}"
    );
    let catalog =
        perfmon_lambda::Catalog::from_path(common::root().join("examples/orders.catalog.json"))
            .unwrap();
    for line in &lines {
        common::emf::check_line(line, &catalog, common::emf::now_ms());
    }
}
