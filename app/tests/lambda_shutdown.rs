//! The graceful shutdown: the real `ws-conversation` executable, run as
//! Lambda runs it (against the emulator's Runtime API, moto for the
//! Management API), exports OTLP to a real collector in the `adaptive`
//! flush mode with an interval of an hour. Its second invocation arrives
//! within the interval, so its telemetry stays buffered; SIGTERM, which
//! Lambda sends before it reclaims an environment, must bring it to the
//! collector before the process exits.
#![cfg(feature = "aws")]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::app::fixture_json;
use common::emulator::{Emulator, Function};
use common::moto::Moto;
use common::rotel::Rotel;

/// Root spans the collector printed: one per invocation.
fn invocations(rotel: &Rotel) -> usize {
    rotel.output().matches("faas.invocation_id").count()
}

#[test]
fn sigterm_flushes_buffered_telemetry_to_the_collector() {
    let Some(moto) = Moto::start() else { return };
    let Some(rotel) = Rotel::start() else { return };
    let Some(emulator) = Emulator::runtime_api("ws-conversation") else {
        return;
    };
    let mut function = Function::start(
        Path::new(env!("CARGO_BIN_EXE_ws-conversation")),
        "ws-conversation",
        &emulator,
        &[
            ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", rotel.http.clone()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("PERFMON_FLUSH_MODE", "adaptive".to_owned()),
            ("PERFMON_FLUSH_INTERVAL_MS", "3600000".to_owned()),
            ("PERFMON_COGNITO_ISSUER", format!("{}/pool", moto.endpoint)),
            ("PERFMON_COGNITO_CLIENT_ID", "client".to_owned()),
            ("PERFMON_MANAGEMENT_ENDPOINT", moto.endpoint.clone()),
        ]
        .into_iter()
        .chain(common::app::moto_env(&moto))
        .collect::<Vec<_>>(),
    );
    let ping = fixture_json("default-ping");
    for _ in 0..2 {
        let answer = emulator.invoke("_", &ping);
        assert_eq!(answer["statusCode"], 200, "{answer}\n{}", function.output());
    }
    // The first invocation was flushed before the second began; the
    // second is buffered.
    rotel.wait_for(&["faas.invocation_id"]);
    assert_eq!(invocations(&rotel), 1, "{}", rotel.output());

    let sent = Instant::now();
    // SAFETY: signals the child this test started.
    assert_eq!(
        unsafe { libc::kill(function.id() as i32, libc::SIGTERM) },
        0
    );
    let exit = function.wait_exit(Duration::from_secs(10));
    let took = sent.elapsed();
    assert_eq!(exit, Some(0), "exits cleanly\n{}", function.output());
    let deadline = Instant::now() + Duration::from_secs(10);
    while invocations(&rotel) < 2 {
        assert!(
            Instant::now() < deadline,
            "the buffered invocation never arrived:\n{}\n{}",
            function.output(),
            rotel.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = function.output();
    let line = output
        .lines()
        .find(|l| l.contains("telemetry flushed on shutdown"))
        .unwrap_or_else(|| panic!("the shutdown is logged:\n{output}"));
    eprintln!("SIGTERM to exit: {took:?}; {line}");
}
