//! Structural checks of what CloudWatch would accept. `cfn-lint` checks the
//! template but never looks inside a DashboardBody string, so bodies and
//! alarms are checked here. Each function returns the problems it found.

use std::collections::BTreeSet;

use serde_json::Value;

const WIDGET_TYPES: &[&str] = &["metric", "text", "log", "alarm", "explorer"];
const BODY_KEYS: &[&str] = &["widgets", "start", "end", "periodOverride", "variables"];
const COMPARISONS: &[&str] = &[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
const MISSING_DATA: &[&str] = &["breaching", "notBreaching", "ignore", "missing"];
pub use perfmon_lambda::catalog::expression_ids;
use perfmon_lambda::catalog::{valid_id, valid_stat};

/// Problems with a DashboardBody.
pub fn dashboard(body: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(object) = body.as_object() else {
        return vec!["the body is not a JSON object".into()];
    };
    for key in object.keys() {
        if !BODY_KEYS.contains(&key.as_str()) {
            problems.push(format!("unknown top-level field {key}"));
        }
    }
    let Some(widgets) = body["widgets"].as_array().filter(|w| !w.is_empty()) else {
        return vec!["no widgets".into()];
    };
    for (i, widget) in widgets.iter().enumerate() {
        let at = format!("widgets[{i}]");
        let kind = widget["type"].as_str().unwrap_or_default();
        if !WIDGET_TYPES.contains(&kind) {
            problems.push(format!("{at}: type {kind:?}"));
        }
        let n = |k: &str| widget[k].as_u64();
        match (n("x"), n("y"), n("width"), n("height")) {
            (Some(x), Some(_), Some(w), Some(h)) => {
                if !(1..=24).contains(&w) || x + w > 24 || !(1..=1000).contains(&h) {
                    problems.push(format!(
                        "{at}: position x={x} width={w} height={h} off the 24-column grid"
                    ));
                }
            }
            _ => problems.push(format!(
                "{at}: x, y, width and height must be whole numbers"
            )),
        }
        let p = &widget["properties"];
        match kind {
            "text" if p["markdown"].as_str().is_none() => {
                problems.push(format!("{at}: text without markdown"));
            }
            "metric" => problems.extend(metric_widget(&at, p)),
            _ => {}
        }
    }
    problems
}

fn metric_widget(at: &str, p: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if p["region"].as_str().is_none_or(str::is_empty) {
        problems.push(format!("{at}: no region"));
    }
    match p["period"].as_u64() {
        Some(period) if period >= 60 && period % 60 == 0 => {}
        Some(1 | 5 | 10 | 30) => {}
        other => problems.push(format!("{at}: period {other:?}")),
    }
    if let Some(stat) = p.get("stat") {
        if !stat.as_str().is_some_and(valid_stat) {
            problems.push(format!("{at}: stat {stat}"));
        }
    }
    let Some(metrics) = p["metrics"].as_array().filter(|m| !m.is_empty()) else {
        problems.push(format!("{at}: no metrics"));
        return problems;
    };
    if metrics.len() > 100 {
        problems.push(format!("{at}: {} metrics, at most 100", metrics.len()));
    }
    let mut ids = BTreeSet::new();
    let mut expressions = Vec::new();
    for (j, line) in metrics.iter().enumerate() {
        let at = format!("{at}.metrics[{j}]");
        let Some(items) = line.as_array().filter(|l| !l.is_empty()) else {
            problems.push(format!("{at}: not a non-empty array"));
            continue;
        };
        let (names, options) = match items.last() {
            Some(Value::Object(o)) => (&items[..items.len() - 1], Some(o)),
            _ => (&items[..], None),
        };
        if let Some(options) = options {
            if let Some(id) = options.get("id").and_then(Value::as_str) {
                if !valid_id(id) || !ids.insert(id.to_owned()) {
                    problems.push(format!("{at}: id {id:?} invalid or repeated"));
                }
            }
            if let Some(stat) = options.get("stat") {
                if !stat.as_str().is_some_and(valid_stat) {
                    problems.push(format!("{at}: stat {stat}"));
                }
            }
            if let Some(expression) = options.get("expression").and_then(Value::as_str) {
                expressions.push((at.clone(), expression.to_owned()));
                if !names.is_empty() {
                    problems.push(format!("{at}: an expression line names no metric"));
                }
                continue;
            }
        }
        let strings = names.iter().all(Value::is_string);
        if names.len() < 2 || names.len() % 2 != 0 || !strings {
            problems.push(format!(
                "{at}: expected [namespace, metric, (dimension, value)*, options?]"
            ));
        }
    }
    for (at, expression) in expressions {
        for id in expression_ids(&expression) {
            if !ids.contains(&id) {
                problems.push(format!(
                    "{at}: expression {expression:?} refers to unknown id {id}"
                ));
            }
        }
    }
    problems
}

/// Problems with one alarm in `PutMetricAlarm` shape.
pub fn alarm(alarm: &Value) -> Vec<String> {
    let name = alarm["AlarmName"]
        .as_str()
        .unwrap_or("(unnamed)")
        .to_owned();
    let mut problems = Vec::new();
    let mut problem = |p: String| problems.push(format!("{name}: {p}"));
    let periods = alarm["EvaluationPeriods"].as_u64().unwrap_or(0);
    if periods == 0 {
        problem("EvaluationPeriods must be at least 1".into());
    }
    if let Some(points) = alarm.get("DatapointsToAlarm") {
        if !points.as_u64().is_some_and(|p| p >= 1 && p <= periods) {
            problem(format!(
                "DatapointsToAlarm {points} must be within 1..={periods}"
            ));
        }
    }
    if !alarm["Threshold"].is_number() {
        problem("no Threshold".into());
    }
    if !alarm["ComparisonOperator"]
        .as_str()
        .is_some_and(|c| COMPARISONS.contains(&c))
    {
        problem(format!(
            "ComparisonOperator {}",
            alarm["ComparisonOperator"]
        ));
    }
    if !alarm["TreatMissingData"]
        .as_str()
        .is_some_and(|t| MISSING_DATA.contains(&t))
    {
        problem(format!("TreatMissingData {}", alarm["TreatMissingData"]));
    }
    match alarm.get("Metrics").and_then(Value::as_array) {
        Some(metrics) => {
            for field in [
                "MetricName",
                "Namespace",
                "Statistic",
                "ExtendedStatistic",
                "Dimensions",
                "Period",
                "Unit",
            ] {
                if alarm.get(field).is_some() {
                    problem(format!("{field} is not allowed with Metrics"));
                }
            }
            let returned = metrics.iter().filter(|m| m["ReturnData"] == true).count();
            if returned != 1 {
                problem(format!("{returned} metrics return data; exactly one must"));
            }
            let stats = metrics
                .iter()
                .filter(|m| m.get("MetricStat").is_some())
                .count();
            if stats > 10 {
                problem(format!("{stats} metrics with MetricStat; at most 10"));
            }
            let ids: BTreeSet<String> = metrics
                .iter()
                .filter_map(|m| m["Id"].as_str().map(str::to_owned))
                .collect();
            if ids.len() != metrics.len() || !ids.iter().all(|id| valid_id(id)) {
                problem("every metric needs a unique, valid Id".into());
            }
            for m in metrics {
                match (m.get("MetricStat"), m["Expression"].as_str()) {
                    (Some(stat), None) => {
                        if !stat["Stat"].as_str().is_some_and(valid_stat)
                            || stat["Period"].as_u64().is_none()
                        {
                            problem(format!("MetricStat {stat} needs a valid Stat and Period"));
                        }
                    }
                    (None, Some(expression)) => {
                        for id in expression_ids(expression) {
                            if !ids.contains(&id) {
                                problem(format!("expression refers to unknown id {id}"));
                            }
                        }
                    }
                    _ => problem(format!(
                        "{} needs exactly one of MetricStat and Expression",
                        m["Id"]
                    )),
                }
            }
        }
        None => {
            for field in ["MetricName", "Namespace", "Period"] {
                if alarm.get(field).is_none() {
                    problem(format!("no {field}"));
                }
            }
            let stat = alarm["Statistic"].as_str();
            let extended = alarm["ExtendedStatistic"].as_str();
            match (stat, extended) {
                (Some(s), None) if valid_stat(s) && !s.starts_with('p') => {}
                (None, Some(p)) if valid_stat(p) => {}
                _ => problem("exactly one valid Statistic or ExtendedStatistic".into()),
            }
        }
    }
    problems
}
