//! See the dashboards and alarms before deploying: a local metric store
//! filled from a run's EMF lines, a query engine with CloudWatch's
//! semantics, and alarm evaluation over the run.
//!
//! - [`MetricStore`] reads EMF lines (`perfmon-chat demo --emf-out`, or a
//!   CloudWatch Logs export of a function's log group);
//! - [`Statistic`], [`metric_series`] and [`Window`] answer a metric's
//!   statistic per period;
//! - [`Expr`] evaluates the metric math the generated JSON uses;
//! - [`DataQuery`] reads a widget's `metrics` or an alarm's `Metrics`, and
//!   [`run`] answers them together;
//! - [`Alarm`] evaluates a generated alarm period by period ([`AlarmRule`]
//!   holds the M-out-of-N and missing-data rules).
//!
//! - with the `preview` feature, `render` draws every generated dashboard
//!   and alarm timeline for a run into one HTML page.
//!
//! Each file cites the CloudWatch documentation for the rules it follows.

mod alarm;
mod data_query;
mod math;
mod query;
#[cfg(feature = "preview")]
mod render;
mod search;
mod statistic;
mod store;

pub use alarm::{Alarm, AlarmError, AlarmRule, AlarmState, Comparison, TreatMissing};
pub use data_query::{run, DataQuery, QueryError};
pub use math::{Expr, MathError, MathValue};
pub use query::{metric_series, Series, Window};
#[cfg(feature = "preview")]
#[cfg_attr(docsrs, doc(cfg(feature = "preview")))]
pub use render::{render, transitions, Preview, PreviewError, WidgetOutcome};
pub use search::Search;
pub use statistic::{Statistic, UnknownStatistic};
pub use store::{LineError, MetricId, MetricStore, Sample};
