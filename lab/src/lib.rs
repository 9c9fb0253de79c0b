//! The chat app's lab: the app on a local WebSocket server, driven by
//! simulated clients (`demo`), served for a browser or a client (`serve`),
//! and loaded in rounds with monitoring on and off, optionally with a fault
//! in the store (`load`). Its dependencies (a WebSocket server and client,
//! a progress bar, a command line) never reach the Lambda binaries.
//!
//! - [`run_demo`] and [`DemoReport`]: the demo and what it prints;
//! - [`serve`] and [`serve_with`]: the local server and its limits;
//! - [`run_load`], [`LoadReport`] and [`Round`]: the load rounds, paired or
//!   not, and their table; [`FaultPlan`]: when a fault is on.

mod cpu;
mod demo;
mod fault;
mod load;
mod load_report;
mod options;
mod paired;
mod report;
mod round;
mod serve;

pub use demo::{run_demo, DemoOptions};
pub use fault::FaultPlan;
pub use load::{monitored, run_load};
pub use load_report::{LoadReport, Round};
pub use options::LoadOptions;
pub use report::DemoReport;
pub use serve::{
    serve, serve_with, ServeLimits, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_WRITE_TIMEOUT,
};

/// WebSocket settings of the local server and its clients. Frames here are
/// small (the largest accepted is [`perfmon_chat::frame::MAX_FRAME_BYTES`]);
/// the library's 128 KiB read buffer is zeroed on every read, which cost
/// more CPU than the handlers.
pub fn websocket_config() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default().read_buffer_size(8 * 1024)
}

/// Opens `path` for a run's EMF lines (`--emf-out`): created or
/// truncated, written line by line.
pub fn emf_file(path: &std::path::Path) -> Result<std::io::LineWriter<std::fs::File>, String> {
    std::fs::File::create(path)
        .map(std::io::LineWriter::new)
        .map_err(|e| format!("cannot write EMF lines to {}: {e}", path.display()))
}
