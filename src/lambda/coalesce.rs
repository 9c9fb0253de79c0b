//! [`Coalescer`]: the flush when many invocations run at once (Lambda
//! Managed Instances).
//!
//! One flush runs at a time, on a task of its own. An invocation whose
//! root span ends asks for one; the next flush to start exports its spans
//! and its metrics, with those of every invocation that ended meanwhile, so
//! eight invocations ending together cost one flush, not eight, and the
//! flush workers' queues never fill. Spans leave as their invocations end;
//! metrics leave with them, aggregated across invocations.
//!
//! - `sync`: the invocation waits for the flush that exports it, within its
//!   own flush timeout (the budget, and its deadline less the margin).
//! - `after-response`: nobody waits. The environment of a Managed Instance
//!   is never frozen between invocations, so the flush runs while the
//!   worker takes its next event.
//! - `adaptive`: nobody waits, and while invocations are running a flush
//!   waits until `interval` has passed since the previous one; it runs at
//!   once when none is running (a quiet moment).
//!
//! A panicking handler waits for its flush in every mode, as it does one
//! at a time.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use super::in_flight::InFlight;
use crate::telemetry::Telemetry;

/// The flush shared by concurrent invocations; see the module docs.
#[derive(Debug)]
pub(super) struct Coalescer {
    telemetry: Arc<Telemetry>,
    budget: Duration,
    /// `adaptive`: the shortest time between flushes while invocations run.
    interval: Option<Duration>,
    in_flight: Arc<InFlight>,
    /// Flushes asked for so far; each ask is a ticket.
    asked: AtomicU64,
    /// The last ticket a finished flush covered.
    covered: watch::Sender<u64>,
    /// Wakes the flush task: a ticket was taken.
    ask: Notify,
    /// Wakes the flush task from its interval: no invocation is running.
    quiet: Notify,
    started: AtomicBool,
}

impl Coalescer {
    pub(super) fn new(
        telemetry: Arc<Telemetry>,
        budget: Duration,
        interval: Option<Duration>,
        in_flight: Arc<InFlight>,
    ) -> Self {
        Coalescer {
            telemetry,
            budget,
            interval,
            in_flight,
            asked: AtomicU64::new(0),
            covered: watch::Sender::new(0),
            ask: Notify::new(),
            quiet: Notify::new(),
            started: AtomicBool::new(false),
        }
    }

    /// Asks for a flush of what has ended so far; the ticket to
    /// [`wait`](Self::wait) with. Starts the flush task on the current
    /// Tokio runtime the first time.
    pub(super) fn ask(self: &Arc<Self>) -> u64 {
        if !self.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.clone().run());
        }
        let ticket = self.asked.fetch_add(1, Ordering::AcqRel) + 1;
        self.ask.notify_one();
        ticket
    }

    /// No invocation is running now: a flush waiting for its interval may
    /// go.
    pub(super) fn quiet(&self) {
        self.quiet.notify_waiters();
    }

    /// Resolves when a flush that started after `ticket` was taken has
    /// ended, or after `timeout`.
    pub(super) fn wait(&self, ticket: u64, timeout: Duration) -> impl Future<Output = ()> + Send {
        let mut covered = self.covered.subscribe();
        async move {
            let _ = tokio::time::timeout(timeout, covered.wait_for(|c| *c >= ticket)).await;
        }
    }

    /// The flush task: one flush at a time, each covering every ticket
    /// taken before it started.
    async fn run(self: Arc<Self>) {
        let mut last: Option<Instant> = None;
        loop {
            self.ask.notified().await;
            if let (Some(interval), Some(last)) = (self.interval, last) {
                let quiet = self.quiet.notified();
                tokio::pin!(quiet);
                quiet.as_mut().enable();
                if self.in_flight.len() > 0 {
                    tokio::select! {
                        _ = tokio::time::sleep_until(last + interval) => {}
                        _ = quiet => {}
                    }
                }
            }
            let ticket = self.asked.load(Ordering::Acquire);
            last = Some(Instant::now());
            let (telemetry, budget) = (self.telemetry.clone(), self.budget);
            // Counted and logged once inside; never returned.
            let _ = tokio::task::spawn_blocking(move || telemetry.force_flush(budget)).await;
            self.covered.send_replace(ticket);
        }
    }
}
