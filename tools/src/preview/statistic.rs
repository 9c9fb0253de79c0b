//! CloudWatch statistics over the samples of one period.
//!
//! Definitions: "CloudWatch statistics definitions", Amazon CloudWatch User
//! Guide
//! (<https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Statistics-definitions.html>):
//! - `SampleCount`: the number of data points in the period;
//! - `Sum`: all values added; `Average`: `Sum / SampleCount`;
//! - `Minimum` / `Maximum`: the lowest / highest value;
//! - `pNN`: "the value below which NN percent of the data within the
//!   period falls". Computed here by nearest rank over the value/count
//!   pairs: the smallest value whose cumulative count reaches
//!   `ceil(NN / 100 * SampleCount)`.
//!
//! A period with no samples has no datapoint: CloudWatch returns nothing
//! for it, which is what alarms call missing data.

use super::store::Sample;

/// A statistic, as a widget's `stat` or an alarm's `Statistic` /
/// `ExtendedStatistic` names it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// `Sum`.
    Sum,
    /// `Average`.
    Average,
    /// `SampleCount`.
    SampleCount,
    /// `Minimum`.
    Minimum,
    /// `Maximum`.
    Maximum,
    /// `pNN` or `pNN.NN`: the percentile, 0–100.
    Percentile(f64),
}

/// A statistic name the preview does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown statistic {0:?}")]
pub struct UnknownStatistic(pub String);

impl std::str::FromStr for Statistic {
    type Err = UnknownStatistic;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Ok(match name {
            "Sum" => Statistic::Sum,
            "Average" => Statistic::Average,
            "SampleCount" => Statistic::SampleCount,
            "Minimum" => Statistic::Minimum,
            "Maximum" => Statistic::Maximum,
            _ => {
                let p = name
                    .strip_prefix('p')
                    .and_then(|p| p.parse::<f64>().ok())
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| UnknownStatistic(name.to_owned()))?;
                Statistic::Percentile(p)
            }
        })
    }
}

impl Statistic {
    /// The statistic over `samples` (one period's); `None` when there are
    /// none.
    pub fn compute<'a>(self, samples: impl IntoIterator<Item = &'a Sample>) -> Option<f64> {
        let samples: Vec<&Sample> = samples.into_iter().collect();
        if samples.is_empty() {
            return None;
        }
        let count: f64 = samples.iter().map(|s| s.count).sum();
        let sum: f64 = samples.iter().map(|s| s.sum).sum();
        match self {
            Statistic::Sum => Some(sum),
            Statistic::SampleCount => Some(count),
            Statistic::Average => (count > 0.0).then(|| sum / count),
            Statistic::Minimum => Some(samples.iter().map(|s| s.min).fold(f64::INFINITY, f64::min)),
            Statistic::Maximum => Some(
                samples
                    .iter()
                    .map(|s| s.max)
                    .fold(f64::NEG_INFINITY, f64::max),
            ),
            Statistic::Percentile(p) => {
                let mut pairs: Vec<(f64, f64)> = samples
                    .iter()
                    .flat_map(|s| s.values.iter().copied())
                    .filter(|(_, c)| *c > 0.0)
                    .collect();
                pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
                let total: f64 = pairs.iter().map(|(_, c)| c).sum();
                let rank = (p / 100.0 * total).ceil().max(1.0);
                let mut seen = 0.0;
                pairs.iter().find_map(|(v, c)| {
                    seen += c;
                    (seen >= rank).then_some(*v)
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples() -> Vec<Sample> {
        // 1..=100 as single values across two lines, plus a distribution.
        vec![
            Sample::from_pairs(0, (1..=60).map(|v| (v as f64, 1.0)).collect()),
            Sample::from_pairs(0, (61..=100).map(|v| (v as f64, 1.0)).collect()),
        ]
    }

    fn stat(name: &str, samples: &[Sample]) -> Option<f64> {
        name.parse::<Statistic>().unwrap().compute(samples)
    }

    #[test]
    fn each_statistic_over_one_to_a_hundred() {
        let s = samples();
        assert_eq!(stat("SampleCount", &s), Some(100.0));
        assert_eq!(stat("Sum", &s), Some(5050.0));
        assert_eq!(stat("Average", &s), Some(50.5));
        assert_eq!(stat("Minimum", &s), Some(1.0));
        assert_eq!(stat("Maximum", &s), Some(100.0));
        assert_eq!(stat("p50", &s), Some(50.0));
        assert_eq!(stat("p90", &s), Some(90.0));
        assert_eq!(stat("p99", &s), Some(99.0));
        assert_eq!(stat("p99.5", &s), Some(100.0));
        assert_eq!(stat("p100", &s), Some(100.0));
        assert_eq!(stat("p0", &s), Some(1.0));
    }

    #[test]
    fn percentiles_weigh_values_by_their_counts() {
        // 90 requests at 10 ms, 9 at 100 ms, 1 at 1000 ms.
        let s = [Sample::from_pairs(
            0,
            vec![(100.0, 9.0), (10.0, 90.0), (1000.0, 1.0)],
        )];
        assert_eq!(stat("p50", &s), Some(10.0));
        assert_eq!(stat("p90", &s), Some(10.0));
        assert_eq!(stat("p91", &s), Some(100.0));
        assert_eq!(stat("p99", &s), Some(100.0));
        assert_eq!(stat("p99.9", &s), Some(1000.0));
        assert_eq!(stat("Average", &s), Some((900.0 + 900.0 + 1000.0) / 100.0));
    }

    #[test]
    fn an_empty_period_has_no_datapoint_and_names_are_checked() {
        assert_eq!(Statistic::Sum.compute(&[]), None);
        for bad in ["sum", "p101", "pXX", "tm99", ""] {
            assert!(bad.parse::<Statistic>().is_err(), "{bad}");
        }
    }
}
