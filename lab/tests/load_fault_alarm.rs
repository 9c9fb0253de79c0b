//! A real load run with a fault fires the affected operation's generated
//! alarm, and the alarm clears after the fault is lifted. The run lasts
//! seconds, so each alarm is evaluated over 1 s periods
//! (`Alarm::with_period`) with its rule otherwise as generated.

use std::time::Duration;

use perfmon_chat::local::FaultKind;
use perfmon_chat_lab::{run_load, FaultPlan, LoadOptions};
use perfmon_tools::preview::{AlarmState, MetricStore, Window};

mod common;

/// Runs 14 s of load with `kind` on from 3 s to 9 s; the states of the
/// generated alarm named `*{suffix}` over 1 s periods.
async fn states_under(kind: FaultKind, suffix: &str) -> Vec<AlarmState> {
    let run = common::scratch("perfmon-fault", &format!("{suffix}.jsonl"));
    let rounds = run_load(LoadOptions {
        connections: 8,
        round: Duration::from_secs(14),
        rounds: 1,
        warmup: Duration::ZERO,
        rate: Some(160),
        progress: false,
        emf_out: Some(run.clone()),
        trace_all: false,
        paired: false,
        fault: Some(FaultPlan {
            kind,
            from: Duration::from_secs(3),
            to: Duration::from_secs(9),
        }),
    })
    .await
    .unwrap();
    assert!(rounds[0].messages > 0);
    // The process's CPU time in the round: some, and no more than its
    // cores could give over the round's wall time.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as u32;
    assert!(
        rounds[0].cpu > Duration::ZERO && rounds[0].cpu <= rounds[0].elapsed * cores,
        "{:?} of CPU in {:?}",
        rounds[0].cpu,
        rounds[0].elapsed
    );
    let (store, errors) =
        MetricStore::read(std::io::BufReader::new(std::fs::File::open(&run).unwrap())).unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let alarm = common::generated_alarm(&perfmon_chat::catalog(), "dev", suffix).with_period(1);
    let (from, to) = store.time_span().unwrap();
    let timeline = alarm
        .timeline(&store, &Window::covering(from, to, 1))
        .unwrap();
    eprintln!(
        "{suffix}: {}",
        perfmon_tools::preview::transitions(&timeline)
    );
    timeline.into_iter().map(|(_, _, s)| s).collect()
}

fn fires_then_clears(states: &[AlarmState]) -> bool {
    let fired = states.iter().position(|s| *s == AlarmState::Alarm);
    fired.is_some_and(|at| states[at..].contains(&AlarmState::Ok))
        && states.last() == Some(&AlarmState::Ok)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_errors_fire_the_chat_error_rate_alarm_until_lifted() {
    let states = states_under(FaultKind::StoreErrors, "chat_message_processing-error-rate").await;
    assert!(fires_then_clears(&states), "{states:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_store_fires_the_chat_duration_alarm_until_lifted() {
    // Three store calls per message: about 1.5 s against the 1000 ms
    // threshold, so messages finish within the compressed periods.
    let states = states_under(
        FaultKind::SlowStore(Duration::from_millis(500)),
        "chat_message_processing-duration",
    )
    .await;
    assert!(fires_then_clears(&states), "{states:?}");
}
