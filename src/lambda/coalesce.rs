//! [`Coalescer`]: the flush when many invocations run at once (Lambda
//! Managed Instances).
//!
//! One flush runs at a time, on a task of its own. An invocation whose
//! root span ends asks for one; the next flush to start exports its spans,
//! with those of every invocation that ended meanwhile, so eight
//! invocations ending together cost one flush, not eight, and the flush
//! workers' queues never fill. When no span waits (an unsampled
//! invocation, on the X-Ray path), no flush runs, and the flush task is
//! woken only to arm its metrics timer (by the first such invocation after
//! the metrics left) or at a quiet moment.
//!
//! Metrics aggregate across invocations and leave with a flush at a quiet
//! moment (no invocation running, and a second since they last left) or
//! once `OTEL_METRIC_EXPORT_INTERVAL` (60 s by default) has passed; their
//! EMF lines carry no invocation's ids. The shutdown exports the rest.
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

/// The shortest time between two metric exports at quiet moments.
const QUIET_METRICS_GAP: Duration = Duration::from_secs(1);

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
    /// The next flush exports metrics too (a panicking invocation's).
    everything: AtomicBool,
    /// Invocations ended since the metrics last left.
    metrics_pending: AtomicBool,
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
            everything: AtomicBool::new(false),
            metrics_pending: AtomicBool::new(false),
            started: AtomicBool::new(false),
        }
    }

    /// An invocation ended: asks for a flush of what has ended so far,
    /// with the metrics too when `everything`. The ticket to
    /// [`wait`](Self::wait) with, or `None` when no span of its waits (it
    /// was not sampled). Starts the flush task on the current Tokio
    /// runtime the first time.
    pub(super) fn ask(self: &Arc<Self>, everything: bool) -> Option<u64> {
        if !self.started.load(Ordering::Acquire) && !self.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(self.clone().run());
        }
        if everything {
            self.everything.store(true, Ordering::Release);
        }
        let spans = everything || self.telemetry.spans_may_wait();
        // The flush task arms its metrics timer when the first invocation
        // after a metrics export ends.
        let first = !self.metrics_pending.load(Ordering::Acquire)
            && !self.metrics_pending.swap(true, Ordering::AcqRel);
        if !spans && !first {
            return None;
        }
        let ticket = self.asked.fetch_add(1, Ordering::AcqRel) + 1;
        self.ask.notify_one();
        spans.then_some(ticket)
    }

    /// No invocation is running now: a flush waiting for its interval may
    /// go.
    pub(super) fn quiet(&self) {
        self.quiet.notify_waiters();
        // Metrics waiting for a quiet moment: the task sets its timer anew.
        if self.metrics_pending.load(Ordering::Acquire) {
            self.ask.notify_one();
        }
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
        let mut metrics_left = Instant::now();
        loop {
            let metrics_wait = self.metrics_pending.load(Ordering::Acquire);
            let due = metrics_left
                + if self.in_flight.len() == 0 {
                    QUIET_METRICS_GAP
                } else {
                    self.telemetry.metric_export_interval()
                };
            tokio::select! {
                _ = self.ask.notified() => {}
                _ = tokio::time::sleep_until(due), if metrics_wait => {}
            }
            // A panicking invocation's flush never waits for the interval.
            let urgent = self.everything.load(Ordering::Acquire);
            if let (Some(interval), Some(last), false) = (self.interval, last, urgent) {
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
            let now = Instant::now();
            let since = now.duration_since(metrics_left);
            let metrics = self.everything.swap(false, Ordering::AcqRel)
                || since >= self.telemetry.metric_export_interval()
                || (since >= QUIET_METRICS_GAP && self.in_flight.len() == 0);
            if metrics || self.telemetry.spans_may_wait() {
                last = Some(now);
                if metrics {
                    metrics_left = now;
                    self.metrics_pending.store(false, Ordering::Release);
                }
                let (telemetry, budget) = (self.telemetry.clone(), self.budget);
                // Counted and logged once inside; never returned.
                let _ = tokio::task::spawn_blocking(move || {
                    if metrics {
                        telemetry.force_flush(budget)
                    } else {
                        telemetry.force_flush_traces(budget)
                    }
                })
                .await;
            }
            self.covered.send_replace(ticket);
        }
    }
}
