//! Alarm evaluation over a run, period by period.
//!
//! Rules, from "Using Amazon CloudWatch alarms" and "Configuring how
//! CloudWatch alarms treat missing data" (Amazon CloudWatch User Guide,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html>):
//! - at the end of each period the alarm looks at the last
//!   `EvaluationPeriods` datapoints; it goes to `ALARM` when at least
//!   `DatapointsToAlarm` of them breach the threshold (M out of N; without
//!   `DatapointsToAlarm`, M = N);
//! - a datapoint breaches when `value <op> Threshold` holds for the
//!   `ComparisonOperator`;
//! - `TreatMissingData` (default `missing`):
//!   - `notBreaching`: a missing datapoint is good;
//!   - `breaching`: a missing datapoint breaches;
//!   - `ignore`: when every datapoint is missing, the state stays as it is;
//!   - `missing`: when every datapoint is missing, the state is
//!     `INSUFFICIENT_DATA`;
//! - when some are missing and fewer real datapoints than M exist,
//!   CloudWatch "fills in the missing data points with the result you
//!   specified for how to treat missing data", and "all real data points in
//!   the evaluation range are included". For `missing` and `ignore`, which
//!   specify no result, the real datapoints decide on their own: the alarm
//!   fires when every one of them breaches.
//!
//! The initial state, before any evaluation, is `INSUFFICIENT_DATA`.

use serde_json::Value;

use super::data_query::{alarm_metric, run, DataQuery, QueryError};
use super::query::{Series, Window};
use super::store::MetricStore;

/// An alarm state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    /// `OK`.
    Ok,
    /// `ALARM`.
    Alarm,
    /// `INSUFFICIENT_DATA`.
    InsufficientData,
}

impl AlarmState {
    /// The name CloudWatch gives it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// `TreatMissingData`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreatMissing {
    /// `missing` (the default).
    Missing,
    /// `notBreaching`.
    NotBreaching,
    /// `breaching`.
    Breaching,
    /// `ignore`.
    Ignore,
}

/// `ComparisonOperator`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `GreaterThanThreshold`.
    Greater,
    /// `GreaterThanOrEqualToThreshold`.
    GreaterOrEqual,
    /// `LessThanThreshold`.
    Less,
    /// `LessThanOrEqualToThreshold`.
    LessOrEqual,
}

impl Comparison {
    fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::Greater => value > threshold,
            Comparison::GreaterOrEqual => value >= threshold,
            Comparison::Less => value < threshold,
            Comparison::LessOrEqual => value <= threshold,
        }
    }
}

/// The evaluation rules of an alarm, apart from its data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlarmRule {
    /// `Threshold`.
    pub threshold: f64,
    /// `ComparisonOperator`.
    pub comparison: Comparison,
    /// `EvaluationPeriods` (N).
    pub evaluation_periods: usize,
    /// `DatapointsToAlarm` (M).
    pub datapoints_to_alarm: usize,
    /// `TreatMissingData`.
    pub treat_missing: TreatMissing,
}

impl AlarmRule {
    /// The state after each period, given each period's datapoint (`None`:
    /// missing), starting from `INSUFFICIENT_DATA`.
    pub fn evaluate(&self, datapoints: &[Option<f64>]) -> Vec<AlarmState> {
        let n = self.evaluation_periods.max(1);
        let m = self.datapoints_to_alarm.clamp(1, n);
        let mut state = AlarmState::InsufficientData;
        (0..datapoints.len())
            .map(|end| {
                let window = &datapoints[(end + 1).saturating_sub(n)..=end];
                let real: Vec<f64> = window.iter().flatten().copied().collect();
                let breaching = real
                    .iter()
                    .filter(|v| self.comparison.breaches(**v, self.threshold))
                    .count();
                let missing = n - real.len();
                state = if real.is_empty() {
                    match self.treat_missing {
                        TreatMissing::Missing => AlarmState::InsufficientData,
                        TreatMissing::Ignore => state,
                        TreatMissing::NotBreaching => AlarmState::Ok,
                        TreatMissing::Breaching => AlarmState::Alarm,
                    }
                } else if real.len() >= m {
                    firing(breaching >= m)
                } else {
                    match self.treat_missing {
                        TreatMissing::Breaching => firing(breaching + missing >= m),
                        TreatMissing::NotBreaching => firing(breaching >= m),
                        TreatMissing::Missing | TreatMissing::Ignore => {
                            firing(breaching == real.len())
                        }
                    }
                };
                state
            })
            .collect()
    }
}

fn firing(alarm: bool) -> AlarmState {
    if alarm {
        AlarmState::Alarm
    } else {
        AlarmState::Ok
    }
}

/// An alarm in `PutMetricAlarm` shape, ready to evaluate.
#[derive(Debug, Clone)]
pub struct Alarm {
    /// `AlarmName`.
    pub name: String,
    /// `AlarmDescription`.
    pub description: String,
    /// The rules.
    pub rule: AlarmRule,
    /// `Period` in seconds (of the metric, or of the queries).
    pub period_s: u32,
    queries: Vec<DataQuery>,
}

/// Why an alarm definition cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlarmError {
    /// A field is missing or of the wrong type.
    #[error("alarm {alarm}: {reason}")]
    Field {
        /// `AlarmName`, or `?`.
        alarm: String,
        /// What is wrong.
        reason: String,
    },
    /// Its queries.
    #[error("alarm {alarm}: {source}")]
    Query {
        /// `AlarmName`.
        alarm: String,
        /// Why.
        source: QueryError,
    },
}

impl Alarm {
    /// Reads one alarm object.
    pub fn from_json(alarm: &Value) -> Result<Self, AlarmError> {
        let name = alarm["AlarmName"].as_str().unwrap_or("?").to_owned();
        let field = |reason: &str| AlarmError::Field {
            alarm: name.clone(),
            reason: reason.to_owned(),
        };
        let query = |source| AlarmError::Query {
            alarm: name.clone(),
            source,
        };
        let comparison = match alarm["ComparisonOperator"].as_str() {
            Some("GreaterThanThreshold") => Comparison::Greater,
            Some("GreaterThanOrEqualToThreshold") => Comparison::GreaterOrEqual,
            Some("LessThanThreshold") => Comparison::Less,
            Some("LessThanOrEqualToThreshold") => Comparison::LessOrEqual,
            _ => return Err(field("an unsupported ComparisonOperator")),
        };
        let treat_missing = match alarm.get("TreatMissingData").and_then(Value::as_str) {
            None | Some("missing") => TreatMissing::Missing,
            Some("notBreaching") => TreatMissing::NotBreaching,
            Some("breaching") => TreatMissing::Breaching,
            Some("ignore") => TreatMissing::Ignore,
            Some(_) => return Err(field("an unknown TreatMissingData")),
        };
        let evaluation_periods = alarm["EvaluationPeriods"]
            .as_u64()
            .filter(|n| *n > 0)
            .ok_or_else(|| field("no EvaluationPeriods"))?
            as usize;
        let datapoints_to_alarm = alarm
            .get("DatapointsToAlarm")
            .and_then(Value::as_u64)
            .map_or(evaluation_periods, |m| m as usize);
        let threshold = alarm["Threshold"]
            .as_f64()
            .ok_or_else(|| field("no Threshold"))?;
        let (queries, period) = match alarm.get("Metrics").and_then(Value::as_array) {
            Some(metrics) => {
                let queries = DataQuery::from_alarm(metrics).map_err(query)?;
                let period = metrics
                    .iter()
                    .find_map(|q| q["MetricStat"]["Period"].as_u64());
                (queries, period)
            }
            None => {
                let metric = alarm_metric(alarm).ok_or_else(|| field("no metric"))?;
                let stat = alarm
                    .get("Statistic")
                    .or_else(|| alarm.get("ExtendedStatistic"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| field("no Statistic"))?;
                let stat = stat.parse().map_err(|e| query(QueryError::Statistic(e)))?;
                let q = DataQuery::Metric {
                    id: "m".into(),
                    metric,
                    stat,
                    visible: true,
                    label: name.clone(),
                };
                (vec![q], alarm["Period"].as_u64())
            }
        };
        let period_s = period
            .filter(|p| *p > 0)
            .ok_or_else(|| field("no Period"))? as u32;
        Ok(Alarm {
            description: alarm["AlarmDescription"].as_str().unwrap_or("").to_owned(),
            name,
            rule: AlarmRule {
                threshold,
                comparison,
                evaluation_periods,
                datapoints_to_alarm,
                treat_missing,
            },
            period_s,
            queries,
        })
    }

    /// The same alarm over periods of `period_s`, its rule (statistic or
    /// expression, threshold, M out of N, missing data) unchanged: a rule
    /// written for minutes, watched over a run of seconds.
    pub fn with_period(mut self, period_s: u32) -> Self {
        self.period_s = period_s.max(1);
        self
    }

    /// The alarm's datapoint for every period of `window` (re-cut to the
    /// alarm's period), from the query that returns data.
    pub fn datapoints(&self, store: &MetricStore, window: &Window) -> Result<Series, AlarmError> {
        let window = window.with_period(self.period_s);
        let results = run(&self.queries, store, &window).map_err(|source| AlarmError::Query {
            alarm: self.name.clone(),
            source,
        })?;
        let returned = self.queries.iter().rev().find(|q| q.visible());
        Ok(returned
            .and_then(|q| results.get(q.id()).cloned())
            .unwrap_or_default())
    }

    /// The state at the end of each period of `window`, with the period's
    /// start and datapoint.
    pub fn timeline(
        &self,
        store: &MetricStore,
        window: &Window,
    ) -> Result<Vec<(i64, Option<f64>, AlarmState)>, AlarmError> {
        let window = window.with_period(self.period_s);
        let series = self.datapoints(store, &window)?;
        let periods: Vec<i64> = window.periods().collect();
        let values: Vec<Option<f64>> = periods.iter().map(|t| series.get(t).copied()).collect();
        let states = self.rule.evaluate(&values);
        Ok(periods
            .into_iter()
            .zip(values)
            .zip(states)
            .map(|((t, v), s)| (t, v, s))
            .collect())
    }
}
