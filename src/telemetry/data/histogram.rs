//! Exponential-histogram points as value/count pairs: the form CloudWatch
//! computes percentiles from, and the one place that bucket arithmetic
//! lives.

use opentelemetry_sdk::metrics::data::ExponentialHistogramDataPoint;

/// A recorded distribution: each non-empty bucket as its midpoint with its
/// count, plus the exact min, max, count and sum.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Distribution {
    /// (bucket midpoint, count), zero bucket first.
    pub pairs: Vec<(f64, u64)>,
    /// The smallest value recorded.
    pub min: f64,
    /// The largest value recorded.
    pub max: f64,
    /// How many values were recorded.
    pub count: u64,
    /// Their sum.
    pub sum: f64,
}

impl Distribution {
    /// The distribution of one exported point.
    ///
    /// Bucket `offset + i` of scale `s` covers `(base^(offset+i),
    /// base^(offset+i+1)]` with `base = 2^(2^-s)`; its midpoint, clamped to
    /// the recorded min and max, stands for its values.
    pub fn of<T: Copy>(p: &ExponentialHistogramDataPoint<T>, to_f64: impl Fn(T) -> f64) -> Self {
        let min = p.min().map(&to_f64).unwrap_or(0.0);
        let max = p.max().map(&to_f64).unwrap_or(0.0);
        let base = 2f64.powf(2f64.powi(-(p.scale() as i32)));
        let offset = p.positive_bucket().offset();
        let mut pairs = Vec::new();
        if p.zero_count() > 0 {
            pairs.push((0.0, p.zero_count()));
        }
        for (i, count) in p.positive_bucket().counts().enumerate() {
            if count > 0 {
                let lower = base.powi(offset + i as i32);
                pairs.push((((lower + lower * base) / 2.0).clamp(min, max), count));
            }
        }
        Distribution {
            pairs,
            min,
            max,
            count: p.count() as u64,
            sum: to_f64(p.sum()),
        }
    }

    /// The `q` quantile as CloudWatch computes it from the pairs: the
    /// smallest value whose cumulative count reaches the rank.
    pub fn quantile(&self, q: f64) -> f64 {
        let mut sorted = self.pairs.clone();
        sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
        let rank = (q * self.count as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (value, count) in sorted {
            seen += count;
            if seen >= rank {
                return value.min(self.max);
            }
        }
        self.max
    }

    /// The exact mean, 0 when empty.
    pub fn mean(&self) -> f64 {
        if self.count == 0 {
            0.0
        } else {
            self.sum / self.count as f64
        }
    }

    /// Adds `other` (e.g. the next export of the same point).
    pub fn merge(&mut self, other: Distribution) {
        self.min = if self.count == 0 {
            other.min
        } else {
            self.min.min(other.min)
        };
        self.max = self.max.max(other.max);
        self.pairs.extend(other.pairs);
        self.count += other.count;
        self.sum += other.sum;
    }
}
