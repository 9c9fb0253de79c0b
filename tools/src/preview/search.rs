//! `SEARCH` expressions in the form the generator writes:
//! `SEARCH('{Namespace,Dim1,Dim2} MetricName="Name" Dim1="value"', 'Stat', period)`.
//!
//! Semantics, from "Using search expressions in graphs" (Amazon CloudWatch
//! User Guide,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html>):
//! the `{...}` schema matches the metrics of that namespace with exactly
//! those dimension names; `Name="value"` terms keep those whose metric name
//! or dimension has that exact value; each match is one series of the
//! statistic over the period.

use std::collections::BTreeMap;

use super::math::MathError;
use super::query::{metric_series, Series, Window};
use super::statistic::Statistic;
use super::store::{MetricId, MetricStore};

/// A parsed `SEARCH`.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// The schema's namespace.
    pub namespace: String,
    /// The schema's dimension names.
    pub dimensions: Vec<String>,
    /// `Name="value"` terms; `MetricName` filters the metric name.
    pub terms: BTreeMap<String, String>,
    /// The statistic.
    pub stat: Statistic,
    /// The period, seconds.
    pub period_s: u32,
}

impl Search {
    /// Parses `expression` when it is a `SEARCH`; `Ok(None)` when it is not.
    pub fn parse(expression: &str) -> Result<Option<Search>, MathError> {
        let Some(inner) = expression
            .trim()
            .strip_prefix("SEARCH(")
            .and_then(|e| e.strip_suffix(')'))
        else {
            return Ok(None);
        };
        let error = |reason| MathError::Parse {
            expression: expression.to_owned(),
            position: 0,
            reason,
        };
        // 'query', 'stat', period: the query may hold commas (its schema).
        let inner = inner.trim();
        let query_end = inner
            .strip_prefix('\'')
            .and_then(|q| q.find('\''))
            .ok_or_else(|| error("the query is not quoted"))?
            + 2;
        let (query, rest) = inner.split_at(query_end);
        let args: Vec<&str> = rest.split(',').map(str::trim).collect();
        let ["", stat, period] = args.as_slice() else {
            return Err(error("SEARCH takes a query, a statistic and a period"));
        };
        let unquote = |s: &str| {
            s.strip_prefix('\'')
                .and_then(|s| s.strip_suffix('\''))
                .map(str::to_owned)
        };
        let query = unquote(query).ok_or_else(|| error("the query is not quoted"))?;
        let stat = unquote(stat)
            .ok_or_else(|| error("the statistic is not quoted"))?
            .parse()
            .map_err(|_| error("an unknown statistic"))?;
        let period_s = period
            .parse()
            .map_err(|_| error("the period is not a number"))?;
        let schema_end = query.find('}').ok_or_else(|| error("no {schema}"))?;
        let schema = query
            .strip_prefix('{')
            .map(|q| &q[..schema_end - 1])
            .ok_or_else(|| error("no {schema}"))?;
        let mut names = schema.split(',').map(str::trim);
        let namespace = names.next().unwrap_or_default().to_owned();
        let dimensions = names.map(str::to_owned).collect();
        let terms = query[schema_end + 1..]
            .split_whitespace()
            .map(|term| {
                let (key, value) = term
                    .split_once('=')
                    .ok_or_else(|| error("a term is not Name=\"value\""))?;
                let value = value.trim_matches('"');
                Ok((key.to_owned(), value.to_owned()))
            })
            .collect::<Result<_, MathError>>()?;
        Ok(Some(Search {
            namespace,
            dimensions,
            terms,
            stat,
            period_s,
        }))
    }

    /// Whether `metric` matches.
    pub fn matches(&self, metric: &MetricId) -> bool {
        metric.namespace == self.namespace
            && metric.dimensions.len() == self.dimensions.len()
            && self
                .dimensions
                .iter()
                .all(|d| metric.dimensions.contains_key(d))
            && self.terms.iter().all(|(key, value)| match key.as_str() {
                "MetricName" => &metric.name == value,
                _ => metric.dimensions.get(key) == Some(value),
            })
    }

    /// One series per matching metric, labelled by its dimension values
    /// outside the terms, in a stable order.
    pub fn run(&self, store: &MetricStore, window: &Window) -> Vec<(String, Series)> {
        let window = window.with_period(self.period_s);
        let mut matches: Vec<&MetricId> = store.metrics().filter(|m| self.matches(m)).collect();
        matches.sort();
        matches
            .into_iter()
            .map(|m| {
                let label: Vec<&str> = m
                    .dimensions
                    .iter()
                    .filter(|(k, _)| !self.terms.contains_key(*k))
                    .map(|(_, v)| v.as_str())
                    .collect();
                (label.join(" "), metric_series(store, m, self.stat, &window))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_matches_its_schema_and_terms_only() {
        let search = Search::parse(
            r#"SEARCH('{App,Function,Environment} MetricName="ColdStarts" Environment="dev"', 'Sum', 60)"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(search.namespace, "App");
        assert_eq!(search.stat, Statistic::Sum);
        let line = |name: &str, dims: &str| {
            format!(
                r#"{{"_aws":{{"Timestamp":1000,"CloudWatchMetrics":[{{"Namespace":"App","Dimensions":[{dims}],"Metrics":[{{"Name":"{name}"}}]}}]}},"{name}":1,"Function":"f","Environment":"dev","Other":"x"}}"#
            )
        };
        let input = [
            line("ColdStarts", r#"["Function","Environment"]"#),
            line("ColdStarts", r#"["Function","Environment","Other"]"#),
            line("ColdStarts", r#"["Function"]"#),
            line("Invocations", r#"["Function","Environment"]"#),
        ]
        .join("\n");
        let (store, _) = MetricStore::read(input.as_bytes()).unwrap();
        let window = Window::covering(0, 1000, 60);
        let series = search.run(&store, &window);
        assert_eq!(series.len(), 1);
        assert_eq!(series[0].0, "f");
        assert_eq!(series[0].1.values().copied().collect::<Vec<_>>(), [1.0]);
        assert_eq!(Search::parse("FILL(a, 0)").unwrap(), None);
        assert!(Search::parse("SEARCH('x', 'Sum')").is_err());
    }
}
