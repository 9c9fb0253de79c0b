//! Metric queries over a store: one metric's statistic per period, as
//! `GetMetricData` returns it.
//!
//! Periods are aligned to multiples of the period since the epoch, as
//! CloudWatch aligns datapoints ("GetMetricData", Amazon CloudWatch API
//! Reference: a datapoint's timestamp is the start of its period). A
//! period with no sample has no datapoint.

use std::collections::BTreeMap;

use super::statistic::Statistic;
use super::store::{MetricId, MetricStore};

/// A time series: period start (ms since the epoch) to value.
pub type Series = BTreeMap<i64, f64>;

/// The time range a query covers, in whole periods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start of the first period, ms (a multiple of the period).
    pub start_ms: i64,
    /// End of the last period, ms (exclusive).
    pub end_ms: i64,
    /// Period length in seconds.
    pub period_s: u32,
}

impl Window {
    /// The smallest window of `period_s` periods that holds `[from_ms,
    /// to_ms]`.
    pub fn covering(from_ms: i64, to_ms: i64, period_s: u32) -> Self {
        let period = period_ms(period_s);
        let start_ms = from_ms.div_euclid(period) * period;
        let end_ms = (to_ms.div_euclid(period) + 1) * period;
        Window {
            start_ms,
            end_ms,
            period_s,
        }
    }

    /// The same range, in periods of `period_s`.
    pub fn with_period(self, period_s: u32) -> Self {
        Window::covering(self.start_ms, self.end_ms - 1, period_s)
    }

    /// Start of every period, in order.
    pub fn periods(&self) -> impl Iterator<Item = i64> {
        let period = period_ms(self.period_s);
        (self.start_ms..self.end_ms).step_by(period as usize)
    }

    /// Start of the period holding `t_ms`.
    pub fn period_of(&self, t_ms: i64) -> i64 {
        let period = period_ms(self.period_s);
        t_ms.div_euclid(period) * period
    }
}

fn period_ms(period_s: u32) -> i64 {
    i64::from(period_s.max(1)) * 1000
}

/// `stat` of metric `id` for each period of `window` that has samples.
pub fn metric_series(
    store: &MetricStore,
    id: &MetricId,
    stat: Statistic,
    window: &Window,
) -> Series {
    let mut by_period: BTreeMap<i64, Vec<_>> = BTreeMap::new();
    for sample in store.samples(id) {
        if (window.start_ms..window.end_ms).contains(&sample.timestamp_ms) {
            by_period
                .entry(window.period_of(sample.timestamp_ms))
                .or_default()
                .push(sample);
        }
    }
    by_period
        .into_iter()
        .filter_map(|(period, samples)| Some((period, stat.compute(samples)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_fall_into_aligned_periods_and_empty_ones_have_no_datapoint() {
        let line = |t: i64, v: f64| {
            format!(
                r#"{{"_aws":{{"Timestamp":{t},"CloudWatchMetrics":[{{"Namespace":"N","Dimensions":[[]],"Metrics":[{{"Name":"M"}}]}}]}},"M":{v}}}"#
            )
        };
        let input = [
            line(61_000, 1.0),
            line(119_999, 3.0),
            line(120_000, 10.0),
            line(250_000, 7.0),
        ]
        .join("\n");
        let (store, errors) = MetricStore::read(input.as_bytes()).unwrap();
        assert!(errors.is_empty());
        let id = store.metrics().next().unwrap().clone();
        let window = Window::covering(61_000, 250_000, 60);
        assert_eq!((window.start_ms, window.end_ms), (60_000, 300_000));
        assert_eq!(window.periods().count(), 4);
        let sums = metric_series(&store, &id, Statistic::Sum, &window);
        assert_eq!(
            sums.into_iter().collect::<Vec<_>>(),
            [(60_000, 4.0), (120_000, 10.0), (240_000, 7.0)]
        );
        let five = window.with_period(300);
        assert_eq!(
            metric_series(&store, &id, Statistic::Average, &five)
                .into_iter()
                .collect::<Vec<_>>(),
            [(0, 5.25)]
        );
    }
}
