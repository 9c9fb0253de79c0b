//! The application without AWS: embedded store, in-process delivery, the
//! local development token issuer, and faults to inject into the store.
//! The lab's server, demo and load drive it; tests use it as a whole app.

mod event;
mod fault;

use std::sync::Arc;

use crate::ChatMonitor;

use super::auth::{AuthenticationService, DevIssuer};
use super::handlers::App;
use super::post::LocalPoster;
use super::store::MemoryStore;

pub use event::websocket_event;
pub use fault::{FaultKind, FaultyStore};

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
