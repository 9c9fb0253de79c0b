//! The application without AWS: embedded store, in-process delivery, the
//! local development token issuer; the WebSocket server that drives it and
//! the demo.

mod cpu;
mod demo;
mod event;
mod fault;
mod load;
mod load_report;
mod paired;
mod report;
mod serve;

use std::sync::Arc;

use crate::ChatMonitor;

use super::auth::{AuthenticationService, DevIssuer};
use super::handlers::App;
use super::post::LocalPoster;
use super::store::MemoryStore;

pub use demo::{run_demo, DemoOptions};
pub use event::websocket_event;
pub use fault::{FaultKind, FaultPlan, FaultyStore};
pub use load::{monitored, run_load, LoadOptions};
pub use load_report::{LoadReport, Round};
pub use report::DemoReport;
pub use serve::{
    serve, serve_with, ServeLimits, DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS, DEFAULT_WRITE_TIMEOUT,
};

/// WebSocket settings of the local server and its clients. Frames here are
/// small (the largest accepted is [`crate::frame::MAX_FRAME_BYTES`]);
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

/// An [`App`] wired to local parts.
#[derive(Debug, Clone)]
pub struct LocalApp {
    /// The handlers.
    pub app: App,
    /// Delivers frames to the local server's sockets.
    pub poster: Arc<LocalPoster>,
    /// The embedded store.
    pub store: Arc<MemoryStore>,
    /// Issues tokens the app accepts.
    pub issuer: Arc<DevIssuer>,
}

impl LocalApp {
    /// A local app with a fresh signing key.
    pub fn new(monitor: ChatMonitor) -> Self {
        Self::with_fault(monitor, None)
    }

    /// A local app whose message store suffers `fault` while its switch is
    /// on.
    pub fn with_fault(
        monitor: ChatMonitor,
        fault: Option<(FaultKind, Arc<std::sync::atomic::AtomicBool>)>,
    ) -> Self {
        let issuer = Arc::new(DevIssuer::new());
        let store = Arc::new(MemoryStore::new());
        let poster = Arc::new(LocalPoster::new());
        let auth = AuthenticationService::local(&issuer, monitor.clone());
        let app = match fault {
            None => App::new(monitor, auth, store.clone(), poster.clone()),
            Some((kind, on)) => {
                let faulty = Arc::new(FaultyStore::new(store.clone(), kind, on));
                App::new(monitor, auth, faulty, poster.clone())
            }
        };
        LocalApp {
            app,
            poster,
            store,
            issuer,
        }
    }
}
