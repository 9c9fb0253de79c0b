//! When the `TelemetryLost` gauge is observed: at the first collection, when
//! a signal's total has moved, when the last metric export did not succeed,
//! and otherwise once every [`LOSS_REPEAT_MS`], so that a one-minute graph
//! or alarm always has a datapoint.
//!
//! A running total that has not moved says nothing new, yet observing it
//! costs every collection a callback, two data points and their export:
//! about a sixth of the instructions of an unsampled Lambda flush.
//!
//! The rule keeps the gauge's promise, that the first export to succeed
//! after an outage reports everything lost during it: a failed (or
//! cancelled) export leaves [`Loss::metrics_export_failed`] set, and then
//! every total is observed again, moved or not.
//!
//! It holds only with one metric reader. The callback runs once per
//! reader's collection and cannot tell them apart, so a value skipped as
//! "already observed" could be one that another reader observed. With any
//! other number of readers (an EMF copy, a caller's pipeline) every
//! collection observes every total, as before.

use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use crate::telemetry::pipeline::loss::Loss;

/// An unchanged `TelemetryLost` total is observed (and written) again
/// after this long, so a one-minute graph or alarm always has a datapoint.
pub const LOSS_REPEAT_MS: u64 = 60_000;

/// The totals last observed, one slot per reported signal, with when.
#[derive(Debug)]
pub(crate) struct LossReport<const N: usize> {
    /// `false` with several readers: then every collection observes.
    skip_unchanged: bool,
    last: Mutex<[Option<(u64, SystemTime)>; N]>,
}

impl<const N: usize> LossReport<N> {
    /// `one_reader`: whether exactly one metric reader collects.
    pub(crate) fn new(one_reader: bool) -> Self {
        LossReport {
            skip_unchanged: one_reader,
            last: Mutex::new([None; N]),
        }
    }

    /// Which of `totals` to observe at `now`; those it says yes to are
    /// remembered as observed.
    ///
    /// `now` is wall time, like the minutes of the graphs and alarms the
    /// repeat is for (and of the EMF lines' own repeat); a clock that steps
    /// back makes a total due at once rather than never.
    pub(crate) fn due(&self, totals: [u64; N], loss: &Loss, now: SystemTime) -> [bool; N] {
        if !self.skip_unchanged {
            return [true; N];
        }
        let repeat = Duration::from_millis(LOSS_REPEAT_MS);
        let again = loss.metrics_export_failed.load(Ordering::Relaxed);
        // A poisoned lock only means a panic elsewhere mid-update: the
        // slots are still whole values.
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let mut due = [false; N];
        for ((slot, total), due) in last.iter_mut().zip(totals).zip(&mut due) {
            *due = match *slot {
                Some((value, at)) => {
                    again
                        || value != total
                        || now.duration_since(at).map_or(true, |since| since >= repeat)
                }
                None => true,
            };
            if *due {
                *slot = Some((total, now));
            }
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unmoved_total_is_observed_once_a_minute() {
        let loss = Loss::default();
        let report = LossReport::<2>::new(true);
        let t0 = SystemTime::now();
        assert_eq!(report.due([0, 0], &loss, t0), [true, true], "the first");
        assert_eq!(report.due([0, 0], &loss, t0), [false, false]);
        assert_eq!(report.due([3, 0], &loss, t0), [true, false], "moved");
        let later = t0 + Duration::from_millis(LOSS_REPEAT_MS);
        assert_eq!(report.due([3, 0], &loss, later), [true, true]);
        assert_eq!(report.due([3, 0], &loss, later), [false, false]);
        let stepped_back = t0 - Duration::from_secs(1);
        assert_eq!(report.due([3, 0], &loss, stepped_back), [true, true]);
    }

    #[test]
    fn after_a_failed_export_every_total_is_observed_again() {
        let loss = Loss::default();
        let report = LossReport::<2>::new(true);
        let t0 = SystemTime::now();
        report.due([5, 1], &loss, t0);
        loss.metrics_export_failed.store(true, Ordering::Relaxed);
        assert_eq!(report.due([5, 1], &loss, t0), [true, true]);
        assert_eq!(
            report.due([5, 1], &loss, t0),
            [true, true],
            "until one succeeds"
        );
        loss.metrics_export_failed.store(false, Ordering::Relaxed);
        assert_eq!(report.due([5, 1], &loss, t0), [false, false]);
    }

    #[test]
    fn with_several_readers_every_collection_observes() {
        let loss = Loss::default();
        let report = LossReport::<2>::new(false);
        let t0 = SystemTime::now();
        for _ in 0..3 {
            assert_eq!(report.due([0, 0], &loss, t0), [true, true]);
        }
    }
}
