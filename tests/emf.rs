//! The EMF exporter, checked field by field against the CloudWatch Embedded
//! Metric Format specification, for percentile fidelity, for validation,
//! and for log correlation.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use perfmon::{operation, Catalog, ExporterKind, Invocation, PerformanceMonitor, Telemetry};
use serde_json::Value;

type Buffer = common::SharedBuffer;

/// Every line written, parsed.
fn lines(buffer: &Buffer) -> Vec<Value> {
    buffer
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).expect("every line is one JSON object"))
        .collect()
}

fn emf(environment: &str) -> (Telemetry, PerformanceMonitor, Buffer) {
    let buffer = Buffer::default();
    let telemetry = Telemetry::builder()
        .with_environment(environment)
        .with_traces_exporter(ExporterKind::None)
        .with_metrics_exporter(ExporterKind::Emf)
        .with_emf_writer(buffer.clone())
        .build()
        .unwrap();
    let monitor = PerformanceMonitor::new(&telemetry);
    (telemetry, monitor, buffer)
}

fn flush(telemetry: &Telemetry) {
    telemetry.force_flush(Duration::from_secs(5)).unwrap();
}

const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks one line against the specification and the catalog.
fn check_line(line: &Value, catalog: &Catalog, now_ms: u64) {
    let root = line.as_object().expect("a JSON object");
    let aws = root["_aws"].as_object().expect("_aws metadata");
    let ts = aws["Timestamp"]
        .as_u64()
        .expect("Timestamp is ms since the epoch");
    assert!(ts.abs_diff(now_ms) < 60_000, "Timestamp {ts} is now, in ms");
    let directives = aws["CloudWatchMetrics"].as_array().unwrap();
    assert!(!directives.is_empty());
    let mut names_in_line = BTreeSet::new();
    for directive in directives {
        assert_eq!(directive["Namespace"], catalog.namespace);
        let sets: Vec<Vec<String>> =
            serde_json::from_value(directive["Dimensions"].clone()).unwrap();
        for set in &sets {
            assert!(!set.is_empty() && set.len() <= 30);
            for key in set {
                let value = root[key]
                    .as_str()
                    .unwrap_or_else(|| panic!("dimension {key} is a root string"));
                assert!(!value.is_empty() && value.len() <= 1024);
                assert!(
                    key != "traceId" && key != "requestId",
                    "ids are never dimensions"
                );
            }
        }
        let metrics = directive["Metrics"].as_array().unwrap();
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for metric in metrics {
            let name = metric["Name"].as_str().unwrap();
            assert!(
                names_in_line.insert(name.to_owned()),
                "{name} once per line"
            );
            let spec = catalog.metric(name).expect("only catalog metrics");
            assert_eq!(
                sets, spec.dimensions,
                "{name}: dimension sets exactly as declared"
            );
            let unit = metric["Unit"].as_str().unwrap();
            assert!(UNITS.contains(&unit), "{unit} is a CloudWatch unit");
            assert_eq!(unit, spec.unit.cloudwatch());
            assert!(matches!(metric["StorageResolution"].as_u64(), Some(1 | 60)));
            match &root[name] {
                Value::Number(n) => assert!(n.as_f64().unwrap().is_finite()),
                Value::Object(d) => {
                    let values = d["Values"].as_array().unwrap();
                    let counts = d["Counts"].as_array().unwrap();
                    assert_eq!(values.len(), counts.len());
                    assert!(values.len() <= 100, "at most 100 values per line");
                    let total: u64 = counts.iter().map(|c| c.as_u64().unwrap()).sum();
                    assert_eq!(d["Count"].as_u64(), Some(total));
                    for key in ["Sum", "Min", "Max"] {
                        assert!(d[key].as_f64().unwrap().is_finite());
                    }
                    assert!(d["Min"].as_f64() <= d["Max"].as_f64());
                }
                other => panic!("{name} has value {other}"),
            }
        }
    }
    assert!(serde_json::to_string(line).unwrap().len() < 256 * 1024);
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

#[test]
fn every_line_follows_the_specification_and_the_catalog() {
    let (telemetry, monitor, buffer) = emf("prod");
    telemetry.set_invocation(Invocation {
        trace_id: Some("1-5759e988-bd862e3fe1be46a994272793".into()),
        request_id: Some("8f507cfc-example".into()),
    });
    monitor
        .start(operation::WEBSOCKET_CONVERSATION, [])
        .complete(true, []);
    monitor
        .start(operation::WEBSOCKET_CONVERSATION, [])
        .fail("UNAUTHENTICATED_CONNECTION", []);
    monitor
        .start(operation::CHAT_MESSAGE_PROCESSING, [])
        .complete(true, []);
    let business = monitor.business();
    business.message(perfmon::MessageType::Ping);
    business.verification(perfmon::VerificationOutcome::TokenExpired);
    business.message_length(42);
    monitor.record_cold_start("ws-conversation");
    flush(&telemetry);

    let catalog = Catalog::embedded();
    let lines = lines(&buffer);
    assert!(!lines.is_empty());
    for line in &lines {
        check_line(line, &catalog, now_ms());
        assert_eq!(line["traceId"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(line["requestId"], "8f507cfc-example");
    }
    // Metrics with different dimension sets are in separate directives.
    let errors = lines
        .iter()
        .find(|l| l.get("Errors").is_some())
        .expect("an Errors line");
    assert_eq!(errors["ErrorType"], "UNAUTHENTICATED_CONNECTION");
    assert_eq!(errors["Errors"], 1.0);
    assert_eq!(
        errors["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        serde_json::json!([
            ["Handler", "Environment"],
            ["Handler", "Environment", "ErrorType"]
        ])
    );
    let base = lines
        .iter()
        .find(|l| l["Handler"] == "websocket_conversation" && l.get("Invocations").is_some())
        .unwrap();
    assert_eq!(base["Invocations"], 2.0);
    assert_eq!(base["Environment"], "prod");
    assert_eq!(base["HandlerDuration"]["Count"], 2);
    assert_eq!(telemetry.stats().emf_dropped, 0);
    assert_eq!(telemetry.stats().emf_lines, lines.len() as u64);
}

/// CloudWatch's percentile over value/count pairs: the smallest value whose
/// cumulative count reaches the rank.
fn percentile_of_pairs(pairs: &mut [(f64, u64)], q: f64) -> f64 {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let total: u64 = pairs.iter().map(|p| p.1).sum();
    let rank = (q * total as f64).ceil() as u64;
    let mut seen = 0;
    for (value, count) in pairs.iter() {
        seen += count;
        if seen >= rank {
            return *value;
        }
    }
    pairs.last().unwrap().0
}

#[test]
fn percentiles_computed_from_the_lines_are_within_one_percent() {
    let (telemetry, monitor, buffer) = emf("prod");
    // A skewed latency distribution over four decades, deterministic.
    let mut recorded: Vec<f64> = (0..20_000)
        .map(|i| {
            let u = (i as f64 + 0.5) / 20_000.0;
            0.8 * (u * 9.6).exp()
        })
        .collect();
    for ms in &recorded {
        monitor
            .business()
            .connection_duration(Duration::from_secs_f64(ms / 1000.0));
    }
    flush(&telemetry);
    let catalog = Catalog::embedded();
    let lines: Vec<Value> = lines(&buffer)
        .into_iter()
        .filter(|l| l.get("ConnectionDuration").is_some())
        .collect();
    assert!(
        lines.len() > 1,
        "more than 100 buckets are split across lines"
    );
    let mut pairs = Vec::new();
    let (mut count, mut sum) = (0, 0.0);
    for line in &lines {
        check_line(line, &catalog, now_ms());
        let d = &line["ConnectionDuration"];
        for (v, c) in d["Values"]
            .as_array()
            .unwrap()
            .iter()
            .zip(d["Counts"].as_array().unwrap())
        {
            pairs.push((v.as_f64().unwrap(), c.as_u64().unwrap()));
        }
        count += d["Count"].as_u64().unwrap();
        sum += d["Sum"].as_f64().unwrap();
    }
    recorded.sort_by(f64::total_cmp);
    assert_eq!(
        count,
        recorded.len() as u64,
        "SampleCount adds up across lines"
    );
    let true_sum: f64 = recorded.iter().sum();
    assert!(
        (sum - true_sum).abs() / true_sum < 1e-9,
        "Sum adds up across lines"
    );
    for q in [0.5, 0.9, 0.99] {
        let truth = recorded[((q * recorded.len() as f64).ceil() as usize).max(1) - 1];
        let emitted = percentile_of_pairs(&mut pairs, q);
        let error = (emitted - truth).abs() / truth;
        eprintln!(
            "p{}: {emitted} vs {truth} ({:.3} %)",
            q * 100.0,
            error * 100.0
        );
        assert!(
            error < 0.01,
            "p{}: {emitted} vs {truth} ({:.3} %)",
            q * 100.0,
            error * 100.0
        );
    }
}

#[test]
fn invalid_points_are_dropped_counted_and_never_written() {
    // An empty Environment makes every catalog point invalid: CloudWatch
    // would drop such lines silently.
    let (telemetry, monitor, buffer) = emf("");
    monitor
        .start(operation::WEBSOCKET_CONNECTION, [])
        .complete(true, []);
    // A metric the catalog does not declare.
    telemetry
        .meter()
        .u64_counter("Undeclared")
        .build()
        .add(1, &[]);
    flush(&telemetry);
    assert!(lines(&buffer).is_empty(), "{:?}", lines(&buffer));
    assert!(
        telemetry.stats().emf_dropped >= 4,
        "{:?}",
        telemetry.stats()
    );

    let (telemetry, monitor, buffer) = emf("prød");
    monitor
        .start(operation::WEBSOCKET_CONNECTION, [])
        .complete(true, []);
    flush(&telemetry);
    assert!(
        lines(&buffer).is_empty(),
        "non-ASCII dimension values are refused"
    );
    assert!(telemetry.stats().emf_dropped > 0);
}

#[test]
fn without_an_invocation_lines_carry_no_ids() {
    let (telemetry, monitor, buffer) = emf("dev");
    monitor
        .start(operation::WEBSOCKET_CONNECTION, [])
        .complete(true, []);
    flush(&telemetry);
    let lines = lines(&buffer);
    assert!(!lines.is_empty());
    let keys: BTreeMap<_, _> = lines[0].as_object().unwrap().iter().collect();
    assert!(!keys.contains_key(&"traceId".to_owned()));
}
