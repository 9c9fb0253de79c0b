//! [`InFlight`]: the invocations running now, so that a shutdown can end
//! their root spans before it flushes.
//!
//! Under Lambda Managed Instances several invocations run at once, and
//! SIGTERM may arrive while some are still running: their root spans
//! would never end, and their traces would never be exported. The layer
//! enters each invocation's context here when it starts and leaves when
//! its root span ends; the shutdown ends what is left as the service error
//! [`INTERRUPTED`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use opentelemetry::trace::TraceContextExt;
use opentelemetry::Context;

use crate::monitor::Failure;

/// `error.type` of an invocation whose environment shut down while it ran.
pub const INTERRUPTED: &str = "interrupted";

/// The running invocations' contexts, by a key the layer keeps.
#[derive(Debug, Default)]
pub(super) struct InFlight {
    next: AtomicU64,
    running: Mutex<HashMap<u64, Context>>,
}

impl InFlight {
    fn running(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Context>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An invocation started; its key, to [`leave`](Self::leave) with.
    pub(super) fn enter(&self, cx: &Context) -> u64 {
        let key = self.next.fetch_add(1, Ordering::Relaxed);
        self.running().insert(key, cx.clone());
        key
    }

    /// The invocation's root span ends; how many are still running.
    pub(super) fn leave(&self, key: u64) -> usize {
        let mut running = self.running();
        running.remove(&key);
        running.len()
    }

    /// How many invocations are running.
    pub(super) fn len(&self) -> usize {
        self.running().len()
    }

    /// Ends every running invocation's root span as [`INTERRUPTED`]; how
    /// many there were. Their handlers may still end their own spans.
    pub(super) fn interrupt(&self) -> usize {
        let running: Vec<Context> = self.running().drain().map(|(_, cx)| cx).collect();
        for cx in &running {
            let mut span = cx.span();
            Failure::service(
                INTERRUPTED,
                Some("the execution environment shut down while the invocation ran".to_owned()),
            )
            .mark(&mut span);
            span.end();
        }
        running.len()
    }
}
