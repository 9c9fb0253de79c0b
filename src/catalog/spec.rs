//! The entries of a catalog as they are written: operations, custom
//! metrics with their dimension keys, and teams.

use serde::{Deserialize, Serialize};

use super::{ErrorSpec, Unit};

/// One operation: the name passed to
/// [`PerformanceMonitor::start`](crate::PerformanceMonitor::start), its span
/// kind and its limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperationSpec {
    /// The operation name; also the `Handler` dimension value.
    pub name: String,
    /// Kind of the operation's span. `Server` holds only where the
    /// operation is the outermost span of the process (no local parent);
    /// under another local span, such as the Lambda layer's root (the
    /// invocation's one SERVER span), a `Server` operation is INTERNAL, so
    /// that X-Ray draws one segment per invocation.
    pub span_kind: SpanKindName,
    /// Limits checked in-process and by the alarms.
    pub thresholds: Thresholds,
    /// The error codes the operation can end with, each with its class.
    /// An undeclared code is a service error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ErrorSpec>,
}

/// Span kind as the catalog spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum SpanKindName {
    Server,
    Client,
    Internal,
    Producer,
    Consumer,
}

impl From<SpanKindName> for opentelemetry::trace::SpanKind {
    fn from(kind: SpanKindName) -> Self {
        use opentelemetry::trace::SpanKind;
        match kind {
            SpanKindName::Server => SpanKind::Server,
            SpanKindName::Client => SpanKind::Client,
            SpanKindName::Internal => SpanKind::Internal,
            SpanKindName::Producer => SpanKind::Producer,
            SpanKindName::Consumer => SpanKind::Consumer,
        }
    }
}

/// Per-operation limits.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Longest acceptable duration, in milliseconds.
    pub duration_ms: f64,
    /// Most memory acceptable at completion, in bytes.
    pub memory_bytes: u64,
    /// Highest acceptable error rate, in percent (0–100].
    pub error_rate_percent: f64,
}

/// How a metric is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Instrument {
    /// A distribution (exponential histogram), so percentiles can be computed.
    Histogram,
    /// A monotonic sum.
    Counter,
    /// The latest value.
    Gauge,
}

impl std::fmt::Display for Instrument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Instrument::Histogram => "histogram",
            Instrument::Counter => "counter",
            Instrument::Gauge => "gauge",
        })
    }
}

/// One of the application's own metrics, as its catalog declares it.
///
/// It is exported with one dimension set: `Handler` (when `operation` is
/// set), `Environment`, then `dimensions` in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    /// The OTel instrument name, which is also the CloudWatch metric name.
    pub name: String,
    /// CloudWatch unit.
    pub unit: Unit,
    /// How the value is recorded.
    pub instrument: Instrument,
    /// What the metric means.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The operation the metric is filed under: its `Handler` value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// The metric's own dimension keys, in the order values are passed.
    #[serde(default)]
    pub dimensions: Vec<DimensionSpec>,
}

/// One dimension key of a custom metric. It either lists its allowed
/// `values`, or bounds how many distinct values it may take
/// (`max_values`); a value outside the set, or beyond the bound, is
/// recorded as `overflow` and counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionSpec {
    /// The dimension key.
    pub name: String,
    /// The allowed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
    /// Without `values`: how many distinct values are kept before the rest
    /// fold into `overflow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_values: Option<u32>,
    /// The value recorded instead of one outside the set.
    #[serde(default = "default_overflow")]
    pub overflow: String,
}

/// Default of [`DimensionSpec::overflow`].
pub const DEFAULT_OVERFLOW: &str = "other";

fn default_overflow() -> String {
    DEFAULT_OVERFLOW.to_owned()
}

impl DimensionSpec {
    /// Every value this key can be exported with: the declared values and
    /// the overflow value; for a bounded key, only the overflow value is
    /// known in advance.
    pub fn known_values(&self) -> Vec<&str> {
        let mut values: Vec<&str> = self.values.iter().map(String::as_str).collect();
        if !values.contains(&self.overflow.as_str()) {
            values.push(&self.overflow);
        }
        values
    }

    /// How many distinct values this key can be exported with, overflow
    /// included.
    pub fn cardinality(&self) -> usize {
        match self.max_values {
            Some(max) if self.values.is_empty() => max as usize + 1,
            _ => self.known_values().len(),
        }
    }
}

/// One team's dashboard: the performance widgets of some operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeamSpec {
    /// Short name, used in file and dashboard names.
    pub name: String,
    /// The dashboard's title.
    pub title: String,
    /// The catalog operations it shows.
    pub operations: Vec<String>,
}

/// A metric as it is exported: the library's core metrics and the
/// catalog's own, each with its dimension sets.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricDef {
    /// The CloudWatch metric name.
    pub name: String,
    /// CloudWatch unit.
    pub unit: Unit,
    /// How the value is recorded.
    pub instrument: Instrument,
    /// What the metric means.
    pub description: String,
    /// Dimension sets exactly as exported.
    pub dimensions: Vec<Vec<String>>,
    /// Whether the library records it itself.
    pub core: bool,
}
