//! The repository's test rigs (`perfmon-testkit`), plus the chat app's:
//! event fixtures, DynamoDB tables on moto, a JWKS endpoint and the X-Ray
//! service map.
#![allow(dead_code, unused_imports)]

pub mod app;
#[cfg(feature = "aws")]
pub mod jwks_endpoint;
#[cfg(feature = "aws")]
pub use perfmon_testkit::xray_map;

pub use perfmon_testkit::*;

pub use perfmon_chat::testing::chat;
