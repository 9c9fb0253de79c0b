//! Turns a dashboard line of the catalog into the metric lines a
//! dashboard shows: the metric's dimension set filled in, and one line per
//! value for `split_by`.

use super::{Catalog, LineSpec};
use crate::names::dim;

/// One line of a widget, with every dimension value filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedLine {
    /// The metric, for a metric line.
    pub metric: Option<String>,
    /// The expression, for an expression line.
    pub expression: Option<String>,
    /// `(key, value)` in the order of the metric's dimension set.
    pub dimensions: Vec<(String, String)>,
    /// The line's own stat, when it overrides the widget's.
    pub stat: Option<String>,
    /// The legend.
    pub label: Option<String>,
    /// The id expressions refer to.
    pub id: Option<String>,
    /// `Some(false)` hides the line.
    pub visible: Option<bool>,
}

impl Catalog {
    /// The metric lines `line` stands for, with `environment` as the
    /// `Environment` value; an error says what is wrong with the line.
    pub fn resolve_line(
        &self,
        line: &LineSpec,
        environment: &str,
    ) -> Result<Vec<ResolvedLine>, String> {
        let base = ResolvedLine {
            metric: line.metric.clone(),
            expression: line.expression.clone(),
            dimensions: Vec::new(),
            stat: line.stat.clone(),
            label: line.label.clone(),
            id: line.id.clone(),
            visible: line.visible,
        };
        let name = match (&line.metric, &line.expression) {
            (None, Some(_)) => {
                if line.operation.is_some()
                    || !line.dimensions.is_empty()
                    || line.split_by.is_some()
                {
                    return Err(
                        "an expression line takes no operation, dimensions or split_by".into(),
                    );
                }
                return Ok(vec![base]);
            }
            (Some(name), None) => name,
            _ => return Err("a line has exactly one of metric and expression".into()),
        };
        let def = self
            .metric(name)
            .ok_or_else(|| format!("{name} is not a metric of the catalog"))?;
        let custom = self.custom_metric(name);
        let handler = match (custom.and_then(|m| m.operation.as_ref()), &line.operation) {
            (Some(declared), Some(given)) if declared != given => {
                return Err(format!("{name} is filed under {declared}, not {given}"))
            }
            (declared, given) => given.as_ref().or(declared),
        };
        if let Some(op) = handler {
            if self.operation(op).is_none() {
                return Err(format!("{op} is not an operation of the catalog"));
            }
        }
        let mut given: Vec<(&str, &str)> = vec![(dim::ENVIRONMENT, environment)];
        if let Some(op) = handler {
            given.push((dim::HANDLER, op));
        }
        for (key, value) in &line.dimensions {
            if key == dim::HANDLER || key == dim::ENVIRONMENT {
                return Err(format!(
                    "{key} is set by operation and the environment, not dimensions"
                ));
            }
            if let Some(spec) = custom.and_then(|m| m.dimensions.iter().find(|d| &d.name == key)) {
                if !spec.values.is_empty() && !spec.known_values().contains(&value.as_str()) {
                    return Err(format!("{value} is not a declared value of {name}.{key}"));
                }
            }
            given.push((key, value));
        }
        let split: Vec<String> = match &line.split_by {
            None => Vec::new(),
            Some(key) => {
                if line.id.is_some() {
                    return Err("a split line cannot have an id: each value is a line".into());
                }
                let spec = custom
                    .and_then(|m| m.dimensions.iter().find(|d| &d.name == key))
                    .filter(|d| !d.values.is_empty())
                    .ok_or_else(|| {
                        format!("{key} is not a dimension of {name} with declared values")
                    })?;
                if line.dimensions.contains_key(key) {
                    return Err(format!("{key} is both split and fixed"));
                }
                spec.known_values().into_iter().map(str::to_owned).collect()
            }
        };
        let split_key = line.split_by.as_deref();
        let set = def
            .dimensions
            .iter()
            .find(|set| {
                set.len() == given.len() + usize::from(split_key.is_some())
                    && set
                        .iter()
                        .all(|k| given.iter().any(|(g, _)| g == k) || Some(k.as_str()) == split_key)
            })
            .ok_or_else(|| {
                let mut keys: Vec<&str> = given.iter().map(|(k, _)| *k).chain(split_key).collect();
                keys.sort_unstable();
                format!(
                    "{name} is not exported with dimensions {keys:?}; its sets are {:?}",
                    def.dimensions
                )
            })?;
        let fill = |split_value: Option<&str>| -> Vec<(String, String)> {
            set.iter()
                .map(|k| {
                    let value = given
                        .iter()
                        .find(|(g, _)| g == k)
                        .map(|(_, v)| *v)
                        .or(split_value)
                        .unwrap_or_default();
                    (k.clone(), value.to_owned())
                })
                .collect()
        };
        if split.is_empty() {
            return Ok(vec![ResolvedLine {
                dimensions: fill(None),
                ..base
            }]);
        }
        Ok(split
            .iter()
            .map(|value| ResolvedLine {
                dimensions: fill(Some(value)),
                label: Some(
                    base.label
                        .clone()
                        .map_or_else(|| value.clone(), |l| format!("{l} {value}")),
                ),
                ..base.clone()
            })
            .collect())
    }
}
