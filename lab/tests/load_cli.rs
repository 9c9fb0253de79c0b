//! `perfmon load` drives real WebSocket clients in rounds with
//! monitoring on and off, after an uncounted warm-up round, bounded in
//! time, and reports both; with `--paired`, both kinds at once.

use std::process::Command;

mod common;

/// `perfmon-chat load ARGS --no-progress [--emf-out FILE]`'s report (ARGS
/// split at spaces); the run succeeds.
fn load(args: &str, emf_out: Option<&std::path::Path>) -> String {
    let mut command = Command::new(env!("CARGO_BIN_EXE_perfmon-chat"));
    command
        .arg("load")
        .args(args.split_whitespace())
        .arg("--no-progress");
    if let Some(file) = emf_out {
        command.arg("--emf-out").arg(file);
    }
    let out = command.output().unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

/// The report's rows of measured rounds (numbered), split into columns.
fn round_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>())
        .filter(|cols| {
            cols.len() > 1 && cols[0] != "warm-up" && (cols[1] == "on" || cols[1] == "off")
        })
        .collect()
}

#[test]
fn a_short_load_run_reports_both_rounds_without_errors() {
    let text = load(
        "--connections 8 --seconds 1 --rounds 2 --warmup-seconds 1",
        None,
    );
    let rows = round_rows(&text);
    assert_eq!(rows.len(), 2, "{text}");
    assert_eq!((rows[0][1], rows[1][1]), ("on", "off"));
    let warmup: Vec<&str> = text
        .lines()
        .find(|l| l.starts_with("warm-up"))
        .expect("the warm-up round is reported")
        .split_whitespace()
        .collect();
    assert_eq!(warmup[1], "on", "{text}");
    assert!(warmup[2].parse::<u64>().unwrap() > 0, "{text}");
    for row in &rows {
        let messages: u64 = row[2].parse().unwrap();
        assert!(messages > 0, "{text}");
        assert_eq!(row[7], "0", "no failed requests: {text}");
    }
    assert!(text.contains("throughput with monitoring ="), "{text}");
    assert!(text.contains("CPU per message (whole process):"), "{text}");
    for row in &rows {
        let cpu_us: f64 = row[8].parse().unwrap();
        assert!(cpu_us > 0.0, "CPU µs per message: {text}");
    }
    assert!(
        text.contains("sampler: X-Ray default rule (1 a second + 5 %)"),
        "the load tool reports its sampler: {text}"
    );
}

#[test]
fn a_fixed_rate_run_offers_about_that_rate() {
    let text = load(
        "--connections 10 --seconds 2 --rounds 1 --rate 200 --warmup-seconds 0",
        None,
    );
    assert!(text.contains("200 msg/s offered"), "{text}");
    assert!(
        !text.contains("warm-up"),
        "--warmup-seconds 0 skips it: {text}"
    );
    let rows = round_rows(&text);
    let row = rows.first().expect("one round");
    let messages: u64 = row[2].parse().unwrap();
    // 200/s for 2 s: paced, never more than offered (the last sends of the
    // round may be cut off).
    assert!((300..=400).contains(&messages), "{text}");
    assert_eq!(row[7], "0", "no failed requests: {text}");
}

#[test]
fn a_paired_run_reports_both_sides_of_each_round_and_only_one_exports() {
    let emf = common::scratch("perfmon-load", "paired.jsonl");
    let text = load(
        "--paired --connections 8 --seconds 1 --rounds 2 --warmup-seconds 0",
        Some(&emf),
    );
    assert!(text.contains("4 clients each"), "{text}");
    let rows = round_rows(&text);
    let sides: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(
        sides,
        [("1", "on"), ("1", "off"), ("2", "on"), ("2", "off")],
        "{text}"
    );
    for row in &rows {
        assert!(row[2].parse::<u64>().unwrap() > 0, "{text}");
        assert_eq!(row[7], "0", "no failed requests: {text}");
        assert!(
            row[8].parse::<f64>().unwrap() > 0.0,
            "each side's CPU: {text}"
        );
    }
    assert!(
        text.contains("CPU per message (each side's threads):"),
        "{text}"
    );
    assert!(
        text.contains("throughput with monitoring at saturation ="),
        "{text}"
    );
    // Only the monitored sides write EMF lines: the chat messages they
    // count are the monitored sides' replies, plus at most one message in
    // flight per client at each round's end; the unmonitored sides' as
    // many replies again are not among them.
    let replied_on: u64 = rows
        .iter()
        .filter(|r| r[1] == "on")
        .map(|r| r[2].parse::<u64>().unwrap())
        .sum();
    let counted: f64 = std::fs::read_to_string(&emf)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|l| l["Handler"] == "websocket_conversation" && l["MessageType"] == "message")
        .map(|l| l["Messages"].as_f64().unwrap_or(0.0))
        .sum();
    assert!(
        (replied_on as f64..=(replied_on + 2 * 4) as f64).contains(&counted),
        "{counted} chat messages in the EMF lines, {replied_on} replies on the monitored sides: {text}"
    );
}
