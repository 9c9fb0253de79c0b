//! The repository's test rigs (`perfmon-testkit`) and the chat app's test
//! telemetry.
#![allow(dead_code, unused_imports)]

pub use perfmon_chat::testing::{chat, chat_telemetry};
pub use perfmon_testkit::*;
