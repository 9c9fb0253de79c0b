//! Alarm evaluation: the M-out-of-N and missing-data rules on constructed
//! datapoint series, and the generated alarms over constructed EMF runs.

use perfmon_testkit as common;

use perfmon_tools::preview::{
    Alarm, AlarmRule, AlarmState, Comparison, MetricStore, TreatMissing, Window,
};
use serde_json::json;

use AlarmState::{Alarm as A, InsufficientData as I, Ok as O};

fn rule(m: usize, n: usize, treat_missing: TreatMissing) -> AlarmRule {
    AlarmRule {
        threshold: 10.0,
        comparison: Comparison::Greater,
        evaluation_periods: n,
        datapoints_to_alarm: m,
        treat_missing,
    }
}

const X: Option<f64> = Some(50.0); // breaching
const G: Option<f64> = Some(1.0); // good
const M: Option<f64> = None; // missing

#[test]
fn m_out_of_n_fires_on_the_mth_breach_and_clears_when_the_window_is_good() {
    let states = rule(2, 3, TreatMissing::Missing).evaluate(&[G, X, G, X, X, G, G, G]);
    assert_eq!(states, [O, O, O, A, A, A, O, O]);
}

#[test]
fn the_threshold_itself_breaches_only_with_or_equal() {
    let at = [Some(10.0)];
    let mut r = rule(1, 1, TreatMissing::Missing);
    assert_eq!(r.evaluate(&at), [O]);
    r.comparison = Comparison::GreaterOrEqual;
    assert_eq!(r.evaluate(&at), [A]);
    r.comparison = Comparison::Less;
    assert_eq!(r.evaluate(&[Some(9.0), Some(10.0)]), [A, O]);
    r.comparison = Comparison::LessOrEqual;
    assert_eq!(r.evaluate(&at), [A]);
}

#[test]
fn a_window_with_no_data_follows_treat_missing_data() {
    let series = [X, M, M, M, M];
    let cases = [
        (TreatMissing::Missing, [A, A, I, I, I]),
        (TreatMissing::Ignore, [A, A, A, A, A]),
        (TreatMissing::NotBreaching, [A, A, O, O, O]),
        (TreatMissing::Breaching, [A, A, A, A, A]),
    ];
    for (treat, expected) in cases {
        assert_eq!(rule(1, 2, treat).evaluate(&series), expected, "{treat:?}");
    }
    assert_eq!(rule(1, 1, TreatMissing::Missing).evaluate(&[]), []);
    assert_eq!(
        rule(1, 1, TreatMissing::Ignore).evaluate(&[M]),
        [I],
        "starts INSUFFICIENT_DATA"
    );
}

#[test]
fn a_partly_missing_window_uses_every_real_datapoint() {
    // 3 out of 3.
    let cases: [([Option<f64>; 3], [AlarmState; 4]); 4] = [
        // missing, ignore, breaching, notBreaching
        ([X, M, X], [A, A, A, O]),
        ([G, M, X], [O, O, O, O]),
        ([M, M, X], [A, A, A, O]),
        ([X, X, X], [A, A, A, A]),
    ];
    let treats = [
        TreatMissing::Missing,
        TreatMissing::Ignore,
        TreatMissing::Breaching,
        TreatMissing::NotBreaching,
    ];
    for (series, expected) in cases {
        for (treat, want) in treats.iter().zip(expected) {
            let last = *rule(3, 3, *treat).evaluate(&series).last().unwrap();
            assert_eq!(last, want, "{series:?} {treat:?}");
        }
    }
}

/// An EMF line of the chat catalog's core metrics for `handler` at `t_ms`.
fn line(handler: &str, t_ms: i64, duration_ms: f64, errors: u64) -> String {
    json!({
        "_aws": {"Timestamp": t_ms, "CloudWatchMetrics": [{
            "Namespace": "WebSocket/Performance",
            "Dimensions": [["Handler", "Environment"]],
            "Metrics": [
                {"Name": "HandlerDuration", "Unit": "Milliseconds"},
                {"Name": "Invocations", "Unit": "Count"},
                {"Name": "Errors", "Unit": "Count"}
            ]
        }]},
        "Handler": handler,
        "Environment": "preview",
        "HandlerDuration": duration_ms,
        "Invocations": 1,
        "Errors": errors,
    })
    .to_string()
}

fn generated_alarm(suffix: &str) -> Alarm {
    common::generated_alarm(&common::chat_catalog(), "preview", suffix)
}

#[test]
fn the_generated_duration_alarm_fires_on_a_slow_spell_and_recovers() {
    // One invocation every 10 s for 10 minutes; minutes 3–5 are slow.
    let lines: Vec<String> = (0..60)
        .map(|i| {
            let t = 600_000 + i * 10_000;
            let slow = (180_000..360_000).contains(&(t - 600_000));
            line(
                "websocket_conversation",
                t,
                if slow { 9_000.0 } else { 40.0 },
                0,
            )
        })
        .collect();
    let (store, errors) = MetricStore::read(lines.join("\n").as_bytes()).unwrap();
    assert!(errors.is_empty());
    let alarm = generated_alarm("websocket_conversation-duration");
    let (from, to) = store.time_span().unwrap();
    let window = Window::covering(from, to, alarm.period_s);
    let timeline = alarm.timeline(&store, &window).unwrap();
    let states: Vec<&str> = timeline.iter().map(|(_, _, s)| s.as_str()).collect();
    // Minutes 3, 4 and 5 are slow. 2 of 3 minutes above 5000 ms: ALARM
    // from the second slow minute (4) while the last three minutes hold
    // two slow ones (to minute 6), OK again at minute 7.
    assert_eq!(
        states,
        ["OK", "OK", "OK", "OK", "ALARM", "ALARM", "ALARM", "OK", "OK", "OK"]
    );
    assert_eq!(timeline[3].1, Some(9_000.0));
    assert_eq!(timeline[6].1, Some(40.0));
}

#[test]
fn the_generated_error_rate_alarm_uses_its_metric_math() {
    // 5-minute periods: 20 % errors in the second and third.
    let lines: Vec<String> = (0..150)
        .map(|i| {
            let t = i * 10_000;
            let failing = (300_000..900_000).contains(&t) && i % 5 == 0;
            line("chat_message_processing", t, 10.0, u64::from(failing))
        })
        .collect();
    let (store, _) = MetricStore::read(lines.join("\n").as_bytes()).unwrap();
    let alarm = generated_alarm("chat_message_processing-error-rate");
    assert_eq!(alarm.period_s, 300);
    let (from, to) = store.time_span().unwrap();
    let window = Window::covering(from, to, alarm.period_s);
    let timeline = alarm.timeline(&store, &window).unwrap();
    let values: Vec<Option<f64>> = timeline.iter().map(|(_, v, _)| *v).collect();
    assert_eq!(
        values,
        [Some(0.0), Some(20.0), Some(20.0), Some(0.0), Some(0.0)]
    );
    let states: Vec<&str> = timeline.iter().map(|(_, _, s)| s.as_str()).collect();
    assert_eq!(states, ["OK", "OK", "ALARM", "ALARM", "OK"]);
}
