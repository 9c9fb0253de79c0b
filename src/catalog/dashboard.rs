//! Dashboards as catalog data: widgets whose lines reference metrics (with
//! a stat, a period and dimension values) or metric-math expressions.
//!
//! ```json
//! {"name": "business", "title": "Business", "widgets": [
//!   {"title": "Orders per minute by payment method", "stat": "Sum",
//!    "lines": [{"metric": "OrdersPlaced", "split_by": "PaymentMethod"}]},
//!   {"title": "Refund rate (%)", "lines": [
//!     {"expression": "100 * FILL(r, 0) / o", "label": "refund rate", "id": "rate"},
//!     {"metric": "Refunds", "id": "r", "visible": false},
//!     {"metric": "OrdersPlaced", "dimensions": {"PaymentMethod": "card"}, "id": "o", "visible": false}]}
//! ]}
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Default widget width, in grid units (the grid is 24 wide).
pub const DEFAULT_WIDGET_WIDTH: u32 = 12;
/// Default widget height, in grid units.
pub const DEFAULT_WIDGET_HEIGHT: u32 = 6;
/// Default widget period, seconds: per-minute rates are `Sum` over 60 s.
pub const DEFAULT_PERIOD: u32 = 60;
/// Default widget stat.
pub const DEFAULT_STAT: &str = "Sum";

/// One dashboard of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardSpec {
    /// Short name, used in file and dashboard names.
    pub name: String,
    /// The title in the dashboard's header.
    pub title: String,
    /// Widgets, laid out left to right in rows.
    pub widgets: Vec<WidgetSpec>,
}

/// One graph.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WidgetSpec {
    /// The graph's title.
    pub title: String,
    /// Width in grid units, 1–24.
    #[serde(default = "width")]
    pub width: u32,
    /// Height in grid units.
    #[serde(default = "height")]
    pub height: u32,
    /// The stat of lines that name none: `Sum`, `Average`, `Minimum`,
    /// `Maximum`, `SampleCount` or `pNN`.
    #[serde(default = "stat")]
    pub stat: String,
    /// Seconds per data point: 1, 5, 10, 30 or a multiple of 60.
    #[serde(default = "period")]
    pub period: u32,
    /// A horizontal annotation, e.g. a limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The lines.
    pub lines: Vec<LineSpec>,
}

/// One line of a graph: a metric, or an expression over other lines' ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSpec {
    /// A metric of the catalog (core or custom).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// A metric-math expression over the ids of the widget's other lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// The `Handler` value, for metrics filed per operation. A custom
    /// metric declared with an `operation` gets it without this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// Values of the metric's own dimension keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dimensions: BTreeMap<String, String>,
    /// One line per known value of this key, labelled with the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_by: Option<String>,
    /// Overrides the widget's stat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
    /// The legend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The id expressions refer to: a lower-case letter, then letters,
    /// digits or `_`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `false` hides a line that only feeds an expression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible: Option<bool>,
}

fn width() -> u32 {
    DEFAULT_WIDGET_WIDTH
}
fn height() -> u32 {
    DEFAULT_WIDGET_HEIGHT
}
fn stat() -> String {
    DEFAULT_STAT.to_owned()
}
fn period() -> u32 {
    DEFAULT_PERIOD
}

/// CloudWatch's statistics: the five named ones and percentiles `p0`–`p100`.
pub fn valid_stat(stat: &str) -> bool {
    ["Average", "Sum", "Minimum", "Maximum", "SampleCount"].contains(&stat)
        || stat
            .strip_prefix('p')
            .is_some_and(|p| p.parse::<f64>().is_ok_and(|v| (0.0..=100.0).contains(&v)))
}

/// Metric-math functions, which are not metric ids.
const FUNCTIONS: &[&str] = &[
    "FILL", "SUM", "AVG", "MIN", "MAX", "ABS", "IF", "RATE", "METRICS",
];

/// The line ids an expression refers to. A `SEARCH` refers to metrics,
/// never to ids.
pub fn expression_ids(expression: &str) -> Vec<String> {
    if expression.trim_start().starts_with("SEARCH(") {
        return Vec::new();
    }
    expression
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| w.chars().next().is_some_and(|c| c.is_ascii_alphabetic()))
        .filter(|w| !FUNCTIONS.contains(w))
        .map(str::to_owned)
        .collect()
}

/// Whether `id` is an id CloudWatch accepts for a metric-math line.
pub fn valid_id(id: &str) -> bool {
    id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}
