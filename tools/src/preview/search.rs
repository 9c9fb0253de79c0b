//! `SEARCH` expressions in the form the generator writes:
//! `SEARCH('{Namespace,Dim1,Dim2} MetricName="Name" Dim1="value" (Dim2="a" OR Dim2="b")', 'Stat', period)`.
//!
//! Semantics, from "Using search expressions in graphs" and "CloudWatch
//! search expression syntax" (Amazon CloudWatch User Guide,
//! <https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-search-expressions.html>):
//! the `{...}` schema matches the metrics of that namespace with exactly
//! those dimension names; `Name="value"` terms keep those whose metric name
//! or dimension has that exact value, a parenthesised `OR` of such terms on
//! one name those with any of the values; each match is one series of the
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
    /// `Name="value"` terms, each name with the values it accepts (more
    /// than one from an `OR` group); `MetricName` filters the metric name.
    pub terms: BTreeMap<String, Vec<String>>,
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
        let terms = terms(&query[schema_end + 1..]).map_err(error)?;
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
            && self.terms.iter().all(|(key, values)| {
                let value = match key.as_str() {
                    "MetricName" => Some(&metric.name),
                    _ => metric.dimensions.get(key),
                };
                value.is_some_and(|v| values.contains(v))
            })
    }

    /// The one metric name the search keeps, if it names one.
    pub fn metric_name(&self) -> Option<&str> {
        match self.terms.get("MetricName").map(Vec::as_slice) {
            Some([name]) => Some(name),
            _ => None,
        }
    }

    /// One series per matching metric, labelled by its dimension values
    /// that no term pins to one value, in a stable order.
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
                    .filter(|(k, _)| self.terms.get(*k).is_none_or(|values| values.len() > 1))
                    .map(|(_, v)| v.as_str())
                    .collect();
                (label.join(" "), metric_series(store, m, self.stat, &window))
            })
            .collect()
    }
}

/// The search terms after the schema: `Name="value"` or
/// `(Name="a" OR Name="b" ...)`, separated by spaces; a value may hold
/// spaces inside its quotes.
fn terms(mut text: &str) -> Result<BTreeMap<String, Vec<String>>, &'static str> {
    let mut terms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    loop {
        text = text.trim_start();
        if text.is_empty() {
            return Ok(terms);
        }
        let (key, values, rest) = match text.strip_prefix('(') {
            Some(group) => {
                let end = unquoted(group, ')').ok_or("an ( without its )")?;
                let mut key = None;
                let mut values = Vec::new();
                let mut alternatives = &group[..end];
                loop {
                    let (k, value, rest) = term(alternatives.trim_start())?;
                    if key.is_some_and(|key| key != k) {
                        return Err("an OR group names more than one dimension");
                    }
                    key = Some(k);
                    values.push(value);
                    alternatives = rest.trim_start();
                    if alternatives.is_empty() {
                        break;
                    }
                    alternatives = alternatives
                        .strip_prefix("OR ")
                        .ok_or("terms in ( ) are joined by OR")?;
                }
                (key.ok_or("an empty ( )")?, values, &group[end + 1..])
            }
            None => {
                let (key, value, rest) = term(text)?;
                (key, vec![value], rest)
            }
        };
        if terms.insert(key.to_owned(), values).is_some() {
            return Err("a name is in two terms");
        }
        text = rest;
    }
}

/// One `Name="value"` at the start of `text`, and what follows it.
fn term(text: &str) -> Result<(&str, String, &str), &'static str> {
    const NOT_A_TERM: &str = "a term is not Name=\"value\"";
    let (key, rest) = text.split_once('=').ok_or(NOT_A_TERM)?;
    let quoted = rest.strip_prefix('"').ok_or(NOT_A_TERM)?;
    let end = quoted.find('"').ok_or(NOT_A_TERM)?;
    if key.is_empty() || key.contains(char::is_whitespace) {
        return Err(NOT_A_TERM);
    }
    Ok((key, quoted[..end].to_owned(), &quoted[end + 1..]))
}

/// Where `wanted` first stands outside double quotes in `text`.
fn unquoted(text: &str, wanted: char) -> Option<usize> {
    let mut quoted = false;
    text.char_indices().find_map(|(i, c)| {
        if c == '"' {
            quoted = !quoted;
        }
        (c == wanted && !quoted).then_some(i)
    })
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
        assert!(Search::parse("SEARCH('{A,B} B=x', 'Sum', 60)").is_err());
        assert!(Search::parse("SEARCH('x', 'Sum')").is_err());
    }

    #[test]
    fn an_or_group_keeps_any_of_its_values_and_labels_by_them() {
        let search = Search::parse(
            r#"SEARCH('{AWS/Lambda,FunctionName} MetricName="Errors" (FunctionName="a" OR FunctionName="b c")', 'Sum', 60)"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(search.terms["FunctionName"], ["a", "b c"]);
        assert_eq!(search.metric_name(), Some("Errors"));
        let line = |function: &str| {
            format!(
                r#"{{"_aws":{{"Timestamp":1000,"CloudWatchMetrics":[{{"Namespace":"AWS/Lambda","Dimensions":[["FunctionName"]],"Metrics":[{{"Name":"Errors"}}]}}]}},"Errors":1,"FunctionName":"{function}"}}"#
            )
        };
        let input = [line("a"), line("b c"), line("ab"), line("b")].join("\n");
        let (store, _) = MetricStore::read(input.as_bytes()).unwrap();
        let series = search.run(&store, &Window::covering(0, 1000, 60));
        let labels: Vec<&str> = series.iter().map(|(label, _)| label.as_str()).collect();
        assert_eq!(labels, ["a", "b c"]);
        for bad in [
            r#"(FunctionName="a" OR Other="b")"#,
            r#"(FunctionName="a" AND FunctionName="b")"#,
            r#"(FunctionName="a""#,
            r#"FunctionName="a" FunctionName="b""#,
        ] {
            let expression = format!("SEARCH('{{AWS/Lambda,FunctionName}} {bad}', 'Sum', 60)");
            assert!(Search::parse(&expression).is_err(), "{bad}");
        }
    }
}
