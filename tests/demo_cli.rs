//! The README's first command, `perfmon demo`, runs with nothing configured
//! and prints the console summary of all four operations.

use std::process::Command;

#[test]
fn demo_prints_spans_and_metrics_for_every_operation() {
    let out = Command::new(env!("CARGO_BIN_EXE_perfmon"))
        .args(["demo", "--sessions", "40"])
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_TRACES_EXPORTER")
        .env_remove("OTEL_METRICS_EXPORTER")
        .env_remove("AWS_LAMBDA_FUNCTION_NAME")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    for op in [
        "websocket_conversation",
        "websocket_connection",
        "authentication_jwt_verification",
        "chat_message_processing",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("span {op}"))),
            "span summary for {op} in:\n{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("metric HandlerDuration")
                    && l.contains(&format!("Handler={op}"))),
            "HandlerDuration for {op} in:\n{text}"
        );
    }
    assert!(text.contains("metric Verifications [1]"), "{text}");
    let invocations: u64 = text
        .lines()
        .filter(|l| l.starts_with("metric Connections [1]") && l.contains("EventType=connect,"))
        .map(|l| {
            l.rsplit("sum=")
                .next()
                .unwrap()
                .trim()
                .parse::<u64>()
                .unwrap()
        })
        .sum();
    assert_eq!(invocations, 40, "one connect per session:\n{text}");
}

#[test]
fn bad_arguments_fail_with_usage() {
    let out = Command::new(env!("CARGO_BIN_EXE_perfmon"))
        .args(["demo", "--sessions", "zero"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sessions"));
    let out = Command::new(env!("CARGO_BIN_EXE_perfmon"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("usage"));
}
