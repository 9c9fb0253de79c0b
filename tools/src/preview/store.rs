//! A metric store filled from EMF lines, the way CloudWatch Logs turns
//! them into metrics.
//!
//! Rules, from "Specification: Embedded metric format" (Amazon CloudWatch
//! User Guide,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html>):
//! - `_aws.Timestamp` is milliseconds since the epoch;
//! - each directive of `_aws.CloudWatchMetrics` publishes each of its
//!   `Metrics` once per dimension set in `Dimensions`, with the dimension
//!   values taken from the root fields of the same names;
//! - a metric's root value is a number, an array of numbers (each one
//!   sample), or a `Values`/`Counts` distribution (the value `Values[i]`
//!   seen `Counts[i]` times), optionally with `Min`, `Max`, `Count` and
//!   `Sum` for the whole ("Publishing pre-aggregated data",
//!   `PutMetricData` `StatisticValues`).
//!
//! A line without `_aws` is a log line, not a metric: CloudWatch ignores
//! it, and so does the store. A line with `_aws` that breaks the rules is
//! dropped by CloudWatch without a word; the store reports it by line
//! number instead, and keeps every other line.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;

use serde_json::Value;

/// The identity of a metric: CloudWatch treats each combination of
/// namespace, name and dimensions as a separate metric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricId {
    /// Namespace, e.g. `WebSocket/Performance`.
    pub namespace: String,
    /// Metric name.
    pub name: String,
    /// Dimension name to value.
    pub dimensions: BTreeMap<String, String>,
}

/// One published value set: what one EMF line said about one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Milliseconds since the epoch.
    pub timestamp_ms: i64,
    /// Values with how many times each was seen.
    pub values: Vec<(f64, f64)>,
    /// Number of samples (the counts' total, or the line's `Count`).
    pub count: f64,
    /// Sum of all samples.
    pub sum: f64,
    /// Smallest sample.
    pub min: f64,
    /// Largest sample.
    pub max: f64,
}

impl Sample {
    /// A sample from value/count pairs, with the whole's statistics
    /// computed from them.
    pub fn from_pairs(timestamp_ms: i64, values: Vec<(f64, f64)>) -> Self {
        let count = values.iter().map(|(_, c)| c).sum();
        let sum = values.iter().map(|(v, c)| v * c).sum();
        let min = values.iter().map(|(v, _)| *v).fold(f64::INFINITY, f64::min);
        let max = values
            .iter()
            .map(|(v, _)| *v)
            .fold(f64::NEG_INFINITY, f64::max);
        Sample {
            timestamp_ms,
            values,
            count,
            sum,
            min,
            max,
        }
    }
}

/// A line with `_aws` that CloudWatch would drop.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct LineError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Every metric of a run.
#[derive(Debug, Default, Clone)]
pub struct MetricStore {
    samples: HashMap<MetricId, Vec<Sample>>,
    units: HashMap<(String, String), String>,
    log_lines: usize,
}

impl MetricStore {
    /// Reads EMF lines; returns the store and the lines it had to drop.
    pub fn read(reader: impl BufRead) -> std::io::Result<(Self, Vec<LineError>)> {
        let mut store = MetricStore::default();
        let mut errors = Vec::new();
        for (i, line) in reader.lines().enumerate() {
            let line = line?;
            if let Err(reason) = store.add_line(&line) {
                errors.push(LineError {
                    line: i + 1,
                    reason,
                });
            }
        }
        Ok((store, errors))
    }

    /// Adds one line. `Err` for a line with `_aws` that breaks the rules;
    /// a line without `_aws` is counted as a log line.
    pub fn add_line(&mut self, line: &str) -> Result<(), String> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        let Ok(Value::Object(root)) = serde_json::from_str::<Value>(line) else {
            self.log_lines += 1;
            return Ok(());
        };
        let Some(aws) = root.get("_aws") else {
            self.log_lines += 1;
            return Ok(());
        };
        let timestamp_ms = aws
            .get("Timestamp")
            .and_then(Value::as_i64)
            .ok_or("_aws.Timestamp is not a number of milliseconds")?;
        let directives = aws
            .get("CloudWatchMetrics")
            .and_then(Value::as_array)
            .ok_or("_aws.CloudWatchMetrics is not an array")?;
        let mut published = Vec::new();
        for directive in directives {
            let namespace = directive
                .get("Namespace")
                .and_then(Value::as_str)
                .ok_or("a directive has no Namespace")?;
            let sets = directive
                .get("Dimensions")
                .and_then(Value::as_array)
                .ok_or("a directive has no Dimensions array")?;
            let metrics = directive
                .get("Metrics")
                .and_then(Value::as_array)
                .ok_or("a directive has no Metrics array")?;
            for metric in metrics {
                let name = metric
                    .get("Name")
                    .and_then(Value::as_str)
                    .ok_or("a metric has no Name")?;
                let value = root
                    .get(name)
                    .ok_or_else(|| format!("metric {name} has no root value"))?;
                let sample =
                    sample(timestamp_ms, value).map_err(|e| format!("metric {name}: {e}"))?;
                if let Some(unit) = metric.get("Unit").and_then(Value::as_str) {
                    self.units
                        .insert((namespace.to_owned(), name.to_owned()), unit.to_owned());
                }
                for set in sets {
                    let dimensions = dimensions(&root, set)?;
                    let id = MetricId {
                        namespace: namespace.to_owned(),
                        name: name.to_owned(),
                        dimensions,
                    };
                    published.push((id, sample.clone()));
                }
            }
        }
        // All or nothing: CloudWatch drops a bad line whole.
        for (id, sample) in published {
            self.samples.entry(id).or_default().push(sample);
        }
        Ok(())
    }

    /// The samples of `id`, in the order they were read.
    pub fn samples(&self, id: &MetricId) -> &[Sample] {
        self.samples.get(id).map_or(&[], Vec::as_slice)
    }

    /// Every metric in the store.
    pub fn metrics(&self) -> impl Iterator<Item = &MetricId> {
        self.samples.keys()
    }

    /// The unit a metric was published with, if any.
    pub fn unit(&self, namespace: &str, name: &str) -> Option<&str> {
        self.units
            .get(&(namespace.to_owned(), name.to_owned()))
            .map(String::as_str)
    }

    /// Lines without `_aws`, which are not metrics.
    pub fn log_lines(&self) -> usize {
        self.log_lines
    }

    /// Earliest and latest sample timestamps, ms.
    pub fn time_span(&self) -> Option<(i64, i64)> {
        let all = self.samples.values().flatten().map(|s| s.timestamp_ms);
        all.fold(None, |span, t| match span {
            None => Some((t, t)),
            Some((lo, hi)) => Some((lo.min(t), hi.max(t))),
        })
    }
}

fn dimensions(
    root: &serde_json::Map<String, Value>,
    set: &Value,
) -> Result<BTreeMap<String, String>, String> {
    let keys = set.as_array().ok_or("a dimension set is not an array")?;
    keys.iter()
        .map(|key| {
            let key = key.as_str().ok_or("a dimension name is not a string")?;
            let value = root
                .get(key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("dimension {key} has no string root value"))?;
            Ok((key.to_owned(), value.to_owned()))
        })
        .collect()
}

fn sample(timestamp_ms: i64, value: &Value) -> Result<Sample, String> {
    let number = |v: &Value| {
        v.as_f64()
            .filter(|f| f.is_finite())
            .ok_or_else(|| format!("{v} is not a finite number"))
    };
    match value {
        Value::Number(_) => Ok(Sample::from_pairs(
            timestamp_ms,
            vec![(number(value)?, 1.0)],
        )),
        Value::Array(items) if !items.is_empty() => {
            let values = items
                .iter()
                .map(|v| Ok((number(v)?, 1.0)))
                .collect::<Result<_, String>>()?;
            Ok(Sample::from_pairs(timestamp_ms, values))
        }
        Value::Object(fields) => {
            let list = |key: &str| -> Result<Vec<f64>, String> {
                fields
                    .get(key)
                    .and_then(Value::as_array)
                    .ok_or_else(|| format!("no {key} array"))?
                    .iter()
                    .map(number)
                    .collect()
            };
            let (values, counts) = (list("Values")?, list("Counts")?);
            if values.len() != counts.len() || values.is_empty() {
                return Err("Values and Counts differ in length or are empty".into());
            }
            if counts.iter().any(|c| *c < 0.0) {
                return Err("a count is negative".into());
            }
            let mut sample =
                Sample::from_pairs(timestamp_ms, values.into_iter().zip(counts).collect());
            // The whole's own statistics win over the pairs' (the pairs are
            // bucket midpoints).
            let field = |key: &str| fields.get(key).map(number).transpose();
            if let Some(sum) = field("Sum")? {
                sample.sum = sum;
            }
            if let Some(count) = field("Count")? {
                sample.count = count;
            }
            if let Some(min) = field("Min")? {
                sample.min = min;
            }
            if let Some(max) = field("Max")? {
                sample.max = max;
            }
            Ok(sample)
        }
        other => Err(format!(
            "{other} is not a number, an array or a distribution"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"{"_aws":{"Timestamp":60000,"CloudWatchMetrics":[{"Namespace":"App","Dimensions":[["Handler"],["Handler","Environment"]],"Metrics":[{"Name":"Duration","Unit":"Milliseconds"},{"Name":"Calls","Unit":"Count"}]}]},"Handler":"h","Environment":"dev","Duration":{"Values":[1.5,10],"Counts":[3,1],"Min":1,"Max":11,"Count":4,"Sum":15},"Calls":[1,1,1],"traceId":"x"}"#;

    fn id(name: &str, dims: &[(&str, &str)]) -> MetricId {
        MetricId {
            namespace: "App".into(),
            name: name.into(),
            dimensions: dims
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn each_dimension_set_publishes_each_metric() {
        let (store, errors) = MetricStore::read(LINE.as_bytes()).unwrap();
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(store.metrics().count(), 4);
        let d = &store.samples(&id("Duration", &[("Handler", "h")]))[0];
        assert_eq!((d.count, d.sum, d.min, d.max), (4.0, 15.0, 1.0, 11.0));
        assert_eq!(d.values, vec![(1.5, 3.0), (10.0, 1.0)]);
        let c = &store.samples(&id("Calls", &[("Handler", "h"), ("Environment", "dev")]))[0];
        assert_eq!((c.count, c.sum, c.timestamp_ms), (3.0, 3.0, 60_000));
        assert_eq!(store.unit("App", "Duration"), Some("Milliseconds"));
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_the_rest_kept() {
        let input = [
            "START RequestId: 1",
            LINE,
            r#"{"_aws":{"Timestamp":"now","CloudWatchMetrics":[]}}"#,
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"App","Dimensions":[["Handler"]],"Metrics":[{"Name":"Calls"}]}]},"Calls":1}"#,
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"App","Dimensions":[[]],"Metrics":[{"Name":"Calls"}]}]},"Calls":"many"}"#,
            r#"{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"App","Dimensions":[[]],"Metrics":[{"Name":"D"}]}]},"D":{"Values":[1],"Counts":[]}}"#,
        ]
        .join("\n");
        let (store, errors) = MetricStore::read(input.as_bytes()).unwrap();
        let lines: Vec<usize> = errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, [3, 4, 5, 6]);
        assert!(
            errors[1].reason.contains("dimension Handler"),
            "{}",
            errors[1]
        );
        assert_eq!(store.log_lines(), 1);
        assert_eq!(store.metrics().count(), 4, "line 2 kept whole");
        assert_eq!(store.time_span(), Some((60_000, 60_000)));
    }
}
