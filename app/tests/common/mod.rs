//! The library's test helpers (`tests/common`), plus the chat app's: event
//! fixtures, a local app on the test telemetry, and DynamoDB tables on moto.
#![allow(dead_code, unused_imports)]

#[path = "../../../tests/common/mod.rs"]
mod shared;

pub mod app;
#[cfg(feature = "aws")]
pub mod jwks_endpoint;
#[cfg(feature = "aws")]
pub mod xray_map;

pub use shared::*;

/// Telemetry on the chat catalog, with the SDK's in-memory exporters.
pub fn chat_telemetry() -> TestTelemetry {
    TestTelemetry::with_catalog(perfmon_chat::catalog())
}

/// The chat monitor on `t`'s pipeline.
pub fn chat(t: &TestTelemetry) -> perfmon_chat::ChatMonitor {
    perfmon_chat::ChatMonitor::new(t.monitor.clone())
        .expect("the chat catalog declares every business metric")
}
