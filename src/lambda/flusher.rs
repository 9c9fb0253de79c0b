//! [`Flusher`]: applies the [`FlushMode`] — whether an invocation flushes,
//! and where: at the handler's end (in [`PerformanceFuture`]) or after the
//! response (in the runtime-level [`FlushLayer`]); with many invocations in
//! flight at once, through the [`Coalescer`]. It also keeps the running
//! invocations ([`InFlight`]).
//!
//! [`PerformanceFuture`]: super::PerformanceFuture
//! [`FlushLayer`]: super::FlushLayer

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Context;

use super::coalesce::Coalescer;
use super::flush_mode::FlushMode;
use super::in_flight::InFlight;
use super::invocation::flush_timeout;
use crate::telemetry::Telemetry;

/// The flush state every invocation shares.
#[derive(Debug)]
pub(super) struct Flusher {
    telemetry: Arc<Telemetry>,
    mode: FlushMode,
    budget: Duration,
    /// A [`FlushLayer`](super::FlushLayer) wraps the runtime, so a flush can
    /// wait for the response to be posted.
    after_response: AtomicBool,
    cadence: Mutex<Cadence>,
    in_flight: Arc<InFlight>,
    /// Present when several invocations may run at once.
    concurrent: Option<Arc<Coalescer>>,
}

/// What the `adaptive` mode remembers, in ms since the epoch (the wall
/// clock: a frozen environment's monotonic clock may not advance).
#[derive(Debug, Default)]
struct Cadence {
    last_start: Option<u64>,
    last_flush: Option<u64>,
    /// The running invocation arrived within the interval of the previous.
    fast: bool,
    /// The ended invocation's context, for the log lines of its flush.
    ended: Option<Context>,
    /// The ended invocation was flushed at the handler's end (it panicked,
    /// or ran out of time).
    flushed_at_end: bool,
}

impl Flusher {
    /// The flush of a function that runs up to `concurrency` invocations
    /// at once: one at a time below 2, else through the [`Coalescer`].
    pub(super) fn new(
        telemetry: Arc<Telemetry>,
        mode: FlushMode,
        budget: Duration,
        concurrency: u32,
    ) -> Self {
        let in_flight = Arc::new(InFlight::default());
        let concurrent = (concurrency > 1).then(|| {
            let interval = match mode {
                FlushMode::Adaptive { interval } => Some(interval),
                _ => None,
            };
            Arc::new(Coalescer::new(
                telemetry.clone(),
                budget,
                interval,
                in_flight.clone(),
            ))
        });
        Flusher {
            telemetry,
            mode,
            budget,
            after_response: AtomicBool::new(false),
            cadence: Mutex::new(Cadence::default()),
            in_flight,
            concurrent,
        }
    }

    /// Several invocations may run at once.
    pub(super) fn is_concurrent(&self) -> bool {
        self.concurrent.is_some()
    }

    /// The running invocations.
    pub(super) fn in_flight(&self) -> &Arc<InFlight> {
        &self.in_flight
    }

    pub(super) fn mode(&self) -> FlushMode {
        self.mode
    }

    pub(super) fn budget(&self) -> Duration {
        self.budget
    }

    /// A runtime-level layer will flush after each response.
    pub(super) fn flush_after_response(&self) {
        self.after_response.store(true, Ordering::Relaxed);
    }

    fn cadence(&self) -> std::sync::MutexGuard<'_, Cadence> {
        self.cadence.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// An invocation started, with its root span in `cx`; its key for
    /// [`handler_ended`](Self::handler_ended).
    pub(super) fn started(&self, cx: &Context) -> u64 {
        let key = self.in_flight.enter(cx);
        if self.concurrent.is_some() {
            return key;
        }
        if let FlushMode::Adaptive { interval } = self.mode {
            let now = now_ms();
            let mut cadence = self.cadence();
            cadence.fast = cadence
                .last_start
                .is_some_and(|last| now.saturating_sub(last) < interval.as_millis() as u64);
            cadence.last_start = Some(now);
        }
        key
    }

    /// The invocation `key` will not end through
    /// [`handler_ended`](Self::handler_ended) (its future was dropped, or
    /// no runtime is left to flush on): it is no longer running.
    pub(super) fn abandoned(&self, key: u64) {
        let running = self.in_flight.leave(key);
        if let (0, Some(coalescer)) = (running, &self.concurrent) {
            coalescer.quiet();
        }
    }

    /// The handler ended (its root span too): the flush, when it belongs
    /// here, or `None` when there is none or it waits for the response. A
    /// handler that panicked (`now`) is flushed here in every mode, before its
    /// panic reaches the runtime.
    pub(super) fn handler_ended(
        &self,
        key: u64,
        cx: Context,
        deadline_ms: u64,
        now: bool,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let running = self.in_flight.leave(key);
        if let Some(coalescer) = &self.concurrent {
            let ticket = coalescer.ask(now);
            if running == 0 {
                coalescer.quiet();
            }
            if !now && self.mode != FlushMode::Sync {
                return None;
            }
            // Nothing of its own to wait for: it was not sampled.
            let ticket = ticket?;
            let wait = coalescer.wait(ticket, flush_timeout(self.budget, deadline_ms, now_ms()));
            return Some(tokio::spawn(wait));
        }
        if now {
            self.cadence().flushed_at_end = self.after_response.load(Ordering::Relaxed);
            return Some(self.flush(cx, deadline_ms));
        }
        if self.mode != FlushMode::Sync && self.after_response.load(Ordering::Relaxed) {
            self.cadence().ended = Some(cx);
            return None;
        }
        self.flush_if_due(cx, deadline_ms)
    }

    /// The response was posted: the flush, unless it ran at the handler's
    /// end or is not due.
    pub(super) fn response_posted(&self, deadline_ms: u64) -> Option<tokio::task::JoinHandle<()>> {
        if self.mode == FlushMode::Sync || self.concurrent.is_some() {
            return None;
        }
        let cx = {
            let mut cadence = self.cadence();
            if std::mem::take(&mut cadence.flushed_at_end) {
                return None;
            }
            cadence.ended.take().unwrap_or_default()
        };
        self.flush_if_due(cx, deadline_ms)
    }

    /// [`flush`](Self::flush)es unless the `adaptive` mode skips this
    /// invocation.
    fn flush_if_due(&self, cx: Context, deadline_ms: u64) -> Option<tokio::task::JoinHandle<()>> {
        if let FlushMode::Adaptive { interval } = self.mode {
            let now = now_ms();
            let mut cadence = self.cadence();
            let waited_enough = cadence
                .last_flush
                .is_none_or(|last| now.saturating_sub(last) >= interval.as_millis() as u64);
            if cadence.fast && !waited_enough {
                return None;
            }
            cadence.last_flush = Some(now);
        }
        Some(self.flush(cx, deadline_ms))
    }

    /// Flushes on a blocking thread; the flush may use what is left of the
    /// budget and of the invocation's time, both counted from now.
    fn flush(&self, cx: Context, deadline_ms: u64) -> tokio::task::JoinHandle<()> {
        let timeout = flush_timeout(self.budget, deadline_ms, now_ms());
        let deadline = Instant::now() + timeout;
        let telemetry = self.telemetry.clone();
        tokio::task::spawn_blocking(move || {
            // A warning the flush logs belongs to the invocation.
            let _current = cx.attach();
            // Counted and logged once inside; never returned.
            let _ = telemetry.force_flush(deadline.saturating_duration_since(Instant::now()));
        })
    }
}

fn now_ms() -> u64 {
    crate::clock::now_ms().max(0) as u64
}
