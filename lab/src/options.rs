//! [`LoadOptions`]: what a load run does.

use std::time::Duration;

/// What the load run does.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Concurrent WebSocket clients.
    pub connections: usize,
    /// Length of each round.
    pub round: Duration,
    /// Rounds, monitoring on and off in the order [`monitored`](crate::monitored) gives.
    pub rounds: usize,
    /// A round before the measured ones, with monitoring on, no fault and
    /// its EMF lines discarded: whichever round runs first also pays the
    /// process's own warm-up (the allocator's first pages, the runtime's
    /// threads), which is not a cost of monitoring. Zero skips it.
    pub warmup: Duration,
    /// Messages per second offered by all clients together; `None` sends
    /// as fast as replies come back.
    pub rate: Option<u64>,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Write the monitored rounds' EMF lines to this file instead of
    /// discarding them, for `perfmon dashboards preview`.
    pub emf_out: Option<std::path::PathBuf>,
    /// A fault to inject in every round.
    pub fault: Option<crate::fault::FaultPlan>,
    /// Trace every message, instead of X-Ray's default rule (1 a second
    /// plus 5 %) as a service that decides for itself would.
    pub trace_all: bool,
    /// Run each round as a pair: a monitored and an unmonitored server at
    /// the same time, each with half the clients and threads of its own,
    /// and each side's CPU time that of its own threads. Side by side, both
    /// kinds meet the same machine, which rounds one after the other do not.
    pub paired: bool,
}

impl LoadOptions {
    /// Clients of each side of a paired round: half of them, at least one.
    pub fn clients_per_side(&self) -> usize {
        (self.connections / 2).max(1)
    }

    /// The sampler the monitored rounds use, in words.
    pub fn sampler(&self) -> &'static str {
        if perfmon_lambda::env::var(perfmon_lambda::env::OTEL_TRACES_SAMPLER).is_some() {
            perfmon_lambda::env::OTEL_TRACES_SAMPLER
        } else if self.trace_all {
            "every message traced"
        } else {
            "X-Ray default rule (1 a second + 5 %)"
        }
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            connections: 200,
            round: Duration::from_secs(5),
            rounds: 4,
            warmup: Duration::from_secs(2),
            rate: None,
            progress: true,
            emf_out: None,
            fault: None,
            trace_all: false,
            paired: false,
        }
    }
}
