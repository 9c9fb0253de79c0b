use std::collections::HashMap;
use std::sync::Mutex;

use opentelemetry::Context;
use tokio::sync::mpsc;

use super::{PostError, Poster};

/// One channel per locally connected client; the local server forwards what
/// arrives on it to the WebSocket.
#[derive(Debug, Default)]
pub struct LocalPoster {
    clients: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
}

impl LocalPoster {
    /// No clients yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `connection_id`; frames posted to it arrive on the receiver.
    pub fn register(&self, connection_id: &str) -> mpsc::UnboundedReceiver<String> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(connection_id.to_owned(), tx);
        rx
    }

    /// How many clients are registered.
    pub fn client_count(&self) -> usize {
        self.clients.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Forgets `connection_id`; later posts to it are `Gone`.
    pub fn unregister(&self, connection_id: &str) {
        self.clients
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(connection_id);
    }
}

#[async_trait::async_trait]
impl Poster for LocalPoster {
    async fn post(&self, _: &Context, connection_id: &str, data: &str) -> Result<(), PostError> {
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        let client = clients.get(connection_id).ok_or(PostError::Gone)?;
        client.send(data.to_owned()).map_err(|_| PostError::Gone)
    }
}
