//! A set of metric-data queries, as a widget's `metrics` or an alarm's
//! `Metrics` list them: metric statistics and expressions over them, each
//! with an id.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::math::{Expr, MathError, MathValue};
use super::query::{metric_series, Series, Window};
use super::search::Search;
use super::statistic::{Statistic, UnknownStatistic};
use super::store::{MetricId, MetricStore};

/// One query.
#[derive(Debug, Clone, PartialEq)]
pub enum DataQuery {
    /// A metric's statistic.
    Metric {
        /// Id other queries use.
        id: String,
        /// The metric.
        metric: MetricId,
        /// The statistic.
        stat: Statistic,
        /// Shown, or only an input.
        visible: bool,
        /// Legend label.
        label: String,
    },
    /// A `SEARCH`: one series per matching metric.
    Search {
        /// Id.
        id: String,
        /// The search.
        search: Search,
        /// Shown, or only an input.
        visible: bool,
    },
    /// A metric-math expression.
    Expression {
        /// Id.
        id: String,
        /// The expression.
        expr: Expr,
        /// Shown, or only an input.
        visible: bool,
        /// Legend label.
        label: String,
    },
}

/// Why a query list cannot be read or run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// Not a query of the shapes the generator writes.
    #[error("query {index}: {reason}")]
    Shape {
        /// Position in the list.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// A statistic name.
    #[error(transparent)]
    Statistic(#[from] UnknownStatistic),
    /// An expression.
    #[error(transparent)]
    Math(#[from] MathError),
}

impl DataQuery {
    /// The query's id.
    pub fn id(&self) -> &str {
        match self {
            DataQuery::Metric { id, .. }
            | DataQuery::Expression { id, .. }
            | DataQuery::Search { id, .. } => id,
        }
    }

    /// Whether the query is drawn (or, in an alarm, returns data).
    pub fn visible(&self) -> bool {
        match self {
            DataQuery::Metric { visible, .. }
            | DataQuery::Expression { visible, .. }
            | DataQuery::Search { visible, .. } => *visible,
        }
    }

    /// The legend label.
    pub fn label(&self) -> &str {
        match self {
            DataQuery::Metric { label, .. } | DataQuery::Expression { label, .. } => label,
            DataQuery::Search { .. } => "",
        }
    }

    /// The queries of a dashboard widget's `metrics` array, where each
    /// entry is `[namespace, name, dim, value, ..., {options}]` or
    /// `[{"expression": ...}]`; `default_stat` is the widget's `stat`.
    pub fn from_widget(metrics: &[Value], default_stat: &str) -> Result<Vec<Self>, QueryError> {
        metrics
            .iter()
            .enumerate()
            .map(|(index, entry)| {
                let shape = |reason: &str| QueryError::Shape {
                    index,
                    reason: reason.to_owned(),
                };
                let items = entry.as_array().ok_or_else(|| shape("not an array"))?;
                let (options, names) = match items.last() {
                    Some(Value::Object(o)) => (Some(o), &items[..items.len() - 1]),
                    _ => (None, &items[..]),
                };
                let option = |key: &str| options.and_then(|o| o.get(key));
                let id = option("id")
                    .and_then(Value::as_str)
                    .map_or_else(|| format!("m{index}"), str::to_owned);
                let visible = option("visible").and_then(Value::as_bool).unwrap_or(true);
                if let Some(expression) = option("expression").and_then(Value::as_str) {
                    if let Some(search) = Search::parse(expression)? {
                        return Ok(DataQuery::Search {
                            id,
                            search,
                            visible,
                        });
                    }
                    let label = option("label")
                        .and_then(Value::as_str)
                        .unwrap_or(expression);
                    return Ok(DataQuery::Expression {
                        id,
                        expr: Expr::parse(expression)?,
                        visible,
                        label: label.to_owned(),
                    });
                }
                let names: Vec<&str> = names
                    .iter()
                    .map(|n| n.as_str().ok_or_else(|| shape("a name is not a string")))
                    .collect::<Result<_, _>>()?;
                let [namespace, name, dims @ ..] = names.as_slice() else {
                    return Err(shape("no namespace and metric name"));
                };
                if dims.len() % 2 != 0 {
                    return Err(shape("a dimension without a value"));
                }
                let stat = option("stat")
                    .and_then(Value::as_str)
                    .unwrap_or(default_stat);
                let label = option("label").and_then(Value::as_str).unwrap_or(name);
                Ok(DataQuery::Metric {
                    id,
                    metric: MetricId {
                        namespace: (*namespace).to_owned(),
                        name: (*name).to_owned(),
                        dimensions: dims
                            .chunks(2)
                            .map(|kv| (kv[0].to_owned(), kv[1].to_owned()))
                            .collect(),
                    },
                    stat: stat.parse()?,
                    visible,
                    label: label.to_owned(),
                })
            })
            .collect()
    }

    /// The queries of an alarm's `Metrics` (`MetricDataQuery` shape).
    pub fn from_alarm(metrics: &[Value]) -> Result<Vec<Self>, QueryError> {
        metrics
            .iter()
            .enumerate()
            .map(|(index, q)| {
                let shape = |reason: &str| QueryError::Shape {
                    index,
                    reason: reason.to_owned(),
                };
                let id = q
                    .get("Id")
                    .and_then(Value::as_str)
                    .ok_or_else(|| shape("no Id"))?;
                let visible = q.get("ReturnData").and_then(Value::as_bool).unwrap_or(true);
                let label = q
                    .get("Label")
                    .and_then(Value::as_str)
                    .unwrap_or(id)
                    .to_owned();
                if let Some(expression) = q.get("Expression").and_then(Value::as_str) {
                    return Ok(DataQuery::Expression {
                        id: id.to_owned(),
                        expr: Expr::parse(expression)?,
                        visible,
                        label,
                    });
                }
                let stat = q
                    .get("MetricStat")
                    .ok_or_else(|| shape("no MetricStat or Expression"))?;
                let metric = alarm_metric(&stat["Metric"]).ok_or_else(|| shape("a bad Metric"))?;
                let name = stat["Stat"].as_str().ok_or_else(|| shape("no Stat"))?;
                Ok(DataQuery::Metric {
                    id: id.to_owned(),
                    metric,
                    stat: name.parse()?,
                    visible,
                    label,
                })
            })
            .collect()
    }
}

/// A `{Namespace, MetricName, Dimensions: [{Name, Value}]}` object (the
/// alarm's own fields have the same shape).
pub(crate) fn alarm_metric(m: &Value) -> Option<MetricId> {
    let dimensions = match m.get("Dimensions") {
        None => BTreeMap::new(),
        Some(d) => d
            .as_array()?
            .iter()
            .map(|d| {
                Some((
                    d["Name"].as_str()?.to_owned(),
                    d["Value"].as_str()?.to_owned(),
                ))
            })
            .collect::<Option<_>>()?,
    };
    Some(MetricId {
        namespace: m.get("Namespace")?.as_str()?.to_owned(),
        name: m.get("MetricName")?.as_str()?.to_owned(),
        dimensions,
    })
}

/// Runs `queries` over `window`: every result by id. An expression may use
/// any other query's id, whatever their order. A `SEARCH` has several
/// series and no single result: see [`Search::run`].
pub fn run(
    queries: &[DataQuery],
    store: &MetricStore,
    window: &Window,
) -> Result<HashMap<String, Series>, QueryError> {
    let mut results = HashMap::new();
    for query in queries {
        if let DataQuery::Metric {
            id, metric, stat, ..
        } = query
        {
            results.insert(id.clone(), metric_series(store, metric, *stat, window));
        }
    }
    let mut pending: Vec<(&String, &Expr)> = queries
        .iter()
        .filter_map(|q| match q {
            DataQuery::Expression { id, expr, .. } => Some((id, expr)),
            _ => None,
        })
        .collect();
    while !pending.is_empty() {
        let before = pending.len();
        let mut last_error = None;
        pending.retain(|(id, expr)| match expr.eval(&results, window) {
            Ok(value) => {
                let series = match value {
                    MathValue::Series(s) => s,
                    // A constant is drawn as a flat line over the window.
                    MathValue::Scalar(v) => window.periods().map(|t| (t, v)).collect(),
                };
                results.insert((*id).clone(), series);
                false
            }
            Err(error) => {
                last_error = Some(error);
                true
            }
        });
        if pending.len() == before {
            return Err(last_error.expect("a pending expression failed").into());
        }
    }
    Ok(results)
}
