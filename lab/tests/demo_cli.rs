//! The README's first command, `perfmon-chat demo`, runs with nothing configured:
//! real WebSocket clients against the in-process server, then the table of
//! operations against their thresholds and the business metrics.

use std::process::Command;

fn perfmon(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_perfmon-chat"))
        .args(args)
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .env_remove("OTEL_METRICS_EXPORTER")
        .env_remove("AWS_LAMBDA_FUNCTION_NAME")
        .env("OTEL_TRACES_EXPORTER", "none")
        .output()
        .unwrap()
}

#[test]
fn demo_prints_every_operation_against_its_thresholds() {
    let out = perfmon(&[
        "demo",
        "--sessions",
        "60",
        "--concurrency",
        "8",
        "--no-progress",
    ]);
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains(" 0 client failures"), "{text}");
    for op in [
        "websocket_conversation",
        "websocket_connection",
        "authentication_jwt_verification",
        "chat_message_processing",
    ] {
        let row = text
            .lines()
            .find(|l| l.starts_with(op))
            .unwrap_or_else(|| panic!("a row for {op} in:\n{text}"));
        assert!(row.ends_with("PASS") || row.ends_with("FAIL"), "{row}");
        let count: u64 = row.split_whitespace().nth(1).unwrap().parse().unwrap();
        assert!(count > 0, "{row}");
    }
    // 60 sessions: every one connects, and every connect is counted once.
    let connections = text
        .lines()
        .find(|l| l.trim_start().starts_with("websocket_connection"))
        .unwrap();
    assert_eq!(
        connections.split_whitespace().nth(1),
        Some("120"),
        "{connections}"
    );
    for line in [
        "messages by type",
        "auth success rate",
        "average connection duration",
        "disconnect reasons",
        "verification outcomes",
        // The session claim and two puts.
        "DB operations per message   3.00",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    assert!(
        text.contains("TOKEN_EXPIRED=2"),
        "the mix has expired tokens:\n{text}"
    );
}

#[test]
fn bad_arguments_fail_with_usage() {
    let out = perfmon(&["demo", "--sessions", "zero"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--sessions"));
    let out = perfmon(&[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr)
        .to_lowercase()
        .contains("usage"));
}
