//! The EMF exporter, checked field by field against the CloudWatch Embedded
//! Metric Format specification, for percentile fidelity, for validation,
//! and for log correlation.

use perfmon_testkit as common;

use std::collections::BTreeMap;
use std::time::Duration;

use perfmon_lambda::{ExporterKind, Invocation, PerformanceMonitor, Telemetry};
use serde_json::Value;

use common::emf::{check_line, lines, now_ms};

type Buffer = common::SharedBuffer;

fn emf(environment: &str) -> (Telemetry, PerformanceMonitor, Buffer) {
    let buffer = Buffer::default();
    let telemetry = Telemetry::builder()
        .with_environment(environment)
        .with_catalog(common::chat_catalog())
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

#[test]
fn every_line_follows_the_specification_and_the_catalog() {
    let (telemetry, monitor, buffer) = emf("prod");
    telemetry.set_invocation(Invocation {
        trace_id: Some("1-5759e988-bd862e3fe1be46a994272793".into()),
        request_id: Some("8f507cfc-example".into()),
    });
    monitor
        .start(common::op::WEBSOCKET_CONVERSATION, [])
        .complete(true, []);
    monitor
        .start(common::op::WEBSOCKET_CONVERSATION, [])
        .fail("UNAUTHENTICATED_CONNECTION", []);
    monitor
        .start(common::op::CHAT_MESSAGE_PROCESSING, [])
        .complete(true, []);
    monitor.counter::<1>("Messages").unwrap().add(1, ["ping"]);
    monitor
        .counter::<1>("Verifications")
        .unwrap()
        .add(1, ["TOKEN_EXPIRED"]);
    monitor
        .histogram::<0>("MessageLength")
        .unwrap()
        .record(42.0, []);
    monitor.record_cold_start("ws-conversation");
    flush(&telemetry);

    let catalog = common::chat_catalog();
    let lines = lines(&buffer);
    assert!(!lines.is_empty());
    for line in &lines {
        check_line(line, &catalog, now_ms());
        assert_eq!(line["traceId"], "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(line["requestId"], "8f507cfc-example");
    }
    // Metrics with different dimension sets are in separate directives,
    // which share a line when their dimension values do not conflict.
    let errors = lines
        .iter()
        .find(|l| l.get("Errors").is_some())
        .expect("an Errors line");
    assert_eq!(errors["ErrorType"], "UNAUTHENTICATED_CONNECTION");
    assert_eq!(errors["Errors"], 1.0);
    assert_eq!(
        common::emf::directive_of(errors, "Errors")["Dimensions"],
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
    let duration = monitor.histogram::<0>("ConnectionDuration").unwrap();
    for ms in &recorded {
        duration.record(*ms, []);
    }
    flush(&telemetry);
    let catalog = common::chat_catalog();
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
        .start(common::op::WEBSOCKET_CONNECTION, [])
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
        .start(common::op::WEBSOCKET_CONNECTION, [])
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
        .start(common::op::WEBSOCKET_CONNECTION, [])
        .complete(true, []);
    flush(&telemetry);
    let lines = lines(&buffer);
    assert!(!lines.is_empty());
    let keys: BTreeMap<_, _> = lines[0].as_object().unwrap().iter().collect();
    assert!(!keys.contains_key(&"traceId".to_owned()));
}
