//! When a fault is on during a load round.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use perfmon_chat::local::FaultKind;

/// A fault and when it is on, from the start of each load round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// The fault.
    pub kind: FaultKind,
    /// On from here.
    pub from: Duration,
    /// Off again from here.
    pub to: Duration,
}

/// Switches `on` according to `plan`, from now.
pub(crate) fn schedule(plan: FaultPlan, on: Arc<AtomicBool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        tokio::time::sleep(plan.from).await;
        on.store(true, Ordering::Relaxed);
        tokio::time::sleep(plan.to.saturating_sub(plan.from)).await;
        on.store(false, Ordering::Relaxed);
    })
}
