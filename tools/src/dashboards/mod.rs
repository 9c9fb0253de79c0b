//! Dashboards and alarms generated from the catalog, as versioned JSON.
//!
//! [`generate`] returns, for any valid catalog, the performance dashboard
//! (every operation), the catalog's own dashboards, one dashboard per team,
//! the alarms in `PutMetricAlarm` shape (three per operation), and one
//! CloudFormation template holding them all. Every file carries the catalog
//! `version`. `perfmon dashboards generate --catalog FILE --out DIR` writes
//! them; [`drifted`] finds committed files that differ.
//! [`collector_config`] is the ADOT collector configuration for the same
//! catalog.
//!
//! Bodies and alarms refer to `${Environment}` and `${AWS::Region}`, and
//! the performance dashboard's platform rows to `${Functions}` and
//! `${ApiId}` (the stack's own functions and API): the template substitutes
//! them (`Fn::Sub`); to use a body or an alarm on its own, [`resolved`]
//! fills them.
//!
//! `ErrorRate` is never a stored metric: it is the metric-math expression
//! `100 * FILL(Errors, 0) / Invocations`, summed over every Lambda instance
//! before dividing.

mod alarms;
mod canonical;
mod cloudformation;
mod collector;
mod declared;
mod performance;
mod platform;
pub mod validate;
mod widgets;

pub use cloudformation::{ENVIRONMENT_PATTERN, MAX_TEMPLATE_BODY};
pub use collector::{config as collector_config, CollectorTraces};

use serde_json::Value;

use perfmon_lambda::Catalog;

/// Placeholder of the `Environment` dimension value.
pub const ENVIRONMENT: &str = "${Environment}";
/// Placeholder of the region.
pub const REGION: &str = "${AWS::Region}";
/// Placeholder of the stack's functions, inside a `SEARCH` term
/// `(FunctionName="${Functions}")`: the names joined by [`FUNCTION_OR`].
pub const FUNCTIONS: &str = "${Functions}";
/// What joins two function names in [`FUNCTIONS`], so that the term reads
/// `(FunctionName="a" OR FunctionName="b")`.
pub const FUNCTION_OR: &str = "\" OR FunctionName=\"";
/// Placeholder of the stack's API Gateway API id.
pub const API_ID: &str = "${ApiId}";

/// The values a deployed stack gives the placeholders.
#[derive(Debug, Clone, Copy)]
pub struct Stack<'a> {
    /// `Environment`: the functions' `PERFMON_ENVIRONMENT`.
    pub environment: &'a str,
    /// The region.
    pub region: &'a str,
    /// The stack's function names (`FunctionNames`).
    pub functions: &'a [String],
    /// The stack's API Gateway API id (`ApiId`).
    pub api_id: &'a str,
}

/// `json` with every placeholder filled in from `stack`, as the template's
/// `Fn::Sub` fills them: a body or an alarm ready to use on its own.
pub fn resolved(json: &Value, stack: &Stack) -> Value {
    match json {
        Value::String(s) => Value::String(
            s.replace(ENVIRONMENT, stack.environment)
                .replace(REGION, stack.region)
                .replace(FUNCTIONS, &stack.functions.join(FUNCTION_OR))
                .replace(API_ID, stack.api_id),
        ),
        Value::Array(items) => Value::Array(items.iter().map(|v| resolved(v, stack)).collect()),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), resolved(v, stack)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// One generated file.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// File name inside the output directory.
    pub name: String,
    /// What the file holds.
    pub kind: Kind,
    /// The content, JSON.
    pub json: Value,
}

/// What a generated file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A CloudWatch DashboardBody.
    Dashboard,
    /// `{"catalogVersion": N, "alarms": [PutMetricAlarm input, ...]}`.
    Alarms,
    /// A CloudFormation template.
    Template,
}

impl Generated {
    /// The file's text: JSON with every object's keys sorted, and a final
    /// newline; pretty, except a template, which is compact so that as much
    /// fits CloudFormation's inline limit as can. Sorted here, not by
    /// `serde_json`'s map: a build in which any crate turns on
    /// `serde_json/preserve_order` keeps insertion order instead, and the
    /// same catalog would give other bytes.
    pub fn text(&self) -> String {
        if self.kind == Kind::Template {
            return cloudformation::text(&self.json);
        }
        let mut text = serde_json::to_string_pretty(&canonical::sorted(&self.json))
            .expect("JSON values serialize");
        text.push('\n');
        text
    }
}

/// Every generated file, in a stable order.
pub fn generate(catalog: &Catalog) -> Vec<Generated> {
    let prefix = catalog.dashboard_prefix();
    let operations: Vec<&str> = catalog.operations.iter().map(|o| o.name.as_str()).collect();
    let mut dashboards = vec![(
        "performance".to_owned(),
        format!("{prefix}-Performance"),
        performance::body(catalog, &operations, "Performance", true),
    )];
    for dashboard in &catalog.dashboards {
        dashboards.push((
            dashboard.name.clone(),
            format!("{prefix}-{}", title_case(&dashboard.name)),
            declared::body(catalog, dashboard),
        ));
    }
    for team in &catalog.teams {
        let ops: Vec<&str> = team.operations.iter().map(String::as_str).collect();
        dashboards.push((
            format!("team-{}", team.name),
            format!("{prefix}-Team-{}", team.name),
            performance::body(catalog, &ops, &team.title, false),
        ));
    }
    let alarms = alarms::all(catalog);
    let templates = cloudformation::split(cloudformation::template(catalog, &dashboards, &alarms));
    let mut files: Vec<Generated> = dashboards
        .into_iter()
        .map(|(file, _, body)| Generated {
            name: format!("{file}.dashboard.json"),
            kind: Kind::Dashboard,
            json: body,
        })
        .collect();
    files.push(Generated {
        name: "alarms.json".to_owned(),
        kind: Kind::Alarms,
        json: serde_json::json!({"catalogVersion": catalog.version, "alarms": alarms}),
    });
    let count = templates.len();
    for (i, template) in templates.into_iter().enumerate() {
        files.push(Generated {
            name: if count == 1 {
                "cloudformation.json".to_owned()
            } else {
                format!("cloudformation-{}.json", i + 1)
            },
            kind: Kind::Template,
            json: template,
        });
    }
    files
}

/// Writes every generated file into `dir`, returning their paths.
pub fn write_all(
    catalog: &Catalog,
    dir: &std::path::Path,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    generate(catalog)
        .into_iter()
        .map(|file| {
            let path = dir.join(&file.name);
            std::fs::write(&path, file.text())?;
            Ok(path)
        })
        .collect()
}

/// The generated files whose committed copy in `dir` differs (or is
/// missing).
pub fn drifted(catalog: &Catalog, dir: &std::path::Path) -> Vec<String> {
    generate(catalog)
        .into_iter()
        .filter(|file| std::fs::read_to_string(dir.join(&file.name)).ok() != Some(file.text()))
        .map(|file| file.name)
        .collect()
}

/// `order-flow` → `Order-Flow`.
fn title_case(name: &str) -> String {
    name.split('-')
        .map(capitalize)
        .collect::<Vec<_>>()
        .join("-")
}

/// `flow` → `Flow`.
fn capitalize(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_sorts_keys_whatever_order_the_map_keeps() {
        // Inserted out of order: under `preserve_order` the map keeps it.
        let mut inner = serde_json::Map::new();
        inner.insert("b".into(), 1.into());
        inner.insert("a".into(), 2.into());
        let mut outer = serde_json::Map::new();
        outer.insert("z".into(), Value::Array(vec![Value::Object(inner)]));
        outer.insert("y".into(), Value::Null);
        let file = Generated {
            name: "x.json".into(),
            kind: Kind::Dashboard,
            json: Value::Object(outer),
        };
        assert_eq!(
            file.text(),
            "{\n  \"y\": null,\n  \"z\": [\n    {\n      \"a\": 2,\n      \"b\": 1\n    }\n  ]\n}\n"
        );
    }
}
