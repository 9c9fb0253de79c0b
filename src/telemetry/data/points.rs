//! One walker over the SDK's metric data: every exporter, the demo report
//! and the tests read exported metrics as [`MetricPoint`]s, so the shapes of
//! `AggregatedMetrics` are matched in one place.

use opentelemetry::KeyValue;
use opentelemetry_sdk::metrics::data::{AggregatedMetrics, MetricData, ResourceMetrics};

use crate::telemetry::data::histogram::Distribution;

/// One exported data point, in a plain form.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricPoint<'a> {
    /// The instrument name (the CloudWatch metric name).
    pub name: &'a str,
    /// The instrument's UCUM unit.
    pub unit: &'a str,
    /// The point's attributes, as recorded.
    pub attributes: Vec<&'a KeyValue>,
    /// Its value.
    pub value: PointValue,
}

/// The value of a [`MetricPoint`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PointValue {
    /// A counter's sum (Delta: since the last export).
    Sum(f64),
    /// A gauge's latest value.
    Gauge(f64),
    /// An exponential histogram, as value/count pairs.
    Distribution(Distribution),
    /// An explicit-bucket histogram, summarised.
    Summary {
        /// Values recorded.
        count: u64,
        /// Their sum.
        sum: f64,
        /// The smallest, when recorded.
        min: Option<f64>,
        /// The largest, when recorded.
        max: Option<f64>,
    },
}

/// Every data point of `metrics`, in export order.
pub fn metric_points(metrics: &ResourceMetrics) -> impl Iterator<Item = MetricPoint<'_>> {
    metrics
        .scope_metrics()
        .flat_map(|scope| scope.metrics())
        .flat_map(|metric| {
            let (name, unit) = (metric.name(), metric.unit());
            let points: Vec<(Vec<&KeyValue>, PointValue)> = match metric.data() {
                AggregatedMetrics::F64(data) => of(data, |v| v),
                AggregatedMetrics::U64(data) => of(data, |v| v as f64),
                AggregatedMetrics::I64(data) => of(data, |v| v as f64),
            };
            points
                .into_iter()
                .map(move |(attributes, value)| MetricPoint {
                    name,
                    unit,
                    attributes,
                    value,
                })
        })
}

fn of<T: Copy>(data: &MetricData<T>, to_f64: fn(T) -> f64) -> Vec<(Vec<&KeyValue>, PointValue)> {
    match data {
        MetricData::Sum(s) => s
            .data_points()
            .map(|p| (p.attributes().collect(), PointValue::Sum(to_f64(p.value()))))
            .collect(),
        MetricData::Gauge(g) => g
            .data_points()
            .map(|p| {
                (
                    p.attributes().collect(),
                    PointValue::Gauge(to_f64(p.value())),
                )
            })
            .collect(),
        MetricData::ExponentialHistogram(h) => h
            .data_points()
            .map(|p| {
                let distribution = Distribution::of(p, to_f64);
                (
                    p.attributes().collect(),
                    PointValue::Distribution(distribution),
                )
            })
            .collect(),
        MetricData::Histogram(h) => h
            .data_points()
            .map(|p| {
                let summary = PointValue::Summary {
                    count: p.count(),
                    sum: to_f64(p.sum()),
                    min: p.min().map(to_f64),
                    max: p.max().map(to_f64),
                };
                (p.attributes().collect(), summary)
            })
            .collect(),
    }
}
