//! In-process threshold checks: the catalog's limits, applied to every
//! completed operation.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::catalog::Thresholds;
use crate::names;

/// Error rates are judged over tumbling windows of this length.
pub const ERROR_RATE_WINDOW: Duration = Duration::from_secs(60);
/// A window's error rate is judged only once it holds this many operations,
/// so the first failure of a cold instance is not a 100 % breach.
pub const ERROR_RATE_MIN_SAMPLES: u64 = 20;

/// Name of the error-rate check in `ThresholdBreaches{Metric}`. Not a stored
/// metric: CloudWatch computes the rate as `100 * Errors / Invocations`.
pub const ERROR_RATE: &str = "ErrorRate";

/// The metrics checked, as they appear in `ThresholdBreaches{Metric}`.
pub(crate) const CHECKED: [&str; 3] = [names::HANDLER_DURATION, names::MEMORY_USAGE, ERROR_RATE];

/// One failed check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Breach {
    /// The checked metric, as it appears in `ThresholdBreaches{Metric}`.
    pub metric: &'static str,
    pub limit: f64,
    pub value: f64,
}

/// Per-operation counts for the error-rate check.
#[derive(Debug, Default)]
pub(crate) struct ErrorWindow {
    /// Index of the current window since the monitor's epoch.
    window: AtomicU64,
    total: AtomicU64,
    errors: AtomicU64,
}

impl ErrorWindow {
    /// Counts one completion at `elapsed` since the epoch and returns the
    /// window's error rate in percent, once the window is judged.
    fn record(&self, elapsed: Duration, failed: bool) -> Option<f64> {
        let index = elapsed.as_secs() / ERROR_RATE_WINDOW.as_secs();
        let current = self.window.load(Ordering::Relaxed);
        if index != current
            && self
                .window
                .compare_exchange(current, index, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            self.total.store(0, Ordering::Relaxed);
            self.errors.store(0, Ordering::Relaxed);
        }
        let total = self.total.fetch_add(1, Ordering::Relaxed) + 1;
        let errors = if failed {
            self.errors.fetch_add(1, Ordering::Relaxed) + 1
        } else {
            self.errors.load(Ordering::Relaxed)
        };
        (total >= ERROR_RATE_MIN_SAMPLES).then(|| 100.0 * errors as f64 / total as f64)
    }
}

/// Checks one completion against `limits` and returns the breaches: at most
/// one each for duration, memory and error rate, without allocating. The
/// error rate is only judged on a failure, the only time it can rise.
pub(crate) fn check(
    limits: &Thresholds,
    window: &ErrorWindow,
    since_epoch: Duration,
    duration_ms: f64,
    memory_bytes: u64,
    failed: bool,
) -> [Option<Breach>; 3] {
    let mut out = [None; 3];
    if duration_ms > limits.duration_ms {
        out[0] = Some(Breach {
            metric: names::HANDLER_DURATION,
            limit: limits.duration_ms,
            value: duration_ms,
        });
    }
    if memory_bytes > limits.memory_bytes {
        out[1] = Some(Breach {
            metric: names::MEMORY_USAGE,
            limit: limits.memory_bytes as f64,
            value: memory_bytes as f64,
        });
    }
    let rate = window.record(since_epoch, failed);
    if let (true, Some(rate)) = (failed, rate) {
        if rate > limits.error_rate_percent {
            out[2] = Some(Breach {
                metric: ERROR_RATE,
                limit: limits.error_rate_percent,
                value: rate,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Thresholds = Thresholds {
        duration_ms: 100.0,
        memory_bytes: 1000,
        error_rate_percent: 10.0,
    };

    fn run(window: &ErrorWindow, at: u64, failed: bool) -> Vec<Breach> {
        check(&LIMITS, window, Duration::from_secs(at), 1.0, 1, failed)
            .into_iter()
            .flatten()
            .collect()
    }

    #[test]
    fn duration_and_memory_breach_only_above_the_limit() {
        let window = ErrorWindow::default();
        let at_limit = check(&LIMITS, &window, Duration::ZERO, 100.0, 1000, false);
        assert_eq!(at_limit, [None; 3], "equal to the limit is within it");
        let over = check(&LIMITS, &window, Duration::ZERO, 100.5, 1001, false);
        let metrics: Vec<_> = over
            .iter()
            .flatten()
            .map(|b| (b.metric, b.limit, b.value))
            .collect();
        assert_eq!(
            metrics,
            [
                ("HandlerDuration", 100.0, 100.5),
                ("MemoryUsage", 1000.0, 1001.0)
            ]
        );
    }

    #[test]
    fn every_breach_names_a_checked_metric_in_its_order() {
        let window = ErrorWindow::default();
        for _ in 0..ERROR_RATE_MIN_SAMPLES {
            check(&LIMITS, &window, Duration::ZERO, 1.0, 1, true);
        }
        let all = check(&LIMITS, &window, Duration::ZERO, 100.5, 1001, true);
        let metrics: Vec<_> = all.iter().flatten().map(|b| b.metric).collect();
        assert_eq!(metrics, CHECKED);
    }

    #[test]
    fn error_rate_is_judged_after_min_samples_within_a_window() {
        let window = ErrorWindow::default();
        for _ in 0..(ERROR_RATE_MIN_SAMPLES - 3) {
            assert!(run(&window, 1, false).is_empty());
        }
        assert!(run(&window, 1, true).is_empty(), "too few samples yet");
        assert!(run(&window, 1, true).is_empty(), "too few samples yet");
        let breach = run(&window, 1, true);
        assert_eq!(breach.len(), 1);
        assert_eq!(breach[0].metric, ERROR_RATE);
        assert!((breach[0].value - 15.0).abs() < 1e-9, "{:?}", breach[0]);
        // A new window starts from zero.
        assert!(run(&window, 61, true).is_empty());
    }
}
