//! The WebSocket chat application the guide monitors: the first user of
//! perfmon, built on its public API only.
//!
//! ## Layout
//!
//! - [`handlers`]: `$connect`, `$disconnect` and `$default`, one file each,
//!   dispatched from [`Route`]; [`App`] holds the services.
//! - [`frame`]: the chat frames and their typed errors; [`error`]: the
//!   request errors and their codes.
//! - [`auth`]: Cognito JWT verification and the local development issuer.
//! - [`chat`]: `ChatService` and the `Responder` trait.
//! - [`store`]: connection and message storage (memory; DynamoDB with
//!   `aws`); [`post`]: frame delivery (local channels; the Management API
//!   with `aws`).
//! - `local` (feature `local`): the application without AWS: embedded
//!   store, in-process delivery, the local development token issuer and
//!   store faults. The lab (`perfmon-chat-lab`) serves and loads it.
//! - `testing` (feature `testing`): a local app on test telemetry with a
//!   sign-in helper, and a connection store that fails on demand.
//!
//! ## Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `aws` | DynamoDB, the Management API and Cognito JWKS over HTTPS: what the Lambda binaries need |
//! | `local` | the application without AWS, and the development token issuer (`rsa`) |
//! | `testing` | `local`, plus the test doubles of `testing` |

pub mod attributes;
pub mod auth;
#[cfg(feature = "aws")]
pub mod aws;
pub mod chat;
pub mod env;
pub mod error;
pub mod frame;
pub mod handlers;
#[cfg(feature = "local")]
pub mod local;
mod metrics;
pub mod names;
pub mod post;
#[cfg(feature = "aws")]
mod sdk_error;
pub mod store;
#[cfg(feature = "testing")]
pub mod testing;

pub use error::AppError;
pub use handlers::{App, Route};
pub use metrics::{catalog, ChatMetrics, ChatMonitor, CATALOG};
