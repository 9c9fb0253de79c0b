//! The repository's test rigs (`perfmon-testkit`) and the chat monitor on
//! test telemetry.
#![allow(dead_code, unused_imports)]

pub use perfmon_chat::testing::chat;
pub use perfmon_testkit::*;
